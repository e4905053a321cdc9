"""Every table kind, registered in ``TABLES`` on import."""

from specrun.tables import (
    bacon,
    correlation,
    descriptive,
    iv,
    margins,
    mediation,
    multiverse,
    regression,
    threshold,
    weights,
)
from specrun.tables.base import TABLES

__all__ = [
    "TABLES",
    "bacon",
    "correlation",
    "descriptive",
    "iv",
    "margins",
    "mediation",
    "multiverse",
    "regression",
    "threshold",
    "weights",
]
