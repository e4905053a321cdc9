"""Benchmark: the fit phase of the 2,016-specification multiverse, in this process.

The spec is ``bench/multiverse.py``'s (two-way FE of Expy on Dige, windows × control subsets ×
standard errors, on the paper's bundled synthetic panel). The data stage runs once; then,
timed round-robin, each contender fits every specification from scratch:

  serial       ``Executor.run_fits`` on the serial runner (what ``specrun run`` does), with its
               checks, design building, rank checks, statistics and covariance;
  threads2     the same on two worker threads of this process;
  processes2   the same on ``--jobs 2``'s runner: this process and one spawned worker, kept
               across repeats (its start-up, which a whole run overlaps with validation, is
               left out);
  numpy        the same fits written plainly (``multiverse.numpy_fits``: exact two-way
               demeaning of a balanced window, ``lstsq``, cluster / HC1 / iid covariance);
  pyfixest     ``pyfixest.feols`` per specification (``multiverse.pyfixest_fits``), if
               installed and ``--no-peers`` is not given.

Printed: medians (min–max) of ``--repeats`` runs, the time per fit, and ratios to the serial
fit phase and to the numpy floor. The machine's load average is printed before and after:
on a shared machine, compare ratios taken in the same run.

Usage: ``PYTHONPATH=src python bench/fitpath.py [--repeats 5] [--no-peers]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

import multiverse  # noqa: E402
from multiverse import load  # noqa: E402
from timing import interleaved, seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-peers", action="store_true", help="skip pyfixest")
    args = parser.parse_args()

    from specrun.api import plan_file
    from specrun.execute import Executor, _Counts
    from specrun.executors import ProcessRunner, SerialRunner, ThreadRunner

    processes = ProcessRunner(2)  # spawned first, as ``specrun run --jobs 2`` does
    with tempfile.TemporaryDirectory(prefix="specrun-fitpath-") as work:
        spec_file = Path(work) / "multiverse.yaml"
        spec_file.write_text(multiverse.spec_text(2000), encoding="utf-8")
        spec, plan = plan_file(spec_file)
    base = Executor(spec, plan)
    data = [n for n in plan.nodes if n.kind in ("load", "transform")]
    base.run_data(data, None, _Counts(len(plan.nodes), None))
    panel = base.panel_frame()
    fits = [n for n in plan.nodes if n.kind == "fit"]

    def fit_phase(make_runner: object) -> object:
        def run() -> None:
            executor = Executor(spec, plan)
            executor.panel = panel
            runner = make_runner() if callable(make_runner) else make_runner
            executor.run_fits(fits, runner, None, _Counts(len(plan.nodes), None))

        return run

    runs = {
        "serial": fit_phase(SerialRunner),
        "threads2": fit_phase(lambda: ThreadRunner(2)),
        "processes2": fit_phase(processes),
        "numpy": multiverse.numpy_fits(panel, 2000),
    }
    if not args.no_peers:
        peer = multiverse.pyfixest_fits(panel, 2000)
        if peer is not None:
            runs["pyfixest"] = peer
    print(f"{len(fits)} fit nodes ({len(fits) - 1} specifications and the base model)")
    print(f"load average before: {load()}  ({os.cpu_count()} cores)")
    times = interleaved(runs, args.repeats)
    print(f"load average after: {load()}")
    processes.close()
    serial, floor = times["serial"].median, times["numpy"].median
    print(f"\n{'contender':<12} {'median (min–max)':<34} {'per fit':>10}  /serial  /numpy")
    for name, timing in times.items():
        per_fit = seconds(timing.median / len(fits))
        print(
            f"{name:<12} {timing!s:<34} {per_fit:>10}  {timing.median / serial:6.3f}  "
            f"{timing.median / floor:6.2f}"
        )


if __name__ == "__main__":
    main()
