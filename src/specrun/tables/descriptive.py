"""Descriptive-statistics tables: one row per variable, one column per statistic."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from specrun.errors import SpecError, did_you_mean
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables.base import TABLES, TableBase, TableContext, TableKind
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table

STAT_HEADERS = {
    "nobs": "N",
    "mean": "Mean",
    "sd": "SD",
    "median": "Median",
    "min": "Min",
    "max": "Max",
    "vif": "VIF",
}


class DescriptiveTableSpec(TableBase):
    """``kind: descriptive``: a row per variable of a descriptive model, a column per statistic."""

    kind: Literal["descriptive"]
    model: str = Field(description="A model with estimator: descriptive.")
    stats: list[str] = Field(
        default_factory=lambda: ["nobs", "mean", "sd", "median", "min", "max"],
        description="Columns: nobs, mean, sd, median, min, max, a quantile such as p25, or "
        "vif (variance inflation factor; the model needs vif: true).",
    )
    variable_header: str = Field(
        "Variable", description="Header of the first column (the variable labels)."
    )
    show_names: bool = Field(False, description="Add a column with the variable names.")


def missing_statistic(
    table: str, model: str, stat: str, computed: list[str]
) -> tuple[str, str | None]:
    """The message and hint for a statistic ``stat`` that descriptive model ``model`` does not
    compute (``computed``): shared by validation (from the model's spec) and the table build."""
    if re.fullmatch(r"p\d+(\.\d+)?", stat):
        hint: str | None = f"add {float(stat[1:]) / 100:g} to the quantiles of model '{model}'"
    elif stat == "vif":
        hint = f"add vif: true to model '{model}'"
    else:
        hint = did_you_mean(stat, computed)
    message = (
        f"table '{table}' asks for '{stat}', which model '{model}' did not compute; "
        f"it has: {', '.join(computed)}"
    )
    return message, hint


def build_descriptive(spec: DescriptiveTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    model = results.models.get(spec.model)
    if model is None or "variables" not in model.extra:
        raise SpecError(
            f"model '{spec.model}' is not a fitted descriptive model",
            code="reference",
            path=f"tables.{ctx.name}.model",
        )
    table = model.extra["variables"]
    computed = list(dict.fromkeys(key for values in table.values() for key in values))
    for index, stat in enumerate(spec.stats):
        if stat not in computed:
            message, hint = missing_statistic(ctx.name, spec.model, stat, computed)
            raise SpecError(
                message,
                code="reference",
                path=f"tables.{ctx.name}.stats[{index}]",
                hint=hint,
            )
    headers = [ctx.text(STAT_HEADERS.get(s, s)) for s in spec.stats]
    if spec.show_names:
        headers = [ctx.text("Symbol"), *headers]
    rows = []
    for name, values in table.items():
        cells = [
            Cell(
                fmt.integer(values.get(s))
                if s == "nobs"
                else fmt.number(values.get(s), spec.digits)
            )
            for s in spec.stats
        ]
        if spec.show_names:
            cells.insert(0, Cell(name))
        rows.append(Row(ctx.labels.get(name, name), tuple(cells), "stat"))
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(HeaderRow(ctx.text(spec.variable_header), tuple(Cell(h) for h in headers)),),
        blocks=(Block(tuple(rows)),),
        n_columns=len(headers),
        notes=tuple(spec.notes),
    )


TABLES.register("descriptive")(
    TableKind(
        "descriptive",
        DescriptiveTableSpec,
        build_descriptive,
        lambda s: [s.model],
        reads=("descriptive",),
    )
)
