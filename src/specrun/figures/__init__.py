"""Figure kinds, registered in ``FIGURES`` on import; drawn with matplotlib (PNG and PDF)."""

from specrun.figures import coefplot, curve, event_study, margins, placebo, threshold
from specrun.figures.base import FIGURES

__all__ = ["FIGURES", "coefplot", "curve", "event_study", "margins", "placebo", "threshold"]
