"""Callaway and Sant'Anna (2021) group-time average treatment effects, unconditional case.

Callaway, B. and P. H. C. Sant'Anna (2021), "Difference-in-Differences with multiple time
periods", J. Econometrics 225(2):200–230. Without covariates every ATT(g, t) is a two-group,
two-period comparison of mean changes,

    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | C],

with base period b = g − 1 − anticipation for t ≥ g − anticipation and, under
``base_period="varying"``, b = t − 1 before that (``"universal"``: always g − 1 − anticipation);
controls C are the never-treated units, or (``control="notyet"``) also those not yet treated by
max(t, b) + anticipation. Standard errors come from the influence functions
ψᵢ = (n/n_g)·1(Gᵢ = g)(ΔYᵢ − μ_g) − (n/n_C)·1(i ∈ C)(ΔYᵢ − μ_C), SE = √(Σψᵢ²)/n — the R did
package's analytic SEs (``bstrap = FALSE``), clustered by unit. Aggregations (``aggte``) weight
by cohort shares and add the influence of estimating those shares (R did's ``wif``). The
multiplier bootstrap (R did's default inference, ``mboot``) perturbs those influence functions
with unit-level multipliers for SEs and simultaneous bands; the Wald pre-test reads the analytic
covariance, as did's ``att_gt`` does.

Input is a balanced panel as a (units, periods) array; nothing here reads a spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from specrun.kernels.distributions import normal_quantile


@dataclass(frozen=True)
class GroupTime:
    """ATT(g, t) rows (k,) with their influence functions (n_units, k)."""

    group: np.ndarray
    period: np.ndarray
    att: np.ndarray
    se: np.ndarray
    influence: np.ndarray
    cohort_share: np.ndarray  # P(G = g) of each row's cohort


@dataclass(frozen=True)
class Aggregate:
    """An aggregated effect (simple, one event time, or one group), its SE and its influence
    function (n_units,), from which joint tests of several aggregates follow."""

    estimate: float
    se: float
    influence: np.ndarray


def att_gt(
    y: np.ndarray,
    periods: np.ndarray,
    first: np.ndarray,
    *,
    control: Literal["never", "notyet"] = "never",
    base_period: Literal["varying", "universal"] = "varying",
    anticipation: int = 0,
    comparison: float | None = None,
) -> GroupTime:
    """All ATT(g, t) of a balanced panel ``y`` (n_units, n_periods) observed at ``periods``
    (sorted), units first treated at ``first`` (n_units,; nan = never treated); the cohort
    ``comparison`` serves as not-yet-treated controls only (R did's last cohort when no unit
    is never treated), with no ATT(g, t) of its own.

    Raises ValueError when there is no treated cohort, no control unit for some (g, t), or no
    (g, t) with its base period inside the panel (an anticipation longer than the panel)."""
    n = y.shape[0]
    never = np.isnan(first)
    cohorts = np.unique(first[~never])
    if comparison is not None:
        cohorts = cohorts[cohorts != comparison]
    if cohorts.size == 0:
        raise ValueError("no treated cohort")
    position = {float(p): j for j, p in enumerate(periods)}
    rows_g, rows_t, atts, ses, ifs, shares = [], [], [], [], [], []
    for g in cohorts:
        in_g = first == g
        share = in_g.mean()
        universal = g - 1 - anticipation
        for j, t in enumerate(periods):
            pre = t < g - anticipation
            base = t - 1 if (pre and base_period == "varying") else universal
            if float(base) not in position or (base == t):
                continue
            b = position[float(base)]
            if control == "never":
                in_c = never
            else:
                cutoff = max(t, base) + anticipation
                in_c = never | (first > cutoff)
                in_c &= ~in_g
            if not in_c.any():
                raise ValueError(f"no control units for group {g:g} in period {t:g}")
            change = y[:, j] - y[:, b]
            mu_g, mu_c = change[in_g].mean(), change[in_c].mean()
            psi = (n / in_g.sum()) * in_g * (change - mu_g) - (n / in_c.sum()) * in_c * (
                change - mu_c
            )
            rows_g.append(g)
            rows_t.append(t)
            atts.append(mu_g - mu_c)
            ses.append(np.sqrt(np.sum(psi**2)) / n)
            ifs.append(psi)
            shares.append(share)
    if not atts:
        raise ValueError(
            f"no ATT(g, t) can be estimated: with anticipation {anticipation} every cohort's "
            f"base period (g − 1 − anticipation) lies outside the periods "
            f"{periods[0]:g}–{periods[-1]:g}"
        )
    return GroupTime(
        np.array(rows_g, dtype=float),
        np.array(rows_t, dtype=float),
        np.array(atts),
        np.array(ses),
        np.column_stack(ifs),
        np.array(shares),
    )


def _weight_influence(keep: np.ndarray, gt: GroupTime, first: np.ndarray) -> np.ndarray:
    """R did's ``wif``: influence of estimating the cohort shares in Σ pg·ATT / Σ pg."""
    pg = gt.cohort_share[keep]
    total = pg.sum()
    indicators = np.column_stack([(first == g).astype(float) for g in gt.group[keep]])
    if1 = (indicators - pg[None, :]) / total
    if2 = (indicators - pg[None, :]).sum(axis=1, keepdims=True) * (pg / total**2)[None, :]
    return if1 - if2


def aggregate(
    gt: GroupTime, keep: np.ndarray, first: np.ndarray, *, equal: bool = False
) -> Aggregate:
    """Average of the ATT(g, t) rows ``keep`` (boolean mask): weighted by cohort shares
    (simple and dynamic aggregations) or, with ``equal``, equally (one group's average over its
    post periods). SE from the combined influence function, √(Σψ²)/n."""
    n = gt.influence.shape[0]
    att = gt.att[keep]
    if equal:
        weights = np.full(att.size, 1.0 / att.size)
        psi = gt.influence[:, keep] @ weights
    else:
        pg = gt.cohort_share[keep]
        weights = pg / pg.sum()
        psi = gt.influence[:, keep] @ weights + _weight_influence(keep, gt, first) @ att
    return Aggregate(float(weights @ att), float(np.sqrt(np.sum(psi**2)) / n), psi)


def group_average(gt: GroupTime, first: np.ndarray) -> tuple[dict[float, Aggregate], Aggregate]:
    """R did's ``aggte(type = "group")``: each cohort's average post-treatment ATT(g, t), and
    their cohort-share average (whose influence function includes the share estimation)."""
    n = gt.influence.shape[0]
    cohorts = np.unique(gt.group)
    per_group: dict[float, Aggregate] = {}
    psis, atts, shares = [], [], []
    for g in cohorts:
        keep = (gt.group == g) & (gt.period >= g)
        weights = np.full(int(keep.sum()), 1.0 / keep.sum())
        psi = gt.influence[:, keep] @ weights
        att = float(weights @ gt.att[keep])
        per_group[float(g)] = Aggregate(att, float(np.sqrt(np.sum(psi**2)) / n), psi)
        psis.append(psi)
        atts.append(att)
        shares.append(float((first == g).mean()))
    pg = np.array(shares)
    total = pg.sum()
    indicators = np.column_stack([(first == g).astype(float) for g in cohorts])
    wif = (indicators - pg[None, :]) / total - (indicators - pg[None, :]).sum(
        axis=1, keepdims=True
    ) * (pg / total**2)[None, :]
    psi = np.column_stack(psis) @ (pg / total) + wif @ np.array(atts)
    overall = Aggregate(
        float((pg / total) @ np.array(atts)), float(np.sqrt(np.sum(psi**2)) / n), psi
    )
    return per_group, overall


@dataclass(frozen=True)
class MultiplierBootstrap:
    """Multiplier-bootstrap inference for k estimates: SEs (k,) and the sup-t critical value of
    a simultaneous band at ``level`` (never below the pointwise normal one, as R did)."""

    se: np.ndarray
    critical_value: float
    draws: int


def multiplier_draws(
    n_units: int,
    draws: int,
    seed: int,
    weights: Literal["rademacher", "mammen"] = "rademacher",
) -> np.ndarray:
    """Unit multipliers Vᵦᵢ (draws, n_units) with mean 0 and variance 1: Rademacher ±1 (R did
    via BMisc ``multiplier_bootstrap``) or Mammen's two-point (1 − √5)/2, (1 + √5)/2 with
    probability (√5 + 1)/(2√5) on the first. One matrix serves every estimate of a model, so
    the sup over estimates (the uniform band) reads the same draws."""
    rng = np.random.default_rng(seed)
    if weights == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(draws, n_units))
    root5 = np.sqrt(5.0)
    low = rng.random((draws, n_units)) < (root5 + 1.0) / (2.0 * root5)
    return np.where(low, (1.0 - root5) / 2.0, (1.0 + root5) / 2.0)


def multiplier_bootstrap(
    influence: np.ndarray, multipliers: np.ndarray, *, level: float = 0.95
) -> MultiplierBootstrap:
    """R did's ``mboot`` on influence functions ``influence`` (n_units, k), clustered by unit.

    Each draw is R*ᵦ = √n · (1/n) Σᵢ Vᵦᵢ ψᵢ; the SE of column j is its interquartile range
    (type-1 quantiles, the order statistics ⌈0.25·B⌉ and ⌈0.75·B⌉) over Φ⁻¹(.75) − Φ⁻¹(.25),
    divided by √n; the uniform band's critical value is the type-1 ``level`` quantile of
    maxⱼ |R*ᵦⱼ / σ̂ⱼ| (Callaway and Sant'Anna 2021, Algorithm 1; did 2.5.1 ``R/mboot.R``).
    Columns with (numerically) no variation get a NaN SE and are left out of the sup."""
    n = influence.shape[0]
    draws = multipliers.shape[0]
    boot = multipliers @ influence / np.sqrt(n)
    ordered = np.sort(boot, axis=0)
    upper = ordered[int(np.ceil(0.75 * draws)) - 1]
    lower = ordered[int(np.ceil(0.25 * draws)) - 1]
    sigma = (upper - lower) / (2.0 * float(normal_quantile(0.75)))
    live = np.sum(boot**2, axis=0) > np.sqrt(np.finfo(float).eps) * 10
    live &= sigma > np.sqrt(np.finfo(float).eps) * 10
    se = np.where(live, sigma / np.sqrt(n), np.nan)
    pointwise = float(normal_quantile(0.5 + level / 2))
    if not live.any():
        return MultiplierBootstrap(se, pointwise, draws)
    sup = np.max(np.abs(boot[:, live] / sigma[live]), axis=1)
    crit = float(np.sort(sup)[int(np.ceil(level * draws)) - 1])
    return MultiplierBootstrap(se, max(crit, pointwise), draws)


def pretest(gt: GroupTime) -> tuple[float, int] | None:
    """R did ``att_gt``'s Wald pre-test of parallel trends: W = b′V⁻¹b over every pre-treatment
    ATT(g, t) (t < g) with V the analytic influence-function covariance (even when the SEs
    are bootstrapped), χ²(q). None when there is no pre-period or V is singular."""
    pre = gt.period < gt.group
    if not pre.any():
        return None
    n = gt.influence.shape[0]
    psi = gt.influence[:, pre]
    cov = psi.T @ psi / n**2
    if np.linalg.cond(cov) >= 1.0 / np.finfo(float).eps:
        return None
    b = gt.att[pre]
    return float(b @ np.linalg.solve(cov, b)), int(pre.sum())
