"""A run's fitted models by name: each fitted in this process or read from the node cache, and
then decoded only when something reads it whole.

A cached fit node's entry carries, in its plain-JSON index (``specrun.cache``), each model's
``results.json`` text and its tidy core (``ModelCore``: estimator, dependent variable, N,
coefficients, statistics, covariance names). ``results.json`` and a multiverse's curve read
only these, so a re-run after changing one specification of 2,000 decodes none of the 1,900
models it reused; a table, figure or test that reads a model gets the whole ``ModelResult``,
decoded from the entry at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from specrun.results import Coefficient, ModelResult


@dataclass(frozen=True)
class ModelCore:
    """What a model's curve row needs, as a cached entry's index keeps it: plain JSON (a
    coefficient is ``[estimate, std_error, stat, p_value]``)."""

    estimator: str
    dependent: str
    nobs: int
    coefficients: dict[str, list[float]]
    stats: dict[str, float]
    effects: list[str]
    se_type: str
    se_convention: str
    stat_name: str

    @classmethod
    def of(cls, result: ModelResult) -> ModelCore:
        return cls(
            result.estimator,
            result.dependent,
            int(result.nobs),
            {
                term: [float(c.estimate), float(c.std_error), float(c.stat), float(c.p_value)]
                for term, c in result.coefficients.items()
            },
            {key: float(value) for key, value in result.stats.items()},
            list(result.effects),
            result.se_type,
            result.se_convention,
            result.stat_name,
        )

    def to_index(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_index(cls, tree: Any) -> ModelCore:
        """Raises ``TypeError``/``KeyError``/``ValueError`` for an index that is not one."""
        if type(tree) is not dict:
            raise TypeError("a model's core is not a mapping")
        core = cls(**tree)
        if not (
            isinstance(core.nobs, int)
            and all(
                type(v) is list and len(v) == 4 and all(type(x) is float for x in v)
                for v in core.coefficients.values()
            )
            and all(type(v) is float for v in core.stats.values())
        ):
            raise ValueError("a model's core holds values of other types")
        return core

    def brief(self, name: str) -> ModelResult:
        """A ``ModelResult`` holding this core and defaults elsewhere (no ``extra``, terms,
        covariance or percentiles): for readers of the tidy numbers only."""
        return ModelResult(
            name=name,
            estimator=self.estimator,
            dependent=self.dependent,
            nobs=self.nobs,
            coefficients={term: Coefficient(*values) for term, values in self.coefficients.items()},
            stats=dict(self.stats),
            effects=tuple(self.effects),
            se_type=self.se_type,
            se_convention=self.se_convention,
            stat_name=self.stat_name,
        )


class Stored:
    """A model held in a cache entry: its core, and how to get the whole result (decoding the
    entry's value, or refitting the node when the value cannot be decoded)."""

    __slots__ = ("_load", "_name", "core")

    def __init__(self, name: str, core: ModelCore, load: Callable[[], Mapping[str, Any]]) -> None:
        self._name, self.core, self._load = name, core, load

    def result(self) -> ModelResult:
        return self._load()[self._name]  # type: ignore[no-any-return]


class ModelStore(MutableMapping[str, ModelResult]):
    """Models by name, in the order they were added; a stored model is decoded when it is
    first read (``store[name]``, ``.get``, ``.values``, ``.items``) and kept decoded.
    ``brief(name)`` reads only its core. ``adopt(other)`` takes another store's models
    without decoding them."""

    def __init__(self, items: Mapping[str, ModelResult] | None = None) -> None:
        self._items: dict[str, ModelResult | Stored] = dict(items or {})

    def __getitem__(self, name: str) -> ModelResult:
        item = self._items[name]
        if isinstance(item, Stored):
            item = self._items[name] = item.result()
        return item

    def __setitem__(self, name: str, value: ModelResult) -> None:
        self._items[name] = value

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def store(self, name: str, stored: Stored) -> None:
        """Add a model held in a cache entry, undecoded."""
        self._items[name] = stored

    def adopt(self, other: Mapping[str, ModelResult]) -> None:
        """Every model of ``other``; those of a ``ModelStore`` still undecoded stay so."""
        if isinstance(other, ModelStore):
            self._items.update(other._items)
        else:
            self._items.update(other)

    def brief(self, name: str) -> ModelResult | None:
        """The model's tidy numbers (``ModelCore.brief``) when it is still undecoded, else the
        model itself; None for an unknown name."""
        item = self._items.get(name)
        if isinstance(item, Stored):
            return item.core.brief(name)
        return item


__all__ = ["ModelCore", "ModelStore", "Stored"]
