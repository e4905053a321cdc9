"""A figure's files: the PNG and PDF bytes of a figure drawn from its data.

Used by the render stage in this process and by the drawer processes alike
(``specrun.drawers``), so that a figure's bytes do not depend on where it was drawn.
Imports matplotlib: only the render stage loads this module.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from specrun.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from specrun.figures.base import FigureData

FIGURE_DPI = 150  # of the PNGs (a PDF is vector graphics, its images aside)


def load_matplotlib() -> None:
    """Import matplotlib with its Agg and PDF backends and find the CJK font: what drawing
    any figure first needs (about 0.75 s of CPU time on a 2-core machine)."""
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_pdf  # noqa: F401

    from specrun.figures.fonts import cjk_font

    cjk_font()


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """The figure saved as ``fmt`` (``"png"`` at ``FIGURE_DPI``, or ``"pdf"``), without the
    creation date or software version that would make reruns differ."""
    from specrun.figures.fonts import cjk_fallback

    buffer = io.BytesIO()
    metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
    with cjk_fallback():  # tick labels made while saving need the CJK font too
        figure.savefig(buffer, format=fmt, dpi=FIGURE_DPI, metadata=metadata)
    return buffer.getvalue()


def fix_layout(figure: Figure) -> None:
    """Lay out a figure with a layout engine (constrained layout) once, at the PNG's
    resolution, keep that layout for every format, and leave the figure with no layout
    engine at all.

    An engine lays the figure out again at every save, starting from where the previous save
    left it, so a PDF saved after the PNG differed from one saved before it, and both formats
    paid for the layout. Laid out as the PNG's save would, the PNG keeps its bytes. A figure
    laid out once when drawn (``tight_layout``) keeps matplotlib's placeholder engine, and any
    engine, even a placeholder, makes ``savefig`` draw the whole figure once more before the
    real draw (``FigureCanvasBase.print_figure``: "trigger a draw before printing"): a fifth
    of each save's time, for a layout that no longer changes. Without an engine that draw is
    skipped; the files keep their bytes (``tests/test_drawers.py``).
    """
    from matplotlib import rc_context
    from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine

    from specrun.figures.fonts import cjk_fallback

    engine = figure.get_layout_engine()
    if engine is None:
        return
    if isinstance(engine, ConstrainedLayoutEngine | TightLayoutEngine) and figure.axes:
        dpi = figure.get_dpi()
        figure.set_dpi(FIGURE_DPI)
        # the layout step of ``Figure.draw`` alone: the rest of a draw without rendering
        # changes nothing the saves do not compute again (and measures its text with the
        # canvas' renderer at this resolution, which the PNG's save then reuses)
        with cjk_fallback():
            engine.execute(figure)
        figure.set_dpi(dpi)
    # ``None`` means "as the rcParams say"; with both automatic layouts off it means none
    with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        figure.set_layout_engine(None)


Drawn = tuple[bytes, bytes] | SpecError  # a figure's PNG and PDF, or why it cannot be drawn


def draw_figures(figures: Sequence[FigureData]) -> dict[str, Drawn]:
    """Each figure's PNG and PDF bytes, drawn from its data (``FigureData.draw``) with its
    layout fixed once (:func:`fix_layout`), by figure name; or the ``SpecError`` it raised
    (Chinese text and no CJK font), unlocated: the caller locates it in the spec."""
    out: dict[str, Drawn] = {}
    for data in figures:
        try:
            figure = data.draw()
        except SpecError as exc:
            out[data.name] = exc
            continue
        fix_layout(figure)  # so that the PNG and the PDF need not be drawn in turn
        out[data.name] = (figure_bytes(figure, "png"), figure_bytes(figure, "pdf"))
    return out


def figure_files(drawn: Mapping[str, Drawn]) -> dict[str, bytes]:
    """The output files (``figures/<name>.png`` and ``.pdf``) of the figures drawn."""
    out: dict[str, bytes] = {}
    for name, value in drawn.items():
        if isinstance(value, tuple):
            out[f"figures/{name}.png"], out[f"figures/{name}.pdf"] = value
    return out
