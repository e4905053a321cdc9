"""Every table kind, declared in ``TABLES`` by the module that registers it.

A kind's options live in ``specrun.tables.specs.<module>``, which registers the kind with a
lazy reference to its builder in ``specrun.tables.<module>``; the options module is imported
when a spec first names the kind (``Registry.declare``), the builder when a table of the kind is
first built. Validating a spec thus imports no builder, table IR or formatting code, and builds
the option models of the kinds it uses only.
"""

from specrun.tables.base import TABLES

KINDS = {
    "bacon": "specrun.tables.specs.bacon",
    "correlation": "specrun.tables.specs.correlation",
    "descriptive": "specrun.tables.specs.descriptive",
    "iv": "specrun.tables.specs.iv",
    "margins": "specrun.tables.specs.margins",
    "mediation": "specrun.tables.specs.mediation",
    "multiverse": "specrun.tables.specs.multiverse",
    "regression": "specrun.tables.specs.regression",
    "threshold_test": "specrun.tables.specs.threshold",
    "weights": "specrun.tables.specs.weights",
}
for _name, _module in KINDS.items():
    TABLES.declare(_name, _module)

__all__ = ["KINDS", "TABLES"]
