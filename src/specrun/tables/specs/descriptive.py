"""Options of the ``descriptive`` table kind, checked without building tables; the builder is in
``specrun.tables.descriptive``, imported when a table of this kind is first built."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from specrun.errors import did_you_mean
from specrun.registry import Lazy
from specrun.tables.base import TABLES, TableBase, TableKind


class DescriptiveTableSpec(TableBase):
    """``kind: descriptive``: a row per variable of a descriptive model, a column per statistic."""

    kind: Literal["descriptive"]
    model: str = Field(description="A model with estimator: descriptive.")
    stats: list[str] = Field(
        default_factory=lambda: ["nobs", "mean", "sd", "median", "min", "max"],
        description="Columns: nobs, mean, sd, median, min, max, a quantile such as p25, or "
        "vif (variance inflation factor; the model needs vif: true).",
    )
    variable_header: str = Field(
        "Variable", description="Header of the first column (the variable labels)."
    )
    show_names: bool = Field(False, description="Add a column with the variable names.")


def missing_statistic(
    table: str, model: str, stat: str, computed: list[str]
) -> tuple[str, str | None]:
    """The message and hint for a statistic ``stat`` that descriptive model ``model`` does not
    compute (``computed``): shared by validation (from the model's spec) and the table build."""
    if re.fullmatch(r"p\d+(\.\d+)?", stat):
        hint: str | None = f"add {float(stat[1:]) / 100:g} to the quantiles of model '{model}'"
    elif stat == "vif":
        hint = f"add vif: true to model '{model}'"
    else:
        hint = did_you_mean(stat, computed)
    message = (
        f"table '{table}' asks for '{stat}', which model '{model}' did not compute; "
        f"it has: {', '.join(computed)}"
    )
    return message, hint


TABLES.register("descriptive")(
    TableKind(
        "descriptive",
        DescriptiveTableSpec,
        Lazy("specrun.tables.descriptive:build_descriptive"),
        lambda s: [s.model],
        reads=("descriptive",),
    )
)
