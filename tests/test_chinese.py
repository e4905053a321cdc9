"""Chinese labels in a spec (the newcomer case ``chinese_labels.yaml``, on Grunfeld here):
tables.tex switches to XeLaTeX with ctex, labels follow ``outputs.language``, figures find a
CJK font or say which package to install."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from specfiles import GRUNFELD_HEAD, assert_latex_compiles, grunfeld_project
from specrun.api import run_file
from specrun.cli import main
from specrun.errors import SpecError
from specrun.figures import fonts
from specrun.results import TermPart
from specrun.tables import text
from specrun.tables.statistics import STATISTICS
from specrun.tables.terms import term_label

SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  value: {label: {en: Market value, zh: 市值}}
  capital: {label: 资本存量}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time]}
tables:
  t: {kind: regression, columns: [fe], caption: 投资方程}
"""
)


def test_chinese_text_switches_tables_tex_to_xelatex(tmp_path: Path):
    spec = SPEC + "outputs: {formats: [latex, html, markdown]}\n"
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    tex = (tmp_path / "out" / "tables.tex").read_text(encoding="utf-8")
    assert tex.startswith("% Compile with XeLaTeX: the tables hold Chinese text, set with ctex")
    # English generated text (Table, N, notes): ctex without its Chinese captions
    assert "\\usepackage[UTF8,scheme=plain]{ctex}" in tex
    assert "\\usepackage[a4paper,margin=2.5cm]{geometry}" in tex
    table = (tmp_path / "out" / "tables" / "t.tex").read_text(encoding="utf-8")
    assert (
        table.startswith("% Requires ") and "ctex (compile with XeLaTeX)" in table.splitlines()[0]
    )
    labels = [row.label for row in run.output.tables["t"].blocks[0].rows]
    assert "Market value" in labels and "资本存量" in labels
    if shutil.which("xelatex"):
        log = assert_latex_compiles(tmp_path / "out" / "tables.tex", tmp_path, engine="xelatex")
        assert "Missing character" not in log


def test_language_zh_picks_the_chinese_label(tmp_path: Path):
    spec = SPEC + "outputs: {formats: [markdown], language: zh}\n"
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    labels = [row.label for row in run.output.tables["t"].blocks[0].rows]
    assert "市值" in labels and "Market value" not in labels
    md = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert md.startswith("**表1 投资方程**")


@pytest.mark.parametrize(("head", "heading"), [("", "spec"), ("title: 投资与市值\n", "投资与市值")])
def test_documents_are_headed_with_the_title_or_else_the_file_name(
    tmp_path: Path, head: str, heading: str
):
    # as the manuscripts guide says: a spec without title: gives a Word file headed "spec"
    import docx

    spec = SPEC.replace("spec_version: 1\n", "spec_version: 1\n" + head)
    run_file(
        grunfeld_project(tmp_path, spec + "outputs: {formats: [docx, markdown, html, latex]}\n"),
        out=tmp_path / "out",
    )
    out = tmp_path / "out"
    # the guide once said tables.tex prints no heading; it prints the same one
    assert f"{{\\Large {heading}}}" in (out / "tables.tex").read_text(encoding="utf-8")
    assert docx.Document(str(out / "tables.docx")).paragraphs[0].text == heading
    assert (out / "tables.md").read_text(encoding="utf-8").startswith(f"# {heading}\n")
    assert f"<h1>{heading}</h1>" in (out / "tables.html").read_text(encoding="utf-8")


def test_pdflatex_cannot_set_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    spec = SPEC + "outputs: {formats: [latex], latex: {engine: pdflatex}}\n"
    path = grunfeld_project(tmp_path, spec)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert (
        "spec.yaml:13:45: outputs.latex.engine: the engine is pdflatex, but the tables hold " in err
    )
    assert "use engine: auto or xelatex" in err
    assert "Traceback" not in err


def test_html_table_is_a_styled_standalone_page(tmp_path: Path):
    spec = SPEC + "outputs: {formats: [html], language: zh}\n"
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    page = (tmp_path / "out" / "tables" / "t.html").read_text(encoding="utf-8")
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh">')
    assert "table.specrun-table { border-collapse: collapse; margin: 2em auto; " in page
    assert "border-top: 1.5pt solid" in page and "thead { border-bottom: 0.75pt solid; }" in page
    assert "<caption>表1 投资方程</caption>" in page
    assert (tmp_path / "out" / "tables.html").exists()


def test_figure_with_chinese_and_no_cjk_font_names_the_package(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    figure = Figure()
    figure.add_subplot().set_title("数字贸易")
    with pytest.raises(SpecError) as caught:
        fonts.check_cjk_text(figure, "effects")
    assert caught.value.message.startswith("figure 'effects' has Chinese text, but no CJK font")
    assert "apt-get install fonts-noto-cjk" in (caught.value.hint or "")
    english = Figure()
    english.add_subplot().set_title("Digital trade")
    fonts.check_cjk_text(english, "plain")  # nothing to say


@pytest.mark.skipif(fonts.cjk_font() is None, reason="no CJK font on this machine")
def test_cjk_font_is_found_through_the_font_manager():
    assert fonts.cjk_font() in fonts.PREFERRED


def test_translate_composes_any_cluster_columns():
    assert text.translate("clustered by industry", "zh") == "以industry聚类的稳健"
    assert text.translate("clustered by entity and time", "zh") == "以个体和时间双向聚类的稳健"
    assert text.translate("clustered by 行业 and time", "zh") == "以行业和时间双向聚类的稳健"
    assert text.translate("clustered by a and b and c", "zh") == "以a和b和c多维聚类的稳健"
    assert text.translate("clustered by industry", "en") == "clustered by industry"


def test_clustered_bootstrap_standard_errors_say_they_are_bootstrapped():
    # Callaway–Sant'Anna's default SEs (R did's multiplier bootstrap, clustered by unit)
    phrase = "multiplier bootstrap, clustered by entity"
    assert text.covariance_text(phrase, "zh", {"entity": "省份"}) == "以省份聚类的乘数自助法"
    assert text.covariance_text(phrase, "en", {"entity": "county"}) == (
        "multiplier bootstrap, clustered by county"
    )
    assert text.translate(phrase, "zh") == "以个体聚类的乘数自助法"


def test_language_zh_leaves_no_english_in_generated_notes(tmp_path: Path):
    # the newcomer's Stata workflow in one spec: two-way FE clustered by a column, a lag and a
    # centred interaction with its margins table, RE with the Hausman row, and IV
    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  value: {label: 市值}
  capital: {label: 资本存量}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], absorb: [entity, time],
       se: {cluster: firm}}
  fe_int: {extends: fe, x: [L.value, "c.value##c.capital"], center: [value, capital]}
  fe_h: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity], se: unadjusted}
  re: {estimator: panel_re, y: inv, x: [value, capital]}
  hausman: {estimator: hausman, models: [fe_h, re]}
  tsls: {estimator: iv, y: inv, endog: [value], instruments: [capital]}
tables:
  main: {kind: regression, columns: [fe, fe_int]}
  margins: {kind: margins, model: fe_int, dydx: value, at: {capital: [p10, p90]}}
  re_tab: {kind: regression, columns: [fe_h, re], stats: [nobs, hausman_p]}
  iv: {kind: iv, models: [tsls], stats: [nobs, first_f, endog_p]}
outputs: {formats: [markdown], language: zh}
"""
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    tables = run.output.tables
    main_notes = tables["main"].notes
    # firm is the panel's entity column: cluster: firm is cluster: entity, named as such
    assert main_notes[0] == "括号内为以个体聚类的稳健标准误。"
    # a centred lag is named by its composed label, not the raw term L.value, with full-width
    # brackets after the Chinese label
    assert main_notes[2] == (
        "市值（t−1）、资本存量、市值均以各模型估计样本的均值中心化（主效应与交互项中相同）。"
    )
    margins = tables["margins"]
    assert [c.text for c in margins.header[0].cells] == [
        "边际效应",
        "标准误",
        "t值",
        "p值",
        "95%置信区间",
    ]
    assert margins.notes[0].startswith(
        "市值对inv的边际效应（模型fe_int）；标准误由模型的以个体聚类"
    )
    assert margins.notes[-1] == "***、**、*分别表示在1%、5%、10%的水平上显著。"
    re_rows = [row.label for block in tables["re_tab"].blocks for row in block.rows]
    assert "Hausman检验p值" in re_rows
    iv_rows = [row.label for block in tables["iv"].blocks for row in block.rows]
    assert {"第一阶段F值", "内生性检验p值"} <= set(iv_rows)
    md = (tmp_path / "out" / "tables.md").read_text(encoding="utf-8")
    for english in ("clustered by", "centred", "Marginal effect", "First stage", "p-value"):
        assert english not in md


def test_language_zh_names_absorbed_columns_fixed_effects_in_chinese(tmp_path: Path):
    # an absorbed column other than the panel index got an English row label ("年份 FE") before
    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  era: {label: 年代}
transforms:
  - derive: {era: year - 1930}
models:
  fe: {estimator: panel_fe, y: inv, x: [value], absorb: [entity, era]}
  fe_fy: {estimator: panel_fe, y: inv, x: [value], absorb: [firm, era]}
tables:
  t: {kind: regression, columns: [fe, fe_fy]}
outputs: {formats: [markdown], language: zh}
"""
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    rows = {
        row.label: [c.text for c in row.cells]
        for b in run.output.tables["t"].blocks
        for row in b.rows
    }
    # (year itself is the panel's time: absorb: [firm, year] is the entity and time effects)
    assert rows["年代固定效应"] == ["是", "是"]
    assert rows["个体固定效应"] == ["是", "是"]
    assert not [label for label in rows if label.endswith(" FE")]


def test_language_zh_notes_name_each_covariance_with_its_noun(tmp_path: Path):
    # the note read "标准误（第(1)列为以个体聚类的稳健；第(2)列为普通）" before: an adjective
    # of 标准误 left without it
    spec = (
        GRUNFELD_HEAD
        + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value], se: {cluster: entity}}
  ols: {estimator: ols, y: inv, x: [value]}
tables:
  se: {kind: regression, columns: [fe, ols]}
  p: {kind: regression, columns: [fe], show: p}
  one: {kind: regression, columns: [fe]}
outputs: {formats: [markdown], language: zh}
"""
    )
    tables = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out").output.tables
    assert tables["se"].notes[0] == (
        "括号内为标准误（第(1)列为以个体聚类的稳健标准误；第(2)列为普通标准误）。"
    )
    assert tables["p"].notes[0] == "括号内为p值（以个体聚类的稳健标准误）。"
    assert tables["one"].notes[0] == "括号内为以个体聚类的稳健标准误。"


def test_language_zh_prints_every_statistic_row_and_covariance_in_chinese(tmp_path: Path):
    # a Chinese economist's baseline, IV and System GMM tables printed "F test all uᵢ = 0
    # (p-value)", "Singletons dropped", "Kleibergen–Paap rk Wald F", "L.inv" and a GMM note
    # "第(2)列为two-step, Windmeijer-corrected标准误" before
    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  inv: {label: 投资}
  value: {label: 市值}
  capital: {label: 资本存量}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, L.capital], absorb: [firm, year],
       se: {cluster: firm}}
  gmm: {estimator: system_gmm, y: inv, lags: 1, x: [value], gmm: {inv: [2, 3]}, iv: [value],
        collapse: true, steps: 2}
  tsls: {estimator: iv, y: inv, endog: [value], instruments: [capital], absorb: [firm, year],
         se: {cluster: firm}}
tables:
  main:
    kind: regression
    columns: [fe, gmm]
    drop: ["yr*"]
    stats: [nobs, f_u0_p, singletons, ar2_p, hansen_p]
  iv: {kind: iv, models: [tsls], stats: [nobs, first_f, kp_f, cd_f]}
outputs: {formats: [markdown], language: zh}
"""
    )
    tables = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out").output.tables
    main = tables["main"]
    assert [[c.text for c in line.cells] for line in main.header] == [
        ["(1)", "(2)"],
        ["投资", "投资"],
    ]
    assert [row.label for block in main.blocks for row in block.rows] == [
        "市值",
        "",
        "资本存量（t−1）",
        "",
        "投资（t−1）",
        "",
        "常数项",
        "",
        "个体固定效应",
        "时间固定效应",
        "观测值",
        "所有uᵢ = 0的F检验p值",
        "剔除的单例观测值数",
        "AR(2)检验p值",
        "Hansen检验p值",
    ]
    assert list(main.notes) == [
        "括号内为标准误（第(1)列为以个体聚类的稳健标准误；第(2)列为两步法Windmeijer校正标准误）。",
        "***、**、*分别表示在1%、5%、10%的水平上显著。",
    ]
    iv_rows = [row.label for block in tables["iv"].blocks for row in block.rows]
    assert iv_rows == [
        "市值",
        "",
        "资本存量",
        "",
        "个体固定效应",
        "时间固定效应",
        "观测值",
        "第一阶段F值",
        "Kleibergen–Paap rk Wald F统计量",
        "Cragg–Donald Wald F统计量",
    ]


def test_every_statistic_label_has_a_chinese_row_label():
    # Greek-letter statistics (σ_u, ρ, θ) and R² read the same in both languages
    same = {"R²", "σ_u", "σ_e", "ρ", "θ", "VIF"}
    untranslated = [
        stat.label
        for stat in STATISTICS.values()
        if stat.label is not None
        and stat.label not in same
        and not text.has_cjk(text.translate(stat.label, "zh"))
    ]
    assert untranslated == []


def test_a_chinese_label_composes_with_full_width_brackets_and_colon():
    labels = {"Dige": "数字贸易", "region": "地区", "STR": "Industrial structure"}
    assert term_label((TermPart("Dige", shift=1),), labels) == "数字贸易（t−1）"
    assert term_label((TermPart("Dige", shift=-2),), labels) == "数字贸易（t+2）"
    assert term_label((TermPart("region", level="东部"),), labels) == "地区：东部"
    assert (
        term_label((TermPart("Dige", diff=1), TermPart("STR", shift=1)), labels)
        == "Δ数字贸易 × Industrial structure (t−1)"
    )


@pytest.mark.parametrize(
    ("language", "notes"),
    [
        ("zh", "括号内为普通标准误。\\*\\*\\*、\\*\\*、\\*分别表示在1%、5%、10%的水平上显著。"),
        (
            "en",
            "Standard errors (conventional) in parentheses. *** p \\< 0.01, ** p \\< 0.05, "
            "* p \\< 0.1.",
        ),
    ],
)
def test_markdown_notes_run_on_as_the_language_writes_sentences(
    tmp_path: Path, language: str, notes: str
):
    # Chinese notes were joined with a space after each full stop ("标准误。 ***、**")
    spec = (
        GRUNFELD_HEAD
        + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value], effects: [entity, time]}
tables:
  t: {kind: regression, columns: [fe]}
"""
        + f"outputs: {{formats: [markdown], language: {language}}}\n"
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    md = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert md.rstrip("\n").splitlines()[-1] == notes


def test_a_margins_note_names_the_model_by_its_label(tmp_path: Path):
    # the note named the model by its spec key ("（模型moderated）") in a Chinese table
    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  value: {label: 市值}
  capital: {label: 资本存量}
models:
  moderated: {estimator: panel_fe, y: inv, x: ["c.value##c.capital"], effects: [entity, time],
              label: 调节效应}
tables:
  m: {kind: margins, model: moderated, dydx: value, at: {capital: [p50]}}
outputs: {formats: [markdown], language: zh}
"""
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    df = run.output.results.models["moderated"].stats["df_resid"]
    assert run.output.tables["m"].notes[0] == (
        "市值对inv的边际效应（模型调节效应）；标准误由模型的普通协方差矩阵经delta方法计算，"
        f"t分布自由度为{df:g}。"
    )


def test_a_chinese_margins_row_sets_its_percentile_in_full_width_brackets(tmp_path: Path):
    # the rows read "资本存量 = 0.663 (p10)", half-width brackets after Chinese text
    spec = (
        GRUNFELD_HEAD
        + """\
variables:
  value: {label: 市值}
  capital: {label: 资本存量}
models:
  m: {estimator: panel_fe, y: inv, x: ["c.value##c.capital"], effects: [entity, time]}
tables:
  zh: {kind: margins, model: m, dydx: value, at: {capital: [p10, 300]}}
outputs: {formats: [markdown], language: zh}
"""
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    # 8.070: the 10th percentile of Grunfeld's capital as Stata's _pctile gives it (the mean
    # of the 20th and 21st of the 200 sorted values, 7.40 and 8.74)
    assert [row.label for row in run.output.tables["zh"].blocks[0].rows] == [
        "资本存量 = 8.070（p10）",
        "资本存量 = 300.000",
    ]


@pytest.mark.parametrize(
    ("language", "notes"),
    [
        # an English source note in a Chinese table keeps its space before the next note
        (
            "zh",
            "括号内为普通标准误。\\*\\*\\*、\\*\\*、\\*分别表示在1%、5%、10%的水平上显著。"
            "Source: NBS yearbooks. 数据经过缩尾处理。",
        ),
        # a Chinese note in an English table runs on into the next
        (
            "en",
            "Standard errors (conventional) in parentheses. *** p \\< 0.01, ** p \\< 0.05, "
            "* p \\< 0.1. 样本数据为模拟数据。Source: NBS yearbooks.",
        ),
    ],
)
def test_markdown_notes_run_on_by_each_notes_own_end(tmp_path: Path, language: str, notes: str):
    # the joiner was the table's language: "NBS yearbooks.括号内" in a Chinese table
    user = (
        '["Source: NBS yearbooks.", 数据经过缩尾处理。]'
        if language == "zh"
        else '[样本数据为模拟数据。, "Source: NBS yearbooks."]'
    )
    spec = (
        GRUNFELD_HEAD
        + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value], effects: [entity, time]}
tables:
"""
        + f"  t: {{kind: regression, columns: [fe], notes: {user}}}\n"
        + f"outputs: {{formats: [markdown], language: {language}}}\n"
    )
    run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    md = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert md.rstrip("\n").splitlines()[-1] == notes
