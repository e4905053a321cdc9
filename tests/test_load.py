"""The YAML loader: values, positions of keys and items, and every YAML-level error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specrun.errors import SpecErrors
from specrun.spec.load import Position, format_path, load_text

TEXT = """\
spec_version: 1
models:
  fe:
    estimator: panel_fe
    x: [Dige, URBAN, EDU]
"""


def test_values_and_positions():
    doc = load_text(TEXT, "specs/x.yaml")
    assert doc.data["models"]["fe"]["x"] == ["Dige", "URBAN", "EDU"]
    assert doc.position(("models", "fe", "x", 2)) == Position(5, 22)
    assert doc.position(("models", "fe"), key=True) == Position(3, 3)
    # an unknown path falls back to its nearest ancestor
    assert doc.position(("models", "fe", "y")) == Position(4, 5)


def test_format_path():
    assert format_path(("models", "fe", "x", 2)) == "models.fe.x[2]"


def messages(text: str) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        load_text(text, "x.yaml")
    return [str(e) for e in caught.value.errors]


def test_duplicate_keys_are_kept_as_problems_with_both_lines():
    doc = load_text("a: 1\nb:\n  c: 1\n  c: 2\n", "x.yaml")
    assert [str(e) for e in doc.problems] == [
        "x.yaml:4:3: b.c: duplicate key 'c' (first defined at line 3)"
    ]
    assert doc.data["b"]["c"] == 1


def test_a_second_top_level_section_says_where_its_entries_belong():
    """A tutorial step's ``models:`` block pasted below the spec is a second section."""
    text = "models:\n  a: {y: y}\ntransforms:\n  - log: {vars: [y]}\nmodels:\n  b: {y: y}\n"
    text += "transforms:\n  - lag: {vars: [y]}\n"
    assert [str(e) for e in load_text(text, "x.yaml").problems] == [
        "x.yaml:5:1: models: duplicate key 'models' (first defined at line 1) (a spec has one "
        "'models:' section: move these entries under the 'models:' of line 1)",
        "x.yaml:7:1: transforms: duplicate key 'transforms' (first defined at line 3) (a spec "
        "has one 'transforms:' list: move these items into the 'transforms:' of line 3)",
    ]


def test_an_expression_cut_at_a_comma_inside_braces_says_to_quote_it():
    """``{treat: if_else(g > 0, 1, 0)}`` is, to YAML, ``treat: 'if_else(g > 0'`` and the keys
    ``1`` and ``0)`` with no value: one error at the expression, with the line to write, and the
    expression read as meant (no second error from what uses ``treat``)."""
    text = "derive: {treat: if_else(g > max(a, b), 1, 0), lev: x / 100}\n"
    doc = load_text(text, "x.yaml")
    assert [str(e) for e in doc.problems] == [
        "x.yaml:1:17: derive.treat: this expression was cut at its first comma: inside {…} a "
        "comma ends a YAML value, so 'treat' reads 'if_else(g > max(a' (quote it: "
        'treat: "if_else(g > max(a, b), 1, 0)")'
    ]
    assert doc.data == {"derive": {"treat": "if_else(g > max(a, b), 1, 0)", "lev": "x / 100"}}
    # quoted, in block style, or with its parentheses closed, a value is left alone
    for fine in (
        "derive: {treat: 'if_else(g > 0, 1, 0)'}\n",
        "derive:\n  treat: if_else(g > 0, 1, 0)\n",
        "derive: {a: log(x), b: y}\n",
    ):
        assert load_text(fine, "x.yaml").problems == ()


def test_a_list_inside_a_braced_value_says_to_quote_the_value():
    # before: "invalid YAML: did not find expected ',' or '}'" and nothing to do about it
    text = "samples:\n  east: {where: 省份 in ['北京', '上海'], label: 东部}\n"
    assert messages(text) == [
        "x.yaml:2:23: invalid YAML: did not find expected ',' or '}' (quote it: where: "
        "\"省份 in ['北京', '上海']\" (inside {…}, brackets, braces and commas in a value need "
        "quotes))"
    ]
    fixed = "samples:\n  east: {where: \"省份 in ['北京', '上海']\", label: 东部}\n"
    assert load_text(fixed, "x.yaml").data["samples"]["east"]["where"] == "省份 in ['北京', '上海']"


def test_tabs_are_refused_with_their_column():
    assert messages("a:\n  b: 1\n \tc: 2\n") == [
        "x.yaml:3:2: tab character in indentation (YAML indents with spaces)"
    ]


def test_top_level_must_be_a_mapping():
    assert messages("- 1\n- 2\n") == [
        "x.yaml:1:1: the top level of a spec must be a mapping of sections (data:, models:, …)"
    ]


def test_syntax_error_is_located():
    assert messages("a: [1, 2\n") == [
        "x.yaml:2:1: invalid YAML: did not find expected ',' or ']'"  # libyaml's wording
    ]


def test_an_unquoted_value_starting_with_a_backtick_is_told_to_be_quoted():
    # a derive: expression whose first column needs backticks (a yearbook header with its
    # unit in brackets); YAML reserves ` at the start of a plain value
    text = "transforms:\n  - derive:\n      cable: `光缆长度(公里)` / 1000\n"
    assert messages(text) == [
        "x.yaml:3:14: invalid YAML: found character that cannot start any token "
        '(a value that starts with ` must be quoted: "`name` / 1000")'
    ]
    quoted = load_text(text.replace("`光缆长度(公里)` / 1000", '"`光缆长度(公里)` / 1000"'))
    assert quoted.data["transforms"][0]["derive"]["cable"] == "`光缆长度(公里)` / 1000"


def test_empty_spec():
    assert messages("") == ["x.yaml:1:1: the spec is empty"]


def test_no_object_construction():
    assert messages("a: !!python/name:os.system x\n")[0].startswith(
        "x.yaml:1:4: invalid YAML: could not determine a constructor"
    )
    doc = load_text("a: !!python/object/apply:os.system ['true']\n", "x.yaml")
    assert [str(e) for e in doc.problems] == [
        "x.yaml:1:4: a: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{},'\"#&*!|>1.")), max_size=60))
def test_any_text_loads_or_raises_spec_errors(text):
    try:
        doc = load_text(text, "x.yaml")
    except SpecErrors as exc:
        assert all(e.file == "x.yaml" for e in exc.errors)
    else:
        assert isinstance(doc.data, dict)


def test_only_true_and_false_are_booleans():
    # YAML 1.1 would read the country code NO (and yes/no/on/off) as a boolean.
    doc = load_text("exclude: [NO, SE, no, yes, on, off, true, False]\n", "x.yaml")
    assert doc.data["exclude"] == ["NO", "SE", "no", "yes", "on", "off", True, False]
