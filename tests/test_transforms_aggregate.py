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


def sorted_run_sums(frame: pl.DataFrame, keys: list[str], column: str) -> pl.DataFrame:
    """The reference: a stable sort by the keys, then each run of equal keys summed in order."""
    ordered = frame.sort(keys, maintain_order=True, nulls_last=False)
    ids = ordered.select(pl.struct(keys).rle_id()).to_series().to_numpy()
    values = ordered[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    sums = np.bincount(ids, weights=values)
    firsts = ordered.select(keys).filter(pl.struct(keys).is_first_distinct())
    return firsts.with_columns(pl.Series(column, sums).fill_nan(None))


def test_integer_codes_give_the_sorted_sums_bit_for_bit():
    # strings (with non-ASCII and spaces), a narrow and a wide integer range, floats, and
    # nulls in every key: each dtype's path of group_codes
    rng = np.random.default_rng(7)
    n = 20_000
    names = np.array([f"p{i}" for i in range(300)] + ["Zé", "a b", ""])
    missing = pl.Series(rng.random(n) < 0.02)
    frame = pl.DataFrame(
        {
            "name": pl.Series(names[rng.integers(0, names.size, n)]).set(missing, None),
            "year": pl.Series(rng.integers(1990, 2030, n)).set(
                missing.shift(1, fill_value=False), None
            ),
            "wide": rng.integers(-25, 25, n) * 10**12,  # 50 values over a range too wide to index
            "real": rng.normal(size=n).round(1),
            "x": rng.normal(size=n) * 1e6,
        }
    )
    for keys in (["name", "year"], ["year", "name"], ["wide"], ["real", "name"], ["year"]):
        ours = group_sum(frame, keys, "x")
        reference = sorted_run_sums(frame, keys, "x")
        assert ours.schema == reference.schema
        assert ours.select(keys).equals(reference.select(keys), null_equal=True)
        # the same additions in the same order: equal bits, not just close values
        assert ours["x"].to_numpy().tobytes() == reference["x"].to_numpy().tobytes()


def test_group_sum_of_an_empty_frame_and_all_null_keys():
    empty = pl.DataFrame(
        {"g": pl.Series([], dtype=pl.String), "x": pl.Series([], dtype=pl.Float64)}
    )
    assert group_sum(empty, ["g"], "x").shape == (0, 2)
    nulls = pl.DataFrame({"g": [None, None], "t": [2, None], "x": [1.0, 2.0]})
    summed = group_sum(nulls, ["g", "t"], "x")
    assert summed.rows() == [(None, None, 2.0), (None, 2, 1.0)]


def test_a_text_key_in_runs_ranks_as_row_by_row():
    """A text column whose values come in runs (an export table's entity) is ranked by its
    runs' first values: the ranks equal polars' dense rank of every row (nulls first), for
    runs with a leading null, repeated runs of one value, a column with no runs (its few
    distinct values guessed from its first rows) and one whose guess misses a later value."""
    from specrun.transforms.aggregate import key_ranks

    rng = np.random.default_rng(5)
    names = np.array(["北京", "Tianjin", "Hebei", "Shanxi", "a b"], dtype=object)
    runs = rng.integers(0, names.size, 3000)
    lengths = rng.integers(1, 9, runs.size)
    grouped = [str(v) for v in np.repeat(names[runs], lengths)]
    cases = {
        "runs": grouped,
        "leading null run": [None] * 7 + grouped + [None] * 3,
        "no runs": [None, *(str(v) for v in names[rng.integers(0, names.size, 10_000)])],
        # a value first seen after the rows that guess the distinct values, and nulls
        "late value": [str(v) for v in names[rng.integers(0, 3, 10_000)]] + ["Zhejiang", None],
    }
    for label, values in cases.items():
        column = pl.Series("k", values, dtype=pl.String)
        ranks, distinct = key_ranks(column)
        offset = int(column.null_count() > 0)
        expected = column.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1 + offset
        assert ranks.dtype == np.int64, label
        assert np.array_equal(ranks, expected), label
        assert distinct.to_list() == column.unique().sort().to_list(), label
