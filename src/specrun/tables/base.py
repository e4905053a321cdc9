"""What a table kind is: a spec model (``kind:``), the models it reads, and a builder to IR."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import Field

from specrun.registry import Registry
from specrun.results import ResultSet
from specrun.spec.models import StrictModel
from specrun.tables.ir import Table


class TableBase(StrictModel):
    kind: str
    caption: str = Field("", description="Table title.")
    label: str | None = Field(None, description="LaTeX label; defaults to tab:<name>.")
    notes: list[str] = Field(default_factory=list, description="Notes printed under the table.")
    digits: int = Field(3, ge=0, le=10, description="Decimals of printed numbers.")


T = TypeVar("T", bound=TableBase)


@dataclass(frozen=True)
class TableContext:
    """What a table may know besides results: the name, variable labels and the spec's groups."""

    name: str
    labels: Mapping[str, str]
    groups: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class TableKind(Generic[T]):
    name: str
    spec: type[T]
    build: Callable[[T, ResultSet, TableContext], Table]
    models: Callable[[T], list[str]]  # model (or family) names the table reads
    reads: tuple[str, ...] = ()  # estimators whose results it can print; empty: any


TABLES: Registry[TableKind[Any]] = Registry("table kind")
