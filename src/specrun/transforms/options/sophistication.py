"""Options of the ``sophistication`` transform (PRODY/EXPY), checked without numpy; the
transform is ``specrun.transforms.sophistication``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from specrun.registry import Lazy
from specrun.transforms.base import TRANSFORMS, TransformKind, TransformOptions


class SophisticationOptions(TransformOptions):
    """Options of ``sophistication`` (EXPY from PRODY, Hausmann, Hwang and Rodrik 2007)."""

    source: str = Field(
        description="Name of the data source holding the long export data "
        "(one row per entity, time and product)."
    )
    product: str = Field(description="Product (or category) column of the export source.")
    value: str = Field(
        description="Export value column of the export source; must be >= 0. Several rows of "
        "the same entity, time and product are summed (reported in the notes)."
    )
    income: str = Field(description="Panel column with income per capita (Y in PRODY).")
    output: str = Field("EXPY", description="Name of the EXPY column added to the panel.")
    entity: str | None = Field(
        None,
        description="Entity column of the export source; default: the panel's entity column name.",
    )
    time: str | None = Field(
        None,
        description="Time column of the export source; default: the panel's time column name.",
    )
    deflator: str | None = Field(
        None,
        description="Panel column with a price level index (e.g. CPI, 2012 = 100). Real income "
        "is income * P[base_year] / P (each entity's own base-year index) or, without "
        "base_year, income * 100 / P.",
    )
    base_year: int | None = Field(
        None,
        description="Time value whose price level real income is expressed in (needs "
        "'deflator'); every entity must have a deflator in that year.",
    )
    va_share: str | None = Field(
        None,
        description="Column of the export source with the domestic value-added share in "
        "[0, 1]; export values are multiplied by it before anything else.",
    )
    per: Literal["year", "pooled"] = Field(
        "year",
        description="'year': PRODY per product and year. 'pooled': PRODY per product, the mean "
        "of its yearly values over the years it is exported, held fixed across years.",
    )
    scale: float = Field(
        1.0,
        gt=0,
        description="Multiplies PRODY and EXPY, e.g. 0.0001 for income in ten thousands.",
    )
    log: bool = Field(False, description="Write ln(scale * EXPY) instead of scale * EXPY.")
    missing: Literal["error", "skip"] = Field(
        "error",
        description="'error': a null export value, an exporter without income, a zero export "
        "total or a panel row without exports stops the run, naming it. 'skip': leave those "
        "out, set EXPY to null where it cannot be computed, and list each in the notes.",
    )


def prody_artifact_key(output: str) -> str:
    """Key of the PRODY frame in the run's artifacts: ``"prody.<output>"``."""
    return f"prody.{output}"


def sophistication_inputs(options: SophisticationOptions) -> list[str]:
    return [options.income, *([options.deflator] if options.deflator else [])]


TRANSFORMS.register("sophistication")(
    TransformKind(
        "sophistication",
        SophisticationOptions,
        Lazy("specrun.transforms.sophistication:apply_sophistication"),
        sophistication_inputs,
        lambda o: [o.output],
        needs_panel=True,
    )
)
