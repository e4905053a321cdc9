"""Compile a valid spec into a Plan (pure: reads data files only to hash them)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from specrun.data.io import file_hash, resolve
from specrun.plan.nodes import Node, Plan
from specrun.spec.validate import ResolvedModel, Spec


def _fragment(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, ResolvedModel):
        return {
            "name": value.name,
            "spec": value.spec.model_dump(mode="json"),
            "transforms": [_fragment(t) for t in value.transforms],
        }
    if isinstance(value, dict):
        return {str(k): _fragment(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fragment(v) for v in value]
    return value


def content_hash(kind: str, fragment: Any, inputs: list[str], extra: str = "") -> str:
    text = json.dumps(
        {"kind": kind, "fragment": _fragment(fragment), "inputs": inputs, "extra": extra},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def compile_spec(spec: Spec) -> Plan:
    nodes: list[Node] = []
    hashes: dict[str, str] = {}

    def add(
        node_id: str,
        kind: str,
        name: str,
        payload: Any,
        inputs: list[str],
        *,
        extra: str = "",
        detail: str = "",
    ) -> None:
        digest = content_hash(kind, payload, [hashes[i] for i in inputs], extra)
        hashes[node_id] = digest
        nodes.append(Node(node_id, kind, name, tuple(inputs), digest, payload, detail))  # type: ignore[arg-type]

    loads = []
    data_hashes: dict[str, str] = {}
    for name, source in spec.data.sources.items():
        path = resolve(source, spec.folder)
        digest = data_hashes[name] = file_hash(path) if path.exists() else "missing"
        add(f"load:{name}", "load", name, source, [], extra=digest, detail=source.path)
        loads.append(f"load:{name}")
    previous = f"load:{spec.data.panel.source}"
    # which columns are entity and time, and the variables' labels, change what steps compute
    panel_key = spec.data.panel.model_dump_json()
    labels_key = json.dumps(spec.labels(), sort_keys=True)
    others = [n for n in loads if n != previous]
    for i, step in enumerate(spec.transforms):
        step_name = next(iter(type(step).model_fields))
        node_id = f"transform:{i}:{step_name}"
        add(node_id, "transform", step_name, step, [previous, *others], extra=panel_key)
        previous = node_id
    panel_node = previous
    for name, model in spec.models.items():
        sample = model.spec.sample
        payload = {
            "model": model,
            "sample": spec.samples.get(sample) if isinstance(sample, str) else sample,
        }
        detail = model.spec.estimator + (f" over {model.spec.over}" if model.spec.over else "")
        add(f"fit:{name}", "fit", name, payload, [panel_node], extra=panel_key, detail=detail)
    from specrun.figures import FIGURES
    from specrun.tables.kinds import TABLES

    for section, registry, kind in (
        (spec.tables, TABLES, "table"),
        (spec.figures, FIGURES, "figure"),
    ):
        for name, item in section.items():
            used = registry.get(item.kind).models(item)
            # a table of transform artifacts (entropy weights) reads the transformed panel
            inputs = sorted({f"fit:{_model_of(ref, spec.models)}" for ref in used}) or [panel_node]
            add(f"{kind}:{name}", kind, name, item, inputs, extra=labels_key, detail=item.kind)
    tables = [n.id for n in nodes if n.kind == "table"]
    for fmt in spec.outputs.formats:
        add(f"render:{fmt}", "render", fmt, {"format": fmt}, tables)
    return Plan(tuple(nodes), data_hashes)


def _model_of(ref: str, models: dict[str, ResolvedModel]) -> str:
    """The fitted model a table reference comes from: the longest model name it starts with
    (``by_region.East`` → ``by_region``; ``med.boot.total`` → the variant ``med.boot``)."""
    parts = ref.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in models:
            return candidate
    return parts[0]
