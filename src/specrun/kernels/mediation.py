"""Mediation kernels: Sobel-type tests of an indirect effect a·b and its vectorized bootstrap.

The Baron and Kenny (1986) steps, as tested by Wen and Ye (2014), are three regressions sharing
their controls and fixed effects:

    total     Y = c·X + controls + effects + e
    mediator  M = a·X + controls + effects + e
    outcome   Y = c′·X + b·M + controls + effects + e

The indirect effect is a·b (equal to c − c′ for OLS on one sample). Its significance is judged by
a normal-theory test (Sobel 1982, or Aroian's and Goodman's variants) or by a bootstrap CI, which
does not assume a·b normal (Preacher and Hayes 2008). The estimator that prints the three fits
through linearmodels lives in ``specrun.estimators``; this module works on arrays only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from threadpoolctl import threadpool_limits

from specrun.errors import SpecError
from specrun.kernels.distributions import normal_cdf, normal_quantile, two_sided_p
from specrun.kernels.within import (
    EntityBlocks,
    PanelIndex,
    entity_blocks,
    multiplicities,
    resample_indices,
    weighted_gram,
)

IndirectTestMethod = Literal["sobel", "aroian", "goodman"]


@dataclass(frozen=True)
class IndirectEffectTest:
    """A normal-theory z test of the indirect effect a·b (two-sided p-value)."""

    method: IndirectTestMethod
    estimate: float  # a·b
    std_error: float  # NaN when Goodman's variance is negative
    z: float
    p_value: float


def _indirect_test(
    method: IndirectTestMethod, a: float, se_a: float, b: float, se_b: float, sign: int
) -> IndirectEffectTest:
    values = np.array([a, se_a, b, se_b], dtype=float)
    if not np.all(np.isfinite(values)) or se_a < 0 or se_b < 0:
        raise SpecError(
            f"{method} test needs finite a, b and non-negative standard errors; got a={a}, "
            f"se_a={se_a}, b={b}, se_b={se_b}",
            code="estimation",
        )
    variance = b**2 * se_a**2 + a**2 * se_b**2 + sign * se_a**2 * se_b**2
    std_error = float(np.sqrt(variance)) if variance > 0 else float("nan")
    estimate = float(a * b)
    z = estimate / std_error if variance > 0 else float("nan")
    p_value = float(two_sided_p(z)) if variance > 0 else float("nan")
    return IndirectEffectTest(method, estimate, std_error, float(z), p_value)


def sobel_test(a: float, se_a: float, b: float, se_b: float) -> IndirectEffectTest:
    """Sobel (1982) first-order delta-method test of a·b.

    se(a·b) = sqrt(b²·se_a² + a²·se_b²), z = a·b / se(a·b), p = 2·(1 − Φ(|z|)). It treats
    â and b̂ as independent, which holds for OLS estimates of the mediator and outcome equations.
    Checked against lavaan's delta-method SE of ``ab`` in
    ``tests/test_kernel_mediation.py::test_sobel_matches_lavaan_delta_method``.
    """
    return _indirect_test("sobel", a, se_a, b, se_b, 0)


def aroian_test(a: float, se_a: float, b: float, se_b: float) -> IndirectEffectTest:
    """Aroian (1947) second-order test: se(a·b) = sqrt(b²·se_a² + a²·se_b² + se_a²·se_b²).

    The version Baron and Kenny (1986) print; checked in
    ``tests/test_kernel_mediation.py::test_sobel_family_formulas``.
    """
    return _indirect_test("aroian", a, se_a, b, se_b, +1)


def goodman_test(a: float, se_a: float, b: float, se_b: float) -> IndirectEffectTest:
    """Goodman (1960) unbiased-variance test: se(a·b) = sqrt(b²·se_a² + a²·se_b² − se_a²·se_b²).

    The variance can be negative when both paths are weak; the SE, z and p are then NaN rather
    than a made-up number. Checked in
    ``tests/test_kernel_mediation.py::test_sobel_family_formulas``.
    """
    return _indirect_test("goodman", a, se_a, b, se_b, -1)


@dataclass(frozen=True)
class MediationPaths:
    """Point estimates of the Baron–Kenny paths on one sample (per draw when arrays)."""

    a: np.ndarray  # X → M (mediator equation)
    b: np.ndarray  # M → Y given X (outcome equation)
    total: np.ndarray  # c: X → Y (total equation)
    direct: np.ndarray  # c′: X → Y given M (outcome equation)

    @property
    def indirect(self) -> np.ndarray:
        return self.a * self.b


@dataclass(frozen=True)
class MediationBootstrap:
    """Bootstrap distribution of the indirect effect a·b and its percentile and BC intervals.

    ``indirect`` keeps every successful draw (draws whose design is singular, e.g. a resample in
    which a control does not vary within entities, are dropped and counted in ``n_failed``, as
    Stata's ``bootstrap`` does). ``bias_correction`` is Efron's z₀ used by the BC interval.
    """

    estimate: float  # a·b on the original sample
    a: float
    b: float
    total: float
    direct: float
    indirect: np.ndarray  # (n_draws - n_failed,) a·b per draw
    a_draws: np.ndarray
    b_draws: np.ndarray
    std_error: float  # standard deviation of the draws
    ci_level: float
    ci_low: float  # percentile interval
    ci_high: float
    bc_ci_low: float  # bias-corrected interval
    bc_ci_high: float
    bias_correction: float
    n_draws: int
    n_failed: int
    seed: int | None
    resample_unit: Literal["entity", "row"]
    entity_effects: bool
    time_effects: bool


def _check_columns(
    y: np.ndarray, x: np.ndarray, m: np.ndarray, controls: np.ndarray | None
) -> np.ndarray:
    columns = {"y": np.asarray(y, dtype=float), "x": np.asarray(x, dtype=float)}
    columns["m"] = np.asarray(m, dtype=float)
    n = columns["y"].shape[0]
    for name, values in columns.items():
        if values.ndim != 1 or values.shape[0] != n:
            raise SpecError(
                f"mediation variable {name!r} must be one column of {n} values, got shape "
                f"{values.shape}",
                code="data",
            )
    extra = np.zeros((n, 0)) if controls is None else np.asarray(controls, dtype=float)
    if extra.ndim == 1:
        extra = extra[:, None]
    if extra.ndim != 2 or extra.shape[0] != n:
        raise SpecError(
            f"mediation controls must be an ({n}, k) array, got shape {extra.shape}", code="data"
        )
    stacked = np.column_stack([columns["x"], columns["m"], extra, columns["y"]])
    bad = ~np.isfinite(stacked)
    if bad.any():
        names = ["x", "m", *(f"controls[{j}]" for j in range(extra.shape[1])), "y"]
        culprit = names[int(np.nonzero(bad.any(axis=0))[0][0])]
        raise SpecError(
            f"mediation variable {culprit} has {int(bad.sum())} missing or infinite value(s); "
            "drop them from the sample first",
            code="data",
        )
    return stacked


def _panel_index(
    n: int, entity: np.ndarray | None, time: np.ndarray | None, time_effects: bool
) -> tuple[PanelIndex, Literal["entity", "row"]]:
    if entity is None:
        if time is not None or time_effects:
            raise SpecError(
                "mediation with time effects needs entity codes as well, to resample entities",
                code="estimation",
            )
        # A cross-section: every row is its own resampling unit and the model has an intercept.
        rows = np.arange(n, dtype=np.intp)
        return PanelIndex(rows, np.zeros(n, dtype=np.intp), n, 1, True), "row"
    entity_codes = np.asarray(entity)
    time_codes = np.zeros(n, dtype=np.intp) if time is None else np.asarray(time)
    if entity_codes.shape != (n,) or time_codes.shape != (n,):
        raise SpecError(
            f"entity and time codes must have one value per observation ({n})", code="data"
        )
    if time is None and time_effects:
        raise SpecError("time effects need time codes", code="estimation")
    return PanelIndex.from_labels(entity_codes, time_codes), "entity"


def mediation_paths(gram: np.ndarray) -> MediationPaths:
    """The four paths from within Gram matrices of columns [x, m, controls…, y], batched.

    ``gram`` is (B, p, p); the mediator and total equations share the regressors [x, controls]
    and are solved together, the outcome equation on [x, m, controls] (normal equations of OLS
    on within-transformed data, Frisch–Waugh–Lovell). Raises ``numpy.linalg.LinAlgError`` when a
    matrix is exactly singular. Checked against PanelOLS in
    ``tests/test_kernel_mediation.py::test_panel_draw_equals_panelols_refit``.
    """
    p = gram.shape[-1]
    controls = list(range(2, p - 1))
    short = [0, *controls]
    long = [0, 1, *controls]
    short_gram = gram[:, short][:, :, short]
    short_rhs = gram[:, short][:, :, [1, p - 1]]
    short_beta = np.linalg.solve(short_gram, short_rhs)
    long_gram = gram[:, long][:, :, long]
    long_rhs = gram[:, long][:, :, [p - 1]]
    long_beta = np.linalg.solve(long_gram, long_rhs)
    return MediationPaths(
        a=short_beta[:, 0, 0],
        b=long_beta[:, 1, 0],
        total=short_beta[:, 0, 1],
        direct=long_beta[:, 0, 0],
    )


def _full_rank(gram: np.ndarray) -> np.ndarray:
    p = gram.shape[-1]
    long = list(range(p - 1))
    return np.linalg.matrix_rank(gram[:, long][:, :, long], hermitian=True) == p - 1


def _draw_paths(blocks: EntityBlocks, weights: np.ndarray) -> tuple[MediationPaths, np.ndarray]:
    gram = weighted_gram(blocks, weights)
    ok = np.ones(gram.shape[0], dtype=bool)
    try:
        paths = mediation_paths(gram)
    except np.linalg.LinAlgError:
        ok = _full_rank(gram)
        paths = mediation_paths(gram[ok])
    finite = np.isfinite(paths.a) & np.isfinite(paths.b)
    if not finite.all():
        kept = np.nonzero(ok)[0]
        ok[kept[~finite]] = False
        paths = MediationPaths(
            paths.a[finite], paths.b[finite], paths.total[finite], paths.direct[finite]
        )
    return paths, ok


# How a bootstrap interval reads a quantile off the draws (the ``ci_quantile`` option)
BootQuantile = Literal["linear", "boot"]


def draw_quantiles(
    draws: np.ndarray, probs: np.ndarray | list[float], method: BootQuantile = "linear"
) -> np.ndarray:
    """The ``probs`` quantiles of the bootstrap ``draws`` (1-d), by one of two definitions.

    ``linear``: numpy's default, R's ``quantile`` type 7 (interpolating between the order
    statistics at (B − 1)p + 1). ``boot``: Davison and Hinkley (1997, section 5.2), the
    (B + 1)p-th order statistic, interpolated on the normal-quantile scale when (B + 1)p is not
    whole, the smallest or largest draw beyond the ends — R boot's ``norm.inter``, which
    ``boot.ci`` and lavaan's ``parameterEstimates`` (``boot.ci.type = "perc"`` and
    ``"bca.simple"``) use. The two differ by a fraction of the spacing of neighbouring draws.
    """
    probs = np.asarray(probs, dtype=float)
    if method == "linear":
        return np.quantile(draws, probs)
    ordered = np.sort(draws)
    size = ordered.size
    rank = (size + 1) * probs
    k = np.trunc(rank).astype(int)
    whole = k == rank
    low = ordered[np.clip(k - 1, 0, size - 1)]
    high = ordered[np.clip(k, 0, size - 1)]
    inner = (k > 0) & (k < size) & ~whole
    out = np.where(k <= 0, ordered[0], np.where(k >= size, ordered[-1], low))
    if inner.any():
        z_p = normal_quantile(probs[inner])
        z_k = normal_quantile(k[inner] / (size + 1))
        z_k1 = normal_quantile((k[inner] + 1) / (size + 1))
        out[inner] = low[inner] + (z_p - z_k) / (z_k1 - z_k) * (high[inner] - low[inner])
    return out


def percentile_interval(
    draws: np.ndarray, ci_level: float, quantile: BootQuantile = "linear"
) -> tuple[float, float]:
    """Efron's percentile interval: the (1 ± level)/2 quantiles of the draws, read by
    :func:`draw_quantiles` (default linear interpolation, numpy's default, R's type 7)."""
    tail = (1.0 - ci_level) / 2.0
    low, high = draw_quantiles(draws, [tail, 1.0 - tail], quantile)
    return float(low), float(high)


def bias_corrected_interval(
    draws: np.ndarray, estimate: float, ci_level: float, quantile: BootQuantile = "linear"
) -> tuple[float, float, float]:
    """Efron (1982) bias-corrected interval and its z₀.

    z₀ = Φ⁻¹(share of draws below the estimate, ties counted half); the interval is the
    Φ(2z₀ ± z_{(1+level)/2}) quantiles of the draws (read by :func:`draw_quantiles`). With
    z₀ = 0 it is the percentile interval.
    """
    below = (np.sum(draws < estimate) + 0.5 * np.sum(draws == estimate)) / draws.size
    # A share of exactly 0 or 1 would give an infinite z0; clip to half a draw from the edge.
    below = float(np.clip(below, 0.5 / draws.size, 1.0 - 0.5 / draws.size))
    z0 = float(normal_quantile(below))
    z_tail = float(normal_quantile((1.0 + ci_level) / 2.0))
    probs = normal_cdf([2.0 * z0 - z_tail, 2.0 * z0 + z_tail])
    low, high = draw_quantiles(draws, probs, quantile)
    return float(low), float(high), z0


def bootstrap_indirect(
    y: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    controls: np.ndarray | None = None,
    *,
    entity: np.ndarray | None = None,
    time: np.ndarray | None = None,
    entity_effects: bool = False,
    time_effects: bool = False,
    n_draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    ci_level: float = 0.95,
    ci_quantile: BootQuantile = "linear",
    max_gram_entries: int = 4_000_000,
    blas_threads: int | None = 1,
) -> MediationBootstrap:
    """Nonparametric bootstrap of the indirect effect a·b (Preacher and Hayes 2008).

    Panels (``entity`` given) resample whole entities with replacement — the cluster or "block"
    bootstrap, which keeps each entity's serial correlation — and every drawn copy keeps its own
    fixed effect, i.e. is treated as a distinct entity. Cross-sections (``entity=None``)
    resample rows and fit with an intercept; so does a panel without entity or time effects.

    No draw is refitted: per-entity within cross-products are computed once
    (:func:`specrun.kernels.within.entity_blocks`), each draw's Gram matrix is a
    multiplicity-weighted sum of them (minus the time-mean correction when there are time
    effects), and the three regressions of all draws are solved by batched ``np.linalg.solve``.
    This is exact: equal to PanelOLS on the resampled, relabelled data
    (``tests/test_kernel_mediation.py::test_panel_draw_equals_panelols_refit``). Balanced panels
    and one-way effects take the weighted-sum path; two-way effects on an unbalanced panel add
    the time dummies to the blocks and partial them out per draw (slower in T, still exact).

    Draws are generated ``max_gram_entries`` at a time to bound memory (the chunking draws the
    same resamples; their sums may differ in the last bit, as BLAS may order the terms of a
    product of another shape differently); ``blas_threads=None`` leaves BLAS threading as
    configured.

    The percentile CI (Efron 1979) and the bias-corrected CI (Efron 1982) are both reported,
    their quantiles read as ``ci_quantile`` says (:func:`draw_quantiles`); the lavaan tutorial
    example is reproduced within Monte-Carlo error in
    ``tests/test_kernel_mediation.py::test_bootstrap_ci_matches_lavaan``.
    """
    if n_draws < 2:
        raise SpecError(f"bootstrap needs at least 2 draws, got {n_draws}", code="estimation")
    if not 0.0 < ci_level < 1.0:
        raise SpecError(f"ci_level must lie in (0, 1), got {ci_level}", code="estimation")
    stacked = _check_columns(y, x, m, controls)
    index, unit = _panel_index(stacked.shape[0], entity, time, time_effects)
    blocks = entity_blocks(stacked, index, entity=entity_effects, time=time_effects)
    try:
        point = mediation_paths(weighted_gram(blocks, np.ones((1, index.n_entities))))
    except np.linalg.LinAlgError:
        point = None
    if point is None or not np.isfinite(point.indirect[0]):
        raise SpecError(
            "mediation regressors are collinear (a control may not vary within entities or "
            "periods once the fixed effects are swept out)",
            code="estimation",
        )

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    q = blocks.gram.shape[1]
    chunk = max(1, min(n_draws, max_gram_entries // (index.n_entities + q * q)))
    parts: list[tuple[MediationPaths, np.ndarray]] = []
    # The batched products are small (B × N by N × p²): a second BLAS thread costs more in
    # start-up than it saves (bench/mediation.py measures both), so BLAS defaults to one thread.
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for start in range(0, n_draws, chunk):
            size = min(chunk, n_draws - start)
            drawn = resample_indices(index.n_entities, size, rng)
            parts.append(_draw_paths(blocks, multiplicities(drawn, index.n_entities)))
    a_draws = np.concatenate([paths.a for paths, _ in parts])
    b_draws = np.concatenate([paths.b for paths, _ in parts])
    n_failed = int(sum(int((~ok).sum()) for _, ok in parts))
    indirect = a_draws * b_draws
    if indirect.size < 2:
        raise SpecError(
            f"only {indirect.size} of {n_draws} bootstrap draws could be fitted", code="estimation"
        )
    estimate = float(point.indirect[0])
    ci_low, ci_high = percentile_interval(indirect, ci_level, ci_quantile)
    bc_low, bc_high, z0 = bias_corrected_interval(indirect, estimate, ci_level, ci_quantile)
    return MediationBootstrap(
        estimate=estimate,
        a=float(point.a[0]),
        b=float(point.b[0]),
        total=float(point.total[0]),
        direct=float(point.direct[0]),
        indirect=indirect,
        a_draws=a_draws,
        b_draws=b_draws,
        std_error=float(np.std(indirect, ddof=1)),
        ci_level=ci_level,
        ci_low=ci_low,
        ci_high=ci_high,
        bc_ci_low=bc_low,
        bc_ci_high=bc_high,
        bias_correction=z0,
        n_draws=n_draws,
        n_failed=n_failed,
        seed=seed if isinstance(seed, int) else None,
        resample_unit=unit,
        entity_effects=entity_effects,
        time_effects=time_effects,
    )
