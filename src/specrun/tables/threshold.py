"""Threshold-effect tests (paper Table 6, Hansen 1999 Table 2): F, bootstrap p-value, critical
values, and each threshold's estimate with its LR confidence interval."""

from __future__ import annotations

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables import text
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.threshold import ThresholdTestTableSpec

ROW_NAMES = {1: "Single threshold", 2: "Double threshold", 3: "Triple threshold"}


def build_threshold_test(
    spec: ThresholdTestTableSpec, results: ResultSet, ctx: TableContext
) -> Table:
    d = spec.digits
    blocks = []
    level = None
    for name in spec.models:
        model = results.models.get(name)
        if model is None or model.estimator != "panel_threshold":
            raise SpecError(
                f"model '{name}' is not a fitted panel_threshold model",
                code="reference",
                path=f"tables.{ctx.name}.models",
            )
        tests = model.extra["tests"]
        thresholds = model.extra["thresholds"]
        rows = []
        for k in sorted(int(key) for key in tests):
            test = tests[str(k)]
            threshold = thresholds[k - 1]
            rows.append(
                Row(
                    ctx.text(ROW_NAMES[k]),
                    (
                        Cell(fmt.number(test["F"], 2), fmt.stars(test["p_value"], spec.stars)),
                        Cell(fmt.number(test["p_value"], 3)),
                        Cell(fmt.integer(test["bootstrap"])),
                        Cell(fmt.number(test["crit"]["10%"], 3)),
                        Cell(fmt.number(test["crit"]["5%"], 3)),
                        Cell(fmt.number(test["crit"]["1%"], 3)),
                        Cell(fmt.number(threshold["estimate"], d)),
                        Cell(
                            f"[{fmt.number(threshold['ci_low'], d)}, "
                            f"{fmt.number(threshold['ci_high'], d)}]"
                        ),
                    ),
                    "stat",
                )
            )
        title = None
        if len(spec.models) > 1:
            title = f"{ctx.labels.get(model.dependent, model.dependent)} ({name})"
        blocks.append(Block(tuple(rows), title=title))
        curves = model.extra.get("lr_curves") or []
        if curves:
            level = curves[0]["critical_value"]
    columns = ("F", "p-value", "Bootstrap", "10%", "5%", "1%", "Threshold", "95% CI")
    header = HeaderRow(ctx.text("Test"), tuple(Cell(ctx.text(t)) for t in columns))
    groups = HeaderRow(
        "",
        (Cell("", span=3), Cell(ctx.text("Critical values"), span=3), Cell("", span=2)),
        rule_under=False,
    )
    if ctx.language == "zh":
        notes = ["F统计量检验k个门槛对k − 1个门槛；p值与临界值由Hansen（1999）的自抽样法得到。"]
        if level is not None:
            notes.append(f"置信区间为{{γ: LR(γ) ≤ {level:.2f}}}（Hansen 1999，式16）。")
    else:
        notes = [
            "F tests k against k − 1 thresholds; p-values and critical values from the "
            "bootstrap of Hansen (1999), resampling entities' residuals under the null.",
        ]
        if level is not None:
            notes.append(f"Confidence intervals: {{γ: LR(γ) ≤ {level:.2f}}} (Hansen 1999, eq. 16).")
    notes.append(text.star_note(spec.stars, ctx.language))
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(groups, header),
        blocks=tuple(blocks),
        n_columns=8,
        notes=(*notes, *spec.notes),
    )
