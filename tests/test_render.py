"""Rendering the table IR to LaTeX, Markdown and HTML (``specrun.render``).

The golden files under ``tests/golden/`` hold the expected output for two small tables built
here by hand: a regression-style table and a two-panel table. After a deliberate change to a
template, rewrite them with

    SPECRUN_UPDATE_GOLDEN=1 pytest tests/test_render.py

and review the diff before committing. Escaping rules follow the LaTeX manual's list of special
characters (Lamport 1994, LaTeX, §2.2.1) and CommonMark 0.31 §2.4 (backslash escapes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from specrun.errors import SpecError
from specrun.render import FORMATS, html, latex, markdown, render_document, render_table
from specrun.render import environment as template_environment
from specrun.render.latex import escape_latex
from specrun.render.markdown import escape_markdown, escape_paragraph
from specrun.tables.ir import Block, Cell, HeaderRow, Layout, Row, Table

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("SPECRUN_UPDATE_GOLDEN") == "1"
USER_NOTE = "Data: 100% synthetic; file panel_v2.csv, item #3 & more, costs $5."


def regression_table() -> Table:
    """Four models: two pooled, two with fixed effects. The numbers are made up for layout."""
    header = (
        HeaderRow(
            "",
            (Cell("Mixed regression", span=2), Cell("Two-way fixed effect", span=2)),
            rule_under=True,
        ),
        HeaderRow("", tuple(Cell(f"({i})") for i in range(1, 5))),
        HeaderRow("", tuple(Cell("Expy") for _ in range(4))),
    )
    coefficients = (
        Row(
            "Dige",
            (Cell("0.412", "***"), Cell("0.388", "***"), Cell("−0.123", "*"), Cell("0.097")),
            "coef",
        ),
        Row("", (Cell("(0.051)"), Cell("(0.049)"), Cell("(0.066)"), Cell("(0.071)")), "se"),
        Row("Dige·I(STR≤γ̂)", (Cell(), Cell(), Cell("1.020", "**"), Cell("−0.004")), "coef"),
        Row("", (Cell(), Cell(), Cell("(0.400)"), Cell("(0.010)")), "se"),
    )
    indicators = (
        Row("Controls", (Cell("No"), Cell("Yes"), Cell("No"), Cell("Yes")), "indicator"),
        Row("Time FE", (Cell("No"), Cell("No"), Cell("Yes"), Cell("Yes")), "indicator"),
    )
    stats = (
        Row("N", tuple(Cell("341") for _ in range(4)), "stat"),
        Row("R²", (Cell("0.512"), Cell("0.634"), Cell("0.701"), Cell("0.755")), "stat"),
    )
    return Table(
        name="baseline",
        caption="Digital trade & export sophistication: baseline",
        header=header,
        blocks=(Block(coefficients), Block(indicators), Block(stats)),
        n_columns=4,
        notes=(
            "Standard errors (clustered by province) in parentheses.",
            "*** p < 0.01, ** p < 0.05, * p < 0.1.",
            USER_NOTE,
        ),
    )


def panel_table() -> Table:
    """Two panels over the same columns, a left-aligned column, and a cell spanning two."""
    return Table(
        name="thresholds",
        caption="Threshold tests",
        label="tab:threshold_tests",
        header=(HeaderRow("", (Cell("F"), Cell("p"), Cell("Threshold γ"))),),
        blocks=(
            Block(
                (
                    Row("Single", (Cell("41.2", "***"), Cell("0.004"), Cell("0.873", align="r"))),
                    Row("95% CI", (Cell("[0.85, 0.91]", span=2), Cell("—"))),
                ),
                title="Panel A: single threshold",
            ),
            Block(
                (Row("Double", (Cell("3.1"), Cell("0.412"), Cell("1.204"))),),
                title="Panel B: double threshold",
                rule_before=False,
            ),
        ),
        n_columns=3,
        stub_header="Model",
        column_align="rrl",
    )


TABLES = {"regression": regression_table, "panels": panel_table}
EXTENSIONS = {"latex": "tex", "markdown": "md", "html": "html"}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {name}; run with SPECRUN_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
@pytest.mark.parametrize("table_name", sorted(TABLES))
def test_table_matches_golden_file(table_name: str, fmt: str) -> None:
    text = render_table(TABLES[table_name](), fmt)
    check_golden(f"{table_name}.{EXTENSIONS[fmt]}", text)


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_document_matches_golden_file(fmt: str) -> None:
    tables = [regression_table(), panel_table()]
    text = render_document(tables, fmt, title="Digital trade & EXPY")
    check_golden(f"document.{EXTENSIONS[fmt]}", text)


def test_latex_table_has_the_three_line_layout() -> None:
    # decimal alignment off: centred columns, numbers in text mode
    table = replace(regression_table(), layout=Layout(decimal=False))
    text = render_table(table, "latex")
    assert text.startswith("% Requires \\usepackage{booktabs} and \\usepackage{threeparttable}.\n")
    for piece in (
        "\\begin{table}[htbp]\n\\centering\n\\begin{threeparttable}\n",
        "\\caption{Digital trade \\& export sophistication: baseline}\n\\label{tab:baseline}\n",
        "\\begin{tabular}{lcccc}\n\\toprule\n",
        " & \\multicolumn{2}{c}{Mixed regression}"
        " & \\multicolumn{2}{c}{Two-way fixed effect} \\\\\n"
        "\\cmidrule(lr){2-3}\\cmidrule(lr){4-5}\n",
        "Dige & 0.412$^{***}$ & 0.388$^{***}$ & $-$0.123$^{*}$ & 0.097 \\\\\n",
        "Dige$\\cdot$I(STR$\\leq\\hat{\\gamma}$) &  &  & 1.020$^{**}$ & $-$0.004 \\\\\n",
        "R$^{2}$ & 0.512 & 0.634 & 0.701 & 0.755 \\\\\n\\bottomrule\n\\end{tabular}\n",
        "\\begin{tablenotes}\n\\footnotesize\n",
        "\\item Data: 100\\% synthetic; file panel\\_v2.csv, item \\#3 \\& more, costs \\$5.\n",
        "\\end{tablenotes}\n\\end{threeparttable}\n\\end{table}\n",
    ):
        assert piece in text
    assert text.count("\\midrule") == 3  # under the header, before indicators, before stats


def test_latex_numbers_align_on_the_decimal_point() -> None:
    text = render_table(regression_table(), "latex")
    assert text.startswith(
        "% Requires \\usepackage{booktabs}, \\usepackage{threeparttable} and "
        "\\usepackage{dcolumn}.\n"
    )
    assert "\\begin{tabular}{lD{.}{.}{-1}D{.}{.}{-1}D{.}{.}{-1}D{.}{.}{-1}}\n" in text
    # numbers in the column's math mode, split at the point; words centred over the column
    assert "Dige & 0.412^{***} & 0.388^{***} & -0.123^{*} & 0.097 \\\\\n" in text
    assert " & (0.051) & (0.049) & (0.066) & (0.071) \\\\\n" in text
    assert "Controls & \\multicolumn{1}{c}{No} & \\multicolumn{1}{c}{Yes}" in text
    assert " & \\multicolumn{1}{c}{(1)} & \\multicolumn{1}{c}{(2)}" in text


def test_latex_panels_titles_alignment_and_spans() -> None:
    text = render_table(panel_table(), "latex")
    assert "\\begin{tabular}{lrrl}\n" in text
    # Header cells are centred whatever their column's alignment.
    assert (
        "Model & \\multicolumn{1}{c}{F} & \\multicolumn{1}{c}{p} & "
        "\\multicolumn{1}{c}{Threshold $\\gamma$} \\\\\n"
    ) in text
    assert "\\multicolumn{4}{l}{\\textit{Panel A: single threshold}} \\\\\n" in text
    assert "Single & 41.2$^{***}$ & 0.004 & \\multicolumn{1}{r}{0.873} \\\\\n" in text
    assert "95\\% CI & \\multicolumn{2}{r}{[0.85, 0.91]} & --- \\\\\n" in text
    # Panel B asks for no rule before it: a little space instead.
    assert "\\addlinespace\n\\multicolumn{4}{l}{\\textit{Panel B: double threshold}}" in text
    assert "\\label{tab:threshold_tests}" in text
    assert "tablenotes" not in text  # no notes, no empty list (LaTeX rejects one)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\\b & c % d $ e # f _ g { h } i ~ j ^ k", None),
        ("R²", "R$^{2}$"),
        ("R² (within)", "R$^{2}$ (within)"),
        ("γ̂", "$\\hat{\\gamma}$"),
        ("STR ≤ γ", "STR $\\leq$ $\\gamma$"),
        ("STR>γ", "STR$>\\gamma$"),
        ("Dige·I(STR≤γ)", "Dige$\\cdot$I(STR$\\leq\\gamma$)"),
        ("χ² × 3", "$\\chi^{2}$ $\\times$ 3"),
        ("α, β, θ", "$\\alpha$, $\\beta$, $\\theta$"),
        ("−0.123", "$-$0.123"),
        ("2012–2022, Table 1…", "2012--2022, Table 1\\ldots{}"),
        ("a|b", "a$|$b"),
        ("two\nlines", "two lines"),
        # xtreg's F test: no text font has ᵢ (XeLaTeX's PDF printed "all u = 0")
        ("所有uᵢ = 0的F检验p值", "所有u$_{i}$ = 0的F检验p值"),
    ],
)
def test_escape_latex(text: str, expected: str | None) -> None:
    if expected is None:
        expected = "a\\textbackslash{}b \\& c \\% d \\$ e \\# f \\_ g \\{ h \\} i \\~{} j \\^{} k"
    assert escape_latex(text) == expected


def test_escape_markdown() -> None:
    assert escape_markdown("a*b|c_d `e` [f] <g> #h $i ~j &k \\l") == (
        "a\\*b\\|c\\_d \\`e\\` \\[f\\] \\<g\\> \\#h \\$i \\~j \\&k \\\\l"
    )
    assert escape_paragraph("1. not a list") == "1\\. not a list"
    assert escape_paragraph("- not a list") == "\\- not a list"
    assert escape_paragraph("*** p < 0.01") == "\\*\\*\\* p \\< 0.01"


def test_markdown_table_layout() -> None:
    lines = render_table(regression_table(), "markdown").splitlines()
    assert lines[0] == "**Digital trade \\& export sophistication: baseline**"
    assert lines[2] == (
        "|  | Mixed regression | Mixed regression | Two-way fixed effect | Two-way fixed effect |"
    )
    assert lines[3] == "| --- | :---: | :---: | :---: | :---: |"
    assert lines[6] == "| Dige | 0.412*** | 0.388*** | −0.123* | 0.097 |"
    assert lines[-1].endswith("item \\#3 \\& more, costs \\$5.")


def test_html_escapes_user_text_and_marks_stars() -> None:
    table = Table(
        name="x",
        caption="<script>alert(1)</script>",
        header=(HeaderRow("", (Cell("A & B", span=2),)),),
        blocks=(Block((Row("<b>", (Cell("1.0", "**"), Cell('"q"'))),)),),
        n_columns=2,
        notes=("p < 0.1",),
    )
    text = render_table(table, "html")
    assert "<caption>&lt;script&gt;alert(1)&lt;/script&gt;</caption>" in text
    assert '<th class="rule-under" colspan="2">A &amp; B</th>' in text
    assert '<th scope="row" style="text-align: left">&lt;b&gt;</th>' in text
    assert "<td>1.0<sup>**</sup></td><td>&#34;q&#34;</td>" in text
    assert '<tfoot>\n<tr class="note"><td colspan="3">p &lt; 0.1</td></tr>\n</tfoot>' in text


def test_html_document_keeps_rendered_tables_unescaped() -> None:
    text = render_document([panel_table()], "html", title="A & B")
    assert "<title>A &amp; B</title>" in text
    assert '<table class="specrun-table" id="tab:threshold_tests">' in text


@pytest.mark.parametrize("module", [latex, markdown, html])
def test_templates_run_in_the_sandbox(module) -> None:
    environment = module.environment()
    assert isinstance(environment, SandboxedEnvironment)
    unsafe = (
        "\\VAR{ table.__class__.__mro__ }" if module is latex else "{{ table.__class__.__mro__ }}"
    )
    with pytest.raises(SecurityError):
        environment.from_string(unsafe).render(table=panel_table())


def test_formats_registry_names_and_extensions() -> None:
    assert FORMATS.names() == ["docx", "html", "latex", "markdown", "xlsx"]
    extensions = {name: FORMATS.get(name).extension for name in FORMATS.names()}
    assert extensions == {**EXTENSIONS, "docx": "docx", "xlsx": "xlsx"}


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(SpecError) as caught:
        render_table(panel_table(), "latx")
    assert str(caught.value) == "unknown output format 'latx' (did you mean 'latex'?)"


def test_row_not_covering_the_columns_is_an_error() -> None:
    table = Table(
        name="short",
        caption="",
        header=(),
        blocks=(Block((Row("Dige", (Cell("1"), Cell("2", span=2))),)),),
        n_columns=2,
    )
    with pytest.raises(SpecError, match="table 'short', row 'Dige' covers 3 columns, the table"):
        render_table(table, "latex")


def test_bad_column_align_is_an_error() -> None:
    table = Table(name="t", caption="", header=(), blocks=(), n_columns=3, column_align="lc")
    with pytest.raises(SpecError, match="column_align 'lc'"):
        render_table(table, "markdown")


def test_label_only_row_is_filled_with_empty_cells() -> None:
    table = Table(
        name="t",
        caption="",
        header=(),
        blocks=(Block((Row("Note row", ()),)),),
        n_columns=2,
        stub_header="Variable",
    )
    assert "| Note row |  |  |" in render_table(table, "markdown")
    assert "| Variable |  |  |\n| --- | :---: | :---: |" in render_table(table, "markdown")
    assert "\\toprule\nNote row &  &  \\\\\n\\bottomrule" in render_table(table, "latex")


def test_template_folder_prefers_the_installed_one(tmp_path: Path) -> None:
    installed, source = tmp_path / "installed", tmp_path / "source"
    source.mkdir()
    assert template_environment.first_existing_folder([None, installed, source]) == source
    installed.mkdir()
    assert template_environment.first_existing_folder([installed, source]) == installed
    with pytest.raises(SpecError, match="templates were not found"):
        template_environment.first_existing_folder([tmp_path / "missing"])
    found = template_environment.template_folder()
    assert (found / "latex" / "table.tex.j2").is_file()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH")
def test_latex_document_compiles(tmp_path: Path) -> None:
    bare = Table(
        name="bare",
        caption="",
        header=(),
        blocks=(Block((Row("a_b", (Cell("1"),)),)),),
        n_columns=1,
    )
    tables = [regression_table(), panel_table(), bare]
    source = tmp_path / "tables.tex"
    source.write_text(render_document(tables, "latex", title="Tables & notes"), encoding="utf-8")
    completed = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert (tmp_path / "tables.pdf").stat().st_size > 0
    log = (tmp_path / "tables.log").read_text(encoding="latin-1")
    assert "Unicode character" not in log
    assert "Missing character" not in log


@pytest.mark.parametrize("fmt", ["latex", "markdown", "html"])
def test_a_table_is_rendered_once_for_its_file_and_the_document(fmt, monkeypatch):
    # build once, write many: tables.tex/.md/.html place the text each table's own file
    # already rendered; an equal table (the IR is frozen, compared by value) is the same
    # text, and one built with lists (unhashable) is still rendered, each time
    from jinja2 import Template

    tables = [regression_table(), panel_table()]
    expected = {t.name: render_table(t, fmt) for t in tables}
    document = render_document(tables, fmt, title="Tables")
    renders: list[str] = []
    real = Template.render

    def counting(self, *args, **kwargs):
        renders.append(self.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Template, "render", counting)
    copies = [replace(t) for t in tables]
    assert {t.name: render_table(t, fmt) for t in copies} == expected
    assert render_document(copies, fmt, title="Tables") == document
    assert all("table" not in name for name in renders)  # the documents' templates only
    listed = replace(tables[0], notes=list(tables[0].notes))
    assert render_table(listed, fmt) == expected["baseline"]
    assert render_table(listed, fmt) == expected["baseline"]
    assert sum("table" in name for name in renders) == 2


def test_latex_thousands_separator_in_a_decimal_column(tmp_path: Path) -> None:
    # in dcolumn's math mode a bare comma is punctuation: N printed as "3, 143"
    table = replace(
        regression_table(),
        blocks=(Block((Row("N", tuple(Cell("3,143") for _ in range(4)), "stat"),)),),
    )
    text = render_table(table, "latex")
    assert "N & 3{,}143 & 3{,}143 & 3{,}143 & 3{,}143 \\\\\n" in text
    if shutil.which("pdflatex") is None or shutil.which("pdftotext") is None:
        pytest.skip("pdflatex and pdftotext are needed to look at the printed number")
    source = tmp_path / "t.tex"
    source.write_text(render_document([table], "latex", title="N"), encoding="utf-8")
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=True,
    )
    printed = subprocess.run(
        ["pdftotext", "t.pdf", "-"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert "3,143" in printed and "3, 143" not in printed
