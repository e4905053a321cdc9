"""Options of the ``specification_curve`` figure; drawn by ``specrun.figures.curve`` on first
use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy


class SpecificationCurveSpec(FigureBase):
    """A specification curve (Simonsohn, Simmons and Nelson 2020, Fig. 2): the estimates of a
    multiverse sorted with their confidence intervals, significant ones filled, and below them
    the value each specification chose on every axis."""

    kind: Literal["specification_curve"]
    multiverse: str = Field(description="The multiverse whose specifications are drawn.")
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Specifications with p below this are drawn filled."
    )
    width: float = Field(8.0, ge=1, le=50, description="Width in inches (1 to 50).")
    height: float = Field(6.0, ge=1, le=50, description="Height in inches (1 to 50).")


FIGURES.register("specification_curve")(
    FigureKind(
        "specification_curve",
        SpecificationCurveSpec,
        Lazy("specrun.figures.curve:curve_data"),
        Lazy("specrun.figures.curve:draw_curve"),
        lambda s: [],
        seconds=0.65,
    )
)
