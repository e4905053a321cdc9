"""Load a spec file: safe YAML into plain Python values, keeping where every key and item stands.

PyYAML composes the node tree (which carries marks); values are then built from the nodes by
hand so that duplicate keys can be refused with both positions, and so that every path
(``("models", "fe", "x", 2)``) maps to the line and column of its key and of its value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from specrun.errors import SpecError, SpecErrors

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    col: int  # 1-based


@dataclass(frozen=True)
class SpecDocument:
    """A loaded spec: its values and the position of every key and value by path."""

    file: str
    data: dict[str, Any]
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    problems: tuple[SpecError, ...] = ()  # YAML-level errors reported with validation's
    warnings: tuple[str, ...] = ()  # suspicious but valid text (a term cut by a comment)

    @property
    def folder(self) -> Path:
        return Path(self.file).parent

    def position(self, path: PathKey, *, key: bool = False) -> Position | None:
        """The position of ``path`` (its key when ``key``), else of its nearest known ancestor."""
        probe = tuple(path)
        while True:
            found = (self.keys if key else self.values).get(probe) or self.values.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe[:-1]

    def error(
        self, message: str, path: PathKey, *, code: str, key: bool = False, hint: str | None = None
    ) -> SpecError:
        pos = self.position(path, key=key)
        return SpecError(
            message,
            code=code,
            path=format_path(path),
            file=self.file,
            line=pos.line if pos else None,
            col=pos.col if pos else None,
            hint=hint,
        )


def format_path(path: PathKey) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_BOOL = "tag:yaml.org,2002:bool"


class SpecLoader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2's booleans: only true/false are booleans, so country codes and
    answers such as NO, no, on, off, yes stay strings (YAML 1.1 would read NO as false)."""


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, file: str, loader: SpecLoader) -> None:
        self.file = file
        self.loader = loader
        self.values: dict[PathKey, Position] = {}
        self.keys: dict[PathKey, Position] = {}
        self.errors: list[SpecError] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.values[path] = _mark(node)
        if isinstance(node, yaml.CollectionNode) and node.tag not in (_MAP, _SEQ):
            self._error(node, path, f"unsupported YAML tag '{node.tag}'")
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self._error(key_node, path, "mapping keys must be plain scalars")
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    first = self.keys[(*path, key)]
                    self._error(
                        key_node,
                        (*path, key),
                        f"duplicate key '{key}' (first defined at line {first.line})",
                    )
                    continue
                self.keys[(*path, key)] = _mark(key_node)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _error(self, node: yaml.Node, path: PathKey, message: str) -> None:
        pos = _mark(node)
        self.errors.append(
            SpecError(
                message,
                code="yaml",
                path=format_path(path),
                file=self.file,
                line=pos.line,
                col=pos.col,
            )
        )


def _tab_errors(text: str, file: str) -> list[SpecError]:
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            errors.append(
                SpecError(
                    "tab character in indentation (YAML indents with spaces)",
                    code="yaml",
                    file=file,
                    line=number,
                    col=indent.index("\t") + 1,
                )
            )
    return errors


_TERM_BEFORE = re.compile(r"(?:^|[\s\[,{:'\"])((?:c|i|ib\w*|[LFD]\d*)\.[\w.]+)\s*$")
_TERM_AFTER = re.compile(r"^#+\s*(?:c|i|ib\w*|[LFD]\d*)\.\w")


def comment_traps(text: str, file: str) -> list[str]:
    """Warnings for ``c.x # c.z`` written unquoted: YAML starts a comment at `` #``, so the
    item silently reads ``c.x``. Found from the source text, since the parser drops comments."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        quote = ""
        for i, char in enumerate(line):
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#" and (i == 0 or line[i - 1] in " \t"):
                before = _TERM_BEFORE.search(line[:i])
                if before and _TERM_AFTER.match(line[i:]):
                    rest = line[i:].split("]")[0].split(",")[0].strip()
                    found.append(
                        f"{file}:{number}:{i + 1}: ' #' starts a YAML comment, so "
                        f"'{before.group(1)} {rest}' reads as '{before.group(1)}': write the "
                        "interaction without spaces (c.x#c.z) or quote it"
                    )
                break
    return found


def load_text(text: str, file: str = "<string>") -> SpecDocument:
    """Parse spec text; fatal YAML problems raise ``SpecErrors``, duplicate keys are kept in
    ``problems`` (the first value wins) so that validation can report them with its own errors."""
    tabs = _tab_errors(text, file)
    if tabs:
        raise SpecErrors(tabs)
    loader = SpecLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecErrors(
                [SpecError("the spec is empty", code="yaml", file=file, line=1, col=1)]
            )
        builder = _Builder(file, loader)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecErrors(
            [
                SpecError(
                    f"invalid YAML: {problem}",
                    code="yaml",
                    file=file,
                    line=mark.line + 1 if mark else None,
                    col=mark.column + 1 if mark else None,
                )
            ]
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise SpecErrors(
            [
                SpecError(
                    "the top level of a spec must be a mapping of sections (data:, models:, …)",
                    code="yaml",
                    file=file,
                    line=node.start_mark.line + 1,
                    col=node.start_mark.column + 1,
                )
            ]
        )
    return SpecDocument(
        file=file,
        data=data,
        values=builder.values,
        keys=builder.keys,
        problems=tuple(builder.errors),
        warnings=tuple(comment_traps(text, file)),
    )


def load_file(path: str | Path) -> SpecDocument:
    """Read and parse a spec file; a missing or unreadable file is a usage error."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecErrors([SpecError(f"spec file '{p}' not found", code="usage")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecErrors([SpecError(f"cannot read spec file '{p}': {exc}", code="usage")]) from None
    return load_text(text, str(p))
