"""IV estimator against peers on Mroz (1987): Wooldridge's Example 15.x returns to education.

Model throughout: lwage on educ (endogenous), exper, expersq and a constant; instruments
motheduc and fatheduc; the 428 working women of ``data/mroz.csv``.

Sources of the stored numbers (none needs R or Stata at test time):

* R 4.x, AER 1.2-10, sandwich 3.0.2 — ``m <- ivreg(lwage ~ educ + exper + expersq | motheduc +
  fatheduc + exper + expersq, data = d)``; ``coef(summary(m))`` (σ² = SSR/(N − K): Stata's
  ``small``), ``summary(m, diagnostics = TRUE)`` (weak-instrument F, Wu–Hausman F, Sargan),
  ``vcovHC(m, type = "HC0")`` / ``"HC1"``,
  ``vcovCL(m, cluster = ~age, type = "HC0", cadjust = FALSE)`` (ivregress's and ivreg2's
  clustered SEs without ``small``: no G/(G − 1), as Stata 13's stored output in linearmodels 7.1
  shows, ``tests/test_estimators_iv_stata.py``) and
  ``vcovCL(m, cluster = ~age, type = "HC1", cadjust = TRUE)`` (with ``small``); first stage
  ``fs <- lm(educ ~ motheduc + fatheduc + exper + expersq)`` and
  ``linearHypothesis(fs, c("motheduc=0", "fatheduc=0"), vcov. = vcovHC(fs, type = "HC1"),
  test = "F")``; reduced form ``lm(lwage ~ motheduc + fatheduc + exper + expersq)`` and the same
  ``linearHypothesis`` without ``vcov.`` (the Anderson–Rubin F at β = 0).
* Wooldridge, *Introductory Econometrics* (Examples 15.5 and 15.7, Stata output printed to 4
  digits): educ .0614 (.0314); the overidentification statistic nR² = .378, p = .539.
* Stata ``ivregress 2sls`` / ``estat firststage``: F(2, 423) = 55.4003 (the same number as AER's
  weak-instrument F above).
* linearmodels 7.1 — ``IV2SLS``/``IVLIML``/``IVGMM(...).fit(cov_type=...)`` on the same data:
  coefficients and SEs (2SLS, LIML), ``durbin()``, ``IVGMM(...).fit(cov_type="robust")``
  ``.j_stat`` and ``.c_stat()``.
* pyfixest 0.60 — ``feols("lwage ~ exper + expersq | age | educ ~ motheduc + fatheduc",
  vcov = {"CRV1": "age"} | "iid")`` for IV with absorbed (age) effects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from linearmodels.iv import IV2SLS, IVGMM, IVLIML
from scipy import stats as sps

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.iv import IVSpec, fit_iv_model
from specrun.kernels.iv import Inference, fit_iv, kleibergen_paap

DATA = Path(__file__).resolve().parents[1] / "data" / "mroz.csv"
CTX = FitContext("iv", "row", "period")
ORDER = ["educ", "exper", "expersq", "_cons"]

# R AER 1.2-10 ivreg, coef(summary(m)): small-sample (σ² = SSR/(N − K)) t statistics
AER_BETA = [0.0613966276912, 0.0441703939811, -0.0008989695648, 0.0481003171401]
AER_SE = [0.0314366963799, 0.0134324758436, 0.0004016856213, 0.4003280869665]
AER_HC0 = [0.0331824348637, 0.0154735612184, 0.0004280692418, 0.4277846042291]
AER_HC1 = [0.0333385883608, 0.0155463783793, 0.0004300836964, 0.4297977193681]
AER_CL_AGE_HC0 = [0.034403522225368445, 0.015345976988411369, 0.000429903463335582,
                  0.437508548249269047]  # fmt: skip
AER_CL_AGE_HC1 = [0.035095718389285, 0.015654736839607, 0.000438553087238, 0.446311185862794]
AER_WEAK_F = 55.4003004278
AER_WU_HAUSMAN_F = 2.7925931288
AER_SARGAN = 0.3780710637
R_FIRST_F_HC1 = 49.5265533234  # linearHypothesis on the first stage, vcovHC HC1
R_FIRST_F_CLUSTER_AGE_HC1 = 63.273200805  # the same with vcovCL(fs, ~age, "HC1", cadjust=TRUE)
R_AR_F, R_AR_P = 1.90206, 0.15053  # linearHypothesis on the reduced form (printed digits)
# linearmodels 7.1
LM_DURBIN = 2.8071  # IV2SLS(...).fit(cov_type="unadjusted").durbin().stat, printed digits
LM_GMM_J, LM_GMM_C = 0.4435, 2.4206  # IVGMM(...).fit(cov_type="robust"): j_stat, c_stat()
# pyfixest 0.60, age absorbed
PF_BETA = {"educ": 0.057236328196621715, "exper": 0.0549506538687745}
PF_SE_CRV1 = {"educ": 0.036835097371853684, "exper": 0.016477479354034652}
PF_SE_IID = {"educ": 0.03151864974231038, "exper": 0.014368868519917982}


@pytest.fixture(scope="module")
def mroz() -> pl.DataFrame:
    frame = pl.read_csv(DATA, null_values=[""]).filter(pl.col("lwage").is_not_null())
    return frame.with_row_index("row").with_columns(pl.lit(1).alias("period"))


def _spec(**kw: object) -> IVSpec:
    base: dict[str, object] = {
        "estimator": "iv",
        "y": "lwage",
        "x": ["exper", "expersq"],
        "endog": ["educ"],
        "instruments": ["motheduc", "fatheduc"],
    }
    return IVSpec.model_validate({**base, **kw})


def _fit(frame: pl.DataFrame, **kw: object):
    return fit_iv_model(frame, _spec(**kw), CTX)


def _se(result, names=ORDER) -> np.ndarray:
    return np.array([result.coefficients[n].std_error for n in names])


def _beta(result, names=ORDER) -> np.ndarray:
    return np.array([result.coefficients[n].estimate for n in names])


def test_2sls_matches_aer_and_stata_small(mroz: pl.DataFrame) -> None:
    out = _fit(mroz, small=True)[""]
    np.testing.assert_allclose(_beta(out), AER_BETA, rtol=1e-9)
    np.testing.assert_allclose(_se(out), AER_SE, rtol=1e-9)
    assert out.stat_name == "t"
    # Wooldridge Example 15.5 as printed
    assert round(out.coefficients["educ"].estimate, 4) == 0.0614
    assert round(out.coefficients["educ"].std_error, 4) == 0.0314


def test_default_inference_is_ivregress_z_with_ssr_over_n(mroz: pl.DataFrame) -> None:
    out = _fit(mroz)[""]
    n, k = 428, 4
    np.testing.assert_allclose(_se(out), np.array(AER_SE) * np.sqrt((n - k) / n), rtol=1e-9)
    assert out.stat_name == "z"
    educ = out.coefficients["educ"]
    assert educ.p_value == pytest.approx(2 * sps.norm.sf(abs(educ.stat)))


@pytest.mark.parametrize(
    ("se", "small", "expected"),
    [
        ("robust", False, AER_HC0),
        ("robust", True, AER_HC1),
    ],
)
def test_robust_standard_errors(mroz: pl.DataFrame, se: str, small: bool, expected) -> None:
    np.testing.assert_allclose(_se(_fit(mroz, se=se, small=small)[""]), expected, rtol=1e-9)


@pytest.mark.parametrize(("small", "expected"), [(False, AER_CL_AGE_HC0), (True, AER_CL_AGE_HC1)])
def test_clustered_standard_errors(mroz: pl.DataFrame, small: bool, expected) -> None:
    # cluster by age: clusters are the kernel's codes; the estimator clusters by entity
    frame = mroz.with_columns(pl.col("age").alias("row"))
    out = fit_iv_model(frame, _spec(se={"cluster": "entity"}, small=small), CTX)[""]
    np.testing.assert_allclose(_se(out), expected, rtol=1e-9)
    assert out.stats["n_clusters"] == 31


def test_diagnostics_match_aer_linearmodels_and_wooldridge(mroz: pl.DataFrame) -> None:
    out = _fit(mroz)
    main, first = out[""], out["first.educ"]
    assert first.stats["first_f"] == pytest.approx(AER_WEAK_F, rel=1e-9)
    assert round(first.stats["first_f"], 4) == 55.4003  # estat firststage
    # with one endogenous regressor Cragg–Donald F, SW F and the first-stage F coincide
    assert main.stats["cd_f"] == pytest.approx(AER_WEAK_F, rel=1e-9)
    assert main.stats["kp_f"] == pytest.approx(AER_WEAK_F, rel=1e-9)
    assert main.stats["sw_f"] == pytest.approx(AER_WEAK_F, rel=1e-9)
    assert main.stats["hansen_j"] == pytest.approx(AER_SARGAN, rel=1e-8)
    assert round(main.stats["hansen_j"], 3) == 0.378  # Wooldridge Example 15.7
    assert round(main.stats["hansen_j_p"], 3) == 0.539
    assert main.extra["overid_test"] == "Sargan"
    # C statistic under homoskedasticity = Durbin's χ²; Wu–Hausman F is its F form
    assert round(main.stats["endog_chi2"], 4) == LM_DURBIN
    n, k, k1 = 428, 4, 1
    chi2 = main.stats["endog_chi2"]
    wu = (chi2 / k1) * (n - k - k1) / (n - chi2)  # Wu (1974) from Durbin (1954), k1 = 1
    assert wu == pytest.approx(AER_WU_HAUSMAN_F, rel=1e-8)
    assert main.stats["ar_f"] == pytest.approx(R_AR_F, abs=5e-6)
    assert main.stats["ar_p"] == pytest.approx(R_AR_P, abs=5e-6)
    # Anderson LM (N · smallest squared canonical correlation) = N · partial R² for k1 = 1
    assert main.stats["kp_lm"] == pytest.approx(428 * first.stats["partial_r2"], rel=1e-10)


def test_robust_diagnostics(mroz: pl.DataFrame) -> None:
    out = _fit(mroz, se="robust")
    main, first = out[""], out["first.educ"]
    assert first.stats["first_f"] == pytest.approx(R_FIRST_F_HC1, rel=1e-9)
    # ivreg2: with one endogenous regressor the KP rk Wald F is the robust first-stage F
    assert main.stats["kp_f"] == pytest.approx(R_FIRST_F_HC1, rel=1e-9)
    assert round(main.stats["hansen_j"], 4) == LM_GMM_J
    assert round(main.stats["endog_chi2"], 4) == LM_GMM_C
    assert main.extra["overid_test"] == "Hansen J (two-step GMM)"


def test_kp_lm_is_the_robust_score_test_for_one_endogenous(mroz: pl.DataFrame) -> None:
    """For k1 = 1 the rk LM statistic is x̃′Z̃ (Σ z̃ᵢz̃ᵢ′x̃ᵢ²)⁻¹ Z̃′x̃ (an independent formula)."""
    y = mroz["lwage"].to_numpy()
    w = np.column_stack([mroz.select("exper", "expersq").to_numpy(), np.ones(y.size)])
    x = mroz["educ"].to_numpy().astype(float)
    z = mroz.select("motheduc", "fatheduc").to_numpy().astype(float)

    def partial(a: np.ndarray) -> np.ndarray:
        return a - w @ np.linalg.lstsq(w, a, rcond=None)[0]

    xt, zt = partial(x), partial(z)
    score = zt.T @ xt
    meat = (zt * xt[:, None]).T @ (zt * xt[:, None])
    expected = float(score @ np.linalg.solve(meat, score))
    got = kleibergen_paap(xt[:, None], zt, Inference("robust"), wald=False)
    assert got == pytest.approx(expected, rel=1e-10)
    assert _fit(mroz, se="robust")[""].stats["kp_lm"] == pytest.approx(expected, rel=1e-10)
    del y


def test_anderson_rubin_set_inverts_the_test(mroz: pl.DataFrame) -> None:
    main = _fit(mroz)[""]
    low, high = main.stats["ar_ci_low"], main.stats["ar_ci_high"]
    assert main.extra["ar_ci"]["shape"] == "interval"
    assert low < main.coefficients["educ"].estimate < high
    shifted = mroz.with_columns(lwage=pl.col("lwage") - low * pl.col("educ"))
    at_low = _fit(shifted)[""]
    # at the boundary the AR test of β = low rejects at exactly 5 %
    assert at_low.stats["ar_p"] == pytest.approx(0.05, abs=1e-9)


def _lm_data(frame: pl.DataFrame):
    pdf = frame.to_pandas()
    pdf["const"] = 1.0
    return (
        pdf.lwage,
        pdf[["exper", "expersq", "const"]],
        pdf[["educ"]],
        pdf[["motheduc", "fatheduc"]],
    )


@pytest.mark.parametrize("se", ["unadjusted", "robust"])
@pytest.mark.parametrize(("method", "model"), [("2sls", IV2SLS), ("liml", IVLIML)])
def test_matches_linearmodels(mroz: pl.DataFrame, se: str, method: str, model) -> None:
    """linearmodels is exact for these (no absorbed effects): same coefficients and SEs."""
    fitted = model(*_lm_data(mroz)).fit(cov_type=se)
    names = ["educ", "exper", "expersq", "const"]
    ours = _fit(mroz, method=method, se=se)[""]
    np.testing.assert_allclose(_beta(ours), fitted.params[names].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(_se(ours), fitted.std_errors[names].to_numpy(), rtol=1e-8)


def test_gmm_coefficients_match_linearmodels(mroz: pl.DataFrame) -> None:
    """Two-step GMM: the same estimator as linearmodels' IVGMM. Its SEs differ by convention:
    linearmodels re-estimates S at the second-step residuals (a sandwich), ivreg2 gmm2s uses the
    first-step S in (R′Z S⁻¹ Z′R)⁻¹ — specrun follows ivreg2."""
    fitted = IVGMM(*_lm_data(mroz)).fit(cov_type="robust")
    ours = _fit(mroz, method="gmm", se="robust")[""]
    names = ["educ", "exper", "expersq", "const"]
    np.testing.assert_allclose(_beta(ours), fitted.params[names].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(_se(ours), fitted.std_errors[names].to_numpy(), rtol=1e-2)
    assert ours.extra["method"] == "gmm"


def test_homoskedastic_gmm_is_2sls(mroz: pl.DataFrame) -> None:
    gmm, tsls = _fit(mroz, method="gmm")[""], _fit(mroz)[""]
    np.testing.assert_allclose(_beta(gmm), _beta(tsls), rtol=1e-10)
    np.testing.assert_allclose(_se(gmm), _se(tsls), rtol=1e-10)


def test_absorbed_effects_match_pyfixest(mroz: pl.DataFrame) -> None:
    # pyfixest drops the one singleton age (fixest's default); specrun keeps singletons (as
    # xtivreg2), so the peer's sample is used: 427 women in 30 age groups
    frame = mroz.with_columns(pl.col("age").alias("row"))
    frame = frame.filter(pl.len().over("row") > 1)
    assert frame.height == 427
    for se, expected in (({"cluster": "entity"}, PF_SE_CRV1), ("unadjusted", PF_SE_IID)):
        out = fit_iv_model(frame, _spec(effects=["entity"], se=se, small=True), CTX)[""]
        assert "_cons" not in out.coefficients
        for name in ("educ", "exper"):
            assert out.coefficients[name].estimate == pytest.approx(PF_BETA[name], rel=1e-9)
            assert out.coefficients[name].std_error == pytest.approx(expected[name], rel=1e-8)


def test_first_stage_is_a_child_result(mroz: pl.DataFrame) -> None:
    out = _fit(mroz)
    first = out["first.educ"]
    assert first.dependent == "educ"
    assert list(first.coefficients) == ["motheduc", "fatheduc", "exper", "expersq", "_cons"]
    # Wooldridge's first stage (Example 15.5 discussion): motheduc .158, fatheduc .190
    assert round(first.coefficients["motheduc"].estimate, 3) == 0.158
    assert round(first.coefficients["fatheduc"].estimate, 3) == 0.190


def test_two_endogenous_regressors_sw_f_and_cd() -> None:
    """With k1 = 2 the Cragg–Donald F is the smallest eigenvalue form and never exceeds either
    first-stage F; the SW F of each regressor is at most its own first-stage F."""
    rng = np.random.default_rng(3)
    n = 400
    z = rng.normal(size=(n, 3))
    v = rng.normal(size=(n, 2))
    x1 = z @ np.array([[1.0, 0.2], [0.5, 0.9], [0.1, 0.3]]) + v
    u = 0.5 * v[:, 0] + rng.normal(size=n)
    y = x1 @ np.array([1.0, -1.0]) + u
    w = np.ones((n, 1))
    fit = fit_iv(y, x1, w, z)
    assert fit.cd_f <= min(fs.f.stat for fs in fit.first) + 1e-9
    for fs in fit.first:
        assert fs.sw_f.df == 2  # l − k1 + 1
        assert fs.sw_f.stat <= fs.f.stat * 3 / 2 + 1e-9
    assert fit.underid.df == 2


def test_errors_name_the_problem(mroz: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="not identified"):
        _spec(instruments=["motheduc"], endog=["educ", "exper"], x=["expersq"])
    # a variable in both x and instruments is a located validation error, where it is
    # written the second time (tests/test_hardening_roles.py)
    constant = mroz.with_columns(pl.lit(3.0).alias("motheduc"))
    with pytest.raises(SpecError, match="'motheduc' is constant"):
        _fit(constant)


def test_rank_statistics_reduce_to_canonical_correlations_under_homoskedasticity() -> None:
    """ranktest's check (Kleibergen and Schaffer's cert script): with an i.i.d. covariance the
    rk LM statistic is N·λ_min (Anderson) and the rk Wald statistic N·λ_min/(1 − λ_min)
    (Cragg–Donald), λ the squared canonical correlations — here with two endogenous regressors,
    which exercises the general rank-(k1 − 1) algebra."""
    rng = np.random.default_rng(11)
    n = 400
    z = rng.normal(size=(n, 3))
    x1 = 0.3 * z @ np.array([[1.0, 0.2], [0.5, 0.9], [0.1, 0.3]]) + rng.normal(size=(n, 2))
    z -= z.mean(axis=0)
    x1 -= x1.mean(axis=0)
    a = np.linalg.solve(x1.T @ x1, x1.T @ z @ np.linalg.solve(z.T @ z, z.T @ x1))
    lam = float(np.min(np.linalg.eigvals(a).real))
    iid = Inference("unadjusted")
    assert kleibergen_paap(x1, z, iid, wald=False) == pytest.approx(n * lam, rel=1e-10)
    assert kleibergen_paap(x1, z, iid, wald=True) == pytest.approx(n * lam / (1 - lam), rel=1e-10)


def test_stock_yogo_critical_value_where_the_table_applies(mroz: pl.DataFrame) -> None:
    """Stock and Yogo (2005) Table 5.2, 10 % maximal size, one endogenous regressor, two
    instruments: 19.93 (ivreg2 prints the same number under the Cragg–Donald F)."""
    assert _fit(mroz)[""].stats["sy_size10"] == 19.93
    assert "sy_size10" not in _fit(mroz, method="liml")[""].stats


def test_clustered_rank_statistics_for_one_endogenous(mroz: pl.DataFrame) -> None:
    """ivreg2 with cluster(): for k1 = 1 the KP rk Wald F is the clustered first-stage F
    (R vcovCL HC1 on the first stage gives the same Wald), and the rk LM is the clustered score
    test x̃′Z̃ (Σ_g Z̃_g′x̃_g x̃_g′Z̃_g)⁻¹ Z̃′x̃."""
    frame = mroz.with_columns(pl.col("age").alias("row"))
    out = fit_iv_model(frame, _spec(se={"cluster": "entity"}), CTX)
    main, first = out[""], out["first.educ"]
    assert first.stats["first_f"] == pytest.approx(R_FIRST_F_CLUSTER_AGE_HC1, rel=1e-9)
    assert main.stats["kp_f"] == pytest.approx(first.stats["first_f"], rel=1e-10)
    w = np.column_stack([frame.select("exper", "expersq").to_numpy(), np.ones(frame.height)])

    def partial(a: np.ndarray) -> np.ndarray:
        return a - w @ np.linalg.lstsq(w, a, rcond=None)[0]

    xt = partial(frame["educ"].to_numpy().astype(float))
    zt = partial(frame.select("motheduc", "fatheduc").to_numpy().astype(float))
    _, codes = np.unique(frame["age"].to_numpy(), return_inverse=True)
    sums = np.zeros((codes.max() + 1, 2))
    np.add.at(sums, codes, zt * xt[:, None])
    score = zt.T @ xt
    expected = float(score @ np.linalg.solve(sums.T @ sums, score))
    assert main.stats["kp_lm"] == pytest.approx(expected, rel=1e-10)


def test_ar_grid_inversion_agrees_with_the_closed_form(mroz: pl.DataFrame) -> None:
    """Two implementations of the AR set: the homoskedastic quadratic and the grid inversion
    used for robust/clustered tests, on the same (homoskedastic) test."""
    from specrun.kernels.iv import ar_set_by_grid

    y = mroz["lwage"].to_numpy()
    w = np.column_stack([mroz.select("exper", "expersq").to_numpy(), np.ones(y.size)])

    def partial(a: np.ndarray) -> np.ndarray:
        return a - w @ np.linalg.lstsq(w, a, rcond=None)[0]

    yt, xt = partial(y), partial(mroz["educ"].to_numpy().astype(float))
    zt = partial(mroz.select("motheduc", "fatheduc").to_numpy().astype(float))
    main = _fit(mroz)[""]
    educ = main.coefficients["educ"]
    low, high, shape = ar_set_by_grid(
        yt, xt, zt, 3, Inference("unadjusted"), None, 0.95, educ.estimate, educ.std_error
    )
    assert shape == "interval"
    assert low == pytest.approx(main.stats["ar_ci_low"], abs=1e-9)
    assert high == pytest.approx(main.stats["ar_ci_high"], abs=1e-9)


def test_robust_ar_set_inverts_the_robust_test(mroz: pl.DataFrame) -> None:
    main = _fit(mroz, se="robust")[""]
    low, high = main.stats["ar_ci_low"], main.stats["ar_ci_high"]
    assert main.extra["ar_ci"]["shape"] == "interval"
    for edge in (low, high):
        shifted = mroz.with_columns(lwage=pl.col("lwage") - edge * pl.col("educ"))
        assert _fit(shifted, se="robust")[""].stats["ar_p"] == pytest.approx(0.05, abs=1e-9)


def test_vectorised_ar_curve_equals_the_exact_test(mroz: pl.DataFrame) -> None:
    from specrun.kernels.iv import _anderson_rubin, _ar_p_curve

    y = mroz["lwage"].to_numpy()
    w = np.column_stack([mroz.select("exper", "expersq").to_numpy(), np.ones(y.size)])

    def partial(a: np.ndarray) -> np.ndarray:
        return a - w @ np.linalg.lstsq(w, a, rcond=None)[0]

    yt, xt = partial(y), partial(mroz["educ"].to_numpy().astype(float))
    zt = partial(mroz.select("motheduc", "fatheduc").to_numpy().astype(float))
    _, codes = np.unique(mroz["age"].to_numpy(), return_inverse=True)
    for inf in (Inference("robust"), Inference("cluster", codes), Inference("unadjusted")):
        nc = 31 if inf.kind == "cluster" else None
        betas = np.array([-0.2, 0.0, 0.06, 0.3])
        ref = _anderson_rubin(yt, zt, 3, inf, nc, y.size)
        curve = _ar_p_curve(yt, xt, zt, inf, betas, ref, 0.0)
        exact = [_anderson_rubin(yt - b * xt, zt, 3, inf, nc, y.size).p_value for b in betas]
        np.testing.assert_allclose(curve, exact, rtol=1e-9)


def test_clusters_by_a_named_column(mroz: pl.DataFrame) -> None:
    # ivregress ... vce(cluster age): the same numbers as clustering by an index made of age
    for small, expected in ((False, AER_CL_AGE_HC0), (True, AER_CL_AGE_HC1)):
        out = fit_iv_model(mroz, _spec(se={"cluster": "age"}, small=small), CTX)[""]
        np.testing.assert_allclose(_se(out), expected, rtol=1e-9)
        assert out.stats["n_clusters"] == 31
    with pytest.raises(ValueError, match="iv clusters by one column"):
        _spec(se={"cluster": ["age", "entity"]})


# pyfixest 0.60 on R plm's Produc (data/Produc.csv), logs of gsp, emp and pcap:
# feols("lgsp ~ unemp | state + year | lemp ~ lpcap", vcov={"CRV1": "region"},
#       ssc=ssc(k_adj=False, G_adj=False)) — ivregress's default (no factor) — and
#       ssc=ssc(k_adj=True, k_fixef="nonnested", G_adj=True) — Stata's small, states nested
#       in regions leave K (ivreghdfe)
PRODUC_PF_BETA = {"unemp": -0.00394245833379637, "lemp": 0.8509875746412514}
PRODUC_PF_SE = {"unemp": 0.0036465100288117676, "lemp": 0.094556029797993}
PRODUC_PF_SE_SMALL = {"unemp": 0.003911139597718113, "lemp": 0.10141802145720479}


def test_effects_clustered_by_a_column_the_entities_nest_in() -> None:
    frame = pl.read_csv(DATA.parent / "Produc.csv").with_columns(
        lgsp=pl.col("gsp").log(), lemp=pl.col("emp").log(), lpcap=pl.col("pcap").log()
    )
    ctx = FitContext("iv", "state", "year")
    base = {"estimator": "iv", "y": "lgsp", "x": ["unemp"], "endog": ["lemp"]}
    for small, expected in ((False, PRODUC_PF_SE), (True, PRODUC_PF_SE_SMALL)):
        spec = IVSpec.model_validate(
            {
                **base,
                "instruments": ["lpcap"],
                "effects": ["entity", "time"],
                "se": {"cluster": "region"},
                "small": small,
            }
        )
        out = fit_iv_model(frame, spec, ctx)[""]
        for name in ("unemp", "lemp"):
            beta = out.coefficients[name].estimate
            assert beta == pytest.approx(PRODUC_PF_BETA[name], rel=1e-9)
            assert out.coefficients[name].std_error == pytest.approx(expected[name], rel=1e-8)
        assert out.stats["n_clusters"] == 9
        # just identified: the robust AR set is found although the AR statistic is 0 at β̂
        assert out.extra["ar_ci"]["low"] < beta < out.extra["ar_ci"]["high"]


def test_just_identified_robust_ar_set_inverts_the_test(mroz: pl.DataFrame) -> None:
    # the AR statistic is exactly zero at the 2SLS estimate of a just-identified model; the
    # grid's scale must not be read there (it was 0/0 and the set search failed)
    main = _fit(mroz, se="robust", instruments=["motheduc"])[""]
    assert main.extra["ar_ci"]["shape"] == "interval"
    for edge in (main.extra["ar_ci"]["low"], main.extra["ar_ci"]["high"]):
        shifted = mroz.with_columns(lwage=pl.col("lwage") - edge * pl.col("educ"))
        p = _fit(shifted, se="robust", instruments=["motheduc"])[""].stats["ar_p"]
        assert p == pytest.approx(0.05, abs=1e-9)
