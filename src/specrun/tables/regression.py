"""Regression tables: one column per model, coefficients with stars over their standard errors.

Indicator rows (Controls, Entity FE, Time FE) are derived from what each model contains, never
typed; statistic rows are read by name from the results (``nobs``, ``r2``, ``r2_within``,
``n_entities``, ``extra.ar2_p`` …).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from typing import Any

from specrun.data.terms import ts_prefix
from specrun.errors import SpecError, SpecErrors, did_you_mean
from specrun.results import ModelResult, ResultSet, TermPart, fits_exactly
from specrun.stored import ModelStore
from specrun.tables import format as fmt
from specrun.tables import text
from specrun.tables.base import TableContext
from specrun.tables.ir import Block, Cell, HeaderRow, Row, Table
from specrun.tables.mediation import path_row_label
from specrun.tables.patterns import check_patterns, matches
from specrun.tables.specs.regression import (
    CONSTANT,
    RegressionPanel,
    RegressionTableSpec,
    kept_rows,
    no_rows_error,
)
from specrun.tables.statistics import (
    ATTACHING_ESTIMATORS,
    INTEGER_STATS,
    KNOWN_STATS,
    STAT_DIGITS,
    STAT_LABELS,
)
from specrun.tables.terms import term_label


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


def _label(
    name: str,
    spec: RegressionTableSpec,
    ctx: TableContext,
    model: ModelResult | None,
    symbolic: frozenset[str] = frozenset(),
):
    if name in spec.labels:
        return spec.labels[name]
    parts = model.terms.get(name) if model is not None else None
    for pattern, given in spec.labels.items():
        if matches(name, [pattern], parts):
            return given
    if name == CONSTANT:
        return ctx.text("Constant")
    regimes = model.extra.get("regimes") if model is not None else None
    if model is not None and isinstance(regimes, dict) and name in regimes:
        return _regime_label(model, regimes[name], ctx, symbolic=name in symbolic)
    if model is not None and model.estimator == "mediation" and name in model.coefficient_labels:
        return path_row_label(model, name, ctx)
    if model is not None and name in model.coefficient_labels:
        return model.coefficient_labels[name]
    if parts and (len(parts) > 1 or parts[0].level is not None or parts[0].shift or parts[0].diff):
        return term_label(parts, ctx.labels, ctx.value_labels)
    return ctx.labels.get(name, name)


def _regime_label(
    model: ModelResult, regime: dict[str, Any], ctx: TableContext, *, symbolic: bool = False
) -> str:
    """A threshold model's regime slope with its variable's and q's labels, as the
    ``threshold_lr`` figure labels q (the fit's own label names the columns). ``symbolic``
    writes the bounds as γ₁ < γ₂ < … (the model's thresholds in ascending order), for a row
    whose columns split at other thresholds (``_symbolic_regimes``)."""
    from specrun.estimators.threshold import regime_label

    variable, q = str(regime["variable"]), str(model.extra["q"])
    lower, upper = regime["lower"], regime["upper"]
    if symbolic:
        bounds = sorted(
            {
                b
                for r in model.extra["regimes"].values()
                if r.get("variable") == variable
                for b in (r.get("lower"), r.get("upper"))
                if b is not None
            }
        )
        lower = None if lower is None else f"γ{_SUBSCRIPTS[bounds.index(lower) + 1]}"
        upper = None if upper is None else f"γ{_SUBSCRIPTS[bounds.index(upper) + 1]}"
    return regime_label(
        ctx.labels.get(variable, variable),
        lower,
        upper,
        ctx.labels.get(q, q),
        strict=model.extra.get("convention") == "hansen1999",
    )


_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


def _symbolic_regimes(families: list[list[ModelResult]]) -> frozenset[str]:
    """Regime slopes (``c1_r2``) whose columns split at different thresholds or by another
    convention: a row labelled with one column's values (I(0.0157≤d<0.5362)) would misname
    the others' regimes, so such a row names its bounds γ₁ < γ₂ < … and a note says they are
    each column's own thresholds."""
    seen: dict[str, set[tuple[Any, ...]]] = {}
    for family in families:
        for model in family:
            regimes = model.extra.get("regimes")
            if not isinstance(regimes, dict):
                continue
            for name, regime in regimes.items():
                if name in model.coefficients:
                    key = (
                        regime.get("lower"),
                        regime.get("upper"),
                        model.extra.get("q"),
                        model.extra.get("convention"),
                    )
                    seen.setdefault(name, set()).add(key)
    return frozenset(name for name, keys in seen.items() if len(keys) > 1)


def _attached(results: ResultSet) -> dict[str, dict[str, float]]:
    """Statistics a test reports about other models (a Hausman test's ``hausman_p`` for its
    fixed-effects model), by the model they describe: printed in that model's column. Only the
    tests' results are read whole: a cached model is known by its core (a multiverse's
    thousands of models stay undecoded, ``specrun.stored``)."""
    models = results.models
    brief = models.brief if isinstance(models, ModelStore) else models.get
    found: dict[str, dict[str, float]] = {}
    for name in models:
        core = brief(name)
        if core is None or core.estimator not in ATTACHING_ESTIMATORS:
            continue
        for target, stats in (models[name].extra.get("attach") or {}).items():
            found.setdefault(target, {}).update(stats)
    return found


def _stat_value(
    model: ModelResult, name: str, r2_fe: str, attached: Mapping[str, float] | None = None
) -> float | None:
    if attached and name in attached and name not in model.stats:
        return attached[name]
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


def _matches(name: str, patterns: list[str], parts: dict[str, Any]) -> bool:
    return matches(name, patterns, parts.get(name))


def _row_order(spec: RegressionTableSpec, models: list[ModelResult], hidden: set[str]) -> list[str]:
    seen: list[str] = []
    parts: dict[str, Any] = {}
    for model in models:
        for name in model.coefficients:
            if name not in seen:
                seen.append(name)
        parts.update(model.terms)
    rows = [n for n in seen if n != CONSTANT] + ([CONSTANT] if CONSTANT in seen else [])
    rows = kept_rows(spec, rows, hidden, parts)
    if spec.order:
        first = [n for pattern in spec.order for n in rows if _matches(n, [pattern], parts)]
        first = list(dict.fromkeys(first))
        rows = first + [n for n in rows if n not in first]
    return rows


def _check_rows_left(
    spec: RegressionTableSpec,
    families: list[list[ModelResult]],
    ctx: TableContext,
    coefficients: list[str],
) -> None:
    """Every panel keeps a coefficient row: ``keep:`` and ``drop:`` (with the rows
    ``indicators:`` and ``constant: false`` leave out) that leave none printed an empty table
    without a word. Raises ``no_rows_error`` (at ``keep:``, else ``drop:``); ``validate``
    says it before fitting where the models' coefficient names follow from their specs."""
    if spec.keep is None and not spec.drop:
        return
    hidden = {v for vars_ in spec.indicators.values() for v in _expand(vars_, ctx)}
    if not all(_row_order(spec, family, hidden) for family in families):
        raise no_rows_error(spec, ctx.name, coefficients, hidden)


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
    coefficients = list(dict.fromkeys(c for f in families for m in f for c in m.coefficients))
    term_parts = {n: p for f in families for m in f for n, p in m.terms.items()}
    unmatched: list[SpecError] = []
    # a labels: key that matches nothing (a misspelt name) left its row unlabelled, silently
    for option in ("keep", "drop", "order", "labels"):
        try:
            check_patterns(
                list(getattr(spec, option) or []),
                coefficients,
                path=f"tables.{ctx.name}.{option}",
                parts=term_parts,
                keys=option == "labels",
            )
        except SpecError as exc:
            unmatched.append(exc)
    if unmatched:  # a misspelt keep:, drop:, order: and labels: are fixed in one go
        raise SpecErrors(unmatched)
    _check_rows_left(spec, families, ctx, coefficients)
    for option in ("scale", "row_digits"):
        for name in getattr(spec, option):
            if name not in coefficients:
                raise SpecError(
                    f"{option}: '{name}' is not a coefficient of this table",
                    code="reference",
                    path=f"tables.{ctx.name}.{option}.{name}",
                    hint=did_you_mean(name, coefficients),
                )
    attached = _attached(results)
    _check_extra_stats(spec, families, ctx, attached)
    header = _header(spec, results, ctx, panels[0].columns, models)
    blocks: list[Block] = []
    for i, (panel, family) in enumerate(zip(panels, families, strict=True)):
        title = None
        if spec.panels:
            dependent = family[0].dependent
            letter, label = chr(65 + i), ctx.labels.get(dependent, dependent)
            title = _panel_title(letter, panel.title or label, ctx.language)
        blocks += _body(spec, ctx, family, title, attached)
    return Table(
        name=ctx.name,
        caption=spec.caption,
        label=spec.label or f"tab:{ctx.name}",
        header=tuple(header),
        blocks=tuple(blocks),
        n_columns=n,
        notes=tuple(_notes(spec, families, ctx)),
    )


def _check_extra_stats(
    spec: RegressionTableSpec,
    families: list[list[ModelResult]],
    ctx: TableContext,
    attached: Mapping[str, Mapping[str, float]],
) -> None:
    """A dotted ``stats:`` name (a path into a model's ``extra``, checked only once the models
    are fitted) that no column of the table carries is an error naming the ones they carry,
    not a row of blanks."""
    models = [m for family in families for m in family]
    for i, stat in enumerate(spec.stats):
        if any(_stat_value(m, stat, spec.r2_fe, attached.get(m.name)) is not None for m in models):
            continue
        if stat in KNOWN_STATS:
            if "stats" not in spec.model_fields_set or _reported_by_some(stat, models):
                # the default rows (nobs, r2), and a statistic these estimators report where
                # the data allow (an over-identification test of a just-identified IV): blank
                continue
            # a statistic none of these estimators ever reports (r2_adj of a fixed-effects
            # model): a row of blanks, unless said
            raise _stat_of_no_column(stat, models, ctx, i, attached)
        carried = sorted({name for m in models for name in _extra_numbers(m.extra)})
        raise SpecError(
            f"no column of this table has a statistic '{stat}'",
            code="reference",
            path=f"tables.{ctx.name}.stats[{i}]",
            hint=did_you_mean(stat, carried)
            or ("its models' extra results: " + ", ".join(carried[:12]) if carried else None),
        )


def _reported_by_some(stat: str, models: list[ModelResult]) -> bool:
    """Whether some column's estimator is one the statistics registry says reports ``stat``."""
    from specrun.tables.statistics import STATISTICS

    return any(m.estimator in STATISTICS[stat].estimators for m in models)


def _stat_of_no_column(
    stat: str,
    models: list[ModelResult],
    ctx: TableContext,
    index: int,
    attached: Mapping[str, Mapping[str, float]],
) -> SpecError:
    """The error for a registry statistic that no column carries: which estimators report it,
    which the columns are, and the closest statistic they do carry (``r2_lsdv_adj``, reghdfe's
    ``e(r2_a)``, for ``r2_adj`` of a fixed-effects model)."""
    import difflib

    from specrun.tables.statistics import STATISTICS

    known = STATISTICS[stat]
    carried = sorted(
        {name for m in models for name in m.stats}
        | {name for m in models for name in attached.get(m.name, {})}
    )
    estimators = sorted({m.estimator for m in models})
    close = difflib.get_close_matches(stat, carried, n=1)
    return SpecError(
        f"no column of this table has a statistic '{stat}' ({known.source}): "
        f"{', '.join(known.estimators)} report it, the columns are "
        f"{', '.join(estimators)}",
        code="reference",
        path=f"tables.{ctx.name}.stats[{index}]",
        hint=f"did you mean '{close[0]}' ({STATISTICS[close[0]].source})?"
        if close and close[0] in STATISTICS
        else did_you_mean(stat, carried)
        or ("its columns have: " + ", ".join(carried[:16]) if carried else None),
    )


def _extra_numbers(extra: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the numbers in a model's ``extra`` (``indirect.sobel_z``)."""
    names: list[str] = []
    for key, value in extra.items():
        if isinstance(value, dict):
            names += _extra_numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            names.append(f"{prefix}{key}")
    return names


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
            HeaderRow(
                ctx.text("Dependent variable"),
                tuple(Cell(ctx.labels.get(m.dependent, m.dependent)) for m in models),
            )
        )
    column_labels = spec.column_labels
    # a member's value follows its family's name and a dot, and may hold dots itself (an
    # over: value 0.5 or 'x.y' gave a blank label when cut at the last dot)
    owners = {member: family for family, group in results.families.items() for member in group}
    members = [name in owners for name in names]
    if column_labels is None and (any(members) or any(m.label for m in models)):
        # a model's own label, else a family member's value (East, Central, …) or the value's
        # label in the data (over: a Stata variable with value labels)
        column_labels = [
            m.label
            or (ctx.member_labels.get(name) or name[len(owners[name]) + 1 :] if member else "")
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
    spec: RegressionTableSpec,
    ctx: TableContext,
    models: list[ModelResult],
    title: str | None,
    attached: Mapping[str, Mapping[str, float]],
) -> list[Block]:
    """Coefficient, indicator and statistic rows of one set of columns."""
    indicator_vars = {label: _expand(vars_, ctx) for label, vars_ in spec.indicators.items()}
    hidden = {v for vars_ in indicator_vars.values() for v in vars_}
    coef_rows: list[Row] = []
    tiny: dict[str, float] = {}
    zero_se: dict[str, dict[str, int]] = {}  # coefficient -> model -> decimals that show its SE
    order = _row_order(spec, models, hidden)
    bases = _base_rows(order, models) if spec.base_levels else {}
    symbolic = _symbolic_regimes([models])
    for name in order:
        owner = next((m for m in models if name in m.coefficients), None)
        for base, (parts, has) in bases.get(name, {}).items():
            label = spec.labels.get(base) or term_label(parts, ctx.labels, ctx.value_labels)
            cells = tuple(Cell("(base)" if h else "") for h in has)
            coef_rows.append(Row(label, cells, "coef"))
            if spec.se_position == "below":
                coef_rows.append(Row("", tuple(Cell() for _ in models), "se"))
        label = _label(name, spec, ctx, owner, symbolic)
        main, below = [], []
        for m in models:
            coef = m.coefficients.get(name)
            if coef is None:
                main.append(Cell())
                below.append(Cell())
                continue
            factor = spec.scale.get(name, 1.0)
            digits = spec.row_digits.get(name, spec.digits)
            paren = _second(spec, m, name, coef, factor, digits)
            star = fmt.stars(coef.p_value, spec.stars)
            estimate = _coefficient(spec, coef.estimate * factor, digits)
            if (
                spec.notation == "fixed"
                and fmt.rounds_to_zero(coef.estimate * factor, digits)
                and (
                    star
                    or coef.std_error is None
                    or fmt.rounds_to_zero(coef.std_error * factor, digits)
                )
            ):
                # an insignificant estimate over a non-zero SE, "0.000 (0.012)", is honest: a
                # constant of demeaned data, a slope indistinguishable from zero
                tiny.setdefault(name, fmt.rescaling(coef.estimate * factor))
            elif (
                spec.notation == "fixed"
                and spec.show == "se"
                and coef.std_error is not None
                and fmt.rounds_to_zero(coef.std_error * factor, digits)
                and not fits_exactly(m)  # said of the model: more digits show only noise
            ):
                # "(0.000)" under a starred estimate reads as infinite precision
                zero_se.setdefault(name, {})[m.name] = fmt.decimals_shown(coef.std_error * factor)
            if spec.se_position == "beside":
                main.append(Cell(f"{estimate} {paren}", star))
            else:
                main.append(Cell(estimate, star))
                below.append(Cell(paren))
        if name in spec.scale:
            # one pair of brackets per script, as the figures' labels: full-width in Chinese
            factor = fmt.factor(spec.scale[name])
            label = f"{label}（×{factor}）" if ctx.language == "zh" else f"{label} (×{factor})"
        coef_rows.append(Row(label, tuple(main), "coef"))
        if spec.se_position == "below":
            coef_rows.append(Row("", tuple(below), "se"))

    for name, suggestion in tiny.items():
        ctx.warn(
            f"the coefficient of '{name}' prints as zero at "
            f"{spec.row_digits.get(name, spec.digits)} decimals; rescale it "
            f"(scale: {{{name}: {suggestion:.0f}}}), print more digits (row_digits), or use "
            "notation: scientific"
        )
    for name, by_model in zero_se.items():
        digits = spec.row_digits.get(name, spec.digits)
        named = ", ".join(f"'{model}'" for model in by_model)
        ctx.warn(
            f"the standard error of '{name}' in model{'s' if len(by_model) > 1 else ''} "
            f"{named} prints as {0:.{digits}f} at {digits} decimals; print more digits "
            f"(row_digits: {{{name}: {max(by_model.values())}}}) or rescale the variable"
        )
    indicator_rows = [
        Row(
            label,
            tuple(Cell(ctx.text("Yes" if _has_all(m, vars_) else "No")) for m in models),
            "indicator",
        )
        for label, vars_ in indicator_vars.items()
    ]
    if any(m.effects for m in models):
        rows = {label: _effect_key(effect) for label, effect in _effect_labels(spec, ctx).items()}
        for m in models:
            for effect in m.effects:
                key = _effect_key(effect)
                if key not in rows.values():
                    rows[_effect_label(effect, ctx)] = key
        indicator_rows += [
            Row(
                label,
                tuple(
                    Cell(ctx.text("Yes" if key in {_effect_key(e) for e in m.effects} else "No"))
                    for m in models
                ),
                "indicator",
            )
            for label, key in rows.items()
        ]
    stat_rows = []
    for stat in spec.stats:
        values = [_stat_value(m, stat, spec.r2_fe, attached.get(m.name)) for m in models]
        digits = max(spec.digits, STAT_DIGITS.get(stat, 0))
        cells = tuple(
            Cell(fmt.integer(v) if stat in INTEGER_STATS else fmt.number(v, digits)) for v in values
        )
        stat_rows.append(
            Row(spec.stat_labels.get(stat, ctx.text(STAT_LABELS.get(stat, stat))), cells, "stat")
        )
    blocks = [Block(tuple(coef_rows), title=title, rule_before=True)]
    if indicator_rows:
        blocks.append(Block(tuple(indicator_rows)))
    if stat_rows:
        blocks.append(Block(tuple(stat_rows)))
    return blocks


def _base_rows(
    rows: list[str], models: list[ModelResult]
) -> dict[str, dict[str, tuple[tuple[TermPart, ...], list[bool]]]]:
    """Base-level rows to print before the first row of each factor's main effect:
    row → {base name (``Central.region``) → (its parts, which models have that base)}."""
    out: dict[str, dict[str, tuple[tuple[TermPart, ...], list[bool]]]] = {}
    placed: set[str] = set()
    for name in rows:
        owner = next((m for m in models if name in m.terms), None)
        parts = owner.terms[name] if owner else ()
        if len(parts) != 1 or parts[0].level is None:
            continue
        part = parts[0]
        prefix = ts_prefix(part.shift, part.diff)
        column = f"{prefix}.{part.variable}" if prefix else part.variable
        if column in placed:
            continue
        placed.add(column)
        levels = {m.extra.get("base_levels", {}).get(column) for m in models} - {None}
        for level in sorted(levels):
            base = f"{level}{prefix}.{part.variable}"
            has = [m.extra.get("base_levels", {}).get(column) == level for m in models]
            base_parts = (TermPart(part.variable, part.shift, part.diff, f"{level} (base)"),)
            out.setdefault(name, {})[base] = (base_parts, has)
    return out


def _has_all(model: ModelResult, patterns: list[str]) -> bool:
    """Whether a model has every indicator variable or term (``i.region``: any of its levels,
    even all omitted as collinear with the fixed effects)."""
    present = [*model.regressors, *model.terms]
    return all(
        any(matches(r, [p], model.terms.get(r)) for r in present) or p in model.regressors
        for p in patterns
    )


def _effect_key(effect: str) -> frozenset[str]:
    """``industry#year`` and ``year#industry`` are one effect."""
    return frozenset(part.strip() for part in effect.split("#"))


def _effect_label(effect: str, ctx: TableContext) -> str:
    """'Industry × Year FE' from ``industry#year``: variable labels, else capitalised names;
    '行业 × 年份固定效应' under ``language: zh``, as its Entity FE row is 个体固定效应."""
    parts = []
    for part in (p.strip() for p in effect.split("#")):
        label = ctx.labels.get(part, part)
        parts.append(label[:1].upper() + label[1:])
    return " × ".join(parts) + ("固定效应" if ctx.language == "zh" else " FE")


def _expand(names: list[str], ctx: TableContext) -> list[str]:
    out: list[str] = []
    for name in names:
        out.extend(ctx.groups.get(name[1:], ()) if name.startswith("$") else [name])
    return out


def _coefficient(spec: RegressionTableSpec, value: float, digits: int) -> str:
    if spec.notation == "scientific":
        return fmt.scientific(value, digits)
    return fmt.number(value, digits)


def _second(
    spec: RegressionTableSpec,
    model: ModelResult,
    name: str,
    coef: Any,
    factor: float,
    digits: int,
) -> str:
    """What a column prints under (or beside) coefficient ``name``'s estimate, with its
    brackets; ``factor`` is the coefficient's ``scale:`` (t and p do not change with it),
    ``digits`` its decimals. An interval is in the coefficient's own reference distribution
    (``fmt.coefficient_critical_value``), the one its p-value and stars use. An undefined value
    (a negative multi-way cluster variance) prints as ``(.)``, as esttab prints Stata's
    missing, rather than as empty brackets."""
    if coef.std_error is None or not math.isfinite(coef.std_error):
        return "[.]" if spec.show == "ci" else "(.)"
    if spec.show == "ci":
        half = fmt.coefficient_critical_value(model, name, spec.ci_level) * coef.std_error
        low, high = (coef.estimate - half) * factor, (coef.estimate + half) * factor
        return f"[{_coefficient(spec, low, digits)}, {_coefficient(spec, high, digits)}]"
    if spec.show == "se":
        return f"({_coefficient(spec, coef.std_error * factor, digits)})"
    value = {"t": coef.stat, "p": coef.p_value}[spec.show]
    return f"({fmt.number(value, digits)})"


def _effect_labels(spec: RegressionTableSpec, ctx: TableContext) -> dict[str, str]:
    """Row label → fixed effect; the default labels are generated text, so they follow the
    output language, while labels the spec gives are printed as given."""
    if "effects" in spec.model_fields_set:
        return dict(spec.effects)
    return {ctx.text(label): effect for label, effect in spec.effects.items()}


def _column_list(columns: list[int], language: str) -> str:
    """``columns (1)–(3)``, ``column (4)``, ``columns (1), (3)``; Chinese ``第(1)–(3)列``."""
    runs: list[tuple[int, int]] = []
    for column in columns:
        if runs and runs[-1][1] == column - 1:
            runs[-1] = (runs[-1][0], column)
        else:
            runs.append((column, column))
    text_runs = [f"({a})" if a == b else f"({a})–({b})" for a, b in runs]
    if language == "zh":
        return "第" + "、".join(text_runs) + "列"
    return ("column " if len(columns) == 1 else "columns ") + ", ".join(text_runs)


PANEL_LABEL = re.compile(r"\s*(?:Panel\s+|面板)[A-Z](?![A-Za-z])")  # a title's own letter


def _panel_title(letter: str, title: str, language: str) -> str:
    """A stacked panel's heading: its letter, as the caption's 面板A and the notes name it
    ("Panel A: Investment"; in Chinese "面板A：投资"), before the dependent variable's label or
    the panel's own ``title:``. A title that has a panel letter already ("Panel B: value") is
    kept as written; one without (``title: FE``) was printed bare while the notes said "in
    Panel A", a panel no heading named."""
    if PANEL_LABEL.match(title):
        return title
    return f"面板{letter}：{title}" if language == "zh" else f"Panel {letter}: {title}"


def _column_kinds(
    spec: RegressionTableSpec, families: list[list[ModelResult]], ctx: TableContext
) -> tuple[list[str], set[str]]:
    """Per column, what its second line is based on: the covariance (se, p, ci) or the
    statistic's name (t/z). A column whose panels stack models of different kinds names each
    panel's ("clustered by entity in Panel A; conventional in Panel B"; in Chinese
    "面板A为以个体聚类的稳健标准误；面板B为普通标准误", already translated); those composite
    kinds are returned too, so that the note adds no noun of its own to them."""
    language = ctx.language
    kinds: list[str] = []
    composite: set[str] = set()
    for column in range(len(families[0])):
        panels: dict[str, list[str]] = {}
        for i, family in enumerate(families):
            model = family[column]
            name = model.stat_name if spec.show == "t" else ctx.covariance(model.se_type or "")
            if name:
                panels.setdefault(name, []).append(chr(ord("A") + i))
        if len(panels) < 2:
            kinds.append(next(iter(panels), ""))
            continue
        if language == "zh":
            noun = "值" if spec.show == "t" else "标准误"
            kind = "；".join(
                f"面板{'、'.join(letters)}为{text.translate(name, language)}{noun}"
                for name, letters in panels.items()
            )
        else:
            kind = "; ".join(
                f"{name} in Panel{'s' if len(letters) > 1 else ''} {' and '.join(letters)}"
                for name, letters in panels.items()
            )
        kinds.append(kind)
        composite.add(kind)
    return kinds, composite


def _own_statistics(
    spec: RegressionTableSpec, families: list[list[ModelResult]], ctx: TableContext
) -> list[tuple[str, str, list[int]]]:
    """The printed rows whose statistic is not their column model's (``stat_name``) but their
    own (``ModelResult.references``): (statistic name, row label, the columns where it is, or
    [] when it is so in every column printing the row), in row order."""
    hidden = {v for vars_ in spec.indicators.values() for v in _expand(vars_, ctx)}
    printed: dict[str, set[int]] = {}
    own: dict[tuple[str, str], set[int]] = {}
    for models in families:
        for name in _row_order(spec, models, hidden):
            owner = next((m for m in models if name in m.coefficients), None)
            label = _label(name, spec, ctx, owner)
            for column, model in enumerate(models, start=1):
                if name not in model.coefficients:
                    continue
                printed.setdefault(label, set()).add(column)
                stat = model.stat_name_of(name)
                if stat != model.stat_name:
                    own.setdefault((stat, label), set()).add(column)
    return [
        (stat, label, [] if columns == printed[label] else sorted(columns))
        for (stat, label), columns in own.items()
    ]


# what a ``scale:`` multiplies besides the coefficient, by ``show:`` (English, Chinese)
SCALED_WITH = {
    "se": ("and its standard error are", "及其标准误"),
    "ci": ("and its confidence interval are", "及其置信区间"),
    "t": ("is", ""),
    "p": ("is", ""),
}


def _notes(
    spec: RegressionTableSpec, families: list[list[ModelResult]], ctx: TableContext
) -> list[str]:
    """The notes describe every column: when columns differ in their covariance (or t vs z),
    each kind is named with the columns it applies to."""
    language = ctx.language
    kinds, composite = _column_kinds(spec, families, ctx)
    distinct = list(dict.fromkeys(k for k in kinds if k))
    by_kind = {k: [i + 1 for i, own in enumerate(kinds) if own == k] for k in distinct}

    # Chinese names a covariance by an adjective of 标准误 (以个体聚类的稳健标准误): the noun
    # follows it wherever the sentence does not end with it already
    se_noun = language == "zh" and spec.show != "t" and (len(distinct) > 1 or spec.show != "se")

    def translated(kind: str) -> str:
        if kind in composite:
            return kind  # each panel's kind, in the output language, with its noun
        words = text.translate(kind, language)
        return f"{words}标准误" if se_noun else words

    if len(distinct) > 1:
        if language == "zh":
            where = "；".join(
                f"{_column_list(cols, language)}为{translated(k)}" for k, cols in by_kind.items()
            )
        else:
            where = "; ".join(
                f"{k} in {_column_list(cols, language)}" for k, cols in by_kind.items()
            )
    else:
        where = translated(distinct[0]) if distinct else ""
    level = fmt.percent(spec.ci_level)
    mixed = len(distinct) > 1 or bool(set(distinct) & composite)
    own = _own_statistics(spec, families, ctx) if spec.show == "t" else []
    if own:
        # rows whose statistic differs from their column's (a mediation's a·b is a z beside its
        # paths' t): named by row, after the columns' kinds or before "the others"
        if language == "zh":
            rows = "；".join(
                (f"{_column_list(cols, language)}的" if cols else "") + f"{label}为{name}值"
                for name, label, cols in own
            )
            english = ""
            chinese = (
                f"t值或z值（{where}；{rows}）"
                if mixed
                else f"t值或z值（{rows}，其余为{where or 't'}值）"
            )
        else:
            rows = "; ".join(
                f"{name} for {label}" + (f" in {_column_list(cols, language)}" if cols else "")
                for name, label, cols in own
            )
            chinese = ""
            base = distinct[0] if distinct else "t"
            english = (
                f"t or z statistics ({where}; {rows})"
                if mixed
                else f"t or z statistics ({rows}; {base} for the others)"
            )
        note = text.parentheses_note(english, chinese, language)
    elif spec.show == "t":
        if mixed:
            english = f"t or z statistics ({where})"
        else:
            english = f"{distinct[0] if distinct else 't'}-statistics"
        chinese = "t值或z值（" + where + "）" if mixed else f"{where or 't'}值"
        note = text.parentheses_note(english, chinese, language)
    else:
        noun = {"se": "Standard errors", "p": "p-values", "ci": f"{level} confidence intervals"}
        zh_noun = {"se": "标准误", "p": "p值", "ci": f"{level}置信区间"}[spec.show]
        english = noun[spec.show] + (f" ({where})" if where else "")
        if mixed:
            chinese = f"{zh_noun}（{where}）"
        else:
            chinese = f"{where}{zh_noun}" if spec.show == "se" else f"{zh_noun}（{where}）"
            chinese = chinese.replace("（）", "")
        if spec.show == "ci":
            note = f"方括号内为{chinese}。" if language == "zh" else f"{english} in brackets."
        else:
            note = text.parentheses_note(english, chinese, language)
    notes = [note, text.star_note(spec.stars, language)]
    for name, factor in spec.scale.items():
        # the note names the row as the table prints it (its label), not the column name
        holder = next((m for f in families for m in f if name in m.coefficients), None)
        shown = _label(name, spec, ctx, holder)
        # what else the column prints scales with the coefficient (t and p do not)
        with_it, zh_with_it = SCALED_WITH[spec.show]
        if language == "zh":
            notes.append(f"{shown}的系数{zh_with_it}已乘以{fmt.factor(factor)}。")
        else:
            factor_text = fmt.factor(factor)
            notes.append(f"The coefficient of {shown} {with_it} multiplied by {factor_text}.")
    centered = sorted({v for f in families for m in f for v in m.extra.get("centered", {})})
    if centered:
        terms = {v: p for f in families for m in f for v, p in m.terms.items()}
        names = ("、" if language == "zh" else ", ").join(
            term_label(terms[v], ctx.labels, ctx.value_labels)
            if v in terms
            else ctx.labels.get(v, v)
            for v in centered
        )
        notes.append(
            f"{names}均以各模型估计样本的均值中心化（主效应与交互项中相同）。"
            if language == "zh"
            else f"{names} {'is' if len(centered) == 1 else 'are'} centred at the mean of each "
            "model's estimation sample, in main effects and interactions."
        )
    if any(_symbolic_regimes([family]) for family in families):
        # a threshold row (threshold_1, …) gives γ̂ in the order estimated, which a refit on
        # another sample may not keep ascending (0.5361 then 0.5118): said where it happens
        shown = [s for s in spec.stats if s.startswith("threshold_")]
        unordered = [
            i + 1
            for i, m in enumerate(families[0])
            if any(
                m.stats.get(a, -math.inf) > m.stats.get(b, math.inf)
                for a, b in itertools.pairwise(shown)
            )
        ]
        if language == "zh":
            text_ = "γ₁ < γ₂ < …为各列模型自身估计的门槛值（由小到大）"
            if unordered:
                text_ += (
                    f"；门槛值行按估计顺序列示，{_column_list(unordered, language)}并非由小到大"
                )
            notes.append(text_ + "。")
        else:
            text_ = "γ₁ < γ₂ < … are each column's own estimated thresholds, in ascending order"
            if unordered:
                text_ += (
                    "; the threshold rows give them in the order estimated, not ascending in "
                    + _column_list(unordered, language)
                )
            notes.append(text_ + ".")
    omitted = list(
        dict.fromkeys(v for f in families for m in f for v in m.extra.get("omitted", []))
    )
    if omitted:
        notes.append(
            f"因共线性而省略：{'、'.join(omitted)}。"
            if language == "zh"
            else f"Omitted as collinear: {', '.join(omitted)}."
        )
    return [*notes, *spec.notes]
