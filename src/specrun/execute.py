"""Walk a Plan: load sources, run transforms, fit every model on its rows, build tables/figures.

A fit sees exactly its sample's rows that are complete in its variables; the rows each model
dropped are counted for ``manifest.json``. Nothing here writes files (see ``outputs``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import polars as pl

from specrun.data.design import Design, add_time_series, atoms, build_design
from specrun.data.io import DataLabels, read_labels, read_source, source_format
from specrun.data.terms import Term
from specrun.errors import SpecError, SpecErrors, did_you_mean
from specrun.estimators import ESTIMATORS
from specrun.estimators.base import (
    FitContext,
    model_terms,
    model_variables,
    unbuilt_variables,
    variable_fields,
)
from specrun.plan.nodes import Node, Plan
from specrun.results import ModelResult, ResultSet, fits_exactly
from specrun.spec.load import PathKey, format_path
from specrun.spec.models import SampleSpec, SourceSpec
from specrun.spec.validate import ResolvedModel, Spec
from specrun.stored import ModelCore, ModelStore, Stored
from specrun.tables.base import TableContext
from specrun.tables.ir import Table
from specrun.transforms import TRANSFORMS
from specrun.transforms.base import TransformContext

if TYPE_CHECKING:
    from specrun.cache import CacheStats, NodeCache
    from specrun.executors import Fitted, NodeRunner, Task
    from specrun.figures.base import FigureData
    from specrun.kernels.memo import FitMemo
    from specrun.spec.multiverse import Specification

ProgressFactory = Callable[[str, int], Callable[[int, int], None] | None]

# Beyond this a model variable's square, summed over the rows, overflows double precision
# (1.8e308): numpy's solvers then fail ("SVD did not converge") instead of fitting
MAX_MAGNITUDE = 1e150


def _item_path(spec: Spec, model: ResolvedModel, variable: str) -> PathKey:
    """Where ``variable`` (a column, or a term's column such as ``L.x``) is written among the
    model's variable lists, for an error about it; the model's own path when it is not written
    there as it is (a group member, a part of an interaction)."""
    for field_name in variable_fields(type(model.spec)):
        where = model.origins.get(field_name)
        raw: Any = spec.document.data
        for step in where or ("?",):
            found = isinstance(raw, dict) and step in raw
            found = found or (isinstance(raw, list) and isinstance(step, int) and step < len(raw))
            if found:
                raw = raw[step]
            else:
                raw = None
                break
        if where is not None and raw == variable:
            return where
        if where is not None and isinstance(raw, list) and variable in raw:
            return (*where, raw.index(variable))
    return model.path


def _unit_hint(cell: str) -> str | None:
    """For a number written with a unit or suffix ('2012年', '35.2亿元'): the ``ignore:`` that
    reads it as a number, as Stata's ``destring, ignore()``; None for any other text."""
    # a number (with a thousands separator or not), then text that holds no digit
    found = re.fullmatch(r"\s*[-+]?(?:\d[\d,']*\.?\d*|\.\d+)\s*([^\d\s.,%+-][^\d]*?)\s*", cell)
    if not found:
        return None
    unit = found.group(1)
    return (
        f"'{cell}' is a number followed by '{unit}': add ignore: [\"{unit}\"] to the source, "
        f'as Stata\'s destring, ignore("{unit}")'
    )


def _code_hint(variable: str, dependent: bool) -> str:
    """What a model can do with a column of codes written with a leading zero ('01'), which
    sources read as text so that 000001 stays a code: such levels are a factor's."""
    number = f"derive: {{{variable}_num: real({variable})}} makes numbers of them (Stata's real())"
    if dependent:
        return (
            f"'{variable}' holds codes, not numbers: a dependent variable must be numeric; {number}"
        )
    if not re.fullmatch(r"\w+", variable):
        return f"'{variable}' holds codes, not numbers: lags and differences need numbers"
    return (
        f"'{variable}' holds codes, not numbers: a regressor with such levels enters as a "
        f"factor, one dummy per level (write i.{variable}); {number}"
    )


def _grouping_path(spec: Spec, model: ResolvedModel, variable: str) -> PathKey:
    """Where ``variable`` is written as a grouping column of the model: its ``over:``, an
    ``absorb:`` or ``se: cluster:`` item (``a#b`` included), or a factor term (``i.f``,
    ``c.x#i.f``) of a variable list; else where ``_item_path`` finds it."""
    fields = [(f, ()) for f in variable_fields(type(model.spec))]
    for field_name, inner in [("over", ()), ("absorb", ()), ("se", ("cluster",)), *fields]:
        where = model.origins.get(field_name)
        if where is None:
            continue
        raw: Any = spec.document.data
        for step in (*where, *inner):
            raw = raw.get(step) if isinstance(raw, dict) else None
        where = (*where, *inner)
        items = raw if isinstance(raw, list) else [raw]
        for i, item in enumerate(items):
            if isinstance(item, str) and variable in re.split(r"[#.\s]+", item):
                return (*where, i) if isinstance(raw, list) else where
    return _item_path(spec, model, variable)


def _read_as_numbers(column: pl.Series, source: SourceSpec | None) -> pl.Series:
    """Whether each text cell is a finite number as the source's own options read it: the cell
    that kept a column text is one they do not read ('--' among '28.10%' cells with
    ``percent: true``), not the first with a % sign; 'nan' and 'inf' cast to floats but are no
    numbers the CSV reader took."""
    text = column.str.strip_chars()
    if source is not None and source.thousands is not None:
        text = text.str.replace_all(source.thousands, "", literal=True)
    if source is not None and source.decimal == ",":
        from specrun.data.io import decimal_point

        text = decimal_point(text)
    if source is not None and source.percent:
        text = text.str.strip_suffix("%").str.strip_chars()
    return text.cast(pl.Float64, strict=False).is_finite().fill_null(False)


def _text_number_hint(
    variable: str,
    value: str,
    share: float,
    dependent: bool,
    nulls: list[str] | None = None,
    source: SourceSpec | None = None,
) -> str:
    """What to change so that a text column whose first non-number is ``value`` reads as
    numbers; ``share`` is the fraction of its cells that are not numbers; ``dependent`` when the
    column is the model's dependent variable; ``nulls`` the source's missing-value codes, to
    write the list with ``value`` added; ``source`` the source's options (its decimal mark and
    separator: '1,234' in a ';'-separated file is more likely 1.234 than 1234)."""
    cell = value.strip()
    percent = " and percent: true" if cell.endswith("%") else ""
    comma = source is not None and source.decimal == ","
    semicolon = source is not None and source.separator in (";", "\t", "|")
    grouped = re.fullmatch(r"[-+]?\d{1,3}(?:([,. '_])\d{3})+(?:([.,])\d+)?%?", cell)
    if grouped and grouped.group(1) == "," and grouped.group(2) is None and semicolon:
        return (
            f"'{cell}' is a number with a decimal comma (1.234) or a thousands separator "
            f"(1234): add decimal: ',' or thousands: ','{percent} to the source"
        )
    if grouped and grouped.group(2) == "," and grouped.group(1) != ",":
        # '1.234,5': a thousands separator and a decimal mark, as European exports write
        return (
            f"'{cell}' is a number with a thousands separator and a decimal mark: add "
            f"thousands: '{grouped.group(1)}'"
            + ("" if comma else " and decimal: ','")
            + f"{percent} to the source"
        )
    if grouped:
        return (
            f"'{cell}' is a number with a thousands separator: add "
            f'thousands: "{grouped.group(1)}"' + percent + " to the source"
        )
    if comma and re.fullmatch(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?%?", cell):
        return (
            f"'{cell}' has a decimal point where the source reads a decimal comma (decimal: "
            "','): correct the cell, or add thousands: '.' to the source if '.' separates "
            "thousands there"
        )
    if not comma and re.fullmatch(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?%?", cell):
        return (
            f"'{cell}' is a number with a decimal comma: add decimal: ','{percent} to the source "
            "(Stata's import delimited, decimalseparator(,))"
        )
    if re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)\s*%", cell):
        return f"'{cell}' is a percentage: add percent: true to the source"
    unit = _unit_hint(cell)
    if unit:
        return unit
    if share > 0.5:
        # names or codes, not numbers with a few missing-value codes among them
        if dependent:
            return f"'{variable}' holds text, not numbers: a dependent variable must be numeric"
        if not re.fullmatch(r"\w+", variable):
            return f"'{variable}' holds text, not numbers: lags and differences need numbers"
        return (
            f"'{variable}' holds text, not numbers: a regressor with text levels enters as a "
            f"factor, one dummy per level (write i.{variable})"
        )
    if nulls is None or not cell:
        return "list missing-value codes under the source's null_values"
    written = ", ".join(json.dumps(v, ensure_ascii=False) for v in [*nulls, cell])
    return (
        f"if '{cell}' marks a missing value, add it to the source's missing-value codes: "
        f"null_values: [{written}]"
    )


@dataclass
class RunOutput:
    results: ResultSet
    tables: dict[str, Table]
    figures: dict[str, FigureData]  # drawn by the render stage
    analysis: pl.DataFrame
    model_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    panel_rows: dict[str, int] = field(default_factory=dict)  # rows the panel load dropped
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cache: CacheStats | None = None  # what the cache supplied, when one was used
    # each model's results.json text, encoded where it was fitted (``FitOutput.texts``)
    model_texts: dict[str, str] = field(default_factory=dict)
    # the data files' own variable and value labels (a Stata file's), under the spec's
    data_labels: DataLabels = field(default_factory=DataLabels)


def _located(spec: Spec, exc: SpecError, path: PathKey) -> SpecError:
    pos = spec.document.position(path)
    return exc.located(
        file=spec.document.file,
        line=pos.line if pos else None,
        col=pos.col if pos else None,
        path=exc.path or format_path(path),
    )


def failed_specifications(spec: Spec, errors: Sequence[SpecError]) -> list[SpecError]:
    """``errors`` of failed fits with those of several specifications of one multiverse that
    say the same thing as one error: how many failed, the first by name, and the axis values
    every one of them has, located at the first of those values (``sample=future``: the axis
    value to fix or ``exclude:``) rather than at the multiverse. A value that made 400
    specifications fail printed 400 lines at the multiverse's line. Other errors are kept as
    they are, in their order."""
    specifications = {
        item.name: (multiverse, item)
        for multiverse in spec.multiverses.values()
        for item in multiverse.specifications
    }
    groups: dict[tuple[object, ...], list[tuple[SpecError, Specification]]] = {}
    order: list[SpecError | tuple[object, ...]] = []
    named = re.compile(r"model '([^'\[]+\[[^']*\])'")
    for error in errors:
        found = specifications.get(error.path.removeprefix("models."))
        if found is None and (mentioned := named.search(error.message)) is not None:
            found = specifications.get(mentioned.group(1))
        if found is None:
            order.append(error)
            continue
        # a message naming its own specification (``model 'mv[a=1]' has no rows``) says
        # the same as another's
        name = found[1].name
        said = error.message.replace(f"'{name}'", "'…'")
        key = (found[0].name, error.file, error.line, error.col, error.code, said, error.hint)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((error, found[1]))
    out: list[SpecError] = []
    for entry in order:
        if isinstance(entry, SpecError):
            out.append(entry)
            continue
        members = [error for error, _ in groups[entry]]
        if len(members) == 1:
            out.append(members[0])
            continue
        multiverse = specifications[groups[entry][0][1].name][0]
        chosen = [dict(item.choices) for _, item in groups[entry]]
        shared = [(a, v) for a, v in chosen[0].items() if all(c[a] == v for c in chosen[1:])]
        having = sum(
            all(dict(item.choices)[a] == v for a, v in shared) for item in multiverse.specifications
        )
        first = groups[entry][0][1].name
        which = ", ".join(f"{a}={v}" for a, v in shared)
        if not shared:
            said = f"{len(members)} specifications of multiverse '{multiverse.name}' fail"
        elif having == len(members):
            said = (
                f"the {len(members)} specifications of multiverse '{multiverse.name}' with "
                f"{which} fail"
            )
        else:
            said = (
                f"{len(members)} of the {having} specifications of multiverse "
                f"'{multiverse.name}' with {which} fail"
            )
        message = members[0].message
        if f"'{first}'" not in message:
            said += f" (the first '{first}')"
        where: PathKey = ("multiverse", multiverse.name)
        if shared:
            where = (*where, "axes", shared[0][0], shared[0][1])
        error = SpecError(
            f"{said}: {message}",
            code=members[0].code,
            path=format_path(where),
            hint=members[0].hint,
        )
        out.append(_located(spec, error, where))
    return out


def _sample_filter(sample: SampleSpec, spec: Spec, schema: pl.Schema) -> pl.Expr:
    from specrun.data.expr import compile_expression

    condition = pl.lit(True)
    if sample.where:
        condition = condition & compile_expression(sample.where, schema)
    if sample.time is not None:
        first, last = sample.time
        column = pl.col(spec.data.index[1])
        if first is not None:
            condition = condition & (column >= first)
        if last is not None:
            condition = condition & (column <= last)
    for column, values in (sample.exclude or {}).items():
        condition = condition & ~pl.col(column).is_in(values)
    return condition


def _check_exclude(
    sample: SampleSpec, frame: pl.DataFrame, path: PathKey, spec: Spec, model: str
) -> None:
    """Each ``exclude:`` list holds values of its column's type, and each value is one the
    column holds: YAML reads the code 005 as the number 5, which no text code '005' equals
    (polars' "'is_in' cannot check for String values" was all that said so), and a misspelt
    value left every row in the sample without a word. Raises ``SpecErrors`` located at the
    column's list, naming the values and the codes they stand for."""
    try:
        for column, values in (sample.exclude or {}).items():
            _check_exclude_list(column, values, frame)
    except SpecError as exc:
        where = (*path, "exclude", exc.path)
        # a multiverse's specification is named, so that the failures of the specifications
        # sharing the axis value are said once, at it (``failed_specifications``); else
        # _located names the column's list
        exc.path = f"models.{model}" if "[" in model else ""
        raise SpecErrors([_located(spec, exc, where)]) from None


def _check_exclude_list(column: str, values: list[Any], frame: pl.DataFrame) -> None:
    """``_check_exclude`` for one column; the error's path is the column's name."""
    if column not in frame.columns:
        return  # reported by validate
    dtype = frame.schema[column]
    present = frame[column].drop_nulls().unique()
    if dtype == pl.String and any(not isinstance(v, str) for v in values):
        numbers = [v for v in values if not isinstance(v, str)]
        codes = present.filter(present.str.contains(r"^[0-9]+$"))
        by_value = {int(c): c for c in codes.to_list()}
        meant = [by_value.get(v) for v in numbers if isinstance(v, int)]
        raise SpecError(
            f"'{column}' holds text (such as {present.sort()[0]!r}), and exclude: lists the "
            f"numbers {', '.join(str(v) for v in numbers)} (YAML reads 005 as 5)",
            code="data",
            path=column,
            hint="quote the codes as they are written: " + json.dumps(meant, ensure_ascii=False)
            if meant and len(meant) == len(numbers) and all(m is not None for m in meant)
            else "quote the values, as the column's text is written",
        )
    if dtype.is_numeric() and any(isinstance(v, str) for v in values):
        texts = [v for v in values if isinstance(v, str)]
        raise SpecError(
            f"'{column}' holds numbers, and exclude: lists the text "
            f"{', '.join(repr(v) for v in texts)}",
            code="data",
            path=column,
            hint="write the values without quotes",
        )
    if not (dtype.is_numeric() or dtype == pl.String):
        return
    seen = set(present.to_list())
    absent = [v for v in values if v not in seen]
    if absent:
        shown = present.sort().head(12).to_list()
        raise SpecError(
            f"exclude: {', '.join(repr(v) for v in absent)} "
            f"{'is' if len(absent) == 1 else 'are'} no value of '{column}', so "
            f"{'it excludes' if len(absent) == 1 else 'they exclude'} no row",
            code="data",
            path=column,
            hint=did_you_mean(str(absent[0]), [str(v) for v in shown])
            or f"its values: {', '.join(str(v) for v in shown)}"
            + (", …" if present.len() > len(shown) else ""),
        )


def _require_boolean(sample: SampleSpec, frame: pl.DataFrame) -> None:
    """A where: filter yields true/false per row (a column of numbers is not a filter)."""
    from specrun.transforms.derive import boolean_condition

    if sample.where:
        boolean_condition(sample.where, frame)


def _source_of_models(spec: Spec) -> SourceSpec | None:
    """The source models and transforms read: the panel's, or a cross-section's main one."""
    data = spec.data
    name = data.panel.source if data.panel is not None else data.main
    if name is None and len(data.sources) == 1:
        name = next(iter(data.sources))
    return data.sources.get(name) if name is not None else None


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
    ctx = TransformContext(*spec.data.index, sources)
    try:
        out = TRANSFORMS.get(name).apply(frame, getattr(step, name), ctx)
    except SpecError as exc:
        cell = getattr(exc, "text_cell", None)
        if cell is not None:  # a text input column: its cell as a null_values entry
            source = _source_of_models(spec)
            nulls = source.null_values if source is not None else None
            exc.hint = _text_number_hint("", cell, 0.0, dependent=False, nulls=nulls)
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
        self.models: ModelStore = ModelStore()
        self.families: dict[str, tuple[str, ...]] = {}
        self.artifacts: dict[str, Any] = {}
        self.model_rows: dict[str, dict[str, int]] = {}
        self.notes: list[str] = []
        self.warnings: list[str] = list(spec.document.warnings)
        self.timings: dict[str, float] = {}
        self.tables: dict[str, Table] = {}
        self.figures: dict[str, FigureData] = {}
        self.used_columns: set[str] = set()
        self.panel_rows: dict[str, int] = {}
        self.source_labels: dict[str, DataLabels] = {}  # by source, as each is loaded
        self.data_labels = DataLabels()
        # the panel after a model's own transforms, by (where the steps are written, the steps)
        self.model_frames: dict[tuple[Any, ...], pl.DataFrame] = {}
        self.model_texts: dict[str, str] = {}
        self._read: tuple[frozenset[str], str] | None = None  # ``_model_read``
        # models' sample frames, shared with the other nodes a runner fits in this process
        self.frames = SampleFrames()
        # figures are built as soon as their models are merged, and given to ``on_figure``
        self.on_figure: Callable[[FigureData], None] | None = None
        self.merged: set[str] = set()  # the fit nodes merged so far
        self.early: dict[str, tuple[FigureData, list[str], float]] = {}
        self.tried: set[str] = set()  # figures built early, or tried and failed

    def run(
        self,
        runner: NodeRunner | None = None,
        cache: NodeCache | None = None,
        node_progress: NodeProgress | None = None,
    ) -> RunOutput:
        """Every node of the plan: the data stage (loads and transforms) here, the fits on
        ``runner`` (serial by default) in waves of independent nodes, then tables and figures.
        ``cache`` supplies and stores node results by their plan hashes."""
        from specrun.executors import SerialRunner

        runner = runner or SerialRunner()
        counts = _Counts(len(self.plan.nodes), node_progress)
        if any(n.kind == "fit" for n in self.plan.nodes):
            runner.prepare(self.spec, self.plan)  # before the data stage (forked workers)
        data = [n for n in self.plan.nodes if n.kind in ("load", "transform")]
        self.run_data(data, cache, counts)
        self.run_fits([n for n in self.plan.nodes if n.kind == "fit"], runner, cache, counts)
        # tables and figures read only the fits, so a bad one does not stop the others: every
        # table's error is reported at once, as validate reports the spec's
        failed: list[SpecError] = []
        for node in self.plan.nodes:
            if node.kind == "multiverse":  # reads the fits merged above
                started = time.perf_counter()
                reused = self.cached_multiverse(node, cache)
                self.timings[node.id] = time.perf_counter() - started
                counts.finish(reused=reused)
            elif node.id in self.early:  # built as soon as its models were merged
                figure, warnings, seconds = self.early.pop(node.id)
                self.warnings.extend(warnings)
                self.figures[node.name] = figure
                self.timings[node.id] = seconds
                counts.finish(reused=False)
            elif node.kind in ("table", "figure"):
                started = time.perf_counter()
                try:
                    self.build(node)
                except SpecErrors as exc:
                    failed.extend(exc.errors)
                self.timings[node.id] = time.perf_counter() - started
                counts.finish(reused=False)
                if node.kind == "figure" and node.name in self.figures and self.on_figure:
                    self.on_figure(self.figures[node.name])
        if failed:
            raise SpecErrors(failed)
        counts.finish(reused=False, n=sum(1 for n in self.plan.nodes if n.kind == "render"))
        panel = self.panel_frame()
        keep = list(self.spec.data.index) if self.spec.data.panel else []
        keep += [c for c in panel.columns if c in self.used_columns and c not in keep]
        return RunOutput(
            results=ResultSet(self.models, self.families, self.artifacts),
            tables=self.tables,
            figures=self.figures,
            analysis=panel.select(keep),
            model_rows=self.model_rows,
            panel_rows=self.panel_rows,
            notes=self.notes,
            warnings=self.warnings,
            timings=self.timings,
            cache=cache.stats if cache is not None else None,
            model_texts=self.model_texts,
            data_labels=self.data_labels,
        )

    def run_data(self, nodes: list[Node], cache: NodeCache | None, counts: _Counts) -> None:
        """Load the sources and run the transforms, or take the finished panel (with the
        transforms' artifacts and notes) from the cache under the last data node's hash."""
        if not nodes:
            return
        last = nodes[-1]
        key = cache.key(data_stage_hash(nodes, self.spec)) if cache is not None else ""
        if cache is not None:
            started = time.perf_counter()
            stored = cache.get(key, last.id)
            if isinstance(stored, DataStage):
                self.panel = stored.panel
                self.artifacts.update(stored.artifacts)
                self.notes.extend(stored.notes)
                self.panel_rows.update(stored.panel_rows)
                self.data_labels = stored.labels
                self.timings[last.id] = time.perf_counter() - started
                cache.stats.reused.extend(n.id for n in nodes)
                counts.finish(reused=True, n=len(nodes))
                return
        for node in nodes:
            started = time.perf_counter()
            if node.kind == "load":
                self.load(node)
            else:
                index = int(node.id.split(":")[1])
                self.panel = self.apply(self.panel_frame(), node.payload, ("transforms", index))
            self.timings[node.id] = time.perf_counter() - started
            counts.finish(reused=False)
        panel = self.panel_frame()
        self.data_labels = self.merged_labels()
        if cache is not None:
            cache.stats.computed.extend(n.id for n in nodes)
            stage = DataStage(
                panel,
                dict(self.artifacts),
                list(self.notes),
                dict(self.panel_rows),
                self.data_labels,
            )
            if not cache.put(key, stage):
                cache.stats.uncacheable.append(last.id)

    def run_fits(
        self,
        nodes: list[Node],
        runner: NodeRunner,
        cache: NodeCache | None,
        counts: _Counts,
    ) -> None:
        """Fit every model node: from the cache where its hash is stored (its models decoded
        only when read, ``specrun.stored``), else on ``runner``, a wave at a time (a wave's
        nodes read only earlier waves' results). Results are merged in plan order, so the
        outputs do not depend on which node finished first."""
        if not nodes:
            return
        panel = self.panel_frame()
        ids = {n.id for n in nodes}
        level: dict[str, int] = {}
        for node in nodes:
            level[node.id] = 1 + max((level[i] for i in node.inputs if i in ids), default=-1)
        done: dict[str, FitOutput] = {}
        if cache is not None:  # the fit entries' indexes this spec's last run used, at once
            cache.open_pack(pack_name(self.spec))
        # fits in this process build their samples into the executor's own store, where the
        # multiverse's joint tests find them again
        runner.start(
            self.spec,
            self.plan,
            panel,
            self.progress,
            cache=cache.folder if cache else None,
            frames=self.frames,
        )
        merged = 0  # nodes[:merged] are merged: results are merged in plan order

        def merge_ready() -> None:
            nonlocal merged
            while merged < len(nodes) and nodes[merged].id in done:
                self.merge(nodes[merged], done[nodes[merged].id])
                self.merged.add(nodes[merged].id)
                merged += 1
            self.build_figures_ready()

        try:
            for wave in range(max(level.values()) + 1):
                todo = []
                for node in (n for n in nodes if level[n.id] == wave):
                    started = time.perf_counter()
                    stored = self.stored_fit(node, cache, done) if cache is not None else None
                    if stored is not None:
                        done[node.id] = stored
                        self.timings[node.id] = time.perf_counter() - started
                        cache.stats.reused.append(node.id)  # type: ignore[union-attr]
                        counts.finish(reused=True)
                    else:
                        todo.append((node, self.used_by(node, done)))
                merge_ready()
                for node, output, seconds, stored in self.fitted(runner, todo, counts):
                    done[node.id] = output
                    self.timings[node.id] = seconds
                    if cache is not None:
                        cache.stats.computed.append(node.id)
                        if stored is None:  # not stored by a worker
                            stored = store_fit(cache, node, output)
                        elif stored:
                            cache.note_stored(cache.key(node.hash), *fit_index(output))
                        if not stored:
                            cache.stats.uncacheable.append(node.id)
                    merge_ready()
            if cache is not None:
                cache.write_pack()
        finally:
            runner.stop()
            # the fits' intermediates serve no later step: their memory goes back now
            self.frames.forget_fits()
        merge_ready()

    def fitted(self, runner: NodeRunner, todo: list[Task], counts: _Counts) -> Iterator[Fitted]:
        """``runner.run(todo)``, its failed fits' errors said once for each axis value of a
        multiverse that fails them (``failed_specifications``)."""
        try:
            yield from runner.run(todo, counts)
        except SpecErrors as exc:
            raise SpecErrors(failed_specifications(self.spec, exc.errors)) from None

    @staticmethod
    def used_by(node: Node, done: dict[str, FitOutput]) -> dict[str, ModelResult]:
        """The results of earlier nodes that ``node`` reads (a Hausman test's), decoded."""
        used: dict[str, ModelResult] = {}
        for i in node.inputs:
            if i in done:
                used.update(done[i].models)
        return used

    def stored_fit(
        self, node: Node, cache: NodeCache, done: dict[str, FitOutput]
    ) -> FitOutput | None:
        """The node's output from the cache, its models left undecoded (``Stored``); None on a
        miss. A value that cannot be decoded when first read is fitted again here (with a
        warning), as a corrupt entry is, and stored in its place."""
        from specrun.cache import CorruptEntry

        key = cache.key(node.hash)
        entry = cache.get_entry(key, node.id)
        if entry is None:
            return None
        try:
            indexed = _from_index(entry.index, entry.raw)
        except CorruptEntry as exc:
            cache.discard(key, node.id, exc)
            return None
        if indexed is not None:
            cores, output = indexed
            # a checksum is no signature: an entry edited with its checksum recomputed must not
            # name models this node does not fit, nor decode to other models than it indexes
            own = node.payload["model"].name
            names = [*cores, *output.families]
            if any(name != own and not name.startswith(f"{own}.") for name in names):
                cache.discard(key, node.id, CorruptEntry(f"models of another node than {own}"))
                return None
            loaded: list[Mapping[str, ModelResult]] = []

            def load() -> Mapping[str, ModelResult]:
                if not loaded:
                    try:
                        value = entry.value()
                        if not isinstance(value, FitOutput):
                            raise CorruptEntry("not a fit's output")
                        if set(value.models) != set(cores):
                            raise CorruptEntry("its models differ from its index's")
                        loaded.append(value.models)
                    except CorruptEntry as exc:
                        cache.discard(key, node.id, exc)
                        panel, used = self.panel_frame(), self.used_by(node, done)
                        refit = fit_node(self.spec, panel, node, used, None, self.frames)
                        store_fit(cache, node, refit)  # so the next run reuses it again
                        loaded.append(refit.models)
                return loaded[0]

            models = ModelStore()
            for name, core in cores.items():
                models.store(name, Stored(name, core, load))
            return replace(output, models=models)
        value = cache.get(key, node.id)  # a node with artifacts: decoded whole
        return value if isinstance(value, FitOutput) else None

    def merge(self, node: Node, output: FitOutput) -> None:
        """Add one fitted node's results, refusing a name another node already gave."""
        model: ResolvedModel = node.payload["model"]
        for name in output.models:
            self.claim(name, model)
        self.models.adopt(output.models)
        self.model_texts.update(output.texts)
        for name, members in output.families.items():
            self.claim(name, model)
            self.families[name] = members
        self.model_rows.update(output.model_rows)
        self.warnings.extend(output.warnings)
        self.notes.extend(output.notes)
        self.artifacts.update(output.artifacts)
        self.used_columns.update(output.used_columns)

    def load(self, node: Node) -> None:
        try:
            frame = self.sources[node.name] = read_source(node.payload, self.spec.folder)
        except SpecError as exc:
            where: PathKey = ("data", "sources", node.name, "path")
            if exc.line is not None and not exc.path:  # placed in the data file: name the source
                exc.path = format_path(where)
            raise SpecErrors([_located(self.spec, exc, where)]) from None
        self.source_labels[node.name] = read_labels(node.payload, self.spec.folder, frame)

    def merged_labels(self) -> DataLabels:
        """The sources' labels as one set: where two sources label a column, the panel's own
        source wins, then the first in the spec's order."""
        first = self.spec.data.frame_source
        ordered = sorted(self.source_labels.items(), key=lambda item: item[0] != first)
        variables: dict[str, str] = {}
        values: dict[str, Mapping[str, str]] = {}
        for _, labels in ordered:
            for name, label in labels.variables.items():
                variables.setdefault(name, label)
            for name, codes in labels.values.items():
                values.setdefault(name, codes)
        return DataLabels(variables, values)

    def apply(self, frame: pl.DataFrame, step: Any, path: PathKey) -> pl.DataFrame:
        return apply_step(frame, step, path, self.spec, self.sources, self.artifacts, self.notes)

    def panel_frame(self) -> pl.DataFrame:
        """The panel as transformed so far (its source, checked for repeated cells, at first)."""
        if self.panel is not None:
            return self.panel
        panel = self.spec.data.panel
        frame = self.sources[self.spec.data.frame_source]
        if frame.height == 0:
            source = self.spec.data.sources[self.spec.data.frame_source].path
            error = SpecError(f"'{source}' has no data rows (only a header)", code="data")
            location = ("data", "sources", self.spec.data.frame_source)
            raise SpecErrors([_located(self.spec, error, location)])
        if panel is None:
            # a cross-section: each row its own entity, all in one period
            entity, time = self.spec.data.index
            self.panel = frame.with_row_index(entity, offset=1).with_columns(pl.lit(0).alias(time))
            return self.panel
        self._check_entity_column(frame)
        frame = self._complete_keys(frame)
        frame = self._period_numbers(frame)
        frame = self._year_end_dates(frame)
        self._check_time_column(frame)
        frame = self._whole_periods(frame)
        duplicated = frame.select(panel.entity, panel.time).is_duplicated()
        if duplicated.any():
            first = frame.filter(duplicated).row(0, named=True)
            # the rows in the file as read, before any blank-key rows were dropped
            numbered = self.sources[panel.source].with_row_index("_data_row", offset=1)
            rows = numbered.filter(
                (pl.col(panel.entity) == first[panel.entity])
                & (pl.col(panel.time) == first[panel.time])
            )["_data_row"].to_list()
            source = self.spec.data.sources[panel.source].path
            raise SpecErrors(
                [
                    _located(
                        self.spec,
                        SpecError(
                            f"source '{panel.source}' has {int(duplicated.sum())} rows sharing a "
                            f"({panel.entity}, {panel.time}) pair, e.g. {first[panel.entity]} "
                            f"{first[panel.time]} ({source}: rows "
                            f"{', '.join(str(row) for row in rows)}; rows count data rows from "
                            "1, after the header)",
                            code="data",
                            hint=f"a panel has one row per {panel.entity} and {panel.time}: "
                            "remove the repeated rows, or aggregate them first",
                        ),
                        ("data", "panel"),
                    )
                ]
            )
        self.panel = frame
        return frame

    def _year_end_dates(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A time column of dates that all fall on the same day of the year (CSMAR's and
        Wind's annual periods, "2015-12-31", as text or as dates) read as their years, as
        Stata's ``gen year = year(date(accper, "YMD"))``; noted in manifest.json. Dates of
        several days of the year (monthly, quarterly periods) are left as they are."""
        panel = self.spec.data.panel
        column = frame[panel.time]
        if column.dtype == pl.String:
            text = column.str.strip_chars()
            if not text.str.contains(r"^[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}$").all():
                return frame
            numbers = text.str.extract_groups(
                r"^(?<y>[0-9]{4})[-/.](?<m>[0-9]{1,2})[-/.](?<d>[0-9]{1,2})$"
            ).struct.unnest()
            year, month, day = (numbers[c].cast(pl.Int64) for c in ("y", "m", "d"))
            if (month < 1).any() or (month > 12).any() or (day < 1).any() or (day > 31).any():
                return frame  # not calendar dates (2015-13-40): reported as text
        elif column.dtype == pl.Date or isinstance(column.dtype, pl.Datetime):
            if isinstance(column.dtype, pl.Datetime) and (column.dt.truncate("1d") != column).any():
                return frame  # times of day: not periods of a year
            year, month, day = column.dt.year(), column.dt.month(), column.dt.day()
        else:
            return frame
        if month.n_unique() != 1 or day.n_unique() != 1:
            return frame
        source = self.spec.data.sources[panel.source].path
        self.notes.append(
            f"data.panel: the time column '{panel.time}' of '{source}' holds dates on "
            f"{int(month[0]):02d}-{int(day[0]):02d} of each year: read as their years"
        )
        return frame.with_columns(year.cast(pl.Int64).alias(panel.time))

    def _period_numbers(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The time column as integers when it is text only because its periods are written
        with a leading zero (01…12): sources keep such columns as text, for codes (000001),
        but a period is a number, and ``01`` read as 1 before codes stayed text."""
        time = self.spec.data.panel.time
        if frame.schema[time] != pl.String:
            return frame
        column = frame[time].str.strip_chars()
        if column.null_count() or not column.str.contains(r"^[-+]?[0-9]+$").all():
            return frame
        if column.str.len_chars().max() > 18:  # beyond Int64: not a period
            return frame
        return frame.with_columns(column.cast(pl.Int64).alias(time))

    def _check_entity_column(self, frame: pl.DataFrame) -> None:
        """An entity is one value a row (a number, a text, a date): a list or struct column
        (a parquet file's) crashed grouping the rows."""
        panel = self.spec.data.panel
        dtype = frame.schema[panel.entity]
        if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
            source = self.spec.data.sources[panel.source].path
            error = SpecError(
                f"the entity column '{panel.entity}' of '{source}' is {dtype}: an entity is "
                "one number or text a row",
                code="data",
            )
            raise SpecErrors([_located(self.spec, error, ("data", "panel", "entity"))])

    def _whole_periods(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A time column read as decimals (a CSV writing 2012.0, or one cell such as 2e10
        turning the column to floats) holding whole periods is read as integers, as lags, the
        lag transforms and GMM count periods; a period beyond 2^53 (no float holds it as a
        whole number) is an error naming its row."""
        panel = self.spec.data.panel
        column = frame[panel.time]
        if not column.dtype.is_float():
            return frame
        values = column.to_numpy()
        huge = np.abs(values) > 2.0**53  # False for NaN (none: keys are complete)
        if huge.any():
            at = int(np.flatnonzero(huge)[0])
            source = self.spec.data.sources[panel.source].path
            error = SpecError(
                f"the time column '{panel.time}' of '{source}' holds {values[at]:g} "
                f"({panel.entity} {frame[panel.entity][at]}): a period is a whole number such "
                "as 2012",
                code="data",
                hint="correct the mistyped cell",
            )
            raise SpecErrors([_located(self.spec, error, ("data", "panel", "time"))])
        if (values % 1 != 0).any():
            return frame  # fractional periods: effects may still read them as groups
        return frame.with_columns(pl.col(panel.time).cast(pl.Int64))

    def _check_time_column(self, frame: pl.DataFrame) -> None:
        """Periods are numbers (or dates): a text column (``2012年``) cannot be ordered,
        lagged or windowed, so say which column and show a value."""
        panel = self.spec.data.panel
        dtype = frame.schema[panel.time]
        if dtype.is_numeric() or dtype.is_temporal():
            return
        column = frame[panel.time].cast(pl.String, strict=False)
        examples = column.drop_nulls().head(1).to_list()
        example = f", e.g. {examples[0]!r}" if examples else ""
        source = self.spec.data.sources[panel.source].path
        error = SpecError(
            f"the time column '{panel.time}' of '{source}' is text{example}: periods must be "
            "numbers such as 2012 (or dates)",
            code="data",
            hint=_unit_hint(examples[0] if examples else "")
            or (
                "dates on several days of the year (months, quarters) are no period numbers: "
                "write a period number in the file (such as year × 12 + month)"
                if examples and re.fullmatch(r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}", examples[0])
                else "write the years as plain numbers in the file"
            ),
        )
        raise SpecErrors([_located(self.spec, error, ("data", "panel", "time"))])

    def _complete_keys(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The panel source without rows whose entity or time is missing (``drop_missing_keys``),
        or an error naming the first such rows: a blank key is never a group of its own, for
        every estimator and transform alike."""
        panel = self.spec.data.panel
        missing = pl.lit(False)
        for key in (panel.entity, panel.time):
            column = pl.col(key)
            missing = missing | column.is_null()
            if frame.schema[key].is_float():
                missing = missing | column.is_nan()
        flags = frame.select(missing.alias("missing"))["missing"]
        count = int(flags.sum())
        if not count:
            return frame
        source = self.spec.data.sources[panel.source].path
        if panel.drop_missing_keys:
            self.panel_rows["dropped_missing_keys"] = count
            self.notes.append(
                f"data.panel: dropped {count} rows of '{source}' whose {panel.entity} or "
                f"{panel.time} is missing (drop_missing_keys)"
            )
            return frame.filter(~flags)
        rows = [i + 1 for i in flags.arg_true().head(5).to_list()]
        places = ", ".join(f"{source}: row {row}" for row in rows)
        more = f" and {count - len(rows)} more" if count > len(rows) else ""
        rows_have = "1 row has" if count == 1 else f"{count} rows have"
        hint = "fill them in, or set drop_missing_keys: true on data.panel to drop and count them"
        spec = self.spec.data.sources[panel.source]
        blank = frame[panel.entity].is_null()
        if source_format(spec) == "excel" and blank.any() and not blank[0]:
            # a yearbook sheet merges each province's cell over its years: the merged cell's
            # value is in its first row only, and the rows below read blank
            hint = (
                f"if the sheet merges cells of {panel.entity}, each keeps its value in its first "
                "row only: unmerge them and fill each value down; or " + hint
            )
        error = SpecError(
            f"{rows_have} no {panel.entity} or no {panel.time} ({places}{more}; rows count "
            "data rows from 1, after the header): a missing key cannot be an entity or a period",
            code="data",
            hint=hint,
        )
        raise SpecErrors([_located(self.spec, error, ("data", "panel"))])

    def _read_columns(self, columns: list[str], operated: Sequence[str] = ()) -> list[str]:
        """Of a model frame's ``columns``, in order, those a model's sample or fit may read:
        every column the panel does not hold (made by the model's own transforms or its
        time-series terms), the panel's index, and the panel's columns that any model of the
        run names (``model_variables``, absorbed, cluster and ``over:`` columns) or that any
        sample or model-level transform mentions in its text (a ``where:`` expression), and
        the ``operated`` columns (``L.value``) the model's terms read."""
        if self._read is None:
            names: set[str] = set(self.spec.data.index)  # a cross-section's row number too
            # the texts as written, not as JSON: JSON escapes a quote or a backslash, so a
            # `big"firm` or `收入\万元` in a where: was no longer found and its column dropped
            texts: dict[str, None] = {}
            fragments = {id(s): s for s in self.spec.samples.values()}
            for model in self.spec.models.values():
                spec = model.spec
                names.update(model_variables(spec), unbuilt_variables(spec), spec.group_columns())
                names.update(spec.strict_columns())
                if getattr(spec, "over", None):
                    names.add(spec.over)
                if spec.sample is not None and not isinstance(spec.sample, str):
                    fragments[id(spec.sample)] = spec.sample
                # a multiverse's specifications share their axis values' objects: each once
                fragments.update((id(step), step) for step in model.transforms)
            for fragment in fragments.values():
                texts.update(dict.fromkeys(_texts(fragment.model_dump())))
            self._read = frozenset(names), "\n".join(texts)
        names, text = self._read
        panel = self.panel_frame().schema
        return [c for c in columns if c not in panel or c in names or c in text or c in operated]

    def model_frame(self, model: ResolvedModel) -> pl.DataFrame:
        """The rows of the model's sample: the panel after the model's own transforms and
        time-series columns, filtered by its sample (see :meth:`model_sample`)."""
        return self.model_sample(model)[0]

    def model_sample(self, model: ResolvedModel) -> tuple[pl.DataFrame, Hashable]:
        """The rows of the model's sample: the panel after the model's own transforms and
        time-series columns, filtered by its sample; and a key naming the values of each of
        its columns (the transforms, the time-series columns and the sample, not where the
        spec writes them), equal for every model of the run given the same frame. Taken from
        ``self.frames`` when another node of the run (in this process) has built the same one:
        a multiverse's thousands of specifications share a few samples, and a polars query
        costs more than a small fit."""
        panel = frame = self.panel_frame()
        steps = tuple(step.model_dump_json() for step in model.transforms)
        # by where the steps are written (their notes and errors name it) and what they are:
        # the specifications of a multiverse sharing an axis value share its transformed panel
        paths = tuple(model.step_path(i) for i in range(len(steps)))
        where = (paths, steps) if steps else None
        if where is not None:
            # the specifications of a multiverse share a few transformed frames (one per
            # combination of winsorizing and the like): each is computed once, and its notes
            # and artifacts are added once per executor (a node's output has them all)
            if where not in self.model_frames:
                stored = self.frames.get(panel, ("transforms", where))
                if stored is None:
                    notes_before, artifacts_before = len(self.notes), dict(self.artifacts)
                    for i, step in enumerate(model.transforms):
                        frame = self.apply(frame, step, model.step_path(i))
                    made = {
                        k: v
                        for k, v in self.artifacts.items()
                        if artifacts_before.get(k, _ABSENT) is not v
                    }
                    stored = (frame, self.notes[notes_before:], made)
                    self.frames.put(panel, ("transforms", where), stored)
                else:
                    self.notes.extend(stored[1])
                    self.artifacts.update(stored[2])
                self.model_frames[where] = stored[0]
            frame = self.model_frames[where]
        sample = model.spec.sample
        path: PathKey = (*model.path, "sample")
        if isinstance(sample, str):
            path = ("samples", sample)
            sample = self.spec.samples[sample]
        try:
            components = atoms(_flat(model_terms(model.spec, frame.columns)))
            operated = tuple(c.column for c in components if c.operated)
            sample_json = None if sample is None else sample.model_dump_json()
            key = ("sample", where, operated, sample_json)
            values = ("sample", steps, operated, sample_json)
            stored = self.frames.get(panel, key)
            if stored is not None:
                return stored[0], values
            # before the sample filter: L.x of a row in the sample may read a row outside it
            frame = add_time_series(frame, components, *self.spec.data.index)
        except SpecError as exc:
            error = SpecError(exc.message, code=exc.code, path=f"models.{model.name}")
            raise SpecErrors([_located(self.spec, error, model.path)]) from None
        except pl.exceptions.PolarsError as exc:
            error = SpecError(f"time-series operators failed: {exc}", code="data")
            raise SpecErrors([_located(self.spec, error, model.path)]) from None
        # a large panel's sample frame holds the columns some model reads, not every column
        # of the data: a filter copies each column it keeps (the raw indicators of an index,
        # 25 of the paper's 37 columns, were 90 % of its samples' cost at 341,000 rows); a
        # small one keeps them all, which costs less than finding them (and the operated
        # columns its terms read: a panel column named L.value is read as it stands, no lag
        # is built for it, so no other rule would keep it)
        if panel.height * panel.width >= PROJECTED_CELLS:
            frame = frame.select(self._read_columns(frame.columns, operated))
        if sample is not None:
            try:
                _require_boolean(sample, frame)
                _check_exclude(sample, frame, path, self.spec, model.name)
                frame = frame.filter(_sample_filter(sample, self.spec, frame.schema))
            except SpecError as exc:
                raise SpecErrors([_located(self.spec, exc, path)]) from None
            except pl.exceptions.PolarsError as exc:
                detail = str(exc).split("\n", 1)[0]  # polars' own hints name its API
                error = SpecError(f"sample filter failed: {detail}", code="data")
                raise SpecErrors([_located(self.spec, error, path)]) from None
        self.frames.put(panel, key, (frame, [], {}))
        return frame, values

    def fit(self, node: Node) -> None:
        model: ResolvedModel = node.payload["model"]
        measure = bool(node.payload.get("distributions"))
        frame, key = self.model_sample(model)
        kind = ESTIMATORS.get(model.spec.estimator)
        if model.spec.over:
            self.check_groupable(model.name, model, frame, [model.spec.over])
            values = frame[model.spec.over].drop_nulls().unique(maintain_order=True).to_list()
            members = []
            for value in values:
                member = f"{model.name}.{_value_name(value)}"
                members.append(member)
                part = frame.filter(pl.col(model.spec.over) == value)
                # the value's type too: 1 and 1.0 and "1" select different rows
                over_key = (key, "over", model.spec.over, repr(value))
                self.fit_one(member, model, part, kind, measure=measure, key=over_key)
            self.claim(model.name, model)
            self.families[model.name] = tuple(members)
        else:
            self.fit_one(model.name, model, frame, kind, measure=measure, key=key)

    def check_groupable(
        self, name: str, model: ResolvedModel, frame: pl.DataFrame, variables: list[str]
    ) -> None:
        """Columns that group rows (fixed effects, clusters, factors, ``over:``) hold one
        value a row: a list, struct, binary or duration column is a located error (it crashed
        building group codes, and ``over:`` made one model per list)."""
        for variable in variables:
            dtype = frame[variable].dtype
            if dtype.is_nested() or dtype in (pl.Binary, pl.Object) or dtype == pl.Duration:
                error = SpecError(
                    f"variable '{variable}' of model '{name}' is {dtype}: a fixed effect, "
                    "cluster, factor or over: column groups rows by one value each (numbers, "
                    "text or dates)",
                    code="data",
                )
                where = _grouping_path(self.spec, model, variable)
                raise SpecErrors([_located(self.spec, error, where)])

    def check_numeric(
        self, name: str, model: ResolvedModel, frame: pl.DataFrame, variables: list[str]
    ) -> None:
        """Model variables must be numbers (or booleans): a text column names its first
        non-number, usually a missing-value code the source should declare."""
        entity, time = self.spec.data.index
        source = self._model_source()
        for variable in variables:
            # a column's own dtype: ``frame.schema`` builds a Schema of every column per call
            dtype = frame[variable].dtype
            if dtype.is_numeric() or dtype == pl.Boolean:
                continue
            where = _item_path(self.spec, model, variable)
            if dtype.is_nested() or dtype.is_temporal() or dtype in (pl.Binary, pl.Object):
                # no cell of a list, struct, date or duration column is a number (nor can a
                # list be cast to text to find one)
                error = SpecError(
                    f"variable '{variable}' of model '{name}' is {dtype}, not numeric",
                    code="data",
                    hint="a model reads columns of numbers; derive one from this column first",
                )
                raise SpecErrors([_located(self.spec, error, where)])
            values = frame[variable].cast(pl.String, strict=False)
            present = int(values.is_not_null().sum())
            if not present:
                # a column with no value at all is read as text (CSV gives no type to infer):
                # "String, not numeric" would send the user hunting for a text cell
                error = SpecError(
                    f"variable '{variable}' of model '{name}' has no values: it is missing in "
                    f"all {frame.height} rows of the model's sample",
                    code="data",
                    hint="an empty column in the data, or cells the source's null_values "
                    "declare missing",
                )
                raise SpecErrors([_located(self.spec, error, where)])
            bad = frame.filter(values.is_not_null() & ~_read_as_numbers(values, source))
            outside = ""
            panel = self.panel_frame()
            if not bad.height and variable in panel.columns:
                # every cell of this sample is a number: the cell that made the column text
                # lies outside it (an over: group, a sample), and is the one to name
                whole = panel[variable].cast(pl.String, strict=False)
                bad = panel.filter(whole.is_not_null() & ~_read_as_numbers(whole, source))
                outside = " (outside this model's sample)"
            example = (
                f"; first non-number {bad[variable][0]!r} at {entity} {bad[entity][0]}, "
                f"{time} {bad[time][0]}{outside}"
                if bad.height
                else ""
            )
            dependent = where[len(model.path) :][:1] == ("y",)
            # every cell a number, yet text: codes written with a leading zero ('02'), which
            # the reader keeps as text (stock codes 000001); no missing-value code is at fault
            coded = frame.filter(values.str.strip_chars().str.contains(r"^[-+]?0[0-9]"))
            if not bad.height and coded.height:
                cell = coded[variable][0]
                example = (
                    f"; codes with a leading zero such as {cell!r} at {entity} "
                    f"{coded[entity][0]}, {time} {coded[time][0]} are read as text"
                )
            hint = (
                _code_hint(variable, dependent)
                if not bad.height and coded.height
                else _text_number_hint(
                    variable,
                    str(bad[variable][0]) if bad.height else "",
                    bad.height / present,
                    dependent=dependent,
                    nulls=source.null_values if source is not None else None,
                    source=source,
                )
            )
            error = SpecError(
                f"variable '{variable}' of model '{name}' is {dtype}, not numeric{example}",
                code="data",
                hint=hint,
            )
            raise SpecErrors([_located(self.spec, error, where)])

    def _model_source(self) -> SourceSpec | None:
        """The source models read: the panel's, or a cross-section's main one."""
        return _source_of_models(self.spec)

    def _why_empty(self, name: str, model: ResolvedModel, total: int, variables: list[str]) -> str:
        """Why a model has no rows: what its sample kept of the data (with the data's time
        range), or which variables are missing in every row it kept."""
        _, time = self.spec.data.index
        data = self.panel_frame()
        span = data[time].drop_nulls()
        years = f"{time} {span.min()}–{span.max()}" if span.len() else "no periods"
        if total == 0:
            sample = model.spec.sample
            label = f"'{sample}'" if isinstance(sample, str) else "(inline)"
            spec = self.spec.samples.get(sample) if isinstance(sample, str) else sample
            parts = []
            if spec is not None and spec.time is not None:
                first, last = spec.time
                parts.append(
                    f"its time window [{'…' if first is None else first}, "
                    f"{'…' if last is None else last}]"
                )
            if spec is not None and spec.where:
                parts.append(f"where: {spec.where}")
            if spec is not None and spec.exclude:
                parts.append("exclude: " + ", ".join(spec.exclude))
            what = " and ".join(parts) or "its filter"
            return (
                f"model '{name}' has no rows: sample {label} keeps none of the {data.height} "
                f"rows ({years}) — {what} matches no row"
            )
        frame = self.model_frame(model)
        missing = sorted(
            ((int(frame[v].null_count()), v) for v in variables if v in frame.columns),
            reverse=True,
        )
        worst = ", ".join(f"{v} ({n} of {frame.height} missing)" for n, v in missing[:3] if n)
        return (
            f"model '{name}' has no complete observations: every one of the {total} rows of its "
            f"sample misses a value of {worst or 'its variables'}"
        )

    def check_finite(
        self, name: str, model: ResolvedModel, frame: pl.DataFrame, variables: list[str]
    ) -> None:
        """±inf and NaN are not missing values: each is an error naming the first cell (usually
        a ratio or log of a zero), never silently dropped with the incomplete rows nor passed
        to a kernel (a NaN in the Gram gave "regressors are collinear" naming none)."""
        for variable in variables:
            if not frame[variable].dtype.is_float():
                continue
            # a numpy test first: a DataFrame filter (even Series.is_infinite) is a polars query
            # whose hand-off to its thread pool cost more than the fit itself on small samples
            series = frame[variable]
            values = series.to_numpy()
            # a null reads as NaN in numpy: only more non-finite cells than nulls is a fault
            if int((~np.isfinite(values)).sum()) == series.null_count():
                # a float32 column (a Stata float) holds no 1e150: no value of it is huge
                huge = (
                    np.abs(values) > MAX_MAGNITUDE
                    if values.dtype == np.float64
                    else np.zeros(values.shape, dtype=bool)
                )  # False for NaN
                if huge.any():
                    more = int(huge.sum()) - 1
                    bound = f"±{MAX_MAGNITUDE:g}"
                    also = f" and beyond {bound} in {more} more rows" if more else ""
                    self._bad_rows(
                        model,
                        frame.filter(pl.Series(huge)),
                        f"variable '{variable}' of model '{name}' is {values[huge][0]:g} at "
                        f"{{at}}{also}: values beyond {bound} overflow double precision when "
                        "squared",
                        f"set a mistyped cell missing, or rescale: derive: {{{variable}_s: "
                        f"{variable} / 1e9}}",
                    )
                continue
            for test, what in (
                (pl.col(variable).is_infinite(), "infinite"),
                (pl.col(variable).is_nan(), "NaN (not a number)"),
            ):
                bad = frame.filter(test)
                if bad.height:
                    self._bad_rows(
                        model,
                        bad,
                        f"variable '{variable}' of model '{name}' is {what} in {bad.height} "
                        f"rows, first at {{at}} ({bad[variable][0]})",
                        f"an {'inf' if what == 'infinite' else 'NaN'} usually comes from "
                        "dividing by zero; set such cells missing",
                    )

    def _bad_rows(self, model: ResolvedModel, bad: pl.DataFrame, message: str, hint: str) -> None:
        """Raise a located data error about the rows ``bad``; ``{at}`` in ``message`` becomes
        the first one's entity and period."""
        entity, time = self.spec.data.index
        at = f"{entity} {bad[entity][0]}, {time} {bad[time][0]}"
        error = SpecError(
            message.replace("{at}", at), code="data", path=f"models.{model.name}", hint=hint
        )
        raise SpecErrors([_located(self.spec, error, model.path)])

    def check_varies(self, name: str, model: ResolvedModel, frame: pl.DataFrame) -> None:
        """A constant dependent variable has nothing to explain (R² would divide by zero)."""
        y = getattr(model.spec, "y", None)
        if not isinstance(y, str) or y not in frame.columns or frame.height < 2:
            return
        # numpy, not Series.n_unique (a polars query, dearer than a small fit); NaN equals NaN
        values = frame[y].to_numpy()
        first = values[0]
        same = values == first
        if values.dtype.kind == "f" and first != first:
            same = np.isnan(values)
        if same.all():
            error = SpecError(
                f"the dependent variable '{y}' of model '{name}' is constant "
                f"({frame[y][0]}) in all {frame.height} rows of its sample",
                code="estimation",
                path=f"models.{model.name}",
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

    def fit_one(
        self,
        name: str,
        model: ResolvedModel,
        frame: pl.DataFrame,
        kind: Any,
        *,
        measure: bool = True,
        key: Hashable | None = None,
    ) -> None:
        """Fit one model (or ``over:`` member) ``name`` on its sample ``frame``: check its
        variables, keep the complete rows, build its design (with the regressors' percentiles
        when ``measure``: a margins table reads them) and record the results.

        ``key`` names the values of ``frame``'s columns (:meth:`model_sample`); an estimator
        that ``shares_work`` receives it, extended by the rows kept and the centring, with the
        process's ``FitMemo``."""
        entity, time = self.spec.data.index
        self.used_columns.update(model_variables(model.spec))
        terms, numeric, variables, others = _model_columns(model, frame)
        total = frame.height
        # checks that passed for a column of the same frame pass again: each is made once
        memo = self.frames.memo(self.panel_frame()) if key is not None else None
        unchecked = [v for v in numeric if memo is None or memo.get(("numeric", key, v)) is None]
        self.check_groupable(name, model, frame, [v for v in variables if v not in numeric])
        self.check_numeric(name, model, frame, unchecked)
        self.check_finite(name, model, frame, unchecked)
        if memo is not None:
            for variable in unchecked:
                memo.put(("numeric", key, variable), True)
        for column in model.spec.strict_columns():
            values = frame[column].cast(pl.Float64)
            missing = frame.filter(values.is_null() | ~values.is_finite())
            if missing.height:
                self._bad_rows(
                    model,
                    missing,
                    f"column '{column}' of model '{name}' is missing at {{at}} "
                    f"({missing.height} rows)",
                    # Stata and fixest drop such rows silently; here dropping them is said
                    "weights must be given for every row of the sample; to leave out the rows "
                    f"without, as Stata and fixest do, give the model sample: {{where: "
                    f"'is_not_null({column})'}}",
                )
        sample = frame
        if kind.complete_cases:
            complete = complete_rows(frame, variables)
            if complete is not frame:  # the rows kept follow from the frame and the variables
                key = (key, "complete", tuple(sorted(variables)))
            frame = complete
        self.model_rows[name] = {
            "sample": total,
            "used": frame.height,
            "dropped_incomplete": total - frame.height,
        }
        if frame.height == 0:
            error = SpecError(
                self._why_empty(name, model, total, variables),
                code="estimation",
            )
            raise SpecErrors([_located(self.spec, error, model.path)])
        y = getattr(model.spec, "y", None)
        if memo is None or memo.get(("varies", key, y)) is None:
            self.check_varies(name, model, frame)
            if memo is not None:
                memo.put(("varies", key, y), True)
        try:
            center = tuple(model.spec.center)
            if memo is None:
                design = build_design(frame, terms, center, distributions=measure)
            else:
                # the specifications of a multiverse that differ only in their covariance
                # build the same columns on the same rows
                design = memo.cached(
                    ("design", key, center, tuple(terms.items()), measure),
                    lambda: build_design(frame, terms, center, distributions=measure),
                    # the columns it adds: the rest are the sample frame's (``self.frames``)
                    size=lambda d: (
                        d.frame.select(pl.exclude(frame.columns)).estimated_size()
                        + 8 * d.frame.height * len(d.centered)
                    ),
                )
            spec = _with_columns(model.spec, design)
            used = {ref: self.models[ref] for ref, _ in model.spec.model_refs()}
            shared = memo is not None and kind.shares_work
            ctx = FitContext(
                name,
                entity,
                time,
                self.progress,
                design.omittable,
                models=used,
                frame_key=(key, "center", center) if shared else None,
                memo=memo if shared else None,
            )
            built_columns = [c for cols in design.columns.values() for c in cols]
            columns = list(dict.fromkeys([entity, time, *built_columns, *others]))
            # plain column picking, not a lazy select query (see ``check_finite``)
            fitted = kind.fit(design.frame[columns], spec, ctx)
        except np.linalg.LinAlgError as exc:
            # a solver that gives up is numerical trouble of this model's data, never a
            # traceback; the checks above leave it to data no check describes
            error = SpecError(
                f"the fit of model '{name}' failed numerically (numpy: {exc})",
                code="estimation",
                path=f"models.{name}",
                hint="look for nearly collinear regressors or variables of very different scales",
            )
            raise SpecErrors([_located(self.spec, error, model.path)]) from None
        except SpecError as exc:
            # whatever a kernel called the thing at fault, the user needs the model's name
            detail = f"{exc.path}: " if exc.path and not exc.path.startswith("models.") else ""
            # a fit that fails on the shape of its rows (a threshold model's balanced panel,
            # say) may fail because rows were left out for a missing cell, which the kernel
            # never saw
            left_out = (
                incomplete_note(sample, variables, entity, time)
                if kind.complete_cases and exc.code == "data"
                else ""
            )
            error = SpecError(
                f"{detail}{exc.message}{left_out}",
                code=exc.code,
                path=f"models.{name}",
                hint=exc.hint,
            )
            raise SpecErrors([_located(self.spec, error, model.path)]) from None
        main = fitted.get("")
        if main is not None and "singletons_dropped" in main.extra:
            dropped = int(main.extra["singletons_dropped"])
            self.model_rows[name]["dropped_singletons"] = dropped
            self.model_rows[name]["used"] -= dropped
        for part, result in fitted.items():
            result = _with_design(result, design)
            full = f"{name}.{part}" if part else name
            self.claim(full, model)
            self.models[full] = result
            self.warnings.extend(f"model '{full}': {w}" for w in result.extra.get("warnings", ()))

    def multiverse(self, node: Node) -> None:
        """The curve and joint tests of a multiverse, from its specifications' fits."""
        from specrun.multiverse import run_multiverse

        try:
            result = run_multiverse(self, self.spec.multiverses[node.name])
        except SpecError as exc:
            where = _path_key(exc.path or "", ("multiverse", node.name))
            raise SpecErrors([_located(self.spec, exc, where)]) from None
        self.artifacts[f"multiverse:{node.name}"] = result

    def cached_multiverse(self, node: Node, cache: NodeCache | None) -> bool:
        """The multiverse node from the cache under its hash (which covers its spec and every
        specification's fit), else computed and stored; True when it was reused. Its joint
        tests refit every specification hundreds of times: the costliest node to recompute."""
        from specrun.multiverse import MultiverseResult

        artifact = f"multiverse:{node.name}"
        key = cache.key(node.hash) if cache is not None else ""
        stored = cache.get(key, node.id) if cache is not None else None
        if isinstance(stored, MultiverseResult):
            self.artifacts[artifact] = stored
            cache.stats.reused.append(node.id)  # type: ignore[union-attr]
            return True
        self.multiverse(node)
        if cache is not None:
            cache.stats.computed.append(node.id)
            if not cache.put(key, self.artifacts[artifact]):
                cache.stats.uncacheable.append(node.id)
        return False

    def build_figures_ready(self) -> None:
        """Build each figure whose models are all merged, and give it to ``on_figure`` at
        once (its drawer draws it while the fits go on). The figure, its warnings and its
        time join the run in plan order, in ``run``; a figure whose build fails here is built
        again there, where its error is reported with every table's."""
        if self.on_figure is None:
            return
        for node in self.plan.nodes:
            if node.kind != "figure" or node.id in self.early or node.id in self.tried:
                continue
            if not all(i in self.merged for i in node.inputs):
                continue  # a model not fitted yet, or a multiverse's curve
            self.tried.add(node.id)
            started = time.perf_counter()
            try:
                figure, warnings = self.built(node)
            except SpecErrors:
                continue
            self.early[node.id] = (figure, warnings, time.perf_counter() - started)
            self.on_figure(figure)

    def member_labels(self, labels: Mapping[str, str], language: str) -> dict[str, str]:
        """Each ``over:`` member whose value has a value label in the data, to that label
        (``by_region.2`` → ``West`` when ``over: regcode`` and regcode 2 is labelled West);
        without value labels, a member of a numeric column the spec labels, to the label and
        the value (``高成长企业=1``, ``High-Q firm = 1``): a table's columns were headed 0 and
        1, which say nothing of what was split."""
        found: dict[str, str] = {}
        for family, members in self.families.items():
            model = self.spec.models.get(family)
            over = (model.spec.over or "") if model else ""
            codes = self.data_labels.values.get(over)
            if not codes:
                if over in self.spec.labels():
                    found.update(_numbered_members(family, members, labels[over], language))
                continue
            for member in members:
                value = member[len(family) + 1 :]
                try:  # a float column's value is named 2.0, its code "2"
                    number = float(value)
                    value = str(int(number)) if number.is_integer() else value
                except ValueError:
                    pass
                if value in codes:
                    found[member] = codes[value]
        return found

    def build(self, node: Node) -> None:
        built, warnings = self.built(node)
        self.warnings.extend(warnings)
        (self.tables if node.kind == "table" else self.figures)[node.name] = built

    def index_names(self, labels: Mapping[str, str], language: str) -> dict[str, str]:
        """How notes name the panel's index (``TableContext.index_names``): its columns'
        names (``province``, ``year``); in Chinese their labels, which name them in a Chinese
        sentence only when Chinese (``tables.text.covariance_text``). Empty without a panel."""
        panel = self.spec.data.panel
        if panel is None:
            return {}
        columns = {"entity": panel.entity, "time": panel.time}
        if language == "zh":
            return {index: labels.get(column, column) for index, column in columns.items()}
        return columns

    def built(self, node: Node) -> tuple[Any, list[str]]:
        """A table or figure node's value (``Table`` or ``FigureData``) and its warnings;
        raises ``SpecErrors`` located at its spec entry."""
        from specrun.figures import FIGURES
        from specrun.figures.base import FigureData
        from specrun.tables.base import table_numbers, with_layout
        from specrun.tables.kinds import TABLES

        language = self.spec.outputs.language
        # a data file's label is one text, printed in every language; the spec's wins
        labels = {**self.data_labels.variables, **self.spec.labels()}
        ctx = TableContext(
            node.name,
            labels,
            self.spec.groups,
            language,
            value_labels=self.data_labels.values,
            member_labels=self.member_labels(labels, language),
            index_names=self.index_names(labels, language),
        )
        results = ResultSet(self.models, self.families, self.artifacts)
        registry = TABLES if node.kind == "table" else FIGURES
        section = "tables" if node.kind == "table" else "figures"
        try:
            if node.kind == "table":
                built = registry.get(node.payload.kind).build(node.payload, results, ctx)
                number = table_numbers(self.spec.tables)[node.name]
                built = with_layout(built, node.payload, number, language)
            else:  # its numbers and text: drawn with matplotlib when rendered (``outputs``)
                data = registry.get(node.payload.kind).data(node.payload, results, ctx)
                built = FigureData(node.name, node.payload, data, ctx)
        except (SpecError, SpecErrors) as exc:
            errors = exc.errors if isinstance(exc, SpecErrors) else [exc]
            raise SpecErrors(
                [
                    _located(self.spec, e, _path_key(e.path or "", (section, node.name)))
                    for e in errors
                ]
            ) from None
        return built, [f"table '{node.name}': {w}" for w in ctx.warnings]


def _model_columns(
    model: ResolvedModel, frame: pl.DataFrame
) -> tuple[dict[str, tuple[Term, ...]], list[str], list[str], list[str]]:
    """A model's parsed terms; its numeric columns; every column a row needs to be complete
    (numeric and label columns); the variables it reads that are not built from terms."""
    terms = model_terms(model.spec, frame.columns)
    built = atoms(_flat(terms))
    groups = set(model.spec.group_columns())
    # an absorbed or cluster column is read as itself even when a term also reads it
    # (i.industry#c.x beside absorb: [industry#year]): the term's columns are its dummies
    others = [
        v
        for v in unbuilt_variables(model.spec)
        if v not in {c.column for c in built} or v in groups
    ]
    numeric = [c.column for c in built if not c.factor] + [v for v in others if v not in groups]
    labels = [*(c.column for c in built if c.factor), *(v for v in others if v in groups)]
    return terms, numeric, list(dict.fromkeys([*numeric, *labels])), others


def complete_rows(frame: pl.DataFrame, variables: list[str]) -> pl.DataFrame:
    """The rows with a value in every one of ``variables`` (factor levels may be text;
    numeric columns are finite after ``check_finite``)."""
    if all(frame[v].null_count() == 0 for v in variables):  # (a count polars keeps)
        return frame
    return frame.filter(pl.all_horizontal([pl.col(v).is_not_null() for v in variables]))


def incomplete_note(frame: pl.DataFrame, variables: list[str], entity: str, time: str) -> str:
    """``"; 1 row of its sample was left out for a missing value: Tibet 2017 (market_index)"``,
    naming the first three such rows by entity and period and the variables missing there, or
    ``""`` when every row of ``frame`` has a value in every one of ``variables``."""
    present = [v for v in variables if v in frame.columns]
    if all(frame[v].null_count() == 0 for v in present):
        return ""
    missing = frame.filter(pl.any_horizontal([pl.col(v).is_null() for v in present]))
    shown = []
    for row in missing.head(3).iter_rows(named=True):
        gaps = ", ".join(v for v in present if row[v] is None)
        at = " ".join(str(row[c]) for c in dict.fromkeys([entity, time]) if c in row)
        shown.append(f"{at} ({gaps})")
    more = f"; … {missing.height - 3} more" if missing.height > 3 else ""
    rows = "1 row" if missing.height == 1 else f"{missing.height} rows"
    was = "was" if missing.height == 1 else "were"
    return f"; {rows} of its sample {was} left out for a missing value: {'; '.join(shown)}{more}"


def model_design(model: ResolvedModel, frame: pl.DataFrame) -> Design:
    """The built columns of ``model`` on the complete rows of its sample ``frame`` (what its
    fit received, before any rows the estimator itself drops)."""
    terms, _, variables, _ = _model_columns(model, frame)
    return build_design(
        complete_rows(frame, variables), terms, model.spec.center, distributions=False
    )


# panel cells (rows × columns) from which a model's sample frame keeps only the columns some
# model reads (``Executor._read_columns``): the paper's 31 × 11 panel keeps all 37 columns, its
# 341,000 rows at x1000 twelve
PROJECTED_CELLS = 1 << 21


def _texts(value: Any) -> Iterator[str]:
    """Every text in a dumped spec fragment (``model_dump()``: dicts, lists, scalars), keys
    included, as written: the columns a sample's ``where:`` or ``exclude:`` names are among
    them."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _flat(terms: dict[str, tuple[Term, ...]]) -> list[Term]:
    return [t for field_terms in terms.values() for t in field_terms]


def _with_columns(spec: Any, design: Design) -> Any:
    """The model spec with each term field holding the columns built for it, so that an
    estimator reads plain column names (``x: [L.Dige, c.Dige#c.STR, 2.region, …]``)."""
    update: dict[str, Any] = {}
    for field_name, columns in design.columns.items():
        value = getattr(spec, field_name)
        if value is None:
            continue
        update[field_name] = columns[0] if isinstance(value, str) else list(columns)
    return spec.model_copy(update=update)


def _with_design(result: ModelResult, design: Design) -> ModelResult:
    """Record what the design did: each coefficient's term parts (for labels), the factor
    levels left out as bases, the levels omitted as collinear (Stata's o.), centred means."""
    extra = dict(result.extra)
    if fits_exactly(result) and result.dependent:
        extra["warnings"] = [
            *extra.get("warnings", ()),
            f"the regressors fit '{result.dependent}' exactly (R² = 1 up to rounding): it is "
            "an exact linear function of them (built from a regressor?), so its residuals, "
            "standard errors, t and p-values are rounding noise",
        ]
    omitted = [
        c for c in result.regressors if c in design.omittable and c not in result.coefficients
    ]
    if omitted:
        extra["omitted"] = omitted
    if design.bases:
        extra["base_levels"] = dict(design.bases)
    if design.centered:
        extra["centered"] = dict(design.centered)
    kept = {*result.coefficients, *result.regressors}
    # an estimator's own terms (GMM's lags of y, built by its kernel) stay beside the design's
    parts = {**result.terms, **{n: p for n, p in design.parts.items() if n in kept}}
    return replace(result, extra=extra, terms=parts, distributions=design.distributions)


def _path_key(path: str, node: tuple[str, str]) -> tuple[str | int, ...]:
    """The spec position of an error a table or figure raised (``tables.t.keep[0]``), when
    it lies inside that node; the node itself otherwise."""
    prefix = ".".join(node)
    if not (path == prefix or path.startswith(prefix + ".")):
        return node
    key: list[str | int] = list(node)
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path[len(prefix) :]):
        key.append(part[0] if part[0] else int(part[1]))
    return tuple(key)


def _value_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_ABSENT = object()


class SampleFrames:
    """Models' sample frames of one run's panel, kept between the fits of a process: the
    rows of each (model transforms, time-series columns, sample) that ``model_frame`` built,
    with the notes and artifacts building them added, replayed by every node reading them.

    Bounded by ``cells`` (rows × columns held, about 8 bytes each), least recently used out
    first, the latest entry always kept; safe to share between threads. An entry belongs to
    one panel object: a new panel (a new run) empties it. Beside the frames it holds the
    ``FitMemo`` of the fits on that panel (:meth:`memo`), which is bounded by its own bytes."""

    def __init__(self, cells: int = 1 << 25) -> None:
        import threading
        from collections import OrderedDict

        self.cells = cells
        self.panel: pl.DataFrame | None = None
        self.entries: OrderedDict[Any, tuple[pl.DataFrame, list[str], dict[str, Any]]]
        self.entries = OrderedDict()
        self.lock = threading.Lock()
        self.fits: FitMemo | None = None

    def memo(self, panel: pl.DataFrame) -> FitMemo:
        """The memo of fit intermediates (factor codes, swept columns) of the fits on
        ``panel`` in this process: a new panel (a new run) starts an empty one."""
        from specrun.kernels.memo import FitMemo

        with self.lock:
            if panel is not self.panel:
                self.panel, self.entries = panel, type(self.entries)()
                self.fits = None
            if self.fits is None:
                self.fits = FitMemo()
            return self.fits

    def get(
        self, panel: pl.DataFrame, key: Any
    ) -> tuple[pl.DataFrame, list[str], dict[str, Any]] | None:
        with self.lock:
            if panel is not self.panel:
                return None
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def forget_fits(self) -> None:
        """Drop the memo of fit intermediates (the sample frames stay)."""
        with self.lock:
            self.fits = None

    def put(
        self, panel: pl.DataFrame, key: Any, entry: tuple[pl.DataFrame, list[str], dict[str, Any]]
    ) -> None:
        with self.lock:
            if panel is not self.panel:
                self.panel, self.entries = panel, type(self.entries)()
                self.fits = None
            self.entries[key] = entry
            held = sum(e[0].height * e[0].width for e in self.entries.values())
            while len(self.entries) > 1 and held > self.cells:
                _, (old, _, _) = self.entries.popitem(last=False)
                held -= old.height * old.width


def data_stage_hash(nodes: Sequence[Node], spec: Spec) -> str:
    """The cache hash of the finished panel built by the data ``nodes`` (loads, then
    transforms): every node's hash and the data's index (``panel:`` or ``main:``).

    The last node's hash alone is not enough: without transforms it is the last source's load,
    which covers neither the other sources (the panel's own among them: a changed main file
    gave the old file's panel) nor which columns index the panel (a cross-section run after a
    panel run of the same file got a panel without its row number)."""
    index = spec.data.model_dump_json(include={"panel", "main"})
    text = "\0".join([*(node.hash for node in nodes), index])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class DataStage:
    """The data stage's product as the cache stores it: the transformed panel, the
    transforms' artifacts and notes, the rows the panel load dropped, and the data files'
    own labels (read with the files, so a re-run from the cache prints them too)."""

    panel: pl.DataFrame
    artifacts: dict[str, Any]
    notes: list[str]
    panel_rows: dict[str, int]
    labels: DataLabels = field(default_factory=DataLabels)


@dataclass(frozen=True)
class FitOutput:
    """What fitting one plan node adds to a run: its results (one per ``over:`` value or
    part), its family, row counts, warnings, notes of per-model transforms, artifacts and the
    panel columns it used. A node's whole effect, so that a cached or remote fit replays
    exactly what a local one would have done."""

    models: Mapping[str, ModelResult]
    families: dict[str, tuple[str, ...]]
    model_rows: dict[str, dict[str, int]]
    warnings: list[str]
    notes: list[str]
    artifacts: dict[str, Any]
    used_columns: list[str]
    # each model's results.json text (``outputs.model_text``), encoded where it was fitted
    texts: dict[str, str] = field(default_factory=dict)


def fit_index(output: FitOutput) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The plain-JSON index and raw parts of a fit's cache entry (``specrun.cache``):
    everything a run needs of a reused fit but the models' extras, covariances and percentiles
    (``_from_index``). The texts and numbers are raw bytes: JSON's parser takes longer over a
    text's escapes and over decimals than the rest of a reused node's reading."""
    cores = [ModelCore.of(result) for result in output.models.values()]
    texts = [output.texts[name].encode() for name in output.models]
    numbers = [x for core in cores for x in core.numbers()]
    index = {
        "models": [[name, *core.header()] for name, core in zip(output.models, cores, strict=True)],
        "text_sizes": [len(text) for text in texts],
        "families": {name: list(members) for name, members in output.families.items()},
        "model_rows": output.model_rows,
        "warnings": output.warnings,
        "notes": output.notes,
        "used_columns": output.used_columns,
        "artifacts": bool(output.artifacts),
    }
    raw = {"texts": b"".join(texts), "numbers": np.asarray(numbers, dtype="<f8").tobytes()}
    return index, raw


def store_fit(cache: NodeCache, node: Node, output: FitOutput) -> bool:
    """Store a fitted node's output in ``cache`` under its plan hash, with its index
    (``fit_index``); False when it cannot be stored."""
    return cache.put(cache.key(node.hash), output, *fit_index(output))


def pack_name(spec: Spec) -> str:
    """The name of the cache pack of runs of ``spec``'s file (``NodeCache.open_pack``): one
    per spec file, as a re-run after an edit reads the indexes the run before it used."""
    return hashlib.sha256(os.path.abspath(spec.document.file).encode()).hexdigest()[:32]


def _from_index(
    index: Any, raw: Mapping[str, bytes]
) -> tuple[dict[str, ModelCore], FitOutput] | None:
    """The models' cores and the rest of a fit's output from its entry's index and raw parts
    (``models`` left empty); None for a fit with artifacts, whose value is decoded whole.
    Raises ``CorruptEntry`` for parts ``fit_index`` did not write."""
    from specrun.cache import CorruptEntry

    try:
        if index["artifacts"] is not False:
            return None
        numbers = np.frombuffer(raw["numbers"], dtype="<f8").tolist()
        cores: dict[str, ModelCore] = {}
        at = 0
        for name, *header in index["models"]:
            cores[str(name)], at = ModelCore.from_parts(header, numbers, at)
        blob, sizes, texts = raw["texts"], index["text_sizes"], {}
        if at != len(numbers) or len(sizes) != len(cores) or sum(sizes) != len(blob):
            raise ValueError("the parts' sizes differ")
        start = 0
        for name, size in zip(cores, sizes, strict=True):
            texts[name] = blob[start : start + size].decode()
            start += size
        rows = index["model_rows"]
        output = FitOutput(
            models={},
            families={str(k): tuple(map(str, v)) for k, v in index["families"].items()},
            model_rows={str(k): {str(c): int(n) for c, n in v.items()} for k, v in rows.items()},
            warnings=[str(w) for w in index["warnings"]],
            notes=[str(n) for n in index["notes"]],
            artifacts={},
            used_columns=[str(c) for c in index["used_columns"]],
            texts=texts,
        )
    except (TypeError, KeyError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise CorruptEntry(f"bad index: {exc}") from None
    return cores, output


def fit_node(
    spec: Spec,
    panel: pl.DataFrame,
    node: Node,
    used: dict[str, ModelResult],
    progress: ProgressFactory | None = None,
    frames: SampleFrames | None = None,
) -> FitOutput:
    """Fit one ``fit`` node on the transformed ``panel``; ``used`` holds the results of the
    models it reads (a Hausman test's); ``frames`` the sample frames earlier nodes of the run
    built in this process. Pure: the same arguments give the same output in any process (a
    stored frame replays the notes and artifacts that building it gave). Raises
    ``SpecErrors`` located in the spec."""
    from specrun.outputs import model_text

    executor = Executor(spec, Plan((), {}), progress)
    executor.panel = panel
    if frames is not None:
        executor.frames = frames
    executor.warnings = []
    executor.models = ModelStore(used)
    executor.fit(node)
    models = {k: v for k, v in executor.models.items() if k not in used}
    return FitOutput(
        models=models,
        families=executor.families,
        model_rows=executor.model_rows,
        warnings=executor.warnings,
        notes=executor.notes,
        artifacts=executor.artifacts,
        used_columns=sorted(executor.used_columns),
        texts={name: model_text(result) for name, result in models.items()},
    )


class NodeProgress(Protocol):
    """Receives node counts as a run advances (a progress bar)."""

    def update(self, done: int, reused: int, running: int, total: int) -> None: ...


class _Counts:
    """Nodes done, reused and running, passed on to a ``NodeProgress``."""

    def __init__(self, total: int, progress: NodeProgress | None) -> None:
        self.total, self.progress = total, progress
        self.done = self.reused = self.running = 0

    def finish(self, *, reused: bool, n: int = 1) -> None:
        self.done += n
        self.reused += n if reused else 0
        self.report()

    def set_running(self, running: int) -> None:
        self.running = running
        self.report()

    def report(self) -> None:
        if self.progress is not None:
            self.progress.update(self.done, self.reused, self.running, self.total)


def execute(
    spec: Spec,
    plan: Plan,
    progress: ProgressFactory | None = None,
    *,
    runner: NodeRunner | None = None,
    cache: NodeCache | None = None,
    node_progress: NodeProgress | None = None,
    on_figure: Callable[[FigureData], None] | None = None,
) -> RunOutput:
    """Run every node of ``plan`` (``Executor.run``). ``on_figure`` receives each figure's
    data as soon as it is computed: as soon as the models it reads are fitted, while the
    other fits go on (the figures' drawers draw it meanwhile: ``specrun.drawers``)."""
    executor = Executor(spec, plan, progress)
    executor.on_figure = on_figure
    return executor.run(runner, cache, node_progress)


def _numbered_members(
    family: str, members: Iterable[str], label: str, language: str
) -> dict[str, str]:
    """``over:`` members whose values are numbers, to the over column's label and the value
    (a float column's 1.0 as 1); text values (East, West) name themselves."""
    found: dict[str, str] = {}
    for member in members:
        value = member[len(family) + 1 :]
        try:
            number = float(value)
        except ValueError:
            continue
        shown = str(int(number)) if number.is_integer() else value
        found[member] = f"{label}={shown}" if language == "zh" else f"{label} = {shown}"
    return found
