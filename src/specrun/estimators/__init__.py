"""Estimator families, one module each, registered in ``ESTIMATORS`` on import."""

from specrun.estimators import descriptive, gmm, iv, linear, mediation, threshold
from specrun.estimators.base import ESTIMATORS

__all__ = ["ESTIMATORS", "descriptive", "gmm", "iv", "linear", "mediation", "threshold"]
