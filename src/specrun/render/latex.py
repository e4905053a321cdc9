"""LaTeX output: booktabs tables inside threeparttable, and a standalone document of them all.

User text is escaped by :func:`escape_latex`; the few mathematical symbols that table labels use
(``R²``, ``γ̂``, ``≤``, ``·``, the minus sign of every negative number) become inline math, so a
negative number prints as ``$-$0.123``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cache, lru_cache

from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from specrun.errors import SpecError
from specrun.render.cells import printed_number
from specrun.render.environment import (
    LATEX_SYNTAX,
    RENDERED_KEPT,
    PlacedCell,
    body_alignments,
    check_spans,
    make_environment,
    numbered_caption,
    place,
    rendered_once,
    table_texts,
)
from specrun.render.options import RenderOptions
from specrun.render.width import is_wide
from specrun.tables.ir import Table
from specrun.tables.text import has_cjk

TEXT_REPLACEMENTS: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    # Accents on nothing and math: \textasciitilde and \textbar would pull in a TS1 font that
    # many TeX installations only have as bitmaps.
    "~": r"\~{}",
    "^": r"\^{}",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "\u00a0": "~",
}

MATH_SYMBOLS: dict[str, str] = {
    **{chr(0x2080 + d): f"_{{{d}}}" for d in range(10)},  # subscript digits ₀…₉
    # subscript letters of statistic names (uᵢ of xtreg's F test): no text font has them
    "ᵢ": "_{i}",
    "ₜ": "_{t}",
    "¹": "^{1}",
    "²": "^{2}",
    "³": "^{3}",
    # In the default OT1 font encoding these print as other glyphs (¡, ¿, an em dash).
    "|": "|",
    "<": "<",
    ">": ">",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≈": r"\approx",
    "·": r"\cdot",
    "×": r"\times",
    "±": r"\pm",
    "−": "-",
    "∞": r"\infty",
    "′": "'",
    "″": "''",
    "→": r"\rightarrow",
    "←": r"\leftarrow",
    "↔": r"\leftrightarrow",
    "∑": r"\sum",
    "√": r"\surd",
    "∈": r"\in",
    "≡": r"\equiv",
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "π": r"\pi",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\phi",
    "χ": r"\chi",
    "ψ": r"\psi",
    "ω": r"\omega",
    "Γ": r"\Gamma",
    "Δ": r"\Delta",
    "Σ": r"\Sigma",
    "Ω": r"\Omega",
}

# Combining marks (as in "γ̂") become math accents over the character before them.
MATH_ACCENTS: dict[str, str] = {"\u0302": r"\hat", "\u0304": r"\bar", "\u0303": r"\tilde"}

LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")
# a Chinese panel's letters (面板A, 面板A、B): xeCJK sets its inter-script gap between CJK and
# Latin text (面板 A), but the letter is part of the label, which Chinese typesetting writes
# unspaced, as Word, HTML and Markdown print it; a boxed letter takes no gap
PANEL_LETTERS = re.compile(r"(?<=面板)[A-Z](?:、[A-Z])*")
LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9:._\-]")


def _math_of(char: str) -> str | None:
    if char in MATH_SYMBOLS:
        return MATH_SYMBOLS[char]
    if char.isascii() and char.isalnum():
        return char
    return None


def escape_latex(text: str) -> str:
    """Plain Unicode text as LaTeX: specials escaped, math symbols set in (merged) inline math,
    a Chinese panel's letters boxed (``面板\\mbox{A}``: no xeCJK gap, as ``PANEL_LETTERS``)."""
    text = LINE_BREAKS.sub(" ", text)
    pieces: list[tuple[bool, str]] = []  # (is_math, latex)
    index = 0
    while index < len(text):
        char = text[index]
        accent = MATH_ACCENTS.get(text[index + 1]) if index + 1 < len(text) else None
        base = _math_of(char)
        if accent is not None and base is not None:
            pieces.append((True, f"{accent}{{{base}}}"))
            index += 2
            continue
        if char in MATH_ACCENTS:
            index += 1  # a combining mark over something that has no math form is dropped
            continue
        if char in MATH_SYMBOLS:
            pieces.append((True, MATH_SYMBOLS[char]))
        else:
            pieces.append((False, TEXT_REPLACEMENTS.get(char, char)))
        index += 1
    out: list[str] = []
    math_run: list[str] = []
    for is_math, latex in pieces:
        if is_math:
            math_run.append(latex)
            continue
        if math_run:
            out.append("$" + "".join(math_run) + "$")
            math_run = []
        out.append(latex)
    if math_run:
        out.append("$" + "".join(math_run) + "$")
    return PANEL_LETTERS.sub(_boxed_letters, "".join(out))


def _boxed_letters(match: re.Match[str]) -> str:
    return "、".join(f"\\mbox{{{letter}}}" for letter in match.group(0).split("、"))


def latex_stars(stars: str) -> str:
    return f"$^{{{stars}}}$" if stars else ""


def latex_label(table: Table) -> str:
    """The ``\\label`` key: the table's own or ``tab:<name>``, with unsafe characters replaced."""
    return LABEL_UNSAFE.sub("-", table.label or f"tab:{table.name}")


@cache
def environment() -> SandboxedEnvironment:
    return make_environment(
        autoescape=False,
        filters={"tex": escape_latex, "stars": latex_stars},
        globals={"latex_cell": latex_cell},
        syntax=LATEX_SYNTAX,
    )


def latex_caption(table: Table) -> str:
    """The ``\\caption`` text: LaTeX numbers the table itself (``\\thetable`` is set to the
    table's number). A caption with its own label (``own_label``: ``表5 面板B 标题``,
    ``Table 5, Panel B: Caption``, as Word, HTML and Markdown print them) is the text after
    ``表5`` or ``Table 5``, which the template writes as ``表\\mbox{\\thetable}``; an
    unnumbered panel adds its letter (``Panel B: …``, ``面板B …``)."""
    panel = table.layout.panel
    if own_label(table):
        # after 表\thetable (Table~\thetable), which the template writes; the label is empty
        word = "表" if table.layout.language == "zh" else "Table "
        return numbered_caption(table).removeprefix(f"{word}{table.layout.number}")
    if not panel:
        return table.caption
    if table.layout.language == "zh":
        return f"面板{panel} {table.caption}" if table.caption else f"面板{panel}"
    return f"Panel {panel}: {table.caption}" if table.caption else f"Panel {panel}"


def own_label(table: Table) -> bool:
    """Whether the caption carries its own number (``\\captionsetup{labelformat=empty}``):
    a numbered Chinese table (``表1 标题``, where ctex's label is ``表 1: ``) or a numbered
    panel (``Table 5, Panel B: …``, where LaTeX's label gives ``Table 5: Panel B: …``), so
    that the page reads as ``numbered_caption`` prints it in Word, HTML and Markdown."""
    layout = table.layout
    return bool(layout.number) and (layout.language == "zh" or bool(layout.panel))


def _label_word(table: Table) -> str:
    """What the caption writes before ``\\mbox{\\thetable}`` (LaTeX, not escaped)."""
    return "表" if table.layout.language == "zh" else "Table~"


def required_packages(table: Table) -> str:
    """The packages a table's LaTeX needs, for the comment at its top."""
    packages = ["booktabs", "threeparttable"]
    if decimal_columns(table):
        packages.append("dcolumn")
    if table.layout.resize:
        packages.append("adjustbox")
    if table.layout.landscape:
        packages.append("pdflscape")
    if own_label(table):
        packages.append("caption")  # labelformat=empty
    if needs_cjk([table]):
        packages.append("ctex (compile with XeLaTeX)")
    listed = [f"\\usepackage{{{p}}}" if " " not in p else p for p in packages]
    return ", ".join(listed[:-1]) + " and " + listed[-1]


def needs_cjk(tables: Sequence[Table], title: str = "") -> bool:
    """Whether any text of the tables (or the title) is Chinese, Japanese or Korean."""
    return has_cjk(title) or any(has_cjk(text) for table in tables for text in table_texts(table))


def latex_engine(tables: Sequence[Table], title: str, options: RenderOptions) -> str:
    """``pdflatex`` or ``xelatex``: ``auto`` picks XeLaTeX (with ctex) when the text needs it.

    Raises a SpecError when ``pdflatex`` is asked for and the text is Chinese: pdflatex stops
    at the first ideograph (``Unicode character 数 (U+6570) not set up``).
    """
    chinese = needs_cjk(tables, title) or any(t.layout.language == "zh" for t in tables)
    if options.latex_engine == "pdflatex" and chinese:
        raise SpecError(
            "the engine is pdflatex, but the tables hold Chinese text, which pdflatex cannot set",
            code="schema",
            path="outputs.latex.engine",
            hint="use engine: auto or xelatex (tables.tex then loads ctex)",
        )
    if options.latex_engine == "xelatex" or (options.latex_engine == "auto" and chinese):
        return "xelatex"
    return "pdflatex"


DECIMAL_COLUMN = "D{.}{.}{-1}"


def decimal_columns(table: Table) -> set[int]:
    """Body columns (1-based) aligned on the decimal point: centred columns that hold a
    number, when the table asks for decimal alignment."""
    if not table.layout.decimal:
        return set()
    alignments = body_alignments(table)
    numeric = set()
    for block in table.blocks:
        for row in block.rows:
            for p in place(row.cells, table, False):
                if p.first == p.last and printed_number(p.cell.text) is not None:
                    numeric.add(p.first)
    return {c for c in numeric if alignments[c - 1] == "c"}


def math_number(text: str, stars: str) -> str:
    """A number inside a dcolumn column (already math mode): ``-0.123^{***}``, ``3{,}143``.

    A thousands separator is braced: in math mode a bare comma is punctuation, followed by a
    thin space ("3, 143")."""
    number = text.replace("−", "-").replace(",", "{,}")
    return number + (f"^{{{stars}}}" if stars else "")


def latex_cell(placed: PlacedCell, decimal: set[int], header: bool) -> str:
    """One cell. In a decimal (dcolumn) column a number is set in math mode and split at its
    point; anything else there (headers, Yes/No, intervals) is a centred ``\\multicolumn``."""
    cell = placed.cell
    text = escape_latex(cell.text) + latex_stars(cell.stars)
    in_decimal = placed.first in decimal and placed.first == placed.last
    if in_decimal and not header and printed_number(cell.text) is not None:
        return math_number(cell.text, cell.stars)
    if in_decimal:
        return f"\\multicolumn{{1}}{{c}}{{{text}}}" if text else ""
    if cell.span > 1 or placed.align != placed.column_align:
        return f"\\multicolumn{{{cell.span}}}{{{placed.align}}}{{{text}}}"
    return text


def render_table(table: Table, *, options: RenderOptions | None = None) -> str:
    """One table's LaTeX (a ``table`` float, inside pdflscape's ``landscape`` when the table is
    wide for ``options.paper``: ``render.width.is_wide``, the rule Word's sections follow)."""
    paper = (options or RenderOptions()).paper
    turned = replace(table, layout=replace(table.layout, landscape=is_wide(table, paper)))
    return rendered_once(_render_table, environment().get_template("latex/table.tex.j2"), turned)


@lru_cache(maxsize=RENDERED_KEPT)
def _render_table(template: Template, table: Table) -> str:
    """``table`` rendered by ``template`` (kept: a run writes each table to its own file and
    again into ``tables.tex``; a template reloaded from disk is another key)."""
    check_spans(table)
    decimal = decimal_columns(table)
    columns = [
        DECIMAL_COLUMN if index in decimal else align
        for index, align in enumerate(body_alignments(table), start=1)
    ]
    return template.render(
        table=table,
        label=latex_label(table),
        column_specs=columns,
        decimal=decimal,
        caption=latex_caption(table),
        own_label=own_label(table),
        label_word=_label_word(table),
        packages=required_packages(table),
    )


def render_document(
    tables: Sequence[Table], *, title: str, options: RenderOptions | None = None
) -> str:
    """A standalone article holding every table; it ``\\input``s nothing.

    Its first lines name the engine: pdflatex, or XeLaTeX with ``ctex`` when the text is
    Chinese (``outputs.latex.engine``); the paper is ``outputs.latex.paper`` (A4 by default).
    """
    options = options or RenderOptions()
    engine = latex_engine(tables, title, options)
    rendered = [render_table(table, options=options) for table in tables]
    heading = f"\\begin{{center}}\n{{\\Large {escape_latex(title)}}}\n\\end{{center}}"
    opening = "\\begin{landscape}\n"
    # a landscape first table: the title heads its page (pdflscape's landscape begins a new
    # page, which left the title alone on a portrait one), as Word's tables.docx sets it
    title_in_first = bool(rendered) and opening in rendered[0]
    if title_in_first:
        rendered[0] = rendered[0].replace(opening, opening + heading + "\n", 1)
    chinese_names = any(t.layout.language == "zh" for t in tables)
    return (
        environment()
        .get_template("latex/document.tex.j2")
        .render(
            tables=rendered,
            title=title,
            heading=heading,
            title_in_first=title_in_first,
            engine=engine,
            paper=options.paper,
            chinese_names=chinese_names,
            caption_package=any(own_label(t) for t in tables),
        )
    )
