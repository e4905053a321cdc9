"""Regression tables: one column per model, coefficients with stars over their standard errors.

Indicator rows (Controls, Entity FE, Time FE) are derived from what each model contains, never
typed; statistic rows are read by name from the results (``nobs``, ``r2``, ``r2_within``,
``n_entities``, ``extra.ar2_p`` …).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from specrun.errors import SpecError, did_you_mean
from specrun.results import ModelResult, ResultSet
from specrun.spec.models import StrictModel
from specrun.tables import format as fmt
from specrun.tables.base import TABLES, TableBase, TableContext, TableKind
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table

CONSTANT = "_cons"
STAT_LABELS = {
    "nobs": "N",
    "r2": "R²",
    "r2_within": "R² (within)",
    "r2_lsdv": "R² (with fixed effects)",
    "r2_adj": "Adjusted R²",
    "r2_lsdv_adj": "Adjusted R² (with fixed effects)",
    "n_entities": "Entities",
    "n_clusters": "Clusters",
    "singletons": "Singletons dropped",
    "f_u0": "F test all uᵢ = 0",
    "f_u0_p": "F test all uᵢ = 0 (p-value)",
    "mean_y": "Mean of dependent variable",
    "ar1_p": "AR(1) p-value",
    "ar2_p": "AR(2) p-value",
    "hansen_p": "Hansen test p-value",
    "sargan_p": "Sargan test p-value",
    "n_instruments": "Instruments",
    "n_groups": "Groups",
    "threshold_1": "Threshold γ̂₁",
    "threshold_2": "Threshold γ̂₂",
    "threshold_3": "Threshold γ̂₃",
}
# What estimators report (results' stats and scalar extras); a dotted name reads deeper into extra
KNOWN_STATS = {
    *STAT_LABELS,
    "ssr",
    "df_resid",
    "n_periods",
    "nobs_transformed",
    "ar1_z",
    "ar2_z",
    "hansen",
    "hansen_df",
    "sargan",
    "sargan_df",
}
INTEGER_STATS = {
    "nobs",
    "n_entities",
    "n_clusters",
    "n_instruments",
    "n_groups",
    "n_periods",
    "singletons",
}


class ColumnGroup(StrictModel):
    label: str
    span: int = Field(ge=1)


class RegressionPanel(StrictModel):
    title: str | None = Field(None, description="Default: 'Panel A: <dependent variable>'.")
    columns: list[str] = Field(min_length=1)


class RegressionTableSpec(TableBase):
    kind: Literal["regression"]
    columns: list[str] = Field(
        default_factory=list, description="Models, in order; a family (over:) adds its members."
    )
    panels: list[RegressionPanel] = Field(
        default_factory=list,
        description="Instead of columns: row blocks (Panel A, B, …) stacked over the same "
        "column layout, each with its own models.",
    )
    column_labels: list[str] | None = Field(
        None, description="A header line naming each column (family members default to values)."
    )
    groups: list[ColumnGroup] = Field(
        default_factory=list, description="Spanning column groups over the columns."
    )
    dependent_row: bool = True
    keep: list[str] | None = Field(
        None, description="Only these coefficient rows (glob patterns: 'yr*')."
    )
    drop: list[str] = Field(
        default_factory=list, description="Coefficient rows left out (glob patterns)."
    )
    order: list[str] | None = Field(
        None, description="These rows first, in this order (glob patterns)."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Row labels for this table.")
    constant: bool = Field(True, description="Print the constant (_cons) row.")
    show: Literal["se", "t"] = "se"
    se_position: Literal["below", "beside"] = "below"
    stars: list[float] = Field(default_factory=lambda: [0.1, 0.05, 0.01])
    indicators: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Row label → variables ($group allowed); Yes where a model has them all. "
        "Their coefficient rows are left out.",
    )
    effects: dict[str, str] = Field(
        default_factory=lambda: {"Entity FE": "entity", "Time FE": "time"},
        description="Row label → absorbed effect (entity, time, a column or a#b); Yes where a "
        "model absorbs it. Effects the models absorb beyond these get a row of their own "
        "('Industry × Year FE').",
    )
    stats: list[str] = Field(default_factory=lambda: ["nobs", "r2"])
    stat_labels: dict[str, str] = Field(default_factory=dict)
    r2_fe: Literal["within", "lsdv"] = Field(
        "within", description="Which R² the 'r2' row prints for fixed-effects models."
    )

    @field_validator("stars")
    @classmethod
    def _star_levels(cls, levels: list[float]) -> list[float]:
        if any(not 0 < level < 1 for level in levels):
            raise ValueError("star levels are p-values between 0 and 1")
        return sorted(levels, reverse=True)

    @field_validator("stats")
    @classmethod
    def _known_stats(cls, stats: list[str]) -> list[str]:
        for stat in stats:
            if stat not in KNOWN_STATS and "." not in stat:
                hint = did_you_mean(stat, KNOWN_STATS)
                raise ValueError(
                    f"unknown statistic '{stat}'"
                    + (f" ({hint})" if hint else "")
                    + "; a dotted name such as indirect.sobel_z reads a model's extra results"
                )
        return stats

    @model_validator(mode="after")
    def _columns_or_panels(self) -> RegressionTableSpec:
        if bool(self.columns) == bool(self.panels):
            raise ValueError("a regression table needs either columns or panels")
        return self


def _models(spec: RegressionTableSpec) -> list[str]:
    return list(spec.columns) + [c for p in spec.panels for c in p.columns]


def _columns(columns: list[str], results: ResultSet, ctx: TableContext) -> list[str]:
    names: list[str] = []
    for column in columns:
        names.extend(results.expand(column))
    missing = [n for n in names if n not in results.models]
    if missing:
        raise SpecError(
            f"table '{ctx.name}' needs model(s) not fitted in this run: {', '.join(missing)}",
            code="reference",
            path=f"tables.{ctx.name}.columns",
        )
    return names


def _label(name: str, spec: RegressionTableSpec, ctx: TableContext, model: ModelResult | None):
    if name in spec.labels:
        return spec.labels[name]
    if name == CONSTANT:
        return "Constant"
    if model is not None and name in model.coefficient_labels:
        return model.coefficient_labels[name]
    return ctx.labels.get(name, name)


def _stat_value(model: ModelResult, name: str, r2_fe: str) -> float | None:
    if name == "nobs":
        return float(model.nobs)
    if name == "r2":
        key = "r2" if "r2" in model.stats else f"r2_{r2_fe}"
        return model.stats.get(key)
    if name in model.stats:
        return model.stats[name]
    value: Any = model.extra
    for part in name.removeprefix("extra.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatchcase(name, p) for p in patterns)


def _row_order(spec: RegressionTableSpec, models: list[ModelResult], hidden: set[str]) -> list[str]:
    seen: list[str] = []
    for model in models:
        for name in model.coefficients:
            if name not in seen:
                seen.append(name)
    rows = [n for n in seen if n != CONSTANT] + ([CONSTANT] if CONSTANT in seen else [])
    if spec.keep is not None:
        rows = [n for n in rows if _matches(n, spec.keep)]
    else:
        rows = [n for n in rows if n not in hidden]
    rows = [n for n in rows if not _matches(n, spec.drop) and (spec.constant or n != CONSTANT)]
    if spec.order:
        first = [n for pattern in spec.order for n in rows if fnmatchcase(n, pattern)]
        first = list(dict.fromkeys(first))
        rows = first + [n for n in rows if n not in first]
    return rows


def build_regression(spec: RegressionTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    panels = spec.panels or [RegressionPanel(columns=spec.columns)]
    families = [[results.models[n] for n in _columns(p.columns, results, ctx)] for p in panels]
    models = families[0]
    n = len(models)
    if any(len(f) != n for f in families):
        raise SpecError(
            "every panel needs as many columns as the first: "
            + ", ".join(str(len(f)) for f in families),
            code="schema",
            path=f"tables.{ctx.name}.panels",
        )
    header = _header(spec, results, ctx, panels[0].columns, models)
    blocks: list[Block] = []
    for i, (panel, family) in enumerate(zip(panels, families, strict=True)):
        title = None
        if spec.panels:
            dependent = family[0].dependent
            title = panel.title or f"Panel {chr(65 + i)}: {ctx.labels.get(dependent, dependent)}"
        blocks += _body(spec, ctx, family, title)
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=tuple(header),
        blocks=tuple(blocks),
        n_columns=n,
        notes=tuple(_notes(spec, [m for f in families for m in f])),
    )


def _header(
    spec: RegressionTableSpec,
    results: ResultSet,
    ctx: TableContext,
    columns: list[str],
    models: list[ModelResult],
) -> list[HeaderRow]:
    names = _columns(columns, results, ctx)
    n = len(models)
    header: list[HeaderRow] = []
    if spec.groups:
        if sum(g.span for g in spec.groups) != n:
            raise SpecError(
                f"column groups span {sum(g.span for g in spec.groups)} columns, the table has {n}",
                code="schema",
                path=f"tables.{ctx.name}.groups",
            )
        header.append(
            HeaderRow("", tuple(Cell(g.label, span=g.span) for g in spec.groups), rule_under=True)
        )
    header.append(HeaderRow("", tuple(Cell(f"({i + 1})") for i in range(n))))
    if spec.dependent_row and not spec.panels:
        header.append(
            HeaderRow("", tuple(Cell(ctx.labels.get(m.dependent, m.dependent)) for m in models))
        )
    column_labels = spec.column_labels
    members = [name.rsplit(".", 1)[0] in results.families for name in names]
    if column_labels is None and (any(members) or any(m.label for m in models)):
        # a model's own label, else a family member's value (East, Central, …)
        column_labels = [
            m.label or (name.rsplit(".", 1)[-1] if member else "")
            for name, m, member in zip(names, models, members, strict=True)
        ]
    if column_labels is not None:
        if len(column_labels) != n:
            raise SpecError(
                f"column_labels has {len(column_labels)} entries, the table has {n} columns",
                code="schema",
                path=f"tables.{ctx.name}.column_labels",
            )
        header.append(HeaderRow("", tuple(Cell(t) for t in column_labels)))
    return header


def _body(
    spec: RegressionTableSpec, ctx: TableContext, models: list[ModelResult], title: str | None
) -> list[Block]:
    """Coefficient, indicator and statistic rows of one set of columns."""
    indicator_vars = {label: _expand(vars_, ctx) for label, vars_ in spec.indicators.items()}
    hidden = {v for vars_ in indicator_vars.values() for v in vars_}
    coef_rows: list[Row] = []
    for name in _row_order(spec, models, hidden):
        owner = next((m for m in models if name in m.coefficients), None)
        label = _label(name, spec, ctx, owner)
        main, below = [], []
        for m in models:
            coef = m.coefficients.get(name)
            if coef is None:
                main.append(Cell())
                below.append(Cell())
                continue
            second = coef.std_error if spec.show == "se" else coef.stat
            paren = f"({fmt.number(second, spec.digits)})"
            star = fmt.stars(coef.p_value, spec.stars)
            if spec.se_position == "beside":
                main.append(Cell(f"{fmt.number(coef.estimate, spec.digits)} {paren}", star))
            else:
                main.append(Cell(fmt.number(coef.estimate, spec.digits), star))
                below.append(Cell(paren))
        coef_rows.append(Row(label, tuple(main), "coef"))
        if spec.se_position == "below":
            coef_rows.append(Row("", tuple(below), "se"))

    indicator_rows = [
        Row(
            label,
            tuple(Cell("Yes" if set(vars_) <= set(m.regressors) else "No") for m in models),
            "indicator",
        )
        for label, vars_ in indicator_vars.items()
    ]
    if any(m.effects for m in models):
        rows = {label: _effect_key(effect) for label, effect in spec.effects.items()}
        for m in models:
            for effect in m.effects:
                key = _effect_key(effect)
                if key not in rows.values():
                    rows[_effect_label(effect, ctx)] = key
        indicator_rows += [
            Row(
                label,
                tuple(
                    Cell("Yes" if key in {_effect_key(e) for e in m.effects} else "No")
                    for m in models
                ),
                "indicator",
            )
            for label, key in rows.items()
        ]
    stat_rows = []
    for stat in spec.stats:
        values = [_stat_value(m, stat, spec.r2_fe) for m in models]
        cells = tuple(
            Cell(fmt.integer(v) if stat in INTEGER_STATS else fmt.number(v, spec.digits))
            for v in values
        )
        stat_rows.append(
            Row(spec.stat_labels.get(stat, STAT_LABELS.get(stat, stat)), cells, "stat")
        )
    blocks = [Block(tuple(coef_rows), title=title, rule_before=True)]
    if indicator_rows:
        blocks.append(Block(tuple(indicator_rows)))
    if stat_rows:
        blocks.append(Block(tuple(stat_rows)))
    return blocks


def _effect_key(effect: str) -> frozenset[str]:
    """``industry#year`` and ``year#industry`` are one effect."""
    return frozenset(part.strip() for part in effect.split("#"))


def _effect_label(effect: str, ctx: TableContext) -> str:
    """'Industry × Year FE' from ``industry#year``: variable labels, else capitalised names."""
    parts = []
    for part in (p.strip() for p in effect.split("#")):
        label = ctx.labels.get(part, part)
        parts.append(label[:1].upper() + label[1:])
    return " × ".join(parts) + " FE"


def _expand(names: list[str], ctx: TableContext) -> list[str]:
    out: list[str] = []
    for name in names:
        out.extend(ctx.groups.get(name[1:], ()) if name.startswith("$") else [name])
    return out


def _notes(spec: RegressionTableSpec, models: list[ModelResult]) -> list[str]:
    kinds = sorted({m.se_type for m in models if m.se_type})
    what = "Standard errors" if spec.show == "se" else f"{models[0].stat_name}-statistics"
    notes = []
    if kinds and spec.show == "se":
        notes.append(f"{what} ({'; '.join(kinds)}) in parentheses.")
    elif spec.show == "t":
        notes.append(f"{what} in parentheses.")
    notes.append(fmt.star_note(spec.stars))
    return [*notes, *spec.notes]


TABLES.register("regression")(
    TableKind("regression", RegressionTableSpec, build_regression, _models)
)
