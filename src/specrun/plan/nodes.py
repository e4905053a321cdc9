"""The execution plan: a DAG of frozen steps, each with a content hash.

A node's hash covers its spec fragment, its inputs' hashes and (for loads) the data file's
hash, so two runs that agree on a node's hash would compute the same thing there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NodeKind = Literal["load", "transform", "fit", "multiverse", "table", "figure", "render"]


@dataclass(frozen=True)
class Node:
    id: str  # "fit:fe", "table:table3", …
    kind: NodeKind
    name: str
    inputs: tuple[str, ...]
    hash: str
    payload: Any = field(compare=False, repr=False)  # the spec fragment this step carries out
    detail: str = ""  # one line for ``specrun plan``


@dataclass(frozen=True)
class Plan:
    nodes: tuple[Node, ...]  # in an order where every input precedes its users
    # each source's file digest ("missing" when absent), taken once when the plan is compiled:
    # the load nodes' hashes and the manifest both use it, so a run reads each file's bytes
    # for hashing once
    data_hashes: Mapping[str, str] = field(default_factory=dict, compare=False)

    def get(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def restricted(self, wanted: Iterable[str]) -> Plan:
        """Only the nodes needed for the named models, tables or figures (``--only``)."""
        keep: set[str] = set()
        by_id = {n.id: n for n in self.nodes}

        def need(node_id: str) -> None:
            if node_id in keep:
                return
            keep.add(node_id)
            for parent in by_id[node_id].inputs:
                need(parent)

        for node in self.nodes:
            if node.kind in ("fit", "multiverse", "table", "figure") and node.name in wanted:
                need(node.id)
        for node in self.nodes:
            if node.kind == "render" and any(i in keep for i in node.inputs):
                keep.add(node.id)
        return Plan(tuple(n for n in self.nodes if n.id in keep), self.data_hashes)

    def describe(self) -> str:
        lines = []
        for node in self.nodes:
            inputs = f" ← {', '.join(node.inputs)}" if node.inputs else ""
            detail = f"  {node.detail}" if node.detail else ""
            lines.append(f"{node.hash[:10]}  {node.id}{detail}{inputs}")
        return "\n".join(lines)
