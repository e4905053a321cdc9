"""Validate a loaded spec: types (pydantic), ``extends``/variants/groups, and cross-references.

Every problem is collected and reported at once, each located at its file:line:col and spec path
(``specs/x.yaml:12:5: models.fe.x[2]: unknown variable 'Dgie' (did you mean 'Dige'?)``). The
passes live in ``diagnostics`` (error records), ``resolve`` (models) and ``references``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from specrun.errors import SpecError, SpecErrors, did_you_mean
from specrun.spec import schema
from specrun.spec.diagnostics import dedupe
from specrun.spec.load import SpecDocument, load_file
from specrun.spec.models import DataSpec, OutputSpec, SampleSpec, VariableSpec
from specrun.spec.references import ReferenceChecks
from specrun.spec.resolve import ModelResolver, ResolvedModel

PER_ENTRY = ("variables", "samples", "tables", "figures")

__all__ = ["ResolvedModel", "Spec", "validate", "validate_file"]


@dataclass(frozen=True)
class Spec:
    """A valid spec: typed sections, resolved models, and the columns the data will have."""

    document: SpecDocument
    title: str
    data: DataSpec
    variables: dict[str, VariableSpec]
    groups: dict[str, tuple[str, ...]]
    transforms: tuple[Any, ...]
    samples: dict[str, SampleSpec]
    models: dict[str, ResolvedModel]
    tables: dict[str, Any]
    figures: dict[str, Any]
    outputs: OutputSpec
    columns: tuple[str, ...] = field(default=())
    hints: tuple[SpecError, ...] = field(default=())

    @property
    def folder(self) -> Path:
        return self.document.folder

    def labels(self) -> dict[str, str]:
        return {k: v.label for k, v in self.variables.items() if v.label}


def validate_file(path: str | Path) -> Spec:
    return validate(load_file(path))


def validate(doc: SpecDocument) -> Spec:
    checker = _Checker(doc)
    spec = checker.run()
    if checker.errors or spec is None:
        raise SpecErrors(dedupe(checker.errors))
    return spec


class _Checker(ModelResolver, ReferenceChecks):
    def __init__(self, doc: SpecDocument) -> None:
        super().__init__(doc)
        self.sections: dict[str, Any] = {}

    def run(self) -> Spec | None:
        data = self.doc.data
        types = schema.section_types()
        for key in data:
            if key not in types:
                self.error(
                    f"unknown section '{key}'",
                    (key,),
                    code="schema",
                    key=True,
                    hint=did_you_mean(key, types) or "valid: " + ", ".join(types),
                )
        for name in schema.REQUIRED_SECTIONS:
            if name not in data:
                self.errors.append(
                    SpecError(
                        f"missing required section '{name}'",
                        code="schema",
                        file=self.doc.file,
                        line=1,
                        col=1,
                    )
                )
        for name, tp in types.items():
            if name not in data:
                continue
            value = data[name]
            if name in PER_ENTRY and isinstance(value, dict):
                # one bad entry must not hide the others' cross-reference checks
                entry_type = get_args(tp)[1]
                adapter = TypeAdapter(entry_type)
                valid = {}
                for key, entry in value.items():
                    try:
                        valid[key] = adapter.validate_python(entry)
                    except ValidationError as exc:
                        self.pydantic_errors(exc, entry_type, entry, (name, key))
                self.sections[name] = valid
                continue
            try:
                self.sections[name] = schema.adapter(name).validate_python(value)
            except ValidationError as exc:
                self.pydantic_errors(exc, tp, value, (name,))
        version = self.sections.get("spec_version", 1)
        if version != 1:
            self.error(
                f"spec_version {version} is not supported (this specrun reads 1)",
                ("spec_version",),
                code="schema",
            )
        groups = {k: tuple(v) for k, v in self.sections.get("groups", {}).items()}
        models = self.resolve_models(groups)
        columns = self.check_columns(groups, models)
        self.check_outputs_refs(models, columns, groups)
        if self.errors or "data" not in self.sections or "models" not in self.sections:
            return None
        return Spec(
            document=self.doc,
            title=self.sections.get("title", ""),
            data=self.sections["data"],
            variables=self.sections.get("variables", {}),
            groups=groups,
            transforms=tuple(self.sections.get("transforms", [])),
            samples=self.sections.get("samples", {}),
            models=models,
            tables=self.sections.get("tables", {}),
            figures=self.sections.get("figures", {}),
            outputs=self.sections.get("outputs", OutputSpec()),
            columns=tuple(columns),
            hints=tuple(dedupe(self.hints)),
        )
