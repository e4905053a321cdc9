"""Benchmark: the ``sophistication`` transform (PRODY/EXPY) against polars' own group-by floor
and a plain-numpy implementation of the same formula, on the paper's data made larger.

The data come from ``data/generate.py --size K`` (31·K provinces × 11 years × 12 categories of
exports; K = 1000 gives 4,092,000 export rows). Three contenders compute EXPY with the paper's
options (real income at 2012 prices through the CPI, scale 0.0001), each timed in full
``--repeats`` times (median, min–max), interleaved:

  specrun       ``apply_sophistication``: every check, notes, and byte-identical sums;
  polars floor  the same formula as bare polars group-bys and joins, no checks, sums in
                polars' thread order (not byte-identical between runs): the floor to approach;
  numpy         integer codes from ``np.unique`` and ``np.bincount`` sums, no checks.

    python bench/sophistication.py [--size 1000] [--repeats 5] [--data DIR]

DIR holds province_panel.csv and province_exports.csv (default: generated into a temporary
folder). The three EXPY columns are compared.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from specrun.transforms.base import TransformContext
from specrun.transforms.sophistication import SophisticationOptions, apply_sophistication
from timing import interleaved

ROOT = Path(__file__).resolve().parents[1]
E, T, P, X, Y, CPI = "province", "year", "category", "export_value", "gdp_pc", "cpi"
OPTIONS = SophisticationOptions(
    source="exports",
    product=P,
    value=X,
    income=Y,
    deflator=CPI,
    base_year=2012,
    scale=0.0001,
    output="Expy",
)


def generate(size: int, folder: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "data" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(folder, size=size)


def with_real_income(panel: pl.DataFrame) -> pl.DataFrame:
    base = panel.filter(pl.col(T) == 2012).select(E, pl.col(CPI).alias("base"))
    return panel.join(base, on=E).select(E, T, (pl.col(Y) * pl.col("base") / pl.col(CPI)).alias(Y))


def polars_floor(panel: pl.DataFrame, exports: pl.DataFrame) -> pl.DataFrame:
    income = with_real_income(panel)
    x = exports.group_by(E, T, P).agg(pl.col(X).sum())
    x = x.with_columns((pl.col(X) / pl.col(X).sum().over(E, T)).alias("s")).filter(pl.col("s") > 0)
    x = x.join(income, on=[E, T])
    x = x.with_columns((pl.col("s") / pl.col("s").sum().over(T, P) * pl.col(Y)).alias("w"))
    prody = x.group_by(T, P).agg((pl.col("w").sum() * OPTIONS.scale).alias("prody"))
    expy = (
        x.join(prody, on=[T, P])
        .group_by(E, T)
        .agg((pl.col("s") * pl.col("prody")).sum().alias("Expy"))
    )
    return panel.select(E, T).join(expy, on=[E, T], how="left", maintain_order="left")


def numpy_version(panel: pl.DataFrame, exports: pl.DataFrame) -> np.ndarray:
    income = with_real_income(panel)
    names = np.unique(np.concatenate([panel[E].to_numpy(), exports[E].to_numpy()]))
    years = np.unique(panel[T].to_numpy())
    e = np.searchsorted(names, exports[E].to_numpy())
    t = np.searchsorted(years, exports[T].to_numpy())
    _, p = np.unique(exports[P].to_numpy(), return_inverse=True)
    n_e, n_t, n_p = names.size, years.size, p.max() + 1
    cell = (e * n_t + t) * n_p + p
    x = np.bincount(cell, weights=exports[X].to_numpy(), minlength=n_e * n_t * n_p)
    x = x.reshape(n_e, n_t, n_p)
    s = x / x.sum(axis=2, keepdims=True)
    y = np.full((n_e, n_t), np.nan)
    y[
        np.searchsorted(names, income[E].to_numpy()), np.searchsorted(years, income[T].to_numpy())
    ] = income[Y].to_numpy()
    rca = s / s.sum(axis=0, keepdims=True)
    prody = np.einsum("etp,et->tp", rca, y) * OPTIONS.scale
    expy = np.einsum("etp,tp->et", s, prody)
    rows = np.searchsorted(names, panel[E].to_numpy()), np.searchsorted(years, panel[T].to_numpy())
    return expy[rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    folder = args.data or Path(tempfile.mkdtemp(prefix="specrun-bench-sophistication-"))
    if not (folder / "province_exports.csv").exists():
        generate(args.size, folder)
    panel = pl.read_csv(folder / "province_panel.csv", infer_schema_length=10_000)
    exports = pl.read_csv(folder / "province_exports.csv", infer_schema_length=10_000)
    ctx = TransformContext(E, T, {"exports": exports})
    out: dict[str, np.ndarray] = {}

    def ours() -> None:
        out["specrun"] = apply_sophistication(panel, OPTIONS, ctx).frame["Expy"].to_numpy()

    def floor() -> None:
        out["polars floor"] = polars_floor(panel, exports)["Expy"].to_numpy()

    def plain() -> None:
        out["numpy"] = numpy_version(panel, exports)

    print(
        f"{panel.height:,} panel rows, {exports.height:,} export rows; median of "
        f"{args.repeats} interleaved runs (min–max); {pl.thread_pool_size()} polars threads"
    )
    timings = interleaved({"specrun": ours, "polars floor": floor, "numpy": plain}, args.repeats)
    base = timings["polars floor"].median
    for name, timing in timings.items():
        gap = float(np.nanmax(np.abs(out[name] - out["specrun"]) / np.abs(out["specrun"])))
        print(
            f"  {name:13s} {timing!s:34s} {timing.median / base:5.2f}x the polars floor"
            f"   max relative gap to specrun {gap:.1e}"
        )
    print("one run on a machine shared with other work; ratios are ratios of medians")


if __name__ == "__main__":
    main()
