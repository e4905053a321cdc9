"""Excel output (xlsxwriter): one sheet per table, numbers stored as numbers.

A printed number is written as its value with a number format that prints the same text: an
estimate ``0.412***`` is the number 0.412 shown with ``0.000"***"``, a standard error
``(0.051)`` is 0.051 shown with ``(0.000)``, ``1,341`` is 1341 shown with ``#,##0``; so a
reader can compute with the cells and still sees the journal's digits. Other cells (``Yes``,
intervals) stay text. Borders follow the three-line table: a medium rule above the first line
and below the last, thin rules under the header, under spanning column groups and between row
blocks; no vertical rules.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from specrun.render.cells import printed_number
from specrun.render.environment import GridLine, grid_lines, numbered_caption
from specrun.render.options import RenderOptions
from specrun.render.package import stable_zip
from specrun.tables.ir import Table
from specrun.tables.text import has_cjk

SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")
# xlsxwriter border styles: 1 thin, 2 medium
BORDERS = {"top": 2, "bottom": 2, "header": 1, "mid": 1, "span": 1}
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def render_table(table: Table, *, options: RenderOptions) -> bytes:
    """A workbook with the one table on a sheet named after it."""
    return _workbook([table], options)


def render_document(tables: Sequence[Table], *, title: str, options: RenderOptions) -> bytes:
    """A workbook with one sheet per table, in the run's order."""
    return _workbook(tables, options, title=title)


def sheet_name(name: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``, unique ignoring case."""
    base = SHEET_UNSAFE.sub("_", name)[:31] or "table"
    candidate, count = base, 1
    while candidate.lower() in taken:
        count += 1
        candidate = f"{base[: 31 - len(str(count)) - 1]}_{count}"
    taken.add(candidate.lower())
    return candidate


def _workbook(tables: Sequence[Table], options: RenderOptions, title: str = "") -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"title": title, "author": "specrun", "created": FIXED_TIME})
    formats = _Formats(workbook, options)
    taken: set[str] = set()
    for table in tables:
        sheet = workbook.add_worksheet(sheet_name(table.name, taken))
        _write_sheet(sheet, table, formats)
    workbook.close()
    return stable_zip(buffer.getvalue())


class _Formats:
    """One xlsxwriter format per distinct combination of properties (Excel caps their number)."""

    def __init__(self, workbook: Workbook, options: RenderOptions) -> None:
        self.workbook = workbook
        self.options = options
        self.cache: dict[tuple[tuple[str, Any], ...], Any] = {}

    def get(self, text: str = "", **properties: Any) -> Any:
        font = self.options.cjk_font if has_cjk(text) else self.options.latin_font
        properties = {"font_name": font, "font_size": 10.5, "valign": "vcenter", **properties}
        key = tuple(sorted(properties.items()))
        if key not in self.cache:
            self.cache[key] = self.workbook.add_format(properties)
        return self.cache[key]


def _write_sheet(sheet: Worksheet, table: Table, formats: _Formats) -> None:
    last_column = table.n_columns
    caption = numbered_caption(table)
    sheet.merge_range(
        0, 0, 0, last_column, caption, formats.get(caption, bold=True, align="center")
    )
    lines = grid_lines(table)
    for offset, line in enumerate(lines):
        _write_line(sheet, offset + 1, line, table, formats)
    row = len(lines) + 1
    for note in table.notes:
        sheet.write_string(row, 0, note, formats.get(note, font_size=9, align="left"))
        row += 1
    width = max([len(line.label) for line in lines] + [10])
    sheet.set_column(0, 0, min(width * 1.1, 60))
    sheet.set_column(1, last_column, 13)


def _borders(line: GridLine, ruled: bool) -> dict[str, int]:
    return {side: BORDERS[rule] for side, rule in line.borders(ruled=ruled).items()}


def _write_line(
    sheet: Worksheet, row: int, line: GridLine, table: Table, formats: _Formats
) -> None:
    if line.part == "title":
        style = formats.get(line.label, italic=True, align="left", **_borders(line, False))
        sheet.merge_range(row, 0, row, table.n_columns, line.label, style)
        return
    sheet.write_string(
        row, 0, line.label, formats.get(line.label, align="left", **_borders(line, False))
    )
    for placed in line.cells:
        cell = placed.cell
        borders = _borders(line, (placed.first, placed.last) in line.spans_ruled)
        align = {"l": "left", "c": "center", "r": "right"}[placed.align]
        number = printed_number(cell.text) if line.part == "body" else None
        if placed.last > placed.first:
            text = cell.text + cell.stars
            style = formats.get(text, align=align, **borders)
            sheet.merge_range(row, placed.first, row, placed.last, text, style)
        elif number is not None:
            style = formats.get(num_format=number.excel_format(cell.stars), align=align, **borders)
            sheet.write_number(row, placed.first, number.value, style)
        elif cell.text or cell.stars:
            text = cell.text + cell.stars
            sheet.write_string(row, placed.first, text, formats.get(text, align=align, **borders))
        else:
            sheet.write_blank(row, placed.first, None, formats.get(align=align, **borders))
