"""Options of the ``threshold_test`` table kind, checked without building tables; the builder is in
``specrun.tables.threshold``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.tables.base import TABLES, Stars, TableBase, TableKind


class ThresholdTestTableSpec(TableBase):
    """``kind: threshold_test``: F, bootstrap p, critical values and γ̂ with its CI per threshold."""

    kind: Literal["threshold_test"]
    models: list[str] = Field(description="panel_threshold models, one block each.")
    stars: Stars
    digits: int = Field(4, ge=0, le=10, description="Decimals of printed numbers.")


TABLES.register("threshold_test")(
    TableKind(
        "threshold_test",
        ThresholdTestTableSpec,
        Lazy("specrun.tables.threshold:build_threshold_test"),
        lambda s: list(s.models),
    )
)
