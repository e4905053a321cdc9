"""The mediation table and a mediation model's rows in regression tables, in both languages.

The statistic column is headed t / z and a note names each row's reference: a, b, c and c′ are t
statistics of their regressions (Grunfeld's 10 firms clustered: G − 1 = 9 degrees of freedom,
as Stata's ``xtreg, fe vce(cluster firm)`` reports e(df_r); pooled OLS with conventional
standard errors: N − K = 200 − 2 = 198 for the mediator and total regressions, 200 − 3 = 197
for the outcome regression, as ``regress`` reports e(df_r)), a·b and its tests z statistics
(Sobel 1982). The p-values are recomputed with scipy from the degrees of freedom the note
states.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.tables.ir import Table

SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  inv: {label: Investment}
  value: {label: Market value}
  capital: {label: Capital stock}
models:
  med: {estimator: mediation, y: inv, x: [value], mediator: capital, effects: [entity, time],
        se: {cluster: entity}, bootstrap: 0}
  pooled: {estimator: mediation, y: inv, x: [value], mediator: capital, effects: [],
           bootstrap: 0}
tables:
  effects: {kind: mediation, model: med}
  pooled_effects: {kind: mediation, model: pooled}
  t: {kind: regression, columns: [med, pooled], show: t}
outputs: {formats: [markdown]}
"""
)
ZH_SPEC = (
    SPEC.replace("Investment", "投资")
    .replace("Market value", "市值")
    .replace("Capital stock", "资本存量")
    .replace("{formats: [markdown]}", "{formats: [markdown], language: zh}")
)


def _tables(tmp_path: Path, text: str) -> dict[str, Table]:
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out", cache=False)
    return run.output.tables


def _labels(table: Table) -> list[str]:
    return [row.label for block in table.blocks for row in block.rows]


def test_english_mediation_table(tmp_path: Path):
    tables = _tables(tmp_path, SPEC)
    effects = tables["effects"]
    assert [c.text for c in effects.header[0].cells] == [
        "Estimate", "Std. error", "t / z", "p-value"
    ]  # fmt: skip
    assert _labels(effects) == [
        "c: total effect",
        "a: Market value → Capital stock",
        "b: Capital stock → Investment",
        "c′: direct effect",
        "a·b: indirect effect",
        "Sobel test of a·b",
        "Aroian test of a·b",
        "Goodman test of a·b",
        "Share mediated, a·b / c",
        "N",
    ]
    assert effects.notes == (
        "a, b, c and c′ from the three regressions (standard errors clustered by firm); "
        "tests of a·b after Sobel (1982), Aroian (1947) and Goodman (1960).",
        "t / z: t with 9 degrees of freedom for a, b, c and c′; "
        "z (standard normal) for a·b and its tests.",
        "*** p < 0.01, ** p < 0.05, * p < 0.1.",
    )
    assert tables["pooled_effects"].notes[:2] == (
        "a, b, c and c′ from the three regressions (standard errors conventional); "
        "tests of a·b after Sobel (1982), Aroian (1947) and Goodman (1960).",
        "t / z: t with 198 degrees of freedom for a and c, t with 197 degrees of freedom for b "
        "and c′; z (standard normal) for a·b and its tests.",
    )
    regression = tables["t"]
    assert _labels(regression)[:10:2] == [
        "a: Market value → Capital stock",
        "b: Capital stock → Investment",
        "c: total effect",
        "c′: direct effect",
        "a·b: indirect effect",
    ]
    assert regression.notes[0] == (
        "t or z statistics (z for a·b: indirect effect; t for the others) in parentheses."
    )


def test_chinese_mediation_table(tmp_path: Path):
    tables = _tables(tmp_path, ZH_SPEC)
    effects = tables["effects"]
    assert [c.text for c in effects.header[0].cells] == ["估计值", "标准误", "t值 / z值", "p值"]
    assert _labels(effects) == [
        "c：总效应",
        "a：市值 → 资本存量",
        "b：资本存量 → 投资",
        "c′：直接效应",
        "a·b：间接效应",
        "a·b的Sobel检验",
        "a·b的Aroian检验",
        "a·b的Goodman检验",
        "中介效应占比 a·b / c",
        "观测值",
    ]
    assert effects.notes == (
        "a、b、c与c′来自三步回归（以个体聚类的稳健标准误）；"
        "a·b的检验依Sobel（1982）、Aroian（1947）与Goodman（1960）。",
        "t值 / z值：a、b、c与c′为t值（自由度为9）；a·b及其检验为z值（标准正态分布）。",
        "***、**、*分别表示在1%、5%、10%的水平上显著。",
    )
    assert tables["pooled_effects"].notes[1] == (
        "t值 / z值：a与c为t值（自由度为198），b与c′为t值（自由度为197）；"
        "a·b及其检验为z值（标准正态分布）。"
    )
    regression = tables["t"]
    assert _labels(regression)[:10:2] == [
        "a：市值 → 资本存量",
        "b：资本存量 → 投资",
        "c：总效应",
        "c′：直接效应",
        "a·b：间接效应",
    ]
    assert regression.notes[0] == "括号内为t值或z值（a·b：间接效应为z值，其余为t值）。"


def test_the_stated_degrees_of_freedom_reproduce_the_p_values(tmp_path: Path):
    from scipy import stats

    run = run_file(grunfeld_project(tmp_path, SPEC), tmp_path / "out", cache=False)
    symbols = {"a": "a", "b": "b", "c": "c", "c′": "c_prime"}
    for table, model in (("effects", "med"), ("pooled_effects", "pooled")):
        note = run.output.tables[table].notes[1]
        stated: dict[str, int] = {}
        groups = re.findall(r"t with (\d+) degrees of freedom for (.+?)(?=, t with|;)", note)
        for df, listed in groups:
            for symbol in re.split(r", | and ", listed):
                stated[symbols[symbol]] = int(df)
        assert sorted(stated) == ["a", "b", "c", "c_prime"]
        coefficients = run.output.results.models[model].coefficients
        for path, df in stated.items():
            coef = coefficients[path]
            assert coef.p_value == pytest.approx(2 * stats.t.sf(abs(coef.stat), df), rel=1e-10)
        indirect = coefficients["indirect"]
        assert indirect.p_value == pytest.approx(2 * stats.norm.sf(abs(indirect.stat)), rel=1e-10)


def test_labels_without_variable_labels_are_the_names(tmp_path: Path):
    text = SPEC.split("variables:")[0] + "models:" + SPEC.split("models:")[1]
    tables = _tables(tmp_path, text)
    assert _labels(tables["effects"])[1:3] == ["a: value → capital", "b: capital → inv"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SPEC, ["a·b: indirect effect", "a: Market value → Capital stock"]),
        (ZH_SPEC, ["a·b：间接效应", "a：市值 → 资本存量"]),
    ],
    ids=["en", "zh"],
)
def test_a_coefplot_of_a_mediation_path_names_the_path(tmp_path: Path, text: str, expected):
    # the y axis said "indirect" (the coefficient's key); a path has the table's label
    figures = (
        "figures:\n"
        "  indirect: {kind: coefplot, models: [med, pooled], variable: indirect}\n"
        "  a_path: {kind: coefplot, models: [med], variable: a}\n"
        "outputs:"
    )
    run = run_file(
        grunfeld_project(tmp_path, text.replace("outputs:", figures)), tmp_path / "o", cache=False
    )
    drawn = run.output.figures
    assert [drawn["indirect"].data.variable, drawn["a_path"].data.variable] == expected
    axis = drawn["indirect"].draw().axes[0].get_ylabel()
    assert axis == expected[0] + ("（95%置信区间）" if text is ZH_SPEC else " (95% CI)")
