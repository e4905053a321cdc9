"""Options of the ``margins`` table kind, checked without building tables; the builder is in
``specrun.tables.margins``, imported when a table of this kind is first built."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from specrun.data.terms import Component, parse_item
from specrun.errors import SpecError
from specrun.registry import Lazy
from specrun.tables.base import TABLES, Stars, TableBase, TableKind

if TYPE_CHECKING:  # the kernel (numpy) is imported to build a table, not to validate a spec
    from specrun.kernels.margins import Key

_PERCENTILE = re.compile(r"^p(\d{1,3})$")
MarginValue = float | str


def continuous_key(text: str) -> Key:
    """The (variable, shift, diff) of a one-variable term such as ``Dige`` or ``L.STR``.
    Raises ``ValueError`` (for pydantic) otherwise."""
    try:
        terms = parse_item(text)
    except SpecError as exc:
        raise ValueError(exc.message) from None
    c: Component = terms[0].components[0]
    if len(terms) != 1 or terms[0].is_interaction or c.factor:
        raise ValueError(f"'{text}' must name one continuous variable (L./F./D. allowed)")
    return (c.variable, c.shift, c.diff)


def check_at_values(values: list[MarginValue]) -> list[MarginValue]:
    """Validate ``at`` values: numbers, ``p0``…``p100`` or ``mean``; raises ``ValueError``."""
    for value in values:
        if isinstance(value, str):
            match = _PERCENTILE.match(value)
            if value != "mean" and (match is None or int(match.group(1)) > 100):
                raise ValueError(f"'{value}' is not a number, p0…p100 or mean")
    return values


class MarginsBase(TableBase):
    """Keys shared by the margins table and figure: the model and the regressor."""

    model: str = Field(description="The fitted model (ols or panel_fe, with its interactions).")
    dydx: str = Field(description="The regressor whose effect is shown (Dige, L.Dige).")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")

    @field_validator("dydx")
    @classmethod
    def _dydx(cls, value: str) -> str:
        continuous_key(value)
        return value


class MarginsTableSpec(MarginsBase):
    """``margins, dydx(x) at(z = (…))``: one row per combination of the ``at`` values."""

    kind: Literal["margins"]
    at: dict[str, list[MarginValue]] = Field(
        min_length=1,
        description="Moderator → values: numbers, percentiles of the estimation sample "
        "(p10, p50, p90) or mean.",
    )
    johnson_neyman: bool = Field(True, description="Note the Johnson–Neyman interval.")
    johnson_neyman_bounds: Literal["observed", "roots"] = Field(
        "observed",
        description="How the note gives it: observed (the regions where the effect is "
        "significant within the moderator's observed range) or roots (the bounds themselves, "
        "wherever they lie, as R interactions' johnson_neyman prints them: 'outside [a, b]').",
    )
    digits: int = Field(3, ge=0, le=10, description="Decimals of printed numbers.")
    stars: Stars

    @field_validator("at")
    @classmethod
    def _at(cls, value: dict[str, list[MarginValue]]) -> dict[str, list[MarginValue]]:
        for key, values in value.items():
            continuous_key(key)
            if not values:
                raise ValueError(f"at: {key} needs at least one value")
            check_at_values(values)
        return value


TABLES.register("margins")(
    TableKind(
        "margins",
        MarginsTableSpec,
        Lazy("specrun.tables.margins:build_margins"),
        lambda s: [s.model],
        ("ols", "panel_fe"),
        reads_distributions=True,
    )
)
