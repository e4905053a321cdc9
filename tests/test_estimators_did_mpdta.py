"""Callaway–Sant'Anna on ``mpdta`` against the R did package's published output.

Data: ``data/mpdta.csv``, the did package's ``mpdta`` (2.5.1; 500 US counties × 2003–2007, teen
employment and the year each county's minimum wage first rose).

Expected numbers: the did package's README (tag 2.5.1, README.md, identical in its printed lines
to the current one), output of

    out <- att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal", tname = "year",
                  xformla = ~1, data = mpdta, est_method = "reg")
    summary(out); summary(aggte(out, type = "dynamic")); summary(aggte(out, type = "group"))

with did's defaults: never-treated controls, varying base period, multiplier bootstrap
(Rademacher, biters = 999), simultaneous 95 % bands, clustered by county. Point estimates are
deterministic and checked to the printed 4 digits; the pre-test p (printed 0.16812, rounded to
5 digits by did) is computed from the analytic covariance and checked to the printed digits.
The README prints no ``type = "simple"`` aggregation and no ``xformla = ~lpop`` output (the
vignettes show those calls without output), so neither is checked here; specrun's
callaway_santanna has no covariates.

The spec's TWFE models are checked against pyfixest 0.60.0 on the same data (run once, numbers
stored below), with ``d = pd.read_csv("data/mpdta.csv")``, ``g = d["first.treat"]``:
TWFE DID ``feols("lemp ~ D | countyreal + year", vcov={"CRV1": "countyreal"})`` with
``D = 1(g > 0 and year ≥ g)``; TWFE event study ``feols("lemp ~ i(rel, ref=-1) | countyreal +
year", vcov={"CRV1": "countyreal"})`` with ``rel = year − g`` (−1 for never treated) and
``wald_test(R=<the three leads>)`` → 4.894697 (the Wald χ²); Sun–Abraham
``pf.event_study(data=d, yname="lemp", idname="countyreal", tname="year",
gname="first.treat", estimator="saturated", cluster="countyreal").aggregate()``.

Monte-Carlo error. A printed SE is one bootstrap of 999 draws. Over 200 seeds of specrun's
multiplier bootstrap on these data the IQR-based SE of each ATT(g, t) has a relative standard
deviation of 3.4–3.9 % (asymptotically √var(IQR)/IQR ≈ 3.7 % for B = 999 under normality) and
the sup-t critical value a standard deviation of 0.047. Against a long run (B = 10,000: 1.2 %
and about 0.015) the printed values must lie within four combined standard deviations: 16 % for
SEs, 0.2 for critical values. Against specrun's own default run (B = 999, seed 0) the difference
of two independent 999-draw runs has standard deviation √2 · 3.7 % ≈ 5.2 %: four of them, 21 %.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.did import EventStudySpec, fit_event_study

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "mpdta.csv"
CTX = FitContext("cs", "countyreal", "year")

# did 2.5.1 README: Group, Time → ATT(g,t), Std. Error, 95 % simultaneous band
ATT_GT = {
    (2004, 2004): (-0.0105, 0.0246, -0.0752, 0.0542),
    (2004, 2005): (-0.0704, 0.0332, -0.1580, 0.0171),
    (2004, 2006): (-0.1373, 0.0397, -0.2419, -0.0326),
    (2004, 2007): (-0.1008, 0.0357, -0.1947, -0.0069),
    (2006, 2004): (0.0065, 0.0229, -0.0537, 0.0668),
    (2006, 2005): (-0.0028, 0.0197, -0.0546, 0.0491),
    (2006, 2006): (-0.0046, 0.0179, -0.0519, 0.0427),
    (2006, 2007): (-0.0412, 0.0192, -0.0918, 0.0094),
    (2007, 2004): (0.0305, 0.0154, -0.0100, 0.0710),
    (2007, 2005): (-0.0027, 0.0164, -0.0459, 0.0405),
    (2007, 2006): (-0.0311, 0.0184, -0.0795, 0.0173),
    (2007, 2007): (-0.0261, 0.0170, -0.0708, 0.0187),
}
PRETEST_P = 0.16812
# aggte(type = "dynamic"): event time → estimate, SE, band; overall ATT and SE
DYNAMIC = {
    -3: (0.0305, 0.0154, -0.0100, 0.0710),
    -2: (-0.0006, 0.0132, -0.0352, 0.0341),
    -1: (-0.0245, 0.0153, -0.0646, 0.0157),
    0: (-0.0199, 0.0123, -0.0522, 0.0124),
    1: (-0.0510, 0.0167, -0.0948, -0.0071),
    2: (-0.1373, 0.0413, -0.2456, -0.0289),
    3: (-0.1008, 0.0351, -0.1931, -0.0085),
}
DYNAMIC_OVERALL = (-0.0772, 0.0219)
# aggte(type = "group")
GROUP = {
    "2004": (-0.0797, 0.0291, -0.1434, -0.0161),
    "2006": (-0.0229, 0.0176, -0.0613, 0.0155),
    "2007": (-0.0261, 0.0175, -0.0642, 0.0121),
}
GROUP_OVERALL = (-0.031, 0.0126)

# pyfixest 0.60.0 (calls in the module docstring): relative year → (estimate, SE)
PF_DID = (-0.03654893667406699, 0.013265155429338898)
PF_TWFE = {-4: (0.0035493269194323504, 0.022828581446277155),
           -3: (0.024623501986490735, 0.017679371172670735),
           -2: (0.023354814886403372, 0.013436699377246567),
           0: (-0.018143926966580712, 0.010982218280948234),
           1: (-0.04347237262855332, 0.01757694699444051),
           2: (-0.1317948577543184, 0.028837407390067734),
           3: (-0.0922467941818861, 0.03233619316312547)}  # fmt: skip
PF_TWFE_PRETREND_WALD = 4.894697
PF_SUNAB = {-4: (0.003306356692512471, 0.024555095531863635),
            -3: (0.0250218295975551, 0.0181543444100485),
            -2: (0.024458744971169653, 0.014266792154618239),
            0: (-0.019931816789259205, 0.011857538963453285),
            1: (-0.050957367065193854, 0.016870678384610115),
            2: (-0.13725873888940351, 0.03658947596376606),
            3: (-0.10081136308540437, 0.034504271910207863)}  # fmt: skip

SE_TOL_LONG = 0.16  # relative; printed B = 999 run vs a B = 10,000 run (module docstring)
SE_TOL_DEFAULT = 0.21  # relative; two independent B = 999 runs
CRIT_TOL = 0.2


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(DATA)


def _fit(frame: pl.DataFrame, **kw: object):
    spec = EventStudySpec.model_validate(
        {
            "estimator": "event_study",
            "y": "lemp",
            "first_treated": "first.treat",
            "method": "callaway_santanna",
            "window": [-3, 3],
            **kw,
        }
    )
    return fit_event_study(frame, spec, CTX)[""]


def _printed_crit(row: tuple[float, float, float, float]) -> float:
    """The critical value a printed band implies: half its width over the SE."""
    return (row[3] - row[2]) / 2 / row[1]


@pytest.fixture(scope="module")
def default(mpdta: pl.DataFrame):
    return _fit(mpdta)


@pytest.fixture(scope="module")
def long_run(mpdta: pl.DataFrame):
    return _fit(mpdta, bootstrap={"draws": 10_000, "seed": 7})


def test_point_estimates_match_the_printed_digits(default) -> None:
    rows = {(int(r["group"]), int(r["period"])): r for r in default.extra["att_gt"]}
    assert set(rows) == set(ATT_GT)
    for key, (att, *_) in ATT_GT.items():
        assert round(rows[key]["att"], 4) == att, key
    for k, (est, *_) in DYNAMIC.items():
        assert round(default.coefficients[f"rel{k:+d}"].estimate, 4) == est, k
    assert round(default.coefficients["att_dynamic"].estimate, 4) == DYNAMIC_OVERALL[0]
    for g, (est, *_) in GROUP.items():
        assert round(default.extra["group"][g]["att"], 4) == est, g
    assert round(default.coefficients["att_group"].estimate, 4) == GROUP_OVERALL[0]


def test_pretest_is_the_wald_test_on_the_pre_period_cells(default) -> None:
    # the five pre-treatment ATT(g, t): cohort 2006 in 2004–05, cohort 2007 in 2004–06
    assert default.stats["pretrend_df"] == 5
    assert round(default.stats["pretrend_p"], 5) == PRETEST_P
    # the same with analytic SEs: the pre-test never reads the bootstrap
    analytic = _fit(pl.read_csv(DATA), bootstrap=False)
    assert analytic.stats["pretrend_wald"] == pytest.approx(default.stats["pretrend_wald"])


def _check_inference(result, se_tol: float) -> None:
    crit = result.extra["uniform_critical_values"]
    rows = {(int(r["group"]), int(r["period"])): r for r in result.extra["att_gt"]}
    for key, row in ATT_GT.items():
        assert rows[key]["std_error"] == pytest.approx(row[1], rel=se_tol), key
    assert crit["att_gt"] == pytest.approx(np.mean([_printed_crit(r) for r in ATT_GT.values()]),
                                           abs=CRIT_TOL)  # fmt: skip
    dynamic = {r["event"]: r for r in result.extra["dynamic"]}
    for k, row in DYNAMIC.items():
        assert dynamic[k]["std_error"] == pytest.approx(row[1], rel=se_tol), k
        assert result.coefficients[f"rel{k:+d}"].std_error == dynamic[k]["std_error"]
    assert crit["dynamic"] == pytest.approx(
        np.mean([_printed_crit(r) for r in DYNAMIC.values()]), abs=CRIT_TOL
    )
    for g, row in GROUP.items():
        assert result.extra["group"][g]["std_error"] == pytest.approx(row[1], rel=se_tol), g
    assert crit["group"] == pytest.approx(
        np.mean([_printed_crit(r) for r in GROUP.values()]), abs=CRIT_TOL
    )
    assert result.coefficients["att_dynamic"].std_error == pytest.approx(
        DYNAMIC_OVERALL[1], rel=se_tol
    )
    assert result.coefficients["att_group"].std_error == pytest.approx(GROUP_OVERALL[1], rel=se_tol)


def test_long_bootstrap_run_agrees_with_the_printed_ses_and_bands(long_run) -> None:
    _check_inference(long_run, SE_TOL_LONG)


def test_default_bootstrap_agrees_with_the_printed_ses_and_bands(default) -> None:
    _check_inference(default, SE_TOL_DEFAULT)
    # a band is the estimate ± the sup-t critical value × SE
    row = default.extra["att_gt"][0]
    crit = default.extra["uniform_critical_values"]["att_gt"]
    assert row["band_high"] - row["att"] == pytest.approx(crit * row["std_error"])
    assert default.se_convention == "did (R package), multiplier bootstrap"
    assert "rademacher weights, 999 draws, seed 0" in default.extra["se"]


def test_bootstrap_is_seeded_and_converges_to_its_population_scale(mpdta: pl.DataFrame) -> None:
    """Same seed, same SEs; another seed, other SEs. The IQR scale of Σᵢ Vᵢψᵢ/√n is not its
    standard deviation when ψ is skewed, so with many draws the bootstrap SE tends to the IQR
    of that sum's distribution, not to the analytic SE — but close to it (within 7 % here;
    R did's printed SEs lie 4–9 % above the analytic ones for the 2004 cohort as well)."""
    a = _fit(mpdta, bootstrap={"draws": 999, "seed": 3})
    b = _fit(mpdta, bootstrap={"draws": 999, "seed": 3})
    c = _fit(mpdta, bootstrap={"draws": 999, "seed": 4})
    assert a.extra["att_gt"] == b.extra["att_gt"]
    assert a.extra["att_gt"] != c.extra["att_gt"]
    analytic = _fit(mpdta, bootstrap=False)
    assert analytic.se_convention == "did (R package), analytic"
    assert analytic.extra["uniform_critical_values"] is None
    mammen = _fit(mpdta, bootstrap={"draws": 10_000, "weights": "mammen", "seed": 1})
    for boot in (mammen.extra["att_gt"], a.extra["att_gt"]):
        ratio = [r["std_error"] / s["std_error"] for r, s in
                 zip(boot, analytic.extra["att_gt"], strict=True)]  # fmt: skip
        assert min(ratio) > 0.9 and max(ratio) < 1.2


def test_mpdta_spec_runs_end_to_end(tmp_path: Path) -> None:
    """``specs/mpdta.yaml`` through the pipeline: every model, table and figure it names."""
    from specrun.api import run_file

    run = run_file(ROOT / "specs" / "mpdta.yaml", out=tmp_path / "out")
    models = json.loads((run.folder / "results.json").read_text())["models"]
    cs = models["cs_never"]
    assert round(cs["coefficients"]["att_group"]["estimate"], 4) == GROUP_OVERALL[0]
    assert round(cs["stats"]["pretrend_p"], 5) == PRETEST_P
    assert "multiplier bootstrap" in cs["extra"]["se"]
    assert models["cs_notyet"]["extra"]["control"] == "notyet"
    did = models["twfe_did"]["coefficients"]["did"]
    assert (did["estimate"], did["std_error"]) == pytest.approx(PF_DID, rel=1e-9)
    for name, peer in (("es_twfe", PF_TWFE), ("es_sun_abraham", PF_SUNAB)):
        for k, (b, se) in peer.items():
            coefficient = models[name]["coefficients"][f"rel{k:+d}"]
            assert coefficient["estimate"] == pytest.approx(b, rel=1e-9), (name, k)
            assert coefficient["std_error"] == pytest.approx(se, rel=1e-9), (name, k)
    assert round(models["es_twfe"]["stats"]["pretrend_wald"], 6) == PF_TWFE_PRETREND_WALD
    assert 0 < models["twfe_did"]["stats"]["placebo_p"] <= 1
    for table in ("did", "event_study", "cs_aggregates", "bacon"):
        assert (run.folder / "tables" / f"{table}.md").stat().st_size > 0
    for figure in ("es_twfe", "es_sun_abraham", "es_cs_never", "placebo"):
        assert (run.folder / "figures" / f"{figure}.png").stat().st_size > 0


def test_bootstrap_belongs_to_callaway_santanna() -> None:
    from pydantic import ValidationError

    base = {"estimator": "event_study", "y": "lemp", "first_treated": "first.treat"}
    with pytest.raises(ValidationError, match="bootstrap is callaway_santanna's multiplier"):
        EventStudySpec.model_validate({**base, "method": "twfe", "bootstrap": False})
    with pytest.raises(ValidationError, match="greater than or equal to 99"):
        EventStudySpec.model_validate(
            {**base, "method": "callaway_santanna", "bootstrap": {"draws": 10}}
        )
    spec = EventStudySpec.model_validate({**base, "method": "callaway_santanna", "bootstrap": True})
    assert spec.multiplier() is not None and spec.multiplier().draws == 999
