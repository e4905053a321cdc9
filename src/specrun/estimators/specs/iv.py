"""Options of the ``iv`` estimator, checked without numpy; the fit is
``specrun.estimators.iv.fit_iv_model``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.estimators.specs.linear import WeightedColumns, check_absorb_terms
from specrun.registry import Lazy
from specrun.spec.models import CovarianceSpec, ModelBase, VarList, VarName, new_list


class IVSpec(WeightedColumns, ModelBase):
    """A linear IV model: ``y`` on ``endog`` and exogenous ``x``, ``instruments`` excluded."""

    exclusive_fields = (("x", "endog", "instruments"),)
    estimator: Literal["iv"]
    y: VarName
    x: VarList = Field(default_factory=new_list, description="Exogenous regressors (controls).")
    endog: VarList = Field(min_length=1, description="Endogenous regressors.")
    instruments: VarList = Field(
        min_length=1, description="Excluded instruments (at least as many as endog)."
    )
    effects: list[Literal["entity", "time"]] = Field(
        default_factory=new_list, description="Shorthand for absorb with the panel index only."
    )
    absorb: list[str] | None = Field(
        None,
        description="Effects swept out of every variable (ivreghdfe absorb()): entity and "
        "time (the panel index), any column, or a#b for the interaction of columns.",
    )
    weights: str | None = Field(
        None, description="Analytic weights column (Stata [aweight=w]); positive, no missing."
    )
    tolerance: float = Field(
        1e-8, gt=0, lt=1, description="Convergence tolerance of the iterative demeaning."
    )
    max_iterations: int = Field(10_000, ge=1, description="Most sweeps of the demeaning.")
    method: Literal["2sls", "liml", "gmm"] = Field(
        "2sls", description="2sls, liml, or gmm (two-step efficient GMM as ivreg2, gmm2s)."
    )
    gmm_covariance: Literal["ivreg2", "ivregress"] = Field(
        "ivreg2",
        description="method: gmm's covariance: ivreg2 (gmm2s: (R′Z S⁻¹ Z′R)⁻¹ with the S of the "
        "first-step residuals that weights) or ivregress (Stata's ivregress gmm, linearmodels "
        "IVGMM: the sandwich with S re-estimated at the second-step residuals).",
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

    def absorbed(self) -> list[str]:
        """The absorbed effects: ``absorb``, else its shorthand ``effects`` (default none)."""
        if self.absorb is not None:
            return [t.strip() for t in self.absorb]
        return list(self.effects)

    @model_validator(mode="after")
    def _roles(self) -> IVSpec:
        if self.absorb is not None and self.effects:
            raise ValueError("give absorb or its shorthand effects, not both")
        check_absorb_terms(self.absorbed())
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
        if "gmm_covariance" in self.model_fields_set and self.method != "gmm":
            raise ValueError("gmm_covariance is the covariance of method: gmm")
        if self.se.convention != "stata":
            raise ValueError("iv follows Stata's conventions (se.convention: stata)")
        return self


def first_stage_names(spec: IVSpec) -> tuple[str, ...]:
    return tuple(f"first.{e}" for e in spec.endog)


ESTIMATORS.register("iv")(
    EstimatorKind(
        "iv", IVSpec, Lazy("specrun.estimators.iv:fit_iv_model"), child_names=first_stage_names
    )
)
