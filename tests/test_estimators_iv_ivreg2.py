"""``iv`` with ``method: gmm`` against Stata's ivreg2 ``gmm2s`` on Arellano and Bond's abdata.

The model is "ivreg2 n (w k ys = d.w d.k d.ys d2.w d2.k d2.ys), gmm2s cluster(id) small": the
abdata example of ivreg2's help file (H88 in ivreg2r's numbering) with ``small``. Stata's
numbers (run under ``version 14``) are the fixtures ``ab_gmm2s_coef_cl_small.csv`` and
``ab_gmm2s_diagnostics_cl_small.csv`` of the R package ivreg2r's test suite (restatr/ivreg2r,
``tests/stata-benchmarks``, written by its ``generate-gmm-fixtures.do`` from ``e(b)``,
``e(V)`` and ivreg2's saved results, all digits).
The data are the reference copy of abdata (``abdata/abdata_from_pydynpd_repo.csv``), read
where it is and skipped when absent: a CSV copy, not Stata's .dta, and the instruments are weak
(Cragg–Donald F 1.6), which magnifies any difference. Each estimate agrees with Stata's to
within 1e-7 of its standard error, each error to 1e-8 and each statistic to 1e-7 relative.

Second, Card (1995) on Wooldridge's CARD data: "ivreg2 lwage exper expersq black south (educ =
nearc2 nearc4), gmm2s cluster(age)" (11 clusters, no ``small``), Stata's ``e(b)`` and
``sqrt(diag(e(V)))`` as stored in ivreg2r's fixture ``card_overid_gmm2s_coef_cluster.csv``
(written by the version of ``generate-gmm-fixtures.do`` that ran that command on ``bcuse
card``). The data are linearmodels' copy (``linearmodels.datasets.card``), whose ``lwage`` is
rounded to six decimals: rounded to single precision it is Stata's float again (6.306275 →
6.306274890899658, the .dta's value), and every number then agrees to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from specrun.api import run_file

SPEC = """\
spec_version: 1
data:
  sources:
    ab: {path: abdata.csv}
  panel: {source: ab, entity: id, time: year}
models:
  small: {estimator: iv, y: n, endog: [w, k, ys],
          instruments: [D.w, D.k, D.ys, D2.w, D2.k, D2.ys],
          method: gmm, small: true, se: {cluster: entity}}
  large: {extends: small, small: false}
outputs: {dir: out, formats: [markdown]}
"""

# ivreg2 ..., gmm2s cluster(id) small: e(b) and sqrt(diag(e(V)))
STATA_COEFFICIENTS = {
    "w": (-0.3349210924009995, 0.2920945384904465),
    "k": (0.715626423945864, 0.0868400560873831),
    "ys": (-0.0538031997136472, 0.4903134365828913),
    "_cons": (2.693769824559499, 3.058623677889791),
}
# the same run's e(j), e(jp), e(jdf), e(widstat), e(cdf), e(idstat), e(idp), e(rss), e(r2), e(N)
STATA_STATS = {
    "hansen_j": 7.540198390518064,
    "hansen_j_p": 0.0565345297701871,
    "hansen_j_df": 3,
    "kp_f": 10.72610384764291,
    "cd_f": 1.635189969309412,
    "kp_lm": 29.78650262720528,
    "kp_lm_p": 5.40948458649e-06,
    "ssr": 235.6866627740281,
    "r2": 0.8255325325994989,
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from conftest import reference_file

    source = reference_file("abdata", "abdata_from_pydynpd_repo.csv")
    folder = tmp_path_factory.mktemp("ivreg2")
    frame = pl.read_csv(source, null_values="NA")
    # the first column is R's unnamed row number
    frame.drop(frame.columns[0]).write_csv(folder / "abdata.csv")
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return run_file(folder / "spec.yaml").output.results.models


def test_gmm2s_clustered_small_equals_statas_ivreg2(models) -> None:
    result = models["small"]
    assert result.nobs == 751
    assert result.stats["n_clusters"] == 140
    for name, (estimate, std_error) in STATA_COEFFICIENTS.items():
        assert abs(result.coefficients[name].estimate - estimate) < 1e-7 * std_error
        assert result.coefficients[name].std_error == pytest.approx(std_error, rel=1e-8)
    for name, value in STATA_STATS.items():
        assert result.stats[name] == pytest.approx(value, rel=1e-7), name


def test_small_scales_the_clustered_covariance_as_ivreg2_defines_it(models) -> None:
    # ivreg2's help: small multiplies the cluster-robust covariance by
    # (N − 1)/(N − K) · G/(G − 1); the coefficients are the same two-step estimates
    n, k, g = 751, 4, 140
    factor = math.sqrt((n - 1) / (n - k) * g / (g - 1))
    for name in STATA_COEFFICIENTS:
        small, large = models["small"].coefficients[name], models["large"].coefficients[name]
        assert small.estimate == large.estimate
        assert small.std_error == pytest.approx(large.std_error * factor, rel=1e-12)


CARD_SPEC = """\
spec_version: 1
data:
  sources:
    card: {path: card.csv}
models:
  gmm: {estimator: iv, y: lwage, x: [exper, expersq, black, south], endog: [educ],
        instruments: [nearc2, nearc4], method: gmm, se: {cluster: age}}
outputs: {dir: out, formats: [markdown]}
"""

# ivreg2 lwage exper expersq black south (educ = nearc2 nearc4), gmm2s cluster(age)
STATA_CARD = {
    "educ": (0.2342529080526559, 0.0207322396908906),
    "exper": (0.1370381300554556, 0.0417366608447112),
    "expersq": (-0.0018803276665117, 0.0020610473410912),
    "black": (-0.0336784062709176, 0.027517429020272),
    "south": (-0.0695928115039467, 0.0231323384466234),
    "_cons": (2.119015980470346, 0.3567092206535785),
}


def test_gmm2s_clustered_equals_statas_ivreg2_on_card(tmp_path) -> None:
    from linearmodels.datasets import card

    columns = ["lwage", "educ", "exper", "expersq", "black", "south", "nearc2", "nearc4", "age"]
    frame = card.load()[columns].copy()
    # linearmodels rounds Stata's float lwage to 6 decimals; single precision restores it
    frame["lwage"] = frame["lwage"].astype(np.float32).astype(np.float64)
    pl.from_pandas(frame).write_csv(tmp_path / "card.csv")
    (tmp_path / "spec.yaml").write_text(CARD_SPEC, encoding="utf-8")
    result = run_file(tmp_path / "spec.yaml").output.results.models["gmm"]
    assert result.nobs == 3010
    assert result.stats["n_clusters"] == 11
    for name, (estimate, std_error) in STATA_CARD.items():
        assert result.coefficients[name].estimate == pytest.approx(estimate, rel=1e-9)
        assert result.coefficients[name].std_error == pytest.approx(std_error, rel=1e-9)
