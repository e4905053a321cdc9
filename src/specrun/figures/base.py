"""What a figure kind is: a spec model (``kind:``), the models it reads, and two steps: the
numbers and text it shows (computed by the execute stage from the results) and the drawing
(matplotlib only, done by the render stage, in a forked drawer process where there is one:
``specrun.drawers``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import Field

from specrun.registry import Registry
from specrun.spec.models import RegistryMember
from specrun.tables.base import TableContext

if TYPE_CHECKING:  # matplotlib is imported by the draw functions only: validation never pays
    from matplotlib.figure import Figure

    from specrun.results import ResultSet


class FigureBase(RegistryMember):
    kind: str
    title: str = Field("", description="Figure title.")
    # 1 to 50 inches: a 400-inch side drew a 60,000-pixel PNG (a 400 × 400 figure took 20 GB
    # and three minutes); below an inch the labels cannot be laid out
    width: float = Field(6.0, ge=1, le=50, description="Width in inches (1 to 50).")
    height: float = Field(4.0, ge=1, le=50, description="Height in inches (1 to 50).")


F = TypeVar("F", bound=FigureBase)


@dataclass(frozen=True)
class FigureKind(Generic[F]):
    """A figure kind: its options model (``kind:``), its two steps, the models it reads.

    ``data(spec, results, ctx)`` computes everything the figure shows (numpy arrays, numbers,
    text) from the fitted results, in the execute stage: it may use polars and the kernels,
    and raises located ``SpecError``s for what the results lack. ``draw(spec, data, ctx)``
    makes the matplotlib ``Figure`` from that value alone; it runs in the render stage, in a
    forked drawer process as often as not, where polars' and BLAS' thread pools do not exist,
    so it computes nothing. ``seconds`` is what drawing one figure and saving its PNG and PDF
    takes in a process that has drawn one before (measured on ``specs/paper.yaml`` and, for
    event studies and placebos, ``specs/mpdta.yaml``), with which the figures are shared
    between the drawers (``specrun.drawers.shares``); it decides only which process
    draws a figure, never the figure's bytes.
    """

    name: str
    spec: type[F]
    data: Callable[[F, ResultSet, TableContext], Any]
    draw: Callable[[F, Any, TableContext], Figure]
    models: Callable[[F], list[str]]
    reads: tuple[str, ...] = ()  # estimators whose results it can draw; empty: any
    reads_distributions: bool = False  # as ``TableKind.reads_distributions``
    seconds: float = 0.5


@dataclass(frozen=True)
class FigureData:
    """One figure of a run as the execute stage leaves it: its name, options, what
    ``FigureKind.data`` computed and the context (labels, language) it is drawn with."""

    name: str
    spec: FigureBase
    data: Any
    ctx: TableContext

    @property
    def seconds(self) -> float:
        """The expected time to draw the figure and save both formats (``FigureKind``)."""
        return FIGURES.get(self.spec.kind).seconds

    def draw(self) -> Figure:
        """The matplotlib figure, drawn with the CJK fallback font (``specrun.figures.fonts``).

        Raises ``SpecError`` (code ``data``, path ``figures.<name>``) when the figure holds
        Chinese text and no CJK font is installed."""
        from specrun.figures.fonts import check_cjk_text, cjk_fallback

        with cjk_fallback():
            figure = FIGURES.get(self.spec.kind).draw(self.spec, self.data, self.ctx)
        check_cjk_text(figure, self.name)
        return figure


FIGURES: Registry[FigureKind[Any]] = Registry("figure kind")
