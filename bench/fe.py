"""Benchmark: high-dimensional fixed effects with clustered SEs, specrun against its peers.

Two layouts of 2,000,000 rows (100,000 entities × 20 periods, 5 regressors, standard errors
clustered by entity), drawn here with a seeded generator:

  twoway  absorb entity and time (balanced, so specrun's one-pass path);
  three   absorb entity, time and industry × time (50 industries; iterative path).

Contenders, each timed from an in-memory frame to coefficients and clustered SEs (specrun's
time includes its rank, nesting and singleton checks, R² and the F test of uᵢ = 0):

  specrun      ``specrun.estimators.linear.fit_linear`` on a polars frame;
  pyfixest     ``pyfixest.feols(..., vcov={"CRV1": "entity"})`` on a pandas frame, with the
               faster of its ``rust`` and ``numba`` demeaning backends (chosen on the warm-up);
  linearmodels ``PanelOLS`` (two-way) or ``AbsorbingLS`` (three sets), clustered by entity;
  numpy        the same algorithm written plainly: alternating projections over every set
               with the Irons–Tuck step (exact one-pass formula for the balanced two-way
               layout), normal equations, the cluster sandwich from ``np.bincount`` sums.

Each contender runs once untimed, then ``--repeats`` times (median, min–max). Peak memory is
the max RSS of a fresh process per contender and layout (data generation included; the RSS
before the fit is printed beside it). The machine may be shared: figures are noisy. linearmodels'
clustered SEs differ from the others by its own small-sample convention (no K correction for the
absorbed effects), not by error.

Usage: ``python bench/fe.py [--repeats 5] [--entities 100000] [--periods 20]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "src"))

from specrun.estimators.base import FitContext  # noqa: E402
from specrun.estimators.linear import PanelFeSpec, fit_linear  # noqa: E402

X = [f"x{j}" for j in range(1, 6)]
INDUSTRIES = 50
LAYOUTS = {"twoway": ["entity", "time"], "three": ["entity", "time", "industry#time"]}
CONTENDERS = ("specrun", "pyfixest", "linearmodels", "numpy")
CHOSEN: dict[str, str] = {}  # layout → pyfixest's faster demeaning backend


def make_data(entities: int, periods: int, seed: int = 2024) -> pl.DataFrame:
    """A balanced panel with entity, period and industry-period effects in y and in x."""
    rng = np.random.default_rng(seed)
    n = entities * periods
    entity = np.repeat(np.arange(entities, dtype=np.int64), periods)
    period = np.tile(np.arange(periods, dtype=np.int64), entities)
    industry = entity % INDUSTRIES
    alpha = rng.normal(size=entities)[entity]
    gamma = rng.normal(size=periods)[period]
    delta = rng.normal(size=(INDUSTRIES, periods))[industry, period]
    x = rng.normal(size=(n, len(X))) + 0.5 * alpha[:, None] + 0.3 * delta[:, None]
    y = x @ np.array([1.0, -0.5, 0.25, 0.0, 2.0]) + alpha + gamma + delta + rng.normal(size=n)
    return pl.DataFrame(
        {"entity": entity, "time": period, "industry": industry, "y": y}
        | {name: x[:, j] for j, name in enumerate(X)}
    )


# --- contenders: each returns (coefficients, clustered SEs) of the five regressors -------------


def run_specrun(frame: pl.DataFrame, layout: str) -> tuple[np.ndarray, np.ndarray]:
    spec = PanelFeSpec(
        estimator="panel_fe", y="y", x=X, absorb=LAYOUTS[layout], se={"cluster": "entity"}
    )
    result = fit_linear(frame, spec, FitContext("bench", "entity", "time"))[""]
    coefficients = result.coefficients
    return (
        np.array([coefficients[v].estimate for v in X]),
        np.array([coefficients[v].std_error for v in X]),
    )


def _pyfixest(backend: str) -> Callable[[object, str], tuple[np.ndarray, np.ndarray]]:
    def run(data: object, layout: str) -> tuple[np.ndarray, np.ndarray]:
        import pyfixest as pf

        effects = {"twoway": "entity + time", "three": "entity + time + industry^time"}[layout]
        fit = pf.feols(
            f"y ~ {' + '.join(X)} | {effects}",
            data,
            vcov={"CRV1": "entity"},
            demeaner_backend=backend,
        )
        return fit.coef()[X].to_numpy(), fit.se()[X].to_numpy()

    return run


def run_linearmodels(data: object, layout: str) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    frame: pd.DataFrame = data  # type: ignore[assignment]
    if layout == "twoway":
        from linearmodels import PanelOLS

        indexed = frame.set_index(["entity", "time"])
        fit = PanelOLS(indexed["y"], indexed[X], entity_effects=True, time_effects=True).fit(
            cov_type="clustered", cluster_entity=True
        )
    else:
        from linearmodels.iv.absorbing import AbsorbingLS

        absorb = pd.DataFrame(
            {
                "entity": pd.Categorical(frame["entity"]),
                "time": pd.Categorical(frame["time"]),
                "industry_time": pd.Categorical(frame["industry"] * 1000 + frame["time"]),
            }
        )
        fit = AbsorbingLS(frame["y"], frame[X], absorb=absorb).fit(
            cov_type="clustered", clusters=frame["entity"].to_numpy()
        )
    return fit.params[X].to_numpy(), fit.std_errors[X].to_numpy()


def run_numpy(frame: pl.DataFrame, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """The plain algorithm: sweeps by bincount means, normal equations, cluster sandwich."""
    values = frame.select(["y", *X]).to_numpy()
    entity = frame["entity"].to_numpy()
    period = frame["time"].to_numpy()
    codes = [entity, period]
    if layout == "three":
        codes.append(frame["industry"].to_numpy() * (period.max() + 1) + period)
    codes = [np.unique(c, return_inverse=True)[1] for c in codes]
    counts = [np.bincount(c) for c in codes]

    def sweep(block: np.ndarray) -> np.ndarray:
        for c, m in zip(codes, counts, strict=True):
            for j in range(block.shape[1]):
                block[:, j] -= (np.bincount(c, weights=block[:, j]) / m)[c]
        return block

    if layout == "twoway":
        means_e = np.column_stack(
            [np.bincount(codes[0], weights=values[:, j]) / counts[0] for j in range(6)]
        )
        means_t = np.column_stack(
            [np.bincount(codes[1], weights=values[:, j]) / counts[1] for j in range(6)]
        )
        swept = values - means_e[codes[0]] - means_t[codes[1]] + values.mean(axis=0)
    else:
        # alternating projections with the same Irons–Tuck step as specrun's kernel
        swept = values.copy()
        scale = np.abs(values).max(axis=0)
        for _ in range(10_000):
            once = sweep(swept.copy())
            if np.all(np.abs(once - swept).max(axis=0) <= 1e-8 * scale):
                swept = once
                break
            twice = sweep(once.copy())
            delta = twice - once
            delta2 = delta - once + swept
            coef = (delta * delta2).sum(axis=0) / np.maximum((delta2 * delta2).sum(axis=0), 1e-300)
            swept = twice - coef * delta
    y, x = swept[:, 0], swept[:, 1:]
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    scores = x * (y - x @ beta)[:, None]
    g = int(codes[0].max()) + 1
    summed = np.column_stack(
        [np.bincount(codes[0], weights=scores[:, j], minlength=g) for j in range(5)]
    )
    n = y.size
    k = 5 + 1 + sum(int(c.max()) for c in codes[1:])  # entity effects nested in the clusters
    factor = g / (g - 1) * (n - 1) / (n - k)
    cov = factor * bread @ (summed.T @ summed) @ bread
    return beta, np.sqrt(np.diag(cov))


# --- driver --------------------------------------------------------------------------------


def prepare(contender: str, frame: pl.DataFrame) -> object:
    """The contender's own in-memory frame (built outside the timing)."""
    return frame.to_pandas() if contender in ("pyfixest", "linearmodels") else frame


def runner(contender: str, data: object, layout: str) -> Callable[[], object]:
    if contender == "specrun":
        return lambda: run_specrun(data, layout)  # type: ignore[arg-type]
    if contender == "numpy":
        return lambda: run_numpy(data, layout)  # type: ignore[arg-type]
    if contender == "linearmodels":
        return lambda: run_linearmodels(data, layout)
    backend = pick_backend(data, layout)
    CHOSEN[layout] = backend
    print(f"    pyfixest demeaning backend: {backend}", flush=True)
    return lambda: _pyfixest(backend)(data, layout)


def pick_backend(data: object, layout: str) -> str:
    """The faster of pyfixest's rust and numba demeaners on one untimed warm-up each."""
    best, best_time = "rust", float("inf")
    for backend in ("rust", "numba"):
        started = time.perf_counter()
        try:
            _pyfixest(backend)(data, layout)
        except Exception:  # a backend that is not installed is simply not a candidate
            continue
        elapsed = time.perf_counter() - started
        if elapsed < best_time:
            best, best_time = backend, elapsed
    return best


def time_contender(run: Callable[[], object], repeats: int) -> list[float]:
    run()  # untimed warm-up (JIT compilation, caches)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def _peak_rss_mib() -> float:
    """This process's high-water resident set (VmHWM; getrusage's ru_maxrss survives exec on
    Linux, so a child would report its parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(contender: str, layout: str, entities: int, periods: int, backend: str) -> None:
    """One fit in a fresh process: print the peak RSS before and after it (MiB, JSON)."""
    warnings.filterwarnings("ignore")
    data = prepare(contender, make_data(entities, periods))
    if contender == "pyfixest":
        # the backend's warm-up (JIT, thread pools) belongs to the fit's memory, not the data's
        before = _peak_rss_mib()
        _pyfixest(backend)(data, layout)
    else:
        before = _peak_rss_mib()
        runner(contender, data, layout)()
    print(json.dumps({"before": before, "peak": _peak_rss_mib()}))


def peak_memory(
    contender: str, layout: str, entities: int, periods: int, backend: str
) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", contender, "--layout", layout]
    command += ["--backend", backend]
    command += ["--entities", str(entities), "--periods", str(periods)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--child", choices=CONTENDERS)
    parser.add_argument("--layout", choices=list(LAYOUTS), default="twoway")
    parser.add_argument("--backend", default="rust", help="pyfixest's demeaner in --child runs")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.layout, args.entities, args.periods, args.backend)
        return
    warnings.filterwarnings("ignore")
    frame = make_data(args.entities, args.periods)
    print(
        f"{frame.height:,} rows, {args.entities:,} entities × {args.periods} periods, 5 regressors"
    )
    for layout, absorbed in LAYOUTS.items():
        print(f"\n== {layout}: absorb {absorbed}, clustered by entity")
        medians: dict[str, float] = {}
        reference = None
        for contender in CONTENDERS:
            data = prepare(contender, frame)
            run = runner(contender, data, layout)
            beta, se = run()  # type: ignore[misc]
            if reference is None:
                reference = (beta, se)
            beta_diff = float(np.max(np.abs(beta - reference[0]) / np.abs(reference[0])))
            se_diff = float(np.max(np.abs(se - reference[1]) / reference[1]))
            times = time_contender(run, args.repeats)
            medians[contender] = statistics.median(times)
            memory = (
                ""
                if args.no_memory
                else "  peak RSS {peak:.0f} MiB (before fit {before:.0f})".format(
                    **peak_memory(
                        contender, layout, args.entities, args.periods, CHOSEN.get(layout, "rust")
                    )
                )
            )
            print(
                f"  {contender:<12} median {medians[contender]:7.3f} s "
                f"[{min(times):.3f}–{max(times):.3f}]{memory}  "
                f"vs specrun: β {beta_diff:.0e}, SE {se_diff:.0e}",
                flush=True,
            )
        base = medians["specrun"]
        ratios = ", ".join(f"{c} {medians[c] / base:.2f}×" for c in CONTENDERS[1:])
        print(f"  time relative to specrun: {ratios}")


if __name__ == "__main__":
    main()
