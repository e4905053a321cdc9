"""A small name → object registry used for estimators, transforms, table kinds and formats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from specrun.errors import SpecError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Names mapped to implementations; unknown names are answered with the valid ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = item
            return item

        return add

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            hint = did_you_mean(name, self._items) or "valid: " + ", ".join(self.names())
            raise SpecError(f"unknown {self.kind} '{name}'", code="reference", hint=hint) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items
