"""Pooled OLS and fixed-effects regressions against R plm 2.6.2 and Stata on the Grunfeld data.

Reference numbers (R plm's 200-row Grunfeld, ``plm(inv ~ value + capital, model = "within",
effect = "individual" | "twoways")``; Stata ``xtreg inv value capital [i.year], fe
vce(cluster firm)``; Gretl agrees), quoted to 13 significant digits; checked to 1e-6 relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.linear import OlsSpec, PanelFeSpec, fit_linear

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CTX = FitContext("test", "firm", "year")
RTOL = 1e-6


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    # The Grunfeld data ship with specrun (data/grunfeld.csv is R plm's copy).
    return pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")


def fe(frame: pl.DataFrame, effects: list[str], se: object = "unadjusted"):
    spec = PanelFeSpec(
        estimator="panel_fe", y="inv", x=["value", "capital"], effects=effects, se=se
    )
    return fit_linear(frame, spec, CTX)[""]


def pair(result, what: str) -> list[float]:
    return [getattr(result.coefficients[v], what) for v in ("value", "capital")]


@pytest.mark.parametrize(
    ("effects", "coef", "se_conventional", "se_cluster_stata", "r2_lsdv"),
    [
        # plm effect = "individual"; Stata xtreg, fe
        (
            ["entity"],
            [0.1101238041207, 0.3100653413001],
            [0.01185669421404, 0.01735450277555],
            [0.01519449394272, 0.05275177175878],
            0.9440725124677,
        ),
        # plm effect = "twoways"; Stata xtreg with i.year, fe
        (
            ["entity", "time"],
            [0.1177158550826, 0.3579162730734],
            [0.01375128300365, 0.02271901088257],
            [0.01082442947686, 0.04784839659259],
            0.9516933996812,
        ),
    ],
)
def test_panel_fe_matches_plm_and_stata(
    grunfeld, effects, coef, se_conventional, se_cluster_stata, r2_lsdv
):
    plain = fe(grunfeld, effects)
    np.testing.assert_allclose(pair(plain, "estimate"), coef, rtol=RTOL)
    np.testing.assert_allclose(pair(plain, "std_error"), se_conventional, rtol=RTOL)
    assert plain.stats["r2_lsdv"] == pytest.approx(r2_lsdv, rel=RTOL)
    clustered = fe(grunfeld, effects, {"cluster": "entity"})
    np.testing.assert_allclose(pair(clustered, "std_error"), se_cluster_stata, rtol=RTOL)
    assert clustered.se_convention == "stata"


def test_plm_hc1_convention(grunfeld):
    # plm: coeftest(twoway, vcov = vcovHC(twoway, type = "HC1", cluster = "group"))
    result = fe(grunfeld, ["entity", "time"], {"cluster": "entity", "convention": "plm"})
    np.testing.assert_allclose(
        pair(result, "std_error"), [0.009760951067962, 0.04314738793569], rtol=RTOL
    )
    assert result.se_convention == "plm HC1"


def test_fe_constant_is_statas(grunfeld):
    # Stata 17, xtreg inv value capital, fe: _cons = -58.74394, se 12.45369
    result = fe(grunfeld, ["entity"])
    assert result.coefficients["_cons"].estimate == pytest.approx(-58.74394, abs=5e-6)
    assert result.coefficients["_cons"].std_error == pytest.approx(12.45369, abs=5e-6)


def test_equals_linearmodels(grunfeld):
    # linearmodels PanelOLS is the library reference for coefficients and R² within.
    from linearmodels import PanelOLS

    data = grunfeld.to_pandas().set_index(["firm", "year"])
    lm = PanelOLS(data.inv, data[["value", "capital"]], entity_effects=True).fit()
    result = fe(grunfeld, ["entity"])
    np.testing.assert_allclose(pair(result, "estimate"), lm.params.to_numpy(), rtol=1e-10)
    assert result.stats["r2_within"] == pytest.approx(lm.rsquared_within, rel=1e-10)
    linearmodels_cov = fe(grunfeld, ["entity"], {"cluster": "entity", "convention": "linearmodels"})
    exog = data[["value", "capital"]].assign(const=1.0)  # specrun always fits the constant
    clustered = PanelOLS(data.inv, exog, entity_effects=True).fit(
        cov_type="clustered", cluster_entity=True
    )
    np.testing.assert_allclose(
        pair(linearmodels_cov, "std_error"), clustered.std_errors.to_numpy()[:2], rtol=1e-8
    )


def test_unbalanced_two_way_equals_linearmodels(grunfeld):
    from linearmodels import PanelOLS

    frame = grunfeld.with_row_index().filter(~pl.col("index").is_in([3, 50, 77, 140])).drop("index")
    data = frame.to_pandas().set_index(["firm", "year"])
    lm = PanelOLS(
        data.inv, data[["value", "capital"]], entity_effects=True, time_effects=True
    ).fit()
    result = fe(frame, ["entity", "time"])
    np.testing.assert_allclose(pair(result, "estimate"), lm.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(pair(result, "std_error"), lm.std_errors.to_numpy(), rtol=1e-8)


def test_pooled_ols_cluster_matches_stata(grunfeld):
    # Stata: regress inv value capital, vce(cluster firm) — G/(G-1)(N-1)/(N-K), K = 3.
    # statsmodels OLS(...).fit(cov_type="cluster") applies the same correction by default.
    import statsmodels.api as sm

    spec = OlsSpec(estimator="ols", y="inv", x=["value", "capital"], se={"cluster": "entity"})
    result = fit_linear(grunfeld, spec, CTX)[""]
    pdf = grunfeld.to_pandas()
    sm_fit = sm.OLS(pdf.inv, sm.add_constant(pdf[["value", "capital"]])).fit(
        cov_type="cluster", cov_kwds={"groups": pdf.firm}
    )
    np.testing.assert_allclose(
        pair(result, "std_error"), sm_fit.bse[["value", "capital"]].to_numpy(), rtol=1e-10
    )
    assert result.stats["r2"] == pytest.approx(sm_fit.rsquared, rel=1e-12)


def test_absorbed_regressor_is_named(grunfeld):
    frame = grunfeld.with_columns(size=pl.col("firm") * 2.0)
    spec = PanelFeSpec(estimator="panel_fe", y="inv", x=["value", "size"], effects=["entity"])
    with pytest.raises(SpecError, match="'size' is absorbed by the fixed effect 'entity'"):
        fit_linear(frame, spec, CTX)


def test_collinear_regressors_are_named(grunfeld):
    frame = grunfeld.with_columns(twice=pl.col("value") * 2.0)
    spec = OlsSpec(estimator="ols", y="inv", x=["value", "twice"])
    with pytest.raises(SpecError, match="collinear: value, twice"):
        fit_linear(frame, spec, CTX)


def _scaled_gram(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=0)
    gram = centred.T @ centred
    d = np.sqrt(np.diag(gram))
    return gram / np.outer(d, d)


def _rank_cases() -> list[np.ndarray]:
    """Scaled Gram matrices of centred regressors: independent, exactly collinear, tied
    (equal pivots), and nearly collinear at noise levels on both sides of the tolerance."""
    rng = np.random.default_rng(20261130)
    cases = []
    for trial in range(3000):
        n, k = int(rng.integers(12, 120)), int(rng.integers(2, 9))
        x = rng.standard_normal((n, k))
        kind = trial % 6
        if kind == 1:
            x[:, -1] = 2.0 * x[:, 0] - 0.5 * x[:, 1]
        elif kind == 2:  # a near copy: pivots around 1e-10 when the noise is near 1e-5
            x[:, -1] = x[:, 0] + 10.0 ** -rng.uniform(3.0, 8.0) * rng.standard_normal(n)
        elif kind == 3:  # every column the same: ties at every step
            x[:, 1:] = x[:, [0]]
        elif kind == 4 and k > 2:
            x[:, 2] = x[:, 0] - x[:, 1]
            x[:, 1] += 10.0 ** -rng.uniform(4.0, 6.0) * rng.standard_normal(n)
        elif kind == 5:  # dummies of one factor with all levels, and a copy of a column
            x[:, :k] = (rng.integers(0, k, n)[:, None] == np.arange(k)).astype(float)
            x[:k] = np.eye(k)  # every level present
        cases.append(_scaled_gram(x))
    return cases


def test_rank_check_agrees_with_lapack_dpstrf():
    # The rank check was LAPACK dpstrf (scipy 1.17.1 ``scipy.linalg.lapack.dpstrf(scaled,
    # lower=1, tol=1e-10)``, its third output); the numpy version must refuse exactly the same
    # regressor sets.
    from scipy.linalg import lapack

    from specrun.estimators.linear import pivoted_cholesky_rank

    deficient = 0
    for scaled in _rank_cases():
        expected = lapack.dpstrf(scaled.copy(), lower=1, tol=1e-10)[2]
        assert pivoted_cholesky_rank(scaled, 1e-10) == expected
        deficient += expected < scaled.shape[0]
    assert 1000 < deficient < 2900  # both kinds of case are there


def test_rank_check_ties_and_zero_pivots():
    from specrun.estimators.linear import pivoted_cholesky_rank

    assert pivoted_cholesky_rank(np.ones((4, 4)), 1e-10) == 1
    assert pivoted_cholesky_rank(np.eye(3), 1e-10) == 3
    assert pivoted_cholesky_rank(np.zeros((2, 2)), 1e-10) == 0
    near = np.array([[1.0, 1.0 - 1e-11], [1.0 - 1e-11, 1.0]])  # second pivot 2e-11
    assert pivoted_cholesky_rank(near, 1e-10) == 1
    assert pivoted_cholesky_rank(near, 1e-12) == 2


def test_near_copy_of_a_regressor_is_refused_as_before(grunfeld):
    # 1e-7 noise on a copy leaves a pivot of about 1e-17: refused, as dpstrf refused it
    rng = np.random.default_rng(1)
    noise = 1e-7 * rng.standard_normal(grunfeld.height)
    frame = grunfeld.with_columns(near=pl.col("value") * (1.0 + noise))
    spec = OlsSpec(estimator="ols", y="inv", x=["capital", "value", "near"])
    with pytest.raises(SpecError, match="collinear: value, near"):
        fit_linear(frame, spec, CTX)
    # 1e-3 noise leaves a pivot near 1e-8: kept
    frame = grunfeld.with_columns(
        near=pl.col("value") * (1.0 + 1e-3 * rng.standard_normal(grunfeld.height))
    )
    assert "near" in fit_linear(frame, spec, CTX)[""].coefficients


def test_two_way_clustering_is_cameron_gelbach_miller(grunfeld):
    # The raw sandwich V_entity + V_time − V_cell equals linearmodels 7.x PooledOLS with
    # cluster_entity and cluster_time (debiased=False); specrun's Stata convention scales it as
    # reghdfe does: G/(G−1)·(N−1)/(N−K) with G the smaller cluster count (10 firms), K = 3.
    from linearmodels import PooledOLS

    data = grunfeld.to_pandas().set_index(["firm", "year"])
    exog = data[["value", "capital"]].assign(const=1.0)
    raw = (
        PooledOLS(data.inv, exog)
        .fit(cov_type="clustered", cluster_entity=True, cluster_time=True, debiased=False)
        .std_errors.to_numpy()[:2]
    )
    spec = OlsSpec(
        estimator="ols", y="inv", x=["value", "capital"], se={"cluster": ["entity", "time"]}
    )
    result = fit_linear(grunfeld, spec, CTX)[""]
    factor = 10 / 9 * 199 / 197
    np.testing.assert_allclose(pair(result, "std_error"), raw * factor**0.5, rtol=1e-10)
    assert result.se_type == "clustered by entity and time"


def test_robust_fe_equals_hc1_on_the_dummy_regression(grunfeld):
    # Stata `areg inv value capital, absorb(firm) vce(robust)`: HC1 on the LSDV regression,
    # N/(N−K) with K counting the dummies; statsmodels 0.14 OLS(...).fit(cov_type="HC1") on the
    # explicit dummies is the same estimator.
    import pandas as pd
    import statsmodels.api as sm

    pdf = grunfeld.to_pandas()
    dummies = pd.get_dummies(pdf.firm, prefix="f", drop_first=True, dtype=float)
    design = sm.add_constant(pd.concat([pdf[["value", "capital"]], dummies], axis=1))
    hc1 = sm.OLS(pdf.inv, design).fit(cov_type="HC1").bse[["value", "capital"]].to_numpy()
    result = fe(grunfeld, ["entity"], "robust")
    np.testing.assert_allclose(pair(result, "std_error"), hc1, rtol=1e-10)


def test_few_clusters_warn(grunfeld):
    five_firms = grunfeld.filter(pl.col("firm") <= 5)
    result = fe(five_firms, ["entity"], {"cluster": "entity"})
    assert result.extra["warnings"] == [
        "only 5 clusters: clustered standard errors are unreliable with fewer than about 10 "
        "(Cameron and Miller 2015); the wild cluster bootstrap gives reliable p-values: add "
        "'bootstrap: {seed: 1}' to the model's se:"
    ]
    assert "warnings" not in fe(grunfeld, ["entity"], {"cluster": "entity"}).extra


def test_fe_solution_is_exact_when_the_means_dwarf_the_spread(grunfeld):
    # The fit solves from the Gram matrix of the swept columns and adds the means back by
    # exact algebra: shifting a regressor by 1e6 (its spread is ~1e3) leaves the slopes and
    # their standard errors as they were and moves the constant by −1e6·β (the within
    # estimator is invariant to the shift; a solve of [X + x̄, 1]′[X + x̄, 1] loses ~12 digits).
    shifted = grunfeld.with_columns(pl.col("value") + 1e6)
    for effects in (["entity"], ["entity", "time"]):
        se = {"cluster": "entity"}
        plain, moved = fe(grunfeld, effects, se), fe(shifted, effects, se)
        np.testing.assert_allclose(pair(moved, "estimate"), pair(plain, "estimate"), rtol=1e-9)
        np.testing.assert_allclose(pair(moved, "std_error"), pair(plain, "std_error"), rtol=1e-9)
        value = plain.coefficients["value"].estimate
        np.testing.assert_allclose(
            moved.coefficients["_cons"].estimate,
            plain.coefficients["_cons"].estimate - 1e6 * value,
            rtol=1e-9,
        )


@pytest.mark.parametrize("layout", ["blocks", "runs", "cycle", "scattered"])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_sums_agree_with_the_design_in_every_row_layout(layout, weighted):
    # The grouped score sums are taken from the swept columns (Σ_g X̃ⱼu + x̄ⱼΣ_g u) by the
    # rows' layout; each must equal bincount of the explicit design's scores dᵢeᵢ.
    from specrun.estimators.covariance import LeastSquares, _score_sums

    rng = np.random.default_rng(7)
    groups, width = 40, 6
    n = groups * width
    codes = {
        "blocks": np.repeat(np.arange(groups), width),
        "runs": np.repeat(
            rng.permutation(groups), rng.multinomial(n - groups, [1 / groups] * groups) + 1
        ),
        "cycle": np.tile(rng.permutation(groups), width),
        "scattered": rng.integers(0, groups, n),
    }[layout]
    codes = np.unique(codes, return_inverse=True)[1]  # every group present, 0..G − 1
    g = int(codes.max()) + 1
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    columns = tuple(rng.normal(size=n) for _ in range(3))
    fit = LeastSquares(
        columns=columns,
        shift=np.array([5.0, -2.0, 300.0]),
        resid=rng.normal(size=n),
        bread=np.eye(4),
        slopes=3,
        factors=(),
        weights=w,
        fe_leverage=None,
    )
    scores = fit.design * fit.resid[:, None]
    expected = np.column_stack([np.bincount(codes, scores[:, j], g) for j in range(4)])
    np.testing.assert_allclose(_score_sums(fit, codes, g), expected, rtol=1e-12, atol=1e-12)
