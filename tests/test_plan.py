"""The compiler, without fitting anything: nodes, edges, hashes and --only restriction."""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.plan.compile import compile_spec
from specrun.spec.validate import validate_file

SPEC = (
    GRUNFELD_HEAD
    + """\
transforms:
  - derive: {log_inv: log(inv)}
models:
  fe: {estimator: panel_fe, y: log_inv, x: [value, capital]}
  ols: {estimator: ols, y: inv, x: [value]}
tables:
  t: {kind: regression, columns: [fe, ols]}
  only_ols: {kind: regression, columns: [ols]}
outputs: {formats: [latex]}
"""
)


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return grunfeld_project(tmp_path, SPEC)


def test_nodes_and_edges(spec_path: Path):
    plan = compile_spec(validate_file(spec_path))
    assert [n.id for n in plan.nodes] == [
        "load:g",
        "transform:0:derive",
        "fit:fe",
        "fit:ols",
        "table:t",
        "table:only_ols",
        "render:latex",
    ]
    assert plan.get("fit:fe").inputs == ("transform:0:derive",)
    assert plan.get("table:t").inputs == ("fit:fe", "fit:ols")
    assert plan.get("render:latex").inputs == ("table:t", "table:only_ols")


def test_hashes_follow_content(spec_path: Path):
    before = compile_spec(validate_file(spec_path))
    spec_path.write_text(SPEC.replace("x: [value]}", "x: [capital]}"))
    after = compile_spec(validate_file(spec_path))
    changed = {n.id for n in after.nodes if n.hash != before.get(n.id).hash}
    # only the edited model and what depends on it
    assert changed == {"fit:ols", "table:t", "table:only_ols", "render:latex"}


def test_data_change_changes_every_downstream_hash(spec_path: Path):
    before = compile_spec(validate_file(spec_path))
    data = spec_path.parent / "grunfeld.csv"
    data.write_text(data.read_text().replace("317.6", "317.7"))
    after = compile_spec(validate_file(spec_path))
    assert all(n.hash != before.get(n.id).hash for n in after.nodes)


def test_only_keeps_what_a_table_needs(spec_path: Path):
    plan = compile_spec(validate_file(spec_path)).restricted(["only_ols"])
    assert [n.id for n in plan.nodes] == [
        "load:g",
        "transform:0:derive",
        "fit:ols",
        "table:only_ols",
        "render:latex",
    ]
