"""Instrumental variables: 2SLS, LIML and two-step GMM, with first stages and weak-IV tests.

The algebra lives in ``specrun.kernels.iv`` (pure numpy on already-partialled arrays); this
module reads the spec, sweeps the absorbed effects (``absorb:``, any columns and a#b, or the
shorthand ``effects:``) out of y, the regressors and the instruments with ``kernels.hdfe``
(Frisch–Waugh–Lovell, as ``ivreghdfe``), weights by analytic weights (``weights:``, Stata
``[aweight=w]``: every variable scaled by √w), and turns the kernel's record into results: the
second stage under the model's name and each first stage as ``<model>.first.<endog>``, so a
regression table can print them side by side.

Default inference is Stata's ``ivregress 2sls`` (z statistics, σ² = SSR/N; robust without a
degrees-of-freedom factor; clustered without G/(G − 1) either); ``small: true`` is its ``small``
option. With fixed effects no constant is reported (as ``xtivreg2``/``ivreghdfe``) and small-sample
factors count the absorbed levels, except those nested in the clusters. Checked in
``tests/test_estimators_iv.py`` against linearmodels 7.1 (IV2SLS/IVLIML/IVGMM), R AER 1.2-10
``ivreg`` and Stata's printed output for Wooldridge's Example 15.x on Mroz (1987); absorbed
effects and weights in ``tests/test_estimators_iv_hdfe.py`` against pyfixest 0.60's IV; every
method, covariance and ``small`` against Stata 13's stored ``ivregress`` output in
``tests/test_estimators_iv_stata.py``; ``method: gmm`` with clustered errors against Stata's
``ivreg2, gmm2s cluster()`` on abdata (with ``small``) and Card's data in
``tests/test_estimators_iv_ivreg2.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.covariance import few_clusters
from specrun.estimators.linear import (
    absorbed_factors,
    analytic_weights,
)
from specrun.estimators.specs.iv import IVSpec
from specrun.kernels.hdfe import Factor, factor_codes, nested_in
from specrun.kernels.hdfe import demean as hdfe_demean
from specrun.kernels.iv import Estimate, Inference, IVError, IVFit, fit_iv, stock_yogo_size10
from specrun.kernels.within import PanelIndex
from specrun.results import Coefficient, ModelResult

CONSTANT = "_cons"
WEAK_F = 10.0  # Staiger and Stock (1997) rule of thumb for a first-stage F


@dataclass(frozen=True)
class _Design:
    """The kernel's arrays — partialled for the absorbed effects (FWL) and scaled by √w — and
    what the estimator reports about them."""

    y: np.ndarray
    x1: np.ndarray
    w: np.ndarray
    z: np.ndarray
    inference: Inference
    factors: list[Factor]
    weights: np.ndarray | None
    iterations: int


def _fail(message: str, ctx: FitContext, hint: str | None = None) -> SpecError:
    return SpecError(message, code="estimation", path=f"models.{ctx.name}", hint=hint)


def _arrays(frame: pl.DataFrame, spec: IVSpec, ctx: FitContext) -> _Design:
    """The one place fixed effects, weights and clusters enter: sweep the absorbed sets out of
    every variable with the HDFE kernel (weighted when weighted), scale the rows by √w so the
    kernel's unweighted algebra is weighted least squares (Stata's aweights: the normalisation
    of w cancels), and build the kernel's inference record."""
    cols = [spec.y, *spec.endog, *spec.x, *spec.instruments]
    data = frame.select(pl.col(cols).cast(pl.Float64)).to_numpy()
    weights = analytic_weights(frame, spec.weights, ctx)
    factors = absorbed_factors(frame, spec.absorbed(), ctx)
    absorbed = 0
    iterations = 0
    if factors:
        swept = hdfe_demean(
            data, factors, weights=weights, tol=spec.tolerance, max_iter=spec.max_iterations
        )
        if not swept.converged:
            raise _fail(
                f"the demeaning did not converge in {spec.max_iterations} sweeps",
                ctx,
                hint="raise max_iterations or loosen tolerance",
            )
        data, iterations = swept.values, swept.iterations
        # the sweep removes the constant as well: count it with every set's levels − 1
        absorbed = 1 + sum(f.levels - 1 for f in factors)
    root = None if weights is None else np.sqrt(weights)
    if root is not None:
        data = data * root[:, None]
    k1, kx = len(spec.endog), len(spec.x)
    y = data[:, 0]
    x1 = data[:, 1 : 1 + k1]
    w = data[:, 1 + k1 : 1 + k1 + kx]
    z = data[:, 1 + k1 + kx :]
    if not factors:
        w = np.column_stack([w, np.ones(y.size) if root is None else root])
    clusters = None
    nested = 0
    if spec.se.type == "cluster":
        dim = spec.se.clusters[0]
        column = {"entity": ctx.entity, "time": ctx.time}.get(dim, dim)
        clusters = factor_codes(frame[column].to_numpy())[0]
        # sets nested in the clusters (firms inside industries) leave K; the constant stays
        # (reghdfe/ivreghdfe: K = slopes + 1 when every absorbed set is nested)
        nested = sum(f.levels - 1 for f in factors if nested_in(f, clusters))
    kind = "robust" if spec.se.type == "HC1" else spec.se.type
    inf = Inference(kind, clusters, spec.small, absorbed, nested)
    return _Design(y, x1, w, z, inf, factors, weights, iterations)


def _coefficients(names: list[str], est: Estimate) -> dict[str, Coefficient]:
    return {
        n: Coefficient(float(b), float(s), float(t), float(p))
        for n, b, s, t, p in zip(
            names, est.beta, est.std_errors, est.stats, est.p_values, strict=True
        )
    }


def fit_iv_model(frame: pl.DataFrame, spec: IVSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    design = _arrays(frame, spec, ctx)
    y, x1, w, z, inf = design.y, design.x1, design.w, design.z, design.inference
    names_in = [*spec.endog, *spec.x, *spec.instruments]
    raw = frame.select(pl.col(names_in).cast(pl.Float64)).to_numpy()
    named = np.column_stack([x1, w[:, : len(spec.x)], z])
    weight = np.ones(y.size) if design.weights is None else design.weights
    centred = raw - weight @ raw / weight.sum()
    spread = np.einsum("ij,ij,i->j", centred, centred, weight)
    for j, name in enumerate(names_in):
        if np.ptp(raw[:, j]) == 0:
            raise _fail(f"'{name}' is constant in the sample", ctx)
        if design.factors and named[:, j] @ named[:, j] <= 1e-9 * spread[j]:
            effects = ", ".join(f.name for f in design.factors)
            raise _fail(f"'{name}' is absorbed by the fixed effects ({effects})", ctx)
    try:
        fit = fit_iv(
            y,
            x1,
            w,
            z,
            method=spec.method,
            inference=inf,
            level=spec.ci_level,
            gmm_covariance=spec.gmm_covariance,
        )
    except IVError as exc:
        raise SpecError(str(exc), code="estimation", path=f"models.{ctx.name}") from None
    except np.linalg.LinAlgError as exc:
        raise SpecError(
            f"the IV problem is numerically singular ({exc})",
            code="estimation",
            path=f"models.{ctx.name}",
            # numpy's "Singular matrix" named no variable: the usual cause, said
            hint="a regressor or instrument is an exact linear function of the others (an "
            "instrument built from an endogenous regressor, or from x): leave it out",
        ) from None
    constant = [] if design.factors else [CONSTANT]
    index = PanelIndex.from_labels(frame[ctx.entity].to_numpy(), frame[ctx.time].to_numpy())
    # the covariance's source: ivregress (2SLS, LIML), and for GMM ivreg2's gmm2s or ivregress
    convention = "ivregress"
    if spec.method == "gmm":
        convention = "ivreg2 gmm2s" if spec.gmm_covariance == "ivreg2" else "ivregress gmm"
    convention += " small" if spec.small else ""
    se_type = spec.se.describe()
    stat_name = "t" if spec.small else "z"
    common: dict[str, float] = {"n_entities": float(index.n_entities)}
    if fit.n_clusters is not None:
        common["n_clusters"] = float(fit.n_clusters)
    names = [*spec.endog, *spec.x, *constant]
    stats = {**_diagnostics(fit, spec), **common}
    y_raw = frame[spec.y].cast(pl.Float64).to_numpy()
    stats["mean_y"] = float(weight @ y_raw / weight.sum())
    if design.weights is not None and not design.factors:
        # the kernel centres the √w-scaled y; the weighted R² centres y at its weighted mean
        stats["r2"] = 1.0 - fit.ssr / float(weight @ (y_raw - stats["mean_y"]) ** 2)
    warnings = few_clusters(stats) + [
        f"first stage of '{e}': F = {fs.f.stat:.2f} < {WEAK_F:g}, the instruments may be weak "
        "(Staiger and Stock 1997)"
        for e, fs in zip(spec.endog, fit.first, strict=True)
        if fs.f.stat < WEAK_F
    ]
    extra: dict[str, object] = {
        "method": spec.method,
        "endogenous": list(spec.endog),
        "instruments": list(spec.instruments),
        "kappa": fit.estimate.kappa,
        "overid_test": (
            None
            if fit.overid is None
            else ("Sargan" if inf.kind == "unadjusted" else "Hansen J (two-step GMM)")
        ),
        "underid_test": (
            "Anderson canonical correlation LM"
            if inf.kind == "unadjusted"
            else "Kleibergen-Paap rk LM"
        ),
        "endog_test": "C (difference-in-Sargan/Hansen), ivreg2 endog()",
        "ar_ci": None
        if fit.ar_ci is None
        else {"low": fit.ar_ci[0], "high": fit.ar_ci[1], "shape": fit.ar_ci[2]},
        "absorbed_dof": inf.absorbed,
        "absorbed": [f.name for f in design.factors],
        "weights": spec.weights,
    }
    if design.factors:
        extra["hdfe_iterations"] = design.iterations
    if warnings:
        extra["warnings"] = warnings
    main = ModelResult(
        name=ctx.name,
        estimator="iv",
        dependent=spec.y,
        nobs=fit.nobs,
        coefficients=_coefficients(names, fit.estimate),
        stats=stats,
        extra=extra,
        regressors=(*spec.endog, *spec.x),
        effects=tuple(f.name for f in design.factors),
        se_type=se_type,
        se_convention=convention,
        stat_name=stat_name,
        label=spec.label,
    )
    out: dict[str, ModelResult] = {"": main}
    first_names = [*spec.instruments, *spec.x, *constant]
    for endog, fs in zip(spec.endog, fit.first, strict=True):
        r2 = fs.r2
        if design.weights is not None and not design.factors:
            x_raw = frame[endog].cast(pl.Float64).to_numpy()
            centred = x_raw - weight @ x_raw / weight.sum()
            resid = fs.estimate.resid
            r2 = 1.0 - float(resid @ resid) / float(weight @ centred**2)
        fstats = {
            "r2": r2,
            "partial_r2": fs.partial_r2,
            "first_f": fs.f.stat,
            "first_f_p": fs.f.p_value,
            "sw_f": fs.sw_f.stat,
            "sw_f_p": fs.sw_f.p_value,
            **common,
        }
        out[f"first.{endog}"] = ModelResult(
            name=f"{ctx.name}.first.{endog}",
            estimator="iv_first_stage",
            dependent=endog,
            nobs=fit.nobs,
            coefficients=_coefficients(first_names, fs.estimate),
            stats=fstats,
            extra={"f_df": [fs.f.df, fs.f.df2], "sw_f_df": [fs.sw_f.df, fs.sw_f.df2]},
            regressors=(*spec.instruments, *spec.x),
            effects=tuple(f.name for f in design.factors),
            se_type=se_type,
            se_convention=convention,
            stat_name="t" if spec.small else "z",
            label="First stage",
        )
    return out


def _diagnostics(fit: IVFit, spec: IVSpec) -> dict[str, float]:
    """Statistics a table can print by name (DESIGN.md: first_f, sw_f, kp_f, kp_lm_p, cd_f,
    hansen_j, hansen_j_p, endog_p, ar_p)."""
    stats: dict[str, float] = {
        "r2": fit.r2,
        "ssr": fit.ssr,
        "cd_f": fit.cd_f,
        "kp_f": fit.kp_f,
        "kp_lm": fit.underid.stat,
        "kp_lm_p": fit.underid.p_value,
        "endog_chi2": fit.endog.stat,
        "endog_p": fit.endog.p_value,
        "ar_f": fit.ar.stat,
        "ar_p": fit.ar.p_value,
    }
    if len(spec.endog) == 1:
        stats["first_f"] = fit.first[0].f.stat
        stats["sw_f"] = fit.first[0].sw_f.stat
    else:
        stats["sw_f"] = min(fs.sw_f.stat for fs in fit.first)
    if fit.overid is not None:
        stats["hansen_j"] = fit.overid.stat
        stats["hansen_j_p"] = fit.overid.p_value
        stats["hansen_j_df"] = float(fit.overid.df)
    if fit.ar_ci is not None:
        stats["ar_ci_low"], stats["ar_ci_high"] = fit.ar_ci[0], fit.ar_ci[1]
    critical = stock_yogo_size10(len(spec.endog), len(spec.instruments), spec.method)
    if critical is not None:
        stats["sy_size10"] = critical
    return stats
