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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from specrun.errors import SpecError
from specrun.kernels.distributions import normal_quantile
from specrun.kernels.within import (
    PanelIndex,
    demean,
    entity_blocks,
    entity_groups,
    entity_pair_sums,
    partialled,
    period_corrected,
    weighted_gram,
)


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


class SharedGrams:
    """:func:`resample_grams` of many sets of columns on the same rows and draws, each column's
    sweep and period sums and each pair of columns' weighted sums computed once.

    ``index`` codes the rows' entities and periods; ``weights`` (B + 1, N) are the multiplicities
    of the observed sample (a row of ones) and the draws, N = ``index.n_entities`` in code
    order unless ``units`` (index.n_entities,) names the column of ``weights`` of each entity
    code (a sample of some of the entities drawn, or codes in another order). The
    specifications of a multiverse that differ only in their winsorizing, controls, effects or
    covariance mostly share columns on the same rows (the controls are not winsorized), and an
    entry of a Gram matrix, its period correction included, depends only on its two columns: a
    column is recognised by its bits, so the draws' sums over 31,000 entities are taken once
    per distinct column or pair, not once per specification. Each entry is the sum
    ``weighted_gram(entity_blocks(values, index, …), weights)`` takes, but for the order in
    which the per-entity sums and the matrix product over the entities add (about 1e−13 apart
    at 341,000 rows; the tests' tolerance in ``tests/test_multiverse.py``).
    """

    def __init__(
        self, index: PanelIndex, weights: np.ndarray, *, units: np.ndarray | None = None
    ) -> None:
        self.weights = np.asarray(weights, dtype=float)
        # the column of ``weights`` of each entity code, when they are not the codes themselves
        # (the units the rows do not hold count zero)
        self._units = units
        self._order, self._starts = entity_groups(index.entity, index.n_entities)
        # the rows grouped by entity (their order within an entity kept, so every per-entity
        # or per-cell sum adds in the same order as on the rows as given)
        if self._order is not None:
            index = PanelIndex(
                index.entity[self._order],
                index.time[self._order],
                index.n_entities,
                index.n_periods,
                index.balanced,
            )
        self.index = index
        # rows per entity when every entity has as many (a full grid, or equal runs): the
        # per-entity sums are then those of a (N, width) matrix
        sizes = np.diff(np.append(self._starts, index.entity.size))
        self._width = int(sizes[0]) if sizes.size and bool(np.all(sizes == sizes[0])) else 0
        # a full grid in period order within each entity: a column is its (N, T) cell sums
        self._grid = bool(
            index.balanced
            and self._width == index.n_periods
            and bool((index.time.reshape(-1, index.n_periods) == _periods(index)).all())
        )
        self._known: dict[bytes, list[tuple[np.ndarray, int]]] = {}  # sketch → (column, id)
        self._n_known = 0
        self._swept: dict[tuple[bool, int], np.ndarray] = {}  # (entity swept, id) → (n,)
        self._pairs: dict[tuple[bool, int, int], np.ndarray] = {}  # → (B + 1,)
        self._periods: dict[tuple[bool, bool, int], np.ndarray] = {}  # → (B + 1, T)
        self._counts: dict[bool, np.ndarray] = {}  # by time effects: (B + 1, T) rows per period

    def grams(
        self, columns: Sequence[np.ndarray], *, entity_effects: bool, time_effects: bool
    ) -> np.ndarray:
        """Within Gram matrices (B + 1, q, q) of ``columns`` (q columns (n,), float, on the
        rows of ``index`` in its order: [y, x]) on the observed sample and every draw, as
        :func:`resample_grams` of their stack."""
        columns = [np.ascontiguousarray(c, dtype=float) for c in columns]
        # a column is known by its bits as given: only a new one is gathered into entity order
        ids = [self._identify(c) for c in columns]
        if self._order is not None:
            columns = [
                c if (entity_effects, k) in self._swept else c[self._order]
                for c, k in zip(columns, ids, strict=True)
            ]
        index = self.index
        partial = entity_effects and time_effects and not index.balanced
        if partial:
            # the period dummies, partialled out of the entity-swept columns (EntityBlocks)
            for t in range(index.n_periods):
                columns.append((index.time == t).astype(float))
                ids.append(-1 - t)
        swept = self._sweep(columns, ids, entity_effects)
        q = len(ids)
        upper = list(zip(*np.triu_indices(q), strict=True))
        # a product is the same either way round: a pair is named by its sorted numbers
        names = [(entity_effects, min(ids[a], ids[b]), max(ids[a], ids[b])) for a, b in upper]
        pairs = dict(zip(names, upper, strict=True))  # one entry per distinct pair
        # time effects, or the intercept (one "period"), are swept from the weighted sums
        correct = not partial and not (entity_effects and not time_effects)
        periods = {(entity_effects, time_effects, k): j for j, k in enumerate(ids)}
        self._sum_missing(swept, pairs, periods if correct else {}, time_effects)
        gram = np.empty((self.weights.shape[0], q, q))
        for name, (a, b) in zip(names, upper, strict=True):
            gram[:, a, b] = gram[:, b, a] = self._pairs[name]
        if partial:
            return partialled(gram, index.n_periods)
        if not correct:
            return gram
        sums = np.stack([self._periods[(entity_effects, time_effects, k)] for k in ids], axis=2)
        return period_corrected(gram, sums, self._counts[time_effects])

    def _identify(self, column: np.ndarray) -> int:
        """A number for the column's bits, equal for equal columns: a sketch of a few values
        finds the candidates, a full comparison of the bits decides (no hash to collide)."""
        step = max(1, column.size // 64)
        sketch = column[::step].tobytes() + column.size.to_bytes(8, "little")
        bits = column.view(np.int64)
        for known, number in self._known.get(sketch, ()):
            if np.array_equal(known.view(np.int64), bits):
                return number
        number = self._n_known
        self._n_known += 1
        self._known.setdefault(sketch, []).append((column, number))
        return number

    def _sweep(self, columns: list[np.ndarray], ids: list[int], entity: bool) -> list[np.ndarray]:
        """The columns (n,) with their entity means taken off (as given without ``entity``),
        each column swept once: with the rows grouped ``width`` to an entity, as an
        (N, width) matrix less its row means; else by :func:`kernels.within.demean`."""
        missing = list(dict.fromkeys(k for k in ids if (entity, k) not in self._swept))
        if missing:
            where = {k: j for j, k in enumerate(ids)}
            if entity and self._width:
                shape = (self.index.n_entities, self._width)
                for k in missing:
                    rows = columns[where[k]].reshape(shape)
                    # einsum: ndarray.mean over a short axis is several times slower
                    means = np.einsum("ir->i", rows) / self._width
                    self._swept[(entity, k)] = (rows - means[:, None]).ravel()
            elif entity:
                block = np.empty((self.index.entity.size, len(missing)), order="F")
                for j, k in enumerate(missing):
                    block[:, j] = columns[where[k]]
                block = demean(block, self.index, entity=True, time=False)
                for j, k in enumerate(missing):
                    self._swept[(entity, k)] = np.ascontiguousarray(block[:, j])
            else:
                for k in missing:
                    self._swept[(entity, k)] = columns[where[k]]
        return [self._swept[(entity, k)] for k in ids]

    def _sum_missing(
        self,
        swept: list[np.ndarray],
        pairs: dict[tuple[bool, int, int], tuple[int, int]],
        periods: dict[tuple[bool, bool, int], int],
        time: bool,
    ) -> None:
        """The weighted sums over the draws of the pairs' per-entity products, the columns'
        per-(entity, period) sums and the rows per period that are not known yet, in one
        matrix product: each product reads all (B + 1, N) weights, which costs as much as
        the arithmetic for the few dozen columns a specification adds.

        The per-entity items are the rows of an (m, N) array (its transpose, the product's
        right operand, is not copied): a pair's sums are one ``einsum`` over the (N, width)
        matrices of its columns when every entity has ``width`` rows, else chunked by
        :func:`kernels.within.entity_pair_sums`; on a full grid each (entity, period) cell is
        one row, so a column's cell sums are the column itself. Each item is written
        contiguously: a column-wise layout's strided writes cost four times as much."""
        index = self.index
        n_entities = index.n_entities
        n_periods = index.n_periods if time else 1
        new_pairs = [name for name in pairs if name not in self._pairs]
        new_periods = [name for name in periods if name not in self._periods]
        new_counts = bool(periods) and time not in self._counts
        widths = [len(new_pairs), n_periods * len(new_periods), n_periods * new_counts]
        if not sum(widths):
            return
        stacked = np.empty((sum(widths), n_entities))
        if new_pairs:
            wanted = [pairs[name] for name in new_pairs]
            if self._width:
                shape = (n_entities, self._width)
                for k, (a, b) in enumerate(wanted):
                    pair = (swept[a].reshape(shape), swept[b].reshape(shape))
                    np.einsum("ir,ir->i", *pair, out=stacked[k])
            else:
                stacked[: widths[0]] = entity_pair_sums(swept, wanted, self._starts)
        if new_periods or new_counts:
            # per (entity, period) cell, laid out period-major as ``EntityBlocks.period_sums``:
            # row t·J + j of the block holds column j's sums in period t
            cell_sums = stacked[widths[0] :].reshape(n_periods, -1, n_entities)
            grid = time and self._grid
            cells = None if grid else index.entity * n_periods + (index.time if time else 0)
            size = n_entities * n_periods
            for j, name in enumerate(new_periods):
                column = swept[periods[name]]
                if not grid:  # adding in row order, as ``within._cell_sums``
                    column = np.bincount(cells, weights=column, minlength=size)
                cell_sums[:, j, :] = column.reshape(n_entities, n_periods).T
            if new_counts:
                if grid:
                    cell_sums[:, -1, :] = 1.0
                else:
                    counts = np.bincount(cells, minlength=size).reshape(n_entities, n_periods)
                    cell_sums[:, -1, :] = counts.T
        if self._units is not None:
            # zeros for the units the rows do not hold: a product over all the weights' columns
            # costs less than gathering the (B + 1, N) weights of the sample's entities
            spread = np.zeros((stacked.shape[0], self.weights.shape[1]))
            for row, values in zip(spread, stacked, strict=True):
                row[self._units] = values  # a row at a time: 6× a 2-D scatter's speed
            stacked = spread
        summed = self.weights @ stacked.T
        for k, name in enumerate(new_pairs):
            self._pairs[name] = summed[:, k].copy()
        by_period = summed[:, widths[0] :].reshape(summed.shape[0], n_periods, -1)
        for j, name in enumerate(new_periods):
            self._periods[name] = by_period[:, :, j].copy()
        if new_counts:
            # whole numbers: the product is exact whatever order it adds in
            self._counts[time] = by_period[:, :, -1].copy()


def _periods(index: PanelIndex) -> np.ndarray:
    """0, 1, …, T − 1 as a (1, T) row: each entity's periods on a full grid in order."""
    return np.arange(index.n_periods, dtype=index.time.dtype)[None, :]


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
