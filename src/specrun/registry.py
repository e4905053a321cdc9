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
    """Names mapped to implementations; unknown names are answered with the valid ones.

    An entry is either registered at once (``register``) or declared by the module that
    registers it (``declare``), which is imported when the entry is first asked for: a spec's
    validation then imports, and builds the option models of, only the kinds it names (start-up
    dominates small specs), while ``names`` and ``in`` still know every kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._modules: dict[str, str] = {}  # declared name → the module that registers it

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = item
            return item

        return add

    def declare(self, name: str, module: str) -> None:
        """``module`` registers ``name`` when imported; it is imported on the first ``get``
        (if it has not been imported already)."""
        if name in self._modules:
            raise ValueError(f"{self.kind} '{name}' is declared twice")
        self._modules[name] = module

    def get(self, name: str) -> T:
        """The entry ``name``, importing its declaring module the first time. Raises
        ``SpecError`` (code ``reference``, with a "did you mean" or the valid names) for an
        unknown name, ``LookupError`` (a bug) when a declared module does not register it."""
        if name not in self._items and isinstance(name, str) and name in self._modules:
            import_module(self._modules[name])
            if name not in self._items:
                raise LookupError(f"{self._modules[name]} does not register {self.kind} '{name}'")
        try:
            return self._items[name]
        except KeyError:
            hint = did_you_mean(name, self.names()) or "valid: " + ", ".join(self.names())
            raise SpecError(f"unknown {self.kind} '{name}'", code="reference", hint=hint) from None

    def names(self) -> list[str]:
        return sorted({*self._items, *self._modules})

    def declared(self) -> dict[str, str]:
        """Declared name → the module that registers it (entries registered at once aside)."""
        return dict(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._modules
