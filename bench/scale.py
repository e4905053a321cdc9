"""Benchmark: the paper pipeline on data 10×, 100× and 1,000× larger, each step's share.

``data/generate.py --size K`` writes the paper's panel with 31·K provinces (K = 1000: 31,000
provinces, 341,000 panel rows, 4,092,000 export rows). The spec is ``specs/paper.yaml`` itself
with only the two data paths changed: the same transforms, models, bootstrap draws and grids.
Each size runs ``--repeats`` times, each time as two fresh processes in turn: ``specrun run
SPEC --no-cache`` itself, whose wall time (median, min–max) and CPU time are the headline
figures (with ``--jobs`` left unset, as a user runs it), and a driver that runs the same
stages serially and times each one (median over the repeats; the driver has none of the
command's collector settings or worker processes, so its sum exceeds the command's wall time):

  import     specrun, polars, numpy, …         plan    validate, compile, hash the inputs
  load:*     read a source                     transform:*   one transform step
  fit:*      one model (all its members)       build   tables and figures
  fit:name[…]   every specification of multiverse ``name``    multiverse:*   its joint tests
  render     LaTeX/Markdown/HTML, JSON, Parquet, and the wait   write   files to disk
             for the figures the drawers draw (PNG/PDF)

The growth of each step from one size to the next is printed as the exponent b of time ∝ nᵇ
(1: linear), next to the exponent n log n itself would show over the same sizes (with n the
panel's rows); a step above it is marked. The machine's load average is printed with each
size, since the figures are wall times.

    python bench/scale.py [--sizes 10 100 1000] [--repeats 5] [--data DIR]

Generated data are kept in DIR (default: a folder in the system's temporary directory) and reused.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0  # the performance issue's bound for the whole run at x1000
ROWS_PER_SIZE = 31 * 11  # panel rows at x1 (31 provinces × 11 years)
PAPER = ROOT / "specs" / "paper.yaml"

# the steps of ``specrun run --no-cache`` (``api._run``), each timed: its figures drawn by the
# drawer processes it starts after its imports (``specrun.drawers``)
DRIVER = """
import contextlib, json, sys, time
started = time.perf_counter()
from specrun import api
from specrun.drawers import Drawers, prestart
from specrun.execute import execute
from specrun.outputs import render_outputs, write_outputs
from pathlib import Path
imported = time.perf_counter()
prestart(sys.argv[1])
spec, plan = api.plan_file(sys.argv[1])
planned = time.perf_counter()
drawers = Drawers.take(sum(1 for node in plan.nodes if node.kind == "figure"))
with drawers if drawers is not None else contextlib.nullcontext():
    output = execute(spec, plan, on_figure=drawers.submit if drawers is not None else None)
    executed = time.perf_counter()
    files = render_outputs(spec, plan, output, drawers)
rendered = time.perf_counter()
write_outputs(Path(sys.argv[2]), files)
written = time.perf_counter()
steps = {"import": imported - started, "plan": planned - imported}
for node, seconds in output.timings.items():
    key = "build" if node.startswith(("table:", "figure:")) else node
    if key.startswith("fit:") and "[" in key:  # a multiverse's specifications, as one step
        key = key.split("[", 1)[0] + "[…]"
    steps[key] = steps.get(key, 0.0) + seconds
steps["render"] = rendered - executed
steps["write"] = written - rendered
print(json.dumps(steps))
"""


def make_data(size: int, folder: Path) -> Path:
    target = folder / f"x{size}"
    if not (target / "province_exports.csv").exists():
        spec = importlib.util.spec_from_file_location("generate", ROOT / "data" / "generate.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"generating the x{size} data in {target} …", flush=True)
        module.generate(target, size=size)
    return target


def make_spec(data: Path, folder: Path) -> Path:
    text = PAPER.read_text(encoding="utf-8")
    for name in ("province_panel.csv", "province_exports.csv"):
        old = f"../data/{name}"
        if old not in text:
            raise SystemExit(f"specs/paper.yaml no longer names {old}")
        text = text.replace(old, str(data / name))
    spec = folder / f"paper_{data.name}.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _process(argv: list[str], what: str) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system: the process, its threads, workers and drawers) of
    one process running ``argv``, and what it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # byte-code caches as an installed package has them: with PYTHONDONTWRITEBYTECODE set,
    # every run would compile specrun's sources again
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return wall, _children_cpu() - cpu_before, done.stdout


def run_command(spec: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``specrun run SPEC --out OUT --no-cache`` process."""
    argv = [sys.executable, "-m", "specrun", "run", str(spec), "--out", str(out), "--no-cache"]
    wall, cpu, _ = _process(argv, f"specrun run {spec}")
    return wall, cpu


def run_once(spec: Path, out: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one driver process on ``spec``, and its step times; the process's CPU
    seconds come back as the step ``cpu (process)``."""
    argv = [sys.executable, "-c", DRIVER, str(spec), str(out)]
    wall, cpu, printed = _process(argv, f"the run of {spec}")
    steps = json.loads(printed.strip().splitlines()[-1])
    return wall, {**steps, CPU: cpu}


CPU = "cpu (process)"  # not a step: printed beside the wall time, not among the shares


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "specrun-scale")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians of at least five runs)")
    args.data.mkdir(parents=True, exist_ok=True)
    walls: dict[int, list[float]] = {}
    steps: dict[int, dict[str, float]] = {}
    loads: dict[int, tuple[float, float]] = {}
    for size in args.sizes:
        spec = make_spec(make_data(size, args.data), args.data)
        before = os.getloadavg()[0]
        commands, runs = [], []
        for _ in range(args.repeats):  # the command and the driver in turn
            commands.append(run_command(spec, args.data / f"cli_x{size}"))
            runs.append(run_once(spec, args.data / f"out_x{size}"))
        loads[size] = (before, os.getloadavg()[0])
        walls[size] = [wall for wall, _ in commands]
        names = list(runs[0][1])
        steps[size] = {
            name: statistics.median(run[1].get(name, 0.0) for run in runs) for name in names
        }
        median = statistics.median(walls[size])
        cpu = statistics.median(c for _, c in commands)
        driver = statistics.median(wall for wall, _ in runs)
        steps[size].pop(CPU)
        print(
            f"\nx{size} ({31 * size:,} provinces): specrun run --no-cache wall {median:.2f} s "
            f"({min(walls[size]):.2f}–{max(walls[size]):.2f}), median of {args.repeats}; "
            f"CPU {cpu:.2f} s (median); the serial step driver {driver:.2f} s; "
            f"load average {loads[size][0]:.1f} before, {loads[size][1]:.1f} after"
        )
        if size == 1000:
            verdict = "met" if median <= TARGET_SECONDS else "missed"
            print(f"  target ≤ {TARGET_SECONDS:.0f} s at x1000: {verdict}")
        total = sum(steps[size].values())
        for name, seconds in sorted(steps[size].items(), key=lambda item: -item[1]):
            print(f"  {name:32s} {seconds:8.3f} s  {seconds / total:6.1%}")
    sizes = sorted(args.sizes)
    for small, large in itertools.pairwise(sizes):
        ratio = math.log(large / small)
        rows_small, rows_large = ROWS_PER_SIZE * small, ROWS_PER_SIZE * large
        n_log_n = math.log(rows_large * math.log(rows_large) / (rows_small * math.log(rows_small)))
        n_log_n /= ratio
        print(
            f"\ngrowth x{small} → x{large}: exponent b of time ∝ n^b per step "
            f"(1 = linear; n log n gives {n_log_n:.3f}; * = above it)"
        )
        for name, seconds in sorted(steps[large].items(), key=lambda item: -item[1]):
            before = steps[small].get(name, 0.0)
            if before > 0.005 and seconds > 0.005:
                b = math.log(seconds / before) / ratio
                print(f"  {name:32s} {b:5.2f}{' *' if b > n_log_n else ''}")
    print("\none run on a machine shared with other work (see the load average)")


if __name__ == "__main__":
    main()
