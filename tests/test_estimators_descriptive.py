"""Descriptive statistics and the two quantile definitions against R, on real data.

Data: ``data/grunfeld.csv`` (R plm's Grunfeld: 10 firms × 1935–1954, 200 rows). Peer: R 4.2.2
(base ``stats``), run once, printed with ``format(…, digits = 17)``:

    g <- read.csv("data/grunfeld.csv"); x <- g[[v]]
    mean(x); sd(x); median(x)
    quantile(x, c(0.1, 0.25, 0.75, 0.9), type = 2)   # Stata's summarize, detail and _pctile
    quantile(x, c(0.1, 0.25, 0.75, 0.9), type = 7)   # R's default

With N = 200, p = 0.25 and 0.75 give whole-number N·p (50, 150), where type 2 averages two
order statistics, and p = 0.1 and 0.9 the same (20, 180): each checks the averaging rule; type 7
interpolates at (N − 1)·p and so differs at every p. The same R type-2 and type-7 numbers are
the bounds ``winsorize`` clips at under ``quantile: stata`` and ``quantile: linear``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.descriptive import DescriptiveSpec, fit_descriptive
from specrun.transforms.base import TransformContext
from specrun.transforms.options.winsorize import WinsorizeOptions
from specrun.transforms.winsorize import apply_winsorize

DATA = Path(__file__).resolve().parents[1] / "data" / "grunfeld.csv"
PROBABILITIES = [0.1, 0.25, 0.75, 0.9]
# variable: (mean, sd, median)
R_MOMENTS = {
    "inv": (145.95824999999999, 216.8752962303742, 57.484999999999999),
    "value": (1081.6811, 1314.4696949869117, 517.95000000000005),
    "capital": (276.01715000000002, 301.10390712477732, 205.59999999999999),
}
R_QUANTILES = {
    "stata": {  # type = 2
        "inv": [9.73, 33.405, 140.36, 460.25],
        "value": [93.02, 199.85, 1682.3, 2797.75],
        "capital": [8.07, 77.85, 358.4, 627.5],
    },
    "linear": {  # type = 7
        "inv": [12.290000000000013, 33.557499999999997, 138.03999999999999, 459.49000000000001],
        "value": [97.084000000000017, 199.97499999999999, 1679.8500000000001, 2793.3099999999999],
        "capital": [8.6060000000000034, 79.174999999999997, 358.10000000000002, 624.37999999999988],
    },
}


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    return pl.read_csv(DATA)


@pytest.mark.parametrize("quantile", ["stata", "linear"])
def test_moments_and_quantiles_match_r(grunfeld: pl.DataFrame, quantile: str) -> None:
    spec = DescriptiveSpec(
        estimator="descriptive",
        vars=["inv", "value", "capital"],
        quantiles=PROBABILITIES,
        quantile=quantile,
    )
    result = fit_descriptive(grunfeld, spec, FitContext("d", "firm", "year"))[""]
    assert result.extra["quantile"] == quantile
    for name, (mean, sd, median) in R_MOMENTS.items():
        row = result.extra["variables"][name]
        assert row["nobs"] == 200
        assert row["mean"] == pytest.approx(mean, rel=1e-14)
        assert row["sd"] == pytest.approx(sd, rel=1e-14)
        assert row["median"] == pytest.approx(median, rel=1e-14)
        got = [row[f"p{round(p * 100)}"] for p in PROBABILITIES]
        assert got == pytest.approx(R_QUANTILES[quantile][name], rel=1e-14), name


def test_stata_is_the_default_quantile(grunfeld: pl.DataFrame) -> None:
    spec = DescriptiveSpec(estimator="descriptive", vars=["inv"], quantiles=[0.25])
    result = fit_descriptive(grunfeld, spec, FitContext("d", "firm", "year"))[""]
    assert result.extra["quantile"] == "stata"
    assert result.extra["variables"]["inv"]["p25"] == pytest.approx(33.405, rel=1e-14)


@pytest.mark.parametrize("quantile", ["stata", "linear"])
def test_winsorize_clips_at_rs_quantiles(grunfeld: pl.DataFrame, quantile: str) -> None:
    options = WinsorizeOptions(vars=["inv"], limits=(0.1, 0.9), quantile=quantile)
    out = apply_winsorize(grunfeld, options, TransformContext("firm", "year", {})).frame["inv"]
    low, high = R_QUANTILES[quantile]["inv"][0], R_QUANTILES[quantile]["inv"][3]
    assert out.min() == pytest.approx(low, rel=1e-14)
    assert out.max() == pytest.approx(high, rel=1e-14)
