"""Output formats for the table IR: each renders one table and a document holding them all.

``FORMATS`` maps a format name (as written under ``outputs.formats`` in a spec) to its renderer:
the extension of its per-table files, the name of its all-tables document (``tables.tex``,
``tables.docx`` …) and the two rendering functions. Text formats return ``str``, Word and Excel
return the file's bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from specrun.registry import Lazy, Registry
from specrun.render.options import RenderOptions
from specrun.tables.ir import Table


@dataclass(frozen=True)
class Renderer:
    name: str
    extension: str
    table: Callable[..., str | bytes]  # (table, *, options) -> str | bytes
    document: Callable[..., str | bytes]  # (tables, *, title, options) -> str | bytes
    document_file: str | None = None  # the all-tables file in the output folder


def _lazy(fmt: str, table: str = "render_table") -> tuple[Lazy, Lazy]:
    """The table and document functions of ``specrun.render.<fmt>``, imported on first use:
    a run loads python-docx, lxml or xlsxwriter only for the formats it writes, and each
    process of a split rendering (``specrun.outputs.render_outputs``) only for its own."""
    return Lazy(f"specrun.render.{fmt}:{table}"), Lazy(f"specrun.render.{fmt}:render_document")


FORMATS: Registry[Renderer] = Registry("output format")
FORMATS.register("latex")(Renderer("latex", "tex", *_lazy("latex"), "tables.tex"))
FORMATS.register("markdown")(Renderer("markdown", "md", *_lazy("markdown"), "tables.md"))
FORMATS.register("html")(Renderer("html", "html", *_lazy("html", "render_page"), "tables.html"))
FORMATS.register("docx")(Renderer("docx", "docx", *_lazy("docx"), "tables.docx"))
FORMATS.register("xlsx")(Renderer("xlsx", "xlsx", *_lazy("xlsx"), "tables.xlsx"))

DEFAULT_OPTIONS = RenderOptions()


def render_table(table: Table, fmt: str, options: RenderOptions = DEFAULT_OPTIONS) -> str | bytes:
    """One table in the named format (``latex``, ``markdown``, ``html``, ``docx``, ``xlsx``)."""
    return FORMATS.get(fmt).table(table, options=options)


def render_document(
    tables: Sequence[Table],
    fmt: str,
    *,
    title: str,
    options: RenderOptions = DEFAULT_OPTIONS,
) -> str | bytes:
    """Every table in one document; for LaTeX a standalone article that compiles on its own."""
    return FORMATS.get(fmt).document(tables, title=title, options=options)


def as_bytes(content: str | bytes) -> bytes:
    """A rendered file's bytes (text formats are UTF-8)."""
    return content.encode() if isinstance(content, str) else content


__all__ = [
    "FORMATS",
    "RenderOptions",
    "Renderer",
    "as_bytes",
    "render_document",
    "render_table",
]
