"""A generated corpus of malformed specs and data files, one family per class of fault.

Every variant of a valid base spec (each value replaced by hostile values, each key dropped or
misspelt, sections swapped for wrong types) and of its data file (bad cells, bad rows, bad
bytes) must end in exit 0 or in exit 1 with every message located (``file:line:col`` or
``file: row``): never exit 3, never a traceback. The corpus is drawn with a fixed seed and a
fixed size, so the test's time is bounded and its failures reproducible.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from specfiles import PROJECT_ROOT
from specrun.cli import main

BASE: dict[str, Any] = {
    "spec_version": 1,
    "title": "Grunfeld",
    "data": {
        "sources": {"g": {"path": "grunfeld.csv"}},
        "panel": {"source": "g", "entity": "firm", "time": "year"},
    },
    "variables": {"inv": {"label": "Investment"}, "value": {"label": "Value"}},
    "groups": {"controls": ["capital"]},
    "transforms": [
        {"log": {"vars": ["inv"], "name": "ln_{var}"}},
        {"lag": {"vars": ["value"], "periods": 1}},
        {"derive": {"ratio": "value / capital"}},
    ],
    "samples": {"late": {"where": "year >= 1940"}, "early": {"time": [None, 1945]}},
    "models": {
        "d": {"estimator": "descriptive", "vars": ["inv", "value"]},
        "ols": {"estimator": "ols", "y": "inv", "x": ["value", "$controls"], "se": "robust"},
        "fe": {
            "estimator": "panel_fe",
            "y": "inv",
            "x": ["value", "capital"],
            "effects": ["entity"],
            "se": {"cluster": "entity"},
            "sample": "late",
        },
        "fe2": {"extends": "fe", "effects": ["entity", "time"]},
    },
    "variants": {"fe": {"early": {"sample": "early"}}},
    "tables": {
        "t": {"kind": "regression", "columns": ["ols", "fe", "fe2"], "stats": ["nobs", "r2"]},
        "s": {"kind": "descriptive", "model": "d"},
    },
    "outputs": {"dir": "out", "formats": ["latex", "markdown"]},
}

HOSTILE: list[Any] = [
    None,
    -1,
    0,
    10**12,
    1e308,
    "",
    "../../ESCAPED",
    "/",
    "[/x]",
    "Market\x1b[31m",
    "a\u202eb",
    "{var.__class__.__mro__}",
    "{var:>300000000}",
    "x" * 5000,
    "value / 0",
    "not",
    ["value", "value"],
    [],
    {"a": 1},
    True,
    "2012年",
]

LOCATED = re.compile(r"^(error|warning): (.+?:\d+:\d+: |.*\S+: row \d+)")


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*path, i)
            yield from leaves(value, (*path, i))


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    node: Any = spec
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return spec


def dropped(path: tuple[Any, ...]) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    node: Any = spec
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, dict):
        del node[path[-1]]
    else:
        node.pop(path[-1])
    return spec


def misspelt(path: tuple[Any, ...]) -> dict[str, Any] | None:
    spec = copy.deepcopy(BASE)
    node: Any = spec
    for part in path[:-1]:
        node = node[part]
    if not isinstance(node, dict):
        return None
    key = path[-1]
    node[key[:-1] + key[-1] * 2 if len(key) > 1 else key + "x"] = node.pop(key)
    return spec


def spec_corpus(size: int, seed: int = 20261130) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    paths = list(leaves(BASE))
    corpus: list[tuple[str, str]] = []
    for path in paths:
        corpus.append((f"drop {path}", yaml.safe_dump(dropped(path), allow_unicode=True)))
        spelt = misspelt(path)
        if spelt is not None:
            corpus.append((f"misspell {path}", yaml.safe_dump(spelt, allow_unicode=True)))
        for value in HOSTILE:
            text = yaml.safe_dump(replaced(path, value), allow_unicode=True)
            corpus.append((f"{path} = {value!r:.40}", text))
    rng.shuffle(corpus)
    return corpus[:size]


TEXT_MUTATIONS = {
    "nul": lambda t: t.replace("title", "ti\x00tle"),
    "tab-indent": lambda t: t.replace("\n  ", "\n\t", 1),
    "unclosed": lambda t: t + "models: [\n",
    "deep": lambda t: t + "x: " + "[" * 500 + "]" * 500 + "\n",
    "alias-bomb": lambda t: (
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"b{i}: &b{i} [{','.join(['*a' if i == 0 else f'*b{i - 1}'] * 10)}]\n" for i in range(8)
        )
        + t
    ),
    "recursive": lambda t: t + "z: &z\n  - *z\n",
    "huge-int": lambda t: t.replace("spec_version: 1", "spec_version: " + "9" * 5000),
    "python-tag": lambda t: t + "y: !!python/object/apply:os.system ['true']\n",
    "duplicate-key": lambda t: t + "title: again\n",
    "empty": lambda t: "",
    "scalar": lambda t: "just text\n",
    "bom": lambda t: "\ufeff" + t,
}

BYTE_MUTATIONS = {
    "utf16": lambda t: t.encode("utf-16"),
    "latin1": lambda t: t.replace("Grunfeld", "Grünfeld").encode("latin-1"),
    "gbk": lambda t: t.replace("Grunfeld", "格伦菲尔德").encode("gbk"),
}


def data_corpus() -> dict[str, bytes]:
    clean = (PROJECT_ROOT / "data" / "grunfeld.csv").read_bytes()
    lines = clean.decode().splitlines()
    header, rows = lines[0], lines[1:]

    def with_rows(changed: dict[int, str]) -> bytes:
        body = [changed.get(i, row) for i, row in enumerate(rows)]
        return ("\n".join([header, *body]) + "\n").encode()

    def cell(i: int, column: int, value: str) -> str:
        parts = rows[i].split(",")
        parts[column] = value
        return ",".join(parts)

    columns = [c.strip('"') for c in header.split(",")]
    firm, year = columns.index("firm"), columns.index("year")
    inv = columns.index("inv")
    return {
        "inf": with_rows({5: cell(5, inv, "inf"), 9: cell(9, inv, "-inf")}),
        "office-codes": with_rows({3: cell(3, inv, ".."), 4: cell(4, inv, "—")}),
        "text-cell": with_rows({7: cell(7, inv, "n/a")}),
        "blank-entity": with_rows({2: cell(2, firm, "")}),
        "blank-time": with_rows({2: cell(2, year, "")}),
        "text-year": with_rows({0: cell(0, year, "1935年")}),
        "duplicate-row": with_rows({1: rows[0]}),
        "short-row": with_rows({6: ",".join(rows[6].split(",")[:2])}),
        "long-row": with_rows({6: rows[6] + ",1,2"}),
        "duplicate-header": (
            "\n".join([header + ",inv", *[r + ",1" for r in rows]]) + "\n"
        ).encode(),
        "header-only": (header + "\n").encode(),
        "empty": b"",
        "bom-crlf": b"\xef\xbb\xbf" + clean.replace(b"\n", b"\r\n"),
        "cr-only": clean.replace(b"\n", b"\r"),
        "gbk-header": clean.replace(b"inv", "投资".encode("gbk")),
        "nul": clean.replace(b"1935", b"19\x0035", 1),
    }


def check(code: int, err: str, what: str) -> None:
    assert code in (0, 1), f"{what}: exit {code}\n{err}"
    assert "Traceback" not in err and "internal error" not in err, f"{what}:\n{err}"
    if code == 1:
        for line in err.splitlines():
            if line.startswith("error"):
                assert LOCATED.match(line), f"{what}: unlocated message {line!r}"


def write_project(tmp_path: Path, text: str | bytes, data: bytes | None = None) -> Path:
    folder = tmp_path / "proj" / "specs"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "grunfeld.csv").write_bytes(
        data if data is not None else (PROJECT_ROOT / "data" / "grunfeld.csv").read_bytes()
    )
    spec = folder / "spec.yaml"
    spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    return spec


SPEC_CORPUS = spec_corpus(240)


@pytest.mark.parametrize("chunk", range(4))
def test_malformed_specs_never_crash(tmp_path, capsys, chunk):
    runs = 0
    for i, (what, text) in enumerate(SPEC_CORPUS[chunk::4]):
        spec = write_project(tmp_path / str(i), text)
        code = main(["validate", str(spec)])
        check(code, capsys.readouterr().err, f"validate {what}")
        if code == 0 and runs < 8:  # valid variants must also run (bounded: the slow part)
            runs += 1
            code = main(["run", str(spec), "--out", str(tmp_path / str(i) / "out")])
            check(code, capsys.readouterr().err, f"run {what}")


def test_malformed_yaml_and_bytes_never_crash(tmp_path, capsys):
    text = yaml.safe_dump(BASE, allow_unicode=True)
    cases: dict[str, str | bytes] = {n: f(text) for n, f in TEXT_MUTATIONS.items()}
    cases.update({n: f(text) for n, f in BYTE_MUTATIONS.items()})
    for name, mutated in cases.items():
        spec = write_project(tmp_path / name, mutated)
        code = main(["validate", str(spec)])
        check(code, capsys.readouterr().err, name)
        assert name in ("bom",) or code == 1, f"{name}: accepted"


def test_malformed_data_never_crash(tmp_path, capsys):
    text = yaml.safe_dump(BASE, allow_unicode=True)
    for name, data in data_corpus().items():
        spec = write_project(tmp_path / name, text, data)
        code = main(["run", str(spec), "--out", str(tmp_path / name / "out")])
        check(code, capsys.readouterr().err, name)
