"""Options of the ``correlation`` table kind, checked without building tables; the builder is in
``specrun.tables.correlation``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.tables.base import TABLES, Stars, TableBase, TableKind


class CorrelationTableSpec(TableBase):
    """``kind: correlation``: the correlation matrix of a descriptive model's variables."""

    kind: Literal["correlation"]
    model: str = Field(description="A descriptive model with correlations: true.")
    upper: Literal["none", "spearman"] = Field(
        "none", description="What the upper triangle prints: nothing, or Spearman correlations."
    )
    stars: Stars


TABLES.register("correlation")(
    TableKind(
        "correlation",
        CorrelationTableSpec,
        Lazy("specrun.tables.correlation:build_correlation"),
        lambda s: [s.model],
        reads=("descriptive",),
    )
)
