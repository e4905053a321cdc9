"""Coefficient plots: one variable's estimate and confidence interval across a family of models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from specrun.errors import SpecError
from specrun.figures.base import axis_title, figure_title, interval_text
from specrun.figures.specs.coefplot import CoefplotSpec
from specrun.results import ModelResult, ResultSet
from specrun.tables.base import TableContext
from specrun.tables.format import coefficient_critical_value
from specrun.tables.terms import term_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class CoefplotData:
    """One point per model: its label, the estimate and the half-width of its interval."""

    labels: list[str]
    estimates: np.ndarray  # (models,)
    half_widths: np.ndarray  # (models,)
    variable: str = ""  # the coefficient's printed name (the y axis' label)


def coefplot_data(spec: CoefplotSpec, results: ResultSet, ctx: TableContext) -> CoefplotData:
    """The estimates of ``spec.variable`` across the models named. Raises ``SpecError`` for a
    model without that coefficient."""
    names = [m for name in spec.models for m in results.expand(name)]
    rows = []
    for name in names:
        model = results.models.get(name)
        coef = model.coefficients.get(spec.variable) if model else None
        if coef is None:
            raise SpecError(
                f"model '{name}' has no coefficient '{spec.variable}'",
                code="reference",
                path=f"figures.{ctx.name}.variable",
            )
        rows.append(
            (
                model.label or ctx.member_labels.get(name) or name.split(".", 1)[-1],
                coef.estimate,
                coefficient_critical_value(model, spec.variable, spec.level) * coef.std_error,
            )
        )
    labels = [r[0] for r in rows]
    return CoefplotData(
        labels,
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows]),
        _variable_label(spec.variable, [results.models.get(n) for n in names], ctx),
    )


def _variable_label(variable: str, models: list[ModelResult | None], ctx: TableContext) -> str:
    """The coefficient's printed name: a mediation path's label (``a·b: indirect effect``,
    in the table's language) when every model is a mediation model giving it the same label,
    else the name its estimator gives it when every model gives the same one (``DID`` for a
    ``did`` model's ``did``, ``t+1`` for an event study's ``rel+1``: the regression table's
    row label), else, for a factor level, its term's label ("Region: West", the level's value
    label from the data where it has one), else the variable's label."""
    from specrun.tables.mediation import path_row_label

    if models and all(m is not None and m.estimator == "mediation" for m in models):
        paths = {path_row_label(m, variable, ctx) for m in models if m is not None}
        if len(paths) == 1:
            return paths.pop()
    given = {m.coefficient_labels.get(variable) for m in models if m is not None}
    if len(given) == 1 and None not in given:
        return given.pop()
    parts = next((m.terms[variable] for m in models if m is not None and variable in m.terms), ())
    if any(p.level is not None for p in parts):  # a factor level: "Region: West", as a table
        return term_label(parts, ctx.labels, ctx.value_labels)
    return ctx.labels.get(variable, variable)


def draw_coefplot(spec: CoefplotSpec, data: CoefplotData, ctx: TableContext) -> Figure:
    """Estimates with their intervals, a dashed zero line, one tick per model."""
    from matplotlib.figure import Figure

    labels, est, half = data.labels, data.estimates, data.half_widths
    figure = Figure(figsize=(spec.width, spec.height))
    axes = figure.subplots()
    positions = np.arange(len(labels))
    axes.errorbar(positions, est, yerr=half, fmt="o", color="black", capsize=4)
    axes.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xticks(positions, labels)
    interval = interval_text(spec.level, ctx.language)
    interval = interval if ctx.language == "zh" else f" {interval}"
    label = data.variable or ctx.labels.get(spec.variable, spec.variable)
    axes.set_ylabel(axis_title(label, interval, spec.height))
    if spec.title:
        axes.set_title(figure_title(spec.title, spec.width))
    figure.tight_layout()
    return figure
