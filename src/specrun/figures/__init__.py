"""Figure kinds, registered in ``FIGURES`` on import; drawn with matplotlib (PNG and PDF).

Each kind's options live in ``specrun.figures.specs.<kind>``, which registers it with a lazy
reference to its drawing function in ``specrun.figures.<kind>`` (numpy, matplotlib), imported
when a figure is first drawn.
"""

from specrun.figures import specs
from specrun.figures.base import FIGURES

__all__ = ["FIGURES", "specs"]
