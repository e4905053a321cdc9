"""Options of the random- and between-effects estimators (``panel_re``, ``panel_be``),
checked without numpy; the fits are in ``specrun.estimators.random_effects``, imported on first
use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import CovarianceSpec, ModelBase, VarList, VarName


class PanelReSpec(ModelBase):
    """Random-effects GLS regression with Swamy–Arora variance components (``xtreg, re``).

    ``se``: ``unadjusted`` (default), ``robust`` or ``{cluster: entity}`` — in ``xtreg, re``
    ``vce(robust)`` *is* the cluster-by-entity covariance, and so it is here.
    """

    estimator: Literal["panel_re"]
    y: VarName
    x: VarList = Field(description="Regressors (model terms); a constant is added.")
    se: CovarianceSpec = Field(
        default_factory=CovarianceSpec,
        description="unadjusted (default), robust or {cluster: entity}: as xtreg, re, robust "
        "is the cluster-by-entity covariance.",
    )
    components: Literal["stata", "plm"] = Field(
        "stata",
        description="Variance components on an unbalanced panel: stata (xtreg, re: T-bar the "
        "harmonic mean of T_i) or plm (R plm random.method = 'swar', Baltagi–Chang); equal "
        "when balanced.",
    )

    @model_validator(mode="after")
    def _covariance(self) -> PanelReSpec:
        problem = re_covariance_problem(self.se)
        if problem is not None:
            raise ValueError(problem)
        return self


class PanelBeSpec(ModelBase):
    """Between-effects regression: OLS on the entity means (``xtreg, be``)."""

    estimator: Literal["panel_be"]
    y: VarName
    x: VarList = Field(description="Regressors (model terms), averaged per entity.")


def re_covariance_problem(spec: CovarianceSpec) -> str | None:
    """Why ``xtreg, re`` offers no such covariance, or None: checked when the spec is validated
    and again when the model is fitted, so validate and run agree."""
    if spec.bootstrap is not None:
        return "the wild cluster bootstrap is offered for ols and panel_fe models"
    if spec.type == "unadjusted":
        return None
    if spec.convention != "stata":
        return (
            "random-effects clustered standard errors follow Stata (xtreg, re vce(cluster id)); "
            f"convention '{spec.convention}' is offered for fixed effects only"
        )
    # se: robust arrives as HC1; xtreg, re vce(robust) is clustered by the panel entity
    if spec.type == "HC1" or (spec.type == "cluster" and spec.clusters == ["entity"]):
        return None
    return (
        f"random effects take se: unadjusted, robust or {{cluster: entity}}, not {spec.describe()}"
        " (Stata's xtreg, re clusters by the panel entity only)"
    )


ESTIMATORS.register("panel_re")(
    EstimatorKind(
        "panel_re",
        PanelReSpec,
        Lazy("specrun.estimators.random_effects:fit_re"),
        needs_panel=True,
    )
)
ESTIMATORS.register("panel_be")(
    EstimatorKind(
        "panel_be",
        PanelBeSpec,
        Lazy("specrun.estimators.random_effects:fit_be"),
        needs_panel=True,
    )
)
