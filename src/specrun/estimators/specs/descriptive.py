"""Options of the ``descriptive`` estimator (N, mean, sd, quantiles, correlations, VIFs),
checked without numpy; the fit is ``specrun.estimators.descriptive``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import ModelBase, QuantileDefinition, VarList, new_list


class DescriptiveSpec(ModelBase):
    """Descriptive statistics (N, mean, sd, quantiles), correlations and VIFs of variables."""

    estimator: Literal["descriptive"]
    vars: VarList = Field(
        description="Variables (model terms) to describe, in the order of the table's rows."
    )
    quantiles: list[float] = Field(
        default_factory=new_list, description="Extra quantiles in (0, 1), reported as p25 etc."
    )
    quantile: QuantileDefinition = Field(
        "stata",
        description="Definition of the quantiles: 'stata' = Stata's summarize, detail and "
        "_pctile (R quantile type 2, numpy averaged_inverted_cdf); 'linear' = R's and numpy's "
        "default (type 7). The median is the same under both.",
    )
    correlations: bool = Field(
        False, description="Pearson and Spearman correlations with p-values (listwise rows)."
    )
    vif: bool = Field(
        False, description="Variance inflation factors of the variables (a 'vif' statistic)."
    )


def quantile_name(q: float) -> str:
    return f"p{round(q * 100, 4):g}"


def statistics(spec: DescriptiveSpec) -> list[str]:
    """The statistics a descriptive model reports for a variable with data, in table order:
    what ``fit_descriptive`` computes, so that validation can check a table against it."""
    names = ["nobs", "mean", "sd", "median", "min", "max"]
    names += [quantile_name(q) for q in spec.quantiles]
    return names + (["vif"] if spec.vif else [])


ESTIMATORS.register("descriptive")(
    EstimatorKind(
        "descriptive",
        DescriptiveSpec,
        Lazy("specrun.estimators.descriptive:fit_descriptive"),
        complete_cases=False,
    )
)
