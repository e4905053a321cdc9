"""Dynamic panel GMM estimators: ``difference_gmm`` (Arellano and Bond 1991) and ``system_gmm``
(Blundell and Bond 1998), with options modelled on Stata's ``xtabond2`` (Roodman 2009).

    y_it = Σ_l α_l y_i,t−l + β′x_it + time effects + μ_i + e_it

The numerics are ``specrun.kernels.gmm`` (xtabond2's conventions; plm::pgmm's differences are
listed there). Spec keys::

    gmm: {Expy: [2, 4], Dige: [2, null]}   # gmmstyle(Expy, lag(2 4)) gmmstyle(Dige, lag(2 .))
    iv: [URBAN, EDU]                       # ivstyle(URBAN EDU)

or lists of groups for xtabond2's other options (``equation``, ``collapse`` per group,
``passthru``, ``mz``). Checked against Roodman (2009) in ``tests/test_kernel_gmm.py`` and,
through ``specs/abond.yaml``, in ``tests/test_estimators_gmm.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from pydantic import Field, field_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind, FitContext, term_variable
from specrun.results import Coefficient, ModelResult
from specrun.spec.models import ModelBase, StrictModel, TermList, VarName, new_list

if TYPE_CHECKING:  # the kernel is imported when a model is fitted, not to validate a spec
    from specrun.kernels.gmm import GmmResult, GmmStyle, IvStyle

Equation = Literal["both", "diff", "level"]


MAX_LAG = 50  # far beyond any panel's length; bounds the instrument matrix


def check_lag_range(lags: tuple[int, int | None]) -> tuple[int, int | None]:
    """xtabond2's ``laglimits(a b)``: 0 ≤ a ≤ b ≤ MAX_LAG (xtabond2 swaps a reversed pair
    silently; specrun asks for it written in order)."""
    first, last = lags
    if first < 0:
        raise ValueError("instrument lags cannot be negative (forward)")
    if last is not None and last < first:
        raise ValueError(f"the lag range [{first}, {last}] is reversed: write [{last}, {first}]")
    if max(first, last or 0) > MAX_LAG:
        raise ValueError(f"instrument lags must be at most {MAX_LAG}")
    return lags


class GmmGroup(StrictModel):
    """One ``gmmstyle()`` group."""

    vars: list[str] = Field(min_length=1, description="Variables (L. prefixes allowed).")
    lags: tuple[int, int | None] = Field(
        (1, None), description="laglimits(a b): lags a..b; null b is open."
    )
    collapse: bool | None = Field(None, description="Default: the model's collapse.")
    equation: Equation = Field(
        "both",
        description="Which equation the instruments enter: both, diff (transformed) or level "
        "(xtabond2's equation()).",
    )

    @field_validator("lags")
    @classmethod
    def _ordered(cls, value: tuple[int, int | None]) -> tuple[int, int | None]:
        return check_lag_range(value)


class IvGroup(StrictModel):
    """One ``ivstyle()`` group."""

    vars: list[str] = Field(
        min_length=1, description="Exogenous variables used as their own instruments."
    )
    equation: Equation = Field(
        "both",
        description="Which equation the instruments enter: both, diff (transformed) or level "
        "(xtabond2's equation()).",
    )
    passthru: bool = Field(
        False, description="Enter the instruments untransformed (xtabond2's passthru)."
    )
    mz: bool = Field(False, description="Missing instrument values become zero (xtabond2's mz).")


class GmmSpec(ModelBase):
    y: VarName
    lags: int | list[int] = Field(
        1, description="Lags of y among the regressors (1 or [1, 2]); at most 50."
    )
    x: TermList = Field(default_factory=new_list, description="Regressors; L. prefixes allowed.")
    gmm: dict[str, tuple[int, int | None]] | list[GmmGroup] = Field(
        description="GMM-style instruments: {variable: [first lag, last lag or null]} or groups."
    )
    iv: list[str] | list[IvGroup] = Field(
        default_factory=new_list, description="IV-style instruments: variables or groups."
    )
    collapse: bool = Field(False, description="Collapse GMM-style instruments (one per lag).")
    steps: Literal[1, 2] = Field(2, description="One-step or two-step GMM (xtabond2's twostep).")
    transform: Literal["fd", "fod"] = Field(
        "fd",
        description="Transformation removing the fixed effect: fd (first differences) or fod "
        "(forward orthogonal deviations, xtabond2's orthogonal).",
    )
    time_effects: bool = Field(True, description="Period dummies as regressors and instruments.")
    robust: bool = Field(
        True, description="One-step: cluster-robust; two-step: Windmeijer-corrected."
    )
    small: bool = Field(False, description="Small-sample corrections; t instead of z.")
    h: Literal[1, 2, 3] = Field(3, description="xtabond2's h(): the one-step weight matrix.")

    @field_validator("lags")
    @classmethod
    def _positive(cls, value: int | list[int]) -> int | list[int]:
        lags = [value] if isinstance(value, int) else value
        if not lags or min(lags) < 1:
            raise ValueError("lags of y must be 1 or more")
        if max(lags) > MAX_LAG:
            raise ValueError(f"lags of y must be at most {MAX_LAG}")
        return value

    @field_validator("gmm")
    @classmethod
    def _gmm_ranges(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for lags in value.values():
                check_lag_range(lags)
        return value

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        refs: list[tuple[str, tuple[str | int, ...]]] = []
        if isinstance(self.gmm, dict):
            refs += [(term_variable(v), ("gmm", v)) for v in self.gmm]
        else:
            refs += [
                (term_variable(v), ("gmm", i, "vars", j))
                for i, g in enumerate(self.gmm)
                for j, v in enumerate(g.vars)
            ]
        for i, item in enumerate(self.iv):
            if isinstance(item, str):
                refs.append((term_variable(item), ("iv", i)))
            else:
                refs += [(term_variable(v), ("iv", i, "vars", j)) for j, v in enumerate(item.vars)]
        return refs

    def styles(self) -> tuple[list[GmmStyle], list[IvStyle]]:
        from specrun.kernels.gmm import GmmStyle, IvStyle

        if isinstance(self.gmm, dict):
            gmm = [
                GmmStyle((v,), lags=lags, collapse=self.collapse) for v, lags in self.gmm.items()
            ]
        else:
            gmm = [
                GmmStyle(
                    tuple(g.vars),
                    lags=g.lags,
                    equation=g.equation,
                    collapse=self.collapse if g.collapse is None else g.collapse,
                )
                for g in self.gmm
            ]
        plain = [v for v in self.iv if isinstance(v, str)]
        iv = [IvStyle(tuple(plain))] if plain else []
        iv += [
            IvStyle(tuple(g.vars), equation=g.equation, passthru=g.passthru, mz=g.mz)
            for g in self.iv
            if isinstance(g, IvGroup)
        ]
        return gmm, iv


class DifferenceGmmSpec(GmmSpec):
    """Arellano and Bond (1991): the transformed equation only (xtabond2 ``noleveleq``)."""

    estimator: Literal["difference_gmm"]


class SystemGmmSpec(GmmSpec):
    """Blundell and Bond (1998): transformed and levels equations stacked."""

    estimator: Literal["system_gmm"]
    constant: bool = Field(
        True, description="A constant in the levels equation (xtabond2 without noconstant)."
    )
    time_effects_equation: Equation = Field(
        "level", description="Where the period dummies instrument (Roodman 2009's examples)."
    )


def _result(fit: GmmResult, spec: GmmSpec, ctx: FitContext) -> ModelResult:
    coefficients = {
        name: Coefficient(float(b), float(se), float(z), float(p))
        for name, b, se, z, p in zip(
            fit.names, fit.params, fit.std_errors, fit.stats, fit.p_values, strict=True
        )
    }
    extra: dict[str, Any] = {
        key: getattr(fit, key)
        for key in (
            "ar1_z",
            "ar1_p",
            "ar2_z",
            "ar2_p",
            "hansen",
            "hansen_df",
            "hansen_p",
            "sargan",
            "sargan_df",
            "sargan_p",
            "n_instruments",
            "n_groups",
        )
    }
    # Period dummies that the sample makes collinear are dropped as a matter of course (the
    # first periods, lost to lags and differences): a note, not a warning. Any other regressor
    # dropped still warns.
    routine = {f"{n} dropped due to collinearity" for n in fit.dropped if n.startswith("yr")}
    extra.update(
        steps=fit.steps,
        transform=fit.transform,
        system=fit.system,
        dropped=list(fit.dropped),
        warnings=[w for w in fit.warnings if w not in routine],
    )
    if spec.steps == 2 and spec.robust:
        se_type = "two-step, Windmeijer-corrected"
    elif spec.robust:
        se_type = "one-step, robust to heteroskedasticity and serial correlation"
    else:
        se_type = f"{'two' if spec.steps == 2 else 'one'}-step, conventional"
    return ModelResult(
        name=ctx.name,
        estimator=spec.estimator,
        dependent=spec.y,
        nobs=fit.nobs,
        coefficients=coefficients,
        stats={"n_groups": float(fit.n_groups), "n_instruments": float(fit.n_instruments)},
        extra=extra,
        regressors=tuple(term_variable(x) for x in spec.x),
        effects=("entity", "time") if spec.time_effects else ("entity",),
        se_type=se_type,
        se_convention="xtabond2",
        stat_name=fit.stat_name,
        label=spec.label,
        coefficient_labels={n: n for n in fit.names if n.startswith("L")},
    )


def fit_dynamic(frame: pl.DataFrame, spec: GmmSpec, ctx: FitContext) -> Mapping[str, ModelResult]:
    from specrun.kernels.gmm import fit_gmm

    gmm, iv = spec.styles()
    system = isinstance(spec, SystemGmmSpec)
    fit = fit_gmm(
        frame,
        entity=ctx.entity,
        time=ctx.time,
        dependent=spec.y,
        dep_lags=spec.lags,
        regressors=spec.x,
        gmm=gmm,
        iv=iv,
        system=system,
        transform=spec.transform,
        steps=spec.steps,
        robust=spec.robust,
        small=spec.small,
        time_effects=spec.time_effects,
        time_effects_equation=spec.time_effects_equation if system else "diff",
        constant=spec.constant if system else False,
        h=spec.h,
    )
    return {"": _result(fit, spec, ctx)}


ESTIMATORS.register("difference_gmm")(
    EstimatorKind(
        "difference_gmm", DifferenceGmmSpec, fit_dynamic, complete_cases=False, needs_panel=True
    )
)
ESTIMATORS.register("system_gmm")(
    EstimatorKind("system_gmm", SystemGmmSpec, fit_dynamic, complete_cases=False, needs_panel=True)
)
