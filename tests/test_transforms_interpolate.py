"""``interpolate``: linear in time within entity (Stata ``ipolate``), edges kept or nearest."""

from __future__ import annotations

import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.transforms.base import TransformContext
from specrun.transforms.interpolate import InterpolateOptions, apply_interpolate

CTX = TransformContext("e", "t", {})
FRAME = pl.DataFrame(
    {
        "e": ["a", "a", "a", "a", "b", "b", "b"],
        "t": [1, 2, 4, 5, 1, 2, 3],
        "x": [1.0, None, 4.0, None, None, 2.0, 4.0],
    }
)


def test_linear_in_time_and_edges_kept():
    out = apply_interpolate(FRAME.reverse(), InterpolateOptions(vars=["x"]), CTX)
    filled = out.frame.sort("e", "t")["x"].to_list()
    # a: t=2 lies a third of the way from (1, 1.0) to (4, 4.0) → 2.0; t=5 is an edge
    assert filled == [1.0, 2.0, 4.0, None, None, 2.0, 4.0]
    assert out.notes == (
        "x: 3 missing cell(s) interpolated (a 2, a 5, b 1)",
        "x: 2 cell(s) at a series' start or end stay missing",
    )
    assert out.frame["e"].to_list() == FRAME.reverse()["e"].to_list()  # row order kept


def test_nearest_edges():
    out = apply_interpolate(FRAME, InterpolateOptions(vars=["x"], edges="nearest"), CTX)
    assert out.frame["x"].to_list() == [1.0, 2.0, 4.0, 4.0, 2.0, 2.0, 4.0]


def test_all_missing_is_an_error():
    frame = FRAME.with_columns(x=pl.lit(None, dtype=pl.Float64))
    with pytest.raises(SpecError, match="interpolate: 'x' is missing in every row"):
        apply_interpolate(frame, InterpolateOptions(vars=["x"]), CTX)
