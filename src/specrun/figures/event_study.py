"""Event-study figure: lead and lag coefficients with confidence intervals against relative time.

The figure every DID paper prints: one point per relative period with its interval, the omitted
reference period drawn at zero and marked, a dashed zero line and a vertical line between the
last lead and the treatment period. A Callaway–Sant'Anna fit with the multiplier bootstrap
draws its simultaneous (sup-t) band at the bootstrap's level, as R did's ``ggdid``. Reads only
an ``event_study`` result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from specrun.errors import SpecError
from specrun.estimators.specs.did import relative_name
from specrun.figures.base import axis_title, figure_title, fitted, interval_text
from specrun.figures.specs.event_study import EventStudyFigureSpec
from specrun.results import ResultSet
from specrun.tables.base import TableContext
from specrun.tables.format import critical_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class EventStudyData:
    """One point per relative period (sorted) with its interval's half-width, the reference
    period (None when every period is estimated), whether the band is simultaneous, and the
    dependent variable's name."""

    periods: np.ndarray  # (periods,) relative periods as floats
    estimates: np.ndarray  # (periods,)
    half_widths: np.ndarray  # (periods,)
    reference: int | None
    simultaneous: bool
    dependent: str


def event_study_data(
    spec: EventStudyFigureSpec, results: ResultSet, ctx: TableContext
) -> EventStudyData:
    """The lead and lag coefficients of an ``event_study`` fit with their intervals at
    ``spec.level``. Raises ``SpecError`` when the model is not a fitted event study."""
    model = results.models.get(spec.model)
    if model is None or model.estimator != "event_study":
        raise SpecError(
            f"model '{spec.model}' is not a fitted event_study model",
            code="reference",
            path=f"figures.{ctx.name}.model",
        )
    periods = [int(k) for k in model.extra["relative_periods"]]
    # None: every period is estimated (Callaway–Sant'Anna with a varying base period)
    reference = model.extra.get("reference")
    bands = model.extra.get("uniform_critical_values")
    simultaneous = bool(bands) and bands["level"] == spec.level
    if simultaneous:  # Callaway–Sant'Anna's multiplier bootstrap: sup-t bands, as R did's ggdid
        crit = float(bands["dynamic"])
    else:  # the model's own reference: normal for z tests (Callaway–Sant'Anna)
        crit = critical_value(model.stats, spec.level, model.stat_name)
    points = sorted(
        [(k, model.coefficients[relative_name(k)]) for k in periods], key=lambda item: item[0]
    )
    ks = np.array([k for k, _ in points], dtype=float)
    est = np.array([c.estimate for _, c in points])
    half = np.array([crit * c.std_error for _, c in points])
    return EventStudyData(ks, est, half, reference, simultaneous, model.dependent)


def draw_event_study(spec: EventStudyFigureSpec, data: EventStudyData, ctx: TableContext) -> Figure:
    """The points with their intervals, the reference period at zero, the treatment line."""
    from matplotlib.figure import Figure

    ks, est, half, reference = data.periods, data.estimates, data.half_widths, data.reference
    simultaneous, dependent = data.simultaneous, data.dependent

    figure = Figure(figsize=(spec.width, spec.height))
    axes = figure.subplots()
    axes.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
    axes.axvline(-0.5, color="grey", linewidth=0.8, linestyle=":")
    zh = ctx.language == "zh"
    estimate = "估计值" if zh else "estimate"
    axes.errorbar(ks, est, yerr=half, fmt="o", color="black", capsize=3, label=estimate)
    ticks = ks.astype(int).tolist()
    if reference is not None:
        # a minus sign, as the axis' tick labels write −1, not a hyphen
        period = f"t{int(reference):+d}".replace("-", "\u2212")
        base = f"基期（{period}）" if zh else f"reference ({period})"
        axes.plot([reference], [0.0], marker="o", markerfacecolor="white", color="black",
                  linestyle="none", label=base)  # fmt: skip
        ticks.append(int(reference))
    axes.set_xticks(sorted(ticks))
    default = "相对处理时点的期数" if zh else "Periods relative to treatment"
    axes.set_xlabel(fitted(spec.xlabel or default, spec.width))
    interval = interval_text(spec.level, ctx.language, band=simultaneous)
    interval = interval if zh else f" {interval}"
    axes.set_ylabel(axis_title(ctx.labels.get(dependent, dependent), interval, spec.height))
    if spec.title:
        axes.set_title(figure_title(spec.title, spec.width))
    if reference is not None:
        # A lone "estimate" entry says nothing; "best" keeps the key off the points.
        axes.legend(frameon=False, loc="best")
    figure.tight_layout()
    return figure
