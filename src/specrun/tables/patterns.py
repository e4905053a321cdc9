"""Name patterns of table options (``keep``, ``drop``, ``order``, ``labels``): the one matcher.

The pattern language: an exact coefficient name; a model term (``i.region`` selects every level
row of region, ``c.L.Dige#c.STR`` the row Stata names ``cL.Dige#c.STR``); a shell-style glob
matched against the whole name (``x*``, ``yr20??``, ``[ab]_1``; Python ``fnmatch``,
case-sensitive); or, with a ``re:`` prefix, a regular expression searched in the name
(``re:^x_``, as fixest's ``keep`` and modelsummary's ``coef_omit`` take them; Python ``re``). A
pattern that matches no name of the table is an error: a typo or a regex written as a glob must
not silently change a table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, TypeAlias

from specrun.data.terms import Term, terms_of
from specrun.errors import SpecError, did_you_mean

if TYPE_CHECKING:  # validation checks patterns without loading the results module
    from specrun.results import TermPart

Parts: TypeAlias = "Sequence[TermPart] | None"

REGEX_PREFIX = "re:"
PATTERN_LANGUAGE = (
    "patterns are names, terms (i.region), globs matched against the whole name (x*, yr20??), "
    "or regular expressions prefixed with 're:' (re:^x_)"
)
# characters that mean something in a regular expression and nothing (or else) in a glob
REGEX_HINTS = re.compile(r"[\^$+\\(){}|]|\.\*|\.\+")


def check_pattern(pattern: str) -> str:
    """Validate one pattern (pydantic validators call this): a ``re:`` pattern must compile.

    Raises ValueError naming the pattern and the regular-expression error.
    """
    if pattern.startswith(REGEX_PREFIX):
        try:
            re.compile(pattern[len(REGEX_PREFIX) :])
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _term_matches(term: Term, name: str, parts: Parts) -> bool:
    if not term.has_factor and term.continuous_name() == name:
        return True
    if not parts or len(parts) != len(term.components):
        return False
    return all(
        c.variable == p.variable
        and c.shift == p.shift
        and c.diff == p.diff
        and c.factor == (p.level is not None)
        for c, p in zip(term.components, parts, strict=True)
    )


def compile_pattern(pattern: str) -> Callable[[str, Parts], bool]:
    """A predicate on a coefficient name (and the term parts it was built from, when known).

    Raises ``re.error`` for a bad regular expression.
    """
    if pattern.startswith(REGEX_PREFIX):
        expression = re.compile(pattern[len(REGEX_PREFIX) :])
        return lambda name, _parts=None: expression.search(name) is not None
    terms = terms_of(pattern)  # None for a glob (``yr*``), told without the term parser

    def predicate(name: str, parts: Parts = None) -> bool:
        if name == pattern or fnmatchcase(name, pattern):
            return True
        return terms is not None and any(_term_matches(t, name, parts) for t in terms)

    return predicate


def matches(name: str, patterns: Sequence[str], parts: Parts = None) -> bool:
    """Whether ``name`` (built from term ``parts``, if known) matches any of ``patterns``."""
    return any(compile_pattern(p)(name, parts) for p in patterns)


def check_patterns(
    patterns: Sequence[str],
    names: Iterable[str],
    *,
    path: str,
    parts: Mapping[str, Sequence[TermPart]] | None = None,
    keys: bool = False,
) -> None:
    """Every pattern must match at least one of ``names``.

    Raises a SpecError at ``path`` (``tables.t.keep``) naming each pattern that matches
    nothing, with a "did you mean" for a near miss, a hint when a glob looks like a regular
    expression, and the pattern language; located at the first such pattern's item
    (``tables.t.keep[1]``), or at its key when ``keys`` (``tables.t.labels.Dgie``).
    """
    candidates = list(names)
    problems: list[str] = []
    hints: list[str] = []
    first_bad: int | None = None
    for index, pattern in enumerate(patterns):
        try:
            predicate = compile_pattern(pattern)
        except re.error as exc:
            problems.append(f"'{pattern}' is not a valid regular expression ({exc})")
            first_bad = index if first_bad is None else first_bad
            continue
        if any(predicate(name, (parts or {}).get(name)) for name in candidates):
            continue
        first_bad = index if first_bad is None else first_bad
        problems.append(f"'{pattern}' matches no coefficient")
        near = did_you_mean(pattern, candidates)
        if not pattern.startswith(REGEX_PREFIX) and REGEX_HINTS.search(pattern):
            hints.append(f"'{pattern}' looks like a regular expression: write 're:{pattern}'")
        elif near:
            hints.append(f"'{pattern}': {near}")
    if not problems:
        return
    hints.append(PATTERN_LANGUAGE)
    hints.append("the coefficients are: " + ", ".join(candidates))
    raise SpecError(
        "; ".join(problems),
        code="reference",
        path=f"{path}.{patterns[first_bad]}" if keys else f"{path}[{first_bad}]",
        hint="; ".join(hints),
    )
