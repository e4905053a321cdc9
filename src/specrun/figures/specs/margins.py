"""Options of the ``margins`` figure; drawn by ``specrun.figures.margins`` on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy
from specrun.tables.specs.margins import MarginValue, check_at_values, continuous_key


class MarginsFigureSpec(FigureBase):
    """``kind: margins``: the marginal effect over a moderator's range (Stata marginsplot)."""

    kind: Literal["margins"]
    model: str = Field(description="The fitted model (ols or panel_fe, with its interactions).")
    dydx: str = Field(description="The regressor whose effect is drawn (Dige, L.Dige).")
    over: str = Field(description="The moderator on the horizontal axis (STR).")
    values: list[MarginValue] | None = Field(
        None, description="Moderator values (numbers, p10 …, mean); default: its observed range."
    )
    points: int = Field(50, ge=2, le=1000, description="Points over the range when no values.")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the band.")

    @field_validator("dydx", "over")
    @classmethod
    def _term(cls, value: str) -> str:
        continuous_key(value)
        return value

    @field_validator("values")
    @classmethod
    def _values(cls, value: list[MarginValue] | None) -> list[MarginValue] | None:
        return check_at_values(value) if value is not None else None


FIGURES.register("margins")(
    FigureKind(
        "margins",
        MarginsFigureSpec,
        Lazy("specrun.figures.margins:margins_data"),
        Lazy("specrun.figures.margins:draw_margins"),
        lambda s: [s.model],
        ("ols", "panel_fe"),
        reads_distributions=True,
        seconds=0.3,
    )
)
