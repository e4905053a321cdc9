"""Marginal-effect tables: dy/dx of a regressor at chosen moderator values (Stata's
``margins, dydx(x) at(z = (…))``), with delta-method standard errors and the Johnson–Neyman
interval. The numbers come from ``specrun.kernels.margins``; ``figures.margins`` draws them."""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field, field_validator

from specrun.data.terms import Component, parse_item, ts_prefix
from specrun.errors import SpecError
from specrun.kernels.margins import Key, Margins, margins_of
from specrun.results import ModelResult, ResultSet, TermPart
from specrun.tables import format as fmt
from specrun.tables.base import TABLES, TableBase, TableContext, TableKind
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.terms import part_label

_PERCENTILE = re.compile(r"^p(\d{1,3})$")
MarginValue = float | str


def continuous_key(text: str) -> Key:
    """The (variable, shift, diff) of a one-variable term such as ``Dige`` or ``L.STR``.
    Raises ``ValueError`` (for pydantic) otherwise."""
    try:
        terms = parse_item(text)
    except SpecError as exc:
        raise ValueError(exc.message) from None
    c: Component = terms[0].components[0]
    if len(terms) != 1 or terms[0].is_interaction or c.factor:
        raise ValueError(f"'{text}' must name one continuous variable (L./F./D. allowed)")
    return (c.variable, c.shift, c.diff)


def check_at_values(values: list[MarginValue]) -> list[MarginValue]:
    """Validate ``at`` values: numbers, ``p0``…``p100`` or ``mean``; raises ``ValueError``."""
    for value in values:
        if isinstance(value, str):
            match = _PERCENTILE.match(value)
            if value != "mean" and (match is None or int(match.group(1)) > 100):
                raise ValueError(f"'{value}' is not a number, p0…p100 or mean")
    return values


class MarginsBase(TableBase):
    """Keys shared by the margins table and figure: the model and the regressor."""

    model: str = Field(description="The fitted model (ols or panel_fe, with its interactions).")
    dydx: str = Field(description="The regressor whose effect is shown (Dige, L.Dige).")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")

    @field_validator("dydx")
    @classmethod
    def _dydx(cls, value: str) -> str:
        continuous_key(value)
        return value


class MarginsTableSpec(MarginsBase):
    """``margins, dydx(x) at(z = (…))``: one row per combination of the ``at`` values."""

    kind: Literal["margins"]
    at: dict[str, list[MarginValue]] = Field(
        min_length=1,
        description="Moderator → values: numbers, percentiles of the estimation sample "
        "(p10, p50, p90) or mean.",
    )
    johnson_neyman: bool = Field(True, description="Note the Johnson–Neyman interval.")
    digits: int = Field(3, ge=0, le=10)
    stars: list[float] = Field(default_factory=lambda: [0.1, 0.05, 0.01])

    @field_validator("at")
    @classmethod
    def _at(cls, value: dict[str, list[MarginValue]]) -> dict[str, list[MarginValue]]:
        for key, values in value.items():
            continuous_key(key)
            if not values:
                raise ValueError(f"at: {key} needs at least one value")
            check_at_values(values)
        return value


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


def describe_regions(margins: Margins, label: str, digits: int) -> str:
    """The Johnson–Neyman sentence of a table note or figure caption."""
    if margins.significant is None or margins.observed is None:
        return ""
    low, high = margins.observed
    pct = f"{(1 - margins.level) * 100:g}%"
    if not margins.significant:
        return (
            f"Johnson–Neyman: the effect is not significant at {pct} anywhere in the observed "
            f"range of {label}."
        )
    spans = " and ".join(
        f"[{fmt.number(a, digits)}, {fmt.number(b, digits)}]" for a, b in margins.significant
    )
    return (
        f"Johnson–Neyman: significant at {pct} for {label} in {spans} (observed range "
        f"[{fmt.number(low, digits)}, {fmt.number(high, digits)}])."
    )


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
            parts.append(f"{labels[k]} = {fmt.number(value, d)}" + (f" ({tag})" if tag else ""))
        rows.append(
            Row(
                ", ".join(parts),
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
    header = HeaderRow(
        "",
        tuple(
            Cell(t)
            for t in (
                "dy/dx",
                "Std. err.",
                stat,
                "p-value",
                f"{spec.level:.0%} CI",
            )
        ),
    )
    x_label = part_label(TermPart(*continuous_key(spec.dydx)), ctx.labels)
    y_label = ctx.labels.get(model.dependent, model.dependent)
    notes = [
        f"Marginal effect of {x_label} on {y_label} (model {spec.model}); delta-method standard "
        f"errors from the model's covariance ({model.se_type or 'conventional'})"
        + (f", t with {result.df:g} df." if result.df else ", normal."),
    ]
    centered = model.extra.get("centered", {})
    if centered:
        notes.append(
            "Moderator values are in original units; the model centres "
            + ", ".join(ctx.labels.get(c, c) for c in centered)
            + " at the estimation-sample mean."
        )
    if spec.johnson_neyman and len(written) == 1:
        sentence = describe_regions(result, next(iter(labels.values())), d)
        if sentence:
            notes.append(sentence)
    notes.append(fmt.star_note(spec.stars))
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


TABLES.register("margins")(
    TableKind("margins", MarginsTableSpec, build_margins, lambda s: [s.model], ("ols", "panel_fe"))
)
