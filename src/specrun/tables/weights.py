"""Index-weight tables: an entropy index's indicator system with its weights (paper Table 1).

Reads the ``weights.<index>`` artifact the ``entropy_index`` transform writes; per-year weights
are averaged over the years, and the note says so.
"""

from __future__ import annotations

import polars as pl

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.weights import WeightsTableSpec

COLUMN_HEADERS = {
    "direction": "Direction",
    "entropy": "Entropy",
    "divergence": "Divergence",
    "weight": "Weight",
}


def _weights(spec: WeightsTableSpec, results: ResultSet, ctx: TableContext) -> pl.DataFrame:
    frame = results.artifacts.get(f"weights.{spec.index}")
    if frame is None:
        raise SpecError(
            f"no entropy_index transform writes '{spec.index}' in this run",
            code="reference",
            path=f"tables.{ctx.name}.index",
        )
    keep = ["indicator", "direction", "entropy", "divergence", "weight"]
    if frame.columns[0] not in keep:  # per-year weights: average them
        frame = frame.group_by("indicator", "direction", maintain_order=True).agg(
            pl.col("entropy", "divergence", "weight").mean()
        )
    return frame.select(keep)


def build_weights(spec: WeightsTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    frame = _weights(spec, results, ctx)
    by_name = {row["indicator"]: row for row in frame.iter_rows(named=True)}
    order: list[tuple[str, str]] = []
    for dimension, members in spec.dimensions.items():
        for member in members:
            if member not in by_name:
                raise SpecError(
                    f"'{member}' is not an indicator of '{spec.index}'",
                    code="reference",
                    path=f"tables.{ctx.name}.dimensions.{dimension}",
                )
            order.append((dimension, member))
    listed = {m for _, m in order}
    order += [("", name) for name in by_name if name not in listed]
    with_dimension = bool(spec.dimensions)
    rows = []
    previous = None
    for dimension, name in order:
        row = by_name[name]
        label = ctx.labels.get(name, name)
        cells = [Cell(label, align="l")] if with_dimension else []
        for column in spec.columns:
            if column == "direction":
                cells.append(Cell("+" if row["direction"] == "+" else "−"))
            else:
                cells.append(Cell(fmt.number(row[column], spec.digits)))
        stub = (dimension if dimension != previous else "") if with_dimension else label
        previous = dimension
        rows.append(Row(stub, tuple(cells), "text"))
    headers = [Cell(spec.indicator_header, align="l")] if with_dimension else []
    headers += [Cell(ctx.text(COLUMN_HEADERS[c])) for c in spec.columns]
    stub_header = spec.dimension_header if with_dimension else spec.indicator_header
    notes = [
        "熵值法权重：指标经极差标准化（负向指标取反），w = (1 − e) / Σ(1 − e)。"
        if ctx.language == "zh"
        else "Entropy weights: min-max normalized indicators (reversed for negative ones), "
        "w = (1 − e) / Σ(1 − e)."
    ]
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(HeaderRow(stub_header, tuple(headers)),),
        blocks=(Block(tuple(rows)),),
        n_columns=len(headers),
        notes=(*notes, *spec.notes),
        column_align="".join(["l"] * with_dimension + ["c"] * len(spec.columns)),
    )
