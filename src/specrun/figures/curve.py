"""Specification curves: every specification's estimate, sorted, over the choices that made it.

The layout of Simonsohn, Simmons and Nelson (2020, Fig. 2) and R's ``specr::plot_specs``: the
top panel shows the focus estimates sorted from smallest to largest with their confidence
intervals, significant ones (p below ``alpha``) filled, the rest hollow, a line at zero and one
at the median; the panel below has one row per axis value and marks, under each estimate, the
value its specification chose on every axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from specrun.figures.base import figure_title, fitted, interval_text
from specrun.figures.specs.curve import SpecificationCurveSpec
from specrun.results import ResultSet
from specrun.tables.base import TableContext
from specrun.tables.multiverse import focus_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SIGNIFICANT = "#1f4e79"
NOT_SIGNIFICANT = "#9a9a9a"


@dataclass(frozen=True)
class CurveData:
    """A multiverse's specifications sorted by estimate (ties in specification order): the
    estimates, interval bounds and significance, the value each chose on every axis, each
    axis' values in the spec's order, the focus variable and the interval's level."""

    estimates: np.ndarray  # (specifications,)
    low: np.ndarray  # (specifications,)
    high: np.ndarray  # (specifications,)
    significant: np.ndarray  # (specifications,) bool: p below ``alpha``
    chosen: dict[str, list[str]]  # axis -> the value of each specification, sorted as above
    values: dict[str, list[str]]  # axis -> its values in the order the curve first meets them
    focus: str
    level: float
    focus_label: str = ""  # the focus as the vertical axis names it (``focus_label``)


def curve_data(spec: SpecificationCurveSpec, results: ResultSet, ctx: TableContext) -> CurveData:
    """The sorted curve of ``spec.multiverse`` (polars: computed before any fork). Raises
    ``SpecError`` when the multiverse was not fitted."""
    # imported here: a drawer process imports this module to draw a curve, and the
    # multiverse module would load polars there too (a tenth of a second on each process)
    from specrun.multiverse import curve_of

    found = curve_of(results, spec.multiverse)
    curve = found.curve.with_row_index("_position")
    # sorted by estimate; ties keep specification order so the figure is reproducible
    curve = curve.sort(["estimate", "_position"])
    return CurveData(
        curve["estimate"].to_numpy(),
        curve["ci_low"].to_numpy(),
        curve["ci_high"].to_numpy(),
        curve["p_value"].to_numpy() < spec.alpha,
        {axis: curve[axis].to_list() for axis in found.axes},
        # in the order the curve first meets them (the spec's order)
        {axis: list(dict.fromkeys(found.curve[axis].to_list())) for axis in found.axes},
        found.focus,
        found.level,
        focus_label(found.focus, "threshold_1" in found.curve.columns, ctx),
    )


def draw_curve(spec: SpecificationCurveSpec, data: CurveData, ctx: TableContext) -> Figure:
    """The curve (top) and the choice indicators (bottom) of one multiverse."""
    from matplotlib.figure import Figure

    estimate, low, high, significant = data.estimates, data.low, data.high, data.significant
    n = len(estimate)
    position = np.arange(1, n + 1)
    rows = [(axis, value) for axis, values in data.values.items() for value in values]
    figure = Figure(figsize=(spec.width, spec.height), layout="constrained")
    grid = figure.add_gridspec(
        2, 1, height_ratios=[1.2, min(1.8, max(0.6, 0.16 * len(rows)))], hspace=0.06
    )
    top = figure.add_subplot(grid[0])
    bottom = figure.add_subplot(grid[1], sharex=top)
    zh = ctx.language == "zh"
    for mask, color, face in (
        (~significant, NOT_SIGNIFICANT, "white"),
        (significant, SIGNIFICANT, SIGNIFICANT),
    ):
        top.vlines(position[mask], low[mask], high[mask], color=color, linewidth=0.8, alpha=0.7)
        top.scatter(
            position[mask],
            estimate[mask],
            s=14,
            facecolors=face,
            edgecolors=color,
            linewidths=0.8,
            zorder=3,
        )
    top.axhline(0.0, color="black", linewidth=0.7)
    top.axhline(float(np.median(estimate)), color=SIGNIFICANT, linewidth=0.7, linestyle="--")
    label = data.focus_label or data.focus
    top.set_ylabel(f"{label}\n{interval_text(data.level, ctx.language)}")
    top.tick_params(labelbottom=False)
    legend = [f"p < {spec.alpha:g}", f"p ≥ {spec.alpha:g}", "中位数" if zh else "median"]
    top.scatter([], [], s=14, color=SIGNIFICANT, label=legend[0])
    top.scatter([], [], s=14, facecolors="white", edgecolors=NOT_SIGNIFICANT, label=legend[1])
    top.plot([], [], color=SIGNIFICANT, linewidth=0.7, linestyle="--", label=legend[2])
    # beside the panel, not in it: inside, the key covered estimates wherever it was placed
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    ys = {row: len(rows) - 1 - i for i, row in enumerate(rows)}
    for axis, chosen in data.chosen.items():
        y = [ys[(axis, value)] for value in chosen]
        colors = [SIGNIFICANT if s else NOT_SIGNIFICANT for s in significant]
        bottom.scatter(position, y, marker="|", s=60, c=colors, linewidths=1.2)
    boundaries = np.cumsum([len(values) for values in data.values.values()])[:-1]
    for boundary in boundaries:
        bottom.axhline(len(rows) - boundary - 0.5, color="grey", linewidth=0.5)
    # a full-width colon after Chinese text (样本：全样本), as the threshold_lr panels' titles
    colon = "：" if ctx.language == "zh" else ": "
    bottom.set_yticks([ys[row] for row in rows], [f"{axis}{colon}{value}" for axis, value in rows])
    bottom.set_ylim(-0.6, len(rows) - 0.4)
    bottom.tick_params(axis="y", labelsize="small")
    bottom.set_xlim(0.5, n + 0.5)
    # as every kind's horizontal axis title: in lines where a narrow figure's axes cannot hold it
    xlabel = "规格（按估计值排序）" if zh else "Specification (sorted by estimate)"
    bottom.set_xlabel(fitted(xlabel, spec.width))
    if spec.title:
        top.set_title(figure_title(spec.title, spec.width))
    return figure
