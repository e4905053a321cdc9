"""Where the Jinja templates live and the sandboxed environments that render them.

An installed wheel carries the top-level ``templates/`` folder as ``specrun/templates``; an
editable install does not, so the source tree's folder is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from specrun.errors import SpecError
from specrun.tables.ir import Cell, Table

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
    folder: Path | None = None,
) -> SandboxedEnvironment:
    """A sandboxed environment over the template folder that fails on undefined names."""
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(folder or template_folder()),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **(syntax or {}),
    )
    environment.filters.update(filters)
    environment.globals.update(TEMPLATE_GLOBALS)
    return environment


@dataclass(frozen=True)
class PlacedCell:
    """A cell with the body columns it covers (1-based, inclusive; the label column is 0)."""

    cell: Cell
    first: int
    last: int


def place(cells: Sequence[Cell], n_columns: int) -> list[PlacedCell]:
    """Each cell with its column range, so templates can draw spans and rules under them.

    A line without cells (a label alone) is filled with empty cells.
    """
    if not cells:
        cells = [Cell()] * n_columns
    placed: list[PlacedCell] = []
    column = 1
    for cell in cells:
        placed.append(PlacedCell(cell, column, column + cell.span - 1))
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


TEMPLATE_GLOBALS: Mapping[str, Callable[..., Any]] = {"place": place}
