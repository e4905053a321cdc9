"""``group_mean`` (Stata's ``bysort g: egen m = mean(x)``) and its leave-one-out mean, against
a plain-Python loop over the rows: the expected numbers are each group's values summed and
counted one by one, with no polars or numpy."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, PROJECT_ROOT, grunfeld_project
from specrun.cli import main
from specrun.errors import SpecError
from specrun.transforms.base import TransformContext
from specrun.transforms.group_mean import apply_group_mean
from specrun.transforms.options.group_mean import GroupMeanOptions

CTX = TransformContext(entity="firm", time="year", sources={})


def _loop_means(rows: list[dict], var: str, by: list[str], leave_out: bool) -> list[float | None]:
    """Each row's mean of ``var`` over its group's (other) rows with a value, by hand."""
    out = []
    for i, row in enumerate(rows):
        key = tuple(row[k] for k in by)
        values = [
            r[var]
            for j, r in enumerate(rows)
            if tuple(r[k] for k in by) == key and r[var] is not None and not (leave_out and j == i)
        ]
        out.append(sum(values) / len(values) if values else None)
    return out


def _grunfeld() -> list[dict]:
    with open(PROJECT_ROOT / "data" / "grunfeld.csv", encoding="utf-8") as f:
        rows = [
            {"firm": int(r["firm"]), "year": int(r["year"]), "inv": float(r["inv"])}
            for r in csv.DictReader(f)
        ]
    for row in rows:
        row["half"] = "low" if row["firm"] <= 5 else "high"
    # gaps, and a group (firm 10 in 1954) whose only row has none
    for row in rows:
        if (row["firm"], row["year"]) in {(3, 1940), (7, 1940), (10, 1954)}:
            row["inv"] = None
    return rows


@pytest.mark.parametrize("leave_out", [False, True])
@pytest.mark.parametrize("by", [["year"], ["half", "year"]])
def test_means_equal_a_loop_over_the_rows(by: list[str], leave_out: bool) -> None:
    rows = _grunfeld()
    frame = pl.DataFrame(rows)
    options = GroupMeanOptions.model_validate({"vars": ["inv"], "by": by, "leave_out": leave_out})
    out = apply_group_mean(frame, options, CTX).frame["inv_mean"].to_list()
    expected = _loop_means(rows, "inv", by, leave_out)
    assert [v is None for v in out] == [v is None for v in expected]
    assert [v for v in out if v is not None] == pytest.approx(
        [v for v in expected if v is not None], rel=1e-12
    )


def test_a_row_alone_with_its_value_has_no_leave_out_mean_and_the_notes_count_it() -> None:
    frame = pl.DataFrame({"g": ["a", "a", "b"], "x": [1.0, None, 5.0]})
    options = GroupMeanOptions.model_validate(
        {"vars": ["x"], "by": "g", "leave_out": True, "name": "{var}_others"}
    )
    out = apply_group_mean(frame, options, CTX)
    # a's missing row takes the mean of a's values (1.0); a's 1.0 and b's 5.0 have no other
    assert out.frame["x_others"].to_list() == [None, 1.0, None]
    assert out.notes == ("x_others: 2 rows have no other value of 'x' in their group and are null",)


def test_a_missing_group_key_is_named() -> None:
    frame = pl.DataFrame({"firm": [1, 2], "year": [2001, 2001], "g": ["a", None], "x": [1.0, 2.0]})
    options = GroupMeanOptions.model_validate({"vars": ["x"], "by": ["g"]})
    with pytest.raises(SpecError) as caught:
        apply_group_mean(frame, options, CTX)
    assert caught.value.message == "group_mean: 'g' is missing in 1 rows (first: firm=2, year=2001)"


def test_a_spec_averages_by_industry_and_year_for_an_instrument(tmp_path: Path) -> None:
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n"
        + "  - group_mean: {vars: [value], by: year, leave_out: true, name: '{var}_others'}\n"
        + "models:\n  m: {estimator: ols, y: inv, x: [value_others]}\n",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["models"]["m"]["nobs"] == 200
    bad = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - group_mean: {vars: [value], by: year, name: avg}\n",
        "bad.yaml",
    )
    assert main(["validate", str(bad)]) == 1


@pytest.mark.parametrize(
    ("step", "where", "name"),
    [
        ("group_mean: {vars: [value, value], by: year}", "group_mean.vars", "value"),
        ("group_mean: {vars: [value], by: [firm, firm]}", "group_mean.by", "firm"),
        ("winsorize: {vars: [inv, inv], limits: [0.01, 0.99]}", "winsorize.vars", "inv"),
        ("log: {vars: [inv, inv]}", "log.vars", "inv"),
    ],
)
def test_a_column_named_twice_in_a_step_is_located_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], step: str, where: str, name: str
) -> None:
    # the run answered with polars' own "the name 'value_mean' passed to
    # `LazyFrame.with_columns` is duplicate ... try .alias(...)"
    models = "models:\n  m: {estimator: ols, y: inv, x: [capital]}\n"
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + f"transforms:\n  - {step}\n" + models)
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    column = 1 + f"  - {step}".index("[", f"  - {step}".index(where.split(".")[1]))
    assert err.count("error:") == 1
    assert f"spec.yaml:7:{column}: transforms[0].{where}: '{name}' is named twice" in err


def test_entity_or_time_in_by_is_answered_with_the_panel_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a model's absorb: and se: take entity and time for the index; a transform reads the
    # data's columns, and 'unknown variable' alone left the reader to guess why
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n  - group_mean: {vars: [value], by: time}\n"
        + "models:\n  m: {estimator: ols, y: inv, x: [value_mean]}\n",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:17: transforms[0].group_mean: unknown variable 'time' "
        "(a transform names the panel's time column: write 'year')\n"
    )


def test_a_bad_step_leaves_the_other_steps_columns_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one invalid step used to drop every step from validation, so a model reading the first
    # step's value_mean got a second, false error: unknown variable 'value_mean'
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n"
        + "  - group_mean: {vars: [value], by: year}\n"
        + "  - log: {vars: [inv], nmae: lninv}\n"
        + "models:\n  m: {estimator: ols, y: inv, x: [value_mean]}\n",
    )
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err.count("error:") == 1
    assert f"error: {spec}:8:" in err and "transforms[1].log" in err
    assert "value_mean" not in err
