"""The plan-node cache: reuse on unchanged re-runs, recomputation of what changed only, corrupt
and killed entries never trusted, LRU eviction, and byte-identical outputs with and without it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project, output_files
from specrun.cache import CorruptEntry, NodeCache, Uncacheable, decode, encode, parse_size
from specrun.cli import main
from specrun.errors import SpecError
from specrun.results import Coefficient, ModelResult, TermPart

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SPEC = (
    GRUNFELD_HEAD
    + """\
transforms:
  - derive: {lvalue: log(value), lcapital: log(capital)}
models:
  ols: {estimator: ols, y: inv, x: [value, capital], se: {type: HC1}}
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
  fe_log: {estimator: panel_fe, y: inv, x: [lvalue, lcapital], effects: [entity],
           se: {cluster: entity}}
variants:
  fe:
    early: {sample: {time: [1935, 1945]}}
tables:
  main: {kind: regression, columns: [ols, fe, fe_log, fe.early], stats: [nobs, r2]}
outputs: {dir: out, formats: [markdown, latex]}
"""
)


def manifest_cache(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())["cache"]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return grunfeld_project(tmp_path, SPEC)


def data_stage_entry(spec: Path, cache: Path) -> Path:
    """The cache entry of the finished panel of ``spec`` (its loads, transforms and index)."""
    from specrun.api import plan_file
    from specrun.execute import data_stage_hash

    validated, plan = plan_file(spec, check_outputs=False)
    data = [n for n in plan.nodes if n.kind in ("load", "transform")]
    key = NodeCache.key(data_stage_hash(data, validated))
    return cache / key[:2] / f"{key}.entry"


def run(spec: Path, out: Path, *extra: str) -> int:
    return main(
        ["run", str(spec), "--out", str(out), "--cache", str(spec.parent / "cache"), *extra]
    )


def test_unchanged_rerun_reuses_every_node_and_matches_an_uncached_run(project: Path, capsys):
    assert run(project, project.parent / "a") == 0
    first = manifest_cache(project.parent / "a")
    assert first["reused"] == 0 and first["computed"] == 6  # 2 data + 4 fits
    assert run(project, project.parent / "b") == 0
    second = manifest_cache(project.parent / "b")
    # the rendered outputs of the unchanged spec are reused whole: no node is decoded
    assert second["reused"] == 9 and second["computed"] == 0 and second["outputs_reused"]
    assert "9 of 9 plan nodes reused from the cache" in capsys.readouterr().out
    assert main(["run", str(project), "--out", str(project.parent / "c0"), "--no-cache"]) == 0
    assert manifest_cache(project.parent / "c0") == {"used": False}
    reference = output_files(project.parent / "c0")
    assert output_files(project.parent / "a") == reference
    assert output_files(project.parent / "b") == reference


def test_rendered_outputs_reused_only_while_the_spec_is_unchanged(project: Path):
    from specrun.api import run_file

    assert run(project, project.parent / "a") == 0
    # a changed table: its outputs are rendered again from the cached fits
    project.write_text(SPEC.replace("stats: [nobs, r2]", "stats: [nobs]"), encoding="utf-8")
    assert run(project, project.parent / "b") == 0
    changed = manifest_cache(project.parent / "b")
    assert "outputs_reused" not in changed and changed["computed"] == 0
    table = (project.parent / "b" / "tables" / "main.md").read_text(encoding="utf-8")
    assert table != (project.parent / "a" / "tables" / "main.md").read_text(encoding="utf-8")
    # unchanged since: reused whole, byte for byte what an uncached run writes
    assert run(project, project.parent / "c") == 0
    assert manifest_cache(project.parent / "c")["outputs_reused"]
    assert main(["run", str(project), "--out", str(project.parent / "d"), "--no-cache"]) == 0
    assert output_files(project.parent / "c") == output_files(project.parent / "d")
    # the API's results are still there, computed from the node cache when first read
    again = run_file(project, project.parent / "e", cache=project.parent / "cache")
    assert again.summary.models == 4 and again.summary.tables == 1
    assert again.output.results.models["fe.early"].nobs == 110


def test_changing_one_model_recomputes_only_it(project: Path):
    assert run(project, project.parent / "a") == 0
    project.write_text(SPEC.replace("se: {type: HC1}", "se: {type: HC3}"), encoding="utf-8")
    assert run(project, project.parent / "b") == 0
    cache = manifest_cache(project.parent / "b")
    assert cache["computed"] == 1
    assert "fit:ols" not in cache["reused_nodes"] and len(cache["reused_nodes"]) == 5
    # a transform change recomputes the data stage and every model reading the panel
    project.write_text(SPEC.replace("log(capital)", "log(capital + 1)"), encoding="utf-8")
    assert run(project, project.parent / "c") == 0
    assert manifest_cache(project.parent / "c")["reused"] == 0
    assert main(["run", str(project), "--out", str(project.parent / "d"), "--no-cache"]) == 0
    assert output_files(project.parent / "c") == output_files(project.parent / "d")


def _two_source_project(folder: Path, y: list[float], panel: bool) -> Path:
    """A cross-section (or, with ``panel``, a panel indexed by row and t) read from ``a.csv``,
    with a second, unused source ``b.csv`` listed after it and no transforms."""
    folder.mkdir(exist_ok=True)
    pl.DataFrame(
        {"row": [1, 2, 3, 4, 5], "y": y, "x": [2.0, 3.0, 5.0, 4.0, 7.0], "t": [1] * 5}
    ).write_csv(folder / "a.csv")
    pl.DataFrame({"k": [1], "v": [2]}).write_csv(folder / "b.csv")
    index = "  panel: {source: a, entity: row, time: t}\n" if panel else "  main: a\n"
    spec = folder / ("panel.yaml" if panel else "cross.yaml")
    spec.write_text(
        "spec_version: 1\ndata:\n  sources:\n    a: {path: a.csv}\n    b: {path: b.csv}\n"
        + index
        + "models:\n  m: {estimator: ols, y: y, x: [x]}\n"
        + "outputs: {dir: out, formats: [markdown]}\n",
        encoding="utf-8",
    )
    return spec


def _slope(out: Path) -> float:
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return results["models"]["m"]["coefficients"]["x"]["estimate"]


def test_a_changed_main_source_is_read_again_beside_an_unchanged_one(tmp_path: Path):
    # the finished panel was cached under the last load's hash: with no transforms that was
    # the unchanged b.csv's, so a changed a.csv gave the old data's estimates
    spec = _two_source_project(tmp_path / "p", [1.0, 2.5, 2.0, 4.0, 5.5], panel=False)
    assert run(spec, tmp_path / "a") == 0
    spec = _two_source_project(tmp_path / "p", [9.0, 2.5, 2.0, 4.0, 5.5], panel=False)
    assert run(spec, tmp_path / "b") == 0
    assert main(["run", str(spec), "--out", str(tmp_path / "c"), "--no-cache"]) == 0
    # OLS by hand on the changed data: slope = Sxy / Sxx = −6.6 / 14.8 (x̄ = 4.2, ȳ = 4.6)
    assert _slope(tmp_path / "b") == pytest.approx(-6.6 / 14.8, rel=1e-12)
    assert _slope(tmp_path / "c") == _slope(tmp_path / "b") != _slope(tmp_path / "a")


def test_a_cross_section_after_a_panel_of_the_same_file_gets_its_own_index(tmp_path: Path):
    # the same file and no transforms: the panel run's cached frame (no row number) was
    # given to the cross-section, whose fit then failed with an internal error
    panel = _two_source_project(tmp_path / "p", [1.0, 2.5, 2.0, 4.0, 5.5], panel=True)
    assert run(panel, tmp_path / "a") == 0
    cross = _two_source_project(tmp_path / "p", [1.0, 2.5, 2.0, 4.0, 5.5], panel=False)
    assert run(cross, tmp_path / "b") == 0
    assert _slope(tmp_path / "b") == pytest.approx(_slope(tmp_path / "a"), rel=1e-12)
    assert manifest_cache(tmp_path / "b")["reused"] == 0


def test_corrupt_entry_is_recomputed_with_a_warning(project: Path, capsys):
    assert run(project, project.parent / "a") == 0
    cache = project.parent / "cache"
    # the data stage is one entry, the four fits one each and the rendered outputs one
    assert len(list(cache.glob("*/*.entry"))) == 6
    plan = json.loads((project.parent / "a" / "manifest.json").read_text())["plan"]

    def entry(node: str) -> Path:
        key = NodeCache.key(plan[node])
        return cache / key[:2] / f"{key}.entry"

    others = {entry(n) for n in plan} | {data_stage_entry(project, cache)}
    (rendered,) = set(cache.glob("*/*.entry")) - others
    rendered.write_bytes(rendered.read_bytes()[:-1] + b"x")  # so the run rebuilds them

    victim = entry("fit:ols")
    data = bytearray(victim.read_bytes())
    data[-5] ^= 0xFF  # one flipped byte in the body
    victim.write_bytes(bytes(data))
    truncated = entry("fit:fe_log")
    truncated.write_bytes(truncated.read_bytes()[:100])
    capsys.readouterr()
    assert run(project, project.parent / "b") == 0
    err = capsys.readouterr().err
    # two entries with the same fault are one line, counting the second
    assert err.splitlines()[:2] == [
        "warning: cache entries of the rendered outputs and 1 other node are corrupt (checksum "
        "mismatch); recomputed (manifest.json lists them under cache.warnings)",
        f"warning: cache entry of fit:fe_log is corrupt (no header); recomputed: {truncated.name}",
    ]
    cache = manifest_cache(project.parent / "b")
    assert cache["computed"] == 2 and cache["reused"] == 4 and "outputs_reused" not in cache
    # the manifest keeps every entry's warning, with its file
    assert cache["warnings"] == [
        f"cache entry of the rendered outputs is corrupt (checksum mismatch); recomputed: "
        f"{rendered.name}",
        f"cache entry of fit:ols is corrupt (checksum mismatch); recomputed: {victim.name}",
        f"cache entry of fit:fe_log is corrupt (no header); recomputed: {truncated.name}",
    ]
    assert output_files(project.parent / "b") == output_files(project.parent / "a")


def test_killed_run_leaves_only_valid_entries(tmp_path: Path):
    """SIGKILL a run once the cache holds some entries; the next run is right and reuses just
    the entries that were complete."""
    variants = "\n".join(
        f"    v{i}: {{sample: {{time: [1935, {1940 + i % 15}]}}, x: [value{', capital' * (i % 2)}],"
        f" se: {{type: HC{i % 4}}}}}"
        for i in range(60)
    )
    text = SPEC.replace("    early: {sample: {time: [1935, 1945]}}", variants)
    text = text.replace("fe.early", "fe.v0")
    spec = grunfeld_project(tmp_path, text)
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    command = [sys.executable, "-m", "specrun", "run", str(spec), "--out", str(tmp_path / "a")]
    process = subprocess.Popen([*command, "--cache", str(cache)], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list(cache.glob("*/*.entry"))) < 10 and time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("the run ended before it could be killed")
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "a").exists()  # nothing written: the outputs are swapped in whole
    stored = len(list(cache.glob("*/*.entry")))
    assert 10 <= stored < 64  # the data stage (2 nodes) and 63 fits make 64 entries
    # a writer killed mid-write leaves at most a temporary file, never a partial entry
    (cache / "ab").mkdir(exist_ok=True)
    (cache / "ab" / ".tmp-999999-deadbeef").write_bytes(b"SPECRUN-CACHE {")
    assert run(spec, tmp_path / "a") == 0
    again = manifest_cache(tmp_path / "a")
    assert again["reused"] == stored + 1 and again["computed"] == 65 - (stored + 1)
    assert not (cache / "ab" / ".tmp-999999-deadbeef").exists()
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--no-cache"]) == 0
    assert output_files(tmp_path / "a") == output_files(tmp_path / "b")


def test_cache_folder_of_garbage_costs_entries_never_the_run(project: Path, capsys):
    """Files where the shard folders belong, a temporary named by a pid os.kill refuses and a
    folder named like an entry: the run succeeds without the cache, warns once, and its
    outputs are the uncached run's."""
    cache = project.parent / "cache"
    cache.mkdir()
    for i in range(256):
        (cache / f"{i:02x}").write_text("junk")
    (cache / "zz").mkdir()
    (cache / "zz" / ".tmp-99999999999999999999999-x").write_text("junk")
    (cache / "zz" / "a.entry").mkdir()
    os.utime(cache / "zz" / "a.entry", (1000, 1000))  # first in line for eviction
    assert run(project, project.parent / "a", "--cache-max-size", "1MB") == 0
    captured = capsys.readouterr()
    assert captured.err == (f"warning: cache entries not stored in '{cache}' (File exists)\n")
    assert "0 of 9 plan nodes reused from the cache" in captured.out
    assert main(["run", str(project), "--out", str(project.parent / "b"), "--no-cache"]) == 0
    assert output_files(project.parent / "a") == output_files(project.parent / "b")


def test_entry_header_nested_beyond_the_recursion_limit_is_corrupt(tmp_path: Path):
    store = NodeCache(tmp_path)
    key = store.key("node")
    store._path(key).parent.mkdir()
    store._path(key).write_bytes(b"SPECRUN-CACHE " + b"[" * 100_000 + b"\n")
    assert store.get(key, "fit:x") is None
    assert store.stats.warnings == [
        "cache entry of fit:x is corrupt (bad header: maximum recursion depth exceeded while "
        f"decoding a JSON array from a unicode string); recomputed: {key}.entry"
    ]


def test_eviction_keeps_the_most_recently_used(tmp_path: Path):
    store = NodeCache(tmp_path, max_size=10_000)
    keys = [store.key(f"node{i}") for i in range(6)]
    for i, key in enumerate(keys):
        assert store.put(key, np.arange(400, dtype=np.float64) + i)  # ~3.3 kB each
        os.utime(store._path(key), (1000 + i, 1000 + i))
    assert store.get(keys[0], "node0") is not None  # a hit makes node0 the most recent
    assert store.evict() == 4
    left = {p.stem for p in tmp_path.glob("*/*.entry")}
    assert left == {keys[0], keys[5]}


def test_codec_round_trips_results_exactly():
    result = ModelResult(
        name="fe",
        estimator="panel_fe",
        dependent="inv",
        nobs=200,
        coefficients={"value": Coefficient(0.1, 0.01, 10.0, float("nan"))},
        stats={"r2": np.float64(0.1 + 0.2), "n": np.int64(10)},
        extra={"grid": np.linspace(0, 1, 7), "pair": (1, "a"), 3: [float("inf"), None, True]},
        terms={"L.value": (TermPart("value", 1),)},
        covariance=np.eye(2),
    )
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    tree, blobs = encode({"result": result, "frame": frame})
    back = decode(json.loads(json.dumps(tree)), blobs)
    again = back["result"]
    assert again.to_json() == result.to_json()
    assert again.terms == result.terms and again.extra[3] == [float("inf"), None, True]
    assert type(again.stats["r2"]) is np.float64 and again.stats["r2"] == 0.1 + 0.2
    assert np.array_equal(again.covariance, np.eye(2))
    assert back["frame"].equals(frame)


def test_codec_keeps_runs_of_floats_exactly_as_raw_doubles(tmp_path: Path):
    """Lists and tuples of 8 or more Python floats are stored as raw doubles (FORMAT 3): every
    bit comes back (NaN, -0.0, the smallest subnormal), and lists stay lists, tuples tuples."""
    values = [0.1 * i for i in range(9)] + [float("nan"), -0.0, 5e-324, float("inf")]
    mixed = [1.0] * 8 + [2]  # an int among them: stays JSON
    short = (0.5, 0.25)
    tree, blobs = encode({"list": values, "tuple": tuple(values), "mixed": mixed, "short": short})
    assert len(blobs) == 2
    back = decode(json.loads(json.dumps(tree)), blobs)
    assert type(back["list"]) is list and type(back["tuple"]) is tuple
    for name in ("list", "tuple"):
        assert [np.float64(x).tobytes() for x in back[name]] == [
            np.float64(x).tobytes() for x in values
        ]
        assert all(type(x) is float for x in back[name])
    assert back["mixed"] == mixed and type(back["mixed"][-1]) is int
    assert back["short"] == short
    # the same through a stored entry, decoded while its JSON is parsed
    cache = NodeCache(tmp_path / "cache")
    key = cache.key("floats")
    assert cache.put(key, {"tuple": tuple(values)})
    stored = cache.get(key, "floats")
    assert np.array_equal(np.array(stored["tuple"]), np.array(values), equal_nan=True)


def test_codec_refuses_foreign_types():
    class Foreign:
        pass

    with pytest.raises(Uncacheable):
        encode({"x": Foreign()})
    with pytest.raises(Uncacheable):
        encode(np.array([object()]))
    # an entry naming a class outside specrun is corrupt, never imported
    with pytest.raises(CorruptEntry, match="not specrun's"):
        decode({"$dc": "os:system", "f": {}}, {})


def test_cache_size_parsing():
    assert parse_size("2GB") == 2 * 1024**3
    assert parse_size("500mb") == 500 * 1024**2
    with pytest.raises(SpecError, match="not a size"):
        parse_size("lots")
    with pytest.raises(SpecError, match="below 1 MiB"):
        parse_size("10k")


def test_cache_max_size_flag(project: Path, capsys):
    assert run(project, project.parent / "a", "--cache-max-size", "huge") == 2
    assert "--cache-max-size: cache size 'huge' is not a size" in capsys.readouterr().err


def test_key_changes_with_specrun_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edited specrun (same version number) must not read results an older one stored."""
    import specrun.cache as cache_module

    before = cache_module.NodeCache.key("node")
    assert cache_module.NodeCache.key("node") == before  # stable within one code base
    monkeypatch.setattr(cache_module, "code_digest", lambda: "another source tree")
    assert cache_module.NodeCache.key("node") != before


MULTIVERSE_SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  inv: {label: "投资 (inv)"}
samples:
  late: {time: [1940, null]}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
  by_firm: {estimator: ols, y: inv, x: [value], over: firm}
multiverse:
  rob:
    base: fe
    focus: value
    axes:
      sample: {all: {}, late: {sample: late}}
      se: {entity: {}, hc1: {se: robust}}
tables:
  one: {kind: regression, columns: [fe, "by_firm.1"]}
outputs: {formats: [markdown]}
"""
)


def test_results_json_from_model_texts_is_byte_identical(tmp_path: Path):
    """``results.json`` assembled from the texts encoded where each model was fitted equals
    the whole document encoded by ``json.dumps(indent=2)``, and the texts are what is written."""
    from dataclasses import replace

    from specrun.api import run_file
    from specrun.outputs import results_bytes, results_json

    folder = tmp_path / "项目"  # results.json names the spec: text beyond ASCII, unescaped
    folder.mkdir()
    spec = grunfeld_project(folder, MULTIVERSE_SPEC)
    done = run_file(spec, tmp_path / "a", cache=False)
    output = done.output
    standard = json.dumps(results_json(done.spec, output), indent=2, ensure_ascii=False)
    whole = (standard + "\n").encode()
    assert results_bytes(done.spec, output) == whole
    # manifest.json too is written as the standard library's indenting encoder writes it
    manifest = (tmp_path / "a" / "manifest.json").read_text(encoding="utf-8")
    assert manifest == json.dumps(json.loads(manifest), indent=2, ensure_ascii=False) + "\n"
    assert "项目" in manifest
    assert b"multiverses" in whole and "项目".encode() in whole
    assert set(output.model_texts) == set(output.results.models)  # fe, by_firm.*, 4 specs
    assert results_bytes(done.spec, replace(output, model_texts={})) == whole  # encoded here
    planted = replace(output, model_texts={**output.model_texts, "fe": '"planted"'})
    assert b'"fe": "planted"' in results_bytes(done.spec, planted)


def test_reused_fits_are_decoded_only_when_read(tmp_path: Path):
    """A re-run after a change takes each unchanged fit's results.json text and core from its
    entry's index: the multiverse curve and results.json decode no model, and write the bytes
    of an uncached run."""
    from specrun.api import run_file
    from specrun.stored import Stored

    text = MULTIVERSE_SPEC.replace('  one: {kind: regression, columns: [fe, "by_firm.1"]}', "")
    text = text.replace("tables:\n", "")
    spec = grunfeld_project(tmp_path, text)
    cache = tmp_path / "cache"
    run_file(spec, tmp_path / "a", cache=cache)
    spec.write_text(text.replace("[1940, null]", "[1941, null]"), encoding="utf-8")
    output = run_file(spec, tmp_path / "a", cache=cache).output
    items = output.results.models._items  # type: ignore[attr-defined]
    undecoded = {name for name, item in items.items() if isinstance(item, Stored)}
    # the two specifications of the changed sample were fitted; nothing else was decoded (fe,
    # by_firm.1 to 10 and the two of the whole sample)
    assert undecoded == {n for n in items if "late" not in n} and len(undecoded) == 13
    run_file(spec, tmp_path / "b", cache=False)
    assert output_files(tmp_path / "a") == output_files(tmp_path / "b")


def test_entry_whose_value_cannot_be_decoded_is_refitted(project: Path, capsys):
    """An entry whose checksum holds but whose value ``encode`` cannot have written (a
    checksum is no signature) is found out when its model is read: fitted again, warned."""
    import hashlib

    assert run(project, project.parent / "a") == 0
    plan = json.loads((project.parent / "a" / "manifest.json").read_text())["plan"]
    key = NodeCache.key(plan["fit:fe_log"])
    path = project.parent / "cache" / key[:2] / f"{key}.entry"
    line, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(line.split(b" ", 1)[1])
    tree = body[header["index"] : header["index"] + header["json"]]
    bad = tree.replace(b'"$dc":"specrun.results:ModelResult"', b'"$dc":"specrun.results:Nothing"')
    assert bad != tree
    body = body[: header["index"]] + bad + body[header["index"] + header["json"] :]
    header.update(json=len(bad), sha256=hashlib.sha256(body).hexdigest())
    path.write_bytes(b"SPECRUN-CACHE " + json.dumps(header).encode() + b"\n" + body)
    for rendered in project.parent.glob("cache/*/*.entry"):
        if rendered.stem not in {NodeCache.key(h) for h in plan.values()}:
            rendered.unlink()  # so that the table is built again and reads fe_log
    capsys.readouterr()
    assert run(project, project.parent / "b") == 0
    assert "cache entry of fit:fe_log is corrupt" in capsys.readouterr().err
    assert output_files(project.parent / "b") == output_files(project.parent / "a")
    # the refitted node was stored in the corrupt entry's place: a run that reads it again
    # (its table's entry gone) reuses it
    for rendered in project.parent.glob("cache/*/*.entry"):
        if rendered.stem not in {NodeCache.key(h) for h in plan.values()}:
            rendered.unlink()
    assert run(project, project.parent / "c") == 0
    assert "corrupt" not in capsys.readouterr().err
    assert "fit:fe_log" in manifest_cache(project.parent / "c")["reused_nodes"]
    assert output_files(project.parent / "c") == output_files(project.parent / "a")


def test_one_change_rerun_writes_the_results_json_of_an_uncached_run(tmp_path: Path):
    spec = grunfeld_project(tmp_path, MULTIVERSE_SPEC)
    cache = str(tmp_path / "cache")
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--cache", cache]) == 0
    spec.write_text(MULTIVERSE_SPEC.replace("[1940, null]", "[1941, null]"), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--cache", cache]) == 0
    cache_use = manifest_cache(tmp_path / "a")
    assert cache_use["reused"] > 0 and cache_use["computed"] > 0
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--no-cache"]) == 0
    assert output_files(tmp_path / "a") == output_files(tmp_path / "b")


def test_model_text_encoder_refuses_what_json_refuses():
    from specrun.outputs import _indented

    for bad in (float("nan"), [1.0, float("inf")], {"a": -float("inf")}):
        with pytest.raises(ValueError, match="not JSON compliant"):
            _indented(bad, 0)
    with pytest.raises(TypeError):
        _indented({"a": object()}, 1)


def _rewrite_entry(path: Path, index=None, tree=None) -> None:
    """Rewrite the fit entry at ``path`` with its index and value tree passed through the given
    functions (bytes → bytes) and its checksum recomputed, as a hand edit would."""
    import hashlib

    line, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(line.split(b" ", 1)[1])
    raw_size = sum(size for _, size in header["raw"])
    start, end = header["index"], header["index"] + raw_size
    old_index, raw = body[:start], body[start:end]
    old_tree, blobs = body[end : end + header["json"]], body[end + header["json"] :]
    new_index = index(old_index) if index else old_index
    new_tree = tree(old_tree) if tree else old_tree
    assert (new_index, new_tree) != (old_index, old_tree)
    body = new_index + raw + new_tree + blobs
    header.update(index=len(new_index), json=len(new_tree), sha256=hashlib.sha256(body).hexdigest())
    path.write_bytes(b"SPECRUN-CACHE " + json.dumps(header).encode() + b"\n" + body)


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        # the index names a model the node does not fit: a table reading fe_log would not find it
        (
            {"index": lambda b: b.replace(b'"fe_log"', b'"fe_x"', 1)},
            "models of another node than fe_log",
        ),
        # the value holds another model than the index: reading fe_log would fail on its name
        (
            {"tree": lambda b: b.replace(b'"fe_log"', b'"fe_y"')},
            "its models differ from its index's",
        ),
    ],
)
def test_entry_edited_to_other_model_names_is_refitted(project: Path, capsys, edit, why):
    """An entry edited with its checksum recomputed so that its index or its value names other
    models than the node fits is corrupt: fitted again with a warning, the outputs those of the
    first run (not a missing model, not a KeyError)."""
    assert run(project, project.parent / "a") == 0
    plan = json.loads((project.parent / "a" / "manifest.json").read_text())["plan"]
    key = NodeCache.key(plan["fit:fe_log"])
    path = project.parent / "cache" / key[:2] / f"{key}.entry"
    _rewrite_entry(path, **edit)
    for rendered in project.parent.glob("cache/*/*.entry"):
        if rendered.stem not in {NodeCache.key(h) for h in plan.values()}:
            rendered.unlink()  # so that the table is built again and reads fe_log
    capsys.readouterr()
    assert run(project, project.parent / "b") == 0
    err = capsys.readouterr().err
    assert (
        f"warning: cache entry of fit:fe_log is corrupt ({why}); recomputed: {path.name}\n" in err
    )
    assert output_files(project.parent / "b") == output_files(project.parent / "a")


def test_pack_serves_indexes_while_entries_keep_their_size_and_time(tmp_path: Path):
    """A run's pack holds its entries' indexes; the next run takes an index from it only while
    the entry's file is as the pack saw it, and checks the entry itself when it decodes it."""
    store = NodeCache(tmp_path)
    store.open_pack("spec")
    keys = [store.key(f"node{i}") for i in range(3)]
    for i, key in enumerate(keys):
        assert store.put(key, {"value": i}, index={"i": i}, raw={"texts": b"text %d" % i})
    assert store.write_pack()
    again = NodeCache(tmp_path)
    again.open_pack("spec")
    assert not again.write_pack()  # it would hold what it read
    first = again.get_entry(keys[0], "fit:a")
    assert first is not None and first.whole is not None  # from the pack, file unopened
    assert (first.index, first.raw, first.value()) == ({"i": 0}, {"texts": b"text 0"}, {"value": 0})
    # an entry rewritten since (a new time): read from its file, as without a pack
    edited = again._path(keys[1])
    edited.write_bytes(edited.read_bytes())
    os.utime(edited, ns=(1, 1))
    second = again.get_entry(keys[1], "fit:b")
    assert second is not None and second.whole is None and second.index == {"i": 1}
    # a byte flipped with the size and time kept: the index is the pack's (as the run stored
    # it), and the value, read from the file, fails its checksum: a miss, recomputed
    victim = again._path(keys[2])
    status = victim.stat()
    data = bytearray(victim.read_bytes())
    data[-3] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert again.get(keys[2], "fit:c") is None
    assert again.stats.warnings == [
        f"cache entry of fit:c is corrupt (checksum mismatch); recomputed: {keys[2]}.entry"
    ]
    # a pack that fails its checksum is no pack
    pack = next((tmp_path / "packs").glob("*.pack"))
    data = bytearray(pack.read_bytes())
    data[-1] ^= 0xFF
    pack.write_bytes(bytes(data))
    third = NodeCache(tmp_path)
    third.open_pack("spec")
    entry = third.get_entry(keys[0], "fit:a")
    assert entry is not None and entry.whole is None and entry.value() == {"value": 0}


def test_cache_warnings_shared_by_many_entries_print_once():
    """A cache folder overwritten with garbage printed one warning per plan node (2,022 lines
    for a 2,000-specification multiverse): one line per fault, the first node and a count;
    warnings said once, and a fault of one entry, print as they are, in their order."""
    from specrun.cli import _collapse_cache_warnings

    warnings = [
        "cache entry of fit:m[a=1] is corrupt (no header); recomputed: k1.entry",
        "cache entries not stored in 'cache' (No space left on device)",
        "cache entry of fit:m[a=2] is corrupt (no header); recomputed: k2.entry",
        "cache entry of fit:x unreadable (Input/output error)",
        "cache entry of fit:m[a=3] is corrupt (no header); recomputed: k3.entry",
        "cache entry of the rendered outputs is corrupt (checksum mismatch); recomputed: k4.entry",
        "cache entry of fit:y unreadable (Input/output error)",
    ]
    assert _collapse_cache_warnings(warnings) == [
        "cache entries of fit:m[a=1] and 2 other nodes are corrupt (no header); recomputed "
        "(manifest.json lists them under cache.warnings)",
        "cache entries not stored in 'cache' (No space left on device)",
        "cache entries of fit:x and 1 other node are unreadable (Input/output error); recomputed "
        "(manifest.json lists them under cache.warnings)",
        "cache entry of the rendered outputs is corrupt (checksum mismatch); recomputed: k4.entry",
    ]


def test_reused_fits_stay_undecoded_beside_a_regression_table_of_the_base(tmp_path: Path):
    """A regression table looks for the statistics a test attaches to its columns (a Hausman
    test's p-value) in the tests' results only: a re-run after a change decodes the table's
    own models and the refitted ones, not the multiverse's other specifications."""
    from specrun.api import run_file
    from specrun.stored import Stored

    spec = grunfeld_project(tmp_path, MULTIVERSE_SPEC)
    cache = tmp_path / "cache"
    run_file(spec, tmp_path / "a", cache=cache)
    spec.write_text(MULTIVERSE_SPEC.replace("[1940, null]", "[1941, null]"), encoding="utf-8")
    output = run_file(spec, tmp_path / "a", cache=cache).output
    items = output.results.models._items  # type: ignore[attr-defined]
    decoded = {name for name, item in items.items() if not isinstance(item, Stored)}
    assert decoded == {"fe", "by_firm.1", "rob[sample=late,se=entity]", "rob[sample=late,se=hc1]"}
    run_file(spec, tmp_path / "b", cache=False)
    assert output_files(tmp_path / "a") == output_files(tmp_path / "b")


FIGURES_SPEC = SPEC.replace(
    "outputs: {dir: out, formats: [markdown, latex]}",
    """figures:
  coef: {kind: coefplot, models: [ols, fe], variable: value, title: Value}
  coef_log: {kind: coefplot, models: [fe_log], variable: lvalue}
outputs: {dir: out, formats: [markdown, latex]}""",
)


def test_figure_drawings_are_reused_until_the_figure_changes(tmp_path: Path):
    """A re-run that changes a table draws no figure (their PNG and PDF come from the cache,
    byte for byte an uncached run's); one that changes a figure's title draws that one."""
    project = grunfeld_project(tmp_path, FIGURES_SPEC)
    assert run(project, tmp_path / "a") == 0
    assert manifest_cache(tmp_path / "a")["reused_drawings"] == []
    project.write_text(FIGURES_SPEC.replace("stats: [nobs, r2]", "stats: [nobs]"), "utf-8")
    assert run(project, tmp_path / "b") == 0
    assert manifest_cache(tmp_path / "b")["reused_drawings"] == ["coef", "coef_log"]
    assert main(["run", str(project), "--out", str(tmp_path / "b0"), "--no-cache"]) == 0
    assert output_files(tmp_path / "b") == output_files(tmp_path / "b0")

    retitled = FIGURES_SPEC.replace("title: Value", "title: Firm value")
    project.write_text(retitled.replace("stats: [nobs, r2]", "stats: [nobs]"), "utf-8")
    assert run(project, tmp_path / "c") == 0
    assert manifest_cache(tmp_path / "c")["reused_drawings"] == ["coef_log"]
    assert main(["run", str(project), "--out", str(tmp_path / "c0"), "--no-cache"]) == 0
    drawn = output_files(tmp_path / "c")
    assert drawn == output_files(tmp_path / "c0")
    assert drawn["figures/coef.png"] != output_files(tmp_path / "b")["figures/coef.png"]


def test_a_corrupt_drawing_is_drawn_again(tmp_path: Path, capsys):
    project = grunfeld_project(tmp_path, FIGURES_SPEC)
    assert run(project, tmp_path / "a") == 0
    project.write_text(FIGURES_SPEC.replace("stats: [nobs, r2]", "stats: [nobs]"), "utf-8")
    # every entry but the fits' and the data stage's: the rendered outputs and two drawings
    plan = json.loads((tmp_path / "a" / "manifest.json").read_text())["plan"]
    cache = tmp_path / "cache"
    nodes = {NodeCache.key(digest) for digest in plan.values()}
    nodes.add(data_stage_entry(project, cache).stem)
    others = [p for p in cache.glob("*/*.entry") if p.stem not in nodes]
    assert len(others) == 3
    for entry in others:
        entry.write_bytes(entry.read_bytes()[:-1] + b"x")
    capsys.readouterr()
    assert run(project, tmp_path / "b") == 0
    assert "corrupt (checksum mismatch); recomputed" in capsys.readouterr().err
    assert manifest_cache(tmp_path / "b")["reused_drawings"] == []
    assert main(["run", str(project), "--out", str(tmp_path / "b0"), "--no-cache"]) == 0
    assert output_files(tmp_path / "b") == output_files(tmp_path / "b0")
