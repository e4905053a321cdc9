"""Every property of the spec's JSON Schema says what it is for (editors show it on hover, and
the documentation's reference pages are generated from it)."""

from __future__ import annotations

import re
from typing import Any

from specrun.spec.schema import json_schema

# words that add nothing to a property's name
FILLER = {"a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "this", "its", "is"}


def _properties(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict):
                found.append((f"{where}.{name}", prop))
        for key, value in node.items():
            if key != "properties":
                found += _properties(value, where)
        for name, prop in (node.get("properties") or {}).items():
            found += _properties(prop, f"{where}.{name}")
    elif isinstance(node, list):
        for value in node:
            found += _properties(value, where)
    return found


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9²]+", text.lower()) if w not in FILLER}


def merely_repeats(name: str, description: str) -> bool:
    """True when the description has no word beyond the property's own name."""
    return not (_words(description) - _words(name.replace("_", " ")))


def test_every_property_has_a_description_that_says_more_than_its_name():
    schema = json_schema()
    props = _properties({"properties": schema["properties"]}, "spec")
    for name, definition in schema["$defs"].items():
        props += _properties(definition, name)
    assert len(props) > 400
    bad = [
        path
        for path, prop in props
        if not prop.get("description")
        or merely_repeats(path.rsplit(".", 1)[-1], prop["description"])
    ]
    assert bad == [], "properties without a useful description: " + ", ".join(sorted(set(bad)))


def test_the_check_catches_what_it_should():
    assert merely_repeats("stats", "Stats.")
    assert merely_repeats("se_position", "The SE position")
    assert not merely_repeats("se_position", "Where the standard error goes: below or beside.")
