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
from specrun.kernels.curve import JointTests, joint_tests, null_refits
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
        entity, time = executor.spec.data.index
        panel = executor.panel_frame()
        entities = np.sort(panel[entity].drop_nulls().unique().to_numpy())
        drawn = resample_indices(
            entities.size, inference.draws, draw_seed(inference.seed, multiverse.name)
        )
        counts = multiplicities(drawn, entities.size)
        null_estimates = np.empty((inference.draws, len(multiverse.specifications)))
        null_p = np.empty_like(null_estimates)
        for s, item in enumerate(multiverse.specifications):
            model = executor.spec.models[item.name]
            result = executor.models[item.name]
            term = curve["term"][s]
            # fits may have run in other processes or come from the cache: rebuild the design
            design = model_design(model, executor.model_frame(model))
            frame = design.frame
            y = frame[design.columns["y"][0]].cast(pl.Float64).to_numpy()
            columns = [c for c in design.columns["x"] if c in result.coefficients]
            if frame.height != result.nobs or term not in columns:
                raise SpecError(
                    f"specification '{item.name}' cannot be refitted for the joint tests "
                    f"({frame.height} rows rebuilt, {result.nobs} fitted)",
                    code="estimation",
                    path=f"multiverse.{multiverse.name}.inference",
                )
            x = frame.select(pl.col(columns).cast(pl.Float64)).to_numpy()
            labels = frame[entity].to_numpy()
            index = PanelIndex.from_labels(labels, frame[time].to_numpy())
            # the same draws for every specification: its entities' columns of the panel's
            positions = np.searchsorted(entities, np.unique(labels))
            absorbed = set(getattr(model.spec, "absorbed", list)())
            try:
                refits = null_refits(
                    y,
                    x,
                    columns.index(term),
                    index,
                    entity_effects="entity" in absorbed,
                    time_effects="time" in absorbed,
                    reported_estimate=result.coefficients[term].estimate,
                    reported_se=result.coefficients[term].std_error,
                    multiplicities=counts[:, positions],
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
