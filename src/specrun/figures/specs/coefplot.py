"""Options of the ``coefplot`` figure; drawn by ``specrun.figures.coefplot`` on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy


class CoefplotSpec(FigureBase):
    """``kind: coefplot``: estimates with confidence intervals across models (Stata coefplot).

    Each interval is estimate ± q·SE with q the quantile of that coefficient's reference (t
    with the model's degrees of freedom, or the normal): a mediation model's ``indirect`` is
    drawn with Sobel's standard error and the normal, not with its bootstrap interval."""

    kind: Literal["coefplot"]
    models: list[str] = Field(
        description="Models or families (their members), in order; each tick is the model's "
        "label:, else its name (a family member's group: East for by_region.East)."
    )
    variable: str = Field(
        description="The coefficient to plot: a regressor or term as results name it (L.x, "
        "c.x#c.z), or a mediation model's path (a, b, c, c_prime, indirect)."
    )
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
