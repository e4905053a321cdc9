"""Reference tests for the Hansen (1999) panel threshold kernel (``specrun.kernels.threshold``).

Expected numbers come from: Hansen's own GAUSS program's output on his investment data
(``hansen_gauss_thresh.out`` beside ``invest.dat``, printed to 8 significant digits); Hansen
(1999, J. Econometrics 93:345–368) Tables 2, 3 and 5 as printed; Wang (2015, Stata Journal
15(1):121–134) section 5, xthreg's output on ``hansen1999.dta``; and direct least squares.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pandas as pd
import pytest

from specrun.errors import SpecError
from specrun.kernels.threshold import ThresholdFit, fit_threshold

GAUSS_RTOL = 1e-7  # the GAUSS output prints 8 significant digits
CONTROLS = ("q", "q²", "q³", "d", "q·d")


def hansen_invest(path: str) -> dict[str, np.ndarray]:
    """Hansen's model: investment on lagged Q, Q², Q³, debt, Q·debt; cash flow switches regime
    with lagged debt (565 firms, years 1974–1987 after the lag)."""
    raw = np.loadtxt(path)
    n_firms, n_years = 565, 15
    inva, vala, cfa, debta = (raw[:, j].reshape(n_firms, n_years) for j in range(4))
    q1, d1, cf1 = vala[:, :-1], debta[:, :-1], cfa[:, :-1]
    controls = np.stack([q1, q1**2, q1**3, d1, q1 * d1], axis=-1).reshape(-1, 5)
    return {
        "y": inva[:, 1:].ravel(),
        "regime_x": cf1.ravel(),
        "q": d1.ravel(),
        "controls": controls,
        "entity": np.repeat(np.arange(n_firms), n_years - 1),
        "time": np.tile(np.arange(1974, 1988), n_firms),
    }


@functools.cache
def hansen_fit(path: str, bootstrap: int = 0, seed: int = 0) -> ThresholdFit:
    # Hansen's program: qn = 400 quantiles, trim 1 % / 1 % / 5 %, 95 % confidence regions.
    return fit_threshold(
        **hansen_invest(path),
        max_thresholds=3,
        trim=(0.01, 0.01, 0.05),
        grid=400,
        bootstrap=bootstrap,
        seed=seed,
        convention="hansen1999",
        regime_names=["cf"],
        control_names=list(CONTROLS),
        q_name="d",
    )


def coefficient_table(fit: ThresholdFit, n_thresholds: int) -> np.ndarray:
    model = fit.models[n_thresholds - 1]
    rows = [*model.control_coefficients, *model.regime_coefficients]
    return np.array([[c.estimate, c.se_conventional, c.se_white] for c in rows])


@pytest.fixture
def invest(reference) -> str:
    return str(reference("hansen1999", "invest.dat"))


def test_hansen_grid_and_sample(invest):
    # GAUSS output header: 565 firms, 14 years used, 7345 observations (one period dropped per
    # firm after the within transformation), qn = 400 → the 393 grid points.
    fit = hansen_fit(invest)
    assert (fit.n_entities, fit.n_periods, fit.nobs, fit.sigma_rows) == (565, 14, 7345, 7345)
    assert fit.grid.size == 393


def test_hansen_single_threshold_matches_gauss_output(invest):
    fit = hansen_fit(invest)
    # GAUSS output, "Zero Threshold Model" and "Single Threshold Model".
    assert fit.ssr_linear == pytest.approx(16.591220, rel=GAUSS_RTOL)
    single = fit.searches[0]
    assert single.name == "Th-1"
    assert (single.estimate, single.ci_low, single.ci_high) == (0.0157, 0.01392, 0.01806)
    assert single.ssr == pytest.approx(16.517795, rel=GAUSS_RTOL)
    assert math.isclose(fit.tests[0].F, 32.649894, rel_tol=GAUSS_RTOL)
    expected = [
        [0.010477561, 0.00094180433, 0.0019209862],
        [-0.00019973418, 2.6384549e-005, 6.5267054e-005],
        [1.0546255e-006, 1.9897620e-007, 4.5695562e-007],
        [-0.025445695, 0.0047622210, 0.0067847950],
        [0.0014242179, 0.0014748465, 0.0019797733],
        [0.058868434, 0.0056143147, 0.013802960],
        [0.090423494, 0.0054944182, 0.011593318],
    ]
    np.testing.assert_allclose(coefficient_table(fit, 1), expected, rtol=GAUSS_RTOL)


def test_hansen_double_threshold_matches_gauss_output(invest):
    fit = hansen_fit(invest)
    _, second, refined, _ = fit.searches
    # GAUSS output, "Double Threshold Model", first iteration (γ₂ given γ₁ = 0.0157).
    assert second.fixed == (0.0157,)
    assert (second.estimate, second.ci_low, second.ci_high) == (0.53616, 0.53049, 0.56287)
    assert second.ssr == pytest.approx(16.459979, rel=GAUSS_RTOL)
    assert math.isclose(fit.tests[1].F, 25.799434, rel_tol=GAUSS_RTOL)
    # Second iteration (refinement: γ₁ given γ₂ = 0.53616).
    assert refined.fixed == (0.53616,)
    assert (refined.estimate, refined.ci_low, refined.ci_high) == (0.0157, 0.01392, 0.01806)
    assert refined.ssr == pytest.approx(16.459979, rel=GAUSS_RTOL)
    assert fit.models[1].thresholds == (0.0157, 0.53616)
    expected = [
        [0.010285143, 0.00094105141, 0.0018833187],
        [-0.00019753392, 2.6344140e-005, 6.3768397e-005],
        [1.0466549e-006, 1.9864905e-007, 4.4786653e-007],
        [-0.016489208, 0.0050965786, 0.0089750760],
        [0.0014806529, 0.0014724173, 0.0020687843],
        [0.063153741, 0.0056733464, 0.013500229],
        [0.097725900, 0.0056858777, 0.010292374],
        [0.039209296, 0.011847125, 0.031114460],
    ]
    np.testing.assert_allclose(coefficient_table(fit, 2), expected, rtol=GAUSS_RTOL)


def test_hansen_triple_threshold_matches_gauss_output(invest):
    fit = hansen_fit(invest)
    third = fit.searches[3]
    # GAUSS output, "Triple Threshold Model" (trim 5 %, fixed 0.0157 and 0.53616).
    assert third.fixed == (0.0157, 0.53616)
    assert (third.estimate, third.ci_low, third.ci_high) == (0.33134, 0.03902, 1.00593)
    assert third.ssr == pytest.approx(16.450614, rel=GAUSS_RTOL)
    assert math.isclose(fit.tests[2].F, 4.1814091, rel_tol=GAUSS_RTOL)
    expected = [
        [0.010415077, 0.00094317785, 0.0019042279],
        [-0.00019993697, 2.6367013e-005, 6.4581881e-005],
        [1.0597885e-006, 1.9871982e-007, 4.5293815e-007],
        [-0.019438026, 0.0053122527, 0.010023220],
        [0.0015235240, 0.0014722690, 0.0020546923],
        [0.061957491, 0.0057047824, 0.013721451],
        [0.095087507, 0.0058413602, 0.010421695],
        [0.11114170, 0.0088886616, 0.013622053],
        [0.044084479, 0.012102114, 0.032685571],
    ]
    np.testing.assert_allclose(coefficient_table(fit, 3), expected, rtol=GAUSS_RTOL)


def test_hansen_paper_tables_to_printed_digits(invest):
    fit = hansen_fit(invest)
    # Hansen (1999) Table 2: F₁ = 32.65, F₂ = 25.8, F₃ = 4.2.
    assert [round(fit.tests[0].F, 2), round(fit.tests[1].F, 1), round(fit.tests[2].F, 1)] == [
        32.65,
        25.8,
        4.2,
    ]
    # Table 3: γ̂₁ = 0.0157 [0.0139, 0.0181] (refinement), γ̂₂ = 0.5362 [0.5305, 0.5629].
    first, second = fit.thresholds[:2]
    assert [round(v, 4) for v in (first.estimate, first.ci_low, first.ci_high)] == [
        0.0157,
        0.0139,
        0.0181,
    ]
    assert [round(v, 4) for v in (second.estimate, second.ci_low, second.ci_high)] == [
        0.5362,
        0.5305,
        0.5629,
    ]
    # Table 5 (double-threshold model): cash-flow slopes with OLS and White SEs per regime.
    slopes = fit.models[1].regime_coefficients
    assert [round(c.estimate, 3) for c in slopes] == [0.063, 0.098, 0.039]
    assert [round(c.se_conventional, 3) for c in slopes] == [0.006, 0.006, 0.012]
    assert [round(c.se_white, 3) for c in slopes] == [0.014, 0.010, 0.031]
    assert [c.name for c in slopes] == [
        "cf·I(d < 0.0157)",
        "cf·I(0.0157 ≤ d < 0.5362)",
        "cf·I(d ≥ 0.5362)",
    ]


def test_hansen_bootstrap_agrees_with_gauss_within_monte_carlo_error(invest):
    replications = 300
    fit = hansen_fit(invest, bootstrap=replications, seed=20261128)
    # GAUSS output (300 replications each): p-values 0.0066667, 0.016667, 0.74 and 10 % / 5 %
    # critical values. Both runs are Monte-Carlo draws, so the tolerance is 4 standard errors of
    # the difference of two independent estimates: for a p-value sqrt(p(1−p)(1/B + 1/300))
    # (p floored at 0.01 so a p-value near zero still gets a binomial-sized band); for a
    # critical value, the order statistics of our bootstrap F whose ranks are 4 such errors
    # away from q·B. The 1 % critical value (the 297th of 300 draws) is too noisy to compare.
    gauss = [
        (0.0066666667, 14.476559, 16.852877),
        (0.016666667, 11.767044, 13.914505),
        (0.74, 11.069209, 12.829957),
    ]
    for test, (p_ref, crit10, crit5) in zip(fit.tests, gauss, strict=True):
        assert test.bootstrap == replications == test.bootstrap_F.size
        p_bar = max(p_ref, test.p_value, 0.01)
        tolerance = 4 * math.sqrt(p_bar * (1 - p_bar) * (1 / replications + 1 / 300))
        assert abs(test.p_value - p_ref) <= tolerance
        ordered = np.sort(test.bootstrap_F)
        for level, reference_crit in ((0.90, crit10), (0.95, crit5)):
            spread = 4 * math.sqrt(replications * level * (1 - level) * (1 + replications / 300))
            low = ordered[max(math.floor(level * replications - spread), 0)]
            high = ordered[min(math.ceil(level * replications + spread), replications - 1)]
            assert low <= reference_crit <= high
        assert test.crit_10 <= test.crit_5 <= test.crit_1


def test_xthreg_convention_matches_wang_2015(reference):
    frame = pd.read_stata(reference("hansen1999", "hansen1999.dta"))
    columns = ["q1", "q2", "q3", "d1", "qd1"]
    # Wang (2015) section 5: xthreg i q1 q2 q3 d1 qd1, rx(c1) qx(d1) thnum(1) grid(400)
    # trim(0.01): threshold 0.0154, single-threshold F = 35.20, R² within 0.0951.
    fit = fit_threshold(
        frame["i"].to_numpy(float),
        frame["c1"].to_numpy(float),
        frame["d1"].to_numpy(float),
        frame[columns].to_numpy(float),
        frame["id"].to_numpy(),
        frame["year"].to_numpy(),
        max_thresholds=1,
        trim=(0.01,),
        grid=400,
        bootstrap=0,
        convention="xthreg",
    )
    # Not compared: Wang's interval [0.0141, 0.0167]. xthreg's grid and interval rules are in its
    # compiled Mata library (no published source), and no evenly spaced quantile grid of d1 gives
    # that interval with the estimate 0.0154 under any LR scale (the rank argument is in
    # xthreg_grid's docstring); specrun's is [0.0144, 0.0179].
    assert fit.nobs == 7910
    assert round(fit.thresholds[0].estimate, 4) == 0.0154
    assert round(fit.tests[0].F, 2) == 35.20
    assert round(fit.r2_within, 4) == 0.0951


# ---------------------------------------------------------------- the algebra on a small panel


def small_panel(seed: int, k: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_entities, n_periods = 7, 6
    n = n_entities * n_periods
    q = np.round(rng.uniform(0, 1, n), 2)  # rounded: ties, as real threshold variables have
    x = rng.normal(size=(n, k))
    z = rng.normal(size=(n, 2))
    y = z @ [0.5, -0.3] + x.sum(axis=1) * np.where(q < 0.5, 1.0, 2.0) + rng.normal(size=n)
    y += np.repeat(rng.normal(size=n_entities), n_periods)
    return {
        "y": y,
        "regime_x": x,
        "q": q,
        "controls": z,
        "entity": np.repeat(np.arange(n_entities), n_periods),
        "time": np.tile(np.arange(n_periods), n_entities),
    }


def direct_ssr(
    data: dict[str, np.ndarray], cuts: list[float], convention: str, time_effects: bool
) -> float:
    """SSR of one explicit least-squares regression on demeaned (and trimmed) data."""
    x, q, n_t = data["regime_x"], data["q"], int(data["time"].max()) + 1
    columns = [data["controls"], x]
    columns += [x * (q < c if convention == "hansen1999" else q <= c)[:, None] for c in cuts]
    if time_effects:
        columns.append((data["time"][:, None] == np.arange(1, n_t)).astype(float))
    design = np.hstack(columns)

    def within(a: np.ndarray) -> np.ndarray:
        cube = a.reshape(-1, n_t, *a.shape[1:])
        swept = cube - cube.mean(axis=1, keepdims=True)
        if convention == "hansen1999":
            swept = swept[:, :-1]
        return swept.reshape(-1, *a.shape[1:])

    beta, *_ = np.linalg.lstsq(within(design), within(data["y"]), rcond=None)
    resid = within(data["y"]) - within(design) @ beta
    return float(resid @ resid)


@pytest.mark.parametrize("convention", ["hansen1999", "xthreg"])
@pytest.mark.parametrize(("k", "time_effects"), [(1, False), (2, False), (1, True)])
def test_every_grid_point_ssr_equals_direct_least_squares(convention, k, time_effects):
    data = small_panel(seed=3 + k, k=k)
    fit = fit_threshold(
        **data,
        max_thresholds=3,
        trim=(0.05, 0.05, 0.05),
        grid=None,
        bootstrap=0,
        convention=convention,
        time_effects=time_effects,
    )
    assert fit.ssr_linear == pytest.approx(direct_ssr(data, [], convention, time_effects))
    for search in fit.searches:
        assert search.grid.size > 5
        direct = [
            direct_ssr(data, [*search.fixed, float(g)], convention, time_effects)
            for g in search.grid
        ]
        np.testing.assert_allclose(search.ssr_curve, direct, rtol=1e-9)
        sigma2 = search.ssr / fit.sigma_rows
        np.testing.assert_allclose(search.lr, (search.ssr_curve - search.ssr) / sigma2)
    for model in fit.models:
        expected = direct_ssr(data, list(model.thresholds), convention, time_effects)
        assert model.ssr == pytest.approx(expected, rel=1e-9)


def test_regime_slopes_equal_direct_least_squares():
    data = small_panel(seed=11, k=1)
    fit = fit_threshold(**data, max_thresholds=2, trim=(0.1,), bootstrap=0)
    cuts = fit.models[1].thresholds
    q, x, n_t = data["q"], data["regime_x"][:, 0], 6
    regimes = np.column_stack(
        [x * (q < cuts[0]), x * ((q >= cuts[0]) & (q < cuts[1])), x * (q >= cuts[1])]
    )
    design = np.hstack([data["controls"], regimes])

    def within(a: np.ndarray) -> np.ndarray:
        cube = a.reshape(-1, n_t, *a.shape[1:])
        return (cube - cube.mean(axis=1, keepdims=True))[:, :-1].reshape(-1, *a.shape[1:])

    beta, *_ = np.linalg.lstsq(within(design), within(data["y"]), rcond=None)
    got = [
        c.estimate for c in fit.models[1].control_coefficients + fit.models[1].regime_coefficients
    ]
    np.testing.assert_allclose(got, beta, rtol=1e-9)


def test_bootstrap_is_reproducible_and_reports_progress():
    data = small_panel(seed=5, k=1)
    seen: list[tuple[int, int]] = []
    options = {"max_thresholds": 2, "trim": (0.1,), "bootstrap": 40, "seed": 7}
    first = fit_threshold(
        **data, **options, progress=lambda done, total: seen.append((done, total))
    )
    second = fit_threshold(**data, **options)
    for a, b in zip(first.tests, second.tests, strict=True):
        np.testing.assert_array_equal(a.bootstrap_F, b.bootstrap_F)
        assert 0.0 <= a.p_value <= 1.0
        assert a.p_value == pytest.approx(np.mean(a.bootstrap_F > a.F))
    assert seen[-1] == (80, 80)
    assert all(b[0] > a[0] for a, b in itertools.pairwise(seen))


@pytest.mark.parametrize("k", [1, 2])
def test_bootstrap_block_size_does_not_change_the_draws(monkeypatch: pytest.MonkeyPatch, k: int):
    # long panels work on cache-sized tiles (one entity × one replication at the extreme); the
    # statistics must be the ones the default tiles give, up to rounding
    data = small_panel(seed=5, k=k)
    options = {"max_thresholds": 2, "trim": (0.1,), "bootstrap": 40, "seed": 7}
    blocked = fit_threshold(**data, **options)
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr("specrun.kernels.threshold._BOOTSTRAP_BLOCK_BYTES", 1)
    monkeypatch.setattr("specrun.kernels.threshold._BOOTSTRAP_CHUNK", 1)
    single = fit_threshold(**data, **options, progress=lambda d, t: seen.append((d, t)))
    for a, b in zip(blocked.tests, single.tests, strict=True):
        np.testing.assert_allclose(a.bootstrap_F, b.bootstrap_F, rtol=1e-10)
    assert seen[-1] == (80, 80)
    assert all(b[0] > a[0] for a, b in itertools.pairwise(seen))


def test_threaded_tiles_give_the_same_bits_as_one_thread(monkeypatch: pytest.MonkeyPatch):
    # tiles are summed in two fixed halves, on two threads or one after the other: the same
    # numbers whichever runs; against one running sum over every tile, equal up to rounding
    import specrun.kernels.threshold as kernel

    data = small_panel(seed=5, k=2)
    options = {"max_thresholds": 2, "trim": (0.1,), "bootstrap": 40, "seed": 7}
    # 3 of the 7 entities (6 periods) a tile: three tiles, halves of two and one
    monkeypatch.setattr(kernel, "_BOOTSTRAP_BLOCK_BYTES", 8 * 6 * 32 * 3)
    threaded = fit_threshold(**data, **options)
    halves = kernel._bootstrap_moments
    monkeypatch.setattr(
        kernel,
        "_bootstrap_moments",
        lambda tiles, lifted, draws, pool=None: halves(tiles, lifted, draws),
    )
    one_thread = fit_threshold(**data, **options)
    monkeypatch.setattr(
        kernel,
        "_bootstrap_moments",
        lambda tiles, lifted, draws, pool=None: kernel._tile_moments(tiles, lifted, draws),
    )
    running = fit_threshold(**data, **options)
    for a, b, c in zip(threaded.tests, one_thread.tests, running.tests, strict=True):
        np.testing.assert_array_equal(a.bootstrap_F, b.bootstrap_F)
        np.testing.assert_allclose(a.bootstrap_F, c.bootstrap_F, rtol=1e-10)
        assert a.p_value == c.p_value


def test_unbalanced_panel_names_missing_entities_and_periods():
    data = small_panel(seed=1, k=1)
    keep = ~((data["entity"] == 3) & (np.isin(data["time"], [2, 4])))
    subset = {name: values[keep] for name, values in data.items()}
    with pytest.raises(SpecError) as caught:
        fit_threshold(**subset, bootstrap=0)
    assert caught.value.code == "data"
    assert "balanced panel" in caught.value.message
    assert "1 entity misses periods: 3 (2, 4)" in caught.value.message


def test_regressor_constant_within_entities_is_named():
    data = small_panel(seed=2, k=1)
    data["controls"] = np.column_stack([data["controls"], np.repeat(np.arange(7.0), 6)])
    with pytest.raises(SpecError) as caught:
        fit_threshold(**data, bootstrap=0, control_names=["a", "b", "size"])
    assert caught.value.code == "estimation"
    assert "size do not vary within entities" in caught.value.message


def test_a_fit_without_residual_degrees_of_freedom_is_an_error():
    # 2 entities x 2 periods, one regressor in two regimes: rows - N - K = 4 - 2 - 2 = 0. It
    # exited 0 with a numpy divide-by-zero warning, empty standard errors and t = 0, p = 1.
    data = small_panel(seed=3, k=1)
    keep = (data["entity"] < 2) & (data["time"] < 2)
    subset = {name: values[keep] for name, values in data.items() if name != "controls"}
    with pytest.raises(SpecError) as caught:
        fit_threshold(**subset, controls=None, bootstrap=0, convention="xthreg")
    assert (caught.value.code, caught.value.message, caught.value.hint) == (
        "estimation",
        "no residual degrees of freedom with 1 threshold (4 observations, 2 entities, K = 2)",
        "fewer thresholds (max_thresholds), fewer regressors, or a larger sample",
    )


def test_one_entity_is_an_error():
    # xthreg's variance divides by T(N - 1): a ZeroDivisionError, exit 3
    data = small_panel(seed=3, k=1)
    subset = {name: values[data["entity"] == 0] for name, values in data.items()}
    with pytest.raises(SpecError) as caught:
        fit_threshold(**subset, bootstrap=0, convention="xthreg")
    assert (caught.value.code, caught.value.message) == (
        "data",
        "the panel threshold model needs at least 2 entities; the sample has 1",
    )


def test_bad_options_are_spec_errors():
    data = small_panel(seed=2, k=1)
    with pytest.raises(SpecError, match="max_thresholds must be 1, 2 or 3"):
        fit_threshold(**data, max_thresholds=4)
    with pytest.raises(SpecError, match="trim has 2 values for 3 thresholds"):
        fit_threshold(**data, max_thresholds=3, trim=(0.1, 0.1))
    with pytest.raises(SpecError, match="unknown convention"):
        fit_threshold(**data, convention="stata")  # type: ignore[arg-type]


@pytest.mark.parametrize("convention", ["hansen1999", "xthreg"])
@pytest.mark.parametrize("k", [1, 2])
def test_bootstrap_replications_equal_direct_least_squares(convention, k):
    # Each replication redone by hand: y* = fitted null model + whole entities' residual vectors
    # drawn with the documented generator stream, every threshold searched again by lstsq.
    data = small_panel(seed=20 + k, k=k)
    replications, trim = 3, 0.1
    fit = fit_threshold(
        **data,
        max_thresholds=2,
        trim=(trim,),
        bootstrap=replications,
        seed=99,
        convention=convention,
    )
    n_e, n_t = 7, 6
    kept = n_t - 1 if convention == "hansen1999" else n_t
    width = np.unique(data["q"]).size * trim  # grid=None: qn is the number of distinct values
    grid = fit.grid

    def within(a: np.ndarray) -> np.ndarray:
        cube = a.reshape(n_e, n_t, *a.shape[1:])
        return (cube - cube.mean(axis=1, keepdims=True))[:, :kept].reshape(-1, *a.shape[1:])

    def regressors(cuts: list[float]) -> np.ndarray:
        x, q = data["regime_x"], data["q"]
        below = [(q < c) if convention == "hansen1999" else (q <= c) for c in cuts]
        return within(np.hstack([data["controls"], x, *[x * b[:, None] for b in below]]))

    def ssr(y: np.ndarray, cuts: list[float]) -> float:
        design = regressors(cuts)
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        return float(np.sum((y - design @ beta) ** 2))

    def search(y: np.ndarray, fixed: list[int]) -> tuple[int, float]:
        best = (-1, np.inf)
        for g in range(grid.size):
            if any(g == f or f - width < g + 1 <= f + width for f in fixed):
                continue
            value = ssr(y, [grid[f] for f in fixed] + [grid[g]])
            best = min(best, (g, value), key=lambda pair: pair[1])
        return best

    rng = np.random.default_rng(99)
    y_t = within(data["y"])
    for test, null_cuts in zip(fit.tests, [[], [fit.searches[0].estimate]], strict=True):
        draws = rng.integers(0, n_e, size=(replications, n_e))
        null = regressors(null_cuts)
        beta, *_ = np.linalg.lstsq(null, y_t, rcond=None)
        fitted, resid = null @ beta, (y_t - null @ beta).reshape(n_e, kept)
        for b in range(replications):
            y_star = fitted + resid[draws[b]].ravel()
            first, s1 = search(y_star, [])
            if test.n_thresholds == 1:
                s_null, s_alt = ssr(y_star, []), s1
            else:
                s_null, (_, s_alt) = s1, search(y_star, [first])
            expected = (s_null - s_alt) / (s_alt / fit.sigma_rows)
            assert test.bootstrap_F[b] == pytest.approx(expected, rel=1e-8)
