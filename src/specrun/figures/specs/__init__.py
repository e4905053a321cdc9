"""Figure options, one module per kind, each registering its kind in ``FIGURES`` with a lazy
reference to its drawing function: validating a spec imports neither numpy nor matplotlib."""

from specrun.figures.specs import coefplot, curve, event_study, margins, placebo, threshold

__all__ = ["coefplot", "curve", "event_study", "margins", "placebo", "threshold"]
