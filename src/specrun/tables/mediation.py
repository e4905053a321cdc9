"""Mediation tables: paths a, b, c, c′, the indirect effect, its z tests and bootstrap CI."""

from __future__ import annotations

from typing import Any

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables import text
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.mediation import MediationTableSpec

PATHS = ("c", "a", "b", "c_prime", "indirect")


def build_mediation(spec: MediationTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    model = results.models.get(spec.model)
    if model is None or model.estimator != "mediation":
        raise SpecError(
            f"model '{spec.model}' is not a fitted mediation model",
            code="reference",
            path=f"tables.{ctx.name}.model",
        )
    d = spec.digits
    rows = []
    for name in PATHS:
        coef = model.coefficients[name]
        rows.append(
            Row(
                model.coefficient_labels.get(name, name),
                (
                    Cell(fmt.number(coef.estimate, d), fmt.stars(coef.p_value, spec.stars)),
                    Cell(fmt.number(coef.std_error, d)),
                    Cell(fmt.number(coef.stat, d)),
                    Cell(fmt.number(coef.p_value, d)),
                ),
                "coef",
            )
        )
    indirect: dict[str, Any] = dict(model.extra["indirect"])
    tests = []
    for method, label in (("sobel", "Sobel"), ("aroian", "Aroian"), ("goodman", "Goodman")):
        tests.append(
            Row(
                ctx.text(f"{label} test of a·b"),
                (
                    Cell(),
                    Cell(),
                    Cell(fmt.number(indirect[f"{method}_z"], d)),
                    Cell(fmt.number(indirect[f"{method}_p"], d)),
                ),
                "stat",
            )
        )
    summary = [
        Row(
            ctx.text("Share mediated, a·b / c"),
            (Cell(fmt.number(indirect["share"], d)), Cell(), Cell(), Cell()),
            "stat",
        )
    ]
    boot = model.extra.get("bootstrap")
    if boot:
        level = f"{boot['ci_level']:.0%}"
        for key, label in (("percentile", "percentile"), ("bias_corrected", "bias-corrected")):
            low, high = boot[key]
            if ctx.language == "zh":
                kind = "百分位" if key == "percentile" else "偏差校正"
                row_label = f"a·b的自抽样{level}置信区间（{kind}）"
            else:
                row_label = f"Bootstrap {level} CI of a·b ({label})"
            summary.append(
                Row(
                    row_label,
                    (
                        Cell(f"[{fmt.number(low, d)}, {fmt.number(high, d)}]", span=1),
                        Cell(),
                        Cell(),
                        Cell(),
                    ),
                    "stat",
                )
            )
        summary.append(
            Row(
                ctx.text("Bootstrap draws"),
                (Cell(fmt.integer(boot["draws"])), Cell(), Cell(), Cell()),
                "stat",
            )
        )
    summary.append(
        Row(ctx.text("N"), (Cell(fmt.integer(model.nobs)), Cell(), Cell(), Cell()), "stat")
    )
    if ctx.language == "zh":
        se_kind = text.translate(model.se_type, "zh")
        notes = [
            f"a、b、c与c′来自三步回归（{se_kind}标准误）；a·b的z检验依Sobel（1982）、"
            "Aroian（1947）与Goodman（1960）。"
        ]
        if boot:
            unit = {"entity": "个体", "row": "观测值"}.get(boot["resample"], "单位")
            notes.append(f"自抽样以{unit}为单位整体重抽（种子{boot['seed']}）。")
    else:
        notes = [
            f"a, b, c and c′ from the three regressions (standard errors {model.se_type}); "
            "z tests of a·b after Sobel (1982), Aroian (1947) and Goodman (1960).",
        ]
        if boot:
            unit = {"entity": "entities", "row": "observations"}.get(boot["resample"], "units")
            notes.append(f"The bootstrap resamples whole {unit} (seed {boot['seed']}).")
    notes.append(text.star_note(spec.stars, ctx.language))
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(
            HeaderRow(
                "",
                tuple(Cell(ctx.text(t)) for t in ("Estimate", "Std. error", "z / t", "p-value")),
            ),
        ),
        blocks=(Block(tuple(rows)), Block(tuple(tests)), Block(tuple(summary))),
        n_columns=4,
        notes=(*notes, *spec.notes),
    )
