"""Estimator families, one module each, registered in ``ESTIMATORS`` on import."""

from specrun.estimators import (
    descriptive,
    did,
    gmm,
    hausman,
    iv,
    linear,
    mediation,
    random_effects,
    threshold,
)
from specrun.estimators.base import ESTIMATORS

__all__ = [
    "ESTIMATORS",
    "descriptive",
    "did",
    "gmm",
    "hausman",
    "iv",
    "linear",
    "mediation",
    "random_effects",
    "threshold",
]
