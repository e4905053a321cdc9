"""Linear models: pooled OLS and fixed-effects regressions absorbing any sets of effects.

``panel_fe`` sweeps every absorbed set (``absorb: [entity, time, industry, industry#year]``) out of
y and x with ``kernels.hdfe`` and solves the normal equations of the swept data (LAPACK ``gesv``
through numpy), after a pivoted-Cholesky rank check; ``ols`` is the same on the centred columns.
The normal equations come from the swept columns' Gram matrix and sums, entry by entry, which
the fits on the same rows share (a multiverse's specifications differing in their controls or
covariance); the means are added back by exact algebra (:func:`_normal_equations`), and no
(n, k) design is formed unless a covariance reads it row by row (HC, the wild bootstrap).
Both take analytic weights (Stata ``[aweight=w]``: weighted least squares, residual scores wᵢxᵢeᵢ,
N the number of rows). Following ``xtreg, fe`` and ``reghdfe``, the FE model's constant is
ȳ − x̄′β̂ (weighted means), and two R² are reported: ``r2_within`` (1 − SSR / Σ(yᵢₜ − ȳᵢ)² when
only entity and time are absorbed, as ``xtreg, fe`` with time dummies; 1 − SSR / Σỹ² with every
set swept, as reghdfe, otherwise), ``r2_within_hdfe`` (1 − SSR / Σỹ² with every set swept, always:
fixest's and plm's within R², reghdfe's e(r2_within)) and ``r2_lsdv`` (1 − SSR / Σ(yᵢₜ − ȳ)², the
dummy regression's).
``f_u0`` is ``xtreg, fe``'s F test that all entity effects are zero, the other sets kept.

Covariances are in ``estimators.covariance``; references: ``tests/test_estimators_linear.py``
(R plm 2.6.2 and Stata on Grunfeld) and ``tests/test_estimators_hdfe.py`` (pyfixest 0.60,
statsmodels dummy regressions, linearmodels 7.1, the cases of ``cases/inference``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.estimators.base import FitContext, coefficient_table
from specrun.estimators.covariance import (
    Covariance,
    CovarianceInputs,
    LeastSquares,
    covariance,
    default_lags,
    few_clusters,
)
from specrun.estimators.omit import collinear_columns
from specrun.estimators.specs.linear import (
    INDEX,
    OlsSpec,
    PanelFeSpec,
)
from specrun.kernels.distributions import f_sf
from specrun.kernels.hdfe import (
    Factor,
    Projection,
    demean,
    factor_codes,
    grid_layout,
    group_means,
    interact,
    singleton_rows,
)
from specrun.kernels.memo import FitMemo
from specrun.kernels.wild import bootstrap_coefficients
from specrun.results import ModelResult

CONSTANT = "_cons"


def _fail(message: str, ctx: FitContext, hint: str | None = None) -> SpecError:
    return SpecError(message, code="estimation", path=f"models.{ctx.name}", hint=hint)


RANKED_ROWS = 10_000  # text columns at least this long are coded by polars' rank


def _column(frame: pl.DataFrame, name: str, ctx: FitContext) -> np.ndarray:
    """Column ``name`` (``entity`` and ``time`` stand for the panel's index) as an (n,) array
    for ``factor_codes``: a long text column as its dense ranks (0, 1, …, in sorted order), so
    that its codes are the same as the text's, without an array of n Python strings and a sort
    of them (0.2 s per fit at 341,000 rows and 31,000 provinces, 0.02 s ranked in polars).

    A long entity index that holds each entity in one run of rows (a panel sorted by entity,
    in any order of the labels) is numbered in the order its runs come instead: with the
    periods in order within each entity the two-way grid then reads as an (entities, periods)
    matrix (``kernels.hdfe.grid_layout``'s ``sorted``), whose sweep takes row and column means
    rather than two ``bincount`` passes and gathers (4× faster at 341,000 rows). The codes
    only name the entities; no result depends on their order beyond the order of additions."""
    series = frame[{"entity": ctx.entity, "time": ctx.time}.get(name, name)]
    if series.len() >= RANKED_ROWS and not series.null_count():
        starts = _runs(series)
        if name == "entity" and starts is not None:
            lengths = np.diff(np.append(starts, series.len()))
            return np.repeat(np.arange(starts.size, dtype=np.int64), lengths)
        if series.dtype == pl.String:
            return _text_ranks(series, starts)
    return series.to_numpy()


def _runs(series: pl.Series) -> np.ndarray | None:
    """The first row of each run of equal values (k,) when every value fills one run and runs
    are two rows long or more on average (a panel's entity column); else None."""
    starts = series.ne_missing(series.shift(1)).arg_true()
    if starts.len() * 2 <= series.len() and series.gather(starts).n_unique() == starts.len():
        return starts.to_numpy()
    return None


def _text_ranks(series: pl.Series, starts: np.ndarray | None) -> np.ndarray:
    """Dense ranks (0, 1, …) of a text column (n,) without nulls, int64 (n,).

    A column that holds each value in one run of rows (``starts``, :func:`_runs`) ranks the
    runs' first values and repeats each rank over its run: the same ranks as ranking every
    row, at about a third of the cost (19 ms against 51 ms at 341,000 rows and 31,000
    provinces); any other column is ranked row by row."""
    if starts is not None:
        ranks = series.gather(starts).rank("dense").to_numpy().astype(np.int64) - 1
        return np.repeat(ranks, np.diff(np.append(starts, series.len())))
    return series.rank("dense").to_numpy().astype(np.int64) - 1


def absorbed_factors(frame: pl.DataFrame, terms: list[str], ctx: FitContext) -> list[Factor]:
    """The absorbed sets ``terms`` (entity, time, a column, or a#b) as factors on ``frame``."""
    factors = []
    for term in terms:
        parts = [p.strip() for p in term.split("#")]
        codes, levels = interact([_column(frame, p, ctx) for p in parts])
        factors.append(Factor(term, codes, levels))
    return factors


def analytic_weights(frame: pl.DataFrame, name: str | None, ctx: FitContext) -> np.ndarray | None:
    """Column ``name`` as analytic weights (n,), or None; ``SpecError`` naming the first row
    (entity and period) that is missing or not positive."""
    if name is None:
        return None
    w = frame[name].cast(pl.Float64).to_numpy()
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        first = int(np.argmax(bad))
        what = "missing" if not np.isfinite(w[first]) else f"{w[first]:g}"
        raise _fail(
            f"weights '{name}' must be positive: {what} at {ctx.entity} "
            f"{frame[ctx.entity][first]}, {ctx.time} {frame[ctx.time][first]} "
            f"({int(bad.sum())} such row{'' if int(bad.sum()) == 1 else 's'})",
            ctx,
            hint="analytic weights are positive; to fit without those rows, give the model "
            f"sample: {{where: '{name} > 0'}}",
        )
    return w


def _absorbed_by(
    column: np.ndarray, factors: list[Factor], w: np.ndarray | None, tol: float
) -> str:
    """Which absorbed set explains a regressor: one set alone, else all of them jointly."""
    scale = float(_wss(column - _wmean(column, w), w))
    for factor in factors:
        rest = demean(column, [factor], weights=w).values
        if _wss(rest, w) <= tol * scale:
            return f"the fixed effect '{factor.name}'"
    return "the fixed effects jointly (" + ", ".join(f.name for f in factors) + ")"


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ aᵢbᵢ of two (n,) vectors. numpy's own loop, not BLAS: OpenBLAS splits a dot product of
    more than 10,000 elements over its threads, and waking them cost ~15 ms a call on a busy
    two-core machine (0.2 ms summed in one thread at 341,000 rows); the sum no longer depends
    on the thread count either."""
    return float(np.einsum("i,i->", a, b))


def _wmean(values: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    if w is None:
        return values.mean(axis=0)
    if values.ndim > 1:
        return (w @ values) / w.sum()
    return _dot(w, values) / float(w.sum())


def _wss(values: np.ndarray, w: np.ndarray | None) -> float:
    return _dot(values, values) if w is None else _dot(values * w, values)


def _column_moments(
    values: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Weighted) means, sums of squared deviations from them and sums of squares of each
    column of an (n, k) array, shapes (k,); a column at a time, so no (n, k) temporary.

    The deviations' sum of squares is taken as Σx² − n·x̄² (two reductions, no temporary)
    unless that loses more than half the digits to cancellation — a nearly constant column,
    whose spread the constant check must see exactly — and then as Σ(x − x̄)²."""
    k = values.shape[1]
    mean, spread, size = np.empty(k), np.empty(k), np.empty(k)
    total = float(values.shape[0]) if w is None else float(w.sum())
    for j in range(k):
        column = values[:, j]
        mean[j] = column.mean() if w is None else _dot(w, column) / total
        size[j] = _wss(column, w)
        spread[j] = size[j] - total * mean[j] ** 2
        if spread[j] <= 1e-8 * size[j]:
            spread[j] = _wss(column - mean[j], w)
    return mean, spread, size


def _check_columns(
    gram: np.ndarray,
    spread: np.ndarray,
    size: np.ndarray,
    n: int,
    names: list[str],
    factors: list[Factor],
    w: np.ndarray | None,
    ctx: FitContext,
    raw: Callable[[str], np.ndarray],
) -> None:
    """Regressors absorbed by the effects (or constant), then collinearity among the rest.

    ``gram`` (k, k) is the (weighted) Gram matrix of the swept (or centred) regressors,
    ``spread`` and ``size`` their raw columns' sums of squared deviations and of squares
    (:func:`_column_moments`); ``raw`` reads one raw column, for the message naming the set
    that absorbs it."""
    if n <= len(names) + 1:
        raise _fail(f"{n} complete observations for {len(names) + 1} coefficients", ctx)
    tol = 1e-9
    left = np.diag(gram) if factors else spread
    for j, name in enumerate(names):
        if spread[j] == 0.0 or spread[j] <= 1e-24 * max(size[j], 1e-300):
            raise _fail(f"'{name}' is constant in the sample", ctx)
        if factors and left[j] <= tol * spread[j]:
            raise _fail(f"'{name}' is absorbed by {_absorbed_by(raw(name), factors, w, tol)}", ctx)
    if not names:
        return
    d = np.sqrt(np.diag(gram))
    scaled = gram / np.outer(d, d)
    if pivoted_cholesky_rank(scaled, 1e-10) < len(names):
        _, vectors = np.linalg.eigh(scaled)
        involved = [n for n, v in zip(names, vectors[:, 0], strict=True) if abs(v) > 1e-6]
        raise _fail(
            "regressors are collinear"
            + (" once the effects are absorbed" if factors else "")
            + ": "
            + ", ".join(involved),
            ctx,
        )


def _entity_means(
    stacked: np.ndarray, factors: list[Factor], entity: Factor, layout: str
) -> np.ndarray:
    """Per-entity column means (levels, k) of an (n, k) array on a full entity × time grid: row
    means of each column read as an entities × periods matrix when the rows are sorted by
    entity then period, ``bincount`` means otherwise."""
    if layout == "sorted" and factors[0] is entity:
        return np.column_stack(
            [stacked[:, j].reshape(entity.levels, -1).mean(axis=1) for j in range(stacked.shape[1])]
        )
    return group_means(stacked, entity.codes, entity.levels)


def _wdot(a: np.ndarray, b: np.ndarray, w: np.ndarray | None) -> float:
    """Σ wᵢaᵢbᵢ of (n,) vectors (Σ aᵢbᵢ without weights), in numpy's own loop (:func:`_dot`)."""
    return _dot(a, b) if w is None else _dot(a * w, b)


def _fe_leverage(factors: list[Factor], w: np.ndarray | None) -> np.ndarray | None:
    """The dummies' hat diagonal where it has a closed form: one set, or a balanced grid."""
    if len(factors) == 1:
        f = factors[0]
        weight = np.ones(f.codes.size) if w is None else w
        totals = np.bincount(f.codes, weights=weight, minlength=f.levels)
        return weight / totals[f.codes]
    if len(factors) == 2 and w is None and grid_layout(*factors) is not None:
        a, b = factors
        n = a.codes.size
        return np.full(n, 1.0 / b.levels + 1.0 / a.levels - 1.0 / n)
    return None


def _kept_columns(
    columns: list[np.ndarray], names: list[str], ctx: FitContext, *, constant: bool
) -> list[int]:
    """Indices of the regressors (``columns``, k arrays (n,), swept or centred) to keep:
    factor-level columns (``ctx.omittable``) collinear with the absorbed effects, the constant
    or earlier columns are left out, as Stata marks them ``o.``; the executor records them as
    omitted. The (n, k) matrix is formed only when some regressor is omittable."""
    if not any(name in ctx.omittable for name in names):
        return list(range(len(names)))
    x = np.column_stack(columns) if columns else np.empty((0, 0))
    dropped = set(collinear_columns(x, names, ctx.omittable, constant=constant))
    return [j for j, name in enumerate(names) if name not in dropped]


def pivoted_cholesky_rank(gram: np.ndarray, tol: float) -> int:
    """Rank of a symmetric positive semi-definite (k, k) ``gram``: the number of steps a
    Cholesky factorisation with complete (diagonal) pivoting takes before the largest pivot
    left is at most ``tol`` (the caller has refused constant columns, which would scale to NaN).

    LAPACK's ``dpstf2`` (the unblocked ``dpstrf``, which it runs for k < 64) step by step: the
    pivots are the diagonal less the running sums of the squared entries above it, the first
    largest is taken, and the step stops when it is ``<= tol`` (the first when it is ``<= 0``);
    ``tol`` is absolute, as ``dpstrf``'s ``TOL >= 0``. Numpy alone, so that a fit does not
    import ``scipy.linalg`` (0.15–0.3 s) for a loop of k steps.
    ``tests/test_estimators_linear.py`` compares the rank with ``dpstrf``'s on ties and nearly
    collinear matrices."""
    a = np.array(gram, dtype=float)
    k = a.shape[0]
    # Every pivot of a Cholesky factorisation, in any order, is a diagonal entry of a Schur
    # complement S, whose inverse is a principal submatrix of A⁻¹: by Cauchy interlacing the
    # pivot is at least A's least eigenvalue λ, which numpy's LAPACK finds to within a small
    # multiple of ε·‖A‖ ≤ k·ε (a unit diagonal). With λ far above ``tol`` every pivot is too:
    # the k-step loop below (0.1 ms in Python at k = 7) runs only near the tolerance.
    if k and np.isfinite(a).all() and np.linalg.eigvalsh(a)[0] > 100.0 * tol + k * k * 1e-15:
        return k
    diag = np.diag(a).copy()
    sums = np.zeros(k)
    for j in range(k):
        if j > 0:
            sums[j:] += a[j:, j - 1] ** 2
        left = diag[j:] - sums[j:]
        p = j + int(np.argmax(left))  # the first of equal pivots, as Fortran's MAXLOC
        pivot = float(left[p - j])
        # dpstf2 refuses a first pivot that is not positive, later ones up to ``tol``
        if not pivot > (tol if j else 0.0):  # NaN too
            return j
        if p != j:
            a[[j, p]] = a[[p, j]]
            a[:, [j, p]] = a[:, [p, j]]
            diag[[j, p]] = diag[[p, j]]
            sums[[j, p]] = sums[[p, j]]
        root = np.sqrt(pivot)
        a[j, j] = root
        if j + 1 < k:
            a[j + 1 :, j] = (a[j + 1 :, j] - a[j + 1 :, :j] @ a[j, :j]) * (1.0 / root)
    return k


def _solve(gram: np.ndarray, moment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """β (p,) and G⁻¹ (p, p) from the normal equations G·β = ``moment`` of a (p, p) Gram
    matrix G = D′WD and (p,) D′Wy, column-scaled for conditioning (a unit diagonal), in one
    LAPACK ``gesv`` call (``numpy.linalg.solve``) for [D′Wy, I]. The rank check
    (:func:`pivoted_cholesky_rank`) has refused collinear regressors, so the scaled G is well
    within LU's reach; numpy's own LAPACK, because ``scipy.linalg`` costs 0.15–0.3 s to import
    for a p × p problem. Raises ``LinAlgError`` if G is exactly singular."""
    d = np.sqrt(np.diag(gram))
    k = d.size
    rhs = np.zeros((k, k + 1))
    rhs[:, 0] = moment / d
    rhs[:, 1:].flat[:: k + 1] = 1.0  # I
    scale = np.outer(d, d)
    solved = np.linalg.solve(gram / scale, rhs)
    return solved[:, 0] / d, solved[:, 1:] / scale


def _normal_equations(
    gram: np.ndarray, sums: np.ndarray, mean: np.ndarray, total: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (k + 1,), the constant last, and (D′WD)⁻¹ (k + 1, k + 1) of the regression
    of y = ỹ + ȳ on D = [X̃ + 1x̄′, 1] (the swept or centred columns with their means added
    back, Stata's FE constant), from the transformed columns' moments alone.

    ``gram`` (k + 1, k + 1) is the weighted Gram matrix of [ỹ, X̃], ``sums`` (k + 1,) their
    weighted sums Σwᵢ[ỹ, X̃]ᵢ (zero up to the sweep's tolerance), ``mean`` (k + 1,) the means
    [ȳ, x̄] added back and ``total`` Σw (n without weights). Since D = [X̃, 1]·A with
    A = [[I, 0], [x̄′, 1]], the Gram of [X̃, 1] is G = [[X̃′WX̃, X̃′w], [w′X̃, Σw]], its right-hand
    side [X̃′W(ỹ + ȳ), w′ỹ + ȳΣw], and exactly β = A⁻¹β_G, (D′WD)⁻¹ = A⁻¹G⁻¹A⁻ᵀ: the slopes
    are β_G's, the constant β_G,c − x̄′β. No n-row product is taken, and G is far better
    conditioned than D′WD when the means are large beside the spread."""
    k = gram.shape[0] - 1
    g = np.empty((k + 1, k + 1))
    g[:k, :k] = gram[1:, 1:]
    g[:k, k] = g[k, :k] = sums[1:]
    g[k, k] = total
    y_mean = float(mean[0])
    moment = np.append(gram[1:, 0] + sums[1:] * y_mean, sums[0] + total * y_mean)
    beta, inverse = _solve(g, moment)
    undo = np.eye(k + 1)  # A⁻¹
    undo[k, :k] = -mean[1:]
    beta[k] -= float(mean[1:] @ beta[:k])
    return beta, undo @ inverse @ undo.T


def _linearmodels_cov(
    y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray | None,
    factors: list[Factor],
    clusters: dict[str, np.ndarray],
    entity: np.ndarray,
    time: np.ndarray,
    spec: OlsSpec | PanelFeSpec,
    ctx: FitContext,
    names: list[str],
) -> Covariance:
    """The covariance linearmodels 7 itself reports (debiased), for what PanelOLS supports."""
    import pandas as pd
    from linearmodels import PanelOLS

    index = pd.MultiIndex.from_arrays([entity, time])
    exog = pd.DataFrame(np.column_stack([x, np.ones(y.size)]), index=index, columns=names)
    terms = [f.name for f in factors]
    other = [f for f in factors if f.name not in INDEX]
    if len(factors) > 2 or len(other) > 1:
        raise _fail("linearmodels' PanelOLS absorbs at most two effects, one of them a column", ctx)
    model = PanelOLS(
        pd.Series(y, index=index),
        exog,
        weights=None if w is None else pd.Series(w, index=index),
        entity_effects="entity" in terms,
        time_effects="time" in terms,
        other_effects=pd.DataFrame({"other": other[0].codes}, index=index) if other else None,
        drop_absorbed=False,
        check_rank=False,
    )
    se = spec.se
    options: dict[str, object] = {"cov_type": "unadjusted"}
    if se.type == "HC1":
        options = {"cov_type": "robust"}
    elif se.type == "cluster":
        if len(se.clusters) > 2:
            raise _fail("linearmodels clusters by at most two dimensions", ctx)
        frame = pd.DataFrame({n: clusters[n] for n in se.clusters}, index=index)
        options = {"cov_type": "clustered", "clusters": frame}
    elif se.type == "driscoll_kraay":
        lags = se.lags if se.lags is not None else default_lags(int(time.max()) + 1, "stata")
        options = {"cov_type": "kernel", "kernel": "bartlett", "bandwidth": lags}
    elif se.type != "unadjusted":
        raise _fail(f"linearmodels has no {se.type} covariance for panel models", ctx)
    fitted = model.fit(**options)
    matrix = fitted.cov.loc[names, names].to_numpy()
    return Covariance(matrix, None, "linearmodels", len(names))


def _gram_ssr(gram: np.ndarray) -> float:
    """SSR of the regression of the first column on the others, y′y − b′X′y, from the Gram
    matrix of [y, X] alone (no residual vector)."""
    if gram.shape[0] == 1:
        return float(gram[0, 0])
    beta = np.linalg.solve(gram[1:, 1:], gram[1:, 0])
    return float(gram[0, 0] - gram[1:, 0] @ beta)


class _SharedWork:
    """The pieces of a fit that other fits on the same rows share: factor codes, weights,
    column moments, within projections, swept (or centred) columns and their pairwise
    products and sums (the Gram matrix entry by entry), each through ``ctx.memo`` under a
    key that starts from ``ctx.frame_key`` (the executor's name for the values of every column
    of the frame, by column name) and says what else it depends on. Without a key the fit gets
    a memo of its own, so that a shared piece and a fresh one always come from the same code:
    a memo hit gives the bits a miss gives.

    Every column is swept on its own (never beside other columns: the iterative sweep's
    products would then mix them), so a swept column is the same in any fit."""

    def __init__(self, frame: pl.DataFrame, ctx: FitContext) -> None:
        shared = ctx.memo is not None and ctx.frame_key is not None
        self.shared = shared
        self.memo = ctx.memo if shared and ctx.memo is not None else FitMemo()
        self.rows: Hashable = ("linear", ctx.frame_key) if shared else ("linear", "this fit")
        self.ctx = ctx
        self.source = frame
        self.keep: np.ndarray | None = None
        self._frame: pl.DataFrame | None = frame

    def drop_rows(self, keep: np.ndarray, why: Hashable) -> None:
        """From now on the fit's rows are those where ``keep`` holds (singletons dropped)."""
        self.keep = keep
        self.rows = (self.rows, why)
        self._frame = None

    @property
    def frame(self) -> pl.DataFrame:
        """The fit's rows (filtered on first use: a fit whose pieces are all shared never
        reads a column)."""
        if self._frame is None:
            assert self.keep is not None
            self._frame = self.source.filter(pl.Series(self.keep))
        return self._frame

    def raw(self, name: str) -> np.ndarray:
        """Column ``name`` of the fit's rows as float64 (n,)."""
        return self.frame[name].cast(pl.Float64).to_numpy()

    def weights(self, name: str | None) -> np.ndarray | None:
        if name is None:
            return None
        return self.memo.cached(
            ("weights", self.rows, name), lambda: analytic_weights(self.frame, name, self.ctx)
        )

    def factors(self, terms: list[str]) -> list[Factor]:
        """The absorbed sets ``terms`` as factors, each shared by every fit on these rows
        that absorbs it (the two-way and the entity-only fits share the entity codes)."""
        return [
            self.memo.cached(
                ("factor", self.rows, term),
                lambda term=term: absorbed_factors(self.frame, [term], self.ctx)[0],
            )
            for term in terms
        ]

    def codes(self, name: str) -> tuple[np.ndarray, int]:
        return self.memo.cached(
            ("codes", self.rows, name), lambda: factor_codes(_column(self.frame, name, self.ctx))
        )

    def moments(self, name: str, weights: str | None, w: np.ndarray | None) -> np.ndarray:
        """[mean, spread, size] of one raw column (:func:`_column_moments`), (3,)."""

        def make() -> np.ndarray:
            mean, spread, size = _column_moments(self.raw(name)[:, None], w)
            return np.array([mean[0], spread[0], size[0]])

        return self.memo.cached(("moments", self.rows, weights, name), make)

    def centred_ss(
        self, name: str, mean: float, weights: str | None, w: np.ndarray | None
    ) -> float:
        """Σw(x − x̄)² of one raw column, x̄ its (weighted) mean ``mean``."""
        return self.memo.cached(
            ("centred_ss", self.rows, weights, name),
            lambda: _wss(self.raw(name) - mean, w),
        )

    def entity_means(
        self, name: str, factors: list[Factor], entity: Factor, layout: str
    ) -> np.ndarray:
        """Per-entity means (levels,) of one raw column (:func:`_entity_means`)."""
        return self.memo.cached(
            ("entity_means", self.rows, tuple(f.name for f in factors), layout, name),
            lambda: _entity_means(self.raw(name)[:, None], factors, entity, layout)[:, 0],
        )

    def swept(
        self,
        name: str,
        factors: list[Factor],
        weights: str | None,
        w: np.ndarray | None,
        tol: float,
        max_iter: int,
    ) -> tuple[np.ndarray, int, bool]:
        """Column ``name`` with ``factors`` swept out: (values (n,), sweeps, converged)."""
        setup = (tuple(f.name for f in factors), weights, tol, max_iter)
        projection = self.memo.cached(
            ("projection", self.rows, *setup),
            lambda: Projection(factors, w, tol=tol, max_iter=max_iter),
        )

        def make() -> tuple[np.ndarray, int, bool]:
            done = projection.sweep(self.raw(name))
            return done.values, done.iterations, done.converged

        if not self.shared:
            # a fit alone reads each swept column once: holding it would double the design
            return make()
        return self.memo.cached(("swept", self.rows, *setup, name), make)

    def centred(
        self, name: str, mean: float, weights: str | None, w: np.ndarray | None
    ) -> np.ndarray:
        """Column ``name`` less its (weighted) mean ``mean``, (n,): a model without absorbed
        sets works on its centred columns as a fixed-effects model on its swept ones."""
        if not self.shared:
            return self.raw(name) - mean
        return self.memo.cached(
            ("centred", self.rows, weights, name), lambda: self.raw(name) - mean
        )

    def gram(
        self,
        names: list[str],
        columns: list[np.ndarray],
        setup: Hashable,
        w: np.ndarray | None,
    ) -> np.ndarray:
        """The weighted Gram matrix (q, q) of ``columns`` (q arrays (n,), the columns ``names``
        transformed as ``setup`` says: swept of which sets, with which weights and tolerances,
        or centred), entry by entry: each Σwᵢaᵢbᵢ is stored for the fits on these rows, so
        specifications that differ in their controls or covariance take each product once.
        A pair is summed in the order of its names, whichever fit asks first."""
        q = len(names)
        out = np.empty((q, q))
        for a in range(q):
            for b in range(a, q):
                i, j = (a, b) if names[a] <= names[b] else (b, a)
                out[a, b] = out[b, a] = self.memo.cached(
                    ("product", self.rows, setup, names[i], names[j]),
                    lambda i=i, j=j: _wdot(columns[i], columns[j], w),
                )
        return out

    def sums(
        self, names: list[str], columns: list[np.ndarray], setup: Hashable, w: np.ndarray | None
    ) -> np.ndarray:
        """Σwᵢcᵢ of each of ``columns`` (named and transformed as in :meth:`gram`), (q,)."""
        return np.array(
            [
                self.memo.cached(
                    ("sum", self.rows, setup, name),
                    lambda column=column: float(column.sum()) if w is None else _dot(w, column),
                )
                for name, column in zip(names, columns, strict=True)
            ]
        )


def fit_linear(
    frame: pl.DataFrame, spec: OlsSpec | PanelFeSpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    """Fit ``spec`` on ``frame`` (complete rows): coefficients, covariance, R², tests.

    Fits whose ``ctx`` carries the same ``frame_key`` and ``memo`` share their factor codes,
    column moments and swept columns (:class:`_SharedWork`); the numbers are the same bits
    whether a piece was shared or computed.

    Raises ``SpecError`` for bad weights, regressors absorbed by an effect (naming the set),
    collinear regressors, non-convergence, and too few clusters or residual degrees of freedom.
    """
    regressors = tuple(spec.x)
    terms = spec.absorbed()
    work = _SharedWork(frame, ctx)
    w = work.weights(spec.weights)
    factors = work.factors(terms)
    extra: dict[str, object] = {}
    dropped = 0
    n = frame.height
    if isinstance(spec, PanelFeSpec):
        extra["singletons"] = spec.singletons
        if spec.singletons == "drop":
            found = factors
            keep = work.memo.cached(
                ("singletons", work.rows, tuple(terms)), lambda: singleton_rows(found)
            )
            dropped = int((~keep).sum())
            if dropped:
                work.drop_rows(keep, ("singletons", tuple(terms)))
                factors = work.memo.cached(
                    ("factors", work.rows, tuple(terms)),
                    lambda: [f.subset(keep) for f in found],
                )
                w = None if w is None else w[keep]
                n -= dropped
            extra["singletons_dropped"] = dropped
    if n == 0:
        raise _fail("no observations left once singletons are dropped", ctx)
    # The fit works on the transformed columns [ỹ, X̃] (swept of the absorbed sets, or centred
    # without any) as the memo holds them: their Gram matrix and sums, taken entry by entry
    # and shared by the fits on these rows, give the coefficients and (D′WD)⁻¹ of the design
    # with the means added back (:func:`_normal_equations`); the residuals are ỹ − X̃β plus a
    # constant. No (n, k) design is formed unless a covariance reads it row by row.
    k = len(spec.x)
    names = [spec.y, *spec.x]
    moments = np.column_stack([work.moments(name, spec.weights, w) for name in names])
    mean, spread, size = moments[0].copy(), moments[1].copy(), moments[2].copy()
    y_mean = float(mean[0])

    fe = isinstance(spec, PanelFeSpec)
    entity_sets = [f for f in factors if f.name == "entity"]
    tests_entities = fe and bool(entity_sets) and entity_sets[0].levels > 1
    # xtreg's F test of uᵢ = 0 needs the model without entity effects. On a full entity × time
    # grid (unweighted) its data are the two-way residuals plus x̄ᵢ − x̄, orthogonal to them,
    # so its Gram matrix is the two-way one plus Σᵢ Tᵢ(x̄ᵢ − x̄)(x̄ᵢ − x̄)′: no second sweep.
    # Otherwise it is the Gram matrix of the columns swept of every other set (or centred).
    entity_means = None
    restricted = None
    if tests_entities and w is None and sorted(f.name for f in factors) == ["entity", "time"]:
        layout = work.memo.cached(
            ("layout", work.rows, tuple(terms)), lambda: grid_layout(*factors) or ""
        )
        if layout:
            entity_means = np.column_stack(
                [work.entity_means(name, factors, entity_sets[0], layout) for name in names]
            )
    if tests_entities and entity_means is None:
        others = [f for f in factors if f.name != "entity"]
        if others:
            setup: Hashable = (
                tuple(f.name for f in others),
                spec.weights,
                spec.tolerance,
                spec.max_iterations,
            )
            partial = [
                work.swept(name, others, spec.weights, w, spec.tolerance, spec.max_iterations)[0]
                for name in names
            ]
        else:
            setup = ("centred", spec.weights)
            partial = [work.centred(name, mean[j], spec.weights, w) for j, name in enumerate(names)]
        restricted = work.gram(names, partial, setup, w)
        del partial
    if fe:
        iterations, converged = 0, True
        columns = []
        for name in names:
            values, sweeps, done = work.swept(
                name, factors, spec.weights, w, spec.tolerance, spec.max_iterations
            )
            columns.append(values)
            iterations, converged = max(iterations, sweeps), converged and done
        if not converged:
            raise _fail(
                f"the demeaning did not converge in {spec.max_iterations} sweeps",
                ctx,
                hint="raise max_iterations or loosen tolerance",
            )
        extra["hdfe_iterations"] = iterations
        setup = (tuple(f.name for f in factors), spec.weights, spec.tolerance, spec.max_iterations)
        gram = work.gram(names, columns, setup, w)
        swept_y_ss = float(gram[0, 0])
        # An outcome the effects explain leaves nothing to fit (and R² within divides by zero).
        if swept_y_ss <= 1e-9 * spread[0]:
            raise _fail(
                f"the dependent variable '{spec.y}' is absorbed by "
                + _absorbed_by(work.raw(spec.y), factors, w, 1e-9),
                ctx,
            )
        if entity_means is not None:
            spread_i = entity_means - mean
            counts = work.memo.cached(
                ("entity_rows", work.rows),
                lambda: np.bincount(entity_sets[0].codes, minlength=entity_sets[0].levels),
            )
            restricted = gram + (spread_i.T * counts) @ spread_i
    else:
        setup = ("centred", spec.weights)
        columns = [work.centred(name, mean[j], spec.weights, w) for j, name in enumerate(names)]
        gram = work.gram(names, columns, setup, w)
    kept = _kept_columns(columns[1:], spec.x, ctx, constant=not fe)
    if len(kept) < k:
        picked = [0, *(j + 1 for j in kept)]
        k = len(kept)
        columns = [columns[j] for j in picked]
        mean, spread, size = mean[picked], spread[picked], size[picked]
        gram = gram[np.ix_(picked, picked)]
        if restricted is not None:
            restricted = restricted[np.ix_(picked, picked)]
        spec = spec.model_copy(update={"x": [spec.x[j] for j in kept]})
        names = [spec.y, *spec.x]
    _check_columns(
        gram[1:, 1:], spread[1:], size[1:], n, spec.x, factors if fe else [], w, ctx, work.raw
    )
    total = float(n) if w is None else float(w.sum())
    beta, bread = _normal_equations(gram, work.sums(names, columns, setup, w), mean, total)
    # y − Dβ = ỹ − X̃β + (ȳ − x̄′β − β_c): X̃β taken off a column at a time (no (n, k) temporary)
    resid = columns[0] + (y_mean - float(mean[1:] @ beta[:k]) - float(beta[k]))
    scratch = np.empty(n)
    for j in range(k):
        resid -= np.multiply(columns[j + 1], beta[j], out=scratch)
    if w is not None:
        resid *= np.sqrt(w)
    names = [*spec.x, CONSTANT]
    fit = LeastSquares(
        columns=tuple(columns[1:]),
        shift=mean[1:].copy(),
        resid=resid,
        bread=bread,
        slopes=len(spec.x),
        factors=tuple(factors),
        weights=w,
        fe_leverage=_fe_leverage(factors, w) if spec.se.type in ("HC2", "HC3") else None,
    )
    if n - fit.k_all <= 0:
        raise _fail(f"no residual degrees of freedom ({n} observations, K = {fit.k_all})", ctx)
    by_name = {f.name: f for f in factors}
    entity, n_entities = (
        (by_name["entity"].codes, by_name["entity"].levels)
        if "entity" in by_name
        else work.codes("entity")
    )
    time, n_periods = (
        (by_name["time"].codes, by_name["time"].levels) if "time" in by_name else work.codes("time")
    )
    clusters = {
        name: (entity if name == "entity" else time if name == "time" else work.codes(name)[0])
        for name in spec.se.clusters
    }
    if spec.se.convention == "linearmodels" and spec.se.type != "unadjusted":
        x = work.frame.select(pl.col(spec.x).cast(pl.Float64)).to_numpy()
        cov = _linearmodels_cov(
            work.raw(spec.y), x, w, factors, clusters, entity, time, spec, ctx, names
        )
    else:
        try:
            cov = covariance(CovarianceInputs(fit, spec.se, clusters, entity, time))
        except SpecError as exc:
            raise _fail(exc.message, ctx, exc.hint) from None
    ssr = _dot(resid, resid)
    tss_total = work.centred_ss(spec.y, y_mean, spec.weights, w)
    stats: dict[str, float] = {"ssr": ssr, "df_resid": float(n - fit.k_all)}
    if factors:
        if set(terms) <= set(INDEX) and "entity" in terms:
            within = work.swept(spec.y, entity_sets, spec.weights, w, 1e-8, 10_000)[0]
            setup = (("entity",), spec.weights, 1e-8, 10_000)
            within_ss = float(work.gram([spec.y], [within], setup, w)[0, 0])
        elif set(terms) <= set(INDEX):
            within_ss = tss_total
        else:
            within_ss = swept_y_ss  # every set swept, as reghdfe: Σỹ²
        stats["r2_within"] = 1.0 - ssr / within_ss
        # fixest's, plm's and reghdfe's within R², which differs from xtreg's when time is
        # absorbed too: there the time effects count as explained
        stats["r2_within_hdfe"] = 1.0 - ssr / swept_y_ss
        stats["r2_lsdv"] = 1.0 - ssr / tss_total
        stats["r2_lsdv_adj"] = 1.0 - (1.0 - stats["r2_lsdv"]) * (n - 1) / (n - fit.k_all)
    else:
        stats["r2"] = 1.0 - ssr / tss_total
        stats["r2_adj"] = 1.0 - (1.0 - stats["r2"]) * (n - 1) / (n - fit.k_all)
    if isinstance(spec, PanelFeSpec):
        stats["singletons"] = float(dropped)
        if restricted is not None:
            df1 = entity_sets[0].levels - 1
            # an exact fit (a regressor that is y rescaled, exactly representable) leaves no
            # residual to test against: no F, as Stata prints "." (it divided by zero, exit 3)
            if ssr > 0.0:
                f_u0 = ((_gram_ssr(restricted) - ssr) / df1) / (ssr / (n - fit.k_all))
                stats["f_u0"] = f_u0
                stats["f_u0_p"] = float(f_sf(f_u0, df1, n - fit.k_all))
            extra["f_u0_df"] = [df1, n - fit.k_all]
    stats["n_entities"] = float(n_entities)
    stats["n_periods"] = float(n_periods)
    stats["mean_y"] = float(y_mean)
    if spec.se.type == "cluster":
        stats["n_clusters"] = float(min(int(c.max()) + 1 for c in clusters.values()))
    if spec.se.type != "unadjusted":
        extra["se_k"] = cov.k
    warnings = few_clusters(stats, _few_clusters_remedy(spec))
    negative = [v for v, s in zip(names, np.diag(cov.matrix), strict=True) if s < 0.0]
    if negative:
        warnings.append(
            f"the {cov.convention} covariance gives a negative variance for "
            f"{', '.join(negative)} (multi-way clustering is not positive semi-definite here): "
            "its standard error, t and p are left empty"
        )
    if warnings:
        extra["warnings"] = warnings
    if spec.se.bootstrap is not None:
        options = spec.se.bootstrap.model_dump()
        groups = clusters[spec.se.clusters[0]]
        target = columns[0] + y_mean
        if w is not None:
            target *= np.sqrt(w)
        extra["wild_bootstrap"] = bootstrap_coefficients(
            fit.design, target, groups, names, list(spec.x), **options
        )
    result = ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=spec.y,
        nobs=n,
        coefficients=coefficient_table(names, beta, cov.matrix, cov.df),
        stats=stats,
        extra=extra,
        regressors=regressors,
        effects=tuple(terms),
        se_type=spec.se.describe(),
        se_convention=cov.convention,
        label=spec.label,
        covariance=cov.matrix,
        covariance_df=cov.df,
    )
    return {"": result}


def _few_clusters_remedy(spec: OlsSpec | PanelFeSpec) -> str:
    """What a linear model with few clusters offers instead of its clustered t tests: the wild
    cluster bootstrap (Stata's ``boottest``), or where its results are when it was asked for
    (tables print the analytic standard errors and stars either way)."""
    if spec.se.bootstrap is not None:
        return (
            "the table's stars use them; the wild cluster bootstrap's p-values and intervals "
            "are in results.json (extra.wild_bootstrap)"
        )
    if len(spec.se.clusters) != 1:
        return ""  # the wild cluster bootstrap resamples one cluster dimension
    return (
        "the wild cluster bootstrap gives reliable p-values: add 'bootstrap: {seed: 1}' to "
        "the model's se:"
    )
