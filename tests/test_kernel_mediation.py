"""Reference tests of the mediation kernels: Sobel-family tests and the vectorized bootstrap.

Expected numbers: the lavaan tutorial "Mediation" (lavaan.ugent.be/tutorial/mediation.html,
output of lavaan 0.6-19: a = 0.474 (SE 0.103), b = 0.788 (SE 0.092), ab = 0.374 (SE 0.092,
z = 4.059)) on its data set (set.seed(1234), 100 rows); linearmodels (7.1 when written)
``PanelOLS`` refits of resampled panels; and formulas worked by hand where stated.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels import IV2SLS, PanelOLS

from specrun.errors import SpecError
from specrun.kernels.mediation import (
    aroian_test,
    bias_corrected_interval,
    bootstrap_indirect,
    draw_quantiles,
    goodman_test,
    mediation_paths,
    percentile_interval,
    sobel_test,
)
from specrun.kernels.within import (
    PanelIndex,
    entity_blocks,
    multiplicities,
    resample_indices,
    weighted_gram,
)


def _lavaan_data(reference) -> pd.DataFrame:
    return pd.read_csv(reference("mediation", "lavaan_tutorial_mediation.csv"))


def _ols(frame: pd.DataFrame, dependent: str, regressors: list[str], debiased: bool):
    exog = frame[regressors].assign(const=1.0)
    return IV2SLS(frame[dependent], exog, None, None).fit(cov_type="unadjusted", debiased=debiased)


def test_point_estimates_match_lavaan_tutorial(reference) -> None:
    data = _lavaan_data(reference)
    result = bootstrap_indirect(data["Y"], data["X"], data["M"], n_draws=10, seed=1)
    # lavaan tutorial: a = 0.474, b = 0.788, ab = 0.374, c (direct) = 0.036, total = 0.410.
    assert round(result.a, 3) == 0.474
    assert round(result.b, 3) == 0.788
    assert round(result.estimate, 3) == 0.374
    assert round(result.direct, 3) == 0.036
    assert round(result.total, 3) == 0.410
    # For OLS on one sample the indirect effect is exactly the total minus the direct effect.
    assert result.estimate == pytest.approx(result.total - result.direct, abs=1e-12)


def test_sobel_matches_lavaan_delta_method(reference) -> None:
    """lavaan's delta-method SE of ab uses ML standard errors (residual variance over n) and
    zero covariance between a and b, i.e. exactly Sobel's se = sqrt(b²·se_a² + a²·se_b²)."""
    data = _lavaan_data(reference)
    mediator = _ols(data, "M", ["X"], debiased=False)
    outcome = _ols(data, "Y", ["X", "M"], debiased=False)
    a, se_a = mediator.params["X"], mediator.std_errors["X"]
    b, se_b = outcome.params["M"], outcome.std_errors["M"]
    # lavaan tutorial: SE(a) = 0.103, SE(b) = 0.092.
    assert (round(se_a, 3), round(se_b, 3)) == (0.103, 0.092)
    test = sobel_test(a, se_a, b, se_b)
    # lavaan tutorial, Defined Parameters: ab 0.374, Std.Err 0.092, z-value 4.059, P 0.000.
    assert round(test.estimate, 3) == 0.374
    assert round(test.std_error, 3) == 0.092
    assert round(test.z, 3) == 4.059
    assert test.p_value < 5e-4


def test_sobel_from_ols_standard_errors(reference) -> None:
    """With OLS (n − k) standard errors se_a grows by sqrt(100/98) and se_b by sqrt(100/97)
    over lavaan's ML ones, so Sobel's SE must lie between lavaan's 0.0920 scaled by each factor
    (0.092 is printed to 3 decimals, hence the ±0.0005 rounding band)."""
    data = _lavaan_data(reference)
    mediator = _ols(data, "M", ["X"], debiased=True)
    outcome = _ols(data, "Y", ["X", "M"], debiased=True)
    test = sobel_test(
        mediator.params["X"],
        mediator.std_errors["X"],
        outcome.params["M"],
        outcome.std_errors["M"],
    )
    assert (0.0915 * math.sqrt(100 / 98)) <= test.std_error <= (0.0925 * math.sqrt(100 / 97))
    assert test.z == pytest.approx(test.estimate / test.std_error)


def test_sobel_family_formulas() -> None:
    # Worked by hand from Sobel (1982), Aroian (1947), Goodman (1960) with a=3, se_a=1, b=4,
    # se_b=2: b²se_a² + a²se_b² = 16 + 36 = 52; se_a²se_b² = 4.
    sobel, aroian, goodman = (
        f(3.0, 1.0, 4.0, 2.0) for f in (sobel_test, aroian_test, goodman_test)
    )
    assert sobel.std_error == pytest.approx(math.sqrt(52.0))
    assert aroian.std_error == pytest.approx(math.sqrt(56.0))
    assert goodman.std_error == pytest.approx(math.sqrt(48.0))
    assert aroian.z < sobel.z < goodman.z
    assert sobel.p_value == pytest.approx(2 * (1 - 0.5 * math.erfc(-12 / math.sqrt(52) / 2**0.5)))
    # Goodman's variance b²se_a² + a²se_b² − se_a²se_b² = 0.01 + 0.01 − 1 < 0: no test.
    weak = goodman_test(0.1, 1.0, 0.1, 1.0)
    assert math.isnan(weak.std_error) and math.isnan(weak.p_value)
    with pytest.raises(SpecError, match="non-negative standard errors"):
        sobel_test(1.0, -1.0, 1.0, 1.0)


def _quantile_mc_error(draws: np.ndarray, prob: float) -> float:
    """Monte-Carlo SE of an empirical quantile from order statistics: the draws
    sqrt(B·p·(1−p)) ranks either side of the quantile bracket ±1 binomial SD of its rank."""
    ordered = np.sort(draws)
    rank, spread = prob * draws.size, math.sqrt(draws.size * prob * (1 - prob))
    low, high = math.floor(rank - spread), math.ceil(rank + spread)
    return float(ordered[high] - ordered[low]) / 2.0


def test_bootstrap_ci_matches_lavaan(reference) -> None:
    """lavaan's tutorial bootstrap (se = "bootstrap", 2000 seeded draws) prints a percentile CI
    of about [0.21, 0.54] for ab. Both it and ours are 2000-draw Monte-Carlo estimates of the same
    quantiles, so their difference has SD sqrt(2)·MC SE of one quantile (estimated from our
    draws, about 0.005 at the 2.5 % tail); we allow 4 such SDs plus 0.005 for the 2-decimal
    rounding of lavaan's printed bounds."""
    data = _lavaan_data(reference)
    result = bootstrap_indirect(data["Y"], data["X"], data["M"], n_draws=2000, seed=20240601)
    assert result.indirect.shape == (2000,) and result.n_failed == 0
    for bound, published, prob in ((result.ci_low, 0.21, 0.025), (result.ci_high, 0.54, 0.975)):
        tolerance = 4 * math.sqrt(2) * _quantile_mc_error(result.indirect, prob) + 0.005
        assert tolerance < 0.06  # the check must stay sharper than the interval's own width
        assert abs(bound - published) <= tolerance
    # The bootstrap SD of ab is close to the delta-method SE (lavaan: 0.092) for n = 100.
    assert result.std_error == pytest.approx(0.092, rel=0.15)


def test_percentile_and_bias_corrected_intervals() -> None:
    draws = np.arange(1.0, 1001.0)
    assert percentile_interval(draws, 0.9) == pytest.approx((np.quantile(draws, 0.05), 950.05))
    # An estimate at the median gives z0 = 0 and the BC interval equals the percentile one.
    low, high, z0 = bias_corrected_interval(draws, 500.5, 0.9)
    assert z0 == pytest.approx(0.0, abs=1e-12)
    assert (low, high) == pytest.approx(percentile_interval(draws, 0.9))
    # Efron (1982): 84.1 % of draws below the estimate gives z0 = Φ⁻¹(0.841) ≈ 1, which moves
    # the 90 % interval's tails to Φ(2 ∓ 1.645) = 0.6387 and 0.9995; z0 = 0.9986 rather than 1
    # shifts those by about one draw, hence the tolerance of 2 (draws are 1 apart).
    low, high, z0 = bias_corrected_interval(draws, 841.5, 0.9)
    assert z0 == pytest.approx(1.0, abs=2e-3)
    assert low == pytest.approx(np.quantile(draws, 0.6387), abs=2.0)
    assert high == pytest.approx(np.quantile(draws, 0.9995), abs=2.0)


# R lavaan 0.6-14 (R 4.2.2): the draws of tests/data/lavaan_boot_ab.csv and, for them,
# parameterEstimates(fit, boot.ci.type = "perc" / "bca.simple") of ab := a*b (est
# 0.373596376125109), printed with sprintf("%.15g")
LAVAAN_DRAWS = Path(__file__).parent / "data" / "lavaan_boot_ab.csv"
LAVAAN_ESTIMATE = 0.373596376125109
LAVAAN_PERCENTILE = (0.212822958328509, 0.532364077419691)
LAVAAN_BC = (0.220275600564341, 0.540451449669931)
# R 4.2.2 on the same draws: quantile(ab, c(.025, .975)) (type 7) and, for the BC interval,
# z0 <- qnorm(mean(ab < est)); quantile(ab, pnorm(2 * z0 + qnorm(c(.025, .975))))
R_TYPE7_PERCENTILE = (0.213237830845597, 0.531965085450169)
R_TYPE7_BC = (0.220745340184319, 0.539498997663183)
R_Z0 = 0.10043372051147


@pytest.mark.parametrize(
    ("quantile", "percentile", "bc"),
    [("boot", LAVAAN_PERCENTILE, LAVAAN_BC), ("linear", R_TYPE7_PERCENTILE, R_TYPE7_BC)],
)
def test_intervals_on_lavaans_draws_are_lavaans_and_rs(quantile, percentile, bc) -> None:
    """On lavaan's own bootstrap draws, ``ci_quantile: boot`` gives lavaan's percentile and
    bias-corrected ("bca.simple") intervals — lavaan reads quantiles with R boot's
    ``norm.inter`` (Davison and Hinkley 1997, the (B + 1)p-th draw) — and the default
    ``linear`` gives R's ``quantile`` (type 7) of the same draws. The two conventions differ
    here in the third decimal (1000 draws)."""
    draws = np.loadtxt(LAVAAN_DRAWS, skiprows=1)
    assert draws.size == 1000
    assert percentile_interval(draws, 0.95, quantile) == pytest.approx(percentile, rel=1e-12)
    low, high, z0 = bias_corrected_interval(draws, LAVAAN_ESTIMATE, 0.95, quantile)
    assert (low, high) == pytest.approx(bc, rel=1e-12)
    assert z0 == pytest.approx(R_Z0, rel=1e-12)


def test_boot_quantiles_at_whole_ranks_and_beyond_the_ends() -> None:
    """R boot's ``norm.inter``: a whole (B + 1)p is that order statistic; below the first or
    beyond the last draw it is the smallest or largest draw."""
    draws = np.array([5.0, 1.0, 4.0, 2.0, 3.0])  # (B + 1) = 6
    assert draw_quantiles(draws, [1 / 6, 0.5, 5 / 6], "boot") == pytest.approx([1.0, 3.0, 5.0])
    assert draw_quantiles(draws, [0.01, 0.99], "boot") == pytest.approx([1.0, 5.0])


def _panel(reference, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Grunfeld (balanced; a control built from it) or EmplUK (unbalanced) from R plm."""
    if name == "grunfeld":
        frame = pd.read_csv(reference("grunfeld", "Grunfeld_plm.csv"))
        # A second regressor built from the data to exercise the controls path.
        frame["value_sq"] = frame["value"] ** 2 / 1e4
        return frame.rename(columns={"inv": "y", "value": "x", "capital": "m"}), ["value_sq"]
    frame = pd.read_csv(reference("abdata", "EmplUK_plm.csv"))
    return frame.rename(columns={"emp": "y", "wage": "x", "capital": "m"}), ["output"]


def _panelols_paths(
    resample: pd.DataFrame, controls: list[str], entity: bool, time: bool
) -> tuple[float, float, float, float]:
    panel = resample.set_index(["copy", "year"])

    def params(dependent: str, regressors: list[str]) -> pd.Series:
        exog = panel[regressors]
        if not (entity or time):
            exog = exog.assign(const=1.0)
        return (
            PanelOLS(panel[dependent], exog, entity_effects=entity, time_effects=time).fit().params
        )

    mediator = params("m", ["x", *controls])
    outcome = params("y", ["x", "m", *controls])
    total = params("y", ["x", *controls])
    return (
        float(mediator["x"]),
        float(outcome["m"]),
        float(total["x"]),
        float(outcome["x"]),
    )


@pytest.mark.parametrize("panel_name", ["grunfeld", pytest.param("empluk", marks=pytest.mark.slow)])
@pytest.mark.parametrize(
    ("entity", "time"), [(True, True), (True, False), (False, True), (False, False)]
)
def test_panel_draw_equals_panelols_refit(reference, panel_name, entity, time) -> None:
    """Each vectorized draw equals PanelOLS on the resampled rows, every drawn copy of an entity
    relabelled as a new entity (so it keeps its own fixed effect)."""
    frame, controls = _panel(reference, panel_name)
    index = PanelIndex.from_labels(frame["firm"].to_numpy(), frame["year"].to_numpy())
    assert index.balanced is (panel_name == "grunfeld")
    seed, n_draws = 11, 2
    result = bootstrap_indirect(
        frame["y"].to_numpy(),
        frame["x"].to_numpy(),
        frame["m"].to_numpy(),
        frame[controls].to_numpy(),
        entity=frame["firm"].to_numpy(),
        time=frame["year"].to_numpy(),
        entity_effects=entity,
        time_effects=time,
        n_draws=n_draws,
        seed=seed,
    )
    drawn = resample_indices(index.n_entities, n_draws, seed)
    values = frame[["x", "m", *controls, "y"]].to_numpy()
    blocks = entity_blocks(values, index, entity=entity, time=time)
    paths = mediation_paths(weighted_gram(blocks, multiplicities(drawn, index.n_entities)))
    firms = np.unique(frame["firm"].to_numpy())
    for draw in range(n_draws):
        resample = pd.concat(
            [
                frame.loc[frame["firm"] == firms[unit]].assign(copy=position)
                for position, unit in enumerate(drawn[draw])
            ],
            ignore_index=True,
        )
        expected = _panelols_paths(resample, controls, entity, time)
        found = (paths.a[draw], paths.b[draw], paths.total[draw], paths.direct[draw])
        np.testing.assert_allclose(found, expected, rtol=1e-8)
        assert result.indirect[draw] == pytest.approx(expected[0] * expected[1], rel=1e-8)

    # The point estimate is the unweighted fit on the original sample.
    original = frame.assign(copy=frame["firm"])
    a, b, total, direct = _panelols_paths(original, controls, entity, time)
    assert (result.a, result.b, result.total, result.direct) == pytest.approx(
        (a, b, total, direct), rel=1e-8
    )


def test_bootstrap_is_reproducible_and_reports_bad_input() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=60)
    m = 0.5 * x + rng.normal(size=60)
    y = 0.7 * m + rng.normal(size=60)
    first = bootstrap_indirect(y, x, m, n_draws=50, seed=3)
    again = bootstrap_indirect(y, x, m, n_draws=50, seed=3)
    np.testing.assert_array_equal(first.indirect, again.indirect)
    # Chunking the draws (a small max_gram_entries) draws the same resamples; their products
    # may differ in the last bit, since BLAS may sum a product of another shape in another
    # order (OpenBLAS's small-matrix kernels on some CPUs do).
    second = bootstrap_indirect(y, x, m, n_draws=50, seed=3, max_gram_entries=200)
    np.testing.assert_allclose(first.indirect, second.indirect, rtol=1e-13, atol=0)
    assert first.ci_low < first.estimate < first.ci_high

    m_missing = m.copy()
    m_missing[4] = np.nan
    with pytest.raises(SpecError, match="mediation variable m has 1 missing"):
        bootstrap_indirect(y, x, m_missing, n_draws=10, seed=1)
    with pytest.raises(SpecError, match="collinear"):
        bootstrap_indirect(y, x, m, np.column_stack([x]), n_draws=10, seed=1)
    with pytest.raises(SpecError, match="time effects need"):
        bootstrap_indirect(y, x, m, entity=np.arange(60) % 6, time_effects=True, n_draws=10)


def test_singular_draws_are_dropped_and_counted() -> None:
    """A control that varies within entity 0 only is swept to zero by the entity effects in
    every resample that misses entity 0; those draws cannot be fitted and must be dropped."""
    n_entities, n_periods = 8, 5
    rng = np.random.default_rng(9)
    entity = np.repeat(np.arange(n_entities), n_periods)
    time = np.tile(np.arange(n_periods), n_entities)
    x = rng.normal(size=entity.size)
    m = 0.5 * x + rng.normal(size=entity.size)
    y = 0.7 * m + rng.normal(size=entity.size)
    control = np.where(entity == 0, rng.normal(size=entity.size), 0.0)
    result = bootstrap_indirect(
        y, x, m, control, entity=entity, time=time, entity_effects=True, n_draws=200, seed=4
    )
    drawn = resample_indices(n_entities, 200, 4)
    missing_entity_0 = int(np.sum(~np.any(drawn == 0, axis=1)))
    assert missing_entity_0 > 0
    assert result.n_failed == missing_entity_0
    assert result.indirect.shape == (200 - missing_entity_0,)
    assert np.all(np.isfinite(result.indirect))
