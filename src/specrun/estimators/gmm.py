"""Dynamic panel GMM estimators: ``difference_gmm`` (Arellano and Bond 1991) and ``system_gmm``
(Blundell and Bond 1998), with options modelled on Stata's ``xtabond2`` (Roodman 2009).

    y_it = Σ_l α_l y_i,t−l + β′x_it + time effects + μ_i + e_it

The numerics are ``specrun.kernels.gmm`` (xtabond2's conventions; plm::pgmm's differences are
listed there). Spec keys::

    gmm: {Expy: [2, 4], Dige: [2, null]}   # gmmstyle(Expy, lag(2 4)) gmmstyle(Dige, lag(2 .))
    iv: [URBAN, EDU]                       # ivstyle(URBAN EDU)

or lists of groups for xtabond2's other options (``equation``, ``collapse`` per group,
``passthru``, ``mz``). Checked against Roodman (2009) in ``tests/test_kernel_gmm.py`` and,
through ``specs/abond.yaml``, in ``tests/test_estimators_gmm.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from specrun.estimators.base import FitContext, term_variable
from specrun.estimators.covariance import few_clusters
from specrun.estimators.specs.gmm import GmmSpec, SystemGmmSpec
from specrun.results import Coefficient, ModelResult, TermPart

if TYPE_CHECKING:
    from specrun.kernels.gmm import GmmResult


def _result(fit: GmmResult, spec: GmmSpec, ctx: FitContext) -> ModelResult:
    coefficients = {
        name: Coefficient(float(b), float(se), float(z), float(p))
        for name, b, se, z, p in zip(
            fit.names, fit.params, fit.std_errors, fit.stats, fit.p_values, strict=True
        )
    }
    extra: dict[str, Any] = {
        key: getattr(fit, key)
        for key in (
            "ar1_z",
            "ar1_p",
            "ar2_z",
            "ar2_p",
            "hansen",
            "hansen_df",
            "hansen_p",
            "sargan",
            "sargan_df",
            "sargan_p",
            "n_instruments",
            "n_groups",
        )
    }
    # Period dummies that the sample makes collinear are dropped as a matter of course (the
    # first periods, lost to lags and differences): a note, not a warning. Any other regressor
    # dropped still warns.
    routine = {f"{n} dropped due to collinearity" for n in fit.dropped if n.startswith("yr")}
    extra.update(
        steps=fit.steps,
        transform=fit.transform,
        system=fit.system,
        # xtabond2's h(): the one-step weight matrix, which the two-step weights start from
        h=spec.h,
        small=spec.small,
        dropped=list(fit.dropped),
        # robust: clustered by entity, as xtabond2's robust (its groups are the clusters)
        warnings=(few_clusters({"n_clusters": float(fit.n_groups)}) if spec.robust else [])
        + [w for w in fit.warnings if w not in routine],
    )
    if spec.steps == 2 and spec.robust:
        se_type = "two-step, Windmeijer-corrected"
    elif spec.robust:
        se_type = "one-step, robust to heteroskedasticity and serial correlation"
    else:
        se_type = f"{'two' if spec.steps == 2 else 'one'}-step, conventional"
    return ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=spec.y,
        nobs=fit.nobs,
        coefficients=coefficients,
        stats={"n_groups": float(fit.n_groups), "n_instruments": float(fit.n_instruments)},
        extra=extra,
        regressors=tuple(term_variable(x) for x in spec.x),
        effects=("entity", "time") if spec.time_effects else ("entity",),
        se_type=se_type,
        se_convention="xtabond2",
        stat_name=fit.stat_name,
        label=spec.label,
        terms=_lag_terms(fit.names),
    )


_LAG = re.compile(r"L(\d*)\.(.+)")


def _lag_terms(names: Sequence[str]) -> dict[str, tuple[TermPart, ...]]:
    """The lagged regressors' parts (``L2.Expy`` is Expy at t−2), so that tables label them as
    every estimator's lags: "Export sophistication (t−2)", "出口技术复杂度（t−2）"."""
    terms: dict[str, tuple[TermPart, ...]] = {}
    for name in names:
        lag = _LAG.fullmatch(name)
        if lag:
            terms[name] = (TermPart(lag.group(2), shift=int(lag.group(1) or 1)),)
    return terms


def fit_dynamic(frame: pl.DataFrame, spec: GmmSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    from specrun.kernels.gmm import fit_gmm

    gmm, iv = spec.styles()
    system = isinstance(spec, SystemGmmSpec)
    fit = fit_gmm(
        frame,
        entity=ctx.entity,
        time=ctx.time,
        dependent=spec.y,
        dep_lags=spec.lags,
        regressors=spec.x,
        gmm=gmm,
        iv=iv,
        system=system,
        transform=spec.transform,
        steps=spec.steps,
        robust=spec.robust,
        small=spec.small,
        time_effects=spec.time_effects,
        time_effects_equation=spec.time_effects_equation if system else "diff",
        constant=spec.constant if system else False,
        h=spec.h,
    )
    return {"": _result(fit, spec, ctx)}
