"""Marginal-effect tables: dy/dx of a regressor at chosen moderator values (Stata's
``margins, dydx(x) at(z = (…))``), with delta-method standard errors and the Johnson–Neyman
interval. The numbers come from ``specrun.kernels.margins``; ``figures.margins`` draws them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from specrun.data.terms import ts_prefix
from specrun.errors import SpecError
from specrun.results import ModelResult, ResultSet, TermPart
from specrun.tables import format as fmt
from specrun.tables import text
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.specs.margins import MarginsTableSpec, MarginValue, continuous_key
from specrun.tables.terms import part_label, term_label

if TYPE_CHECKING:  # the kernel (numpy) is imported to build a table, not to validate a spec
    from specrun.kernels.margins import Key, Margins


def column_name(key: Key) -> str:
    """The built column of an operated variable: (Dige, 1, 0) → ``L.Dige``."""
    prefix = ts_prefix(key[1], key[2])
    return f"{prefix}.{key[0]}" if prefix else key[0]


def fitted_model(results: ResultSet, name: str, ctx: TableContext, section: str) -> ModelResult:
    """The named fitted model, or a ``SpecError`` located at the table or figure."""
    model = results.models.get(name)
    if model is None:
        raise SpecError(
            f"{section[:-1]} '{ctx.name}' needs model '{name}', not fitted in this run",
            code="reference",
            path=f"{section}.{ctx.name}.model",
        )
    return model


def resolve_value(value: MarginValue, key: Key, model: ModelResult) -> float:
    """A number as given, or the model's estimation-sample percentile or mean of the column."""
    if not isinstance(value, str):
        return float(value)
    column = column_name(key)
    dist = model.distributions.get(column)
    if dist is None:
        raise SpecError(
            f"at: '{column}' is not a continuous variable of model '{model.name}'", code="reference"
        )
    if value == "mean":
        centered = model.extra.get("centered", {})
        if column in centered:
            return float(centered[column])
        raise SpecError(
            f"at: mean of '{column}' is known only when the model centres it", code="reference"
        )
    return dist[int(value[1:])]


def compute(
    model: ModelResult, dydx: str, at: dict[Key, list[float]], level: float, path: str
) -> Margins:
    """The margins of a fitted model; errors are located at ``path``."""
    from specrun.kernels.margins import margins_of

    centered_raw = model.extra.get("centered", {})
    centered = {
        k: float(centered_raw[column_name(k)]) for k in at if column_name(k) in centered_raw
    }
    observed = {
        k: (model.distributions[column_name(k)][0], model.distributions[column_name(k)][-1])
        for k in at
        if column_name(k) in model.distributions
    }
    try:
        return margins_of(model, continuous_key(dydx), dydx, at, centered, level, observed)
    except SpecError as exc:
        raise SpecError(exc.message, code=exc.code, path=path) from None


def describe_bounds(margins: Margins, label: str, digits: int, language: str = "en") -> str:
    """The Johnson–Neyman sentence giving the bounds themselves, wherever they lie (R
    ``interactions::johnson_neyman``'s "OUTSIDE the interval [a, b]"), with the observed range
    (``johnson_neyman_bounds: roots``)."""
    if margins.bounds is None or margins.observed is None:
        return ""
    zh = language == "zh"
    low, high = margins.observed
    pct = fmt.percent(1 - margins.level)
    observed = f"[{fmt.number(low, digits)}, {fmt.number(high, digits)}]"
    roots, outside = margins.bounds.roots, margins.bounds.outside
    span = "[" + ", ".join(fmt.number(r, digits) for r in roots) + "]"
    if len(roots) == 2:
        where = (
            (f"位于{span}之外时" if outside else f"位于{span}之内时")
            if zh
            else (f"outside {span}" if outside else f"inside {span}")
        )
    elif len(roots) == 1:
        root = fmt.number(roots[0], digits)
        sign = "≥" if outside else "≤"
        where = f"{sign} {root}时" if zh else f"{sign} {root}"
    elif outside:
        where = "取任何值时" if zh else "at every value"
    else:
        if zh:
            return f"Johnson–Neyman区间：{label}取任何值时边际效应均不在{pct}水平上显著。"
        return f"Johnson–Neyman: the effect is not significant at {pct} at any value of {label}."
    if zh:
        return (
            f"Johnson–Neyman区间：{label}{where}，边际效应在{pct}水平上显著（观测范围{observed}）。"
        )
    return f"Johnson–Neyman: significant at {pct} for {label} {where} (observed range {observed})."


def describe_regions(margins: Margins, label: str, digits: int, language: str = "en") -> str:
    """The Johnson–Neyman sentence of a table note or figure caption (``language`` en or zh)."""
    if margins.significant is None or margins.observed is None:
        return ""
    low, high = margins.observed
    pct = fmt.percent(1 - margins.level)
    observed = f"[{fmt.number(low, digits)}, {fmt.number(high, digits)}]"
    if not margins.significant:
        if language == "zh":
            return f"Johnson–Neyman区间：在{label}的观测范围内，边际效应均不在{pct}水平上显著。"
        return (
            f"Johnson–Neyman: the effect is not significant at {pct} anywhere in the observed "
            f"range of {label}."
        )
    spans = (" 和 " if language == "zh" else " and ").join(
        f"[{fmt.number(a, digits)}, {fmt.number(b, digits)}]" for a, b in margins.significant
    )
    if language == "zh":
        return (
            f"Johnson–Neyman区间：{label}位于{spans}时，边际效应在{pct}水平上显著"
            f"（观测范围{observed}）。"
        )
    return (
        f"Johnson–Neyman: significant at {pct} for {label} in {spans} (observed range {observed})."
    )


def _term_label(name: str, model: ModelResult, ctx: TableContext) -> str:
    """A centred variable's label; a term such as ``L.x`` composes its parts' labels."""
    parts = model.terms.get(name)
    return term_label(parts, ctx.labels, ctx.value_labels) if parts else ctx.labels.get(name, name)


def build_margins(spec: MarginsTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    model = fitted_model(results, spec.model, ctx, "tables")
    path = f"tables.{ctx.name}"
    try:
        at = {
            continuous_key(k): [resolve_value(v, continuous_key(k), model) for v in values]
            for k, values in spec.at.items()
        }
    except SpecError as exc:
        raise SpecError(exc.message, code=exc.code, path=f"{path}.at") from None
    result = compute(model, spec.dydx, at, spec.level, path)
    written = {continuous_key(k): values for k, values in spec.at.items()}
    labels = {k: part_label(TermPart(k[0], k[1], k[2]), ctx.labels) for k in written}
    d = spec.digits
    rows = []
    for margin in result.margins:
        parts = []
        for (k, values), (_, value) in zip(written.items(), margin.at, strict=True):
            tag = next(
                (
                    v
                    for v, r in zip(values, at[k], strict=True)
                    if isinstance(v, str) and r == value
                ),
                None,
            )
            # after a Chinese label the percentile goes in full-width brackets (GB/T 15834)
            bracket = "（{}）" if text.has_cjk(labels[k]) else " ({})"
            parts.append(
                f"{labels[k]} = {fmt.number(value, d)}" + (bracket.format(tag) if tag else "")
            )
        rows.append(
            Row(
                ("，" if any(text.has_cjk(labels[k]) for k in written) else ", ").join(parts),
                (
                    Cell(fmt.number(margin.estimate, d), fmt.stars(margin.p_value, spec.stars)),
                    Cell(fmt.number(margin.std_error, d)),
                    Cell(fmt.number(margin.stat, 2)),
                    Cell(fmt.number(margin.p_value, 3)),
                    Cell(f"[{fmt.number(margin.ci_low, d)}, {fmt.number(margin.ci_high, d)}]"),
                ),
                "stat",
            )
        )
    stat = "t" if result.df else "z"
    zh = ctx.language == "zh"
    level = fmt.percent(spec.level)
    header = HeaderRow(
        "",
        tuple(
            Cell(t)
            for t in (
                ctx.text("dy/dx"),
                ctx.text("Std. err."),
                f"{stat}值" if zh else stat,
                ctx.text("p-value"),
                f"{level}置信区间" if zh else f"{level} CI",
            )
        ),
    )
    x_label = part_label(TermPart(*continuous_key(spec.dydx)), ctx.labels)
    y_label = ctx.labels.get(model.dependent, model.dependent)
    se_type = ctx.covariance(model.se_type or "conventional")
    # the model as its table columns title it (its label:), else by its name in the spec
    name = model.label or spec.model
    if zh:
        notes = [
            f"{x_label}对{y_label}的边际效应（模型{name}）；标准误由模型的"
            f"{se_type}协方差矩阵经delta方法计算，"
            + (f"t分布自由度为{result.df:g}。" if result.df else "正态分布。")
        ]
    else:
        notes = [
            f"Marginal effect of {x_label} on {y_label} (model {name}); delta-method "
            f"standard errors from the model's covariance ({se_type})"
            + (f", t with {result.df:g} df." if result.df else ", normal.")
        ]
    centered = model.extra.get("centered", {})
    if centered:
        names = ("、" if zh else ", ").join(_term_label(c, model, ctx) for c in centered)
        notes.append(
            f"调节变量取原始单位的值；模型将{names}以估计样本均值中心化。"
            if zh
            else f"Moderator values are in original units; the model centres {names} at the "
            "estimation-sample mean."
        )
    if spec.johnson_neyman and len(written) == 1:
        describe = describe_bounds if spec.johnson_neyman_bounds == "roots" else describe_regions
        sentence = describe(result, next(iter(labels.values())), d, ctx.language)
        if sentence:
            notes.append(sentence)
    notes.append(text.star_note(spec.stars, ctx.language))
    if any(math.isnan(m.std_error) for m in result.margins):
        notes.append("Some standard errors could not be computed.")
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=(header,),
        blocks=(Block(tuple(rows)),),
        n_columns=5,
        notes=(*notes, *spec.notes),
        stub_header=", ".join(labels.values()),
    )
