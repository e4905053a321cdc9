"""Options of the ``coefplot`` figure; drawn by ``specrun.figures.coefplot`` on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy


class CoefplotSpec(FigureBase):
    """``kind: coefplot``: estimates with confidence intervals across models (Stata coefplot)."""

    kind: Literal["coefplot"]
    models: list[str] = Field(description="Models or families (their members), in order.")
    variable: str = Field(description="The coefficient to plot.")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")


FIGURES.register("coefplot")(
    FigureKind(
        "coefplot",
        CoefplotSpec,
        Lazy("specrun.figures.coefplot:coefplot_data"),
        Lazy("specrun.figures.coefplot:draw_coefplot"),
        lambda s: list(s.models),
        seconds=0.25,
    )
)
