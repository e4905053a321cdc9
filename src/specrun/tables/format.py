"""Number formatting shared by every table kind: fixed decimals, integers, stars, star notes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from scipy import stats as sps

from specrun.tables import text


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
    """The English star legend (``*** p < 0.01, ** p < 0.05, * p < 0.1.``)."""
    return text.star_note(levels, "en")


def critical_value(stats: Mapping[str, float], level: float) -> float:
    """The model's own reference distribution: t with G − 1 (clustered) or the residual
    degrees of freedom, as Stata's coefplot reads e(df_r); normal when neither is known."""
    if "n_clusters" in stats:
        return float(sps.t.ppf(0.5 + level / 2, stats["n_clusters"] - 1))
    if "df_resid" in stats:
        return float(sps.t.ppf(0.5 + level / 2, stats["df_resid"]))
    return float(sps.norm.ppf(0.5 + level / 2))
