"""Options of the ``iv`` table kind, checked without building tables; the builder is in
``specrun.tables.iv``, imported when a table of this kind is first built."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.spec.models import new_list
from specrun.tables.base import TABLES, Stars, TableBase, TableKind

DEFAULT_STATS = ["nobs", "first_f", "kp_f", "cd_f", "sy_size10", "hansen_j_p", "endog_p", "ar_p"]


class IVTableSpec(TableBase):
    """``kind: iv``: IV models beside their first stages, weak-instrument diagnostics below."""

    kind: Literal["iv"]
    models: list[str] = Field(min_length=1, description="Models with estimator: iv, in order.")
    first_stage: bool = Field(True, description="Print each first stage beside its model.")
    stats: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STATS),
        description="Statistic rows, by name (see Table statistics): weak-instrument, "
        "overidentification and endogeneity tests. Of the default rows, one that no column "
        "has (the overidentification test of an exactly identified model) is left out.",
    )
    stat_labels: dict[str, str] = Field(
        default_factory=dict, description="Statistic name → row label replacing the default."
    )
    keep: list[str] | None = Field(
        None, description="Only these coefficient rows (names, globs or re: patterns)."
    )
    drop: list[str] = Field(
        default_factory=new_list, description="Coefficient rows left out (names, globs or re:)."
    )
    order: list[str] | None = Field(
        None, description="Rows first, in order; default: endogenous, then instruments."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Row labels by coefficient name or pattern."
    )
    constant: bool = Field(True, description="Print the constant (_cons) row.")
    show: Literal["se", "t"] = Field(
        "se", description="Under each estimate: its standard error or its t (z) statistic."
    )
    stars: Stars


TABLES.register("iv")(
    TableKind(
        "iv",
        IVTableSpec,
        Lazy("specrun.tables.iv:build_iv_table"),
        lambda spec: list(spec.models),
        reads=("iv",),
    )
)
