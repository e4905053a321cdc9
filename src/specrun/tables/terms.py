"""Rows named by terms: labels composed from the variables' labels.

A coefficient built from terms (``L.Dige``, ``c.Dige#c.STR``, ``East.region``) is labelled from
its parts: "Digital trade (t−1)", "Digital trade × Industrial structure", "Region: East".
Which rows a table's ``keep``/``drop``/``order``/``labels`` select is ``tables.patterns``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from specrun.results import TermPart

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
