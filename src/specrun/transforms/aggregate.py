"""Group sums whose floating-point result does not depend on thread scheduling.

polars sums a group's values in parallel partitions and adds the partial sums in whatever order
the threads finish, so the last bits of a sum can change between runs. Here every row gets an
integer group code and ``np.bincount`` adds each group's values sequentially in row order, which
makes reruns byte-identical, as specrun promises for its outputs. The codes come from integer
keys, not from sorting the rows: each key column is mapped to its rank among its distinct values
(a string column through a polars ``Enum`` of its sorted distinct values, an integer column
through its value range), and the ranks are combined in mixed radix, so a code's order is the
lexicographic order of the keys. The cost is a hash pass per key column and one bincount, close
to polars' own (non-deterministic) group-by; no sort of the rows is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

# Dense bincounts are used while the key space is at most this many times the row count
# (plus a floor for small frames); sparser spaces are compressed with np.unique.
_DENSE_FACTOR, _DENSE_FLOOR = 4, 1 << 16


def key_ranks(column: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Each row's rank (int64, 0-based) among the column's sorted distinct values, and those
    values; a null ranks first, as in polars' default sort. Shapes: (N,) in; (N,) and (D,) out.
    No sort of the rows (only of the distinct values, except for floats and dates)."""
    dtype = column.dtype
    if dtype == pl.String:
        return _text_ranks(column)
    distinct = column.unique().sort()
    if dtype.is_integer() and column.len():
        values = column.cast(pl.Int64)
        low, high = values.min(), values.max()
        if low is not None and high - low < _DENSE_FACTOR * column.len() + _DENSE_FLOOR:
            offset = int(distinct.null_count() > 0)
            present = np.zeros(high - low + 1, dtype=np.int64)
            present[distinct.drop_nulls().cast(pl.Int64).to_numpy() - low] = 1
            rank_of = np.cumsum(present) - 1 + offset
            raw = values.fill_null(low).to_numpy() - low
            ranks = rank_of[raw]
            if offset:
                ranks[values.is_null().to_numpy()] = 0
            return ranks, distinct
    if dtype == pl.Null:
        return np.zeros(column.len(), dtype=np.int64), distinct
    # any other dtype (floats, dates, wide integer ranges): polars' dense rank, a sort
    offset = int(distinct.null_count() > 0)
    ranks = column.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1 + offset
    return ranks, distinct


_RUN_PREFIX = 4096  # rows looked at first, to tell a column in runs from one that is not
_FEW_DISTINCT = 16  # a prefix with at most 1/16 distinct values likely holds them all


def _text_ranks(column: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """:func:`key_ranks` of a text column. A column whose equal values come in runs (a key
    sorted or grouped, as the entity of an export table by entity, year and product) is
    ranked by its runs' first values, each rank repeated over its run: the same ranks, with a
    hash of one value per run instead of two per row (the entity of 4M export rows: 31,000
    provinces in 372,000 runs)."""
    heads, lengths = column, None
    prefix = column.head(_RUN_PREFIX)
    if 2 * _run_starts(prefix).size <= prefix.len():
        starts = _run_starts(column)
        if 2 * starts.size <= column.len():
            heads = column.gather(starts)
            lengths = np.diff(np.append(starts, column.len()))
    # A few distinct values (an export table's products) all show in the first rows: when
    # casting to their Enum succeeds, every value is one of them and they are the distinct
    # values, with no hash pass of their own; otherwise the cast fails and the values are found
    physical = None
    first = heads.head(_RUN_PREFIX)
    guess = first.drop_nulls().unique().sort()
    if guess.len() * _FEW_DISTINCT <= first.len():
        try:
            physical = heads.cast(pl.Enum(guess.to_list())).to_physical()
            nulls = pl.Series(column.name, [None] * (column.null_count() > 0), dtype=pl.String)
            distinct = pl.concat([nulls, guess])
        except pl.exceptions.InvalidOperationError:
            physical = None
    if physical is None:
        distinct = heads.unique().sort()
        physical = heads.cast(pl.Enum(distinct.drop_nulls().to_list())).to_physical()
    ranks = physical.cast(pl.Int64).fill_null(-1).to_numpy() + int(distinct.null_count() > 0)
    return (ranks if lengths is None else np.repeat(ranks, lengths)), distinct


def _run_starts(column: pl.Series) -> np.ndarray:
    """Rows (int64) where a run of equal values (nulls equal to nulls) begins, the first row
    included (a leading null equals the shift's null)."""
    starts = column.ne_missing(column.shift(1)).arg_true().to_numpy().astype(np.int64)
    if column.len() and (starts.size == 0 or starts[0] != 0):
        starts = np.concatenate([np.zeros(1, dtype=np.int64), starts])
    return starts


def group_codes(frame: pl.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, pl.DataFrame]:
    """Each row's group code (int64, 0 … G−1, in the lexicographic order of ``keys``) and the
    G distinct key rows in that order.

    Shapes: codes (N,), groups (G, len(keys)). Null keys form their own group, sorted first.
    """
    n = frame.height
    combined = np.zeros(n, dtype=np.int64)
    distinct: list[pl.Series] = []
    radices: list[int] = []
    for key in keys:
        ranks, values = key_ranks(frame[key])
        radix = max(values.len(), 1)
        combined = combined * radix + ranks
        distinct.append(values)
        radices.append(radix)
    space = int(np.prod(radices, dtype=np.float64))
    if space <= _DENSE_FACTOR * n + _DENSE_FLOOR:
        present = np.bincount(combined, minlength=space) > 0
        used = np.flatnonzero(present)
        code_of = np.cumsum(present) - 1
        codes = code_of[combined]
    else:
        used, codes = np.unique(combined, return_inverse=True)
    columns = []
    remainder = used
    for key, values, radix in zip(
        reversed(keys), reversed(distinct), reversed(radices), strict=True
    ):
        columns.append(values.gather(remainder % radix).alias(key))
        remainder = remainder // radix
    return codes, pl.DataFrame(columns[::-1])


def group_sum(frame: pl.DataFrame, keys: Sequence[str], column: str) -> pl.DataFrame:
    """One row per distinct ``keys`` (sorted by them, nulls first), with the sum of ``column``
    added in row order; a null or NaN in a group makes its sum null.

    Shapes: (N, …) in, (G, len(keys) + 1) out. Sums equal those of a stable sort followed by a
    sequential sum of each run, bit for bit.
    """
    codes, groups = group_codes(frame, keys)
    return sum_by_codes(frame[column], codes, groups)


def sum_by_codes(values: pl.Series, codes: np.ndarray, groups: pl.DataFrame) -> pl.DataFrame:
    """``groups`` (from :func:`group_codes`) with the row-order sum of ``values`` per code,
    named as ``values``; a null or NaN in a group makes its sum null. Shapes: (N,), (N,) in."""
    array = values.cast(pl.Float64).fill_null(np.nan).to_numpy()
    sums = np.bincount(codes, weights=array, minlength=groups.height) if codes.size else []
    return groups.with_columns(pl.Series(values.name, sums, dtype=pl.Float64).fill_nan(None))
