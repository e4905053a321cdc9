"""The per-process memo of fit intermediates: bounded by bytes, least recently used out first,
read-only values; and fits that read shared pieces give the bits of fits that compute them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main
from specrun.kernels.hdfe import Factor, Projection, demean, factor_codes
from specrun.kernels.memo import FitMemo, held_bytes


def test_memo_keeps_the_most_recently_used_within_its_bytes():
    memo = FitMemo(capacity=3 * 800)
    for name in "abc":
        memo.put(name, np.zeros(100))  # 800 bytes each
    assert memo.held == 2400 and list(memo.entries) == ["a", "b", "c"]
    assert memo.get("a") is not None  # now the most recently used
    memo.put("d", np.zeros(100))
    assert list(memo.entries) == ["c", "a", "d"] and memo.held == 2400
    memo.put("huge", np.zeros(1000))  # larger than the capacity: kept alone
    assert list(memo.entries) == ["huge"] and memo.held == 8000
    memo.put("e", np.zeros(100))
    assert list(memo.entries) == ["e"] and memo.held == 800
    assert (memo.hits, memo.misses) == (1, 0)
    assert memo.get("b") is None and memo.misses == 1


def test_stored_arrays_are_read_only_and_a_failed_make_stores_nothing():
    memo = FitMemo()
    codes, levels = factor_codes(np.array([3, 1, 3, 2]))
    stored = memo.cached("factor", lambda: [Factor("f", codes, levels)])
    with pytest.raises(ValueError, match="read-only"):
        stored[0].codes[0] = 9
    values = memo.cached("column", lambda: (np.arange(4.0), 0, True))
    with pytest.raises(ValueError, match="read-only"):
        values[0][0] = 1.0

    def fail() -> int:
        raise RuntimeError("bad weights")

    with pytest.raises(RuntimeError):
        memo.cached("weights", fail)
    assert "weights" not in memo.entries
    assert memo.cached("sized", lambda: "x", size=lambda _: 5000) == "x"
    assert memo.entries["sized"][1] == 5000
    assert held_bytes((np.zeros(10), 1.0)) == 80 + 64 + 64


def _unbalanced_factors(n: int = 400) -> tuple[list[Factor], np.ndarray]:
    rng = np.random.default_rng(3)
    firms, years = rng.integers(0, 40, n), rng.integers(0, 12, n)
    factors = [Factor("entity", *factor_codes(firms)), Factor("time", *factor_codes(years))]
    values = rng.normal(size=(n, 3)) + firms[:, None] * 0.1 + years[:, None] * 0.2
    return factors, values


def test_a_projection_sweeps_a_column_alone_as_demean_does():
    """The iterative (unbalanced two-way) sweep of one column is the same whether the
    projection is set up for it or shared, and matches demean's on that column alone."""
    factors, values = _unbalanced_factors()
    projection = Projection(factors, tol=1e-12)
    assert not projection.exact
    for j in range(values.shape[1]):
        alone = demean(values[:, j], factors, tol=1e-12)
        shared = projection.sweep(values[:, j])
        assert alone.iterations == shared.iterations > 2 and shared.converged
        assert alone.values.tobytes() == shared.values.tobytes()


# one two-way FE model over a multiverse whose specifications share rows: an unbalanced sample
# (the iterative sweep and the F test's own sweep), analytic weights, two sets of effects, two
# control sets and two covariances
MULTIVERSE = (
    GRUNFELD_HEAD
    + """\
samples:
  gap: {where: "not (firm == 3 and year >= 1940) and not (firm == 7 and year == 1950)"}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
multiverse:
  grid:
    base: fe
    focus: value
    axes:
      sample:
        all: {}
        gap: {sample: gap}
      weights:
        none: {}
        capital: {weights: capital}
      effects:
        two_way: {}
        entity: {effects: [entity]}
      controls:
        both: {}
        value: {x: [value]}
      se:
        cluster: {}
        hc1: {se: {type: HC1}}
outputs: {dir: out, formats: [markdown]}
"""
)


def test_a_specification_alone_and_after_its_siblings_gives_the_same_bits(tmp_path: Path):
    """Every specification fitted in a fresh process state (nothing shared) equals, to the
    last bit of every coefficient, statistic and covariance entry, the same specification
    fitted after its siblings have filled the memo (most of its pieces then shared)."""
    from specrun.api import plan_file
    from specrun.execute import Executor, SampleFrames, _Counts, fit_node

    spec_path = grunfeld_project(tmp_path, MULTIVERSE)
    spec, plan = plan_file(spec_path)
    nodes = [n for n in plan.nodes if n.kind == "fit"]
    executor = Executor(spec, plan)
    executor.run_data(
        [n for n in plan.nodes if n.kind in ("load", "transform")], None, _Counts(0, None)
    )
    panel = executor.panel_frame()
    shared = SampleFrames()
    after = [fit_node(spec, panel, node, {}, None, shared) for node in nodes]
    memo = shared.memo(panel)
    assert memo.hits > 10 * len(nodes)  # the siblings did share
    iterative = 0
    for node, together in zip(nodes, after, strict=True):
        alone = fit_node(spec, panel, node, {}, None, SampleFrames())
        assert alone.models.keys() == together.models.keys()
        for name, result in alone.models.items():
            other = together.models[name]
            assert json.dumps(result.to_json()) == json.dumps(other.to_json()), name
            assert result.covariance.tobytes() == other.covariance.tobytes(), name
            iterative += int(result.extra.get("hdfe_iterations", 0) > 0)
    assert iterative >= 4  # the unbalanced two-way specifications iterate


def test_results_json_entries_alone_and_in_a_full_run_are_the_same(tmp_path: Path):
    """``--only`` one specification (fitted with nothing to share) writes the results.json
    entry the whole multiverse's run (where its siblings filled the memo first) writes."""
    spec_path = grunfeld_project(tmp_path, MULTIVERSE)
    assert main(["run", str(spec_path), "--out", str(tmp_path / "all"), "--no-cache"]) == 0
    models = json.loads((tmp_path / "all" / "results.json").read_text())["models"]
    last = [n for n in models if n.startswith("grid[")][-5:]
    assert len(last) == 5
    for name in last:
        out = tmp_path / "one"
        assert main(["run", str(spec_path), "--out", str(out), "--no-cache", "--only", name]) == 0
        alone = json.loads((out / "results.json").read_text())["models"][name]
        assert json.dumps(alone) == json.dumps(models[name])
