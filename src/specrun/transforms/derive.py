"""``derive`` (new columns from expressions) and ``where`` (keep rows), in the safe expression
language of ``specrun.data.expr``: ``- derive: {STR: tertiary_va / secondary_va}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ConfigDict, RootModel

from specrun.data.expr import ValueKind, compile_expression, referenced_columns, result_kind
from specrun.errors import SpecError
from specrun.transforms.base import TRANSFORMS, TransformContext, TransformKind, TransformOutput

if TYPE_CHECKING:  # loaded by the steps only: validating a spec imports no polars
    import polars as pl


class DeriveOptions(RootModel[dict[str, str]]):
    """Output column → expression; later entries may use earlier ones."""

    model_config = ConfigDict(frozen=True)


class WhereOptions(RootModel[str]):
    """A row filter: rows where the expression is true are kept."""

    model_config = ConfigDict(frozen=True)


def apply_derive(
    frame: pl.DataFrame, options: DeriveOptions, ctx: TransformContext
) -> TransformOutput:
    for output, text in options.root.items():
        frame = frame.with_columns(compile_expression(text, frame.schema).alias(output))
        column = frame[output]
        if column.dtype.is_float():
            bad = frame.filter(column.is_nan() | column.is_infinite())
            if bad.height:
                where = f"{ctx.entity} {bad[ctx.entity][0]}, {ctx.time} {bad[ctx.time][0]}"
                raise SpecError(
                    f"derive {output}: '{text}' is NaN or infinite in {bad.height} rows "
                    f"(first: {where})",
                    code="data",
                    hint="guard the expression (if_else) or filter those rows with a where step",
                )
    return TransformOutput(frame)


def derive_inputs(options: DeriveOptions) -> list[str]:
    """The panel columns the expressions read (not those an earlier entry makes). A bad
    expression raises its ``SpecError`` with ``path`` set to its output's key, so that the
    error is placed on that entry's line rather than on the first one's."""
    made: set[str] = set()
    needed: list[str] = []
    for output, text in options.root.items():
        try:
            read = referenced_columns(text)
        except SpecError as exc:
            raise SpecError(
                exc.message, code=exc.code, path=output, col=exc.col, hint=exc.hint
            ) from None
        needed += [c for c in sorted(read) if c not in made]
        made.add(output)
    return needed


CONDITION_HINT = "compare it, e.g. 'value > 0'"


def condition_columns(text: str) -> list[str]:
    """The columns a row filter reads; a filter that can be seen without data to give numbers
    or strings rather than true/false is an error (``SpecError``, code ``expression``)."""
    kind = result_kind(text)
    if kind not in (ValueKind.BOOLEAN, ValueKind.UNKNOWN):
        raise SpecError(
            f"a where: filter must be true or false for each row; '{text}' gives {kind.value}s",
            code="expression",
            hint=CONDITION_HINT,
        )
    return sorted(referenced_columns(text))


def boolean_condition(text: str, frame: pl.DataFrame) -> pl.Expr:
    """``text`` compiled for ``frame``; raises ``SpecError`` unless it gives true/false."""
    import polars as pl

    condition = compile_expression(text, frame.schema)
    dtype = frame.head(0).select(condition).dtypes[0]
    if dtype not in (pl.Boolean, pl.Null):
        raise SpecError(
            f"a where: filter must be true or false for each row; '{text}' gives {dtype} values",
            code="expression",
            hint=CONDITION_HINT,
        )
    return condition


def apply_where(
    frame: pl.DataFrame, options: WhereOptions, ctx: TransformContext
) -> TransformOutput:
    kept = frame.filter(boolean_condition(options.root, frame))
    if frame.height and not kept.height:
        # else every model would say its own sample keeps none of 0 rows, blaming the sample
        span = frame[ctx.time].drop_nulls()
        years = f", {ctx.time} {span.min()}–{span.max()}" if span.len() else ""
        raise SpecError(
            f"where '{options.root}' keeps none of the {frame.height} rows of the panel"
            f"{years}: every model would be empty",
            code="data",
        )
    dropped = frame.height - kept.height
    notes = (f"where '{options.root}' dropped {dropped} rows",) if dropped else ()
    return TransformOutput(kept, notes=notes)


TRANSFORMS.register("derive")(
    TransformKind("derive", DeriveOptions, apply_derive, derive_inputs, lambda o: list(o.root))
)
TRANSFORMS.register("where")(
    TransformKind(
        "where",
        WhereOptions,
        apply_where,
        lambda o: condition_columns(o.root),
        lambda o: [],
    )
)
