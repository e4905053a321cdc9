"""The whole spec's types, assembled from the registries (estimators, transforms, table kinds).

Importing the registry packages registers every implementation; a new estimator, transform or
table kind therefore appears in validation and in ``specrun schema`` with no change here.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Discriminator, Field, Tag, TypeAdapter, create_model

from specrun.spec.models import (
    DataSpec,
    OutputSpec,
    SampleSpec,
    StrictModel,
    VariableSpec,
)
from specrun.spec.multiverse import MultiverseSpec


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, StrictModel):
        return next(iter(type(value).model_fields))
    return None


@cache
def transform_step() -> Any:
    """A one-key mapping ``{<transform name>: <its options>}``."""
    from specrun.transforms import TRANSFORMS

    members = []
    for name in TRANSFORMS.names():
        kind = TRANSFORMS.get(name)
        step = create_model(
            f"{name.title().replace('_', '')}Step",
            __base__=StrictModel,
            **{name: (kind.options, Field(...))},
        )
        members.append(Annotated[step, Tag(name)])
    return Annotated[Union[tuple(members)], Discriminator(_step_tag)]  # noqa: UP007


@cache
def model_union() -> Any:
    from specrun.estimators import ESTIMATORS

    specs = tuple(ESTIMATORS.get(n).spec for n in ESTIMATORS.names())
    return Annotated[Union[specs], Field(discriminator="estimator")]  # noqa: UP007


@cache
def table_union() -> Any:
    from specrun.tables.kinds import TABLES

    specs = tuple(TABLES.get(n).spec for n in TABLES.names())
    return Annotated[Union[specs], Field(discriminator="kind")]  # noqa: UP007


@cache
def figure_union() -> Any:
    from specrun.figures import FIGURES

    specs = tuple(FIGURES.get(n).spec for n in FIGURES.names())
    return Annotated[Union[specs], Field(discriminator="kind")]  # noqa: UP007


@cache
def section_types() -> dict[str, Any]:
    """Each top-level section's type; models and variants stay raw until ``extends`` resolves."""
    return {
        "spec_version": int,
        "title": str,
        "data": DataSpec,
        "variables": dict[str, VariableSpec],
        "groups": dict[str, list[str]],
        "transforms": list[transform_step()],
        "samples": dict[str, SampleSpec],
        "models": dict[str, dict[str, Any]],
        "variants": dict[str, dict[str, dict[str, Any]]],
        "tables": dict[str, table_union()],
        "figures": dict[str, figure_union()],
        "multiverse": dict[str, MultiverseSpec],
        "outputs": OutputSpec,
    }


REQUIRED_SECTIONS = ("data", "models")


@cache
def adapter(section: str) -> TypeAdapter[Any]:
    return TypeAdapter(section_types()[section])


@cache
def model_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(model_union())


@cache
def steps_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(list[transform_step()])


def json_schema() -> dict[str, Any]:
    """JSON Schema of a spec file, for YAML language servers (``specrun schema``)."""
    fields: dict[str, Any] = {}
    for name, kind in section_types().items():
        default = ... if name in REQUIRED_SECTIONS else None
        fields[name] = (kind | None if default is None else kind, default)
    fields["models"] = (dict[str, model_union()], ...)
    spec = create_model("Spec", __base__=StrictModel, **fields)
    schema = spec.model_json_schema()
    typed = schema["properties"]["models"]["additionalProperties"]
    inherited = {
        "type": "object",
        "description": "A model that copies another's keys and overrides some of them.",
        "properties": {"extends": {"type": "string", "description": "The base model."}},
        "required": ["extends"],
    }
    schema["properties"]["models"]["additionalProperties"] = {"anyOf": [typed, inherited]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "specrun spec"
    schema["description"] = (
        "A specrun model spec. Models may also use 'extends: <model>' to inherit keys; "
        "'variants' overlay a base model with sample, transforms or estimator changes."
    )
    return schema
