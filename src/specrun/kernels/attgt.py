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
by cohort shares and add the influence of estimating those shares (R did's ``wif``).

Input is a balanced panel as a (units, periods) array; nothing here reads a spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


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
) -> GroupTime:
    """All ATT(g, t) of a balanced panel ``y`` (n_units, n_periods) observed at ``periods``
    (sorted), units first treated at ``first`` (n_units,; nan = never treated).

    Raises ValueError when there is no treated cohort, no control unit for some (g, t), or no
    (g, t) with its base period inside the panel (an anticipation longer than the panel)."""
    n = y.shape[0]
    never = np.isnan(first)
    cohorts = np.unique(first[~never])
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
