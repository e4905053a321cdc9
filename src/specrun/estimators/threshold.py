"""Hansen (1999) fixed-effects panel threshold regression, as a spec estimator.

    y_it = μ_i + β₁′x_it·I(q_it ≤ γ₁) + β₂′x_it·I(γ₁ < q_it ≤ γ₂) + … + θ′z_it + e_it

The numerics (grid search from cumulative cross-products, bootstrap F tests, LR confidence
sets) live in ``specrun.kernels.threshold``; this module maps spec options onto it and its fit
onto results: regime slopes named ``<x>_r<j>`` and labelled ``Dige·I(STR≤0.532)`` (their
bounds in ``extra.regimes``, from which a table labels them with the variables' labels),
``extra.thresholds``, ``extra.tests`` and ``extra.lr_curves``. Checked against Hansen (1999)
and Wang (2015) in ``tests/test_kernel_threshold.py`` and ``tests/test_estimators_threshold.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.covariance import few_clusters
from specrun.estimators.specs.threshold import PanelThresholdSpec
from specrun.kernels.distributions import two_sided_p
from specrun.results import Coefficient, ModelResult

if TYPE_CHECKING:  # the kernel is imported when a model is fitted, not to validate a spec
    from specrun.kernels.threshold import ThresholdCoefficient, ThresholdFit
    from specrun.spec.models import SampleSpec

SE_FIELDS = {
    "conventional": "se_conventional",
    "white": "se_white",
    "cluster": "se_cluster_entity",
}
SE_NAMES = {
    "conventional": "conventional",
    "white": "White heteroskedasticity-robust",
    "cluster": "clustered by entity",
}


def _fmt(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.4g}"


def regime_label(
    variable: str, lower: float | str | None, upper: float | str | None, q: str, *, strict: bool
) -> str:
    """``Dige·I(STR≤0.532)`` for the slope of ``variable`` where ``lower < q ≤ upper`` (a bound
    of None is open); with Hansen's strict split (q < γ) the bounds read < and ≥. A table passes
    the variables' labels (``数字贸易·I(产业结构升级≤0.532)``), the fit their names. A bound
    given as text is printed as it is (``γ₁``: a table whose columns have other thresholds)."""
    below, above = ("<", "≥") if strict else ("≤", ">")
    if lower is None and upper is None:
        return variable
    if lower is None:
        return f"{variable}·I({q}{below}{_fmt(upper)})"
    if upper is None:
        return f"{variable}·I({q}{above}{_fmt(lower)})"
    bound = "≤" if strict else "<"
    return f"{variable}·I({_fmt(lower)}{bound}{q}{below}{_fmt(upper)})"


def _coefficient(coef: ThresholdCoefficient, se: str, df: int) -> Coefficient:
    std_error = float(getattr(coef, SE_FIELDS[se]))
    stat = coef.estimate / std_error if std_error > 0 else float("nan")
    return Coefficient(coef.estimate, std_error, stat, float(two_sided_p(stat, df)))


def _warnings(
    stats: Mapping[str, float], coefficients: Mapping[str, Coefficient], se: str
) -> dict[str, object]:
    """Too few entities to cluster by (the warning every clustering estimator gives,
    ``covariance.few_clusters``), and the coefficients whose variance came out negative
    (round-off in a clustered covariance of rank at most the number of entities, below the
    number of coefficients), as ``linear`` words it; their standard error, t and p are left
    empty. They were left empty in silence, beside a raw numpy warning."""
    warnings = few_clusters(stats)
    empty = [n for n, c in coefficients.items() if not np.isfinite(c.std_error)]
    if empty:
        warnings.append(
            f"the covariance ({SE_NAMES[se]}) gives a negative variance for {', '.join(empty)}: "
            "its standard error, t and p are left empty"
        )
    return {"warnings": warnings} if warnings else {}


def _extra(fit: ThresholdFit) -> dict[str, object]:
    return {
        "convention": fit.convention,
        "thresholds": [
            {"estimate": s.estimate, "ci_low": s.ci_low, "ci_high": s.ci_high}
            for s in fit.thresholds
        ],
        "tests": {
            str(t.n_thresholds): {
                "F": t.F,
                "p_value": t.p_value,
                "crit": t.crit,
                "bootstrap": t.bootstrap,
            }
            for t in fit.tests
        },
        "ssr": {str(k): v for k, v in fit.ssr.items()},
        "lr_curves": [
            {
                "search": s.name,
                "fixed": list(s.fixed),
                "estimate": s.estimate,
                "critical_value": s.critical_value,
                "gamma": s.grid.tolist(),
                "lr": s.lr.tolist(),
            }
            for s in fit.searches
        ],
    }


# entities listed in an error, and in the sample it suggests (all of them would be a list of
# hundreds for a firm panel; the count says how many more)
SHOWN_ENTITIES = 5
LISTED_ENTITIES = 10


def _check_balanced(frame: pl.DataFrame, spec: PanelThresholdSpec, ctx: FitContext) -> None:
    """Raise, at the model, the error for an unbalanced panel: Hansen's (1999) within
    transformation and bootstrap need every entity in every period (the kernel would refuse
    it too, without the entity column's name). The error names the first entities that miss
    periods and which, and the hint the spec that fixes it, as YAML for this model's
    ``sample:`` (merged with the sample it has): ``exclude:`` of those entities, and, where
    every entity has a run of two periods or more in common, the ``time:`` window that keeps
    every entity; each with the rows it keeps. An entity with repeated periods is left to the
    kernel's error. Raises ``SpecError`` (code ``data``)."""
    periods = frame[ctx.time].unique().sort()
    counts = frame.group_by(ctx.entity, maintain_order=True).agg(
        pl.col(ctx.time).unique().sort().alias("seen"), pl.len().alias("rows")
    )
    incomplete = counts.filter(pl.col("seen").list.len() < periods.len())
    if incomplete.is_empty():
        return  # balanced, or repeated periods: the kernel names those
    all_periods = periods.to_list()
    missing = [
        (unit, [t for t in all_periods if t not in had])
        for unit, had in zip(
            incomplete[ctx.entity], map(set, incomplete["seen"].to_list()), strict=True
        )
    ]
    shown = "; ".join(
        f"{unit} ({', '.join(_period(t) for t in gaps)})" for unit, gaps in missing[:SHOWN_ENTITIES]
    ) + (f"; … {len(missing) - SHOWN_ENTITIES} more" if len(missing) > SHOWN_ENTITIES else "")
    n_entities = counts.height
    units = (
        f"1 of {n_entities} entities misses"
        if len(missing) == 1
        else f"{len(missing)} of {n_entities} entities miss"
    )
    kept = frame.height - int(incomplete["rows"].sum())
    listed = ", ".join(_yaml_scalar(unit) for unit, _ in missing[:LISTED_ENTITIES]) + (
        ", …" if len(missing) > LISTED_ENTITIES else ""
    )
    fixes = [
        "leave them out with "
        + _sample_fix(spec.sample, ctx.name, exclude=(ctx.entity, listed))
        + f" (keeps {kept} of {frame.height} rows)"
    ]
    window = _common_window(counts["seen"].to_list(), all_periods)
    if window is not None:
        first, last, length = window
        fixes.append(
            "keep every entity in the periods all of them have with "
            + _sample_fix(spec.sample, ctx.name, time=(first, last))
            + f" (keeps {length * n_entities})"
        )
    raise SpecError(
        f"the panel threshold model needs a balanced panel (Hansen 1999: every entity in every "
        f"period); {units} periods: {shown}",
        code="data",
        hint="; or ".join(fixes)
        + ". Stata's xthreg needs a balanced panel too: its users drop such entities first "
        f"(xtbalance, range({_period(all_periods[0])} {_period(all_periods[-1])}), or bysort "
        f"{ctx.entity}: keep if _N == {len(all_periods)}); the interpolate transform fills "
        "missing cells of the rows the data have, not periods without a row",
    )


def _common_window(seen: list[list[object]], periods: list[object]) -> tuple[str, str, int] | None:
    """The longest run of consecutive periods (of the panel's sorted ``periods``) that every
    entity has, as (first, last, its length), when it has two periods or more (a threshold
    model needs T ≥ 2) and is not every period; else None."""
    common = set(periods).intersection(*map(set, seen))
    best: tuple[int, int] = (0, 0)
    start = None
    for i, t in enumerate([*periods, None]):
        if t is not None and t in common:
            start = i if start is None else start
        elif start is not None:
            best = max(best, (i - start, start), key=lambda run: run[0])
            start = None
    length, first = best
    if length < 2 or length == len(periods):
        return None
    return _period(periods[first]), _period(periods[first + length - 1]), length


def _period(value: object) -> str:
    """A period as it is written in a spec: 2012, not 2012.0."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _yaml_scalar(value: object) -> str:
    """A value as YAML flow text that reads back as the same value: text quoted (a code such
    as 000005 unquoted would read as the number 5, 'yes' as true), numbers as written."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return _period(value)


def _sample_fix(
    sample: str | SampleSpec | None,
    model: str,
    *,
    exclude: tuple[str, str] | None = None,
    time: tuple[str, str] | None = None,
) -> str:
    """Where to write ``exclude`` (a column and its listed values) or a ``time`` window, as
    YAML flow text: the model's inline ``sample:`` with its other keys kept, or, for a named
    sample (whose definition other models may share), the keys to add to it or to a copy."""
    if isinstance(sample, str):
        added = (
            f"exclude: {{{exclude[0]}: [{exclude[1]}]}}"
            if exclude is not None
            else f"time: [{time[0]}, {time[1]}]"  # type: ignore[index]
        )
        return f"{added} in sample '{sample}' (or in a copy of it that model '{model}' names)"
    parts: list[str] = []
    if sample is not None and sample.where is not None:
        parts.append(f"where: {_yaml_scalar(sample.where)}")
    if time is not None:
        parts.append(f"time: [{time[0]}, {time[1]}]")
    elif sample is not None and sample.time is not None:
        low, high = (("null" if t is None else str(t)) for t in sample.time)
        parts.append(f"time: [{low}, {high}]")
    excluded = dict(sample.exclude or {}) if sample is not None else {}
    written = {
        column: ", ".join(_yaml_scalar(v) for v in values) for column, values in excluded.items()
    }
    if exclude is not None:
        column, listed = exclude
        written[column] = ", ".join(p for p in (written.get(column), listed) if p)
    if written:
        parts.append("exclude: {" + ", ".join(f"{c}: [{v}]" for c, v in written.items()) + "}")
    return "sample: {" + ", ".join(parts) + "}" + f" on model '{model}'"


def fit_panel_threshold(
    frame: pl.DataFrame, spec: PanelThresholdSpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    from specrun.kernels.threshold import fit_threshold

    _check_balanced(frame, spec, ctx)
    progress = ctx.progress(f"{ctx.name}: bootstrap", spec.bootstrap * spec.max_thresholds)
    fit = fit_threshold(
        frame[spec.y].to_numpy().astype(float),
        frame.select(spec.regime_x).to_numpy().astype(float),
        frame[spec.q].to_numpy().astype(float),
        frame.select(spec.controls).to_numpy().astype(float) if spec.controls else None,
        frame[ctx.entity].to_numpy(),
        frame[ctx.time].to_numpy(),
        max_thresholds=spec.max_thresholds,
        trim=spec.trim,
        grid=spec.grid,
        bootstrap=spec.bootstrap,
        seed=spec.seed,
        ci_level=spec.ci_level,
        convention=spec.convention,
        time_effects=spec.time_effects,
        progress=progress,
        regime_names=spec.regime_x,
        control_names=spec.controls,
        q_name=spec.q,
    )
    model = fit.models[(spec.report or spec.max_thresholds) - 1]
    df = fit.n_entities - 1 if spec.se == "cluster" else model.df_resid
    coefficients: dict[str, Coefficient] = {}
    labels: dict[str, str] = {}
    # the bounds of each regime slope, so that a table labels it in the table's language
    regimes: dict[str, dict[str, object]] = {}
    for coef in model.regime_coefficients:
        name = f"{coef.variable}_r{(coef.regime or 0) + 1}"
        coefficients[name] = _coefficient(coef, spec.se, df)
        regimes[name] = {"variable": coef.variable, "lower": coef.lower, "upper": coef.upper}
        labels[name] = regime_label(
            coef.variable,
            coef.lower,
            coef.upper,
            spec.q,
            strict=spec.convention == "hansen1999",
        )
    for coef in model.control_coefficients:
        coefficients[coef.variable] = _coefficient(coef, spec.se, df)
    stats = {
        "r2_within": model.r2_within,
        "ssr": model.ssr,
        "n_entities": float(fit.n_entities),
        "n_periods": float(fit.n_periods),
        "nobs_transformed": float(fit.nobs),  # N(T−1) under hansen1999: his "observations"
    }
    # the reference of the p-values above, which intervals (tables, coefplots) read too
    if spec.se == "cluster":
        stats["n_clusters"] = float(fit.n_entities)  # clustered by entity: t(G − 1)
    else:
        stats["df_resid"] = float(df)
    for k, search in enumerate(fit.thresholds, start=1):
        stats[f"threshold_{k}"] = search.estimate
    if not np.isfinite(model.r2_within):
        raise SpecError(
            "the threshold model's R² is not finite", code="estimation", path=f"models.{ctx.name}"
        )
    result = ModelResult(
        name=ctx.name,
        estimator="panel_threshold",
        dependent=spec.y,
        nobs=frame.height,
        coefficients=coefficients,
        stats=stats,
        extra={
            "q": spec.q,
            "regimes": regimes,
            **_extra(fit),
            **_warnings(stats, coefficients, spec.se),
        },
        regressors=tuple([*spec.regime_x, *spec.controls]),
        effects=("entity", "time") if spec.time_effects else ("entity",),
        se_type=SE_NAMES[spec.se],
        se_convention=fit.convention,
        label=spec.label,
        coefficient_labels=labels,
    )
    return {"": result}
