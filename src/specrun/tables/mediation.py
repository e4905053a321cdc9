"""Mediation tables: paths a, b, c, c′, the indirect effect, its z tests and bootstrap CI."""

from __future__ import annotations

from typing import Any

from specrun.errors import SpecError
from specrun.results import ModelResult, ResultSet
from specrun.tables import format as fmt
from specrun.tables import text
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.mediation import MediationTableSpec

PATHS = ("c", "a", "b", "c_prime", "indirect")


def path_row_label(model: ModelResult, path: str, ctx: TableContext) -> str:
    """The printed label of coefficient ``path`` of the mediation ``model``, in the table's
    language and with the variables' labels: ``a: Digital trade → Industrial upgrading``,
    ``c′: direct effect``; in Chinese ``a：数字贸易 → 产业结构升级``, ``c′：直接效应``. A result
    without its variables recorded (``extra``) keeps the fit's label."""
    from specrun.estimators.mediation import path_label

    treatment, mediator = model.extra.get("treatment"), model.extra.get("mediator")
    if not isinstance(treatment, str) or not isinstance(mediator, str):
        return model.coefficient_labels.get(path, path)
    return path_label(
        path,
        ctx.labels.get(treatment, treatment),
        ctx.labels.get(mediator, mediator),
        ctx.labels.get(model.dependent, model.dependent),
        word=ctx.text,
        colon="：" if ctx.language == "zh" else ": ",
    )


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
                path_row_label(model, name, ctx),
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
        level = fmt.percent(boot["ci_level"])
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
        se_kind = ctx.covariance(model.se_type or "conventional")
        notes = [
            f"a、b、c与c′来自三步回归（{se_kind}标准误）；a·b的检验依Sobel（1982）、"
            "Aroian（1947）与Goodman（1960）。"
        ]
        if boot:
            unit = {"entity": ctx.index_name("entity"), "row": "观测值"}.get(
                boot["resample"], "单位"
            )
            notes.append(f"自抽样以{unit}为单位整体重抽（种子{boot['seed']}）。")
    else:
        notes = [
            "a, b, c and c′ from the three regressions (standard errors "
            f"{ctx.covariance(model.se_type or 'conventional')}); "
            "tests of a·b after Sobel (1982), Aroian (1947) and Goodman (1960).",
        ]
        if boot:
            unit = {"entity": "entities", "row": "observations"}.get(boot["resample"], "units")
            notes.append(f"The bootstrap resamples whole {unit} (seed {boot['seed']}).")
    notes.insert(1, statistic_note(model, ctx.language))
    notes.append(text.star_note(spec.stars, ctx.language))
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(
            HeaderRow(
                "",
                tuple(Cell(ctx.text(t)) for t in ("Estimate", "Std. error", "t / z", "p-value")),
            ),
        ),
        blocks=(Block(tuple(rows)), Block(tuple(tests)), Block(tuple(summary))),
        n_columns=4,
        notes=(*notes, *spec.notes),
    )


def statistic_note(model: ModelResult, language: str) -> str:
    """What the ``t / z`` column holds, row by row: a, b, c and c′ the t statistics of their
    regressions with their degrees of freedom (``ModelResult.references``), a·b and its Sobel,
    Aroian and Goodman tests z statistics (standard normal). A reader reproduces each p-value,
    or an interval estimate ± q·SE, from it:
    ``t / z: t with 30 degrees of freedom for a, b, c and c′; z (standard normal) for a·b and
    its tests.``; in Chinese ``t值 / z值：a、b、c与c′为t值（自由度为30）；a·b及其检验为z值
    （标准正态分布）。`` Paths whose degrees of freedom differ (conventional standard errors:
    each regression's N − K) are grouped by them."""
    from specrun.estimators.mediation import PATH_SYMBOLS

    t_paths: dict[float | None, list[str]] = {}
    z_paths: list[str] = []
    for path in ("a", "b", "c", "c_prime"):
        reference = model.references.get(path)
        if model.stat_name_of(path) == "z":
            z_paths.append(PATH_SYMBOLS[path])
        else:  # a t without its own reference recorded: its degrees of freedom are unknown here
            t_paths.setdefault(reference.df if reference else None, []).append(PATH_SYMBOLS[path])
    if language == "zh":
        t_part = "，".join(
            f"{_listed(symbols, language)}为t值" + ("" if df is None else f"（自由度为{_df(df)}）")
            for df, symbols in t_paths.items()
        )
        z_part = "、".join([*z_paths, "a·b及其检验"])
        return f"t值 / z值：{t_part}{'；' if t_part else ''}{z_part}为z值（标准正态分布）。"
    t_part = ", ".join(
        "t"
        + ("" if df is None else f" with {_df(df)} degrees of freedom")
        + f" for {_listed(symbols, language)}"
        for df, symbols in t_paths.items()
    )
    z_part = ", ".join([*z_paths, "a·b and its tests"])
    return f"t / z: {t_part}{'; ' if t_part else ''}z (standard normal) for {z_part}."


def _df(df: float) -> str:
    return fmt.integer(df) if float(df).is_integer() else f"{df:.2f}"


def _listed(items: list[str], language: str) -> str:
    """``a, b and c`` / ``a、b与c``."""
    if len(items) < 2:
        return "".join(items)
    last = "与" if language == "zh" else " and "
    return ("、" if language == "zh" else ", ").join(items[:-1]) + last + items[-1]
