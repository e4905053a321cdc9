"""Hostile and careless inputs to the merged multiverse, cache, executors and Callaway–Sant'Anna
bootstrap. Each test asserts the whole message a user sees; before each fix the input crashed
(exit 3) or was reported at the wrong place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip()


def test_negative_seeds_are_located_errors(tmp_path, capsys):
    """numpy's SeedSequence takes no negative seed: the wild bootstrap, the placebo and the
    multiplier bootstrap crashed at run time; mediation and threshold seeds were bounded."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n"
        + "  - derive: {tr: 'if_else(firm <= 6, 1, 0)', "
        + "moving: 'if_else(firm <= 3, if_else(year < 1940, 1945, 1950), 0)'}\n"
        + "models:\n"
        + "  w: {estimator: ols, y: inv, x: [value], se: {cluster: entity, "
        + "bootstrap: {draws: 99, seed: -3}}}\n"
        + "  d: {estimator: did, y: inv, treat: tr, first_treated: moving, "
        + "placebo: {draws: 99, seed: -2}}\n"
        + "  es: {estimator: event_study, y: inv, first_treated: moving, "
        + "method: callaway_santanna, bootstrap: {seed: -1}}\n",
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:94: models.w.se.bootstrap.seed: input should be greater than or "
        "equal to 0, got -3\n"
        f"error: {spec}:10:92: models.d.placebo.seed: input should be greater than or equal to "
        "0, got -2\n"
        f"error: {spec}:11:108: models.es.bootstrap.seed: input should be greater than or equal "
        "to 0, got -1",
    )


def test_transforms_of_an_axis_value_are_located_at_it(tmp_path, capsys):
    """A multiverse specification's steps come from its axis values; errors in them pointed at
    the multiverse's key with a path the spec does not have (multiverse.mv.transforms[0])."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}\n"
        + "multiverse:\n"
        + "  mv:\n"
        + "    base: fe\n"
        + "    focus: value\n"
        + "    axes:\n"
        + "      w: {bad: {transforms: [{derive: {z: 'value +'}}]}, "
        + "w1: {winsorize: {vars: [nope], limits: [0.1, 0.9]}}}\n"
        + "      s: {all: {}, late: {sample: {time: [1940, null]}}}\n",
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        # on the expression's end (the closing quote), under the entry's key
        f"error: {spec}:13:51: multiverse.mv.axes.w.bad.transforms[0].derive.z: unexpected end "
        "of expression\n"
        f"error: {spec}:13:74: multiverse.mv.axes.w.w1.winsorize: unknown variable 'nope'",
    )


def test_descriptive_multiverse_base_is_a_validation_error(tmp_path, capsys):
    """It validated, fitted every specification, then failed with '(it has )'."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  desc: {estimator: descriptive, vars: [inv, value]}\n"
        + "multiverse:\n"
        + "  mv:\n"
        + "    base: desc\n"
        + "    focus: value\n"
        + "    axes:\n"
        + "      s: {all: {}, late: {sample: {time: [1940, null]}}}\n",
    )
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:10:11: multiverse.mv.base: multiverse 'mv': specification "
        "'mv[s=all]': a descriptive model has no coefficients for the focus",
    )
    assert not (tmp_path / "out").exists()


def test_gmm_lag_of_the_dependent_in_x_names_the_duplicate(tmp_path, capsys):
    """The message listed every regressor (and its time dummies) instead of the one twice."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  gmm: {estimator: system_gmm, y: inv, x: [L.inv, value], gmm: {inv: [2, null]}}\n",
    )
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:8: models.gmm: a regressor is listed twice: L.inv (lags: adds the "
        "dependent's lags; x takes the other regressors)",
    )


def test_diff_of_folders_with_edited_results_is_a_clear_error(tmp_path, capsys):
    """``models`` a list instead of a mapping (a hand edit, another version): it crashed."""
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "manifest.json").write_text('{"specrun_version": "0.1"}')
        (folder / "results.json").write_text('{"specrun_version": "0.1", "models": []}')
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(["diff", str(a), str(b)], capsys) == (
        2,
        f"error: '{a}' and '{b}': a manifest.json or results.json does not have the layout "
        "specrun writes (edited, or written by another version?): 'list' object has no "
        "attribute 'keys'",
    )


def test_duplicate_panel_keys_name_the_pair_and_an_example(tmp_path: Path, capsys) -> None:
    """Two rows for one (entity, time) pair are a located data error naming an example."""
    rows = "".join(f"{i},{t},{i + t},{i * t}\n" for i in (1, 2, 3) for t in (2001, 2002, 2003))
    (tmp_path / "d.csv").write_text("firm,year,y,x\n" + rows + "2,2002,9,9\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        "  sources:\n"
        "    panel: {path: d.csv}\n"
        "  panel: {source: panel, entity: firm, time: year}\n"
        "models:\n"
        "  fe: {estimator: panel_fe, y: y, x: [x]}\n",
        encoding="utf-8",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: {spec}:5:10: data.panel: source 'panel' has 2 rows sharing a (firm, year) pair, "
        "e.g. 2 2002 (d.csv: rows 5, 10; rows count data rows from 1, after the header) (a panel "
        "has one row per firm and year: remove the repeated rows, or aggregate them first)\n"
    )


def test_a_fractional_integer_is_named_once(tmp_path: Path, capsys) -> None:
    """pydantic says "got a number with a fractional part": the value follows in brackets,
    not after a second "got"."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  fe: {estimator: panel_fe, y: invest, x: [value],\n"
        + "       se: {type: driscoll_kraay, lags: 1.5}}\n",
    )
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        "models.fe.se.lags: input should be a valid integer, got a number with a fractional "
        "part (1.5)\n"
    )
