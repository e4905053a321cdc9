"""Random and between effects against stored Stata output and R plm.

Stata numbers: Stata 13 output stored in linearmodels 7.1 (``linearmodels/tests/panel/results/
stata-panel-simulated-results.txt``, made by ``execute-stata-simulated-data.py`` there) of
``xtreg y x1 … x5, re vce(conventional)``, ``re vce(cluster firm_id)`` and ``be`` on the
simulated panel shipped beside it (``simulated-panel.dta``: 1000 firms × 3 years; the ``_light``
and ``_heavy`` variables have 5 % and 20 % of cells missing, so their samples are unbalanced:
991 firms with harmonic-mean T̄ 1.978, and 639 with T̄ 1.226). Coefficients, t (z) statistics,
σ_u, σ_e, ρ, T̄ and the three R² are quoted to Stata's 11 significant digits and checked to
1e-8 relative. The panel is read from the installed linearmodels (a specrun dependency); the
firm is the ``firm`` column (that copy's ``firm_id`` numbers rows, not firms).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.random_effects import (
    PanelBeSpec,
    PanelReSpec,
    fit_be,
    fit_re,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CTX = FitContext("test", "firm", "time")
RTOL = 1e-8
NAMES = ["x1", "x2", "x3", "x4", "x5", "_cons"]


@pytest.fixture(scope="module")
def simulated() -> pl.DataFrame:
    try:
        path = resources.files("linearmodels.tests.panel.results") / "simulated-panel.dta"
    except ModuleNotFoundError:
        pytest.skip("linearmodels' stored Stata results are not installed")
    if not path.is_file():
        pytest.skip("linearmodels' simulated-panel.dta is not installed")
    import pandas as pd

    with resources.as_file(path) as file:
        frame = pd.read_stata(file)
    frame["time"] = frame["time"].dt.year
    return pl.from_pandas(frame.drop(columns=["firm_id", "index"]))


def sample(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
    """The complete cases of y, x1…x5 with the given suffix, renamed without it."""
    columns = [f"{v}{suffix}" for v in ("y", "x1", "x2", "x3", "x4", "x5")]
    return (
        frame.select("firm", "time", *columns)
        .drop_nulls()
        .drop_nans()
        .rename({c: c.removesuffix(suffix) for c in columns if suffix})
    )


def re_fit(frame: pl.DataFrame, se: object = "unadjusted"):
    spec = PanelReSpec(estimator="panel_re", y="y", x=NAMES[:-1], se=se)
    return fit_re(frame, spec, CTX)[""]


# (suffix, coefficients, z conventional, z clustered, sigma_u, sigma_e, rho, Tbar, r2 w/b/o)
STATA_RE = [
    (
        "",
        [0.2552899101, 0.44570170234, 0.54317596358, 0.72364223776, 0.81543779551, 0.16423526028],
        [8.5662528424, 15.510538951, 18.274373825, 24.581558389, 28.128253792, 3.9382860862],
        None,
        1.0287240625,
        1.4255418371,
        0.34243417225,
        3.0,
        (0.48155942673, 0.25801684508, 0.37582864729),
    ),
    (
        "_light",
        [0.23900680958, 0.45665880726, 0.54457874893, 0.72656422239, 0.82006508287, 0.15245850252],
        [6.8712144114, 13.515170217, 15.676351611, 20.981189289, 23.885911764, 3.3716678231],
        [6.6324652336, 13.539618498, 15.886430015, 20.338735753, 24.852109413, 3.3572484228],
        1.0346638473,
        1.4235837045,
        0.34565316555,
        1.9780439122,
        (0.47567499004, 0.32299268669, 0.37567165988),
    ),
    (
        "_heavy",
        [0.26211215809, 0.43626254176, 0.61364637438, 0.65409007484, 0.75405983681, 0.11837619239],
        [4.4536882235, 7.8669493962, 10.757278969, 11.553413722, 13.183042717, 1.8079047989],
        [4.3358359824, 7.9548357474, 11.36570299, 11.547579159, 15.06848423, 1.7976968201],
        1.0941833068,
        1.4094625798,
        0.37603771715,
        1.226487524,
        (0.47076494348, 0.32982867664, 0.3524908956),
    ),
]


@pytest.mark.parametrize(
    ("suffix", "coef", "z", "z_cluster", "sigma_u", "sigma_e", "rho", "t_bar", "r2"), STATA_RE
)
def test_random_effects_match_stata_xtreg_re(
    simulated, suffix, coef, z, z_cluster, sigma_u, sigma_e, rho, t_bar, r2
):
    frame = sample(simulated, suffix)
    result = re_fit(frame)
    assert [result.coefficients[n].estimate for n in NAMES] == pytest.approx(coef, rel=RTOL)
    assert [result.coefficients[n].stat for n in NAMES] == pytest.approx(z, rel=RTOL)
    stats = result.stats
    assert stats["sigma_u"] == pytest.approx(sigma_u, rel=RTOL)
    assert stats["sigma_e"] == pytest.approx(sigma_e, rel=RTOL)
    assert stats["rho"] == pytest.approx(rho, rel=RTOL)
    assert stats["t_bar"] == pytest.approx(t_bar, rel=RTOL)
    got_r2 = (stats["r2_within"], stats["r2_between"], stats["r2_overall"])
    assert got_r2 == pytest.approx(r2, rel=RTOL)
    assert result.stat_name == "z"
    # z statistics: normal p-values, as Stata prints for xtreg, re
    from scipy import stats as sps

    coef0 = result.coefficients["x1"]
    assert coef0.p_value == pytest.approx(2 * sps.norm.sf(abs(coef0.stat)))
    if suffix:
        # θᵢ differs by Tᵢ on an unbalanced panel: min < median < max, each from Stata's formula
        assert stats["theta_min"] < stats["theta_max"]
    if z_cluster is not None:
        for se in ({"cluster": "entity"}, "robust"):  # xtreg, re vce(robust) clusters by entity
            clustered = re_fit(frame, se)
            assert [clustered.coefficients[n].stat for n in NAMES] == pytest.approx(
                z_cluster, rel=RTOL
            )
            assert clustered.stats["n_clusters"] == frame["firm"].n_unique()


def test_random_effects_wald_chi2_uses_the_reported_covariance(simulated):
    result = re_fit(sample(simulated, "_light"))
    beta = np.array([result.coefficients[n].estimate for n in NAMES[:-1]])
    assert result.covariance is not None
    expected = beta @ np.linalg.solve(result.covariance[:5, :5], beta)
    assert result.stats["chi2"] == pytest.approx(expected, rel=1e-10)
    assert result.stats["chi2_df"] == 5


def test_between_effects_match_stata_xtreg_be(simulated):
    frame = sample(simulated, "_light")
    spec = PanelBeSpec(estimator="panel_be", y="y", x=NAMES[:-1])
    result = fit_be(frame, spec, CTX)[""]
    coef = [0.16601799497, 0.43863140714, 0.59510184829, 0.70693078705, 0.90241836632]
    coef += [0.15956241664]
    t = [2.5447983614, 6.7264164782, 9.0404841606, 11.412052838, 13.965678413, 3.4668919757]
    assert [result.coefficients[n].estimate for n in NAMES] == pytest.approx(coef, rel=RTOL)
    assert [result.coefficients[n].stat for n in NAMES] == pytest.approx(t, rel=RTOL)
    stats = result.stats
    assert stats["r2_between"] == pytest.approx(0.32525793789, rel=RTOL)
    assert stats["r2"] == pytest.approx(0.32525793789, rel=RTOL)
    assert stats["r2_adj"] == pytest.approx(0.32183285128, rel=RTOL)
    assert stats["r2_within"] == pytest.approx(0.46984284971, rel=RTOL)
    assert stats["r2_overall"] == pytest.approx(0.37458107225, rel=RTOL)
    assert stats["f"] == pytest.approx(94.963419893, rel=RTOL)
    assert stats["rmse"] == pytest.approx(1.4474363662, rel=RTOL)
    assert result.nobs == 2239 and stats["n_entities"] == 991


def test_random_effects_reject_clustering_by_time(simulated):
    with pytest.raises(SpecError, match="cluster: entity"):
        re_fit(sample(simulated, ""), {"cluster": "time"})
    with pytest.raises(SpecError, match="convention 'plm' is offered for fixed effects only"):
        re_fit(sample(simulated, ""), {"cluster": "entity", "convention": "plm"})


def test_random_effects_keep_a_regressor_constant_within_entities():
    # random effects identify time-invariant regressors; the within step (σ²_e) omits them
    frame = pl.DataFrame(
        {
            "firm": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
            "time": [1, 2] * 5,
            "y": [1.0, 2.0, 2.5, 3.0, 4.0, 3.5, 5.0, 7.0, 6.0, 6.5],
            "x1": [0.5, 1.0, 2.0, 1.0, 3.0, 3.5, 4.0, 5.0, 4.5, 6.0],
            "x2": [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0],
        }
    )
    spec = PanelReSpec(estimator="panel_re", y="y", x=["x1", "x2"])
    result = fit_re(frame, spec, CTX)[""]
    assert np.isfinite(result.coefficients["x2"].std_error)
    assert result.stats["overid_df"] == 1  # only x1 has a within deviation to test


def test_random_effects_collinear_regressors_are_named():
    frame = pl.DataFrame(
        {
            "firm": [1, 1, 2, 2, 3, 3, 4, 4],
            "time": [1, 2] * 4,
            "y": [1.0, 2.0, 2.5, 3.0, 4.0, 3.5, 5.0, 7.0],
            "x1": [0.5, 1.0, 2.0, 1.0, 3.0, 3.5, 4.0, 5.0],
        }
    ).with_columns(x2=pl.col("x1") * 2)
    spec = PanelReSpec(estimator="panel_re", y="y", x=["x1", "x2"])
    with pytest.raises(SpecError, match=r"collinear.*x1, x2"):
        fit_re(frame, spec, CTX)


# R plm 2.6.2 on the Grunfeld data shipped in data/ (balanced: Stata's and plm's components
# agree; Baltagi 2013, Table 2.1 prints the same Swamy–Arora estimates to 3–4 digits):
#   re <- plm(inv ~ value + capital, data = pg, model = "random", random.method = "swar")
#   be <- plm(inv ~ value + capital, data = pg, model = "between")
#   coef(summary(re)); ercomp(re); coef(summary(be)); summary(be)$r.squared
PLM_GRUNFELD_RE = {
    "value": (0.1097811522325, 0.01049266354955),
    "capital": (0.3081129828307, 0.01718046908964),
    "_cons": (-57.8344149050329, 28.89893526028979),
}
PLM_GRUNFELD_BE = {
    "value": (0.13464608697191, 0.02874545914049),
    "capital": (0.03203147433141, 0.19093779916752),
    "_cons": (-8.52711372172686, 47.51530773582304),
}
# R plm 2.6.2 on data/emplUK.csv (plm's EmplUK: 140 firms, 1031 rows, unbalanced):
#   re2 <- plm(emp ~ wage + capital, data = pe, model = "random", random.method = "swar")
#   coef(summary(re2)); ercomp(re2); summary(re2$ercomp$theta)
PLM_EMPLUK_RE = {
    "wage": (-0.1576771847148, 0.03352644639115),
    "capital": (1.1320218239010, 0.05924774843439),
    "_cons": (9.0722687709237, 1.11628161330959),
}


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    return pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")


@pytest.fixture(scope="module")
def empl() -> pl.DataFrame:
    return pl.read_csv(PROJECT_ROOT / "data" / "emplUK.csv")


GRUNFELD_CTX = FitContext("test", "firm", "year")


def test_random_and_between_effects_match_plm_on_grunfeld(grunfeld):
    for components in ("stata", "plm"):  # the conventions coincide on a balanced panel
        spec = PanelReSpec(
            estimator="panel_re", y="inv", x=["value", "capital"], components=components
        )
        result = fit_re(grunfeld, spec, GRUNFELD_CTX)[""]
        for name, (b, se) in PLM_GRUNFELD_RE.items():
            assert result.coefficients[name].estimate == pytest.approx(b, rel=1e-10)
            assert result.coefficients[name].std_error == pytest.approx(se, rel=1e-10)
        assert result.stats["sigma_e"] ** 2 == pytest.approx(2784.45823078, rel=1e-10)
        assert result.stats["sigma_u"] ** 2 == pytest.approx(7089.80009931, rel=1e-10)
        assert result.stats["theta"] == pytest.approx(0.8612236207, rel=1e-9)
    be = fit_be(
        grunfeld, PanelBeSpec(estimator="panel_be", y="inv", x=["value", "capital"]), GRUNFELD_CTX
    )[""]
    for name, (b, se) in PLM_GRUNFELD_BE.items():
        assert be.coefficients[name].estimate == pytest.approx(b, rel=1e-10)
        assert be.coefficients[name].std_error == pytest.approx(se, rel=1e-10)
    assert be.stats["r2"] == pytest.approx(0.8577682263609, rel=1e-10)
    assert be.stats["r2_adj"] == pytest.approx(0.8171305767497, rel=1e-10)


def test_unbalanced_components_follow_the_named_convention(empl):
    def fit(components: str):
        spec = PanelReSpec(
            estimator="panel_re", y="emp", x=["wage", "capital"], components=components
        )
        return fit_re(empl, spec, GRUNFELD_CTX)[""]

    plm = fit("plm")
    for name, (b, se) in PLM_EMPLUK_RE.items():
        assert plm.coefficients[name].estimate == pytest.approx(b, rel=1e-10)
        assert plm.coefficients[name].std_error == pytest.approx(se, rel=1e-10)
    assert plm.stats["sigma_e"] ** 2 == pytest.approx(4.733196314, rel=1e-9)
    assert plm.stats["sigma_u"] ** 2 == pytest.approx(72.655385276, rel=1e-9)
    assert plm.stats["theta_min"] == pytest.approx(0.9039753378, rel=1e-9)
    assert plm.stats["theta_max"] == pytest.approx(0.9152273116, rel=1e-9)
    assert plm.extra["variance_components"].startswith("plm")
    # Stata's harmonic-mean T̄ gives other components on the same unbalanced rows (its
    # formula is checked against Stata itself above); σ²_e is common to both
    stata = fit("stata")
    assert stata.stats["sigma_e"] == pytest.approx(plm.stats["sigma_e"], rel=1e-12)
    assert abs(stata.stats["sigma_u"] / plm.stats["sigma_u"] - 1) > 0.01
    assert stata.extra["variance_components"].startswith("stata")


def test_breusch_pagan_lm_matches_plm_plmtest(grunfeld, empl):
    # plmtest(plm(inv ~ value + capital, data = pg, model = "pooling"), type = "bp"):
    # chisq = 798.1615483691 (Grunfeld), 3335.206668797 (EmplUK, emp ~ wage + capital)
    for frame, y, x, lm in (
        (grunfeld, "inv", ["value", "capital"], 798.1615483691),
        (empl, "emp", ["wage", "capital"], 3335.206668797),
    ):
        result = fit_re(frame, PanelReSpec(estimator="panel_re", y=y, x=x), GRUNFELD_CTX)[""]
        assert result.stats["bp_lm"] == pytest.approx(lm, rel=1e-10)
    # Stata xttest0 prints chibar2(01): half plm's chi2(1) tail (1.354484919084e-175 in plm)
    grun = fit_re(
        grunfeld, PanelReSpec(estimator="panel_re", y="inv", x=["value", "capital"]), GRUNFELD_CTX
    )[""]
    assert grun.extra["bp_lm_p_chi2"] == pytest.approx(1.354484919084e-175, rel=1e-8)
    assert grun.stats["bp_lm_p"] == pytest.approx(0.5 * 1.354484919084e-175, rel=1e-8)


def test_cluster_robust_overid_test_matches_plm_auxiliary_hausman(grunfeld):
    # R plm 2.6.2: phtest(inv ~ value + capital, data = pg, method = "aux",
    #   vcov = function(x) vcovHC(x, method = "arellano", type = "HC0", cluster = "group"))
    # chisq 8.299836616835, df 2, p 0.01576570435759 (Wooldridge 2010, 10.7.3; Stata xtoverid).
    # On an unbalanced panel plm re-estimates the variance components with the added
    # regressors; specrun, like xtoverid, keeps the random-effects model's θᵢ.
    spec = PanelReSpec(estimator="panel_re", y="inv", x=["value", "capital"])
    result = fit_re(grunfeld, spec, GRUNFELD_CTX)[""]
    assert result.stats["overid_chi2"] == pytest.approx(8.299836616835, rel=1e-9)
    assert result.stats["overid_df"] == 2
    assert result.stats["overid_p"] == pytest.approx(0.01576570435759, rel=1e-8)


def test_breusch_pagan_one_sided_p_is_one_for_a_negative_score():
    # residuals of opposite sign within each firm: no sign of a random effect, so the
    # one-sided χ̄²(01) p-value is 1 while the two-sided χ²(1) one is small
    rng = np.random.default_rng(3)
    firms = np.repeat(np.arange(12), 2)
    x1 = rng.normal(size=24)
    y = 0.5 * x1 + np.tile([1.0, -1.0], 12) + 0.01 * rng.normal(size=24)
    frame = pl.DataFrame({"firm": firms, "time": np.tile([1, 2], 12), "y": y, "x1": x1})
    result = fit_re(frame, PanelReSpec(estimator="panel_re", y="y", x=["x1"]), CTX)[""]
    assert result.stats["bp_lm_p"] == 1.0
    assert result.extra["bp_lm_p_chi2"] < 0.01
