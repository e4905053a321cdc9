"""Name patterns of table options (``keep``, ``drop``, ``order``): the one matcher they share.

The pattern language: a plain pattern is a shell-style glob matched against the whole name
(``x*``, ``yr20??``, ``[ab]_1``; Python ``fnmatch``, case-sensitive); a pattern starting with
``re:`` is a regular expression searched in the name (``re:^x_``, as fixest's ``keep`` and
modelsummary's ``coef_omit`` take them; Python ``re``). A pattern that matches no name of the
table is an error: a typo or a regex written as a glob must not silently change a table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase

from specrun.errors import SpecError, did_you_mean

REGEX_PREFIX = "re:"
PATTERN_LANGUAGE = (
    "patterns are globs matched against the whole name (x*, yr20??); "
    "prefix a regular expression with 're:' (re:^x_)"
)
# characters that mean something in a regular expression and nothing (or else) in a glob
REGEX_HINTS = re.compile(r"[\^$+\\(){}|]|\.\*|\.\+")


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A predicate on names for one pattern. Raises ValueError for a bad regular expression."""
    if pattern.startswith(REGEX_PREFIX):
        expression = re.compile(pattern[len(REGEX_PREFIX) :])
        return lambda name: expression.search(name) is not None
    return lambda name: fnmatchcase(name, pattern)


def matches(name: str, patterns: Sequence[str]) -> bool:
    """Whether ``name`` matches any of ``patterns``."""
    return any(compile_pattern(p)(name) for p in patterns)


def check_patterns(patterns: Sequence[str], names: Iterable[str], *, path: str) -> None:
    """Every pattern must match at least one of ``names``.

    Raises a SpecError at ``path`` (``tables.t.keep``) naming each pattern that matches
    nothing, with a "did you mean" for a near miss, a hint when a glob looks like a regular
    expression, and the pattern language.
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
        if any(predicate(name) for name in candidates):
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
        path=f"{path}[{first_bad}]",
        hint="; ".join(hints),
    )
