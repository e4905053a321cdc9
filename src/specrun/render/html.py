"""HTML output: a ``<table>`` fragment per table and a small standalone page with all of them.

Templates are autoescaped, so user text cannot inject markup; rendered tables are marked safe
only when the page template places them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from specrun.render.environment import (
    RENDERED_KEPT,
    check_spans,
    make_environment,
    numbered_caption,
    rendered_once,
)
from specrun.render.options import RenderOptions
from specrun.tables.ir import Table

ALIGN_STYLES = {"l": "left", "c": "center", "r": "right"}


def text_align(align: str) -> str:
    return ALIGN_STYLES[align]


@cache
def environment() -> SandboxedEnvironment:
    return make_environment(autoescape=True, filters={"text_align": text_align})


def render_table(table: Table, *, options: RenderOptions | None = None) -> str:
    return rendered_once(_render_table, environment().get_template("html/table.html.j2"), table)


@lru_cache(maxsize=RENDERED_KEPT)
def _render_table(template: Template, table: Table) -> str:
    """``table`` rendered by ``template`` (kept: a run writes each table into its own page
    and again into ``tables.html``; a template reloaded from disk is another key)."""
    check_spans(table)
    return template.render(table=table, label=table.label or f"tab:{table.name}")


def render_document(
    tables: Sequence[Table], *, title: str, options: RenderOptions | None = None
) -> str:
    """A standalone page: every table under the title, with a stylesheet drawing the
    three-line rules (booktabs weights) that bare ``<table>`` markup lacks."""
    rendered = [Markup(render_table(table)) for table in tables]
    language = tables[0].layout.language if tables else "en"
    return (
        environment()
        .get_template("html/document.html.j2")
        .render(tables=rendered, title=title, language=language)
    )


def render_page(table: Table, *, options: RenderOptions | None = None) -> str:
    """One table as a standalone page (the file ``tables/<name>.html``)."""
    return render_document([table], title=numbered_caption(table) or table.name, options=options)
