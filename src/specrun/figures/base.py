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
    width: float = Field(6.0, gt=0, description="Width in inches.")
    height: float = Field(4.0, gt=0, description="Height in inches.")


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
