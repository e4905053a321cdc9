"""A small name → object registry used for estimators, transforms, table kinds and formats."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, Generic, TypeVar

from specrun.errors import SpecError, did_you_mean

T = TypeVar("T")


class Lazy:
    """A function named ``"package.module:function"``, imported on its first call.

    Registry entries hold their option model (needed to validate a spec) and a ``Lazy`` reference
    to their implementation (fit, apply, build, draw), so that ``specrun validate`` imports no
    numpy, kernels or matplotlib: start-up dominates small specs. Calling a ``Lazy`` imports the
    module once and calls the function with the same arguments; ``target`` is the function.
    Raises ``ImportError``/``AttributeError`` (a bug, not a user error) for a wrong reference.
    """

    __slots__ = ("_target", "ref")

    def __init__(self, ref: str) -> None:
        if ref.count(":") != 1:
            raise ValueError(f"lazy reference '{ref}' is not 'package.module:function'")
        self.ref = ref
        self._target: Callable[..., Any] | None = None

    @property
    def target(self) -> Callable[..., Any]:
        if self._target is None:
            module, name = self.ref.split(":")
            self._target = getattr(import_module(module), name)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __reduce__(self) -> tuple[type[Lazy], tuple[str]]:
        # pickled by its reference (a process pool or a cluster worker imports the function
        # itself), never with the resolved function
        return (Lazy, (self.ref,))

    def __repr__(self) -> str:
        return f"Lazy({self.ref!r})"


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
