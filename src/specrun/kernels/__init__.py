"""Numerical kernels (numpy): what no library does, written once and shared by estimators."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController


@cache
def blas_controller() -> ThreadpoolController:
    """The process's BLAS thread pools (threadpoolctl), found once: scanning the loaded
    libraries costs milliseconds a fit. ``blas_controller().limit(limits=1, user_api="blas")``
    runs a block on one BLAS thread: a fit's products are thin (rows × a few columns), where
    a second OpenBLAS thread costs more in waking and waiting than it saves, and on a busy
    machine its spinning thread competes with the work itself."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()
