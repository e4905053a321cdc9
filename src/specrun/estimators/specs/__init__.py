"""Estimator options, one module per family, each registering its kinds in ``ESTIMATORS`` with
a lazy reference to its fit: validating a spec imports these and no numerical code.

The families are declared here, not imported: a spec's validation imports (and builds the
option models of) only the families it names; ``ESTIMATORS.names()`` knows them all."""

from specrun.estimators.base import ESTIMATORS

FAMILIES = {
    "specrun.estimators.specs.descriptive": ("descriptive",),
    "specrun.estimators.specs.did": ("did", "event_study"),
    "specrun.estimators.specs.gmm": ("difference_gmm", "system_gmm"),
    "specrun.estimators.specs.hausman": ("hausman",),
    "specrun.estimators.specs.iv": ("iv",),
    "specrun.estimators.specs.linear": ("ols", "panel_fe"),
    "specrun.estimators.specs.mediation": ("mediation",),
    "specrun.estimators.specs.random_effects": ("panel_re", "panel_be"),
    "specrun.estimators.specs.threshold": ("panel_threshold",),
}
for _module, _names in FAMILIES.items():
    for _name in _names:
        ESTIMATORS.declare(_name, _module)

__all__ = ["FAMILIES"]
