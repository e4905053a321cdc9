"""Data transforms, registered in ``TRANSFORMS`` on import.

Transforms written in polars alone (``derive``, ``interpolate``, the panel family) register in
their own modules; those whose apply step needs numpy keep their options in
``specrun.transforms.options.<family>`` with a lazy reference to the step, so that validating a
spec imports no numpy. The panel family (``lag``, ``lead``, ``diff``, ``log``, ``standardize``,
``ratio``) is declared here and imported when a spec first names one of them: a spec that uses
none builds none of their option models.
"""

from specrun.transforms import derive, interpolate, options
from specrun.transforms.base import TRANSFORMS

for _name in ("lag", "lead", "diff", "log", "standardize", "ratio"):
    TRANSFORMS.declare(_name, "specrun.transforms.panel")

__all__ = ["TRANSFORMS", "derive", "interpolate", "options"]
