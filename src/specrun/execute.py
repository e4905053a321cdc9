"""Walk a Plan: load sources, run transforms, fit every model on its rows, build tables/figures.

A fit sees exactly its sample's rows that are complete in its variables; the rows each model
dropped are counted for ``manifest.json``. Nothing here writes files (see ``outputs``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from specrun.data.io import read_source
from specrun.errors import SpecError, SpecErrors
from specrun.estimators import ESTIMATORS
from specrun.estimators.base import FitContext, model_variables
from specrun.plan.nodes import Node, Plan
from specrun.results import ModelResult, ResultSet
from specrun.spec.load import PathKey, format_path
from specrun.spec.models import SampleSpec
from specrun.spec.validate import ResolvedModel, Spec
from specrun.tables.base import TableContext
from specrun.tables.ir import Table
from specrun.transforms import TRANSFORMS
from specrun.transforms.base import TransformContext

ProgressFactory = Callable[[str, int], Callable[[int, int], None] | None]


@dataclass
class RunOutput:
    results: ResultSet
    tables: dict[str, Table]
    figures: dict[str, Any]
    analysis: pl.DataFrame
    model_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def _located(spec: Spec, exc: SpecError, path: PathKey) -> SpecError:
    pos = spec.document.position(path)
    return exc.located(
        file=spec.document.file,
        line=pos.line if pos else None,
        col=pos.col if pos else None,
        path=exc.path or format_path(path),
    )


def _sample_filter(sample: SampleSpec, spec: Spec, schema: pl.Schema) -> pl.Expr:
    from specrun.data.expr import compile_expression

    condition = pl.lit(True)
    if sample.where:
        condition = condition & compile_expression(sample.where, schema)
    if sample.time is not None:
        first, last = sample.time
        column = pl.col(spec.data.panel.time)
        if first is not None:
            condition = condition & (column >= first)
        if last is not None:
            condition = condition & (column <= last)
    for column, values in (sample.exclude or {}).items():
        condition = condition & ~pl.col(column).is_in(values)
    return condition


def apply_step(
    frame: pl.DataFrame,
    step: Any,
    path: PathKey,
    spec: Spec,
    sources: dict[str, pl.DataFrame],
    artifacts: dict[str, Any],
    notes: list[str],
) -> pl.DataFrame:
    """Run one transform step (``{name: options}``) located at ``path`` in the spec."""
    name = next(iter(type(step).model_fields))
    ctx = TransformContext(spec.data.panel.entity, spec.data.panel.time, sources)
    try:
        out = TRANSFORMS.get(name).apply(frame, getattr(step, name), ctx)
    except SpecError as exc:
        raise SpecErrors([_located(spec, exc, (*path, name))]) from None
    except pl.exceptions.PolarsError as exc:
        error = SpecError(f"{name} failed: {exc}", code="data")
        raise SpecErrors([_located(spec, error, (*path, name))]) from None
    artifacts.update(out.artifacts)
    notes.extend(f"{format_path(path)} {name}: {note}" for note in out.notes)
    return out.frame


class Executor:
    def __init__(self, spec: Spec, plan: Plan, progress: ProgressFactory | None = None) -> None:
        self.spec = spec
        self.plan = plan
        self.progress = progress or (lambda _label, _total: None)
        self.sources: dict[str, pl.DataFrame] = {}
        self.panel: pl.DataFrame | None = None
        self.models: dict[str, ModelResult] = {}
        self.families: dict[str, tuple[str, ...]] = {}
        self.artifacts: dict[str, Any] = {}
        self.model_rows: dict[str, dict[str, int]] = {}
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.timings: dict[str, float] = {}
        self.tables: dict[str, Table] = {}
        self.figures: dict[str, Any] = {}
        self.used_columns: set[str] = set()

    def run(self) -> RunOutput:
        for node in self.plan.nodes:
            started = time.perf_counter()
            if node.kind == "load":
                self.load(node)
            elif node.kind == "transform":
                index = int(node.id.split(":")[1])
                self.panel = self.apply(self.panel_frame(), node.payload, ("transforms", index))
            elif node.kind == "fit":
                self.fit(node)
            elif node.kind in ("table", "figure"):
                self.build(node)
            self.timings[node.id] = time.perf_counter() - started
        panel = self.panel_frame()
        keep = [self.spec.data.panel.entity, self.spec.data.panel.time]
        keep += [c for c in panel.columns if c in self.used_columns and c not in keep]
        return RunOutput(
            results=ResultSet(self.models, self.families, self.artifacts),
            tables=self.tables,
            figures=self.figures,
            analysis=panel.select(keep),
            model_rows=self.model_rows,
            notes=self.notes,
            warnings=self.warnings,
            timings=self.timings,
        )

    def load(self, node: Node) -> None:
        try:
            self.sources[node.name] = read_source(node.payload, self.spec.folder)
        except SpecError as exc:
            where: PathKey = ("data", "sources", node.name, "path")
            if exc.line is not None and not exc.path:  # placed in the data file: name the source
                exc.path = format_path(where)
            raise SpecErrors([_located(self.spec, exc, where)]) from None

    def apply(self, frame: pl.DataFrame, step: Any, path: PathKey) -> pl.DataFrame:
        return apply_step(frame, step, path, self.spec, self.sources, self.artifacts, self.notes)

    def panel_frame(self) -> pl.DataFrame:
        """The panel as transformed so far (its source, checked for repeated cells, at first)."""
        if self.panel is not None:
            return self.panel
        panel = self.spec.data.panel
        frame = self.sources[panel.source]
        duplicated = frame.select(panel.entity, panel.time).is_duplicated()
        if duplicated.any():
            first = frame.filter(duplicated).row(0, named=True)
            raise SpecErrors(
                [
                    _located(
                        self.spec,
                        SpecError(
                            f"source '{panel.source}' has {int(duplicated.sum())} rows sharing an "
                            f"{panel.entity}-{panel.time} pair, e.g. {first[panel.entity]} "
                            f"{first[panel.time]}",
                            code="data",
                        ),
                        ("data", "panel"),
                    )
                ]
            )
        self.panel = frame
        return frame

    def model_frame(self, model: ResolvedModel) -> pl.DataFrame:
        frame = self.panel_frame()
        for i, step in enumerate(model.transforms):
            frame = self.apply(frame, step, (*model.path, "transforms", i))
        sample = model.spec.sample
        path: PathKey = (*model.path, "sample")
        if isinstance(sample, str):
            path = ("samples", sample)
            sample = self.spec.samples[sample]
        if sample is not None:
            try:
                frame = frame.filter(_sample_filter(sample, self.spec, frame.schema))
            except SpecError as exc:
                raise SpecErrors([_located(self.spec, exc, path)]) from None
            except pl.exceptions.PolarsError as exc:
                error = SpecError(f"sample filter failed: {exc}", code="data")
                raise SpecErrors([_located(self.spec, error, path)]) from None
        return frame

    def fit(self, node: Node) -> None:
        model: ResolvedModel = node.payload["model"]
        frame = self.model_frame(model)
        kind = ESTIMATORS.get(model.spec.estimator)
        if model.spec.over:
            values = frame[model.spec.over].drop_nulls().unique(maintain_order=True).to_list()
            members = []
            for value in values:
                member = f"{model.name}.{_value_name(value)}"
                members.append(member)
                part = frame.filter(pl.col(model.spec.over) == value)
                self.fit_one(member, model, part, kind)
            self.claim(model.name, model)
            self.families[model.name] = tuple(members)
        else:
            self.fit_one(model.name, model, frame, kind)

    def check_numeric(
        self, name: str, model: ResolvedModel, frame: pl.DataFrame, variables: list[str]
    ) -> None:
        """Model variables must be numbers (or booleans): a text column names its first
        non-number, usually a missing-value code the source should declare."""
        panel = self.spec.data.panel
        for variable in variables:
            dtype = frame.schema[variable]
            if dtype.is_numeric() or dtype == pl.Boolean:
                continue
            values = frame[variable].cast(pl.String, strict=False)
            bad = frame.filter(
                values.is_not_null() & values.cast(pl.Float64, strict=False).is_null()
            )
            example = (
                f"; first non-number {bad[variable][0]!r} at {bad[panel.entity][0]} "
                f"{bad[panel.time][0]}"
                if bad.height
                else ""
            )
            error = SpecError(
                f"variable '{variable}' of model '{name}' is {dtype}, not numeric{example}",
                code="data",
                path=f"models.{model.name}",
                hint="list missing-value codes under the source's null_values",
            )
            raise SpecErrors([_located(self.spec, error, model.path)])

    def claim(self, name: str, model: ResolvedModel) -> None:
        """Reserve a result or family name; two with one name would make tables ambiguous."""
        if name in self.models or name in self.families:
            clash = SpecError(
                f"two models are named '{name}' (a variant, a part or an over: value gives the "
                "same name): rename the variant",
                code="reference",
                path=f"models.{model.name}",
            )
            raise SpecErrors([_located(self.spec, clash, model.path)])

    def fit_one(self, name: str, model: ResolvedModel, frame: pl.DataFrame, kind: Any) -> None:
        panel = self.spec.data.panel
        variables = model_variables(model.spec)
        self.used_columns.update(variables)
        total = frame.height
        self.check_numeric(name, model, frame, variables)
        if kind.complete_cases:
            complete = pl.all_horizontal(
                [
                    pl.col(v).is_not_null() & pl.col(v).cast(pl.Float64).is_finite()
                    for v in variables
                ]
            )
            frame = frame.filter(complete)
        self.model_rows[name] = {
            "sample": total,
            "used": frame.height,
            "dropped_incomplete": total - frame.height,
        }
        if frame.height == 0:
            raise SpecErrors(
                [
                    _located(
                        self.spec,
                        SpecError(
                            f"model '{name}' has no complete observations in its sample",
                            code="estimation",
                        ),
                        model.path,
                    )
                ]
            )
        ctx = FitContext(name, panel.entity, panel.time, self.progress)
        try:
            columns = list(dict.fromkeys([panel.entity, panel.time, *variables]))
            fitted = kind.fit(frame.select(columns), model.spec, ctx)
        except SpecError as exc:
            # whatever a kernel called the thing at fault, the user needs the model's name
            detail = f"{exc.path}: " if exc.path and not exc.path.startswith("models.") else ""
            error = SpecError(
                f"{detail}{exc.message}", code=exc.code, path=f"models.{name}", hint=exc.hint
            )
            raise SpecErrors([_located(self.spec, error, model.path)]) from None
        for part, result in fitted.items():
            full = f"{name}.{part}" if part else name
            self.claim(full, model)
            self.models[full] = result
            self.warnings.extend(f"model '{full}': {w}" for w in result.extra.get("warnings", ()))

    def build(self, node: Node) -> None:
        from specrun.figures import FIGURES
        from specrun.tables.kinds import TABLES

        labels = self.spec.labels()
        ctx = TableContext(node.name, labels, self.spec.groups)
        results = ResultSet(self.models, self.families, self.artifacts)
        registry = TABLES if node.kind == "table" else FIGURES
        section = "tables" if node.kind == "table" else "figures"
        try:
            built = (
                registry.get(node.payload.kind).build(node.payload, results, ctx)
                if node.kind == "table"
                else registry.get(node.payload.kind).draw(node.payload, results, ctx)
            )
        except SpecError as exc:
            raise SpecErrors([_located(self.spec, exc, (section, node.name))]) from None
        (self.tables if node.kind == "table" else self.figures)[node.name] = built


def _value_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def execute(spec: Spec, plan: Plan, progress: ProgressFactory | None = None) -> RunOutput:
    return Executor(spec, plan, progress).run()
