"""Benchmark: the specification-curve joint tests' refits (``specrun.kernels.curve``) against a
plain-numpy loop of the same refits and a loop of pyfixest ``feols`` fits.

A multiverse of 32 two-way fixed-effects specifications (Expy on Dige and every subset of the
five controls) is refitted on entity-cluster bootstrap draws of its null data (y − β̂·Dige),
the same draws for every specification, as ``specrun run`` does for a ``multiverse:`` with
``inference:``. Three contenders do the same draws, each timed in full the same number of times
(median of ``--repeats``, min–max):

  kernel      ``null_refits``: per specification, per-province Gram blocks once, then all draws
              as one matrix product and one batched solve (one BLAS thread);
  numpy loop  per specification and draw: gather the resampled panel, two-way demean it
              (balanced: minus unit and period means, plus the grand mean), ``np.linalg.lstsq``;
  pyfixest    per specification and draw: ``feols("y0 ~ Dige + … | copy + year")`` on the
              resampled, relabelled panel (each drawn copy its own fixed effect).

The focus estimates of both loops are compared with the kernel's.

    python bench/curve.py [PANEL] [--draws 500] [--peer-draws 10] [--repeats 5]

PANEL defaults to ``out/paper/analysis.parquet``; when absent a seeded 31 × 11 panel with the
paper's columns is simulated (``bench/mediation.py``).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mediation import CONTROLS, ENTITY, OUTCOME, TIME, TREATMENT, load_panel
from specrun.kernels.curve import null_refits
from specrun.kernels.within import PanelIndex, multiplicities, resample_indices
from timing import measure, print_against_kernel

SPECIFICATIONS = [
    [TREATMENT, *subset]
    for size in range(len(CONTROLS) + 1)
    for subset in itertools.combinations(CONTROLS, size)
]


def _within(cube: np.ndarray) -> np.ndarray:
    """Two-way demeaned rows of a balanced (entities, periods, k) cube."""
    swept = (
        cube
        - cube.mean(axis=1, keepdims=True)
        - cube.mean(axis=0, keepdims=True)
        + cube.mean(axis=(0, 1), keepdims=True)
    )
    return swept.reshape(-1, cube.shape[2])


def null_outcomes(frame: pd.DataFrame) -> list[np.ndarray]:
    """Each specification's y − β̂·Dige on the observed panel (sorted by entity, time)."""
    n_e, n_t = frame[ENTITY].nunique(), frame[TIME].nunique()
    outcomes = []
    for columns in SPECIFICATIONS:
        cube = frame[[OUTCOME, *columns]].to_numpy().reshape(n_e, n_t, -1)
        swept = _within(cube)
        beta = np.linalg.lstsq(swept[:, 1:], swept[:, 0], rcond=None)[0]
        outcomes.append(frame[OUTCOME].to_numpy() - beta[0] * frame[TREATMENT].to_numpy())
    return outcomes


def kernel(frame: pd.DataFrame, counts: np.ndarray) -> np.ndarray:
    index = PanelIndex.from_labels(frame[ENTITY].to_numpy(), frame[TIME].to_numpy())
    y = frame[OUTCOME].to_numpy()
    out = []
    for columns in SPECIFICATIONS:
        x = frame[columns].to_numpy()
        cube = np.column_stack([y, x]).reshape(index.n_entities, index.n_periods, -1)
        swept = _within(cube)
        beta = np.linalg.lstsq(swept[:, 1:], swept[:, 0], rcond=None)[0]
        refits = null_refits(
            y,
            x,
            0,
            index,
            entity_effects=True,
            time_effects=True,
            reported_estimate=float(beta[0]),
            reported_se=1.0,
            multiplicities=counts,
        )
        out.append(refits.estimates)
    return np.column_stack(out)


def numpy_loop(frame: pd.DataFrame, drawn: np.ndarray, nulls: list[np.ndarray]) -> np.ndarray:
    n_e, n_t = frame[ENTITY].nunique(), frame[TIME].nunique()
    out = np.empty((len(drawn), len(SPECIFICATIONS)))
    for s, columns in enumerate(SPECIFICATIONS):
        cube = np.column_stack([nulls[s], frame[columns].to_numpy()]).reshape(n_e, n_t, -1)
        for d, draw in enumerate(drawn):
            swept = _within(cube[draw])
            out[d, s] = np.linalg.lstsq(swept[:, 1:], swept[:, 0], rcond=None)[0][0]
    return out


def pyfixest_loop(frame: pd.DataFrame, drawn: np.ndarray, nulls: list[np.ndarray]) -> np.ndarray:
    import pyfixest as pf

    entities = np.sort(frame[ENTITY].unique())
    data = frame.assign(**{f"y{s}": nulls[s] for s in range(len(SPECIFICATIONS))})
    by_entity = {name: part for name, part in data.groupby(ENTITY, sort=True)}
    out = np.empty((len(drawn), len(SPECIFICATIONS)))
    for d, draw in enumerate(drawn):
        resample = pd.concat(
            [by_entity[entities[unit]].assign(copy=k) for k, unit in enumerate(draw)],
            ignore_index=True,
        )
        for s, columns in enumerate(SPECIFICATIONS):
            fit = pf.feols(f"y{s} ~ {' + '.join(columns)} | copy + {TIME}", data=resample)
            out[d, s] = fit.coef()[TREATMENT]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("panel", nargs="?", default="out/paper/analysis.parquet", type=Path)
    parser.add_argument("--draws", type=int, default=500, help="draws for kernel and numpy")
    parser.add_argument("--peer-draws", type=int, default=10, help="draws for all three")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    frame, source = load_panel(args.panel)
    frame = frame.sort_values([ENTITY, TIME]).reset_index(drop=True)
    n_e, n_t = frame[ENTITY].nunique(), frame[TIME].nunique()
    if frame.shape[0] != n_e * n_t:
        raise SystemExit("the numpy loop assumes a balanced panel")
    nulls = null_outcomes(frame)
    print(f"panel: {source}")
    print(
        f"  {n_e} entities x {n_t} periods; {len(SPECIFICATIONS)} two-way FE specifications; "
        f"every figure is the median of {args.repeats} full runs (min–max), one BLAS thread"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        for draws, with_peer in ((args.peer_draws, True), (args.draws, False)):
            drawn = resample_indices(n_e, draws, args.seed)
            counts = multiplicities(drawn, n_e)
            out: dict[str, np.ndarray] = {}

            def run_kernel(counts: np.ndarray = counts, out: dict = out) -> None:
                out["kernel"] = kernel(frame, counts)

            def run_numpy(drawn: np.ndarray = drawn, out: dict = out) -> None:
                out["numpy loop"] = numpy_loop(frame, drawn, nulls)

            def run_peer(drawn: np.ndarray = drawn, out: dict = out) -> None:
                out["pyfixest loop"] = pyfixest_loop(frame, drawn, nulls)

            timings = {
                "kernel": measure(run_kernel, args.repeats),
                "numpy loop": measure(run_numpy, args.repeats),
            }
            if with_peer:
                pyfixest_loop(frame, drawn[:1], nulls)  # imports and JIT outside the timing
                timings["pyfixest loop"] = measure(run_peer, args.repeats, warmup=0)
            print(f"\n{draws} draws x {len(SPECIFICATIONS)} specifications")
            print_against_kernel(timings, out, "estimate", 16)
    print("one run on a machine shared with other work; ratios are ratios of medians")


if __name__ == "__main__":
    main()
