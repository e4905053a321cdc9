"""Every table kind, registered in ``TABLES`` on import."""

from specrun.tables import correlation, descriptive, mediation, regression, threshold, weights
from specrun.tables.base import TABLES

__all__ = [
    "TABLES",
    "correlation",
    "descriptive",
    "mediation",
    "regression",
    "threshold",
    "weights",
]
