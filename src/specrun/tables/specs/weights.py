"""Options of the ``weights`` table kind, checked without building tables; the builder is in
``specrun.tables.weights``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.tables.base import TABLES, TableBase, TableKind


class WeightsTableSpec(TableBase):
    """``kind: weights``: an entropy-weight index's indicators with direction and weight."""

    kind: Literal["weights"]
    index: str = Field(description="The output column of an entropy_index transform.")
    dimensions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Dimension label → its indicators, printed as a first column in this order.",
    )
    columns: list[Literal["direction", "entropy", "divergence", "weight"]] = Field(
        default_factory=lambda: ["direction", "weight"],
        description="Columns after the indicator: direction (+/−), entropy e_j, divergence "
        "1 − e_j and weight w_j, in the order given.",
    )
    dimension_header: str = Field(
        "Dimension", description="Header of the dimension column (with dimensions:)."
    )
    indicator_header: str = Field(
        "Indicator", description="Header of the column of indicator labels."
    )
    digits: int = Field(4, ge=0, le=10, description="Decimals of printed numbers.")


TABLES.register("weights")(
    TableKind(
        "weights", WeightsTableSpec, Lazy("specrun.tables.weights:build_weights"), lambda s: []
    )
)
