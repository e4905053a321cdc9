"""Options of the ``threshold_lr`` figure; drawn by ``specrun.figures.threshold`` on first
use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy


class ThresholdLrSpec(FigureBase):
    """``kind: threshold_lr``: the likelihood-ratio curve LR(γ) with its critical value."""

    kind: Literal["threshold_lr"]
    model: str = Field(description="A panel_threshold model.")
    searches: list[str] | None = Field(
        None, description="Which searches to draw (Th-1, Th-21, Th-22, Th-3); default: all."
    )


FIGURES.register("threshold_lr")(
    FigureKind(
        "threshold_lr",
        ThresholdLrSpec,
        Lazy("specrun.figures.threshold:threshold_lr_data"),
        Lazy("specrun.figures.threshold:draw_threshold_lr"),
        lambda s: [s.model],
        reads=("panel_threshold",),
        seconds=0.7,
    )
)
