"""Rows named by terms: labels composed from the variables' labels.

A coefficient built from terms (``L.Dige``, ``c.Dige#c.STR``, ``East.region``) is labelled from
its parts: "Digital trade (t−1)", "Digital trade × Industrial structure", "Region: East"; a level
with a value label in the data (a Stata file's ``label values``) prints its label, as esttab's
``label`` option does: ``2.regcode`` is "Region: West". A
Chinese label takes full-width punctuation, as Chinese typesetting (GB/T 15834) sets it around
Chinese text: "数字贸易（t−1）", "地区：东部".
Which rows a table's ``keep``/``drop``/``order``/``labels`` select is ``tables.patterns``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from specrun.results import TermPart
from specrun.tables.text import has_cjk

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def part_label(
    part: TermPart,
    labels: Mapping[str, str],
    levels: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """One component's label: "Digital trade (t−1)", "ΔDigital trade", "Region: East"; with
    full-width brackets and colon after a Chinese label: "数字贸易（t−1）", "地区：东部".
    ``levels`` maps a factor variable to its levels' value labels (``{"2": "West"}``); a level
    without one prints as it is (its code)."""
    text = labels.get(part.variable, part.variable)
    chinese = has_cjk(text)
    if part.diff:
        text = "Δ" + (str(part.diff).translate(_SUPERSCRIPT) if part.diff > 1 else "") + text
    if part.shift:
        when = f"t−{part.shift}" if part.shift > 0 else f"t+{-part.shift}"
        text += f"（{when}）" if chinese else f" ({when})"
    if part.level is not None:
        level = (levels or {}).get(part.variable, {}).get(part.level, part.level)
        text += f"：{level}" if chinese else f": {level}"
    return text


def term_label(
    parts: Sequence[TermPart],
    labels: Mapping[str, str],
    levels: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """A built column's label: its parts' labels (``part_label``) joined by " × "."""
    return " × ".join(part_label(p, labels, levels) for p in parts)
