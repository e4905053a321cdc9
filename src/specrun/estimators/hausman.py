"""Hausman (1978) specification test between two fitted models, as Stata's ``hausman``.

``models: [fe, re]`` names the consistent model first and the efficient one second. On the
coefficients both report (the constant left out, as Stata's default), with d = b_c − b_e and
V = V_c − V_e, the statistic is H = d′V⁻d, V⁻ a generalized inverse, with rank(V) degrees of
freedom (Stata ``hausman fe re``; R plm ``phtest`` gives the same number when V has full rank).
``variance: sigmamore`` bases both covariances on the efficient model's disturbance variance
(V_c rescaled by s²_e / s²_c), ``sigmaless`` on the consistent model's (V_e rescaled by
s²_c / s²_e), where s² is σ̂²_e of a fixed-effects fit (SSR / residual df) and ``e(rmse)``²
of a random-effects fit, as Stata's ``hausman, sigmamore | sigmaless`` (checked against R plm
2.6.2 computed by that definition in ``tests/test_estimators_hausman.py``).

The test needs both models' conventional covariances; with clustered errors the
cluster-robust alternative is the random-effects model's ``overid_p`` (``xtoverid``).
The p-value can be printed under the consistent model's column of a regression table: the
result attaches ``hausman_chi2``, ``hausman_df`` and ``hausman_p`` to that model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.specs.hausman import HausmanSpec
from specrun.kernels.distributions import chi2_sf
from specrun.results import ModelResult

CONSTANT = "_cons"
CONVENTIONAL = "conventional"


def _error(message: str, ctx: FitContext) -> SpecError:
    return SpecError(message, code="estimation", path=f"models.{ctx.name}")


def disturbance_variance(result: ModelResult) -> float:
    """s² of a fitted model as Stata's ``hausman`` reads it: ``e(rmse)``² where the model
    reports an ``rmse`` (random effects), else SSR / residual df (σ̂²_e of fixed effects)."""
    if "rmse" in result.stats:
        return float(result.stats["rmse"]) ** 2
    if "ssr" in result.stats and "df_resid" in result.stats:
        return float(result.stats["ssr"]) / float(result.stats["df_resid"])
    raise KeyError(result.name)


def hausman_statistic(diff: np.ndarray, cov: np.ndarray) -> tuple[float, int, float]:
    """H = d′V⁻d with V⁻ the Moore–Penrose inverse, df = rank(V), p = P(χ²_df > H).

    ``diff`` (m,), ``cov`` (m, m). H can be negative when V is not positive semi-definite
    (Stata then prints the negative value too); its p-value is then 1.
    """
    rank = int(np.linalg.matrix_rank(cov))
    chi2 = float(diff @ np.linalg.pinv(cov) @ diff)
    p = float(chi2_sf(max(chi2, 0.0), rank)) if rank else float("nan")
    return chi2, rank, p


def fit_hausman(
    _frame: pl.DataFrame, spec: HausmanSpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    """The Hausman test of ``spec.models`` from their fitted results in ``ctx.models``.

    Raises ``SpecError`` when a model has no coefficient covariance, a clustered or robust
    covariance, or no coefficient in common with the other.
    """
    consistent, efficient = (ctx.models[name] for name in spec.models)
    if consistent.nobs != efficient.nobs:
        # the test compares two estimators of the same coefficients on the same data (Hausman
        # 1978); on different rows their difference is no test of the random effects
        error = _error(
            f"models '{consistent.name}' and '{efficient.name}' are fitted on different "
            f"observations ({consistent.nobs} and {efficient.nobs} rows): the Hausman test "
            "compares two estimators on the same sample",
            ctx,
        )
        error.hint = "give both models the same sample: and variables missing in the same rows"
        raise error
    covariances = []
    for model in (consistent, efficient):
        if model.covariance is None:
            raise _error(
                f"model '{model.name}' ({model.estimator}) has no coefficient covariance to "
                "compare",
                ctx,
            )
        if model.se_type != CONVENTIONAL:
            raise _error(
                f"the Hausman test needs conventional standard errors; model '{model.name}' "
                f"has {model.se_type} (with clustered errors use the random-effects model's "
                "cluster-robust overid_p, Stata's xtoverid)",
                ctx,
            )
        covariances.append(model.covariance)
    names = [
        n
        for n in consistent.coefficients
        if n in efficient.coefficients and (spec.constant or n != CONSTANT)
    ]
    if not names:
        raise _error(f"models '{consistent.name}' and '{efficient.name}' share no coefficient", ctx)
    pos_c = [list(consistent.coefficients).index(n) for n in names]
    pos_e = [list(efficient.coefficients).index(n) for n in names]
    cov_c = covariances[0][np.ix_(pos_c, pos_c)]
    cov_e = covariances[1][np.ix_(pos_e, pos_e)]
    if spec.variance != "own":
        try:
            s2_c, s2_e = disturbance_variance(consistent), disturbance_variance(efficient)
        except KeyError as exc:
            raise _error(
                f"{spec.variance} needs each model's error variance; model '{exc.args[0]}' "
                "reports none",
                ctx,
            ) from None
        if spec.variance == "sigmamore":
            cov_c = cov_c * (s2_e / s2_c)
        else:
            cov_e = cov_e * (s2_c / s2_e)
    b_c = np.array([consistent.coefficients[n].estimate for n in names])
    b_e = np.array([efficient.coefficients[n].estimate for n in names])
    diff = b_c - b_e
    cov = cov_c - cov_e
    chi2, df, p = hausman_statistic(diff, cov)
    # as Stata's hausman, a negative diagonal of V_b − V_B has no standard error (".")
    variance = np.diag(cov)
    se_diff = np.sqrt(np.where(variance < 0.0, np.nan, variance))
    warnings = []
    if np.linalg.eigvalsh((cov + cov.T) / 2).min() < -1e-12 * np.abs(cov).max():
        warnings.append(
            "V_b − V_B is not positive definite: the Hausman statistic is unreliable "
            "(variance: sigmamore, or the cluster-robust overid_p of the random-effects model)"
        )
    stats = {"hausman_chi2": chi2, "hausman_df": float(df), "hausman_p": p}
    extra = {
        "models": {"consistent": consistent.name, "efficient": efficient.name},
        "variance": spec.variance,
        "attach": {consistent.name: stats},
        "differences": {
            n: {
                "consistent": float(bc),
                "efficient": float(be),
                "difference": float(d),
                "std_error": float(s),
            }
            for n, bc, be, d, s in zip(names, b_c, b_e, diff, se_diff, strict=True)
        },
        **({"warnings": warnings} if warnings else {}),
    }
    result = ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=consistent.dependent,
        nobs=consistent.nobs,
        coefficients={},
        stats=stats,
        extra=extra,
        se_convention="stata",
        label=spec.label,
    )
    return {"": result}
