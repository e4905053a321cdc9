"""Benchmark: whole-process start-up of ``specrun validate`` and ``specrun run`` against the bare
imports they cannot avoid, timed interleaved in the same run.

Floors (issue "Performance"): ``validate`` against ``import polars, pydantic, yaml``; ``run``
against a bare import of polars, numpy, pydantic, yaml, jinja2's sandbox, scipy.special and
matplotlib's Figure with the Agg and PDF backends. Each command is a fresh interpreter; the
repeats are interleaved (floor, command, floor, command, ...) so load on a shared machine hits
both alike. Prints medians with min–max and the ratio of medians. Children run with
byte-code caches (``PYTHONDONTWRITEBYTECODE`` is removed from their environment; the untimed
first round writes specrun's), as after a ``pip install``.

    python bench/startup.py [--repeats 7] [--spec specs/paper.yaml]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALIDATE_FLOOR = "import polars, pydantic, yaml"
RUN_FLOOR = (
    "import polars, numpy, pydantic, yaml, jinja2.sandbox, scipy.special; "
    "from matplotlib.figure import Figure; "
    "import matplotlib.backends.backend_agg, matplotlib.backends.backend_pdf"
)


def wall(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # byte-code caches as an installed package has them (the floors' packages have theirs):
    # with PYTHONDONTWRITEBYTECODE set, every specrun run would compile its sources again
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):6.3f} s (min {min(times):.3f}, max {max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--spec", default=str(ROOT / "specs" / "paper.yaml"))
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians of at least five runs)")
    python = sys.executable
    out = tempfile.mkdtemp(prefix="specrun-bench-")
    commands = {
        "validate floor": [python, "-c", VALIDATE_FLOOR],
        "specrun validate": [python, "-m", "specrun", "validate", args.spec],
        "run floor": [python, "-c", RUN_FLOOR],
        "specrun run": [python, "-m", "specrun", "run", args.spec, "--out", out],
    }
    for argv in commands.values():  # warm the file cache and byte-code caches once, untimed
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, argv in commands.items():
            times[name].append(wall(argv))
    print(f"{args.repeats} interleaved repeats, fresh interpreter each; medians (min–max)")
    for name, values in times.items():
        print(f"  {name:18s} {summary(values)}")
    for command, floor in (("specrun validate", "validate floor"), ("specrun run", "run floor")):
        ratio = statistics.median(times[command]) / statistics.median(times[floor])
        print(f"  {command} / its floor: {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
