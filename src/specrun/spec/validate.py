"""Validate a loaded spec: types (pydantic), ``extends``/variants/groups, and cross-references.

Every problem is collected and reported at once, each located at its file:line:col and spec path
(``specs/x.yaml:12:5: models.fe.x[2]: unknown variable 'Dgie' (did you mean 'Dige'?)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from specrun.errors import SpecError, SpecErrors, did_you_mean
from specrun.estimators import ESTIMATORS
from specrun.estimators.base import model_variables, variable_fields, variable_marks
from specrun.spec import schema
from specrun.spec.load import PathKey, SpecDocument, format_path, load_file
from specrun.spec.models import (
    DataSpec,
    ModelBase,
    OutputSpec,
    SampleSpec,
    VariableSpec,
    strip_lag,
)
from specrun.transforms import TRANSFORMS

NOT_INHERITED = ("extends", "over", "label")
VARIANT_ONLY = ("transforms", "winsorize")
PER_ENTRY = ("variables", "samples", "tables", "figures")


@dataclass(frozen=True)
class ResolvedModel:
    """A model after ``extends`` and variant overlays, with ``$groups`` expanded."""

    name: str
    spec: ModelBase
    path: PathKey
    transforms: tuple[Any, ...] = ()  # steps applied to this model's data only (variants)
    base: str | None = None  # the model a variant derives from


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
        raise SpecErrors(_dedupe(checker.errors))
    return spec


def _dedupe(errors: Iterable[SpecError]) -> list[SpecError]:
    seen: set[str] = set()
    out = []
    for e in errors:
        if str(e) not in seen:
            seen.add(str(e))
            out.append(e)
    return out


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _tag_member(tp: Any, part: Any) -> Any | None:
    """The member of a tagged union that a pydantic loc part names, if it is a tag."""
    tp = _strip(tp)
    if get_origin(tp) not in (Union, UnionType):
        return None
    for member in get_args(tp):
        base = _strip(member)
        if isinstance(base, type) and issubclass(base, BaseModel):
            for key in ("estimator", "kind"):
                info = base.model_fields.get(key)
                if (
                    info
                    and get_origin(info.annotation) is Literal
                    and part in get_args(info.annotation)
                ):
                    return base
            if list(base.model_fields) == [part] and len(base.model_fields) == 1:
                return base
            name = base.__name__
            if part == name or (
                isinstance(part, str) and part.endswith((f" {name}]", f"[{name}]"))
            ):
                return base
    return None


def _child_type(tp: Any, part: Any) -> Any:
    tp = _strip(tp)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(part) if isinstance(part, str) else None
        return info.annotation if info else None
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        return get_args(tp)[0]
    if origin in (Union, UnionType):
        for member in get_args(tp):
            child = _child_type(member, part)
            if child is not None:
                return child
    return None


def _valid_keys(tp: Any) -> list[str]:
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    if get_origin(tp) in (Union, UnionType):
        for member in get_args(tp):
            keys = _valid_keys(member)
            if keys:
                return keys
    return []


class _Checker:
    def __init__(self, doc: SpecDocument) -> None:
        self.doc = doc
        self.errors: list[SpecError] = list(doc.problems)
        self.sections: dict[str, Any] = {}
        # models whose types failed: their variable names are still checked against the data
        self.unvalidated: list[tuple[type[BaseModel], dict[str, Any], dict[str, PathKey]]] = []

    # -- error helpers -------------------------------------------------------------------
    def error(
        self, message: str, path: PathKey, *, code: str, key: bool = False, hint: str | None = None
    ) -> None:
        self.errors.append(self.doc.error(message, path, code=code, key=key, hint=hint))

    def pydantic_errors(
        self,
        exc: ValidationError,
        root_type: Any,
        data: Any,
        prefix: PathKey,
        origins: dict[str, PathKey] | None = None,
    ) -> None:
        found = []
        for err in exc.errors():
            tp, node, path = root_type, data, []
            for part in err["loc"]:
                member = _tag_member(tp, part)
                if member is not None and not (isinstance(node, dict) and part in node):
                    tp = member
                    continue
                if (isinstance(node, dict) and part in node) or (
                    isinstance(node, list) and isinstance(part, int) and part < len(node)
                ):
                    node = node[part]
                    path.append(part)
                elif err["type"] in ("missing", "extra_forbidden") and part == err["loc"][-1]:
                    path.append(part)
                else:
                    continue
                tp = _child_type(tp, part) if tp is not None else None
            found.append((err, tuple(path), tp))
        paths = [p for _, p, _ in found]
        shown: set[tuple] = set()
        for err, path, _ in found:
            if any(len(o) > len(path) and o[: len(path)] == path for o in paths):
                continue  # a more specific error about the same value is shown instead
            if path in shown and err["type"] not in ("missing", "extra_forbidden"):
                continue  # union members each complain about one value: the first says enough
            shown.add(path)
            self.errors.append(self._convert(err, path, prefix, origins, root_type))

    def _convert(
        self,
        err: Any,
        path: tuple,
        prefix: PathKey,
        origins: dict[str, PathKey] | None,
        root_type: Any,
    ) -> SpecError:
        full: PathKey = (*prefix, *path)
        if origins and path and path[0] in origins:
            full = (*origins[path[0]], *path[1:])
        kind = err["type"]
        hint = None
        if kind == "extra_forbidden":
            parent_type = root_type
            for part in err["loc"][:-1]:
                member = _tag_member(parent_type, part)
                parent_type = member if member is not None else _child_type(parent_type, part)
            valid = _valid_keys(parent_type)
            message = f"unknown key '{path[-1]}'"
            hint = did_you_mean(str(path[-1]), valid) or (
                "valid keys: " + ", ".join(valid) if valid else None
            )
            return self.doc.error(message, full, code="schema", key=True, hint=hint)
        if kind == "missing":
            where = full[:-1]
            return self.doc.error(f"missing required key '{path[-1]}'", where, code="schema")
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            return self._tag_error(err, full)
        message = err["msg"]
        if kind.startswith("value_error"):
            message = message.removeprefix("Value error, ")
        elif not isinstance(err.get("input"), dict | list):
            message = f"{message[0].lower()}{message[1:]}, got {err.get('input')!r}"
        return self.doc.error(message, full, code="schema")

    def _tag_error(self, err: Any, path: PathKey) -> SpecError:
        ctx = err.get("ctx") or {}
        tag = ctx.get("tag")
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t]
        field = ctx.get("discriminator", "").strip("'") or "key"
        if tag is None and isinstance(err.get("input"), dict) and len(err["input"]) != 1:
            return self.doc.error(
                "a transform is a mapping with exactly one key, its name",
                path,
                code="schema",
                hint="valid: " + ", ".join(TRANSFORMS.names()),
            )
        if tag is None:
            return self.doc.error(
                f"missing required key {field}",
                path,
                code="schema",
                hint="valid: " + ", ".join(expected),
            )
        what = {"estimator": "estimator", "kind": "kind"}.get(field, "transform")
        target = (*path, field) if field in ("estimator", "kind") else path
        return self.doc.error(
            f"unknown {what} '{tag}'",
            target,
            code="schema",
            hint=did_you_mean(str(tag), expected) or "valid: " + ", ".join(expected),
        )

    # -- the passes -----------------------------------------------------------------------
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
        self.check_outputs_refs(models)
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
        )

    def resolve_models(self, groups: dict[str, tuple[str, ...]]) -> dict[str, ResolvedModel]:
        raw = self.doc.data.get("models")
        if not isinstance(raw, dict):
            return {}
        merged: dict[str, tuple[dict[str, Any], dict[str, PathKey]]] = {}

        def resolve(name: str, chain: tuple[str, ...]) -> tuple[dict, dict] | None:
            if name in merged:
                return merged[name]
            body = raw.get(name)
            if not isinstance(body, dict):
                return None
            own = {k: v for k, v in body.items() if k != "extends"}
            origins = {k: ("models", name, k) for k in own}
            result: dict[str, Any] = {}
            result_origins: dict[str, PathKey] = {}
            if "extends" in body:
                base = body["extends"]
                if base not in raw:
                    self.error(
                        f"extends unknown model '{base}'",
                        ("models", name, "extends"),
                        code="reference",
                        hint=did_you_mean(str(base), raw),
                    )
                    return None
                if base in chain:
                    self.error(
                        "extends forms a cycle: " + " → ".join([*chain, name, base]),
                        ("models", name, "extends"),
                        code="reference",
                    )
                    return None
                inherited = resolve(base, (*chain, name))
                if inherited is None:
                    return None
                result = {k: v for k, v in inherited[0].items() if k not in NOT_INHERITED}
                result_origins = {k: inherited[1][k] for k in result}
            for key, value in own.items():  # an explicit null drops an inherited key
                if value is None and key in result:
                    del result[key]
                    del result_origins[key]
                elif value is not None:
                    result[key] = value
                    result_origins[key] = origins[key]
            merged[name] = (result, result_origins)
            return merged[name]

        models: dict[str, ResolvedModel] = {}
        for name in raw:
            if "." in name:
                self.error(
                    "model names cannot contain '.' (it separates variants and groups)",
                    ("models", name),
                    code="schema",
                    key=True,
                )
                continue
            entry = resolve(name, ())
            if entry is None:
                continue
            model = self.typed_model(name, entry[0], entry[1], groups)
            if model is not None:
                models[name] = ResolvedModel(name, model, ("models", name))
        self.resolve_variants(merged, models, groups)
        return models

    def typed_model(
        self,
        name: str,
        body: dict[str, Any],
        origins: dict[str, PathKey],
        groups: dict[str, tuple[str, ...]],
    ) -> ModelBase | None:
        kind = body.get("estimator")
        expanded = dict(body)
        if isinstance(kind, str) and kind in ESTIMATORS:
            spec_cls = ESTIMATORS.get(kind).spec
            for field_name in variable_fields(spec_cls):
                if field_name in body:
                    expanded[field_name] = self.expand_groups(
                        body[field_name], origins[field_name], groups
                    )
        for field_name, value in body.items():
            # other lists of names (e.g. GMM's iv:) take known groups too
            if field_name not in expanded or expanded[field_name] is not value:
                continue
            if isinstance(value, list) and any(
                isinstance(v, str) and v.startswith("$") and v[1:] in groups for v in value
            ):
                expanded[field_name] = self.expand_groups(value, origins[field_name], groups)
        try:
            return schema.model_adapter().validate_python(expanded)
        except ValidationError as exc:
            self.pydantic_errors(exc, schema.model_union(), expanded, ("models", name), origins)
            if isinstance(kind, str) and kind in ESTIMATORS:
                self.unvalidated.append((ESTIMATORS.get(kind).spec, body, origins))
            return None

    def expand_groups(self, value: Any, path: PathKey, groups: dict[str, tuple[str, ...]]) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        out: list[Any] = []
        for i, item in enumerate(items):
            here = path if isinstance(value, str) else (*path, i)
            if isinstance(item, str) and item.startswith("$"):
                group = item[1:]
                if group not in groups:
                    self.error(
                        f"unknown group '{item}'",
                        here,
                        code="reference",
                        hint=did_you_mean(group, groups),
                    )
                    continue
                if isinstance(value, str) and len(groups[group]) != 1:
                    out.extend(groups[group])
                    return out
                out.extend(groups[group])
            else:
                out.append(item)
        if isinstance(value, str) and len(out) == 1:
            return out[0]
        return out

    def resolve_variants(
        self, merged: dict, models: dict[str, ResolvedModel], groups: dict[str, tuple[str, ...]]
    ) -> None:
        raw = self.doc.data.get("variants")
        if not isinstance(raw, dict):
            return
        for base, variants in raw.items():
            if base not in merged:
                self.error(
                    f"variants of unknown model '{base}'",
                    ("variants", base),
                    code="reference",
                    key=True,
                    hint=did_you_mean(str(base), merged),
                )
                continue
            if not isinstance(variants, dict):
                continue
            for vname, overlay in variants.items():
                path: PathKey = ("variants", base, vname)
                if not isinstance(overlay, dict):
                    continue
                steps_raw = list(overlay.get("transforms", []))
                if "winsorize" in overlay:
                    steps_raw.append({"winsorize": overlay["winsorize"]})
                changes = {k: v for k, v in overlay.items() if k not in VARIANT_ONLY}
                if not steps_raw and set(changes) <= {"label"}:
                    self.error(
                        "a variant must change the sample, the transforms or the estimator "
                        "(it would duplicate its base model)",
                        path,
                        code="schema",
                    )
                    continue
                steps: list[Any] = []
                if steps_raw:
                    try:
                        steps = schema.steps_adapter().validate_python(steps_raw)
                    except ValidationError as exc:
                        self.pydantic_errors(exc, list[schema.transform_step()], steps_raw, path)
                        continue
                body = {k: v for k, v in merged[base][0].items() if k not in NOT_INHERITED}
                origins = {k: merged[base][1][k] for k in body}
                for key, value in changes.items():
                    if value is None:
                        body.pop(key, None)
                        origins.pop(key, None)
                    else:
                        body[key] = value
                        origins[key] = (*path, key)
                model = self.typed_model(f"{base}.{vname}", body, origins, groups)
                if model is not None:
                    name = f"{base}.{vname}"
                    models[name] = ResolvedModel(name, model, path, tuple(steps), base)

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
        try:
            needed = kind.inputs(options)
        except SpecError as exc:
            self.expression_error(exc, (*path, name))
            return columns
        for column in needed:
            if column not in columns:
                self.error(
                    f"unknown variable '{column}'",
                    (*path, name),
                    code="reference",
                    hint=did_you_mean(column, columns),
                )
        return columns + [c for c in kind.outputs(options) if c not in columns]

    def expression_error(self, exc: SpecError, path: PathKey) -> None:
        pos = self.doc.position(path)
        col = None
        if pos is not None and exc.col is not None:
            col = pos.col + exc.col - 1 + (1 if self._quoted(pos) else 0)
        self.errors.append(
            SpecError(
                exc.message,
                code="expression",
                path=format_path(path),
                file=self.doc.file,
                line=pos.line if pos else None,
                col=col if col else (pos.col if pos else None),
                hint=exc.hint,
            )
        )

    def _quoted(self, pos: Any) -> bool:
        try:
            line = Path(self.doc.file).read_text(encoding="utf-8").splitlines()[pos.line - 1]
        except (OSError, IndexError):
            return False
        return line[pos.col - 1 : pos.col] in ("'", '"')

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

    def check_outputs_refs(self, models: dict[str, ResolvedModel]) -> None:
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
                used = registry.get(item.kind).models(item)
                for ref in used:
                    prefix = ref.split(".", 1)[0]
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


def model_columns(model: ResolvedModel) -> list[str]:
    return model_variables(model.spec)
