"""specrun: a declarative model-spec engine for applied econometrics."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("specrun")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
