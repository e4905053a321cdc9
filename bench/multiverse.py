"""Benchmark: 2,000 panel fixed-effects specifications of the paper's data, whole runs.

The spec (written here) is the paper's data section and transforms (bundled synthetic data)
plus one two-way FE model of Expy on Dige and a ``multiverse:`` over it with three axes: the
time window (21 of the windows first year 2012–2016 × last year 2018–2022), the control set
(each of the 32 subsets of the five controls) and the standard errors (clustered by province,
HC1, unadjusted): 21 × 32 × 3 = 2,016 specifications, 2,017 distinct fit nodes with the base.

Contenders, each a whole ``specrun run`` process (start-up, validation, plan, data, fits,
outputs), timed round-robin:

  serial       ``--no-cache``, one process;
  jobs2        ``--no-cache --jobs 2`` (two worker threads);
  dask2        ``--no-cache --scheduler`` on a ``LocalCluster`` of 2 single-threaded worker
               processes started by this bench (the spec is rebuilt once per worker and kept
               across runs, as on any persistent cluster);
  cached       an unchanged re-run with a warm cache;
  one_change   a re-run after changing one axis value (the first window's sample gains a
               ``where:`` bound that keeps every row, a new bound each repeat: 96 of the 2,016
               specifications change), warm cache.
  imports      ``python -c "import polars, numpy, pydantic, yaml, scipy.special"``: the
               libraries any run that fits a model loads (data, validation, p-values), the
               floor under the one-change re-run, which must validate the changed spec and fit
               the changed specifications.

Baselines of the fitting alone, in this process, on the run's ``analysis.parquet``:

  pyfixest     ``pyfixest.feols("Expy ~ Dige + … | province + year", vcov=…)`` per spec;
  numpy        the same 2,000 fits written plainly: the exact one-pass two-way demeaning of a
               balanced window, ``lstsq``, and the cluster / HC1 / iid covariance.

Ratios are to the serial run's median. Targets (issue 14): cached ≤ 5 %, one change ≤ 15 %,
jobs2 ≤ 0.6×. The machine may be shared: the load average is printed before and after.

Usage: ``PYTHONPATH=src python bench/multiverse.py [--repeats 5] [--specs 2000] [--no-peers]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from timing import Timing, interleaved, measure  # noqa: E402

CONTROLS = ("URBAN", "EDU", "MARKET", "OPEN", "FIN")
SE = {"entity": "{cluster: entity}", "hc1": "{type: HC1}", "iid": "{type: unadjusted}"}


WINDOWS = [(first, last) for first in range(2012, 2017) for last in range(2018, 2023)]


def choices(count: int) -> list[tuple[int, int, tuple[str, ...], str]]:
    """The specifications in the multiverse's product order (window slowest, then the control
    subset, then the standard errors): the first ``count // 96`` windows, rounded up."""
    subsets = [c for r in range(len(CONTROLS) + 1) for c in itertools.combinations(CONTROLS, r)]
    per_window = len(subsets) * len(SE)
    windows = -(-count // per_window)
    if windows > len(WINDOWS):
        raise SystemExit(f"--specs at most {len(WINDOWS) * per_window}")
    return [
        (first, last, subset, se)
        for (first, last) in WINDOWS[:windows]
        for subset in subsets
        for se in SE
    ]


def spec_text(count: int, change: int | None = None) -> str:
    """The benchmark spec: a ``multiverse:`` of windows × control subsets × standard errors
    over one two-way FE model; ``change`` adds a no-op ``where:`` bound to the first window
    (one axis value: 96 specifications change)."""
    paper = (PROJECT_ROOT / "specs" / "paper.yaml").read_text(encoding="utf-8")
    head = paper.split("\nmodels:")[0].replace("../data/", f"{(PROJECT_ROOT / 'data').as_posix()}/")
    combos = choices(count)
    windows = list(dict.fromkeys((first, last) for first, last, _, _ in combos))
    subsets = list(dict.fromkeys(subset for _, _, subset, _ in combos))
    lines = [
        head,
        "models:",
        "  fe: {estimator: panel_fe, y: Expy, x: [Dige], absorb: [entity, time],",
        "       se: {cluster: entity}}",
        "multiverse:",
        "  grid:",
        "    base: fe",
        "    focus: Dige",
        "    axes:",
        "      window:",
    ]
    for i, (first, last) in enumerate(windows):
        where = f', where: "Expy > -{1000 + change}"' if change is not None and i == 0 else ""
        lines.append(f"        w{first}_{last}: {{sample: {{time: [{first}, {last}]{where}}}}}")
    lines.append("      controls:")
    for subset in subsets:
        name = "_".join(c.lower() for c in subset) or "none"
        lines.append(f"        {name}: {{x: [{', '.join(['Dige', *subset])}]}}")
    lines.append("      se:")
    for name, value in SE.items():
        lines.append(f"        {name}: {{se: {value}}}")
    lines.append("outputs: {dir: out, formats: [markdown]}")
    return "\n".join(lines) + "\n"


def specrun(spec: Path, out: Path, *flags: str) -> Callable[[], None]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    # byte-code caches as an installed package has them (the warm-up run writes them): with
    # PYTHONDONTWRITEBYTECODE set, every run would compile specrun's sources again
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, "-m", "specrun", "run", str(spec), "--out", str(out), *flags]

    def run() -> None:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")

    return run


def numpy_fits(analysis: object, count: int) -> Callable[[], list[float]]:
    """The 2,000 fits in plain numpy on the analysis frame (balanced windows: the two-way
    within transformation is y − ȳᵢ − ȳₜ + ȳ exactly)."""
    import polars as pl

    frame = analysis.sort(["province", "year"])  # type: ignore[attr-defined]
    years = frame["year"].to_numpy()
    entity_codes = frame["province"].cast(pl.Categorical).to_physical().to_numpy()
    data = {c: frame[c].to_numpy().astype(float) for c in ("Expy", "Dige", *CONTROLS)}
    combos = choices(count)

    def run() -> list[float]:
        estimates = []
        for first, last, subset, se in combos:
            rows = (years >= first) & (years <= last)
            g = entity_codes[rows]
            t = years[rows] - first
            n_g, n_t = g.max() + 1, t.max() + 1
            columns = [data["Expy"][rows], data["Dige"][rows], *(data[c][rows] for c in subset)]
            m = np.column_stack(columns)
            by_g = np.zeros((n_g, m.shape[1]))
            by_t = np.zeros((n_t, m.shape[1]))
            np.add.at(by_g, g, m)
            np.add.at(by_t, t, m)
            within = m - by_g[g] / n_t - by_t[t] / n_g + m.mean(axis=0)
            y, x = within[:, 0], within[:, 1:]
            beta, *_ = np.linalg.lstsq(x, y, rcond=None)
            u = y - x @ beta
            bread = np.linalg.inv(x.T @ x)
            n, k = x.shape
            dof = n - k - (n_g - 1) - (n_t - 1) - 1
            if se == "entity":
                scores = np.zeros((n_g, k))
                np.add.at(scores, g, x * u[:, None])
                c = n_g / (n_g - 1) * (n - 1) / (n - k - 1)
                cov = c * bread @ (scores.T @ scores) @ bread
            elif se == "hc1":
                cov = n / dof * bread @ ((x * u[:, None] ** 2).T @ x) @ bread
            else:
                cov = (u @ u) / dof * bread
            estimates.append(float(beta[0] + 0 * cov[0, 0]))
        return estimates

    return run


def pyfixest_fits(analysis: object, count: int) -> Callable[[], None] | None:
    try:
        import pyfixest as pf
    except ImportError:
        return None
    frame = analysis.to_pandas()  # type: ignore[attr-defined]
    combos = choices(count)
    vcovs = {"entity": {"CRV1": "province"}, "hc1": "hetero", "iid": "iid"}

    def run() -> None:
        for first, last, subset, se in combos:
            part = frame[(frame["year"] >= first) & (frame["year"] <= last)]
            rhs = " + ".join(["Dige", *subset])
            pf.feols(f"Expy ~ {rhs} | province + year", data=part, vcov=vcovs[se])

    return run


IMPORTS = "import polars, numpy, pydantic, yaml, scipy.special"


def imports_floor() -> Callable[[], None]:
    """A bare import of the libraries every fitting run loads, as a whole process."""
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, "-c", IMPORTS]

    def run() -> None:
        subprocess.run(command, env=env, check=True, capture_output=True)

    return run


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--specs", type=int, default=2000, help="at least this many (whole windows of 96)"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip pyfixest and numpy")
    args = parser.parse_args()

    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="specrun-multiverse-"))
    try:
        spec = work / "multiverse.yaml"
        spec.write_text(spec_text(args.specs), encoding="utf-8")
        changed = work / "changed.yaml"
        counter = itertools.count()

        def one_change() -> None:
            changed.write_text(spec_text(args.specs, next(counter)), encoding="utf-8")
            specrun(changed, work / "out_change", "--cache", str(work / "cache"))()

        count = len(choices(args.specs))
        print(f"{count} specifications + the base model: {count + 1} fit nodes")
        print(f"load average before: {load()}  ({os.cpu_count()} cores)")
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster:
            address = cluster.scheduler_address
            runs = {
                "serial": specrun(spec, work / "out_serial", "--no-cache"),
                "jobs2": specrun(spec, work / "out_jobs", "--no-cache", "--jobs", "2"),
                "dask2": specrun(spec, work / "out_dask", "--no-cache", "--scheduler", address),
                "cached": specrun(spec, work / "out_cached", "--cache", str(work / "cache")),
                "one_change": one_change,
                "imports": imports_floor(),
            }
            times = interleaved(runs, args.repeats)
        print(f"load average after runs: {load()}")
        serial = times["serial"].median
        print(f"\n{'contender':<12} {'median (min–max)':<34} ratio to serial")
        for name, timing in times.items():
            print(f"{name:<12} {timing!s:<34} {timing.median / serial:.3f}")
        same = [
            (work / f"out_{name}" / "results.json").read_bytes()
            for name in ("serial", "jobs", "dask", "cached")
        ]
        print(f"results.json byte-identical, serial/jobs2/dask2/cached: {len(set(same)) == 1}")
        if not args.no_peers:
            import polars as pl

            analysis = pl.read_parquet(work / "out_serial" / "analysis.parquet")
            baselines: dict[str, Timing] = {}
            baselines["numpy"] = measure(numpy_fits(analysis, args.specs), args.repeats)
            peer = pyfixest_fits(analysis, args.specs)
            if peer is not None:
                baselines["pyfixest"] = measure(peer, args.repeats)
            print("\nthe fits alone, in this process (no start-up, validation or outputs):")
            for name, timing in baselines.items():
                print(f"{name:<12} {timing!s:<34} {timing.median / serial:.3f} of serial run")
        print(f"load average at the end: {load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
