"""Options of the ``regression`` table kind, checked without building tables; the builder is in
``specrun.tables.regression``, imported when a table of this kind is first built."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator, model_validator

from specrun.errors import SpecError, did_you_mean
from specrun.registry import Lazy
from specrun.spec.models import StrictModel, new_list
from specrun.tables.base import TABLES, Stars, TableBase, TableKind
from specrun.tables.patterns import PATTERN_LANGUAGE, Parts, check_pattern, matches
from specrun.tables.statistics import KNOWN_STATS

# Names users bring from esttab/outreg2/modelsummary, answered with specrun's own
STAT_ALIASES = {
    "N": "nobs",
    "n": "nobs",
    "obs": "nobs",
    "nobs_total": "nobs",
    "r2_a": "r2_adj",
    "adj_r2": "r2_adj",
    "ar2": "r2_adj",
    "r2_w": "r2_within",
    "N_g": "n_entities",
    "N_clust": "n_clusters",
    # R: modelsummary's gof names and fixest's fitstat codes (etable)
    "r.squared": "r2",
    "adj.r.squared": "r2_adj",
    "r2.within": "r2_within_hdfe",
    "within.r.squared": "r2_within_hdfe",
    "wr2": "r2_within_hdfe",
    "my": "mean_y",
    "ivf": "first_f",
    "ivwald": "kp_f",
    "nobs.total": "nobs",
}


def _check_stat(name: str) -> str:
    """A statistic name a table may print: a known one, or a dotted path into ``extra``."""
    if name in KNOWN_STATS or ("." in name and name not in STAT_ALIASES):
        return name
    hint = (
        f"did you mean '{STAT_ALIASES[name]}'?"
        if name in STAT_ALIASES
        else did_you_mean(name, KNOWN_STATS)
    )
    valid = ", ".join(sorted(KNOWN_STATS))
    raise ValueError(
        f"unknown statistic '{name}'"
        + (f" ({hint})" if hint else "")
        + f"; valid: {valid}, or a dotted name such as indirect.sobel_z (a model's extra results)"
    )


StatName = Annotated[
    str,
    AfterValidator(_check_stat),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": sorted(KNOWN_STATS)},
                {"type": "string", "pattern": "^[^.]+\\..+$"},
            ]
        }
    ),
]


class ColumnGroup(StrictModel):
    label: str = Field(description="Text of the spanning header (e.g. Two-way fixed effects).")
    span: int = Field(ge=1, description="How many consecutive columns the header covers.")


class RegressionPanel(StrictModel):
    title: str | None = Field(
        None,
        description="Heading after the panel's letter ('Panel A: <title>'; a title that has "
        "its letter, 'Panel B: …', is kept). Default: the dependent variable's label.",
    )
    columns: list[str] = Field(
        min_length=1, description="Models of this panel, one per column, in order."
    )


class RegressionTableSpec(TableBase):
    """``kind: regression``: one column per model (esttab/outreg2 layout), statistic rows below."""

    kind: Literal["regression"]
    columns: list[str] = Field(
        default_factory=new_list, description="Models, in order; a family (over:) adds its members."
    )
    panels: list[RegressionPanel] = Field(
        default_factory=new_list,
        description="Instead of columns: row blocks (Panel A, B, …) stacked over the same "
        "column layout, each with its own models.",
    )
    column_labels: list[str] | None = Field(
        None,
        description="A header line naming each column (an over: family's members default to "
        "their values, as 'label = value' where the spec labels a numeric over: column).",
    )
    groups: list[ColumnGroup] = Field(
        default_factory=new_list, description="Spanning column groups over the columns."
    )
    dependent_row: bool = Field(
        True, description="Print a header row naming each column's dependent variable."
    )
    keep: list[str] | None = Field(
        None,
        description=f"Only these coefficient rows (i.region: its level rows); {PATTERN_LANGUAGE}.",
    )
    drop: list[str] = Field(
        default_factory=new_list, description=f"Coefficient rows left out; {PATTERN_LANGUAGE}."
    )
    order: list[str] | None = Field(
        None, description=f"These rows first, in this order; {PATTERN_LANGUAGE}."
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Row labels for this table, by name or pattern; rows built from terms are "
        "otherwise labelled from the variables' labels.",
    )
    constant: bool = Field(True, description="Print the constant (_cons) row.")
    base_levels: bool = Field(
        False,
        description="A row for each factor's base level, marked (base), before its other "
        "levels (Stata's baselevels option).",
    )
    show: Literal["se", "t", "p", "ci"] = Field(
        "se",
        description="Under (or beside) each estimate: se (standard error), t (t or z "
        "statistic), p (p-value) or ci (confidence interval at ci_level, from each model's "
        "own reference distribution: t with G − 1 or residual df, else normal).",
    )
    ci_level: float = Field(0.95, gt=0, lt=1, description="Level of show: ci intervals.")
    scale: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Coefficient → positive factor its estimate, standard error and interval "
        "are multiplied by (a regressor in large units: {gdp: 1000}); noted in the table.",
    )
    row_digits: dict[str, int] = Field(
        default_factory=dict,
        description="Coefficient → decimals of its estimate and second line (digits elsewhere).",
    )
    notation: Literal["fixed", "scientific"] = Field(
        "fixed", description="Coefficients in fixed decimals or scientific notation (1.234e−05)."
    )
    se_position: Literal["below", "beside"] = Field(
        "below",
        description="Where the show: value goes: below the estimate (one more row) or beside "
        "it in the same cell.",
    )
    stars: Stars
    indicators: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Row label → variables or terms ($group, i.region allowed); Yes where a "
        "model has them all ('Region FE': [i.region]). Their coefficient rows are left out.",
    )
    effects: dict[str, str] = Field(
        default_factory=lambda: {"Entity FE": "entity", "Time FE": "time"},
        description="Row label → absorbed effect (entity, time, a column or a#b); Yes where a "
        "model absorbs it. Effects the models absorb beyond these get a row of their own "
        "('Industry × Year FE').",
    )
    stats: list[StatName] = Field(
        default_factory=lambda: ["nobs", "r2"],
        description="Statistic rows under the coefficients, by name (see Table statistics), or "
        "a dotted name into a model's extra results (indirect.sobel_z).",
    )
    stat_labels: dict[str, str] = Field(
        default_factory=dict, description="Statistic name → row label replacing the default."
    )
    r2_fe: Literal["within", "within_hdfe", "lsdv"] = Field(
        "within",
        description="Which R² the 'r2' row prints for fixed-effects models: within (xtreg's: "
        "with entity and time effects, the time effects count as explained), within_hdfe "
        "(every absorbed set swept, as fixest, plm and reghdfe) or lsdv (with the effects).",
    )

    @field_validator("keep", "drop", "order")
    @classmethod
    def _patterns(cls, patterns: list[str] | None) -> list[str] | None:
        for pattern in patterns or []:
            check_pattern(pattern)
        return patterns

    @field_validator("labels")
    @classmethod
    def _label_patterns(cls, labels: dict[str, str]) -> dict[str, str]:
        for pattern in labels:
            check_pattern(pattern)
        return labels

    @field_validator("stars")
    @classmethod
    def _star_levels(cls, levels: list[float]) -> list[float]:
        if any(not 0 < level < 1 for level in levels):
            raise ValueError("star levels are p-values between 0 and 1")
        return sorted(levels, reverse=True)

    @model_validator(mode="after")
    def _columns_or_panels(self) -> RegressionTableSpec:
        if bool(self.columns) == bool(self.panels):
            raise ValueError("a regression table needs either columns or panels")
        return self


def stat_of_no_estimator(
    stat: str, estimators: list[str], attaching: frozenset[str]
) -> tuple[str, str | None] | None:
    """The message and hint for a registry statistic that none of ``estimators`` (the
    estimators of a table's columns) ever reports, known from the spec alone; None when one
    reports it, when a test of another model may attach it to a column (``attaching``: a
    Hausman test's ``hausman_p``), or for a dotted name (checked once the models are fitted).
    The words of ``specrun.tables.regression``'s check after fitting, so that ``validate``
    reports what ``run`` would only after fitting every model."""
    import difflib

    from specrun.tables.statistics import STATISTICS

    known = STATISTICS.get(stat)
    if known is None or "*" in known.estimators:
        return None
    if any(e in known.estimators or e in attaching for e in estimators):
        return None
    if any(e in attaching for e in known.estimators):
        return None
    carried = sorted(
        name
        for name, other in STATISTICS.items()
        if "*" in other.estimators or any(e in other.estimators for e in estimators)
    )
    close = difflib.get_close_matches(stat, carried, n=1)
    hint = (
        f"did you mean '{close[0]}' ({STATISTICS[close[0]].source})?"
        if close
        else did_you_mean(stat, carried)
    )
    message = (
        f"no column of this table has a statistic '{stat}' ({known.source}): "
        f"{', '.join(known.estimators)} report it, the columns are "
        f"{', '.join(sorted(set(estimators)))}"
    )
    return message, hint


def _models(spec: RegressionTableSpec) -> list[str]:
    return list(spec.columns) + [c for p in spec.panels for c in p.columns]


TABLES.register("regression")(
    TableKind(
        "regression",
        RegressionTableSpec,
        Lazy("specrun.tables.regression:build_regression"),
        _models,
    )
)


CONSTANT = "_cons"  # the constant's coefficient name (Stata's), as the estimators name it


def kept_rows(
    spec: RegressionTableSpec,
    names: Sequence[str],
    hidden: Collection[str],
    parts: Mapping[str, Parts] | None = None,
) -> list[str]:
    """The coefficient ``names`` a regression table prints a row for, in their order: those
    ``keep:`` matches (all but the ``hidden`` ones of ``indicators:`` without it), less those
    ``drop:`` matches and the constant under ``constant: false``. ``parts`` are the names'
    term parts where known (``i.region`` matches its level rows by them). The one rule of the
    table's rows and of ``validate``'s check that some are left."""
    known = parts or {}

    def hit(name: str, patterns: Sequence[str]) -> bool:
        return matches(name, patterns, known.get(name))

    if spec.keep is not None:
        rows = [n for n in names if hit(n, spec.keep)]
    else:
        rows = [n for n in names if not hit(n, sorted(hidden))]
    return [n for n in rows if not hit(n, spec.drop) and (spec.constant or n != CONSTANT)]


def no_rows_error(
    spec: RegressionTableSpec, table: str, coefficients: Sequence[str], hidden: Collection[str]
) -> SpecError:
    """The error of a regression table whose ``keep:``/``drop:`` leave no coefficient row
    (``kept_rows`` is empty): located at its ``keep:`` (at ``drop:`` when it has no keep),
    naming what else left rows out and the ``coefficients`` there are."""
    option = "keep" if spec.keep is not None else "drop"
    also = [
        what
        for what, used in (
            ("drop:", option == "keep" and bool(spec.drop)),
            ("indicators:", bool(hidden) and spec.keep is None),
            ("constant: false", not spec.constant),
        )
        if used
    ]
    return SpecError(
        f"{option}: leaves no coefficient row"
        + (f" (with {' and '.join(also)})" if also else "")
        + ": the table would print no coefficient",
        code="reference",
        path=f"tables.{table}.{option}",
        hint="the coefficients are: " + ", ".join(coefficients),
    )
