"""specrun: a declarative model-spec engine for applied econometrics."""

# The one place the version is written: pyproject.toml reads it from here (hatch's dynamic
# version), so ``import specrun`` needs no ``importlib.metadata`` look-up (~30 ms of start-up).
__version__ = "0.1.0"

__all__ = ["__version__"]
