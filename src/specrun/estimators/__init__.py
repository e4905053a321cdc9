"""Estimator families, declared in ``ESTIMATORS`` on import.

Each family's options (its pydantic spec model) live in ``specrun.estimators.specs.<family>``,
which registers the kind with a lazy reference to the fit in ``specrun.estimators.<family>``:
the fit modules (numpy, kernels) are imported when a model is first fitted, never to validate.
GMM's module imports its kernel lazily itself and registers in place. ``specs`` declares
every family by the module that registers it, imported when a spec first names one of its
kinds (``Registry.declare``).
"""

from specrun.estimators import specs
from specrun.estimators.base import ESTIMATORS

__all__ = ["ESTIMATORS", "specs"]
