"""How wide a table prints, and whether it needs a landscape page: one rule for Word and LaTeX.

Widths are measured in ems of Times (Adobe's Times-Roman AFM, whose advance widths Times New
Roman, Liberation Serif and Computer Roman's digits come close to); a CJK character is one em.
A table is *wide* when its natural width (every cell on one line, as a LaTeX ``tabular`` sets
it) is more than the portrait text block of the paper with 25 mm margins (Word's section and
``tables.tex``'s geometry) even when set a step smaller (``SHRINK_BEFORE_TURNING``): Word then
gives it a landscape section, LaTeX a ``landscape`` page (pdflscape). ``landscape: true``
forces the page, ``landscape: false`` keeps it portrait.
"""

from __future__ import annotations

from functools import lru_cache

from specrun.render.environment import grid_lines, per_table
from specrun.tables.ir import Table
from specrun.tables.text import SIZES_PT, has_cjk

# Advance widths in thousandths of an em of Times (Adobe's Times-Roman AFM); a CJK character
# is one em, any other character 0.55
_TIMES = {
    "abcdefghijklmnopqrstuvwxyz": (
        444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778,
        500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444,
    ),
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ": (
        722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889,
        722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611,
    ),
    "0123456789*": (500,) * 11,
    " .,:;()[]-/%²×−–—=+<>": (
        250, 250, 250, 278, 278, 333, 333, 333, 333, 333, 278, 833, 300, 564, 564, 500,
        1000, 564, 564, 564, 564,
    ),
}  # fmt: skip
GLYPH_EMS = {
    char: width / 1000
    for chars, widths in _TIMES.items()
    for char, width in zip(chars, widths, strict=True)
}
PAPER_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARGIN_MM = 25.0  # each side, Word's sections and tables.tex's geometry (margin=2.5cm)
POINTS_PER_MM = 72 / 25.4
# the space around each column's text, in points: Word's default cell margins (0.19 cm each
# side); LaTeX's \tabcolsep (6 pt each side) is about the same
COLUMN_PADDING_PT = 2 * 5.4
# a table at most this much too wide stays on its portrait page, set smaller (LaTeX's
# adjustbox, Word's fitting): the step from normal size to \small (9 of 10.5 pt); a wider
# one would print smaller than journals set a table, and turns the page instead
SHRINK_BEFORE_TURNING = 0.86
# stars are set as superscripts, about two thirds of the text's size
SUPERSCRIPT = 0.65


@lru_cache(maxsize=4096)  # the same numbers and labels are measured for every format
def precise_ems(text: str) -> float:
    """Width of ``text`` in ems of Times (``GLYPH_EMS``); a CJK character is one em."""
    return sum(1.0 if has_cjk(c) else GLYPH_EMS.get(c, 0.55) for c in text)


def text_width_pt(paper: str, *, landscape: bool) -> float:
    """The text block's width in points on ``paper`` (``a4`` | ``letter``; A4 otherwise)
    with 25 mm margins, on a portrait or a landscape page."""
    width, height = PAPER_MM.get(paper, PAPER_MM["a4"])
    return ((height if landscape else width) - 2 * MARGIN_MM) * POINTS_PER_MM


@per_table
def natural_width_pt(table: Table) -> float:
    """The table's width in points at its own size with every cell on one line: the widest
    row label, plus each body column's widest single-column cell (stars superscript), each
    with ``COLUMN_PADDING_PT``. A cell spanning columns widens none of them (a spanning head
    is seldom wider than the columns under it)."""
    widths = [0.0] * (table.n_columns + 1)
    for line in grid_lines(table):
        if line.part != "title":
            widths[0] = max(widths[0], precise_ems(line.label))
        for placed in line.cells:
            if placed.first != placed.last:
                continue
            cell = placed.cell
            ems = precise_ems(cell.text) + SUPERSCRIPT * precise_ems(cell.stars)
            widths[placed.first] = max(widths[placed.first], ems)
    size = SIZES_PT.get(table.layout.size, 10.5)
    return sum(size * ems + COLUMN_PADDING_PT for ems in widths)


def is_wide(table: Table, paper: str = "a4") -> bool:
    """Whether the table is printed on a landscape page (Word's section, LaTeX's pdflscape
    ``landscape``): ``landscape: true`` or ``false`` decides; left out, a table wider than the
    portrait text block of ``paper`` (``natural_width_pt``) even a step smaller
    (``SHRINK_BEFORE_TURNING``) is."""
    if table.layout.landscape is not None:
        return table.layout.landscape
    portrait = text_width_pt(paper, landscape=False)
    return natural_width_pt(table) * SHRINK_BEFORE_TURNING > portrait
