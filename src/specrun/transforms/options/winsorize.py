"""Options of the ``winsorize`` transform, checked without numpy; the clipping is
``specrun.transforms.winsorize``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from specrun.registry import Lazy
from specrun.transforms.base import TRANSFORMS, TransformKind, TransformOptions


class WinsorizeOptions(TransformOptions):
    """Options of ``winsorize``: clip variables at quantiles, over all rows or within groups."""

    vars: list[str] = Field(min_length=1, description="Panel columns to winsorize.")
    limits: tuple[float, float] = Field(
        (0.01, 0.99),
        description="Lower and upper quantile probabilities, in [0, 1] and lower < upper: "
        "[0.01, 0.99] clips at the 1st and 99th percentiles.",
    )
    by: str | None = Field(
        None,
        description="Column whose groups are winsorized separately (e.g. the year); null "
        "pools all rows.",
    )
    quantile: Literal["stata", "linear"] = Field(
        "stata",
        description="Quantile definition: 'stata' = numpy averaged_inverted_cdf (Stata "
        "_pctile, winsor2); 'linear' = numpy's default (R type 7).",
    )
    suffix: str = Field(
        "",
        description="Appended to each variable's name for the winsorized column; empty "
        "(default) replaces the variable.",
    )

    @field_validator("limits")
    @classmethod
    def _ordered_probabilities(cls, limits: tuple[float, float]) -> tuple[float, float]:
        low, high = limits
        if not (0.0 <= low < high <= 1.0):
            raise ValueError(f"limits must satisfy 0 <= lower < upper <= 1, got {list(limits)}")
        return limits


def winsorized_name(options: WinsorizeOptions, var: str) -> str:
    return f"{var}{options.suffix}"


TRANSFORMS.register("winsorize")(
    TransformKind(
        "winsorize",
        WinsorizeOptions,
        Lazy("specrun.transforms.winsorize:apply_winsorize"),
        lambda o: [*o.vars, *([o.by] if o.by else [])],
        lambda o: [winsorized_name(o, v) for v in o.vars],
    )
)
