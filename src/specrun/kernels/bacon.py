"""Goodman-Bacon (2021) decomposition of a two-way FE DID coefficient into 2 × 2 comparisons.

Goodman-Bacon, A. (2021), "Difference-in-differences with variation in treatment timing",
J. Econometrics 225(2):254–277, Theorem 1: on a balanced panel without covariates, the TWFE
coefficient of an absorbing treatment is Σ s·β̂ over every 2 × 2 DID between timing groups —
each treated cohort k against the never treated U (β̂_kU), an earlier cohort k against a later
one ℓ before ℓ is treated (β̂ᵏ_kℓ), and the later cohort ℓ against the earlier k after k is
treated (β̂ˡ_kℓ, the "forbidden" comparison using already-treated controls) — with weights
(eqs. 10a–10c)

    s_kU  ∝ (n_k + n_U)² · n_kU(1 − n_kU) · D̄_k(1 − D̄_k)
    sᵏ_kℓ ∝ ((n_k + n_ℓ)(1 − D̄_ℓ))² · n_kℓ(1 − n_kℓ) · (D̄_k − D̄_ℓ)/(1 − D̄_ℓ) · (1 − D̄_k)/(1 − D̄_ℓ)
    sˡ_kℓ ∝ ((n_k + n_ℓ) D̄_k)² · n_kℓ(1 − n_kℓ) · D̄_ℓ/D̄_k · (D̄_k − D̄_ℓ)/D̄_k

normalised to sum to one (n_g the group's share of units, n_ab = n_a/(n_a + n_b), D̄_g the
share of periods group g is treated). Each β̂ is the plain 2 × 2 difference of mean changes on
its window. Units treated in the first period (always treated) act as a timing group treated
throughout, as in Stata's ``bacondecomp``. ``tests/test_estimators_did.py`` checks Σ s·β̂ against
the TWFE coefficient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Comparison:
    """One 2 × 2 DID: its kind, the treated and control timing groups (nan = never), its
    estimate and normalised weight."""

    kind: str  # "treated vs never", "earlier vs later", "later vs earlier"
    treated: float
    control: float
    estimate: float
    weight: float


def _did(y: np.ndarray, treated: np.ndarray, control: np.ndarray, post: np.ndarray) -> float:
    """Mean change (post minus pre columns) of treated rows minus that of control rows."""
    change = y[:, post].mean(axis=1) - y[:, ~post].mean(axis=1)
    return float(change[treated].mean() - change[control].mean())


def bacon_decomposition(y: np.ndarray, periods: np.ndarray, first: np.ndarray) -> list[Comparison]:
    """All 2 × 2 comparisons of a balanced panel ``y`` (units, periods) with ``first`` the
    period each unit is first treated (nan: never). Raises ValueError without timing variation."""
    n_units = y.shape[0]
    never = np.isnan(first)
    cohorts = np.unique(first[~never])
    if cohorts.size == 0:
        raise ValueError("no treated units")
    share = {float(g): float(np.mean(first == g)) for g in cohorts}
    treated_share = {float(g): float(np.mean(periods >= g)) for g in cohorts}
    out: list[tuple[str, float, float, float, float]] = []
    n_u = float(never.mean())
    for g in cohorts:
        k, d_k, n_k = float(g), treated_share[float(g)], share[float(g)]
        if n_u > 0 and 0 < d_k < 1:
            n_ku = n_k / (n_k + n_u)
            weight = (n_k + n_u) ** 2 * n_ku * (1 - n_ku) * d_k * (1 - d_k)
            est = _did(y, first == g, never, periods >= g)
            out.append(("treated vs never", k, float("nan"), est, weight))
    for i, g_k in enumerate(cohorts):
        for g_l in cohorts[i + 1 :]:
            k, ell = float(g_k), float(g_l)
            d_k, d_l = treated_share[k], treated_share[ell]
            n_k, n_l = share[k], share[ell]
            n_kl = n_k / (n_k + n_l)
            # earlier k treated, later ℓ as control, before ℓ's treatment
            window = periods < g_l
            if d_l < 1 and (periods[window] >= g_k).any() and (periods[window] < g_k).any():
                weight = (
                    ((n_k + n_l) * (1 - d_l)) ** 2
                    * n_kl
                    * (1 - n_kl)
                    * (d_k - d_l)
                    / (1 - d_l)
                    * (1 - d_k)
                    / (1 - d_l)
                )
                sub = y[:, window]
                est = _did(sub, first == g_k, first == g_l, periods[window] >= g_k)
                out.append(("earlier vs later", k, ell, est, weight))
            # later ℓ treated, earlier k (already treated) as control, after k's treatment
            window = periods >= g_k
            if d_k > 0 and (periods[window] >= g_l).any() and (periods[window] < g_l).any():
                weight = (
                    ((n_k + n_l) * d_k) ** 2 * n_kl * (1 - n_kl) * d_l / d_k * (d_k - d_l) / d_k
                )
                sub = y[:, window]
                est = _did(sub, first == g_l, first == g_k, periods[window] >= g_l)
                out.append(("later vs earlier", ell, k, est, weight))
    total = sum(w for *_, w in out)
    if total <= 0 or n_units == 0:
        raise ValueError("no 2 × 2 comparison has treatment variation")
    return [Comparison(kind, t, c, e, w / total) for kind, t, c, e, w in out]
