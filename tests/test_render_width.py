"""The landscape rule shared by Word and LaTeX (``render.width``): a table wider than the
portrait text goes on a landscape page; ``landscape: true``/``false`` decide when given."""

from __future__ import annotations

from dataclasses import replace

from specrun.render import RenderOptions, render_table
from specrun.render.width import is_wide, natural_width_pt, text_width_pt
from specrun.tables.ir import Block, Cell, HeaderRow, Layout, Row, Table


def _table(columns: int, *, landscape: bool | None = None) -> Table:
    """A regression-like table of ``columns`` body columns: a header of column numbers and a
    coefficient row with its standard errors."""
    return Table(
        name="t",
        caption="Wide",
        header=(HeaderRow("", cells=tuple(Cell(f"({k})") for k in range(1, columns + 1))),),
        blocks=(
            Block(
                rows=(
                    Row("Digital trade", tuple(Cell("0.525", stars="***") for _ in range(columns))),
                    Row("", tuple(Cell("(0.123)") for _ in range(columns))),
                )
            ),
        ),
        n_columns=columns,
        layout=Layout(landscape=landscape, resize=True),
    )


def test_a4_text_block_is_the_page_less_25_mm_margins():
    # A4 is 210 x 297 mm (ISO 216); 160 mm and 247 mm in points (72 to the inch of 25.4 mm)
    assert round(text_width_pt("a4", landscape=False), 1) == 453.5
    assert round(text_width_pt("a4", landscape=True), 1) == 700.2


def test_sixteen_columns_turn_the_page_four_do_not():
    narrow, wide = _table(4), _table(16)
    assert natural_width_pt(narrow) < text_width_pt("a4", landscape=False)
    assert not is_wide(narrow) and is_wide(wide)
    assert is_wide(replace(narrow, layout=Layout(landscape=True)))
    assert not is_wide(replace(wide, layout=Layout(landscape=False)))


def test_latex_puts_a_wide_table_on_a_landscape_page_unless_told_not_to():
    # LaTeX shrank a 16-column table onto a portrait page; only landscape: true turned it
    latex = render_table(_table(16), "latex", RenderOptions())
    assert "\\begin{landscape}" in latex and "\\usepackage{pdflscape}" in latex
    kept = render_table(_table(16, landscape=False), "latex", RenderOptions())
    assert "\\begin{landscape}" not in kept
    assert "\\begin{adjustbox}{max width=\\linewidth}" in kept  # shrunk on its portrait page
    assert "\\begin{landscape}" not in render_table(_table(4), "latex", RenderOptions())
    assert "\\begin{landscape}" in render_table(_table(4, landscape=True), "latex", RenderOptions())


def test_title_heads_a_landscape_first_table_page():
    # pdflscape's landscape begins a new page: the title sat alone on a portrait first page
    from specrun.render import render_document

    text = render_document([_table(16), _table(4)], "latex", title="Wide tables")
    assert text.count("Wide tables") == 1
    assert "\\begin{landscape}\n\\begin{center}\n{\\Large Wide tables}\n\\end{center}\n" in text
    portrait = render_document([_table(4), _table(16)], "latex", title="Wide tables")
    assert portrait.index("{\\Large Wide tables}") < portrait.index("\\begin{landscape}")
