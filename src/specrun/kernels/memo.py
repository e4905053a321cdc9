"""A per-process memo of the work that fits on the same rows share, bounded by bytes.

A multiverse fits hundreds of specifications on a few samples: those on the same rows, with
the same absorbed effects and weights, compute the same factor codes, the same within
projection, the same swept columns and the same products of pairs of them, the entries of
their Gram matrices (pyfixest keeps the demeaned data of specifications sharing a sample for
the same reason). The fit that first needs one of them stores it here
under a key naming exactly what determines it; the next ones read it.

Keys are built by the callers (``estimators.linear``) from the key the executor gives a fit
for its frame (``FitContext.frame_key``: the panel's transforms, the sample, the rows kept and
the centring — what fixes every column's values by name) plus the column, effects, weights and
tolerances. A stored value is exactly what a miss computes (the same code on the same input),
so a hit gives the same bits; arrays are stored read-only, so no caller can change them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

# bytes: ~50 columns of 341,000 rows (the paper's data × 1000), where the fits of one sample
# (runners fit them one after another) share about 50 MB
DEFAULT_CAPACITY = 128 << 20


def held_bytes(value: Any) -> int:
    """Bytes a stored value holds: arrays' ``nbytes``, objects with an ``nbytes`` property,
    the sum over tuples, lists and dataclass-like objects with ``codes`` (a factor); 64 for
    anything else (a float, an int)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(held_bytes(v) for v in value) + 64
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    codes = getattr(value, "codes", None)
    if isinstance(codes, np.ndarray):
        return int(codes.nbytes) + 64
    return 64


def _freeze(value: Any) -> None:
    """Make the arrays of a stored value read-only: a caller writing into a shared array
    would change another fit's input."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for v in value:
            _freeze(v)
    else:
        codes = getattr(value, "codes", None)
        if isinstance(codes, np.ndarray):
            codes.flags.writeable = False


class FitMemo:
    """A least-recently-used store of fit intermediates, at most ``capacity`` bytes (the
    entry just stored is always kept, however large); safe to share between threads.

    ``hits`` and ``misses`` count lookups (for tests and benchmarks)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.held = 0
        self.hits = 0
        self.misses = 0
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        """The value stored under ``key`` (now the most recently used), or None."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: Any, size: int | None = None) -> None:
        """Store ``value`` (its arrays made read-only) under ``key``, counted as ``size``
        bytes (default :func:`held_bytes`), evicting the least recently used entries beyond
        the capacity."""
        _freeze(value)
        size = held_bytes(value) if size is None else size
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.held -= old[1]
            self.entries[key] = (value, size)
            self.held += size
            while self.held > self.capacity and len(self.entries) > 1:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.held -= dropped

    def cached(
        self, key: Hashable, make: Callable[[], T], size: Callable[[T], int] | None = None
    ) -> T:
        """The value under ``key``, made by ``make()`` and stored on a miss (counted as
        ``size(value)`` bytes when given). An exception from ``make`` stores nothing (the next
        fit raises it again)."""
        found = self.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        value = make()
        self.put(key, value, None if size is None else size(value))
        return value

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.held = 0
