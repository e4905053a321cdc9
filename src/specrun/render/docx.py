"""Word output (python-docx): journal three-line tables, one ``.docx`` per table and one with all.

Each table is a Word table without vertical rules: a 1.5 pt rule above the first line and
below the last, 0.75 pt under the header, 0.5 pt under spanning column groups and between row
blocks (the booktabs weights that Chinese journals' 三线表 also use). The caption is above the
table, the notes below in a smaller size. Numbers sit on a decimal tab so their points line up.
Latin text uses ``latin_font`` (Times New Roman) and East Asian text ``cjk_font`` (SimSun, 宋体)
through Word's separate ``w:ascii``/``w:eastAsia`` font slots. Tables wider than six body columns
(or with ``landscape: true``) get a landscape section of their own.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Inches, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from specrun.render.cells import printed_number
from specrun.render.environment import (
    GridLine,
    body_alignments,
    grid_lines,
    numbered_caption,
)
from specrun.render.options import RenderOptions
from specrun.render.package import figure_items, is_wide, stable_zip
from specrun.tables.ir import Table
from specrun.tables.text import SIZES_PT, has_cjk

# the same spec and data give the same bytes (the reproducible-builds convention of a fixed date)
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
PAPER_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARGIN = Mm(25)
# rule widths in eighths of a point (w:sz): 1.5 pt, 0.75 pt, 0.5 pt
RULES = {"top": 12, "bottom": 12, "header": 6, "mid": 4, "span": 4}
ALIGNMENTS = {
    "l": WD_ALIGN_PARAGRAPH.LEFT,
    "c": WD_ALIGN_PARAGRAPH.CENTER,
    "r": WD_ALIGN_PARAGRAPH.RIGHT,
}


def render_table(table: Table, *, options: RenderOptions) -> bytes:
    """One table in its own Word document (landscape when wide)."""
    document = _new_document(options)
    _add_table(document, table, options, first=True)
    return _save(document)


def render_document(tables: Sequence[Table], *, title: str, options: RenderOptions) -> bytes:
    """Every table in one document, each from a new page; figures after them when given."""
    document = _new_document(options)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(heading, title, size=14, bold=True)
    for index, table in enumerate(tables):
        _add_table(document, table, options, first=False, page_break=index > 0)
    for number, (name, png) in enumerate(figure_items(options.figures), start=1):
        _set_section(document, landscape=False, options=options, new=True)
        document.add_picture(io.BytesIO(png), width=Inches(6))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = document.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        language = tables[0].layout.language if tables else "en"
        label = f"图{number} {name}" if language == "zh" else f"Figure {number}: {name}"
        _run(caption, label, size=10.5)
    return _save(document)


def _save(document: DocumentType) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return stable_zip(buffer.getvalue())


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
    wide = is_wide(table)
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
    grid = document.add_table(rows=len(lines), cols=table.n_columns + 1)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    widths = _column_widths(table, _text_width(document), size)
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = Emu(width)
        for cell in column.cells:  # Word reads the grid, LibreOffice each cell's own width
            cell.width = Emu(width)
    for row, line in zip(grid.rows, lines, strict=True):
        _fill_line(row.cells, line, table, size, widths)

    for note in table.notes:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(0)
        paragraph.paragraph_format.space_after = Pt(0)
        _run(paragraph, note, size=size - 1.5)


def _ems(text: str) -> float:
    """Rough width of ``text`` in ems: half an em per Latin character, one per CJK one."""
    return sum(1.0 if has_cjk(char) else 0.55 for char in text)


def _column_widths(table: Table, text_width: int, size: float) -> list[int]:
    """Each column as wide as its longest single-column text (plus the cell margins; header
    text may wrap between words); centred body columns share one width, as journal tables
    print them. A table wider than the text wraps its row labels first, then shrinks."""
    lines = grid_lines(table)
    needed = [4.0] * (table.n_columns + 1)
    for line in lines:
        if line.part != "title":
            needed[0] = max(needed[0], _ems(line.label))
        for placed in line.cells:
            if placed.first == placed.last:
                text = placed.cell.text + placed.cell.stars
                # header cells may wrap between words; body cells (numbers) should not
                parts = text.split() if line.part == "header" else [text]
                needed[placed.first] = max(needed[placed.first], *(_ems(p) for p in parts))
    centred = [i for i, align in enumerate(body_alignments(table), start=1) if align == "c"]
    if centred:
        widest = max(needed[i] for i in centred)
        for i in centred:
            needed[i] = widest
    label, *body = [Pt(size) * (ems + 2) for ems in needed]  # + the cell margins
    if label + sum(body) > text_width:
        # long row labels wrap first, down to 30 % of the text width; then every column shrinks
        label = max(text_width - sum(body), min(label, text_width * 0.3))
        if label + sum(body) > text_width:
            body = [w * (text_width - label) / sum(body) for w in body]
    return [int(label)] + [int(w) for w in body]


def _fill_line(
    cells: Sequence[_Cell],
    line: GridLine,
    table: Table,
    size: float,
    widths: Sequence[int],
) -> None:
    stub = cells[0]
    if line.part == "title":
        merged = stub.merge(cells[-1])
        _cell_text(merged, line.label, size, "l", italic=True)
        _rules(merged, line, ruled=False)
        return
    _cell_text(stub, line.label, size, "l")
    _rules(stub, line, ruled=False)
    for placed in line.cells:
        cell = cells[placed.first]
        if placed.last > placed.first:
            cell = cell.merge(cells[placed.last])
        decimal = None
        single = table.layout.decimal and placed.first == placed.last and placed.align == "c"
        if line.part == "body" and single and printed_number(placed.cell.text) is not None:
            decimal = int(widths[placed.first] * 0.5)
        _cell_text(
            cell,
            placed.cell.text,
            size,
            placed.align,
            stars=placed.cell.stars,
            decimal_tab=decimal,
        )
        ruled = (placed.first, placed.last) in line.spans_ruled
        _rules(cell, line, ruled=ruled)


def _cell_text(
    cell: _Cell,
    text: str,
    size: float,
    align: str,
    *,
    stars: str = "",
    italic: bool = False,
    decimal_tab: int | None = None,
) -> None:
    paragraph = cell.paragraphs[0]
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(1)
    fmt.space_after = Pt(1)
    fmt.line_spacing = 1.0
    if decimal_tab is not None:
        # Word aligns a decimal tab's text on its decimal point, as dcolumn does in LaTeX
        fmt.tab_stops.add_tab_stop(Emu(decimal_tab), WD_TAB_ALIGNMENT.DECIMAL)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
        # no tab character: in a table cell Word aligns on a decimal tab stop by itself
    else:
        paragraph.alignment = ALIGNMENTS[align]
    _run(paragraph, text, size=size, italic=italic)
    if stars:
        _run(paragraph, stars, size=size, superscript=True)


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


def _rules(cell: _Cell, line: GridLine, *, ruled: bool) -> None:
    """The cell's top and bottom borders from the line's rules; no vertical borders."""
    sides: dict[str, int] = {}
    if line.rule_above:
        sides["top"] = RULES[line.rule_above]
    if line.rule_below:
        sides["bottom"] = RULES["bottom"]
    elif ruled:
        sides["bottom"] = RULES["span"]
    if not sides:
        return
    properties = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for side in ("top", "bottom"):
        if side in sides:
            border = OxmlElement(f"w:{side}")
            border.set(qn("w:val"), "single")
            border.set(qn("w:sz"), str(sides[side]))
            border.set(qn("w:space"), "0")
            border.set(qn("w:color"), "000000")
            borders.append(border)
    properties.append(borders)


__all__ = ["render_document", "render_table"]
