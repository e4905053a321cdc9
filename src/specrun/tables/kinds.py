"""Every table kind, registered in ``TABLES`` on import."""

from specrun.tables import (
    correlation,
    descriptive,
    margins,
    mediation,
    regression,
    threshold,
    weights,
)
from specrun.tables.base import TABLES

__all__ = [
    "TABLES",
    "correlation",
    "descriptive",
    "margins",
    "mediation",
    "regression",
    "threshold",
    "weights",
]
