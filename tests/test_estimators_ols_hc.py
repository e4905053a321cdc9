"""Pooled OLS with each heteroskedasticity-consistent covariance, unweighted and with analytic
weights, against R sandwich on real data.

Data: ``data/grunfeld.csv`` (R plm's Grunfeld, 200 rows). Peer: R 4.2.2 with sandwich 3.0.2,
run once, standard errors printed with ``format(…, digits = 17)`` in the order (Intercept),
value, capital:

    g <- read.csv("data/grunfeld.csv")
    m <- lm(inv ~ value + capital, g)
    sqrt(diag(vcovHC(m, type = "const" | "HC0" | "HC1" | "HC2" | "HC3")))
    w <- lm(inv ~ value + capital, g, weights = capital)
    sqrt(diag(vcovHC(w, type = "HC0" | "HC1" | "HC2" | "HC3"))); coef(w)

``const`` is Stata's ``regress`` default, HC1 its ``vce(robust)``, HC2/HC3 its ``vce(hc2)`` /
``vce(hc3)``; with ``[aweight = capital]`` Stata rescales the weights to sum to N, which changes
none of these (the scale cancels), so R's WLS numbers are Stata's too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.linear import OlsSpec, fit_linear

DATA = Path(__file__).resolve().parents[1] / "data" / "grunfeld.csv"
CTX = FitContext("ols", "firm", "year")
NAMES = ["_cons", "value", "capital"]
R_SE = {
    "unadjusted": [9.5116760314238959, 0.0058357095572206296, 0.025475801476508953],
    "HC0": [11.487562855581498, 0.0067596792900536723, 0.048497663239300846],
    "HC1": [11.574701117099652, 0.0068109544568719536, 0.048865539534342223],
    "HC2": [12.667874294420187, 0.0069550258013053997, 0.053165053831057199],
    "HC3": [14.013495466585320, 0.0071626662443800559, 0.058509866205313933],
}
R_WEIGHTED_SE = {
    "HC0": [24.831569430219744, 0.0074267570949920134, 0.062350948584390047],
    "HC1": [25.019927902605854, 0.0074830923429561984, 0.062823908195749734],
    "HC2": [32.272253383428307, 0.0081670222168129681, 0.083034145393506814],
    "HC3": [42.814391831710928, 0.0092815728907110363, 0.11187688263255802],
}
R_WEIGHTED_COEF = [-112.04350054343070, 0.12775499964537063, 0.30970146341104215]


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    return pl.read_csv(DATA)


@pytest.mark.parametrize("se", list(R_SE))
def test_ols_covariance_types_match_r_sandwich(grunfeld: pl.DataFrame, se: str) -> None:
    spec = OlsSpec(estimator="ols", y="inv", x=["value", "capital"], se=se)
    result = fit_linear(grunfeld, spec, CTX)[""]
    got = [result.coefficients[n].std_error for n in NAMES]
    assert got == pytest.approx(R_SE[se], rel=1e-10)


@pytest.mark.parametrize("se", list(R_WEIGHTED_SE))
def test_weighted_ols_covariance_types_match_r_sandwich(grunfeld: pl.DataFrame, se: str) -> None:
    spec = OlsSpec(estimator="ols", y="inv", x=["value", "capital"], se=se, weights="capital")
    result = fit_linear(grunfeld, spec, CTX)[""]
    assert [result.coefficients[n].estimate for n in NAMES] == pytest.approx(
        R_WEIGHTED_COEF, rel=1e-10
    )
    got = [result.coefficients[n].std_error for n in NAMES]
    assert got == pytest.approx(R_WEIGHTED_SE[se], rel=1e-10)
