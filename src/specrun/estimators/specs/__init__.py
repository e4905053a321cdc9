"""Estimator options, one module per family, each registering its kind in ``ESTIMATORS`` with
a lazy reference to its fit: validating a spec imports these and no numerical code."""

from specrun.estimators.specs import (
    descriptive,
    did,
    hausman,
    iv,
    linear,
    mediation,
    random_effects,
    threshold,
)

__all__ = [
    "descriptive",
    "did",
    "hausman",
    "iv",
    "linear",
    "mediation",
    "random_effects",
    "threshold",
]
