"""Run a multiverse node: collect its specifications' fits into one curve and, when asked, run
the joint tests of Simonsohn, Simmons and Nelson (2020) on entity resamples of the null data.

The specifications were fitted as ordinary plan nodes; this step only reads their results
(and, for the tests, rebuilds each one's estimation rows with the executor's own sample and
design code). The curve is stored as the artifact ``multiverse:<name>`` that tables, figures
and ``multiverse/<name>.parquet`` read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.kernels.curve import JointTests, joint_tests, refits_from_grams, resample_grams
from specrun.kernels.distributions import two_sided_p
from specrun.kernels.within import PanelIndex, multiplicities, resample_indices
from specrun.results import ModelResult, ResultSet
from specrun.spec.multiverse import ResolvedMultiverse, focus_term
from specrun.tables.format import critical_value

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
    multiverse: ResolvedMultiverse, name: str, models: dict[str, ModelResult]
) -> tuple[ModelResult, str]:
    """The fitted model and coefficient a specification's focus names: a coefficient of the
    model (or an operator on it, ``L.Dige``), or ``<part>.<coefficient>`` of a model with parts
    (``outcome.Dige`` of a mediation)."""
    focus = multiverse.spec.focus
    result = models.get(name)
    if result is not None:
        term = focus_term(focus, list(result.coefficients))
        if term is not None:
            return result, term
    part, _, coefficient = focus.partition(".")
    if coefficient and f"{name}.{part}" in models:
        result = models[f"{name}.{part}"]
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


def collect_curve(multiverse: ResolvedMultiverse, models: dict[str, ModelResult]) -> pl.DataFrame:
    """One row per specification from the fitted models (see :class:`MultiverseResult`)."""
    level = multiverse.spec.level
    rows: list[dict[str, Any]] = []
    statistics: dict[str, None] = {}
    reserved = {*CURVE_COLUMNS, *multiverse.axes}
    for item in multiverse.specifications:
        result, term = _focus_of(multiverse, item.name, models)
        coef = result.coefficients[term]
        half = critical_value(result.stats, level) * coef.std_error
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
    from specrun.execute import model_design

    curve = collect_curve(multiverse, executor.models)
    inference = multiverse.spec.inference
    tests = None
    scheme = ""
    if inference is not None:
        entity = executor.spec.data.index[0]
        panel = executor.panel_frame()
        entities = np.sort(panel[entity].drop_nulls().unique().to_numpy())
        drawn = resample_indices(
            entities.size, inference.draws, draw_seed(inference.seed, multiverse.name)
        )
        counts = multiplicities(drawn, entities.size)
        null_estimates = np.empty((inference.draws, len(multiverse.specifications)))
        null_p = np.empty_like(null_estimates)
        prepared: list[_Prepared] = []
        for s, item in enumerate(multiverse.specifications):
            prepared.append(
                _prepare(executor, multiverse, item.name, curve["term"][s], model_design, entities)
            )
            _release_nested(prepared)
        shared = _shared_grams(prepared, counts)
        for s, (item, spec) in enumerate(zip(multiverse.specifications, prepared, strict=True)):
            result = executor.models[item.name]
            term = curve["term"][s]
            grams, union, drawn_here = shared[s]
            # this specification's [y, x] inside the group's widest column set
            pick = [0, *(1 + union.index(c) for c in spec.columns)]
            try:
                refits = refits_from_grams(
                    grams[:, pick][:, :, pick] if pick != list(range(len(union) + 1)) else grams,
                    spec.rows,
                    spec.columns.index(term),
                    reported_estimate=result.coefficients[term].estimate,
                    reported_se=result.coefficients[term].std_error,
                    multiplicities=drawn_here,
                )
            except SpecError as exc:
                raise SpecError(
                    f"specification '{item.name}': {exc.message}",
                    code=exc.code,
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
    )


@dataclass
class _Prepared:
    """One specification's rebuilt estimation rows, as the joint tests read them."""

    group: tuple[str, ...]  # specifications with equal groups share their rows
    columns: list[str]  # the x columns
    rows: np.ndarray  # (n_entities,) rows per entity of the sample
    positions: np.ndarray  # (n_entities,) each entity's column in the panel's draws
    entity_effects: bool
    time_effects: bool
    # [y, x] (n, 1 + p) and the rows' codes: dropped once a wider member of the group holds
    # them (108 specifications of 341,000 rows would otherwise hold gigabytes)
    values: np.ndarray | None
    index: PanelIndex | None


def _prepare(
    executor: Executor,
    multiverse: ResolvedMultiverse,
    name: str,
    term: str,
    model_design: Any,
    entities: np.ndarray,
) -> _Prepared:
    entity, time = executor.spec.data.index
    model = executor.spec.models[name]
    result = executor.models[name]
    # fits may have run in other processes or come from the cache: rebuild the design
    design = model_design(model, executor.model_frame(model))
    frame = design.frame
    columns = [c for c in design.columns["x"] if c in result.coefficients]
    if frame.height != result.nobs or term not in columns:
        raise SpecError(
            f"specification '{name}' cannot be refitted for the joint tests "
            f"({frame.height} rows rebuilt, {result.nobs} fitted)",
            code="estimation",
            path=f"multiverse.{multiverse.name}.inference",
        )
    values = frame.select(pl.col([design.columns["y"][0], *columns]).cast(pl.Float64)).to_numpy()
    labels = frame[entity].to_numpy()
    index = PanelIndex.from_labels(labels, frame[time].to_numpy())
    # the same draws for every specification: its entities' columns of the panel's (its codes
    # rank its distinct labels, so scattering the labels lists them sorted)
    present = np.empty(index.n_entities, dtype=labels.dtype)
    present[index.entity] = labels
    absorbed = set(getattr(model.spec, "absorbed", list)())
    # Specifications that differ only in their covariance or their controls, on the same rows,
    # have Grams that are sub-blocks of one another's (kernels.curve.resample_grams): the group
    # is everything else that decides the rows and the columns' values.
    group = (
        *(step.model_dump_json() for step in model.transforms),
        model.spec.model_dump_json(exclude={"se", "x"}),
        str(frame.height),
    )
    return _Prepared(
        group=group,
        columns=columns,
        rows=np.bincount(index.entity, minlength=index.n_entities).astype(float),
        positions=np.searchsorted(entities, present),
        entity_effects="entity" in absorbed,
        time_effects="time" in absorbed,
        values=values,
        index=index,
    )


def _release_nested(prepared: list[_Prepared]) -> None:
    """Drop the rows of earlier members of the last specification's group whose columns lie
    inside its own (its Gram product will hold theirs), or the last one's if it lies inside
    one of theirs: one holder of rows per group and column set."""
    last = prepared[-1]
    if last.values is None:
        return
    columns = set(last.columns)
    for spec in prepared[:-1]:
        if spec.values is None or spec.group != last.group:
            continue
        if set(spec.columns) <= columns:
            spec.values = spec.index = None
        elif columns <= set(spec.columns):
            last.values = last.index = None
            return


def _shared_grams(
    prepared: list[_Prepared], counts: np.ndarray
) -> list[tuple[np.ndarray, list[str], np.ndarray]]:
    """For each specification, the Grams it reads, their columns and its entities' draws
    (B, n_entities): one :func:`resample_grams` product per holder of rows
    (:func:`_release_nested`), whose columns include the specification's (the same group:
    equal rows, so equal values and entities)."""
    products: dict[int, tuple[np.ndarray, list[str], np.ndarray]] = {}
    out = []
    for spec in prepared:
        wanted = set(spec.columns)
        holder = next(
            h
            for h, other in enumerate(prepared)
            if other.values is not None
            and other.group == spec.group
            and wanted <= set(other.columns)
        )
        if holder not in products:
            held = prepared[holder]
            drawn = counts if _every_entity(held.positions, counts) else counts[:, held.positions]
            products[holder] = (_grams(held, drawn), held.columns, drawn)
        out.append(products[holder])
    return out


def _every_entity(positions: np.ndarray, counts: np.ndarray) -> bool:
    """Whether a sample's entities are the panel's, in order (its draws are then ``counts``
    itself, not a gathered copy of B × N)."""
    return positions.size == counts.shape[1] and bool(
        np.array_equal(positions, np.arange(positions.size))
    )


def _grams(spec: _Prepared, drawn: np.ndarray) -> np.ndarray:
    if spec.values is None or spec.index is None:
        raise RuntimeError("a specification's rows were released before its Gram product")
    return resample_grams(
        spec.values,
        spec.index,
        entity_effects=spec.entity_effects,
        time_effects=spec.time_effects,
        multiplicities=drawn,
    )
