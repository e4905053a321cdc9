"""Shared timing for the benchmarks: medians of repeated runs with their min and max.

Every bench times each contender the same number of times (at least five) on the same inputs
in the same process run, and reports the median with the range; ratios are ratios of medians.
Nothing is extrapolated from a few runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_REPEATS = 5


@dataclass(frozen=True)
class Timing:
    """Seconds of ``len(runs)`` runs of one contender."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def __str__(self) -> str:
        return f"{seconds(self.median)} ({seconds(min(self.runs))}–{seconds(max(self.runs))})"


def seconds(value: float) -> str:
    """A duration with a unit that keeps three significant figures readable."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def measure(run: Callable[[], object], repeats: int, *, warmup: int = 1) -> Timing:
    """Time ``run()`` ``repeats`` times after ``warmup`` untimed calls (imports, caches)."""
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be at least {MIN_REPEATS}, got {repeats}")
    for _ in range(warmup):
        run()
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        runs.append(time.perf_counter() - started)
    return Timing(tuple(runs))


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timing]:
    """Time several contenders round-robin (a, b, c, a, b, c, …) so that load on a shared
    machine falls on all of them alike; one untimed warm-up call each first."""
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be at least {MIN_REPEATS}, got {repeats}")
    for run in runs.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: Timing(tuple(values)) for name, values in times.items()}


def print_against_kernel(
    timings: dict[str, Timing], values: dict[str, object], what: str, width: int = 16
) -> None:
    """One line per contender: its timing, its median as a multiple of the ``kernel``
    contender's, and the largest absolute gap between its ``values`` (``what``) and the
    kernel's, so that every speed ratio comes with the proof the numbers agree."""
    import numpy as np

    base = timings["kernel"].median
    reference = np.asarray(values["kernel"])
    for name, timing in timings.items():
        gap = float(np.max(np.abs(np.asarray(values[name]) - reference)))
        print(
            f"  {name:{width}s} {timing!s:32s} {timing.median / base:8.1f}x kernel"
            f"   max |{what} - kernel's| {gap:.1e}"
        )
