"""Every table kind, declared in ``TABLES`` by the module that registers it.

A kind's module (its spec model and its builder) is imported when a spec first names the kind
(``Registry.declare``): validating a spec builds the option models of the kinds it uses only.
"""

from specrun.tables.base import TABLES

KINDS = {
    "bacon": "specrun.tables.bacon",
    "correlation": "specrun.tables.correlation",
    "descriptive": "specrun.tables.descriptive",
    "iv": "specrun.tables.iv",
    "margins": "specrun.tables.margins",
    "mediation": "specrun.tables.mediation",
    "multiverse": "specrun.tables.multiverse",
    "regression": "specrun.tables.regression",
    "threshold_test": "specrun.tables.threshold",
    "weights": "specrun.tables.weights",
}
for _name, _module in KINDS.items():
    TABLES.declare(_name, _module)

__all__ = ["KINDS", "TABLES"]
