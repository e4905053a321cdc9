"""Every table kind, registered in ``TABLES`` on import."""

from specrun.tables import bacon, descriptive, iv, mediation, regression, threshold, weights
from specrun.tables.base import TABLES

__all__ = [
    "TABLES",
    "bacon",
    "descriptive",
    "iv",
    "mediation",
    "regression",
    "threshold",
    "weights",
]
