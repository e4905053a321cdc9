"""Benchmark: the Hansen (1999) threshold kernel against a per-grid-point lstsq loop and pyxthreg.

Times threshold estimation with bootstrap tests on Hansen's investment data, on the same data,
grid (400 points) and trimming, each contender run in full ``--repeats`` times (median, min–max):

  specrun   ``specrun.kernels.threshold.fit_threshold`` (one BLAS thread), 1, 2 and 3
            thresholds at ``--replications`` per test (300: Hansen's and xthreg's usual count);
  loop      the textbook plain-numpy implementation: one ``np.linalg.lstsq`` per grid point, per
            search, per bootstrap replication. It is slow, so it and specrun are also timed
            side by side at ``--loop-replications`` per test (1 and 2 thresholds), in full:
            nothing is extrapolated;
  pyxthreg  the ``pyxthreg`` package (numba, both cores), when installed, at ``--replications``.

Usage: ``python bench/threshold.py [--data DIR] [--replications 300] [--loop-replications 5]``.
DIR holds Hansen's files (``invest.dat``, ``hansen1999.dta``); it defaults to
``../shared/reference/hansen1999/`` seen from the project root.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from specrun.kernels.threshold import ThresholdFit, fit_threshold
from timing import Timing, measure

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / ".." / "shared" / "reference" / "hansen1999"
GRID = 400
TRIM = 0.01
CONTROLS = ["q1", "q2", "q3", "d1", "qd1"]


def load_stata_panel(folder: Path) -> pd.DataFrame:
    """hansen1999.dta (Wang 2015's copy of Hansen's data: 565 firms × 1974–1987)."""
    frame = pd.read_stata(folder / "hansen1999.dta")
    frame["year"] = frame["year"].dt.year
    for column in [*CONTROLS, "c1", "i"]:
        frame[column] = frame[column].astype(float)
    return frame.sort_values(["id", "year"]).reset_index(drop=True)


def run_specrun(frame: pd.DataFrame, n_thresholds: int, replications: int) -> ThresholdFit:
    return fit_threshold(
        frame["i"].to_numpy(),
        frame["c1"].to_numpy(),
        frame["d1"].to_numpy(),
        frame[CONTROLS].to_numpy(),
        frame["id"].to_numpy(),
        frame["year"].to_numpy(),
        max_thresholds=n_thresholds,
        trim=(TRIM,),
        grid=GRID,
        bootstrap=replications,
        seed=1,
        convention="xthreg",
    )


class LoopBaseline:
    """Hansen's procedure written the straightforward way: every candidate threshold is a new
    least-squares regression on within-transformed data (xthreg convention: q ≤ γ, all periods).
    The transformed regime regressor of each grid point is built once, outside the timing."""

    def __init__(self, frame: pd.DataFrame, grid: np.ndarray) -> None:
        self.n_entities = frame["id"].nunique()
        self.n_periods = frame["year"].nunique()
        self.grid = grid
        self.q = frame["d1"].to_numpy()
        self.x = frame["c1"].to_numpy()
        self.y = self.within(frame["i"].to_numpy())
        self.base = self.within(np.column_stack([frame[CONTROLS].to_numpy(), self.x]))
        self.regime = np.stack([self.within(self.x * (self.q <= g)) for g in grid], axis=1)
        self.sigma_rows = self.n_periods * (self.n_entities - 1)
        self.window = GRID * TRIM

    def within(self, values: np.ndarray) -> np.ndarray:
        cube = values.reshape(self.n_entities, self.n_periods, *values.shape[1:])
        return (cube - cube.mean(axis=1, keepdims=True)).reshape(values.shape)

    def ssr(self, y: np.ndarray, columns: list[np.ndarray]) -> float:
        design = np.column_stack([self.base, *columns])
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ beta
        return float(resid @ resid)

    def search(self, y: np.ndarray, fixed: list[int]) -> tuple[int, float]:
        best, best_ssr = -1, float("inf")
        position = np.arange(1, self.grid.size + 1)
        for g in range(self.grid.size):
            if any(g == f or (f - self.window < position[g] <= f + self.window) for f in fixed):
                continue
            value = self.ssr(y, [self.regime[:, f] for f in fixed] + [self.regime[:, g]])
            if value < best_ssr:
                best, best_ssr = g, value
        return best, best_ssr

    def sequential(self, y: np.ndarray, n_thresholds: int) -> tuple[list[int], list[float]]:
        fixed: list[int] = []
        ssrs = [self.ssr(y, [])]
        for _ in range(n_thresholds):
            g, value = self.search(y, fixed)
            fixed.append(g)
            ssrs.append(value)
        return fixed, ssrs

    def test(self, n_thresholds: int, replications: int, rng: np.random.Generator) -> None:
        """Estimate, then bootstrap the F test of n against n − 1 thresholds."""
        fixed, _ = self.sequential(self.y, n_thresholds)
        null = np.column_stack([self.base, *[self.regime[:, f] for f in fixed[:-1]]])
        beta, *_ = np.linalg.lstsq(null, self.y, rcond=None)
        fitted = null @ beta
        resid = (self.y - fitted).reshape(self.n_entities, self.n_periods)
        for _ in range(replications):
            draw = rng.integers(0, self.n_entities, self.n_entities)
            _, ssrs = self.sequential(fitted + resid[draw].ravel(), n_thresholds)
            _ = (ssrs[-2] - ssrs[-1]) / (ssrs[-1] / self.sigma_rows)

    def run(self, n_thresholds: int, replications: int) -> None:
        """What ``fit_threshold(max_thresholds=n)`` does: the tests of 1, …, n thresholds."""
        rng = np.random.default_rng(1)
        for k in range(1, n_thresholds + 1):
            self.test(k, replications, rng)


def time_pyxthreg(frame: pd.DataFrame, replications: int, repeats: int) -> dict[int, Timing] | None:
    try:
        from pyxthreg import ThresholdPanel
    except ImportError:
        return None
    model = ThresholdPanel(
        frame, dep="i", indep=CONTROLS, rx=["c1"], qx="d1", entity_col="id", time_col="year"
    )
    # Warm-up: numba compiles (or loads its cache) on first use; that time is not counted.
    model.fit(thnum=1, trim=TRIM, grid=GRID, bs=2, nobslog=True)
    return {
        k: measure(
            lambda k=k: model.fit(thnum=k, trim=TRIM, grid=GRID, bs=replications, nobslog=True),
            repeats,
            warmup=0,
        )
        for k in (1, 2, 3)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of Hansen's files")
    parser.add_argument("--replications", type=int, default=300, help="bootstrap per test")
    parser.add_argument(
        "--loop-replications", type=int, default=5, help="bootstrap per test, specrun vs loop"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-pyxthreg", action="store_true")
    args = parser.parse_args(argv)
    folder = args.data.resolve()
    if not (folder / "hansen1999.dta").is_file():
        print(
            f"Hansen's data not found: {folder / 'hansen1999.dta'} does not exist.\n"
            "Pass the folder holding hansen1999.dta with --data DIR "
            "(default: ../shared/reference/hansen1999/ from the project root).",
            file=sys.stderr,
        )
        return 2
    frame = load_stata_panel(folder)
    reps, loop_reps, repeats = args.replications, args.loop_replications, args.repeats
    print(f"Hansen (1999) data: {frame['id'].nunique()} firms × {frame['year'].nunique()} years")
    print(
        f"grid {GRID} points, trim {TRIM}; every figure is the median of {repeats} full runs "
        "(min–max); one BLAS thread\n"
    )
    grid = run_specrun(frame, 1, 0).grid
    loop = LoopBaseline(frame, grid)
    with threadpool_limits(limits=1, user_api="blas"):
        print(f"specrun at {reps} replications per test")
        for k in (1, 2, 3):
            timing = measure(lambda k=k: run_specrun(frame, k, reps), repeats)
            print(f"  {k} threshold(s) with tests of 1..{k}: {timing}")
        print(f"\nspecrun and the numpy loop at {loop_reps} replications per test")
        for k in (1, 2):
            ours = measure(lambda k=k: run_specrun(frame, k, loop_reps), repeats)
            theirs = measure(lambda k=k: loop.run(k, loop_reps), repeats, warmup=0)
            print(
                f"  {k} threshold(s): specrun {ours}, loop {theirs}: "
                f"{theirs.median / ours.median:.0f}x"
            )
    pyx_times = None if args.skip_pyxthreg else time_pyxthreg(frame, reps, repeats)
    if pyx_times is None:
        print(
            "\npyxthreg is not installed (pip install pyxthreg): not timed."
            if not args.skip_pyxthreg
            else "\npyxthreg skipped (--skip-pyxthreg)."
        )
    else:
        print(f"\npyxthreg (numba, every core) at {reps} replications per test")
        for k, timing in pyx_times.items():
            print(f"  {k} threshold(s): {timing}")
    print("one run on a machine shared with other work; ratios are ratios of medians")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
