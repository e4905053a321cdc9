"""Difference-in-differences and event studies by two-way fixed effects.

``did`` builds the treatment indicator Dᵢₜ — ``treat × 1(t ≥ first_treated)`` (staggered) or
``treat × post`` (canonical 2 × 2) — and fits yᵢₜ = δ·Dᵢₜ + x′β + αᵢ + λₜ + uᵢₜ with the
``panel_fe`` machinery, so its conventions (``xtreg, fe`` / ``reghdfe`` clustered SEs) are the
linear models'; the coefficient is ``did``, labelled "DID".

``event_study`` (``method: twfe``) replaces Dᵢₜ by relative-time indicators 1(t − Gᵢ = k) for k
in ``window`` except ``reference``; ``method: sun_abraham`` interacts them with the cohorts Gᵢ and
reports, for each k, the interaction-weighted average Σ_g w_{g,k} δ_{g,k} with w the cohorts'
shares of the observations at k and SE √(w′Vw), weights held fixed (Sun and Abraham 2021, J.
Econometrics 225:175–199, eq. 16; pyfixest's saturated event study ``aggregate()``).
Never-treated units (``first_treated`` missing or 0, as in the R did package) have no
indicators and serve as controls. ``endpoints: bin`` folds periods outside the window into its
end points (Schmidheiny and Siegloch 2023); ``drop`` leaves treated units' periods outside the
window out of the sample. The joint pre-trend test is the Wald test that
every lead (k < 0, k ≠ reference) is zero, reported as F = W/q with the reference distribution
of the coefficients' t tests. Checked against pyfixest 0.60 ``feols("y ~ i(rel, ref=-1) | unit
+ year")`` in ``tests/test_estimators_did.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.covariance import Covariance, few_clusters
from specrun.estimators.linear import PanelFeSpec, fit_linear
from specrun.estimators.specs.did import (
    DID,
    DidSpec,
    EventStudySpec,
    _cluster_entity,
    relative_name,
)
from specrun.kernels.distributions import chi2_sf, f_sf, two_sided_p
from specrun.kernels.placebo import Placebo
from specrun.kernels.within import PanelIndex
from specrun.results import Coefficient, ModelResult


def relative_label(k: int, *, binned: bool = False) -> str:
    """Printed label of relative period k, with a true minus as lag labels have (``t−1``):
    ``t−2``, ``t+0``, ``t+3``. A binned end point (``endpoints: bin`` with periods beyond the
    window in the data) holds every period at or beyond it, and says so: ``≤ t−5``, ``≥ t+5``.
    """
    text = f"t−{-k}" if k < 0 else f"t+{k}"
    if binned:
        return f"≤ {text}" if k < 0 else f"≥ {text}"
    return text


def _first_period(frame: pl.DataFrame, column: str) -> pl.Expr:
    """First treated period, null for never-treated units (coded missing or 0)."""
    value = pl.col(column).cast(pl.Float64)
    return pl.when(value.is_null() | (value == 0)).then(None).otherwise(value)


def _numeric_time(frame: pl.DataFrame, ctx: FitContext) -> None:
    if not frame.schema[ctx.time].is_numeric():
        raise SpecError(
            f"the time column '{ctx.time}' is {frame.schema[ctx.time]}: treatment timing needs "
            "numeric periods (years, or period numbers)",
            code="data",
            path=f"models.{ctx.name}",
        )


def _check_first_treated(frame: pl.DataFrame, column: str, ctx: FitContext) -> None:
    """``column`` is each unit's one first treated period, a whole period number (or missing/0).

    Raises ``SpecError`` naming the first offending unit: otherwise 1(t ≥ first_treated) would
    silently mix units' timings, and a fractional period matches no event time.
    """
    first = frame.select(pl.col(ctx.entity), _first_period(frame, column).alias("__first"))
    varying = (
        first.group_by(ctx.entity, maintain_order=True)
        .agg(pl.col("__first").n_unique().alias("k"))
        .filter(pl.col("k") > 1)
    )
    if varying.height:
        raise SpecError(
            f"'{column}' varies within a unit ({ctx.entity} {varying[ctx.entity][0]}); it must "
            "be the unit's first treated period",
            code="data",
            path=f"models.{ctx.name}",
        )
    treated = first["__first"].drop_nulls()
    start = frame[ctx.time].min()
    if treated.len() and isinstance(start, int | float) and treated.max() < start:
        dummy = set(treated.unique().to_list()) == {1.0}
        raise SpecError(
            f"'{column}' is before the panel's first period ({start}) for every treated unit: "
            "first_treated is the period a unit is first treated (one of the panel's, "
            f"{start}–{frame[ctx.time].max()}), 0 or missing for never treated"
            + (f"; '{column}' holds only 0 and 1, a treatment indicator" if dummy else ""),
            code="data",
            path=f"models.{ctx.name}",
            hint="name the column holding each unit's first treated period, or build it: the "
            "earliest period in which the indicator is 1"
            if dummy
            else None,
        )
    fractional = first.filter(pl.col("__first") != pl.col("__first").round(0))
    if fractional.height:
        raise SpecError(
            f"'{column}' is {fractional['__first'][0]:g} for {ctx.entity} "
            f"{fractional[ctx.entity][0]}: a first treated period is a whole period number "
            "(missing or 0: never treated)",
            code="data",
            path=f"models.{ctx.name}",
        )


def _complete(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return frame.filter(
        pl.all_horizontal([pl.col(v).cast(pl.Float64).is_finite() for v in names])
        if names
        else pl.lit(True)
    )


def fit_did(frame: pl.DataFrame, spec: DidSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    _numeric_time(frame, ctx)
    frame = _complete(frame, [spec.y, spec.treat, *spec.x, *([spec.post] if spec.post else [])])
    values = set(frame[spec.treat].cast(pl.Float64).unique().to_list())
    if not values <= {0.0, 1.0}:
        shown = ", ".join(f"{v:g}" for v in sorted(values - {0.0, 1.0})[:3])
        raise SpecError(
            f"treat '{spec.treat}' must be 0 or 1 (found {shown})",
            code="data",
            path=f"models.{ctx.name}",
        )
    treat = pl.col(spec.treat).cast(pl.Float64)
    if spec.post is not None:
        indicator = treat * pl.col(spec.post).cast(pl.Float64)
    else:
        assert spec.first_treated is not None
        _check_first_treated(frame, spec.first_treated, ctx)
        first = _first_period(frame, spec.first_treated)
        on = (pl.col(ctx.time).cast(pl.Float64) >= first).fill_null(False).cast(pl.Float64)
        indicator = treat * on
    data = frame.with_columns(indicator.alias(DID))
    if data[DID].n_unique() < 2:
        raise SpecError(
            "no variation in the treatment indicator (no treated unit-period, or no control)",
            code="estimation",
            path=f"models.{ctx.name}",
        )
    inner = PanelFeSpec(
        estimator="panel_fe", y=spec.y, x=[DID, *spec.x], effects=spec.effects, se=spec.se
    )
    fitted = fit_linear(data, inner, ctx)[""]
    extra: dict[str, object] = {**fitted.extra, "design": "2x2" if spec.post else "staggered"}
    if spec.first_treated is not None and not spec.x and set(spec.effects) == {"entity", "time"}:
        bacon = _bacon(data, spec, ctx)
        extra["bacon" if isinstance(bacon, list) else "bacon_unavailable"] = bacon
    elif spec.first_treated is not None and spec.x:
        # Goodman-Bacon's theorem is about the two-way FE DID without controls
        extra["bacon_unavailable"] = {
            "reason": "it decomposes the two-way FE DID without controls; this one has x: "
            f"[{', '.join(spec.x)}]",
            "hint": f"a bacon table of a model with extends: {ctx.name} and x: [] shows how the "
            "DID without controls is made up",
        }
    stats = {**fitted.stats, "n_treated": float(data.filter(pl.col(DID) > 0).height)}
    if spec.placebo is not None:
        placebo = _placebo(data, spec, ctx)
        stats["placebo_p"] = placebo.p_value
        extra["placebo"] = {
            "draws": int(placebo.placebo.size),
            "permute": placebo.permute,
            "seed": placebo.seed,
            "p_value": placebo.p_value,
            # (1 + c)/(1 + B) or, as Stata's ritest, c/B
            "p_value_rule": placebo.p_rule,
            "estimate": placebo.estimate,
            "estimates": placebo.placebo.tolist(),
        }
    result = ModelResult(
        name=ctx.name,
        estimator="did",
        dependent=spec.y,
        nobs=fitted.nobs,
        coefficients=fitted.coefficients,
        stats=stats,
        extra=extra,
        regressors=tuple(spec.x),
        effects=fitted.effects,
        se_type=fitted.se_type,
        se_convention=fitted.se_convention,
        label=spec.label,
        coefficient_labels={DID: "DID"},
    )
    return {"": result}


def _placebo(data: pl.DataFrame, spec: DidSpec, ctx: FitContext) -> Placebo:
    """Unit-level treatment and timing, then every permutation refit at once."""
    from specrun.kernels.placebo import permutation_did

    assert spec.placebo is not None
    index = PanelIndex.from_labels(data[ctx.entity].to_numpy(), data[ctx.time].to_numpy())
    unit = data.select(
        pl.Series("__code", index.entity),
        pl.col(spec.treat).cast(pl.Float64).alias("__treat"),
        (
            _first_period(data, spec.first_treated)
            if spec.first_treated
            else pl.lit(None, dtype=pl.Float64)
        ).alias("__first"),
    )
    per_unit = unit.group_by("__code").agg(
        pl.col("__treat").n_unique().alias("n_treat"),
        pl.col("__first").n_unique().alias("n_first"),
        pl.col("__treat").first(),
        pl.col("__first").first(),
    ).sort("__code")  # fmt: skip
    if (per_unit["n_treat"] > 1).any() or (per_unit["n_first"] > 1).any():
        raise SpecError(
            "a placebo permutes units' treatment, so treat and first_treated must be constant "
            "within each unit",
            code="data",
            path=f"models.{ctx.name}",
        )
    return permutation_did(
        data[spec.y].to_numpy().astype(float),
        data.select(spec.x).to_numpy().astype(float).reshape(data.height, len(spec.x)),
        index,
        data[ctx.time].cast(pl.Float64).to_numpy(),
        per_unit["__treat"].to_numpy().astype(float),
        per_unit["__first"].to_numpy().astype(float),
        data[spec.post].cast(pl.Float64).to_numpy() if spec.post else None,
        entity_effects="entity" in spec.effects,
        time_effects="time" in spec.effects,
        draws=spec.placebo.draws,
        permute=spec.placebo.permute,
        seed=spec.placebo.seed,
        p_rule=spec.placebo.p_value,
    )


def _bacon(
    data: pl.DataFrame, spec: DidSpec, ctx: FitContext
) -> list[dict[str, float | str]] | dict[str, str]:
    """Goodman-Bacon decomposition records, or why it does not apply (``{"reason": …,
    "hint": …}``: an unbalanced panel, naming the units that miss periods, or no 2 × 2
    comparison with treatment variation), which the ``bacon`` table's error prints."""
    from specrun.kernels.bacon import bacon_decomposition

    assert spec.first_treated is not None
    wide = data.select(
        pl.col(ctx.entity),
        pl.col(ctx.time).cast(pl.Float64),
        pl.col(spec.y).cast(pl.Float64),
        pl.when(pl.col(spec.treat).cast(pl.Float64) > 0)
        .then(_first_period(data, spec.first_treated))
        .otherwise(None)
        .alias("__first"),
    ).sort(ctx.entity, ctx.time)
    units = wide[ctx.entity].n_unique()
    periods = np.sort(wide[ctx.time].unique().to_numpy())
    if wide.height != units * periods.size:
        which, sample = _incomplete_units(wide, ctx, periods)
        return {
            "reason": f"it needs a balanced panel; {which}",
            "hint": f"leave them out with a sample: {sample}",
        }
    firsts = wide.group_by(ctx.entity, maintain_order=True).agg(pl.col("__first").first())
    y = wide[spec.y].to_numpy().reshape(units, periods.size)
    try:
        comparisons = bacon_decomposition(y, periods, firsts["__first"].to_numpy().astype(float))
    except ValueError as exc:
        return {"reason": str(exc)}
    return [
        {
            "kind": c.kind,
            "treated": c.treated,
            "control": c.control,
            "estimate": c.estimate,
            "weight": c.weight,
        }
        for c in comparisons
    ]


def _check_window(rel: pl.Series, spec: EventStudySpec, ctx: FitContext) -> None:
    """Every relative period of the window is observed for some treated unit: one that is not
    would be a regressor of zeros ("'rel-20' is constant in the sample"), so the window is
    named with the periods the data hold."""
    observed = rel.drop_nulls()
    if observed.is_empty():
        return  # no treated unit: the caller's message says so
    low, high = int(observed.min()), int(observed.max())  # type: ignore[arg-type]
    seen = set(observed.cast(pl.Int64).to_list())
    # binned endpoints take every period beyond them
    missing = [
        k
        for k in spec.relative_periods()
        if k not in seen
        and not (spec.endpoints == "bin" and k == spec.window[0] and low < k)
        and not (spec.endpoints == "bin" and k == spec.window[1] and high > k)
    ]
    if missing:
        runs: list[list[int]] = []
        for k in missing:  # consecutive periods as one run: -20 to -12
            if runs and k == runs[-1][-1] + 1:
                runs[-1].append(k)
            else:
                runs.append([k])
        shown = ", ".join(f"{r[0]:+d}" if len(r) == 1 else f"{r[0]:+d} to {r[-1]:+d}" for r in runs)
        raise SpecError(
            f"no treated unit is observed at relative period(s) {shown} of the window "
            f"{list(spec.window)}; '{spec.first_treated}' and the panel's periods give "
            f"relative periods {low:+d} to {high:+d}",
            code="estimation",
            path=f"models.{ctx.name}",
            hint=f"narrow the window to within [{max(spec.window[0], low)}, "
            f"{min(spec.window[1], high)}]",
        )


def fit_event_study(
    frame: pl.DataFrame, spec: EventStudySpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    _numeric_time(frame, ctx)
    frame = _complete(frame, [spec.y, *spec.x])
    _check_first_treated(frame, spec.first_treated, ctx)
    low, high = spec.window
    first = _first_period(frame, spec.first_treated)
    rel = (pl.col(ctx.time).cast(pl.Float64) - first).alias("__rel")
    data = frame.with_columns(rel)
    if spec.method != "callaway_santanna":  # its window bounds the periods it reports only
        _check_window(data["__rel"], spec, ctx)
    # the end points that bin periods beyond them, before the clip hides those periods
    beyond = data["__rel"].drop_nulls()
    binned: set[int] = (
        set()
        if spec.endpoints != "bin" or beyond.is_empty()
        else {k for k, out in ((low, beyond.min() < low), (high, beyond.max() > high)) if out}
    )
    n_dropped = 0
    if spec.endpoints == "drop":
        outside = pl.col("__rel").is_not_null() & ~pl.col("__rel").is_between(low, high)
        n_dropped = int(data.select(outside.sum()).item())
        data = data.filter(~outside)
    else:
        data = data.with_columns(pl.col("__rel").clip(low, high))
    names = [relative_name(k) for k in spec.relative_periods()]
    data = data.with_columns(
        [
            (pl.col("__rel") == k).fill_null(False).cast(pl.Float64).alias(name)
            for k, name in zip(spec.relative_periods(), names, strict=True)
        ]
    )
    if spec.method == "callaway_santanna":  # its own rules for a panel without never-treated
        return {"": _callaway_santanna(frame, spec, ctx)}
    if data["__rel"].is_null().all() or data["__rel"].is_not_null().all():
        raise SpecError(
            "an event study needs treated units and never-treated ones; "
            f"'{spec.first_treated}' has "
            + ("no treated unit" if data["__rel"].is_null().all() else "no never-treated unit"),
            code="estimation",
            path=f"models.{ctx.name}",
            hint=None
            if data["__rel"].is_null().all()
            else "method: callaway_santanna with control: notyet compares each cohort with the "
            "units not yet treated, as R did's att_gt does when every unit is treated",
        )
    leads = [relative_name(k) for k in spec.relative_periods() if k < 0]
    cohort_extra: dict[str, object] = {}
    if spec.method == "sun_abraham":
        fitted, coefficients, pretrend, cohort_extra = _sun_abraham(data, spec, ctx, first)
    else:
        inner = PanelFeSpec(
            estimator="panel_fe", y=spec.y, x=[*names, *spec.x], effects=spec.effects, se=spec.se
        )
        fitted = fit_linear(data, inner, ctx)[""]
        coefficients = dict(fitted.coefficients)
        beta, cov = _twfe_fit(fitted)
        pretrend = _wald(beta, cov, [inner.x.index(n) for n in leads])
    stats = {**fitted.stats, **pretrend}
    result = ModelResult(
        name=ctx.name,
        estimator="event_study",
        dependent=spec.y,
        nobs=fitted.nobs,
        coefficients=coefficients,
        stats=stats,
        extra={
            **fitted.extra,
            **cohort_extra,
            "method": spec.method,
            "window": list(spec.window),
            "reference": spec.reference,
            "endpoints": spec.endpoints,
            "dropped_outside_window": n_dropped,
            "relative_periods": spec.relative_periods(),
            "pretrend_test": f"Wald test that the {len(leads)} leads are zero, F = W/q",
        },
        regressors=tuple(spec.x),
        effects=fitted.effects,
        se_type=fitted.se_type,
        se_convention=fitted.se_convention,
        label=spec.label,
        coefficient_labels={
            relative_name(k): relative_label(k, binned=k in binned) for k in spec.relative_periods()
        },
    )
    return {"": result}


def _twfe_fit(fitted: ModelResult) -> tuple[np.ndarray, Covariance]:
    """Coefficients (slopes, then the constant) and covariance of a ``panel_fe`` fit — for the
    joint tests and weighted averages its tidy coefficients cannot give."""
    if fitted.covariance is None:
        raise SpecError("the fit kept no covariance matrix", code="estimation")
    beta = np.array([c.estimate for c in fitted.coefficients.values()])
    return beta, Covariance(fitted.covariance, fitted.covariance_df, fitted.se_convention, 0)


def _wald(
    beta: np.ndarray,
    cov: Covariance,
    rows: list[int] | np.ndarray,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Wald test that R·β = 0, R the ``rows`` of the identity or the rows of ``weights``;
    reported as F = W/q with the coefficients' reference distribution (F(q, G − 1) when
    clustered)."""
    r = np.eye(beta.size)[list(rows)] if weights is None else weights
    if r.shape[0] == 0:
        return {}
    rb = r @ beta
    wald = float(rb @ np.linalg.solve(r @ cov.matrix @ r.T, rb))
    q = r.shape[0]
    f = wald / q
    p = float(chi2_sf(wald, q)) if cov.df is None else float(f_sf(f, q, cov.df))
    return {"pretrend_f": f, "pretrend_wald": wald, "pretrend_df": float(q), "pretrend_p": p}


def _sun_abraham(
    data: pl.DataFrame, spec: EventStudySpec, ctx: FitContext, first: pl.Expr
) -> tuple[ModelResult, dict[str, Coefficient], dict[str, float], dict[str, object]]:
    """Cohort × relative-period interactions, then their cohort-share averages per period."""
    data = data.with_columns(first.alias("__cohort"))
    cohorts = sorted(data["__cohort"].drop_nulls().unique().to_list())
    columns: list[str] = []
    cells: list[tuple[float, int]] = []
    for i, cohort in enumerate(cohorts):
        for k in spec.relative_periods():
            cell = (pl.col("__cohort") == cohort) & (pl.col("__rel") == k)
            count = int(data.select(cell.fill_null(False).sum()).item())
            if count == 0:
                continue
            name = f"__c{i}_{k}"
            data = data.with_columns(cell.fill_null(False).cast(pl.Float64).alias(name))
            columns.append(name)
            cells.append((cohort, k))
    inner = PanelFeSpec(
        estimator="panel_fe", y=spec.y, x=[*columns, *spec.x], effects=spec.effects, se=spec.se
    )
    fitted = fit_linear(data, inner, ctx)[""]
    beta, cov = _twfe_fit(fitted)
    counts = np.array(
        [data.filter((pl.col("__cohort") == g) & (pl.col("__rel") == k)).height for g, k in cells],
        dtype=float,
    )
    periods = spec.relative_periods()
    weights = np.zeros((len(periods), beta.size))
    for j, k in enumerate(periods):
        members = [i for i, (_, kk) in enumerate(cells) if kk == k]
        if members:
            weights[j, members] = counts[members] / counts[members].sum()
    estimates = weights @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", weights, cov.matrix, weights))
    coefficients: dict[str, Coefficient] = {}
    for j, k in enumerate(periods):
        if not weights[j].any():
            continue
        t = estimates[j] / se[j]
        p = two_sided_p(t, cov.df)
        coefficients[relative_name(k)] = Coefficient(
            float(estimates[j]), float(se[j]), float(t), float(p)
        )
    for name in spec.x:
        coefficients[name] = fitted.coefficients[name]
    leads = [j for j, k in enumerate(periods) if k < 0 and weights[j].any()]
    pretrend = _wald(beta, cov, [], weights[leads])
    extra: dict[str, object] = {
        "cohorts": cohorts,
        "cohort_effects": [
            {"cohort": g, "period": k, "estimate": float(beta[i]), "weight": float(w)}
            for i, ((g, k), w) in enumerate(
                zip(cells, (weights.sum(axis=0)[: len(cells)]), strict=True)
            )
        ],
        "aggregation": "Sun and Abraham (2021): cohort shares of observations at each period",
    }
    return fitted, coefficients, pretrend, extra


def _incomplete_units(data: pl.DataFrame, ctx: FitContext, periods: np.ndarray) -> tuple[str, str]:
    """The units of an unbalanced panel that miss periods (a row absent, or its outcome
    missing), each with the periods it misses ("1 unit misses periods (or their outcome):
    000005 (2019, 2020)"), and the sample that leaves them out, written for the user's entity
    column, codes quoted as YAML needs (a code such as 000005 unquoted would read as 5)."""
    rows = data.group_by(ctx.entity, maintain_order=True).agg(pl.col(ctx.time))
    incomplete = [
        (unit, sorted(set(periods.tolist()) - set(seen)))
        for unit, seen in zip(rows[ctx.entity].to_list(), rows[ctx.time].to_list(), strict=True)
        if len(seen) != periods.size
    ]
    shown = "; ".join(
        f"{unit} ({', '.join(f'{t:g}' for t in missing) or 'repeated periods'})"
        for unit, missing in incomplete[:5]
    ) + (f"; … {len(incomplete) - 5} more" if len(incomplete) > 5 else "")
    listed = ", ".join(
        f"'{unit}'" if isinstance(unit, str) else str(unit) for unit, _ in incomplete[:10]
    ) + (", …" if len(incomplete) > 10 else "")
    units = "1 unit misses" if len(incomplete) == 1 else f"{len(incomplete)} units miss"
    return (
        f"{units} periods (or their outcome): {shown}",
        f"samples: {{balanced: {{exclude: {{{ctx.entity}: [{listed}]}}}}}} and "
        "sample: balanced on the model",
    )


def _zero_se(coefficients: Mapping[str, Coefficient]) -> list[str]:
    """The warning for effects whose standard error is 0 (their z and p are left empty)."""
    zero = [name for name, c in coefficients.items() if not c.std_error > 0]
    if not zero:
        return []
    return [
        f"the standard error of {', '.join(zero)} is 0 (a cohort and its controls of one unit "
        "each, or outcome changes that do not vary within them): z and p are left empty"
    ]


def _without_never_treated(
    y: np.ndarray, periods: np.ndarray, first: np.ndarray, spec: EventStudySpec, ctx: FitContext
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None, list[str]]:
    """R did's ``pre_process_did`` for a panel without never-treated units: units first
    treated after the last period (plus the anticipation) are never treated within it; if no
    unit is never treated then, ``control: notyet`` drops the periods from the last cohort's
    first treated period (less the anticipation) on and uses that cohort as not-yet-treated
    controls only (``comparison``: no ATT(g, t) of its own), while ``control: never`` has no
    control group (did 2.1's "no available never-treated group"). Returns the outcomes,
    periods and first periods to estimate on, the comparison-only cohort, and notes."""
    notes: list[str] = []
    late = first > periods[-1] + spec.anticipation
    if late.any():
        first = np.where(late, np.nan, first)
        notes.append(
            f"{int(late.sum())} units first treated after the last period "
            f"({periods[-1]:g}) are never treated within the panel, as in R did"
        )
    if np.isnan(first).any() or np.isnan(first).all():
        return y, periods, first, None, notes
    if spec.control == "never":
        raise SpecError(
            f"'{spec.first_treated}' has no never-treated unit: every unit is treated by "
            f"{np.max(first):g}, so control: never has no comparison group",
            code="estimation",
            path=f"models.{ctx.name}",
            hint="control: notyet compares each cohort with the units not yet treated, the "
            "last cohort serving as controls only (R did's att_gt, control_group = "
            '"notyettreated")',
        )
    latest = float(np.max(first))
    kept = periods < latest - spec.anticipation
    if kept.sum() < 2:
        raise SpecError(
            f"'{spec.first_treated}' has no never-treated unit, and the last cohort "
            f"({latest:g}) leaves fewer than two periods before it to compare with",
            code="estimation",
            path=f"models.{ctx.name}",
        )
    notes.append(
        f"no never-treated unit: the last cohort ({latest:g}) serves as not-yet-treated "
        f"controls only and the periods from {latest - spec.anticipation:g} on are dropped "
        '(R did\'s att_gt, control_group = "notyettreated")'
    )
    return y[:, kept], periods[kept], first, latest, notes


def _unbalanced(
    data: pl.DataFrame, ctx: FitContext, n_units: int, periods: np.ndarray
) -> SpecError:
    """The error for Callaway–Sant'Anna on an unbalanced panel: the units that miss periods
    and the sample that leaves them out — R did's ``att_gt`` drops such units itself with a
    warning; here the spec says so."""
    which, sample = _incomplete_units(data, ctx, periods)
    return SpecError(
        f"callaway_santanna needs a balanced panel: {data.height} rows for {n_units} units × "
        f"{periods.size} periods; {which}",
        code="data",
        path=f"models.{ctx.name}",
        hint=f"leave them out with a sample, as R did's att_gt does with a warning: {sample}",
    )


def _callaway_santanna(frame: pl.DataFrame, spec: EventStudySpec, ctx: FitContext) -> ModelResult:
    """ATT(g, t) on the balanced panel, then R did's simple, dynamic and group aggregations;
    the dynamic effects inside the window are the ``rel±k`` coefficients, ``att`` the simple
    aggregate, ``att_dynamic`` and ``att_group`` the dynamic and group summaries. SEs are the
    multiplier bootstrap's (R did's default) or, with ``bootstrap: false``, the analytic ones,
    both clustered by unit; z tests. The pre-test is att_gt's Wald test on every pre-period
    ATT(g, t) with the analytic covariance (as did prints it whatever the SEs)."""
    from specrun.kernels.attgt import (
        Aggregate,
        aggregate,
        att_gt,
        group_average,
        multiplier_bootstrap,
        multiplier_draws,
        pretest,
    )

    if spec.x or spec.effects != ["entity", "time"] or spec.se != _cluster_entity():
        raise SpecError(
            "callaway_santanna is the unconditional estimator: no x, effects or se options "
            "(its SEs are clustered by unit)",
            code="schema",
            path=f"models.{ctx.name}",
        )
    data = frame.select(
        pl.col(ctx.entity), pl.col(ctx.time).cast(pl.Float64), pl.col(spec.y).cast(pl.Float64),
        _first_period(frame, spec.first_treated).alias("__first"),
    ).sort(ctx.entity, ctx.time)  # fmt: skip
    units = data[ctx.entity].unique(maintain_order=True)
    periods = np.sort(data[ctx.time].unique().to_numpy())
    if data.height != units.len() * periods.size:
        raise _unbalanced(data, ctx, units.len(), periods)
    firsts = data.group_by(ctx.entity, maintain_order=True).agg(
        pl.col("__first").n_unique().alias("k"), pl.col("__first").first()
    )
    if (firsts["k"] > 1).any():
        raise SpecError(
            f"'{spec.first_treated}' varies within a unit; it must be the unit's first treated "
            "period",
            code="data",
            path=f"models.{ctx.name}",
        )
    y = data[spec.y].to_numpy().reshape(units.len(), periods.size)
    first = firsts["__first"].to_numpy().astype(float)
    y, periods, first, comparison, notes = _without_never_treated(y, periods, first, spec, ctx)
    try:
        gt = att_gt(
            y,
            periods,
            first,
            control=spec.control,
            base_period=spec.base_period,
            anticipation=spec.anticipation,
            comparison=comparison,
        )
    except ValueError as exc:
        raise SpecError(str(exc), code="estimation", path=f"models.{ctx.name}") from None
    event = gt.period - gt.group
    n = y.shape[0]
    events = np.unique(event).astype(int).tolist()
    dynamic = {k: aggregate(gt, event == k, first) for k in events}
    post = [k for k in events if k >= 0]
    dynamic_psi = np.mean([dynamic[k].influence for k in post], axis=0)
    dynamic_overall = Aggregate(
        float(np.mean([dynamic[k].estimate for k in post])),
        float(np.sqrt(np.sum(dynamic_psi**2)) / n),
        dynamic_psi,
    )
    simple = aggregate(gt, event >= 0, first)
    per_group, group_overall = group_average(gt, first)
    overall = {"att": simple, "att_dynamic": dynamic_overall, "att_group": group_overall}

    # every SE below is analytic unless the multiplier bootstrap replaces it
    gt_se = gt.se
    dynamic_se = {k: a.se for k, a in dynamic.items()}
    group_se = {g: a.se for g, a in per_group.items()}
    overall_se = {name: a.se for name, a in overall.items()}
    bands: dict[str, object] = {}
    boot = spec.multiplier()
    if boot is not None:
        draws = multiplier_draws(n, boot.draws, boot.seed, boot.weights)
        on_gt = multiplier_bootstrap(gt.influence, draws, level=boot.level)
        on_dynamic = multiplier_bootstrap(
            np.column_stack([dynamic[k].influence for k in events]), draws, level=boot.level
        )
        groups = list(per_group)
        on_group = multiplier_bootstrap(
            np.column_stack([per_group[g].influence for g in groups]), draws, level=boot.level
        )
        on_overall = multiplier_bootstrap(
            np.column_stack([a.influence for a in overall.values()]), draws, level=boot.level
        )
        gt_se = on_gt.se
        dynamic_se = dict(zip(events, on_dynamic.se.tolist(), strict=True))
        group_se = dict(zip(groups, on_group.se.tolist(), strict=True))
        overall_se = dict(zip(overall, on_overall.se.tolist(), strict=True))
        bands = {
            "level": boot.level,
            "att_gt": on_gt.critical_value,
            "dynamic": on_dynamic.critical_value,
            "group": on_group.critical_value,
        }

    def coefficient(estimate: float, se: float) -> Coefficient:
        if not se > 0:
            # a cohort and its controls of one unit each (or changes that do not vary): the
            # influence functions are 0, and so the SE; no z or p (R did prints NaN)
            return Coefficient(estimate, se, float("nan"), float("nan"))
        z = estimate / se
        return Coefficient(estimate, se, z, float(two_sided_p(z)))

    coefficients = {name: coefficient(a.estimate, overall_se[name]) for name, a in overall.items()}
    low, high = spec.window
    shown = [k for k in events if low <= k <= high]
    # a universal base (g − 1 − anticipation) is zero by construction: the figure draws it there,
    # as R did's ggdid; a varying base omits no period
    base = -1 - spec.anticipation
    reference = (
        base
        if spec.base_period == "universal" and base not in events and low <= base <= high
        else None
    )
    for k in shown:
        coefficients[relative_name(k)] = coefficient(dynamic[k].estimate, dynamic_se[k])
    stats: dict[str, float] = {"n_entities": float(n), "n_clusters": float(n)}
    wald = pretest(gt)
    if wald is not None:
        stats.update(
            pretrend_wald=wald[0],
            pretrend_f=wald[0] / wald[1],
            pretrend_df=float(wald[1]),
            pretrend_p=float(chi2_sf(*wald)),
        )

    def band(estimate: float, se: float, crit: object) -> dict[str, float]:
        if not bands:
            return {}
        half = float(crit) * se  # type: ignore[arg-type]
        return {"band_low": estimate - half, "band_high": estimate + half}

    if boot is None:
        inference = "analytic influence-function SEs clustered by unit (R did, bstrap = FALSE)"
    else:
        inference = (
            f"multiplier bootstrap ({boot.weights} weights, {boot.draws} draws, seed "
            f"{boot.seed}) on the influence functions, clustered by unit; SE = bootstrap "
            "IQR / (Φ⁻¹(.75) − Φ⁻¹(.25)) / √n and sup-t simultaneous bands (R did mboot, "
            "bstrap = TRUE, cband = TRUE)"
        )
    return ModelResult(
        name=ctx.name,
        estimator="event_study",
        dependent=spec.y,
        nobs=int(y.size),  # units × the periods estimated on (fewer when some are dropped)
        coefficients=coefficients,
        stats=stats,
        extra={
            # what R did's pre-processing changed is said, as its warnings say it
            **(
                {"warnings": warned}
                if (warned := [*notes, *_zero_se(coefficients), *few_clusters(stats)])
                else {}
            ),
            "method": spec.method,
            "control": spec.control,
            "base_period": spec.base_period,
            "anticipation": spec.anticipation,
            "window": list(spec.window),
            "reference": reference,
            "relative_periods": shown,
            "se": inference,
            "bootstrap": None if boot is None else boot.model_dump(),
            "uniform_critical_values": bands or None,
            "pretrend_test": (
                "R did att_gt's Wald χ² that every pre-treatment ATT(g, t) is zero, analytic "
                "influence-function covariance"
            ),
            "att_gt": [
                {
                    "group": g,
                    "period": t,
                    "att": a,
                    "std_error": s,
                    **band(a, s, bands.get("att_gt")),
                }
                for g, t, a, s in zip(gt.group, gt.period, gt.att, gt_se, strict=True)
            ],
            "dynamic": [
                {
                    "event": k,
                    "att": dynamic[k].estimate,
                    "std_error": dynamic_se[k],
                    **band(dynamic[k].estimate, dynamic_se[k], bands.get("dynamic")),
                }
                for k in events
            ],
            "group": {
                f"{g:g}": {
                    "att": a.estimate,
                    "std_error": group_se[g],
                    **band(a.estimate, group_se[g], bands.get("group")),
                }
                for g, a in per_group.items()
            },
            "dynamic_overall": {
                "att": dynamic_overall.estimate,
                "std_error": overall_se["att_dynamic"],
            },
            "group_overall": {"att": group_overall.estimate, "std_error": overall_se["att_group"]},
        },
        effects=("entity", "time"),
        # the note says which: bootstrap standard errors are not the analytic clustered ones
        se_type=(
            "clustered by entity" if boot is None else "multiplier bootstrap, clustered by entity"
        ),
        se_convention="did (R package), "
        + ("analytic" if boot is None else "multiplier bootstrap"),
        stat_name="z",
        label=spec.label,
        coefficient_labels={
            "att": "ATT (simple)",
            "att_dynamic": "ATT (dynamic)",
            "att_group": "ATT (group)",
            **{relative_name(k): relative_label(k) for k in shown},
        },
    )
