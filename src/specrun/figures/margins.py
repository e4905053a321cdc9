"""Marginal-effect plots (Stata's ``marginsplot`` after ``margins, dydx(x) at(z = (…))``): the
effect of x over the moderator's observed range with its confidence band, the zero line, and
the Johnson–Neyman region shaded. Numbers from ``specrun.kernels.margins``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from specrun.errors import SpecError
from specrun.figures.base import axis_title, figure_title, fitted, interval_text
from specrun.figures.specs.margins import MarginsFigureSpec
from specrun.results import ResultSet, TermPart
from specrun.tables import format as fmt
from specrun.tables.base import TableContext
from specrun.tables.margins import (
    column_name,
    compute,
    continuous_key,
    fitted_model,
    resolve_value,
)
from specrun.tables.terms import part_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class MarginsData:
    """The effect over the moderator's grid: grid values, estimates, interval bounds, the
    Johnson–Neyman intervals where the effect differs from zero, and the two axis labels."""

    z: np.ndarray  # (points,)
    estimates: np.ndarray  # (points,)
    low: np.ndarray  # (points,)
    high: np.ndarray  # (points,)
    significant: list[tuple[float, float]]
    z_label: str
    x_label: str


def margins_data(spec: MarginsFigureSpec, results: ResultSet, ctx: TableContext) -> MarginsData:
    """The marginal effects over the grid (``specrun.kernels.margins``). Raises
    ``SpecError`` for a moderator the model does not have as a continuous variable."""
    model = fitted_model(results, spec.model, ctx, "figures")
    key = continuous_key(spec.over)
    path = f"figures.{ctx.name}"
    try:
        if spec.values is not None:
            grid = [resolve_value(v, key, model) for v in spec.values]
        else:
            dist = model.distributions.get(column_name(key))
            if dist is None:
                raise SpecError(
                    f"'{spec.over}' is not a continuous variable of model '{spec.model}'",
                    code="reference",
                )
            grid = list(np.linspace(dist[0], dist[-1], spec.points))
    except SpecError as exc:
        raise SpecError(exc.message, code=exc.code, path=path) from None
    result = compute(model, spec.dydx, {key: grid}, spec.level, path)
    z = np.array([m.at[0][1] for m in result.margins])
    est = np.array([m.estimate for m in result.margins])
    low = np.array([m.ci_low for m in result.margins])
    high = np.array([m.ci_high for m in result.margins])
    z_label = part_label(TermPart(*key), ctx.labels)
    x_label = part_label(TermPart(*continuous_key(spec.dydx)), ctx.labels)
    significant = [(a, b) for a, b in result.significant or ()]
    return MarginsData(z, est, low, high, significant, z_label, x_label)


def draw_margins(spec: MarginsFigureSpec, data: MarginsData, ctx: TableContext) -> Figure:
    """The effect and its band (or points with intervals at given values), the zero line and
    the Johnson–Neyman region shaded; the axis title and legend in ``ctx.language`` (English,
    or Chinese: "互联网普及率的边际效应（95%置信区间）", "在5%的水平上显著")."""
    from matplotlib.figure import Figure

    z, est, low, high = data.z, data.estimates, data.low, data.high
    z_label, x_label = data.z_label, data.x_label
    figure = Figure(figsize=(spec.width, spec.height))
    axes = figure.subplots()
    zh = ctx.language == "zh"
    alpha = fmt.percent(1 - spec.level)
    for i, (a, b) in enumerate(data.significant):
        # the Johnson–Neyman region: where the effect differs from zero at the chosen level
        label = (f"在{alpha}的水平上显著" if zh else f"significant at {alpha}") if i == 0 else None
        axes.axvspan(a, b, color="0.9", zorder=0, label=label)
    if spec.values is None:
        axes.fill_between(z, low, high, color="0.75", alpha=0.6, linewidth=0)
        axes.plot(z, est, color="black")
    else:
        axes.errorbar(z, est, yerr=[est - low, high - est], fmt="o-", color="black", capsize=4)
    axes.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel(fitted(z_label, spec.width))
    label = f"{x_label}的边际效应" if zh else f"Effect of {x_label} "
    title = axis_title(label, interval_text(spec.level, ctx.language), spec.height)
    axes.set_ylabel(title)
    if data.significant:
        # a white box: where the region covers the whole axis, its grey swatch is seen
        axes.legend(loc="best", fontsize="small", facecolor="white", edgecolor="0.8", framealpha=1)
    if spec.title:
        axes.set_title(figure_title(spec.title, spec.width))
    figure.tight_layout()
    return figure
