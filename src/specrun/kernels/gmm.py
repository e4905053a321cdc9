"""Dynamic panel GMM: Arellano–Bond difference GMM and Blundell–Bond system GMM, as xtabond2.

Model (Roodman 2009, section 3): y_it = Σ_l α_l y_i,t−l + β′x_it + (time effects) + μ_i + v_it.
Difference GMM (Arellano and Bond 1991) removes μ_i by first differences or forward orthogonal
deviations (Arellano and Bover 1995) and instruments the transformed equation with lagged
levels; system GMM (Arellano and Bover 1995; Blundell and Bond 1998) stacks the levels equation,
instrumented with lagged differences. The numerics follow Stata's ``xtabond2`` (Roodman 2009,
"How to do xtabond2", Stata Journal 9(1):86–136, sections 2–4) step for step:

* one-step weight A1 = (Σ_i Z_i′HZ_i)⁻ with xtabond2's default H (eq. 23 for differences,
  the identity for orthogonal deviations, eq. 26 for system GMM; ``h=1``/``h=2`` give the other
  two choices of section 3.4); two-step weight A2 = (Σ_i Z_i′ê_iê_i′Z_i)⁻ from one-step
  residuals (eq. 12);
* "⁻" is a generalized inverse, where xtabond2 uses Mata's ``invsym`` (a generalized inverse
  that drops linearly dependent instruments): here a symmetric pseudo-inverse of the
  diagonally scaled matrix. When the singularity comes from collinear instrument columns (time
  dummies that span each other, instruments that are zero on the sample) every generalized
  inverse gives the same Z A Z′, so estimates, Sargan and Hansen statistics do not depend on
  which one is used (xtabond2 warns "Using a generalized inverse" in the very examples of
  Roodman 2009, section 3.3, that the tests reproduce);
* one-step robust variance: the cluster-by-entity sandwich; two-step robust variance:
  Windmeijer's (2005, section 3) finite-sample correction, in xtabond2's form;
* Sargan = ê₁′Z A1 Z′ê₁ / σ̂² with σ̂² the transformed equation's one-step sum of squared
  residuals (halved for differences) over the reported observation count (in system GMM the
  levels count, as in the xtabond2 output of Roodman 2009, section 3.4); Hansen
  J = ê₂′Z A2 Z′ê₂ with ê₂ the two-step residuals (computed after one-step estimation too, as
  xtabond2 reports it); both on (rank of Z′HZ − k) degrees of freedom; the instrument count is
  that rank;
* Arellano–Bond AR(m) tests on the first-differenced residuals (Arellano and Bond 1991,
  section 3; Roodman 2009, eq. 27–28), with xtabond2's variance (one-step non-robust: σ̂²H form);
* regressors that are collinear on the estimation sample are dropped left to right
  (``_rmcoll``: in system GMM the constant is kept);
* ``small``: t instead of z, the variance scaled by n/(n−k+1)·N/(N−1) (robust or two-step:
  the factor that reproduces every standard error printed in Roodman 2009; the current
  xtabond2 source reads (n−1)/(n−k), a difference in the sixth digit) or n/(n−k) (one-step
  non-robust), residual df N − (constant) resp. n − rank(X).

Conventions compared with R's ``plm::pgmm`` (Croissant and Millo 2008; plm 2.6.2):

* pgmm has no ``small`` option (z statistics only) and always adds the regressors that are not
  GMM-instrumented as IV-style instruments; ``effect = "twoways"`` adds period dummies both as
  regressors and as instruments of the transformed equation. With the same instrument set
  (xtabond2's ``gmm(n, lag(2 .)) iv(<other regressors> yr*) noleveleq``) difference GMM gives
  the same coefficients, Windmeijer standard errors, AR tests and Hansen statistic, collapsed
  or not (pgmm's "Sargan test" of a two-step model is the Hansen J above).
* pgmm's system GMM (``transformation = "ld"``) with ``effect = "individual"`` is xtabond2's
  default H (``h(3)``) with ``noconstant``: same coefficients and robust errors; its one-step
  "Sargan test" and its AR tests of system models are computed otherwise (111.74 on 100 df and
  z = −5.13, −0.57 for the model in the tests, against a Hansen J of 110.10 and −5.72, −0.58
  here). With ``effect = "twoways"`` pgmm enters the period dummies
  in both equations with a different instrument count (107 against 105 for plm's documented
  Blundell–Bond example), so that example has no xtabond2 equivalent.
* Stata's ``abdata`` stores its variables as float32; plm's ``EmplUK`` holds the levels in
  double, so the same command differs in the seventh digit (L.n 0.6862261 on abdata,
  0.6862259 on the logs of EmplUK).

Compared with ``pydynpd`` 0.2.2 (Wu, Hua and Xu 2023): difference GMM, first differences or
orthogonal deviations, and system GMM after first differences agree to every printed digit. In
system GMM after orthogonal deviations pydynpd enters IV-style instruments in the transformed
equation as first differences (Δx_{t−1} on the row stored at t), where xtabond2's help says they
are "transformed (into differences or orthogonal deviations)" like the equation, as pydynpd
itself does in difference GMM; that one column moves its estimates in the fourth digit (L.n
0.97918 against 0.97986 here for its README model with ``fod``), and with pydynpd's column the
kernel gives pydynpd's every digit.

Checked by ``tests/test_kernel_gmm.py`` against Roodman (2009) sections 3.3–3.4 (every printed
digit), the plm ``pgmm`` reference output, pydynpd, and the equivalences xtabond2's help states
for ``h(1)`` (OLS and 2SLS, against statsmodels and linearmodels).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
from threadpoolctl import ThreadpoolController

from specrun.errors import SpecError
from specrun.kernels.distributions import chi2_sf, two_sided_p
from specrun.kernels.gmm_instruments import (
    Equation,
    GmmStyle,
    InstrumentBlocks,
    InstrumentBuilder,
    IvStyle,
    PanelGrid,
    Transform,
    add_gmm_group,
    add_iv_group,
    column,
    entity_column,
    lag_wide,
    parse_term,
    term_name,
    transform_wide,
)

__all__ = [
    "GmmResult",
    "GmmStyle",
    "IvStyle",
    "fit_difference_gmm",
    "fit_gmm",
    "fit_system_gmm",
]

_RANK_TOL = 1e-13  # relative eigenvalue below which a scaled moment matrix is taken as singular
_COLLINEAR_TOL = 1e-10  # 1 − R² below which a regressor is a combination of earlier ones


@cache
def _blas_controller() -> ThreadpoolController:
    """Found once: scanning the loaded libraries costs milliseconds a fit."""
    return ThreadpoolController()


@dataclass(frozen=True, eq=False)
class GmmResult:
    """A fitted difference or system GMM model (xtabond2's ``e()`` results)."""

    names: tuple[str, ...]
    params: np.ndarray
    std_errors: np.ndarray
    stats: np.ndarray  # z, or t with ``small``
    p_values: np.ndarray
    cov: np.ndarray
    stat_name: Literal["z", "t"]
    df_resid: int | None  # with ``small``: the t/F denominator degrees of freedom
    nobs: int  # levels observations (system) or transformed observations (difference)
    n_groups: int
    obs_per_group_min: int
    obs_per_group_avg: float
    obs_per_group_max: int
    n_instruments: int
    ar_z: tuple[float, ...]  # AR(1), AR(2), … in first differences
    ar_p: tuple[float, ...]
    ar1_z: float
    ar1_p: float
    ar2_z: float
    ar2_p: float
    sargan: float
    sargan_df: int
    sargan_p: float
    hansen: float
    hansen_df: int
    hansen_p: float
    sigma2: float
    system: bool
    transform: Transform
    steps: int
    robust: bool
    small: bool
    dropped: tuple[str, ...]  # regressors dropped as collinear
    warnings: tuple[str, ...]

    def coefficient(self, name: str) -> tuple[float, float]:
        """(estimate, standard error) of one regressor, by its Stata-style name."""
        if name not in self.names:
            raise SpecError(f"no coefficient named '{name}'", code="reference", path=name)
        i = self.names.index(name)
        return float(self.params[i]), float(self.std_errors[i])


@dataclass(frozen=True)
class _Design:
    """The stacked per-entity system: (N, R) slots, R = T or 2T."""

    # (N, R, K + 1): the K regressors, then the dependent, zero outside the sample; one array,
    # so that Z′[X y] and [X y]′[X y] are one pass each
    xy: np.ndarray
    use: np.ndarray  # (N, R) bool
    z: InstrumentBlocks
    names: tuple[str, ...]
    n_periods: int
    has_constant: bool
    y_levels: np.ndarray  # (N, T), NaN where missing: for AR tests after orthogonal deviations
    x_levels: np.ndarray  # (N, T, K)

    @property
    def x(self) -> np.ndarray:
        """(N, R, K), a view."""
        return self.xy[:, :, :-1]

    @property
    def y(self) -> np.ndarray:
        """(N, R), a view."""
        return self.xy[:, :, -1]


def fit_difference_gmm(data: Any, **options: Any) -> GmmResult:
    """Arellano and Bond (1991) difference GMM (xtabond2 ``noleveleq``); see :func:`fit_gmm`."""
    return fit_gmm(data, system=False, **options)


def fit_system_gmm(data: Any, **options: Any) -> GmmResult:
    """Blundell and Bond (1998) system GMM (xtabond2's default); see :func:`fit_gmm`."""
    return fit_gmm(data, system=True, **options)


def fit_gmm(
    data: Any,
    *,
    entity: str,
    time: str,
    dependent: str,
    dep_lags: int | Sequence[int] = 1,
    regressors: Sequence[str] = (),
    gmm: Sequence[GmmStyle] = (),
    iv: Sequence[IvStyle] = (),
    system: bool = True,
    transform: Transform = "fd",
    steps: int = 1,
    robust: bool = True,
    small: bool = False,
    time_effects: bool = False,
    time_effects_equation: Equation = "level",
    constant: bool = True,
    h: int = 3,
    ar_orders: int = 2,
) -> GmmResult:
    """Fit difference (``system=False``) or system GMM on a panel, numerically as xtabond2.

    Parameters
    ----------
    data
        A pandas or polars frame, or a mapping of column name → array, one row per
        entity-period.
    dependent, dep_lags
        The dependent variable and the lags of it that enter as regressors (``2`` means lags
        1 and 2; a sequence lists them).
    regressors
        Further regressors, with Stata's lag prefix allowed (``"w"``, ``"L.w"``, ``"L2.k"``).
    gmm, iv
        xtabond2's ``gmmstyle()`` and ``ivstyle()`` groups (:class:`GmmStyle`,
        :class:`IvStyle`). As in xtabond2, regressors are not instruments unless listed.
    time_effects
        Adds a dummy ``yr<period>`` for every period as regressors and as IV-style
        instruments: of the transformed equation in difference GMM, of the equation given by
        ``time_effects_equation`` in system GMM (default ``"level"``, Roodman 2009's
        Blundell–Bond example). Dummies collinear on the sample are dropped.
    transform
        ``"fd"`` first differences or ``"fod"`` forward orthogonal deviations (``orthogonal``).
    steps, robust, small, constant, h, ar_orders
        As xtabond2's ``twostep``, ``robust``, ``small``, ``noconstant`` (system only), ``h()``
        and ``artests()``. Two-step with ``robust`` gives Windmeijer-corrected errors.

    Returns
    -------
    GmmResult

    Notes
    -----
    Method: module docstring. Reference test: ``tests/test_kernel_gmm.py``.
    """
    _check_options(steps, transform, h, ar_orders, time_effects_equation)
    warnings: list[str] = []
    lags = list(range(1, dep_lags + 1)) if isinstance(dep_lags, int) else list(dep_lags)
    if any(lag < 1 for lag in lags):
        raise SpecError("lags of the dependent variable must be 1 or more", code="schema")

    regressor_terms = [(dependent, lag) for lag in lags] + [parse_term(r) for r in regressors]
    gmm_terms = [[parse_term(v) for v in g.variables] for g in gmm]
    iv_terms = [[parse_term(v) for v in s.variables] for s in iv]
    variables = {dependent} | {v for v, _ in regressor_terms}
    variables |= {v for group in gmm_terms + iv_terms for v, _ in group}

    entity_values, entity_labels = entity_column(data, entity)
    grid = PanelGrid.from_labels(
        entity_values, column(data, time, numeric=False), entity, time, entity_labels
    )
    if grid.n_periods < 3:
        raise SpecError(
            f"dynamic panel GMM needs at least 3 periods of '{time}'; the data have "
            f"{grid.n_periods}",
            code="data",
            path=time,
        )
    if grid.n_entities < 2:
        # the covariance is clustered by group: one group gave standard errors of 1e-15,
        # p = 0 and three stars on every coefficient, exit 0
        raise SpecError(
            f"dynamic panel GMM needs at least 2 groups of '{entity}'; the data have 1",
            code="data",
            path=entity,
        )
    wide = {name: grid.spread(column(data, name)) for name in sorted(variables)}
    exists = grid.spread(np.ones(grid.entity_codes.size)) == 1.0

    def series(variable: str, lag: int) -> np.ndarray:
        return lag_wide(wide[variable], lag)

    names = [term_name(v, lag) for v, lag in regressor_terms]
    iv_groups: list[tuple[list[str], np.ndarray, Equation, bool, bool]] = [
        (
            [term_name(v, lag) for v, lag in terms],
            np.stack([series(v, lag) for v, lag in terms], axis=2),
            style.equation,
            style.passthru,
            style.mz,
        )
        for style, terms in zip(iv, iv_terms, strict=True)
    ]
    n_plain = len(names)
    dummy_names = [f"yr{grid.time_label(p)}" for p in range(grid.n_periods)] if time_effects else []
    names += dummy_names
    has_constant = system and constant
    if has_constant:
        names.append("_cons")
    if not names:
        raise SpecError("the model has no regressors", code="schema")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        # L.y in x, most often: lags: adds the dependent's lags already
        own_lag = any(re.fullmatch(rf"L\d*\.{re.escape(dependent)}", n) for n in twice)
        hint = " (lags: adds the dependent's lags; x takes the other regressors)" * own_lag
        raise SpecError(f"a regressor is listed twice: {', '.join(twice)}{hint}", code="schema")

    # The regressors in levels, filled in place: the period dummies and the constant are
    # instrument bases too, as views of this one array.
    x_levels = np.empty((grid.n_entities, grid.n_periods, len(names)))
    for j, (v, lag) in enumerate(regressor_terms):
        x_levels[:, :, j] = series(v, lag)
    if time_effects:
        dummies = x_levels[:, :, n_plain : n_plain + grid.n_periods]
        dummies[...] = np.eye(grid.n_periods)  # yr<p> is 1 in period p
        dummies[~exists] = np.nan
        dummy_equation: Equation = time_effects_equation if system else "diff"
        iv_groups.append((dummy_names, dummies, dummy_equation, False, False))
    if has_constant:
        x_levels[:, :, -1] = 1.0
        iv_groups.append((["_cons"], x_levels[:, :, -1:], "level", False, False))

    design = _build_design(
        y_levels=wide[dependent],
        x_levels=x_levels,
        names=names,
        exists=exists,
        iv_groups=iv_groups,
        gmm_groups=list(zip(gmm, gmm_terms, strict=True)),
        series=series,
        grid=grid,
        system=system,
        transform=transform,
        has_constant=has_constant,
        warnings=warnings,
    )
    # The matrices here are at most a few hundred wide: threaded LAPACK eigensolvers are slower
    # at that size and stall when the cores are shared, so the fit runs single-threaded.
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _estimate(design, system, transform, steps, robust, small, h, ar_orders, warnings)


def _check_options(steps: int, transform: str, h: int, ar_orders: int, equation: str) -> None:
    if steps not in (1, 2):
        raise SpecError(f"steps must be 1 or 2, not {steps!r}", code="schema", path="steps")
    if transform not in ("fd", "fod"):
        raise SpecError(
            f"transform must be 'fd' or 'fod', not {transform!r}", code="schema", path="transform"
        )
    if h not in (1, 2, 3):
        raise SpecError(f"h must be 1, 2 or 3, not {h!r}", code="schema", path="h")
    if ar_orders < 0:
        raise SpecError("ar_orders must be 0 or more", code="schema", path="ar_orders")
    if equation not in ("both", "diff", "level"):
        raise SpecError(
            f"time_effects_equation must be 'both', 'diff' or 'level', not {equation!r}",
            code="schema",
        )


def _build_design(
    *,
    y_levels: np.ndarray,
    x_levels: np.ndarray,
    names: list[str],
    exists: np.ndarray,
    iv_groups: list[tuple[list[str], np.ndarray, Equation, bool, bool]],
    gmm_groups: list[tuple[GmmStyle, list[tuple[str, int]]]],
    series: Any,
    grid: PanelGrid,
    system: bool,
    transform: Transform,
    has_constant: bool,
    warnings: list[str],
) -> _Design:
    """Transformed (and levels) rows, the estimation sample and Z, as xtabond2 builds them."""
    n, t_len = y_levels.shape
    in_varlist = exists & np.isfinite(y_levels) & np.isfinite(x_levels).all(axis=2)
    complete = in_varlist.copy()
    for _, base, _, _, mz in iv_groups:
        if not mz:
            complete &= np.isfinite(base).all(axis=2)

    n_slots = 2 * t_len if system else t_len
    k = x_levels.shape[2]
    # [X y] of every slot, the transformed rows written in place (zeroed off the sample below)
    xy = np.empty((n, n_slots, k + 1))
    y_tr = transform_wide(y_levels, complete, transform, out=xy[:, :t_len, k])
    x_tr = transform_wide(x_levels, complete, transform, out=xy[:, :t_len, :k])
    use_tr = in_varlist if transform == "fd" else lag_wide(in_varlist.astype(float), 1) == 1.0
    use_tr = use_tr & np.isfinite(y_tr) & np.isfinite(x_tr).all(axis=2)
    use_lv = in_varlist.copy()

    builder = InstrumentBuilder(n, n_slots)
    for group_names, base, equation, passthru, mz in iv_groups:
        if not system and equation == "level":
            warnings.append(
                f"instruments for the levels equation only ({', '.join(group_names)}) are "
                "ignored in difference GMM"
            )
            continue
        tr_part = None
        if equation != "level":
            tr_part = base if passthru else transform_wide(base, complete, transform)
            if mz:
                tr_part = np.nan_to_num(tr_part, nan=0.0)
            use_tr &= np.isfinite(tr_part).all(axis=2)
        lv_part = None
        if system and equation != "diff":
            lv_part = np.nan_to_num(base, nan=0.0) if mz else base
            use_lv &= np.isfinite(lv_part).all(axis=2)
        add_iv_group(builder, tr_part, lv_part, group_names, t_len)

    use = np.concatenate([use_tr, use_lv], axis=1) if system else use_tr
    for style, terms in gmm_groups:
        if not system and style.equation == "level":
            warnings.append(
                f"gmm instruments for the levels equation only ({', '.join(style.variables)}) "
                "are ignored in difference GMM"
            )
            continue
        bases = np.stack([series(v, lag) for v, lag in terms], axis=2)
        low, high = add_gmm_group(
            builder,
            style,
            bases,
            [term_name(v, lag) for v, lag in terms],
            system=system,
            use_levels=use_lv if system else None,
            time_label=grid.time_label,
        )
        if low > high:
            warnings.append(
                f"gmm instruments for {', '.join(style.variables)}: lags {style.lags} leave no "
                f"instrument in {t_len} periods"
            )

    z = builder.finish(use)
    if system:
        xy[:, t_len:, :k] = x_levels
        xy[:, t_len:, k] = y_levels
    xy[~use] = 0.0
    return _Design(xy, use, z, tuple(names), t_len, has_constant, y_levels, x_levels)


def _collinear_keep(
    gram: np.ndarray, level_sums: np.ndarray | None, level_count: int, has_constant: bool
) -> list[int]:
    """Columns kept by xtabond2's ``_rmcoll``: left to right, a column that is (numerically) a
    combination of the kept ones is dropped; with a constant, it is partialled out over the
    levels rows and always kept. ``gram`` is X′X (K, K) over every row, ``level_sums`` the
    column sums (K,) over the ``level_count`` levels rows."""
    k = gram.shape[0]
    if k <= 1:
        return list(range(k))
    if has_constant and level_sums is not None:
        # (X − t m′)′(X − t m′) = X′X − n₁ m m′ for t the levels-row indicator, m their means
        count = float(level_count)
        means = level_sums / count
        gram = (gram - count * np.outer(means, means))[:-1, :-1]
    diag = np.diag(gram).copy()
    with np.errstate(divide="ignore"):
        scale = np.where(diag > 0, 1.0 / np.sqrt(diag), 0.0)
    gram = gram * scale[:, None] * scale[None, :]
    kept: list[int] = []
    for c in range(gram.shape[0]):
        if scale[c] == 0.0:
            continue
        pivot = gram[c, c]
        if kept:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, c]
            pivot -= cross @ np.linalg.solve(sub, cross)
        if pivot > _COLLINEAR_TOL:
            kept.append(c)
    if has_constant and level_sums is not None:
        kept.append(k - 1)
    return kept


def _residuals(xy: np.ndarray, keep: list[int], params: np.ndarray) -> np.ndarray:
    """y − Xβ (N, R) for β (k,) on the kept columns ``keep`` of X; one product with [X y],
    without copying the kept columns out."""
    coef = np.zeros(xy.shape[2])
    coef[keep] = -params
    coef[-1] = 1.0
    return (xy.reshape(-1, xy.shape[2]) @ coef).reshape(xy.shape[:2])


def _ginv(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """A symmetric generalized inverse and the rank (xtabond2: ``invsym`` and ``diag0cnt``).

    The matrix is scaled to unit diagonal first so that the rank decision does not depend on
    the instruments' units; all-zero instruments get zero rows and columns.
    """
    diag = np.diag(matrix)
    active = diag > diag.max(initial=0.0) * 1e-300
    out = np.zeros_like(matrix)
    if not active.any():
        return out, 0
    scale = 1.0 / np.sqrt(diag[active])
    scaled = matrix[np.ix_(active, active)] * scale[:, None] * scale[None, :]
    values, vectors = np.linalg.eigh(scaled)
    keep = values > values.max() * _RANK_TOL * scaled.shape[0]
    inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    out[np.ix_(active, active)] = inverse * scale[:, None] * scale[None, :]
    return out, int(keep.sum())


def _sym_inv(matrix: np.ndarray) -> np.ndarray:
    return _ginv(matrix)[0]


def _h_factor(h: int, transform: Transform, system: bool, t_len: int) -> np.ndarray:
    """L with H = LL′, H being xtabond2's one-step error covariance (Roodman 2009, eq. 22–23,
    26): Var of one entity's transformed (and levels) errors under i.i.d. unit-variance errors
    and zero fixed-effect variance. h=3: L = [M; I]; h=2: blockdiag(M, I); h=1: I."""
    rows = 2 * t_len if system else t_len
    if h == 1:
        return np.eye(rows)
    m = _transform_matrix(transform, t_len)  # rows: transformed slot, columns: levels period
    if not system:
        return m
    if h == 2:
        return np.block([[m, np.zeros((t_len, t_len))], [np.zeros((t_len, t_len)), np.eye(t_len)]])
    return np.vstack([m, np.eye(t_len)])


def _transform_matrix(transform: Transform, t_len: int) -> np.ndarray:
    """The matrix mapping an entity's T levels to its T transformed slots (slot 0 empty)."""
    m = np.zeros((t_len, t_len))
    if transform == "fd":
        idx = np.arange(1, t_len)
        m[idx, idx] = 1.0
        m[idx, idx - 1] = -1.0
        return m
    for slot in range(1, t_len):
        later = t_len - slot
        m[slot, slot - 1] = 1.0
        m[slot, slot:] = -1.0 / later
        m[slot] *= np.sqrt(later / (later + 1.0))
    return m


def _estimate(
    design: _Design,
    system: bool,
    transform: Transform,
    steps: int,
    robust: bool,
    small: bool,
    h: int,
    ar_orders: int,
    warnings: list[str],
) -> GmmResult:
    t_len = design.n_periods
    use, z, xy = design.use, design.z, design.xy
    k_all = xy.shape[2] - 1
    xy_flat = xy.reshape(-1, k_all + 1)
    level_sums, level_count = None, 0
    if system and design.has_constant:
        levels_rows = np.zeros(use.shape)
        levels_rows[:, t_len:] = use[:, t_len:]
        level_sums = (levels_rows.reshape(-1) @ xy_flat)[:k_all]
        level_count = int(use[:, t_len:].sum())
    keep = _collinear_keep(
        (xy_flat.T @ xy_flat)[:k_all, :k_all], level_sums, level_count, design.has_constant
    )
    dropped = tuple(n for i, n in enumerate(design.names) if i not in keep)
    warnings.extend(f"{name} dropped due to collinearity" for name in dropped)
    # Dropped columns are left in place and skipped in every product (a copy of the kept
    # columns of the (N, R, K) array costs more than the whole fit at large N).
    names = tuple(design.names[i] for i in keep)
    k = len(names)
    if k == 0:
        raise SpecError("every regressor is collinear on the estimation sample", code="estimation")

    main = use[:, t_len:] if system else use
    nobs = int(main.sum())
    per_group = main.sum(axis=1)
    n_groups = int((per_group > 0).sum())
    if nobs == 0:
        raise SpecError(
            "no observation is complete after lags and transformation: the panel has too few "
            "consecutive periods for this model",
            code="data",
        )
    # σ̂² divides by the reported observation count: in system GMM that is the levels count,
    # as in the xtabond2 that produced Roodman (2009)'s output (Sargan 186.90 in section 3.4).
    transformed_weight = nobs

    zxy = z.cross(xy)
    zx, zy = zxy[:, keep], zxy[:, k_all]
    s1 = z.weighted_gram(_h_factor(h, transform, system, t_len))
    a1, n_instruments = _ginv(s1)
    if n_instruments < k:
        raise SpecError(
            f"the equation is not identified: {k} regressors and only {n_instruments} "
            "independent instruments",
            code="estimation",
        )
    if n_instruments > n_groups:
        warnings.append(
            f"{n_instruments} instruments exceed the {n_groups} groups: many instruments weaken "
            "the Hansen test and overfit the endogenous variables (Roodman 2009, section 2.6)"
        )

    xza1 = zx.T @ a1
    v1_unscaled = _sym_inv(xza1 @ zx)
    b1 = v1_unscaled @ (xza1 @ zy)
    e1 = _residuals(xy, keep, b1)
    error_rows = slice(0, t_len) if (h != 1 or not system) else slice(t_len, 2 * t_len)
    halve = 2.0 if (transform == "fd" and h != 1) else 1.0
    sigma2 = float(np.sum(e1[:, error_rows] ** 2)) / halve / transformed_weight
    v1 = v1_unscaled * sigma2
    ze1 = zy - zx @ b1
    sargan = float(ze1 @ a1 @ ze1) / sigma2
    df_over = n_instruments - k

    g1 = z.by_entity(e1)
    s2 = g1.T @ g1
    a2, rank2 = _ginv(s2)
    if rank2 < n_instruments:
        warnings.append(
            "the two-step covariance matrix of the moments is singular: a generalized inverse "
            "gives the two-step weights"
        )
    proj1 = v1_unscaled @ xza1  # (k, J)
    v1_robust = proj1 @ s2 @ proj1.T
    xza2 = zx.T @ a2
    v2 = _sym_inv(xza2 @ zx)
    b2 = v2 @ (xza2 @ zy)
    e2 = _residuals(xy, keep, b2)
    ze2 = zy - zx @ b2
    a2ze2 = a2 @ ze2
    hansen = float(ze2 @ a2ze2)

    v2_robust = v2
    if steps == 2 and robust:
        v2_robust = _windmeijer(z, xy, keep, g1, a2ze2, v2, xza2, v1_robust)
    if steps == 2:
        sigma2 = float(np.sum(e2[:, error_rows] ** 2)) / halve / transformed_weight

    if steps == 1:
        params, resid = b1, e1
        cov = v1_robust if robust else v1
        ar_proj = proj1
    else:
        params, resid = b2, e2
        cov = v2_robust if robust else v2
        ar_proj = v2 @ xza2
    one_step_plain = steps == 1 and not robust
    if small:
        # xtabond2 applies the degrees-of-freedom factor to σ̂² before its AR tests (which use
        # σ̂² in the one-step non-robust case) but not to the variance they use.
        sigma2 = sigma2 * transformed_weight / (transformed_weight - k)

    ar_z, ar_p = _ar_tests(
        design,
        keep,
        params,
        resid,
        cov,
        ar_proj,
        ar_orders=ar_orders,
        system=system,
        transform=transform,
        h=h,
        plain=one_step_plain,
        sigma2=sigma2,
    )
    cov = (cov + cov.T) / 2.0
    df_resid: int | None = None
    if small:
        if one_step_plain:
            cov = cov * transformed_weight / (transformed_weight - k)
            df_resid = (
                nobs
                - _model_df(design.x[:, :, keep], use, t_len, system, design.has_constant)
                - int(design.has_constant)
            )
        else:
            # n/(n − k + 1) · N/(N − 1) reproduces every standard error printed in Roodman
            # (2009), sections 3.3–3.4; xtabond2 3.7's source reads (n − 1)/(n − k) instead.
            cov = cov * nobs / (nobs - k + 1) * n_groups / (n_groups - 1)
            df_resid = n_groups - int(design.has_constant)
    std_errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = params / std_errors
    p_values = two_sided_p(stat, df_resid if small else None)

    pad = (float("nan"),) * 2
    ar_z_all = tuple(ar_z) + pad
    ar_p_all = tuple(ar_p) + pad
    return GmmResult(
        names=names,
        params=params,
        std_errors=std_errors,
        stats=stat,
        p_values=p_values,
        cov=cov,
        stat_name="t" if small else "z",
        df_resid=df_resid,
        nobs=nobs,
        n_groups=n_groups,
        obs_per_group_min=int(per_group[per_group > 0].min()),
        obs_per_group_avg=nobs / n_groups,
        obs_per_group_max=int(per_group.max()),
        n_instruments=n_instruments,
        ar_z=tuple(ar_z),
        ar_p=tuple(ar_p),
        ar1_z=ar_z_all[0],
        ar1_p=ar_p_all[0],
        ar2_z=ar_z_all[1],
        ar2_p=ar_p_all[1],
        sargan=sargan,
        sargan_df=df_over,
        sargan_p=float(chi2_sf(sargan, df_over)) if df_over > 0 else float("nan"),
        hansen=hansen,
        hansen_df=df_over,
        hansen_p=float(chi2_sf(hansen, df_over)) if df_over > 0 else float("nan"),
        sigma2=sigma2,
        system=system,
        transform=transform,
        steps=steps,
        robust=robust,
        small=small,
        dropped=dropped,
        warnings=tuple(warnings),
    )


def _windmeijer(
    z: InstrumentBlocks,
    xy: np.ndarray,
    keep: list[int],
    g1: np.ndarray,
    a2ze2: np.ndarray,
    v2: np.ndarray,
    xza2: np.ndarray,
    v1_robust: np.ndarray,
) -> np.ndarray:
    """Windmeijer (2005, section 3) corrected two-step variance, in xtabond2's arrangement:
    column j of the derivative of the two-step weights along regressor j is
    Σ_i (ê₁ᵢ′Z_i A2 Z′ê₂) Z_i′x_ji + Z_i′ê₁ᵢ (x_ji′Z_i A2 Z′ê₂), for the kept columns
    ``keep`` of the design [X y] (N, R, K + 1)."""
    scalar = g1 @ a2ze2  # (N,)
    first = z.cross(xy, weights=scalar)[:, keep]
    weights = z.times(a2ze2)  # (N, R)
    second = g1.T @ np.einsum("nr,nrk->nk", weights, xy)[:, keep]
    d = v2 @ xza2 @ (first + second)
    return v2 + d @ v1_robust @ d.T + d @ v2 + v2 @ d.T


def _model_df(x: np.ndarray, use: np.ndarray, t_len: int, system: bool, has_constant: bool) -> int:
    """xtabond2's model degrees of freedom: rank of X on the reported equation, less the
    constant (or less one when the constant lies in the span of X)."""
    rows = (x[:, t_len:] if system else x).reshape(-1, x.shape[2])
    mask = (use[:, t_len:] if system else use).reshape(-1)
    rows = rows[mask]
    rank = int(np.linalg.matrix_rank(rows)) if rows.size else 0
    if has_constant:
        return rank - 1
    ones = np.ones(rows.shape[0])
    fitted, *_ = np.linalg.lstsq(rows, ones, rcond=None)
    spans = np.allclose(rows @ fitted, ones, atol=1e-9)
    return rank - int(spans)


def _ar_tests(
    design: _Design,
    keep: list[int],
    params: np.ndarray,
    resid: np.ndarray,
    cov: np.ndarray,
    proj: np.ndarray,
    *,
    ar_orders: int,
    system: bool,
    transform: Transform,
    h: int,
    plain: bool,
    sigma2: float,
) -> tuple[list[float], list[float]]:
    """Arellano and Bond (1991, section 3) m-statistics for AR(1..ar_orders) in differenced
    residuals, with xtabond2's variance (Roodman 2009, eq. 28)."""
    t_len = design.n_periods
    z = design.z
    use_tr = design.use[:, :t_len]
    if transform == "fod":
        # The test runs on first differences whatever the transform (Roodman 2009, §3.5).
        x_levels = design.x_levels[:, :, keep]
        w = np.nan_to_num(transform_wide(design.y_levels - x_levels @ params, use_tr, "fd"))
        x_tr = np.nan_to_num(transform_wide(x_levels, use_tr, "fd"))
        columns: list[int] | slice = slice(None)
    else:
        w = resid[:, :t_len]
        x_tr = design.xy[:, :t_len]  # every column; the kept ones are picked from x′w below
        columns = keep
    m2_proj = -2.0 * proj  # (k, J): −2 V X′Z A, scale-free
    g = z.by_entity(resid) if not plain else None
    if plain:
        m_fd = np.eye(t_len) if h == 1 else _transform_matrix("fd", t_len)
        m_own = np.eye(t_len) if h == 1 else _transform_matrix(transform, t_len)
        h_diff = m_fd @ m_fd.T * sigma2
        psi = m_fd @ m_own.T * sigma2
        if system:
            psi = np.concatenate([psi, np.zeros((t_len, t_len))], axis=1)
    zs: list[float] = []
    ps: list[float] = []
    lagged = w.copy()
    for _ in range(ar_orders):
        shifted = np.zeros_like(lagged)
        shifted[:, 1:] = lagged[:, :-1]
        lagged = shifted
        per_entity = np.sum(w * lagged, axis=1)
        if not np.any(per_entity):
            zs.append(float("nan"))
            ps.append(float("nan"))
            continue
        if plain:
            masked = lagged * use_tr
            w_h_w = float(np.einsum("nt,ts,ns->", masked, h_diff, masked))
            z_h_w = z.cross(masked @ psi)
        else:
            w_h_w = float(per_entity @ per_entity)
            z_h_w = g.T @ per_entity
        x_w = np.einsum("ntk,nt->k", x_tr, lagged)[columns]
        variance = w_h_w + x_w @ (m2_proj @ z_h_w + cov @ x_w)
        statistic = float(per_entity.sum() / np.sqrt(variance))
        zs.append(statistic)
        ps.append(float(two_sided_p(statistic)))
    return zs, ps
