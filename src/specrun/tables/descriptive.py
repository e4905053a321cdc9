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
    """A row per variable, a column per statistic (``spec.stats``). A model split ``over:`` a
    column gives a block of rows per group, headed by the group's value (its value label where
    the data have one), as Stata's ``tabstat …, by(group)``.

    Raises ``SpecError`` when the model is not a fitted descriptive model or did not compute a
    statistic the table asks for."""
    members = results.expand(spec.model)
    models = [results.models.get(name) for name in members]
    if not models or any(m is None or "variables" not in m.extra for m in models):
        raise SpecError(
            f"model '{spec.model}' is not a fitted descriptive model",
            code="reference",
            path=f"tables.{ctx.name}.model",
        )
    tables = [m.extra["variables"] for m in models if m is not None]
    computed = list(
        dict.fromkeys(key for table in tables for values in table.values() for key in values)
    )
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
    grouped = spec.model in results.families
    blocks = tuple(
        Block(
            _rows(spec, table, ctx),
            # a group's heading: its value as the family's column headers print it
            title=ctx.member_labels.get(name, name.rsplit(".", 1)[-1]) if grouped else None,
        )
        for name, table in zip(members, tables, strict=True)
    )
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(HeaderRow(ctx.text(spec.variable_header), tuple(Cell(h) for h in headers)),),
        blocks=blocks,
        n_columns=len(headers),
        notes=tuple(spec.notes),
    )


def _rows(
    spec: DescriptiveTableSpec, table: dict[str, dict[str, float]], ctx: TableContext
) -> tuple[Row, ...]:
    """One row per variable of one descriptive fit, its statistics in ``spec.stats`` order."""
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
    return tuple(rows)
