"""``interpolate``: fill missing cells within each entity from its own neighbouring periods.

Linear in time between an entity's nearest observed periods (Stata ``ipolate``); a gap at the
start or end of an entity's series is filled with its nearest observed value only when
``edges: nearest`` (Stata ``ipolate, epolate`` extrapolates linearly instead — not offered, as it
can leave the variable's range). Every filled cell is listed in the run's notes.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field

from specrun.errors import SpecError
from specrun.transforms.base import (
    TRANSFORMS,
    TransformContext,
    TransformKind,
    TransformOptions,
    TransformOutput,
)
from specrun.transforms.panel import require_columns, require_numeric, require_unique_keys


class InterpolateOptions(TransformOptions):
    """Options of ``interpolate``: fill gaps of each entity's series linearly in time."""

    vars: list[str] = Field(min_length=1, description="Columns whose missing cells are filled.")
    edges: Literal["keep", "nearest"] = Field(
        "keep",
        description="Missing first/last periods of an entity: left missing, or the nearest value.",
    )


def apply_interpolate(
    frame: pl.DataFrame, options: InterpolateOptions, ctx: TransformContext
) -> TransformOutput:
    where = "the panel (interpolate)"
    require_columns(frame, [ctx.entity, ctx.time, *options.vars], where)
    require_numeric(frame, options.vars, where)
    require_unique_keys(frame, [ctx.entity, ctx.time], where)
    order = frame.with_row_index("__row").sort(ctx.entity, ctx.time)
    notes = []
    filled_exprs = []
    for var in options.vars:
        if order[var].null_count() == order.height:
            raise SpecError(f"interpolate: '{var}' is missing in every row", code="data")
        column = pl.col(var).cast(pl.Float64)
        # interpolate_by fills between observed periods of an entity, weighting by time
        filled = column.interpolate_by(ctx.time).over(ctx.entity)
        if options.edges == "nearest":
            filled = filled.forward_fill().backward_fill().over(ctx.entity)
        filled_exprs.append(filled.alias(var))
        missing = order.filter(pl.col(var).is_null())
        if missing.height:
            cells = ", ".join(
                f"{r[ctx.entity]} {r[ctx.time]}" for r in missing.iter_rows(named=True)
            )
            notes.append(f"{var}: {missing.height} missing cell(s) interpolated ({cells})")
    result = order.with_columns(filled_exprs)
    for var in options.vars:
        left = result.filter(pl.col(var).is_null())
        if left.height and options.edges == "keep":
            notes.append(f"{var}: {left.height} cell(s) at a series' start or end stay missing")
    return TransformOutput(result.sort("__row").drop("__row"), notes=tuple(notes))


TRANSFORMS.register("interpolate")(
    TransformKind(
        "interpolate",
        InterpolateOptions,
        apply_interpolate,
        lambda o: list(o.vars),
        lambda o: list(o.vars),
        needs_panel=True,
    )
)
