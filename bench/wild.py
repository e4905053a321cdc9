"""Benchmark: the wild cluster bootstrap kernel against the ``wildboottest`` package and a plain
numpy refit of every bootstrap sample (the same WCR11 algorithm without the G × G reduction).

Data are simulated (seeded): N rows in G clusters, K regressors with a constant, a cluster
random effect in the errors. Each contender computes the symmetric p-value of H₀: β₁ = 0 from
the same Webb weights (``default_rng(seed)``, drawn as ``wildboottest`` draws them), so the
three p-values must agree exactly; the script checks that. Times are medians of ``--repeats``
runs after one untimed warm-up, with min–max.

    python bench/wild.py [--rows 20000] [--clusters 12] [--k 6] [--draws 9999] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from specrun.kernels.wild import wild_cluster_bootstrap, wild_weights
from specrun.kernels.within import group_sums


def simulate(rows: int, clusters: int, k: int, seed: int = 20190101):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, clusters, size=rows)
    x = np.column_stack([np.ones(rows), rng.normal(size=(rows, k - 1))])
    beta = np.concatenate([[1.0, 0.02], np.full(k - 2, 0.5)])
    y = x @ beta + rng.normal(size=clusters)[codes] + rng.normal(size=rows)
    return x, y, codes


def naive_p(x, y, codes, coef: int, draws: int, seed: int, chunk: int = 250) -> float:
    """Refit every bootstrap sample: y* = Xβ̃ + ũ∘v, β̂* = (X′X)⁻¹X′y*, CRV1 t*."""
    n, k = x.shape
    g = int(codes.max()) + 1
    inv = np.linalg.inv(x.T @ x)
    factor = g / (g - 1) * (n - 1) / (n - k)
    beta = inv @ x.T @ y
    resid = y - x @ beta
    se = np.sqrt(factor * np.sum((group_sums(x * resid[:, None], codes, g) @ inv[coef]) ** 2))
    t = abs(beta[coef] / se)
    others = np.delete(x, coef, axis=1)
    restricted = others @ np.linalg.lstsq(others, y, rcond=None)[0]
    u = y - restricted
    v, _ = wild_weights(g, draws, "webb", seed)
    exceed = 0
    for start in range(0, draws, chunk):
        block = v[:, start : start + chunk]
        y_star = restricted[:, None] + u[:, None] * block[codes]
        b_star = inv @ (x.T @ y_star)
        r_star = y_star - x @ b_star
        # per draw, cluster sums of x_i·r_i projected on row `coef` of (X′X)⁻¹
        weighted = (x @ inv[coef])[:, None] * r_star
        scores = np.stack([np.bincount(codes, weights=w, minlength=g) for w in weighted.T])
        t_star = b_star[coef] / np.sqrt(factor * (scores**2).sum(axis=1))
        exceed += int(np.sum(np.abs(t_star) >= t * (1 - 1e-9)))
    return exceed / draws


def peer_p(x, y, codes, coef: int, draws: int, seed: int) -> float:
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest

    names = [f"x{j}" for j in range(x.shape[1])]
    import pandas as pd

    frame = pd.DataFrame(x, columns=names)
    model = sm.OLS(y, frame)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # and its printed table
        out = wildboottest(
            model, param=names[coef], cluster=codes, B=draws, weights_type="webb", seed=seed
        )
    return float(out["p-value"].iloc[0])


def timed(fn: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    value = fn()  # untimed warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return value, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--clusters", type=int, default=12)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--draws", type=int, default=9999)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    x, y, codes = simulate(args.rows, args.clusters, args.k)
    seed, draws = args.seed, args.draws
    contenders: dict[str, Callable[[], float]] = {
        "specrun kernel (p-value)": lambda: (
            wild_cluster_bootstrap(
                x, y, codes, 1, draws=draws, weights="webb", seed=seed, level=None
            ).p_value
        ),
        "specrun kernel (p-value + 95% CI)": lambda: (
            wild_cluster_bootstrap(x, y, codes, 1, draws=draws, weights="webb", seed=seed).p_value
        ),
        "wildboottest 0.3 (peer)": lambda: peer_p(x, y, codes, 1, draws, seed),
        "plain numpy refit per draw": lambda: naive_p(x, y, codes, 1, draws, seed),
    }
    print(
        f"N = {args.rows}, G = {args.clusters}, K = {args.k}, B = {draws} Webb draws, "
        f"{args.repeats} repeats after a warm-up"
    )
    results = {}
    for name, fn in contenders.items():
        value, times = timed(fn, args.repeats)
        results[name] = (value, statistics.median(times))
        print(
            f"{name:36s} p = {value:.6f}  median {statistics.median(times):8.4f} s  "
            f"(min {min(times):.4f}, max {max(times):.4f})"
        )
    values = {round(v, 12) for v, _ in results.values()}
    print("p-values agree" if len(values) == 1 else f"p-values DIFFER: {sorted(values)}")
    base = results["specrun kernel (p-value)"][1]
    for name, (_, median) in results.items():
        print(f"{name:36s} {median / base:8.1f} × the kernel's p-value time")


if __name__ == "__main__":
    main()
