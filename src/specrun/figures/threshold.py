"""LR(γ) curves of a threshold model with the critical line (as Hansen 1999, Figures 1–3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from specrun.errors import SpecError
from specrun.figures.specs.threshold import ThresholdLrSpec
from specrun.results import ResultSet
from specrun.tables.base import TableContext

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SEARCH_TITLES = {
    "Th-1": "Single threshold",
    "Th-21": "First threshold (refined)",
    "Th-22": "Second threshold",
    "Th-3": "Third threshold",
}


@dataclass(frozen=True)
class ThresholdLrData:
    """The LR(γ) curves drawn (``extra["lr_curves"]`` of the threshold fit, one panel each)
    and the threshold variable's name."""

    curves: list[dict[str, Any]]
    q: str


def threshold_lr_data(
    spec: ThresholdLrSpec, results: ResultSet, ctx: TableContext
) -> ThresholdLrData:
    """The curves of ``spec.searches`` (all by default). Raises ``SpecError`` when the model
    is not a fitted ``panel_threshold`` model."""
    model = results.models.get(spec.model)
    if model is None or model.estimator != "panel_threshold":
        raise SpecError(
            f"model '{spec.model}' is not a fitted panel_threshold model",
            code="reference",
            path=f"figures.{ctx.name}.model",
        )
    curves = [
        c for c in model.extra["lr_curves"] if spec.searches is None or c["search"] in spec.searches
    ]
    return ThresholdLrData(curves, model.extra["q"])


def draw_threshold_lr(spec: ThresholdLrSpec, data: ThresholdLrData, ctx: TableContext) -> Figure:
    """One panel per curve with its critical line, stacked."""
    from matplotlib.figure import Figure

    curves = data.curves
    figure = Figure(figsize=(spec.width, spec.height * max(1, len(curves)) / 1.6))
    axes_list = figure.subplots(len(curves), 1, squeeze=False)[:, 0]
    for axes, curve in zip(axes_list, curves, strict=True):
        gamma = np.asarray(curve["gamma"])
        order = np.argsort(gamma)
        axes.plot(gamma[order], np.asarray(curve["lr"])[order], color="black", linewidth=1)
        axes.axhline(curve["critical_value"], color="grey", linestyle="--", linewidth=0.8)
        colon = "：" if ctx.language == "zh" else ": "
        axes.set_title(
            f"{ctx.text(SEARCH_TITLES.get(curve['search'], curve['search']))}{colon}"
            f"γ̂ = {curve['estimate']:.4g}",
            fontsize=9,
        )
        axes.set_ylabel("LR(γ)")
    q = data.q
    if ctx.language == "zh":
        axes_list[-1].set_xlabel(f"{ctx.labels.get(q, q)}的门槛值γ")
    else:
        axes_list[-1].set_xlabel(f"Threshold γ of {ctx.labels.get(q, q)}")
    if spec.title:
        figure.suptitle(spec.title)
    figure.tight_layout()
    return figure
