"""Least squares stays accurate when a regressor is a product of large variables.

The design of ``inv ~ value + capital + c.value#c.capital`` on Grunfeld has columns from 1 to
about 10⁷, so X′X is badly conditioned; an unscaled inverse of X′X loses the constant's variance
(a standard error of 6.48 where the right one is 11.18). Expected values: statsmodels 0.15.0,
``smf.ols("inv ~ value + capital + value:capital", grunfeld).fit()`` on ``data/grunfeld.csv``
(R plm's Grunfeld), ``params`` and ``bse``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main

STATSMODELS = {
    "value": (9.20428000e-02, 6.41357769e-03),
    "capital": (4.96103057e-02, 3.61520598e-02),
    "c.value#c.capital": (5.93934349e-05, 9.10769221e-06),
    "_cons": (3.54055955e00, 1.11817411e01),
}


def test_interaction_of_large_variables_matches_statsmodels(tmp_path: Path):
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n  m: {estimator: ols, y: inv, x: [value, capital, c.value#c.capital]}\n",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    coefficients = results["models"]["m"]["coefficients"]
    for name, (estimate, std_error) in STATSMODELS.items():
        assert coefficients[name]["estimate"] == pytest.approx(estimate, rel=1e-7)
        assert coefficients[name]["std_error"] == pytest.approx(std_error, rel=1e-7)
