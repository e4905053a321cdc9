"""What a figure kind is: a spec model (``kind:``), the models it reads, and two steps: the
numbers and text it shows (computed by the execute stage from the results) and the drawing
(matplotlib only, done by the render stage, in a forked drawer process where there is one:
``specrun.drawers``)."""

from __future__ import annotations

import unicodedata
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

# an axis title's font (matplotlib's axes.labelsize, "medium" = 10 pt) and the part of the
# figure's height a vertical axis title must leave free (it is centred on the axes, which the
# figure's title and the horizontal axis push off centre)
AXIS_TITLE_POINTS = 10.0
AXIS_MARGIN_INCHES = 0.5


def _ems(text: str) -> float:
    # an ideograph or full-width mark is one em wide; Latin letters and digits about 0.6
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def _cut(line: str) -> int:
    """Where to end a full line of Chinese: after its last closing bracket or comma, or
    before its last 的, where that keeps at least half the line; else at its end."""
    ends = [i + 1 for i, c in enumerate(line) if c in "）)，、：:"]
    ends += [i for i, c in enumerate(line) if c == "的"]
    best = max(ends, default=0)
    return best if 2 * best >= len(line) else len(line)


def _break(text: str, room: float) -> list[str]:
    """``text`` in lines of at most ``room`` ems: at spaces, or, where a word is longer than a
    line (Chinese has no spaces), after a closing bracket or comma, before 的, or else between
    any two characters. A line break the text has is kept, and no line is empty that the text
    did not make so. (A ``$`` is a character like any other: text is drawn as written, never
    as mathtext, :func:`specrun.figures.fonts.cjk_fallback`.)"""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_break_line(paragraph.strip(), room) or [""])
    return lines


def _break_line(text: str, room: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        joined = f"{line} {word}" if line else word
        if _ems(joined) <= room:
            line = joined
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and _ems(line + char) > room:
                cut = _cut(line)
                lines.append(line[:cut])
                line = line[cut:]
            line += char
    return [*lines, line] if line else lines


def interval_text(level: float, language: str, *, band: bool = False) -> str:
    """An interval's name in an axis title, one pair of brackets per script: full-width around
    Chinese (``（95%置信区间）``, ``（95%同时置信带）``), ASCII around English (``(95% CI)``,
    ``(95% simultaneous band)``). The caller puts the space English wants before it. The level
    is written with the digits it has (``0.975`` is ``97.5%``, ``0.999`` is ``99.9%``), as the
    regression table's interval rows write it: rounded to a whole percent, a 99.9% interval
    read "100% CI"."""
    from specrun.tables.format import percent as as_percent  # drawing only: not validate

    percent = as_percent(level)
    if language == "zh":
        return f"（{percent}{'同时置信带' if band else '置信区间'}）"
    return f"({percent} {'simultaneous band' if band else 'CI'})"


# what a figure without a title: is captioned in tables.docx (``docx: {figures: true}``): what
# its kind draws, in the outputs' language, rather than the figure's key ("图3 placebo")
KIND_CAPTIONS: dict[str, tuple[str, str]] = {
    "coefplot": ("Coefficient estimates", "系数估计"),
    "specification_curve": ("Specification curve", "设定曲线"),
    "event_study": ("Event study", "事件研究"),
    "margins": ("Marginal effects", "边际效应"),
    "placebo": ("Placebo test", "安慰剂检验"),
    "threshold_lr": ("Likelihood ratio of the threshold", "门槛值的似然比"),
}


def figure_caption(figure: FigureBase, language: str) -> str:
    """A figure's caption text (without its number): its ``title:``, else what its kind draws
    in ``language`` (``KIND_CAPTIONS``), else its kind."""
    if figure.title:
        return figure.title
    en, zh = KIND_CAPTIONS.get(figure.kind, (figure.kind, figure.kind))
    return zh if language == "zh" else en


# a title's font (axes.titlesize and figure.titlesize, "large" = 12 pt) and the part of the
# figure's width a line of text must leave free: an axes title is centred on its axes, which
# the vertical axis title and the tick labels push right of the figure's centre
TITLE_POINTS = 12.0
TEXT_MARGIN_INCHES = 1.0


def fitted(text: str, width: float, points: float = AXIS_TITLE_POINTS) -> str:
    """``text`` (a title, a horizontal axis title) set in ``points`` on a figure ``width``
    inches wide: as it is where it fits, else in lines that fit (broken as :func:`axis_title`
    breaks a label), so that a long title ("Effect of digital trade by industrial structure
    upgrading (synthetic data)" on a 6-inch figure) is not cut at the figure's edges. Widths
    are estimated from the characters, as in :func:`axis_title`."""
    room = max(width - TEXT_MARGIN_INCHES, 1.0) * 72 / points
    if all(_ems(line) <= room for line in text.split("\n")):
        return text
    return "\n".join(_break(text.strip(), room))


def figure_title(title: str, width: float) -> str:
    """A figure's ``title:`` in lines that fit its ``width`` (:func:`fitted` at 12 pt)."""
    return fitted(title, width, TITLE_POINTS)


def axis_title(label: str, interval: str, height: float) -> str:
    """The vertical axis title ``label`` + ``interval`` ("…的边际效应" and "（95%置信区间）",
    or "Effect of … " and "(95% CI)") of a figure ``height`` inches tall: on one line where it
    fits beside the axis, else the label in lines that fit and the interval on a line of its
    own, so that a long label (数字经济发展水平综合指数（熵值法测算）) is not cut at the
    figure's edges. Widths are estimated from the characters (an ideograph 1 em, others
    0.6 em at 10 pt), not measured: measuring would render every figure once more."""
    room = max(height - AXIS_MARGIN_INCHES, 1.0) * 72 / AXIS_TITLE_POINTS
    if all(_ems(line) <= room for line in (label + interval).split("\n")):
        return label + interval
    return "\n".join([*_break(label.strip(), room), interval.strip()])


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
    event studies and placebos, ``specs/mpdta.yaml``), by which the figure drawer hands the
    costliest waiting figure out first (``specrun.drawers``); it decides only which process
    draws a figure and when, never the figure's bytes.
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
