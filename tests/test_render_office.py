"""Word and Excel tables read back (python-docx, openpyxl) and checked against the Table IR.

Every table kind of the paper (weights, descriptive, regression, mediation, threshold tests,
panels of one number) is run once in English (``specs/paper.yaml``) and once in Chinese
(``specs/paper_zh.yaml``), with fewer bootstrap draws (``specfiles.fast_paper``); each cell of
each ``.docx``/``.xlsx`` must print what the IR holds, with three-line borders (1.5 pt above
and below, 0.75 pt under the header, none vertical) and the configured fonts.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from specfiles import assert_latex_compiles, fast_paper
from specrun.api import Run, run_file
from specrun.render import RenderOptions, render_document, render_table
from specrun.render import docx as word
from specrun.render.cells import printed_number
from specrun.render.environment import grid_lines, numbered_caption
from specrun.render.width import is_wide
from specrun.tables.ir import Table

KINDS = {
    "table1": "weights",
    "table2": "descriptive",
    "table3": "regression",
    "table5_effects": "mediation",
    "table6": "threshold_test",
}


def _run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Run:
    folder = tmp_path_factory.mktemp(name.removesuffix(".yaml"))
    with warnings.catch_warnings():
        # a figure with Chinese text must find a CJK font: a missing glyph fails the test
        warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
        return run_file(fast_paper(folder, name), out=folder / "out")


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory, "paper.yaml")


@pytest.fixture(scope="module")
def chinese(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory, "paper_zh.yaml")


def _files(run: Run) -> dict[str, bytes]:
    return {f.relative: f.content for f in run.files}


def _border(cell, side: str) -> str | None:
    """The w:sz (eighths of a point) of a Word cell's border on ``side``, if it has one."""
    borders = cell._tc.tcPr.find(qn("w:tcBorders")) if cell._tc.tcPr is not None else None
    if borders is None or borders.find(qn(f"w:{side}")) is None:
        return None
    return borders.find(qn(f"w:{side}")).get(qn("w:sz"))


def check_docx(content: bytes, table: Table, latin: str, cjk: str) -> None:
    document = Document(io.BytesIO(content))
    assert document.paragraphs[0].text == numbered_caption(table)
    assert [p.text for p in document.paragraphs[1:]] == list(table.notes)
    (grid,) = document.tables
    lines = grid_lines(table)
    assert len(grid.rows) == len(lines)
    for row, line in zip(grid.rows, lines, strict=True):
        cells = row.cells
        assert cells[0].text == line.label
        for placed in line.cells:
            # a decimal tab before a number aligns it on its point
            assert cells[placed.first].text.lstrip("\t") == placed.cell.text + placed.cell.stars
        sides = [_border(cells[0], "top"), _border(cells[0], "bottom")]
        expected_top = {"top": "12", "header": "6", "mid": "4", "": None}[line.rule_above]
        assert sides[0] == expected_top, line
        if line.rule_below:
            assert sides[1] == "12"
    # no vertical rules (a table fitted to the page sets its cell margins, w:tblCellMar's
    # w:left and w:right, which are no borders)
    xml = re.sub(r"<w:tblCellMar>.*?</w:tblCellMar>", "", grid._tbl.xml, flags=re.S)
    assert "<w:left" not in xml and "<w:right" not in xml and "w:insideV" not in xml
    # fonts: the Normal style's Latin and East Asian slots; runs set only their size
    fonts = document.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:ascii")) == latin
    assert fonts.get(qn("w:eastAsia")) == cjk
    assert not any(run.font.name for p in document.paragraphs for run in p.runs)
    wide = is_wide(table, "a4")  # the rule, shared with LaTeX, is tested in test_render_width
    orientation = document.sections[-1].orientation
    assert orientation == (WD_ORIENT.LANDSCAPE if wide else WD_ORIENT.PORTRAIT)


def check_xlsx(content: bytes, table: Table) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook[table.name]
    assert sheet.cell(1, 1).value == numbered_caption(table)
    lines = grid_lines(table)
    for offset, line in enumerate(lines):
        row = offset + 2
        if line.part == "title":
            assert sheet.cell(row, 1).value == line.label
            continue
        assert (sheet.cell(row, 1).value or "") == line.label
        for placed in line.cells:
            cell = sheet.cell(row, placed.first + 1)
            text = placed.cell.text + placed.cell.stars
            number = printed_number(placed.cell.text) if line.part == "body" else None
            if number is not None and placed.first == placed.last:
                assert cell.data_type == "n"
                assert cell.value == pytest.approx(number.value)
                assert cell.number_format == number.excel_format(placed.cell.stars)
            else:
                assert (cell.value or "") == text
        first = sheet.cell(row, 1).border
        expected = {"top": "medium", "header": "thin", "mid": "thin", "": None}[line.rule_above]
        assert first.top.style == expected
        assert first.left.style is None and first.right.style is None
        if line.rule_below:
            assert first.bottom.style == "medium"
    notes = [sheet.cell(len(lines) + 2 + i, 1).value for i in range(len(table.notes))]
    assert notes == list(table.notes)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_docx_and_xlsx_cells_borders_fonts_match_the_ir(english: Run, name: str):
    table = english.output.tables[name]
    files = _files(english)
    check_docx(files[f"tables/{name}.docx"], table, "Times New Roman", "SimSun")
    check_xlsx(files[f"tables/{name}.xlsx"], table)


def test_every_paper_table_in_the_all_tables_documents(english: Run):
    files = _files(english)
    tables = list(english.output.tables.values())
    document = Document(io.BytesIO(files["tables.docx"]))
    assert len(document.tables) == len(tables)
    workbook = openpyxl.load_workbook(io.BytesIO(files["tables.xlsx"]))
    assert workbook.sheetnames == [t.name for t in tables]
    for table in tables:
        check_xlsx(files[f"tables/{table.name}.xlsx"], table)
    # Table 6 (threshold tests: eight body columns) gets a landscape section
    orientations = [section.orientation for section in document.sections]
    assert WD_ORIENT.LANDSCAPE in orientations and WD_ORIENT.PORTRAIT in orientations


def test_numbering_follows_the_spec_with_panels(english: Run):
    tables = english.output.tables
    numbers = {name: (t.layout.number, t.layout.panel) for name, t in tables.items()}
    assert numbers["table5"] == ("5", "A")
    assert numbers["table5_effects"] == ("5", "B")
    assert numbers["table6"] == ("6", "")
    assert numbers["table8"] == ("8", "")
    tex = _files(english)["tables.tex"].decode()
    assert "\\renewcommand{\\thetable}{5}\n" in tex
    # the label as Word, HTML and Markdown print it (LaTeX's own gave Table 5: Panel B: …)
    assert "\\caption{Table~\\mbox{\\thetable}, Panel B: Indirect effect" in tex
    assert "\\usepackage[a4paper,margin=2.5cm]{geometry}" in tex


def test_chinese_paper_generated_text(chinese: Run):
    table3 = chinese.output.tables["table3"]
    assert numbered_caption(table3) == "表3 基准回归结果"
    labels = [row.label for block in table3.blocks for row in block.rows]
    assert {"数字贸易", "常数项", "观测值", "时间固定效应"} <= set(labels)
    cells = {c.text for block in table3.blocks for row in block.rows for c in row.cells}
    assert {"是", "否"} <= cells
    assert table3.notes[:2] == (
        "括号内为以省份聚类的稳健标准误。",
        "***、**、*分别表示在1%、5%、10%的水平上显著。",
    )
    assert table3.header[-1].label == "被解释变量"
    headers = [c.text for c in chinese.output.tables["table2"].header[0].cells]
    assert headers == ["符号", "观测值", "均值", "标准差", "中位数", "最小值", "最大值"]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_chinese_docx_and_xlsx_match_the_ir(chinese: Run, name: str):
    table = chinese.output.tables[name]
    files = _files(chinese)
    check_docx(files[f"tables/{name}.docx"], table, "Times New Roman", "SimSun")
    check_xlsx(files[f"tables/{name}.xlsx"], table)


def test_chinese_docx_embeds_the_figures(chinese: Run):
    document = Document(io.BytesIO(_files(chinese)["tables.docx"]))
    assert len(document.inline_shapes) == 2  # regional_effects and threshold_lr
    # captioned by each figure's title: (in name order), not by its key
    captions = [p.text for p in document.paragraphs if p.text.startswith("图")]
    assert captions == [
        "图1 数字贸易的分地区效应（模拟数据）",
        "图2 产业结构升级门槛的LR统计量（模拟数据）",
    ]
    # the embedded pictures are the bytes of figures/<name>.png (each PNG is drawn once)
    files = _files(chinese)
    parts = document.part.package.parts
    embedded = sorted(p.blob for p in parts if p.partname.startswith("/word/media/"))
    written = sorted(v for k, v in files.items() if k.startswith("figures/") and k.endswith(".png"))
    assert embedded == written


def test_chinese_tables_tex_is_for_xelatex(chinese: Run):
    tex = _files(chinese)["tables.tex"].decode()
    assert tex.startswith("% Compile with XeLaTeX")
    assert "\\usepackage[UTF8]{ctex}" in tex


@pytest.mark.skipif(shutil.which("xelatex") is None, reason="xelatex is not installed")
def test_chinese_tables_tex_compiles_with_xelatex(chinese: Run, tmp_path: Path):
    log = assert_latex_compiles(chinese.folder / "tables.tex", tmp_path, engine="xelatex")
    assert "Overfull \\hbox" not in log
    assert "Missing character" not in log


def test_office_files_are_byte_identical_across_runs(english: Run):
    # rendered again, seconds after the run: zip members' times and the document properties
    # are fixed, so the bytes are the same
    first = _files(english)
    tables = list(english.output.tables.values())
    options = RenderOptions()
    title = english.spec.title or ""
    assert render_document(tables, "docx", title=title, options=options) == first["tables.docx"]
    assert render_document(tables, "xlsx", title=title, options=options) == first["tables.xlsx"]
    table3 = english.output.tables["table3"]
    assert render_table(table3, "docx", options) == first["tables/table3.docx"]


def test_per_table_word_files_are_those_of_a_new_document_in_any_order(english: Run):
    # a per-table file reuses one kept new document and the members of its saved package;
    # its bytes are those of opening python-docx's template, adding the table and saving,
    # whatever was rendered before it (a landscape table, other fonts or paper)

    tables = list(english.output.tables.values())
    assert any(is_wide(t) for t in tables) and not all(is_wide(t) for t in tables)
    letter = RenderOptions(paper="letter", latin_font="Arial", cjk_font="SimHei")

    def made_anew(table: Table, options: RenderOptions) -> bytes:
        document = word._new_document(options)
        word._add_table(document, table, options, first=True)
        return word._save(document)

    expected = {
        (t.name, o.paper): made_anew(t, o) for t in tables for o in (RenderOptions(), letter)
    }
    for options in (letter, RenderOptions()):
        for table in [*reversed(tables), *tables]:
            assert render_table(table, "docx", options) == expected[(table.name, options.paper)]
    assert expected[("table3", "a4")] == _files(english)["tables/table3.docx"]
    # so is the all-tables document's without figures (with them, it is made anew)
    for options in (letter, RenderOptions()):
        anew = word._save(word._filled(word._new_document(options), tables, "T", options))
        assert render_document(tables, "docx", title="T", options=options) == anew


def test_word_columns_share_a_width_only_where_the_table_then_fits(tmp_path: Path):
    # a Chinese margins table wrapped its intervals ("[0.178," over "2.671]") and its header
    # (95%置信区 over 间): every body column took the interval's width, the table was then
    # wider than the text and every column shrank below what the interval needs
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  value: {label: 市值}
  capital: {label: 资本存量}
models:
  m: {estimator: panel_fe, y: inv, x: ["c.value##c.capital"], effects: [entity, time]}
tables:
  slopes: {kind: margins, model: m, dydx: value, at: {capital: [p10, p50, p90]}}
  plain: {kind: regression, columns: [m, m]}
outputs: {formats: [docx], language: zh}
"""
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")

    def widths_pt(name: str) -> list[float]:
        document = Document(str(tmp_path / "out" / "tables" / f"{name}.docx"))
        grid = document.tables[0]._tbl.tblGrid
        return [int(col.get(qn("w:w"))) / 20 for col in grid.findall(qn("w:gridCol"))]

    slopes = widths_pt("slopes")
    text_width = (210 - 2 * 25) / 25.4 * 72  # A4 less 25 mm margins
    assert sum(slopes) <= text_width + 1
    *numbers, interval = slopes[1:]
    # the interval column keeps the width its text needs: "[0.123, 0.456]" is 5.7 ems of
    # Times New Roman (digits half an em), 60 pt at 10.5 pt, and Word's cell margins add 11.5
    # pt; it was 63 pt, all five body columns alike
    assert interval >= 75
    assert max(numbers) < interval
    # a table that fits still gives its body columns one width
    plain = widths_pt("plain")
    assert len(set(plain[1:])) == 1


def test_word_notes_span_the_table_not_the_page(tmp_path: Path):
    # a narrow centred table's notes began at the page margin, left of the table's rules
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = (
        GRUNFELD_HEAD
        + """\
models:
  m: {estimator: panel_fe, y: inv, x: [value], effects: [entity, time]}
tables:
  t: {kind: regression, columns: [m]}
outputs: {formats: [docx], language: zh}
"""
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    document = Document(str(tmp_path / "out" / "tables" / "t.docx"))
    grid = document.tables[0]._tbl.tblGrid
    table_twips = sum(int(col.get(qn("w:w"))) for col in grid.findall(qn("w:gridCol")))
    section = document.sections[0]
    text_twips = (section.page_width - section.left_margin - section.right_margin) / 635
    notes = [p for p in document.paragraphs if p.text.startswith(("括号内", "***"))]
    assert [p.text for p in notes] == [
        "括号内为普通标准误。",
        "***、**、*分别表示在1%、5%、10%的水平上显著。",
    ]
    for paragraph in notes:
        inset = (text_twips - table_twips) / 2
        assert abs(paragraph.paragraph_format.left_indent / 635 - inset) <= 1
        assert abs(paragraph.paragraph_format.right_indent / 635 - inset) <= 1


def test_word_table_mixing_a_model_and_an_over_family_renders(tmp_path: Path):
    # a plain model beside an over: family leaves the plain column's over-value header cell
    # blank; its width was taken as max() of no words, and the Word renderer crashed (exit 3)
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = (
        GRUNFELD_HEAD
        + """\
transforms:
  - derive: {half: "if_else(year > 1944, 'late', 'early')"}
models:
  m: {estimator: panel_fe, y: inv, x: [value], effects: [entity, time]}
  by: {extends: m, over: half}
tables:
  t: {kind: regression, columns: [m, by]}
outputs: {formats: [docx]}
"""
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    table = Document(str(tmp_path / "out" / "tables" / "t.docx")).tables[0]
    assert [cell.text for cell in table.rows[2].cells] == ["", "", "early", "late"]
    grid = table._tbl.tblGrid.findall(qn("w:gridCol"))
    assert all(int(col.get(qn("w:w"))) > 0 for col in grid)


def test_word_numbers_keep_their_stars_inside_narrow_columns(tmp_path: Path):
    # a Chinese robustness table of six columns on portrait A4: the columns shrank to 48 pt and
    # each number's decimal tab sat at the cell's middle, so 0.010*** ran past the right edge,
    # where LibreOffice cut the stars off (Word wraps them): the table is now fitted to the
    # portrait page (narrower cell margins, smaller type) and every table's tab stop centres
    # its column's numbers from their widest integer part to their widest decimals and stars
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  value: {label: 公司市场价值}
  capital: {label: 厂房设备资本存量}
models:
  m: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time]}
tables:
  six: {kind: regression, columns: [m, m, m, m, m, m],
        column_labels: [线性固定效应, 企业聚类, xthreg口径, 年份效应, 1978年后, 缩尾1%]}
  two: {kind: regression, columns: [m, m]}
outputs: {formats: [docx], language: zh}
"""
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    six = Document(str(tmp_path / "out" / "tables" / "six.docx"))
    two = Document(str(tmp_path / "out" / "tables" / "two.docx"))
    for document in (six, two):
        assert document.sections[-1].orientation == WD_ORIENT.PORTRAIT
        (grid,) = document.tables
        widths = [int(c.get(qn("w:w"))) for c in grid._tbl.tblGrid.findall(qn("w:gridCol"))]
        margin = grid._tbl.find(f"{qn('w:tblPr')}/{qn('w:tblCellMar')}/{qn('w:left')}")
        # python-docx's template's cell margins (0.19 cm) unless the table sets its own
        side = 108 if margin is None else int(margin.get(qn("w:w")))
        starred = 0
        for row in grid.rows:
            for column, cell in enumerate(row.cells[1:], start=1):
                tab = cell._tc.find(".//" + qn("w:tab"))
                if tab is None:
                    continue
                text = cell.text.lstrip("\t")
                half_points = int(cell._tc.find(".//" + qn("w:sz")).get(qn("w:val")))
                em = half_points * 10  # twips: 20 to a point
                starred += text.endswith("*")
                digits = text.rstrip("*")
                point = digits.find(".") if "." in digits else len(digits.rstrip(")"))
                # Times (Adobe's AFM): a digit or star 500/1000 of an em, a point 250, a
                # parenthesis 333; stars are superscripts at about two thirds of the size
                tail = digits[point:]
                width = sum({".": 0.25, ")": 0.333}.get(c, 0.5) for c in tail)
                after = (width + 0.65 * 0.5 * (len(text) - len(digits))) * em
                inside = widths[column] - 2 * side
                assert int(tab.get(qn("w:pos"))) + after <= inside, (text, column)
        assert starred  # the premise: the table has starred estimates
    # the six columns were fitted: narrower margins or smaller type than the two's
    assert six._element.xml != two._element.xml


def test_word_figures_fit_their_page_with_the_caption(tmp_path: Path):
    # a threshold_lr figure of every search is taller than wide: set 6 inches wide it ran off
    # an A4 page (its axis title cut) and pushed its caption alone onto the next page
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = (
        GRUNFELD_HEAD
        + """\
models:
  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital, max_thresholds: 3,
      trim: 0.05, bootstrap: 0}
tables:
  t: {kind: regression, columns: [m]}
figures:
  lr: {kind: threshold_lr, model: m, height: 12}
outputs: {formats: [docx], docx: {figures: true}}
"""
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    document = Document(str(tmp_path / "out" / "tables.docx"))
    (shape,) = document.inline_shapes
    section = document.sections[-1]
    text_height = section.page_height - section.top_margin - section.bottom_margin
    assert shape.height <= text_height - 0.6 * 914400  # an inch is 914,400 EMU
    assert shape.width < 6 * 914400  # narrowed to fit, its proportions kept
    picture = next(p for p in document.paragraphs if p._p.xpath(".//pic:pic"))
    assert picture.paragraph_format.keep_with_next


def test_word_tables_keep_their_rows_and_notes_together(tmp_path: Path):
    # a landscape robustness table one page long left its last two notes alone on the next
    # page: every row is kept with the next (the caption already was), and each note but the
    # last with the one after it
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = (
        GRUNFELD_HEAD
        + """\
models:
  m: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
tables:
  t: {kind: regression, columns: [m, m], notes: [A note of the author's.]}
outputs: {formats: [docx]}
"""
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    document = Document(str(tmp_path / "out" / "tables" / "t.docx"))
    (grid,) = document.tables
    for row in grid.rows:
        for cell in row.cells:
            assert all(p.paragraph_format.keep_with_next for p in cell.paragraphs)
    notes = document.paragraphs[1:]
    assert [p.text for p in notes][-1] == "A note of the author's."
    assert [bool(p.paragraph_format.keep_with_next) for p in notes] == [True] * (len(notes) - 1) + [
        False
    ]
