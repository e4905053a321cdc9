"""Rows with a missing entity or period: an error naming them, or dropped and counted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specrun.cli import main

DATA = Path(__file__).parent / "data" / "missing_keys.csv"  # 8 firms x 12 years, 3 blank keys

SPEC = """\
spec_version: 1
data:
  sources: {d: {path: data.csv}}
  panel: {source: d, entity: firm, time: year{drop}}
models:
  m: {estimator: panel_fe, y: y, x: [x], effects: [entity, time], se: {cluster: entity}}
"""


def _project(folder: Path, drop: str = "") -> Path:
    shutil.copy(DATA, folder / "data.csv")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.replace("{drop}", drop), encoding="utf-8")
    return spec


def test_missing_keys_are_a_located_error_naming_the_rows(tmp_path, capsys):
    spec = _project(tmp_path)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: {spec}:4:10: data.panel: 3 rows have no firm or no year (data.csv: row 5, "
        "data.csv: row 31, data.csv: row 51; rows count data rows from 1, after the header): a "
        "missing key cannot be an entity or a period (fill them in, or set drop_missing_keys: "
        "true on data.panel to drop and count them)"
    )
    assert not (tmp_path / "out").exists()


def test_drop_missing_keys_matches_pyfixest_on_complete_rows(tmp_path):
    # pyfixest 0.60 on the 93 rows with both keys present:
    # feols("y ~ x | firm + year", data=df.dropna(subset=["firm", "year"]), vcov={"CRV1": "firm"})
    # gives N 93, 8 firms, b 0.412237, se 0.083103 (the case's right values, issue 9 item 7).
    spec = _project(tmp_path, ", drop_missing_keys: true")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    model = json.loads((out / "results.json").read_text())["models"]["m"]
    assert model["nobs"] == 93
    assert model["stats"]["n_entities"] == 8
    assert model["coefficients"]["x"]["estimate"] == pytest.approx(0.412237, abs=5e-7)
    assert model["coefficients"]["x"]["std_error"] == pytest.approx(0.083103, abs=5e-7)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["panel"] == {"dropped_missing_keys": 3}
    assert manifest["notes"] == [
        "data.panel: dropped 3 rows of 'data.csv' whose firm or year is missing (drop_missing_keys)"
    ]
