"""Every table kind, registered in ``TABLES`` on import."""

from specrun.tables import descriptive, regression
from specrun.tables.base import TABLES

__all__ = ["TABLES", "descriptive", "regression"]
