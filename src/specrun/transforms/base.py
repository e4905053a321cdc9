"""What a transform is: an options model, the columns it reads and writes, and an apply step.

A spec lists transforms as one-key mappings (``- entropy_index: {...}``); the key picks a
``TransformKind`` from the registry and its options are validated by the kind's pydantic model.
``apply`` receives the panel frame built so far and returns the new frame plus any artifacts
(e.g. the entropy weights, printed by a ``weights`` table) and notes on reported treatments
(dropped rows, imputed cells) that go to ``manifest.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from specrun.registry import Registry

if TYPE_CHECKING:  # the transforms' steps import polars: validating a spec loads none
    import polars as pl


class TransformOptions(BaseModel):
    """Base of every transform's options: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # as StrictModel

    @field_validator("vars", "by", check_fields=False)
    @classmethod
    def _named_once(cls, names: Any) -> Any:
        # a column twice in vars: would write its output twice, in by: would group by it twice
        # (polars' "duplicate name" error, which names its own API, was all a user saw)
        if isinstance(names, list):
            seen: set[Any] = set()
            for name in names:
                if name in seen:
                    raise ValueError(f"'{name}' is named twice")
                seen.add(name)
        return names


OptionsT = TypeVar("OptionsT", bound=BaseModel)


@dataclass(frozen=True)
class TransformContext:
    """What a transform may look at besides the panel: the other sources and the panel index."""

    entity: str
    time: str
    sources: Mapping[str, pl.DataFrame]


@dataclass(frozen=True)
class TransformOutput:
    """What a transform returns: the new frame, artifacts for tables (entropy weights), notes."""

    frame: pl.DataFrame
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransformKind(Generic[OptionsT]):
    """A transform: its options model, its apply step, and the columns it reads and makes."""

    name: str
    options: type[OptionsT]
    apply: Callable[[pl.DataFrame, OptionsT, TransformContext], TransformOutput]
    inputs: Callable[[OptionsT], list[str]]  # panel columns read (checked before running)
    outputs: Callable[[OptionsT], list[str]]  # columns created or replaced
    needs_panel: bool = False  # reads the entity/time index (lags, interpolation)


TRANSFORMS: Registry[TransformKind[Any]] = Registry("transform")
