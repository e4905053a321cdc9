"""Options of the ``panel_threshold`` estimator (Hansen 1999), checked without numpy; the fit
is ``specrun.estimators.threshold.fit_panel_threshold``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import MAX_DRAWS, ModelBase, VarList, VarName, new_list


class PanelThresholdSpec(ModelBase):
    """Hansen (1999) fixed-effects panel threshold regression, with bootstrap threshold tests.

    Options follow Stata's ``xthreg`` (Wang 2015) and Hansen's GAUSS program. A regressor is
    regime-dependent or not: in both ``regime_x`` and ``controls`` the two copies would be
    collinear. The threshold variable ``q`` may also be a regressor (xthreg's example
    ``xthreg i q1 q2 q3 d1 qd1, rx(cf1) qx(d1)``, Hansen 1999's application, specs/wang2015.yaml).
    """

    exclusive_fields = (("regime_x", "controls"),)

    estimator: Literal["panel_threshold"]
    y: VarName
    regime_x: VarList = Field(description="Regressors whose slopes change across regimes.")
    q: VarName = Field(description="The threshold variable.")
    controls: VarList = Field(
        default_factory=new_list, description="Regime-independent regressors."
    )
    time_effects: bool = Field(False, description="Add period dummies (xthreg's i.year).")
    max_thresholds: int = Field(
        1, ge=1, le=3, description="Thresholds tested and estimated in sequence: 1, 2 or 3."
    )
    trim: float | list[float] = Field(
        default_factory=lambda: [0.01],
        description="Trimming share per threshold: one value (0.01, xthreg's trim(0.01)) "
        "applies to all, or a list with one value per threshold ([0.01, 0.01, 0.05]).",
    )
    grid: int | None = Field(
        None,
        ge=3,
        le=100_000,
        description="Quantile grid points (xthreg's grid, Hansen's qn); "
        "null: every distinct value of q.",
    )
    bootstrap: int = Field(
        300, ge=0, le=MAX_DRAWS, description="Bootstrap replications per F test."
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the bootstrap draws.")
    ci_level: float = Field(
        0.95, gt=0, lt=1, description="Level of the likelihood-ratio confidence set of each γ."
    )
    convention: Literal["hansen1999", "xthreg"] = Field(
        "xthreg",
        description="xthreg: q ≤ γ, all periods; hansen1999: q < γ, one period per entity "
        "dropped after the within transformation (Hansen's GAUSS program).",
    )
    se: Literal["conventional", "white", "cluster"] = Field(
        "conventional",
        description="Standard errors printed for the slopes: conventional (Hansen's OLS "
        "errors), white (heteroskedasticity-robust, Hansen's het errors) or cluster (clustered "
        "by the panel's entity).",
    )
    report: int | None = Field(
        None,
        ge=1,
        le=3,
        description="Thresholds of the model whose slopes are reported (default: max_thresholds).",
    )

    @field_validator("trim")
    @classmethod
    def _trim_range(cls, trim: float | list[float]) -> list[float]:
        # xthreg writes trim(0.01) for every threshold: a single number is the list of it
        trim = [trim] if isinstance(trim, float) else trim
        if any(not 0 <= t < 0.5 for t in trim):
            raise ValueError("each trim must be in [0, 0.5): the share cut from each end of q")
        return trim

    @model_validator(mode="after")
    def _consistent(self) -> PanelThresholdSpec:
        trim = self.trim if isinstance(self.trim, list) else [self.trim]  # a list by now
        if len(trim) not in (1, self.max_thresholds):
            # an extends: or a multiverse axis changing max_thresholds keeps the base's trim
            raise ValueError(
                f"trim has {len(trim)} values for max_thresholds: {self.max_thresholds}: "
                f"give one value for every threshold (trim: {trim[0]:g}) or "
                f"{self.max_thresholds}"
            )
        if self.report is not None and self.report > self.max_thresholds:
            raise ValueError("report cannot exceed max_thresholds")
        if self.bootstrap == 1:
            raise ValueError("bootstrap needs at least 2 replications (or 0 for none)")
        return self


ESTIMATORS.register("panel_threshold")(
    EstimatorKind(
        "panel_threshold",
        PanelThresholdSpec,
        Lazy("specrun.estimators.threshold:fit_panel_threshold"),
        needs_panel=True,
    )
)
