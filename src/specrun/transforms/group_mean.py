"""``group_mean``: each row's group mean of a variable, as Stata's ``bysort g: egen m =
mean(x)``, or the mean over the group's other rows (``leave_out: true``).

With S_g the sum and n_g the count of the non-missing values of group g, a row i of g gets
S_g / n_g; leaving its own value out, (S_g − x_i) / (n_g − 1) when x_i is present and S_g / n_g
when it is missing (its group's other rows are then all the values there are), missing when no
other row has a value. Missing values are left out of sums and counts, as ``egen mean()`` does.
Sums are added in row order by ``np.bincount`` (``transforms.aggregate``), so reruns give the
same bits. Checked against a plain-Python loop over the rows in
``tests/test_transforms_group_mean.py``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.transforms.aggregate import group_codes
from specrun.transforms.base import TransformContext, TransformOutput
from specrun.transforms.options.group_mean import GroupMeanOptions
from specrun.transforms.panel import require_columns, require_numeric


def apply_group_mean(
    frame: pl.DataFrame, options: GroupMeanOptions, ctx: TransformContext
) -> TransformOutput:
    """Add one column per variable (``options.output_name``): its group's mean at every row.

    Raises ``SpecError`` (code ``data``) for a missing or non-numeric column, or a row whose
    group key is missing (a blank industry is not a group of its own)."""
    where = "the panel (group_mean)"
    require_columns(frame, [*options.vars, *options.by], where)
    require_numeric(frame, options.vars, where, (ctx.entity, ctx.time))
    for key in options.by:
        blank = frame.filter(pl.col(key).is_null())
        if blank.height:
            place = ", ".join(
                f"{k}={blank[k][0]}" for k in (ctx.entity, ctx.time) if k and k in blank.columns
            )
            raise SpecError(
                f"group_mean: '{key}' is missing in {blank.height} rows"
                + (f" (first: {place})" if place else ""),
                code="data",
                hint="leave those rows out with a where: step before it, or fill the column",
            )
    codes, groups = group_codes(frame, options.by)
    columns = []
    notes = []
    for var in options.vars:
        values = frame[var].cast(pl.Float64).fill_null(np.nan).to_numpy()
        present = ~np.isnan(values)
        sums = np.bincount(codes, weights=np.where(present, values, 0.0), minlength=groups.height)
        counts = np.bincount(codes, weights=present.astype(np.float64), minlength=groups.height)
        total, n = sums[codes], counts[codes]
        if options.leave_out:  # a missing x_i takes nothing from its group's sum and count
            own = np.where(present, values, 0.0)
            others = n - present
            with np.errstate(invalid="ignore", divide="ignore"):
                result = np.where(others > 0, (total - own) / np.maximum(others, 1), np.nan)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                result = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        name = options.output_name(var)
        columns.append(pl.Series(name, result, dtype=pl.Float64).fill_nan(None))
        empty = int(np.isnan(result).sum())
        if empty:
            notes.append(
                f"{name}: {empty} rows have no "
                + ("other " if options.leave_out else "")
                + f"value of '{var}' in their group and are null"
            )
    return TransformOutput(frame.with_columns(columns), notes=tuple(notes))
