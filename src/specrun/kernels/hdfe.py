"""High-dimensional fixed effects: factor codes, singleton pruning and the within projection.

Any number of absorbed factors (entity, time, industry, industry × year, …) is swept out of the
columns of an (n, k) array. One factor, and two crossed factors observed once per cell (a
balanced panel) without weights, are exact in one pass; everything else is solved by alternating
projections (the method of alternating projections, Gaure 2013, "OLS with multiple high
dimensional category variables", Comput. Stat. Data Anal. 66) accelerated by Irons and Tuck
(1969) extrapolation, as fixest (Bergé 2018) does. Group means are ``numpy.bincount`` sums over
integer codes, so memory stays O(n·k) whatever the number of levels. The residual equals the
residual of a (weighted) regression on every factor's dummies; ``tests/test_kernel_hdfe.py``
checks it against explicit dummy regressions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Factor:
    """One absorbed factor: integer ``codes`` (n,) in 0..levels-1, every level present."""

    name: str
    codes: np.ndarray
    levels: int

    def subset(self, keep: np.ndarray) -> Factor:
        """The factor on the rows where ``keep`` (bool, (n,)) holds, levels renumbered."""
        codes, levels = compress_codes(self.codes[keep])
        return Factor(self.name, codes, levels)


def compress_codes(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber non-negative integer codes (n,) to 0..levels-1 keeping their order."""
    if codes.size == 0:
        return codes.astype(np.intp), 0
    present = np.bincount(codes) > 0
    if present.all():
        return np.asarray(codes, dtype=np.intp), int(present.size)
    lookup = np.cumsum(present) - 1
    return lookup[codes].astype(np.intp), int(present.sum())


def factor_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes (n,) and the number of distinct values of one column ``values`` (n,).

    Integer columns with a compact range are coded by offset (O(n)); others by sorting.
    """
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind in "iub":
        low, high = int(arr.min()), int(arr.max())
        if high - low <= 4 * arr.size:
            return compress_codes(arr - low if low else arr)
    _, codes = np.unique(arr, return_inverse=True)
    codes = codes.ravel().astype(np.intp)
    return codes, int(codes.max(initial=-1)) + 1


def interact(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Codes of the interaction of several columns (each (n,)): one level per observed cell."""
    codes, levels = factor_codes(columns[0])
    for column in columns[1:]:
        more, more_levels = factor_codes(column)
        codes, levels = factor_codes(codes.astype(np.int64) * more_levels + more)
    return codes, levels


def singleton_rows(factors: Sequence[Factor]) -> np.ndarray:
    """Rows to keep (bool, (n,)) after dropping singletons iteratively, as ``reghdfe`` does.

    A row alone in a level of any factor is dropped; dropping it can make other rows singletons,
    so the sweep repeats until none is left (Correia 2015, "Singletons, cluster-robust standard
    errors and fixed effect bias").
    """
    n = factors[0].codes.size if factors else 0
    keep = np.ones(n, dtype=bool)
    changed = bool(factors)
    while changed:
        changed = False
        for factor in factors:
            counts = np.bincount(factor.codes, weights=keep, minlength=factor.levels)
            lonely = keep & (counts[factor.codes] == 1)
            if lonely.any():
                keep &= ~lonely
                changed = True
    return keep


def group_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group column sums of an (n, k) array, as an (n_groups, k) array."""
    # one bincount per column (an order of magnitude faster than np.add.at), each column
    # contiguous so that bincount reads it without a copy
    columns = values.T if values.flags.f_contiguous else np.asfortranarray(values).T
    out = np.empty((values.shape[1], n_groups))
    for j, column in enumerate(columns):
        out[j] = np.bincount(codes, weights=column, minlength=n_groups)
    return out.T


def group_means(
    values: np.ndarray, codes: np.ndarray, n_groups: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per-group (weighted) column means of an (n, k) array, as an (n_groups, k) array.

    An empty group's mean is NaN.
    """
    if weights is None:
        counts = np.bincount(codes, minlength=n_groups).astype(float)
        sums = group_sums(values, codes, n_groups)
    else:
        counts = np.bincount(codes, weights=weights, minlength=n_groups)
        sums = group_sums(values * weights[:, None], codes, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None]


@dataclass(frozen=True)
class Demeaned:
    """The residual of ``values`` on the factors' dummies, and how many sweeps it took."""

    values: np.ndarray  # (n, k)
    iterations: int  # full sweeps over all factors (0: exact one-pass formula)
    converged: bool


def _is_balanced_grid(first: Factor, second: Factor) -> bool:
    n = first.codes.size
    if n != first.levels * second.levels:
        return False
    cells = np.bincount(first.codes * second.levels + second.codes, minlength=n)
    return bool(np.all(cells == 1))


class _Sweep:
    """One pass of the alternating projections: subtract each factor's group means in turn."""

    def __init__(self, factors: Sequence[Factor], weights: np.ndarray | None) -> None:
        self.factors = factors
        self.weights = weights
        with np.errstate(divide="ignore"):
            # a level without rows is never gathered back, so its infinite inverse is harmless
            self.inverse_counts = [
                1.0 / np.bincount(f.codes, weights=weights, minlength=f.levels).astype(float)
                for f in factors
            ]

    def __call__(self, values: np.ndarray) -> np.ndarray:
        out = values.copy()
        for factor, inverse in zip(self.factors, self.inverse_counts, strict=True):
            weighted = out if self.weights is None else out * self.weights[:, None]
            for j in range(out.shape[1]):
                sums = np.bincount(factor.codes, weights=weighted[:, j], minlength=factor.levels)
                with np.errstate(invalid="ignore"):
                    means = sums * inverse
                out[:, j] -= means[factor.codes]
        return out


def demean(
    values: np.ndarray,
    factors: Sequence[Factor],
    *,
    weights: np.ndarray | None = None,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> Demeaned:
    """Sweep every factor out of the columns of ``values`` ((n,) or (n, k)).

    ``weights`` (n,), positive, make the projection a weighted one (analytic weights). Iteration
    stops for a column when a full sweep changes no element by more than ``tol`` times that
    column's largest absolute value; ``converged`` is False if ``max_iter`` sweeps did not get
    there. The Irons–Tuck step (fixest's ``demean``) extrapolates from x, T(x), T(T(x)) with
    coefficient δ = ⟨Δ², ΔT⟩ / ⟨Δ², Δ²⟩ per column, where ΔT = T²x − Tx and Δ² = ΔT − Tx + x.
    """
    arr = np.asarray(values, dtype=float)
    flat = arr.ndim == 1
    if flat:
        arr = arr[:, None]
    factors = essential(factors)
    if not factors:
        return Demeaned(arr[:, 0].copy() if flat else arr.copy(), 0, True)
    if len(factors) == 1 or (
        len(factors) == 2 and weights is None and _is_balanced_grid(factors[0], factors[1])
    ):
        out = arr.copy()
        for factor in factors:
            out -= group_means(arr, factor.codes, factor.levels, weights)[factor.codes]
        if len(factors) == 2:
            # x − x̄ᵢ − x̄ₜ + x̄ is exact when every (i, t) cell holds one row
            out += arr.mean(axis=0)
        return Demeaned(out[:, 0] if flat else out, 0, True)
    sweep = _Sweep(factors, weights)
    scale = np.maximum(np.abs(arr).max(axis=0, initial=0.0), 1e-300)
    out = arr.copy()
    active = np.arange(arr.shape[1])
    iterations = 0
    current = out
    while active.size and iterations < max_iter:
        current = out[:, active]
        once = sweep(current)
        iterations += 1
        change = np.abs(once - current).max(axis=0, initial=0.0)
        done = change <= tol * scale[active]
        if done.all():
            out[:, active] = once
            active = active[:0]
            break
        twice = sweep(once)
        iterations += 1
        delta = twice - once
        delta2 = delta - once + current
        ssq = np.einsum("ij,ij->j", delta2, delta2)
        coef = np.divide(
            np.einsum("ij,ij->j", delta, delta2), ssq, out=np.zeros_like(ssq), where=ssq > 0
        )
        step = twice - coef * delta
        # columns already converged keep their plain sweep and leave the active set
        step[:, done] = once[:, done]
        out[:, active] = step
        active = active[~done]
    converged = active.size == 0
    return Demeaned(out[:, 0] if flat else out, iterations, converged)


def essential(factors: Sequence[Factor]) -> list[Factor]:
    """The factors whose dummies span the same space as all of ``factors``.

    A factor whose levels are unions of another's (time inside industry × time) adds nothing to
    the projection; leaving it out makes the sweep cheaper and often exact in one pass. The
    degrees of freedom are counted from the factors as given, not from these.
    """
    kept: list[int] = []
    for i in sorted(range(len(factors)), key=lambda i: -factors[i].levels):
        if not any(nested_in(factors[j], factors[i].codes) for j in kept):
            kept.append(i)
    return [factors[i] for i in sorted(kept)]


def nested_in(factor: Factor, groups: np.ndarray) -> bool:
    """Whether every level of ``factor`` lies inside one group of ``groups`` (codes, (n,))."""
    # one group per level: any row's group, scattered to its level, must match every row's
    seen = np.empty(factor.levels, dtype=groups.dtype)
    seen[factor.codes] = groups
    return bool(np.array_equal(seen[factor.codes], groups))
