"""What a figure kind is: a spec model (``kind:``), the models it reads, and a drawing step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import Field

from specrun.registry import Registry
from specrun.spec.models import RegistryMember
from specrun.tables.base import TableContext

if TYPE_CHECKING:  # matplotlib is imported by the draw functions only: validation never pays
    from matplotlib.figure import Figure

    from specrun.results import ResultSet


class FigureBase(RegistryMember):
    kind: str
    title: str = Field("", description="Figure title.")
    # 1 to 50 inches: a 400-inch side drew a 60,000-pixel PNG (a 400 × 400 figure took 20 GB
    # and three minutes); below an inch the labels cannot be laid out
    width: float = Field(6.0, ge=1, le=50, description="Width in inches (1 to 50).")
    height: float = Field(4.0, ge=1, le=50, description="Height in inches (1 to 50).")


F = TypeVar("F", bound=FigureBase)


@dataclass(frozen=True)
class FigureKind(Generic[F]):
    """A figure kind: its options model (``kind:``), its drawing step, the models it reads."""

    name: str
    spec: type[F]
    draw: Callable[[F, ResultSet, TableContext], Figure]
    models: Callable[[F], list[str]]
    reads: tuple[str, ...] = ()  # estimators whose results it can draw; empty: any
    reads_distributions: bool = False  # as ``TableKind.reads_distributions``


FIGURES: Registry[FigureKind[Any]] = Registry("figure kind")
