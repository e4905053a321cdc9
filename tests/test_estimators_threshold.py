"""The panel_threshold estimator through its specs: Hansen (1999) and Wang (2015) as printed.

``specs/hansen1999.yaml`` must reproduce Hansen (1999, J. Econometrics 93:345–368) Table 2
(F statistics, thresholds and their 95 % confidence intervals) and Table 5 (cash-flow slopes
with OLS and White SEs) to the printed digits; ``specs/wang2015.yaml`` the xthreg output of
Wang (2015, Stata Journal 15(1):121–134, section 5). Bootstrap p-values are checked in
``tests/test_kernel_threshold.py``; here the replication count is cut to keep the test fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specrun.api import run_file

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _validate(spec: Path) -> subprocess.CompletedProcess[str]:
    """``specrun validate spec`` in a fresh process, as a user runs it (no traceback may show)."""
    return subprocess.run(
        [sys.executable, "-m", "specrun", "validate", str(spec)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )


def run_spec(name: str, tmp_path: Path, bootstrap: int = 10):
    text = (PROJECT_ROOT / "specs" / name).read_text()
    text = text.replace("bootstrap: 300", f"bootstrap: {bootstrap}")
    spec = PROJECT_ROOT / "specs" / f".test_{name}"
    spec.write_text(text)
    try:
        return run_file(spec, tmp_path).output.results.models
    finally:
        spec.unlink()


@pytest.mark.slow
def test_hansen_1999_tables_2_and_5(reference, tmp_path: Path):
    reference("hansen1999", "invest.dat")
    models = run_spec("hansen1999.yaml", tmp_path)
    extra = models["threshold"].extra
    tests = extra["tests"]
    # Table 2: F1 = 32.65 (GAUSS output 32.6499), F2 = 25.8, F3 = 4.2
    assert round(tests["1"]["F"], 2) == 32.65
    assert round(tests["2"]["F"], 1) == 25.8
    assert round(tests["3"]["F"], 1) == 4.2
    first, second = extra["thresholds"][:2]
    # Table 3: γ̂₁ = 0.0157 [0.0139, 0.0181], γ̂₂ = 0.5362 [0.5305, 0.5629]
    assert [round(first[k], 4) for k in ("estimate", "ci_low", "ci_high")] == [
        0.0157,
        0.0139,
        0.0181,
    ]
    assert [round(second[k], 4) for k in ("estimate", "ci_low", "ci_high")] == [
        0.5362,
        0.5305,
        0.5629,
    ]
    # Table 5: slopes 0.063, 0.098, 0.039; OLS SEs 0.006, 0.006, 0.012; White 0.014, 0.010, 0.031
    ols, white = models["threshold"], models["threshold_white"]
    names = ["c1_r1", "c1_r2", "c1_r3"]
    assert [round(ols.coefficients[n].estimate, 3) for n in names] == [0.063, 0.098, 0.039]
    assert [round(ols.coefficients[n].std_error, 3) for n in names] == [0.006, 0.006, 0.012]
    assert [round(white.coefficients[n].std_error, 3) for n in names] == [0.014, 0.010, 0.031]
    # hansen1999 splits regimes by q < γ (Hansen's GAUSS program)
    assert ols.coefficient_labels["c1_r2"] == "c1·I(0.0157≤d1<0.5362)"


@pytest.mark.slow
def test_wang_2015_xthreg(reference, tmp_path: Path):
    reference("hansen1999", "hansen1999.dta")
    model = run_spec("wang2015.yaml", tmp_path)["single"]
    # Wang (2015) section 5: Th-1 = 0.0154, F = 35.20, within R² = 0.0951
    assert round(model.extra["thresholds"][0]["estimate"], 4) == 0.0154
    assert round(model.extra["tests"]["1"]["F"], 2) == 35.20
    assert round(model.stats["r2_within"], 4) == 0.0951
    assert model.nobs == 7910


def test_a_missing_cell_that_unbalances_the_panel_is_named(tmp_path: Path, capsys):
    # the kernel sees the complete rows only: firm 3's 1940 row is in the data, but its capital
    # is blank, so the error names the cell that was left out, not just the period; the hint
    # writes the sample that drops the entity (it said "with a sample", and no sample option
    # drops whole entities by a row condition)
    import polars as pl

    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.cli import main

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + "      bootstrap: 0}\n",
    )
    data = pl.read_csv(tmp_path / "grunfeld.csv")
    blank = (pl.col("firm") == 3) & (pl.col("year") == 1940)
    data.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("capital")).alias("capital")
    ).write_csv(tmp_path / "grunfeld.csv")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {spec}:7:6: models.m: the panel threshold model needs a balanced panel "
        "(Hansen 1999: every entity in every period); 1 of 10 entities misses periods: 3 "
        "(1940); 1 row of its sample was left out for a missing value: 3 1940 (capital) "
        "(leave them out with sample: {exclude: {firm: [3]}} on model 'm' (keeps 180 of 199 "
        "rows); or keep every entity in the periods all of them have with sample: "
        "{time: [1941, 1954]} on model 'm' (keeps 140). " + XTHREG_NOTE + ")"
    )


# what every unbalanced-panel error of Grunfeld's 1935-1954 panel says of Stata's xthreg
XTHREG_NOTE = (
    "Stata's xthreg needs a balanced panel too: its users drop such entities first "
    "(xtbalance, range(1935 1954), or bysort firm: keep if _N == 20); the interpolate "
    "transform fills missing cells of the rows the data have, not periods without a row"
)
THRESHOLD = "{estimator: panel_threshold, y: inv, regime_x: [value], q: capital, bootstrap: 0"


def _unbalanced_grunfeld(folder: Path, codes: bool = False) -> None:
    """Grunfeld's panel (10 firms x 1935-1954, 200 rows) without firm 3's 1940 row and firm
    7's 1952-1954 rows: 196 rows. With ``codes``, firms are text codes '000001' … '000010'."""
    import polars as pl

    data = pl.read_csv(folder / "grunfeld.csv").filter(
        ~(
            ((pl.col("firm") == 3) & (pl.col("year") == 1940))
            | ((pl.col("firm") == 7) & (pl.col("year") >= 1952))
        )
    )
    if codes:
        data = data.with_columns(pl.col("firm").cast(pl.String).str.zfill(6))
    data.write_csv(folder / "grunfeld.csv")


def _run(spec: Path, capsys) -> tuple[int, str]:
    from specrun.cli import main

    code = main(["run", str(spec), "--out", str(spec.parent / "out"), "--no-cache"])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("codes", [False, True])
def test_an_unbalanced_panel_names_the_entities_and_the_sample_that_fixes_it(
    tmp_path: Path, capsys, codes: bool
):
    """It said which entities miss which periods and "drop the incomplete entities or periods
    with a sample": not which sample, in the user's own columns and codes. The YAML the hint
    shows is pasted into the spec and the model then runs, on the rows the hint counted (200
    rows less firms 3 and 7's 19 + 17; or the 10 firms in 1941-1951)."""
    import json

    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + f"models:\n  m: {THRESHOLD}}}\n")
    _unbalanced_grunfeld(tmp_path, codes)
    three, seven = ("'000003'", "'000007'") if codes else ("3", "7")
    code, err = _run(spec, capsys)
    assert (code, err) == (
        1,
        f"error: {spec}:7:6: models.m: the panel threshold model needs a balanced panel "
        "(Hansen 1999: every entity in every period); 2 of 10 entities miss periods: "
        f"{three.strip(chr(39))} (1940); {seven.strip(chr(39))} (1952, 1953, 1954) (leave them "
        f"out with sample: {{exclude: {{firm: [{three}, {seven}]}}}} on model 'm' (keeps 160 "
        "of 196 rows); or keep every entity in the periods all of them have with sample: "
        f"{{time: [1941, 1951]}} on model 'm' (keeps 110). {XTHREG_NOTE})",
    )
    for sample, nobs in [
        (f"{{exclude: {{firm: [{three}, {seven}]}}}}", 160),
        ("{time: [1941, 1951]}", 110),
    ]:
        spec.write_text(
            GRUNFELD_HEAD + f"models:\n  m: {THRESHOLD}, sample: {sample}}}\n",
            encoding="utf-8",
        )
        code, err = _run(spec, capsys)
        assert code == 0, err
        results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
        assert results["models"]["m"]["nobs"] == nobs


def test_a_named_sample_is_told_what_to_add_and_an_inline_one_keeps_its_keys(
    tmp_path: Path, capsys
):
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "samples:\n  early: {time: [null, 1953]}\n"
        + "models:\n"
        + f"  named: {THRESHOLD}, sample: early}}\n"
        + f"  inline: {THRESHOLD},\n"
        + '          sample: {where: "inv > 0", exclude: {firm: [9]}}}\n',
    )
    _unbalanced_grunfeld(tmp_path)
    code, err = _run(spec, capsys)
    assert code == 1
    named, inline = err.split("\n")
    assert named.startswith(f"error: {spec}:9:10: models.named: ")
    assert (
        "7 (1952, 1953) (leave them out with exclude: {firm: [3, 7]} in sample 'early' (or in "
        "a copy of it that model 'named' names) (keeps 152 of 187 rows); or keep every entity "
        "in the periods all of them have with time: [1941, 1951] in sample 'early' (or in a "
        "copy of it that model 'named' names) (keeps 110)."
    ) in named
    assert "xtbalance, range(1935 1953), or bysort firm: keep if _N == 19" in named
    assert inline.startswith(f"error: {spec}:10:11: models.inline: ")
    assert (
        "(leave them out with sample: {where: 'inv > 0', exclude: {firm: [9, 3, 7]}} on model "
        "'inline' (keeps 140 of 176 rows); or keep every entity in the periods all of them "
        "have with sample: {where: 'inv > 0', time: [1941, 1951], exclude: {firm: [9]}} on "
        "model 'inline' (keeps 99)."
    ) in inline


def test_a_table_labels_regime_slopes_with_the_variables_labels(tmp_path: Path):
    # the regime rows printed the columns' names (Dige·I(STR≤1.288)) in a Chinese table whose
    # other rows, and the threshold_lr figure's axis, print their labels
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "variables:\n"
        + "  value: {label: {en: Market value, zh: 市值}}\n"
        + "  capital: {label: {en: Capital stock, zh: 资本存量}}\n"
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + "      bootstrap: 0}\n"
        + "tables:\n"
        + "  t: {kind: regression, columns: [m]}\n"
        + "outputs: {formats: [markdown], language: zh}\n",
    )
    run = run_file(spec, tmp_path / "out")
    model = run.output.results.models["m"]
    gamma = model.coefficient_labels["value_r1"].split("≤")[1].rstrip(")")
    assert model.coefficient_labels == {
        "value_r1": f"value·I(capital≤{gamma})",
        "value_r2": f"value·I(capital>{gamma})",
    }
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert f"| 市值·I(资本存量≤{gamma}) |" in table
    assert f"| 市值·I(资本存量\\>{gamma}) |" in table
    assert "capital" not in table


@pytest.mark.parametrize(
    ("language", "title"),
    [("zh", "单一门槛：γ̂ = {gamma}"), ("en", "Single threshold: γ̂ = {gamma}")],
)
def test_threshold_lr_panels_are_titled_with_the_languages_colon(
    tmp_path: Path, language: str, title: str
):
    # the Chinese panel read "单一门槛: γ̂ = 1.301", a half-width colon after Chinese text
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + "      bootstrap: 0}\n"
        + "figures:\n"
        + "  lr: {kind: threshold_lr, model: m}\n"
        + f"outputs: {{formats: [markdown], language: {language}}}\n",
    )
    run = run_file(spec, tmp_path / "out")
    gamma = run.output.results.models["m"].extra["thresholds"][0]["estimate"]
    axes = run.output.figures["lr"].draw().axes
    assert [a.get_title() for a in axes] == [title.format(gamma=f"{gamma:.4g}")]


def test_columns_with_other_thresholds_name_their_regimes_by_gamma(tmp_path: Path):
    # a robustness table of a threshold model on two samples labelled every column's regime
    # rows with the first column's thresholds (I(capital≤…)): the second column's slopes, split
    # elsewhere, were printed under bounds that were not its own
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + "      bootstrap: 0}\n"
        + "  late: {extends: m, sample: {time: [1940, null]}}\n"
        + "tables:\n"
        + "  both: {kind: regression, columns: [m, late]}\n"
        + "  one: {kind: regression, columns: [m]}\n"
        + "outputs: {formats: [markdown]}\n",
    )
    run = run_file(spec, tmp_path / "out")
    models = run.output.results.models
    gammas = [models[n].extra["thresholds"][0]["estimate"] for n in ("m", "late")]
    assert gammas[0] != gammas[1]  # the premise: the two samples split at other values
    both = (tmp_path / "out" / "tables" / "both.md").read_text(encoding="utf-8")
    assert "| value·I(capital≤γ₁) |" in both
    assert "| value·I(capital\\>γ₁) |" in both
    assert "each column's own estimated thresholds" in both
    one = (tmp_path / "out" / "tables" / "one.md").read_text(encoding="utf-8")
    assert f"| value·I(capital≤{gammas[0]:.4g}) |" in one  # one column: its own numbers
    assert "γ₁" not in one


@pytest.mark.parametrize(("trim", "expected"), [("0.05", [0.05]), ("[0.05, 0.1]", [0.05, 0.1])])
def test_trim_takes_one_number_as_xthreg_does(tmp_path: Path, trim: str, expected: list[float]):
    # xthreg writes trim(0.05); trim: 0.05 was 'input should be a valid list'
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.spec.validate import validate_file

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + f"      max_thresholds: 2, trim: {trim}, bootstrap: 0}}\n",
    )
    assert validate_file(spec).models["m"].spec.trim == expected


def test_a_trim_list_for_other_thresholds_says_what_to_give(tmp_path: Path):
    # a model extending one with three thresholds kept its trim: [0.01, 0.01, 0.05] and was
    # told only 'trim needs 1 or 2 values'
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + "      max_thresholds: 3, trim: [0.01, 0.01, 0.05], bootstrap: 0}\n"
        + "  two: {extends: m, max_thresholds: 2}\n",
    )
    result = _validate(spec)
    assert result.returncode == 1
    assert (
        "models.two: trim has 3 values for max_thresholds: 2: give one value for every "
        "threshold (trim: 0.01) or 2" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_regression_table_prints_thresholds_with_four_decimals(tmp_path: Path):
    # Hansen (1999, Table 3) and xthreg print γ̂ = 0.0157; a regression table with digits: 3
    # printed the threshold row as 0.016, beside a threshold_test table printing 0.0157
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n"
        + "  - derive: {share: capital / (capital + value)}\n"
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: share,\n"
        + "      bootstrap: 0}\n"
        + "tables:\n"
        + "  t: {kind: regression, columns: [m], digits: 3, stats: [r2_within, threshold_1]}\n"
        + "  wide: {kind: regression, columns: [m], digits: 6, stats: [threshold_1]}\n"
        + "outputs: {formats: [markdown]}\n",
    )
    run = run_file(spec, tmp_path / "out")
    gamma = run.output.results.models["m"].extra["thresholds"][0]["estimate"]
    r2 = run.output.results.models["m"].stats["r2_within"]
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert f"| Threshold γ̂₁ | {gamma:.4f} |" in table
    assert f"| R² (within) | {r2:.3f} |" in table  # the other rows keep the table's digits
    wide = (tmp_path / "out" / "tables" / "wide.md").read_text(encoding="utf-8")
    assert f"| Threshold γ̂₁ | {gamma:.6f} |" in wide


@pytest.mark.parametrize(
    ("se", "advice"),
    [
        (
            "robust",
            "got 'robust': White's heteroskedasticity-robust errors (Hansen's het) are se: white",
        ),
        (
            "{cluster: firm}",
            "got a mapping: it clusters by the panel's entity only: write se: cluster",
        ),
        (
            "hc3",
            "got 'hc3': write conventional, white (heteroskedasticity-robust) or cluster "
            "(by entity)",
        ),
    ],
)
def test_a_threshold_se_written_as_for_linear_models_names_its_own(
    tmp_path: Path, se: str, advice: str
):
    # se: robust was answered with the linear models' list (unadjusted, robust, HC0 … or
    # {cluster: entity}), which offered the very values panel_threshold refuses
    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + f"      bootstrap: 0, se: {se}}}\n",
    )
    result = _validate(spec)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {spec}:8:25: ")
    assert "models.m.se: a panel_threshold model's se is conventional, white or cluster " in line
    assert line.endswith(advice)


HANSEN_TABLES = """\
spec_version: 1
data:
  sources:
    invest:
      path: {path}
      columns: [inva, vala, cfa, debta]
      index: {{entity: firm, time: year, periods: 15, start: 1973}}
  panel: {{source: invest, entity: firm, time: year}}
variables:
  inva: {{label: 投资率}}
  c1: {{label: 现金流}}
  d1: {{label: 资产负债率}}
transforms:
  - lag: {{vars: [vala, cfa, debta], periods: 1}}
  - derive:
      q1: vala_lag1
      q2: vala_lag1 ** 2
      q3: vala_lag1 ** 3
      d1: debta_lag1
      qd1: vala_lag1 * debta_lag1
      c1: cfa_lag1
models:
  thr: {{estimator: panel_threshold, y: inva, regime_x: [c1], q: d1,
        controls: [q1, q2, q3, d1, qd1], convention: hansen1999, max_thresholds: 2,
        trim: 0.01, grid: 400, bootstrap: 0}}
  white: {{extends: thr, se: white}}
tables:
  t5: {{kind: regression, columns: [thr, white], digits: 3, keep: ["c1_*"],
        stats: [threshold_1, threshold_2]}}
outputs: {{formats: [markdown], language: zh}}
"""


def test_hansen_1999_tables_3_and_5_as_a_chinese_table_prints_them(reference, tmp_path: Path):
    # Hansen (1999, J. Econometrics 93:345–368): Table 3's thresholds γ̂₁ = 0.0157 and
    # γ̂₂ = 0.5362; Table 5's cash-flow slopes 0.063, 0.098, 0.039 with OLS SEs 0.006, 0.006,
    # 0.012 and White SEs 0.014, 0.010, 0.031, to the printed digit in a 3-decimal Chinese
    # table (its threshold rows printed 0.016 and 0.536, and a table beside a model on other
    # thresholds labelled their regimes with these); Hansen's GAUSS program prints the same
    invest = reference("hansen1999", "invest.dat")
    spec = tmp_path / "spec.yaml"
    spec.write_text(HANSEN_TABLES.format(path=invest.as_posix()), encoding="utf-8")
    run_file(spec, tmp_path / "out")
    table = (tmp_path / "out" / "tables" / "t5.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert "| 现金流·I(资产负债率\\<0.0157) | 0.063*** | 0.063*** |" in rows
    assert "|  | (0.006) | (0.014) |" in rows
    assert "| 现金流·I(0.0157≤资产负债率\\<0.5362) | 0.098*** | 0.098*** |" in rows
    assert "|  | (0.006) | (0.010) |" in rows
    assert "| 现金流·I(资产负债率≥0.5362) | 0.039*** | 0.039 |" in rows
    assert "|  | (0.012) | (0.031) |" in rows
    assert "| 门槛值γ̂₁ | 0.0157 | 0.0157 |" in rows
    assert "| 门槛值γ̂₂ | 0.5362 | 0.5362 |" in rows


def test_threshold_rows_out_of_ascending_order_are_said_so(reference, tmp_path: Path):
    # on 1978–1987 Hansen's model estimates its second threshold below its first: the regime
    # rows name their bounds γ₁ < γ₂ in ascending order while the threshold rows follow the
    # order estimated, and the note said only the first
    invest = reference("hansen1999", "invest.dat")
    text = HANSEN_TABLES.format(path=invest.as_posix()).replace(
        "tables:\n",
        "  late: {extends: thr, sample: {time: [1978, null]}}\n"
        "tables:\n"
        "  both: {kind: regression, columns: [thr, late], keep: ['c1_*'],\n"
        "         stats: [threshold_1, threshold_2]}\n",
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    run = run_file(spec, tmp_path / "out")
    late = run.output.results.models["late"].stats
    assert late["threshold_1"] > late["threshold_2"]  # the premise
    table = (tmp_path / "out" / "tables" / "both.md").read_text(encoding="utf-8")
    assert (
        "γ₁ \\< γ₂ \\< …为各列模型自身估计的门槛值（由小到大）；门槛值行按估计顺序列示，"
        "第(2)列并非由小到大。"
    ) in table
