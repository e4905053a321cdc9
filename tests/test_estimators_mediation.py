"""The mediation estimator: the lavaan tutorial example, and its three fits as plain models."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.estimators.base import FitContext
from specrun.estimators.mediation import MediationSpec, fit_mediation


def test_lavaan_tutorial_example(reference):
    # lavaan tutorial "Mediation" (set.seed(1234); X ~ N(0,1); M = 0.5X + e; Y = 0.7M + e),
    # fitted there as Y ~ c*X + b*M, M ~ a*X: a = 0.474, b = 0.788, ab = 0.374 as printed.
    frame = pl.read_csv(reference("mediation", "lavaan_tutorial_mediation.csv"))
    frame = frame.with_row_index("row").with_columns(period=pl.lit(1))
    spec = MediationSpec(
        estimator="mediation", y="Y", x=["X"], mediator="M", effects=[], bootstrap=2000, seed=1234
    )
    fitted = fit_mediation(frame, spec, FitContext("med", "row", "period"))
    main = fitted[""]
    assert round(main.coefficients["a"].estimate, 3) == 0.474
    assert round(main.coefficients["b"].estimate, 3) == 0.788
    assert round(main.coefficients["indirect"].estimate, 3) == 0.374
    # Sobel SE = sqrt(b² se_a² + a² se_b²) from the OLS standard errors of the two fits
    a, b = main.coefficients["a"], main.coefficients["b"]
    sobel_se = (b.estimate**2 * a.std_error**2 + a.estimate**2 * b.std_error**2) ** 0.5
    indirect = main.extra["indirect"]
    assert indirect["sobel_se"] == pytest.approx(sobel_se, rel=1e-12)
    assert indirect["sobel_z"] == pytest.approx(indirect["estimate"] / sobel_se, rel=1e-12)
    # lavaan's seeded 2000-draw percentile CI is about [0.21, 0.54]. Different random streams
    # give different draws: the Monte-Carlo SE of a 2.5 % / 97.5 % quantile of 2000 draws with
    # bootstrap SD ≈ 0.08 is ≈ sqrt(.025·.975/2000)/φ(1.96)·0.08 ≈ 0.006, so ±0.03 is 5 MC SEs.
    assert indirect["boot_ci_low"] == pytest.approx(0.21, abs=0.03)
    assert indirect["boot_ci_high"] == pytest.approx(0.54, abs=0.03)
    assert indirect["share"] == pytest.approx(
        indirect["estimate"] / main.coefficients["c"].estimate
    )


SPEC = (
    GRUNFELD_HEAD
    + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
  med: {extends: fe, x: [value], estimator: mediation, mediator: capital, bootstrap: 200,
        seed: 7}
  total: {extends: fe, x: [value]}
  mediator: {extends: fe, y: capital, x: [value]}
tables:
  t5: {kind: regression, columns: [med.total, med.mediator, med.outcome]}
  effects: {kind: mediation, model: med}
outputs: {formats: [markdown]}
"""
)


def test_three_fits_equal_hand_written_models(tmp_path: Path):
    grunfeld_project(tmp_path, SPEC)
    run = run_file(tmp_path / "spec.yaml", tmp_path / "out")
    models = run.output.results.models
    for part, hand in (("total", "total"), ("mediator", "mediator"), ("outcome", "fe")):
        fitted, written = models[f"med.{part}"], models[hand]
        assert set(fitted.coefficients) == set(written.coefficients)
        for name, coef in written.coefficients.items():
            assert fitted.coefficients[name].estimate == pytest.approx(coef.estimate, rel=1e-12)
            assert fitted.coefficients[name].std_error == pytest.approx(coef.std_error, rel=1e-12)
    assert models["med"].coefficients["a"].estimate == pytest.approx(
        models["mediator"].coefficients["value"].estimate, rel=1e-12
    )
    assert {"t5", "effects"} <= set(run.output.tables)
