"""Regression table IR: panels, keep/drop/order patterns, indicator rows and statistic rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.errors import SpecErrors

SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  inv: {label: Investment}
  value: {label: Market value}
groups:
  controls: [capital]
models:
  fe: {estimator: panel_fe, y: inv, x: [value, $controls], effects: [entity, time]}
  fe_plain: {extends: fe, x: [value]}
  fe_value: {extends: fe, y: value, x: [capital]}
  fe_value2: {extends: fe, y: value, x: [capital, inv]}
  ols: {estimator: ols, y: inv, x: [value, capital], label: Pooled}
tables:
  stacked:
    kind: regression
    panels:
      - {columns: [fe_plain, fe]}
      - {title: "Panel B: value", columns: [fe_value, fe_value2]}
    indicators: {Controls: [$controls]}
    stats: [nobs, r2_within, mean_y]
  patterns:
    kind: regression
    columns: [ols, fe]
    drop: ["cap*"]
    order: [_cons]
    stats: [nobs, r2]
    stat_labels: {nobs: Observations}
outputs: {formats: [markdown]}
"""
)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("tables")
    grunfeld_project(folder, SPEC)
    return run_file(folder / "spec.yaml", folder / "out").output.tables


def test_panels_stack_row_blocks_over_the_same_columns(tables):
    table = tables["stacked"]
    titled = [b.title for b in table.blocks if b.title]
    assert titled == ["Panel A: Investment", "Panel B: value"]
    assert [h.cells[0].text for h in table.header] == ["(1)"]  # no dependent row with panels
    first = table.blocks[0]
    assert [r.label for r in first.rows if r.kind == "coef"] == ["Market value", "Constant"]
    controls = next(b for b in table.blocks if b.rows[0].label == "Controls")
    assert [c.text for c in controls.rows[0].cells] == ["No", "Yes"]
    stats = table.blocks[2]
    assert [r.label for r in stats.rows] == ["N", "R² (within)", "Mean of dependent variable"]


def test_patterns_order_and_stat_labels(tables):
    table = tables["patterns"]
    coef_labels = [r.label for r in table.blocks[0].rows if r.kind == "coef"]
    assert coef_labels == ["Constant", "Market value"]
    stats = table.blocks[-1].rows
    assert [r.label for r in stats] == ["Observations", "R²"]
    # pooled OLS prints its R², the FE model its within R² (the r2_fe default)
    assert stats[1].cells[0].text != stats[1].cells[1].text


def test_panels_with_different_column_counts_are_an_error(tmp_path: Path):
    grunfeld_project(
        tmp_path, SPEC.replace("columns: [fe_value, fe_value2]", "columns: [fe_value]")
    )
    with pytest.raises(SpecErrors, match="every panel needs as many columns as the first: 2, 1"):
        run_file(tmp_path / "spec.yaml", tmp_path / "out")


def test_a_statistic_no_column_reports_is_an_error_naming_the_one_they_do(tmp_path: Path):
    # esttab's r2_a on fixed-effects models: panel_fe reports reghdfe's e(r2_a) as r2_lsdv_adj;
    # before, the row printed blank without a word
    spec = SPEC.replace("stats: [nobs, r2_within, mean_y]", "stats: [nobs, r2_adj]")
    grunfeld_project(tmp_path, spec)
    with pytest.raises(SpecErrors) as caught:
        run_file(tmp_path / "spec.yaml", tmp_path / "out")
    [error] = caught.value.errors
    assert (error.path, error.message, error.hint) == (
        "tables.stacked.stats[1]",
        "no column of this table has a statistic 'r2_adj' (Stata e(r2_a)): ols, panel_be "
        "report it, the columns are panel_fe",
        "did you mean 'r2_lsdv_adj' (areg e(r2_a); reghdfe e(r2_a))?",
    )
    # a table whose columns mix estimators prints the row where it applies
    mixed = SPEC.replace("stats: [nobs, r2]", "stats: [nobs, r2_adj]")
    assert "r2_adj" in mixed
    grunfeld_project(tmp_path, mixed)
    table = run_file(tmp_path / "spec.yaml", tmp_path / "out").output.tables["patterns"]
    [row] = [r for r in table.blocks[-1].rows if r.label == "Adjusted R²"]
    assert row.cells[0].text and not row.cells[1].text


def test_model_labels_head_their_columns(tables):
    header = [[c.text for c in row.cells] for row in tables["patterns"].header]
    assert header[-1] == ["Pooled", ""]


def test_a_family_member_whose_value_holds_a_dot_keeps_its_label(tmp_path: Path):
    """over: values 0.5 and 'x.y' make models 'f.0.5' and 'm.x.y': their column labels were
    blank, cut at the last dot ('m.x' is no family). Each column is labelled by its value, as
    Stata's esttab labels a by-group by its value."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - derive: {half: 'if_else(firm <= 5, 0.5, 1.5)', "
        "group: \"if_else(firm <= 5, 'x.y', 'z')\"}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value], over: group}\n"
        "  f: {estimator: ols, y: inv, x: [value], over: half}\n"
        "tables:\n  t: {kind: regression, columns: [m, f]}\n"
        "outputs: {formats: [markdown]}\n",
    )
    run_file(spec, out=tmp_path / "out")
    lines = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8").splitlines()
    assert "|  | x.y | z | 0.5 | 1.5 |" in lines


@pytest.mark.parametrize(
    ("language", "labels", "headers"),
    [
        # in the order the data meet the values: firm 1 is large
        ("zh", "{en: Large firm, zh: 大企业}", ["大企业=1", "大企业=0"]),
        ("en", "{en: Large firm, zh: 大企业}", ["Large firm = 1", "Large firm = 0"]),
        ("en", None, ["1", "0"]),  # an unlabelled column: its values, as before
    ],
)
def test_over_columns_of_a_labelled_number_name_the_split(
    tmp_path: Path, language: str, labels: str | None, headers: list[str]
):
    # a heterogeneity table split over: a 0/1 column was headed "0" and "1", which says
    # nothing of what was split; the column's label now heads each value
    variables = f"variables:\n  large: {{label: {labels}}}\n" if labels else ""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + variables
        + "transforms:\n"
        + '  - derive: {large: "if_else(firm <= 5, 1, 0)"}\n'
        + "models:\n"
        + "  fe: {estimator: panel_fe, y: inv, x: [value], effects: [entity], over: large}\n"
        + "tables:\n"
        + "  t: {kind: regression, columns: [fe]}\n"
        + f"outputs: {{formats: [markdown], language: {language}}}\n",
    )
    run_file(spec, tmp_path / "out")
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert f"|  | {headers[0]} | {headers[1]} |" in table
