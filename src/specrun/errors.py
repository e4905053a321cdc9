"""User-facing errors: each names where in the spec (file:line:col, path) it comes from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# Every code a SpecError carries, with what it means; the documentation's error page and its
# examples are generated from this table, and a test checks every code raised is listed here.
ERROR_CODES: dict[str, str] = {
    "yaml": "The file is not valid YAML: syntax, a tab in the indentation, a duplicate key.",
    "schema": "A key or value the spec language does not take: an unknown key, a wrong type, a "
    "value out of range, a missing required key, an option that needs another.",
    "reference": "A name the spec uses is not defined: a variable (column), group, sample, "
    "model, table, source or statistic.",
    "expression": "A where: or derive: expression does not parse or uses what the expression "
    "language lacks.",
    "term": "An item of a variable list is not a valid model term (L.x, i.region, c.x#c.z).",
    "data": "A data file or column: missing or unreadable file, wrong encoding, a cell that "
    "breaks its column's type, missing panel keys, an output folder that would hold the data.",
    "estimation": "Numerical trouble while fitting: collinear or absorbed regressors, too few "
    "clusters or rows, an unbalanced panel where the method needs a balanced one.",
    "usage": "A command-line problem: --only names nothing in the spec, --out is unusable.",
    "scheduler": "--scheduler names a Dask scheduler that cannot be reached or parsed.",
    "worker": "A --jobs worker process ended while fitting (killed, most often for lack of "
    "memory): the message names how it ended and the first model it was fitting.",
    "hint": "Advice on a valid but likely unintended setting (printed as a warning).",
    "spec": "Any other problem of the spec (the default code).",
}


class SpecError(Exception):
    """A user error with a stable code and the place it comes from.

    ``code`` is a key of ``ERROR_CODES``: ``yaml`` (syntax, duplicate keys, tabs), ``schema``
    (wrong key or type), ``reference`` (an unknown name), ``expression`` (a ``where``/``derive``
    expression), ``term`` (a model term), ``data`` (a file or column problem), ``estimation``
    (numerical trouble in a model), ``usage``, ``scheduler`` (an unreachable Dask scheduler),
    ``hint``, ``spec``.
    ``path`` is the dotted spec path (``models.fe.x[2]``) or a model name.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "spec",
        path: str = "",
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.path = path
        self.file = file
        self.line = line
        self.col = col
        self.hint = hint

    def __reduce__(self) -> tuple[Any, ...]:
        # an error raised in a worker process crosses back with every field (pickle would
        # otherwise call ``SpecError(message)`` and lose the position)
        return (_rebuild_error, (self.message, dict(vars(self))))

    def where(self) -> str:
        parts = [p for p in (self.file,) if p]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        head = self.where()
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return f"{head}: {text}" if head else text

    def located(
        self, *, file: str | None, line: int | None, col: int | None, path: str | None = None
    ) -> SpecError:
        """The same error placed at a position (kept if it already has one)."""
        if self.line is not None:
            return self
        return SpecError(
            self.message,
            code=self.code,
            path=self.path if path is None else path,
            file=file,
            line=line,
            col=col,
            hint=self.hint,
        )


class SpecErrors(Exception):
    """Every error found in a spec, reported together in source order."""

    def __init__(self, errors: Iterable[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0, e.col or 0))
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def __reduce__(self) -> tuple[Any, ...]:
        return (SpecErrors, (self.errors,))


# a model named in a message: the name ends at the quote that ends the word (a variant or
# multiverse name the spec wrote with a quote in it, ``'m.a'b'``, is reported as not a name,
# and must not split the name there)
_MODEL_NAME = re.compile(r"model '(.+?)'(?=$|[\s,;:.()\]])")
_NAMED = 4  # models named in a collapsed error before "and N more"


def collapse_inherited(errors: Sequence[SpecError]) -> list[SpecError]:
    """``errors`` with those that say the same thing at the same place of the spec about
    different models as one error: a value written once and read by several models (a base
    and the models that ``extends:`` it, its variants, a multiverse's specifications) is one
    mistake, e.g. ``'educ' is listed twice in endog of model 'tsls' (also models
    'tsls_robust', 'liml' and 'gmm', which read this line)``. A multiverse's specifications
    are counted, not listed (``also the 2000 specifications of multiverse 'mv'``), so that
    the line stays short however large the multiverse. Errors naming no model, or more than
    one, are kept as they are; the order is that of each group's first error."""
    groups: dict[tuple[object, ...], list[tuple[SpecError, str]]] = {}
    order: list[SpecError | tuple[object, ...]] = []
    for error in errors:
        found = list(_MODEL_NAME.finditer(error.message))
        if len(found) != 1 or error.line is None:
            order.append(error)
            continue
        name = found[0].group(1)
        before, after = error.message[: found[0].start()], error.message[found[0].end() :]
        hint = error.hint.replace(f"'{name}'", "'…'") if error.hint else error.hint
        key = (error.file, error.line, error.col, error.path, error.code, before, after, hint)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((error, name))
    out: list[SpecError] = []
    for entry in order:
        if isinstance(entry, SpecError):
            out.append(entry)
            continue
        members = groups[entry]
        first, name = members[0]
        others = list(dict.fromkeys(n for _, n in members[1:] if n != name))
        if not others:
            out.append(first)
            continue
        found = _MODEL_NAME.search(first.message)
        start, end = (found.start(), found.end()) if found else (0, 0)
        message = first.message[:start] + _also(name, others) + first.message[end:]
        hint = first.hint
        if hint:
            # a hint addressed to the first model is for every model of the line
            hint = hint.replace(f"model '{name}'", "each of these models")
        out.append(
            SpecError(
                message,
                code=first.code,
                path=first.path,
                file=first.file,
                line=first.line,
                col=first.col,
                hint=hint,
            )
        )
    return out


def _also(name: str, others: list[str]) -> str:
    """``model 'name'`` followed by the other models that read its line: models by name (the
    first ``_NAMED``, then a count), a multiverse's specifications (``mv[a=1,b=2]``: a model
    name has no brackets) by their count."""
    plain = [n for n in others if "[" not in n]
    multiverses: dict[str, int] = {}
    for other in others:
        if "[" in other:
            multiverse = other.partition("[")[0]
            multiverses[multiverse] = multiverses.get(multiverse, 0) + 1
    items = [f"'{n}'" for n in plain[:_NAMED]]
    if len(plain) > _NAMED:
        items.append(f"{len(plain) - _NAMED} more")
    own = name.partition("[")[0] if "[" in name else None
    for multiverse, count in multiverses.items():
        other = " other" if multiverse == own else ""
        if count == 1:
            spec = next(n for n in others if n.partition("[")[0] == multiverse and "[" in n)
            items.append(f"specification '{spec}'")
        else:
            items.append(f"the {count}{other} specifications of multiverse '{multiverse}'")
    listed = items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
    if plain:
        listed = ("models " if len(plain) > 1 else "model ") + listed
    if len(others) > 1:
        return f"model '{name}' (also {listed}, which read this line)"
    return f"model '{name}' (also {listed}, which reads this line)"


def _rebuild_error(message: str, fields: dict[str, Any]) -> SpecError:
    error = SpecError(message)
    error.__dict__.update(fields)
    return error


def did_you_mean(name: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest valid choice, if one is close enough."""
    import difflib
    import unicodedata

    options = list(choices)
    folded = unicodedata.normalize("NFKC", name).strip()
    if folded != name and folded in options:
        # headers are read with full-width characters folded (data.io.clean_header): a name
        # copied from the file as it looks (ＧＤＰ, 光缆长度（公里）) is the folded one
        return f"did you mean '{folded}'? headers are read with full-width characters folded"
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    if not close and any("\u4e00" <= ch <= "\u9fff" for ch in name):
        # a Chinese name is short and each character carries a word: a homophone typed for
        # one character (省分 for 省份) leaves a ratio of 0.5 in a two-character name
        close = sorted(
            c
            for c in options
            if len(c) == len(name) and sum(a != b for a, b in zip(c, name, strict=True)) == 1
        )[:1]
    return f"did you mean '{close[0]}'?" if close else None
