"""Hansen (1999) fixed-effects panel threshold regression: grid search, bootstrap F tests, SEs.

The model (Hansen 1999, "Threshold effects in non-dynamic panels", J. Econometrics 93:345–368) is

    y_it = μ_i + β₁′x_it·I(q_it ∘ γ₁) + β₂′x_it·I(γ₁ ∘ q_it ∘ γ₂) + … + θ′z_it + e_it,

estimated by least squares on within-transformed data. Thresholds are found one at a time (the
second given the first, then the first re-estimated given the second — Hansen's "refinement";
the third given both). The k-th threshold is tested against k − 1 with
F_k = (S_{k−1} − S_k)/σ̂², σ̂² = S_k/n, and a bootstrap p-value that resamples entities' residual
vectors under the null model, re-estimating every threshold in each replication. Confidence
sets are {γ: LR(γ) < −2 ln(1 − √level)} with LR(γ) = (S(γ) − S(γ̂))/σ̂².

Two conventions, named because their numbers differ:

- ``hansen1999`` — Hansen's own GAUSS program: regimes split by q < γ, one period per entity is
  dropped after demeaning (so σ̂² = S/(N(T−1)) with N(T−1) rows), grid = Hansen's quantiles of
  the distinct values of q, conventional SEs with S/(N(T−1) − N − K).
- ``xthreg`` — Wang (2015, Stata Journal 15(1):121–134): regimes split by q ≤ γ, all periods kept,
  and the F and LR statistics scaled by S/(T(N−1)) as xthreg prints them.

What xthreg's published ado file (``xthreg.ado``, version 2014-Jan-9) fixes, and this convention
follows: the final regimes are Stata's ``irecode(q, γ₁, γ₂, …)``, so regime 0 is q ≤ γ₁; the
reported model is ``xtreg, fe`` on the regime interactions, so its SEs are xtreg's (mirrored
here: conventional with S/(N·T − N − K), clustered with G/(G−1)·(n−1)/(n−K−1), K counting the
constant); the double model is rows Th-21 and Th-22 (γ₁ refined given γ₂, γ₂ given γ₁) and the
triple adds Th-3 given both; trim defaults to 0.01 per threshold, grid to 300 points, thlevel to
95, and ``bs()`` gives one replication count per threshold. Everything numerical — the grid, the
S(γ) search, the LR scale, the confidence-set rule, the windows round a fixed threshold and the
bootstrap — is in the compiled Mata library ``lxthreg.mlib``, whose source is not published.
Those parts follow Hansen's (1999) rules on xthreg's sample (all N·T rows) with ``xthreg_grid``
and σ̂² = S/(T(N−1)), the divisor that turns S₀ and S(γ̂) into Wang's printed F = 35.20 (S/(N·T)
gives 35.26). The kernel so reproduces Wang's threshold, F and R², but not his printed interval
[0.0141, 0.0167]: ``xthreg_grid`` explains why no quantile grid can.

Speed (the reason this is a kernel and not a loop over regressions): by Frisch–Waugh the SSR at a
candidate γ is S₀ − c(γ)′A(γ)⁻¹c(γ), where c(γ) = D̃(γ)′e₀ and A(γ) = D̃(γ)′M_W D̃(γ) for the
transformed regime regressor D̃(γ) = P(x·I(q ∘ γ)). Both are cumulative sums over the
observations sorted by q: c from segment sums of x·(P′e₀), A from one pass over each entity's
T × T block of P′P. The bootstrap needs only c for each replication (the regressors do not
change), so every replication's whole SSR curve is one sparse product and one cumulative sum.

Checked by ``tests/test_kernel_threshold.py`` against Hansen's GAUSS output and Tables 2, 3 and 5
of Hansen (1999), Wang (2015) section 5, and against direct least squares on a small panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from specrun.errors import SpecError
from specrun.kernels.within import PanelIndex, demean

Convention = Literal["hansen1999", "xthreg"]
CONVENTIONS: tuple[str, ...] = ("hansen1999", "xthreg")
# The bootstrap works on tiles of (replications × observations): up to 32 replications at once
# and as many whole entities as keep a tile of gathered residuals near 1 MiB (in cache), so the
# work per replication is linear in N·T whatever the panel's length. (One block of all N·T rows
# per replication fell out of cache and grew the bootstrap ~18× for 10× the rows.)
_BOOTSTRAP_CHUNK, _BOOTSTRAP_BLOCK_BYTES = 32, 1 << 20
_CRIT_LEVELS: tuple[float, ...] = (0.90, 0.95, 0.99)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class ThresholdSearch:
    """One grid search: the threshold it finds given the ``fixed`` ones, its CI and LR(γ) curve.

    ``name`` follows xthreg's rows: ``Th-1`` (single), ``Th-22`` (second given the first),
    ``Th-21`` (first re-estimated given the second), ``Th-3`` (third given both).
    """

    name: str
    fixed: tuple[float, ...]
    estimate: float
    ci_low: float
    ci_high: float
    ssr: float
    grid: np.ndarray  # candidate thresholds searched (windows round fixed ones removed)
    ssr_curve: np.ndarray  # S(γ) at each candidate
    lr: np.ndarray  # LR(γ) = (S(γ) − S(γ̂)) / σ̂² at each candidate
    critical_value: float  # −2 ln(1 − √ci_level), the LR cut-off of the confidence set


@dataclass(frozen=True, eq=False)
class ThresholdTest:
    """Bootstrap F test of k thresholds against k − 1 (Hansen 1999, bootstrap of the F test)."""

    n_thresholds: int
    F: float
    p_value: float
    crit_10: float
    crit_5: float
    crit_1: float
    bootstrap: int
    ssr_null: float
    ssr_alternative: float
    bootstrap_F: np.ndarray  # the F statistic of each bootstrap replication

    @property
    def crit(self) -> dict[str, float]:
        return {"10%": self.crit_10, "5%": self.crit_5, "1%": self.crit_1}


@dataclass(frozen=True)
class ThresholdCoefficient:
    """A slope with conventional, White (HC0) and entity-clustered standard errors.

    For a regime slope, ``variable`` is the regime-dependent regressor, ``regime`` its regime's
    number (0 = lowest q) and ``lower``/``upper`` the regime's bounds (None = unbounded).
    """

    name: str
    variable: str
    estimate: float
    se_conventional: float
    se_white: float
    se_cluster_entity: float
    regime: int | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class ThresholdModel:
    """The fitted model with ``n_thresholds`` thresholds (sorted) and its coefficients."""

    n_thresholds: int
    thresholds: tuple[float, ...]
    ssr: float
    r2_within: float
    sigma2: float  # S / N(T−1) (hansen1999) or S / T(N−1) (xthreg): the F and LR scale
    # rows − N − K, K counting period dummies: the divisor of the conventional SEs' S and the
    # t tests' degrees of freedom (xtreg, fe's e(df_r)); not sigma_rows − N − K under xthreg
    df_resid: int
    regime_coefficients: tuple[ThresholdCoefficient, ...]
    control_coefficients: tuple[ThresholdCoefficient, ...]


@dataclass(frozen=True, eq=False)
class ThresholdFit:
    """Everything ``fit_threshold`` estimates; ``model`` is the one with ``max_thresholds``."""

    convention: str
    nobs: int  # rows of the transformed data: N(T−1) for hansen1999, N·T for xthreg
    sigma_rows: int  # σ̂² = S / sigma_rows: N(T−1) (hansen1999) or T(N−1) (xthreg)
    n_entities: int
    n_periods: int
    grid: np.ndarray  # the full candidate grid (before windows round fixed thresholds)
    ssr_linear: float
    thresholds: tuple[ThresholdSearch, ...]  # final estimates: γ₁ (refined when k ≥ 2), γ₂, γ₃
    searches: tuple[ThresholdSearch, ...]  # every search in the order run, with its LR curve
    tests: tuple[ThresholdTest, ...]  # tests[k-1]: k against k − 1 thresholds
    models: tuple[ThresholdModel, ...]  # models[k-1]: the k-threshold model

    @property
    def model(self) -> ThresholdModel:
        return self.models[-1]

    @property
    def regime_coefficients(self) -> tuple[ThresholdCoefficient, ...]:
        return self.model.regime_coefficients

    @property
    def control_coefficients(self) -> tuple[ThresholdCoefficient, ...]:
        return self.model.control_coefficients

    @property
    def r2_within(self) -> float:
        return self.model.r2_within

    @property
    def ssr(self) -> dict[int, float]:
        """SSR per number of thresholds, 0 being the linear fixed-effects model."""
        return {0: self.ssr_linear, **{m.n_thresholds: m.ssr for m in self.models}}


# ----------------------------------------------------------------------------- design


def _as_matrix(values: np.ndarray | None, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.zeros((n, 0))
    arr = np.asarray(values, dtype=float)
    arr = arr.reshape(n, -1) if arr.ndim <= 1 else arr
    if arr.shape[0] != n:
        raise SpecError(f"{what} has {arr.shape[0]} rows but y has {n}", code="data", path=what)
    return arr


def _check_balanced(
    index: PanelIndex, entity: np.ndarray, time: np.ndarray, entity_name: str = "entity"
) -> None:
    """A ``SpecError`` naming the entities that miss or repeat periods, with the sample that
    drops them (``exclude: {firm: [47, 191]}``) where they are few: a sample's ``where:`` on a
    row condition (q1 < 10) leaves entities with holes, and the hint said only "with a
    sample", which has no option dropping whole entities by a condition."""
    if index.balanced:
        return
    entities, periods = np.unique(entity), np.unique(time)
    cells = np.bincount(
        index.entity * index.n_periods + index.time, minlength=index.n_entities * index.n_periods
    ).reshape(index.n_entities, index.n_periods)
    missing = [
        f"{entities[i]} ({', '.join(str(periods[t]) for t in np.flatnonzero(cells[i] == 0))})"
        for i in np.flatnonzero((cells == 0).any(axis=1))
    ]
    doubled = [
        f"{entities[i]} ({', '.join(str(periods[t]) for t in np.flatnonzero(cells[i] > 1))})"
        for i in np.flatnonzero((cells > 1).any(axis=1))
    ]
    parts = []
    if missing:
        shown = "; ".join(missing[:20]) + (
            f"; … {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        entities_ = "1 entity misses" if len(missing) == 1 else f"{len(missing)} entities miss"
        parts.append(f"{entities_} periods: {shown}")
    if doubled:
        parts.append(f"entities with repeated periods: {'; '.join(doubled[:20])}")
    bad = [entities[i] for i in np.flatnonzero(((cells == 0) | (cells > 1)).any(axis=1))]
    if 0 < len(bad) <= 20:
        ids = ", ".join(str(e) for e in bad)
        hint = (
            f"drop them with the sample's exclude: {{{entity_name}: [{ids}]}}, or fill missing "
            "cells with the interpolate transform"
        )
    else:
        hint = (
            "drop the incomplete entities with a sample (a flag made per row, its group_mean "
            f"by {entity_name}, and where: on that mean keep whole entities), or fill missing "
            "cells with the interpolate transform"
        )
    raise SpecError(
        "the panel threshold model needs a balanced panel; " + "; ".join(parts),
        code="data",
        hint=hint,
    )


def hansen_grid(q: np.ndarray, trim: float, n_quantiles: int | None) -> np.ndarray:
    """Hansen's GAUSS grid: distinct values of q at quantiles trim, trim + 1/qn, …, 1 − trim.

    With distinct values d₍₁₎ < … < d₍M₎ the j-th point is d₍⌊s_j·M⌋₎ for
    s_j = trim + j/qn, j = 0 … qn(1 − 2·trim) (1-based order statistics, as the program indexes);
    ``n_quantiles=None`` takes every distinct value from d₍⌊trim·M⌋₎ to d₍⌊(1−trim)·M⌋₎.
    """
    distinct = np.unique(q)
    m = distinct.size
    if n_quantiles is None:
        lo, hi = math.floor(trim * m), math.floor((1 - trim) * m)
        order = np.arange(lo, hi + 1)
    else:
        count = math.floor(n_quantiles - 2 * n_quantiles * trim + 1e-9) + 1
        shares = trim + np.arange(count) * (1.0 / n_quantiles)
        order = np.floor(shares * m).astype(np.int64)
    return np.unique(distinct[np.clip(order - 1, 0, m - 1)])


def xthreg_grid(q: np.ndarray, trim: float, n_points: int | None) -> np.ndarray:
    """Grid of ``n_points`` distinct values of q at evenly spaced quantiles in [trim, 1 − trim].

    The p-quantile is the lower order statistic d₍⌊p(M−1)⌋₎ of the M distinct values. xthreg's
    own grid rule is compiled into its Mata library and not published; with 400 points this one
    gives Wang (2015)'s printed threshold 0.0154, F = 35.20 and R² = 0.0951 on Hansen's data, with
    the interval [0.0144, 0.0179] where Wang prints [0.0141, 0.0167].

    No grid of evenly spaced quantile ranks prints Wang's interval with his estimate, whatever
    the LR scale. On the exact S(γ) curve (which gives his F and R²), with LR in units of
    S(0.0157)/(N·T), the values that print as 0.0141 (0.01406, 0.01408) have LR 6.84 and 4.31,
    while every value from 0.01679 to 0.01757 has LR ≤ 3.93: a cut-off that keeps the lower end
    keeps them. So his grid must hold 0.01406 or 0.01408 (0-based ranks 932–933 of the 7910
    sorted observations, 238–239 of the 6747 distinct values), a point at 0.01536–0.01542
    (961–963 / 264–266), 0.01672 (981 / 283) and none of 982–991 / 284–293: gaps of about 29,
    19 and over 10 ranks, which no constant spacing gives (an interpolated quantile carries the
    S(γ) of the data value below it, so the same ranks bind). Checked numerically over raw and
    distinct values, floor/round/ceil indices and numpy's quantile methods, spacings of 8 to 30
    ranks at every half-rank offset, regimes split by q < γ and by q ≤ γ, LR scales 0.5 to 4
    times N·T, and both interval rules (all accepted grid points; the run round the estimate).
    """
    distinct = np.unique(q)
    m = distinct.size
    lo, hi = math.floor(trim * (m - 1)), math.floor((1 - trim) * (m - 1))
    if n_points is None:
        order = np.arange(lo, hi + 1)
    else:
        order = np.floor(np.linspace(trim, 1 - trim, n_points) * (m - 1)).astype(np.int64)
    return np.unique(distinct[np.clip(order, 0, m - 1)])


@dataclass(frozen=True, eq=False)
class _Design:
    """Transformed data and the cumulative cross-products every grid search reuses.

    Rows are entity-major (entity i's periods 0 … T−1 together). ``P`` is the transform:
    demean within entity, then (hansen1999) drop each entity's last period. ``lift`` applies P′.
    """

    n_entities: int
    n_periods: int
    kept_periods: int
    strict: bool  # regimes split by q < γ (hansen1999) rather than q ≤ γ (xthreg)
    sigma_rows: int  # the divisor of S in σ̂²
    y_t: np.ndarray  # (nobs,) transformed y
    w_t: np.ndarray  # (nobs, p) transformed always-on regressors: controls, x, time dummies
    basis: np.ndarray  # (nobs, p) orthonormal basis of w_t
    basis_lift: np.ndarray  # (N·T, p) P′ basis
    basis_raw: np.ndarray  # (N·T, p) raw-space preimage of the basis: P·basis_raw = basis
    w_raw: np.ndarray  # (N·T, p) always-on regressors, untransformed
    x_raw: np.ndarray  # (N·T, k) regime-dependent regressors, untransformed
    q_raw: np.ndarray  # (N·T,)
    grid: np.ndarray  # (G,)
    segment_x: (
        Any  # a scipy.sparse.csr_matrix ((G+1)·k, N·T): x of each observation in its q-segment
    )
    gram: np.ndarray | None  # (G, k, G, k): D̃(γ_g)′ M_W D̃(γ_h); only for multiple thresholds
    gram_diag_inv: np.ndarray  # (G, k, k): inverse of D̃(γ_g)′ M_W D̃(γ_g)

    @property
    def nobs(self) -> int:
        return self.y_t.size

    @property
    def k(self) -> int:
        return self.x_raw.shape[1]

    def transform(self, raw: np.ndarray, index: PanelIndex) -> np.ndarray:
        return _transform(raw, index, self.kept_periods)

    def lift(self, kept: np.ndarray, index: PanelIndex) -> np.ndarray:
        """P′v: a transformed-space array back to N·T rows (zeros in the dropped period)."""
        return _lift(kept, index, self.kept_periods)

    def segment_cumsum(self, lifted: np.ndarray) -> np.ndarray:
        """Σ_{i: q_i ∘ γ_g} x_i ⊗ v_i for every grid point g: (N·T, B) → (G, k, B)."""
        sums = np.asarray(self.segment_x @ lifted)
        sums = sums.reshape(self.grid.size + 1, self.k, -1)
        return np.cumsum(sums, axis=0)[: self.grid.size]


def _transform(raw: np.ndarray, index: PanelIndex, kept_periods: int) -> np.ndarray:
    swept = demean(raw, index, entity=True)
    if kept_periods == index.n_periods:
        return swept
    shape = (index.n_entities, index.n_periods, *swept.shape[1:])
    return swept.reshape(shape)[:, :kept_periods].reshape(-1, *swept.shape[1:])


def _lift(kept: np.ndarray, index: PanelIndex, kept_periods: int) -> np.ndarray:
    if kept_periods == index.n_periods:
        return demean(kept, index, entity=True)
    cube = kept.reshape(index.n_entities, kept_periods, -1)
    padded = np.zeros((index.n_entities, index.n_periods, cube.shape[2]))
    padded[:, :kept_periods] = cube
    out = demean(padded.reshape(index.n_entities * index.n_periods, -1), index, entity=True)
    return out[:, 0] if kept.ndim == 1 else out


def _orthonormal_basis(w: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """U and V·S⁻¹ of w = U·S·V′: w·(V·S⁻¹) = U, so the same map takes raw regressors to U's
    preimage."""
    if w.shape[1] == 0:
        return w, np.zeros((0, 0))
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    tol = s.max(initial=0.0) * max(w.shape) * np.finfo(float).eps * 1e3
    if np.any(s <= tol):
        scale = np.abs(w).max(axis=0)
        dead = [name for name, sc in zip(names, scale, strict=True) if sc <= 1e-12]
        which = f": {', '.join(dead)} do not vary within entities" if dead else ""
        raise SpecError(
            f"the regressors are collinear after removing entity effects{which}",
            code="estimation",
            hint="drop a regressor that is constant within entities or duplicates another",
        )
    return u, vt.T / s


def _build_design(
    y: np.ndarray,
    regime_x: np.ndarray,
    q: np.ndarray,
    controls: np.ndarray,
    index: PanelIndex,
    *,
    convention: str,
    trim: float,
    grid: int | None,
    time_effects: bool,
    names: Sequence[str],
    full_gram: bool,
) -> _Design:
    n_e, n_t = index.n_entities, index.n_periods
    kept = n_t - 1 if convention == "hansen1999" else n_t
    always = [controls, regime_x]
    if time_effects:
        # Two-way effects as entity demeaning plus period dummies (Frisch–Waugh): one FE kernel.
        always.append((index.time[:, None] == np.arange(1, n_t)[None, :]).astype(float))
    w_raw = np.hstack(always)
    y_t = _transform(y, index, kept)
    w_t = _transform(w_raw, index, kept)
    basis, to_basis = _orthonormal_basis(w_t, names)
    basis_lift = _lift(basis, index, kept)

    grid_values = (hansen_grid if convention == "hansen1999" else xthreg_grid)(q, trim, grid)
    strict = convention == "hansen1999"
    # Observation i enters D̃(γ_g) for every g ≥ segment[i].
    segment = np.searchsorted(grid_values, q, side="right" if strict else "left")
    g1, k, n = grid_values.size + 1, regime_x.shape[1], q.size
    rows = (segment[:, None] * k + np.arange(k)[None, :]).ravel()
    cols = np.repeat(np.arange(n), k)
    from scipy import sparse  # on first fit: validation does not pay for the import

    segment_x = sparse.csr_matrix((regime_x.ravel(), (rows, cols)), shape=(g1 * k, n))

    # D̃(γ)′D̃(γ′) = D(γ)′(P′P)D(γ′) and P′P is block diagonal with one T × T block Ω₀ per entity,
    # so it is a sum over pairs of one entity's observations (i, j) of x_i Ω₀[t_i, t_j] x_j′,
    # counted for every γ ≥ the grid point where i enters and γ′ ≥ the one where j enters.
    centre = np.eye(n_t) - 1.0 / n_t
    omega = centre[:, :kept] @ centre[:kept, :]
    seg_cube = segment.reshape(n_e, n_t)
    x_cube = regime_x.reshape(n_e, n_t, k)
    weights = x_cube[:, :, None, :, None] * omega[None, :, :, None, None]
    weights = (weights * x_cube[:, None, :, None, :]).ravel()  # (N, T, T, k, k)
    seg_i, seg_j = seg_cube[:, :, None], seg_cube[:, None, :]
    inner = np.arange(k * k)[None, None, None, :]
    on_basis = np.asarray(segment_x @ basis_lift).reshape(g1, k, -1)
    on_basis = np.cumsum(on_basis, axis=0)[:-1]  # (G, k, p) = Q_W′D̃(γ_g)
    # The diagonal D̃(γ_g)′D̃(γ_g) gains a pair once both observations have entered.
    last = (np.maximum(seg_i, seg_j)[..., None] * (k * k) + inner).ravel()
    diag = np.bincount(last, weights=weights, minlength=g1 * k * k).reshape(g1, k, k)
    diag = np.cumsum(diag, axis=0)[:-1] - np.einsum("gap,gbp->gab", on_basis, on_basis)
    gram = None
    if full_gram:
        pair_rows = (seg_i[..., None, None] * k + np.arange(k)[:, None]) * (g1 * k)
        pair_cols = seg_j[..., None, None] * k + np.arange(k)[None, :]
        cross = np.bincount(
            (pair_rows + pair_cols).ravel(), weights=weights, minlength=(g1 * k) ** 2
        ).reshape(g1, k, g1, k)
        cross = np.cumsum(np.cumsum(cross, axis=0), axis=2)[:-1, :, :-1, :]
        gram = cross - np.einsum("gap,hbp->gahb", on_basis, on_basis)
    sigma_rows = n_e * kept if convention == "hansen1999" else n_t * (n_e - 1)
    return _Design(
        n_entities=n_e,
        n_periods=n_t,
        kept_periods=kept,
        strict=strict,
        sigma_rows=sigma_rows,
        y_t=y_t,
        w_t=w_t,
        basis=basis,
        basis_lift=basis_lift,
        basis_raw=w_raw @ to_basis,
        w_raw=w_raw,
        x_raw=regime_x,
        q_raw=q,
        grid=grid_values,
        segment_x=segment_x,
        gram=gram,
        gram_diag_inv=_safe_inverse(diag),
    )


def _safe_inverse(blocks: np.ndarray) -> np.ndarray:
    """Moore–Penrose inverse of stacked symmetric k × k blocks: a regime too thin to identify
    all its slopes (or an empty one) explains what its identified part can, as lstsq would."""
    return np.linalg.pinv(blocks, rcond=1e-10, hermitian=True)


# ----------------------------------------------------------------------------- searches


def _window_mask(fixed: np.ndarray, n_grid: int, width: float) -> np.ndarray:
    """Candidates Hansen's program removes round each fixed threshold: (B, m) → (B, G) True=out.

    With nn = number of grid points below a fixed threshold and w = qn·trim, the program drops
    1-based grid positions i with nn − w < i ≤ nn + w (w points below the fixed one, the fixed
    one, w − 1 above: the set that reproduces the GAUSS output's triple-threshold confidence
    region); the fixed point itself is always dropped.
    """
    position = np.arange(1, n_grid + 1)[None, None, :]
    nn = fixed[:, :, None]
    out = (position > nn - width) & (position <= nn + width)
    out |= position - 1 == nn
    return out.any(axis=1)


def _search_ssr(design: _Design, c: np.ndarray, s0: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """SSR at every grid point for every replication, given ``fixed`` grid indices per column.

    c: (G, k, B) = D̃(γ_g)′M_W y; s0: (B,) = ‖M_W y‖²; fixed: (B, m) → (B, G).
    """
    gram, k = design.gram, design.k
    n_grid, n_rep = c.shape[0], c.shape[2]
    if gram is None and fixed.shape[1]:
        raise ValueError("searching given fixed thresholds needs the design's full Gram matrix")
    c_bg = np.moveaxis(c, 2, 0)  # (B, G, k)
    if fixed.shape[1] == 0:
        if k == 1:
            return s0[:, None] - c_bg[:, :, 0] ** 2 * design.gram_diag_inv[None, :, 0, 0]
        return s0[:, None] - np.einsum("bga,gac,bgc->bg", c_bg, design.gram_diag_inv, c_bg)
    if k == 1:
        return _search_ssr_scalar(gram[:, 0, :, 0], c_bg[:, :, 0], s0, fixed)
    m = fixed.shape[1]
    reps = np.arange(n_rep)[:, None]
    a_ff = gram[fixed[:, :, None], :, fixed[:, None, :], :]  # (B, m, m, k, k)
    a_ff = a_ff.transpose(0, 1, 3, 2, 4).reshape(n_rep, m * k, m * k)
    c_f = c_bg[reps, fixed].reshape(n_rep, m * k)  # (B, m·k)
    a_ff_inv = _safe_inverse(a_ff)
    u = np.einsum("bij,bj->bi", a_ff_inv, c_f)
    explained_fixed = np.einsum("bi,bi->b", c_f, u)
    a_gf = gram[np.arange(n_grid)[None, :, None], :, fixed[:, None, :], :]  # (B, G, m, k, k)
    a_gf = a_gf.transpose(0, 1, 3, 2, 4).reshape(n_rep, n_grid, k, m * k)
    c_cond = c_bg - np.einsum("bgai,bi->bga", a_gf, u)
    a_gg = gram[np.arange(n_grid), :, np.arange(n_grid), :]  # (G, k, k)
    a_cond = a_gg[None] - np.einsum("bgai,bij,bgcj->bgac", a_gf, a_ff_inv, a_gf)
    extra = np.einsum("bga,bgac,bgc->bg", c_cond, _safe_inverse(a_cond), c_cond)
    return s0[:, None] - explained_fixed[:, None] - extra


def _search_ssr_scalar(
    gram: np.ndarray, c: np.ndarray, s0: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """``_search_ssr`` for one regime regressor given one or two fixed thresholds (a model has
    at most three), with the scalar and 2 × 2 algebra written out. gram: (G, G); c: (B, G)."""
    diag = np.diagonal(gram)
    reps = np.arange(c.shape[0])
    if fixed.shape[1] == 1:
        f = fixed[:, 0]
        a_ff, c_f = np.maximum(diag[f], 1e-300), c[reps, f]
        explained_fixed = c_f**2 / a_ff
        a_fg = gram[f]  # (B, G): D̃(γ_fixed)′M_W D̃(γ_g)
        c_cond = c - a_fg * (c_f / a_ff)[:, None]
        a_cond = diag[None, :] - a_fg**2 / a_ff[:, None]
    elif fixed.shape[1] == 2:
        f1, f2 = fixed[:, 0], fixed[:, 1]
        a11, a22, a12 = diag[f1], diag[f2], gram[f1, f2]
        det = a11 * a22 - a12**2
        det = np.where(det > 1e-12 * a11 * a22, det, np.inf)  # collinear fixed regimes
        i11, i22, i12 = a22 / det, a11 / det, -a12 / det
        c1, c2 = c[reps, f1], c[reps, f2]
        u1, u2 = i11 * c1 + i12 * c2, i12 * c1 + i22 * c2
        explained_fixed = c1 * u1 + c2 * u2
        a1g, a2g = gram[f1], gram[f2]
        c_cond = c - a1g * u1[:, None] - a2g * u2[:, None]
        a_cond = diag[None, :] - (
            i11[:, None] * a1g**2 + 2 * i12[:, None] * a1g * a2g + i22[:, None] * a2g**2
        )
    else:
        raise ValueError(f"{fixed.shape[1]} fixed thresholds: at most two are searched given")
    # A candidate adding no observation beyond the fixed thresholds explains nothing new.
    ok = a_cond > 1e-10 * np.maximum(diag, 1e-300)[None, :]
    extra = np.where(ok, c_cond**2 / np.where(ok, a_cond, 1.0), 0.0)
    return s0[:, None] - explained_fixed[:, None] - extra


def _sequential_bootstrap_ssr(
    design: _Design,
    c: np.ndarray,
    s0: np.ndarray,
    n_thresholds: int,
    windows: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """SSR with k − 1 and k thresholds found one after another, per replication."""
    n_grid, n_rep = c.shape[0], c.shape[2]
    fixed = np.zeros((n_rep, 0), dtype=np.int64)
    ssr_prev, ssr = s0, s0
    for step in range(n_thresholds):
        curve = _search_ssr(design, c, s0, fixed)
        if step > 0:
            curve = np.where(_window_mask(fixed, n_grid, windows[step]), np.inf, curve)
        best = np.argmin(curve, axis=1)
        ssr_prev, ssr = ssr, curve[np.arange(n_rep), best]
        fixed = np.column_stack([fixed, best])
    return ssr_prev, ssr


# ----------------------------------------------------------------------------- the fit


def _regime_matrix(design: _Design, thresholds: Sequence[float]) -> np.ndarray:
    """Raw x·I(regime r) columns, regimes ordered by q, k columns each: (N·T, (m+1)·k)."""
    cuts = np.sort(np.asarray(thresholds, dtype=float))
    # q = γ belongs above γ under q < γ (hansen1999) and below it under q ≤ γ (xthreg).
    side = "right" if design.strict else "left"
    regime = np.searchsorted(cuts, design.q_raw, side=side)
    blocks = [design.x_raw * (regime == r)[:, None] for r in range(cuts.size + 1)]
    return np.hstack(blocks)


def _null_fit(
    design: _Design, index: PanelIndex, thresholds: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fitted values and residuals (transformed space) of the model with given thresholds, and
    the fitted values' raw-space preimage (the same coefficients on untransformed regressors)."""
    regimes_raw = _regime_matrix(design, thresholds)[:, design.k :]
    x_raw = np.hstack([design.w_raw, regimes_raw])
    x = design.transform(x_raw, index)
    beta, *_ = np.linalg.lstsq(x, design.y_t, rcond=None)
    fitted = x @ beta
    return fitted, design.y_t - fitted, x_raw @ beta


def _search(
    design: _Design,
    c: np.ndarray,
    s0: float,
    fixed_idx: Sequence[int],
    width: float,
    name: str,
    ci_level: float,
) -> tuple[ThresholdSearch, int]:
    fixed = np.asarray(fixed_idx, dtype=np.int64)[None, :]
    curve = _search_ssr(design, c, np.array([s0]), fixed)[0]
    keep = np.isfinite(curve)
    if fixed.shape[1]:
        keep &= ~_window_mask(fixed, design.grid.size, width)[0]
    if not keep.any():
        raise SpecError(
            f"no candidate threshold is left for {name}: the grid is too coarse for the trimming",
            code="estimation",
            hint="lower trim or use more grid points",
        )
    candidates = np.flatnonzero(keep)
    best = int(candidates[np.argmin(curve[candidates])])
    ssr = float(curve[best])
    sigma2 = ssr / design.sigma_rows
    lr = (curve[candidates] - ssr) / sigma2
    crit = -2.0 * math.log(1.0 - math.sqrt(ci_level))
    inside = design.grid[candidates][lr < crit]
    search = ThresholdSearch(
        name=name,
        fixed=tuple(float(design.grid[i]) for i in fixed_idx),
        estimate=float(design.grid[best]),
        ci_low=float(inside.min()),
        ci_high=float(inside.max()),
        ssr=ssr,
        grid=design.grid[candidates].copy(),
        ssr_curve=curve[candidates],
        lr=lr,
        critical_value=crit,
    )
    return search, best


def _bootstrap_test(
    design: _Design,
    index: PanelIndex,
    *,
    n_thresholds: int,
    null_thresholds: Sequence[float],
    statistic: float,
    ssr_null: float,
    ssr_alt: float,
    windows: Sequence[float],
    replications: int,
    rng: np.random.Generator,
    progress: Callable[[int], None],
) -> ThresholdTest:
    """Hansen (1999) bootstrap: y* = ŷ₀ + ê*, with ê* whole entities' residual vectors drawn
    with replacement from the null model's; each replication repeats the sequential search."""
    if replications <= 0:
        nan = float("nan")
        return ThresholdTest(
            n_thresholds, statistic, nan, nan, nan, nan, 0, ssr_null, ssr_alt, np.zeros(0)
        )
    fitted, resid, fitted_raw = _null_fit(design, index, null_thresholds)
    n_e, n_t = design.n_entities, design.n_periods
    # Every statistic a replication needs is linear in P′e*, whose entity blocks are the drawn
    # entities' blocks of P′ê: gathered rows, one thin matrix product for the projections and
    # one bincount (observation → q-segment) for c(γ) at every grid point, per cache-sized tile.
    lifted = design.lift(resid, index).reshape(n_e, n_t)
    dense = np.column_stack([design.basis_raw, fitted_raw])
    n_p = design.basis.shape[1]
    fitted_on_basis = design.basis.T @ fitted
    fitted_sq = float(fitted @ fitted)
    resid_sq = np.einsum("it,it->i", *(resid.reshape(n_e, design.kept_periods),) * 2)
    c_fitted = design.segment_cumsum(design.lift(fitted, index)[:, None])[:, :, 0]  # (G, k)
    c_basis = design.segment_cumsum(design.basis_lift)  # (G, k, p)
    draws = rng.integers(0, n_e, size=(replications, n_e))
    c_all = np.empty((design.grid.size, design.k, replications))
    s0_all = np.empty(replications)
    chunk = max(1, min(_BOOTSTRAP_CHUNK, replications))
    tiles = _bootstrap_tiles(design, dense)
    pool = ThreadPoolExecutor(2, thread_name_prefix="specrun-threshold") if len(tiles) > 1 else None
    try:
        for start in range(0, replications, chunk):
            block = draws[start : start + chunk]
            size, stop = block.shape[0], start + block.shape[0]
            prod, seg_sums = _bootstrap_moments(tiles, lifted, block, pool)
            on_basis = fitted_on_basis[None, :] + prod[:n_p].T  # (b, p) = Q′y*
            y_sq = fitted_sq + 2.0 * prod[n_p] + resid_sq[block].sum(axis=1)
            s0_all[start:stop] = y_sq - np.einsum("bp,bp->b", on_basis, on_basis)
            c = np.cumsum(seg_sums.reshape(design.grid.size + 1, design.k, size), axis=0)
            c = c[: design.grid.size] + c_fitted[:, :, None]  # (G, k, b)
            c -= np.einsum("gap,bp->gab", c_basis, on_basis)
            c_all[:, :, start:stop] = c
            if stop < replications:
                progress(size)
    finally:
        if pool is not None:
            pool.shutdown()
    ssr_prev, ssr = _sequential_bootstrap_ssr(design, c_all, s0_all, n_thresholds, windows)
    stats = (ssr_prev - ssr) / (ssr / design.sigma_rows)
    progress(replications - (replications - 1) // chunk * chunk)
    ordered = np.sort(stats)
    crit = [float(ordered[math.ceil(level * replications) - 1]) for level in _CRIT_LEVELS]
    return ThresholdTest(
        n_thresholds=n_thresholds,
        F=statistic,
        p_value=float(np.mean(stats > statistic)),
        crit_10=crit[0],
        crit_5=crit[1],
        crit_1=crit[2],
        bootstrap=replications,
        ssr_null=ssr_null,
        ssr_alternative=ssr_alt,
        bootstrap_F=stats,
    )


@dataclass(frozen=True, eq=False)
class _Tile:
    """A run of whole entities for the bootstrap: its rows of the dense regressors (transposed)
    and its columns of the observation → q-segment matrix."""

    first: int  # entities first … last − 1
    last: int
    dense_t: np.ndarray  # (m, rows) C-contiguous
    segment_x: Any  # scipy.sparse.csr_matrix ((G+1)·k, rows)


def _bootstrap_tiles(design: _Design, dense: np.ndarray) -> list[_Tile]:
    """Tiles of as many whole entities as keep ``_BOOTSTRAP_CHUNK`` replications' gathered
    residuals near ``_BOOTSTRAP_BLOCK_BYTES`` (in cache)."""
    n_e, n_t = design.n_entities, design.n_periods
    per_tile = max(1, _BOOTSTRAP_BLOCK_BYTES // (8 * n_t * _BOOTSTRAP_CHUNK))
    by_column = design.segment_x.tocsc()
    tiles = []
    for first in range(0, n_e, per_tile):
        last = min(n_e, first + per_tile)
        rows = slice(first * n_t, last * n_t)
        tiles.append(
            _Tile(first, last, np.ascontiguousarray(dense[rows].T), by_column[:, rows].tocsr())
        )
    return tiles


def _bootstrap_moments(
    tiles: Sequence[_Tile],
    lifted: np.ndarray,
    draws: np.ndarray,
    pool: ThreadPoolExecutor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_tile_moments` over the tiles, in two fixed halves summed half by half.

    The halves run on two threads of ``pool`` when it is given (the gathers and products
    release the GIL), one after the other otherwise: the sums are the same either way, so
    the numbers do not depend on the machine. A single tile (every panel of up to
    ``_BOOTSTRAP_BLOCK_BYTES`` of residual blocks, the paper's 31 × 11 included) is one
    half: its sums are those of the serial kernel.
    """
    if len(tiles) < 2:
        return _tile_moments(tiles, lifted, draws)
    middle = (len(tiles) + 1) // 2
    halves = (tiles[:middle], tiles[middle:])
    if pool is None:
        first, second = (_tile_moments(half, lifted, draws) for half in halves)
    else:
        first, second = pool.map(lambda half: _tile_moments(half, lifted, draws), halves)
    return first[0] + second[0], first[1] + second[1]


def _tile_moments(
    tiles: Sequence[_Tile], lifted: np.ndarray, draws: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What every bootstrap replication needs from its resampled residuals, tile by tile.

    Replication b's transformed residual vector P′e* holds, at entity position i, the block
    ``lifted[draws[b, i]]`` (T values). Returns ``prod`` (m, B) = dense′(P′e*) and
    ``seg_sums`` ((G+1)·k, B) = Σ x·(P′e*) over the observations of each q-segment, whose
    cumulative sum over segments is c(γ) at every grid point. Each tile gathers whole entity
    blocks (contiguous copies of T values), then one small dense and one sparse product; the
    tiles stay in cache, so the cost is O(B·N·T·(m + k)) whatever N.
    Shapes: lifted (N, T), draws (B, N) entity indices.
    """
    n_rep = draws.shape[0]
    prod = np.zeros((tiles[0].dense_t.shape[0], n_rep))
    seg_sums = np.zeros((tiles[0].segment_x.shape[0], n_rep))
    for tile in tiles:
        # indices are entity numbers drawn in range: "clip" skips the bounds check (a third of
        # the gather), the values are the same
        gathered = np.take(lifted, draws[:, tile.first : tile.last].T, axis=0, mode="clip")
        columns = np.ascontiguousarray(gathered.transpose(0, 2, 1)).reshape(-1, n_rep)
        prod += tile.dense_t @ columns
        seg_sums += tile.segment_x @ columns
    return prod, seg_sums


def _fit_model(
    design: _Design,
    index: PanelIndex,
    thresholds: Sequence[float],
    *,
    n_controls: int,
    x_names: Sequence[str],
    q_name: str,
    control_names: Sequence[str],
) -> ThresholdModel:
    cuts = sorted(float(t) for t in thresholds)
    regimes = design.transform(_regime_matrix(design, cuts), index)
    x = np.hstack([design.w_t[:, :n_controls], regimes, design.w_t[:, n_controls + design.k :]])
    if x.shape[0] - design.n_entities - x.shape[1] <= 0:
        # the variance S/(rows − N − K) would divide by zero or less: a perfect fit whose
        # standard errors were left empty, t = 0 and p = 1 printed, exit 0
        raise SpecError(
            f"no residual degrees of freedom with {len(cuts)} threshold"
            f"{'s' if len(cuts) > 1 else ''} ({x.shape[0]} observations, "
            f"{design.n_entities} entities, K = {x.shape[1]})",
            code="estimation",
            hint="fewer thresholds (max_thresholds), fewer regressors, or a larger sample",
        )
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ design.y_t)
    resid = design.y_t - x @ beta
    ssr = float(resid @ resid)
    n, p, n_e = x.shape[0], x.shape[1], design.n_entities
    # Conventional: S/(rows − N − K) as Hansen's program and xtreg, fe divide.
    se_conv = np.sqrt(np.diag(xtx_inv) * ssr / (n - n_e - p))
    score = x * resid[:, None]
    se_white = np.sqrt(np.diag(xtx_inv @ (score.T @ score) @ xtx_inv))
    cluster_score = score.reshape(n_e, design.kept_periods, p).sum(axis=1)
    # Stata's xtreg, fe vce(cluster): G/(G−1)·(n−1)/(n−K−1), the constant counted in K.
    factor = n_e / (n_e - 1) * (n - 1) / (n - p - 1)
    with np.errstate(invalid="ignore"):  # a negative variance (round-off): NaN, reported
        se_cluster = np.sqrt(
            np.diag(xtx_inv @ (cluster_score.T @ cluster_score) @ xtx_inv) * factor
        )

    def coefficient(
        j: int,
        name: str,
        variable: str,
        regime: int | None = None,
        lower: float | None = None,
        upper: float | None = None,
    ) -> ThresholdCoefficient:
        return ThresholdCoefficient(
            name=name,
            variable=variable,
            estimate=float(beta[j]),
            se_conventional=float(se_conv[j]),
            se_white=float(se_white[j]),
            se_cluster_entity=float(se_cluster[j]),
            regime=regime,
            lower=lower,
            upper=upper,
        )

    low_op, high_op = ("≤", "<") if design.strict else ("<", "≤")
    regime_coefs = []
    bounds = [None, *cuts, None]
    for r in range(len(cuts) + 1):
        lower, upper = bounds[r], bounds[r + 1]
        text = " ".join(
            part
            for part in (
                f"{lower:.4g} {low_op}" if lower is not None else "",
                q_name,
                f"{high_op} {upper:.4g}" if upper is not None else "",
            )
            if part
        )
        if lower is not None and upper is None:
            text = f"{q_name} {'≥' if design.strict else '>'} {lower:.4g}"
        for a, variable in enumerate(x_names):
            j = n_controls + r * design.k + a
            regime_coefs.append(
                coefficient(
                    j, f"{variable}·I({text})", variable, regime=r, lower=lower, upper=upper
                )
            )
    control_coefs = [coefficient(j, nm, nm) for j, nm in enumerate(control_names)]
    tss = float(design.y_t @ design.y_t)
    return ThresholdModel(
        n_thresholds=len(cuts),
        thresholds=tuple(cuts),
        ssr=ssr,
        r2_within=1.0 - ssr / tss,
        sigma2=ssr / design.sigma_rows,
        df_resid=n - n_e - p,
        regime_coefficients=tuple(regime_coefs),
        control_coefficients=tuple(control_coefs),
    )


def _validate_options(
    max_thresholds: int, trim: Sequence[float], ci_level: float, convention: str, grid: int | None
) -> tuple[float, ...]:
    if convention not in CONVENTIONS:
        raise SpecError(
            f"unknown convention {convention!r}; choose one of {', '.join(CONVENTIONS)}",
            code="schema",
            path="convention",
        )
    if max_thresholds not in (1, 2, 3):
        raise SpecError(
            f"max_thresholds must be 1, 2 or 3, not {max_thresholds}",
            code="schema",
            path="max_thresholds",
        )
    trims = tuple(float(t) for t in trim)
    if len(trims) == 1:
        trims = trims * max_thresholds
    if len(trims) < max_thresholds:
        raise SpecError(
            f"trim has {len(trims)} values for {max_thresholds} thresholds: give one or one each",
            code="schema",
            path="trim",
        )
    if any(not 0.0 <= t < 0.5 for t in trims):
        raise SpecError("each trim must be in [0, 0.5)", code="schema", path="trim")
    if not 0.0 < ci_level < 1.0:
        raise SpecError("ci_level must be between 0 and 1", code="schema", path="ci_level")
    if grid is not None and grid < 3:
        raise SpecError("grid must be at least 3 points", code="schema", path="grid")
    return trims


def fit_threshold(
    y: np.ndarray,
    regime_x: np.ndarray,
    q: np.ndarray,
    controls: np.ndarray | None,
    entity: np.ndarray,
    time: np.ndarray,
    *,
    max_thresholds: int = 1,
    trim: Sequence[float] = (0.01,),
    grid: int | None = None,
    bootstrap: int = 300,
    seed: int = 0,
    ci_level: float = 0.95,
    convention: Convention = "hansen1999",
    time_effects: bool = False,
    progress: Callable[[int, int], None] | None = None,
    regime_names: Sequence[str] | None = None,
    control_names: Sequence[str] | None = None,
    q_name: str = "q",
    entity_name: str = "entity",
) -> ThresholdFit:
    """Hansen (1999) fixed-effects panel threshold model with 1 to ``max_thresholds`` thresholds.

    Sequential estimation with Hansen's refinement, bootstrap F tests (``bootstrap``
    replications per test, entities' residual vectors resampled under the null), LR confidence
    sets and regime slopes with conventional, White and
    entity-clustered SEs. ``grid`` is the number of quantiles (Hansen's ``qn``, xthreg's
    ``grid``) or None for every distinct value of q; ``trim`` is one share or one per threshold.
    ``time_effects`` adds period dummies to the always-on regressors. Requires a balanced panel.

    Reference tests: ``tests/test_kernel_threshold.py`` (Hansen's GAUSS output, Tables 2, 3, 5;
    Wang 2015 section 5; direct least squares on a small panel).
    """
    trims = _validate_options(max_thresholds, trim, ci_level, convention, grid)
    # One BLAS thread: the products here are thin (N·T × a few columns), where a second
    # OpenBLAS thread costs more in synchronisation than it saves.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(
            y,
            regime_x,
            q,
            controls,
            entity,
            time,
            max_thresholds=max_thresholds,
            trims=trims,
            grid=grid,
            bootstrap=bootstrap,
            seed=seed,
            ci_level=ci_level,
            convention=convention,
            time_effects=time_effects,
            progress=progress,
            regime_names=regime_names,
            control_names=control_names,
            q_name=q_name,
            entity_name=entity_name,
        )


def _fit(
    y: np.ndarray,
    regime_x: np.ndarray,
    q: np.ndarray,
    controls: np.ndarray | None,
    entity: np.ndarray,
    time: np.ndarray,
    *,
    max_thresholds: int,
    trims: tuple[float, ...],
    grid: int | None,
    bootstrap: int,
    seed: int,
    ci_level: float,
    convention: str,
    time_effects: bool,
    progress: Callable[[int, int], None] | None,
    regime_names: Sequence[str] | None,
    control_names: Sequence[str] | None,
    q_name: str,
    entity_name: str,
) -> ThresholdFit:
    y_arr = np.asarray(y, dtype=float).ravel()
    n = y_arr.size
    x_arr = _as_matrix(regime_x, n, "regime_x")
    z_arr = _as_matrix(controls, n, "controls")
    q_arr = np.asarray(q, dtype=float).ravel()
    if q_arr.size != n:
        raise SpecError(f"q has {q_arr.size} rows but y has {n}", code="data", path="q")
    for what, arr in (("y", y_arr), ("regime_x", x_arr), ("q", q_arr), ("controls", z_arr)):
        if not np.all(np.isfinite(arr)):
            raise SpecError(f"{what} has missing or infinite values", code="data", path=what)
    if x_arr.shape[1] == 0:
        raise SpecError("regime_x needs at least one regressor", code="schema", path="regime_x")
    x_names = list(regime_names or [f"x{j + 1}" for j in range(x_arr.shape[1])])
    z_names = list(control_names or [f"z{j + 1}" for j in range(z_arr.shape[1])])

    index = PanelIndex.from_labels(np.asarray(entity), np.asarray(time))
    _check_balanced(index, np.asarray(entity), np.asarray(time), entity_name)
    order = np.lexsort((index.time, index.entity))
    index = PanelIndex(
        np.asarray(index.entity)[order],
        np.asarray(index.time)[order],
        index.n_entities,
        index.n_periods,
        True,
    )
    y_arr, x_arr, z_arr, q_arr = y_arr[order], x_arr[order], z_arr[order], q_arr[order]
    if index.n_periods < 2 + (convention == "hansen1999"):
        raise SpecError("the panel has too few periods per entity", code="data")
    if index.n_entities < 2:
        # xthreg's σ̂² divides by T(N − 1), and the bootstrap redraws entities: one entity was
        # a ZeroDivisionError (exit 3)
        raise SpecError(
            "the panel threshold model needs at least 2 entities; the sample has 1",
            code="data",
        )

    design = _build_design(
        y_arr,
        x_arr,
        q_arr,
        z_arr,
        index,
        convention=convention,
        trim=trims[0],
        grid=grid,
        time_effects=time_effects,
        names=[*z_names, *x_names],
        full_gram=max_thresholds > 1,
    )
    quantiles = grid if grid is not None else np.unique(q_arr).size
    windows = [quantiles * t for t in trims]

    on_basis = design.basis.T @ design.y_t
    e0 = design.y_t - design.basis @ on_basis
    s_linear = float(e0 @ e0)
    c = design.segment_cumsum(design.lift(e0, index)[:, None])

    searches: list[ThresholdSearch] = []
    first, g1 = _search(design, c, s_linear, [], 0.0, "Th-1", ci_level)
    searches.append(first)
    finals = [first]
    stats = [(s_linear - first.ssr) / (first.ssr / design.sigma_rows)]
    nulls: list[tuple[tuple[float, ...], float, float]] = [((), s_linear, first.ssr)]
    model_thresholds = [(first.estimate,)]
    if max_thresholds >= 2:
        second, g2 = _search(design, c, s_linear, [g1], windows[1], "Th-22", ci_level)
        refined, g1r = _search(design, c, s_linear, [g2], windows[1], "Th-21", ci_level)
        searches += [second, refined]
        finals = [refined, second]
        stats.append((first.ssr - second.ssr) / (second.ssr / design.sigma_rows))
        nulls.append(((first.estimate,), first.ssr, second.ssr))
        model_thresholds.append((refined.estimate, second.estimate))
        if max_thresholds >= 3:
            third, _ = _search(design, c, s_linear, [g1r, g2], windows[2], "Th-3", ci_level)
            searches.append(third)
            finals.append(third)
            stats.append((refined.ssr - third.ssr) / (third.ssr / design.sigma_rows))
            nulls.append(((refined.estimate, second.estimate), refined.ssr, third.ssr))
            model_thresholds.append((refined.estimate, second.estimate, third.estimate))

    total = bootstrap * max_thresholds
    done = 0

    def advance(step: int) -> None:
        nonlocal done
        done += step
        if progress is not None:
            progress(done, total)

    rng = np.random.default_rng(seed)
    tests = []
    for k in range(1, max_thresholds + 1):
        null_thresholds, ssr_null, ssr_alt = nulls[k - 1]
        tests.append(
            _bootstrap_test(
                design,
                index,
                n_thresholds=k,
                null_thresholds=null_thresholds,
                statistic=float(stats[k - 1]),
                ssr_null=ssr_null,
                ssr_alt=ssr_alt,
                windows=[0.0, windows[k - 1], windows[k - 1]],
                replications=bootstrap,
                rng=rng,
                progress=advance,
            )
        )

    models = tuple(
        _fit_model(
            design,
            index,
            cuts,
            n_controls=z_arr.shape[1],
            x_names=x_names,
            q_name=q_name,
            control_names=z_names,
        )
        for cuts in model_thresholds
    )
    return ThresholdFit(
        convention=convention,
        nobs=design.nobs,
        sigma_rows=design.sigma_rows,
        n_entities=index.n_entities,
        n_periods=index.n_periods,
        grid=design.grid.copy(),
        ssr_linear=s_linear,
        thresholds=tuple(finals),
        searches=tuple(searches),
        tests=tuple(tests),
        models=models,
    )
