"""Per-variable panel transforms: ``lag``, ``lead``, ``diff`` within entity, ``log``,
``standardize`` and ``ratio``; plus the column checks the other transform families share.

Lags follow the calendar, not the row order (Stata's ``L.`` after ``xtset``): the lag of ``x`` at
time ``t`` is the entity's value at ``t - periods``, null when that period is absent (the first
periods, or a gap), and every such null is counted in the transform's notes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

import polars as pl
from pydantic import Field, field_validator

from specrun.errors import SpecError, did_you_mean
from specrun.transforms.base import (
    TRANSFORMS,
    TransformContext,
    TransformKind,
    TransformOptions,
    TransformOutput,
)


def require_columns(frame: pl.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise a data error naming the first column of ``columns`` that ``frame`` lacks."""
    for column in columns:
        if column not in frame.columns:
            hint = did_you_mean(column, frame.columns) or "columns: " + ", ".join(frame.columns)
            raise SpecError(f"column '{column}' not found in {where}", code="data", hint=hint)


def require_numeric(
    frame: pl.DataFrame, columns: Iterable[str], where: str, keys: Sequence[str | None] = ()
) -> None:
    """Raise a data error naming the first column of ``columns`` that is not numeric, or that
    holds ±inf, with its first offending cell and the row's ``keys`` (entity and period).

    A text column names its first cell that is no number (a missing-value code the source
    should declare, a unit, a thousands separator) as a model's variable does
    (``specrun.execute``'s hints); an infinite value (an ``inf`` cell of a CSV or Parquet file)
    is refused here rather than spread into a whole column of NaN (a mean, a standard
    deviation) or clipped to a finite quantile without a word."""
    for column in columns:
        dtype = frame.schema[column]
        if not dtype.is_numeric():
            raise _text_column_error(frame, column, where, keys)
        if dtype.is_float():
            infinite = frame.filter(pl.col(column).is_infinite())
            if infinite.height:
                raise SpecError(
                    f"column '{column}' in {where} is infinite in {infinite.height} rows "
                    f"(first: {_first_row(infinite, keys)}, {column}={infinite[column][0]})",
                    code="data",
                    hint="an inf is no number a transform can use: set such cells missing "
                    "(list the cell's text under the source's null_values) or filter the rows "
                    "with a where: step",
                )


def _first_row(rows: pl.DataFrame, keys: Sequence[str | None]) -> str:
    """The first of ``rows`` named by its ``keys`` (entity and period), else by its number."""
    named = [k for k in keys if k and k in rows.columns]
    if not named:
        return "row 1 of them"
    return ", ".join(f"{k}={rows[k][0]}" for k in named)


def _text_column_error(
    frame: pl.DataFrame, column: str, where: str, keys: Sequence[str | None]
) -> SpecError:
    """The error for a transform's input column that is not numeric: its first cell that is no
    finite number, or, when every cell is one, the leading-zero codes that kept it text."""
    # imported here: the hints are the model checks' own, needed only once a run has failed
    from specrun.execute import _text_number_hint, _unit_hint

    dtype = frame.schema[column]
    message = f"column '{column}' in {where} is {dtype}, not numeric"
    if dtype.is_nested() or dtype.is_temporal() or dtype in (pl.Binary, pl.Object, pl.Boolean):
        return SpecError(message, code="data", hint="derive a column of numbers from it first")
    text = frame[column].cast(pl.String, strict=False).str.strip_chars()
    present = frame.filter(text.is_not_null())
    if not present.height:
        return SpecError(
            f"column '{column}' in {where} has no values: it is missing in all {frame.height} rows",
            code="data",
            hint="an empty column in the data, or cells the source's null_values declare missing",
        )
    stripped = present[column].cast(pl.String, strict=False).str.strip_chars()
    numbers = stripped.cast(pl.Float64, strict=False).is_finite().fill_null(False)
    bad = present.filter(~numbers)
    if not bad.height:
        cell = str(present[column][0])
        return SpecError(
            f"{message}: codes with a leading zero such as {cell!r} "
            f"(at {_first_row(present, keys)}) are read as text",
            code="data",
            hint=f"derive: {{{column}_num: real({column})}} makes numbers of them (Stata's real())",
        )
    cell = str(bad[column][0])
    share = bad.height / present.height
    hint = _unit_hint(cell) if share > 0.5 else None
    if share > 0.5 and hint is None:
        hint = f"'{column}' holds text, not numbers"
    error = SpecError(
        f"{message}; first non-number {cell!r} at {_first_row(bad, keys)}",
        code="data",
        hint=hint or _text_number_hint(column, cell, share, dependent=False, nulls=None),
    )
    if hint is None:
        # the step runner, which knows the source, writes its null_values list into the hint
        error.text_cell = cell  # type: ignore[attr-defined]
    return error


def require_unique_keys(frame: pl.DataFrame, keys: Sequence[str], where: str) -> None:
    """Raise a data error showing the first key combination that occurs more than once."""
    duplicated = frame.select(keys).filter(pl.struct(keys).is_duplicated())
    if duplicated.height:
        first = ", ".join(f"{k}={v!r}" for k, v in duplicated.row(0, named=True).items())
        raise SpecError(
            f"{where} has {duplicated.height} rows with a repeated ({', '.join(keys)}): "
            f"first {first}",
            code="data",
        )


def missing_policy(
    policy: str, transform: str, message: str, notes: list[str], note: str, hint: str | None = None
) -> None:
    """The ``missing:`` option of a transform: ``error`` raises ``message``; any other policy
    (``skip``, ``drop``) records ``note`` for manifest.json and lets the transform go on."""
    if policy == "error":
        raise SpecError(f"{transform}: {message}", code="data", hint=hint)
    notes.append(note)


_PLACEHOLDER = re.compile(r"\{(var|periods)\}")
MAX_TEMPLATE_LENGTH = 64


def _validate_name_template(template: str, allowed: tuple[str, ...] = ("var",)) -> str:
    """A template with literal placeholders only: ``str.format`` would walk attributes
    (``{var.__class__}``) and pad to any width (``{var:>300000000}``)."""
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise ValueError(f"the name template is longer than {MAX_TEMPLATE_LENGTH} characters")
    rest = _PLACEHOLDER.sub(lambda m: "" if m.group(1) in allowed else m.group(0), template)
    if "{" in rest or "}" in rest:
        names = " and ".join(f"'{{{name}}}'" for name in allowed)
        raise ValueError(f"the name template takes only {names} as placeholders")
    if "{var}" not in template:
        raise ValueError("the name template must contain '{var}'")
    return template


def fill_template(template: str, **values: object) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]``, literally."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


class ShiftOptions(TransformOptions):
    """Options of ``lag``, ``lead`` and ``diff``: values of the same entity ``periods`` away."""

    vars: list[str] = Field(min_length=1, description="Panel columns to shift.")
    periods: int = Field(
        1,
        ge=1,
        le=1000,
        description="How many time units away (calendar distance on the panel's time column, "
        "which must be an integer such as a year).",
    )
    name: str | None = Field(
        None,
        description="Template of the new column's name, with '{var}' and '{periods}' "
        "placeholders; default '{var}_lag{periods}', '{var}_lead{periods}' or "
        "'{var}_diff{periods}'. '{var}' alone replaces the column.",
    )

    @field_validator("name")
    @classmethod
    def _name_has_var(cls, template: str | None) -> str | None:
        return None if template is None else _validate_name_template(template, ("var", "periods"))


ShiftKindName = Literal["lag", "lead", "diff"]


def shifted_name(kind: ShiftKindName, options: ShiftOptions, var: str) -> str:
    template = options.name or f"{{var}}_{kind}{{periods}}"
    return fill_template(template, var=var, periods=options.periods)


def values_at_offsets(
    frame: pl.DataFrame, entity: str, time: str, requests: Sequence[tuple[str, int, str]]
) -> pl.DataFrame:
    """``frame`` with a column ``alias`` per request ``(var, offset, alias)``: the value of
    ``var`` of the same entity ``offset`` periods earlier (later when negative), found by period
    value, so a missing period gives null (Stata's ``L.`` after ``tsset``/``xtset``). Rows keep
    their order; ``time`` must be integer and (entity, time) unique."""
    out = frame
    for offset in dict.fromkeys(o for _, o, _ in requests):
        # The source row of t's lag sits at t − offset: shift the source's time forward, join.
        source = frame.select(
            entity,
            (pl.col(time) + offset).alias(time),
            *[pl.col(v).alias(alias) for v, o, alias in requests if o == offset],
        )
        out = out.join(source, on=[entity, time], how="left", maintain_order="left")
    return out


def shift_within_entity(
    frame: pl.DataFrame, options: ShiftOptions, ctx: TransformContext, kind: ShiftKindName
) -> TransformOutput:
    """Lag, lead or difference each variable along the calendar within each entity."""
    where = f"the panel ({kind})"
    require_columns(frame, [ctx.entity, ctx.time, *options.vars], where)
    if not frame.schema[ctx.time].is_integer():
        at = ""
        if frame.schema[ctx.time].is_float():
            # whole periods are integers once the panel is read: one mistyped cell is left
            fractional = frame.filter(pl.col(ctx.time) % 1 != 0)
            if fractional.height:
                at = (
                    f" and holds {fractional[ctx.time][0]:g} "
                    f"({ctx.entity} {fractional[ctx.entity][0]})"
                )
        raise SpecError(
            f"{kind} needs an integer time column; '{ctx.time}' is {frame.schema[ctx.time]}{at}",
            code="data",
        )
    require_unique_keys(frame, [ctx.entity, ctx.time], "the panel")
    if kind == "diff":
        require_numeric(frame, options.vars, where, (ctx.entity, ctx.time))
    offset = options.periods if kind in ("lag", "diff") else -options.periods
    joined = values_at_offsets(
        frame, ctx.entity, ctx.time, [(v, offset, f"__shifted_{v}") for v in options.vars]
    )
    notes: list[str] = []
    new_columns: list[pl.Expr] = []
    for var in options.vars:
        shifted = pl.col(f"__shifted_{var}")
        value = pl.col(var) - shifted if kind == "diff" else shifted
        name = shifted_name(kind, options, var)
        new_columns.append(value.alias(name))
        lacking = joined.filter(shifted.is_null() & pl.col(var).is_not_null()).height
        if lacking:
            notes.append(
                f"{name}: {lacking} rows have no value of '{var}' {options.periods} period(s) "
                f"{'earlier' if offset > 0 else 'later'} (panel edge or gap) and are null"
            )
    result = joined.with_columns(new_columns).drop([f"__shifted_{v}" for v in options.vars])
    return TransformOutput(result, notes=tuple(notes))


def _shift_kind(kind: ShiftKindName) -> TransformKind[ShiftOptions]:
    return TransformKind(
        kind,
        ShiftOptions,
        lambda frame, options, ctx: shift_within_entity(frame, options, ctx, kind),
        lambda options: list(options.vars),
        lambda options: [shifted_name(kind, options, v) for v in options.vars],
        needs_panel=True,
    )


class NamedOutputOptions(TransformOptions):
    """Per-variable transforms whose outputs are named by a template with '{var}'."""

    vars: list[str] = Field(min_length=1, description="Panel columns to transform.")
    name: str = Field(
        "{var}",
        description="Template of the new column's name with a '{var}' placeholder; "
        "'{var}' alone replaces the column.",
    )

    @field_validator("name")
    @classmethod
    def _name_has_var(cls, template: str) -> str:
        return _validate_name_template(template)

    def output_name(self, var: str) -> str:
        return fill_template(self.name, var=var)


class LogOptions(NamedOutputOptions):
    """Options of ``log``: natural logarithm ln(x + shift) of each variable."""

    shift: float = Field(
        0.0,
        description="Added before the log (ln(x + shift)), e.g. 1 for counts with zeros.",
    )
    name: str = Field("ln_{var}", description="Output name template ('{var}': the input).")


def apply_log(frame: pl.DataFrame, options: LogOptions, ctx: TransformContext) -> TransformOutput:
    """ln(x + shift); a non-positive argument is an error naming the variable and a row."""
    require_columns(frame, options.vars, "the panel (log)")
    require_numeric(frame, options.vars, "the panel (log)", (ctx.entity, ctx.time))
    for var in options.vars:
        bad = frame.filter((pl.col(var) + options.shift) <= 0)
        if bad.height:
            raise SpecError(
                f"log of '{var}': {bad.height} rows have {var} + {options.shift} <= 0 "
                f"(first: {_row_label(bad, ctx)}, {var}={bad[var][0]})",
                code="data",
                hint="set 'shift' or filter those rows first",
            )
    return TransformOutput(
        frame.with_columns(
            (pl.col(v) + options.shift).log().alias(options.output_name(v)) for v in options.vars
        )
    )


class StandardizeOptions(NamedOutputOptions):
    """Options of ``standardize``: (x - mean) / sd, over all rows or within groups."""

    by: str | None = Field(
        None, description="Column whose groups are standardized separately (e.g. the year)."
    )
    ddof: int = Field(1, ge=0, description="Delta degrees of freedom of the sd (1: sample sd).")
    name: str = Field("{var}_std", description="Output name template ('{var}': the input).")


def apply_standardize(
    frame: pl.DataFrame, options: StandardizeOptions, ctx: TransformContext
) -> TransformOutput:
    """z = (x - mean) / sd over non-null values; a zero sd is an error naming the variable."""
    where = "the panel (standardize)"
    require_columns(frame, [*options.vars, *([options.by] if options.by else [])], where)
    require_numeric(frame, options.vars, where, (ctx.entity, ctx.time))
    group = [options.by] if options.by else []
    if options.by and frame[options.by].null_count():
        # a missing group is no group: its rows would be standardized among themselves (or,
        # alone, give a "zero standard deviation in by=None"), as winsorize and group_mean refuse
        blank = frame.filter(pl.col(options.by).is_null())
        raise SpecError(
            f"standardize: the grouping column '{options.by}' is missing in {blank.height} "
            f"rows (first: {_first_row(blank, (ctx.entity, ctx.time))})",
            code="data",
            hint="leave those rows out with a where: step before it, or fill the column",
        )
    for var in options.vars:
        sd = pl.col(var).std(ddof=options.ddof).alias("sd")
        spread = frame.group_by(group).agg(sd) if group else frame.select(sd)
        flat = spread.filter(pl.col("sd").is_null() | (pl.col("sd") <= 0))
        if flat.height:
            place = f" in {options.by}={flat[options.by][0]}" if group else ""
            raise SpecError(
                f"standardize '{var}': zero (or undefined) standard deviation{place}",
                code="data",
            )

    def standardized(var: str) -> pl.Expr:
        mean, sd = pl.col(var).mean(), pl.col(var).std(ddof=options.ddof)
        if group:
            mean, sd = mean.over(group), sd.over(group)
        return ((pl.col(var) - mean) / sd).alias(options.output_name(var))

    return TransformOutput(frame.with_columns(standardized(v) for v in options.vars))


class RatioOptions(TransformOptions):
    """Options of ``ratio``: output = scale * numerator / denominator."""

    output: str = Field(description="Name of the new column.")
    numerator: str = Field(description="Panel column on top.")
    denominator: str = Field(description="Panel column below; a zero is an error.")
    scale: float = Field(1.0, description="Multiplies the ratio (e.g. 100 for percent).")


def apply_ratio(
    frame: pl.DataFrame, options: RatioOptions, ctx: TransformContext
) -> TransformOutput:
    """numerator / denominator; a zero denominator is an error naming the first such row."""
    columns = [options.numerator, options.denominator]
    require_columns(frame, columns, "the panel (ratio)")
    require_numeric(frame, columns, "the panel (ratio)", (ctx.entity, ctx.time))
    zero = frame.filter(pl.col(options.denominator) == 0)
    if zero.height:
        raise SpecError(
            f"ratio '{options.output}': denominator '{options.denominator}' is 0 in "
            f"{zero.height} rows (first: {_row_label(zero, ctx)})",
            code="data",
        )
    value = options.scale * pl.col(options.numerator) / pl.col(options.denominator)
    return TransformOutput(frame.with_columns(value.alias(options.output)))


def _row_label(rows: pl.DataFrame, ctx: TransformContext) -> str:
    keys = [k for k in (ctx.entity, ctx.time) if k in rows.columns]
    if not keys:
        return "row"
    return ", ".join(f"{k}={rows[k][0]}" for k in keys)


for _kind in ("lag", "lead", "diff"):
    TRANSFORMS.register(_kind)(_shift_kind(_kind))
TRANSFORMS.register("log")(
    TransformKind(
        "log",
        LogOptions,
        apply_log,
        lambda o: list(o.vars),
        lambda o: [o.output_name(v) for v in o.vars],
    )
)
TRANSFORMS.register("standardize")(
    TransformKind(
        "standardize",
        StandardizeOptions,
        apply_standardize,
        lambda o: [*o.vars, *([o.by] if o.by else [])],
        lambda o: [o.output_name(v) for v in o.vars],
    )
)
TRANSFORMS.register("ratio")(
    TransformKind(
        "ratio",
        RatioOptions,
        apply_ratio,
        lambda o: [o.numerator, o.denominator],
        lambda o: [o.output],
    )
)
