"""Number formatting shared by every table kind: fixed decimals, integers, stars, star notes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from specrun.tables import text

if TYPE_CHECKING:
    from specrun.results import ModelResult


def percent(share: float) -> str:
    """A share as a percent with the digits it has: ``0.95`` is ``95%``, ``0.975`` is
    ``97.5%``, ``0.999`` is ``99.9%`` (rounded to a whole percent, a 99.9% interval read
    "100%"), ``0.05`` is ``5%``."""
    return f"{round(share * 100, 6):g}%"  # round: 0.9 * 100 is 90.00000000000001


def number(value: float | None, digits: int) -> str:
    """Fixed decimals with a true minus sign; missing values print empty."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "−")


def scientific(value: float | None, digits: int) -> str:
    """Scientific notation with ``digits`` decimals in the mantissa: ``−7.012e−05``."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}e}".replace("-", "−").replace("e+", "e")


def rounds_to_zero(value: float | None, digits: int) -> bool:
    """A non-zero value that prints as 0.000 (or −0.000) at ``digits`` decimals."""
    if value is None or not math.isfinite(value) or value == 0:
        return False
    return float(f"{abs(value):.{digits}f}") == 0


def decimals_shown(value: float) -> int:
    """The fewest decimals at which a small non-zero ``value`` shows a non-zero digit
    (0.0004 → 4)."""
    return max(0, math.ceil(-math.log10(abs(value)) - 1e-12)) if value else 0


def factor(value: float) -> str:
    """A scale factor as printed in labels and notes: ``1,000``, ``0.01``."""
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def rescaling(value: float) -> float:
    """The power of ten that brings a small ``value`` to between 1 and 10 in magnitude."""
    return float(10 ** math.ceil(-math.log10(abs(value)))) if value else 1.0


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


def critical_value(stats: Mapping[str, float], level: float, stat_name: str = "t") -> float:
    """The two-sided critical value of a ``level`` interval in the model's own reference
    distribution, the one its p-values use: normal for a model reporting z statistics
    (``stat_name="z"``: ivreg2 and xtabond2 without ``small``, random effects,
    Callaway-Sant'Anna), else t with G − 1 (clustered) or the residual degrees of freedom, as
    Stata's coefplot reads e(df_r); normal when neither is known. A coefficient with a reference
    of its own (a mediation's paths) is read by ``coefficient_critical_value``."""
    if stat_name != "z":
        if "n_clusters" in stats:
            return _quantile(level, stats["n_clusters"] - 1)
        if "df_resid" in stats:
            return _quantile(level, stats["df_resid"])
    return _quantile(level, None)


def coefficient_critical_value(model: ModelResult, term: str, level: float) -> float:
    """The two-sided critical value of a ``level`` interval for coefficient ``term`` of
    ``model``: in the coefficient's own reference distribution where the model names one
    (``ModelResult.references``: a mediation's a, b, c, c′ take t with their regression's
    degrees of freedom, its a·b the normal), else in the model's (``critical_value``)."""
    reference = model.references.get(term)
    if reference is None:
        return critical_value(model.stats, level, model.stat_name)
    return _quantile(level, reference.df)


def _quantile(level: float, df: float | None) -> float:
    """The (1 + level)/2 quantile of t with ``df`` degrees of freedom, or of the normal."""
    # numpy and scipy.special are for drawing and tabulating results: a spec validates without
    from specrun.kernels.distributions import normal_quantile, t_quantile

    if df is None:
        return float(normal_quantile(0.5 + level / 2))
    return float(t_quantile(0.5 + level / 2, df))
