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
    infer_rows: Annotated[int, Field(ge=1)] | Literal["all"] = Field(
        10_000,
        description="CSV/TSV: how many rows decide each column's type; 'all' reads the whole "
        "file first (slow on large files). A later row that breaks the type is an error naming "
        "its line and column.",
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


class CovarianceSpec(StrictModel):
    """Standard errors: ``unadjusted``, ``robust`` or ``{cluster: entity | time | [entity, time]}``.

    ``convention`` names the small-sample correction of robust and clustered covariances:
    ``stata`` (default: ``xtreg, fe vce(cluster id)`` / ``regress, vce(cluster id)``, with time
    effects entered as dummies), ``plm`` (R plm ``vcovHC(type = "HC1")``) or ``linearmodels``.
    """

    type: Literal["unadjusted", "robust", "cluster"] = "unadjusted"
    cluster: list[Literal["entity", "time"]] | Literal["entity", "time"] | None = None
    convention: Literal["stata", "plm", "linearmodels"] = "stata"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, dict) and "cluster" in value:
            cluster = value["cluster"]
            value = {**value, "cluster": [cluster] if isinstance(cluster, str) else cluster}
            value.setdefault("type", "cluster")
        return value

    @model_validator(mode="after")
    def _cluster_named(self) -> CovarianceSpec:
        if self.type == "cluster" and not self.cluster:
            raise ValueError("clustered standard errors need 'cluster: entity | time'")
        if self.type != "cluster" and self.cluster:
            raise ValueError(f"'{self.type}' standard errors take no cluster")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # the shorthand 'se: robust' is a plain string
        return {"anyOf": [{"enum": ["unadjusted", "robust"]}, handler(core_schema)]}

    def describe(self) -> str:
        if self.type == "cluster":
            dims = " and ".join(self.cluster or [])
            return f"clustered by {dims}"
        return {"unadjusted": "conventional", "robust": "heteroskedasticity-robust"}[self.type]


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


class OutputSpec(StrictModel):
    dir: str = Field("out", description="Output folder, relative to the spec file's folder.")
    formats: list[Literal["latex", "markdown", "html"]] = Field(
        default_factory=lambda: ["latex", "markdown"]
    )
    analysis: Literal["parquet", "csv", "none"] = Field(
        "parquet",
        description="The model-ready panel (the columns models use, after all transforms): "
        "analysis.parquet, analysis.csv, or not written.",
    )
