"""The threshold model's three standard errors and their t tests against a peer, at the
estimated threshold.

Given γ̂, the reported model is a fixed-effects regression on the regime interactions (xthreg
fits it with ``xtreg, fe``), so any fixed-effects package checks its slopes, standard errors
and p-values; the threshold itself is checked against Wang (2015) and Hansen's GAUSS output in
``tests/test_estimators_threshold.py`` and ``tests/test_kernel_threshold.py``.

Data: Wang (2015)'s Stata file of Hansen's (1999) investment data (``hansen1999/
hansen1999.dta`` in the shared reference folder, not redistributed: read in place, the test
skips without it); the model of Wang's section 5, ``xthreg i q1 q2 q3 d1 qd1, rx(c1) qx(d1)
thnum(1) grid(400) trim(0.01)``, whose γ̂ is d1 = 0.01542 (a float32 value of d1; 964 of the
7,910 rows have d1 ≤ γ̂).

Peer: pyfixest 0.60.0, run once, numbers stored below:

    d = pd.read_stata("hansen1999.dta"), its float32 columns as float64
    d["c1_r1"] = d.c1 * (d.d1 <= 0.015420000068843365); d["c1_r2"] = d.c1 * (d.d1 > …)
    pf.feols("i ~ c1_r1 + c1_r2 + q1 + q2 + q3 + d1 + qd1 | id", d, vcov=V, ssc=S)

and, for ``time_effects: true`` (xthreg's ``i.year`` among the regressors), the same call with
``| id + yr`` (yr = the year), where γ̂ is again 0.01542; with V, S = "iid" (σ² =
S/(N·T − N − K), xtreg, fe's), "hetero" with ``pf.ssc(k_adj=False, G_adj=False)`` (White's
HC0, Hansen 1999 Table 5's), and {"CRV1": "id"} (fixest's default small-sample factor
G/(G−1)·(n−1)/(n−K−1) with the nested entity effects left out of K, as xtreg, fe
vce(cluster id)). ``.coef()``, ``.se()`` and ``.pvalue()`` are printed to 17 digits;
p-values use t(N·T − N − K) = t(7,338), with year effects t(7,325) (iid), and t(G − 1) = t(564)
(CRV1).
"""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.threshold import PanelThresholdSpec, fit_panel_threshold

NAMES = ["c1_r1", "c1_r2", "q1", "q2", "q3", "d1", "qd1"]
GAMMA = 0.015420000068843365
# pyfixest with entity effects only
PF_COEF = [0.05524402797441261, 0.08625095086084551, 0.010554712685502983,
           -0.020285175943955354, 0.0010783982320686216, -0.02294915711541666,
           0.0007395500851622949]  # fmt: skip
PF_SE = {
    "conventional": [0.0053343733336083405, 0.005202228629253107, 0.0008917054560386001,
                     0.0025602690931264957, 0.0001952076802359345, 0.004238088057946752,
                     0.0014277939305893097],
    "white": [0.013321063681167221, 0.011383917529932527, 0.001866850657429146,
              0.006523695016255453, 0.00045834959569517205, 0.006518817955249278,
              0.0018050823735610004],
    "cluster": [0.008945619530923134, 0.011891059782687636, 0.0019331029040939483,
                0.005514888957461574, 0.0003516110912741653, 0.005649087605058151,
                0.0023931404854440823],
}  # fmt: skip
# p-values of the slopes pyfixest prints as nonzero (iid rounds the first three to 0.0)
PF_P = {
    "conventional": {"q2": 2.6645352591003757e-15, "q3": 3.420129135456307e-08,
                     "d1": 6.323736845281758e-08, "qd1": 0.6044969356294185},
    "cluster": {"c1_r1": 1.2622953793339775e-09, "c1_r2": 1.3489209749195652e-12,
                "q1": 7.146363834031888e-08, "q2": 0.00025732007687584435,
                "q3": 0.0022657027663672835, "d1": 5.5442239934588855e-05,
                "qd1": 0.7574135023116764},
}  # fmt: skip

# pyfixest with entity and year effects: "| id + yr"
PF_YEAR_COEF = [0.055333357982539876, 0.08295639440592556, 0.009916475910727699,
                -0.018919226753444762, 0.0009994653029947937, -0.02319634670613135,
                0.0006069754414946521]  # fmt: skip
PF_YEAR_SE = {
    "conventional": [0.005381609443753357, 0.005230798181210685, 0.0009270443158412987,
                     0.00260978967764417, 0.00019689243240681128, 0.004294849967587219,
                     0.001419921290690287],
    "white": [0.013749056654231559, 0.011773936680224745, 0.0020068720735574933,
              0.006814078079131933, 0.00047363809789313497, 0.006601797625319977,
              0.0017552950871753137],
    "cluster": [0.008972182399382826, 0.012058668257069612, 0.002031791858956463,
                0.005598119143296147, 0.00035102578791112787, 0.0056683524192338705,
                0.0022148463192723515],
}  # fmt: skip
PF_YEAR_P = {
    "conventional": {"q2": 4.616307336391401e-13, "q3": 3.945452673459471e-07,
                     "d1": 6.836410681998473e-08, "qd1": 0.6690487315372247},
    "cluster": {"c1_r1": 1.3261374220974176e-09, "c1_r2": 1.6022072557575484e-11,
                "q1": 1.3781800891621288e-06, "q2": 0.0007761694680339382,
                "q3": 0.004570222976321592, "d1": 4.89548642368387e-05,
                "qd1": 0.7841476436958807},
}  # fmt: skip
PEER = {  # time_effects → coefficients, SEs, p-values, xtreg's e(df_r)
    False: (PF_COEF, PF_SE, PF_P, 7338),
    True: (PF_YEAR_COEF, PF_YEAR_SE, PF_YEAR_P, 7325),  # 13 year dummies more in K
}


@pytest.fixture
def hansen(reference) -> pl.DataFrame:
    return pl.from_pandas(pd.read_stata(reference("hansen1999", "hansen1999.dta")))


@pytest.mark.parametrize("time_effects", [False, True])
@pytest.mark.parametrize("se", ["conventional", "white", "cluster"])
def test_slopes_ses_and_p_values_match_pyfixest_at_the_threshold(hansen, se, time_effects):
    coef, ses, p_values, df_resid = PEER[time_effects]
    spec = PanelThresholdSpec(
        estimator="panel_threshold",
        y="i",
        regime_x=["c1"],
        q="d1",
        controls=["q1", "q2", "q3", "d1", "qd1"],
        convention="xthreg",
        grid=400,
        bootstrap=0,
        se=se,
        time_effects=time_effects,
    )
    result = fit_panel_threshold(hansen, spec, FitContext("single", "id", "year"))[""]
    assert result.extra["thresholds"][0]["estimate"] == GAMMA
    for name, b, s in zip(NAMES, coef, ses[se], strict=True):
        assert result.coefficients[name].estimate == pytest.approx(b, rel=1e-9), name
        assert result.coefficients[name].std_error == pytest.approx(s, rel=1e-9), name
    for name, p in p_values.get(se, {}).items():
        # the last digits of a p-value this small are the t tail's round-off
        assert result.coefficients[name].p_value == pytest.approx(p, rel=1e-6), name
    if se == "cluster":
        assert result.stats["n_clusters"] == 565
    else:
        # xtreg, fe's e(df_r): 7,910 rows − 565 entities − K (not T(N − 1) − N − K, the
        # divisor of xthreg's F statistic)
        assert result.stats["df_resid"] == df_resid
