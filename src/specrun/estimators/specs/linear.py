"""Options of the linear estimators (``ols``, ``panel_fe``): what a spec may write, checked
without numpy. The fit is ``specrun.estimators.linear.fit_linear``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from specrun.estimators.base import ESTIMATORS, EstimatorKind
from specrun.registry import Lazy
from specrun.spec.models import CovarianceSpec, ModelBase, VarList, VarName

INDEX = ("entity", "time")


def check_absorb_terms(terms: list[str]) -> None:
    """Each absorbed effect is a column or a#b, and none is given twice; ValueError otherwise
    (pydantic reports it at the ``absorb`` key's position)."""
    seen = set()
    for term in terms:
        parts = term.split("#")
        if any(not p.strip() for p in parts):
            raise ValueError(f"'{term}' is not an effect: write a column or a#b")
        key = frozenset(p.strip() for p in parts)
        if key in seen:
            raise ValueError(f"effect '{term}' is absorbed twice")
        seen.add(key)


def absorb_refs(absorb: list[str] | None) -> list[tuple[str, tuple[str | int, ...]]]:
    """Columns an ``absorb`` list names (the panel index aside), each with its spec path."""
    refs: list[tuple[str, tuple[str | int, ...]]] = []
    for i, term in enumerate(absorb or []):
        refs += [(p.strip(), ("absorb", i)) for p in term.split("#") if p.strip() not in INDEX]
    return refs


class WeightedColumns:
    """``variable_refs`` and ``strict_columns`` of a model with ``weights:``, ``se:`` and,
    where it has one, ``absorb:`` (OLS, panel FE, IV share them)."""

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        refs = absorb_refs(getattr(self, "absorb", None))
        weights = self.weights  # type: ignore[attr-defined]
        if weights is not None:
            refs.append((weights, ("weights",)))
        return refs + self.se.column_refs()  # type: ignore[attr-defined]

    def strict_columns(self) -> list[str]:
        weights = self.weights  # type: ignore[attr-defined]
        return [weights] if weights is not None else []


class OlsSpec(WeightedColumns, ModelBase):
    """Pooled OLS with a constant."""

    estimator: Literal["ols"]
    y: VarName
    x: VarList = Field(description="Regressors (model terms); a constant is added.")
    weights: str | None = Field(
        None, description="Analytic weights column (Stata [aweight=w]); positive, no missing."
    )
    se: CovarianceSpec = Field(
        default_factory=CovarianceSpec,
        description="Standard errors: unadjusted, robust (HC1), HC0–HC3, {cluster: [columns]} or "
        "driscoll_kraay, with the small-sample convention (see the covariance options).",
    )

    def absorbed(self) -> list[str]:
        return []


class PanelFeSpec(WeightedColumns, ModelBase):
    """Fixed-effects regression: any sets of effects absorbed (reghdfe's ``absorb()``)."""

    estimator: Literal["panel_fe"]
    y: VarName
    x: VarList = Field(
        description="Regressors (model terms); those constant within an absorbed level are "
        "errors naming them."
    )
    absorb: list[str] | None = Field(
        None,
        description="Effects to absorb: entity and time (the panel index), any column, or "
        "a#b for the interaction of columns (reghdfe absorb(i.a#i.b)). Default [entity].",
    )
    effects: list[Literal["entity", "time"]] | None = Field(
        None, description="Shorthand for absorb with the panel index only."
    )
    weights: str | None = Field(
        None, description="Analytic weights column (Stata [aweight=w]); positive, no missing."
    )
    singletons: Literal["keep", "drop"] = Field(
        "keep",
        description="Rows alone in a level of an absorbed set: keep (xtreg) or drop "
        "iteratively (reghdfe); the count dropped is reported.",
    )
    tolerance: float = Field(
        1e-8, gt=0, lt=1, description="Convergence tolerance of the iterative demeaning."
    )
    max_iterations: int = Field(10_000, ge=1, description="Most sweeps of the demeaning.")
    se: CovarianceSpec = Field(
        default_factory=CovarianceSpec,
        description="Standard errors: unadjusted, robust (HC1), HC0–HC3, {cluster: [columns]} or "
        "driscoll_kraay, with the small-sample convention (see the covariance options).",
    )

    @model_validator(mode="after")
    def _one_absorb(self) -> PanelFeSpec:
        if self.absorb is not None and self.effects is not None:
            raise ValueError("give absorb or its shorthand effects, not both")
        terms = self.absorbed()
        if not terms:
            raise ValueError("absorb needs at least one effect (an ols model absorbs none)")
        check_absorb_terms(terms)
        return self

    def absorbed(self) -> list[str]:
        """The absorbed effects, shorthand resolved: ``absorb``, else ``effects``, else entity."""
        if self.absorb is not None:
            return [t.strip() for t in self.absorb]
        return list(self.effects) if self.effects is not None else ["entity"]

    def hints(self) -> list[tuple[str, tuple[str | int, ...]]]:
        if self.se.type in ("HC0", "HC1") and "entity" in self.absorbed():
            return [
                (
                    f"{self.se.type} is White's covariance; Stata's `xtreg, fe vce(robust)` is "
                    "clustered by entity: write se: {cluster: entity} to reproduce it",
                    ("se",),
                )
            ]
        return []


FIT = Lazy("specrun.estimators.linear:fit_linear")
ESTIMATORS.register("ols")(EstimatorKind("ols", OlsSpec, FIT, shares_work=True))
ESTIMATORS.register("panel_fe")(
    EstimatorKind("panel_fe", PanelFeSpec, FIT, needs_panel=True, shares_work=True)
)
