"""Instrumental variables: 2SLS, LIML and two-step GMM, with first stages and weak-IV tests.

The algebra lives in ``specrun.kernels.iv`` (pure numpy on already-partialled arrays); this
module reads the spec, sweeps out fixed effects (``effects:``) with ``kernels.within.demean``,
and turns the kernel's record into results: the second stage under the model's name and each
first stage as ``<model>.first.<endog>``, so a regression table can print them side by side.

Default inference is Stata's ``ivregress 2sls`` (z statistics, σ² = SSR/N; robust without a
degrees-of-freedom factor; clustered with G/(G − 1)); ``small: true`` is its ``small`` option.
With fixed effects no constant is reported (as ``xtivreg2``/``ivreghdfe``) and small-sample
factors count the absorbed levels, except those nested in the clusters. Checked in
``tests/test_estimators_iv.py`` against linearmodels 7.1 (IV2SLS/IVLIML/IVGMM), R AER 1.2-10
``ivreg`` and Stata's printed output for Wooldridge's Example 15.x on Mroz (1987).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from specrun.errors import SpecError
from specrun.estimators.base import ESTIMATORS, EstimatorKind, FitContext
from specrun.kernels.hdfe import Factor, factor_codes, nested_in
from specrun.kernels.iv import Estimate, Inference, IVError, IVFit, fit_iv, stock_yogo_size10
from specrun.kernels.within import PanelIndex, demean
from specrun.results import Coefficient, ModelResult
from specrun.spec.models import CovarianceSpec, ModelBase, VarList, VarName

CONSTANT = "_cons"
WEAK_F = 10.0  # Staiger and Stock (1997) rule of thumb for a first-stage F


class IVSpec(ModelBase):
    """A linear IV model: ``y`` on ``endog`` and exogenous ``x``, ``instruments`` excluded."""

    estimator: Literal["iv"]
    y: VarName
    x: VarList = Field(default_factory=list, description="Exogenous regressors (controls).")
    endog: VarList = Field(min_length=1, description="Endogenous regressors.")
    instruments: VarList = Field(
        min_length=1, description="Excluded instruments (at least as many as endog)."
    )
    effects: list[Literal["entity", "time"]] = Field(
        default_factory=list, description="Fixed effects swept out of every variable."
    )
    method: Literal["2sls", "liml", "gmm"] = Field(
        "2sls", description="2sls, liml, or gmm (two-step efficient GMM as ivreg2, gmm2s)."
    )
    small: bool = Field(
        False,
        description="Stata's small: t/F statistics and N − K corrections; default z and SSR/N.",
    )
    se: CovarianceSpec = Field(
        default_factory=CovarianceSpec,
        description="Standard errors: unadjusted, robust, or clustered by one column; ivregress "
        "conventions (see small).",
    )
    ci_level: float = Field(0.95, gt=0, lt=1, description="Level of the Anderson–Rubin set.")

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        return self.se.column_refs()

    @model_validator(mode="after")
    def _roles(self) -> IVSpec:
        roles = {"y": [self.y], "x": self.x, "endog": self.endog, "instruments": self.instruments}
        seen: dict[str, str] = {}
        for role, names in roles.items():
            for name in names:
                if name in seen and seen[name] != role:
                    raise ValueError(f"'{name}' is in both {seen[name]} and {role}")
                seen[name] = role
        if len(self.instruments) < len(self.endog):
            raise ValueError(
                f"{len(self.instruments)} instrument(s) for {len(self.endog)} endogenous "
                "regressor(s): the model is not identified"
            )
        if self.se.type == "cluster" and len(self.se.clusters) > 1:
            raise ValueError(
                "iv clusters by one column (entity, time or any column, as ivregress "
                "vce(cluster c)), not several"
            )
        if self.se.type not in ("unadjusted", "HC1", "cluster"):
            raise ValueError(
                f"iv takes se: unadjusted, robust or a cluster (as ivregress), not {self.se.type}"
            )
        if self.se.convention != "stata":
            raise ValueError("iv follows Stata's conventions (se.convention: stata)")
        return self


def first_stage_names(spec: IVSpec) -> tuple[str, ...]:
    return tuple(f"first.{e}" for e in spec.endog)


def _arrays(
    frame: pl.DataFrame, spec: IVSpec, ctx: FitContext
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Inference]:
    """The one place fixed effects and clusters enter: partial the effects out of every
    variable and build the kernel's inference record (swap in ``absorb:`` here)."""
    cols = [spec.y, *spec.endog, *spec.x, *spec.instruments]
    data = frame.select(cols).to_numpy().astype(float)
    index = PanelIndex.from_labels(frame[ctx.entity].to_numpy(), frame[ctx.time].to_numpy())
    absorbed = 0
    if spec.effects:
        entity, time = "entity" in spec.effects, "time" in spec.effects
        data = demean(data, index, entity=entity, time=time)
        # the sweep removes the constant as well: count every level of the first set
        absorbed = index.n_entities if entity else index.n_periods
        if entity and time:
            absorbed += index.n_periods - 1
    k1, kx = len(spec.endog), len(spec.x)
    y = data[:, 0]
    x1 = data[:, 1 : 1 + k1]
    w = data[:, 1 + k1 : 1 + k1 + kx]
    z = data[:, 1 + k1 + kx :]
    if not spec.effects:
        w = np.column_stack([w, np.ones(y.size)])
    clusters = None
    nested = 0
    if spec.se.type == "cluster":
        dim = spec.se.clusters[0]
        if dim in ("entity", "time"):
            clusters = index.entity if dim == "entity" else index.time
        else:
            clusters = factor_codes(frame[dim].to_numpy())[0]
        # levels nested in the clusters (firms inside industries) leave K, but one stays as
        # the constant (reghdfe/fixest: K = slopes + 1 when the only effect is nested)
        for effect in spec.effects:
            codes, levels = (
                (index.entity, index.n_entities)
                if effect == "entity"
                else (index.time, index.n_periods)
            )
            if nested_in(Factor(effect, codes, levels), clusters):
                nested = levels - 1
                break
    kind = "robust" if spec.se.type == "HC1" else spec.se.type
    inf = Inference(kind, clusters, spec.small, absorbed, nested)
    return y, x1, w, z, inf


def _coefficients(names: list[str], est: Estimate) -> dict[str, Coefficient]:
    return {
        n: Coefficient(float(b), float(s), float(t), float(p))
        for n, b, s, t, p in zip(
            names, est.beta, est.std_errors, est.stats, est.p_values, strict=True
        )
    }


def fit_iv_model(frame: pl.DataFrame, spec: IVSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    y, x1, w, z, inf = _arrays(frame, spec, ctx)
    named = np.column_stack([x1, w[:, : len(spec.x)], z])
    for j, name in enumerate([*spec.endog, *spec.x, *spec.instruments]):
        column = named[:, j]
        if np.ptp(column) == 0 or (spec.effects and np.abs(column).max() < 1e-10):
            why = "absorbed by the fixed effects" if spec.effects else "constant in the sample"
            raise SpecError(f"'{name}' is {why}", code="estimation", path=f"models.{ctx.name}")
    try:
        fit = fit_iv(y, x1, w, z, method=spec.method, inference=inf, level=spec.ci_level)
    except IVError as exc:
        raise SpecError(str(exc), code="estimation", path=f"models.{ctx.name}") from None
    except np.linalg.LinAlgError as exc:
        raise SpecError(
            f"the IV problem is numerically singular ({exc})",
            code="estimation",
            path=f"models.{ctx.name}",
        ) from None
    constant = [] if spec.effects else [CONSTANT]
    index = PanelIndex.from_labels(frame[ctx.entity].to_numpy(), frame[ctx.time].to_numpy())
    convention = "ivregress small" if spec.small else "ivregress"
    se_type = spec.se.describe()
    stat_name = "t" if spec.small else "z"
    common: dict[str, float] = {"n_entities": float(index.n_entities)}
    if fit.n_clusters is not None:
        common["n_clusters"] = float(fit.n_clusters)
    names = [*spec.endog, *spec.x, *constant]
    stats = {**_diagnostics(fit, spec), **common}
    stats["mean_y"] = float(frame[spec.y].mean())  # type: ignore[arg-type]
    warnings = [
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
    }
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
        effects=tuple(spec.effects),
        se_type=se_type,
        se_convention=convention,
        stat_name=stat_name,
        label=spec.label,
    )
    out: dict[str, ModelResult] = {"": main}
    first_names = [*spec.instruments, *spec.x, *constant]
    for endog, fs in zip(spec.endog, fit.first, strict=True):
        fstats = {
            "r2": fs.r2,
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
            effects=tuple(spec.effects),
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


ESTIMATORS.register("iv")(EstimatorKind("iv", IVSpec, fit_iv_model, child_names=first_stage_names))
