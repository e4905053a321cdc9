"""The whole spec's types, assembled from the registries (estimators, transforms, table kinds).

Importing the registry packages registers every implementation; a new estimator, transform or
table kind therefore appears in validation and in ``specrun schema`` with no change here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Union, get_args

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
)

from specrun.spec.models import (
    DataSpec,
    OutputSpec,
    RegistryMember,
    SampleSpec,
    StrictModel,
    VariableSpec,
)
from specrun.spec.multiverse import MultiverseSpec


def summary(doc: str | None) -> str:
    """The first paragraph of a docstring on one line, without reST double backquotes."""
    first = (doc or "").strip().split("\n\n")[0]
    return " ".join(first.split()).replace("``", "")


SECTION_DESCRIPTIONS = {
    "spec_version": "Version of the spec language this file is written in (1).",
    "title": "Title of the project, printed at the head of tables.tex and the HTML page.",
    "data": "Input files (sources) and the panel index (entity, time), or a cross-section.",
    "variables": "Per variable: the label tables and figures print (text, or {en, zh}).",
    "groups": "Named lists of variables, used in any variable list as $name.",
    "transforms": "Steps run in order on the panel, each a one-key mapping {transform: options}.",
    "samples": "Named row filters (where, time window, excluded values) models refer to.",
    "models": "Models to fit, by name: each picks an estimator and its options.",
    "variants": "Robustness checks: base model → variant name → keys overriding the base; "
    "fitted as <base>.<variant>.",
    "tables": "Tables to write, by name: each picks a kind (regression, mediation, …).",
    "figures": "Figures to draw, by name: each picks a kind (coefplot, threshold_lr, …).",
    "outputs": "Where outputs go, which formats, the language of generated text.",
    "multiverse": "Specification curves: a base model, its focus coefficient and axes of "
    "overlays, crossed into one model per specification, named <name>[<axis>=<value>,…].",
}


def _describe_discriminators(defs: dict[str, Any]) -> None:
    """The ``estimator:``/``kind:`` key of each union member says which member it selects."""
    for definition in defs.values():
        props = definition.get("properties", {})
        for key, noun in (("estimator", "estimator"), ("kind", "kind")):
            prop = props.get(key)
            if isinstance(prop, dict) and "const" in prop and "description" not in prop:
                what = definition.get("description", "").split("\n\n")[0]
                prop["description"] = f"Selects the {prop['const']} {noun}" + (
                    f": {' '.join(what.split())}" if what else "."
                )


def _inherit_ref_descriptions(node: Any, defs: dict[str, Any]) -> None:
    """A property that is only a ``$ref`` takes the referenced definition's description, which
    pydantic leaves out when they are equal, so that editors show it on hover."""
    if isinstance(node, dict):
        for prop in node.get("properties", {}).values():
            ref = prop.get("$ref") if isinstance(prop, dict) else None
            if ref and "description" not in prop:
                target = defs.get(ref.rsplit("/", 1)[-1], {})
                if "description" in target:
                    prop["description"] = target["description"]
        for value in node.values():
            _inherit_ref_descriptions(value, defs)
    elif isinstance(node, list):
        for value in node:
            _inherit_ref_descriptions(value, defs)


def _step_tag(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value)))
    if isinstance(value, StrictModel):
        return next(iter(type(value).model_fields))
    return None


@cache
def step_model(name: str) -> type[RegistryMember]:
    """The one-key model ``{<name>: <the transform's options>}`` of a registered transform."""
    from specrun.transforms import TRANSFORMS

    kind = TRANSFORMS.get(name)
    return create_model(
        f"{name.title().replace('_', '')}Step",
        __base__=RegistryMember,
        **{name: (kind.options, Field(..., description=summary(kind.options.__doc__)))},
    )


@cache
def transform_step() -> Any:
    """A one-key mapping ``{<transform name>: <its options>}``."""
    from specrun.transforms import TRANSFORMS

    members = [Annotated[step_model(name), Tag(name)] for name in TRANSFORMS.names()]
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


def tagged_member(section: str, value: Any) -> type[BaseModel] | None:
    """The member of ``section``'s union that ``value`` selects by its tag (``estimator:`` of a
    model, ``kind:`` of a table or figure, the one key of a transform step), or ``None`` when
    the tag names no registered member (or is not there)."""
    if not isinstance(value, dict):
        return None
    if section == "transforms":
        from specrun.transforms import TRANSFORMS

        name = next(iter(value)) if len(value) == 1 else None
        return step_model(name) if isinstance(name, str) and name in TRANSFORMS else None
    field = "estimator" if section == "models" else "kind"
    tag = value.get(field)
    if not isinstance(tag, str):
        return None
    if section == "models":
        from specrun.estimators import ESTIMATORS as registry
    elif section == "tables":
        from specrun.tables.kinds import TABLES as registry
    else:
        from specrun.figures import FIGURES as registry
    return registry.get(tag).spec if tag in registry else None


def validate_tagged(section: str, value: Any) -> Any:
    """``value`` validated as the union adapter of ``section``'s entries (``models``, ``tables``
    or ``figures``) validates it, but by
    the member its tag selects alone, so that only the members a spec uses are ever built
    (every member class defers its build; a union builds them all, ~0.1 s at start-up).

    A tagged union hands a value to the member its tag names and returns that member's
    result, so the two agree whenever the member accepts the value; when it does not, or no
    registered member is named, the union validates the value itself and raises its own
    ``ValidationError``, whose locations (with the tag) the diagnostics read."""
    member = tagged_member(section, value)
    if member is not None:
        try:
            return member.model_validate(value)
        except ValidationError:
            pass
    union = model_adapter() if section == "models" else entry_adapter(section)
    return union.validate_python(value)


def validate_steps(value: Any) -> Any:
    """A list of transform steps, validated step by step as ``steps_adapter`` would (see
    ``validate_tagged``); any step that its member rejects, or any value that is not a list of
    one-key mappings naming registered transforms, is validated by the list adapter itself,
    so that the errors are the ones the whole list gives."""
    if isinstance(value, list):
        members = [tagged_member("transforms", step) for step in value]
        if all(m is not None for m in members):
            try:
                return [m.model_validate(s) for m, s in zip(members, value, strict=True)]  # type: ignore[union-attr]
            except ValidationError:
                pass
    return steps_adapter().validate_python(value)


# Each top-level section's type, built on demand: a union over a registry (tables, figures,
# transform steps) imports and builds every member, which validation needs only to report an
# entry its own member rejects. Models and variants stay raw until ``extends`` resolves.
_SECTION_TYPES: dict[str, Callable[[], Any]] = {
    "spec_version": lambda: int,
    "title": lambda: str,
    "data": lambda: DataSpec,
    "variables": lambda: dict[str, VariableSpec],
    "groups": lambda: dict[str, list[str]],
    "transforms": lambda: list[transform_step()],  # type: ignore[misc]
    "samples": lambda: dict[str, SampleSpec],
    "models": lambda: dict[str, dict[str, Any]],
    "variants": lambda: dict[str, dict[str, dict[str, Any]]],
    "tables": lambda: dict[str, table_union()],  # type: ignore[misc]
    "figures": lambda: dict[str, figure_union()],  # type: ignore[misc]
    "multiverse": lambda: dict[str, MultiverseSpec],
    "outputs": lambda: OutputSpec,
}
SECTIONS = tuple(_SECTION_TYPES)  # the top-level keys a spec may have, in the schema's order
# sections whose entries are validated by the member their tag selects (``validate_tagged``)
TAGGED_SECTIONS = ("tables", "figures")


@cache
def section_type(name: str) -> Any:
    """The type of one top-level section (``KeyError`` for an unknown one)."""
    return _SECTION_TYPES[name]()


@cache
def section_types() -> dict[str, Any]:
    """Each top-level section's type (every union built: for the JSON Schema and errors)."""
    return {name: section_type(name) for name in SECTIONS}


REQUIRED_SECTIONS = ("data", "models")


@cache
def adapter(section: str) -> TypeAdapter[Any]:
    return TypeAdapter(section_type(section))


def entry_type(section: str) -> Any:
    """The type of one entry of a section that is a mapping of named entries."""
    return get_args(section_type(section))[1]


@cache
def entry_adapter(section: str) -> TypeAdapter[Any]:
    """The adapter of one entry of a section that is a mapping of named entries."""
    return TypeAdapter(entry_type(section))


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
        description = SECTION_DESCRIPTIONS.get(name)
        fields[name] = (
            kind | None if default is None else kind,
            Field(default, description=description),
        )
    fields["models"] = (
        dict[str, model_union()],
        Field(..., description=SECTION_DESCRIPTIONS["models"]),
    )
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
    _describe_discriminators(schema.get("$defs", {}))
    _inherit_ref_descriptions(schema, schema.get("$defs", {}))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "specrun spec"
    schema["description"] = (
        "A specrun model spec. Models may also use 'extends: <model>' to inherit keys; "
        "'variants' overlay a base model with sample, transforms or estimator changes."
    )
    return schema
