"""What an estimator is: a spec model, the variables it reads, and ``fit(frame) -> results``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, get_args, get_origin

import polars as pl
from pydantic import BaseModel

from specrun.registry import Registry
from specrun.results import ModelResult
from specrun.spec.models import ModelBase, VariableRef, strip_lag

S = TypeVar("S", bound=ModelBase)


@dataclass(frozen=True)
class FitContext:
    """What a fit may know besides its rows: its name and the panel's index columns."""

    name: str
    entity: str
    time: str
    progress: Callable[[str, int], Callable[[int, int], None] | None] = lambda _l, _t: None


@dataclass(frozen=True)
class EstimatorKind(Generic[S]):
    """An estimator family. ``fit`` returns the main result under ``""`` and any addressable
    parts (mediation's ``total``/``mediator``/``outcome``) under their own names."""

    name: str
    spec: type[S]
    fit: Callable[[pl.DataFrame, S, FitContext], Mapping[str, ModelResult]]
    children: tuple[str, ...] = ()
    complete_cases: bool = True  # fit only rows complete in every variable the model names
    notes: Mapping[str, Any] = field(default_factory=dict)
    needs_panel: bool = False  # within-entity dynamics or effects: a spec must have data.panel
    # parts whose names depend on the model (IV's ``first.<endog>``); default: ``children``
    child_names: Callable[[S], tuple[str, ...]] | None = None

    def parts(self, spec: S) -> tuple[str, ...]:
        """The addressable parts of a model of this kind (``<model>.<part>``)."""
        return self.child_names(spec) if self.child_names is not None else self.children


ESTIMATORS: Registry[EstimatorKind[Any]] = Registry("estimator")


def variable_marks(model: type[BaseModel]) -> dict[str, VariableRef]:
    """A spec model's fields typed ``VarName``/``VarList``/``TermList``, with their marks."""
    found = {}
    for name, info in model.model_fields.items():
        metadata = list(info.metadata)
        annotation = info.annotation
        if get_origin(annotation) is not None:
            for arg in get_args(annotation):
                metadata.extend(getattr(arg, "__metadata__", ()))
        marks = [m for m in metadata if isinstance(m, VariableRef)]
        if marks:
            found[name] = marks[0]
    return found


def variable_fields(model: type[BaseModel]) -> list[str]:
    return list(variable_marks(model))


def model_variables(spec: ModelBase) -> list[str]:
    """Every variable a (group-expanded) model spec reads, in field order, without repeats."""
    names: list[str] = []
    for field_name, mark in variable_marks(type(spec)).items():
        value = getattr(spec, field_name)
        for item in [value] if isinstance(value, str) else value or []:
            name = strip_lag(item) if mark.lag_prefix else item
            if name not in names:
                names.append(name)
    for name, _ in spec.variable_refs():
        if name not in names:
            names.append(name)
    return names
