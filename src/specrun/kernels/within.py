"""The fixed-effects (within) kernel shared by panel_fe bootstraps, mediation and threshold models.

Sweeping out entity (and time) means is exact in one pass for a balanced panel and done by
alternating projections (Gaure 2013, "OLS with multiple high dimensional category variables")
for an unbalanced one. The result equals the residual of a regression on the dummies, so
coefficients estimated on demeaned data equal the LSDV / ``linearmodels.PanelOLS`` ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PanelIndex:
    """Integer codes of a panel's entities and periods, and whether every cell is present once."""

    entity: np.ndarray  # (n,) codes 0..n_entities-1
    time: np.ndarray  # (n,) codes 0..n_periods-1
    n_entities: int
    n_periods: int
    balanced: bool

    @classmethod
    def from_labels(cls, entity: np.ndarray, time: np.ndarray) -> PanelIndex:
        _, e = np.unique(np.asarray(entity), return_inverse=True)
        _, t = np.unique(np.asarray(time), return_inverse=True)
        n_e, n_t = int(e.max(initial=-1)) + 1, int(t.max(initial=-1)) + 1
        cells = np.bincount(e * n_t + t, minlength=n_e * n_t)
        balanced = bool(e.size == n_e * n_t and np.all(cells == 1))
        return cls(e.astype(np.intp), t.astype(np.intp), n_e, n_t, balanced)


def _as_2d(values: np.ndarray) -> tuple[np.ndarray, bool]:
    arr = np.asarray(values, dtype=float)
    return (arr[:, None], True) if arr.ndim == 1 else (arr, False)


def group_means(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group column means of an (n, k) array, as an (n_groups, k) array."""
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    sums = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, codes, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


def demean(
    values: np.ndarray,
    index: PanelIndex,
    *,
    entity: bool = True,
    time: bool = False,
    tol: float = 1e-14,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Remove entity and/or time effects from ``values`` ((n,) or (n, k)).

    Balanced panels with both effects use the exact two-way formula x − x̄ᵢ − x̄ₜ + x̄;
    otherwise one-way sweeps are exact and two-way sweeps alternate until the largest change
    falls below ``tol`` times the data's scale.
    """
    arr, flat = _as_2d(values)
    out = arr.copy()
    if entity and time and index.balanced:
        cube = np.empty((index.n_entities, index.n_periods, arr.shape[1]))
        cube[index.entity, index.time] = arr
        swept = (
            cube
            - cube.mean(axis=1, keepdims=True)
            - cube.mean(axis=0, keepdims=True)
            + cube.mean(axis=(0, 1), keepdims=True)
        )
        out = swept[index.entity, index.time]
    elif entity and not time:
        out = arr - group_means(arr, index.entity, index.n_entities)[index.entity]
    elif time and not entity:
        out = arr - group_means(arr, index.time, index.n_periods)[index.time]
    elif entity and time:
        scale = max(float(np.abs(arr).max(initial=0.0)), 1.0)
        for _ in range(max_iter):
            out = out - group_means(out, index.entity, index.n_entities)[index.entity]
            step = group_means(out, index.time, index.n_periods)[index.time]
            out = out - step
            if float(np.abs(step).max(initial=0.0)) <= tol * scale:
                break
    return out[:, 0] if flat else out


def least_squares(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and residuals of y on x (columns of x are regressors, no constant added)."""
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return beta, y - x @ beta
