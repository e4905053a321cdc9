"""The table intermediate representation: cells and rows, no LaTeX or Markdown in it.

Text in cells is plain Unicode (``R²``, ``γ̂``, ``≤``, ``·``); each renderer escapes it and
maps the few mathematical symbols to its own syntax. Stars are kept apart from the number so
that LaTeX can set them as superscripts and Markdown as plain asterisks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RowKind = Literal["coef", "se", "stat", "indicator", "text"]


@dataclass(frozen=True)
class Cell:
    text: str = ""
    stars: str = ""  # "", "*", "**", "***"
    span: int = 1  # number of body columns the cell covers (header groups)
    align: Literal["l", "c", "r"] = "c"


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    kind: RowKind = "text"


@dataclass(frozen=True)
class HeaderRow:
    """A header line over the body columns; cells with span > 1 get a rule under them."""

    label: str
    cells: tuple[Cell, ...]
    rule_under: bool = False


@dataclass(frozen=True)
class Block:
    """A group of body rows: a panel (with a title) or the statistics block of a table."""

    rows: tuple[Row, ...]
    title: str | None = None
    rule_before: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    caption: str
    header: tuple[HeaderRow, ...]
    blocks: tuple[Block, ...]
    n_columns: int  # body columns, not counting the label column
    label: str = ""  # LaTeX \label; defaults to tab:<name> in the renderer
    notes: tuple[str, ...] = ()
    stub_header: str = ""  # text above the label column
    column_align: str = field(default="c")  # alignment of body columns
    layout: Layout = field(default_factory=lambda: Layout())


@dataclass(frozen=True)
class Layout:
    """How a table is numbered and fitted to the page; every renderer reads the same values.

    ``number`` is the printed table number ("5"; empty: the renderer's own count) and ``panel``
    the panel letter when the table is one panel of that number ("B"). ``size`` is a LaTeX size
    name (``small``, ``footnotesize``, ``scriptsize``), ``resize`` shrinks a wide table to the
    text width, ``landscape`` turns its page (None: when the table is wider than a portrait
    page's text, ``render.width.is_wide``). ``language`` (``en`` | ``zh``) is the language of
    the generated words (captions' "Table"/"表", notes). ``decimal`` aligns the numbers of
    centred body columns on their decimal point (LaTeX dcolumn, Word decimal tab stops).
    """

    number: str = ""
    panel: str = ""
    size: str = "normalsize"
    landscape: bool | None = None
    resize: bool = False
    language: str = "en"
    decimal: bool = True
