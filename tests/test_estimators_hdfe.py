"""Absorbed effects, clustering by any columns, covariance types and weights, against peers.

Peer numbers are stored constants; each block says which package produced them and how:

* pyfixest 0.60.0 (fixest conventions: ``ssc(k_adj=True, k_fixef="nonnested", G_df="min")``)
  on R plm's ``Produc`` (``data/Produc.csv``), ``fml = "lgsp ~ lpcap + lpc + lemp + unemp"``
  with ``lgsp = log(gsp)`` etc., called as ``pf.feols(fml + " | <effects>", d, vcov=…)``;
* R plm 2.6.2 for the pooled ``Produc`` cases and pyfixest 0.60 for ``case_01``/``case_13``
  (``cases/inference/README.md`` of the project's issue tracker);
* statsmodels 0.14 on explicit dummy regressions (Stata ``regress y x i.id``/``areg``);
* linearmodels 7.1 for Driscoll–Kraay (its ``cov_type="kernel"``), called in the test.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.linear import OlsSpec, PanelFeSpec, fit_linear

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "data" / "inference"
X = ["lpcap", "lpc", "lemp", "unemp"]
PRODUC = FitContext("t", "state", "year")
CASE = FitContext("t", "firm", "year")


@pytest.fixture(scope="module")
def produc() -> pl.DataFrame:
    return pl.read_csv(ROOT / "data" / "Produc.csv").with_columns(
        [pl.col(c).log().alias(f"l{c}") for c in ("gsp", "pcap", "pc", "emp")]
    )


def fe(frame: pl.DataFrame, absorb: list[str], se: object, **options: object):
    spec = PanelFeSpec(estimator="panel_fe", y="lgsp", x=X, absorb=absorb, se=se, **options)
    return fit_linear(frame, spec, PRODUC)[""]


def ses(result, names=X) -> list[float]:
    return [result.coefficients[v].std_error for v in names]


# --- the cases that were wrong ------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "effects", "cluster", "expected"),
    [
        # pyfixest 0.60 feols("y ~ x | firm", vcov={"CRV1": "year"}): firm effects are not
        # nested in the year clusters, so their 7 levels count in K
        ("case_01", ["entity"], "time", 0.118436),
        # feols("y ~ x | firm + year", vcov={"CRV1": "year"}): year effects nested, not counted
        ("case_13", ["entity", "time"], "time", 0.069949),
        # vcov={"CRV1": "firm+year"}: both sets nested in one of the cluster dimensions
        ("case_13", ["entity", "time"], ["entity", "time"], 0.062753),
        # vcov={"CRV1": "firm"}
        ("case_13", ["entity", "time"], "entity", 0.063597),
    ],
)
def test_cases_match_pyfixest(case, effects, cluster, expected):
    frame = pl.read_csv(CASES / f"{case}.csv")
    spec = PanelFeSpec(
        estimator="panel_fe", y="y", x=["x"], effects=effects, se={"cluster": cluster}
    )
    result = fit_linear(frame, spec, CASE)[""]
    assert result.coefficients["x"].std_error == pytest.approx(expected, abs=5e-7)
    assert result.se_convention == "stata"


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        # R plm 2.6.2: sqrt(diag(vcovDC(plm(log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp,
        # Produc, model = "pooling"), type = "HC1")))["(Intercept)"]
        (["entity", "time"], 0.2528223),
        # vcovHC(…, method = "arellano", type = "HC1")
        ("entity", 0.2449336),
    ],
)
def test_pooled_plm_counts_the_intercept(produc, cluster, expected):
    spec = OlsSpec(estimator="ols", y="lgsp", x=X, se={"cluster": cluster, "convention": "plm"})
    result = fit_linear(produc, spec, PRODUC)[""]
    assert result.coefficients["_cons"].std_error == pytest.approx(expected, abs=5e-8)
    assert result.se_convention == "plm HC1"


# --- the class: pyfixest 0.60 on Produc -----------------------------------------------------

PYFIXEST = [
    # (effects as pyfixest writes them, specrun absorb, vcov, specrun se, weights, SEs)
    ("state", ["entity"], "CRV1 state", {"cluster": "entity"}, None,
     [0.0611147667, 0.0625495556, 0.0827327154, 0.0025284645]),
    ("state", ["entity"], "CRV1 region", {"cluster": "region"}, None,
     [0.0776264376, 0.0732570966, 0.0993346732, 0.0032566718]),
    ("state + year", ["entity", "time"], "CRV1 region", {"cluster": "region"}, None,
     [0.0624605329, 0.0859936518, 0.1007283241, 0.0041811149]),
    ("state + year", ["entity", "time"], "CRV1 year", {"cluster": "time"}, None,
     [0.0372800082, 0.0574362815, 0.0587324547, 0.0018332936]),
    ("state + year", ["entity", "time"], "CRV1 state+year", {"cluster": ["entity", "time"]},
     None, [0.0618049915, 0.095151054, 0.0950237244, 0.003408999]),
    ("state + year + region^year", ["entity", "time", "region#time"], "CRV1 state",
     {"cluster": "entity"}, None, [0.0654667008, 0.1054139395, 0.0962073682, 0.0030257605]),
    ("state + year + region^year", ["entity", "time", "region#time"], "CRV1 region",
     {"cluster": "region"}, None, [0.051308579, 0.1074645385, 0.1172907147, 0.0038334611]),
    ("region", ["region"], "CRV1 state", {"cluster": "entity"}, None,
     [0.0609153441, 0.0524926631, 0.0687242388, 0.0031965351]),
    ("state + year", ["entity", "time"], "hetero", "robust", None,
     [0.0311323698, 0.0396753955, 0.0404341757, 0.0014143714]),
    ("state + year", ["entity", "time"], "iid", "unadjusted", None,
     [0.0269365437, 0.027656339, 0.0281417941, 0.0011388374]),
    ("state", ["entity"], "CRV1 state", {"cluster": "entity"}, "emp",
     [0.0667809284, 0.0596882937, 0.0811908812, 0.0022906662]),
    ("state + year", ["entity", "time"], "hetero", "HC1", "emp",
     [0.0244055226, 0.0378302252, 0.0396971693, 0.0013702835]),
]  # fmt: skip


@pytest.mark.parametrize(("_fx", "absorb", "_vcov", "se", "weights", "expected"), PYFIXEST)
def test_produc_matches_pyfixest(produc, _fx, absorb, _vcov, se, weights, expected):
    # pf.feols(fml + " | " + _fx, d, vcov=_vcov, weights=weights).se()
    result = fe(produc, absorb, se, weights=weights)
    np.testing.assert_allclose(ses(result), expected, rtol=5e-8)


def test_weighted_ols_matches_pyfixest(produc):
    # pf.feols(fml, d, vcov="hetero" | "iid", weights="emp").se(), intercept last
    expected = {
        "HC1": [0.0156285386, 0.0096014743, 0.0184927039, 0.0012244024, 0.0671577335],
        "unadjusted": [0.0141270752, 0.0091782701, 0.0150761719, 0.0012540791, 0.0554980772],
    }
    for se, values in expected.items():
        spec = OlsSpec(estimator="ols", y="lgsp", x=X, se=se, weights="emp")
        result = fit_linear(produc, spec, PRODUC)[""]
        np.testing.assert_allclose(ses(result, [*X, "_cons"]), values, rtol=5e-8)


def test_singletons_dropped_as_pyfixest(produc):
    # From 1980 only four states remain, so several region × year cells hold one row.
    # pf.feols(fml + " | state + region^year", sub, vcov={"CRV1": "state"},
    #          fixef_rm="singleton" | "none")
    sub = produc.filter(
        (pl.col("year") < 1980)
        | pl.col("state").is_in(["ALABAMA", "ARIZONA", "ARKANSAS", "CALIFORNIA"])
    )
    dropped = fe(sub, ["entity", "region#time"], {"cluster": "entity"}, singletons="drop")
    assert dropped.nobs == 480
    assert dropped.stats["singletons"] == 28
    assert dropped.extra["singletons_dropped"] == 28
    np.testing.assert_allclose(
        ses(dropped), [0.0976968189, 0.1230752959, 0.1057929157, 0.0027174568], rtol=5e-8
    )
    np.testing.assert_allclose(
        [dropped.coefficients[v].estimate for v in X],
        [0.10735190572, 0.278316177777, 0.728660001507, 0.000994337267],
        rtol=1e-8,
    )
    kept = fe(sub, ["entity", "region#time"], {"cluster": "entity"})
    assert kept.nobs == 508 and kept.stats["singletons"] == 0
    np.testing.assert_allclose(
        ses(kept), [0.1005117064, 0.1266214002, 0.1088410717, 0.0027957535], rtol=5e-8
    )


def test_within_r2_of_fixest_and_plm_on_an_unbalanced_two_way_panel(produc):
    # Produc with gaps (state code + year divisible by 5 dropped) and, from 1980, four states:
    # 407 rows. fixest/pyfixest and plm demean y by both effects; xtreg's within R² (y
    # demeaned by state, the year dummies counted as regressors) is larger.
    # pyfixest 0.60.0: pf.feols("lgsp ~ lpcap + lpc + lemp + unemp | state + year", sub,
    #   vcov={"CRV1": "state"}, fixef_rm="none"[, weights="emp"]) ._r2_within and ._r2;
    # R plm 2.6: summary(plm(lgsp ~ lpcap + lpc + lemp + unemp, sub, index = c("state",
    #   "year"), model = "within", effect = "twoways"))$r.squared["rsq"] = 0.711573687248
    codes = pl.col("state").rank("dense") - 1
    sub = produc.filter(
        ((pl.col("year") + codes) % 5 != 0)
        & (
            (pl.col("year") < 1980)
            | pl.col("state").is_in(["ALABAMA", "ARIZONA", "ARKANSAS", "CALIFORNIA"])
        )
    )
    assert sub.height == 407
    for weights, within, lsdv in (
        (None, 0.7115736872511634, 0.9995110893065271),
        ("emp", 0.8352826926459715, 0.9997029500538633),
    ):
        result = fe(sub, ["entity", "time"], {"cluster": "entity"}, weights=weights)
        assert result.stats["r2_within_hdfe"] == pytest.approx(within, rel=1e-9)
        assert result.stats["r2_lsdv"] == pytest.approx(lsdv, rel=1e-9)
        assert result.stats["r2_within"] > result.stats["r2_within_hdfe"] + 0.01
    # with one set absorbed the two conventions are one number
    one_way = fe(sub, ["entity"], {"cluster": "entity"})
    assert one_way.stats["r2_within_hdfe"] == pytest.approx(one_way.stats["r2_within"], rel=1e-12)


# --- conventions without a pyfixest counterpart ---------------------------------------------


def _dummies(frame: pl.DataFrame, columns: list[str]) -> pd.DataFrame:
    pdf = frame.to_pandas()
    parts = [pdf[X]]
    for column in columns:
        parts.append(pd.get_dummies(pdf[column], prefix=column, drop_first=True, dtype=float))
    import statsmodels.api as sm

    return sm.add_constant(pd.concat(parts, axis=1))


def test_areg_convention_counts_every_level(produc):
    # Stata `areg … , absorb(state) vce(cluster state)` is OLS on the explicit dummies with the
    # usual G/(G−1)·(N−1)/(N−K), K counting every dummy: statsmodels 0.14 cov_type="cluster".
    import statsmodels.api as sm

    pdf = produc.to_pandas()
    design = _dummies(produc, ["state"])
    expected = (
        sm.OLS(pdf.lgsp, design)
        .fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(pdf.state)[0]})
        .bse[X]
    )
    result = fe(produc, ["entity"], {"cluster": "entity", "convention": "areg"})
    np.testing.assert_allclose(ses(result), expected.to_numpy(), rtol=1e-9)
    assert result.se_convention == "areg"
    assert result.extra["se_k"] == 4 + 1 + 47
    stata = fe(produc, ["entity"], {"cluster": "entity"})
    assert stata.extra["se_k"] == 5  # xtreg, fe vce(cluster state): the nested effects leave K


@pytest.mark.parametrize("kind", ["HC0", "HC2", "HC3"])
@pytest.mark.parametrize(
    ("absorb", "columns"), [(["entity"], ["state"]), (["entity", "time"], ["state", "year"])]
)
def test_hc_types_equal_the_dummy_regression(produc, kind, absorb, columns):
    # Stata `regress lgsp … i.state [i.year], vce(hc2|hc3)`; statsmodels 0.14 on the dummies
    import statsmodels.api as sm

    expected = sm.OLS(produc["lgsp"].to_numpy(), _dummies(produc, columns)).fit(cov_type=kind)
    result = fe(produc, absorb, kind)
    np.testing.assert_allclose(ses(result), expected.bse[X].to_numpy(), rtol=1e-9)
    assert result.se_convention == f"stata {kind}"


def test_weighted_hc3_equals_wls_on_dummies(produc):
    import statsmodels.api as sm

    pdf = produc.to_pandas()
    expected = sm.WLS(pdf.lgsp, _dummies(produc, ["state"]), weights=pdf.emp).fit(cov_type="HC3")
    result = fe(produc, ["entity"], "HC3", weights="emp")
    np.testing.assert_allclose(ses(result), expected.bse[X].to_numpy(), rtol=1e-9)
    # Stata/fixest weighted within = WLS on the dummies. (R plm 2.6.2's weighted "within"
    # model sweeps unweighted entity means and gives other numbers, e.g. log(pcap)
    # 0.01901693426127 against 0.0177316; its vcovHC refuses weighted models.)
    np.testing.assert_allclose(
        [result.coefficients[v].estimate for v in X], expected.params[X].to_numpy(), rtol=1e-8
    )


def test_hc3_without_closed_form_leverage_is_an_error(produc):
    with pytest.raises(SpecError, match="HC2/HC3 with these absorbed effects"):
        fe(produc, ["entity", "time", "region#time"], "HC3")


def test_three_way_clustering_is_inclusion_exclusion(produc):
    # Cameron–Gelbach–Miller with three dimensions, written out here from the definition
    result = fe(produc, ["entity"], {"cluster": ["entity", "time", "region"]})
    two = fe(produc, ["entity"], {"cluster": ["entity", "time"]})
    pdf = produc.to_pandas()
    design = _dummies(produc, ["state"]).to_numpy()
    import statsmodels.api as sm

    ols = sm.OLS(pdf.lgsp.to_numpy(), design).fit()
    # the within regression's bread and scores (FWL): demeaned regressors and residuals
    xw = pdf[X] - pdf.groupby("state")[X].transform("mean")
    scores = xw.to_numpy() * ols.resid[:, None]
    bread = np.linalg.inv(xw.to_numpy().T @ xw.to_numpy())
    keys = {"entity": pdf.state, "time": pdf.year.astype(str), "region": pdf.region.astype(str)}
    meat = np.zeros((4, 4))
    for r in (1, 2, 3):
        for combo in combinations(keys, r):
            labels = pd.Series(["|".join(t) for t in zip(*(keys[c] for c in combo), strict=True)])
            cells = pd.factorize(labels)[0]
            summed = np.stack([np.bincount(cells, weights=scores[:, j]) for j in range(4)], 1)
            meat += (1 if r % 2 else -1) * summed.T @ summed
    g, n = 9, 816  # regions are the fewest clusters; state effects nested in state clusters
    factor = g / (g - 1) * (n - 1) / (n - 5)
    expected = np.sqrt(np.clip(np.diag(factor * bread @ meat @ bread), 0, None))
    np.testing.assert_allclose(ses(result), expected, rtol=1e-8)
    assert result.stats["n_clusters"] == 9
    assert ses(result) != ses(two)


def test_driscoll_kraay_equals_linearmodels_kernel(produc):
    # linearmodels 7.1 PanelOLS(...).fit(cov_type="kernel", kernel="bartlett", bandwidth=m,
    # debiased=False) is Driscoll–Kraay with Bartlett weights 1 − j/(m+1), scaled with entity
    # effects by n/(n − (E − 1)); xtscc (Hoechle 2007, its ado file) scales the raw estimate by
    # T/(T−1)·(N−1)/(N−K), K = slopes + constant.
    from linearmodels import PanelOLS, PooledOLS

    pdf = produc.to_pandas().set_index(["state", "year"])
    exog = pdf[X].assign(_cons=1.0)
    n, periods, entities = 816, 17, 48
    xtscc = periods / (periods - 1) * (n - 1) / (n - 5)
    for lags in (0, 3):
        options = {"cov_type": "kernel", "kernel": "bartlett", "bandwidth": lags, "debiased": False}
        within = PanelOLS(pdf.lgsp, exog, entity_effects=True).fit(**options).std_errors[X]
        raw = within.to_numpy() * np.sqrt((n - entities + 1) / n)
        result = fe(produc, ["entity"], {"type": "driscoll_kraay", "lags": lags})
        np.testing.assert_allclose(ses(result), raw * np.sqrt(xtscc), rtol=1e-9)
        assert result.se_convention == f"xtscc, {lags} lags"
        pooled = PooledOLS(pdf.lgsp, exog).fit(**options).std_errors[[*X, "_cons"]]
        spec = OlsSpec(estimator="ols", y="lgsp", x=X, se={"type": "driscoll_kraay", "lags": lags})
        ols = fit_linear(produc, spec, PRODUC)[""]
        np.testing.assert_allclose(
            ses(ols, [*X, "_cons"]), pooled.to_numpy() * np.sqrt(xtscc), rtol=1e-9
        )
    # default bandwidth floor(4(T/100)^(2/9)) = 2 for T = 17, as xtscc
    assert fe(produc, ["entity"], "driscoll_kraay").se_convention == "xtscc, 2 lags"


def test_linearmodels_convention_with_a_column_effect_and_weights(produc):
    # linearmodels 7.1 itself: time effects and a column's effects (other_effects), weights
    from linearmodels import PanelOLS

    pdf = produc.to_pandas().set_index(["state", "year"])
    direct = (
        PanelOLS(
            pdf.lgsp,
            pdf[X].assign(_cons=1.0),
            time_effects=True,
            other_effects=pdf[["region"]],
            weights=pdf.emp,
        )
        .fit(cov_type="clustered", cluster_entity=True)
        .std_errors[X]
    )
    result = fe(
        produc,
        ["time", "region"],
        {"cluster": "entity", "convention": "linearmodels"},
        weights="emp",
    )
    np.testing.assert_allclose(ses(result), direct.to_numpy(), rtol=1e-8)
    assert result.se_convention == "linearmodels"


# --- F test, statistics, errors -------------------------------------------------------------


def test_f_test_all_ui_zero_matches_xtreg():
    # Stata `xtreg inv value capital, fe` on Grunfeld prints "F test that all u_i=0:
    # F(9, 188) = 49.18"; statsmodels' compare_f_test of pooled OLS vs the dummy regression
    # gives the same statistic to machine precision.
    import statsmodels.api as sm

    grunfeld = pl.read_csv(ROOT / "data" / "grunfeld.csv")
    spec = PanelFeSpec(estimator="panel_fe", y="inv", x=["value", "capital"])
    result = fit_linear(grunfeld, spec, FitContext("t", "firm", "year"))[""]
    assert round(result.stats["f_u0"], 2) == 49.18
    assert result.extra["f_u0_df"] == [9, 188]
    pdf = grunfeld.to_pandas()
    base = sm.add_constant(pdf[["value", "capital"]])
    full = pd.concat([base, pd.get_dummies(pdf.firm, drop_first=True, dtype=float)], axis=1)
    f, p, _ = sm.OLS(pdf.inv, full).fit().compare_f_test(sm.OLS(pdf.inv, base).fit())
    assert result.stats["f_u0"] == pytest.approx(f, rel=1e-9)
    assert result.stats["f_u0_p"] == pytest.approx(p, rel=1e-6, abs=1e-300)


@pytest.mark.parametrize("shuffled", [False, True])
def test_two_way_f_test_equals_the_dummy_regressions(shuffled):
    # xtreg's F test with time effects kept: all firm dummies zero, year dummies in both
    # models. On a full grid the restricted Gram matrix is built from the firm means (no second
    # sweep); statsmodels' compare_f_test of the two explicit dummy regressions is the check,
    # with the rows sorted (the reshape sweep) and shuffled (bincount means).
    import statsmodels.api as sm

    grunfeld = pl.read_csv(ROOT / "data" / "grunfeld.csv")
    if shuffled:
        grunfeld = grunfeld.sample(fraction=1.0, shuffle=True, seed=11)
    spec = PanelFeSpec(
        estimator="panel_fe", y="inv", x=["value", "capital"], absorb=["entity", "time"]
    )
    result = fit_linear(grunfeld, spec, FitContext("t", "firm", "year"))[""]
    pdf = grunfeld.to_pandas()
    years = pd.get_dummies(pdf.year, drop_first=True, dtype=float)
    base = pd.concat([sm.add_constant(pdf[["value", "capital"]]), years], axis=1)
    full = pd.concat([base, pd.get_dummies(pdf.firm, drop_first=True, dtype=float)], axis=1)
    f, p, _ = sm.OLS(pdf.inv, full).fit().compare_f_test(sm.OLS(pdf.inv, base).fit())
    assert result.extra["f_u0_df"] == [9, 169]
    assert result.stats["f_u0"] == pytest.approx(f, rel=1e-9)
    assert result.stats["f_u0_p"] == pytest.approx(p, rel=1e-6, abs=1e-300)


def test_clustered_ses_do_not_depend_on_the_row_order(produc):
    # rows sorted by the cluster are summed run by run, others by bincount: the same sandwich
    spec = PanelFeSpec(
        estimator="panel_fe", y="lgsp", x=X, absorb=["entity", "time"], se={"cluster": "entity"}
    )
    ordered = fit_linear(produc.sort("state", "year"), spec, PRODUC)[""]
    shuffled = fit_linear(produc.sample(fraction=1.0, shuffle=True, seed=3), spec, PRODUC)[""]
    np.testing.assert_allclose(ses(shuffled), ses(ordered), rtol=1e-10)


def test_regressor_absorbed_by_a_column_effect_is_named(produc):
    frame = produc.with_columns(rx=(pl.col("region") * 3 + pl.col("year")).cast(pl.Float64))
    spec = PanelFeSpec(
        estimator="panel_fe", y="lgsp", x=["lpcap", "rx"], absorb=["entity", "region#time"]
    )
    with pytest.raises(SpecError, match="'rx' is absorbed by the fixed effect 'region#time'"):
        fit_linear(frame, spec, PRODUC)


def test_jointly_absorbed_regressor_names_the_sets(produc):
    frame = produc.with_columns(sy=(pl.col("year") + pl.col("region") * 1.5).cast(pl.Float64))
    spec = PanelFeSpec(estimator="panel_fe", y="lgsp", x=["lpcap", "sy"], absorb=["entity", "time"])
    with pytest.raises(SpecError, match=r"jointly \(entity, time\)"):
        fit_linear(frame, spec, PRODUC)


@pytest.mark.parametrize(("value", "shown"), [(0.0, "0"), (-1.0, "-1")])
def test_bad_weights_name_the_row(produc, value, shown):
    frame = produc.with_columns(
        w=pl.when((pl.col("state") == "ARIZONA") & (pl.col("year") == 1975))
        .then(value)
        .otherwise(1.0)
    )
    spec = OlsSpec(estimator="ols", y="lgsp", x=X, weights="w")
    with pytest.raises(SpecError) as info:
        fit_linear(frame, spec, PRODUC)
    assert info.value.message == (
        f"weights 'w' must be positive: {shown} at state ARIZONA, year 1975 (1 such row)"
    )
    assert info.value.hint == (
        "analytic weights are positive; to fit without those rows, give the model "
        "sample: {where: 'w > 0'}"
    )


def test_bad_weights_count_their_rows(produc):
    frame = produc.with_columns(w=pl.when(pl.col("state") == "ARIZONA").then(0.0).otherwise(1.0))
    spec = OlsSpec(estimator="ols", y="lgsp", x=X, weights="w")
    with pytest.raises(SpecError) as info:
        fit_linear(frame, spec, PRODUC)
    assert info.value.message == (
        "weights 'w' must be positive: 0 at state ARIZONA, year 1970 (17 such rows)"
    )


def test_absorb_and_effects_are_exclusive():
    with pytest.raises(ValueError, match="absorb or its shorthand effects"):
        PanelFeSpec(estimator="panel_fe", y="y", x=["x"], absorb=["entity"], effects=["time"])
    with pytest.raises(ValueError, match="absorbed twice"):
        PanelFeSpec(estimator="panel_fe", y="y", x=["x"], absorb=["a#b", "b#a"])


# --- end to end: the shipped spec, validation and data errors -------------------------------


def test_produc_spec_runs_and_matches_pyfixest(tmp_path):
    import json

    from specrun.cli import main

    assert main(["run", str(ROOT / "specs" / "produc.yaml"), "--out", str(tmp_path)]) == 0
    models = json.loads((tmp_path / "results.json").read_text())["models"]
    twoway = models["fe_twoway"]
    # pf.feols(fml + " | state + year", d, vcov={"CRV1": "region"}).se()["lpcap"]
    assert twoway["coefficients"]["lpcap"]["std_error"] == pytest.approx(0.0624605329, rel=5e-8)
    assert twoway["se"] == {"type": "clustered by region", "convention": "stata"}
    assert models["fe_region_year"]["effects"] == ["entity", "region#year"]
    table = (tmp_path / "tables" / "table_fe.md").read_text()
    assert "| Region × Year FE | No | No | Yes | No | No |" in table


def _spec(tmp_path: Path, model: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "spec_version: 1\n"
        "data:\n"
        f"  sources: {{d: {{path: {ROOT / 'data' / 'Produc.csv'}}}}}\n"
        "  panel: {source: d, entity: state, time: year}\n"
        "models:\n"
        f"  m: {model}\n"
    )
    return path


def test_a_factor_term_on_an_absorbed_and_clustered_column(tmp_path):
    # i.region#c.lpcap beside absorb: [entity, region#year] and clusters by region: the raw
    # region column was left out of the fit's frame (the term reads it as dummies), a crash.
    # pyfixest 0.60.0: feols("lgsp ~ i(region, lpcap) + lpc | state + region^year", d,
    #   vcov={"CRV1": "region"}) with lgsp = log(gsp) etc. (N = 816)
    from specrun.api import run_file

    spec = _spec(
        tmp_path,
        "{estimator: panel_fe, y: lgsp, x: ['i.region#c.lpcap', lpc], absorb: [entity, "
        "region#year], se: {cluster: region}}",
    )
    spec.write_text(
        spec.read_text().replace(
            "models:\n",
            "transforms:\n  - derive: {lgsp: log(gsp), lpcap: log(pcap), lpc: log(pc)}\nmodels:\n",
        )
    )
    result = run_file(spec, out=tmp_path / "out", cache=False).output.results.models["m"]
    names = [f"{r}.region#c.lpcap" for r in range(1, 10)] + ["lpc"]
    np.testing.assert_allclose(
        [result.coefficients[n].estimate for n in names],
        [
            0.6253504693021851,
            0.9810436158023972,
            -0.7599881341236674,
            -0.22705476555999485,
            0.394533957707647,
            -1.3184827526740779,
            0.16954039041114077,
            0.38434426755565543,
            0.07566158190816394,
            0.506653472738611,
        ],
        rtol=1e-7,
    )
    np.testing.assert_allclose(
        [result.coefficients[n].std_error for n in names],
        [
            0.040423126265197055,
            0.12061433929398933,
            0.07599319755272312,
            0.011461430888139305,
            0.03607527758778835,
            0.10904938924089508,
            0.09133000935869127,
            0.06812225465995683,
            0.03813935276379584,
            0.14359054002206997,
        ],
        rtol=1e-6,
    )


def test_unknown_absorb_and_cluster_columns_get_did_you_mean(tmp_path, capsys):
    from specrun.cli import main

    spec = _spec(
        tmp_path,
        "{estimator: panel_fe, y: gsp, x: [pcap], absorb: [entity, regoin#year], "
        "se: {cluster: [reigon]}}",
    )
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "models.m.absorb[1]: unknown variable 'regoin' (did you mean 'region'?)" in err
    assert "models.m.se.cluster[0]: unknown variable 'reigon' (did you mean 'region'?)" in err


def test_missing_weights_are_a_located_data_error(tmp_path, capsys):
    from specrun.cli import main

    csv = tmp_path / "p.csv"
    pl.read_csv(ROOT / "data" / "Produc.csv").with_columns(
        w=pl.when(pl.col("state") == "IOWA").then(None).otherwise(pl.col("emp"))
    ).write_csv(csv)
    spec = _spec(tmp_path, "{estimator: ols, y: gsp, x: [pcap], weights: w}")
    spec.write_text(spec.read_text().replace(str(ROOT / "data" / "Produc.csv"), str(csv)))
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "column 'w' of model 'm' is missing at state IOWA, year 1970 (17 rows)" in err
    # the hint shows the sample that leaves those rows out, as Stata and fixest do silently
    assert err.endswith(
        "(weights must be given for every row of the sample; to leave out the rows without, as "
        "Stata and fixest do, give the model sample: {where: 'is_not_null(w)'})\n"
    )
    spec.write_text(
        spec.read_text().replace("weights: w}", "weights: w, sample: {where: 'is_not_null(w)'}}")
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0


def test_robust_on_panel_fe_gets_a_porting_hint(tmp_path, capsys):
    from specrun.cli import main

    spec = _spec(tmp_path, "{estimator: panel_fe, y: gsp, x: [pcap], se: robust}")
    assert main(["validate", str(spec)]) == 0
    err = capsys.readouterr().err
    assert "6:51: models.m.se: HC1 is White's covariance; Stata's `xtreg, fe vce(robust)` is " in (
        err
    )
    assert (
        main(["validate", str(_spec(tmp_path, "{estimator: ols, y: gsp, x: [pcap], se: robust}"))])
        == 0
    )
    assert "hint" not in capsys.readouterr().err


# --- R plm 2.6.2 on Produc: the plm convention of each covariance type ----------------------
# data("Produc", package = "plm"); f <- log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp
# w <- plm(f, Produc, model = "within"); tw <- plm(f, Produc, model = "within",
# effect = "twoways"); p <- plm(f, Produc, model = "pooling"); SEs = sqrt(diag(V)).

PLM = [
    # vcovSCC(w, type = "HC1", maxlag = 2); plm's default maxlag floor(T^(1/4)) is also 2
    (["entity"], {"type": "driscoll_kraay", "lags": 2},
     [0.05768283304791, 0.05898348189293, 0.08304485948099, 0.00149482307172]),
    (["entity"], {"type": "driscoll_kraay"},
     [0.05768283304791, 0.05898348189293, 0.08304485948099, 0.00149482307172]),
    # vcovHC(w, method = "white1", type = "HC0" | "HC1")
    (["entity"], {"type": "HC0"},
     [0.03124764137187, 0.03050401715219, 0.03984612448726, 0.00109281966632]),
    (["entity"], {"type": "HC1"},
     [0.03132451145450, 0.03057905789819, 0.03994414708184, 0.00109550803364]),
    # vcovDC(tw, type = "HC1")
    (["entity", "time"], {"cluster": ["entity", "time"]},
     [0.05995946777364, 0.09230980243970, 0.09218627498214, 0.00330720482161]),
    # vcovHC(tw, method = "arellano", type = "HC1", cluster = "time")
    (["entity", "time"], {"cluster": "time"},
     [0.0351031806767, 0.0540825033372, 0.0553029913162, 0.0017262452146]),
]  # fmt: skip


@pytest.mark.parametrize(("absorb", "se", "expected"), PLM)
def test_plm_convention_matches_r_plm(produc, absorb, se, expected):
    result = fe(produc, absorb, {**se, "convention": "plm"})
    np.testing.assert_allclose(ses(result), expected, rtol=1e-9)


def test_pooled_driscoll_kraay_matches_vcovscc(produc):
    # vcovSCC(p, type = "HC1", maxlag = 3): (Intercept) first, then the slopes
    spec = OlsSpec(
        estimator="ols",
        y="lgsp",
        x=X,
        se={"type": "driscoll_kraay", "lags": 3, "convention": "plm"},
    )
    result = fit_linear(produc, spec, PRODUC)[""]
    np.testing.assert_allclose(
        ses(result, ["_cons", *X]),
        [0.16727514257838, 0.04114678445649, 0.00737367524443, 0.04273688314879, 0.0027773939883],
        rtol=1e-9,
    )
    assert result.se_convention == "plm vcovSCC HC1, 3 lags"


def test_singletons_dropped_are_counted_in_the_manifest(tmp_path):
    import json

    from specrun.cli import main

    csv = tmp_path / "p.csv"
    pl.read_csv(ROOT / "data" / "Produc.csv").filter(
        (pl.col("year") < 1980)
        | pl.col("state").is_in(["ALABAMA", "ARIZONA", "ARKANSAS", "CALIFORNIA"])
    ).write_csv(csv)
    spec = _spec(
        tmp_path,
        "{estimator: panel_fe, y: gsp, x: [pcap], absorb: [entity, region#year], singletons: drop}",
    )
    spec.write_text(spec.read_text().replace(str(ROOT / "data" / "Produc.csv"), str(csv)))
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["rows"]["m"] == {
        "sample": 508,
        "used": 480,
        "dropped_incomplete": 0,
        "dropped_singletons": 28,
    }


def test_text_columns_absorb_and_cluster_as_group_labels(tmp_path):
    # Region codes stored as text ("r1"…"r9"), as statistical offices export them, group like
    # Stata's absorb()/vce(cluster) variables. pyfixest 0.60 on the same data:
    # feols("lgsp ~ lpcap + lemp + unemp | state + rname^year", vcov={"CRV1": "rname"}).
    from specrun.cli import main

    csv = tmp_path / "p.csv"
    pl.read_csv(ROOT / "data" / "Produc.csv").with_columns(
        rname=pl.format("r{}", pl.col("region"))
    ).write_csv(csv)
    spec = _spec(
        tmp_path,
        "{estimator: panel_fe, y: lgsp, x: [lpcap, lemp, unemp], absorb: [entity, rname#year], "
        "se: {cluster: rname}}",
    )
    text = spec.read_text().replace(str(ROOT / "data" / "Produc.csv"), str(csv))
    text = text.replace(
        "models:\n",
        "transforms:\n  - derive: {lgsp: log(gsp), lpcap: log(pcap), lemp: log(emp)}\nmodels:\n",
    )
    spec.write_text(text)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    import json

    coefficients = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"][
        "coefficients"
    ]
    pyfixest = {
        "lpcap": (0.08029111712511397, 0.053965466809424524),
        "lemp": (0.9261790604589516, 0.10423230413322468),
        "unemp": (-0.00020285381833010403, 0.003659455503498967),
    }
    for name, (estimate, std_error) in pyfixest.items():
        assert coefficients[name]["estimate"] == pytest.approx(estimate, rel=1e-7)
        assert coefficients[name]["std_error"] == pytest.approx(std_error, rel=1e-6)


def test_long_text_effects_are_coded_as_the_text_itself():
    # text columns of ≥ RANKED_ROWS rows are coded from polars' dense ranks: the codes must be
    # numpy.unique's of the strings (code-point order: accents, CJK, case), so results do not
    # depend on which path coded them
    from specrun.estimators.linear import RANKED_ROWS, _column
    from specrun.kernels.hdfe import factor_codes

    rng = np.random.default_rng(3)
    words = np.array(["Zhejiang", "anhui", "Ürümqi", "北京", "上海", "é", "E", "e", "", "z z"])
    text = words[rng.integers(0, words.size, RANKED_ROWS + 7)]
    frame = pl.DataFrame({"region": text})
    ctx = FitContext("m", "entity", "time")
    ranked = _column(frame, "region", ctx)
    assert ranked.dtype.kind == "i"
    codes, levels = factor_codes(ranked)
    expected, inverse = np.unique(text, return_inverse=True)
    assert levels == expected.size
    assert np.array_equal(codes, inverse)


def test_a_long_entity_index_in_runs_is_numbered_in_row_order():
    # an entity index whose entities each fill one run of rows (a panel sorted by entity, its
    # labels in any order) is numbered run by run, so that the two-way grid reads as a matrix;
    # the fit is the one on the same rows with the entities numbered in sorted order (the
    # codes only name them)
    from specrun.estimators.linear import RANKED_ROWS, _column

    rng = np.random.default_rng(11)
    n_entities, periods = RANKED_ROWS // 10 + 1, 10
    labels = np.array([f"p{i:05d}" for i in rng.permutation(n_entities)])
    n = n_entities * periods
    frame = pl.DataFrame(
        {
            "province": np.repeat(labels, periods),
            "year": np.tile(np.arange(2010, 2010 + periods), n_entities),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n) + 50.0,
        }
    ).with_columns(y=pl.col("x") * 0.5 - pl.col("z") * 0.2 + rng.normal(size=n))
    ctx = FitContext("m", "province", "year")
    assert np.array_equal(_column(frame, "entity", ctx), np.repeat(np.arange(n_entities), periods))
    spec = PanelFeSpec(
        estimator="panel_fe",
        y="y",
        x=["x", "z"],
        effects=["entity", "time"],
        se={"cluster": "entity"},
    )
    fitted = fit_linear(frame, spec, ctx)[""]
    # the same rows shuffled: the entities ranked by label, swept by bincount
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    assert not np.array_equal(_column(shuffled, "entity", ctx)[:periods], np.zeros(periods))
    reference = fit_linear(shuffled, spec, ctx)[""]
    for name in ("x", "z", "_cons"):
        got, want = fitted.coefficients[name], reference.coefficients[name]
        assert got.estimate == pytest.approx(want.estimate, rel=1e-10)
        assert got.std_error == pytest.approx(want.std_error, rel=1e-10)
    assert fitted.stats["f_u0"] == pytest.approx(reference.stats["f_u0"], rel=1e-10)
