"""Load a spec file: safe YAML into plain Python values, keeping where every key and item stands.

PyYAML composes the node tree (which carries marks); values are then built from the nodes by
hand so that duplicate keys can be refused with both positions, and so that every path
(``("models", "fe", "x", 2)``) maps to the line and column of its key and of its value.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from specrun.errors import SpecError, SpecErrors
from specrun.record import note_read_bytes

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """Where a key or value starts in the spec file."""

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
    text: str = ""  # the decoded source, for messages that quote it
    raw: bytes = field(default=b"", repr=False, compare=False)  # the file's bytes as read

    @functools.cached_property
    def digest(self) -> str:
        """XXH3-128 of the file's bytes as read (the manifest's spec hash; "" for a spec given
        as text), hashed when first asked for: ``validate`` never asks."""
        from specrun.record import digest_bytes

        return digest_bytes(self.raw) if self.raw else ""

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
_BOOL, _STR = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"

# Limits that keep a hostile or mistaken file from exhausting memory or time: a real spec is a
# few hundred lines, nests a handful of levels and uses an alias or two.
MAX_SPEC_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_GROWTH = 4  # built values may exceed the file's own nodes by this factor (aliases)
MAX_SCALAR_CHARS = 100_000

# What YAML cannot hold (PyYAML's Reader rejects these): C0/C1 controls but tab, LF, CR, NEL
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)

_BASE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: linear and fast


class SpecLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """Safe YAML with YAML 1.2's booleans and numbers: only true/false are booleans, so country
    codes and answers such as NO, no, on, off, yes stay strings (YAML 1.1 would read NO as
    false); 1e-3 is a number and 010 is ten (YAML 1.1: the text '1e-3', and octal 8).

    Built on libyaml's parser when PyYAML has it (it keeps line/column marks and reads a
    megabyte-sized file in well under a second; the pure-Python parser takes half a minute)."""


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# Numbers as YAML 1.2 reads them (its core schema). YAML 1.1 read 1e-3 and 1e6 as text (its
# floats need a point), 010 as octal 8 (exclude: {code: [010]} left out code 8), and 1:20 as
# the sexagesimal 80; none of these is what a researcher means.
_INT_12 = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_12 = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
SpecLoader.add_implicit_resolver(_INT, _INT_12, list("-+0123456789"))
SpecLoader.add_implicit_resolver(_FLOAT, _FLOAT_12, list("-+0123456789."))


def _int_12(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # 010 is ten, as YAML 1.2 (and every researcher) reads it


def _float_12(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith("inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float("nan") if text == ".nan" else float(text)


SpecLoader.add_constructor(_INT, _int_12)
SpecLoader.add_constructor(_FLOAT, _float_12)


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _fatal(
    message: str, file: str, line: int | None, col: int | None, hint: str | None = None
) -> SpecErrors:
    return SpecErrors([SpecError(message, code="yaml", file=file, line=line, col=col, hint=hint)])


class _Builder:
    """Plain values from the composed node tree, iteratively (no recursion limit to hit), with
    aliases expanded under a budget and a recursive alias refused."""

    def __init__(self, file: str, loader: SpecLoader, budget: int, text: str = "") -> None:
        self.file = file
        self.loader = loader
        self.text = text  # the spec's text, to quote a value as written
        self.values: dict[PathKey, Position] = {}
        self.keys: dict[PathKey, Position] = {}
        self.errors: list[SpecError] = []
        self.budget = budget

    def build(self, root: yaml.Node) -> Any:
        out: dict[str, Any] = {}
        # each task: (node, path, parent container, key in it)
        stack: list[tuple[yaml.Node, PathKey, Any, Any]] = [(root, (), out, "root")]
        built = 0
        while stack:
            node, path, parent, slot = stack.pop()
            built += 1
            if built > self.budget:
                raise _fatal(
                    f"aliases expand this spec beyond {self.budget:,} values, far more than it "
                    "writes (refused, as an alias bomb would be)",
                    self.file,
                    *_at(node),
                )
            if len(path) > MAX_DEPTH:
                raise _fatal(f"nesting deeper than {MAX_DEPTH} levels", self.file, *_at(node))
            self.values[path] = _mark(node)
            value = self._value(node, path, stack)
            if isinstance(parent, list):
                parent.append(value)
            else:
                parent[slot] = value
        return out["root"]

    def _value(self, node: yaml.Node, path: PathKey, stack: list) -> Any:
        if isinstance(node, yaml.CollectionNode) and node.tag not in (_MAP, _SEQ):
            self._error(node, path, f"unsupported YAML tag '{node.tag}'")
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            pending = []
            pairs = self._merged(node, path)
            at = 0
            while at < len(pairs):
                key_node, value_node = pairs[at]
                at += 1
                if node.flow_style and _cut_at_comma(value_node, pairs[at : at + 1]):
                    pieces = _cut_pieces(value_node, pairs[at:])
                    at += len(pieces)
                    whole = _source(self.text, value_node, pieces[-1][0])
                    key = key_node.value
                    self._error(
                        value_node,
                        (*path, key),
                        f"this expression was cut at its first comma: inside {{…}} a comma "
                        f"ends a YAML value, so '{key}' reads '{value_node.value}'",
                        hint=f'quote it: {key}: "{whole}"',
                    )
                    # read on as meant, so that what uses the value reports nothing more
                    value_node = yaml.ScalarNode(
                        _STR, whole, value_node.start_mark, pieces[-1][0].end_mark
                    )
                if not isinstance(key_node, yaml.ScalarNode):
                    self._error(key_node, path, "mapping keys must be plain scalars")
                    continue
                key = self._scalar(key_node, path)
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
                        hint=_second_section_hint(key, value_node, first.line)
                        if not path
                        else None,
                    )
                    continue
                self.keys[(*path, key)] = _mark(key_node)
                out[key] = None  # keeps the written order; filled when its task runs
                pending.append((value_node, (*path, key), out, key))
            stack.extend(reversed(pending))
            return out
        if isinstance(node, yaml.SequenceNode):
            items: list[Any] = []
            stack.extend(
                (item, (*path, i), items, i) for i, item in reversed(list(enumerate(node.value)))
            )
            return items
        return self._scalar(node, path)

    def _merged(self, node: yaml.MappingNode, path: PathKey) -> list[tuple[yaml.Node, yaml.Node]]:
        """The key/value pairs of a mapping with YAML merge keys (``<<: *base`` or
        ``<<: [*a, *b]``) expanded, as YAML 1.1 defines them: the keys written here win over
        merged ones, and an earlier merged mapping wins over a later one. A merged key is not
        a duplicate of the key that overrides it."""
        written = [(k, v) for k, v in node.value if k.tag != _MERGE]
        merges = [v for k, v in node.value if k.tag == _MERGE]
        if not merges:
            return written
        seen = {k.value for k, _ in written if isinstance(k, yaml.ScalarNode)}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for value in merges:
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode) or source.tag != _MAP:
                    self._error(
                        source,
                        path,
                        "a merge key (<<) takes a mapping or a list of mappings, such as "
                        "*anchor or [*a, *b]",
                    )
                    continue
                for key_node, value_node in self._merged(source, path):
                    name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                    if name is None or name not in seen:
                        seen.add(name)
                        merged.append((key_node, value_node))
        return merged + written

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        if node.tag == _STR and len(node.value) <= MAX_SCALAR_CHARS:
            return node.value  # most scalars: no constructor machinery needed
        if len(node.value) > MAX_SCALAR_CHARS:
            self._error(node, path, f"a value longer than {MAX_SCALAR_CHARS:,} characters")
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, OverflowError) as exc:
            # e.g. an integer of thousands of digits (Python's int limit), a date out of range
            self._error(node, path, f"cannot read {node.value[:40]!r}: {exc}")
            return None

    def _error(self, node: yaml.Node, path: PathKey, message: str, hint: str | None = None) -> None:
        pos = _mark(node)
        self.errors.append(
            SpecError(
                message,
                code="yaml",
                path=format_path(path),
                file=self.file,
                line=pos.line,
                col=pos.col,
                hint=hint,
            )
        )


def _cut_at_comma(value: yaml.Node, rest: list[tuple[yaml.Node, yaml.Node]]) -> bool:
    """Whether a value of a ``{…}`` mapping is an expression YAML cut at a comma: a plain
    scalar with a parenthesis left open, followed by a key without a value
    (``{half: if_else(firm <= 5, 1, 2)}`` reads ``half: 'if_else(firm <= 5'``, ``'1': null``,
    ``'2)': null``)."""
    return (
        isinstance(value, yaml.ScalarNode)
        and not value.style  # plain: None from PyYAML's parser, "" from libyaml's
        and value.value.count("(") > value.value.count(")")
        and bool(rest)
        and _valueless(rest[0])
    )


def _valueless(pair: tuple[yaml.Node, yaml.Node]) -> bool:
    key, value = pair
    return (
        isinstance(key, yaml.ScalarNode)
        and not key.style
        and isinstance(value, yaml.ScalarNode)
        and value.value == ""
        and value.start_mark.index == key.end_mark.index
    )


def _cut_pieces(
    value: yaml.Node, rest: list[tuple[yaml.Node, yaml.Node]]
) -> list[tuple[yaml.Node, yaml.Node]]:
    """The valueless keys that are the rest of a cut expression, up to the one that closes its
    parentheses (or the last valueless one)."""
    depth = value.value.count("(") - value.value.count(")")
    pieces = []
    for pair in rest:
        if depth <= 0 or not _valueless(pair):
            break
        pieces.append(pair)
        depth += pair[0].value.count("(") - pair[0].value.count(")")
    return pieces


def _source(text: str, first: yaml.Node, last: yaml.Node) -> str:
    """The spec's own text from the start of ``first`` to the end of ``last`` (marks count
    characters, with libyaml's parser as with PyYAML's)."""
    return text[first.start_mark.index : last.end_mark.index] or first.value


def _second_section_hint(key: str, value: yaml.Node, first_line: int) -> str | None:
    """What to do with a second top-level section (``models:`` written again lower down, as
    when a tutorial step's block is pasted below the spec): its entries belong in the first."""
    if isinstance(value, yaml.MappingNode):
        return (
            f"a spec has one '{key}:' section: move these entries under the '{key}:' of line "
            f"{first_line}"
        )
    if isinstance(value, yaml.SequenceNode):
        return (
            f"a spec has one '{key}:' list: move these items into the '{key}:' of line {first_line}"
        )
    return None


def _at(node: yaml.Node) -> tuple[int, int]:
    pos = _mark(node)
    return pos.line, pos.col


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
        if "#" not in line:  # most lines: nothing to scan character by character
            continue
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


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _check_characters(text: str, file: str) -> None:
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        raise _fatal(
            f"character U+{ord(bad.group()):04X} is not allowed in a spec (a control character; "
            "YAML accepts tab, line feed and carriage return only)",
            file,
            *_line_col(text, bad.start()),
        )


def _node_count(loader: SpecLoader, file: str) -> int:
    """Nodes in the document, counted from the event stream without composing it; nesting
    deeper than MAX_DEPTH and an alias to a collection still open (a value that contains
    itself) are refused here, before any recursive step could overflow."""
    count = 0
    open_anchors: list[str | None] = []
    while loader.check_event():
        event = loader.get_event()
        if isinstance(event, yaml.NodeEvent):
            count += 1
        if isinstance(event, yaml.CollectionStartEvent):
            open_anchors.append(event.anchor)
            if len(open_anchors) > MAX_DEPTH:
                mark = event.start_mark
                raise _fatal(
                    f"nesting deeper than {MAX_DEPTH} levels", file, mark.line + 1, mark.column + 1
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            open_anchors.pop()
        elif isinstance(event, yaml.AliasEvent) and event.anchor in open_anchors:
            mark = event.start_mark
            raise _fatal(
                f"a recursive alias: '*{event.anchor}' is inside the value it names",
                file,
                mark.line + 1,
                mark.column + 1,
            )
    return count


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> SpecErrors:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        hint = None
        if mark and text[mark.index : mark.index + 1] == "`":
            # YAML reserves ` at the start of a plain value: an expression naming a column in
            # backticks first (`光缆长度(公里)` / 1000) must be quoted as a whole
            hint = 'a value that starts with ` must be quoted: "`name` / 1000"'
        elif mark and "expected ',' or '}'" in problem:
            hint = _flow_value_hint(text, mark.index)
        return _fatal(
            f"invalid YAML: {problem}",
            file,
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
            hint,
        )
    return _fatal(f"invalid YAML: {exc}", file, 1, 1)


def _flow_value_hint(text: str, index: int) -> str:
    """What to write when a ``{…}`` mapping breaks on a value holding brackets or braces
    (``{where: province in ['A', 'B']}``): the value, from its key to the end of the line's
    mapping, in quotes."""
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start : end if end >= 0 else len(text)]
    found = None
    for match in re.finditer(r"([^\s{},]+):\s+", line[: index - start]):
        found = match  # the last key before the break: the value it opens broke the mapping
    why = "inside {…}, brackets, braces and commas in a value need quotes"
    generic = f"{why}: {{where: \"province in ['A', 'B']\"}}"
    if found is None:
        return generic
    rest, depth, quote, stop = line[found.end() :], 0, "", None
    for i, char in enumerate(rest):  # the value ends at a , or } outside brackets and quotes
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char in ",}" and depth <= 0:
            stop = i
            break
    value = rest[:stop].strip()
    if '"' in value or not value:
        return generic
    return f'quote it: {found.group(1)}: "{value}" ({why})'


def load_text(text: str, file: str = "<string>") -> SpecDocument:
    """Parse spec text; fatal YAML problems raise ``SpecErrors``, duplicate keys are kept in
    ``problems`` (the first value wins) so that validation can report them with its own errors.

    Refused with a located error: control characters, nesting deeper than ``MAX_DEPTH``, a
    recursive alias, aliases that expand the document more than ``MAX_ALIAS_GROWTH`` times.
    """
    text = text.removeprefix("\ufeff")
    _check_characters(text, file)
    tabs = _tab_errors(text, file)
    if tabs:
        raise SpecErrors(tabs)
    try:
        counter = SpecLoader(text)
        try:
            nodes = _node_count(counter, file)
        finally:
            counter.dispose()
        loader = SpecLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise _fatal("the spec is empty", file, 1, 1)
            builder = _Builder(file, loader, budget=MAX_ALIAS_GROWTH * nodes + 10_000, text=text)
            data = builder.build(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    if not isinstance(data, dict):
        raise _fatal(
            "the top level of a spec must be a mapping of sections (data:, models:, …)",
            file,
            *_at(node),
        )
    return SpecDocument(
        file=file,
        data=data,
        values=builder.values,
        keys=builder.keys,
        problems=tuple(builder.errors),
        warnings=tuple(comment_traps(text, file)),
        text=text,
    )


def decode_spec(raw: bytes, file: str) -> str:
    """Spec bytes as text: UTF-8 (a leading BOM is dropped); anything else is a located error
    naming the encoding it looks like, so the user knows what to re-save it from."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fatal(
            "the spec is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8",
            file,
            1,
            1,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = raw[: exc.start].decode("utf-8")
        line, col = _line_col(good + "\x00", len(good))
        guess = _guess_encoding(raw)
        hint = f"it looks like {guess}; save it as UTF-8" if guess else "save it as UTF-8"
        raise SpecErrors(
            [
                SpecError(
                    f"the spec is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    code="yaml",
                    file=file,
                    line=line,
                    col=col,
                    hint=hint,
                )
            ]
        ) from None


def _guess_encoding(raw: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:65536]).best()
    return best.encoding if best is not None else None


def load_file(path: str | Path) -> SpecDocument:
    """Read and parse a spec file; a missing or unreadable file is a usage error, an oversized
    or undecodable one a located error."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise _fatal(
                f"the spec is {size:,} bytes; specrun reads specs up to {MAX_SPEC_BYTES:,}",
                str(p),
                1,
                1,
            )
        raw = p.read_bytes()
        note_read_bytes(p, raw)  # the run's record lists the spec among its inputs
    except FileNotFoundError:
        raise SpecErrors([SpecError(f"spec file '{p}' not found", code="usage")]) from None
    except IsADirectoryError:
        raise SpecErrors([SpecError(f"'{p}' is a folder, not a spec file", code="usage")]) from None
    except OSError as exc:
        raise SpecErrors([SpecError(f"cannot read spec file '{p}': {exc}", code="usage")]) from None
    # the digest of the bytes run, not of the file when the outputs are written: an editor
    # may save the spec (or move it) while a long run goes on
    return replace(load_text(decode_spec(raw, str(p)), str(p)), raw=raw)
