"""Fitted results as frozen records, and their ``results.json`` form (DESIGN.md contract)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy comes with the fits: validating a spec never loads it
    import numpy as np


# 1 − R² below this: the residuals are rounding error, not a fit (an outcome built from its
# regressors leaves 1 − R² near 1e-30; no estimated relation comes within a million times of it)
EXACT_FIT = 1e-12


@dataclass(frozen=True)
class Coefficient:
    estimate: float
    std_error: float
    stat: float
    p_value: float

    def to_json(self) -> dict[str, float | None]:
        return {k: _finite(v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class Reference:
    """The distribution a coefficient's statistic is referred to, for its p-value and its
    confidence interval alike: Student's t with ``df`` degrees of freedom (the statistic is a
    t), or the standard normal when ``df`` is None (a z).

    A model whose coefficients share one reference names it once (``ModelResult.stat_name``
    and the ``n_clusters`` / ``df_resid`` statistics); a model that mixes them names each
    coefficient's (``ModelResult.references``): a mediation's a, b, c and c′ are t tests of
    their regressions, its a·b a Sobel z test."""

    df: float | None = None

    @property
    def stat_name(self) -> str:
        """``"t"`` or ``"z"``."""
        return "z" if self.df is None else "t"

    def to_json(self) -> dict[str, str | float | None]:
        """``{"distribution": "t", "df": 9.0}`` or ``{"distribution": "normal", "df": null}``:
        what a reader needs to reproduce the interval estimate ± q·std_error."""
        if self.df is None:
            return {"distribution": "normal", "df": None}
        return {"distribution": "t", "df": float(self.df)}


@dataclass(frozen=True)
class TermPart:
    """One component of a coefficient's term: ``L.Dige`` is (Dige, 1, 0, None), the ``East``
    indicator of ``i.region`` is (region, 0, 0, "East"). Tables compose labels from these."""

    variable: str
    shift: int = 0  # periods lagged (negative: led)
    diff: int = 0  # order of differencing
    level: str | None = None  # a factor level; None for a continuous component


@dataclass(frozen=True)
class ModelResult:
    """One fitted model, in the tidy form tables and ``results.json`` read.

    ``regressors`` lists the model's own right-hand-side variables (for Controls: Yes/No rows);
    ``effects`` the fixed effects it absorbed; ``se_type`` / ``se_convention`` name the covariance.
    ``stat_name`` names the reference distribution of its statistics ("t": t with the
    ``n_clusters`` − 1 or ``df_resid`` degrees of freedom of ``stats``; "z": normal), unless
    ``references`` names a coefficient's own (models that mix them: mediation); read it through
    ``stat_name_of``.
    """

    name: str
    estimator: str
    dependent: str
    nobs: int
    coefficients: Mapping[str, Coefficient]
    stats: Mapping[str, float]
    extra: Mapping[str, Any] = field(default_factory=dict)
    regressors: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    se_type: str = ""
    se_convention: str = ""
    stat_name: str = "t"  # "t" or "z"
    label: str | None = None
    coefficient_labels: Mapping[str, str] = field(default_factory=dict)  # generated names
    terms: Mapping[str, tuple[TermPart, ...]] = field(default_factory=dict)  # built columns
    # a coefficient's own reference distribution, where the model's coefficients differ in it
    references: Mapping[str, Reference] = field(default_factory=dict)
    # the coefficients' covariance matrix in ``coefficients`` order (margins' delta method)
    covariance: np.ndarray | None = field(default=None, compare=False, repr=False)
    # degrees of freedom of the t reference of ``covariance`` (None: normal)
    covariance_df: int | None = field(default=None, compare=False, repr=False)
    # built column → percentiles 0–100 on the estimation sample (margins' at: p10, p50, p90)
    distributions: Mapping[str, tuple[float, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def stat_name_of(self, term: str) -> str:
        """The name of ``term``'s statistic, ``"t"`` or ``"z"``: its own reference's, else the
        model's."""
        reference = self.references.get(term)
        return self.stat_name if reference is None else reference.stat_name

    def to_json(self) -> dict[str, Any]:
        """The model's ``results.json`` entry; a coefficient with its own reference carries it
        as ``"reference"`` (``Reference.to_json``)."""
        coefficients: dict[str, Any] = {}
        for term, coef in self.coefficients.items():
            coefficients[term] = coef.to_json()
            if term in self.references:
                coefficients[term]["reference"] = self.references[term].to_json()
        return {
            "estimator": self.estimator,
            "dependent": self.dependent,
            "nobs": self.nobs,
            "coefficients": coefficients,
            "stats": {k: _finite(v) for k, v in self.stats.items()},
            "effects": list(self.effects),
            "se": {"type": self.se_type, "convention": self.se_convention},
            "extra": _jsonable(self.extra),
        }


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _finite(float(value))
    if hasattr(value, "to_json"):
        return value.to_json()
    return str(value)


@dataclass(frozen=True)
class ResultSet:
    """Every fitted model of a run, the families ``over:`` expanded, and transform artifacts."""

    models: Mapping[str, ModelResult]
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    artifacts: Mapping[str, Any] = field(default_factory=dict)

    def expand(self, name: str) -> tuple[str, ...]:
        """A model name, or a family's members in order."""
        return self.families.get(name, (name,))


def fits_exactly(result: ModelResult) -> bool:
    """Whether ``result``'s regressors reproduce its dependent variable up to rounding: its R²
    (within R² under fixed effects) within ``EXACT_FIT`` of 1. Its residuals, and so its
    standard errors, t statistics and p-values, are then rounding noise (Stata prints them
    all the same; fixest warns). Models without an R² (descriptive, GMM) never do."""
    for name in ("r2_within", "r2"):
        value = result.stats.get(name)
        if value is not None and math.isfinite(value):
            return 1.0 - value < EXACT_FIT
    return False
