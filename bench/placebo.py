"""Benchmark: the vectorised DID placebo (all permutations in one demeaning) against refit loops.

Contenders, on the same permuted assignments (units' treatment paths reassigned across units):

* specrun — ``kernels.placebo.permutation_did``: every draw's Dᵢₜ demeaned in one call;
* numpy loop — the same algorithm one draw at a time (build D, two-way demean, β = D̃′ỹ/D̃′D̃);
* pyfixest — ``feols("y ~ D | unit + year")`` refitted per draw.

Each contender runs the same ``--draws`` permutations and is timed ``--repeats`` times after an
untimed warm-up (``timing.measure``); medians with min–max are printed, nothing is extrapolated,
and the loops' coefficients are checked against the kernel's.

    python bench/placebo.py [--draws 100] [--repeats 5] [--full]

Data: ``tests/data/df_het_subset.csv`` (150 units × 31 years), or with ``--full`` pyfixest's
whole ``df_het`` (1,500 units × 31 years, simulated data shipped with pyfixest).
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from specrun.kernels.placebo import draw_assignments, permutation_did
from specrun.kernels.within import PanelIndex, demean
from timing import measure

SUBSET = Path(__file__).resolve().parents[1] / "tests" / "data" / "df_het_subset.csv"


def load(full: bool) -> pd.DataFrame:
    if full:
        import pyfixest

        return pd.read_csv(os.path.join(os.path.dirname(pyfixest.__file__), "did/data/df_het.csv"))
    return pd.read_csv(SUBSET)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=100)
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

    result = kernel()
    loop = numpy_loop(args.draws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = pyfixest_loop(args.draws)
    assert np.allclose(loop, result.placebo, atol=1e-10), "numpy loop differs from the kernel"
    assert np.allclose(peer, result.placebo, atol=1e-6), "pyfixest differs"
    timings = {"specrun kernel": measure(kernel, args.repeats)}
    timings["numpy loop"] = measure(lambda: numpy_loop(args.draws), args.repeats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timings["pyfixest loop"] = measure(lambda: pyfixest_loop(args.draws), args.repeats)
    print(f"{y.size} rows, {index.n_entities} units, {args.draws} permutations")
    print(f"permutation p = {result.p_value:.4f}")
    base = timings["specrun kernel"].median
    for name, timing in timings.items():
        print(f"{name:<16} {timing}  → {timing.median / base:.1f}× the kernel")


if __name__ == "__main__":
    main()
