"""Random- and between-effects panel regressions, as Stata's ``xtreg, re`` and ``xtreg, be``.

Random effects (``panel_re``) follow Stata's Methods and formulas for ``xtreg, re``
(Swamy–Arora components with Stata's small-sample choices, which reduce to Swamy and Arora
1972 / Baltagi 2013 section 2.3 on a balanced panel):

* σ̂²_e = SSR_within / (N − n − k), k the slopes (the within regression of ``xtreg, fe``);
* σ̂²_u = max(0, SSR_between / (n − k − 1) − σ̂²_e / T̄), SSR_between from the OLS regression
  of the n entity means on their regressors' means with a constant, and T̄ the *harmonic*
  mean of the entities' Tᵢ (Stata's ``e(Tbar)`` after ``re``);
* θᵢ = 1 − √(σ̂²_e / (Tᵢ σ̂²_u + σ̂²_e)), one per entity when the panel is unbalanced;
* β̂ from OLS of yᵢₜ − θᵢȳᵢ on xᵢₜ − θᵢx̄ᵢ and 1 − θᵢ; its conventional covariance is
  s²(X*′X*)⁻¹ with s² = e*′e*/(N − k − 1) of that regression (Stata's ``e(rmse)``), and the
  clustered one the sandwich on X* scaled by G/(G − 1)·(N − 1)/(N − k − 1). ``vce(robust)``
  is the same cluster-by-entity covariance in ``xtreg``. Inference uses z statistics.

R² are Stata's squared correlations: within corr²(yᵢₜ − ȳᵢ, (xᵢₜ − x̄ᵢ)β̂), between
corr²(ȳᵢ, x̄ᵢβ̂) over entities, overall corr²(yᵢₜ, xᵢₜβ̂). Every number is checked in
``tests/test_estimators_random_effects.py`` against Stata 13 output stored by linearmodels
(``xtreg … re`` and ``be`` on its simulated panel, balanced and with missing cells) and R plm.

The Breusch–Pagan (1980) LM test of σ²_u = 0 (Stata ``xttest0``, R ``plmtest(type = "bp")``),
in the Baltagi–Li (1990) form for unbalanced panels, and the cluster-robust Sargan–Hansen test of
random against fixed effects (Arellano 1993; Wooldridge 2010, 10.7.3; Stata ``xtoverid``) are
reported with every random-effects fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.estimators.base import FitContext, coefficient_table
from specrun.estimators.covariance import few_clusters
from specrun.estimators.specs.random_effects import PanelBeSpec, PanelReSpec, re_covariance_problem
from specrun.kernels.distributions import chi2_sf, f_sf
from specrun.kernels.within import PanelIndex, group_means, group_sums
from specrun.results import ModelResult
from specrun.spec.models import CovarianceSpec

CONSTANT = "_cons"
COMPONENTS = {
    "stata": "stata: Swamy-Arora as xtreg, re (T-bar the harmonic mean of T_i)",
    "plm": "plm: Swamy-Arora as plm random.method = 'swar' (Baltagi-Chang 1994 when unbalanced)",
}


@dataclass(frozen=True)
class PanelArrays:
    """A model's rows as arrays with their entity codes and means.

    ``y`` (N,), ``x`` (N, k), ``codes`` (N,) entity codes 0…n−1, ``counts`` (n,) rows per
    entity, ``y_bar`` (n,) and ``x_bar`` (n, k) entity means.
    """

    y: np.ndarray
    x: np.ndarray
    codes: np.ndarray
    counts: np.ndarray
    y_bar: np.ndarray
    x_bar: np.ndarray

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, y: str, x: list[str], ctx: FitContext) -> PanelArrays:
        index = PanelIndex.from_labels(frame[ctx.entity].to_numpy(), frame[ctx.time].to_numpy())
        yv = frame[y].to_numpy().astype(float)
        xv = frame.select(x).to_numpy().astype(float).reshape(yv.size, len(x))
        n = index.n_entities
        counts = np.bincount(index.entity, minlength=n).astype(float)
        means = group_means(np.column_stack([yv, xv]), index.entity, n)
        return cls(yv, xv, index.entity, counts, means[:, 0], means[:, 1:])

    @property
    def nobs(self) -> int:
        return int(self.y.size)

    @property
    def n_entities(self) -> int:
        return int(self.counts.size)

    def within(self) -> tuple[np.ndarray, np.ndarray]:
        """y and x minus their entity means."""
        return self.y - self.y_bar[self.codes], self.x - self.x_bar[self.codes]


def _error(message: str, ctx: FitContext) -> SpecError:
    return SpecError(message, code="estimation", path=f"models.{ctx.name}")


def _full_rank(design: np.ndarray, names: list[str], ctx: FitContext, what: str) -> None:
    if design.shape[0] <= design.shape[1]:
        raise _error(
            f"the {what} has {design.shape[0]} rows for {design.shape[1]} coefficients: too "
            "few to estimate",
            ctx,
        )
    scale = np.abs(design).max(axis=0)
    scale[scale == 0] = 1.0
    if np.linalg.matrix_rank(design / scale) < design.shape[1]:
        raise _error(f"regressors are collinear in the {what}: " + ", ".join(names), ctx)


def _independent_columns(design: np.ndarray) -> list[int]:
    """Indices of the columns of ``design`` (n, k) kept in order, each column dropped when it is
    (up to rounding) a combination of those kept before it, as Stata omits collinear terms."""
    scale = np.abs(design).max(axis=0)
    scale[scale == 0] = 1.0
    scaled = design / scale
    kept: list[int] = []
    for j in range(design.shape[1]):
        if np.linalg.matrix_rank(scaled[:, [*kept, j]]) == len(kept) + 1:
            kept.append(j)
    return kept


def time_varying(x_within: np.ndarray, x: np.ndarray) -> list[int]:
    """Columns of regressors ``x`` (N, k) whose entity-demeaned values ``x_within`` are not
    zero up to rounding, i.e. that vary within some entity."""
    scale = np.maximum(np.abs(x).max(axis=0, initial=0.0), 1.0)
    deviation = np.abs(x_within).max(axis=0, initial=0.0)
    return [j for j in range(x.shape[1]) if deviation[j] > 1e-10 * scale[j]]


def _corr2(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def _r2_set(data: PanelArrays, slopes: np.ndarray) -> dict[str, float]:
    """Stata's three R² of a panel model with slopes β̂ (squared correlations)."""
    y_w, x_w = data.within()
    return {
        "r2_within": _corr2(y_w, x_w @ slopes),
        "r2_between": _corr2(data.y_bar, data.x_bar @ slopes),
        "r2_overall": _corr2(data.y, data.x @ slopes),
    }


def cluster_sandwich(design: np.ndarray, resid: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """(X′X)⁻¹ (Σ_g s_g s_g′) (X′X)⁻¹ with s_g = Σ_{i∈g} xᵢeᵢ; (K, K), no small-sample factor."""
    bread = np.linalg.inv(design.T @ design)
    sums = group_sums(design * resid[:, None], codes, int(codes.max()) + 1)
    return bread @ (sums.T @ sums) @ bread


def wald(beta: np.ndarray, cov: np.ndarray) -> tuple[float, int, float]:
    """χ² = β′V⁻¹β, its degrees of freedom (the rank of V) and p-value; generalized inverse as
    Stata's ``test``."""
    rank = int(np.linalg.matrix_rank(cov))
    chi2 = float(beta @ np.linalg.pinv(cov) @ beta)
    return chi2, rank, float(chi2_sf(chi2, rank)) if rank else float("nan")


@dataclass(frozen=True)
class VarianceComponents:
    """σ̂²_e, σ̂²_u and the per-entity θᵢ of Stata's ``xtreg, re``; ``t_bar`` the harmonic mean
    of Tᵢ; ``within_slopes`` the fixed-effects β̂ of the time-varying regressors."""

    sigma2_e: float
    sigma2_u: float
    t_bar: float
    theta: np.ndarray
    within_slopes: np.ndarray


def variance_components(
    data: PanelArrays, names: list[str], ctx: FitContext, convention: str = "stata"
) -> VarianceComponents:
    """Swamy–Arora components under ``convention``: ``stata`` (``xtreg, re``, see the module
    docstring) or ``plm`` (R plm ``random.method = "swar"``: the between regression weighted
    by Tᵢ and σ̂²_u = (SSR_b − (n − k − 1)σ̂²_e) / (N − tr(…)), the unbalanced Swamy–Arora
    of Baltagi and Chang 1994). The two agree on a balanced panel.

    Raises ``SpecError`` when the within or between regression cannot be estimated (collinear
    regressors, too few entities, no within degrees of freedom).
    """
    n, k, nobs = data.n_entities, data.x.shape[1], data.nobs
    y_w, x_w = data.within()
    # Regressors constant within every entity (sex, region) are identified by random effects
    # but swept out by the within regression, which (as xtreg's) omits them.
    varying = time_varying(x_w, data.x)
    x_w = x_w[:, varying]
    if varying:
        _full_rank(x_w, [names[j] for j in varying], ctx, "within (fixed-effects) regression")
    dof_w = nobs - n - len(varying)
    if dof_w <= 0:
        raise _error(f"no within degrees of freedom ({nobs} rows, {n} entities, {k} slopes)", ctx)
    b_w = np.linalg.lstsq(x_w, y_w, rcond=None)[0] if varying else np.zeros(0)
    e_w = y_w - x_w @ b_w
    sigma2_e = float(e_w @ e_w) / dof_w
    between = np.column_stack([data.x_bar, np.ones(n)])
    # Regressors without variation across entity means (year dummies on a balanced panel) are
    # identified by GLS but not by the between regression, which (as xtreg's, and plm's lm with
    # aliased coefficients) omits them: its degrees of freedom are n − rank.
    between = between[:, _independent_columns(between)]
    k = between.shape[1] - 1
    if n - k - 1 <= 0:
        raise _error(f"{n} entities leave no degrees of freedom for the between regression", ctx)
    t_bar = n / float(np.sum(1.0 / data.counts))
    if convention == "stata":
        b_b = np.linalg.lstsq(between, data.y_bar, rcond=None)[0]
        e_b = data.y_bar - between @ b_b
        sigma2_u = max(float(e_b @ e_b) / (n - k - 1) - sigma2_e / t_bar, 0.0)
    else:
        # plm: the between regression on the means repeated Tᵢ times (weighted by Tᵢ), and
        # E[SSR_b] = (n − k − 1)σ²_e + (N − tr((Σ Tᵢz̄ᵢz̄ᵢ′)⁻¹ Σ Tᵢ²z̄ᵢz̄ᵢ′))σ²_u
        root = np.sqrt(data.counts)
        b_b = np.linalg.lstsq(between * root[:, None], data.y_bar * root, rcond=None)[0]
        e_b = data.y_bar - between @ b_b
        weighted = between.T @ (between * data.counts[:, None])
        squared = between.T @ (between * (data.counts**2)[:, None])
        trace = float(np.trace(np.linalg.solve(weighted, squared)))
        ssr_b = float(e_b @ (data.counts * e_b))
        sigma2_u = max((ssr_b - (n - k - 1) * sigma2_e) / (nobs - trace), 0.0)
    theta = 1.0 - np.sqrt(sigma2_e / (data.counts * sigma2_u + sigma2_e))
    return VarianceComponents(sigma2_e, sigma2_u, t_bar, theta, b_w)


def _re_covariance(spec: CovarianceSpec, ctx: FitContext) -> str:
    """'unadjusted' or 'cluster' (by entity): what ``xtreg, re`` offers."""
    problem = re_covariance_problem(spec)
    if problem is not None:
        raise _error(problem, ctx)
    return "unadjusted" if spec.type == "unadjusted" else "cluster"


def breusch_pagan(data: PanelArrays) -> tuple[float, float, float]:
    """Breusch–Pagan LM test of σ²_u = 0 from pooled OLS residuals e (Baltagi–Li 1990 form):
    LM = N² / (2(ΣTᵢ² − N)) · (Σᵢ(Σₜ eᵢₜ)² / Σ eᵢₜ² − 1)², which is NT/(2(T−1))·(…)² when
    balanced. Returns LM, the one-sided p-value of the χ̄²(01) mixture that Stata's ``xttest0``
    prints (half the χ²(1) tail when the score is positive, else 1) and R plm
    ``plmtest(type = "bp")``'s two-sided χ²(1) tail."""
    design = np.column_stack([data.x, np.ones(data.nobs)])
    beta = np.linalg.lstsq(design, data.y, rcond=None)[0]
    resid = data.y - design @ beta
    sums = np.bincount(data.codes, weights=resid, minlength=data.n_entities)
    nobs = float(data.nobs)
    score = float(sums @ sums) / float(resid @ resid) - 1.0
    lm = nobs**2 / (2.0 * (float(data.counts @ data.counts) - nobs)) * score**2
    p_chi2 = float(chi2_sf(lm, 1))
    # one-sided: a negative score (residuals less alike within entities than across) is no
    # evidence for σ²_u > 0, and the 50:50 mixture of χ²(0) and χ²(1) gives it p = 1
    return lm, 0.5 * p_chi2 if score > 0 else 1.0, p_chi2


def fit_re(frame: pl.DataFrame, spec: PanelReSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    """Random-effects GLS (see the module docstring): coefficients with z statistics; stats
    ``sigma_u``, ``sigma_e``, ``rho`` (σ²_u/(σ²_u + σ²_e)), ``theta`` (the median θᵢ, the one
    θ when balanced) with ``theta_min``/``theta_max``, ``r2_within``/``r2_between``/
    ``r2_overall``, the Wald ``chi2`` of all slopes, ``bp_lm``/``bp_lm_p`` (``xttest0``) and
    ``overid_chi2``/``overid_p`` (``xtoverid``)."""
    vce = _re_covariance(spec.se, ctx)
    data = PanelArrays.from_frame(frame, spec.y, spec.x, ctx)
    comp = variance_components(data, spec.x, ctx, spec.components)
    theta = comp.theta[data.codes]
    y_star = data.y - theta * data.y_bar[data.codes]
    x_star = np.column_stack([data.x - theta[:, None] * data.x_bar[data.codes], 1.0 - theta])
    names = [*spec.x, CONSTANT]
    _full_rank(x_star, names, ctx, "random-effects (GLS) regression")
    beta = np.linalg.lstsq(x_star, y_star, rcond=None)[0]
    resid = y_star - x_star @ beta
    nobs, k = data.nobs, len(spec.x)
    s2 = float(resid @ resid) / (nobs - k - 1)
    if vce == "unadjusted":
        cov = s2 * np.linalg.inv(x_star.T @ x_star)
    else:
        g = data.n_entities
        factor = g / (g - 1) * (nobs - 1) / (nobs - k - 1)
        cov = factor * cluster_sandwich(x_star, resid, data.codes)
    chi2, chi2_df, chi2_p = wald(beta[:k], cov[:k, :k])
    lm, lm_p, lm_p_chi2 = breusch_pagan(data)
    overid = sargan_hansen(data, x_star, y_star, k, ctx)
    stats: dict[str, float] = {
        **_r2_set(data, beta[:k]),
        "sigma_u": float(np.sqrt(comp.sigma2_u)),
        "sigma_e": float(np.sqrt(comp.sigma2_e)),
        "rho": comp.sigma2_u / (comp.sigma2_u + comp.sigma2_e),
        "theta": float(np.median(comp.theta)),
        "theta_min": float(comp.theta.min()),
        "theta_max": float(comp.theta.max()),
        "t_bar": comp.t_bar,
        "rmse": float(np.sqrt(s2)),
        "chi2": chi2,
        "chi2_df": float(chi2_df),
        "chi2_p": chi2_p,
        "bp_lm": lm,
        "bp_lm_p": lm_p,
        "overid_chi2": overid[0],
        "overid_df": float(overid[1]),
        "overid_p": overid[2],
        "n_entities": float(data.n_entities),
        "mean_y": float(data.y.mean()),
    }
    if vce == "cluster":
        stats["n_clusters"] = float(data.n_entities)
    theta_pct = np.percentile(comp.theta, [5, 50, 95])
    extra = {
        "variance_components": COMPONENTS[spec.components],
        "theta": {
            "min": float(comp.theta.min()),
            "p5": float(theta_pct[0]),
            "median": float(theta_pct[1]),
            "p95": float(theta_pct[2]),
            "max": float(comp.theta.max()),
        },
        "bp_lm_p_chi2": lm_p_chi2,
        "bp_lm_convention": "bp_lm_p is Stata xttest0's chibar2(01) (half the chi2(1) tail); "
        "bp_lm_p_chi2 is R plm plmtest(type = 'bp')'s chi2(1) tail",
        "overid_convention": "xtoverid: cluster-robust Wald test of the within-deviation "
        "regressors in the augmented random-effects regression, no small-sample factor",
    }
    if warnings := few_clusters(stats):
        extra["warnings"] = warnings
    result = ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=spec.y,
        nobs=nobs,
        coefficients=coefficient_table(names, beta, cov, None),
        stats=stats,
        extra=extra,
        regressors=tuple(spec.x),
        se_type="clustered by entity" if vce == "cluster" else "conventional",
        se_convention="stata",
        stat_name="z",
        label=spec.label,
        covariance=cov,
    )
    return {"": result}


def sargan_hansen(
    data: PanelArrays, x_star: np.ndarray, y_star: np.ndarray, k: int, ctx: FitContext
) -> tuple[float, int, float]:
    """Cluster-robust test of random against fixed effects (Stata ``xtoverid`` after
    ``xtreg, re``): re-estimate the GLS regression augmented with the regressors' within
    deviations xᵢₜ − x̄ᵢ and Wald-test those with the cluster-by-entity sandwich, unscaled
    (Arellano 1993; Wooldridge 2010, eq. 10.88). Regressors constant within every entity have
    no deviation and drop out of the test. Returns χ², df, p."""
    _, x_w = data.within()
    varying = time_varying(x_w, data.x)
    if not varying:
        return float("nan"), 0, float("nan")
    design = np.column_stack([x_star, x_w[:, varying]])
    beta = np.linalg.lstsq(design, y_star, rcond=None)[0]
    resid = y_star - design @ beta
    cov = cluster_sandwich(design, resid, data.codes)
    tail = slice(x_star.shape[1], design.shape[1])
    return wald(beta[tail], cov[tail, tail])


def fit_be(frame: pl.DataFrame, spec: PanelBeSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    """Between effects: OLS of ȳᵢ on x̄ᵢ and a constant over the n entities, conventional
    covariance, t statistics with n − k − 1 degrees of freedom (``xtreg, be``). Stats ``r2``
    (= ``r2_between``, the regression's R²), ``r2_adj``, ``r2_within``, ``r2_overall``,
    ``f`` with ``f_p``, ``rmse`` and ``n_entities``."""
    data = PanelArrays.from_frame(frame, spec.y, spec.x, ctx)
    n, k = data.n_entities, len(spec.x)
    design = np.column_stack([data.x_bar, np.ones(n)])
    names = [*spec.x, CONSTANT]
    _full_rank(design, names, ctx, "between regression on entity means")
    dof = n - k - 1
    beta = np.linalg.lstsq(design, data.y_bar, rcond=None)[0]
    resid = data.y_bar - design @ beta
    ssr = float(resid @ resid)
    tss = float(((data.y_bar - data.y_bar.mean()) ** 2).sum())
    cov = ssr / dof * np.linalg.inv(design.T @ design)
    r2 = 1.0 - ssr / tss
    f = (r2 / k) / ((1.0 - r2) / dof) if k else float("nan")
    stats: dict[str, float] = {
        **_r2_set(data, beta[:k]),
        "r2": r2,
        "r2_adj": 1.0 - (1.0 - r2) * (n - 1) / dof,
        "f": f,
        "f_p": float(f_sf(f, k, dof)) if k else float("nan"),
        "rmse": float(np.sqrt(ssr / dof)),
        "df_resid": float(dof),
        "n_entities": float(n),
        "mean_y": float(data.y.mean()),
    }
    result = ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=spec.y,
        nobs=data.nobs,
        coefficients=coefficient_table(names, beta, cov, dof),
        stats=stats,
        extra={"regression": "OLS on entity means, each entity weighted equally (xtreg, be)"},
        regressors=tuple(spec.x),
        se_type="conventional",
        se_convention="stata",
        label=spec.label,
        covariance=cov,
    )
    return {"": result}
