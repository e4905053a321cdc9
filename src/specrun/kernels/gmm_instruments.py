"""The panel grid and the per-period instrument blocks of dynamic panel GMM (xtabond2's Z).

The data are laid on a filled N × T grid (entity × period, NaN where a cell is absent), as
xtabond2 does before estimating. Each entity contributes R = T rows (difference GMM: the
transformed equation) or R = 2T rows (system GMM: the transformed rows, then the levels rows).
The instrument matrix is never held as a dense (N·R) × J array, let alone anything N·T × N·T:
for each row slot r only the J_r columns that can be non-zero there are stored, as an N × J_r
block, and the blocks sit side by side in one N × Σ_r J_r array (``InstrumentBlocks``).
Uncollapsed GMM-style columns are non-zero in one slot only, so Σ_r J_r stays close to J and
every product (Σ_i Z_i′HZ_i, Z′X, Z_i′e_i) costs about N·J·(width of the other factor).
Columns that are zero on the whole sample (a period dummy outside its period) are not stored,
and the products run over blocks of entities small enough for their temporaries to stay in
cache, so that their cost grows linearly in N instead of turning memory-bound once N × C
outgrows the cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import polars as pl

from specrun.data.terms import parse_item
from specrun.errors import SpecError, did_you_mean
from specrun.kernels.hdfe import factor_codes

Equation = Literal["both", "diff", "level"]
Transform = Literal["fd", "fod"]

# About this many bytes of Z's rows per entity block: with the block's temporaries it stays
# within a core's share of the cache.
_BLOCK_BYTES = 1 << 21


@dataclass(frozen=True)
class GmmStyle:
    """One ``gmmstyle()`` group (Roodman 2009, section 4.1).

    ``variables`` may carry Stata's lag prefix (``"L.n"``). ``lags = (a, b)`` are xtabond2's
    ``laglimits(a b)``: lags a..b of the levels instrument the transformed equation and, in
    system GMM, lag a − 1 of the first difference instruments the levels equation; ``b = None``
    is open (all available lags). ``equation`` is ``"both"`` (default), ``"diff"`` (transformed
    equation only) or ``"level"`` (a full set of lagged differences for the levels equation).
    """

    variables: tuple[str, ...]
    lags: tuple[int, int | None] = (1, None)
    collapse: bool = False
    equation: Equation = "both"

    def __post_init__(self) -> None:
        if isinstance(self.variables, str):
            object.__setattr__(self, "variables", (self.variables,))
        low, high = self.lags
        if high is not None and low > high:
            object.__setattr__(self, "lags", (high, low))
        if self.lags[0] < 0:
            raise SpecError(
                f"gmm instruments for {', '.join(self.variables)}: negative (forward) lags are "
                "not supported",
                code="schema",
            )
        if self.equation not in ("both", "diff", "level"):
            raise SpecError(
                f"gmm equation must be 'both', 'diff' or 'level', not {self.equation!r}",
                code="schema",
            )


@dataclass(frozen=True)
class IvStyle:
    """One ``ivstyle()`` group: one column per variable, transformed like the regressors for the
    transformed equation (unless ``passthru``), in levels for the levels equation; ``mz`` puts
    zero for missing instead of dropping the row."""

    variables: tuple[str, ...]
    equation: Equation = "both"
    passthru: bool = False
    mz: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.variables, str):
            object.__setattr__(self, "variables", (self.variables,))
        if self.equation not in ("both", "diff", "level"):
            raise SpecError(
                f"iv equation must be 'both', 'diff' or 'level', not {self.equation!r}",
                code="schema",
            )


def parse_term(term: str) -> tuple[str, int]:
    """``"L2.k"`` → (``"k"``, 2); ``"L.k"`` → (``"k"``, 1); ``"k"`` → (``"k"``, 0), read by the
    shared term grammar (``specrun.data.terms``); anything but a variable or its lag is an
    error."""
    terms = parse_item(term.strip())
    component = terms[0].components[0]
    if (
        len(terms) != 1
        or terms[0].is_interaction
        or component.factor
        or component.diff
        or component.shift < 0
    ):
        raise SpecError(
            f"cannot read the variable term {term!r}: a variable or its lag (L#.)", code="schema"
        )
    return component.variable, component.shift


def term_name(variable: str, lag: int) -> str:
    """Stata's display name of a lagged variable: ``k``, ``L.k``, ``L2.k``."""
    if lag == 0:
        return variable
    return f"L.{variable}" if lag == 1 else f"L{lag}.{variable}"


def _columns_of(data: Any) -> list[str]:
    if isinstance(data, Mapping):
        return [str(c) for c in data]
    return [str(c) for c in data.columns]


def column(data: Any, name: str, *, numeric: bool = True) -> np.ndarray:
    """A column of a pandas/polars frame or a mapping of arrays, as a 1-d numpy array."""
    names = _columns_of(data)
    if name not in names:
        raise SpecError(
            f"variable '{name}' is not in the data",
            code="data",
            path=name,
            hint=did_you_mean(name, names),
        )
    values = data[name]
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    array = np.asarray(values)
    if not numeric:
        return array
    try:
        return array.astype(float)
    except (TypeError, ValueError):
        raise SpecError(f"variable '{name}' is not numeric", code="data", path=name) from None


def entity_column(data: Any, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The entity column for :meth:`PanelGrid.from_labels`: (values (n,), None), or for a
    polars text column without nulls (codes (n,), the sorted distinct labels). The codes are
    the labels' ranks, as ``numpy.unique`` would number them (polars orders text by its UTF-8
    bytes, i.e. by code point, as Python does), found by polars instead of by Python string
    comparisons on an object array."""
    values = data[name] if name in _columns_of(data) else None
    if (
        isinstance(values, pl.Series)
        and values.dtype in (pl.String, pl.Categorical)
        and values.null_count() == 0
    ):
        text = values.cast(pl.String)
        codes = text.rank("dense").to_numpy().astype(np.intp) - 1
        return codes, text.unique().sort().to_numpy()
    return column(data, name, numeric=False), None


@dataclass(frozen=True)
class PanelGrid:
    """Entities × periods of a panel, with the period step (Stata's ``xtset`` delta)."""

    entity_codes: np.ndarray  # (n_rows,) 0..n_entities-1
    period_codes: np.ndarray  # (n_rows,) 0..n_periods-1
    n_entities: int
    n_periods: int
    first_time: float
    step: float

    @classmethod
    def from_labels(
        cls,
        entity: np.ndarray,
        time: np.ndarray,
        entity_name: str,
        time_name: str,
        labels: np.ndarray | None = None,
    ) -> PanelGrid:
        """The grid of ``entity`` and ``time`` (n,) labels; ``labels``, when given, are the
        sorted distinct entity labels of which ``entity`` holds the codes (:func:`entity_column`).
        Raises ``SpecError`` for missing labels, a time that is not whole numbers or a cell
        that appears twice."""
        if entity.size == 0:
            raise SpecError("the data have no rows", code="data")
        if _has_missing(entity):
            raise SpecError(
                f"the entity variable '{entity_name}' has missing values",
                code="data",
                path=entity_name,
            )
        try:
            times = np.asarray(time, dtype=float)
        except (TypeError, ValueError):
            raise SpecError(
                f"the time variable '{time_name}' is not numeric", code="data", path=time_name
            ) from None
        if np.isnan(times).any():
            raise SpecError(
                f"the time variable '{time_name}' has missing values", code="data", path=time_name
            )
        if not np.all(times == np.round(times)) or np.abs(times).max() > 2.0**53:
            raise SpecError(
                f"the time variable '{time_name}' must hold whole numbers (years, periods)",
                code="data",
                path=time_name,
            )
        entity_codes = factor_codes(np.asarray(entity))[0]
        distinct = np.unique(times).astype(np.int64)
        step = int(np.gcd.reduce(np.diff(distinct))) if distinct.size > 1 else 1
        span = int((distinct[-1] - distinct[0]) // step) + 1
        if span > max(4 * distinct.size, distinct.size + 1000):
            # the grid holds every period of the span: a mistyped period (20100 for 2010)
            # asked for terabytes
            raise SpecError(
                f"the time variable '{time_name}' runs from {distinct[0]} to {distinct[-1]}: "
                f"{span:,} periods for {distinct.size} distinct values (a mistyped period?)",
                code="data",
                path=time_name,
            )
        period_codes = ((times - distinct[0]) / step).astype(np.intp)
        n_entities = int(entity_codes.max()) + 1
        n_periods = int(period_codes.max()) + 1
        cell = entity_codes.astype(np.int64) * n_periods + period_codes
        counts = np.bincount(cell, minlength=n_entities * n_periods)
        if counts.max() > 1:
            first = int(np.argmax(counts > 1))
            label = (np.unique(entity) if labels is None else labels)[first // n_periods]
            raise SpecError(
                f"entity {label} appears more than once in {time_name} "
                f"{distinct[0] + step * (first % n_periods)}",
                code="data",
                path=entity_name,
            )
        return cls(
            entity_codes.astype(np.intp),
            period_codes,
            n_entities,
            n_periods,
            float(distinct[0]),
            float(step),
        )

    def spread(self, values: np.ndarray) -> np.ndarray:
        """Row values as an (n_entities, n_periods) array, NaN where a cell is absent."""
        wide = np.full((self.n_entities, self.n_periods), np.nan)
        wide[self.entity_codes, self.period_codes] = values
        return wide

    def time_label(self, period: int) -> str:
        value = self.first_time + self.step * period
        return str(int(value)) if value == int(value) else str(value)


def _has_missing(values: np.ndarray) -> bool:
    if values.dtype.kind in "fc":
        return bool(np.isnan(values).any())
    if values.dtype.kind == "O":
        # Element-wise comparisons run in C: None equals None, and only NaN differs from itself.
        return bool(np.equal(values, None).any() or np.not_equal(values, values).any())
    return False


def lag_wide(wide: np.ndarray, lag: int) -> np.ndarray:
    """Shift an (N, T, ...) array ``lag`` periods later in time (Stata's L#.), NaN-filled."""
    if lag == 0:
        return wide
    out = np.full_like(wide, np.nan)
    if lag < wide.shape[1]:
        out[:, lag:] = wide[:, :-lag]
    return out


def transform_wide(
    values: np.ndarray,
    complete: np.ndarray,
    transform: Transform,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """First differences, or forward orthogonal deviations, on the grid (xtabond2's layout),
    written into ``out`` (same shape as ``values``) when given.

    FD puts x_t − x_{t−1} in slot t. FOD (Arellano and Bover 1995) puts
    sqrt(n/(n+1)) · (x_t − mean of the n later complete observations) in slot t + 1, so that, as
    with differences, lag 1 of a variable is the first valid instrument for slot t + 1. Slot 0
    is NaN.
    """
    if out is None:
        out = np.empty_like(values)
    out[:, 0] = np.nan
    if transform == "fd":
        np.subtract(values[:, 1:], values[:, :-1], out=out[:, 1:])
        return out
    mask = complete if values.ndim == 2 else complete[..., None]
    filled = np.where(mask, values, 0.0)
    later_sum = np.zeros_like(filled)
    later_sum[:, :-1] = np.cumsum(filled[:, :0:-1], axis=1)[:, ::-1]
    counts = complete.astype(float)
    later_n = np.zeros_like(counts)
    later_n[:, :-1] = np.cumsum(counts[:, :0:-1], axis=1)[:, ::-1]
    if values.ndim == 3:
        later_n = later_n[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.sqrt(later_n / (later_n + 1.0)) * (values - later_sum / later_n)
    deviation = np.where(later_n > 0, deviation, np.nan)
    out[:, 1:] = deviation[:, :-1]
    return out


@dataclass(frozen=True, eq=False)
class InstrumentBlocks:
    """Z in compressed columns: ``values`` (N, C) holds, slot after slot, the C = Σ_r J_r
    instrument columns that can be non-zero in each row slot r (zero on rows outside the
    estimation sample); ``column_of`` (C,) maps them to the J instruments, ``slot_of`` (C,) to
    their slot, and slot r owns the contiguous range ``bounds[r]:bounds[r + 1]``. Every product
    is then a few calls on an N × C array, with C close to J for uncollapsed instruments."""

    values: np.ndarray
    column_of: np.ndarray
    slot_of: np.ndarray
    bounds: np.ndarray
    n_columns: int
    names: tuple[str, ...]

    @property
    def n_slots(self) -> int:
        return self.bounds.size - 1

    @cached_property
    def _shared(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """How compressed columns map to instruments. Columns of an instrument that occupies
        one slot only (uncollapsed GMM-style) are copied; the others (IV-style, collapsed) are
        summed by a one-hot product. Returns (single compressed columns, shared compressed
        columns, their (C_shared, J_shared) one-hot, the J_shared instruments it sums into)."""
        counts = np.bincount(self.column_of, minlength=self.n_columns)
        single = np.flatnonzero(counts[self.column_of] == 1)
        shared = np.flatnonzero(counts[self.column_of] > 1)
        targets, position = np.unique(self.column_of[shared], return_inverse=True)
        onehot = np.zeros((shared.size, targets.size))
        onehot[np.arange(shared.size), position] = 1.0
        return single, shared, onehot, targets

    def _collect(self, compressed: np.ndarray) -> np.ndarray:
        """Sum the compressed axis (last) into instruments: (..., C) → (..., J)."""
        single, shared, onehot, targets = self._shared
        out = np.zeros((*compressed.shape[:-1], self.n_columns))
        out[..., self.column_of[single]] = compressed[..., single]
        if shared.size:
            out[..., targets] = compressed[..., shared] @ onehot
        return out

    @cached_property
    def _to_slots(self) -> np.ndarray:
        """(C, R) one-hot of each compressed column's slot."""
        onehot = np.zeros((self.slot_of.size, self.n_slots))
        onehot[np.arange(self.slot_of.size), self.slot_of] = 1.0
        return onehot

    @cached_property
    def _spans(self) -> tuple[tuple[int, slice], ...]:
        """(slot, its compressed columns) for every slot that has any."""
        return tuple(
            (r, slice(int(self.bounds[r]), int(self.bounds[r + 1])))
            for r in range(self.n_slots)
            if self.bounds[r + 1] > self.bounds[r]
        )

    @cached_property
    def _entity_blocks(self) -> tuple[slice, ...]:
        """Ranges of entities whose rows of ``values`` take about ``_BLOCK_BYTES``."""
        n, width = self.values.shape
        rows = max(64, _BLOCK_BYTES // (8 * max(width, 1)))
        return tuple(slice(start, min(start + rows, n)) for start in range(0, n, rows))

    def cross(self, other: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Z'M for M of shape (N, R) or (N, R, m): (J,) or (J, m); with ``weights`` (N,),
        Σ_i w_i Z_i′M_i."""
        flat = other.reshape(*other.shape[:2], -1)
        compressed = np.zeros((flat.shape[2], self.column_of.size))
        for rows in self._entity_blocks:
            block = flat[rows] if weights is None else flat[rows] * weights[rows, None, None]
            values = self.values[rows]
            for r, span in self._spans:
                compressed[:, span] += block[:, r].T @ values[:, span]
        out = self._collect(compressed).T
        return out.reshape(self.n_columns, *other.shape[2:])

    def by_entity(self, residuals: np.ndarray) -> np.ndarray:
        """Z_i'e_i for every entity: (N, J)."""
        out = np.empty((self.values.shape[0], self.n_columns))
        for rows in self._entity_blocks:
            out[rows] = self._collect(self.values[rows] * residuals[rows][:, self.slot_of])
        return out

    def times(self, vector: np.ndarray) -> np.ndarray:
        """Z_i v for every entity: (N, R)."""
        return self.values @ (self._to_slots * vector[self.column_of][:, None])

    def weighted_gram(self, factor: np.ndarray) -> np.ndarray:
        """Σ_i Z_i′HZ_i for H = LL′ (``factor`` = L, R × P).

        Mostly single-slot columns (uncollapsed): one Gram matrix of the compressed columns,
        weighted by H of their slots, then summed into instruments. Otherwise (collapsed, where
        that Gram would multiply many zero blocks of H): Σ_p Q_p′Q_p with Q_p = Σ_r L_rp Z_r,
        each Q_p held only on the union of its slots' columns, one block of entities at a time.
        """
        width = self.values.shape[1]
        widths = np.diff(self.bounds)
        per_factor = sum(
            float(widths[np.flatnonzero(factor[:, p])].sum()) ** 2 for p in range(factor.shape[1])
        )
        if width * width <= per_factor + factor.shape[1] * 3e3:
            h = factor @ factor.T
            gram = self.values.T @ self.values
            gram *= h[np.ix_(self.slot_of, self.slot_of)]
            return self._collect(self._collect(gram).T)
        plan: list[tuple[np.ndarray, list[tuple[float, slice, np.ndarray]]]] = []
        for p in range(factor.shape[1]):
            slots = [r for r in np.flatnonzero(factor[:, p]) if self.bounds[r + 1] > self.bounds[r]]
            if not slots:
                continue
            ranges = [slice(self.bounds[r], self.bounds[r + 1]) for r in slots]
            union = np.unique(np.concatenate([self.column_of[span] for span in ranges]))
            parts = [
                (float(factor[r, p]), span, np.searchsorted(union, self.column_of[span]))
                for r, span in zip(slots, ranges, strict=True)
            ]
            plan.append((union, parts))
        grams = [np.zeros((union.size, union.size)) for union, _ in plan]
        for rows in self._entity_blocks:
            values = self.values[rows]
            for (union, parts), gram in zip(plan, grams, strict=True):
                q = np.zeros((values.shape[0], union.size))
                for weight, span, positions in parts:
                    q[:, positions] += weight * values[:, span]
                gram += q.T @ q
        out = np.zeros((self.n_columns, self.n_columns))
        for (union, _), gram in zip(plan, grams, strict=True):
            out[np.ix_(union, union)] += gram
        return out


class InstrumentBuilder:
    """Collects instrument columns slot by slot, then zeroes rows outside the sample."""

    def __init__(self, n_entities: int, n_slots: int) -> None:
        self._n = n_entities
        self._parts: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_slots)]
        self._names: list[str] = []

    def new_columns(self, names: Sequence[str]) -> np.ndarray:
        start = len(self._names)
        self._names.extend(names)
        return np.arange(start, start + len(names))

    def put(self, slot: int, cols: np.ndarray, values: np.ndarray) -> None:
        if cols.size:
            self._parts[slot].append((cols, values.reshape(self._n, cols.size)))

    def finish(self, use: np.ndarray) -> InstrumentBlocks:
        # Missing instrument values lie only on rows outside the sample (GMM-style bases are
        # zero-filled and a missing IV-style value drops its row), so Z is each part where
        # ``use`` holds and zero elsewhere. A column that is zero on every row of the sample
        # adds nothing to any product and is left out.
        columns: list[np.ndarray] = []
        pieces: list[tuple[int, np.ndarray, np.ndarray | None]] = []
        widths = [0] * len(self._parts)
        for slot, parts in enumerate(self._parts):
            for cols, values in parts:
                nonzero = ((values != 0.0) & use[:, slot, None]).any(axis=0)
                if not nonzero.any():
                    continue
                pick = None if nonzero.all() else np.flatnonzero(nonzero)
                columns.append(cols if pick is None else cols[pick])
                pieces.append((slot, values, pick))
                widths[slot] += columns[-1].size
        bounds = np.concatenate([[0], np.cumsum(widths)]).astype(np.intp)
        slot_of = np.repeat(np.arange(len(widths)), widths)
        out = np.empty((self._n, int(bounds[-1])))
        # Filled a block of entities at a time: each part's rows of the block are near each
        # other in memory, where a whole column of a part strides across its source array.
        per_block = max(64, _BLOCK_BYTES // (8 * max(out.shape[1], 1)))
        for first in range(0, self._n, per_block):
            rows = slice(first, min(first + per_block, self._n))
            start = 0
            for slot, values, pick in pieces:
                part = values[rows] if pick is None else values[rows][:, pick]
                stop = start + part.shape[1]
                out[rows, start:stop] = np.where(use[rows, slot, None], part, 0.0)
                start = stop
        column_of = np.concatenate(columns) if columns else np.zeros(0, dtype=np.intp)
        return InstrumentBlocks(
            out, column_of, slot_of, bounds, len(self._names), tuple(self._names)
        )


def add_iv_group(
    builder: InstrumentBuilder,
    transformed: np.ndarray | None,
    levels: np.ndarray | None,
    names: Sequence[str],
    n_periods: int,
) -> None:
    """IV-style columns (Roodman 2009, eq. 24–25): one per variable, in every slot of the
    equations it instruments. ``transformed``/``levels`` are (N, T, m) or None."""
    cols = builder.new_columns(names)
    if transformed is not None:
        for r in range(n_periods):
            builder.put(r, cols, transformed[:, r, :])
    if levels is not None:
        for r in range(n_periods):
            builder.put(n_periods + r, cols, levels[:, r, :])


def add_gmm_group(
    builder: InstrumentBuilder,
    style: GmmStyle,
    bases: np.ndarray,
    base_names: Sequence[str],
    *,
    system: bool,
    use_levels: np.ndarray | None,
    time_label: Any,
) -> tuple[int, int]:
    """GMM-style columns of one group (Holtz-Eakin, Newey and Rosen 1988; Arellano and Bond
    1991; Blundell and Bond 1998), laid out as xtabond2's ``_MakeGMMinsts``.

    ``bases`` is (N, T, m) with NaN where missing. Returns the lag limits used after clipping to
    the panel's length, as xtabond2's ``_GMMinstPerBaseVar`` clips them.
    """
    t_len = bases.shape[1]
    levels_base = np.nan_to_num(bases, nan=0.0)
    diff_base = np.zeros_like(bases)
    diff_base[:, 1:] = bases[:, 1:] - bases[:, :-1]
    diff_base = np.nan_to_num(diff_base, nan=0.0)

    full_levels = style.equation == "level"
    lag_max = t_len - 1 - int(full_levels)
    low, high = style.lags
    high = lag_max if high is None else min(high, lag_max)
    offset = t_len if full_levels else 0
    source = diff_base if full_levels else levels_base
    first_source_period = 1 if full_levels else 0

    if style.collapse:
        lag_cols = {
            lag: builder.new_columns([f"{term_name(v, lag)} (collapsed)" for v in base_names])
            for lag in range(low, high + 1)
        }
        for r in range(t_len):
            lags = [lag for lag in lag_cols if r - lag >= first_source_period]
            if lags:
                cols = np.concatenate([lag_cols[lag] for lag in lags])
                builder.put(offset + r, cols, source[:, [r - lag for lag in lags], :])
    else:
        for r in range(t_len):
            lags = list(range(low, min(high, r - first_source_period) + 1))
            if not lags:
                continue
            names = [f"{term_name(v, lag)} in {time_label(r)}" for lag in lags for v in base_names]
            builder.put(
                offset + r, builder.new_columns(names), source[:, [r - lag for lag in lags], :]
            )

    if system and style.equation == "both":
        _add_levels_companion(builder, style, diff_base, base_names, low, high, use_levels)
    return low, high


def _add_levels_companion(
    builder: InstrumentBuilder,
    style: GmmStyle,
    diff_base: np.ndarray,
    base_names: Sequence[str],
    low: int,
    high: int,
    use_levels: np.ndarray | None,
) -> None:
    """The Blundell–Bond levels instruments of a ``both`` group: lag a − 1 of the difference
    (lag 0 when a = 0); collapsed columns that are zero on the whole sample move to deeper lags
    up to b − 1, as xtabond2 does."""
    _, t_len, m = diff_base.shape
    lag = low - 1 if low > 0 else (0 if high > 0 else -1)
    lag_stop = high - 1
    if style.collapse:
        cols = builder.new_columns([f"D.{term_name(v, lag)} (levels)" for v in base_names])
        # xtabond2 shares one lag counter across the group's columns while each column moves
        # only by its own steps; kept as is so that the same columns come out.
        counter, chosen = lag, []
        for j in range(m):
            own = lag
            while counter < lag_stop and not _any_on_sample(diff_base[:, :, j], own, use_levels):
                own += 1
                counter += 1
            chosen.append(own)
        for r in range(t_len):
            picks = [(j, r - chosen[j]) for j in range(m) if 0 <= r - chosen[j] < t_len]
            if picks:
                builder.put(
                    t_len + r,
                    cols[[j for j, _ in picks]],
                    np.stack([diff_base[:, s, j] for j, s in picks], axis=1),
                )
    else:
        # The first difference of the first period is always missing, hence s from 1.
        for s in range(1, t_len):
            r = s + lag
            if 0 <= r < t_len:
                names = [f"D.{v} in {s}" for v in base_names]
                builder.put(t_len + r, builder.new_columns(names), diff_base[:, s, :])


def _any_on_sample(diff: np.ndarray, lag: int, use_levels: np.ndarray | None) -> bool:
    t_len = diff.shape[1]
    shifted = np.zeros_like(diff)
    if lag >= 0:
        shifted[:, lag:] = diff[:, : t_len - lag]
    else:
        shifted[:, :lag] = diff[:, -lag:]
    if use_levels is not None:
        shifted = np.where(use_levels, shifted, 0.0)
    return bool(np.any(shifted != 0))
