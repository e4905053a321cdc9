"""Hostile and careless inputs, one class of fault at a time (issue: hardening).

Each test asserts the whole message a user sees and the key or row it names; the generated
corpus in ``test_malformed_corpus.py`` then checks that no variation crashes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main

MODELS = """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip()


def spec_file(folder: Path, text: str) -> Path:
    return grunfeld_project(folder, text)


# class 1: user text is printed literally, never as rich markup or emoji


def test_markup_in_a_name_is_printed_literally(tmp_path, capsys):
    spec = spec_file(
        tmp_path, GRUNFELD_HEAD + "models:\n  fe: {estimator: ols, y: inv, x: ['[/x]']}\n"
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:7:36: models.fe.x[0]: unknown variable '[/x]'",
    )


def test_an_error_on_line_100_is_not_an_emoji(tmp_path, capsys):
    text = GRUNFELD_HEAD + "#\n" * 93 + "models:\n  fe: {estimator: ols, y: inv, x: [valu]}\n"
    spec = spec_file(tmp_path, text)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:100:36: models.fe.x[0]: unknown variable 'valu' (did you mean 'value'?)",
    )


# class 2 and 11: the YAML loader and undecodable files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'title: "a\x00b"\n',
            "1:10: character U+0000 is not allowed in a spec (a control character; YAML accepts "
            "tab, line feed and carriage return only)",
        ),
        ("a: &v\n  b: *v\n", "2:6: a recursive alias: '*v' is inside the value it names"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "1:67: nesting deeper than 64 levels"),
        (
            "a0: &a0 [x,x,x,x,x,x,x,x,x]\n"
            + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9)),
            "1:26: aliases expand this spec beyond 10,400 values, far more than it writes "
            "(refused, as an alias bomb would be)",
        ),
    ],
    ids=["nul", "recursive-alias", "deep", "billion-laughs"],
)
def test_loader_refuses_hostile_yaml_at_a_position(tmp_path, capsys, text, message):
    spec = tmp_path / "s.yaml"
    spec.write_text(text, encoding="utf-8")
    assert run(["validate", str(spec)], capsys) == (1, f"error: {spec}:{message}")


def test_a_huge_integer_is_a_located_error(tmp_path, capsys):
    head = GRUNFELD_HEAD.replace("spec_version: 1", "spec_version: " + "9" * 4301)
    spec = spec_file(tmp_path, head + MODELS)
    code, err = run(["validate", str(spec)], capsys)
    assert code == 1
    assert err.startswith(f"error: {spec}:1:15: spec_version: cannot read '9999")
    assert "Exceeds the limit (4300 digits)" in err


def test_utf16_spec_is_a_located_error(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_bytes("spec_version: 1\n".encode("utf-16"))
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:1:1: the spec is UTF-16 (it starts with a UTF-16 byte-order mark); "
        "save it as UTF-8",
    )


def test_invalid_utf8_names_line_column_and_a_likely_encoding(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_bytes("spec_version: 1\ntitle: 数字贸易与出口技术复杂度研究\n".encode("gbk"))
    code, err = run(["validate", str(spec)], capsys)
    assert code == 1
    assert err.startswith(f"error: {spec}:2:8: the spec is not valid UTF-8 (byte 0xca) (it looks")
    assert err.endswith("; save it as UTF-8)")


def test_a_utf8_bom_is_accepted(tmp_path, capsys):
    spec = spec_file(tmp_path, "\ufeff" + GRUNFELD_HEAD + MODELS)
    assert run(["validate", str(spec)], capsys)[0] == 0
