"""Covariance matrices of (weighted) least-squares coefficients, by type and named convention.

The covariance types are a name → function table (``COVARIANCES``); each returns the sandwich
B·meat·B (B = (X′WX)⁻¹) times the small-sample factor of the chosen ``convention``:

=================  ==========================================================================
``unadjusted``     s²·B, s² = Σwe²/(N − K), K = slopes + 1 + Σ(levels − 1) over absorbed sets
``HC0``…``HC3``    White (1980), MacKinnon–White (1985); HC1 scales HC0 by N/(N − K) (Stata
                   ``regress``/``areg``/``reghdfe`` ``vce(robust)``, fixest ``"hetero"``; plm:
                   k = slopes, + 1 for a pooled model). HC2/HC3 use the leverage of the
                   dummy-variable regression (Stata ``regress y x i.id, vce(hc2)``).
``cluster``        Liang–Zeger; several columns by Cameron, Gelbach and Miller (2011):
                   Σ over non-empty subsets S of (−1)^{|S|+1} V(intersection of S). Factor
                   G/(G−1)·(N−1)/(N−K) with G the fewest clusters (reghdfe, fixest
                   ``cluster.df = "min"``); ``stata`` leaves absorbed sets nested in any cluster
                   column out of K (reghdfe; fixest/pyfixest ``fixef.K = "nested"``, which is also
                   ``xtreg, fe vce(cluster id)``), ``areg`` counts every absorbed level, ``plm``
                   is N/(N − k) (R plm ``vcovHC``/``vcovDC``, ``type = "HC1"``).
``driscoll_kraay`` Driscoll and Kraay (1998) as Hoechle (2007, Stata Journal 7:281) ``xtscc``:
                   h_t = Σᵢ xᵢₜeᵢₜ, Ŝ = Ω₀ + Σⱼ (1 − j/(m+1))(Ωⱼ + Ωⱼ′), factor
                   T/(T−1)·(N−1)/(N−K) with K the slopes, the constant and absorbed sets not
                   nested in the entity (xtscc's rank); ``plm``: N/(N − k) (``vcovSCC``, HC1).
=================  ==========================================================================

Absorbed-level counting follows fixest/pyfixest: Σ(levels − 1) over sets, with no search for
redundancies between sets (reghdfe finds those of the first two sets; the counts agree whenever
the sets are connected, as in any balanced panel).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np

from specrun.errors import SpecError
from specrun.kernels.hdfe import Factor, interact, nested_in
from specrun.spec.models import CovarianceSpec

FEW_CLUSTERS = 10  # below this, cluster-robust inference is known to over-reject


def few_clusters(stats: Mapping[str, float], remedy: str = "") -> list[str]:
    """The warning of every estimator whose standard errors are clustered: ``stats`` holds
    ``n_clusters`` (the fewest clusters of any dimension) when they are; below
    ``FEW_CLUSTERS`` the sandwich is biased down and its t tests over-reject (Cameron and
    Miller 2015, J. Human Resources 50:317, section VI). ``remedy``, when given, follows the
    message (what the estimator offers instead). Returns zero or one message."""
    n = stats.get("n_clusters")
    if n is None or n >= FEW_CLUSTERS:
        return []
    message = (
        f"only {int(n)} clusters: clustered standard errors are unreliable with fewer than "
        f"about {FEW_CLUSTERS} (Cameron and Miller 2015)"
    )
    return [f"{message}; {remedy}" if remedy else message]


@dataclass(frozen=True)
class LeastSquares:
    """A fitted (weighted) least-squares regression, as the covariance estimators need it.

    The design is held as its transformed columns: ``columns`` (k arrays (n,), unscaled) are the
    regressors swept of the absorbed sets (or centred, without any), ``shift`` (k,) the
    (weighted) means added back, so that the design the covariances are defined on is
    D = √w·[X̃ + 1x̄′, 1] (n, k + 1), the constant last (``estimators.linear``). The fit never
    forms D: the score sums need only X̃ and the residuals (:func:`_score_sums`), and the
    estimators that need D row by row (HC, leverage) read :attr:`design`. ``resid`` (n,) is
    scaled by √w. ``factors`` are the absorbed sets on the estimation sample; ``pooled`` marks a
    model with no absorbed set (R plm's k then counts the intercept). ``fe_leverage`` (n,) is
    the absorbed sets' share of the hat diagonal where it is known in closed form, else None.
    """

    columns: tuple[np.ndarray, ...]
    shift: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    slopes: int
    factors: tuple[Factor, ...]
    weights: np.ndarray | None
    fe_leverage: np.ndarray | None

    @property
    def nobs(self) -> int:
        return int(self.resid.size)

    @property
    def width(self) -> int:
        """Columns of the design: the regressors and the constant."""
        return len(self.columns) + 1

    @cached_property
    def design(self) -> np.ndarray:
        """D = √w·[X̃ + 1x̄′, 1], (n, k + 1) column-major, formed on first use."""
        out = np.empty((self.nobs, self.width), order="F")
        for j, column in enumerate(self.columns):
            np.add(column, self.shift[j], out=out[:, j])
        out[:, -1] = 1.0
        if self.weights is not None:
            out *= np.sqrt(self.weights)[:, None]
        return out

    @property
    def pooled(self) -> bool:
        return not self.factors

    @property
    def k_absorbed(self) -> int:
        return sum(f.levels - 1 for f in self.factors)

    @property
    def k_all(self) -> int:
        """Slopes, the constant and every absorbed level: the LSDV regression's rank."""
        return self.slopes + 1 + self.k_absorbed

    @property
    def k_plm(self) -> int:
        return self.slopes + int(self.pooled)


@dataclass(frozen=True)
class Covariance:
    """A coefficient covariance ``matrix`` (p, p), the t reference's ``df`` (None: normal),
    the convention's name as results.json reports it, and the K its correction used."""

    matrix: np.ndarray
    df: int | None
    convention: str
    k: int


@dataclass(frozen=True)
class CovarianceInputs:
    fit: LeastSquares
    spec: CovarianceSpec
    clusters: Mapping[str, np.ndarray]  # cluster name → integer codes (n,)
    entity: np.ndarray  # panel index codes (n,)
    time: np.ndarray  # period codes (n,), increasing with the period


def _fail(message: str, hint: str | None = None) -> SpecError:
    return SpecError(message, code="estimation", hint=hint)


def _sandwich(fit: LeastSquares, meat: np.ndarray) -> np.ndarray:
    return fit.bread @ meat @ fit.bread


def _scores(fit: LeastSquares) -> np.ndarray:
    return fit.design * fit.resid[:, None]


def _score_sums(fit: LeastSquares, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group sums of the scores dᵢeᵢ of the design D = √w·[X̃ + 1x̄′, 1] (see
    :class:`LeastSquares`), (n_groups, k + 1) in the groups' code order, without D or the
    (n, k + 1) score matrix.

    With uᵢ = √wᵢ·eᵢ (= wᵢẽᵢ, ẽ the unscaled residual) a score is (X̃ᵢⱼ + x̄ⱼ)·uᵢ, so the
    sum over a group g is Σ_g X̃ⱼu + x̄ⱼ·Σ_g u, the constant's Σ_g u: one grouped product per
    regressor, taken as the rows lie (:class:`_Layout`)."""
    k = len(fit.columns)
    u = fit.resid if fit.weights is None else fit.resid * np.sqrt(fit.weights)
    layout = _Layout.of(codes, n_groups)
    out = np.empty((n_groups, k + 1))
    out[:, k] = layout.sums(u, None)
    scratch = np.empty(0) if layout.width else np.empty(u.size)
    for j, column in enumerate(fit.columns):
        out[:, j] = layout.sums(column, u, scratch)
    out[:, :k] += out[:, k : k + 1] * fit.shift
    return out


@dataclass(frozen=True)
class _Layout:
    """How the rows of a grouping ``codes`` (n,) lie, for grouped sums of products.

    Each group one contiguous run of rows (a panel sorted by entity): ``starts`` (G,) the
    runs' first rows and ``labels`` (G,) their groups; runs of one ``width`` (a full grid)
    are a (G, width) matrix. Rows cycling through the groups in one order (the periods of a
    full grid sorted by entity, then period): ``cycle``, the groups of the first G rows. Any
    other layout is summed by ``bincount``. Sums come out in code order either way (the
    Driscoll–Kraay lags read them in period order)."""

    codes: np.ndarray
    n_groups: int
    starts: np.ndarray | None = None
    labels: np.ndarray | None = None
    width: int = 0
    cycle: bool = False

    @classmethod
    def of(cls, codes: np.ndarray, n_groups: int) -> _Layout:
        n = codes.size
        if n == 0 or n_groups < 1:
            return cls(codes, n_groups)
        changed = codes[1:] != codes[:-1]
        # as many runs as groups, each a different group: every group is one run
        if np.count_nonzero(changed) + 1 == n_groups:
            starts = np.concatenate([[0], np.flatnonzero(changed) + 1])
            labels = codes[starts]
            if np.bincount(labels, minlength=n_groups).max() == 1:
                size = n // n_groups
                same = n == size * n_groups and bool(np.all(np.diff(starts) == size))
                return cls(codes, n_groups, starts, labels, size if same else 0)
        if n % n_groups == 0 and n_groups > 1:
            first = codes[:n_groups]
            if np.unique(first).size == n_groups and (codes.reshape(-1, n_groups) == first).all():
                return cls(codes, n_groups, labels=first, width=n // n_groups, cycle=True)
        return cls(codes, n_groups)

    def sums(
        self, a: np.ndarray, b: np.ndarray | None, scratch: np.ndarray | None = None
    ) -> np.ndarray:
        """Σ over each group's rows of aᵢbᵢ (of aᵢ when ``b`` is None), (n_groups,) in code
        order; ``scratch`` (n,) holds the products where the layout needs them."""
        g = self.n_groups
        if self.width:
            # one (G, width) or (width, G) matrix: the products summed without a temporary
            # (einsum: ndarray.sum over a short axis is several times slower)
            axes = "rg" if self.cycle else "gr"
            shape = (self.width, g) if self.cycle else (g, self.width)
            if b is None:
                summed = np.einsum(f"{axes}->g", a.reshape(shape))
            else:
                summed = np.einsum(f"{axes},{axes}->g", a.reshape(shape), b.reshape(shape))
        else:
            values = a if b is None else np.multiply(a, b, out=scratch)
            if self.starts is None:
                return np.bincount(self.codes, weights=values, minlength=g)
            summed = np.add.reduceat(values, self.starts)
        out = np.empty(g)
        out[self.labels] = summed
        return out


def _unadjusted(inp: CovarianceInputs) -> Covariance:
    fit = inp.fit
    df = fit.nobs - fit.k_all
    sigma2 = float(fit.resid @ fit.resid) / df
    return Covariance(sigma2 * fit.bread, df, "conventional", fit.k_all)


def _leverage(fit: LeastSquares) -> np.ndarray:
    """Diagonal of the hat matrix of the dummy-variable regression (weighted)."""
    own = np.einsum("ij,jk,ik->i", fit.design, fit.bread, fit.design)
    if fit.pooled:
        return own
    if fit.fe_leverage is None:
        raise _fail(
            "HC2/HC3 with these absorbed effects need the diagonal of the dummy projection, "
            "which specrun has in closed form for one absorbed set or a balanced two-way panel",
            hint="use HC1 or clustered standard errors",
        )
    w = np.ones(fit.nobs) if fit.weights is None else fit.weights
    # the design's constant lies in the span of the dummies: count it once
    return own - w / w.sum() + fit.fe_leverage


def _heteroskedastic(kind: int) -> Callable[[CovarianceInputs], Covariance]:
    def estimate(inp: CovarianceInputs) -> Covariance:
        fit, spec = inp.fit, inp.spec
        n = fit.nobs
        scores = _scores(fit)
        k = fit.k_plm if spec.convention == "plm" else fit.k_all
        if kind >= 2:
            if spec.convention == "plm":
                raise _fail(
                    "R plm's HC2/HC3 use the within design's leverage, a convention specrun "
                    "does not offer",
                    hint="use convention: stata (the dummy regression's leverage)",
                )
            h = _leverage(fit)
            if np.any(h >= 1.0 - 1e-10):
                raise _fail(
                    "observations with leverage one (singleton groups) make HC2/HC3 undefined",
                    hint="set singletons: drop",
                )
            scores = scores / ((1.0 - h) ** (0.5 if kind == 2 else 1.0))[:, None]
        factor = n / (n - k) if kind == 1 else 1.0
        name = {"stata": "stata", "areg": "stata", "plm": "plm"}[spec.convention]
        matrix = factor * _sandwich(fit, scores.T @ scores)
        return Covariance(matrix, n - fit.k_all, f"{name} HC{kind}", k)

    return estimate


def _cluster_meat(fit: LeastSquares, codes: Sequence[np.ndarray]) -> np.ndarray:
    """Cameron–Gelbach–Miller: inclusion–exclusion over the intersections of the dimensions."""
    meat = np.zeros((fit.width, fit.width))
    for r in range(1, len(codes) + 1):
        for combo in combinations(codes, r):
            if r == 1:
                cells, n_cells = combo[0], int(combo[0].max()) + 1
            else:
                cells, n_cells = interact(list(combo))
            summed = _score_sums(fit, cells, n_cells)
            meat += (1.0 if r % 2 else -1.0) * (summed.T @ summed)
    return meat


def _clustered(inp: CovarianceInputs) -> Covariance:
    fit, spec = inp.fit, inp.spec
    names = spec.clusters
    codes = [inp.clusters[name] for name in names]
    counts = [int(c.max(initial=-1)) + 1 for c in codes]
    for name, g in zip(names, counts, strict=True):
        if g < 2:
            raise _fail(f"clustering by {name} needs at least 2 clusters, the sample has {g}")
    if spec.convention == "plm" and len(names) > 2:
        raise _fail("R plm clusters by at most two dimensions (vcovDC)")
    n = fit.nobs
    g = min(counts)
    if spec.convention == "plm":
        k = fit.k_plm
        factor = n / (n - k)
        label = "plm HC1"
    else:
        if spec.convention == "areg":
            k = fit.k_all
            label = "areg"
        else:
            nested = [any(nested_in(f, c) for c in codes) for f in fit.factors]
            k = (
                fit.slopes
                + 1
                + sum(f.levels - 1 for f, x in zip(fit.factors, nested, strict=True) if not x)
            )
            label = "stata"
        factor = g / (g - 1) * (n - 1) / (n - k)
    matrix = factor * _sandwich(fit, _cluster_meat(fit, codes))
    return Covariance(matrix, g - 1, label, k)


def default_lags(periods: int, convention: str) -> int:
    """Bartlett bandwidth when none is given: xtscc's floor(4(T/100)^(2/9)), plm's floor(T^¼)."""
    if convention == "plm":
        return math.floor(periods**0.25)
    return math.floor(4 * (periods / 100) ** (2 / 9))


def _driscoll_kraay(inp: CovarianceInputs) -> Covariance:
    fit, spec = inp.fit, inp.spec
    n_periods = int(inp.time.max(initial=-1)) + 1
    if n_periods < 2:
        raise _fail("Driscoll–Kraay standard errors need at least 2 periods")
    lags = spec.lags if spec.lags is not None else default_lags(n_periods, spec.convention)
    h = _score_sums(fit, inp.time, n_periods)
    meat = h.T @ h
    for j in range(1, min(lags, n_periods - 1) + 1):
        omega = h[j:].T @ h[:-j]
        meat += (1.0 - j / (lags + 1)) * (omega + omega.T)
    n = fit.nobs
    if spec.convention == "plm":
        k = fit.k_plm
        factor = n / (n - k)
        label = f"plm vcovSCC HC1, {lags} lags"
    else:
        entity = inp.entity
        k = fit.slopes + 1 + sum(f.levels - 1 for f in fit.factors if not nested_in(f, entity))
        factor = n_periods / (n_periods - 1) * (n - 1) / (n - k)
        label = f"xtscc, {lags} lags"
    return Covariance(factor * _sandwich(fit, meat), n_periods - 1, label, k)


COVARIANCES: dict[str, Callable[[CovarianceInputs], Covariance]] = {
    "unadjusted": _unadjusted,
    "HC0": _heteroskedastic(0),
    "HC1": _heteroskedastic(1),
    "HC2": _heteroskedastic(2),
    "HC3": _heteroskedastic(3),
    "cluster": _clustered,
    "driscoll_kraay": _driscoll_kraay,
}


def covariance(inputs: CovarianceInputs) -> Covariance:
    """The covariance ``inputs.spec`` asks for (see the module docstring for each convention).

    Raises ``SpecError`` (code ``estimation``) for fewer than two clusters or periods, HC2/HC3
    where the leverage is undefined or not in closed form, and combinations a convention lacks.
    """
    return COVARIANCES[inputs.spec.type](inputs)
