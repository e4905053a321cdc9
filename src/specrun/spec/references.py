"""Cross-reference checks: every variable, group, sample and model a spec names exists.

Columns are known before any data are read in full: the panel source's header plus what each
transform writes, in order; a model's own transforms (variants) add to its columns only.
"""

from __future__ import annotations

from typing import Any

from specrun.errors import SpecError, did_you_mean
from specrun.estimators import ESTIMATORS
from specrun.estimators.base import variable_fields, variable_marks
from specrun.spec.diagnostics import Diagnostics
from specrun.spec.load import PathKey
from specrun.spec.models import DataSpec, SampleSpec, strip_lag
from specrun.spec.resolve import ResolvedModel
from specrun.transforms import TRANSFORMS


class ReferenceChecks(Diagnostics):
    sections: dict[str, Any]
    unvalidated: list[Any]

    def check_columns(
        self, groups: dict[str, tuple[str, ...]], models: dict[str, ResolvedModel]
    ) -> list[str]:
        data_spec: DataSpec | None = self.sections.get("data")
        if data_spec is None:
            return []
        from specrun.data.io import read_columns

        panel = data_spec.panel
        if panel.source not in data_spec.sources:
            self.error(
                f"unknown source '{panel.source}'",
                ("data", "panel", "source"),
                code="reference",
                hint=did_you_mean(panel.source, data_spec.sources),
            )
            return []
        try:
            columns = list(read_columns(data_spec.sources[panel.source], self.doc.folder))
        except SpecError as exc:
            self.error(
                exc.message, ("data", "sources", panel.source, "path"), code="data", hint=exc.hint
            )
            return []
        for key in ("entity", "time"):
            if getattr(panel, key) not in columns:
                self.error(
                    f"column '{getattr(panel, key)}' not in source '{panel.source}'",
                    ("data", "panel", key),
                    code="reference",
                    hint=did_you_mean(getattr(panel, key), columns),
                )
        for i, step in enumerate(self.sections.get("transforms", [])):
            columns = self.check_step(step, ("transforms", i), columns)
        for name in self.sections.get("variables", {}):
            if name not in columns:
                self.error(
                    f"unknown variable '{name}'",
                    ("variables", name),
                    code="reference",
                    key=True,
                    hint=did_you_mean(name, columns),
                )
        for gname, members in groups.items():
            for i, member in enumerate(members):
                if member not in columns:
                    self.error(
                        f"unknown variable '{member}'",
                        ("groups", gname, i),
                        code="reference",
                        hint=did_you_mean(member, columns),
                    )
        for sname, sample in self.sections.get("samples", {}).items():
            self.check_sample(sample, ("samples", sname), columns)
        samples = self.sections.get("samples", {})
        for model in models.values():
            model_columns = columns
            for j, step in enumerate(model.transforms):
                model_columns = self.check_step(step, (*model.path, "transforms", j), model_columns)
            self.check_model(model, model_columns, samples)
        for spec_cls, body, origins in self.unvalidated:
            for field_name in variable_fields(spec_cls):
                value = body.get(field_name)
                items = [value] if isinstance(value, str) else value
                if field_name not in origins or not isinstance(items, list):
                    continue
                for i, item in enumerate(items):
                    if isinstance(item, str) and not item.startswith("$") and item not in columns:
                        where = (
                            origins[field_name]
                            if isinstance(value, str)
                            else (*origins[field_name], i)
                        )
                        self.error(
                            f"unknown variable '{item}'",
                            where,
                            code="reference",
                            hint=did_you_mean(item, columns),
                        )
        return columns

    def check_step(self, step: Any, path: PathKey, columns: list[str]) -> list[str]:
        name = next(iter(type(step).model_fields))
        kind = TRANSFORMS.get(name)
        options = getattr(step, name)
        made = columns + [c for c in kind.outputs(options) if c not in columns]
        try:
            needed = kind.inputs(options)
        except SpecError as exc:
            self.expression_error(exc, (*path, name))
            return made  # its outputs still exist: no cascade of "unknown variable" errors
        for column in needed:
            if column not in columns:
                self.error(
                    f"unknown variable '{column}'",
                    (*path, name),
                    code="reference",
                    hint=did_you_mean(column, columns),
                )
        return made

    def check_sample(self, sample: SampleSpec, path: PathKey, columns: list[str]) -> None:
        from specrun.data.expr import referenced_columns

        if sample.where is not None:
            try:
                used = referenced_columns(sample.where)
            except SpecError as exc:
                self.expression_error(exc, (*path, "where"))
                used = set()
            for column in sorted(used):
                if column not in columns:
                    self.error(
                        f"unknown variable '{column}'",
                        (*path, "where"),
                        code="reference",
                        hint=did_you_mean(column, columns),
                    )
        for column in sample.exclude or {}:
            if column not in columns:
                self.error(
                    f"unknown variable '{column}'",
                    (*path, "exclude", column),
                    code="reference",
                    key=True,
                    hint=did_you_mean(column, columns),
                )

    def check_model(
        self, model: ResolvedModel, columns: list[str], samples: dict[str, SampleSpec]
    ) -> None:
        spec = model.spec
        origins_base = model.path
        for field_name, mark in variable_marks(type(spec)).items():
            value = getattr(spec, field_name)
            items = [value] if isinstance(value, str) else list(value or [])
            path, raw = self._raw_field(model, field_name)
            for item in items:
                name = strip_lag(item) if mark.lag_prefix else item
                if name in columns or item not in raw:
                    continue  # names that came from a group are checked under groups:
                where = (*path, raw.index(item)) if isinstance(raw, list) else path
                self.error(
                    f"unknown variable '{name}'",
                    where,
                    code="reference",
                    hint=did_you_mean(name, columns),
                )
        for name, relative in spec.variable_refs():
            if name not in columns:
                path, _ = self._raw_field(model, str(relative[0]))
                self.error(
                    f"unknown variable '{name}'",
                    (*path, *relative[1:]),
                    code="reference",
                    key=len(relative) == 2,
                    hint=did_you_mean(name, columns),
                )
        for message, relative in spec.hints():
            path, _ = self._raw_field(model, str(relative[0]))
            self.hints.append(self.doc.error(message, (*path, *relative[1:]), code="hint"))
        if isinstance(spec.sample, str) and spec.sample not in samples:
            self.error(
                f"unknown sample '{spec.sample}'",
                self._raw_field(model, "sample")[0],
                code="reference",
                hint=did_you_mean(spec.sample, samples),
            )
        elif isinstance(spec.sample, SampleSpec):
            self.check_sample(spec.sample, self._raw_field(model, "sample")[0], columns)
        if spec.over is not None and spec.over not in columns:
            self.error(
                f"unknown variable '{spec.over}'",
                (*origins_base, "over"),
                code="reference",
                hint=did_you_mean(spec.over, columns),
            )

    def _raw_field(self, model: ResolvedModel, field_name: str) -> tuple[PathKey, Any]:
        """Where a model's field was written (its own body, a variant, or a base model), and
        the value written there."""
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
            f"{n}.{c}" for n, m in models.items() for c in ESTIMATORS.get(m.spec.estimator).children
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
                            self.error(
                                f"unknown variable '{var}'",
                                (section, name, "indicators", label, i),
                                code="reference",
                                hint=did_you_mean(var, columns),
                            )
                for ref in kind.models(item):
                    prefix = ref.split(".", 1)[0]
                    if (
                        ref in models
                        and kind.reads
                        and models[ref].spec.estimator not in kind.reads
                    ):
                        self.error(
                            f"a {item.kind} {section[:-1]} reads {' or '.join(kind.reads)} "
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

    def _ref_path(self, section: str, name: str, ref: str) -> PathKey:
        body = self.doc.data.get(section, {}).get(name, {})
        for key, value in body.items() if isinstance(body, dict) else ():
            if value == ref:
                return (section, name, key)
            if isinstance(value, list) and ref in value:
                return (section, name, key, value.index(ref))
        return (section, name)
