"""Descriptive statistics per variable: N, mean, standard deviation, median, min, max, quantiles.

The standard deviation uses N − 1 (Stata ``summarize``). Quantiles follow ``quantile:``, recorded
in results.json as ``extra.quantile``: ``stata`` (default) is ``summarize, detail``'s definition
(with h = N·p, the mean of the h-th and (h+1)-th order statistics when h is a whole number, else
the ⌈h⌉-th; R ``quantile(type = 2)``), ``linear`` interpolates between order statistics at
(N − 1)·p (R's and numpy's default, type 7). Each variable uses its own non-missing rows.
Checked against R 4.2.2 by ``tests/test_estimators_descriptive.py``.

``correlations: true`` adds Pearson and Spearman correlation matrices with two-sided p-values
(t with n − 2 degrees of freedom, as Stata's ``pwcorr, sig`` and ``spearman`` and R's
``cor.test`` compute them) on the rows where every variable is present (listwise, as Stata's
``correlate``). ``vif: true`` adds each variable's variance inflation factor 1 / (1 − R²ⱼ),
R²ⱼ from regressing it on the others and a constant on those rows (Stata's ``estat vif`` after
``regress`` on the same variables).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from specrun.estimators.base import FitContext
from specrun.estimators.specs.descriptive import DescriptiveSpec, quantile_name
from specrun.kernels.distributions import two_sided_p
from specrun.results import ModelResult
from specrun.spec.models import QUANTILE_METHODS


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def correlation_matrices(data: np.ndarray) -> dict[str, list[list[float | None]]]:
    """Pearson and Spearman correlations of the columns of ``data`` (n × k, no missing
    values) and their two-sided p-values from t = r √(n − 2) / √(1 − r²)."""
    n = data.shape[0]
    out: dict[str, list[list[float | None]]] = {}
    from scipy.stats import rankdata

    ranks = np.apply_along_axis(rankdata, 0, data)  # average ranks for ties, as Spearman
    for method, values in (("pearson", data), ("spearman", ranks)):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.corrcoef(values, rowvar=False)
            t = r * np.sqrt((n - 2) / (1.0 - r**2))
            p = two_sided_p(t, n - 2)
        np.fill_diagonal(p, 0.0)
        out[method] = [[_finite_or_none(v) for v in row] for row in np.atleast_2d(r)]
        out[f"{method}_p"] = [[_finite_or_none(v) for v in row] for row in np.atleast_2d(p)]
    return out


def variance_inflation(data: np.ndarray) -> list[float | None]:
    """VIF of each column of ``data`` (n × k): 1 / (1 − R²) of its regression on the other
    columns and a constant."""
    n, k = data.shape
    factors: list[float | None] = []
    for j in range(k):
        y = data[:, j]
        x = np.column_stack([np.ones(n), np.delete(data, j, axis=1)])
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ beta
        total = np.sum((y - y.mean()) ** 2)
        r2 = 1 - resid @ resid / total if total > 0 else float("nan")
        factors.append(_finite_or_none(1 / (1 - r2)) if r2 < 1 else None)
    return factors


def fit_descriptive(
    frame: pl.DataFrame, spec: DescriptiveSpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    table: dict[str, dict[str, float]] = {}
    for name in spec.vars:
        values = frame[name].drop_nulls().cast(pl.Float64).to_numpy()
        values = values[np.isfinite(values)]
        row: dict[str, float] = {"nobs": float(values.size)}
        if values.size:
            row.update(
                mean=float(values.mean()),
                sd=float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                median=float(np.median(values)),
                min=float(values.min()),
                max=float(values.max()),
            )
            method = QUANTILE_METHODS[spec.quantile]
            for q in spec.quantiles:
                row[quantile_name(q)] = float(np.quantile(values, q, method=method))
        table[name] = row
    extra: dict[str, object] = {"variables": table}
    if spec.quantiles:
        extra["quantile"] = spec.quantile
    if spec.correlations or spec.vif:
        rows = frame.select(spec.vars).cast(pl.Float64).fill_nan(None).drop_nulls()
        data = rows.to_numpy()
        if spec.correlations:
            extra["correlation"] = {
                "variables": list(spec.vars),
                "nobs": int(data.shape[0]),
                "missing": "listwise",
                **correlation_matrices(data),
            }
        if spec.vif:
            for name, value in zip(spec.vars, variance_inflation(data), strict=True):
                table[name]["vif"] = value if value is not None else float("nan")
    result = ModelResult(
        name=ctx.name,
        estimator="descriptive",
        dependent="",
        nobs=frame.height,
        coefficients={},
        stats={},
        extra=extra,
        regressors=tuple(spec.vars),
        label=spec.label,
    )
    return {"": result}
