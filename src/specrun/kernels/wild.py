"""Wild cluster bootstrap (restricted, WCR) p-values and confidence intervals for one coefficient.

The algorithm is Roodman, MacKinnon, Nielsen and Webb (2019), "Fast and wild: bootstrap
inference in Stata using boottest", Stata Journal 19(1), 4–60, sections 3–5, for the WCR11
bootstrap of a linear regression y = Xβ + u with clusters g = 1…G:

* impose H₀: β_j = r, estimate the restricted model and keep its residuals ũ;
* draw one weight v_g per cluster and draw b (Rademacher ±1, or Webb's six points ±√½, ±1, ±√1.5
  with equal probability), set u*_b = ũ ∘ v and refit; with A = (X′X)⁻¹ and a its row j,
  β̂*_j − r = Σ_g v_g a′X_g′ũ_g and the bootstrap scores of the CRVE are S = M v with the G × G
  matrix M = diag(a′X_g′ũ_g) − (a′X_g′X_g A)(X_h′ũ_h): every draw costs O(G²), not O(N);
* t*_b = (β̂*_j − r) / √(c Σ_g S_gb²) with c the CRV1 small-sample factor (default
  G/(G − 1)·(N − 1)/(N − K), as boottest after ``regress``); the symmetric p-value is the share
  of draws with |t*_b| ≥ |t| (ties, such as the draws v = ±1 that return the original sample,
  count as exceeding, as in ``wildboottest``), and the confidence interval the set of r the
  test does not reject, found by bisection on each side of β̂_j.

With Rademacher weights and 2^G ≤ ``draws`` every sign vector is enumerated once (boottest and
``wildboottest`` do the same), so the p-value is exact and deterministic. Random weights come
from ``numpy.random.default_rng(seed)`` drawn as a (G, draws) matrix in the order of the sorted
cluster labels, the layout of the ``wildboottest`` package (0.3), which this kernel reproduces
draw for draw (``tests/test_kernel_wild.py``).

Fixed effects: pass data with the fixed effects partialled out (within-transformed y and X) and
``small_sample`` with K counting the absorbed levels as the estimator does. The restricted
residuals of the within regression equal those of the dummy-variable regression (Frisch–Waugh–
Lovell), and the bootstrap on within data equals the bootstrap of the dummy-variable model when
each fixed-effect group lies within one bootstrap cluster (e.g. entity effects, clusters of
entities), the case boottest's documentation recommends.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from specrun.kernels.within import group_sums

WEBB = np.concatenate([-np.sqrt(np.array([3.0, 2.0, 1.0]) / 2), np.sqrt(np.array([1, 2, 3]) / 2)])
TIE = 1e-9  # relative tolerance within which |t*| and |t| are the same number
MAX_ENUMERATED = 20  # 2^20 sign vectors is the largest full enumeration offered


@dataclass(frozen=True)
class WildBootstrap:
    """A wild cluster bootstrap test of β_j = ``null``.

    ``estimate`` β̂_j; ``t_stat`` its CRV1 t statistic against ``null``; ``p_value`` the
    symmetric bootstrap p-value; ``ci`` the (lower, upper) bounds at ``level`` (None when not
    asked for); ``draws`` the number of bootstrap samples used (2^G when ``enumerated``);
    ``weights`` the weight distribution; ``clusters`` G; ``small_sample`` the CRV1 factor.
    """

    estimate: float
    t_stat: float
    p_value: float
    ci: tuple[float, float] | None
    level: float | None
    null: float
    draws: int
    enumerated: bool
    weights: str
    clusters: int
    small_sample: float
    seed: int | None


class _Problem:
    """Everything about (X, y, clusters, j) that does not depend on the null value r."""

    def __init__(self, x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_groups: int, j: int):
        n, k = x.shape
        self.a = np.linalg.inv(x.T @ x)[j]  # row j of (X′X)⁻¹, (K,)
        inv = np.linalg.inv(x.T @ x)
        beta = inv @ (x.T @ y)
        self.estimate = float(beta[j])
        # per-cluster X_g′X_g as (G, K, K): sums of row outer products
        outer = (x[:, :, None] * x[:, None, :]).reshape(n, k * k)
        xgxg = group_sums(outer, codes, n_groups).reshape(n_groups, k, k)
        self.w = np.einsum("k,gkl,lm->gm", self.a, xgxg, inv)  # (G, K)
        self.x = x
        self.codes = codes
        self.n_groups = n_groups
        # the unrestricted CRVE score of coefficient j: a′X_g′û_g
        resid = y - x @ beta
        self.scores = group_sums(x * resid[:, None], codes, n_groups) @ self.a
        # restricted residuals are linear in r: ũ(r) = ũ₀ − r·m
        others = np.delete(x, j, axis=1)
        if others.shape[1]:
            proj = np.linalg.lstsq(others, np.column_stack([y, x[:, j]]), rcond=None)[0]
            fitted = others @ proj
        else:
            fitted = np.zeros((n, 2))
        self.u0 = y - fitted[:, 0]
        self.m = x[:, j] - fitted[:, 1]
        self._weights: np.ndarray | None = None

    def t_stat(self, r: float, factor: float) -> float:
        se = np.sqrt(factor * float(self.scores @ self.scores))
        return (self.estimate - r) / se

    def t_boot(self, r: float, factor: float, v: np.ndarray) -> np.ndarray:
        """t*_b for every column of the (G, B) weights ``v``.

        ũ(r) = ũ₀ − r·m makes the numerator and the bootstrap scores linear in r, so the
        squared denominator is a quadratic in r whose three (B,) coefficients are computed
        once per weight matrix: testing another r (interval search) costs O(B).
        """
        if self._weights is not v:
            self._prepare(v)
        numer = self._numer0 - r * self._numer1
        squared = self._quad0 - 2 * r * self._quad1 + r * r * self._quad2
        with np.errstate(divide="ignore", invalid="ignore"):
            return numer / np.sqrt(factor * np.clip(squared, 0.0, None))

    def _prepare(self, v: np.ndarray) -> None:
        parts = []
        for u in (self.u0, self.m):
            z = group_sums(self.x * u[:, None], self.codes, self.n_groups)  # (G, K): X_g′u_g
            c = z @ self.a  # (G,)
            # numerator Σ_g v_g c_g and scores diag(c)v − (a′X_g′X_g A)(Σ_h z_h v_h), (G, B)
            parts.append((c @ v, c[:, None] * v - self.w @ (z.T @ v)))
        (self._numer0, scores0), (self._numer1, scores1) = parts
        self._quad0 = np.einsum("gb,gb->b", scores0, scores0)
        self._quad1 = np.einsum("gb,gb->b", scores0, scores1)
        self._quad2 = np.einsum("gb,gb->b", scores1, scores1)
        self._weights = v

    def p_value(self, r: float, factor: float, v: np.ndarray) -> float:
        t = abs(self.t_stat(r, factor))
        # A draw whose |t*| equals |t| counts as at least as extreme: the weights v = ±1 give
        # back the original sample (t* = ±t exactly in theory), so enumerated p-values are
        # never below 2/2^G; rounding must not decide those ties.
        return float(np.mean(np.abs(self.t_boot(r, factor, v)) >= t * (1 - TIE)))


def wild_weights(
    n_clusters: int,
    draws: int,
    kind: Literal["rademacher", "webb"],
    seed: int | None,
) -> tuple[np.ndarray, bool]:
    """The (G, B) weight matrix and whether it enumerates every Rademacher sign vector.

    Rademacher with 2^G ≤ ``draws``: all 2^G vectors, in ``itertools.product`` order. Otherwise
    ``default_rng(seed).choice(points, size=G·draws)`` reshaped to (G, draws), as the
    ``wildboottest`` package draws them.
    """
    if kind == "rademacher" and n_clusters <= MAX_ENUMERATED and 2**n_clusters <= draws:
        signs = np.array(list(itertools.product([-1.0, 1.0], repeat=n_clusters))).T
        return signs, True
    rng = np.random.default_rng(seed)
    points = np.array([-1.0, 1.0]) if kind == "rademacher" else WEBB
    return rng.choice(points, size=n_clusters * draws).reshape(n_clusters, draws), False


def wild_cluster_bootstrap(
    x: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    coef: int,
    *,
    null: float = 0.0,
    draws: int = 9999,
    weights: Literal["rademacher", "webb"] = "webb",
    seed: int | None = None,
    level: float | None = 0.95,
    small_sample: float | None = None,
    tol: float = 1e-8,
) -> WildBootstrap:
    """WCR wild cluster bootstrap test and confidence interval for coefficient ``coef``.

    Parameters
    ----------
    x : (N, K) design (include the constant; fixed effects already partialled out).
    y : (N,) outcome.
    clusters : (N,) cluster labels (any sortable type).
    coef : column of ``x`` tested.
    null : r in H₀: β_coef = r.
    draws : bootstrap samples B (Rademacher with 2^G ≤ B enumerates all 2^G instead).
    weights : ``rademacher`` or ``webb`` (Webb 2023's six-point distribution, advised for
        fewer than about 12 clusters).
    seed : seed of ``numpy.random.default_rng``; required for random draws.
    level : confidence level of the interval, or None for no interval.
    small_sample : CRV1 factor c; default G/(G − 1)·(N − 1)/(N − K). It scales t and every t*
        alike, so it changes the reported t statistic but not the p-value or the interval.
    tol : bisection tolerance of the interval bounds, relative to the CRV1 standard error.

    Returns a :class:`WildBootstrap`. Raises ``ValueError`` for fewer than 2 clusters, a
    rank-deficient ``x``, a missing seed for random draws, or a level outside (0, 1).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],) or len(clusters) != x.shape[0]:
        raise ValueError("x must be (N, K), y (N,) and clusters (N,)")
    n, k = x.shape
    _, codes = np.unique(np.asarray(clusters), return_inverse=True)
    g = int(codes.max()) + 1 if n else 0
    if g < 2:
        raise ValueError(f"the wild cluster bootstrap needs at least 2 clusters, got {g}")
    if np.linalg.matrix_rank(x) < k:
        raise ValueError("the design matrix is rank deficient")
    if level is not None and not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    v, enumerated = wild_weights(g, draws, weights, seed)
    if not enumerated and seed is None:
        raise ValueError("random bootstrap weights need a seed (results must be reproducible)")
    factor = small_sample if small_sample is not None else g / (g - 1) * (n - 1) / (n - k)
    problem = _Problem(x, y, codes.astype(np.intp), g, coef)
    p = problem.p_value(null, factor, v)
    ci = None
    if level is not None:
        ci = _interval(problem, factor, v, 1.0 - level, tol)
    return WildBootstrap(
        estimate=problem.estimate,
        t_stat=problem.t_stat(null, factor),
        p_value=p,
        ci=ci,
        level=level,
        null=null,
        draws=v.shape[1],
        enumerated=enumerated,
        weights=weights,
        clusters=g,
        small_sample=factor,
        seed=None if enumerated else seed,
    )


def _interval(
    problem: _Problem, factor: float, v: np.ndarray, alpha: float, tol: float
) -> tuple[float, float]:
    """Bounds where the bootstrap p-value of H₀: β_j = r falls to ``alpha``, each found by
    widening a bracket from β̂_j in steps of the CRV1 standard error, then bisecting."""
    estimate = problem.estimate
    se = abs(estimate / problem.t_stat(0.0, factor)) if estimate else 1.0
    se = se if np.isfinite(se) and se > 0 else 1.0

    def rejected(r: float) -> bool:
        return problem.p_value(r, factor, v) <= alpha

    bounds = []
    for side in (-1.0, 1.0):
        inner, step = estimate, se
        outer = estimate + side * step
        for _ in range(60):
            if rejected(outer):
                break
            inner, step = outer, step * 2
            outer = estimate + side * step
        else:
            bounds.append(side * np.inf)  # never rejected: the interval is unbounded
            continue
        # far from β̂ (few clusters widen the bracket to ~2⁶⁰ SEs) float spacing exceeds
        # tol·se, so stop as well when the midpoint no longer moves
        while abs(outer - inner) > tol * se:
            middle = 0.5 * (inner + outer)
            if middle in (inner, outer):
                break
            if rejected(middle):
                outer = middle
            else:
                inner = middle
        bounds.append(0.5 * (inner + outer))
    return bounds[0], bounds[1]


def bootstrap_coefficients(
    design: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    names: list[str],
    tested: list[str],
    *,
    draws: int,
    weights: Literal["rademacher", "webb"],
    seed: int,
    level: float,
) -> dict[str, dict[str, object]]:
    """:func:`wild_cluster_bootstrap` of each coefficient in ``tested`` (columns of ``design``
    named by ``names``) against 0, as results-ready records: ``p_value``, ``ci`` [lower, upper],
    ``t_stat``, ``draws``, ``enumerated``, ``weights``, ``seed``, ``level``, ``clusters``. Every
    coefficient uses the same weight matrix (the same seed), as boottest does per test."""
    out: dict[str, dict[str, object]] = {}
    for name in tested:
        found = wild_cluster_bootstrap(
            design,
            y,
            clusters,
            names.index(name),
            draws=draws,
            weights=weights,
            seed=seed,
            level=level,
        )
        out[name] = {
            "p_value": found.p_value,
            "ci": list(found.ci) if found.ci is not None else None,
            "t_stat": found.t_stat,
            "draws": found.draws,
            "enumerated": found.enumerated,
            "weights": found.weights,
            "seed": found.seed,
            "level": found.level,
            "clusters": found.clusters,
            "method": "WCR11, null imposed (boottest)",
        }
    return out
