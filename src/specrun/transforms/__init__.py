"""Data transforms, one module per family, registered in ``TRANSFORMS`` on import."""

from specrun.transforms import (
    derive,
    entropy,
    interpolate,
    panel,
    sophistication,
    winsorize,
)
from specrun.transforms.base import TRANSFORMS

__all__ = ["TRANSFORMS", "derive", "entropy", "interpolate", "panel", "sophistication", "winsorize"]
