"""Options of the ``event_study`` figure; drawn by ``specrun.figures.event_study`` on first
use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.figures.base import FIGURES, FigureBase, FigureKind
from specrun.registry import Lazy


class EventStudyFigureSpec(FigureBase):
    """``kind: event_study``: relative-period coefficients with confidence intervals."""

    kind: Literal["event_study"]
    model: str = Field(description="A model with estimator: event_study.")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    xlabel: str = Field(
        "",
        description="Horizontal axis title; by default 'Periods relative to treatment' "
        "(相对处理时点的期数 under outputs.language: zh).",
    )


FIGURES.register("event_study")(
    FigureKind(
        "event_study",
        EventStudyFigureSpec,
        Lazy("specrun.figures.event_study:event_study_data"),
        Lazy("specrun.figures.event_study:draw_event_study"),
        lambda s: [s.model],
        reads=("event_study",),
        seconds=0.3,
    )
)
