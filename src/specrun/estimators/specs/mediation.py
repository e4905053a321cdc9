"""Options of the ``mediation`` estimator, checked without numpy; the fits are in
``specrun.estimators.mediation``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import MAX_DRAWS, CovarianceSpec, ModelBase, VarList, VarName

PARTS = ("total", "mediator", "outcome")


class MediationSpec(ModelBase):
    """Stepwise mediation (Baron–Kenny): total, mediator and outcome regressions, Sobel z and a
    bootstrap CI of the indirect effect a·b.

    ``x`` lists the treatment and the controls (so ``extends:`` a ``panel_fe`` model works).
    """

    # the mediator is the outcome of step 2 and a regressor of step 3, never the treatment or
    # a control (validation names the two fields)
    exclusive_fields = (("treatment", "mediator"), ("x", "mediator"))
    estimator: Literal["mediation"]
    y: VarName
    x: VarList = Field(
        description="The treatment (first, unless treatment: names it) and the controls; "
        "every part of the mediation model gets them all."
    )
    mediator: VarName
    treatment: VarName | None = Field(
        None, description="The variable whose effect is mediated; default: the first of x."
    )
    effects: list[Literal["entity", "time"]] = Field(
        default_factory=lambda: ["entity"],
        description="Fixed effects of the three regressions: [entity], [entity, time] (two-way) "
        "or [] (pooled OLS). absorb: naming the panel's entity and time columns (absorb: "
        "[province, year], as reghdfe writes it, inherited from a panel_fe model or not) is "
        "read as these effects; other absorbed effects are an error.",
    )
    se: CovarianceSpec = Field(
        default_factory=CovarianceSpec,
        description="Standard errors: unadjusted, robust (HC1), HC0–HC3, {cluster: [columns]} or "
        "driscoll_kraay, with the small-sample convention (see the covariance options).",
    )
    bootstrap: int = Field(
        1000, ge=0, le=MAX_DRAWS, description="Bootstrap draws of a·b (0: none)."
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the bootstrap draws.")
    ci_level: float = Field(
        0.95, gt=0, lt=1, description="Level of the bootstrap confidence interval of a·b."
    )
    ci_method: Literal["percentile", "bc"] = Field(
        "percentile", description="Which bootstrap CI is reported as boot_ci_low/high."
    )
    ci_quantile: Literal["linear", "boot"] = Field(
        "linear",
        description="How both bootstrap CIs read quantiles off the draws: linear (numpy, R "
        "quantile type 7) or boot (the (B + 1)p-th draw, interpolated on the normal scale: R "
        "boot.ci and lavaan).",
    )

    @model_validator(mode="after")
    def _roles(self) -> MediationSpec:
        if self.treatment is not None and self.treatment not in self.x:
            raise ValueError(f"treatment '{self.treatment}' must be one of x")
        if self.bootstrap == 1:
            raise ValueError("bootstrap needs at least 2 draws (or 0 for none)")
        return self

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        # cluster columns other than the panel's: the three regressions cluster on them, so
        # validation checks them and the fit's frame carries them
        return self.se.column_refs()

    @property
    def treatment_name(self) -> str:
        return self.treatment or self.x[0]


ESTIMATORS.register("mediation")(
    EstimatorKind(
        "mediation",
        MediationSpec,
        Lazy("specrun.estimators.mediation:fit_mediation"),
        children=PARTS,
    )
)
