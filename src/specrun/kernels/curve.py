"""Specification-curve joint tests (Simonsohn, Simmons and Nelson 2020) under the null.

The null of no effect is imposed on each specification's data by subtracting the focus
coefficient's fitted effect, y* = y − β̂·x; the same entity-cluster resamples of that null data
refit every specification, and each of the three statistics of the observed curve is compared
with its distribution over the resamples:

1. the median estimate across specifications;
2. the number of specifications significant at ``alpha`` with the predicted sign;
3. the aggregate z: the mean across specifications of zₛ = sign · Φ⁻¹(1 − pₛ/2), with the sign
   + when the estimate has the predicted sign (Stouffer's method on the two-sided p-values,
   averaged as in the paper's Test 3).

Each p-value is the share of resamples whose statistic is at least as extreme as the observed
one in the predicted direction (the paper's definition, no +1 correction).

Refits use the within kernel's per-entity Gram blocks (``kernels.within.entity_blocks``): a
resample that draws entity ``i`` ``wᵢ`` times has Gram matrix Σᵢ wᵢ Ẍᵢ'Ẍᵢ (with the time
correction), so all draws of a specification cost two matrix products and one batched solve.
A draw's standard error is its conventional one (mean squared residual × (X'X)⁻¹) times the
specification's own design effect — the ratio of the specification's reported variance (its
``se:`` type and small-sample convention) to the conventional variance on the observed data —
so significance on a draw is judged by the same covariance convention as the observed fit.

Checked: a draw's estimate equals a refit of the resampled, relabelled null data
(``tests/test_multiverse.py::test_a_null_draw_equals_an_explicit_refit_of_the_resampled_null_data``)
and pyfixest 0.60's ``feols(y0 ~ Dige + … | copy + year)`` on the same draws to 3e−14
(``bench/curve.py``); the p-values are roughly uniform on simulated null panels and small
under a strong effect (``tests/test_multiverse.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specrun.errors import SpecError
from specrun.kernels.distributions import normal_quantile
from specrun.kernels.within import PanelIndex, entity_blocks, weighted_gram


@dataclass(frozen=True)
class NullRefits:
    """One specification refitted on B resamples of its null data."""

    estimates: np.ndarray  # (B,) focus coefficient on each draw
    std_errors: np.ndarray  # (B,) its standard error (conventional × design effect)
    design_effect: float  # reported variance / conventional variance on the observed data


def _solve_focus(gram: np.ndarray, focus: int) -> tuple[np.ndarray, np.ndarray]:
    """Focus coefficient and its conventional variance from stacked Grams of [y, X] (B, q, q)."""
    xx = gram[:, 1:, 1:]
    xy = gram[:, 1:, 0]
    n_draws, p = xy.shape
    with np.errstate(all="ignore"):
        try:
            beta = np.linalg.solve(xx, xy[:, :, None])[:, :, 0]
            unit = np.zeros((n_draws, p, 1))
            unit[:, focus, 0] = 1.0
            inverse_ff = np.linalg.solve(xx, unit)[:, focus, 0]
        except np.linalg.LinAlgError:
            beta = np.full((n_draws, p), np.nan)
            inverse_ff = np.full(n_draws, np.nan)
        ssr = gram[:, 0, 0] - np.einsum("bj,bj->b", xy, beta)
    return beta[:, focus], ssr * inverse_ff


def resample_grams(
    values: np.ndarray,
    index: PanelIndex,
    *,
    entity_effects: bool,
    time_effects: bool,
    multiplicities: np.ndarray,
) -> np.ndarray:
    """Within Gram matrices (B + 1, q, q) of ``values`` (n, q) — [y, x] — on the observed
    sample (first) and on each of the B entity resamples ``multiplicities`` (B, n_entities).

    A column's Gram entries depend on that column and its partner only (the time correction
    and the partialled period dummies are per pair as well), so the Grams of any subset of the
    columns are the matching sub-blocks: specifications that differ only in their controls or
    covariance share one product (:func:`refits_from_grams`).
    """
    # the observed sample (every entity once) and the draws in one product
    weights = np.vstack([np.ones((1, index.n_entities)), multiplicities])
    blocks = entity_blocks(values, index, entity=entity_effects, time=time_effects)
    return weighted_gram(blocks, weights)


def null_refits(
    y: np.ndarray,
    x: np.ndarray,
    focus: int,
    index: PanelIndex,
    *,
    entity_effects: bool,
    time_effects: bool,
    reported_estimate: float,
    reported_se: float,
    multiplicities: np.ndarray,
) -> NullRefits:
    """Refit one specification on entity resamples of its data with the null imposed.

    ``y`` (n,), ``x`` (n, p) with the focus regressor in column ``focus``; ``index`` the rows'
    entity and period codes; ``multiplicities`` (B, index.n_entities) how many times each
    entity is drawn. ``reported_estimate`` and ``reported_se`` are the specification's own fit of
    the focus coefficient: the kernel must reproduce the estimate on the observed data, and the
    design effect is taken from the standard error. Without effects the model has an intercept
    (``ols``). Raises ``SpecError`` when the observed data's regressors are collinear once the
    effects are swept out, or the kernel does not reproduce the reported estimate.
    """
    values = np.column_stack([y, x]).astype(float)
    grams = resample_grams(
        values,
        index,
        entity_effects=entity_effects,
        time_effects=time_effects,
        multiplicities=multiplicities,
    )
    rows = np.bincount(index.entity, minlength=index.n_entities).astype(float)
    return refits_from_grams(
        grams,
        rows,
        focus,
        reported_estimate=reported_estimate,
        reported_se=reported_se,
        multiplicities=multiplicities,
    )


def refits_from_grams(
    grams: np.ndarray,
    rows: np.ndarray,
    focus: int,
    *,
    reported_estimate: float,
    reported_se: float,
    multiplicities: np.ndarray | None = None,
    draw_rows: np.ndarray | None = None,
) -> NullRefits:
    """:func:`null_refits` from the Grams of [y, x] (B + 1, q, q) made by
    :func:`resample_grams` (observed first, then the draws ``multiplicities`` (B, N));
    ``rows`` (N,) counts each entity's rows. ``draw_rows`` (B,), each draw's number of rows
    (``multiplicities @ rows``), may be given instead of ``multiplicities`` by a caller that
    refits several specifications on the same rows. Raises ``SpecError`` as
    :func:`null_refits`."""
    if draw_rows is None:
        if multiplicities is None:
            raise TypeError("refits_from_grams needs multiplicities or draw_rows")
        draw_rows = multiplicities @ rows
    observed = grams[:1]
    beta = np.linalg.lstsq(observed[0, 1:, 1:], observed[0, 1:, 0], rcond=None)[0]
    estimate, conventional = _solve_focus(observed, focus)
    # the sum of squared residuals over the rows: mean squared residual needs the row count
    conventional = conventional / rows.sum()
    if not (np.isfinite(estimate[0]) and conventional[0] > 0):
        raise SpecError(
            "the joint tests cannot refit this specification: its regressors are collinear once "
            "the effects are swept out",
            code="estimation",
        )
    scale = max(abs(reported_estimate), float(np.sqrt(conventional[0])))
    if abs(estimate[0] - reported_estimate) > 1e-6 * scale:
        raise SpecError(
            f"the joint tests' refit gives {estimate[0]:.10g} on the observed data, the "
            f"specification's fit {reported_estimate:.10g}",
            code="estimation",
        )
    design_effect = float(reported_se**2 / conventional[0])
    # the null imposed on the data: y* = y − β̂_focus · x_focus, the other slopes untouched.
    # Every Gram matrix (time correction and partialled dummies included) is linear in the
    # columns on each side, so the null data's Gram is T G T' with y* = T [y, x].
    transform = np.eye(grams.shape[1])
    transform[0, 1 + focus] = -beta[focus]
    gram = transform @ grams[1:] @ transform.T
    estimates, variance = _solve_focus(gram, focus)
    variance = variance / draw_rows
    std_errors = np.sqrt(np.clip(variance * design_effect, 0.0, None))
    return NullRefits(estimates, std_errors, design_effect)


@dataclass(frozen=True)
class CurveStatistics:
    """The three statistics of a specification curve, each (…,) over draws or a scalar."""

    median: np.ndarray
    n_significant: np.ndarray
    aggregate_z: np.ndarray


def curve_statistics(
    estimates: np.ndarray, p_values: np.ndarray, sign: float, alpha: float
) -> CurveStatistics:
    """Statistics of curves given (…, S) estimates and two-sided p-values; ``sign`` is +1 or −1
    for the predicted direction. Specifications that could not be fitted (NaN) are left out of
    each statistic."""
    signed = estimates * sign
    with np.errstate(invalid="ignore"):
        median = np.nanmedian(signed, axis=-1)
        significant = (p_values < alpha) & (signed > 0)
        z = -np.sign(signed) * normal_quantile(np.clip(p_values, 1e-300, 1.0) / 2)
        aggregate = np.nanmean(z, axis=-1)
    return CurveStatistics(median, significant.sum(axis=-1).astype(float), aggregate)


@dataclass(frozen=True)
class JointTests:
    """Observed statistics (in the predicted direction) and their p-values under the null."""

    direction: str  # "positive" | "negative"
    median: float  # observed median estimate (signed as estimated, not flipped)
    share_positive: float
    n_significant: int  # significant with the predicted sign
    share_significant: float
    aggregate_z: float
    p_median: float
    p_significant: float
    p_aggregate_z: float
    draws: int

    def to_json(self) -> dict[str, float | int | str]:
        return dict(vars(self))


def joint_tests(
    estimates: np.ndarray,
    p_values: np.ndarray,
    null_estimates: np.ndarray,
    null_p_values: np.ndarray,
    *,
    direction: str,
    alpha: float,
) -> JointTests:
    """The three tests of Simonsohn et al. (2020) from the observed curve (S,) and the null
    curves (B, S). ``direction`` is ``positive``, ``negative`` or ``auto`` (the sign of the
    observed median estimate)."""
    observed_median = float(np.nanmedian(estimates))
    if direction == "auto":
        direction = "negative" if observed_median < 0 else "positive"
    sign = 1.0 if direction == "positive" else -1.0
    observed = curve_statistics(estimates, p_values, sign, alpha)
    null = curve_statistics(null_estimates, null_p_values, sign, alpha)
    draws = null_estimates.shape[0]

    def share(null_values: np.ndarray, value: np.ndarray) -> float:
        return float(np.mean(null_values >= value - 1e-12 * max(1.0, abs(float(value)))))

    fitted = np.isfinite(estimates)
    return JointTests(
        direction=direction,
        median=observed_median,
        share_positive=float(np.mean(estimates[fitted] > 0)),
        n_significant=int(observed.n_significant),
        share_significant=float(observed.n_significant / max(int(fitted.sum()), 1)),
        aggregate_z=float(observed.aggregate_z),
        p_median=share(null.median, observed.median),
        p_significant=share(null.n_significant, observed.n_significant),
        p_aggregate_z=share(null.aggregate_z, observed.aggregate_z),
        draws=draws,
    )
