"""What a referee checks in a regression table (inputs after ``cases/tables`` of the issue
tracker, rebuilt here on the bundled Grunfeld data): intervals under coefficients, statistics
a model lacks, keep/drop/order patterns that match nothing, coefficients that print as zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.cli import main
from specrun.errors import SpecError, SpecErrors
from specrun.tables.patterns import check_patterns, matches
from test_render_office import check_docx, check_xlsx

MODELS = """\
models:
  pooled: {estimator: ols, y: inv, x: [value, capital]}
  small: {estimator: ols, y: inv, x: [value]}
  desc: {estimator: descriptive, vars: [inv, value], quantiles: [0.25]}
"""


def _run(tmp_path: Path, tables: str) -> dict:
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MODELS + "tables:\n" + tables)
    return run_file(spec, out=tmp_path / "out").output.tables


def _errors(tmp_path: Path, tables: str) -> str:
    with pytest.raises(SpecErrors) as caught:
        _run(tmp_path, tables)
    return str(caught.value)


def _cells(table, label: str) -> list[str]:
    rows = [row for block in table.blocks for row in block.rows]
    index = next(i for i, row in enumerate(rows) if row.label == label)
    return [c.text + c.stars for c in rows[index].cells] + [c.text for c in rows[index + 1].cells]


@pytest.mark.parametrize(
    ("level", "bounds"),
    [
        # statsmodels 0.15.0: smf.ols("inv ~ value + capital", grunfeld).fit().conf_int(alpha),
        # alpha = 0.05 and 0.10 (t with n − k degrees of freedom, as Stata's regress prints)
        (0.95, {"value": (0.104054, 0.127071), "capital": (0.180438, 0.280919)}),
        (0.90, {"value": (0.105918, 0.125206), "capital": (0.188577, 0.272780)}),
    ],
)
def test_show_ci_prints_the_peer_interval(tmp_path: Path, level: float, bounds: dict):
    tables = _run(
        tmp_path,
        f"  t: {{kind: regression, columns: [pooled], show: ci, ci_level: {level}, digits: 6}}\n",
    )
    table = tables["t"]
    for name, (low, high) in bounds.items():
        assert _cells(table, name)[1] == f"[{low:.6f}, {high:.6f}]"
    assert table.notes[0] == f"{level * 100:g}% confidence intervals (conventional) in brackets."


@pytest.mark.parametrize(
    ("show", "note"),
    [("t", "t-statistics in parentheses."), ("p", "p-values (conventional) in parentheses.")],
)
def test_show_t_and_p_are_noted(tmp_path: Path, show: str, note: str):
    tables = _run(tmp_path, f"  t: {{kind: regression, columns: [pooled], show: {show}}}\n")
    assert tables["t"].notes[0] == note


def test_notes_name_each_columns_covariance(tmp_path: Path):
    spec = GRUNFELD_HEAD + MODELS.replace(
        "small: {estimator: ols, y: inv, x: [value]}",
        "small: {estimator: ols, y: inv, x: [value], se: {cluster: entity}}",
    )
    spec += "tables:\n  t: {kind: regression, columns: [pooled, small, pooled]}\n"
    tables = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out").output.tables
    assert tables["t"].notes[0] == (
        "Standard errors (conventional in columns (1), (3); clustered by firm in column (2)) "
        "in parentheses."
    )


def test_descriptive_statistic_the_model_lacks_is_a_located_error(tmp_path: Path):
    text = _errors(
        tmp_path, "  d: {kind: descriptive, model: desc, stats: [nobs, mean, p25, p75]}\n"
    )
    assert "spec.yaml:11:" in text
    assert "tables.d.stats[3]: table 'd' asks for 'p75', which model 'desc' did not compute; " in (
        text
    )
    assert "it has: nobs, mean, sd, median, min, max, p25" in text
    assert "add 0.75 to the quantiles of model 'desc'" in text


def test_keep_regex_written_as_a_glob_is_an_error(tmp_path: Path):
    text = _errors(tmp_path, '  t: {kind: regression, columns: [pooled], keep: ["^val"]}\n')
    assert "tables.t.keep[0]: '^val' matches no coefficient" in text
    assert "'^val' looks like a regular expression: write 're:^val'" in text
    assert "globs matched against the whole name" in text


def test_keep_with_re_prefix_and_glob_order(tmp_path: Path):
    tables = _run(
        tmp_path,
        '  t: {kind: regression, columns: [pooled, small], keep: ["re:^(val|cap)"], '
        'order: ["cap*"]}\n',
    )
    labels = [row.label for row in tables["t"].blocks[0].rows if row.kind == "coef"]
    assert labels == ["capital", "value"]


@pytest.mark.parametrize(
    ("option", "pattern", "hint"),
    [("drop", "captial", "did you mean 'capital'?"), ("order", "Value", "did you mean 'value'?")],
)
def test_typo_in_drop_or_order_is_an_error(tmp_path: Path, option: str, pattern: str, hint: str):
    text = _errors(
        tmp_path, f'  t: {{kind: regression, columns: [pooled], {option}: ["{pattern}"]}}\n'
    )
    assert f"tables.t.{option}[0]: '{pattern}' matches no coefficient" in text
    assert hint in text


def test_pattern_helper():
    assert matches("yr2014", ["yr*"]) and not matches("xyr", ["yr*"])
    assert matches("x_1", ["re:^x_"]) and not matches("ax_1", ["re:^x_"])
    with pytest.raises(SpecError, match="not a valid regular expression"):
        check_patterns(["re:("], ["a"], path="tables.t.keep")


def test_coefficient_printing_as_zero_warns_and_scale_fixes_it(tmp_path: Path):
    # inv in millions of dollars regressed on value/1e6: a slope of about 1e-7 per dollar
    spec = GRUNFELD_HEAD + (
        "transforms:\n  - derive: {dollars: value * 1000000}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [dollars]}\n"
        "tables:\n"
        "  plain: {kind: regression, columns: [m]}\n"
        "  scaled: {kind: regression, columns: [m], scale: {dollars: 1000000}}\n"
        "  sci: {kind: regression, columns: [m], notation: scientific}\n"
        "  digits: {kind: regression, columns: [m], row_digits: {dollars: 9}}\n"
    )
    path = grunfeld_project(tmp_path, spec)
    run = run_file(path, out=tmp_path / "out")
    assert run.output.warnings == [
        "table 'plain': the coefficient of 'dollars' prints as zero at 3 decimals; rescale it "
        "(scale: {dollars: 10000000}), print more digits (row_digits), or use notation: "
        "scientific"
    ]
    tables = run.output.tables
    assert _cells(tables["plain"], "dollars")[:2] == ["0.000***", "(0.000)"]
    # the slope of inv on value (in millions): the same regression, rescaled
    assert _cells(tables["scaled"], "dollars (×1,000,000)")[0].startswith("0.1")
    assert (
        "The coefficient of dollars and its standard error are multiplied by 1,000,000."
        in tables["scaled"].notes
    )
    assert _cells(tables["sci"], "dollars")[0].startswith("1.")
    assert "e−07" in _cells(tables["sci"], "dollars")[0]
    assert _cells(tables["digits"], "dollars")[0].startswith("0.0000001")
    assert _cells(tables["digits"], "Constant")[0].count(".") == 1  # other rows keep 3 digits
    assert len(_cells(tables["digits"], "Constant")[0].split(".")[1].rstrip("*")) == 3
    assert main(["run", str(path), "--out", str(tmp_path / "cli")]) == 0
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert any("prints as zero" in w for w in manifest["warnings"])


def test_a_descriptive_model_split_over_groups_is_one_table_with_a_block_per_group(
    tmp_path: Path,
):
    """Stata's ``tabstat inv value, s(n mean sd) by(half)``: each group's rows under its value;
    before, the table said the family 'is not a fitted descriptive model'. Expected numbers:
    numpy's mean and sd (ddof=1) of the bundled Grunfeld CSV's rows of each group."""
    import polars as pl

    spec = GRUNFELD_HEAD + (
        "transforms:\n  - derive: {half: 'if_else(firm <= 5, 1, 2)'}\n"
        "models:\n  desc: {estimator: descriptive, vars: [inv, value], over: half}\n"
        "tables:\n  d: {kind: descriptive, model: desc, stats: [nobs, mean, sd]}\n"
    )
    path = grunfeld_project(tmp_path, spec)
    table = run_file(path, out=tmp_path / "out").output.tables["d"]
    assert [b.title for b in table.blocks] == ["1", "2"]
    data = pl.read_csv(tmp_path / "grunfeld.csv")
    for block, group in zip(table.blocks, [data["firm"] <= 5, data["firm"] > 5], strict=True):
        assert [r.label for r in block.rows] == ["inv", "value"]
        for row in block.rows:
            column = data.filter(group)[row.label].to_numpy()
            expected = [f"{column.size}", f"{column.mean():.3f}", f"{column.std(ddof=1):.3f}"]
            assert [c.text for c in row.cells] == expected


CORRELATED = (
    GRUNFELD_HEAD
    + """\
models:
  desc: {estimator: descriptive, vars: [inv, value, capital], correlations: true, vif: true}
  plain: {estimator: descriptive, vars: [inv, value]}
outputs: {formats: [latex, docx, xlsx]}
tables:
  corr: {kind: correlation, model: desc, upper: spearman, digits: 4}
  vif: {kind: descriptive, model: desc, stats: [nobs, mean, vif]}
"""
)

# R 4.2.2: cor.test(grunfeld[[a]], grunfeld[[b]], method = m, exact = FALSE) ($estimate,
# $p.value); Pearson below the diagonal, Spearman above.
PEER_CORRELATIONS = {
    ("pearson", 1, 0): (0.8569328985, 6.73896e-59),
    ("pearson", 2, 0): (0.6625653253, 1.19391e-26),
    ("pearson", 2, 1): (0.4887058202, 2.10784e-13),
    ("spearman", 0, 1): (0.8130595858, 2.10496e-48),
    ("spearman", 0, 2): (0.6028881787, 3.52279e-21),
    ("spearman", 1, 2): (0.3060477455, 1.04688e-05),
}
# statsmodels 0.15.0: variance_inflation_factor(X, i) with X = [1, inv, value, capital]
PEER_VIF = {"inv": 5.3307180843, "value": 3.9289310484, "capital": 1.860552671}


@pytest.mark.parametrize(
    ("language", "show", "note"),
    [
        ("en", "se", "The coefficient of Firm value and its standard error are multiplied by 100."),
        ("zh", "se", "公司市值的系数及其标准误已乘以100。"),
        # the interval scales with the coefficient; t and p do not
        (
            "en",
            "ci",
            "The coefficient of Firm value and its confidence interval are multiplied by 100.",
        ),
        ("zh", "ci", "公司市值的系数及其置信区间已乘以100。"),
        ("en", "t", "The coefficient of Firm value is multiplied by 100."),
        ("zh", "p", "公司市值的系数已乘以100。"),
    ],
)
def test_scale_note_names_the_row_by_its_label(tmp_path: Path, language: str, show: str, note: str):
    # the row prints the label; a note naming the column ('value') matched no row of the table
    spec = GRUNFELD_HEAD + (
        "variables:\n  value: {label: {en: Firm value, zh: 公司市值}}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value]}\n"
        f"tables:\n  t: {{kind: regression, columns: [m], scale: {{value: 100}}, show: {show}}}\n"
        f"outputs: {{language: {language}}}\n"
    )
    table = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out").output.tables["t"]
    # full-width brackets around the Chinese label (it read 公司市值 (×100))
    label = "Firm value (×100)" if language == "en" else "公司市值（×100）"
    # statsmodels 0.15.0 smf.ols("inv ~ value", grunfeld).fit().params["value"]: 0.1413860
    assert _cells(table, label)[0] == "14.139***"
    assert note in table.notes
    assert not any("value" in n for n in table.notes if n != note)


def test_correlation_table_and_vif_match_r_and_statsmodels(tmp_path: Path):
    run = run_file(grunfeld_project(tmp_path, CORRELATED), out=tmp_path / "out")
    extra = run.output.results.models["desc"].extra
    matrix = extra["correlation"]
    assert matrix["nobs"] == 200 and matrix["missing"] == "listwise"
    for (method, i, j), (r, p) in PEER_CORRELATIONS.items():
        assert matrix[method][i][j] == pytest.approx(r, abs=1e-9)
        assert matrix[f"{method}_p"][i][j] == pytest.approx(p, rel=1e-4)
    for name, vif in PEER_VIF.items():
        assert extra["variables"][name]["vif"] == pytest.approx(vif, rel=1e-9)
    table = run.output.tables["corr"]
    cells = [[c.text + c.stars for c in row.cells] for row in table.blocks[0].rows]
    assert cells[0] == ["1", "0.8131***", "0.6029***"]
    assert cells[1] == ["0.8569***", "1", "0.3060***"]
    assert cells[2][:2] == ["0.6626***", "0.4887***"]
    assert [row.label for row in table.blocks[0].rows] == ["(1) inv", "(2) value", "(3) capital"]
    assert table.notes[0] == (
        "Pearson correlations below the diagonal, Spearman rank correlations above it; "
        "the 200 observations where every variable is present."
    )
    vif = run.output.tables["vif"]
    assert [row.cells[2].text for row in vif.blocks[0].rows] == ["5.331", "3.929", "1.861"]
    assert vif.header[0].cells[2].text == "VIF"
    files = {f.relative: f.content for f in run.files}
    for name in ("corr", "vif"):  # the Word and Excel files of the two new kinds
        check_docx(
            files[f"tables/{name}.docx"], run.output.tables[name], "Times New Roman", "SimSun"
        )
        check_xlsx(files[f"tables/{name}.xlsx"], run.output.tables[name])


def test_correlation_table_needs_correlations(tmp_path: Path):
    spec = CORRELATED.replace("model: desc, upper", "model: plain, upper")
    with pytest.raises(SpecErrors, match="model 'plain' has no correlations"):
        run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    spec = CORRELATED.replace("stats: [nobs, mean, vif]", "stats: [vif]").replace(
        "vif: {kind: descriptive, model: desc", "vif: {kind: descriptive, model: plain"
    )
    with pytest.raises(SpecErrors, match="add vif: true to model 'plain'"):
        run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")


@pytest.mark.parametrize("small", [False, True])
def test_interval_uses_the_models_own_reference_distribution(tmp_path: Path, small: bool):
    """An IV model clustered by firm reports z tests without ``small`` (ivreg2's asymptotic
    inference, Baum, Schaffer and Stillman 2007) and t with G − 1 with it: its interval is
    estimate ± 1.959964·SE in the first case, ± t(0.975, 9)·SE = 2.262157·SE (10 firms) in the
    second, so that the interval excludes 0 exactly when the printed p-value is below 0.05.
    (Tables took t(G − 1) for every clustered model, z tests included.)"""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: iv, y: inv, x: [capital], endog: [value], instruments: [year],"
        + f" se: {{cluster: entity}}, small: {str(small).lower()}}}\n"
        + "tables:\n  t: {kind: regression, columns: [m], show: ci, digits: 6}\n",
    )
    run = run_file(spec, out=tmp_path / "out")
    model = run.output.results.models["m"]
    assert model.stat_name == ("t" if small else "z")
    critical = 2.262157 if small else 1.959964  # scipy.stats t.ppf(0.975, 9), norm.ppf(0.975)
    coef = model.coefficients["value"]
    low, high = coef.estimate - critical * coef.std_error, coef.estimate + critical * coef.std_error
    assert _cells(run.output.tables["t"], "value")[1] == f"[{low:.6f}, {high:.6f}]"


def test_an_insignificant_estimate_printing_as_zero_is_not_warned(tmp_path: Path):
    # standardized y on standardized x: the constant is about 1e-17 over a standard error of
    # 0.037, "0.000 (0.037)", which is what it is; it was told to rescale by 10^16
    spec = GRUNFELD_HEAD + (
        "transforms:\n  - standardize: {vars: [inv, value]}\n"
        "models:\n  m: {estimator: ols, y: inv_std, x: [value_std]}\n"
        "tables:\n  t: {kind: regression, columns: [m]}\n"
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    assert run.output.warnings == []
    assert _cells(run.output.tables["t"], "Constant")[:2] == ["0.000", "(0.037)"]


@pytest.mark.parametrize(
    ("language", "show", "note"),
    [
        (
            "en",
            "ci",
            "95% confidence intervals (clustered by firm in Panel A; conventional in "
            "Panel B) in brackets.",
        ),
        ("en", "t", "t or z statistics (t in Panel A; z in Panel B) in parentheses."),
        (
            "zh",
            "ci",
            "方括号内为95%置信区间（面板A为以个体聚类的稳健标准误；面板B为普通标准误）。",
        ),
        ("zh", "se", "括号内为标准误（面板A为以个体聚类的稳健标准误；面板B为普通标准误）。"),
        ("zh", "t", "括号内为t值或z值（面板A为t值；面板B为z值）。"),
    ],
)
def test_panels_of_different_covariances_name_each_panel(
    tmp_path: Path, language: str, show: str, note: str
):
    # the column's kinds were joined as "clustered by entity; conventional", naming no panel,
    # and left untranslated in Chinese:
    # "方括号内为95%置信区间（以entity; conventional聚类的稳健标准误）"
    spec = GRUNFELD_HEAD + (
        "models:\n"
        "  fe: {estimator: panel_fe, y: inv, x: [value], effects: [entity],"
        " se: {cluster: entity}}\n"
        "  re: {estimator: panel_re, y: inv, x: [value]}\n"
        "tables:\n"
        f"  t: {{kind: regression, show: {show}, panels: [{{title: FE, columns: [fe]}},"
        " {title: RE, columns: [re]}]}\n"
        f"outputs: {{formats: [markdown], language: {language}}}\n"
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    assert run.output.tables["t"].notes[0] == note


def test_threshold_interval_uses_the_t_its_p_values_use(tmp_path: Path):
    """A panel threshold model with conventional standard errors tests with t on the
    within residual degrees of freedom (NT − N − k); its interval is estimate ± t(0.975, df)·SE
    (quantiles from scipy.stats), not the normal quantile the table took when the model
    recorded no degrees of freedom."""
    from scipy import stats

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n  th: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,"
        + " controls: [capital], bootstrap: 0, grid: 20}\n"
        + "tables:\n  t: {kind: regression, columns: [th], show: ci, digits: 6}\n",
    )
    run = run_file(spec, out=tmp_path / "out")
    model = run.output.results.models["th"]
    df = model.stats["df_resid"]
    coef = model.coefficients["capital"]
    assert coef.p_value == pytest.approx(2 * stats.t.sf(abs(coef.stat), df), rel=1e-9)
    half = stats.t.ppf(0.975, df) * coef.std_error
    low, high = coef.estimate - half, coef.estimate + half
    assert _cells(run.output.tables["t"], "capital")[1] == f"[{low:.6f}, {high:.6f}]"


@pytest.mark.parametrize(
    ("language", "titles", "note"),
    [
        ("en", ["Panel A: FE", "Panel B: RE"], "(clustered by firm in Panel A; "),
        ("zh", ["面板A：FE", "面板B：RE"], "（面板A为以个体聚类的稳健标准误；"),
    ],
)
def test_a_panel_with_its_own_title_is_headed_with_the_letter_the_notes_name(
    tmp_path: Path, language: str, titles: list[str], note: str
):
    # panels titled FE and RE were headed "FE" and "RE" while the note said "clustered by
    # entity in Panel A": a panel no heading named
    spec = GRUNFELD_HEAD + (
        "models:\n"
        "  fe: {estimator: panel_fe, y: inv, x: [value], effects: [entity],"
        " se: {cluster: entity}}\n"
        "  re: {estimator: panel_re, y: inv, x: [value]}\n"
        "tables:\n"
        "  t: {kind: regression,\n"
        "      panels: [{title: FE, columns: [fe]}, {title: RE, columns: [re]}]}\n"
        f"outputs: {{formats: [markdown], language: {language}}}\n"
    )
    table = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out").output.tables["t"]
    assert [b.title for b in table.blocks if b.title] == titles
    assert note in table.notes[0]


@pytest.mark.parametrize(
    ("language", "labels", "se", "note"),
    [
        # a referee reads "clustered by entity" as a placeholder: the panel's own column names
        ("en", "", "{cluster: entity}", "Standard errors (clustered by firm) in parentheses."),
        (
            "en",
            "",
            "{cluster: [entity, time]}",
            "Standard errors (clustered by firm and year) in parentheses.",
        ),
        # Chinese names the index by its Chinese label, else 个体 / 时间 (never an English name)
        ("zh", "", "{cluster: entity}", "括号内为以个体聚类的稳健标准误。"),
        (
            "zh",
            "variables: {firm: {label: {en: Firm, zh: 企业}}, year: {label: 年份}}\n",
            "{cluster: [entity, time]}",
            "括号内为以企业和年份双向聚类的稳健标准误。",
        ),
        (
            "zh",
            "variables: {firm: {label: Firm}}\n",
            "{cluster: entity}",
            "括号内为以个体聚类的稳健标准误。",
        ),
    ],
)
def test_notes_name_the_clusters_by_the_panels_columns(
    tmp_path: Path, language: str, labels: str, se: str, note: str
):
    spec = (
        GRUNFELD_HEAD
        + labels
        + (
            "models:\n"
            f"  fe: {{estimator: panel_fe, y: inv, x: [value], absorb: [entity, time], se: {se}}}\n"
            "tables:\n"
            "  t: {kind: regression, columns: [fe]}\n"
            f"outputs: {{formats: [markdown], language: {language}}}\n"
        )
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    assert run.output.tables["t"].notes[0].startswith(note)
    # results.json keeps the index's name: the convention, not the prose
    assert run.output.results.models["fe"].se_type.startswith("clustered by entity")
