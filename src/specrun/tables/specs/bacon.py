"""Options of the ``bacon`` table kind, checked without building tables; the builder is in
``specrun.tables.bacon``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.tables.base import TABLES, TableBase, TableKind


class BaconTableSpec(TableBase):
    """``kind: bacon``: the Goodman-Bacon (2021) decomposition of a staggered TWFE DID."""

    kind: Literal["bacon"]
    model: str = Field(description="A model with estimator: did (staggered, no controls).")
    detail: bool = Field(False, description="Also list every 2 × 2 comparison.")


TABLES.register("bacon")(
    TableKind(
        "bacon",
        BaconTableSpec,
        Lazy("specrun.tables.bacon:build_bacon"),
        lambda s: [s.model],
        reads=("did",),
    )
)
