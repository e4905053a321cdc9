"""The wild cluster bootstrap kernel against the ``wildboottest`` package (0.3.2, which
reproduces Stata's boottest), on the Grunfeld data shipped in data/.

Each reference number was produced once with statsmodels' OLS and
``wildboottest(model, param=…, cluster=…, B=…, weights_type=…, seed=…)`` (WCR11, the default:
null imposed, CRV1 small-sample factor G/(G−1)·(N−1)/(N−K)):

* pooled ``inv ~ const + value + capital``, clusters = firm (G = 10), param ``value``:
  Rademacher, B = 9999 → full enumeration of 2^10 draws: t 7.270649831813546, p 0.00390625;
  Webb, B = 999, seed 42: p 0.01901901901901902;
* the dummy-variable (LSDV) fixed-effects model ``inv ~ value + capital + firm dummies``
  (K = 12), clusters = firm, param ``capital``: Rademacher (enumerated): t 5.741984091047325,
  p 0.025390625; Webb, B = 9999, seed 3: p 0.056105610561056105. The kernel gets the same on
  the entity-demeaned data with K = 12 in its small-sample factor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.kernels.wild import _Problem, wild_cluster_bootstrap, wild_weights

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    return pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")


def pooled(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.column_stack([np.ones(frame.height), frame.select("value", "capital").to_numpy()])
    return x, frame["inv"].to_numpy().astype(float), frame["firm"].to_numpy()


def within(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    demeaned = frame.select(
        "firm", *[pl.col(c) - pl.col(c).mean().over("firm") for c in ("inv", "value", "capital")]
    )
    x = demeaned.select("value", "capital").to_numpy()
    return x, demeaned["inv"].to_numpy(), demeaned["firm"].to_numpy()


def test_full_rademacher_enumeration_matches_wildboottest(grunfeld):
    x, y, firms = pooled(grunfeld)
    result = wild_cluster_bootstrap(x, y, firms, 1, weights="rademacher", draws=9999, level=None)
    assert result.enumerated and result.draws == 1024 and result.seed is None
    assert result.t_stat == pytest.approx(7.270649831813546, rel=1e-10)
    assert result.p_value == 4 / 1024  # exact: 0.00390625


def test_seeded_webb_draws_match_wildboottest(grunfeld):
    x, y, firms = pooled(grunfeld)
    result = wild_cluster_bootstrap(x, y, firms, 1, weights="webb", draws=999, seed=42, level=None)
    assert not result.enumerated
    assert result.p_value == pytest.approx(0.01901901901901902, abs=1e-15)  # 19 of 999
    again = wild_cluster_bootstrap(x, y, firms, 1, weights="webb", draws=999, seed=42, level=None)
    assert again == result


@pytest.mark.parametrize(
    ("weights", "seed", "p"),
    [("rademacher", None, 0.025390625), ("webb", 3, 0.056105610561056105)],
)
def test_fixed_effects_partialled_out_equal_the_dummy_variable_bootstrap(
    grunfeld, weights, seed, p
):
    x, y, firms = within(grunfeld)
    n, g = x.shape[0], 10
    factor = g / (g - 1) * (n - 1) / (n - 12)  # K: 2 slopes + 10 firm effects
    result = wild_cluster_bootstrap(
        x, y, firms, 1, weights=weights, draws=9999, seed=seed, small_sample=factor, level=None
    )
    assert result.t_stat == pytest.approx(5.741984091047325, rel=1e-9)
    assert result.p_value == pytest.approx(p, abs=1e-12)


def test_confidence_interval_bounds_are_where_the_test_starts_rejecting(grunfeld):
    x, y, firms = pooled(grunfeld)
    result = wild_cluster_bootstrap(x, y, firms, 2, weights="webb", draws=1999, seed=5)
    assert result.ci is not None
    low, high = result.ci
    assert low < result.estimate < high
    n, g = x.shape[0], 10
    factor = g / (g - 1) * (n - 1) / (n - 3)
    problem = _Problem(x, y, np.unique(firms, return_inverse=True)[1], g, 2)
    v, _ = wild_weights(g, 1999, "webb", 5)
    se = abs(result.estimate / result.t_stat)
    for bound, outward in ((low, -1.0), (high, 1.0)):
        step = 1e-6 * se
        assert problem.p_value(bound + outward * step, factor, v) <= 0.05
        assert problem.p_value(bound - outward * step, factor, v) > 0.05
    # a test of a value inside the interval does not reject at 5 %
    inside = wild_cluster_bootstrap(
        x, y, firms, 2, weights="webb", draws=1999, seed=5, null=0.5 * (low + high), level=None
    )
    assert inside.p_value > 0.05


def test_bad_inputs_raise_clear_errors(grunfeld):
    x, y, firms = pooled(grunfeld)
    with pytest.raises(ValueError, match="at least 2 clusters, got 1"):
        wild_cluster_bootstrap(x, y, np.zeros(len(y)), 1, weights="webb", seed=1)
    with pytest.raises(ValueError, match="need a seed"):
        wild_cluster_bootstrap(x, y, firms, 1, weights="webb", draws=99)
    with pytest.raises(ValueError, match="rank deficient"):
        wild_cluster_bootstrap(np.column_stack([x, x[:, 1]]), y, firms, 1, seed=1)


BOOT_SPEC = """\
models:
  fe:
    estimator: panel_fe
    y: inv
    x: [value, capital]
    se: {cluster: entity, bootstrap: {weights: rademacher, seed: 1}}
tables:
  t:
    kind: regression
    columns: [fe]
    stats: [nobs, extra.wild_bootstrap.capital.p_value]
"""


def test_se_bootstrap_reports_wild_p_values_and_intervals(tmp_path):
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file

    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + BOOT_SPEC)
    run = run_file(path, tmp_path / "out")
    fe = run.output.results.models["fe"]
    boot = fe.extra["wild_bootstrap"]["capital"]
    # the within design is the LSDV one of the wildboottest reference above (enumerated 2^10)
    assert boot["p_value"] == 0.025390625 and boot["enumerated"] and boot["draws"] == 1024
    # one-way entity effects nested in the clusters: boottest's t is xtreg's clustered t
    assert boot["t_stat"] == pytest.approx(fe.coefficients["capital"].stat, rel=1e-10)
    low, high = boot["ci"]
    assert low < fe.coefficients["capital"].estimate < high
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert "| 0.025 |" in table


def test_se_bootstrap_needs_one_cluster_variable(tmp_path):
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import plan_file
    from specrun.errors import SpecErrors

    text = BOOT_SPEC.replace("cluster: entity,", "cluster: [entity, time],")
    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    with pytest.raises(SpecErrors, match="the wild cluster bootstrap needs one cluster variable"):
        plan_file(path)


def test_two_clusters_give_an_interval_in_bounded_time(grunfeld):
    # With G = 2 the bootstrap rarely rejects, so the bracket widens to ~2⁶⁰ standard errors,
    # where float spacing exceeds the bisection tolerance: the search must still stop (it used
    # to spin forever). The bounds then lie far out, or at infinity, around the estimate.
    x, y, firms = pooled(grunfeld)
    halves = firms % 2
    result = wild_cluster_bootstrap(x, y, halves, 1, weights="webb", draws=99, seed=1)
    assert result.clusters == 2
    assert result.ci is not None
    low, high = result.ci
    assert low < result.estimate < high
    assert result.p_value > 0.05
