"""Placebo figure: the permutation distribution of a DID coefficient, the estimate marked.

A histogram of the placebo coefficients from a ``did`` model with ``placebo:``, a vertical line
at the actual estimate and the permutation p-value in the legend — the figure DID papers print
next to their placebo test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from specrun.errors import SpecError
from specrun.figures.base import figure_title, fitted
from specrun.figures.specs.placebo import PlaceboFigureSpec
from specrun.results import ResultSet
from specrun.tables.base import TableContext

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def placebo_data(spec: PlaceboFigureSpec, results: ResultSet, ctx: TableContext) -> dict[str, Any]:
    """The model's placebo block (``extra["placebo"]``: the draws, the estimate, the
    permutation p-value). Raises ``SpecError`` when the model has no placebo draws."""
    model = results.models.get(spec.model)
    placebo = model.extra.get("placebo") if model else None
    if model is None or not placebo:
        raise SpecError(
            f"model '{spec.model}' has no placebo draws (give the did model a placebo: block)",
            code="reference",
            path=f"figures.{ctx.name}.model",
        )
    return dict(placebo)


# what a placebo permutes (``kernels.placebo.Permute``), in Chinese
PERMUTED_ZH = {"units": "处理个体", "timing": "处理时点", "both": "处理个体与时点"}


def draw_placebo(spec: PlaceboFigureSpec, placebo: dict[str, Any], ctx: TableContext) -> Figure:
    """A histogram of the placebo estimates and a line at the estimate."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    draws = np.asarray(placebo["estimates"], dtype=float)
    figure = Figure(figsize=(spec.width, spec.height))
    axes = figure.subplots()
    zh = ctx.language == "zh"
    p_value, permute = placebo["p_value"], placebo["permute"]
    axes.hist(
        draws,
        bins=spec.bins,
        color="0.75",
        edgecolor="white",
        label="安慰剂估计值" if zh else "placebo estimates",
    )
    axes.axvline(
        placebo["estimate"],
        color="black",
        linewidth=1.5,
        label=f"估计值（置换检验p = {p_value:.3f}）"
        if zh
        else f"estimate (permutation p = {p_value:.3f})",
    )
    # an estimate far in a tail would sit on the frame (or outside it): the view spans the
    # draws and the estimate with a margin
    low, high = min(draws.min(), placebo["estimate"]), max(draws.max(), placebo["estimate"])
    pad = 0.05 * (high - low) if high > low else 0.05 * max(abs(high), 1.0)
    axes.set_xlim(low - pad, high + pad)
    if zh:
        axes.set_xlabel(
            fitted(f"DID系数（{len(draws)}次置换{PERMUTED_ZH.get(permute, permute)}）", spec.width)
        )
    else:
        text = f"DID coefficient, {len(draws)} draws permuting {permute}"
        axes.set_xlabel(fitted(text, spec.width))
    axes.set_ylabel("频数" if zh else "Count")
    if spec.title:
        axes.set_title(figure_title(spec.title, spec.width))
    # the legend sits above the tallest bar, on the side away from the estimate's line
    _, top = axes.get_ylim()
    axes.set_ylim(0.0, top * 1.25)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 draws
    left = placebo["estimate"] > (low + high) / 2
    axes.legend(frameon=False, loc="upper left" if left else "upper right")
    figure.tight_layout()
    return figure
