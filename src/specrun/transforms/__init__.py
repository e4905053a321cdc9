"""Data transforms, registered in ``TRANSFORMS`` on import.

Transforms written in polars alone (``derive``, ``interpolate``, the panel family) register in
their own modules; those whose apply step needs numpy keep their options in
``specrun.transforms.options.<family>`` with a lazy reference to the step, so that validating a
spec imports no numpy.
"""

from specrun.transforms import derive, interpolate, options, panel
from specrun.transforms.base import TRANSFORMS

__all__ = ["TRANSFORMS", "derive", "interpolate", "options", "panel"]
