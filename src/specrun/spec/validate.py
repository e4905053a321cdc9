"""Validate a loaded spec: types (pydantic), ``extends``/variants/groups, and cross-references.

Every problem is collected and reported at once, each located at its file:line:col and spec path
(``specs/x.yaml:12:5: models.fe.x[2]: unknown variable 'Dgie' (did you mean 'Dige'?)``). The
passes live in ``diagnostics`` (error records), ``resolve`` (models) and ``references``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from pydantic import ValidationError

from specrun.errors import SpecError, SpecErrors, did_you_mean
from specrun.spec import schema
from specrun.spec.diagnostics import dedupe
from specrun.spec.load import SpecDocument, load_file
from specrun.spec.models import DataSpec, OutputSpec, SampleSpec, VariableSpec
from specrun.spec.multiverse import ResolvedMultiverse
from specrun.spec.references import ReferenceChecks
from specrun.spec.resolve import ModelResolver, ResolvedModel

PER_ENTRY = ("variables", "samples", "tables", "figures", "multiverse")

# Names of things the spec defines become file names (tables/<name>.tex, figures/<name>.png)
# and result keys: letters (any script), digits, '_' and '-', not starting with a digit.
NAME_PATTERN = re.compile(r"[^\W\d][\w-]*")
MAX_NAME_LENGTH = 64
# Characters no table, figure or file can carry: C0/C1 controls (but tab and newline), DEL, and
# the bidirectional overrides that make text display in another order than it is stored.
FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_TEXT_LENGTH = 4000  # any one string; labels are shorter still (see VariableSpec)
# sections whose names become file names, with the folder their files go to
FILE_SECTIONS = {"tables": ("table", "tables"), "figures": ("figure", "figures")}
FILE_SECTIONS["multiverse"] = ("multiverse", "multiverse")
# names Windows keeps for devices, with any extension (tables/aux.tex opens the AUX device)
WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", *(f"{port}{i}" for port in ("COM", "LPT") for i in range(1, 10))]
)
NAMED_SECTIONS = {
    "models": "model",
    "tables": "table",
    "figures": "figure",
    "samples": "sample",
    "groups": "group",
    "multiverse": "multiverse",
}

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
    # each multiverse and its specifications (models of ``models`` named <name>[axis=value,…])
    multiverses: dict[str, ResolvedMultiverse] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.document.folder

    def labels(self, language: str | None = None) -> dict[str, str]:
        """Variable → label in ``language`` (default: ``outputs.language``)."""
        language = language or self.outputs.language
        labels = {k: v.label_in(language) for k, v in self.variables.items()}
        return {k: v for k, v in labels.items() if v}


def validate_file(path: str | Path, *, check_outputs: bool = True) -> Spec:
    return validate(load_file(path), check_outputs=check_outputs)


def validate(doc: SpecDocument, *, check_outputs: bool = True) -> Spec:
    """The typed, cross-checked spec, or ``SpecErrors`` with every problem found.

    ``check_outputs=False`` skips the confinement of ``outputs.dir`` (a run given ``--out``
    does not use it)."""
    checker = _Checker(doc, check_outputs=check_outputs)
    spec = checker.run()
    if checker.errors or spec is None:
        raise SpecErrors(dedupe(checker.errors))
    return spec


class _Checker(ModelResolver, ReferenceChecks):
    def __init__(self, doc: SpecDocument, *, check_outputs: bool = True) -> None:
        super().__init__(doc)
        self.sections: dict[str, Any] = {}
        self.check_outputs = check_outputs

    def run(self) -> Spec | None:
        data = self.doc.data
        types = schema.SECTIONS
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
        for name in types:
            if name not in data:
                continue
            value = data[name]
            if name in PER_ENTRY and isinstance(value, dict):
                # one bad entry must not hide the others' cross-reference checks
                valid = {}
                for key, entry in value.items():
                    try:
                        if name in schema.TAGGED_SECTIONS:
                            # a union over a registry: only the members used are built
                            valid[key] = schema.validate_tagged(name, entry)
                        else:
                            valid[key] = schema.entry_type(name).model_validate(entry)
                    except ValidationError as exc:
                        self.pydantic_errors(exc, schema.entry_type(name), entry, (name, key))
                self.sections[name] = valid
                continue
            try:
                if name == "transforms":
                    self.sections[name] = schema.validate_steps(value)
                else:
                    self.sections[name] = schema.adapter(name).validate_python(value)
            except ValidationError as exc:
                self.pydantic_errors(exc, schema.section_type(name), value, (name,))
                if name == "transforms" and isinstance(value, list):
                    # the valid steps still make their columns: one bad step must not turn
                    # every other step's output into an "unknown variable" of the models
                    self.sections[name] = [_valid_step(step) for step in value]
        version = self.sections.get("spec_version", 1)
        if version != 1:
            self.error(
                f"spec_version {version} is not supported (this specrun reads 1)",
                ("spec_version",),
                code="schema",
            )
        self.check_names()
        self.check_file_names()
        self.check_repeated_items()
        self.check_text()
        self.check_outputs_dir()
        groups = self.expanded_groups(self.sections.get("groups", {}))
        models = self.resolve_models(groups)
        columns = self.check_columns(groups, models)
        self.check_model_refs(models)
        self.check_outputs_refs(models, columns, groups)
        self.check_multiverse_refs(self.sections)
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
            multiverses=self.multiverses,
        )

    def check_names(self) -> None:
        """Every name the spec defines is an identifier (it becomes a file or result name)."""
        data = self.doc.data
        places: list[tuple[str, tuple[str | int, ...], Any]] = []
        for section, what in NAMED_SECTIONS.items():
            entries = data.get(section)
            if isinstance(entries, dict):
                places.extend((what, (section, name), name) for name in entries)
        sources = (
            data.get("data", {}).get("sources") if isinstance(data.get("data"), dict) else None
        )
        if isinstance(sources, dict):
            places.extend(("source", ("data", "sources", name), name) for name in sources)
        variants = data.get("variants")
        if isinstance(variants, dict):
            for base, entries in variants.items():
                if isinstance(entries, dict):
                    places.extend(("variant", ("variants", base, v), v) for v in entries)
        for what, path, name in places:
            if what == "model" and "." in name:
                continue  # reported with its own reason by the model resolver
            if len(name) > MAX_NAME_LENGTH:
                self.error(
                    f"{what} name is {len(name)} characters long; names take at most "
                    f"{MAX_NAME_LENGTH}",
                    path,
                    code="schema",
                    key=True,
                )
            elif not NAME_PATTERN.fullmatch(name):
                self.error(
                    f"{what} name {name!r} is not a name: use letters, digits, '_' or '-', "
                    "starting with a letter or '_' (it becomes a file and result name)",
                    path,
                    code="schema",
                    key=True,
                )

    def check_file_names(self) -> None:
        """Names that become file names (tables, figures, multiverses) write on every file
        system: two that differ only in case are one file on macOS and Windows (one table
        silently lost), and a Windows device name (aux, con, nul) is no file there."""
        data = self.doc.data
        for section, (what, folder) in FILE_SECTIONS.items():
            entries = data.get(section)
            if not isinstance(entries, dict):
                continue
            seen: dict[str, str] = {}
            for name in entries:
                if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
                    continue  # said by check_names
                if name.upper() in WINDOWS_DEVICES:
                    self.error(
                        f"{what} name '{name}' is a device name on Windows: its files "
                        f"({folder}/{name}.*) cannot be written there",
                        (section, name),
                        code="schema",
                        key=True,
                        hint=f"choose another name, such as '{name}_table'"
                        if what == "table"
                        else f"choose another name, such as '{name}_{what}'",
                    )
                other = seen.setdefault(name.casefold(), name)
                if other != name:
                    first = self.doc.position((section, other), key=True)
                    self.error(
                        f"{what} '{name}' and {what} '{other}'"
                        + (f" (line {first.line})" if first else "")
                        + " differ only in case: on macOS and Windows, whose file names "
                        f"ignore case, {folder}/{name}.* and {folder}/{other}.* are one file",
                        (section, name),
                        code="schema",
                        key=True,
                        hint="rename one of them",
                    )

    def expanded_groups(self, raw: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
        """Each group's members, a member ``$other`` (or ``L.($other)``) replaced by the other
        group's, as a Stata global names another (``global controls "$base x"``); before, the
        member was read as a variable ("unexpected character '$'"). An unknown group or a
        group that includes itself is an error at the member naming it."""
        from specrun.spec.resolve import _GROUP_IN_TERM

        done: dict[str, tuple[str, ...]] = {}

        def expand(name: str, trail: tuple[str, ...]) -> tuple[str, ...]:
            if name in done:
                return done[name]
            out: list[str] = []
            for i, item in enumerate(raw[name]):
                inner = _GROUP_IN_TERM.match(item)
                other = inner.group("group") if inner else item[1:] if item[:1] == "$" else None
                if other is None:
                    out.append(item)
                elif other not in raw:
                    self.error(
                        f"unknown group '${other}'",
                        ("groups", name, i),
                        code="reference",
                        hint=did_you_mean(other, raw),
                    )
                elif other in trail:
                    cycle = " → ".join(f"${g}" for g in (*trail[trail.index(other) :], other))
                    self.error(
                        f"group '{name}' includes itself: {cycle}",
                        ("groups", name, i),
                        code="reference",
                    )
                else:
                    members = expand(other, (*trail, other))
                    if inner is None:
                        out.extend(members)
                    else:  # L.($base): the operators apply to every member
                        out.extend(f"{inner.group('pre')}{m}{inner.group('post')}" for m in members)
            done[name] = tuple(out)
            return done[name]

        return {name: expand(name, (name,)) for name in raw}

    def check_repeated_items(self) -> None:
        """A statistic a table lists twice printed its row twice, a format listed twice was
        written once: either is a slip, said at the later item (as a model's lists are)."""
        data = self.doc.data
        places: list[tuple[tuple[str | int, ...], str]] = [(("outputs", "formats"), "")]
        tables = data.get("tables")
        if isinstance(tables, dict):
            places += [(("tables", t, "stats"), f" of table '{t}'") for t in tables]
        for path, owner in places:
            items: Any = data
            for step in path:
                items = items.get(step) if isinstance(items, dict) else None
            if not isinstance(items, list):
                continue
            seen: set[Any] = set()
            for i, item in enumerate(items):
                if not isinstance(item, str):
                    continue
                if item in seen:
                    self.error(
                        f"'{item}' is listed twice in {path[-1]}{owner}",
                        (*path, i),
                        code="schema",
                    )
                seen.add(item)

    def check_text(self) -> None:
        """No string in the spec carries control or bidi-override characters or is huge."""
        stack: list[tuple[tuple[str | int, ...], Any]] = [((), self.doc.data)]
        while stack:
            path, value = stack.pop()
            if isinstance(value, dict):
                for key, item in value.items():
                    self._check_string(key, (*path, key), key=True)
                    stack.append(((*path, key), item))
            elif isinstance(value, list):
                stack.extend(((*path, i), item) for i, item in enumerate(value))
            else:
                self._check_string(value, path, key=False)

    def _check_string(self, value: Any, path: tuple[str | int, ...], *, key: bool) -> None:
        if not isinstance(value, str):
            return
        bad = FORBIDDEN_TEXT.search(value)
        if bad is not None:
            self.error(
                f"character U+{ord(bad.group()):04X} (a control or direction-override character) "
                f"at position {bad.start() + 1} of {'this key' if key else 'this text'}: tables "
                "and figures cannot show it",
                path,
                code="schema",
                key=key,
            )
        elif len(value) > MAX_TEXT_LENGTH:
            self.error(
                f"a text of {len(value):,} characters; specrun takes at most {MAX_TEXT_LENGTH:,}",
                path,
                code="schema",
                key=key,
            )

    def check_outputs_dir(self) -> None:
        """``outputs.dir`` stays inside the spec's project (the folder holding the spec's
        folder): relative, never above the project, never the project or the spec's folder
        itself (a run replaces its output folder whole). Elsewhere takes ``--out``."""
        outputs = self.sections.get("outputs")
        if outputs is None or not self.check_outputs:
            return
        written = outputs.dir
        spec_folder = Path(os.path.abspath(self.doc.folder))
        project = spec_folder.parent
        target = Path(os.path.normpath(spec_folder / written))
        problem = None
        if not written.strip():
            problem = "is empty"
        elif Path(written).is_absolute() or PureWindowsPath(written).is_absolute():
            problem = "is absolute"
        elif target == spec_folder:
            problem = "is the spec's own folder"
        elif target == project or project not in target.parents:
            problem = f"leaves the project folder '{project.name or project}'"
        else:
            from specrun.folders import check_writable

            try:
                check_writable(target, permissions=False)
            except SpecError as exc:  # a file where the path needs a folder
                self.error(exc.message, ("outputs", "dir"), code="schema")
        if problem:
            self.error(
                f"{written!r} {problem}: a spec writes inside its project (e.g. "
                f"'../out/{Path(self.doc.file).stem}'); 'specrun run --out DIR' writes elsewhere",
                ("outputs", "dir"),
                code="schema",
            )


def _valid_step(step: Any) -> Any | None:
    """A transform step validated on its own, or None when it is invalid (its errors are
    reported with the whole list's)."""
    member = schema.tagged_member("transforms", step)
    if member is None:
        return None
    try:
        return member.model_validate(step)
    except ValidationError:
        return None
