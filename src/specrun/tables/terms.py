"""Rows named by terms: labels composed from the variables' labels, and row patterns.

A coefficient built from terms (``L.Dige``, ``c.Dige#c.STR``, ``East.region``) is labelled from
its parts: "Digital trade (t−1)", "Digital trade × Industrial structure", "Region: East".
Table ``keep``/``drop``/``order``/``labels`` entries are exact names, terms (``i.region``
selects every level row of region; ``c.L.Dige#c.STR`` its Stata name ``cL.Dige#c.STR``), glob
patterns (``yr*``) or, with a ``re:`` prefix, Python regular expressions searched in the name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from specrun.data.terms import Term, parse_item
from specrun.errors import SpecError
from specrun.results import TermPart

REGEX_PREFIX = "re:"
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def part_label(part: TermPart, labels: Mapping[str, str]) -> str:
    """One component's label: "Digital trade (t−1)", "ΔDigital trade", "Region: East"."""
    text = labels.get(part.variable, part.variable)
    if part.diff:
        text = "Δ" + (str(part.diff).translate(_SUPERSCRIPT) if part.diff > 1 else "") + text
    if part.shift:
        text += f" (t−{part.shift})" if part.shift > 0 else f" (t+{-part.shift})"
    if part.level is not None:
        text += f": {part.level}"
    return text


def term_label(parts: Sequence[TermPart], labels: Mapping[str, str]) -> str:
    """A built column's label: its parts' labels joined by " × "."""
    return " × ".join(part_label(p, labels) for p in parts)


def check_pattern(pattern: str) -> str:
    """Validate a row pattern (pydantic validators call this): a ``re:`` pattern must compile."""
    if pattern.startswith(REGEX_PREFIX):
        try:
            re.compile(pattern[len(REGEX_PREFIX) :])
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _pattern_terms(pattern: str) -> tuple[Term, ...] | None:
    try:
        return parse_item(pattern)
    except SpecError:
        return None


def _term_matches(term: Term, name: str, parts: Sequence[TermPart] | None) -> bool:
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


def matches(name: str, pattern: str, parts: Sequence[TermPart] | None = None) -> bool:
    """Whether a coefficient row ``name`` (built from ``parts``, if known) matches ``pattern``."""
    if pattern == name:
        return True
    if pattern.startswith(REGEX_PREFIX):
        return re.search(pattern[len(REGEX_PREFIX) :], name) is not None
    terms = _pattern_terms(pattern)
    if terms is not None:
        return any(_term_matches(t, name, parts) for t in terms)
    return fnmatchcase(name, pattern)
