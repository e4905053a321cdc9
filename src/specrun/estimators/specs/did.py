"""Options of the difference-in-differences estimators (``did``, ``event_study``), checked
without numpy; the fits are in ``specrun.estimators.did``, imported on first use."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import (
    MAX_DRAWS,
    CovarianceSpec,
    ModelBase,
    StrictModel,
    VarList,
    VarName,
    new_list,
)

# the DID regressor's column and coefficient name (validate reads it without the fit's imports)
DID = "did"


def _cluster_entity() -> CovarianceSpec:
    return CovarianceSpec(type="cluster", cluster=["entity"])


# the two-way effects and entity-clustered errors every treatment-timing design defaults to
TwoWayEffects = Annotated[
    list[Literal["entity", "time"]],
    Field(
        default_factory=lambda: ["entity", "time"],
        description="Fixed effects absorbed: two-way by default (entity and time).",
    ),
]
EntityClusteredSE = Annotated[
    CovarianceSpec,
    Field(
        default_factory=_cluster_entity,
        description="Standard errors; default clustered by entity (any covariance option).",
    ),
]


class PlaceboSpec(StrictModel):
    """Permutation inference: refit with the treatment reassigned at random ``draws`` times."""

    draws: int = Field(500, ge=1, le=MAX_DRAWS, description="Number of permutations.")
    permute: Literal["units", "timing", "both"] = Field(
        "units",
        description="Reassign treatment across units, timing across treated units, or both.",
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the permutations.")
    p_value: Literal["plus_one", "share"] = Field(
        "plus_one",
        description="plus_one: (1 + extreme draws)/(1 + draws), exact under the null; share: "
        "extreme draws/draws, as Stata's ritest.",
    )


class DidSpec(ModelBase):
    """Two-way FE difference-in-differences from a treated-unit indicator and its timing."""

    # first_treated naming the treat column is left to the fit, whose message says why a 0/1
    # indicator is not a period (tests/test_hardening_qa.py)
    exclusive_fields = (("treat", "post", "x"), ("first_treated", "x"))
    estimator: Literal["did"]
    y: VarName
    treat: VarName = Field(description="1 for units ever treated, 0 for controls.")
    first_treated: VarName | None = Field(
        None, description="Period a unit is first treated (missing or 0: never); staggered DID."
    )
    post: VarName | None = Field(None, description="1 in post-treatment periods (2 × 2 DID).")
    x: VarList = Field(default_factory=new_list, description="Controls.")
    effects: TwoWayEffects
    se: EntityClusteredSE
    placebo: PlaceboSpec | None = Field(
        None, description="Permutation (placebo) test: the statistic placebo_p and its draws."
    )

    @model_validator(mode="after")
    def _timing(self) -> DidSpec:
        if (self.first_treated is None) == (self.post is None):
            raise ValueError("give exactly one of first_treated (staggered) and post (2 × 2)")
        return self

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        # cluster columns other than the panel's: validation checks them and the fit's frame
        # carries them (se: {cluster: industry} was a crash, the column never loaded)
        return self.se.column_refs()


class MultiplierSpec(StrictModel):
    """Callaway–Sant'Anna's multiplier bootstrap (R did ``bstrap = TRUE``, ``biters``)."""

    draws: int = Field(999, ge=99, le=MAX_DRAWS, description="Bootstrap draws (did: biters).")
    weights: Literal["rademacher", "mammen"] = Field(
        "rademacher", description="Multipliers: Rademacher ±1 (R did) or Mammen's two-point."
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the multipliers.")
    level: float = Field(
        0.95, gt=0, lt=1, description="Level of the simultaneous (uniform) confidence bands."
    )


class EventStudySpec(ModelBase):
    """Relative-time (leads and lags) coefficients around each unit's first treated period.

    ``window`` bounds the reported periods for every method; ``reference`` and ``endpoints``
    shape the TWFE and Sun–Abraham regressions only (Callaway–Sant'Anna compares each period
    with its base period and needs no omitted one); ``control``, ``base_period`` and
    ``anticipation`` are Callaway–Sant'Anna's.
    """

    exclusive_fields = (("first_treated", "x"),)

    estimator: Literal["event_study"]
    y: VarName
    first_treated: VarName = Field(description="Period first treated (missing or 0: never).")
    x: VarList = Field(default_factory=new_list, description="Controls.")
    window: tuple[int, int] = Field((-5, 5), description="First and last relative period.")
    reference: int = Field(
        -1,
        description="The omitted relative period (twfe, sun_abraham; callaway_santanna omits "
        "none).",
    )
    endpoints: Literal["bin", "drop"] = Field(
        "bin", description="bin: fold periods outside the window into its ends; drop: omit them."
    )
    method: Literal["twfe", "sun_abraham", "callaway_santanna"] = Field(
        "twfe",
        description="twfe: one coefficient per relative period; sun_abraham: cohort × period "
        "interactions averaged with cohort shares (Sun and Abraham 2021); callaway_santanna: "
        "ATT(g, t) and their aggregations (Callaway and Sant'Anna 2021, as the R did package).",
    )
    control: Literal["never", "notyet"] = Field(
        "never", description="callaway_santanna: never-treated or not-yet-treated controls."
    )
    base_period: Literal["varying", "universal"] = Field(
        "varying", description="callaway_santanna: pre-period comparisons with t − 1 or g − 1."
    )
    anticipation: int = Field(0, ge=0, description="callaway_santanna: periods of anticipation.")
    bootstrap: MultiplierSpec | bool = Field(
        default_factory=MultiplierSpec,
        description="callaway_santanna: multiplier-bootstrap SEs and uniform bands (the R did "
        "default: Rademacher, 999 draws); false keeps the analytic influence-function SEs.",
    )
    effects: TwoWayEffects
    se: EntityClusteredSE

    @model_validator(mode="after")
    def _window(self) -> EventStudySpec:
        low, high = self.window
        if not low < 0 <= high:
            raise ValueError("window must run from a negative period to a period ≥ 0")
        if not low <= self.reference <= high:
            raise ValueError(
                f"reference {self.reference} is outside the window {list(self.window)}"
            )
        if "bootstrap" in self.model_fields_set and self.method != "callaway_santanna":
            raise ValueError(
                "bootstrap is callaway_santanna's multiplier bootstrap; twfe and sun_abraham "
                "take their inference from se:"
            )
        return self

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        return self.se.column_refs()  # as DidSpec's

    def multiplier(self) -> MultiplierSpec | None:
        """The bootstrap settings, or None for analytic SEs (``bootstrap: false``)."""
        if self.bootstrap is True:
            return MultiplierSpec()
        return self.bootstrap or None

    def relative_periods(self) -> list[int]:
        low, high = self.window
        return [k for k in range(low, high + 1) if k != self.reference]


ESTIMATORS.register("did")(
    EstimatorKind(
        "did",
        DidSpec,
        Lazy("specrun.estimators.did:fit_did"),
        complete_cases=False,
        needs_panel=True,
    )
)
ESTIMATORS.register("event_study")(
    EstimatorKind(
        "event_study",
        EventStudySpec,
        Lazy("specrun.estimators.did:fit_event_study"),
        complete_cases=False,
        needs_panel=True,
    )
)


def relative_name(k: int) -> str:
    """Coefficient name of relative period k: ``rel-2``, ``rel+0``, ``rel+3``."""
    return f"rel{k:+d}"
