"""Hostile inputs to the features merged together (absorb, se, weights, terms, IV/DID, output).

Each test asserts the whole message a user sees; before each fix the input crashed (exit 3).
"""

from __future__ import annotations

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip()


def test_an_outcome_absorbed_by_the_effects_is_named(tmp_path, capsys):
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n  - derive: {fy: firm * 2}\n"
        + "models:\n  m: {estimator: panel_fe, y: fy, x: [value], absorb: [entity, time]}\n",
    )
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:9:6: models.m: the dependent variable 'fy' is absorbed by the fixed "
        "effect 'entity'",
    )
