"""Permutation (placebo) inference for a two-way FE DID: refit with reassigned treatment.

Each draw gives every unit another unit's treatment (``units``), the treated units each other's
timing (``timing``), or both in turn (``both``), rebuilds Dᵢₜ and refits. All draws are fitted
at once: by Frisch–Waugh–Lovell the DID coefficient is β̃_b = D̃_b′ỹ / D̃_b′D̃_b with D̃_b and ỹ
the fixed-effect-demeaned (``kernels.within.demean``, one call for all B columns) treatment and
outcome, residualised on the demeaned controls. The two-sided p-value is, by default
(``plus_one``), (1 + #{b : |β̃_b| ≥ |β̂|}) / (1 + B) (e.g. MacKinnon and Webb 2020 for
randomization inference in DID), which is uniform under the null that treatment is
exchangeable across units; ``share`` is #{b : |β̃_b| ≥ |β̂|} / B, what Stata's ``ritest`` (Heß
2017, Stata Journal 17(3)) and ritest-python report. ``tests/test_estimators_did_reference.py``
checks the placebo coefficients draw for draw, and both p-values, against ritest-python 0.1.1
given the same permutations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from specrun.kernels.within import PanelIndex, demean

Permute = Literal["units", "timing", "both"]
PRule = Literal["plus_one", "share"]


@dataclass(frozen=True)
class Placebo:
    """The actual coefficient, the B placebo coefficients and the permutation p-value."""

    estimate: float
    placebo: np.ndarray  # (B,)
    p_value: float
    permute: str
    seed: int
    p_rule: str = "plus_one"  # (1 + c)/(1 + B), or c/B ("share", as Stata's ritest)


def draw_assignments(
    treat: np.ndarray, first: np.ndarray, draws: int, permute: Permute, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Permuted unit-level treatment (B, n_units) and first-treated periods (B, n_units; nan =
    never), from one seeded ``numpy.random.Generator``."""
    rng = np.random.default_rng(seed)
    n_units = treat.size
    treats = np.empty((draws, n_units))
    firsts = np.empty((draws, n_units))
    treated = np.flatnonzero(treat > 0)
    for b in range(draws):
        t, f = treat.copy(), first.copy()
        if permute in ("units", "both"):
            order = rng.permutation(n_units)
            t, f = t[order], f[order]
        if permute in ("timing", "both"):
            now = np.flatnonzero(t > 0) if permute == "both" else treated
            f[now] = f[now][rng.permutation(now.size)]
        treats[b], firsts[b] = t, f
    return treats, firsts


def permutation_did(
    y: np.ndarray,
    x: np.ndarray,
    index: PanelIndex,
    time: np.ndarray,
    treat: np.ndarray,
    first: np.ndarray,
    post: np.ndarray | None,
    *,
    entity_effects: bool,
    time_effects: bool,
    draws: int,
    permute: Permute,
    seed: int,
    p_rule: PRule = "plus_one",
) -> Placebo:
    """The DID coefficient of y on D (rows (n,), controls x (n, k)) and its permutation
    distribution. ``treat``/``first`` are per unit (index.entity codes); with ``post`` (n,) the
    treatment is treat × post (a 2 × 2 design), otherwise treat × 1(time ≥ first)."""

    def indicator(t_unit: np.ndarray, f_unit: np.ndarray) -> np.ndarray:
        t_row = t_unit[..., index.entity]
        if post is not None:
            return t_row * post
        f_row = f_unit[..., index.entity]
        with np.errstate(invalid="ignore"):
            return t_row * np.where(np.isnan(f_row), 0.0, (time >= f_row).astype(float))

    treats, firsts = draw_assignments(treat, first, draws, permute, seed)
    d = np.column_stack([indicator(treat, first), indicator(treats, firsts).T])
    block = np.column_stack([y, x, d])
    swept = demean(block, index, entity=entity_effects, time=time_effects)
    if not (entity_effects or time_effects):
        swept = block - block.mean(axis=0)
    k = x.shape[1]
    yt, xt, dt = swept[:, 0], swept[:, 1 : 1 + k], swept[:, 1 + k :]
    if k:
        coef, *_ = np.linalg.lstsq(xt, np.column_stack([yt, dt]), rcond=None)
        resid = np.column_stack([yt, dt]) - xt @ coef
        yt, dt = resid[:, 0], resid[:, 1:]
    denom = np.einsum("ij,ij->j", dt, dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        betas = (dt.T @ yt) / denom
    actual, placebo = float(betas[0]), betas[1:]
    placebo = placebo[np.isfinite(placebo)]  # a draw with no treated cell has no coefficient
    extreme = int(np.sum(np.abs(placebo) >= abs(actual)))
    if p_rule == "share":
        p = extreme / placebo.size if placebo.size else float("nan")
    else:
        p = (1 + extreme) / (1 + placebo.size)
    return Placebo(actual, placebo, float(p), permute, seed, p_rule)
