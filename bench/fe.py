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
  numpy        the same algorithm written as plainly and as fast as numpy allows: offsets as
               integer codes; the exact two-way sweep (row and column means of each column
               read as an entities × periods matrix, the rows being sorted) or alternating
               projections with the Irons–Tuck step; Cholesky normal equations; the cluster
               sandwich from ``np.bincount`` sums. Its per-step medians are printed.

Each contender runs once untimed, then ``--repeats`` times, interleaved with the others
(``timing.interleaved``: median, min–max). Memory is measured in a fresh process per contender
and layout: the resident set just before the fit and its high-water mark during it (reset with
``/proc/self/clear_refs``), printed as the fit's growth and as a multiple of the design matrix
[X, 1]. The machine may be shared: figures are noisy. linearmodels' clustered SEs differ from
the others by its own small-sample convention (no K correction for the absorbed effects), not
by error.

Usage: ``python bench/fe.py [--repeats 5] [--entities 100000] [--periods 20]
[--layouts twoway three] [--contenders specrun pyfixest linearmodels numpy] [--no-memory]``.
"""

from __future__ import annotations

import argparse
import json
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
from timing import interleaved, seconds  # noqa: E402

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


NUMPY_STEPS: dict[str, list[float]] = {}  # step → seconds of each numpy run


def run_numpy(frame: pl.DataFrame, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """The plain algorithm, as fast as plain numpy gets: column-major [y, X]; integer codes by
    offset; the exact two-way sweep x − x̄ᵢ − x̄ₜ + x̄ (row and column means of each column
    read as an entities × periods matrix when the rows are sorted, ``bincount`` means
    otherwise) or alternating projections; Cholesky normal equations; CRV1 from ``bincount``
    sums of the scores. Each step's time is recorded in ``NUMPY_STEPS``."""
    from scipy import linalg

    clock = [time.perf_counter()]

    def step(name: str) -> None:
        now = time.perf_counter()
        NUMPY_STEPS.setdefault(name, []).append(now - clock[0])
        clock[0] = now

    values = frame.select(["y", *X]).to_numpy(order="fortran")
    entity = frame["entity"].to_numpy()
    period = frame["time"].to_numpy()
    step("to numpy")
    codes = [entity - entity.min(), period - period.min()]  # compact integer ids: offsets
    if layout == "three":
        codes.append(frame["industry"].to_numpy() * (period.max() + 1) + period)
        codes[2] = np.unique(codes[2], return_inverse=True)[1]
    counts = [np.bincount(c) for c in codes]
    n = values.shape[0]
    n_e, n_t = counts[0].size, counts[1].size
    step("codes")

    def sweep(block: np.ndarray) -> np.ndarray:
        for c, m in zip(codes, counts, strict=True):
            for j in range(block.shape[1]):
                block[:, j] -= (np.bincount(c, weights=block[:, j]) / m)[c]
        return block

    if layout == "twoway":
        swept = values  # our own copy: swept in place
        if n == n_e * n_t and np.array_equal(codes[0] * n_t + codes[1], np.arange(n)):
            for j in range(swept.shape[1]):  # sorted by entity, then period: reshape
                cube = swept[:, j].reshape(n_e, n_t)
                cube -= cube.mean(axis=1)[:, None]  # x − x̄ᵢ
                cube -= cube.mean(axis=0)[None, :]  # − (x̄ₜ − x̄), exact on a full grid
        else:
            for j in range(swept.shape[1]):
                column = swept[:, j]
                grand = column.mean()
                means_e = np.bincount(codes[0], weights=column) / counts[0]
                means_t = np.bincount(codes[1], weights=column) / counts[1]
                column -= means_e[codes[0]]
                column -= (means_t - grand)[codes[1]]
    else:
        # alternating projections with the same Irons–Tuck step as specrun's kernel
        swept = values.copy(order="F")
        scale = np.abs(values).max(axis=0)
        for _ in range(10_000):
            once = sweep(swept.copy(order="F"))
            if np.all(np.abs(once - swept).max(axis=0) <= 1e-8 * scale):
                swept = once
                break
            twice = sweep(once.copy(order="F"))
            delta = twice - once
            delta2 = delta - once + swept
            coef = (delta * delta2).sum(axis=0) / np.maximum((delta2 * delta2).sum(axis=0), 1e-300)
            swept = twice - coef * delta
    step("demean")
    y, x = swept[:, 0], swept[:, 1:]
    gram = x.T @ x
    factor = linalg.cho_factor(gram)
    beta = linalg.cho_solve(factor, x.T @ y)
    bread = linalg.cho_solve(factor, np.eye(beta.size))
    step("solve")
    resid = y - x @ beta
    g = n_e
    summed = np.column_stack(
        [np.bincount(codes[0], weights=x[:, j] * resid, minlength=g) for j in range(5)]
    )
    k = 5 + 1 + sum(int(c.size) - 1 for c in counts[1:])  # entity effects nested in clusters
    factor_ss = g / (g - 1) * (n - 1) / (n - k)
    cov = factor_ss * bread @ (summed.T @ summed) @ bread
    step("CRV1")
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


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(contender: str, layout: str, entities: int, periods: int, backend: str) -> None:
    """One fit in a fresh process: the resident set before it and its high-water mark during
    it (MiB, JSON). The high-water mark (VmHWM) is reset just before the fit by writing 5 to
    /proc/self/clear_refs, so data generation's own peak does not hide the fit's."""
    warnings.filterwarnings("ignore")
    data = prepare(contender, make_data(entities, periods))
    if contender == "pyfixest":
        # the backend's warm-up (JIT, thread pools) belongs to the fit's memory, not the data's
        run = lambda: _pyfixest(backend)(data, layout)  # noqa: E731
    else:
        run = runner(contender, data, layout)
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    run()
    peak = _status_kib("VmHWM")
    print(json.dumps({"before": before / 1024, "peak": peak / 1024}))


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
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--backend", default="rust", help="pyfixest's demeaner in --child runs")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.layout, args.entities, args.periods, args.backend)
        return
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians of at least five runs)")
    contenders = [c for c in CONTENDERS if c in args.contenders]
    warnings.filterwarnings("ignore")
    frame = make_data(args.entities, args.periods)
    design_mib = frame.height * (len(X) + 1) * 8 / 2**20
    print(
        f"{frame.height:,} rows, {args.entities:,} entities × {args.periods} periods, 5 regressors;"
        f" the design [X, 1] is {design_mib:.0f} MiB"
    )
    for layout in args.layouts:
        print(f"\n== {layout}: absorb {LAYOUTS[layout]}, clustered by entity")
        runs: dict[str, Callable[[], object]] = {}
        reference = None
        for contender in contenders:
            run = runner(contender, prepare(contender, frame), layout)
            beta, se = run()  # type: ignore[misc]
            if reference is None:
                reference = (beta, se)
            beta_diff = float(np.max(np.abs(beta - reference[0]) / np.abs(reference[0])))
            se_diff = float(np.max(np.abs(se - reference[1]) / reference[1]))
            print(f"  {contender:<12} vs {contenders[0]}: β {beta_diff:.0e}, SE {se_diff:.0e}")
            runs[contender] = run
        NUMPY_STEPS.clear()
        times = interleaved(runs, args.repeats)
        for contender, timing in times.items():
            memory = ""
            if not args.no_memory:
                used = peak_memory(
                    contender, layout, args.entities, args.periods, CHOSEN.get(layout, "rust")
                )
                extra = used["peak"] - used["before"]
                memory = (
                    f"  fit's peak RSS +{extra:.0f} MiB over {used['before']:.0f} "
                    f"({extra / design_mib:.1f}× the design)"
                )
            print(f"  {contender:<12} {timing}{memory}", flush=True)
        if "numpy" in times:
            steps = ", ".join(
                f"{name} {seconds(statistics.median(v))}" for name, v in NUMPY_STEPS.items()
            )
            print(f"  numpy steps (medians): {steps}")
        base = times[contenders[0]].median
        ratios = ", ".join(f"{c} {times[c].median / base:.2f}×" for c in contenders[1:])
        print(f"  median time relative to {contenders[0]}: {ratios}")


if __name__ == "__main__":
    main()
