"""Options of the ``hausman`` test, checked without numpy; the test is computed by
``specrun.estimators.hausman``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import ModelBase


class HausmanSpec(ModelBase):
    """Hausman test: ``models: [consistent, efficient]`` (e.g. ``[fe, re]``)."""

    estimator: Literal["hausman"]
    models: list[str] = Field(
        min_length=2,
        max_length=2,
        description="The consistent model (fixed effects) and the efficient one (random "
        "effects), in that order.",
    )
    variance: Literal["own", "sigmamore", "sigmaless"] = Field(
        "own",
        description="Each model's own covariance (Stata's default), or both based on the "
        "efficient model's (sigmamore) or the consistent model's (sigmaless) error variance.",
    )
    constant: bool = Field(False, description="Include the constant in the comparison.")

    @field_validator("models")
    @classmethod
    def _distinct(cls, models: list[str]) -> list[str]:
        if models[0] == models[1]:
            raise ValueError("a Hausman test compares two different models")
        return models

    @model_validator(mode="after")
    def _no_over(self) -> HausmanSpec:
        if self.over is not None or self.sample is not None:
            raise ValueError(
                "a Hausman test reads its models' results: it takes no over: or "
                "sample: (set those on the models)"
            )
        return self

    def model_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        return [(name, ("models", i)) for i, name in enumerate(self.models)]


ESTIMATORS.register("hausman")(
    EstimatorKind(
        "hausman",
        HausmanSpec,
        Lazy("specrun.estimators.hausman:fit_hausman"),
        complete_cases=False,
    )
)
