"""Options of the ``placebo`` figure; drawn by ``specrun.figures.placebo`` on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy


class PlaceboFigureSpec(FigureBase):
    """``kind: placebo``: the permutation distribution of a DID estimate, the estimate marked."""

    kind: Literal["placebo"]
    model: str = Field(description="A did model with a placebo: block.")
    bins: int = Field(30, ge=5, le=200, description="Histogram bins.")


FIGURES.register("placebo")(
    FigureKind(
        "placebo",
        PlaceboFigureSpec,
        Lazy("specrun.figures.placebo:placebo_data"),
        Lazy("specrun.figures.placebo:draw_placebo"),
        lambda s: [s.model],
        reads=("did",),
        seconds=0.25,
    )
)
