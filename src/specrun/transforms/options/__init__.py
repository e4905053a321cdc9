"""Options of the transforms whose implementations need numpy, one module per family, each
registering its kind in ``TRANSFORMS`` with a lazy reference to its apply step."""

from specrun.transforms.options import entropy, group_mean, sophistication, winsorize

__all__ = ["entropy", "group_mean", "sophistication", "winsorize"]
