"""Linear models: pooled OLS and fixed-effects panel regressions (entity, time or two-way).

Coefficients come from least squares on within-transformed data (``kernels.within``), which
equals ``linearmodels.PanelOLS`` / R ``plm(model = "within")`` and Stata ``xtreg, fe``;
``tests/test_estimators_linear.py`` checks every reported number on the Grunfeld data against
R plm 2.6.2 and Stata. Following ``xtreg, fe`` and ``reghdfe``, the FE model's constant is
ȳ − x̄′β̂ (the regression of yᵢₜ − ȳᵢ + ȳ on xᵢₜ − x̄ᵢ + x̄ with an intercept), and two R² are
reported: ``r2_within`` (1 − SSR / Σ(yᵢₜ − ȳᵢ)², time dummies counted as regressors) and
``r2_lsdv`` (1 − SSR / Σ(yᵢₜ − ȳ)², the R² of the dummy-variable regression).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field

from specrun.errors import SpecError
from specrun.estimators.base import ESTIMATORS, EstimatorKind, FitContext
from specrun.estimators.covariance import Covariance, DegreesOfFreedom, covariance
from specrun.kernels.distributions import two_sided_p
from specrun.kernels.within import PanelIndex, demean
from specrun.results import Coefficient, ModelResult
from specrun.spec.models import CovarianceSpec, ModelBase, VarList, VarName

CONSTANT = "_cons"
FEW_CLUSTERS = 10  # below this, cluster-robust inference is known to over-reject


class OlsSpec(ModelBase):
    """Pooled OLS with a constant."""

    estimator: Literal["ols"]
    y: VarName
    x: VarList
    se: CovarianceSpec = Field(default_factory=CovarianceSpec)


class PanelFeSpec(ModelBase):
    """Fixed-effects regression: entity, time or both effects swept out."""

    estimator: Literal["panel_fe"]
    y: VarName
    x: VarList
    effects: list[Literal["entity", "time"]] = Field(default_factory=lambda: ["entity"])
    se: CovarianceSpec = Field(default_factory=CovarianceSpec)


def _check_rank(x: np.ndarray, names: list[str], ctx: FitContext, why: str) -> None:
    if x.shape[0] <= x.shape[1]:
        raise SpecError(
            f"{x.shape[0]} complete observations for {x.shape[1]} coefficients",
            code="estimation",
            path=f"models.{ctx.name}",
        )
    scale = np.where(np.abs(x).max(axis=0) > 0, np.abs(x).max(axis=0), 1.0)
    for j, name in enumerate(names):
        if np.abs(x[:, j]).max() <= 1e-10 * max(scale[j], 1.0):
            raise SpecError(f"'{name}' is {why}", code="estimation", path=f"models.{ctx.name}")
    if np.linalg.matrix_rank(x / scale) < x.shape[1]:
        raise SpecError(
            "regressors are collinear: " + ", ".join(names),
            code="estimation",
            path=f"models.{ctx.name}",
        )


def _coefficients(names: list[str], beta: np.ndarray, cov: Covariance) -> dict[str, Coefficient]:
    se = np.sqrt(np.clip(np.diag(cov.matrix), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    p = two_sided_p(stat, cov.df)
    return {
        n: Coefficient(float(b), float(s), float(t), float(pv))
        for n, b, s, t, pv in zip(names, beta, se, stat, p, strict=True)
    }


def _convention(spec: CovarianceSpec) -> str:
    if spec.type == "unadjusted":
        return "conventional"
    return {"stata": "stata", "plm": "plm HC1", "linearmodels": "linearmodels"}[spec.convention]


def _linearmodels_cov(
    frame: pl.DataFrame, spec: OlsSpec | PanelFeSpec, ctx: FitContext, names: list[str]
) -> Covariance:
    """The covariance linearmodels itself reports, with its default options."""
    from linearmodels import PanelOLS, PooledOLS

    data = frame.to_pandas().set_index([ctx.entity, ctx.time])
    exog = data[spec.x].assign(**{CONSTANT: 1.0})[[*spec.x, CONSTANT]]
    options: dict[str, object] = {}
    if spec.se.type == "robust":
        options["cov_type"] = "robust"
    elif spec.se.type == "cluster":
        options = {"cov_type": "clustered"}
        options.update({f"cluster_{d}": True for d in spec.se.cluster or []})
    if isinstance(spec, PanelFeSpec):
        model = PanelOLS(
            data[spec.y],
            exog,
            entity_effects="entity" in spec.effects,
            time_effects="time" in spec.effects,
        )
    else:
        model = PooledOLS(data[spec.y], exog)
    fitted = model.fit(**options)
    order = [n if n != CONSTANT else CONSTANT for n in names]
    matrix = fitted.cov.loc[order, order].to_numpy()
    return Covariance(matrix, None)


def fit_linear(
    frame: pl.DataFrame, spec: OlsSpec | PanelFeSpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    y = frame[spec.y].to_numpy().astype(float)
    x = frame.select(spec.x).to_numpy().astype(float)
    n = y.size
    effects = tuple(spec.effects) if isinstance(spec, PanelFeSpec) else ()
    index = PanelIndex.from_labels(frame[ctx.entity].to_numpy(), frame[ctx.time].to_numpy())
    if effects:
        swept = demean(
            np.column_stack([y, x]), index, entity="entity" in effects, time="time" in effects
        )
        _check_rank(swept[:, 1:], spec.x, ctx, "absorbed by the fixed effects")
        # Add the grand means back so that the intercept is Stata's FE constant.
        y_t = swept[:, 0] + y.mean()
        x_t = swept[:, 1:] + x.mean(axis=0)
    else:
        y_t, x_t = y, x
    design = np.column_stack([x_t, np.ones(n)])
    names = [*spec.x, CONSTANT]
    _check_rank(design, names, ctx, "constant in the sample")
    beta, *_ = np.linalg.lstsq(design, y_t, rcond=None)
    resid = y_t - design @ beta
    absorbed = 0
    if "entity" in effects:
        absorbed += index.n_entities - 1
    if "time" in effects:
        absorbed += index.n_periods - 1
    dof = DegreesOfFreedom(
        nobs=n,
        slopes=len(spec.x),
        absorbed=absorbed,
        time_dummies=index.n_periods - 1 if "time" in effects else 0,
        has_constant=True,
    )
    if dof.resid <= 0:
        raise SpecError(
            f"no residual degrees of freedom ({n} observations)",
            code="estimation",
            path=f"models.{ctx.name}",
        )
    if spec.se.type == "cluster":
        needed = {"entity": index.n_entities, "time": index.n_periods}
        for dim in spec.se.cluster or []:
            if needed[dim] < 2:
                raise SpecError(
                    f"clustering by {dim} needs at least 2 clusters, the sample has {needed[dim]}",
                    code="estimation",
                    path=f"models.{ctx.name}",
                )
    if spec.se.convention == "linearmodels" and spec.se.type != "unadjusted":
        cov = _linearmodels_cov(frame, spec, ctx, names)
    else:
        cov = covariance(
            design,
            resid,
            spec.se,
            dof,
            {"entity": index.entity, "time": index.time},
        )
    ssr = float(resid @ resid)
    tss_total = float(((y - y.mean()) ** 2).sum())
    stats: dict[str, float] = {"ssr": ssr, "df_resid": float(dof.resid)}
    if effects:
        if "entity" in effects:
            y_within = demean(y, index, entity=True)
        else:
            y_within = y - y.mean()
        stats["r2_within"] = 1.0 - ssr / float(y_within @ y_within)
        stats["r2_lsdv"] = 1.0 - ssr / tss_total
        k_all = len(spec.x) + absorbed + 1
        stats["r2_lsdv_adj"] = 1.0 - (1.0 - stats["r2_lsdv"]) * (n - 1) / (n - k_all)
    else:
        stats["r2"] = 1.0 - ssr / tss_total
        stats["r2_adj"] = 1.0 - (1.0 - stats["r2"]) * (n - 1) / dof.resid
    stats["n_entities"] = float(index.n_entities)
    stats["n_periods"] = float(index.n_periods)
    stats["mean_y"] = float(y.mean())
    if spec.se.type == "cluster":
        stats["n_clusters"] = float(
            min(
                index.n_entities if d == "entity" else index.n_periods
                for d in spec.se.cluster or []
            )
        )
    warnings = []
    if stats.get("n_clusters", FEW_CLUSTERS) < FEW_CLUSTERS:
        warnings.append(
            f"only {int(stats['n_clusters'])} clusters: clustered standard errors are unreliable "
            f"with fewer than about {FEW_CLUSTERS} (Cameron and Miller 2015)"
        )
    result = ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=spec.y,
        nobs=n,
        coefficients=_coefficients(names, beta, cov),
        stats=stats,
        extra={"warnings": warnings} if warnings else {},
        regressors=tuple(spec.x),
        effects=effects,
        se_type=spec.se.describe(),
        se_convention=_convention(spec.se),
        label=spec.label,
    )
    return {"": result}


ESTIMATORS.register("ols")(EstimatorKind("ols", OlsSpec, fit_linear))
ESTIMATORS.register("panel_fe")(EstimatorKind("panel_fe", PanelFeSpec, fit_linear))
