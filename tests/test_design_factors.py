"""Factor variables and interactions equal statsmodels formula fits on the Grunfeld data.

Every reference number below was produced once with statsmodels 0.15.0 (patsy formulas) on
``data/grunfeld.csv`` (R plm's 200-row Grunfeld) by ``smf.ols(FORMULA, d).fit()`` and read from
``.params`` / ``.bse`` (conventional standard errors); the formula is given with each model.
The tests run specs through the whole pipeline (validate → compile → execute), so the names,
the base levels and the omission of collinear levels are checked as well as the numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.errors import SpecErrors

RTOL = 1e-7

SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  firm: {label: Firm}
  value: {label: Market value}
  capital: {label: Capital stock}
models:
  interacted: {estimator: ols, y: inv, x: [value, capital, i.firm, c.value#c.capital]}
  full: {estimator: ols, y: inv, x: ["i.firm##c.value"]}
  slopes: {estimator: ols, y: inv, x: [capital, i.firm#c.value]}
  last_base: {estimator: ols, y: inv, x: [value, ib(last).firm]}
  fe_years: {estimator: panel_fe, y: inv, x: [value, capital, i.year], effects: [entity]}
  fe_firms: {estimator: panel_fe, y: inv, x: [value, capital, i.firm], effects: [entity]}
tables:
  t: {kind: regression, columns: [interacted, last_base], keep: [i.firm, re:^c\\.],
      labels: {"re:^c\\\\.value#": Value × capital}}
  bases: {kind: regression, columns: [interacted, last_base], keep: [i.firm],
          base_levels: true}
  fe: {kind: regression, columns: [fe_years, fe_firms, interacted],
       indicators: {Year FE: [i.year], Firm dummies: [i.firm]}}
outputs: {dir: out, formats: [markdown]}
"""
)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("factors")
    spec = grunfeld_project(folder, SPEC)
    result = run_file(spec)
    data = json.loads((result.folder / "results.json").read_text())
    data["table"] = (result.folder / "tables" / "t.md").read_text()
    data["fe_table"] = (result.folder / "tables" / "fe.md").read_text()
    data["bases_table"] = (result.folder / "tables" / "bases.md").read_text()
    return data


def check(model: dict, expected: dict[str, tuple[float, float]]) -> None:
    for name, (estimate, std_error) in expected.items():
        coef = model["coefficients"][name]
        assert coef["estimate"] == pytest.approx(estimate, rel=RTOL), name
        assert coef["std_error"] == pytest.approx(std_error, rel=RTOL), name


def test_factor_and_continuous_interaction_equal_statsmodels(run: dict) -> None:
    # smf.ols("inv ~ value + capital + C(firm) + value:capital", d)
    model = run["models"]["interacted"]
    check(
        model,
        {
            "_cons": (70.91664219675329, 43.44710092479433),
            "2.firm": (144.39728220969022, 25.776885868015768),
            "3.firm": (-181.58874541691566, 26.172746152097034),
            "10.firm": (-73.23954594880917, 43.7809233575299),
            "value": (0.06988106054429039, 0.010616498638541309),
            "capital": (0.07163796815161427, 0.02874326870653679),
            "c.value#c.capital": (6.167932354430637e-05, 6.455464137002279e-06),
        },
    )
    assert "1.firm" not in model["coefficients"]
    assert model["extra"]["base_levels"] == {"firm": "1"}


def test_full_factorial_omits_the_base_in_main_effect_and_interaction(run: dict) -> None:
    # smf.ols("inv ~ C(firm)*value", d)
    model = run["models"]["full"]
    check(
        model,
        {
            "_cons": (-394.8710396574371, 95.13013905534675),
            "2.firm": (404.94270679194767, 160.11647941044959),
            "10.firm": (399.2205083098457, 177.60147176538314),
            "value": (0.23140906969615815, 0.021510167657585316),
            "2.firm#c.value": (-0.02834676301812525, 0.06809169170550125),
            "10.firm#c.value": (-0.2492453756193117, 2.0978236673974098),
        },
    )
    assert len(model["coefficients"]) == 1 + 9 + 1 + 9


def test_factor_by_continuous_alone_keeps_every_level(run: dict) -> None:
    # smf.ols("inv ~ capital + C(firm):value", d): one slope per firm, no base left out
    model = run["models"]["slopes"]
    check(
        model,
        {
            "_cons": (-17.046454511061842, 13.558024198657817),
            "capital": (0.3264106148846493, 0.016136717962122918),
            "1.firm#c.value": (0.09687998977071494, 0.004655507530813703),
            "5.firm#c.value": (-0.36533501610005453, 0.07812516913390667),
            "10.firm#c.value": (0.25238796794231216, 0.2420243287995205),
        },
    )


def test_ib_last_takes_the_last_level_as_base(run: dict) -> None:
    # smf.ols("inv ~ value + C(firm, Treatment(reference=10))", d)
    model = run["models"]["last_base"]
    check(
        model,
        {
            "_cons": (-10.381806562525282, 19.37156046492235),
            "1.firm": (-204.49811537819267, 81.43403629781199),
            "9.firm": (-11.081841941515178, 27.74181233671448),
            "value": (0.18987756182800214, 0.01799441687434797),
        },
    )
    assert "10.firm" not in model["coefficients"]
    assert model["extra"]["base_levels"] == {"firm": "10"}


def test_year_dummies_under_entity_effects_equal_the_dummy_regression(run: dict) -> None:
    # smf.ols("inv ~ value + capital + C(firm) + C(year)", d): the slopes and year effects
    model = run["models"]["fe_years"]
    check(
        model,
        {
            "1936.year": (-19.197405226927074, 23.675861763956785),
            "1954.year": (-93.52622109767938, 27.107864172023497),
            "value": (0.11771585508261763, 0.013751283003649722),
            "capital": (0.35791627307341123, 0.022719010882572492),
        },
    )


def test_levels_absorbed_by_the_fixed_effects_are_omitted_with_a_note(run: dict) -> None:
    model = run["models"]["fe_firms"]
    assert set(model["coefficients"]) == {"value", "capital", "_cons"}
    assert model["extra"]["omitted"] == [f"{k}.firm" for k in range(2, 11)]
    # the slopes are those of the model without the firm dummies (plm within, see
    # tests/test_estimators_linear.py)
    assert model["coefficients"]["value"]["estimate"] == pytest.approx(0.1101238041207, 1e-9)


def test_table_rows_select_by_term_and_regex_and_labels_compose(run: dict) -> None:
    table = run["table"]
    assert "| Firm: 2 |" in table and "| Firm: 10 |" in table  # i.firm keeps its level rows
    assert "| Value × capital |" in table  # a re: label
    assert "| Market value |" not in table  # keep: only i.firm and re:^c\.
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    assert rows.index("Firm: 2") < rows.index("Value × capital")


def test_base_levels_can_be_shown(run: dict) -> None:
    rows = [line for line in run["bases_table"].splitlines() if line.startswith("| Firm")]
    # firm 1 is the base of `interacted`, firm 10 of `last_base` (ib(last).firm)
    assert rows[0] == "| Firm: 1 (base) | (base) |  |"
    assert rows[1] == "| Firm: 10 (base) |  | (base) |"
    assert rows[2].startswith("| Firm: 2 |")
    assert "(base)" not in run["table"]  # hidden by default


def test_indicator_rows_take_factor_terms(run: dict) -> None:
    table = run["fe_table"]
    assert "| Year FE | Yes | No | No |" in table
    # fe_firms has i.firm although every level is omitted as collinear with the entity effects
    assert "| Firm dummies | No | Yes | Yes |" in table
    assert ".year" not in table and "Firm: " not in table  # their rows are left out
    assert "Omitted as collinear: 2.firm, 3.firm," in table


def test_unknown_variable_in_a_term_is_located(tmp_path: Path) -> None:
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n  m: {estimator: ols, y: inv, x: [L.valeu, c.value#capital, i.firm]}\n",
    )
    with pytest.raises(SpecErrors) as info:
        run_file(spec)
    text = [str(e) for e in info.value.errors]
    assert any(
        "7:35: models.m.x[0]: unknown variable 'valeu' in term 'L.valeu' (did you mean 'value'?)"
        in t
        for t in text
    ), text
    assert any(
        "7:44: models.m.x[1]: term 'c.value#capital': 'capital' in an interaction needs c." in t
        and "at character 9" in t
        for t in text
    ), text


ESTIMATORS_SPEC = (
    GRUNFELD_HEAD
    + """\
transforms:
  - lag: {vars: [value, capital], periods: 1}
models:
  med_terms: {estimator: mediation, y: inv, x: [value, L.capital], mediator: capital,
              effects: [entity], bootstrap: 0}
  med_columns: {estimator: mediation, y: inv, x: [value, capital_lag1], mediator: capital,
                effects: [entity], bootstrap: 0}
  thr_terms: {estimator: panel_threshold, y: inv, regime_x: [L.value], q: L.capital,
              controls: [capital], bootstrap: 0, grid: 20}
  thr_columns: {estimator: panel_threshold, y: inv, regime_x: [value_lag1], q: capital_lag1,
                controls: [capital], bootstrap: 0, grid: 20}
  gmm_terms: {estimator: difference_gmm, y: inv, x: [value, L.value], gmm: {inv: [2, 3]},
              iv: [value], steps: 1}
outputs: {dir: out, formats: [markdown]}
"""
)


def test_every_estimator_reads_terms_as_the_lag_transform_would(tmp_path: Path) -> None:
    # L.x built by the term grammar equals the `lag` transform's column (the same calendar
    # join), in mediation's three fits and in a threshold model's regime and threshold
    # variables; GMM reads L.value through the shared grammar in its own kernel.
    result = run_file(grunfeld_project(tmp_path, ESTIMATORS_SPEC))
    models = json.loads((result.folder / "results.json").read_text())["models"]
    for part in ("total", "mediator", "outcome"):
        terms = models[f"med_terms.{part}"]["coefficients"]
        columns = models[f"med_columns.{part}"]["coefficients"]
        assert terms["L.capital"] == columns["capital_lag1"]
        assert terms["value"] == columns["value"]
    assert models["med_terms"]["extra"] == models["med_columns"]["extra"]
    t, c = models["thr_terms"], models["thr_columns"]
    assert t["extra"]["thresholds"] == c["extra"]["thresholds"]
    assert [v["estimate"] for v in t["coefficients"].values()] == [
        v["estimate"] for v in c["coefficients"].values()
    ]
    assert {"value", "L.value"} <= set(models["gmm_terms"]["coefficients"])


def test_a_bad_row_regex_is_a_located_error(tmp_path: Path) -> None:
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n  m: {estimator: ols, y: inv, x: [value]}\n"
        + "tables:\n  t: {kind: regression, columns: [m], drop: ['re:(']}\n",
    )
    with pytest.raises(SpecErrors) as info:
        run_file(spec)
    text = str(info.value.errors[0])
    assert "spec.yaml:9:45: tables.t.drop:" in text and "bad regular expression 're:('" in text
