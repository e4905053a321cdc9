"""Every input of the issue tracker's ``cases/`` folders, run in place, with its right value or
its located error (the numbers and their peer calls are those of each folder's README).

The folders sit beside the project (``../shared/cases``); a test skips, naming the folder, when
they are not there. Outputs go to a temporary folder, never beside the (read-only) cases.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "cases"


def case(*parts: str) -> Path:
    path = CASES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/cases/{'/'.join(parts)} is not beside the project")
    return path


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


def results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["models"]


# --- located errors, the same from validate and from run ----------------------------------

ERRORS = {
    ("hardening", "01-markup", "error_on_line_100.yaml"): (
        "100:9: models.pooled.x[0]: unknown variable 'valu' (did you mean 'value'?)"
    ),
    ("hardening", "01-markup", "markup_closing_tag.yaml"): (
        "18:9: models.pooled.x[0]: term '[/x]': unexpected character '['"
    ),
    ("hardening", "02-yaml-loader", "billion_laughs_min.yaml"): "2:18: aliases expand this spec",
    ("hardening", "02-yaml-loader", "nul_byte.yaml"): (
        "2:10: character U+0000 is not allowed in a spec"
    ),
    ("hardening", "02-yaml-loader", "recursive_alias_map.yaml"): "3:9: a recursive alias",
    ("hardening", "03-extends", "extends_list.yaml"): (
        "26:24: models.fe_twoway.extends: extends takes the name of one model, got list"
    ),
    ("hardening", "04-validate-then-crash", "mediation_seed_negative.yaml"): (
        "156:11: models.mediation.seed: input should be greater than or equal to 0, got -1"
    ),
    ("hardening", "04-validate-then-crash", "x_duplicate.yaml"): (
        "18:16: models.pooled.x[1]: 'value' is listed twice in x of model 'pooled'"
    ),
    ("hardening", "05-unbounded-sizes", "threshold_grid_1e9.yaml"): (
        "169:11: models.threshold.grid: input should be less than or equal to 100000"
    ),
    ("hardening", "06-names-as-paths", "table_name_traversal.yaml"): (
        "28:3: tables.../../ESCAPED_TABLE: table name '../../ESCAPED_TABLE' is not a name"
    ),
    ("hardening", "08-misleading-messages", "model_without_estimator.yaml"): (
        "26:14: models.fe_twoway: missing required key 'estimator' (which estimator this model "
        "is) (valid: descriptive, did,"
    ),
    ("hardening", "08-misleading-messages", "table_without_kind.yaml"): (
        "29:5: tables.summary: missing required key 'kind' (which kind this table is) (valid: "
    ),
    ("hardening", "08-misleading-messages", "where_numeric.yaml"): (
        "81:12: samples.s.where: a where: filter must be true or false for each row; "
        "'value / 0' gives numbers"
    ),
    ("hardening", "09-validate-misses", "column_labels_count.yaml"): (
        "316:5: tables.table8.column_labels: column_labels has 1 entries, the table has 4 columns"
    ),
    ("hardening", "09-validate-misses", "threshold_grid_2.yaml"): (
        "169:11: models.threshold.grid: input should be greater than or equal to 3, got 2"
    ),
    ("hardening", "11-undecodable-spec", "utf16_spec.yaml"): (
        "1:1: the spec is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
    ),
    ("hardening", "12-name-templates", "log_name_attribute_walk.yaml"): (
        "14:30: transforms[0].log.name: the name template takes only '{var}' as placeholders"
    ),
    ("hardening", "13-control-chars", "control_char_label.yaml"): (
        "11:18: variables.value.label: character U+001B"
    ),
    ("tables", "case_10", "spec.yaml"): (
        "19:44: tables.t.stats[6]: table 't' asks for 'p75', which model 'desc' did not "
        "compute; it has: nobs, mean, sd, median, min, max, p25 (add 0.75 to the quantiles"
    ),
    ("newcomer", "gbk_source.yaml"): (
        "8:19: data.sources.panel.path: '{dir}/panel_gbk.csv' is not UTF-8 text (byte 0xb7 on "
        "line 1) (add encoding: gb18030 to the source (or try gb2312, gbk, big5))"
        # before: "(or try cp1250, gb2312, gbk)": a single-byte code page reads any bytes
    ),
    ("newcomer", "typo_cascade_effects.yaml"): (
        "87:49: models.fe.efects: unknown key 'efects' (did you mean 'effects'?)"
    ),
    ("newcomer", "typo_estimator.yaml"): (
        "87:19: models.fe.estimator: unknown estimator 'panelfe' (did you mean 'panel_fe'?)"
    ),
}


@pytest.mark.parametrize("parts", sorted(ERRORS), ids=lambda p: "/".join(p))
def test_case_is_one_located_error_from_validate_and_run(tmp_path, capsys, parts):
    spec = case(*parts)
    expected = f"error: {spec}:" + ERRORS[parts].replace("{dir}", str(spec.parent))
    for argv in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        code, err = cli(argv, capsys)
        assert code == 1
        # one error only: a typo's consequences are not reported as errors of their own
        assert len(err.splitlines()) == 1, err
        assert err.startswith(expected), err
    assert not (tmp_path / "out").exists()


# --- data-dependent faults: validate passes, run names the rows -----------------------------

RUN_ERRORS = {
    ("hardening", "04-validate-then-crash", "variant_constant_y.yaml"): (
        "47:11: models.pooled.zero: the dependent variable 'inv' of model 'pooled.zero' is "
        "constant (0.0) in all 200 rows of its sample"
    ),
    ("hardening", "10-silent-data", "inf_in_regressor.yaml"): (
        "20:5: models.describe: variable 'value' of model 'describe' is infinite in 29 rows, "
        "first at firm 1, year 1935 (inf)"
    ),
    ("newcomer", "year_as_text.yaml"): (
        "10:50: data.panel.time: the time column 'year' of './panel_yeartext.csv' is text, "
        "e.g. '2012年'"
    ),
    ("newcomer", "empty_sample.yaml"): (
        "121:15: variants.fe_controls.pre_2020: model 'fe_controls.pre_2020' has no rows: "
        "sample 'pre_2020' keeps none of the 341 rows (year 2012–2022) — its time window "
        "[…, 2009] matches no row"
    ),
    ("inference", "case_18", "spec.yaml"): (
        "5:10: data.panel: 3 rows have no firm or no year (data.csv: row 5, data.csv: row 31, "
        "data.csv: row 51;"
    ),
}


@pytest.mark.parametrize("parts", sorted(RUN_ERRORS), ids=lambda p: "/".join(p))
def test_case_is_a_located_error_at_run(tmp_path, capsys, parts):
    spec = case(*parts)
    code, err = cli(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    # (warnings come first; every model whose fit fails is reported, in plan order)
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors[0].startswith(f"error: {spec}:" + RUN_ERRORS[parts]), err
    assert not (tmp_path / "out").exists()


def test_tables_case_12_names_every_unmatched_pattern_of_every_table_at_once(tmp_path, capsys):
    # before: only t_regex's keep was reported, so a user fixed the tables one run at a time
    spec = case("tables", "case_12", "spec.yaml")
    code, err = cli(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert [
        line.split(" (")[0] + " (" + line.split(" (")[1].split(";")[0] for line in err.splitlines()
    ] == [
        f"error: {spec}:21:12: tables.t_regex.keep[0]: '^x_' matches no coefficient ('^x_' "
        "looks like a regular expression: write 're:^x_'",
        f"error: {spec}:26:12: tables.t_typo.drop[0]: 'ctlr' matches no coefficient ('ctlr': "
        "did you mean 'ctrl'?",
        f"error: {spec}:27:13: tables.t_typo.order[0]: 'X3' matches no coefficient ('X3': did "
        "you mean 'x3'?",
    ]
    assert all(
        line.endswith("the coefficients are: x_1, x_2, x3, ctrl, _cons)")
        for line in err.splitlines()
    )
    assert not (tmp_path / "out").exists()


def test_unknown_statistics_are_all_named_with_suggestions(capsys):
    spec = case("newcomer", "unknown_statistic.yaml")
    code, err = cli(["validate", str(spec)], capsys)
    assert code == 1
    lines = err.splitlines()
    # stats: [N, r2, adj_r2] in tables 3, 4 and 5: each bad name once, with its suggestion
    assert [line.split(" valid: ")[0].split(" ", 2)[2] for line in lines] == [
        f"tables.table{t}.stats[{i}]: unknown statistic '{bad}' (did you mean '{good}'?);"
        for t in (3, 4, 5)
        for i, bad, good in ((0, "N", "nobs"), (2, "adj_r2", "r2_adj"))
    ]
    assert all("valid: " in line and "r2_adj" in line.split("valid: ")[1] for line in lines)


def test_outputs_dir_escaping_is_refused_and_out_confines_the_run(tmp_path, capsys):
    spec = case("hardening", "14-unconfined-outputs", "outputs_dir_escapes.yaml")
    code, err = cli(["validate", str(spec)], capsys)
    assert code == 1
    assert err.startswith(
        f"error: {spec}:43:8: outputs.dir: '../../../../../../ESCAPED_OUT' leaves the project"
    )
    # --out replaces outputs.dir: everything lands inside it (and the node cache beside it)
    out = tmp_path / "out"
    assert cli(["run", str(spec), "--out", str(out)], capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".specrun-cache", "out"]
    assert (out / "results.json").exists()


# --- right values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "model", "name", "expected"),
    [
        # pyfixest 0.60 feols("y ~ x | firm", vcov={"CRV1": "year"})
        ("case_01", "m", "x", 0.118436),
        # pyfixest 0.60 feols("y ~ x | firm + year", vcov={"CRV1": "year"}), "firm+year", "firm"
        ("case_13", "tw_time", "x", 0.069949),
        ("case_13", "tw_both", "x", 0.062753),
        ("case_13", "tw_entity", "x", 0.063597),
        # R plm 2.6.2 sqrt(diag(vcovDC(plm(log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp,
        # Produc, model = "pooling"), type = "HC1"))) and vcovHC(…, method = "arellano",
        # type = "HC1")
        ("plm_produc", "pool_dc_plm", "_cons", 0.2528223),
        ("plm_produc", "pool_cl_plm", "_cons", 0.2449336),
    ],
)
def test_inference_case_gives_the_peer_standard_error(tmp_path, folder, model, name, expected):
    spec = case("inference", folder, "spec.yaml")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    se = results(out)[model]["coefficients"][name]["std_error"]
    assert se == pytest.approx(expected, abs=5e-7 if expected < 0.2 else 5e-8)


def test_plm_produc_every_standard_error_matches_plm(tmp_path):
    # R 4.2.2, plm 2.6.2: m <- plm(log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp,
    # pdata.frame(read.csv("Produc.csv"), index = c("state", "year")), model = "pooling");
    # sqrt(diag(vcovDC(m, type = "HC1"))) and sqrt(diag(vcovHC(m, method = "arellano",
    # type = "HC1"))), printed with digits = 10 (the README gives _cons only)
    expected = {
        "pool_dc_plm": {
            "_cons": 0.252822275133,
            "lpcap": 0.061907946009,
            "lpc": 0.045095499456,
            "lemp": 0.070418611029,
            "unemp": 0.003340273631,
        },
        "pool_cl_plm": {
            "_cons": 0.24493364708,
            "lpcap": 0.06030453672,
            "lpc": 0.04637197790,
            "lemp": 0.06881727050,
            "unemp": 0.00309992799,
        },
    }
    out = tmp_path / "out"
    assert main(["run", str(case("inference", "plm_produc", "spec.yaml")), "--out", str(out)]) == 0
    fitted = results(out)
    for model, ses in expected.items():
        got = {k: c["std_error"] for k, c in fitted[model]["coefficients"].items()}
        assert got == pytest.approx(ses, abs=1e-10), model


def test_case_18_with_drop_missing_keys_matches_pyfixest(tmp_path):
    # pyfixest 0.60 feols("y ~ x | firm + year", df.dropna(subset=["firm", "year"]),
    # vcov={"CRV1": "firm"}): N 93, 8 firms, b 0.412237, se 0.083103 (cases/inference README)
    source = case("inference", "case_18")
    shutil.copy(source / "data.csv", tmp_path / "data.csv")
    text = (source / "spec.yaml").read_text(encoding="utf-8")
    text = text.replace("time: year}", "time: year, drop_missing_keys: true}")
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "spec.yaml"), "--out", str(out)]) == 0
    model = results(out)["m"]
    assert (model["nobs"], model["stats"]["n_entities"]) == (93, 8.0)
    assert model["coefficients"]["x"]["estimate"] == pytest.approx(0.412237, abs=5e-7)
    assert model["coefficients"]["x"]["std_error"] == pytest.approx(0.083103, abs=5e-7)


def test_tables_case_01_warns_that_a_significant_slope_prints_as_zero(tmp_path, capsys):
    spec = case("tables", "case_01", "spec.yaml")
    code, err = cli(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert err.splitlines()[0] == (
        "warning: table 't': the coefficient of 'x' prints as zero at 3 decimals; rescale it "
        "(scale: {x: 100000}), print more digits (row_digits), or use notation: scientific"
    )


def test_tables_case_08_prints_confidence_intervals_and_says_so(tmp_path):
    spec = case("tables", "case_08", "spec.yaml")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    markdown = (out / "tables.md").read_text(encoding="utf-8")
    # statsmodels 0.15.0 smf.ols("y ~ x_1 + x_2", d).fit().conf_int(0.05): x_1 [0.018857,
    # 0.568365], x_2 [−0.434850, 0.111492]
    assert "|  | \\[0.019, 0.568\\] |" in markdown
    assert "|  | \\[−0.435, 0.111\\] |" in markdown
    assert "95% confidence intervals (conventional) in brackets." in markdown


# --- new instances of the same classes ------------------------------------------------------

PANEL = """\
spec_version: 1
data:
  sources: {d: {path: %s}}
  panel: {source: d, entity: firm, time: year%s}
models:
%s"""


def _case_18_frame():
    import polars as pl

    frame = pl.read_csv(case("inference", "case_18", "data.csv"))
    return frame.drop_nulls(["firm", "year"]).with_columns(region=pl.col("firm") % 3)


def test_missing_time_key_in_an_excel_source_is_located_then_dropped(tmp_path, capsys):
    import polars as pl

    frame = _case_18_frame().with_row_index()
    blank = pl.col("index").is_in([10, 40])
    frame = frame.with_columns(year=pl.when(blank).then(None).otherwise(pl.col("year")))
    frame.drop("index", "region").write_excel(tmp_path / "d.xlsx")
    model = (
        "  m: {estimator: panel_fe, y: y, x: [x], effects: [entity, time], se: {cluster: entity}}\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(PANEL % ("d.xlsx", "", model), encoding="utf-8")
    code, err = cli(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert (code, err.split(" (fill")[0]) == (
        1,
        f"error: {spec}:4:10: data.panel: 2 rows have no firm or no year (d.xlsx: row 11, "
        "d.xlsx: row 41; rows count data rows from 1, after the header): a missing key cannot "
        "be an entity or a period",
    )
    spec.write_text(PANEL % ("d.xlsx", ", drop_missing_keys: true", model), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    # pyfixest 0.60: feols("y ~ x | firm + year", pd.read_excel("d.xlsx").dropna(subset=
    # ["firm", "year"]), vcov={"CRV1": "firm"}) gives N 91, b 0.4341957, se 0.0955000
    fit = results(out)["m"]
    assert fit["nobs"] == 91
    assert fit["coefficients"]["x"]["estimate"] == pytest.approx(0.4341957, abs=5e-7)
    assert fit["coefficients"]["x"]["std_error"] == pytest.approx(0.0955000, abs=5e-7)


def test_cluster_by_a_column_the_entity_is_nested_in(tmp_path):
    # region = firm % 3, so firm effects are nested in the region clusters and not counted in K.
    # pyfixest 0.60 feols("y ~ x | firm", d, vcov={"CRV1": "region"}): se 0.0970547171,
    # p 0.0528319435 (t with G − 1 = 2 degrees of freedom)
    _case_18_frame().write_csv(tmp_path / "d.csv")
    model = "  m: {estimator: panel_fe, y: y, x: [x], effects: [entity], se: {cluster: region}}\n"
    spec = tmp_path / "spec.yaml"
    spec.write_text(PANEL % ("d.csv", "", model), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    x = results(out)["m"]["coefficients"]["x"]
    assert x["estimate"] == pytest.approx(0.4053299331, abs=1e-9)
    assert x["std_error"] == pytest.approx(0.0970547171, abs=1e-9)
    assert x["p_value"] == pytest.approx(0.0528319435, abs=1e-9)


def test_negative_two_way_cluster_variance_is_empty_not_zero(tmp_path, capsys):
    # pyfixest 0.60 feols("y ~ x | firm + year", d, vcov={"CRV1": "region+year"}) gives b
    # 0.4122369391 and se NaN (the inclusion–exclusion variance is negative); a zero standard
    # error with p = 0 would print as a starred estimate
    _case_18_frame().write_csv(tmp_path / "d.csv")
    model = (
        "  m: {estimator: panel_fe, y: y, x: [x], effects: [entity, time],"
        " se: {cluster: [region, time]}}\n"
        "tables:\n  t: {kind: regression, columns: [m]}\n"
        "outputs: {formats: [markdown]}\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(PANEL % ("d.csv", "", model), encoding="utf-8")
    out = tmp_path / "out"
    code, err = cli(["run", str(spec), "--out", str(out)], capsys)
    assert code == 0
    assert (
        "warning: model 'm': the stata covariance gives a negative variance for x, _cons "
        "(multi-way clustering is not positive semi-definite here): its standard error, t and p "
        "are left empty"
    ) in err.splitlines()
    x = results(out)["m"]["coefficients"]["x"]
    assert x["estimate"] == pytest.approx(0.4122369391, abs=1e-9)
    assert (x["std_error"], x["stat"], x["p_value"]) == (None, None, None)
    # no stars on the estimate, and Stata's missing (as esttab prints it) under it
    assert "| x | 0.412 |\n|  | (.) |" in (out / "tables.md").read_text(encoding="utf-8")


def test_every_statistic_a_descriptive_model_lacks_is_named_by_validate(tmp_path, capsys):
    # the class of tables/case_10 (a p75 the model did not compute), found without data
    text = (
        "models:\n  d: {estimator: descriptive, vars: [inv, value], quantiles: [0.25, 0.75]}\n"
        "tables:\n  t: {kind: descriptive, model: d, stats: [nobs, mean, stdev, p90, vif]}\n"
    )
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    has = "which model 'd' did not compute; it has: nobs, mean, sd, median, min, max, p25, p75"
    expected = [
        f"error: {spec}:9:56: tables.t.stats[2]: table 't' asks for 'stdev', {has}",
        f"error: {spec}:9:63: tables.t.stats[3]: table 't' asks for 'p90', {has} (add 0.9 to "
        "the quantiles of model 'd')",
        f"error: {spec}:9:68: tables.t.stats[4]: table 't' asks for 'vif', {has} (add vif: "
        "true to model 'd')",
    ]
    for argv in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        assert cli(argv, capsys) == (1, "\n".join(expected))


def test_chinese_labels_case_writes_a_xelatex_table_and_chinese_figures(tmp_path):
    spec = case("newcomer", "chinese_labels.yaml")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    tex = (out / "tables.tex").read_text(encoding="utf-8")
    # pdflatex cannot set U+6570 (数): the file says to use XeLaTeX and loads ctex
    assert tex.startswith("% Compile with XeLaTeX: the tables hold Chinese text, set with ctex")
    assert "\\usepackage[UTF8,scheme=plain]{ctex}" in tex
    assert "数字贸易" in tex
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "regional_effects.pdf",
        "regional_effects.png",
        "threshold_lr.pdf",
        "threshold_lr.png",
    ]


def test_random_effects_cluster_by_time_is_found_by_validate(tmp_path, capsys):
    # the class of 09-validate-misses: an se that xtreg, re does not offer passed validate
    text = (
        "models:\n  r: {estimator: panel_re, y: inv, x: [value], se: {cluster: [entity, time]}}\n"
    )
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    expected = (
        f"error: {spec}:7:6: models.r: random effects take se: unadjusted, robust or "
        "{cluster: entity}, not clustered by entity and time (Stata's xtreg, re clusters by the "
        "panel entity only)"
    )
    for argv in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        assert cli(argv, capsys) == (1, expected)


@pytest.mark.parametrize("wrong", ["big5", "latin-1"])
def test_a_wrong_encoding_that_decodes_is_one_error_naming_the_right_one(tmp_path, capsys, wrong):
    # GBK headers read as big5 or latin-1 decode without error into mojibake: 17 errors, each
    # an "unknown variable" or a missing panel column, none naming the encoding
    source = case("newcomer")
    for name in ("panel_gbk.csv", "exports_cn.csv"):
        shutil.copy(source / name, tmp_path / name)
    text = (source / "gbk_source.yaml").read_text(encoding="utf-8")
    old = "panel: {path: ./panel_gbk.csv}"
    assert old in text
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        text.replace(old, f"panel: {{path: ./panel_gbk.csv, encoding: {wrong}}}"), encoding="utf-8"
    )
    code, err = cli(["validate", str(spec)], capsys)
    assert code == 1
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {spec}:8:46: data.sources.panel.encoding: the header of ")
    assert "has no column '省份' or '年份'; read as gb18030 it does (set encoding: gb18030)" in err


def test_gbk_case_with_the_suggested_encoding_fits_as_its_utf8_copy(tmp_path):
    # the error's advice (add encoding: gb18030) followed: the GBK yearbook file gives the
    # numbers its UTF-8 copy gives (decoded here by Python's own gb18030 codec, not specrun's)
    source = case("newcomer")
    text = (source / "gbk_source.yaml").read_text(encoding="utf-8")
    old = "panel: {path: ./panel_gbk.csv}"
    assert old in text
    gbk, utf8 = tmp_path / "gbk", tmp_path / "utf8"
    fits = {}
    for folder, encoding in ((gbk, ", encoding: gb18030"), (utf8, "")):
        folder.mkdir()
        shutil.copy(source / "exports_cn.csv", folder / "exports_cn.csv")
        raw = (source / "panel_gbk.csv").read_bytes()
        if not encoding:
            raw = raw.decode("gb18030").encode("utf-8")
        (folder / "panel_gbk.csv").write_bytes(raw)
        spec = folder / "spec.yaml"
        spec.write_text(text.replace(old, old[:-1] + encoding + "}"), encoding="utf-8")
        out = folder / "out"
        assert main(["run", str(spec), "--out", str(out), "--only", "fe_controls"]) == 0
        fits[folder.name] = results(out)["fe_controls"]
    assert fits["gbk"] == fits["utf8"]
    # specrun's fe_controls of specs/paper.yaml on the bundled panel (the same synthetic data
    # under English headers): a regression guard, not a peer's number
    assert fits["gbk"]["nobs"] == 341
    assert fits["gbk"]["coefficients"]["Dige"]["estimate"] == pytest.approx(1.9933771251, abs=1e-9)


def test_case_13_in_two_processes_then_up_to_date(tmp_path, capsys):
    # --jobs 2 fits in a spawned worker; the unchanged re-run is answered from its run record
    spec = case("inference", "case_13", "spec.yaml")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--jobs", "2"]) == 0
    se = {m: results(out)[m]["coefficients"]["x"]["std_error"] for m in ("tw_time", "tw_both")}
    # pyfixest 0.60, as in test_inference_case_gives_the_peer_standard_error
    assert se == {
        "tw_time": pytest.approx(0.069949, abs=5e-7),
        "tw_both": pytest.approx(0.062753, abs=5e-7),
    }
    written = (out / "results.json").read_bytes()
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 0
    assert "all 6 plan nodes reused; outputs up to date" in capsys.readouterr().out
    assert (out / "results.json").read_bytes() == written
