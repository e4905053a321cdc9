"""Captions and bracket pairs agree across formats (issue: hardening, second round).

A numbered Chinese table is captioned ``表1 标题`` (no colon) in LaTeX as in Word, HTML and
Markdown, where ctex's label printed ``表 1: 标题``; English captions stay ``Table 1: …``. Chinese
figure labels put full-width brackets around Chinese text, English ones ASCII brackets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from specfiles import GRUNFELD_HEAD, assert_latex_compiles, grunfeld_project
from specrun.api import run_file

SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  value: {label: {en: Market value, zh: 市值}}
  inv: {label: {en: Investment, zh: 投资}}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
multiverse:
  rob:
    base: fe
    focus: value
    axes:
      controls: {none: {x: [value]}, capital: {}}
tables:
  t: {kind: regression, columns: [fe], caption: CAPTION}
figures:
  curve: {kind: specification_curve, multiverse: rob}
  coef: {kind: coefplot, models: [fe], variable: value}
outputs: {formats: [latex, markdown, html, docx], language: LANGUAGE}
"""
)


def _pdf_text(pdf: Path) -> str:
    """The text of a compiled PDF as poppler's pdftotext lays it out."""
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def _run(folder: Path, language: str, caption: str):
    text = SPEC.replace("LANGUAGE", language).replace("CAPTION", caption)
    return run_file(grunfeld_project(folder, text), out=folder / "out")


def _captions(out: Path) -> dict[str, str]:
    """The caption as each format writes it (LaTeX: the \\caption argument)."""
    tex = (out / "tables" / "t.tex").read_text(encoding="utf-8")
    md = (out / "tables" / "t.md").read_text(encoding="utf-8")
    html = (out / "tables" / "t.html").read_text(encoding="utf-8")
    return {
        "latex": re.search(r"\\caption\{(.*)\}", tex).group(1),
        "markdown": md.splitlines()[0],
        "html": re.search(r"<caption>(.*)</caption>", html).group(1),
        "docx": docx.Document(str(out / "tables.docx")).paragraphs[1].text,
    }


def test_chinese_captions_read_the_same_in_every_format(tmp_path: Path):
    _run(tmp_path, "zh", "基准回归")
    out = tmp_path / "out"
    assert _captions(out) == {
        "latex": "表\\mbox{\\thetable} 基准回归",  # \thetable is 1, boxed: see the PDF test
        "markdown": "**表1 基准回归**",
        "html": "表1 基准回归",
        "docx": "表1 基准回归",
    }
    table = (out / "tables" / "t.tex").read_text(encoding="utf-8")
    # the label is empty, so ctex adds neither its 表 1 nor the colon; \ref still gives 1
    assert "\\renewcommand{\\thetable}{1}\n\\captionsetup{labelformat=empty}\n" in table
    assert "\\usepackage{caption}" in table.splitlines()[0]
    assert "\\usepackage{caption}\n" in (out / "tables.tex").read_text(encoding="utf-8")


def test_english_captions_are_unchanged(tmp_path: Path):
    _run(tmp_path, "en", "Baseline")
    out = tmp_path / "out"
    # LaTeX numbers the caption itself: Table 1: Baseline on the page
    assert _captions(out) == {
        "latex": "Baseline",
        "markdown": "**Table 1: Baseline**",
        "html": "Table 1: Baseline",
        "docx": "Table 1: Baseline",
    }
    assert "captionsetup" not in (out / "tables" / "t.tex").read_text(encoding="utf-8")


@pytest.mark.skipif(not shutil.which("xelatex"), reason="needs XeLaTeX")
def test_the_chinese_caption_on_the_pdf_page_has_no_colon(tmp_path: Path):
    _run(tmp_path, "zh", "基准回归")
    assert_latex_compiles(tmp_path / "out" / "tables.tex", tmp_path, engine="xelatex")
    text = _pdf_text(tmp_path / "tables.pdf")
    caption = next(line.strip() for line in text.splitlines() if "基准回归" in line)
    assert caption == "表1 基准回归"  # it read 表 1: 基准回归 (ctex's label)


@pytest.mark.parametrize(
    ("language", "curve", "coef"),
    [
        ("zh", "市值\n（95%置信区间）", "市值（95%置信区间）"),
        ("en", "Market value\n(95% CI)", "Market value (95% CI)"),
    ],
)
def test_figure_labels_pair_their_brackets(tmp_path: Path, language: str, curve: str, coef: str):
    # the Chinese labels read 市值\n(95%置信区间): ASCII brackets around Chinese text
    figures = _run(tmp_path, language, "x").output.figures
    assert figures["curve"].draw().axes[0].get_ylabel() == curve
    assert figures["coef"].draw().axes[0].get_ylabel() == coef


PANELS = (
    GRUNFELD_HEAD
    + """\
models:
  ols: {estimator: ols, y: inv, x: [value, capital]}
tables:
  plain: {kind: regression, columns: [ols], caption: Plain}
  a: {kind: regression, columns: [ols], caption: Mediation, panel: A}
  b: {kind: regression, columns: [ols], caption: Mediation, panel: B}
outputs: {formats: [latex, markdown], language: LANGUAGE}
"""
)


@pytest.mark.parametrize(
    ("language", "expected", "latex"),
    [
        # LaTeX's own label made these Table 2: Panel A: Mediation and 表 2: 面板A：Mediation;
        # the plain English table keeps it (Table 1: Plain on the page)
        (
            "en",
            ["Table 1: Plain", "Table 2, Panel A: Mediation", "Table 2, Panel B: Mediation"],
            [
                "Plain",
                "Table~\\mbox{\\thetable}, Panel A: Mediation",
                "Table~\\mbox{\\thetable}, Panel B: Mediation",
            ],
        ),
        (
            "zh",
            ["表1 Plain", "表2 面板A Mediation", "表2 面板B Mediation"],
            [
                "表\\mbox{\\thetable} Plain",
                # the letter boxed: xeCJK set a gap before it (面板 A on the page)
                "表\\mbox{\\thetable} 面板\\mbox{A} Mediation",
                "表\\mbox{\\thetable} 面板\\mbox{B} Mediation",
            ],
        ),
    ],
)
def test_panel_captions_read_the_same_in_latex_and_markdown(tmp_path, language, expected, latex):
    out = tmp_path / "out"
    run_file(grunfeld_project(tmp_path, PANELS.replace("LANGUAGE", language)), out=out)
    markdown = [
        line.strip("*")
        for line in (out / "tables.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("**")
    ]
    assert markdown == expected
    tex = (out / "tables.tex").read_text(encoding="utf-8")
    assert re.findall(r"\\caption\{(.*)\}", tex) == latex
    assert tex.count("\\captionsetup{labelformat=empty}") == (3 if language == "zh" else 2)
    assert "\\usepackage{caption}\n" in tex
    if shutil.which("xelatex"):
        engine = "xelatex" if language == "zh" else "pdflatex"
        assert_latex_compiles(out / "tables.tex", tmp_path, engine=engine)
        text = _pdf_text(tmp_path / "tables.pdf")
        # 面板A on the page as in Word, HTML and Markdown (xeCJK's gap made it 面板 A)
        lines = [line.strip() for line in text.splitlines()]
        assert [line for line in lines if line in expected] == expected


ZH_PANELS = (
    GRUNFELD_HEAD
    + """\
variables:
  inv: {label: 投资}
models:
  ols: {estimator: ols, y: inv, x: [value, capital]}
  robust: {estimator: ols, y: inv, x: [value, capital], se: robust}
tables:
  t: {kind: regression, panels: [{columns: [ols]}, {columns: [robust]}], caption: 稳健性,
      panel: A}
outputs: {formats: [latex, markdown, html, docx], language: zh}
"""
)


def test_a_chinese_panel_letter_follows_面板_without_a_space_in_every_format(tmp_path: Path):
    """The caption said 面板A in Word, HTML and Markdown but 面板 A on the XeLaTeX page
    (xeCJK's gap between Chinese and Latin text); a panel block's title was English (Panel A:
    投资) in a Chinese table."""
    out = tmp_path / "out"
    run_file(grunfeld_project(tmp_path, ZH_PANELS), out=out)
    caption, titles = "表1 面板A 稳健性", ["面板A：投资", "面板B：投资"]
    note = "括号内为标准误（面板A为普通标准误；面板B为异方差稳健标准误）。"
    assert _captions(out) == {
        "latex": "表\\mbox{\\thetable} 面板\\mbox{A} 稳健性",
        "markdown": f"**{caption}**",
        "html": caption,
        "docx": caption,
    }
    md = (out / "tables" / "t.md").read_text(encoding="utf-8")
    assert [f"| *{t}* |  |" in md for t in titles] == [True, True]
    assert f"\n{note}\\*\\*\\*" in md  # Chinese notes run on, no space after 。
    html = (out / "tables" / "t.html").read_text(encoding="utf-8")
    assert all(t in html for t in [*titles, note])
    document = docx.Document(str(out / "tables.docx"))
    cells = [c.text for row in document.tables[0].rows for c in row.cells]
    assert [t in cells for t in titles] == [True, True]
    assert any(p.text.startswith(note) for p in document.paragraphs)
    tex = (out / "tables" / "t.tex").read_text(encoding="utf-8")
    assert "\\textit{面板\\mbox{A}：投资}" in tex and "\\textit{面板\\mbox{B}：投资}" in tex
    assert "（面板\\mbox{A}为普通标准误；面板\\mbox{B}为异方差稳健标准误）" in tex
    if shutil.which("xelatex"):
        assert_latex_compiles(out / "tables.tex", tmp_path, engine="xelatex")
        lines = [line.strip() for line in _pdf_text(tmp_path / "tables.pdf").splitlines()]
        assert [line for line in lines if line in (caption, *titles)] == [caption, *titles]
        assert not [line for line in lines if re.search("面板 [A-Z]", line)]
