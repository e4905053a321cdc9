"""Options of the dynamic panel GMM estimators (``difference_gmm``, ``system_gmm``): what a
spec may write, checked without numpy. The fit is ``specrun.estimators.gmm.fit_dynamic``,
imported on first use; xtabond2's conventions and the checks against Roodman (2009) are
described there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind, term_variable
from specrun.registry import Lazy
from specrun.spec.models import ModelBase, StrictModel, TermList, VarName, new_list

if TYPE_CHECKING:  # the kernel is imported when a model is fitted, not to validate a spec
    from specrun.kernels.gmm import GmmStyle, IvStyle

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
        False,
        description="Enter the instruments untransformed in the transformed equation "
        "(xtabond2's passthru; in system GMM with equation: diff).",
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

    def distinct_lists(self) -> list[tuple[tuple[str | int, ...], list[Any], str]]:
        """Besides ``center:``, the lags of y, the plain ``iv:`` variables and each group's
        ``vars``: a variable twice there is an instrument column twice, which changes the
        two-step weights and the Hansen test's degrees of freedom without any error."""
        lists = super().distinct_lists()
        if isinstance(self.lags, list):
            lists.append((("lags",), list(self.lags), "lags"))
        lists.append((("iv",), [v for v in self.iv if isinstance(v, str)], "iv"))
        for field, groups in (("gmm", self.gmm), ("iv", self.iv)):
            if isinstance(groups, list):
                lists += [
                    ((field, i, "vars"), list(g.vars), f"{field} group {i + 1}")
                    for i, g in enumerate(groups)
                    if isinstance(g, GmmGroup | IvGroup)
                ]
        return lists

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

    @field_validator("iv")
    @classmethod
    def _passthru_one_equation(cls, value: list[str] | list[IvGroup]) -> Any:
        # xtabond2 refuses passthru with equation(both) in system GMM (error 198, "passthru not
        # valid with equation(both) in system GMM"): the levels equation takes levels anyway,
        # so the suboption can only mean the transformed equation's instruments
        for i, group in enumerate(value):
            if isinstance(group, IvGroup) and group.passthru and group.equation == "both":
                raise ValueError(
                    f"iv group {i + 1}: passthru in system GMM needs equation: diff (the "
                    "levels equation takes the instruments untransformed anyway); xtabond2 "
                    "refuses passthru with equation(both)"
                )
        return value


FIT = Lazy("specrun.estimators.gmm:fit_dynamic")
ESTIMATORS.register("difference_gmm")(
    EstimatorKind("difference_gmm", DifferenceGmmSpec, FIT, complete_cases=False, needs_panel=True)
)
ESTIMATORS.register("system_gmm")(
    EstimatorKind("system_gmm", SystemGmmSpec, FIT, complete_cases=False, needs_panel=True)
)
