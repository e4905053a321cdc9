"""Benchmark: whole-process start-up of ``specrun validate`` and ``specrun run`` against the bare
imports they cannot avoid, timed interleaved in the same run.

Floors (issue "Performance"): ``validate`` against ``import polars, pydantic, yaml``; ``run``
against a bare import of polars, numpy, pydantic, yaml, jinja2's sandbox, scipy.special and
matplotlib's Figure with the Agg and PDF backends. Each command is a fresh interpreter; the
repeats are interleaved (floor, command, floor, command, ...) so load on a shared machine hits
both alike. Prints medians with min–max and the ratio of medians, of wall time and of each
process's CPU time (user + system, which a loaded machine inflates less). Children run with
byte-code caches (``PYTHONDONTWRITEBYTECODE`` is removed from their environment; the untimed
first round writes specrun's), as after a ``pip install``. ``specrun run`` is timed with
``--no-cache`` (every node computed, the figure the target is about); ``specrun re-run`` is an
unchanged re-run from the node cache, shown for comparison.

``--baseline DIR`` also times ``validate`` and ``run`` of another checkout of specrun (its
``src`` and its ``specs/paper.yaml``, e.g. ``git worktree add DIR <commit>``) in the same rounds,
so that a change is compared with what it replaces under the same load.

    python bench/startup.py [--repeats 7] [--spec specs/paper.yaml] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
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


def timed(argv: list[str], root: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process running ``argv`` with ``root/src``
    on its path and ``root`` as its working folder."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    # byte-code caches as an installed package has them (the floors' packages have theirs):
    # with PYTHONDONTWRITEBYTECODE set, every specrun run would compile its sources again
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        argv, check=True, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):6.3f} s (min {min(times):.3f}, max {max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--spec", default=str(ROOT / "specs" / "paper.yaml"))
    parser.add_argument("--baseline", type=Path, help="another specrun checkout to time alike")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians of at least five runs)")
    python = sys.executable
    out = tempfile.mkdtemp(prefix="specrun-bench-")
    commands: dict[str, tuple[list[str], Path]] = {
        "validate floor": ([python, "-c", VALIDATE_FLOOR], ROOT),
        "specrun validate": ([python, "-m", "specrun", "validate", args.spec], ROOT),
        "run floor": ([python, "-c", RUN_FLOOR], ROOT),
        # from scratch: the node cache would otherwise turn every repeat after the first into
        # a re-run (timed on its own below, not against the target)
        "specrun run": (
            [python, "-m", "specrun", "run", args.spec, "--out", out, "--no-cache"],
            ROOT,
        ),
        "specrun re-run": (
            [python, "-m", "specrun", "run", args.spec, "--out", out + "-cached"],
            ROOT,
        ),
    }
    if args.baseline is not None:
        base = args.baseline.resolve()
        spec = str(base / "specs" / "paper.yaml")
        commands["baseline validate"] = ([python, "-m", "specrun", "validate", spec], base)
        commands["baseline run"] = (  # from scratch, as "specrun run" above
            [python, "-m", "specrun", "run", spec, "--out", out + "-baseline", "--no-cache"],
            base,
        )
    for argv, root in commands.values():  # warm the file and byte-code caches once, untimed
        timed(argv, root)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, (argv, root) in commands.items():
            elapsed, cpu = timed(argv, root)
            walls[name].append(elapsed)
            cpus[name].append(cpu)
    print(f"{args.repeats} interleaved repeats, fresh interpreter each; medians (min–max)")
    for name in commands:
        print(f"  {name:18s} wall {summary(walls[name])}; CPU {summary(cpus[name])}")
    pairs = [
        ("specrun validate", "validate floor"),
        ("specrun run", "run floor"),
        ("specrun re-run", "run floor"),
    ]
    if args.baseline is not None:
        pairs += [("baseline validate", "validate floor"), ("baseline run", "run floor")]
    for command, floor in pairs:
        wall = statistics.median(walls[command]) / statistics.median(walls[floor])
        cpu = statistics.median(cpus[command]) / statistics.median(cpus[floor])
        target = "" if command.endswith("re-run") else " (target <= 1.5x)"
        print(f"  {command} / its floor: {wall:.2f}x wall, {cpu:.2f}x CPU{target}")


if __name__ == "__main__":
    main()
