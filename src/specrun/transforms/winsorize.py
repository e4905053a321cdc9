"""``winsorize``: clip variables at given lower and upper quantiles, over all rows or within groups.

Each value below the lower quantile q_lo becomes q_lo and each above q_hi becomes q_hi (Dixon
1960's winsorizing); nulls stay null and do not count towards the quantiles. Quantiles follow one
of two definitions, both numpy's (``numpy.quantile(..., method=...)``, Hyndman and Fan 1996):

- ``quantile: stata`` (default): numpy ``averaged_inverted_cdf`` (Hyndman-Fan type 2), the
  definition of Stata's ``_pctile``/``summarize, detail`` and so of ``winsor2``: with h = n·p,
  the mean of the h-th and (h+1)-th order statistics when h is an integer, else the ⌈h⌉-th;
- ``quantile: linear``: numpy's default ``linear`` (type 7, R's default), interpolating between
  order statistics at h = (n - 1)·p.

Checked by ``tests/test_transforms_basic.py`` against ``numpy.quantile`` with both methods,
pooled and by year. The notes report how many values were clipped at each end.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.spec.models import QUANTILE_METHODS
from specrun.transforms.base import (
    TransformContext,
    TransformOutput,
)
from specrun.transforms.options.winsorize import WinsorizeOptions, winsorized_name
from specrun.transforms.panel import require_columns, require_numeric


def group_quantile_bounds(
    values: np.ndarray, groups: np.ndarray, limits: tuple[float, float], method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row lower and upper bounds: each group's quantiles, ignoring NaN (= null) values."""
    low = np.full(values.shape, np.nan)
    high = np.full(values.shape, np.nan)
    for code in np.unique(groups):
        members = groups == code
        present = values[members]
        present = present[~np.isnan(present)]
        if present.size == 0:
            continue
        q_low, q_high = np.quantile(present, limits, method=method)
        low[members], high[members] = q_low, q_high
    return low, high


def apply_winsorize(
    frame: pl.DataFrame, options: WinsorizeOptions, ctx: TransformContext
) -> TransformOutput:
    """Clip each variable at its (group's) quantiles; nulls stay null."""
    where = "the panel (winsorize)"
    require_columns(frame, [*options.vars, *([options.by] if options.by else [])], where)
    require_numeric(frame, options.vars, where, (ctx.entity, ctx.time))
    if options.by is None:
        groups = np.zeros(frame.height, dtype=np.int64)
    else:
        if frame[options.by].null_count():
            raise SpecError(
                f"winsorize: the grouping column '{options.by}' has "
                f"{frame[options.by].null_count()} null values",
                code="data",
            )
        groups = frame[options.by].rank("dense").to_numpy()
    method = QUANTILE_METHODS[options.quantile]
    notes: list[str] = []
    columns: list[pl.Series] = []
    for var in options.vars:
        values = frame[var].cast(pl.Float64).fill_nan(None).to_numpy()
        low, high = group_quantile_bounds(values, groups, options.limits, method)
        present = ~np.isnan(values)
        below = int((values[present] < low[present]).sum())
        above = int((values[present] > high[present]).sum())
        clipped = np.where(present, np.clip(values, low, high), np.nan)
        series = pl.Series(winsorized_name(options, var), clipped).fill_nan(None)
        columns.append(series)
        notes.append(
            f"{winsorized_name(options, var)}: {below} values raised to the "
            f"{options.limits[0]:g} quantile and {above} lowered to the {options.limits[1]:g} "
            f"quantile" + (f" within {options.by}" if options.by else "")
        )
    return TransformOutput(frame.with_columns(columns), notes=tuple(notes))
