"""Figure kinds, registered in ``FIGURES`` on import; drawn with matplotlib (PNG and PDF).

Each kind's options live in ``specrun.figures.specs.<kind>``, which registers it with lazy
references to its two steps in ``specrun.figures.<kind>``: the data (numbers and text, computed
by the execute stage) and the drawing (matplotlib, done by the render stage).
"""

from specrun.figures import specs
from specrun.figures.base import FIGURES

__all__ = ["FIGURES", "specs"]
