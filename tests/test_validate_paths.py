"""Validation builds only the registry members a spec names (``spec.schema.validate_tagged``):
each entry is validated by the member its tag selects, and by the whole union only when that
member rejects it. These tests run every spec both ways — the member first, and the union alone
as validation did before — and require the same typed spec or the same errors, word for word.

The corpus: every spec in ``specs/``, the malformed-spec corpus of ``test_malformed_corpus``
(a fixed sample of 250 of its 2,046 specs: each leaf of a small spec dropped, misspelt or
replaced by hostile values; all 2,046 agreed when this was written), and the same
mutations applied to the tables, figures, transforms and models of ``specs/paper.yaml``, which
uses most table kinds, six estimators and four transforms.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from specfiles import PROJECT_ROOT
from specrun.errors import SpecErrors
from specrun.spec import schema
from specrun.spec.validate import validate_file
from test_malformed_corpus import HOSTILE, spec_corpus

SPECS = sorted((PROJECT_ROOT / "specs").glob("*.yaml"))


def outcome(path: Path) -> tuple[str, Any]:
    """What validating ``path`` gives: the typed sections and models, or the error texts."""
    try:
        spec = validate_file(path)
    except SpecErrors as exc:
        return "errors", [str(e) for e in exc.errors]
    typed = (
        spec.data,
        spec.variables,
        spec.transforms,
        spec.samples,
        spec.models,
        spec.tables,
        spec.figures,
        spec.outputs,
        spec.multiverses,
        [str(h) for h in spec.hints],
    )
    # the member's result must be of the member's own class, not merely equal
    classes = [type(m.spec) for m in spec.models.values()]
    classes += [type(t) for t in (*spec.tables.values(), *spec.figures.values())]
    return "valid", (typed, classes)


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    by_member = outcome(path)
    with monkeypatch.context() as m:
        m.setattr(schema, "tagged_member", lambda section, value: None)  # the union alone
        by_union = outcome(path)
    return by_member, by_union


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_every_bundled_spec_validates_alike_both_ways(path: Path, monkeypatch):
    by_member, by_union = both_ways(path, monkeypatch)
    assert by_member == by_union


def test_the_malformed_corpus_validates_alike_both_ways(tmp_path, monkeypatch):
    for i, (_, text) in enumerate(spec_corpus(250)):
        spec = tmp_path / f"{i}" / "specs" / "s.yaml"
        spec.parent.mkdir(parents=True)
        spec.write_text(text, encoding="utf-8")
        by_member, by_union = both_ways(spec, monkeypatch)
        assert by_member == by_union, text


def _leaves(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        out.append((*path, key))
        if isinstance(value, dict | list):
            out += _leaves(value, (*path, key))
    return out


def _paper_mutations(count: int, seed: int = 20261130) -> list[Any]:
    """Specs/paper.yaml with one leaf of its registry-typed sections dropped, misspelt or
    replaced by a hostile value (a fixed sample of ``count``)."""
    tree = yaml.safe_load((PROJECT_ROOT / "specs" / "paper.yaml").read_text(encoding="utf-8"))
    paths = [
        p for s in ("tables", "figures", "transforms", "models") for p in _leaves(tree[s], (s,))
    ]
    rng = random.Random(seed)
    out = []
    for path in rng.sample(paths, min(count, len(paths))):
        how = rng.choice(["drop", "misspell", "hostile"])
        mutated = copy.deepcopy(tree)
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if how == "drop":
            del parent[last]
        elif how == "misspell" and isinstance(last, str):
            parent[last[:-1] + "x"] = parent.pop(last)
        else:
            parent[last] = rng.choice(HOSTILE)
        out.append(mutated)
    return out


def test_mutations_of_the_paper_spec_validate_alike_both_ways(tmp_path, monkeypatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    for i, tree in enumerate(_paper_mutations(40)):
        spec = folder / f"{i}.yaml"
        spec.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        by_member, by_union = both_ways(spec, monkeypatch)
        assert by_member == by_union, spec.read_text(encoding="utf-8")


def test_the_benchmark_multiverse_validates_alike_both_ways(tmp_path, monkeypatch):
    # bench/multiverse.py's spec (windows × control subsets × standard errors over one FE
    # model), cut to its first three windows: 288 specifications
    import importlib.util

    loader = importlib.util.spec_from_file_location(
        "bench_multiverse", PROJECT_ROOT / "bench" / "multiverse.py"
    )
    assert loader is not None and loader.loader is not None
    bench = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(bench)
    spec = tmp_path / "specs" / "mv.yaml"
    spec.parent.mkdir()
    spec.write_text(bench.spec_text(200), encoding="utf-8")
    by_member, by_union = both_ways(spec, monkeypatch)
    assert by_member[0] == "valid"
    assert len(by_member[1][0][4]) == 1 + 288
    assert by_member == by_union


PROBE = """
import json, sys
from specrun.spec.validate import validate_file
validate_file(sys.argv[1])
from specrun.estimators import ESTIMATORS
from specrun.figures import FIGURES
from specrun.tables.kinds import TABLES
built = {
    kind: sorted(n for n in registry.names() if registry.get(n).spec.__pydantic_complete__)
    for kind, registry in (("estimators", ESTIMATORS), ("tables", TABLES), ("figures", FIGURES))
}
print(json.dumps(built))
"""


def test_validation_builds_only_the_kinds_a_spec_names():
    # a union validator over a registry (a TypeAdapter at import, say) would build them all
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(PROJECT_ROOT / "specs" / "grunfeld.yaml")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout) == {
        "estimators": ["descriptive", "hausman", "ols", "panel_be", "panel_fe", "panel_re"],
        "tables": ["descriptive", "regression"],
        "figures": [],
    }
