"""Output formats for the table IR: each renders one table and a document holding them all.

``FORMATS`` maps a format name (as written under ``outputs.formats`` in a spec) to its renderer
and the file extension of its table files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from specrun.registry import Registry
from specrun.render import html, latex, markdown
from specrun.tables.ir import Table


@dataclass(frozen=True)
class Renderer:
    name: str
    extension: str
    table: Callable[[Table], str]
    document: Callable[..., str]  # (tables, *, title) -> str


FORMATS: Registry[Renderer] = Registry("output format")
FORMATS.register("latex")(Renderer("latex", "tex", latex.render_table, latex.render_document))
FORMATS.register("markdown")(
    Renderer("markdown", "md", markdown.render_table, markdown.render_document)
)
FORMATS.register("html")(Renderer("html", "html", html.render_table, html.render_document))


def render_table(table: Table, fmt: str) -> str:
    """One table in the named format (``latex``, ``markdown`` or ``html``)."""
    return FORMATS.get(fmt).table(table)


def render_document(tables: Sequence[Table], fmt: str, *, title: str) -> str:
    """Every table in one document; for LaTeX a standalone article that compiles on its own."""
    return FORMATS.get(fmt).document(tables, title=title)


__all__ = ["FORMATS", "Renderer", "render_document", "render_table"]
