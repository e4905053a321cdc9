"""Descriptive statistics per variable: N, mean, standard deviation, median, min, max, quantiles.

The standard deviation uses N − 1 (Stata ``summarize``); quantiles interpolate linearly between
order statistics (numpy's default, R type 7). Each variable uses its own non-missing rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field

from specrun.estimators.base import ESTIMATORS, EstimatorKind, FitContext
from specrun.results import ModelResult
from specrun.spec.models import ModelBase, VarList


class DescriptiveSpec(ModelBase):
    estimator: Literal["descriptive"]
    vars: VarList
    quantiles: list[float] = Field(
        default_factory=list, description="Extra quantiles in (0, 1), reported as p25 etc."
    )


def quantile_name(q: float) -> str:
    return f"p{round(q * 100, 4):g}"


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
            for q in spec.quantiles:
                row[quantile_name(q)] = float(np.quantile(values, q))
        table[name] = row
    result = ModelResult(
        name=ctx.name,
        estimator="descriptive",
        dependent="",
        nobs=frame.height,
        coefficients={},
        stats={},
        extra={"variables": table},
        regressors=tuple(spec.vars),
        label=spec.label,
    )
    return {"": result}


ESTIMATORS.register("descriptive")(
    EstimatorKind("descriptive", DescriptiveSpec, fit_descriptive, complete_cases=False)
)
