"""Data transforms, one module per family, registered in ``TRANSFORMS`` on import."""

from specrun.transforms import derive
from specrun.transforms.base import TRANSFORMS

__all__ = ["TRANSFORMS", "derive"]
