"""``interpolate`` against pandas on a real unbalanced panel with uneven gaps.

Data: ``data/emplUK.csv`` (R plm's EmplUK, Arellano and Bond 1991: 140 UK firms, 1976–1984,
unbalanced), with every seventh ``emp`` cell blanked and the 1980 rows of every fifth firm
removed, so that some gaps span two years and some fall at a firm's first or last year.

Peer: pandas (the installed version, computed in the test), firm by firm on ``emp`` indexed by
year: ``s.interpolate(method="index", limit_area="inside")`` — linear in the year between the
nearest observed years, nothing at the ends, which is Stata's ``ipolate emp year, by(firm)`` —
and, for ``edges: nearest``, that followed by ``.ffill().bfill()``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from specrun.transforms.base import TransformContext
from specrun.transforms.interpolate import InterpolateOptions, apply_interpolate

DATA = Path(__file__).resolve().parents[1] / "data" / "emplUK.csv"


@pytest.fixture(scope="module")
def holed() -> pl.DataFrame:
    frame = pl.read_csv(DATA).with_row_index("row")
    frame = frame.filter(~((pl.col("firm") % 5 == 0) & (pl.col("year") == 1980)))
    return frame.with_columns(
        emp=pl.when(pl.col("row") % 7 == 3).then(None).otherwise(pl.col("emp"))
    ).drop("row")


def _pandas(frame: pl.DataFrame, edges: str) -> np.ndarray:
    out = []
    for _, part in frame.to_pandas().sort_values(["firm", "year"]).groupby("firm", sort=True):
        s = pd.Series(part["emp"].to_numpy(), index=part["year"].to_numpy(), dtype=float)
        s = s.interpolate(method="index", limit_area="inside")
        if edges == "nearest":
            s = s.ffill().bfill()
        out.append(s.to_numpy())
    return np.concatenate(out)


@pytest.mark.parametrize("edges", ["keep", "nearest"])
def test_interpolation_matches_pandas(holed: pl.DataFrame, edges: str) -> None:
    assert holed["emp"].null_count() > 100
    out = apply_interpolate(
        holed, InterpolateOptions(vars=["emp"], edges=edges), TransformContext("firm", "year", {})
    ).frame.sort("firm", "year")
    got = out["emp"].to_numpy().astype(float)
    expected = _pandas(holed, edges)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    if edges == "keep":
        assert np.isnan(got).any()  # a firm's first or last year blanked stays missing
