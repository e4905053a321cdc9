"""Benchmark: the vectorised DID placebo (all permutations in one demeaning) against refit loops.

Contenders, on the same permuted assignments (units' treatment paths reassigned across units):

* specrun — ``kernels.placebo.permutation_did``: every draw's Dᵢₜ demeaned in one call;
* numpy loop — the same algorithm one draw at a time (build D, two-way demean, β = D̃′ỹ/D̃′D̃);
* pyfixest — ``feols("y ~ D | unit + year")`` refitted per draw (on ``--loop-draws`` draws,
  extrapolated linearly to ``--draws``; a refit's time does not depend on the draw).

Each is timed ``--repeats`` times after an untimed warm-up; medians with min–max are printed, and
the loops' coefficients are checked against the kernel's.

    python bench/placebo.py [--draws 500] [--loop-draws 20] [--repeats 5] [--full]

Data: ``tests/data/df_het_subset.csv`` (150 units × 31 years), or with ``--full`` pyfixest's
whole ``df_het`` (1,500 units × 31 years, simulated data shipped with pyfixest).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from specrun.kernels.placebo import draw_assignments, permutation_did
from specrun.kernels.within import PanelIndex, demean

SUBSET = Path(__file__).resolve().parents[1] / "tests" / "data" / "df_het_subset.csv"


def load(full: bool) -> pd.DataFrame:
    if full:
        import pyfixest

        return pd.read_csv(os.path.join(os.path.dirname(pyfixest.__file__), "did/data/df_het.csv"))
    return pd.read_csv(SUBSET)


def timed(fn, repeats: int) -> tuple[float, float, float, object]:
    fn()  # warm-up
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--loop-draws", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()

    frame = load(args.full).sort_values(["unit", "year"]).reset_index(drop=True)
    index = PanelIndex.from_labels(frame["unit"].to_numpy(), frame["year"].to_numpy())
    y = frame["dep_var"].to_numpy(float)
    year = frame["year"].to_numpy(float)
    units = frame.groupby("unit", sort=True)["g"].first().to_numpy(float)
    first = np.where(units > 0, units, np.nan)
    treat = (units > 0).astype(float)
    no_x = np.zeros((y.size, 0))

    def kernel():
        return permutation_did(
            y, no_x, index, year, treat, first, None, entity_effects=True, time_effects=True,
            draws=args.draws, permute="units", seed=args.seed,
        )  # fmt: skip

    treats, firsts = draw_assignments(treat, first, args.draws, "units", args.seed)

    def indicator(b: int) -> np.ndarray:
        f = firsts[b][index.entity]
        with np.errstate(invalid="ignore"):
            return treats[b][index.entity] * np.where(np.isnan(f), 0.0, (year >= f))

    def numpy_loop(n: int):
        yt = demean(y, index, entity=True, time=True)
        out = []
        for b in range(n):
            dt = demean(indicator(b), index, entity=True, time=True)
            out.append(float(dt @ yt / (dt @ dt)))
        return np.array(out)

    def pyfixest_loop(n: int):
        import pyfixest as pf

        out = []
        data = frame[["unit", "year", "dep_var"]].copy()
        for b in range(n):
            data["D"] = indicator(b)
            out.append(float(pf.feols("dep_var ~ D | unit + year", data=data).coef()["D"]))
        return np.array(out)

    k_med, k_min, k_max, result = timed(kernel, args.repeats)
    n_med, n_min, n_max, loop = timed(lambda: numpy_loop(args.draws), args.repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_med, p_min, p_max, peer = timed(lambda: pyfixest_loop(args.loop_draws), args.repeats)
    scale = args.draws / args.loop_draws
    assert np.allclose(loop, result.placebo, atol=1e-10), "numpy loop differs from the kernel"
    assert np.allclose(peer, result.placebo[: args.loop_draws], atol=1e-6), "pyfixest differs"
    print(f"{y.size} rows, {index.n_entities} units, {args.draws} permutations")
    print(f"permutation p = {result.p_value:.4f}")
    print(f"specrun kernel   median {k_med:.3f} s  (min {k_min:.3f}, max {k_max:.3f})")
    print(f"numpy loop       median {n_med:.3f} s  (min {n_min:.3f}, max {n_max:.3f})"
          f"  → {n_med / k_med:.1f}× the kernel")  # fmt: skip
    print(f"pyfixest loop    median {p_med * scale:.3f} s  (min {p_min * scale:.3f}, max "
          f"{p_max * scale:.3f}; {args.loop_draws} draws × {scale:g})"
          f"  → {p_med * scale / k_med:.1f}× the kernel")  # fmt: skip


if __name__ == "__main__":
    main()
