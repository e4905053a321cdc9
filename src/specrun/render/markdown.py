"""Markdown output: GitHub pipe tables with the caption above and the notes below.

A pipe table has a single header line, so the first header row of the IR becomes it (a group
label is repeated over every column it spans) and the other header rows open the body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from specrun.render.environment import (
    RENDERED_KEPT,
    body_alignments,
    check_spans,
    make_environment,
    rendered_once,
)
from specrun.render.options import RenderOptions
from specrun.tables.ir import Table

MARKDOWN_SPECIALS = re.compile(r"([\\`*_|\[\]<>#$~&])")
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
# A paragraph starting like a list item, quote or setext underline would change its meaning.
BLOCK_START = re.compile(r"^(\d+)([.)])|^([-+=])")
# A run of asterisks with white space (or the text's edge) on both sides can open no emphasis
# (CommonMark 0.31 §6.2: it is neither left- nor right-flanking), so it prints as it is.
LONE_STARS = re.compile(r"(?<!\S)\*+(?=\s|$)")
SEPARATORS = {"l": ":---", "c": ":---:", "r": "---:"}


def escape_markdown(text: str) -> str:
    """Inline text with emphasis, code, link, HTML and table characters taken literally."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", LINE_BREAKS.sub(" ", text))


def escape_paragraph(text: str) -> str:
    """Like :func:`escape_markdown`, and a leading list or quote marker is escaped too."""
    escaped = escape_markdown(text)
    match = BLOCK_START.match(escaped)
    if match is None:
        return escaped
    if match.group(3):
        return "\\" + escaped
    return f"{match.group(1)}\\{escaped[len(match.group(1)) :]}"


def escape_note(text: str) -> str:
    """A note paragraph: like :func:`escape_paragraph`, but star legends (``*** p < 0.01``)
    stay unescaped, since asterisks standing alone cannot make emphasis."""
    pieces: list[str] = []
    position = 0
    for match in LONE_STARS.finditer(text):
        pieces.append(escape_markdown(text[position : match.start()]))
        pieces.append(match.group())
        position = match.end()
    pieces.append(escape_markdown(text[position:]))
    escaped = "".join(pieces)
    if escaped.startswith("* ") or escaped.startswith("+ ") or escaped.startswith("- "):
        return "\\" + escaped  # a leading marker would start a list
    match = BLOCK_START.match(escaped)
    if match is not None and match.group(1):
        return f"{match.group(1)}\\{escaped[len(match.group(1)) :]}"
    return escaped


# full-width marks a Chinese sentence or clause ends with: the next note follows without a space
FULL_WIDTH_ENDS = tuple("。！？；：，、）」』】")


def run_on(notes: Sequence[str]) -> str:
    """A table's notes as one paragraph: each note after the one before with a space, as
    English sentences are set, except after a full-width mark (``标准误。***、**``), as
    Chinese sentences run on. Decided by each note's own end, not the table's language: an
    English source note in a Chinese table keeps its space, a Chinese note in an English
    table runs on."""
    text = ""
    for note in notes:
        if text and note and not text.endswith(FULL_WIDTH_ENDS):
            text += " "
        text += note
    return text


@cache
def environment() -> SandboxedEnvironment:
    return make_environment(
        autoescape=False,
        filters={
            "md": escape_markdown,
            "md_paragraph": escape_paragraph,
            "md_note": escape_note,
            "run_on": run_on,
        },
    )


def render_table(table: Table, *, options: RenderOptions | None = None) -> str:
    return rendered_once(_render_table, environment().get_template("markdown/table.md.j2"), table)


@lru_cache(maxsize=RENDERED_KEPT)
def _render_table(template: Template, table: Table) -> str:
    """``table`` rendered by ``template`` (kept: a run writes each table to its own file and
    again into ``tables.md``; a template reloaded from disk is another key)."""
    check_spans(table)
    separators = ["---"] + [SEPARATORS[a] for a in body_alignments(table)]
    return template.render(table=table, separators=separators)


def render_document(
    tables: Sequence[Table], *, title: str, options: RenderOptions | None = None
) -> str:
    rendered = [render_table(table) for table in tables]
    return (
        environment().get_template("markdown/document.md.j2").render(tables=rendered, title=title)
    )
