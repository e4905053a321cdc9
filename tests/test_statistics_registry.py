"""The one declaration of table statistics (``specrun.tables.statistics``) against what fitted
models carry, and the error codes (``specrun.errors.ERROR_CODES``) against the code."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.api import run_file
from specrun.errors import ERROR_CODES
from specrun.estimators import ESTIMATORS
from specrun.tables.statistics import KNOWN_STATS, STATISTICS

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
spec_version: 1
data:
  sources: {panel: {path: panel.csv}}
  panel: {source: panel, entity: id, time: year}
models:
  desc: {estimator: descriptive, vars: [y, x]}
  ols: {estimator: ols, y: y, x: [x, w], se: {cluster: entity}}
  fe: {estimator: panel_fe, y: y, x: [x, w], effects: [entity], se: {cluster: entity}}
  re: {estimator: panel_re, y: y, x: [x, w]}
  be: {estimator: panel_be, y: y, x: [x, w]}
  fe_plain: {estimator: panel_fe, y: y, x: [x, w], effects: [entity]}
  hausman: {estimator: hausman, models: [fe_plain, re]}
  iv: {estimator: iv, y: y, x: [w], endog: [x], instruments: [z, z2], effects: [entity],
       se: {cluster: entity}}
  did: {estimator: did, y: y, treat: treat, first_treated: ft, placebo: {draws: 19, seed: 1}}
  event: {estimator: event_study, y: y, first_treated: ft, window: [-3, 3]}
  med: {estimator: mediation, y: y, x: [x, w], mediator: m, bootstrap: 10, seed: 1}
  thr: {estimator: panel_threshold, y: y, regime_x: [x], q: q, controls: [w], bootstrap: 10,
        grid: 20, seed: 1, max_thresholds: 2}
  sgmm: {estimator: system_gmm, y: y, x: [x], gmm: {y: [2, 3]}, iv: [w], collapse: true}
  dgmm: {estimator: difference_gmm, y: y, x: [x], gmm: {y: [2, 3]}, iv: [w], collapse: true}
"""


def _panel() -> pl.DataFrame:
    """24 entities × 10 years; half first treated in 2004–2007; a threshold in q at 0.5."""
    rng = np.random.default_rng(1)
    rows = []
    for i in range(1, 25):
        a = rng.normal()
        first = 2004 + i % 4 if i <= 12 else 0
        for t in range(2000, 2010):
            x = rng.normal() + 0.3 * a
            z, z2 = x + rng.normal(), x + rng.normal()
            m, q, w = 0.5 * x + rng.normal(), rng.uniform(), rng.normal()
            d = 1 if first and t >= first else 0
            y = a + x + 0.5 * m + (x if q > 0.5 else 0) + d + rng.normal()
            rows.append((i, t, y, x, z, z2, m, q, w, int(first > 0), first))
    names = ["id", "year", "y", "x", "z", "z2", "m", "q", "w", "treat", "ft"]
    return pl.DataFrame(rows, schema=names, orient="row")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("statistics")
    _panel().write_csv(folder / "panel.csv")
    (folder / "spec.yaml").write_text(SPEC)
    return run_file(folder / "spec.yaml", out=folder / "out").output.results.models


def test_every_statistic_a_model_reports_is_declared_for_its_estimator(fitted):
    assert {m.estimator for m in fitted.values()} >= set(ESTIMATORS.names())
    undeclared = []
    for name, model in fitted.items():
        declared = {
            s
            for s, d in STATISTICS.items()
            if model.estimator in d.estimators or "*" in d.estimators
        }
        scalars = {k for k, v in model.extra.items() if isinstance(v, float) and k in KNOWN_STATS}
        for stat in (set(model.stats) | scalars) - declared:
            undeclared.append(f"{name} ({model.estimator}): {stat}")
    assert undeclared == []


def test_declared_providers_are_estimators():
    known = set(ESTIMATORS.names()) | {"*", "iv_first_stage"}
    assert {e for d in STATISTICS.values() for e in d.estimators} <= known
    assert all(d.meaning and d.source for d in STATISTICS.values())


def test_every_error_code_raised_is_listed():
    """Each ``code="…"`` literal of the source is a key of ERROR_CODES."""
    used = set()
    for path in (PROJECT_ROOT / "src" / "specrun").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "code"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                used.add(node.value.value)
    assert used and used <= set(ERROR_CODES)
