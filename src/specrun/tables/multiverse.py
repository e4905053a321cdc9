"""Multiverse summary tables: what the specification curve says, and its joint tests.

One row per statistic of the curve — the number of specifications, the median estimate, the
share of positive estimates, the share significant at ``alpha`` — and, when the multiverse
has ``inference:``, the observed statistic and null p-value of each of the three tests of
Simonsohn, Simmons and Nelson (2020): median estimate, number significant in the predicted
direction, aggregate z.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from specrun.results import ResultSet
from specrun.tables import format as fmt
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.text import translate

if TYPE_CHECKING:
    from specrun.multiverse import MultiverseResult
from specrun.tables.specs.multiverse import MultiverseTableSpec

ZH = {
    # not 观测值: Chinese tables print N, the number of observations, as 观测值
    "Observed": "实际值",
    "p-value under the null": "原假设下p值",
    "Specifications": "规格数",
    "Median estimate": "估计值中位数",
    "Share of estimates > 0": "估计值为正的比例",
    "Share significant": "显著的比例",
    "Joint tests under the null": "原假设下的联合检验",
    "Median estimate ({direction})": "估计值中位数（{direction}）",
    "Significant in the predicted direction": "预期方向显著的规格数",
    "Aggregate z (Stouffer)": "合并z值（Stouffer）",
    "positive": "正向",
    "negative": "负向",
}


def _say(phrase: str, language: str) -> str:
    return ZH.get(phrase, translate(phrase, language)) if language == "zh" else phrase


def _tests_note(found: MultiverseResult, ctx: TableContext) -> str:
    """The note on the joint tests' resampling scheme, in the output language."""
    if ctx.language == "zh" and found.tests is not None:
        return (
            f"联合检验（Simonsohn, Simmons and Nelson 2020）：对原假设下的数据"
            f"（y − β̂·{found.focus}）按{ctx.index_name('entity')}聚类自助抽样"
            f"{found.tests.draws}次，所有规格共用"
            f"同一组抽样，随机种子{found.seed}；每次抽样的标准误为其常规标准误乘以该规格的"
            "设计效应。p值为统计量在预期方向上至少与实际值同样极端的抽样所占比例。"
        )
    return (
        f"Joint tests of Simonsohn, Simmons and Nelson (2020): {found.inference}. "
        "A p-value is the share of draws whose statistic is at least as extreme in the "
        "predicted direction."
    )


def focus_label(focus: str, threshold: bool, ctx: TableContext) -> str:
    """A multiverse's focus coefficient as its table and curve name it: its variable's label,
    or for a threshold model's regime slope (``c1_r2``) the variable's label and the regime's
    number (现金流（区制2）; Cash flow, regime 2), since a regime's bounds differ between
    specifications (other samples, one or two thresholds) and none can be printed."""
    if focus in ctx.labels:
        return ctx.labels[focus]
    regime = re.fullmatch(r"(.+)_r([1-9])", focus)
    if threshold and regime is not None:
        variable = ctx.labels.get(regime[1], regime[1])
        if ctx.language == "zh":
            return f"{variable}（区制{regime[2]}）"
        return f"{variable}, regime {regime[2]}"
    return focus


def build_multiverse(spec: MultiverseTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    """The summary of one multiverse as Table IR: two columns (observed, p under the null)
    when the multiverse has ``inference:``, else the observed column alone."""
    # numpy and the curve's kernels are for building the table, not for validating a spec
    import numpy as np

    from specrun.multiverse import curve_of

    found = curve_of(results, spec.multiverse)
    lang = ctx.language
    d = spec.digits
    estimates = found.curve["estimate"].to_numpy()
    p_values = found.curve["p_value"].to_numpy()
    tests = found.tests
    # without joint tests there is no p under the null: no column left blank for it
    n_columns = 1 if tests is None else 2

    def row(label: str, observed: str, p: str = "") -> Row:
        return Row(_say(label, lang), (Cell(observed), Cell(p))[:n_columns], "stat")

    significant = float(np.mean(p_values < spec.alpha))
    curve_rows = (
        row("Specifications", fmt.integer(found.curve.height)),
        row("Median estimate", fmt.number(float(np.median(estimates)), d)),
        row("Share of estimates > 0", fmt.number(float(np.mean(estimates > 0)), d)),
        # Chinese labels take full-width brackets, as the table's other Chinese labels do
        row(
            f"{_say('Share significant', lang)}{'（' if lang == 'zh' else ' ('}p < {spec.alpha:g}"
            f"{'）' if lang == 'zh' else ')'}",
            fmt.number(significant, d),
        ),
    )
    blocks = [Block(curve_rows)]
    # what the estimates are of: the table named neither the coefficient nor the choices
    label = focus_label(found.focus, "threshold_1" in found.curve.columns, ctx)
    if lang == "zh":
        crossed = "×".join(found.axes)
        about = f"估计值为{label}的系数，共{found.curve.height}个规格（{crossed}）。"
    else:
        crossed = " × ".join(found.axes)
        about = (
            f"Estimates of the coefficient of {label} in {found.curve.height} specifications "
            f"({crossed})."
        )
    notes: list[str] = [about]
    if tests is not None:
        direction = _say(tests.direction, lang)
        blocks.append(
            Block(
                (
                    row(
                        _say("Median estimate ({direction})", lang).format(direction=direction),
                        fmt.number(tests.median, d),
                        fmt.number(tests.p_median, d),
                    ),
                    row(
                        "Significant in the predicted direction",
                        f"{tests.n_significant} ({fmt.number(tests.share_significant, d)})",
                        fmt.number(tests.p_significant, d),
                    ),
                    row(
                        "Aggregate z (Stouffer)",
                        fmt.number(tests.aggregate_z, 2),
                        fmt.number(tests.p_aggregate_z, d),
                    ),
                ),
                title=_say("Joint tests under the null", lang),
            )
        )
        notes.append(_tests_note(found, ctx))
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(
            HeaderRow(
                "",
                (Cell(_say("Observed", lang)), Cell(_say("p-value under the null", lang)))[
                    :n_columns
                ],
            ),
        ),
        blocks=tuple(blocks),
        n_columns=n_columns,
        notes=(*notes, *spec.notes),
    )
