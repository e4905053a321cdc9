"""``specrun diff``: changed coefficients and table cells, traced to the spec or data change."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main
from test_cache import SPEC


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("diff")
    spec = grunfeld_project(folder, SPEC)
    cache = str(folder / "cache")
    assert main(["run", str(spec), "--out", str(folder / "base"), "--cache", cache]) == 0
    assert main(["run", str(spec), "--out", str(folder / "same"), "--cache", cache]) == 0
    spec.write_text(SPEC.replace("se: {type: HC1}", "se: {type: HC3}"), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(folder / "hc3"), "--cache", cache]) == 0
    spec.write_text(SPEC, encoding="utf-8")
    data = folder / "grunfeld.csv"
    lines = data.read_text().splitlines()
    assert lines[1] == "1,1935,317.6,3078.5,2.8"
    lines[1] = "1,1935,400.0,3078.5,2.8"  # one investment figure edited
    data.write_text("\n".join(lines) + "\n")
    assert main(["run", str(spec), "--out", str(folder / "data"), "--cache", cache]) == 0
    return {p.name: p for p in folder.iterdir()}


def test_identical_runs(runs: dict[str, Path], capsys):
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(runs["same"])]) == 0
    assert "no differences in models, coefficients or tables" in capsys.readouterr().out


def test_changed_standard_error_names_model_cell_and_cause(runs: dict[str, Path], capsys):
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(runs["hc3"])]) == 0
    out = capsys.readouterr().out
    # one spec edited between runs: not "(spec.yaml → spec.yaml)"
    assert re.search(r"  the spec file \S*spec\.yaml changed\n", out)
    assert "ols: changed (the spec of model 'ols' changed)" in out
    assert "ols: value std_error" in out
    assert "ols: value estimate" not in out  # HC3 changes the SEs, not the estimates
    assert "fe:" not in out and "fe_log:" not in out
    assert "main: row 'capital (2nd line)', column (1): (0.049) → (0.059)" in out
    assert "column (2)" not in out


def test_a_change_that_moves_no_number_says_so(tmp_path: Path, capsys):
    # a Driscoll–Kraay `lags:` set to the default it already had, or a comment: the spec's
    # digest changed, the results did not
    spec = grunfeld_project(tmp_path, SPEC)
    cache = str(tmp_path / "cache")
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--cache", cache]) == 0
    spec.write_text(SPEC + "# a comment\n", encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--cache", cache]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"  the spec file \S*spec\.yaml changed\n", out)
    assert out.endswith("results: no model, coefficient, statistic or table cell changed\n")


def test_changed_data_file_is_the_cause(runs: dict[str, Path], capsys):
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(runs["data"])]) == 0
    out = capsys.readouterr().out
    assert "data source 'g' changed: grunfeld.csv" in out
    assert "the spec file" not in out
    for model in ("ols", "fe", "fe_log", "fe.early"):
        assert f"{model}: changed (data source 'g' changed)" in out
    assert "fe.early: value estimate" in out
    assert "main: row 'N'" not in out  # same rows, other values


def test_not_an_output_folder(runs: dict[str, Path], tmp_path: Path, capsys):
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(tmp_path)]) == 2  # a wrong argument: bad usage
    err = capsys.readouterr().err
    assert f"'{tmp_path}' is not a specrun output folder (it has no manifest.json)" in err
    assert "Traceback" not in err
    (tmp_path / "manifest.json").write_text('{"a": 1}')
    (tmp_path / "results.json").write_text("{}")
    assert main(["diff", str(runs["base"]), str(tmp_path)]) == 2  # a wrong argument: bad usage
    assert "was not written by specrun" in capsys.readouterr().err


def test_multiverse_changes_and_uncompared_tables_are_reported(tmp_path: Path, capsys):
    # a multiverse's curve summary changed unseen (only models were compared), and runs
    # without Markdown tables were said to have "no differences in … tables"
    from test_multiverse import SPEC as MULTIVERSE

    text = MULTIVERSE.replace("draws: 199", "draws: 99").replace(
        "outputs: {formats: [markdown]}", "outputs: {formats: [latex]}"
    )
    spec = grunfeld_project(tmp_path, text)
    cache = str(tmp_path / "cache")
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--cache", cache]) == 0
    spec.write_text(text.replace("late: {time: [1940, null]}", "late: {time: [1945, null]}"))
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--cache", cache]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "\nmultiverses:\n  rob: " in out and "\n  rob: aggregate_z " in out
    # a specification's cause names its multiverse as the spec does, not a plan node's id
    assert "(the spec of multiverse 'rob' changed for it)" in out and "fit:" not in out
    assert out.rstrip().endswith(
        "table cells not compared: neither run wrote Markdown tables (add markdown to "
        "outputs.formats)"
    )
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "a")]) == 0
    assert "no differences in models or coefficients; table cells not compared" in (
        capsys.readouterr().out
    )


MULTIVERSE = """\
samples:
  early: {where: year < LAST}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time]}
multiverse:
  mv:
    base: fe
    focus: value
    axes:
      controls: {none: {x: [value]}, all: {}}
      sample: {all: {}, early: {sample: early}}
outputs: {formats: [markdown]}
"""


def test_multiverse_without_inference_reports_its_median_and_share_positive(tmp_path: Path, capsys):
    # results.json has no curve summary without inference:, so the multiverse table's median
    # and share positive are read from multiverse/mv.parquet
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MULTIVERSE.replace("LAST", "1950"))
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--no-cache"]) == 0
    spec.write_text(GRUNFELD_HEAD + MULTIVERSE.replace("LAST", "1945"), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--no-cache"]) == 0
    medians = [
        float(np.median(pl.read_parquet(tmp_path / run / "multiverse" / "mv.parquet")["estimate"]))
        for run in ("a", "b")
    ]
    assert medians[0] != medians[1]
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert f"  mv: median {medians[0]:.6g} → {medians[1]:.6g}\n" in out
    assert "mv: share_positive" not in out  # every estimate positive in both runs
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "a")]) == 0
    assert "mv: median" not in capsys.readouterr().out


def _perturbed(source: Path, target: Path, factor: float) -> int:
    """A copy of an output folder whose results.json has every coefficient estimate of model
    'fe' and its within R² multiplied by ``factor`` (a run elsewhere: other BLAS threads);
    how many numbers it changed."""
    import json
    import shutil

    shutil.copytree(source, target)
    results = json.loads((target / "results.json").read_text(encoding="utf-8"))
    fe = results["models"]["fe"]
    for coefficient in fe["coefficients"].values():
        coefficient["estimate"] *= factor
    fe["stats"]["r2_within"] *= factor
    (target / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return len(fe["coefficients"]) + 1


def test_numbers_differing_in_their_last_digits_are_the_same(
    runs: dict[str, Path], tmp_path: Path, capsys
):
    # the same spec and data on another machine: sums in another order, about 1e-16 apart;
    # R's all.equal would call them equal, and so does specrun diff unless told otherwise
    changed = _perturbed(runs["base"], tmp_path / "elsewhere", 1 + 4e-16)
    assert changed == 4  # value, capital and the constant, and the within R²
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(tmp_path / "elsewhere")]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "no differences in models, coefficients or tables\n"
        "4 numbers differ only in the last digits (relative difference at most 1e-09: "
        "rounding, e.g. another machine or number of BLAS threads); not listed "
        "(--tolerance 0 lists them)\n"
    ), out
    assert main(["diff", str(runs["base"]), str(tmp_path / "elsewhere"), "--tolerance", "0"]) == 0
    out = capsys.readouterr().out
    assert "fe: changed" in out and "fe: value estimate" in out and "fe: r2_within" in out
    assert "differ only in the last digits" not in out


def test_a_difference_beyond_the_tolerance_is_listed(runs: dict[str, Path], tmp_path: Path, capsys):
    _perturbed(runs["base"], tmp_path / "moved", 1 + 1e-6)
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(tmp_path / "moved")]) == 0
    out = capsys.readouterr().out
    assert "fe: r2_within" in out and "fe: value estimate" in out
    assert "differ only in the last digits" not in out
    # a looser tolerance takes them for rounding too
    assert main(["diff", str(runs["base"]), str(tmp_path / "moved"), "--tolerance", "1e-5"]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "no differences in models, coefficients or tables\n"
        "4 numbers differ by at most 1e-05 relative (--tolerance 1e-05); not listed "
        "(--tolerance 0 lists them)\n"
    ), out


def test_numbers_edited_by_hand_into_other_types_are_compared_without_failing(
    runs: dict[str, Path], tmp_path: Path, capsys
):
    # a results.json edited by hand: an integer beyond a float's range, true for a number, no
    # value, a text, a NaN; each a change (true is not 1), none a traceback
    import json
    import shutil

    shutil.copytree(runs["base"], tmp_path / "edited")
    path = tmp_path / "edited" / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    stats = results["models"]["fe"]["stats"]
    stats["r2_within"] = "HUGE"
    stats["nobs_note"] = True
    results["models"]["fe"]["coefficients"]["value"]["std_error"] = None
    results["models"]["fe"]["coefficients"]["value"]["p_value"] = float("nan")
    results["models"]["fe"]["coefficients"]["capital"]["estimate"] = "text"
    path.write_text(json.dumps(results).replace('"HUGE"', "1" + "0" * 400), encoding="utf-8")
    base = json.loads((runs["base"] / "results.json").read_text(encoding="utf-8"))
    old = base["models"]["fe"]
    capsys.readouterr()
    for tolerance in ("0", "1e-9"):
        assert (
            main(["diff", str(runs["base"]), str(tmp_path / "edited"), "--tolerance", tolerance])
            == 0
        )
        out = capsys.readouterr().out
        assert out.endswith(
            "coefficients and statistics:\n"
            f"  fe: value std_error {old['coefficients']['value']['std_error']:.6g} → —\n"
            f"  fe: value p_value {old['coefficients']['value']['p_value']:.6g} → nan\n"
            f"  fe: capital estimate {old['coefficients']['capital']['estimate']:.6g} → text\n"
            f"  fe: r2_within {old['stats']['r2_within']:.6g} → 1e+400\n"
            "  fe: nobs_note — → True\n"
        ), out
    # within a relative tolerance of 1 every two numbers of one sign are the same: counted,
    # and not called rounding
    assert main(["diff", str(runs["base"]), str(tmp_path / "edited"), "--tolerance", "1"]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "  fe: nobs_note — → True\n"
        "1 number differs by at most 1 relative (--tolerance 1); not listed (--tolerance 0 "
        "lists them)\n"
    ), out


def test_true_is_not_the_number_one():
    from specrun.diff import RunDiff

    report = RunDiff(Path("a"), Path("b"))
    assert [report.differs(x, y) for x, y in [(True, 1), (1.0, True), (True, True), (1, 1.0)]] == [
        True,
        True,
        False,
        False,
    ]
    assert report.differs(10**400, 10**400 + 1) is False and report.rounding == 1
    assert report.differs(0.0, 1e-300) is True


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "abc"])
def test_a_tolerance_that_is_not_a_number_at_least_zero_is_a_usage_error(
    runs: dict[str, Path], capsys, value: str
):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["diff", str(runs["base"]), str(runs["same"]), "--tolerance", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --tolerance: " in err


def test_a_markdown_table_saved_in_another_encoding_is_a_usage_error(
    runs: dict[str, Path], tmp_path: Path, capsys
):
    import shutil

    shutil.copytree(runs["base"], tmp_path / "gbk")
    table = next((tmp_path / "gbk" / "tables").glob("*.md"))
    table.write_bytes("| 变量 | (1) |\n".encode("gbk"))
    capsys.readouterr()
    assert main(["diff", str(runs["base"]), str(tmp_path / "gbk")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: cannot read '{table}': 'utf-8' codec can't decode byte 0xb1 in position 2: "
        "invalid start byte"
    )


# MULTIVERSE with a third axis: 12 specifications, 6 of them on the early sample
GROUPED = MULTIVERSE.replace(
    "      sample: {all: {}, early: {sample: early}}\n",
    "      sample: {all: {}, early: {sample: early}}\n"
    "      se: {conventional: {}, hc1: {se: robust}, firm: {se: {cluster: entity}}}\n",
)


def test_a_multiverses_changed_specifications_are_summed_up(tmp_path: Path, capsys):
    # one changed axis value listed every specification it changed with all its numbers (660
    # models for a robustness section): now one line says how many and what they share
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + GROUPED.replace("LAST", "1950"))
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--no-cache"]) == 0
    spec.write_text(GRUNFELD_HEAD + GROUPED.replace("LAST", "1945"), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--no-cache"]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert (
        "\n  mv: 6 of 12 specifications changed, all with sample=early (the spec of multiverse "
        "'mv' changed for it)\n" in out
    )
    listed = [line for line in out.splitlines() if line.startswith("  mv[")]
    assert len({line.split("]:")[0] for line in listed}) == 3
    assert "\n  mv: and 3 more specifications changed (specrun diff --all lists each)\n" in out
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b"), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.count(": changed") == 6 and "more specifications" not in out
    assert all("sample=early" in line for line in out.splitlines() if ": changed" in line)
