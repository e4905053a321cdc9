"""Group sums whose floating-point result does not depend on thread scheduling.

polars sums a group's values in parallel partitions and adds the partial sums in whatever order
the threads finish, so the last bits of a sum can change between runs. Sorting by the keys and
summing each run of equal keys in row order (``np.bincount`` adds sequentially) makes reruns
byte-identical, which specrun promises for its outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def group_sum(frame: pl.DataFrame, keys: Sequence[str], column: str) -> pl.DataFrame:
    """One row per distinct ``keys`` (sorted), with the sum of ``column``; a null or NaN in a
    group makes its sum null."""
    ordered = frame.sort(list(keys), maintain_order=True)
    ids = ordered.select(pl.struct(list(keys)).rle_id()).to_series().to_numpy()
    values = ordered[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    sums = np.bincount(ids, weights=values) if ids.size else np.zeros(0)
    firsts = ordered.select(list(keys)).filter(pl.struct(list(keys)).is_first_distinct())
    return firsts.with_columns(pl.Series(column, sums).fill_nan(None))
