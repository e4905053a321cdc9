"""Benchmark: vectorized entity-bootstrap mediation against a plain-numpy loop of the same refits
and a loop of linearmodels PanelOLS fits.

Each bootstrap draw resamples whole provinces (each drawn copy keeps its own fixed effect) and
fits the three Baron–Kenny equations Expy ~ Dige, STR ~ Dige and Expy ~ Dige + STR, each with
two-way effects and five controls. Three contenders do the same draws (the same resampled
provinces), each timed in full the same number of times (median of ``--repeats``, min–max):

  kernel        ``specrun.kernels.mediation.bootstrap_indirect``: all draws at once from
                per-province cross-product blocks (one BLAS thread);
  numpy loop    per draw: gather the resampled panel, two-way demean it (balanced panel: minus
                unit and period means, plus the grand mean), one ``np.linalg.lstsq`` per
                equation — the plain-numpy way to write the same refits;
  linearmodels  per draw: three ``PanelOLS(..., entity_effects=True, time_effects=True)`` fits.

The indirect effects of both loops are compared with the kernel's.

    python bench/mediation.py [PANEL] [--draws 1000] [--repeats 5] [--seed 1]

PANEL defaults to ``out/paper/analysis.parquet`` (written by ``specrun run specs/paper.yaml``);
when it is absent a seeded 31 × 11 panel with the same columns is simulated.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from linearmodels import PanelOLS
from threadpoolctl import threadpool_limits

from specrun.kernels.mediation import bootstrap_indirect
from specrun.kernels.within import PanelIndex, resample_indices
from timing import measure, print_against_kernel

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
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
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


def numpy_bootstrap(frame: pd.DataFrame, drawn: np.ndarray) -> np.ndarray:
    """a·b per draw from plain numpy: gather, two-way demean, three lstsq solves."""
    frame = frame.sort_values([ENTITY, TIME])
    n_entities, n_periods = frame[ENTITY].nunique(), frame[TIME].nunique()
    if frame.shape[0] != n_entities * n_periods:
        raise SystemExit("the numpy loop assumes a balanced panel")
    columns = [OUTCOME, MEDIATOR, TREATMENT, *CONTROLS]
    cube = frame[columns].to_numpy().reshape(n_entities, n_periods, len(columns))
    indirect = np.empty(len(drawn))
    for d, draw in enumerate(drawn):
        panel = cube[draw]
        swept = (
            panel
            - panel.mean(axis=1, keepdims=True)
            - panel.mean(axis=0, keepdims=True)
            + panel.mean(axis=(0, 1), keepdims=True)
        ).reshape(-1, len(columns))
        y, m, x = swept[:, 0], swept[:, 1], swept[:, 2:]
        np.linalg.lstsq(x, y, rcond=None)  # the total effect c, fitted as the loop would
        a = np.linalg.lstsq(x, m, rcond=None)[0][0]
        b = np.linalg.lstsq(np.column_stack([x, m]), y, rcond=None)[0][-1]
        indirect[d] = a * b
    return indirect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("panel", nargs="?", default="out/paper/analysis.parquet", type=Path)
    parser.add_argument("--draws", type=int, default=1000, help="draws for kernel and numpy")
    parser.add_argument(
        "--peer-draws", type=int, default=20, help="draws for all three (linearmodels is slow)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    frame, source = load_panel(args.panel)
    index = PanelIndex.from_labels(frame[ENTITY].to_numpy(), frame[TIME].to_numpy())
    print(f"panel: {source}")
    print(
        f"  {index.n_entities} entities x {index.n_periods} periods, balanced={index.balanced}; "
        f"3 fits per draw, two-way effects, {len(CONTROLS)} controls; every figure is the "
        f"median of {args.repeats} full runs (min–max), one BLAS thread throughout"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        for draws, with_peer in ((args.peer_draws, True), (args.draws, False)):
            drawn = resample_indices(index.n_entities, draws, args.seed)
            out: dict[str, np.ndarray] = {}

            def kernel(draws: int = draws, out: dict = out) -> None:
                out["kernel"] = kernel_bootstrap(frame, draws, args.seed, True).indirect

            def numpy_loop(drawn: np.ndarray = drawn, out: dict = out) -> None:
                out["numpy loop"] = numpy_bootstrap(frame, drawn)

            def peer(drawn: np.ndarray = drawn, out: dict = out) -> None:
                out["linearmodels loop"] = loop_bootstrap(frame, drawn)

            timings = {
                "kernel": measure(kernel, args.repeats),
                "numpy loop": measure(numpy_loop, args.repeats),
            }
            if with_peer:
                loop_bootstrap(frame, drawn[:2])  # linearmodels' imports, outside the timing
                timings["linearmodels loop"] = measure(peer, args.repeats, warmup=0)
            print(f"\n{draws} draws")
            print_against_kernel(timings, out, "a*b", 18)
    result = kernel_bootstrap(frame, args.draws, args.seed, True)
    print(
        f"\na*b = {result.estimate:.4f}; percentile CI [{result.ci_low:.4f}, {result.ci_high:.4f}];"
        f" BC CI [{result.bc_ci_low:.4f}, {result.bc_ci_high:.4f}]"
    )
    print("one run on a machine shared with other work; ratios are ratios of medians")


if __name__ == "__main__":
    main()
