"""Every table kind, registered in ``TABLES`` on import."""

from specrun.tables import descriptive, mediation, regression, weights
from specrun.tables.base import TABLES

__all__ = ["TABLES", "descriptive", "mediation", "regression", "weights"]
