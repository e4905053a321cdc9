"""Deterministic group sums: equal to a plain sum, nulls propagate, order of rows is irrelevant."""

from __future__ import annotations

import numpy as np
import polars as pl

from specrun.transforms.aggregate import group_sum


def test_group_sum_equals_polars_sum_in_any_row_order():
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"g": rng.integers(0, 5, 2000), "x": rng.normal(size=2000) * 1e6})
    first = group_sum(frame, ["g"], "x")
    shuffled = group_sum(frame.sample(fraction=1.0, shuffle=True, seed=3), ["g"], "x")
    assert first["g"].to_list() == [0, 1, 2, 3, 4]
    expected = frame.group_by("g").agg(pl.col("x").sum()).sort("g")["x"].to_numpy()
    np.testing.assert_allclose(first["x"].to_numpy(), expected, rtol=1e-12)
    # the same multiset of values in another row order sums to within rounding
    np.testing.assert_allclose(shuffled["x"].to_numpy(), expected, rtol=1e-12)


def test_null_makes_the_group_sum_null():
    frame = pl.DataFrame({"g": ["a", "a", "b"], "x": [1.0, None, 2.0]})
    assert group_sum(frame, ["g"], "x")["x"].to_list() == [None, 2.0]
