"""``interpolate``: fill missing cells within each entity from its own neighbouring periods.

Linear in time between an entity's nearest observed periods (Stata ``ipolate``); a gap at the
start or end of an entity's series is filled with its nearest observed value only when
``edges: nearest`` (Stata ``ipolate, epolate`` extrapolates linearly instead — not offered, as it
can leave the variable's range). Every filled cell is listed in the run's notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from specrun.errors import SpecError
from specrun.transforms.base import (
    TRANSFORMS,
    TransformContext,
    TransformKind,
    TransformOptions,
    TransformOutput,
)

if TYPE_CHECKING:  # loaded by the step only: validating a spec imports no polars
    import polars as pl


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
    import polars as pl

    # the panel family's checks; imported here so that validating a spec loads the panel module
    # (six option models) only when the spec uses one of its transforms
    from specrun.transforms.panel import require_columns, require_numeric, require_unique_keys

    where = "the panel (interpolate)"
    require_columns(frame, [ctx.entity, ctx.time, *options.vars], where)
    require_numeric(frame, options.vars, where, (ctx.entity, ctx.time))
    require_unique_keys(frame, [ctx.entity, ctx.time], where)
    # A cell is filled from its own entity's series only, so only the entities with a missing
    # cell are sorted and interpolated; their results are written back by row number. The rest
    # of the panel is only cast, never sorted (the same numbers as sorting it all).
    keyed = frame.select(ctx.entity, ctx.time).with_row_index("__row")
    notes = []
    left_missing = []
    columns = []
    for var in options.vars:
        column = frame[var].cast(pl.Float64)
        if column.null_count() == frame.height:
            raise SpecError(f"interpolate: '{var}' is missing in every row", code="data")
        if column.null_count() == 0:
            columns.append(column)
            continue
        gaps = keyed.filter(column.is_null())
        order = (
            keyed.with_columns(column)
            .filter(pl.col(ctx.entity).is_in(gaps[ctx.entity].unique().implode(), nulls_equal=True))
            .sort(ctx.entity, ctx.time)
        )
        # interpolate_by fills between observed periods of an entity, weighting by time
        filled = pl.col(var).interpolate_by(ctx.time).over(ctx.entity)
        if options.edges == "nearest":
            filled = filled.forward_fill().backward_fill().over(ctx.entity)
        order = order.with_columns(filled.alias("__filled"))
        missing = order.filter(pl.col(var).is_null())
        cells = ", ".join(f"{r[ctx.entity]} {r[ctx.time]}" for r in missing.iter_rows(named=True))
        notes.append(f"{var}: {missing.height} missing cell(s) interpolated ({cells})")
        left_missing.append((var, order["__filled"].null_count()))
        columns.append(column.scatter(order["__row"], order["__filled"]))
    for var, left in left_missing:
        if left and options.edges == "keep":
            notes.append(f"{var}: {left} cell(s) at a series' start or end stay missing")
    return TransformOutput(frame.with_columns(columns), notes=tuple(notes))


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
