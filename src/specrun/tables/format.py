"""Number formatting shared by every table kind: fixed decimals, integers, stars, star notes."""

from __future__ import annotations

import math
from collections.abc import Sequence


def number(value: float | None, digits: int) -> str:
    """Fixed decimals with a true minus sign; missing values print empty."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "−")


def integer(value: float | None) -> str:
    """Rounded, with thousands separators (1,000); missing values print empty."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{round(value):,}"


def stars(p_value: float | None, levels: Sequence[float]) -> str:
    """One star per level the p-value is below (levels sorted loosest first: 0.1, 0.05, 0.01)."""
    if p_value is None or not math.isfinite(p_value):
        return ""
    return "*" * sum(p_value < level for level in levels)


def star_note(levels: Sequence[float]) -> str:
    ordered = sorted(levels)
    parts = [f"{'*' * (len(ordered) - i)} p < {level:g}" for i, level in enumerate(ordered)]
    return ", ".join(parts) + "."
