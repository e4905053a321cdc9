"""Goodman-Bacon decomposition tables: which 2 × 2 comparisons drive a two-way FE DID.

Reads the ``bacon`` record a ``did`` model stores (``kernels.bacon``): one row per kind of
comparison with its total weight and weighted-average estimate — the layout of Stata's
``bacondecomp`` summary — optionally every comparison, and the TWFE coefficient they add up to.
"""

from __future__ import annotations

import math
from typing import Any

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.bacon import BaconTableSpec

KINDS = ("treated vs never", "earlier vs later", "later vs earlier")
LABELS = {
    "treated vs never": "Treated vs never treated",
    "earlier vs later": "Earlier vs later treated",
    "later vs earlier": "Later vs earlier treated",
}


NOTE = (
    "Goodman-Bacon (2021) decomposition: weights and 2 × 2 DID estimates; the weighted sum is "
    "the two-way fixed-effects coefficient."
)


def _group(value: float, ctx: TableContext) -> str:
    """A cohort by its first treated period, or "never" (in the table's language)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ctx.text("never")
    return f"{value:g}"


def build_bacon(spec: BaconTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    model = results.models.get(spec.model)
    comparisons: list[dict[str, Any]] | None = model.extra.get("bacon") if model else None
    if model is None or model.estimator != "did" or not comparisons:
        # the fit's own reason where it tried (an unbalanced panel, naming its units)
        why = model.extra.get("bacon_unavailable", {}) if model else {}
        raise SpecError(
            f"model '{spec.model}' has no Goodman-Bacon decomposition ("
            + why.get(
                "reason", "it needs a staggered did model without controls on a balanced panel"
            )
            + ")",
            code="reference",
            path=f"tables.{ctx.name}.model",
            hint=why.get("hint"),
        )
    d = spec.digits
    rows = []
    for kind in KINDS:
        members = [c for c in comparisons if c["kind"] == kind]
        if not members:
            continue
        weight = sum(c["weight"] for c in members)
        average = sum(c["weight"] * c["estimate"] for c in members) / weight
        rows.append(
            Row(
                ctx.text(LABELS[kind]),
                (Cell(fmt.number(weight, d)), Cell(fmt.number(average, d))),
                "coef",
            )
        )
    blocks = [Block(tuple(rows))]
    if spec.detail:
        detail = [
            Row(
                f"{ctx.text(LABELS[c['kind']])}{'：' if ctx.language == 'zh' else ': '}"
                f"{_group(c['treated'], ctx)} vs {_group(c['control'], ctx)}",
                (Cell(fmt.number(c["weight"], d)), Cell(fmt.number(c["estimate"], d))),
                "coef",
            )
            for c in comparisons
        ]
        blocks.append(Block(tuple(detail)))
    total = model.coefficients["did"].estimate
    blocks.append(
        Block(
            (
                Row(
                    ctx.text("Two-way FE DID (Σ weight × estimate)"),
                    (Cell(fmt.number(1.0, d)), Cell(fmt.number(total, d))),
                    "stat",
                ),
            )
        )
    )
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(HeaderRow("", (Cell(ctx.text("Weight")), Cell(ctx.text("Estimate")))),),
        blocks=tuple(blocks),
        n_columns=2,
        notes=(ctx.text(NOTE), *spec.notes),
    )
