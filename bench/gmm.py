"""Benchmark: two-step system GMM on a simulated 1,000 × 10 panel, specrun against its peers.

Run from the project root: ``python bench/gmm.py [--fits N] [--repeats N]``. Each package runs
in its own process, timed from the outside as a whole process: once loading the data without
fitting (the start-up: interpreter, imports, CSV) and once fitting the model a number of times
(``--fits``, ``--peer-fits``, ``--r-fits``), each ``--repeats`` times (at least five). The
figure per fit is (median fitting run − median start-up run) / fits; whole-process medians with
their min–max and the loop timed inside the process (median) are printed too. Every
process gets the same number of BLAS threads (``--threads``, default 1).

Peers, measured in the same run on the same CSV:

* ``pydynpd`` (needs numpy < 2): installed on first use into ``bench/.venv-pydynpd`` with
  ``python -m venv`` and pip;
* R ``plm::pgmm``, where ``Rscript`` and plm are installed (``apt-get install r-base-core
  r-cran-plm``); skipped with a message otherwise.

Model: y_it = α y_i,t−1 + β₁ x1_it + β₂ x2_it + μ_i + e_it, x1 endogenous, x2 exogenous;
instruments y and x1 lagged 2 and deeper (GMM-style, collapsed or not), x2 IV-style; system
GMM, two steps, Windmeijer-corrected errors. xtabond2: ``xtabond2 y L.y x1 x2, gmm(y x1,
lag(2 .) [collapse]) iv(x2) twostep robust``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-pydynpd"
SEED = 20260601
N_ENTITIES, N_PERIODS = 1000, 10

SPECRUN_WORKER = """
import json, sys, time
import pandas as pd
from specrun.kernels.gmm import GmmStyle, IvStyle, fit_system_gmm
path, fits, collapse = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
data = pd.read_csv(path)
model = dict(entity="id", time="year", dependent="y", regressors=("x1", "x2"),
             gmm=[GmmStyle(("y", "x1"), lags=(2, None), collapse=collapse)],
             iv=[IvStyle("x2")], steps=2, robust=True)
params = []
start = time.perf_counter()
for _ in range(fits):
    result = fit_system_gmm(data, **model)
    params = [float(v) for v in result.params]
print(json.dumps({"params": params, "fit_s": time.perf_counter() - start}))
"""

PYDYNPD_WORKER = """
import contextlib, io, json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from pydynpd import regression
path, fits, collapse = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
data = pd.read_csv(path)
command = "y L1.y x1 x2 | gmm(y, 2:.) gmm(x1, 2:.) iv(x2)" + (" | collapse" if collapse else "")
params = []
start = time.perf_counter()
for _ in range(fits):
    with contextlib.redirect_stdout(io.StringIO()):
        result = regression.abond(command, data, ["id", "year"])
    params = [float(v) for v in result.models[0].regression_table["coefficient"]]
print(json.dumps({"params": params, "fit_s": time.perf_counter() - start}))
"""

PLM_WORKER = """
suppressMessages(library(plm))
args <- commandArgs(trailingOnly = TRUE)
data <- pdata.frame(read.csv(args[1]), index = c("id", "year"))
fits <- as.integer(args[2]); collapse <- args[3] == "1"
coefs <- numeric(0)
start <- proc.time()[["elapsed"]]
for (i in seq_len(fits)) {
  fit <- pgmm(y ~ lag(y, 1) + x1 + x2 | lag(y, 2:99) + lag(x1, 2:99), data = data,
              effect = "individual", model = "twosteps", transformation = "ld",
              collapse = collapse)
  coefs <- coef(fit)
}
cat(sprintf('{"params": [%s], "fit_s": %f}\\n', paste(format(coefs, digits = 10),
            collapse = ", "), proc.time()[["elapsed"]] - start))
"""


def simulate_panel(path: Path) -> None:
    """A stationary dynamic panel with fixed effects and an endogenous regressor."""
    rng = np.random.default_rng(SEED)
    fixed = rng.normal(size=N_ENTITIES)
    shocks = rng.normal(size=(N_ENTITIES, N_PERIODS))
    x1 = np.zeros((N_ENTITIES, N_PERIODS))
    x2 = rng.normal(size=(N_ENTITIES, N_PERIODS))
    y = np.zeros((N_ENTITIES, N_PERIODS))
    for t in range(N_PERIODS):
        x1_prev = x1[:, t - 1] if t else 0.0
        y_prev = y[:, t - 1] if t else fixed / 0.5  # start near the steady state
        x1[:, t] = 0.5 * x1_prev + 0.3 * fixed + rng.normal(size=N_ENTITIES) + 0.3 * shocks[:, t]
        y[:, t] = 0.5 * y_prev + 0.4 * x1[:, t] - 0.2 * x2[:, t] + fixed + shocks[:, t]
    rows = ["id,year,y,x1,x2"]
    for i in range(N_ENTITIES):
        for t in range(N_PERIODS):
            rows.append(f"{i + 1},{2001 + t},{y[i, t]:.10f},{x1[i, t]:.10f},{x2[i, t]:.10f}")
    path.write_text("\n".join(rows) + "\n")


def ensure_pydynpd() -> Path | None:
    """The venv's python with pydynpd, made on first use; None (with a message) if it fails."""
    python = VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run([python, "-c", "import pydynpd"], capture_output=True)
        if probe.returncode == 0:
            return python
    print(f"creating {VENV.relative_to(HERE.parent)} for pydynpd (numpy < 2) …", flush=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True)
    if made.returncode == 0:
        made = subprocess.run(
            [python, "-m", "pip", "install", "-q", "numpy<2", "pydynpd"], capture_output=True
        )
    if made.returncode != 0:
        print("  pydynpd skipped: could not install it:", made.stderr.decode()[-300:])
        return None
    return python


def plm_available() -> bool:
    if shutil.which("Rscript") is None:
        print(
            "plm::pgmm skipped: Rscript is not installed (apt-get install r-base-core r-cran-plm)"
        )
        return False
    probe = subprocess.run(["Rscript", "-e", "library(plm)"], capture_output=True)
    if probe.returncode != 0:
        print("plm::pgmm skipped: the R package plm is not installed (apt-get install r-cran-plm)")
        return False
    return True


def run_process(command: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def time_package(
    command: list[str], fits: int, collapse: bool, env: dict[str, str], repeats: int
) -> dict:
    """Medians of ``repeats`` whole-process runs, loading only and fitting ``fits`` times,
    interleaved so that load on a shared machine falls on both alike."""
    flag = "1" if collapse else "0"
    startups, runs = [], []
    for _ in range(repeats):
        startups.append(run_process([*command, "0", flag], env)[0])
        runs.append(run_process([*command, str(fits), flag], env))
    wholes = [run[0] for run in runs]
    whole, startup = statistics.median(wholes), statistics.median(startups)
    return {
        "whole_s": whole,
        "whole_range": (min(wholes), max(wholes)),
        "startup_s": startup,
        "per_fit_ms": max(whole - startup, 0.0) / fits * 1000.0,
        "inside_ms": statistics.median(run[1]["fit_s"] for run in runs) / fits * 1000.0,
        "params": runs[0][1]["params"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Enough fits that fitting, not the ~1 s start-up, dominates each process's time.
    parser.add_argument("--fits", type=int, default=100, help="fits per specrun process")
    parser.add_argument("--peer-fits", type=int, default=10, help="fits per pydynpd process")
    parser.add_argument("--r-fits", type=int, default=2, help="fits per R process")
    parser.add_argument("--repeats", type=int, default=5, help="runs per process (>= 5)")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS/OpenMP threads of every process (same for all)"
    )
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5 (medians of at least five runs)")

    env = dict(os.environ)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(args.threads)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    work = Path(tempfile.mkdtemp(prefix="specrun-bench-gmm-"))
    try:
        data = work / "panel.csv"
        simulate_panel(data)
        peers: list[tuple[str, list[str], int]] = []
        specrun_script = work / "specrun_worker.py"
        specrun_script.write_text(SPECRUN_WORKER)
        peers.append(("specrun", [sys.executable, str(specrun_script), str(data)], args.fits))
        pydynpd_python = ensure_pydynpd()
        if pydynpd_python is not None:
            script = work / "pydynpd_worker.py"
            script.write_text(PYDYNPD_WORKER)
            peers.append(("pydynpd", [str(pydynpd_python), str(script), str(data)], args.peer_fits))
        if plm_available():
            script = work / "plm_worker.R"
            script.write_text(PLM_WORKER)
            peers.append(("plm::pgmm", ["Rscript", str(script), str(data)], args.r_fits))

        print(
            f"\nsystem GMM, two-step, Windmeijer errors; {N_ENTITIES} entities × {N_PERIODS} "
            f"periods; {os.cpu_count()} cores, {args.threads} BLAS thread(s) per process; medians "
            f"of {args.repeats} runs\n"
        )
        header = (
            f"{'instruments':<12}{'package':<11}{'fits':>5}{'process s (min–max)':>22}"
            f"{'start-up s':>12}{'ms / fit':>10}{'in-process':>12}{'vs specrun':>12}   L.y"
        )
        print(header)
        print("-" * len(header))
        for collapse in (False, True):
            label = "collapsed" if collapse else "uncollapsed"
            base = None
            for name, command, fits in peers:
                timing = time_package(command, fits, collapse, env, args.repeats)
                if base is None:
                    base = timing["per_fit_ms"]
                ratio = timing["per_fit_ms"] / base if base else float("nan")
                print(
                    f"{label:<12}{name:<11}{fits:>5}{timing['whole_s']:>8.2f} "
                    f"({timing['whole_range'][0]:.2f}–{timing['whole_range'][1]:.2f})"
                    f"{timing['startup_s']:>12.2f}{timing['per_fit_ms']:>10.1f}"
                    f"{timing['inside_ms']:>12.1f}"
                    f"{ratio:>11.1f}×   {timing['params'][0]:.4f}"
                )
        print(
            "\nms / fit = (median process fitting --fits times − median process loading only) / "
            "fits; "
            "in-process = the fitting loop timed inside the process, per fit;\n"
            "'vs specrun' = ms / fit over specrun's (above 1: specrun is faster)."
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
