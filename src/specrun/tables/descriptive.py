"""Descriptive-statistics tables: one row per variable, one column per statistic."""

from __future__ import annotations

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.descriptive import DescriptiveTableSpec, missing_statistic

STAT_HEADERS = {
    "nobs": "N",
    "mean": "Mean",
    "sd": "SD",
    "median": "Median",
    "min": "Min",
    "max": "Max",
    "vif": "VIF",
}


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
