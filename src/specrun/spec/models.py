"""The spec's pydantic models: what a valid spec file is, section by section.

Models, transforms and tables are unions over registries (``estimator:``, the transform's key,
``kind:``), assembled in ``spec.schema`` once every registry is populated. Fields that hold
variable names are typed ``VarName`` / ``VarList`` so that one generic checker can verify and
expand them (``$controls``) without knowing any estimator.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VariableRef:
    """Marks a field as naming panel variables (checked at validation, ``$group`` expanded).

    ``lag_prefix``: items may carry Stata's lag operator (``L.w``, ``L2.k``), which the
    estimator applies within entity; validation checks the variable after the prefix.
    """

    def __init__(self, *, lag_prefix: bool = False) -> None:
        self.lag_prefix = lag_prefix


VarName = Annotated[str, VariableRef()]
VarList = Annotated[list[str], VariableRef()]
TermList = Annotated[list[str], VariableRef(lag_prefix=True)]

_LAG_PREFIX = re.compile(r"^L\d*\.")


def strip_lag(term: str) -> str:
    """``L2.k`` → ``k``: the variable a lagged term reads."""
    return _LAG_PREFIX.sub("", term.strip())


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeneratedIndex(StrictModel):
    """Entity and period columns for a file stored entity-major without them (Hansen's data)."""

    entity: str = Field(description="Name of the entity column to create (numbered from 1).")
    time: str = Field(description="Name of the period column to create.")
    periods: int = Field(ge=1, description="Periods per entity (rows are entity-major).")
    start: int = Field(1, description="The first period's value.")


class SourceSpec(StrictModel):
    path: str = Field(description="File path, relative to the spec file's folder.")
    format: Literal["csv", "tsv", "parquet", "excel", "stata", "whitespace"] | None = Field(
        None, description="File format; inferred from the extension when omitted."
    )
    columns: list[str] | None = Field(
        None, description="Column names for a headerless whitespace-separated text file."
    )
    sheet: str | Annotated[int, Field(ge=1)] | None = Field(
        None, description="Excel sheet: its name, or its number counting from 1."
    )
    index: GeneratedIndex | None = Field(
        None, description="Create entity and period columns for an entity-major file."
    )
    null_values: list[str] = Field(
        default_factory=lambda: ["", "NA", "."], description="Cells read as missing."
    )


class PanelSpec(StrictModel):
    source: str = Field(description="The source holding the panel (one row per entity-time).")
    entity: str = Field(description="Entity (cross-section) identifier column.")
    time: str = Field(description="Time period column.")


class DataSpec(StrictModel):
    sources: dict[str, SourceSpec]
    panel: PanelSpec


class VariableSpec(StrictModel):
    label: str | None = Field(None, description="Label printed in tables.")
    description: str | None = None


class SampleSpec(StrictModel):
    where: str | None = Field(None, description="Row filter, in specrun's expression language.")
    time: tuple[int | None, int | None] | None = Field(
        None, description="Inclusive time window [first, last]; null leaves a side open."
    )
    exclude: dict[str, list[str | int | float]] | None = Field(
        None, description="Rows whose column takes one of these values are dropped."
    )
    label: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> SampleSpec:
        if self.where is None and self.time is None and self.exclude is None:
            raise ValueError("a sample needs at least one of: where, time, exclude")
        return self


SE_TYPES = ("unadjusted", "HC0", "HC1", "HC2", "HC3", "cluster", "driscoll_kraay")
SE_DESCRIPTIONS = {
    "unadjusted": "conventional",
    "HC0": "heteroskedasticity-robust (HC0)",
    "HC1": "heteroskedasticity-robust",
    "HC2": "heteroskedasticity-robust (HC2)",
    "HC3": "heteroskedasticity-robust (HC3)",
    "driscoll_kraay": "Driscoll–Kraay",
}


class CovarianceSpec(StrictModel):
    """Standard errors: a type, and the columns to cluster by.

    ``type``: ``unadjusted``; ``HC0``–``HC3`` (``robust`` is ``HC1``); ``cluster`` with
    ``cluster:`` naming one or more columns (``entity``/``time`` name the panel index; two or
    more give Cameron–Gelbach–Miller multiway clustering); ``driscoll_kraay`` (Stata ``xtscc``,
    with a ``lags:`` bandwidth). Stata's ``xtreg, fe vce(robust)`` is NOT HC1: it is clustered by
    entity (``se: {cluster: entity}``).

    ``convention`` names the small-sample correction: ``stata`` (default; reghdfe's rule, equal
    to ``xtreg, fe vce(cluster id)`` / ``regress`` where those apply: absorbed effects nested in a
    cluster variable leave K), ``areg`` (every absorbed level counts in K), ``plm`` (R plm
    ``vcovHC``/``vcovDC``/``vcovSCC`` with ``type = "HC1"``, n/(n−k)) or ``linearmodels``
    (linearmodels' own covariance, with its defaults).
    """

    type: Literal["unadjusted", "HC0", "HC1", "HC2", "HC3", "cluster", "driscoll_kraay"] = Field(
        "unadjusted",
        description="Covariance type; 'robust' is HC1. Stata's xtreg, fe vce(robust) is not HC1 "
        "but clustered by entity (cluster: entity).",
    )
    cluster: list[str] | str | None = Field(
        None, description="Columns to cluster by (entity/time name the panel index)."
    )
    lags: int | None = Field(
        None,
        ge=0,
        description="Driscoll–Kraay bandwidth (Bartlett lags); default floor(4(T/100)^(2/9)) as "
        "xtscc.",
    )
    convention: Literal["stata", "areg", "plm", "linearmodels"] = "stata"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"type": value}
        if isinstance(value, dict):
            if value.get("type") == "robust":
                value = {**value, "type": "HC1"}
            if "cluster" in value:
                cluster = value["cluster"]
                value = {**value, "cluster": [cluster] if isinstance(cluster, str) else cluster}
                value.setdefault("type", "cluster")
        return value

    @model_validator(mode="after")
    def _cluster_named(self) -> CovarianceSpec:
        if self.type == "cluster" and not self.cluster:
            raise ValueError("clustered standard errors need 'cluster:' and one or more columns")
        if self.type != "cluster" and self.cluster:
            raise ValueError(f"'{self.type}' standard errors take no cluster")
        if self.cluster and len(set(self.cluster)) != len(self.cluster):
            raise ValueError("a cluster column is named twice")
        if self.lags is not None and self.type != "driscoll_kraay":
            raise ValueError("'lags' is the Driscoll–Kraay bandwidth (type: driscoll_kraay)")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # the shorthand 'se: robust' is a plain string
        shorthand = ["unadjusted", "robust", "HC0", "HC1", "HC2", "HC3", "driscoll_kraay"]
        return {"anyOf": [{"enum": shorthand}, handler(core_schema)]}

    @property
    def clusters(self) -> list[str]:
        """The cluster columns as a list (the shorthand string is normalised on input)."""
        return [self.cluster] if isinstance(self.cluster, str) else list(self.cluster or [])

    def describe(self) -> str:
        if self.type == "cluster":
            dims = " and ".join(self.clusters)
            return f"clustered by {dims}"
        return SE_DESCRIPTIONS[self.type]

    def column_refs(self, field: str = "se") -> list[tuple[str, tuple[str | int, ...]]]:
        """Cluster columns other than the panel index, with their path under the model."""
        return [
            (name, (field, "cluster", i))
            for i, name in enumerate(self.clusters)
            if name not in ("entity", "time")
        ]


class ModelBase(StrictModel):
    """Keys every model takes, whatever its estimator."""

    estimator: str
    label: str | None = Field(None, description="Column title in tables.")
    sample: str | SampleSpec | None = Field(None, description="A named sample or an inline one.")
    over: str | None = Field(
        None, description="Fit one model per value of this column (named <model>.<value>)."
    )

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        """Variables named outside VarName/VarList fields, with their path in the model."""
        return []

    def strict_columns(self) -> list[str]:
        """Columns whose missing values are errors instead of rows dropped (weights)."""
        return []

    def hints(self) -> list[tuple[str, tuple[str | int, ...]]]:
        """Advice for a valid but likely unintended setting, with its path in the model."""
        return []


class OutputSpec(StrictModel):
    dir: str = Field("out", description="Output folder, relative to the spec file's folder.")
    formats: list[Literal["latex", "markdown", "html"]] = Field(
        default_factory=lambda: ["latex", "markdown"]
    )
