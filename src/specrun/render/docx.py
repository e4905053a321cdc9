"""Word output (python-docx): journal three-line tables, one ``.docx`` per table and one with all.

Each table is a Word table without vertical rules: a 1.5 pt rule above the first line and
below the last, 0.75 pt under the header, 0.5 pt under spanning column groups and between row
blocks (the booktabs weights that Chinese journals' 三线表 also use). The caption is above the
table, the notes below in a smaller size. Numbers sit on a decimal tab so their points line up.
Latin text uses ``latin_font`` (Times New Roman) and East Asian text ``cjk_font`` (SimSun, 宋体)
through Word's separate ``w:ascii``/``w:eastAsia`` font slots. A table wider than the portrait
text (or with ``landscape: true``; ``render.width.is_wide``, LaTeX's rule too) gets a landscape
section of its own. A table whose columns would
still be narrower than a number or word of theirs (which Word breaks between characters) is
fitted: narrower cell margins, then smaller type down to 7 pt, its row labels wrapping first.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from copy import deepcopy
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.image.image import Image
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Emu, Inches, Mm, Pt
from docx.text.paragraph import Paragraph

from specrun.render.cells import printed_number
from specrun.render.environment import (
    GridLine,
    body_alignments,
    grid_lines,
    numbered_caption,
    per_table,
)
from specrun.render.options import RenderOptions
from specrun.render.package import figure_items, stable_zip, stable_zip_of, zip_members
from specrun.render.width import PAPER_MM, SUPERSCRIPT, is_wide, precise_ems
from specrun.tables.ir import Table
from specrun.tables.text import SIZES_PT, has_cjk

# the same spec and data give the same bytes (the reproducible-builds convention of a fixed date)
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MARGIN = Mm(25)
# rule widths in eighths of a point (w:sz): 1.5 pt, 0.75 pt, 0.5 pt
RULES = {"top": 12, "bottom": 12, "header": 6, "mid": 4, "span": 4}
JUSTIFY = {"l": "left", "c": "center", "r": "right"}


def render_table(table: Table, *, options: RenderOptions) -> bytes:
    """One table in its own Word document (landscape when wide).

    The bytes of ``_save`` on a new document holding the table, made without opening and
    saving a whole package per table: only the document part differs between the per-table
    files (``_Blank``)."""
    blank = _blank(options.latin_font, options.cjk_font, options.paper)
    with blank.lock:
        document = blank.fresh()
        _add_table(document, table, options, first=True)
        content = document.part.blob
    return blank.package(content)


def render_document(tables: Sequence[Table], *, title: str, options: RenderOptions) -> bytes:
    """Every table in one document, each from a new page; figures after them when given.

    Without figures only the document part differs from a new document's, which is then
    the kept one (``_Blank``); figures add image parts to the package."""
    if options.figures:
        return _save(_filled(_new_document(options), tables, title, options))
    blank = _blank(options.latin_font, options.cjk_font, options.paper)
    with blank.lock:
        content = _filled(blank.fresh(), tables, title, options).part.blob
    return blank.package(content)


def _filled(
    document: DocumentType, tables: Sequence[Table], title: str, options: RenderOptions
) -> DocumentType:
    """``document`` with the title, every table and the figures of ``options`` added."""
    if tables and is_wide(tables[0], options.paper):
        # the title heads the first table's page: a landscape first table otherwise began a
        # section of its own, leaving the title alone on a portrait page
        _set_section(document, landscape=True, options=options, new=False)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(heading, title, size=14, bold=True)
    for index, table in enumerate(tables):
        _add_table(document, table, options, first=False, page_break=index > 0)
    for number, (name, png) in enumerate(figure_items(options.figures), start=1):
        _set_section(document, landscape=False, options=options, new=True)
        document.add_picture(io.BytesIO(png), width=_picture_width(document, png))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        # the caption stays on the picture's page
        document.paragraphs[-1].paragraph_format.keep_with_next = True
        caption = document.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        language = tables[0].layout.language if tables else "en"
        text = options.captions.get(name) or name
        label = f"图{number} {text}" if language == "zh" else f"Figure {number}: {text}"
        _run(caption, label, size=10.5)
    return document


# room under a figure for its caption line and the paragraphs' spacing
CAPTION_ROOM = Inches(0.6)


def _picture_width(document: DocumentType, png: bytes) -> int:
    """The width a figure is set at: 6 inches, or less where the figure would then be taller
    than the page's text less its caption's line. A threshold_lr figure of four searches
    (6.4 × 8.6 in) ran off the bottom of an A4 page at 6 inches wide, its axis title cut,
    and its caption was pushed alone onto the next page."""
    image = Image.from_blob(png)
    section = document.sections[-1]
    height = int(section.page_height) - int(section.top_margin) - int(section.bottom_margin)
    room = height - int(CAPTION_ROOM)
    return min(int(Inches(6)), int(room * image.px_width / image.px_height))


def _save(document: DocumentType) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return stable_zip(buffer.getvalue())


DOCUMENT_PART = "word/document.xml"  # the member holding the body (python-docx's name)


class _Blank:
    """A new document (``_new_document``) kept for one set of fonts and paper, with its
    body's first state and its saved package's members, so that each per-table file reuses
    them: opening python-docx's template, saving the package and rewriting the zip were four
    fifths of a per-table file's time, and adding a table changes the document part only
    (the body: paragraphs, the table, the section's page). ``fresh`` puts the body back as
    made; ``lock`` is held from ``fresh`` until the part is serialized."""

    def __init__(self, options: RenderOptions) -> None:
        self.document = _new_document(options)
        body = self.document.element.body
        self.body = [deepcopy(child) for child in body]
        self.members = zip_members(_save(self.document))
        if DOCUMENT_PART not in {name for name, _ in self.members}:
            raise RuntimeError(f"python-docx saved no {DOCUMENT_PART}")  # a changed template
        self.lock = threading.Lock()

    def package(self, document_part: bytes) -> bytes:
        """The saved package with ``document_part`` as its document part (``_save``'s bytes
        for a document that differs from this one there only)."""
        return stable_zip_of(
            (name, document_part if name == DOCUMENT_PART else data) for name, data in self.members
        )

    def fresh(self) -> DocumentType:
        # the body element itself stays: python-docx's Document keeps a proxy to it
        body = self.document.element.body
        for child in list(body):
            body.remove(child)
        for child in self.body:
            body.append(deepcopy(child))
        return self.document


@lru_cache(maxsize=8)
def _blank(latin_font: str, cjk_font: str, paper: str) -> _Blank:
    """The kept new document for these options (the only ones ``_new_document`` reads)."""
    return _Blank(RenderOptions(latin_font=latin_font, cjk_font=cjk_font, paper=paper))


def _new_document(options: RenderOptions) -> DocumentType:
    document = Document()
    # python-docx's template stamps its own author and dates; a run's file must not vary
    properties = document.core_properties
    properties.author = "specrun"
    properties.last_modified_by = "specrun"
    properties.created = properties.modified = FIXED_TIME
    properties.revision = 1
    normal = document.styles["Normal"]
    normal.font.name = options.latin_font
    normal.font.size = Pt(10.5)
    _east_asian(normal.element.get_or_add_rPr(), options.cjk_font)
    # the template's theme fonts would otherwise win over the style's for East Asian text
    fonts = normal.element.get_or_add_rPr().find(qn("w:rFonts"))
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    _set_section(document, landscape=False, options=options, new=False)
    return document


def _set_section(
    document: DocumentType, *, landscape: bool, options: RenderOptions, new: bool
) -> None:
    section = document.add_section(WD_SECTION.NEW_PAGE) if new else document.sections[-1]
    width, height = PAPER_MM.get(options.paper, PAPER_MM["a4"])
    if landscape:
        width, height = height, width
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(width), Mm(height)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)


def _text_width(document: DocumentType) -> int:
    section = document.sections[-1]
    return int(section.page_width) - int(section.left_margin) - int(section.right_margin)


def _add_table(
    document: DocumentType,
    table: Table,
    options: RenderOptions,
    *,
    first: bool,
    page_break: bool = False,
) -> None:
    wide = is_wide(table, options.paper)
    current = document.sections[-1].orientation == WD_ORIENT.LANDSCAPE
    if first:
        _set_section(document, landscape=wide, options=options, new=False)
    elif wide != current:
        _set_section(document, landscape=wide, options=options, new=True)
    elif page_break:
        document.add_page_break()
    size = SIZES_PT.get(table.layout.size, 10.5)
    caption = document.add_paragraph()
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.keep_with_next = True
    _run(caption, numbered_caption(table), size=size + 1, bold=True)

    lines = grid_lines(table)
    text_width = _text_width(document)
    widths = _column_widths(table, text_width, size)
    margin = None
    if _columns_shrunk(table, widths, size):
        # too wide for the page at its size: every column would shrink below its numbers, and
        # Word breaks a number that does not fit its cell between digits ("0.52" over "5***")
        size, widths, margin, tabs = _fitted_layout(table, text_width, size)
    else:
        _, left, right = _fitted_ems(table)
        tabs = _centred_tabs(widths, 2 * WORD_MARGIN_TWIPS * 635, size, left, right)
    grid = parse_xml(_table_xml(table, lines, widths, size, tabs, cell_margin=margin))
    body = document.element.body
    # where python-docx's add_table puts a table: last in the body, before its sectPr
    if body.sectPr is not None:
        body.sectPr.addprevious(grid)
    else:
        body.append(grid)

    # the notes span the (centred) table, not the page, as threeparttable sets them in LaTeX
    inset = Emu(max(0, (text_width - sum(widths)) // 2))
    for i, note in enumerate(table.notes):
        paragraph = document.add_paragraph()
        # the notes stay together, after the table's last row
        paragraph.paragraph_format.keep_with_next = i < len(table.notes) - 1
        paragraph.paragraph_format.space_before = Pt(0)
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.left_indent = inset
        paragraph.paragraph_format.right_indent = inset
        _run(paragraph, note, size=size - 1.5)


def _ems(text: str) -> float:
    """Rough width of ``text`` in ems: half an em per Latin character, one per CJK one."""
    return sum(1.0 if has_cjk(char) else 0.55 for char in text)


# a table too wide for the text is set in smaller type, down to this size (the smallest a
# journal prints a table in), before its columns shrink below their numbers
MIN_FIT_SIZE = 7.0
# cell margins, each side, in twips: Word's default (python-docx's template: 0.19 cm), and a
# fitted table's (0.1 cm)
WORD_MARGIN_TWIPS = 108
FIT_MARGIN_TWIPS = 57
# the share of the text width a fitted table leaves at least to its row labels (which wrap)
FIT_LABEL_SHARE = 0.2


def _columns_shrunk(table: Table, widths: Sequence[int], size: float) -> bool:
    """Whether a body column of ``widths`` (``_column_widths``') is narrower than a number
    or word of it at ``size`` with Word's default cell margins: Word would break it."""
    needed, _, _ = _fitted_ems(table)
    margins = 2 * WORD_MARGIN_TWIPS * 635  # EMU: 635 to a twip
    return any(
        width < Pt(size) * ems + margins for width, ems in zip(widths[1:], needed[1:], strict=True)
    )


@per_table
def _fitted_ems(table: Table) -> tuple[tuple[float, ...], ...]:
    """Each column's narrowest width in ems at which no number breaks, and the widest integer
    part and widest decimals of its numbers (where the decimal tab goes). Numbers on a decimal
    tab need their widest integer part plus their widest point-and-decimals (stars
    superscript); header text wraps between words, and Chinese text between any two
    characters (to three lines at most,
    as a column head of 出口技术复杂度 would); labels come first, at 0."""
    needed = [0.0] * (table.n_columns + 1)
    left = [0.0] * (table.n_columns + 1)
    right = [0.0] * (table.n_columns + 1)
    for line in grid_lines(table):
        for placed in line.cells:
            column = placed.first
            if column != placed.last:
                continue
            text, stars = placed.cell.text, placed.cell.stars
            if line.part == "header":
                words = text.split()
                ems = max(
                    (precise_ems(w) / 3 if has_cjk(w) else precise_ems(w) for w in words),
                    default=0.0,
                )
            elif _on_decimal_tab(table, line, placed):
                whole, point, fraction = text.partition(".")
                left[column] = max(left[column], precise_ems(whole))
                tail = precise_ems(point + fraction) + SUPERSCRIPT * precise_ems(stars)
                right[column] = max(right[column], tail)
                ems = left[column] + right[column]
            else:
                # text wraps between words; an interval ("[0.123, 0.456]") or any cell with a
                # number is kept on one line, with its stars
                words = [text] if re.search(r"[0-9]", text) else (text.split() or [""])
                ems = max(precise_ems(w) for w in words)
                ems = max(ems, precise_ems(words[-1]) + SUPERSCRIPT * precise_ems(stars))
            needed[column] = max(needed[column], ems)
    return tuple(needed), tuple(left), tuple(right)


def _on_decimal_tab(table: Table, line: GridLine, placed: Any) -> bool:
    """Whether a cell's number is aligned on its decimal point (``_row_xml``'s rule)."""
    single = table.layout.decimal and placed.first == placed.last and placed.align == "c"
    return line.part == "body" and single and printed_number(placed.cell.text) is not None


def _fitted_layout(
    table: Table, text_width: int, size: float
) -> tuple[float, list[int], int, list[int]]:
    """The font size, column widths (EMU), cell margin and decimal tabs (twips) of a table too
    wide for the text: the largest size from ``size`` down to ``MIN_FIT_SIZE``, in half
    points, at which every body column holds its numbers on one line with narrow cell margins
    and the row labels keep ``FIT_LABEL_SHARE`` of the text width (they take the rest,
    wrapping). Each column's decimal tab is where its numbers, as one block, are centred.
    Where even ``MIN_FIT_SIZE`` is too large the columns shrink alike, as ``_column_widths``
    does."""
    needed, left, right = _fitted_ems(table)
    margins = 2 * FIT_MARGIN_TWIPS * 635  # EMU: 635 to a twip
    room = text_width * (1 - FIT_LABEL_SHARE)
    floor = min(size, MIN_FIT_SIZE)  # a table set in scriptsize already stays so
    centred = [i for i, a in enumerate(body_alignments(table)) if a == "c"]
    fitted, body = floor, []
    for step in range(int((size - floor) * 2) + 1):
        candidate = size - step / 2
        body = [Pt(candidate) * ems + margins for ems in needed[1:]]
        if centred:  # one width for the centred columns, as _column_widths, where it fits
            widest = max(body[i] for i in centred)
            shared = [widest if i in centred else w for i, w in enumerate(body)]
            if sum(shared) <= room:
                body = shared
        if sum(body) <= room:
            fitted = candidate
            break
    else:  # too wide even at the smallest size: the columns shrink alike, centred ones as one
        if centred:
            widest = max(body[i] for i in centred)
            body = [widest if i in centred else w for i, w in enumerate(body)]
        body = [w * min(1.0, room / sum(body)) for w in body]
    label = min(text_width - sum(body), Pt(fitted) * _precise_ems_of_labels(table) + margins)
    label = max(label, text_width * FIT_LABEL_SHARE)
    widths = [int(label)] + [int(w) for w in body]
    return fitted, widths, FIT_MARGIN_TWIPS, _centred_tabs(widths, margins, fitted, left, right)


def _centred_tabs(
    widths: Sequence[int], margins: int, size: float, left: Sequence[float], right: Sequence[float]
) -> list[int]:
    """Each column's decimal tab (twips from its text edge) where its numbers, as one block
    from the widest integer part to the widest decimals and stars (``left``, ``right`` in ems,
    ``_fitted_ems``), are centred in the cell of ``widths`` (EMU, label column first) less
    ``margins`` (EMU, both sides). A tab at the cell's middle put the stars of 0.010*** past
    the right edge of a narrow column, where LibreOffice cut them off and Word wraps them."""
    tabs = [0]
    for column, width in enumerate(widths[1:], start=1):
        inside = width - margins  # the text area of the cell, where its tab stops are measured
        block = Pt(size) * (left[column] + right[column])  # the numbers, one above another
        tabs.append(Emu(int(max(0, (inside - block) / 2) + Pt(size) * left[column])).twips)
    return tabs


def _precise_ems_of_labels(table: Table) -> float:
    """The widest row label in ems (``_precise_ems``)."""
    return max(
        (precise_ems(line.label) for line in grid_lines(table) if line.part != "title"),
        default=0.0,
    )


def _needed_ems(table: Table) -> list[float]:
    """Each column's width in ems as ``_column_widths`` first takes it (label column first)."""
    needed = [4.0] * (table.n_columns + 1)
    for line in grid_lines(table):
        if line.part != "title":
            needed[0] = max(needed[0], _ems(line.label))
        for placed in line.cells:
            if placed.first == placed.last:
                text = placed.cell.text + placed.cell.stars
                parts = text.split() if line.part == "header" else [text]
                widest = max((_ems(p) for p in parts), default=0.0)
                needed[placed.first] = max(needed[placed.first], widest)
    return needed


def _column_widths(table: Table, text_width: int, size: float) -> list[int]:
    """Each column as wide as its longest single-column text (plus the cell margins; header
    text may wrap between words); centred body columns share one width, as journal tables
    print them, where that fits the text width (a wide column, such as an interval's, would
    otherwise widen every column and make the table shrink until the interval wraps). A
    table still wider than the text wraps its row labels first, then shrinks."""
    # header cells may wrap between words; body cells (numbers) should not; a header cell of
    # blanks only has no parts: it needs no width of its own
    needed = _needed_ems(table)
    centred = [i for i, align in enumerate(body_alignments(table), start=1) if align == "c"]
    if centred:
        widest = max(needed[i] for i in centred)
        shared = [widest if i in centred else ems for i, ems in enumerate(needed)]
        if Pt(size) * sum(ems + 2 for ems in shared) <= text_width:
            needed = shared
    label, *body = [Pt(size) * (ems + 2) for ems in needed]  # + the cell margins
    if label + sum(body) > text_width:
        # long row labels wrap first, down to 30 % of the text width; then every column shrinks
        label = max(text_width - sum(body), min(label, text_width * 0.3))
        if label + sum(body) > text_width:
            body = [w * (text_width - label) / sum(body) for w in body]
    return [int(label)] + [int(w) for w in body]


def _table_xml(
    table: Table,
    lines: Sequence[GridLine],
    widths: Sequence[int],
    size: float,
    decimal_tabs: Sequence[int],
    *,
    cell_margin: int | None = None,
) -> str:
    """The ``w:tbl`` element of a table as XML text, built in one pass.

    The elements and attributes are those python-docx writes for ``add_table`` followed by
    per-cell ``merge``, ``width`` and ``add_run`` calls (a fixed-layout centred grid, each
    cell's own width, merged cells as ``gridSpan`` with their widths summed), made as one
    string and parsed once: the per-cell calls cost ~25,000 element look-ups for the paper's
    tables. ``widths`` are the columns' widths in EMU (label column first); ``size`` the
    font size in points; ``cell_margin`` the left and right cell margins in twips (Word's
    default when None); ``decimal_tabs`` each column's decimal tab in twips
    (``_centred_tabs``).
    """
    twips = [Emu(width).twips for width in widths]
    half_points = int(Pt(size).pt * 2)
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
    rows = "".join(_row_xml(line, table, twips, half_points, decimal_tabs) for line in lines)
    return (
        f"<w:tbl {nsdecls('w')}><w:tblPr>"
        '<w:tblW w:type="auto" w:w="0"/><w:jc w:val="center"/><w:tblLayout w:type="fixed"/>'
        + (
            f'<w:tblCellMar><w:left w:w="{cell_margin}" w:type="dxa"/>'
            f'<w:right w:w="{cell_margin}" w:type="dxa"/></w:tblCellMar>'
            if cell_margin is not None
            else ""
        )
        + '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" '
        'w:noHBand="0" w:noVBand="1" w:val="04A0"/>'
        f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{rows}</w:tbl>"
    )


def _row_xml(
    line: GridLine,
    table: Table,
    twips: Sequence[int],
    half_points: int,
    decimal_tabs: Sequence[int],
) -> str:
    """One ``w:tr``: the label cell, then each placed cell (spanning its columns); columns no
    cell covers stay empty cells."""
    last = len(twips) - 1
    if line.part == "title":
        tc_pr = _tc_pr(sum(twips), last + 1, _borders(line, ruled=False))
        return f"<w:tr>{_tc_xml(tc_pr, line.label, half_points, 'l', italic=True)}</w:tr>"
    cells = [
        _tc_xml(_tc_pr(twips[0], 1, _borders(line, ruled=False)), line.label, half_points, "l")
    ]
    starts = {placed.first: placed for placed in line.cells}
    column = 1
    while column <= last:
        placed = starts.get(column)
        if placed is None:
            # the paragraph mark takes the table's size: an empty paragraph is as tall as its
            # mark's font, the document's 10.5 pt, and made a small table's row taller
            mark = f'<w:pPr><w:keepNext/><w:rPr><w:sz w:val="{half_points}"/></w:rPr></w:pPr>'
            cells.append(f"<w:tc>{_tc_pr(twips[column], 1, '')}<w:p>{mark}</w:p></w:tc>")
            column += 1
            continue
        decimal = decimal_tabs[placed.first] if _on_decimal_tab(table, line, placed) else None
        ruled = (placed.first, placed.last) in line.spans_ruled
        tc_pr = _tc_pr(
            sum(twips[placed.first : placed.last + 1]),
            placed.last - placed.first + 1,
            _borders(line, ruled=ruled),
        )
        cells.append(
            _tc_xml(
                tc_pr,
                placed.cell.text,
                half_points,
                placed.align,
                stars=placed.cell.stars,
                decimal_tab=decimal,
            )
        )
        column = placed.last + 1
    return f"<w:tr>{''.join(cells)}</w:tr>"


def _tc_pr(width: int, span: int, borders: str) -> str:
    """A cell's properties: its width in twips, its span of grid columns, its borders."""
    grid_span = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    return f'<w:tcPr><w:tcW w:type="dxa" w:w="{width}"/>{grid_span}{borders}</w:tcPr>'


def _tc_xml(
    tc_pr: str,
    text: str,
    half_points: int,
    align: str,
    *,
    stars: str = "",
    italic: bool = False,
    decimal_tab: int | None = None,
) -> str:
    """A cell of one paragraph: 1 pt before and after, single spacing, the text in one run and
    its significance stars in a superscript run. A number sits on a decimal tab stop
    (``decimal_tab``, twips from the cell's left edge): Word aligns a decimal tab's text on its
    decimal point, as dcolumn does in LaTeX, with no tab character needed in a table cell."""
    tabs = ""
    if decimal_tab is not None:
        tabs = f'<w:tabs><w:tab w:pos="{decimal_tab}" w:val="decimal"/></w:tabs>'
        justify = "left"
    else:
        justify = JUSTIFY[align]
    runs = _run_xml(text, half_points, italic=italic)
    if stars:
        runs += _run_xml(stars, half_points, superscript=True)
    # keepNext keeps each row on the page of the next, so a table that fits a page is not
    # split from its notes (as LaTeX's float keeps them together); it precedes tabs and
    # spacing in the schema's order of pPr's children
    return (
        f"<w:tc>{tc_pr}<w:p><w:pPr><w:keepNext/>{tabs}"
        '<w:spacing w:before="20" w:after="20" w:line="240" w:lineRule="auto"/>'
        f'<w:jc w:val="{justify}"/><w:rPr><w:sz w:val="{half_points}"/></w:rPr></w:pPr>'
        f"{runs}</w:p></w:tc>"
    )


def _run_xml(
    text: str, half_points: int, *, italic: bool = False, superscript: bool = False
) -> str:
    """A ``w:r`` as python-docx's ``add_run`` writes it: a tab is ``w:tab``, a line break
    ``w:br``, other text ``w:t`` (space-preserving when it has outer spaces)."""
    style = "<w:i/>" if italic else ""
    style += f'<w:sz w:val="{half_points}"/>'
    if superscript:
        style += '<w:vertAlign w:val="superscript"/>'
    content = []
    for part in re.split(r"([\t\r\n])", text):
        if part == "\t":
            content.append("<w:tab/>")
        elif part in ("\r", "\n"):
            content.append("<w:br/>")
        elif part:
            space = ' xml:space="preserve"' if len(part.strip()) < len(part) else ""
            content.append(f"<w:t{space}>{escape(part)}</w:t>")
    return f"<w:r><w:rPr>{style}</w:rPr>{''.join(content)}</w:r>"


def _borders(line: GridLine, *, ruled: bool) -> str:
    """A cell's top and bottom borders from the line's rules; no vertical borders."""
    sides = line.borders(ruled=ruled)
    if not sides:
        return ""
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="{RULES[rule]}" w:space="0" w:color="000000"/>'
        for side, rule in sides.items()
    )
    return f"<w:tcBorders>{borders}</w:tcBorders>"


def _run(
    paragraph: Paragraph,
    text: str,
    *,
    size: float,
    bold: bool = False,
    italic: bool = False,
    superscript: bool = False,
) -> None:
    run = paragraph.add_run(text)
    # fonts come from the Normal style (Latin and East Asian slots); runs carry only their size
    run.font.size = Pt(size)
    if bold:
        run.font.bold = True
    if italic:
        run.font.italic = True
    if superscript:
        run.font.superscript = True


def _east_asian(rpr: object, font: str) -> None:
    """Set the East Asian font slot, which python-docx's ``font.name`` leaves alone."""
    fonts = rpr.find(qn("w:rFonts"))  # type: ignore[attr-defined]
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)  # type: ignore[attr-defined]
    fonts.set(qn("w:eastAsia"), font)


__all__ = ["render_document", "render_table"]
