"""Figure options, one module per kind, each registering its kind in ``FIGURES`` with lazy
references to its data and drawing functions: validating a spec imports neither numpy nor
matplotlib.

The kinds are declared here by the module that registers each, imported when a spec first
names the kind (``Registry.declare``)."""

from specrun.figures.base import FIGURES

KINDS = {
    "coefplot": "specrun.figures.specs.coefplot",
    "event_study": "specrun.figures.specs.event_study",
    "margins": "specrun.figures.specs.margins",
    "placebo": "specrun.figures.specs.placebo",
    "specification_curve": "specrun.figures.specs.curve",
    "threshold_lr": "specrun.figures.specs.threshold",
}
for _name, _module in KINDS.items():
    FIGURES.declare(_name, _module)

__all__ = ["KINDS"]
