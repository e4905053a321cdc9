"""Options of the ``mediation`` table kind, checked without building tables; the builder is in
``specrun.tables.mediation``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.tables.base import TABLES, Stars, TableBase, TableKind


class MediationTableSpec(TableBase):
    """``kind: mediation``: paths a, b, c, c′, indirect effect a·b, Sobel test, bootstrap CI."""

    kind: Literal["mediation"]
    model: str = Field(description="A model with estimator: mediation.")
    stars: Stars


TABLES.register("mediation")(
    TableKind(
        "mediation",
        MediationTableSpec,
        Lazy("specrun.tables.mediation:build_mediation"),
        lambda s: [s.model],
        reads=("mediation",),
    )
)
