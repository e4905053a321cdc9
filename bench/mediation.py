"""Benchmark: vectorized entity-bootstrap mediation against a loop of linearmodels PanelOLS fits.

Each bootstrap draw resamples whole provinces (each drawn copy keeps its own fixed effect) and
fits the three Baron–Kenny equations Expy ~ Dige, STR ~ Dige and Expy ~ Dige + STR, each with
two-way effects and five controls. The loop refits those with ``linearmodels.PanelOLS`` on a
subset of draws and extrapolates linearly to the full count (fit time does not depend on the
draw); the kernel does all draws at once. Both use the same resampled provinces, and the
indirect effects of the looped draws are compared with the kernel's.

    python bench/mediation.py [CSV] [--draws 1000] [--loop-draws 30] [--seed 1]

CSV defaults to ``out/paper/analysis.csv`` (written by ``specrun run specs/paper.yaml --out
out/paper``); when it is absent a seeded 31 × 11 panel with the same columns is simulated.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from linearmodels import PanelOLS

from specrun.kernels.mediation import bootstrap_indirect
from specrun.kernels.within import PanelIndex, resample_indices

ENTITY, TIME = "province", "year"
OUTCOME, TREATMENT, MEDIATOR = "Expy", "Dige", "STR"
CONTROLS = ["MARKET", "OPEN", "FIN", "URBAN", "EDU"]


def simulated_panel(seed: int = 20120101) -> pd.DataFrame:
    """A 31-province × 2012–2022 panel with the paper's columns; synthetic numbers."""
    rng = np.random.default_rng(seed)
    provinces = [f"P{number:02d}" for number in range(1, 32)]
    years = np.arange(2012, 2023)
    frame = pd.MultiIndex.from_product([provinces, years], names=[ENTITY, TIME]).to_frame(
        index=False
    )
    n, n_p, n_y = frame.shape[0], len(provinces), len(years)
    province_effect = np.repeat(rng.normal(size=n_p), n_y)
    year_effect = np.tile(np.linspace(0.0, 1.0, n_y), n_p)
    for name in CONTROLS:
        frame[name] = 0.5 * province_effect + rng.normal(size=n)
    frame[TREATMENT] = 0.6 * province_effect + year_effect + rng.normal(scale=0.5, size=n)
    frame[MEDIATOR] = 0.4 * frame[TREATMENT] + 0.1 * frame["URBAN"] + rng.normal(size=n)
    frame[OUTCOME] = (
        0.3 * frame[TREATMENT]
        + 0.5 * frame[MEDIATOR]
        + 0.2 * frame[CONTROLS].sum(axis=1)
        + province_effect
        + year_effect
        + rng.normal(scale=0.5, size=n)
    )
    return frame


def load_panel(path: Path) -> tuple[pd.DataFrame, str]:
    if path.exists():
        frame = pd.read_csv(path)
        columns = [ENTITY, TIME, OUTCOME, TREATMENT, MEDIATOR, *CONTROLS]
        return frame[columns].dropna(), f"{path} ({frame.shape[0]} rows)"
    return simulated_panel(), f"{path} not found: simulated a seeded 31 x 11 panel instead"


def kernel_bootstrap(frame: pd.DataFrame, n_draws: int, seed: int, one_thread: bool):
    arguments = (
        frame[OUTCOME].to_numpy(),
        frame[TREATMENT].to_numpy(),
        frame[MEDIATOR].to_numpy(),
        frame[CONTROLS].to_numpy(),
    )
    options = {
        "entity": frame[ENTITY].to_numpy(),
        "time": frame[TIME].to_numpy(),
        "entity_effects": True,
        "time_effects": True,
        "n_draws": n_draws,
        "seed": seed,
    }
    return bootstrap_indirect(*arguments, **options, blas_threads=1 if one_thread else None)


def loop_bootstrap(frame: pd.DataFrame, drawn: np.ndarray) -> np.ndarray:
    """a·b per draw from three PanelOLS fits on each resampled, relabelled panel."""
    entities = np.unique(frame[ENTITY].to_numpy())
    by_entity = {name: part for name, part in frame.groupby(ENTITY, sort=True)}
    indirect = []
    for draw in drawn:
        resample = pd.concat(
            [by_entity[entities[unit]].assign(copy=k) for k, unit in enumerate(draw)],
            ignore_index=True,
        ).set_index(["copy", TIME])

        def fit(dependent: str, regressors: list[str], panel: pd.DataFrame = resample):
            model = PanelOLS(
                panel[dependent], panel[regressors], entity_effects=True, time_effects=True
            )
            return model.fit().params

        fit(OUTCOME, [TREATMENT, *CONTROLS])  # the total effect c, fitted as the loop would
        a = fit(MEDIATOR, [TREATMENT, *CONTROLS])[TREATMENT]
        b = fit(OUTCOME, [TREATMENT, MEDIATOR, *CONTROLS])[MEDIATOR]
        indirect.append(a * b)
    return np.asarray(indirect)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default="out/paper/analysis.csv", type=Path)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--loop-draws", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    frame, source = load_panel(args.csv)
    index = PanelIndex.from_labels(frame[ENTITY].to_numpy(), frame[TIME].to_numpy())
    print(f"panel: {source}")
    print(
        f"  {index.n_entities} entities x {index.n_periods} periods, balanced={index.balanced}; "
        f"3 fits per draw, two-way effects, {len(CONTROLS)} controls"
    )

    kernel_bootstrap(frame, 50, args.seed, one_thread=False)  # warm up imports and caches
    timings: dict[bool, float] = {}
    for one_thread in (False, True):
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = kernel_bootstrap(frame, args.draws, args.seed, one_thread)
            runs.append(time.perf_counter() - start)
        timings[one_thread] = statistics.median(runs)
        label = "BLAS on 1 thread, the default" if one_thread else "BLAS threads as configured"
        print(
            f"kernel, {args.draws} draws ({label}): median {timings[one_thread]:.3f} s "
            f"over {args.repeats} runs (whole step: blocks, draws, solves, CIs)"
        )
    kernel_seconds = timings[True]

    drawn = resample_indices(index.n_entities, args.draws, args.seed)[: args.loop_draws]
    start = time.perf_counter()
    looped = loop_bootstrap(frame, drawn)
    loop_seconds = time.perf_counter() - start
    extrapolated = loop_seconds / args.loop_draws * args.draws
    print(
        f"linearmodels loop: {args.loop_draws} draws in {loop_seconds:.2f} s "
        f"({loop_seconds / args.loop_draws / 3 * 1e3:.1f} ms a fit); "
        f"extrapolated linearly to {args.draws} draws: {extrapolated:.1f} s"
    )
    difference = float(np.max(np.abs(looped - result.indirect[: args.loop_draws])))
    print(f"max |a*b kernel - a*b loop| over the looped draws: {difference:.2e}")
    print(
        f"a*b = {result.estimate:.4f}; percentile CI [{result.ci_low:.4f}, {result.ci_high:.4f}];"
        f" BC CI [{result.bc_ci_low:.4f}, {result.bc_ci_high:.4f}]"
    )
    speed_up = extrapolated / kernel_seconds
    print(f"speed-up: {speed_up:.0f}x the linearmodels loop (target >= 50x)")
    verdict = "meets" if kernel_seconds < 0.5 else "misses"
    print(f"kernel bootstrap step: {kernel_seconds:.3f} s ({verdict} the 0.5 s target)")


if __name__ == "__main__":
    main()
