"""Compile a valid spec into a Plan (pure: reads data files only to hash them)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from specrun.data.io import file_hash, resolve
from specrun.plan.nodes import Node, Plan
from specrun.spec.validate import ResolvedModel, Spec


def _fragment(value: Any) -> str:
    """``value`` as one canonical JSON text: spec models as pydantic writes them (fields in
    declaration order, no set-typed fields), mappings with their keys sorted. Pydantic's
    serializer writes a model several times faster than ``json.dumps`` sorts and writes its
    ``model_dump``, which was most of a 2,000-model plan's compile time."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, ResolvedModel):
        transforms = ",".join(_fragment(t) for t in value.transforms)
        name = json.dumps(value.name)
        return f'{{"name":{name},"spec":{_fragment(value.spec)},"transforms":[{transforms}]}}'
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{_fragment(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_fragment(v) for v in value) + "]"
    return json.dumps(value, sort_keys=True, default=str)


def content_hash(kind: str, fragment: Any, inputs: list[str], extra: str = "") -> str:
    """SHA-256 of a node's kind, spec fragment (``_fragment``), input hashes and extra text."""
    text = (
        f'{{"extra":{json.dumps(extra)},"fragment":{_fragment(fragment)},'
        f'"inputs":{json.dumps(inputs)},"kind":{json.dumps(kind)}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


def compile_spec(spec: Spec, data_hashes: dict[str, str] | None = None) -> Plan:
    """The plan of ``spec``; ``data_hashes`` (source → digest) stands in for hashing the data
    files again, as a worker does that rebuilds the plan the main process compiled."""
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
    known, data_hashes = data_hashes, {}
    for name, source in spec.data.sources.items():
        path = resolve(source, spec.folder)
        if known is not None and name in known:
            digest = data_hashes[name] = known[name]
        else:
            digest = data_hashes[name] = file_hash(path) if path.exists() else "missing"
        add(f"load:{name}", "load", name, source, [], extra=digest, detail=source.path)
        loads.append(f"load:{name}")
    previous = f"load:{spec.data.frame_source}"
    # which columns are entity and time, and the variables' labels, change what steps compute
    panel_key = spec.data.model_dump_json(include={"panel", "main"})
    labels_key = json.dumps([spec.outputs.language, spec.labels()], sort_keys=True)
    others = [n for n in loads if n != previous]
    for i, step in enumerate(spec.transforms):
        step_name = next(iter(type(step).model_fields))
        node_id = f"transform:{i}:{step_name}"
        add(node_id, "transform", step_name, step, [previous, *others], extra=panel_key)
        previous = node_id
    panel_node = previous
    measured = _distributions_read(spec)
    for name in _fit_order(spec.models):
        model = spec.models[name]
        sample = model.spec.sample
        payload = {
            "model": model,
            "sample": spec.samples.get(sample) if isinstance(sample, str) else sample,
        }
        if name in measured:
            # in the hash: a fit stored without them cannot serve a margins table added later
            payload["distributions"] = True
        detail = model.spec.estimator + (f" over {model.spec.over}" if model.spec.over else "")
        # a model that reads other models' results (a Hausman test) is fitted after them
        used = [f"fit:{ref}" for ref, _ in model.spec.model_refs() if ref in spec.models]
        inputs = [panel_node, *used]
        add(f"fit:{name}", "fit", name, payload, inputs, extra=panel_key, detail=detail)
    for name, multiverse in spec.multiverses.items():
        # the curve and its joint tests read every specification's fit (and refit them on
        # resamples of their data): one node after them, so the fits stay ordinary nodes
        fits = [f"fit:{item.name}" for item in multiverse.specifications]
        add(
            f"multiverse:{name}",
            "multiverse",
            name,
            {"name": name, "spec": multiverse.spec},
            fits,
            extra=panel_key,
            detail=f"{len(fits)} specifications",
        )
    from specrun.figures import FIGURES
    from specrun.tables.kinds import TABLES

    for section, registry, kind in (
        (spec.tables, TABLES, "table"),
        (spec.figures, FIGURES, "figure"),
    ):
        for name, item in section.items():
            used = registry.get(item.kind).models(item)
            # a table of transform artifacts (entropy weights) reads the transformed panel
            fitted = {_model_of(ref, spec.models) for ref in used}
            # a test that reports on a column's model (a Hausman test) may add rows to it
            fitted |= {
                other
                for other, resolved in spec.models.items()
                if any(ref in fitted for ref, _ in resolved.spec.model_refs())
            }
            inputs = sorted(f"fit:{name}" for name in fitted) or [panel_node]
            if getattr(item, "multiverse", None) in spec.multiverses:
                inputs = [f"multiverse:{item.multiverse}"]
            add(f"{kind}:{name}", kind, name, item, inputs, extra=labels_key, detail=item.kind)
    tables = [n.id for n in nodes if n.kind == "table"]
    for fmt in spec.outputs.formats:
        add(f"render:{fmt}", "render", fmt, {"format": fmt}, tables)
    return Plan(tuple(nodes), data_hashes)


def _distributions_read(spec: Spec) -> set[str]:
    """The models whose regressors' percentiles a table or figure reads (margins' ``at: p10``
    and its range): only their fits sort each column (a cost at 341,000 rows)."""
    from specrun.figures import FIGURES
    from specrun.tables.kinds import TABLES

    read: set[str] = set()
    for section, registry in ((spec.tables, TABLES), (spec.figures, FIGURES)):
        for item in section.values():
            kind = registry.get(item.kind)
            if kind.reads_distributions:
                read |= {_model_of(ref, spec.models) for ref in kind.models(item)}
    return read


def _fit_order(models: dict[str, ResolvedModel]) -> list[str]:
    """Model names in spec order, except that a model comes after the models it reads
    (``model_refs``); validation has already rejected unknown names and cycles."""
    order: dict[str, None] = {}  # ordered, with O(1) membership: a multiverse has thousands
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting or name not in models:
            return
        visiting.add(name)
        for ref, _ in models[name].spec.model_refs():
            visit(ref)
        visiting.discard(name)
        order[name] = None

    for name in models:
        visit(name)
    return list(order)


def _model_of(ref: str, models: dict[str, ResolvedModel]) -> str:
    """The fitted model a table reference comes from: the longest model name it starts with
    (``by_region.East`` → ``by_region``; ``med.boot.total`` → the variant ``med.boot``)."""
    parts = ref.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in models:
            return candidate
    return parts[0]
