"""Cross-reference checks: every variable, group, sample and model a spec names exists.

Columns are known before any data are read in full: the panel source's header plus what each
transform writes, in order; a model's own transforms (variants) add to its columns only.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from specrun.errors import SpecError, did_you_mean
from specrun.estimators import ESTIMATORS
from specrun.estimators.base import check_mark, item_terms, variable_fields, variable_marks
from specrun.spec.diagnostics import Diagnostics
from specrun.spec.load import PathKey, format_path
from specrun.spec.models import DataSpec, SampleSpec, SourceSpec, VariableRef
from specrun.spec.resolve import ResolvedModel, list_in_term
from specrun.transforms import TRANSFORMS

# options that one file format reads, by the formats that read them
_FORMAT_OPTIONS: dict[str, tuple[str, ...]] = {
    "sheet": ("excel",),
    "header_row": ("excel", "csv", "tsv"),
    "separator": ("csv", "tsv"),
}
_FORMAT_NAMES = {
    "excel": "Excel",
    "csv": "CSV",
    "tsv": "TSV",
    "parquet": "Parquet",
    "stata": "Stata",
    "whitespace": "whitespace-separated text",
}


def column_hint(name: str, columns: list[str]) -> str | None:
    """The hint for a column ``name`` that the data lack: a near miss, or, for a Stata-style
    varlist written as one name (``firm year``), the list it means."""
    parts = name.split()
    if len(parts) > 1 and all(part in columns for part in parts):
        return f"'{name}' is not one column but {len(parts)}: write [{', '.join(parts)}]"
    # fixest's one-sided formulas (cluster = ~firm + year) and interacted effects (a^b)
    terms = [t.strip() for t in name.strip().removeprefix("~").split("+")]
    if len(terms) > 1 and all(t in columns for t in terms):
        return f"'{name}' is not one column but {len(terms)}: write [{', '.join(terms)}]"
    if len(terms) == 1 and name.strip().startswith("~") and terms[0] in columns:
        return f"a column is named without R's ~: write {terms[0]}"
    crossed = [t.strip() for t in name.split("^")]
    if len(crossed) > 1 and all(t in columns for t in crossed):
        return f"fixest's a^b is written {'#'.join(crossed)}"
    return did_you_mean(name, columns)


class ReferenceChecks(Diagnostics):
    sections: dict[str, Any]
    unvalidated: list[Any]
    failed: set[str]
    # checks of one model field (or sample) against one list of columns that found nothing
    # wrong, by what decides their outcome: a multiverse's specifications share their axis
    # values' fields, checked once each (``check_model``)
    _checked: dict[tuple[Any, ...], tuple[list[str], Any, set[str]]]

    def check_columns(
        self, groups: dict[str, tuple[str, ...]], models: dict[str, ResolvedModel]
    ) -> list[str]:
        data_spec: DataSpec | None = self.sections.get("data")
        if data_spec is None:
            return []
        from specrun.data.io import (
            SEPARATOR_NAMES,
            encoding_with_columns,
            header_row_with_columns,
            read_columns,
            separator_with_columns,
            separator_yaml,
            sheet_with_columns,
        )

        unread = {
            name
            for name, spec in data_spec.sources.items()
            if not self.check_source_options(name, spec)
        }
        panel = data_spec.panel
        source = data_spec.frame_source
        if source in unread:
            return []  # said at its option; every name would be "unknown" besides
        if source not in data_spec.sources:
            self.error(
                f"unknown source '{source}'",
                ("data", "panel", "source") if panel else ("data", "main"),
                code="reference",
                hint=did_you_mean(source, data_spec.sources),
            )
            return []
        keys = [getattr(panel, k) for k in ("entity", "time")] if panel else []
        try:
            columns = list(read_columns(data_spec.sources[source], self.doc.folder))
        except SpecError as exc:
            # a title line above the header reads as a header with blank names
            if header_row_with_columns(data_spec.sources[source], self.doc.folder, keys) is None:
                self.error(
                    exc.message, ("data", "sources", source, "path"), code="data", hint=exc.hint
                )
                return []
            columns = []
        missing = [name for name in keys if name not in columns]
        better = encoding_with_columns(data_spec.sources[source], self.doc.folder, missing)
        if better is not None:
            # every name the spec uses would be "unknown": the one cause, once
            self.error(
                f"the header of source '{source}' read as {data_spec.sources[source].encoding} "
                f"has no column {' or '.join(repr(m) for m in missing)}; read as {better} it does",
                ("data", "sources", source, "encoding"),
                code="data",
                hint=f"set encoding: {better}",
            )
            return []
        row = header_row_with_columns(data_spec.sources[source], self.doc.folder, missing)
        if row is not None:
            first = data_spec.sources[source].header_row
            self.error(
                f"source '{source}' has no column {' or '.join(repr(m) for m in missing)} in "
                f"its header row {first}"
                + (
                    f" (it reads {', '.join(repr(c) for c in columns[:3])}"
                    f"{', …' if len(columns) > 3 else ''})"
                    if columns
                    else ""
                )
                + f"; row {row} holds them",
                ("data", "sources", source),
                code="data",
                hint=f"set header_row: {row} on the source (rows above it, such as a title, "
                "are skipped)",
            )
            return []
        separator = separator_with_columns(data_spec.sources[source], self.doc.folder, missing)
        if separator is not None:
            shown = SEPARATOR_NAMES[separator]
            path = data_spec.sources[source].path
            self.error(
                f"'{path}' separates its fields with {shown}, so its header reads as "
                f"{len(columns)} column{'s' if len(columns) != 1 else ''} without "
                f"{' or '.join(repr(m) for m in missing)}",
                ("data", "sources", source, "path"),
                code="data",
                hint=f"set {separator_yaml(separator)} on the source",
            )
            return []
        sheets = sheet_with_columns(data_spec.sources[source], self.doc.folder, missing)
        if sheets is not None:
            read, holding = sheets
            self.error(
                f"source '{source}' has no column {' or '.join(repr(m) for m in missing)} in "
                f"the sheet it reads ('{read}'); sheet '{holding}' holds them",
                ("data", "sources", source),
                code="data",
                hint=f"set sheet: {holding} on the source",
            )
            return []
        for key in ("entity", "time") if panel else ():
            if getattr(panel, key) not in columns:
                self.error(
                    f"column '{getattr(panel, key)}' not in source '{panel.source}'",
                    ("data", "panel", key),
                    code="reference",
                    hint=column_hint(getattr(panel, key), columns),
                )
        for i, step in enumerate(self.sections.get("transforms", [])):
            if step is not None:  # None: a step its own validation rejected
                columns = self.check_step(step, ("transforms", i), columns)
        for name in self.sections.get("variables", {}):
            if name not in columns:
                self.error(
                    f"unknown variable '{name}'",
                    ("variables", name),
                    code="reference",
                    key=True,
                    hint=column_hint(name, columns),
                )
        for gname, members in groups.items():
            for i, member in enumerate(members):
                if member not in columns:
                    self.check_term(member, VariableRef(), ("groups", gname, i), columns)
        for sname, sample in self.sections.get("samples", {}).items():
            self.check_sample(sample, ("samples", sname), columns)
        samples = self.sections.get("samples", {})
        self._checked = {}  # (the list of columns each entry was checked against lives on)
        for model in models.values():
            model_columns = columns
            for j, step in enumerate(model.transforms):
                model_columns = self.check_step(step, model.step_path(j), model_columns)
            self.check_model(model, model_columns, samples)
        # a value the schema already rejected (x: "a + b" for a list) is not also parsed as
        # a term: one error per mistake
        rejected = {e.path for e in self.errors}
        for spec_cls, body, origins in self.unvalidated:
            for field_name in variable_fields(spec_cls):
                value = body.get(field_name)
                items = [value] if isinstance(value, str) else value
                if field_name not in origins or not isinstance(items, list):
                    continue
                for i, item in enumerate(items):
                    if not isinstance(item, str) or item.startswith("$") or item in columns:
                        continue
                    where = (
                        origins[field_name] if isinstance(value, str) else (*origins[field_name], i)
                    )
                    if format_path(where) in rejected:
                        continue
                    self.check_term(item, variable_marks(spec_cls)[field_name], where, columns)
        return columns

    def check_step(self, step: Any, path: PathKey, columns: list[str]) -> list[str]:
        name = next(iter(type(step).model_fields))
        kind = TRANSFORMS.get(name)
        options = getattr(step, name)
        if kind.needs_panel and not self._has_panel():
            self.error(
                f"{name} works within entities over time and needs data.panel "
                "(this spec is a cross-section)",
                (*path, name),
                code="reference",
            )
        outputs = kind.outputs(options)
        made = columns + [c for c in outputs if c not in columns]
        data_spec: DataSpec | None = self.sections.get("data")
        panel = data_spec.panel if data_spec is not None else None
        for key in ("entity", "time") if panel is not None else ():
            if getattr(panel, key) in outputs:
                # the panel is checked (one row per entity and period) and indexed once, as
                # read: a step replacing a key column would leave lags, effects and clusters
                # on an index nobody checked
                self.error(
                    f"{name} would replace '{getattr(panel, key)}', the panel's {key} column",
                    (*path, name, getattr(panel, key)),
                    code="reference",
                    key=True,
                    hint=f"give the new column another name; to index the panel by it, name "
                    f"it as data.panel.{key}",
                )
        try:
            needed = kind.inputs(options)
        except SpecError as exc:
            # a step with several expressions (derive) names the entry in the error's path
            self.expression_error(exc, (*path, name, *([exc.path] if exc.path else [])))
            return made  # its outputs still exist: no cascade of "unknown variable" errors
        data_spec: DataSpec | None = self.sections.get("data")
        panel = data_spec.panel if data_spec is not None else None
        index = {"entity": panel.entity, "time": panel.time} if panel is not None else {}
        for column in needed:
            if column not in columns:
                # entity and time name the index in a model (absorb, se), not in a transform,
                # which reads the data's own columns (Stata's bysort industry year)
                alias = index.get(column)
                self.error(
                    f"unknown variable '{column}'",
                    (*path, name, *_entry_reading(options, column)),
                    code="reference",
                    hint=f"a transform names the panel's {column} column: write '{alias}'"
                    if alias is not None and alias != column
                    else column_hint(column, columns),
                )
        return made

    def _has_panel(self) -> bool:
        data_spec: DataSpec | None = self.sections.get("data")
        return data_spec is None or data_spec.panel is not None

    def check_sample(self, sample: SampleSpec, path: PathKey, columns: list[str]) -> None:
        from specrun.data.expr import referenced_columns
        from specrun.transforms.derive import condition_columns

        if sample.time is not None and not self._has_panel():
            self.error(
                "a time window needs data.panel (this spec is a cross-section); use where:",
                (*path, "time"),
                code="reference",
            )

        if sample.where is not None:
            try:
                used = set(referenced_columns(sample.where))
                condition_columns(sample.where)
            except SpecError as exc:
                self.expression_error(exc, (*path, "where"))
                used = set()
            for column in sorted(used):
                if column not in columns:
                    self.error(
                        f"unknown variable '{column}'",
                        (*path, "where"),
                        code="reference",
                        hint=column_hint(column, columns),
                    )
        for column in sample.exclude or {}:
            if column not in columns:
                self.error(
                    f"unknown variable '{column}'",
                    (*path, "exclude", column),
                    code="reference",
                    key=True,
                    hint=column_hint(column, columns),
                )

    def check_source_options(self, name: str, source: SourceSpec) -> bool:
        """An option of one file format given to a source of another (``sheet:`` on a CSV,
        ``header_row:`` on a Parquet file) is an error at the option: it would be ignored; a
        ``sheet:`` its workbook lacks is an error there too. False when the source cannot be
        read as its options say."""
        from specrun.data.io import (
            SEPARATOR_NAMES,
            field_separator,
            missing_sheet,
            other_separator,
            separator_yaml,
            source_format,
        )

        try:
            fmt = source_format(source)
        except SpecError:
            return True  # an unknown extension is said where the file is read
        if fmt in ("csv", "tsv") and source.decimal == field_separator(source, fmt):
            # (a separator: equal to it is refused where it is written)
            self.error(
                f"'{source.decimal}' is the decimal mark and the field separator, the default "
                f"of {_FORMAT_NAMES[fmt]} files: an unquoted 3,14 would be two fields",
                ("data", "sources", name, "decimal"),
                code="schema",
                hint="files with a decimal comma separate fields with ';': add separator: ';'",
            )
            return False
        found = other_separator(source, self.doc.folder)
        if found is not None:
            separator, header, comma = found
            own = field_separator(source, fmt)
            self.error(
                f"'{source.path}' separates its fields with {SEPARATOR_NAMES[separator]}, not "
                f"{SEPARATOR_NAMES.get(own, repr(own))}, so its header '{header}' reads as 1 "
                "column",
                ("data", "sources", name, "separator" if source.separator else "path"),
                code="data",
                hint=f"set {separator_yaml(separator)}"
                + (" and decimal: ','" if comma else "")
                + " on the source",
            )
            return False
        problem = missing_sheet(source, self.doc.folder)
        if problem is not None:
            self.error(
                problem.message,
                ("data", "sources", name, "sheet"),
                code="data",
                hint=problem.hint,
            )
            return False
        for key, formats in _FORMAT_OPTIONS.items():
            if key in source.model_fields_set and fmt not in formats:
                names = [_FORMAT_NAMES[f] for f in formats]
                listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
                self.error(
                    f"applies to {listed} files only; '{source.path}' is read as "
                    f"{_FORMAT_NAMES[fmt]}",
                    ("data", "sources", name, key),
                    code="schema",
                    key=True,
                )
        return True

    def check_model(
        self, model: ResolvedModel, columns: list[str], samples: dict[str, SampleSpec]
    ) -> None:
        spec = model.spec
        origins_base = model.path
        used: set[str] = set()
        memos = self.__dict__.setdefault("_checked", {})
        if not self._has_panel():
            self.check_cross_section(model)
        dependent = getattr(spec, "y", None)
        for field_name, mark in variable_marks(type(spec)).items():
            value = getattr(spec, field_name)
            items = [value] if isinstance(value, str) else list(value or [])
            path, raw = self._raw_field(model, field_name)
            # the outcome depends on these alone (the model's name is in errors only)
            memo = (type(spec), field_name, type(value), tuple(items), path, dependent, id(columns))
            if not (all(type(i) is str for i in items) and type(dependent) in (str, type(None))):
                memo = None  # not a plain list of names: checked every time
            done = memos.get(memo) if memo is not None else None
            if done is not None and done[0] is columns:
                used.update(done[2])
                continue
            before = (len(self.errors), len(self.hints))
            found_here: set[str] = set()
            self.check_repeats(model, field_name, items, path, raw, dependent)
            required = type(spec).model_fields[field_name].is_required()
            if required and isinstance(value, list) and not value:
                self.error(
                    f"model '{model.name}' lists no variables in {field_name}",
                    path,
                    code="schema",
                )
            # the terms of L.(x z) items, each checked at the item it was written in
            listed = {
                term: i
                for i, written in enumerate(raw if isinstance(raw, list) else [])
                if isinstance(written, str)
                for term in list_in_term(written) or []
            }
            for item in items:
                where, report = path, True
                if isinstance(raw, list) and item not in raw and item in listed:
                    where = (*path, listed[item])
                elif isinstance(raw, list):
                    report = item in raw  # a group's members are checked under groups:
                    where = (*path, raw.index(item)) if report else (*path, _group_item(raw))
                found = self.check_term(item, mark, where, columns, report=report)
                if not (mark.lags_only or mark.single):  # center: names regressors
                    found_here.update(found)
            used.update(found_here)
            if memo is not None and (len(self.errors), len(self.hints)) == before:
                memos[memo] = (columns, None, found_here)
        self.check_roles(model)
        self.check_distinct_lists(model)
        # the model is named: center: is often written once in a base that models extending
        # it read, where "this model" at the base's line would name the base; suggestions
        # are variables of the data (a misspelt regressor is among those read)
        known = used & set(columns)
        for i, name in enumerate(spec.center):
            if name not in used:
                self.error(
                    f"center: '{name}' is not a continuous variable of model '{model.name}'",
                    (*self._raw_field(model, "center")[0], i),
                    code="reference",
                    hint=did_you_mean(name, known) if known else None,
                )
        for name, relative in spec.variable_refs():
            if name not in columns:
                path, _ = self._raw_field(model, str(relative[0]))
                self.error(
                    f"unknown variable '{name}'",
                    (*path, *relative[1:]),
                    code="reference",
                    key=len(relative) == 2,
                    hint=column_hint(name, columns),
                )
        for message, relative in spec.hints():
            path, _ = self._raw_field(model, str(relative[0]))
            self.hints.append(self.doc.error(message, (*path, *relative[1:]), code="hint"))
        written = self.doc.data.get("samples")
        if (
            isinstance(spec.sample, str)
            and spec.sample not in samples
            # a sample written but refused (a reversed window) is said where it is written
            and not (isinstance(written, dict) and spec.sample in written)
        ):
            self.error(
                f"unknown sample '{spec.sample}'",
                self._raw_field(model, "sample")[0],
                code="reference",
                hint=did_you_mean(spec.sample, samples)
                or (
                    # a condition (R's subset = year > 2010), not the name of a sample
                    f'a condition is written sample: {{where: "{spec.sample}"}}'
                    if re.search(r"[<>=!]|\s(and|or|in|not)\s", spec.sample)
                    else None
                ),
            )
        elif isinstance(spec.sample, SampleSpec):
            path = self._raw_field(model, "sample")[0]
            memo = (id(spec.sample), path, id(columns))
            done = memos.get(memo)
            if done is None or done[0] is not columns or done[1] is not spec.sample:
                before = (len(self.errors), len(self.hints))
                self.check_sample(spec.sample, path, columns)
                if (len(self.errors), len(self.hints)) == before:
                    memos[memo] = (columns, spec.sample, set())
        if spec.over is not None and spec.over not in columns:
            self.error(
                f"unknown variable '{spec.over}'",
                (*origins_base, "over"),
                code="reference",
                hint=column_hint(spec.over, columns),
            )

    def check_term(
        self,
        item: str,
        mark: Any,
        where: PathKey,
        columns: list[str],
        *,
        report: bool = True,
    ) -> set[str]:
        """Parse one list item as a term and check its variables exist; returns the variables
        it reads as continuous. Errors go to ``where`` (a group's members are checked, and
        reported, under ``groups:`` unless the term itself is bad)."""
        try:
            terms = item_terms(item, columns)
            check_mark(terms, mark, item)
        except SpecError as exc:
            hint = exc.hint
            if exc.col and exc.col > 1 and "position" not in exc.message:
                hint = f"at character {exc.col}" + (f"; {hint}" if hint else "")
            self.error(exc.message, where, code="term", hint=hint)
            return set()
        continuous: set[str] = set()
        for term in terms:
            for c in term.components:
                if not c.factor:
                    continuous.add(c.variable)
                if c.variable not in columns and report:
                    self.error(
                        f"unknown variable '{c.variable}'"
                        + (f" in term '{item}'" if item != c.variable else ""),
                        where,
                        code="reference",
                        hint=column_hint(c.variable, columns),
                    )
        return continuous

    def check_model_refs(self, models: dict[str, ResolvedModel]) -> None:
        """Models a model reads (a Hausman test's ``models:``) exist, are single models (not an
        ``over:`` family) and do not, through others, read the model itself."""
        for model in models.values():
            for ref, relative in model.spec.model_refs():
                path, _ = self._raw_field(model, str(relative[0]))
                where = (*path, *relative[1:])
                if ref in self.failed:
                    continue  # a consequence of that model's own error, reported there
                if ref not in models:
                    self.error(
                        f"unknown model '{ref}'",
                        where,
                        code="reference",
                        hint=did_you_mean(ref, models),
                    )
                elif models[ref].spec.over:
                    self.error(
                        f"model '{ref}' is a family (over: {models[ref].spec.over}); name one "
                        f"member's model instead",
                        where,
                        code="reference",
                    )
                elif self._reads(models, ref, model.name, set()):
                    self.error(
                        f"model '{model.name}' reads its own results"
                        if ref == model.name
                        else f"models '{model.name}' and '{ref}' read each other's results",
                        where,
                        code="reference",
                    )

    def _reads(
        self, models: dict[str, ResolvedModel], start: str, target: str, seen: set[str]
    ) -> bool:
        if start == target:
            return True
        if start in seen or start not in models:
            return False
        seen.add(start)
        return any(
            self._reads(models, ref, target, seen) for ref, _ in models[start].spec.model_refs()
        )

    def check_cross_section(self, model: ResolvedModel) -> None:
        """Without data.panel a model may use no panel estimator, effects or index clusters."""
        spec = model.spec
        kind = ESTIMATORS.get(spec.estimator)
        hint = "add data.panel: {source: ..., entity: ..., time: ...}"
        if kind.needs_panel:
            self.error(
                f"estimator '{spec.estimator}' needs a panel: this spec has no data.panel",
                self._raw_field(model, "estimator")[0],
                code="reference",
                hint=hint,
            )
            return
        if getattr(spec, "effects", None):
            self.error(
                "fixed effects need data.panel (this spec is a cross-section); use effects: []",
                self._raw_field(model, "effects")[0],
                code="reference",
                hint=hint,
            )
        absorb = getattr(spec, "absorb", None) or []
        index_terms = [t for t in absorb if {"entity", "time"} & {p.strip() for p in t.split("#")}]
        if index_terms:
            self.error(
                f"absorbing '{index_terms[0]}' needs data.panel (this spec is a cross-section); "
                "absorb columns of the data instead",
                self._raw_field(model, "absorb")[0],
                code="reference",
                hint=hint,
            )
        se = getattr(spec, "se", None)
        if se is not None and se.type == "cluster" and {"entity", "time"} & set(se.clusters):
            self.error(
                "clustering by entity or time needs data.panel (this spec is a cross-section)",
                self._raw_field(model, "se")[0],
                code="reference",
                hint=hint,
            )
        if se is not None and se.type == "driscoll_kraay":
            self.error(
                "Driscoll–Kraay standard errors need data.panel (this spec is a cross-section)",
                self._raw_field(model, "se")[0],
                code="reference",
                hint=hint,
            )
        for field_name in variable_marks(type(spec)):
            value = getattr(spec, field_name)
            for i, item in enumerate([value] if isinstance(value, str) else value or []):
                try:
                    terms = item_terms(item)
                except SpecError:
                    continue  # a bad term is reported where terms are checked
                if any(c.shift or c.diff for t in terms for c in t.components):
                    path, raw = self._raw_field(model, field_name)
                    where = (*path, i) if isinstance(raw, list) and i < len(raw) else path
                    self.error(
                        f"'{item}' is a lag, lead or difference, which needs data.panel (this "
                        "spec is a cross-section)",
                        where,
                        code="reference",
                        hint=hint,
                    )

    def check_repeats(
        self,
        model: ResolvedModel,
        field_name: str,
        items: list[str],
        path: PathKey,
        raw: Any,
        dependent: str | None,
    ) -> None:
        """A variable listed twice in one list, or the dependent among the regressors, makes
        the design singular: say so here rather than fail inside the fit. A term spelt two
        ways (``L.x`` and ``L1.x``, ``c.a#c.b`` and ``c.b#c.a``, ``x`` and ``c.x``) is listed
        twice too: the design keeps one, so the other would vanish in silence."""
        seen: set[str] = set()
        spelt: dict[frozenset, str] = {}  # a term's key -> the item that first gave it
        for i, item in enumerate(items):
            where = (
                (*path, raw.index(item, i) if item in raw[i:] else raw.index(item))
                if (isinstance(raw, list) and item in raw)
                else path
            )
            if item in seen:
                self.error(
                    f"'{item}' is listed twice in {field_name} of model '{model.name}'",
                    where,
                    code="schema",
                )
            elif len(items) > 1 and isinstance(item, str):
                keys = _term_keys(item)
                if keys and all(k in spelt for k in keys):
                    first = spelt[keys[0]]
                    self.error(
                        f"'{item}' is '{first}' again: listed twice in {field_name} of model "
                        f"'{model.name}'",
                        where,
                        code="schema",
                    )
                for k in keys:
                    spelt.setdefault(k, item)
            seen.add(item)
            if field_name != "y" and dependent is not None and item == dependent:
                self.error(
                    f"the dependent variable '{item}' is also in {field_name} of model "
                    f"'{model.name}'",
                    where,
                    code="schema",
                )

    def check_distinct_lists(self, model: ResolvedModel) -> None:
        """An item written twice in one of the model's ``distinct_lists`` (``center:``, GMM's
        ``iv:`` and ``lags:``) is an error at the later item (at the list when the two come
        from a ``$group``)."""
        for relative, items, name in model.spec.distinct_lists():
            path, raw = self._raw_field(model, str(relative[0]))
            for part in relative[1:]:
                if isinstance(raw, list) and isinstance(part, int) and part < len(raw):
                    raw = raw[part]
                elif isinstance(raw, dict):
                    raw = raw.get(part)
                else:
                    raw = None
            at: PathKey = (*path, *relative[1:])
            times: dict[Any, int] = {}
            for item in items:
                if not isinstance(item, str | int):
                    continue
                k = times[item] = times.get(item, 0) + 1
                if k > 1:
                    shown = f"'{item}'" if isinstance(item, str) else str(item)
                    # the k-th time it is written; a $group's member: the list itself
                    written = (
                        [j for j, r in enumerate(raw) if r == item] if isinstance(raw, list) else []
                    )
                    self.error(
                        f"{shown} is listed twice in {name} of model '{model.name}'",
                        (*at, written[min(k, len(written)) - 1]) if written else at,
                        code="schema",
                    )

    def check_roles(self, model: ResolvedModel) -> None:
        """A variable named in two fields of one of the spec class's ``exclusive_fields`` groups
        (a threshold model's ``regime_x`` and ``controls``, IV's ``x`` and ``instruments``, a
        mediator that is the treatment) puts one column in the design twice, which the fit
        would only report as collinear: say so here, at the later of the two places it is
        written, naming both fields. ``x`` and ``c.x`` are one variable."""
        spec = model.spec
        reported: set[Any] = set()  # once a variable: a mediator that is the treatment and in x
        for fields in type(spec).exclusive_fields:
            owners: dict[Any, list[tuple[int, str, str]]] = {}
            for rank, field_name in enumerate(fields):
                value = getattr(spec, field_name)
                items = [value] if isinstance(value, str) else list(value or [])
                for item in dict.fromkeys(items):
                    if isinstance(item, str):
                        # each term an item writes: c.x##c.z is x, z and x·z, so x elsewhere
                        # is x twice; c.x#c.z alone is not x
                        for identity in _term_keys(item) or (item,):
                            owners.setdefault(identity, []).append((rank, field_name, item))
            for identity, owned in owners.items():
                if len({field_name for _, field_name, _ in owned}) < 2:
                    continue
                # located only when in conflict: finding where an item was written is the
                # costly part, and a multiverse checks hundreds of models
                found = []
                for rank, field_name, item in owned:
                    path, raw = self._raw_field(model, field_name)
                    listed = isinstance(raw, list) and item in raw
                    where = (*path, raw.index(item)) if listed else path
                    pos = self.doc.position(where)
                    order = (pos.line, pos.col, rank) if pos else (1 << 30, 0, rank)
                    found.append((order, field_name, item, where))
                found.sort(key=lambda place: place[0])
                _, first, first_item, _ = found[0]
                for _, field_name, item, where in found[1:]:
                    if field_name == first or (field_name, item) in reported:
                        continue
                    reported.add((field_name, item))
                    # a factorial writes several terms: say which of them is the shared one
                    shared = _term_name(item, identity)
                    named = f"'{item}'"
                    if len(_term_keys(item)) > 1:
                        named += f" (which includes '{shared}')"
                    first_named = first
                    if len(_term_keys(first_item)) > 1:
                        first_named += f" (in '{first_item}')"
                    self.error(
                        f"{named} is in both {first_named} and {field_name} of model "
                        f"'{model.name}': one variable cannot take two roles (its two columns "
                        "would be collinear)",
                        where,
                        code="schema",
                    )

    def _raw_field(self, model: ResolvedModel, field_name: str) -> tuple[PathKey, Any]:
        """Where a model's field was written (its own body, a variant, or a base model), and
        the value written there."""
        origin = model.origins.get(field_name)
        if origin is not None:
            node: Any = self.doc.data
            for part in origin:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return origin, node
        candidates: list[PathKey] = [(*model.path, field_name)]
        raw_models = self.doc.data.get("models", {})
        base = model.base or model.name
        while isinstance(raw_models.get(base), dict):
            candidates.append(("models", base, field_name))
            base = raw_models[base].get("extends")
        for path in candidates:
            node: Any = self.doc.data
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return path, node
        return model.path, None

    def check_outputs_refs(
        self, models: dict[str, ResolvedModel], columns: list[str], groups: dict[str, Any]
    ) -> None:
        raw_models = self.doc.data.get("models")
        known = set(models) | (set(raw_models) if isinstance(raw_models, dict) else set())
        families = {n for n, m in models.items() if m.spec.over}
        children = {
            f"{n}.{c}"
            for n, m in models.items()
            for c in ESTIMATORS.get(m.spec.estimator).parts(m.spec)
        }
        for section in ("tables", "figures"):
            registry = None
            for name, item in self.sections.get(section, {}).items():
                if registry is None:
                    if section == "tables":
                        from specrun.tables.kinds import TABLES as registry
                    else:
                        from specrun.figures import FIGURES as registry
                kind = registry.get(item.kind)
                for label, names in (getattr(item, "indicators", None) or {}).items():
                    for i, var in enumerate(names):
                        if var.startswith("$"):
                            if var[1:] not in groups:
                                self.error(
                                    f"unknown group '{var}'",
                                    (section, name, "indicators", label, i),
                                    code="reference",
                                    hint=did_you_mean(var[1:], groups),
                                )
                        elif columns and var not in columns:
                            where = (section, name, "indicators", label, i)
                            self.check_term(var, VariableRef(), where, columns)
                self.check_column_labels(section, name, item, models)
                if section == "tables" and item.kind == "regression":
                    self.check_regression_stats(name, item, models)
                    self.check_regression_rows(name, item, models, groups)
                if section == "tables" and item.kind == "descriptive":
                    self.check_descriptive_stats(name, item, models)
                if item.kind == "margins":
                    self.check_margins(section, name, item, models, columns, kind.reads)
                if item.kind == "coefplot":
                    self.check_coefplot(name, item, models, columns)
                for ref in kind.models(item):
                    prefix = ref.split(".", 1)[0]
                    if prefix in self.failed or ref.split("[", 1)[0] + "[" in self.failed:
                        continue  # a consequence of that model's (or multiverse's) own error
                    if (
                        ref in models
                        and kind.reads
                        and models[ref].spec.estimator not in kind.reads
                    ):
                        self.error(
                            f"{'an' if item.kind[0] in 'aeiou' else 'a'} {item.kind} "
                            f"{section[:-1]} reads {' or '.join(kind.reads)} "
                            f"models; '{ref}' is {models[ref].spec.estimator}",
                            self._ref_path(section, name, ref),
                            code="reference",
                        )
                        continue
                    if ref in known or ref in children or prefix in families:
                        continue
                    self.error(
                        f"unknown model '{ref}'",
                        self._ref_path(section, name, ref),
                        code="reference",
                        hint=did_you_mean(ref, known | children),
                    )

    def check_regression_stats(
        self, name: str, item: Any, models: dict[str, ResolvedModel]
    ) -> None:
        """Each statistic a regression table's ``stats:`` names is one some column's estimator
        reports, when every column is a model of the spec (an over: family's members share its
        estimator): ``r2_adj`` of fixed-effects columns was reported by ``run`` only once every
        model was fitted."""
        from specrun.tables.specs.regression import stat_of_no_estimator
        from specrun.tables.statistics import ATTACHING_ESTIMATORS

        if "stats" not in item.model_fields_set:
            return  # the default rows print where the columns have them
        estimators = []
        for ref in [*item.columns, *(c for p in item.panels for c in p.columns)]:
            model = models.get(ref)
            if model is None or ref in self.failed:
                return  # a part (tsls.first.educ), a multiverse's model: known after fitting
            estimators.append(model.spec.estimator)
        for index, stat in enumerate(item.stats):
            found = stat_of_no_estimator(stat, estimators, ATTACHING_ESTIMATORS)
            if found is not None:
                message, hint = found
                self.error(message, ("tables", name, "stats", index), code="reference", hint=hint)

    def check_regression_rows(
        self, name: str, item: Any, models: dict[str, ResolvedModel], groups: dict[str, Any]
    ) -> None:
        """A regression table's ``keep:``/``drop:`` leave a coefficient row in each panel,
        where its columns' coefficient names follow from their specs (``_named_coefficients``);
        ``run`` printed an empty table without a word (and now says it after fitting)."""
        from specrun.tables.patterns import matches
        from specrun.tables.specs.regression import kept_rows, no_rows_error

        if item.keep is None and not item.drop:
            return
        hidden: set[str] = set()
        for names in item.indicators.values():
            for var in names:
                hidden.update(groups.get(var[1:], ()) if var.startswith("$") else [var])
        for columns in [p.columns for p in item.panels] or [item.columns]:
            coefficients: list[str] = []
            for ref in columns:
                named = _named_coefficients(models.get(ref)) if ref not in self.failed else None
                if named is None:
                    break  # known only after fitting: run says it
                coefficients += [c for c in named if c not in coefficients]
            else:
                unmatched = [
                    pattern
                    for pattern in [*(item.keep or []), *item.drop]
                    if not any(matches(c, [pattern]) for c in coefficients)
                ]
                if unmatched:
                    continue  # a pattern matching no coefficient: run names it, fitted
                if not kept_rows(item, coefficients, hidden):
                    found = no_rows_error(item, name, coefficients, hidden)
                    option = "keep" if item.keep is not None else "drop"
                    where = ("tables", name, option)
                    self.error(found.message, where, code=found.code, hint=found.hint)
                    return

    def check_descriptive_stats(
        self, name: str, item: Any, models: dict[str, ResolvedModel]
    ) -> None:
        """Each statistic a descriptive table asks for is one its model computes (known from
        the model's spec, so validate reports every one, as run would the first)."""
        from specrun.estimators.specs.descriptive import statistics
        from specrun.tables.specs.descriptive import missing_statistic

        model = models.get(item.model)
        if model is None or model.spec.estimator != "descriptive":
            return
        computed = statistics(model.spec)
        for index, stat in enumerate(item.stats):
            if stat not in computed:
                message, hint = missing_statistic(name, item.model, stat, computed)
                self.error(message, ("tables", name, "stats", index), code="reference", hint=hint)

    def check_margins(
        self,
        section: str,
        name: str,
        item: Any,
        models: dict[str, ResolvedModel],
        columns: list[str],
        reads: tuple[str, ...],
    ) -> None:
        """A margins table's or figure's ``dydx`` is a continuous regressor of its model, each
        variable it interacts with is given (``at:`` of a table, the figure's one ``over:``),
        and each ``at:``/``over:`` variable is a continuous variable of the model: all known
        from the model's terms, so ``validate`` reports what ``run`` would (the same words as
        ``specrun.kernels.margins`` and ``specrun.tables.margins``)."""
        from specrun.estimators.base import model_terms
        from specrun.tables.specs.margins import continuous_key

        model = models.get(item.model)
        if (
            model is None
            or item.model in self.failed
            or model.spec.over
            or (model.spec.estimator not in reads)
        ):
            return  # each reported by the model reference checks
        try:
            fields = model_terms(model.spec, columns)
            dydx = continuous_key(item.dydx)
            given = [continuous_key(k) for k in (item.at if section == "tables" else [item.over])]
        except (SpecError, ValueError):  # reported where the term or the key is checked
            return
        single = {f for f, mark in variable_marks(type(model.spec)).items() if mark.single}
        regressors = [t for f, terms in fields.items() if f not in single for t in terms]
        variables = {
            (c.variable, c.shift, c.diff): c.column
            for terms in fields.values()
            for t in terms
            for c in t.components
            if not c.factor
        }
        moderators = "at" if section == "tables" else "over"
        paths = (
            [(section, name, "at", k) for k in item.at]
            if section == "tables"
            else [(section, name, "over")]
        )
        unknown = [
            (key, path) for key, path in zip(given, paths, strict=True) if key not in variables
        ]
        for key, path in unknown:
            self.error(
                f"{moderators}: '{_key_column(key)}' is not a continuous variable of model "
                f"'{item.model}'",
                path,
                code="reference",
                hint=did_you_mean(_key_column(key), list(variables.values())),
            )
        if unknown:  # what dydx interacts with is judged against moderators that exist
            return
        holding = [
            t
            for t in regressors
            if any((c.variable, c.shift, c.diff) == dydx and not c.factor for c in t.components)
        ]
        if not holding:
            names = [
                variables[k]
                for t in regressors
                for c in t.components
                if not c.factor
                for k in [(c.variable, c.shift, c.diff)]
            ]
            self.error(
                f"dydx: '{item.dydx}' is not a regressor of model '{item.model}'",
                (section, name, "dydx"),
                code="reference",
                hint=did_you_mean(item.dydx, names),
            )
            return
        for term in holding:
            if term.has_factor:
                continue  # margins over factor levels: reported by run, with the level
            for c in term.components:
                key = (c.variable, c.shift, c.diff)
                if key == dydx or key in given:
                    continue
                told = (
                    f"give {c.column} in at:"
                    if section == "tables"
                    else f"a margins figure varies one moderator, so over: must be {c.column}"
                )
                self.error(
                    f"dydx: '{item.dydx}' interacts with {c.column} in model '{item.model}' "
                    f"('{term.continuous_name()}'): {told}",
                    (section, name, moderators),
                    code="reference",
                )
                return

    def check_coefplot(
        self, name: str, item: Any, models: dict[str, ResolvedModel], columns: list[str]
    ) -> None:
        """A coefplot's ``variable`` is a coefficient of each ols, panel_fe or did model it
        draws (their coefficients are their x terms, and a did model's ``did`` besides, known
        from the spec), as ``run`` requires (``specrun.figures.coefplot``: "model … has no
        coefficient …"). Other estimators name their coefficients themselves (regimes, events)
        and are left to ``run``."""
        from specrun.data.terms import parse_item
        from specrun.estimators.base import model_terms

        try:
            terms = parse_item(item.variable)
        except SpecError:
            return  # a factor level or a name that is not a term: run checks it
        if len(terms) != 1 or terms[0].has_factor or item.variable == "_cons":
            return
        wanted = terms[0].key()
        for ref in item.models:
            model = models.get(ref)
            if (
                model is None
                or ref in self.failed
                or model.spec.estimator not in ("ols", "panel_fe", "did")
            ):
                continue
            did = ""
            if model.spec.estimator == "did":  # imported here: a spec without did never loads it
                from specrun.estimators.specs.did import DID as did
            if did and item.variable == did:
                continue
            try:
                fields = model_terms(model.spec, columns)
            except SpecError:
                continue
            single = {f for f, mark in variable_marks(type(model.spec)).items() if mark.single}
            regressors = [t for f, ts in fields.items() if f not in single for t in ts]
            if any(t.key() == wanted for t in regressors):
                continue
            names = [t.continuous_name() for t in regressors if not t.has_factor]
            if did:
                names.append(did)
            self.error(
                f"model '{ref}' has no coefficient '{item.variable}'",
                ("figures", name, "variable"),
                code="reference",
                hint=did_you_mean(item.variable, names),
            )
            return

    def check_column_labels(
        self, section: str, name: str, item: Any, models: dict[str, ResolvedModel]
    ) -> None:
        """column_labels, the spans of column groups and every panel's columns must match the
        (first panel's) columns, when their number is known without data (no column is an
        over: family or a model with parts): ``run`` would otherwise fit every model before
        saying so (the same words as ``specrun.tables.regression``)."""
        labels = getattr(item, "column_labels", None)
        groups = getattr(item, "groups", None) or []
        panels = getattr(item, "panels", None) or []
        lists = [getattr(item, "columns", None) or []] + [p.columns for p in panels]
        lists = [c for c in lists if c]
        if not lists or (labels is None and not groups and len(lists) == 1):
            return
        for column in (c for listed in lists for c in listed):
            model = models.get(column)
            if model is None or model.spec.over or ESTIMATORS.get(model.spec.estimator).children:
                return
        columns = lists[0]
        if any(len(listed) != len(columns) for listed in lists):
            self.error(
                "every panel needs as many columns as the first: "
                + ", ".join(str(len(listed)) for listed in lists),
                (section, name, "panels"),
                code="schema",
            )
            return
        if labels is not None and len(labels) != len(columns):
            self.error(
                f"column_labels has {len(labels)} entries, the table has {len(columns)} columns",
                (section, name, "column_labels"),
                code="schema",
            )
        spanned = sum(group.span for group in groups)
        if groups and spanned != len(columns):
            self.error(
                f"column groups span {spanned} columns, the table has {len(columns)}",
                (section, name, "groups"),
                code="schema",
            )

    def _ref_path(self, section: str, name: str, ref: str) -> PathKey:
        body = self.doc.data.get(section, {}).get(name, {})
        for key, value in body.items() if isinstance(body, dict) else ():
            if key in _NOT_MODEL_KEYS:
                # a mediation table's model is often named 'mediation' too
                continue
            if value == ref:
                return (section, name, key)
            if isinstance(value, list) and ref in value:
                return (section, name, key, value.index(ref))
        return (section, name)


# Keys of a table or figure entry whose text is never a model name, so an error about a model
# reference is not placed on them when the same word happens to appear there.
_NOT_MODEL_KEYS = frozenset({"kind", "caption", "title", "notes", "panel", "label"})


# estimators whose coefficients are their x terms and the constant (_cons, last)
X_AND_CONSTANT = frozenset({"ols", "panel_fe", "panel_re", "panel_be"})
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _named_coefficients(model: ResolvedModel | None) -> list[str] | None:
    """The coefficients a model reports, or more (a regressor a fit drops is still named),
    when they follow from its spec: an estimator of ``X_AND_CONSTANT`` whose x are plain
    variables (an operator, factor or interaction names its coefficients from the data);
    None otherwise."""
    if model is None or model.spec.estimator not in X_AND_CONSTANT:
        return None
    terms = [str(t) for t in getattr(model.spec, "x", None) or []]
    if not all(PLAIN_NAME.fullmatch(t) for t in terms):
        return None
    return [*terms, "_cons"]


def _entry_reading(options: Any, column: str) -> list[str]:
    """The key of the first expression of a mapping step (``derive: {out: expr, …}``) that
    reads ``column``, to place an error on that entry's line; none for other steps."""
    root = getattr(options, "root", None)
    if isinstance(root, dict):
        from specrun.data.expr import referenced_columns

        for key, text in root.items():
            if isinstance(text, str) and column in referenced_columns(text):
                return [key]
    return []


def _key_column(key: tuple[str, int, int]) -> str:
    """The column of a (variable, shift, diff) key: (Dige, 1, 0) → ``L.Dige``."""
    from specrun.data.terms import ts_prefix

    prefix = ts_prefix(key[1], key[2])
    return f"{prefix}.{key[0]}" if prefix else key[0]


def _group_item(raw: list[Any]) -> int:
    """The index of the first ``$group`` item of a raw list (where expanded members came from)."""
    for i, item in enumerate(raw):
        if isinstance(item, str) and "$" in item:
            return i
    return 0


def _term_name(item: str, identity: Any) -> str:
    """How the term of ``item`` whose key is ``identity`` is written on its own: ``value``,
    ``L.value``, ``i.region``, ``c.x#c.z``; ``item`` itself when it is not a term."""
    from specrun.data.terms import parse_item, ts_prefix

    try:
        terms = parse_item(item)
    except SpecError:
        return item
    term = next((t for t in terms if t.key() == identity), None)
    if term is None:
        return item
    if not term.is_interaction and not term.has_factor:
        return term.components[0].column
    return "#".join(
        f"{'i' if c.factor else 'c'}{ts_prefix(c.shift, c.diff)}.{c.variable}"
        for c in term.components
    )


@functools.lru_cache(maxsize=4096)
def _term_keys(item: str) -> tuple[frozenset, ...]:
    """The keys of the terms ``item`` writes (``data.terms.Term.key``); none for an item that
    is not a term (its own errors are reported where it is checked)."""
    from specrun.data.terms import parse_item

    try:
        return tuple(term.key() for term in parse_item(item))
    except SpecError:
        return ()
