"""Run a multiverse node: collect its specifications' fits into one curve and, when asked, run
the joint tests of Simonsohn, Simmons and Nelson (2020) on entity resamples of the null data.

The specifications were fitted as ordinary plan nodes; this step only reads their results
(and, for the tests, rebuilds the estimation rows with the executor's own sample and design
code: once for each set of specifications fitted on the same rows, whose Grams are sub-blocks
of the widest one's; the designs on the same rows, say each winsorizing level, share the draws'
sums of every column they have in common, ``kernels.curve.SharedGrams``). The curve is
stored as the artifact ``multiverse:<name>`` that tables, figures and
``multiverse/<name>.parquet`` read.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.kernels.curve import JointTests, SharedGrams, joint_tests, refits_from_grams
from specrun.kernels.distributions import two_sided_p
from specrun.kernels.hdfe import compress_codes, factor_codes
from specrun.kernels.within import PanelIndex, multiplicities, resample_indices
from specrun.results import ModelResult, ResultSet
from specrun.spec.multiverse import ResolvedMultiverse, focus_term
from specrun.stored import ModelStore
from specrun.tables.format import coefficient_critical_value

if TYPE_CHECKING:
    from specrun.execute import Executor

# columns every curve row has besides its axes and the model's statistics
CURVE_COLUMNS = (
    "specification",
    "term",
    "estimate",
    "std_error",
    "stat",
    "p_value",
    "ci_low",
    "ci_high",
    "nobs",
)


@dataclass(frozen=True)
class MultiverseResult:
    """A fitted multiverse: one row per specification (``CURVE_COLUMNS``, one column per axis
    holding the value chosen, then the statistics of each model, null where a model lacks one)
    in specification order, and the joint tests when the spec asks for them."""

    name: str
    focus: str
    axes: tuple[str, ...]
    curve: pl.DataFrame
    tests: JointTests | None
    level: float
    inference: str = ""  # the resampling scheme of the tests
    seed: int | None = None  # the tests' seed, for the table note in the output language

    def to_json(self) -> dict[str, Any]:
        return {
            "focus": self.focus,
            "axes": list(self.axes),
            "specifications": self.curve.height,
            "level": self.level,
            "inference": self.inference or None,
            "tests": self.tests.to_json() if self.tests is not None else None,
        }


def curve_of(results: ResultSet, name: str) -> MultiverseResult:
    """The multiverse ``name`` of a run, or a ``SpecError`` (a table or figure names it)."""
    found = results.artifacts.get(f"multiverse:{name}")
    if not isinstance(found, MultiverseResult):
        raise SpecError(f"unknown multiverse '{name}'", code="reference")
    return found


def _focus_of(
    multiverse: ResolvedMultiverse, name: str, models: Mapping[str, ModelResult]
) -> tuple[ModelResult, str]:
    """The fitted model and coefficient a specification's focus names: a coefficient of the
    model (or an operator on it, ``L.Dige``), or ``<part>.<coefficient>`` of a model with parts
    (``outcome.Dige`` of a mediation)."""
    focus = multiverse.spec.focus
    # the tidy numbers suffice: a model reused from the cache is not decoded whole
    brief = models.brief if isinstance(models, ModelStore) else models.get
    result = brief(name)
    if result is not None:
        term = focus_term(focus, list(result.coefficients))
        if term is not None:
            return result, term
    part, _, coefficient = focus.partition(".")
    if coefficient and f"{name}.{part}" in models:
        result = brief(f"{name}.{part}")
        term = focus_term(coefficient, list(result.coefficients))
        if term is not None:
            return result, term
    have = ", ".join(result.coefficients) if result is not None else ""
    have = have or "no coefficients"
    raise SpecError(
        f"multiverse '{multiverse.name}': specification '{name}' has no coefficient "
        f"'{focus}' (it has {have})",
        code="estimation",
        path=f"multiverse.{multiverse.name}.focus",
    )


def collect_curve(
    multiverse: ResolvedMultiverse, models: Mapping[str, ModelResult]
) -> pl.DataFrame:
    """One row per specification from the fitted models (see :class:`MultiverseResult`)."""
    level = multiverse.spec.level
    rows: list[dict[str, Any]] = []
    statistics: dict[str, None] = {}
    reserved = {*CURVE_COLUMNS, *multiverse.axes}
    for item in multiverse.specifications:
        result, term = _focus_of(multiverse, item.name, models)
        coef = result.coefficients[term]
        half = coefficient_critical_value(result, term, level) * coef.std_error
        row: dict[str, Any] = {"specification": item.name, **dict(item.choices)}
        row.update(
            term=term,
            estimate=coef.estimate,
            std_error=coef.std_error,
            stat=coef.stat,
            p_value=coef.p_value,
            ci_low=coef.estimate - half,
            ci_high=coef.estimate + half,
            nobs=result.nobs,
        )
        for key, value in result.stats.items():
            if key not in reserved and key != "nobs":
                statistics[key] = None
                row[key] = float(value)
        rows.append(row)
    schema: dict[str, Any] = {"specification": pl.String}
    schema.update({axis: pl.String for axis in multiverse.axes})
    schema.update({c: pl.Float64 for c in CURVE_COLUMNS[2:-1]})
    schema.update(term=pl.String, nobs=pl.Int64)
    schema.update({key: pl.Float64 for key in statistics})
    order = ["specification", *multiverse.axes, *CURVE_COLUMNS[1:], *statistics]
    return pl.DataFrame(rows, schema=schema).select(order)


def draw_seed(seed: int, name: str) -> np.random.Generator:
    """The generator of a multiverse's entity draws: its spec seed and name, never the run's
    schedule (so a parallel run draws the same entities)."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def run_multiverse(executor: Executor, multiverse: ResolvedMultiverse) -> MultiverseResult:
    """The curve of ``multiverse`` from the executor's fitted models, and its joint tests."""
    curve = collect_curve(multiverse, executor.models)
    inference = multiverse.spec.inference
    tests = None
    scheme = ""
    if inference is not None:
        entity = executor.spec.data.index[0]
        panel = executor.panel_frame()
        keys = panel[entity].drop_nulls().unique()
        entities = np.sort(keys.to_numpy())
        drawn = resample_indices(
            entities.size, inference.draws, draw_seed(inference.seed, multiverse.name)
        )
        # the observed sample (every entity once) and the draws: one weight matrix that every
        # specification's Gram product reads (its columns, for a sample of fewer entities)
        weights = np.empty((inference.draws + 1, entities.size))
        weights[0] = 1.0
        multiplicities(drawn, entities.size, out=weights[1:])
        space = _Workspace(weights, _EntityLookup(entities, keys.dtype))
        names = [item.name for item in multiverse.specifications]
        members = [_member(executor, name) for name in names]
        holders = _holders(members)
        products: dict[int, _Product] = {}
        null_estimates = np.empty((inference.draws, len(names)))
        null_p = np.empty_like(null_estimates)
        for s, name in enumerate(names):
            result = executor.models[name]
            term = curve["term"][s]
            holder = holders[s]
            if holder not in products:
                products[holder] = _product(
                    executor, multiverse, names[holder], members[holder], space
                )
            try:
                refits = _refits(products[holder], members[s], term, result)
            except SpecError as exc:
                refits = None
                error = exc
            if refits is None and holder != s:
                # the rows were judged equal from the fits' row counts and columns; a
                # specification whose estimate the shared product does not reproduce gets
                # a product of its own rows
                own = _product(executor, multiverse, name, members[s], space)
                try:
                    refits = _refits(own, members[s], term, result)
                except SpecError as exc:
                    error = exc
            if refits is None:
                raise SpecError(
                    f"specification '{name}': {error.message}",
                    code=error.code,
                    path=f"multiverse.{multiverse.name}.inference",
                ) from None
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.abs(refits.estimates / refits.std_errors)
            df = result.covariance_df
            p = two_sided_p(t, df)
            null_estimates[:, s] = refits.estimates
            null_p[:, s] = np.where(np.isfinite(t), p, np.nan)
        tests = joint_tests(
            curve["estimate"].to_numpy(),
            curve["p_value"].to_numpy(),
            null_estimates,
            null_p,
            direction=inference.direction,
            alpha=inference.alpha,
        )
        scheme = (
            f"entity-cluster bootstrap of the null data (y − β̂·{multiverse.spec.focus}), "
            f"{inference.draws} draws shared by every specification, seed {inference.seed}; "
            "each draw's standard error is its conventional one times the specification's "
            "design effect"
        )
    return MultiverseResult(
        name=multiverse.name,
        focus=multiverse.spec.focus,
        axes=multiverse.axes,
        curve=curve,
        tests=tests,
        level=multiverse.spec.level,
        inference=scheme,
        seed=inference.seed if inference is not None else None,
    )


@dataclass(frozen=True)
class _Member:
    """What a specification's fit says about the rows and columns the joint tests refit."""

    # specifications with equal groups were fitted on the same rows when one's regressors
    # include the other's: everything that decides the rows and the columns' values but the
    # covariance and the regressors, and the fit's row count
    group: tuple[str, ...]
    regressors: frozenset[str]  # every x column the fit built (omitted ones included)
    columns: tuple[str, ...]  # those with a coefficient, in the fit's order: the Gram's


def _member(executor: Executor, name: str) -> _Member:
    model = executor.spec.models[name]
    result = executor.models[name]
    group = (
        *(step.model_dump_json() for step in model.transforms),
        model.spec.model_dump_json(exclude={"se", "x"}),
        str(result.nobs),
    )
    columns = tuple(c for c in result.regressors if c in result.coefficients)
    return _Member(group, frozenset(result.regressors), columns)


def _holders(members: list[_Member]) -> list[int]:
    """For each specification, the one whose rows are rebuilt and whose Gram product it reads:
    the first of its group whose regressors and columns include its own and lie inside no
    other member's (so the 108 specifications of the paper rebuild 24 designs, not 108).
    Specifications that differ only in their covariance or their controls, on the same rows,
    have Grams that are sub-blocks of one another's (``kernels.curve.resample_grams``)."""

    def inside(a: _Member, b: _Member) -> bool:
        return a.regressors <= b.regressors and set(a.columns) <= set(b.columns)

    groups: dict[tuple[str, ...], list[int]] = {}
    for s, member in enumerate(members):
        groups.setdefault(member.group, []).append(s)
    holders = list(range(len(members)))
    for group in groups.values():
        widest = [
            h
            for h in group
            if not any(
                inside(members[h], members[o]) and not inside(members[o], members[h]) for o in group
            )
        ]
        for s in group:
            holders[s] = next((h for h in widest if inside(members[s], members[h])), s)
    return holders


@dataclass(frozen=True)
class _Product:
    """One rebuilt specification's Grams of [y, x] on the observed sample and every draw."""

    grams: np.ndarray  # (B + 1, 1 + p, 1 + p)
    columns: tuple[str, ...]  # the x columns
    rows: np.ndarray  # (n_entities,) rows per entity of its sample
    draw_rows: np.ndarray  # (B,) rows of each draw


def _refits(product: _Product, member: _Member, term: str, result: ModelResult) -> Any:
    # this specification's [y, x] inside the product's columns
    pick = [0, *(1 + product.columns.index(c) for c in member.columns)]
    grams = product.grams
    if pick != list(range(len(product.columns) + 1)):
        grams = grams[:, pick][:, :, pick]
    return refits_from_grams(
        grams,
        product.rows,
        member.columns.index(term),
        reported_estimate=result.coefficients[term].estimate,
        reported_se=result.coefficients[term].std_error,
        draw_rows=product.draw_rows,
    )


class _EntityLookup:
    """Each row's entity as its position among the panel's sorted distinct entities."""

    def __init__(self, entities: np.ndarray, dtype: pl.DataType) -> None:
        self.entities = entities
        self.keys = pl.Series(values=entities, dtype=dtype)
        self.codes = pl.Series(values=np.arange(entities.size, dtype=np.int64))

    def __call__(self, labels: pl.Series) -> np.ndarray:
        """Positions (n,) of ``labels`` (n,); rows that repeat an entity in runs (a panel
        sorted by entity) look up each run's label once (a tenth of the lookups)."""
        starts = labels.ne_missing(labels.shift(1)).arg_true()
        if starts.len() * 2 <= labels.len():
            lengths = np.diff(np.append(starts.to_numpy(), labels.len()))
            return np.repeat(self._positions(labels.gather(starts)), lengths)
        return self._positions(labels)

    def _positions(self, labels: pl.Series) -> np.ndarray:
        try:
            # a hash lookup: a binary search of strings took seconds at 341,000 rows
            if labels.dtype == pl.String:
                found = labels.cast(pl.Enum(self.keys)).to_physical()
            else:
                found = labels.replace_strict(self.keys, self.codes, default=None)
            if found.null_count() == 0:
                return found.to_numpy().astype(np.intp)
        except pl.exceptions.PolarsError:
            pass
        values = labels.to_numpy()
        positions = np.searchsorted(self.entities, values)
        clipped = np.minimum(positions, self.entities.size - 1)
        if not np.array_equal(self.entities[clipped], values):
            raise RuntimeError("a specification's sample holds an entity the panel does not")
        return positions.astype(np.intp)


@dataclass
class _RowSet:
    """Estimation rows that several rebuilt designs share, with the draws' weights gathered to
    their entities: rows per entity, rows per draw, and the Grams of any columns on them."""

    entities: pl.Series  # the rows' entity labels
    periods: pl.Series  # and period labels
    grams: SharedGrams
    rows: np.ndarray  # (n_entities,)
    draw_rows: np.ndarray  # (B,)


@dataclass
class _Rows:
    """A rebuilt design: [y, x] (1 + p columns (n,)) on the estimation rows, and its x columns."""

    values: list[np.ndarray]
    columns: tuple[str, ...]
    row_set: _RowSet


@dataclass
class _Workspace:
    """What the joint tests of one multiverse share between specifications."""

    weights: np.ndarray  # (B + 1, N): ones (the observed sample), then each draw's counts
    lookup: _EntityLookup
    designs: OrderedDict[tuple[str, ...], _Rows] = field(default_factory=OrderedDict)
    row_sets: list[_RowSet] = field(default_factory=list)  # the latest last


# designs kept for specifications that differ only in their effects; row sets kept for the
# designs (winsorizing levels, sets of controls) on the same rows
_KEPT_DESIGNS = 2
_KEPT_ROW_SETS = 2


def _product(
    executor: Executor,
    multiverse: ResolvedMultiverse,
    name: str,
    member: _Member,
    space: _Workspace,
) -> _Product:
    """The Grams of specification ``name`` on the observed sample and every draw, from its
    rebuilt rows (:func:`_rows`), which specifications that differ only in their entity and
    time effects share; the sums over the draws of each column and pair of columns are shared
    by every design on the same rows (:class:`kernels.curve.SharedGrams`)."""
    model = executor.spec.models[name]
    result = executor.models[name]
    absorbed = set(getattr(model.spec, "absorbed", list)())
    key = (
        *(step.model_dump_json() for step in model.transforms),
        model.spec.model_dump_json(exclude={"se", "x", "effects", "absorb"}),
        *sorted(absorbed - {"entity", "time"}),
        str(result.nobs),
        *sorted(member.regressors),
    )
    rows = space.designs.get(key)
    if rows is None:
        rows = _rows(executor, multiverse, name, member, space)
        space.designs[key] = rows
        while len(space.designs) > _KEPT_DESIGNS:
            space.designs.popitem(last=False)
    row_set = rows.row_set
    grams = row_set.grams.grams(
        rows.values, entity_effects="entity" in absorbed, time_effects="time" in absorbed
    )
    return _Product(grams, rows.columns, row_set.rows, row_set.draw_rows)


def _rows(
    executor: Executor,
    multiverse: ResolvedMultiverse,
    name: str,
    member: _Member,
    space: _Workspace,
) -> _Rows:
    """Rebuild the estimation rows of specification ``name`` (fits may have run in other
    processes or come from the cache); designs on the same rows share one :class:`_RowSet`."""
    from specrun.execute import model_design

    entity, time = executor.spec.data.index
    model = executor.spec.models[name]
    result = executor.models[name]
    design = model_design(model, executor.model_frame(model))
    frame = design.frame
    columns = tuple(c for c in design.columns["x"] if c in result.coefficients)
    if frame.height != result.nobs or not set(member.columns) <= set(columns):
        raise SpecError(
            f"specification '{name}' cannot be refitted for the joint tests "
            f"({frame.height} rows rebuilt, {result.nobs} fitted)",
            code="estimation",
            path=f"multiverse.{multiverse.name}.inference",
        )
    # [y, x] column by column: each is contiguous as it stands (SharedGrams reads columns)
    values = [frame[c].cast(pl.Float64).to_numpy() for c in (design.columns["y"][0], *columns)]
    # designs on the same rows share their row set: the labels decide (comparing them costs
    # a thirtieth of looking the entities up)
    entities, periods = frame[entity], frame[time]
    found = [r for r in space.row_sets if r.entities.equals(entities) and r.periods.equals(periods)]
    row_set = found[0] if found else _row_set(entities, periods, space)
    # the latest last, the least recently used out first
    space.row_sets = [*(r for r in space.row_sets if r is not row_set), row_set]
    del space.row_sets[:-_KEPT_ROW_SETS]
    return _Rows(values, columns, row_set)


def _row_set(entities: pl.Series, periods: pl.Series, space: _Workspace) -> _RowSet:
    """The rows of a sample by their entity and period labels; the draws' weights are read in
    place (a sample of fewer entities adds zeros for the others rather than gathering a copy
    of the (B + 1, N) weights)."""
    weights = space.weights
    # the rows' codes are ranks among the sample's distinct entities and periods
    # (``PanelIndex.from_labels``), from the entities' positions in the panel's draws
    positions = space.lookup(entities)
    period_codes, n_periods = factor_codes(periods.to_numpy())
    per_unit = np.bincount(positions, minlength=weights.shape[1])
    codes, n_entities = compress_codes(positions)
    cells = np.bincount(codes * n_periods + period_codes, minlength=n_entities * n_periods)
    balanced = bool(codes.size == n_entities * n_periods and np.all(cells == 1))
    index = PanelIndex(codes, period_codes.astype(np.intp), n_entities, n_periods, balanced)
    units = None if n_entities == weights.shape[1] else np.flatnonzero(per_unit)
    rows = per_unit[per_unit > 0].astype(float)
    # whole numbers: exact in any order
    draw_rows = weights[1:] @ per_unit.astype(float)
    return _RowSet(entities, periods, SharedGrams(index, weights, units=units), rows, draw_rows)
