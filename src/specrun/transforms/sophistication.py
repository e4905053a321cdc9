"""``sophistication``: product sophistication PRODY and export sophistication EXPY from long
entity × time × product export data (Hausmann, Hwang and Rodrik 2007).

Method (Hausmann, Hwang and Rodrik 2007, J. Econ. Growth 12:1-25, their PRODY and EXPY; applied to
Chinese provinces by Yao and Zhang 2008). With x_ijt the exports of product j by entity i in
year t, X_it = Σ_j x_ijt and Y_it income per capita:

    s_ijt   = x_ijt / X_it
    PRODY_jt = Σ_i [ s_ijt / Σ_k s_kjt ] · Y_it
    EXPY_it  = Σ_j s_ijt · PRODY_jt

The weight s_ijt / Σ_k s_kjt is Balassa's revealed comparative advantage normalised to sum to one
over exporters. Checked by ``tests/test_transforms_sophistication.py`` against the ``econcomplex``
package 1.0.1 on ``reference/prody`` (equal to ecomplexity 0.5.3's RCA plugged into the formula).

Options that change the inputs, in the order they act:

- ``va_share`` (a column of the export source): x_ijt is replaced by x_ijt · va_ijt, the domestic
  value added in exports; the share must lie in [0, 1].
- ``deflator`` (a panel column, a price *level* index such as CPI with 2012 = 100): real income
  is Y_it · P_i,b / P_it with P_i,b entity i's index in ``base_year``; without ``base_year`` the
  index is taken to be 100 in its base period, Y_it · 100 / P_it.
- ``per: pooled``: PRODY_j is the mean of PRODY_jt over the years in which j is exported, held
  fixed as in Hausmann, Hwang and Rodrik (2007, who average 1999-2001); EXPY_it = Σ_j s_ijt PRODY_j.
- ``scale`` multiplies PRODY and EXPY (the unit of income); ``log`` reports ln(scale · EXPY).

Every exporter in the source enters PRODY, so each needs income in the panel. Rows are never
dropped silently: with ``missing: error`` (default) a null export value, an exporter-year without
income or deflator, a zero total of exports, or a panel row without exports is an error naming
it; with ``missing: skip`` those rows are left out (an exporter without income still gets an
EXPY from its export shares, it only does not weigh in PRODY; a product exported only by such
entities has no PRODY, and the EXPY of its exporters is null), EXPY is null where it cannot be
computed, and every exclusion is listed in the notes.

Artifact: the PRODY table (product, year or none when pooled, prody) as a polars frame under
``prody_artifact_key(output)`` = ``"prody.<output>"``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
from pydantic import Field

from specrun.errors import SpecError
from specrun.transforms.aggregate import group_codes, group_sum, sum_by_codes
from specrun.transforms.base import (
    TRANSFORMS,
    TransformContext,
    TransformKind,
    TransformOptions,
    TransformOutput,
)
from specrun.transforms.panel import (
    missing_policy,
    require_columns,
    require_numeric,
    require_unique_keys,
)

# Internal column names, chosen so they cannot clash with a user's.
_E, _T, _P, _X = "__entity", "__time", "__product", "__exports"


class SophisticationOptions(TransformOptions):
    """Options of ``sophistication`` (EXPY from PRODY, Hausmann, Hwang and Rodrik 2007)."""

    source: str = Field(
        description="Name of the data source holding the long export data "
        "(one row per entity, time and product)."
    )
    product: str = Field(description="Product (or category) column of the export source.")
    value: str = Field(
        description="Export value column of the export source; must be >= 0. Several rows of "
        "the same entity, time and product are summed (reported in the notes)."
    )
    income: str = Field(description="Panel column with income per capita (Y in PRODY).")
    output: str = Field("EXPY", description="Name of the EXPY column added to the panel.")
    entity: str | None = Field(
        None,
        description="Entity column of the export source; default: the panel's entity column name.",
    )
    time: str | None = Field(
        None,
        description="Time column of the export source; default: the panel's time column name.",
    )
    deflator: str | None = Field(
        None,
        description="Panel column with a price level index (e.g. CPI, 2012 = 100). Real income "
        "is income * P[base_year] / P (each entity's own base-year index) or, without "
        "base_year, income * 100 / P.",
    )
    base_year: int | None = Field(
        None,
        description="Time value whose price level real income is expressed in (needs "
        "'deflator'); every entity must have a deflator in that year.",
    )
    va_share: str | None = Field(
        None,
        description="Column of the export source with the domestic value-added share in "
        "[0, 1]; export values are multiplied by it before anything else.",
    )
    per: Literal["year", "pooled"] = Field(
        "year",
        description="'year': PRODY per product and year. 'pooled': PRODY per product, the mean "
        "of its yearly values over the years it is exported, held fixed across years.",
    )
    scale: float = Field(
        1.0,
        gt=0,
        description="Multiplies PRODY and EXPY, e.g. 0.0001 for income in ten thousands.",
    )
    log: bool = Field(False, description="Write ln(scale * EXPY) instead of scale * EXPY.")
    missing: Literal["error", "skip"] = Field(
        "error",
        description="'error': a null export value, an exporter without income, a zero export "
        "total or a panel row without exports stops the run, naming it. 'skip': leave those "
        "out, set EXPY to null where it cannot be computed, and list each in the notes.",
    )


def prody_artifact_key(output: str) -> str:
    """Key of the PRODY frame in the run's artifacts: ``"prody.<output>"``."""
    return f"prody.{output}"


def sophistication_inputs(options: SophisticationOptions) -> list[str]:
    return [options.income, *([options.deflator] if options.deflator else [])]


def _describe(frame: pl.DataFrame, columns: list[str], labels: list[str], limit: int = 5) -> str:
    rows = frame.select(columns).unique(maintain_order=True)
    shown = [
        "(" + ", ".join(f"{label}={value}" for label, value in zip(labels, row, strict=True)) + ")"
        for row in rows.head(limit).iter_rows()
    ]
    more = f" and {rows.height - limit} more" if rows.height > limit else ""
    return ", ".join(shown) + more


def _read_exports(
    options: SophisticationOptions, ctx: TransformContext, panel: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """The export source as (entity, time, product, exports) with the panel's key dtypes."""
    if options.source not in ctx.sources:
        raise SpecError(
            f"sophistication: source '{options.source}' is not loaded",
            code="data",
            hint="sources: " + ", ".join(sorted(ctx.sources)),
        )
    raw = ctx.sources[options.source]
    where = f"source '{options.source}'"
    entity, time = options.entity or ctx.entity, options.time or ctx.time
    value_columns = [options.value, *([options.va_share] if options.va_share else [])]
    require_columns(raw, [entity, time, options.product, *value_columns], where)
    require_numeric(raw, value_columns, where)
    notes: list[str] = []
    exports = raw.select(
        pl.col(entity).alias(_E),
        pl.col(time).alias(_T),
        pl.col(options.product).alias(_P),
        pl.col(options.value).cast(pl.Float64).alias(_X),
        *([pl.col(options.va_share).cast(pl.Float64).alias("__va")] if options.va_share else []),
    )
    for key, panel_column in ((_E, ctx.entity), (_T, ctx.time)):
        exports = _cast_key(exports, key, panel.schema[panel_column], where, panel_column)
    labels = [ctx.entity, ctx.time, options.product]

    negative = exports.filter(pl.col(_X) < 0)
    if negative.height:
        raise SpecError(
            f"sophistication: {negative.height} negative export values in column "
            f"'{options.value}' of {where}: {_describe(negative, [_E, _T, _P], labels)}",
            code="data",
        )
    if options.va_share:
        outside = exports.filter((pl.col("__va") < 0) | (pl.col("__va") > 1))
        if outside.height:
            raise SpecError(
                f"sophistication: value-added share '{options.va_share}' outside [0, 1] in "
                f"{outside.height} rows: {_describe(outside, [_E, _T, _P], labels)}",
                code="data",
            )
    null_check = [_X, *(["__va"] if options.va_share else [])]
    nulls = exports.filter(pl.any_horizontal(pl.col(null_check).is_null()))
    if nulls.height:
        message = (
            f"{nulls.height} export rows of {where} lack '{options.value}'"
            + (f" or '{options.va_share}'" if options.va_share else "")
            + f": {_describe(nulls, [_E, _T, _P], labels)}"
        )
        missing_policy(
            options.missing,
            "sophistication",
            message,
            notes,
            f"left out {message}",
            hint="set missing: skip to leave them out",
        )
        exports = exports.filter(~pl.any_horizontal(pl.col(null_check).is_null()))
    if options.va_share:
        exports = exports.with_columns((pl.col(_X) * pl.col("__va")).alias(_X)).drop("__va")

    # integer group codes in (time, product, entity) order: the sums come out in the order the
    # steps below want, with no sort of the rows
    codes, groups = group_codes(exports, [_T, _P, _E])
    counts = np.bincount(codes, minlength=groups.height)
    repeated = counts > 1
    if repeated.any():
        notes.append(
            f"summed {int(counts[repeated].sum())} export rows sharing {int(repeated.sum())} "
            f"({', '.join(labels)}) combinations"
        )
    exports = sum_by_codes(exports[_X], codes, groups).select(_E, _T, _P, _X)
    return exports, notes


def _cast_key(
    frame: pl.DataFrame, key: str, dtype: pl.DataType, where: str, name: str
) -> pl.DataFrame:
    if frame.schema[key] == dtype:
        return frame
    try:
        return frame.with_columns(pl.col(key).cast(dtype, strict=True))
    except pl.exceptions.PolarsError:
        raise SpecError(
            f"sophistication: the {name} column of {where} is {frame.schema[key]} and cannot "
            f"be matched with the panel's {name} ({dtype})",
            code="data",
        ) from None


def _real_income(
    panel: pl.DataFrame, options: SophisticationOptions, ctx: TransformContext
) -> pl.DataFrame:
    """(entity, time, income) with income deflated as the options say; nulls kept for the caller."""
    income = pl.col(options.income).cast(pl.Float64)
    if options.deflator is None:
        return panel.select(pl.col(ctx.entity).alias(_E), pl.col(ctx.time).alias(_T), income)
    deflator = pl.col(options.deflator).cast(pl.Float64)
    nonpositive = panel.filter(deflator <= 0)
    if nonpositive.height:
        raise SpecError(
            f"sophistication: deflator '{options.deflator}' is <= 0 in {nonpositive.height} "
            f"rows: {_describe(nonpositive, [ctx.entity, ctx.time], [ctx.entity, ctx.time])}",
            code="data",
        )
    if options.base_year is None:
        base = pl.lit(100.0)
    else:
        base_rows = panel.filter(pl.col(ctx.time) == options.base_year).select(
            ctx.entity, deflator.alias("__base")
        )
        lacking = (
            panel.select(ctx.entity)
            .unique(maintain_order=True)
            .join(base_rows.drop_nulls(), on=ctx.entity, how="anti")
        )
        if lacking.height:
            names = ", ".join(str(v) for v in lacking[ctx.entity].head(5))
            raise SpecError(
                f"sophistication: no deflator '{options.deflator}' in base year "
                f"{options.base_year} for {lacking.height} entities ({names})",
                code="data",
            )
        panel = panel.join(base_rows, on=ctx.entity, how="left", maintain_order="left")
        base = pl.col("__base")
    return panel.select(
        pl.col(ctx.entity).alias(_E),
        pl.col(ctx.time).alias(_T),
        (income * base / deflator).alias(options.income),
    )


def apply_sophistication(
    frame: pl.DataFrame, options: SophisticationOptions, ctx: TransformContext
) -> TransformOutput:
    """Add EXPY (Hausmann, Hwang and Rodrik 2007) to the panel, PRODY as an artifact.

    Checked by ``tests/test_transforms_sophistication.py`` (econcomplex 1.0.1 reference).
    """
    if options.base_year is not None and options.deflator is None:
        raise SpecError("sophistication: 'base_year' needs 'deflator'", code="schema")
    require_columns(frame, [ctx.entity, ctx.time, *sophistication_inputs(options)], "the panel")
    require_numeric(frame, sophistication_inputs(options), "the panel")
    require_unique_keys(frame, [ctx.entity, ctx.time], "the panel")
    exports, notes = _read_exports(options, ctx, frame)
    keys = [ctx.entity, ctx.time]

    # Sums go through group_sum and joins keep the left order, so reruns are byte-identical.
    # Group sums are row-order bincounts over integer group codes (transforms/aggregate.py), and
    # each row reads its group's sum by its code, not through a join: reruns are byte-identical
    # and nothing is sorted.
    codes, entity_years = group_codes(exports, [_E, _T])
    totals = sum_by_codes(exports[_X].alias("__total"), codes, entity_years)
    empty = totals.filter(pl.col("__total") <= 0)
    if empty.height:
        message = (
            f"{empty.height} entity-years export nothing in total: "
            f"{_describe(empty, [_E, _T], keys)}"
        )
        missing_policy(options.missing, "sophistication", message, notes, f"left out {message}")
    shares = (
        exports.with_columns(totals["__total"].gather(codes))
        .filter(pl.col("__total") > 0)
        .with_columns((pl.col(_X) / pl.col("__total")).alias("__share"))
        .select(_E, _T, _P, "__share")
        # Zero exports weigh nothing; dropping them keeps a product nobody exports from 0 / 0.
        .filter(pl.col("__share") > 0)
    )

    income = _real_income(frame, options, ctx)
    with_income = shares.join(income, on=[_E, _T], how="left", maintain_order="left")
    without_income = (
        with_income.filter(pl.col(options.income).is_null()).select(_E, _T).unique().sort([_E, _T])
    )
    if without_income.height:
        what = f"'{options.income}'" + (f" or '{options.deflator}'" if options.deflator else "")
        message = (
            f"{without_income.height} exporter-years have no {what} in the panel: "
            f"{_describe(without_income, [_E, _T], keys)}"
        )
        missing_policy(
            options.missing,
            "sophistication",
            message,
            notes,
            f"left out of PRODY {message}",
            hint="every exporter weighs in PRODY; set missing: skip to leave them out",
        )
    weighted = with_income.drop_nulls(options.income)
    codes, product_years = group_codes(weighted, [_T, _P])
    column_sums = sum_by_codes(weighted["__share"], codes, product_years)["__share"]
    weighted = weighted.with_columns(
        (pl.col("__share") / column_sums.gather(codes)).alias("__rca")
    ).with_columns((pl.col("__rca") * pl.col(options.income)).alias("prody"))
    prody = sum_by_codes(weighted["prody"], codes, product_years).select(_P, _T, "prody")
    if options.per == "pooled":
        counts = prody.group_by(_P, maintain_order=True).len()
        prody = (
            group_sum(prody, [_P], "prody")
            .join(counts, on=_P, maintain_order="left")
            .select(_P, (pl.col("prody") / pl.col("len")).alias("prody"))
            .sort(_P)
        )
    prody = prody.with_columns(pl.col("prody") * options.scale)

    join_on = [_P, _T] if options.per == "year" else [_P]
    priced = shares.join(prody, on=join_on, how="left", maintain_order="left")
    # Only possible with missing: skip, when every exporter of a product lacks income.
    unpriced = priced.filter(pl.col("prody").is_null())
    if unpriced.height:
        notes.append(
            f"no PRODY for {_describe(unpriced, [_P, _T], [options.product, ctx.time])} "
            f"(no exporter with income), so {options.output} is null for "
            f"{_describe(unpriced, [_E, _T], keys)}"
        )
    # a product without PRODY makes its exporters' EXPY null (group_sum propagates nulls)
    expy = group_sum(
        priced.with_columns((pl.col("__share") * pl.col("prody")).alias("__expy")),
        [_E, _T],
        "__expy",
    )
    if options.log:
        expy = expy.with_columns(pl.col("__expy").log())

    joined = frame.join(
        expy.rename({_E: ctx.entity, _T: ctx.time}), on=keys, how="left", maintain_order="left"
    )
    unmatched = frame.join(expy.rename({_E: ctx.entity, _T: ctx.time}), on=keys, how="anti")
    if unmatched.height:
        message = (
            f"{unmatched.height} panel rows have no exports in source '{options.source}': "
            f"{_describe(unmatched, keys, keys)}"
        )
        missing_policy(
            options.missing,
            "sophistication",
            message,
            notes,
            f"{options.output} is null for {message}",
            hint="set missing: skip to give them a null EXPY",
        )
    result = joined.with_columns(pl.col("__expy").alias(options.output)).drop("__expy")
    artifact = prody.rename(
        {_P: options.product} | ({_T: ctx.time} if options.per == "year" else {})
    )
    return TransformOutput(
        result, artifacts={prody_artifact_key(options.output): artifact}, notes=tuple(notes)
    )


TRANSFORMS.register("sophistication")(
    TransformKind(
        "sophistication",
        SophisticationOptions,
        apply_sophistication,
        sophistication_inputs,
        lambda o: [o.output],
        needs_panel=True,
    )
)
