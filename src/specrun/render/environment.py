"""Where the Jinja templates live and the sandboxed environments that render them.

An installed wheel carries the top-level ``templates/`` folder as ``specrun/templates``; an
editable install does not, so the source tree's folder is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from specrun.errors import SpecError
from specrun.tables.ir import Cell, HeaderRow, Table
from specrun.tables.text import caption_prefix

SOURCE_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"

# LaTeX is full of braces and percent signs, so its templates use \BLOCK{…} and \VAR{…}
# instead of Jinja's {% … %} and {{ … }}.
LATEX_SYNTAX: Mapping[str, str] = {
    "block_start_string": r"\BLOCK{",
    "block_end_string": "}",
    "variable_start_string": r"\VAR{",
    "variable_end_string": "}",
    "comment_start_string": r"\#{",
    "comment_end_string": "}",
}


# rendered tables each text format keeps, by template and table (the table IR is frozen and
# compared by value): a run renders each table for its own file and again for the document
RENDERED_KEPT = 256
T = TypeVar("T")


def rendered_once(
    render: Callable[[Template, Table], str], template: Template, table: Table
) -> str:
    """``render(template, table)`` through its cache (``functools.lru_cache``); a table that
    cannot be hashed (built with lists where the IR has tuples) is rendered every time."""
    try:
        hash(table)
    except TypeError:
        return render.__wrapped__(template, table)  # type: ignore[attr-defined]
    return render(template, table)


def per_table(measure: Callable[[Table], T]) -> Callable[[Table], T]:
    """``measure(table)`` computed once per table (``functools.lru_cache`` of
    ``RENDERED_KEPT``): the width measures Word and LaTeX both take of a table, for its own
    file and again for the document. A table that cannot be hashed is measured every time.
    The measure's result is shared: it must be immutable (tuples, numbers)."""
    cached = lru_cache(maxsize=RENDERED_KEPT)(measure)

    @wraps(measure)
    def once(table: Table) -> T:
        try:
            hash(table)
        except TypeError:
            return measure(table)
        return cached(table)

    return once


def installed_templates() -> Path | None:
    """The ``specrun/templates`` folder of an installed wheel, if there is one on disk."""
    try:
        folder = files("specrun") / "templates"
    except ModuleNotFoundError:
        return None
    path = Path(str(folder))
    return path if path.is_dir() else None


def first_existing_folder(candidates: Iterable[Path | None]) -> Path:
    """The first candidate that is a folder; an error listing all of them otherwise."""
    tried: list[str] = []
    for candidate in candidates:
        if candidate is not None and candidate.is_dir():
            return candidate
        if candidate is not None:
            tried.append(str(candidate))
    raise SpecError(
        "the table templates were not found; the specrun installation is incomplete",
        code="usage",
        hint="looked in: " + (", ".join(tried) or "nowhere"),
    )


def template_folder() -> Path:
    return first_existing_folder((installed_templates(), SOURCE_TEMPLATES))


def make_environment(
    *,
    autoescape: bool,
    filters: Mapping[str, Callable[..., Any]],
    syntax: Mapping[str, str] | None = None,
    globals: Mapping[str, Callable[..., Any]] | None = None,
) -> SandboxedEnvironment:
    """A sandboxed environment over the template folder that fails on undefined names."""
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(template_folder()),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **(syntax or {}),
    )
    environment.filters.update(filters)
    environment.globals.update(TEMPLATE_GLOBALS)
    environment.globals.update(globals or {})
    return environment


@dataclass(frozen=True)
class PlacedCell:
    """A cell with the body columns it covers (1-based, inclusive; the label column is 0).

    ``align`` is the cell's own alignment and ``column_align`` that of the column it starts in:
    in body rows a cell's default ``c`` means "as the column", in header rows it means centred.
    """

    cell: Cell
    first: int
    last: int
    align: str
    column_align: str


def place(cells: Sequence[Cell], table: Table, header: bool) -> list[PlacedCell]:
    """Each cell with its column range, so templates can draw spans and rules under them.

    A line without cells (a label alone) is filled with empty cells.
    """
    columns = body_alignments(table)
    if not cells:
        cells = [Cell()] * table.n_columns
    placed: list[PlacedCell] = []
    column = 1
    for cell in cells:
        column_align = columns[column - 1]
        align = cell.align if header or cell.align != "c" else column_align
        placed.append(PlacedCell(cell, column, column + cell.span - 1, align, column_align))
        column += cell.span
    return placed


def body_alignments(table: Table) -> list[str]:
    """One of l/c/r per body column: ``column_align`` is one letter for all or one per column."""
    align = table.column_align
    if len(align) == 1:
        align = align * table.n_columns
    if len(align) != table.n_columns or set(align) - set("lcr"):
        raise SpecError(
            f"table '{table.name}' has column_align '{table.column_align}'; expected one of "
            f"l, c, r or one letter per column ({table.n_columns})",
            code="schema",
            path=f"tables.{table.name}",
        )
    return list(align)


def check_spans(table: Table) -> None:
    """Every header and body line must cover exactly the table's body columns."""
    lines = [(row.label, row.cells) for row in table.header]
    lines += [(row.label, row.cells) for block in table.blocks for row in block.rows]
    for label, cells in lines:
        if any(cell.span < 1 for cell in cells):
            raise SpecError(
                f"table '{table.name}', row '{label}': a cell spans fewer than one column",
                code="schema",
                path=f"tables.{table.name}",
            )
        covered = sum(cell.span for cell in cells)
        if cells and covered != table.n_columns:
            raise SpecError(
                f"table '{table.name}', row '{label}' covers {covered} columns, "
                f"the table has {table.n_columns}",
                code="schema",
                path=f"tables.{table.name}",
            )


def ruled_cells(placed: Sequence[PlacedCell], row: HeaderRow) -> list[PlacedCell]:
    """Header cells that get a rule under them: every spanning cell, and every non-empty cell of
    a row marked ``rule_under`` (a group one column wide is still a group)."""
    return [p for p in placed if p.cell.text and (p.cell.span > 1 or row.rule_under)]


def stub_text(row: HeaderRow, index: int, table: Table) -> str:
    """Text of a header row's label column: its own label, else ``stub_header`` on the last row."""
    if row.label:
        return row.label
    return table.stub_header if index == len(table.header) - 1 else ""


def table_texts(table: Table) -> list[str]:
    """Every piece of text a table prints: caption, header, labels, cells and notes."""
    texts = [table.caption, table.stub_header, *table.notes]
    for header in table.header:
        texts += [header.label, *(cell.text for cell in header.cells)]
    for block in table.blocks:
        texts.append(block.title or "")
        for row in block.rows:
            texts += [row.label, *(cell.text for cell in row.cells)]
    return texts


def numbered_caption(table: Table) -> str:
    """The caption as formats without their own numbering print it: ``Table 5: Caption``
    (``表5 标题`` in Chinese); the caption alone when the table has no number."""
    prefix = caption_prefix(table.layout.number, table.layout.panel, table.layout.language)
    if not prefix:
        return table.caption
    if not table.caption:
        return prefix
    separator = " " if table.layout.language == "zh" else ": "
    return f"{prefix}{separator}{table.caption}"


TEMPLATE_GLOBALS: Mapping[str, Callable[..., Any]] = {
    "numbered_caption": numbered_caption,
    "place": place,
    "ruled_cells": ruled_cells,
    "stub_text": stub_text,
}


@dataclass(frozen=True)
class GridLine:
    """One printed line of a table for the formats that lay out a grid (Word, Excel).

    ``part`` is ``header``, ``title`` (a panel title across the table) or ``body``;
    ``rule_above`` is ``top`` (the heavy first rule), ``header`` (under the header), ``mid``
    (between row blocks) or empty; ``spans_ruled`` are the (first, last) body columns of header
    cells with a rule under them; ``rule_below`` marks the last line (the heavy bottom rule).
    """

    label: str
    cells: tuple[PlacedCell, ...]
    part: str
    rule_above: str = ""
    spans_ruled: tuple[tuple[int, int], ...] = ()
    rule_below: bool = False

    def borders(self, *, ruled: bool) -> dict[str, str]:
        """A cell's rules by side (``top``/``bottom``) → the rule's name (``top``, ``header``,
        ``mid``, ``bottom``, or ``span`` under a spanning header cell when ``ruled``)."""
        sides: dict[str, str] = {}
        if self.rule_above:
            sides["top"] = self.rule_above
        if self.rule_below:
            sides["bottom"] = "bottom"
        elif ruled:
            sides["bottom"] = "span"
        return sides


def grid_lines(table: Table) -> list[GridLine]:
    """The table's lines in print order with the three-line rules each carries (booktabs:
    ``\\toprule`` above the first, ``\\midrule`` under the header and between blocks,
    ``\\cmidrule`` under spanning header cells, ``\\bottomrule`` below the last)."""
    check_spans(table)
    lines: list[GridLine] = []
    for index, row in enumerate(table.header):
        placed = place(row.cells, table, True)
        ruled = tuple((p.first, p.last) for p in ruled_cells(placed, row))
        lines.append(
            GridLine(stub_text(row, index, table), tuple(placed), "header", spans_ruled=ruled)
        )
    header_end = len(lines)
    for number, block in enumerate(table.blocks):
        start = len(lines)
        if block.title:
            lines.append(GridLine(block.title, (), "title"))
        for row in block.rows:
            lines.append(GridLine(row.label, tuple(place(row.cells, table, False)), "body"))
        if len(lines) > start and start > 0:
            first = lines[start]
            if start == header_end and table.header:
                rule = "header"
            else:
                rule = "mid" if block.rule_before and number > 0 else ""
            lines[start] = GridLine(first.label, first.cells, first.part, rule, first.spans_ruled)
    if lines:
        first = lines[0]
        lines[0] = GridLine(first.label, first.cells, first.part, "top", first.spans_ruled)
        last = lines[-1]
        lines[-1] = GridLine(
            last.label, last.cells, last.part, last.rule_above, last.spans_ruled, True
        )
    return lines
