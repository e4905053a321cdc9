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

from specrun.results import Coefficient, ModelResult, Reference


@dataclass(frozen=True)
class ModelCore:
    """What a model's curve row needs, as a cached entry keeps it: its names in the entry's
    plain-JSON index (``header``), its numbers as raw doubles (``numbers``: each coefficient's
    estimate, standard error, statistic and p-value, then the statistics). ``references``
    holds the coefficients' own reference distributions (``ModelResult.references``), which a
    curve's intervals read."""

    estimator: str
    dependent: str
    nobs: int
    coefficients: dict[str, Coefficient]
    stats: dict[str, float]
    effects: tuple[str, ...]
    se_type: str
    se_convention: str
    stat_name: str
    references: dict[str, Reference]

    @classmethod
    def of(cls, result: ModelResult) -> ModelCore:
        return cls(
            result.estimator,
            result.dependent,
            int(result.nobs),
            dict(result.coefficients),
            {key: float(value) for key, value in result.stats.items()},
            tuple(result.effects),
            result.se_type,
            result.se_convention,
            result.stat_name,
            dict(result.references),
        )

    def header(self) -> list[Any]:
        """The core's names and small values, plain JSON (``from_parts`` reads them)."""
        return [
            self.estimator,
            self.dependent,
            self.nobs,
            list(self.coefficients),
            list(self.stats),
            list(self.effects),
            self.se_type,
            self.se_convention,
            self.stat_name,
            {term: reference.df for term, reference in self.references.items()},
        ]

    def numbers(self) -> list[float]:
        values = [float(x) for c in self.coefficients.values() for x in vars(c).values()]
        return values + list(self.stats.values())

    @classmethod
    def from_parts(cls, header: Any, numbers: list[float], at: int) -> tuple[ModelCore, int]:
        """The core whose ``header`` was stored and whose numbers start at ``numbers[at]``, and
        where the next model's start. Raises ``ValueError``/``TypeError`` for parts that are not
        a core's."""
        estimator, dependent, nobs, terms, stats, effects, se_type, convention, stat_name, own = (
            header
        )
        texts = [estimator, dependent, *terms, *stats, *effects, se_type, convention, stat_name]
        if type(nobs) is not int or not all(type(t) is str for t in texts):
            raise TypeError("a model's core holds values of other types")
        if type(own) is not dict or not all(
            term in terms and (df is None or type(df) in (int, float)) for term, df in own.items()
        ):
            raise TypeError("a model's core holds references of other types")
        end = at + 4 * len(terms) + len(stats)
        if end > len(numbers):
            raise ValueError("a model's core has fewer numbers than names")
        coefficients = {
            term: Coefficient(*numbers[at + 4 * i : at + 4 * i + 4]) for i, term in enumerate(terms)
        }
        values = dict(zip(stats, numbers[at + 4 * len(terms) : end], strict=True))
        references = {term: Reference(df) for term, df in own.items()}
        core = cls(
            estimator, dependent, nobs, coefficients, values, tuple(effects), se_type,
            convention, stat_name, references,
        )  # fmt: skip
        return core, end

    def brief(self, name: str) -> ModelResult:
        """A ``ModelResult`` holding this core and defaults elsewhere (no ``extra``, terms,
        covariance or percentiles): for readers of the tidy numbers only."""
        return ModelResult(
            name=name,
            estimator=self.estimator,
            dependent=self.dependent,
            nobs=self.nobs,
            coefficients=self.coefficients,
            stats=self.stats,
            effects=self.effects,
            se_type=self.se_type,
            se_convention=self.se_convention,
            stat_name=self.stat_name,
            references=self.references,
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
