"""Options of the ``multiverse`` table kind, checked without building tables; the builder is in
``specrun.tables.multiverse``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.tables.base import TABLES, TableBase, TableKind


class MultiverseTableSpec(TableBase):
    """The summary of a specification curve: its size, median estimate, share positive and
    share significant, and the three joint tests of Simonsohn, Simmons and Nelson (2020) with
    their p-values under the null when the multiverse has ``inference:``."""

    kind: Literal["multiverse"]
    multiverse: str = Field(description="The multiverse summarised.")
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance level of the share-significant row."
    )


TABLES.register("multiverse")(
    TableKind(
        "multiverse",
        MultiverseTableSpec,
        Lazy("specrun.tables.multiverse:build_multiverse"),
        lambda s: [],
    )
)
