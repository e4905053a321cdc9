"""Correlation tables: Pearson below the diagonal, optionally Spearman above it, with stars.

The numbers come from a descriptive model fitted with ``correlations: true`` (listwise rows);
columns are numbered (1)…(k) after the rows, as applied papers print their correlation matrix.
"""

from __future__ import annotations

from typing import Any

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables import text
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.correlation import CorrelationTableSpec


def _cell(matrix: dict[str, Any], method: str, i: int, j: int, spec: CorrelationTableSpec) -> Cell:
    value = matrix[method][i][j]
    p_value = matrix[f"{method}_p"][i][j]
    return Cell(fmt.number(value, spec.digits), fmt.stars(p_value, spec.stars))


def build_correlation(spec: CorrelationTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    """k rows × k columns: 1 on the diagonal, Pearson r below it, Spearman ρ above it (or
    blank), stars from each correlation's two-sided p-value. Raises a SpecError when the model
    was not fitted with ``correlations: true``."""
    model = results.models.get(spec.model)
    matrix = model.extra.get("correlation") if model is not None else None
    if matrix is None:
        raise SpecError(
            f"model '{spec.model}' has no correlations; fit it with estimator: descriptive "
            "and correlations: true",
            code="reference",
            path=f"tables.{ctx.name}.model",
        )
    names: list[str] = matrix["variables"]
    rows = []
    for i, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            if i == j:
                cells.append(Cell("1"))
            elif j < i:
                cells.append(_cell(matrix, "pearson", i, j, spec))
            elif spec.upper == "spearman":
                cells.append(_cell(matrix, "spearman", i, j, spec))
            else:
                cells.append(Cell())
        rows.append(Row(f"({i + 1}) {ctx.labels.get(name, name)}", tuple(cells), "stat"))
    header = HeaderRow(ctx.text("Variable"), tuple(Cell(f"({j + 1})") for j in range(len(names))))
    if ctx.language == "zh":
        what = "下三角为Pearson相关系数" + (
            "，上三角为Spearman秩相关系数" if spec.upper == "spearman" else ""
        )
        notes = [f"{what}；样本为各变量均无缺失的{matrix['nobs']}个观测值。"]
    else:
        what = "Pearson correlations below the diagonal" + (
            ", Spearman rank correlations above it" if spec.upper == "spearman" else ""
        )
        notes = [f"{what}; the {matrix['nobs']} observations where every variable is present."]
    notes.append(text.star_note(spec.stars, ctx.language))
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(header,),
        blocks=(Block(tuple(rows)),),
        n_columns=len(names),
        notes=(*notes, *spec.notes),
    )
