"""The term grammar (``specrun.data.terms``) and tsset semantics (``data.design``).

Names are Stata's (``[U] 11.4.3 Factor variables``, ``[U] 11.4.4 Time-series varlists``, and
the row names of ``regress``/``xtreg`` output: ``L.x``, ``cL.x#c.z``, ``2.region``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main
from specrun.data.design import add_time_series, atoms
from specrun.data.terms import parse_item, term_names
from specrun.errors import SpecError


def names(text: str) -> list[str]:
    out = []
    for term in parse_item(text):
        if term.has_factor:
            levels = {c.key(): ["2"] for c in term.components if c.factor}
            out += term_names(term, levels)
        else:
            out.append(term.continuous_name())
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dige", ["Dige"]),
        ("L.Dige", ["L.Dige"]),
        ("L2.Dige", ["L2.Dige"]),
        ("L(0/2).Dige", ["Dige", "L.Dige", "L2.Dige"]),
        ("L(1 3).Dige", ["L.Dige", "L3.Dige"]),
        ("F.Dige", ["F.Dige"]),
        ("F2.Dige", ["F2.Dige"]),
        ("D.Dige", ["D.Dige"]),
        ("LD.Dige", ["LD.Dige"]),
        ("DL.Dige", ["LD.Dige"]),  # Stata displays operators in the order L, F then D
        ("L.D.Dige", ["LD.Dige"]),
        ("D2.Dige", ["D2.Dige"]),
        ("c.Dige", ["Dige"]),
        ("i.region", ["2.region"]),
        ("ib3.region", ["2.region"]),
        ("ibn.region", ["2.region"]),
        ("ib(last).region", ["2.region"]),
        ("c.Dige#c.STR", ["c.Dige#c.STR"]),
        ("c.Dige # c.STR", ["c.Dige#c.STR"]),
        ("c.L.Dige#c.STR", ["cL.Dige#c.STR"]),
        ("cL.Dige#c.STR", ["cL.Dige#c.STR"]),
        ("i.treat#c.post", ["2.treat#c.post"]),
        ("c.Dige##c.STR", ["Dige", "STR", "c.Dige#c.STR"]),
        ("i.region##c.Dige", ["2.region", "Dige", "2.region#c.Dige"]),
        ("数字贸易", ["数字贸易"]),
        ("L.数字贸易", ["L.数字贸易"]),
    ],
)
def test_terms_parse_to_stata_names(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "col", "fragment"),
    [
        ("Dige#STR", 1, "'Dige' in an interaction needs c. (continuous) or i. (factor)"),
        ("c.Dige#STR", 8, "'STR' in an interaction needs c."),
        ("X.Dige", 1, "unknown operator 'X.'"),
        ("S.Dige", 1, "unknown operator 'S.'"),
        ("L.", 3, "ends early"),
        ("ib.region", 1, "'ib.' needs a base"),
        ("ib(??).region", 1, "unknown base '(??)'"),
        ("L(3/1).x", 1, "empty operator range 'L(3/1).'"),
        ("L(a).x", 1, "operator range 'L(a).' must read (a/b)"),
        ("D(0/2).x", 1, "a range applies to L. or F., not D."),
        ("c.i.x", 3, "repeats the c./i. prefix"),
        ("L100.x", 1, "too large"),
        ("x y", 3, "unexpected 'y' at position 3"),
        ("2x", 1, "'2x' is not a variable name"),
        ("c.x#", 5, "ends early"),
        ("", 1, "empty term"),
    ],
)
def test_bad_terms_are_located_errors_naming_the_term(text: str, col: int, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_item(text)
    assert info.value.code == "term"
    assert info.value.col == col
    assert f"term '{text}'" in info.value.message
    assert fragment in str(info.value)


TERM_ALPHABET = st.sampled_from(
    [*"abcLFDSicxyz0123456789_.#() /$", "ib", "ibn", "##", "L(0/2)", "数"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TERM_ALPHABET, max_size=12).map("".join))
def test_every_string_parses_or_gives_a_located_term_error(text: str) -> None:
    try:
        terms = parse_item(text)
    except SpecError as exc:
        assert exc.code == "term"
        assert exc.col is not None and 1 <= exc.col <= len(text) + 1
        return
    assert terms and all(t.components for t in terms)


@settings(max_examples=25, deadline=None)
@given(st.lists(TERM_ALPHABET, min_size=1, max_size=8).map("".join))
def test_the_cli_never_exits_3_on_a_generated_term(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("term")
    spec = grunfeld_project(
        folder,
        GRUNFELD_HEAD
        + "models:\n"
        + f"  m: {{estimator: ols, y: inv, x: [{_yaml_string(text)}, value]}}\n",
    )
    assert main(["validate", str(spec)]) in (0, 1)


def _yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# An unbalanced panel with gaps, rows deliberately out of order. Entity A is observed in
# 2000, 2001, 2003, 2004 (2002 missing); entity B in 2001, 2002.
GAPPY = pl.DataFrame(
    {
        "id": ["A", "B", "A", "A", "B", "A"],
        "t": [2003, 2002, 2000, 2004, 2001, 2001],
        "x": [13.0, 22.0, 10.0, 14.0, 21.0, 11.0],
    }
)


def test_time_series_operators_follow_tsset_on_an_unbalanced_panel_with_gaps() -> None:
    # Expected values by Stata's tsset definitions ([TS] tsset; [U] 11.4.4): L.x at t is x of
    # the same id at t − 1 and missing when that period is absent (A2003: 2002 absent); L2.x
    # at t is x at t − 2 (A2003: x_A2001 = 11; A2004: 2002 absent); F.x at t is x at t + 1;
    # D.x = x_t − x_{t−1}; LD.x = D.x at t − 1 (A2004: D.x_A2003 is missing as 2002 is).
    # Rows keep their order; nothing crosses from B to A.
    terms = [t for s in ("L.x", "L2.x", "F.x", "D.x", "LD.x", "D2.x") for t in parse_item(s)]
    out = add_time_series(GAPPY, atoms(terms), "id", "t")
    # rows: A2003, B2002, A2000, A2004, B2001, A2001
    expected = {
        "L.x": [None, 21.0, None, 13.0, None, 10.0],
        "L2.x": [11.0, None, None, None, None, None],
        "F.x": [14.0, None, 11.0, None, 22.0, None],
        "D.x": [None, 1.0, None, 1.0, None, 1.0],
        "LD.x": [None, None, None, None, None, None],
        "D2.x": [None, None, None, None, None, None],
    }
    assert out.columns == ["id", "t", "x", *expected]
    assert out["id"].to_list() == GAPPY["id"].to_list()
    for column, values in expected.items():
        assert out[column].to_list() == values, column


def test_second_differences_and_lagged_differences_on_a_complete_run() -> None:
    frame = pl.DataFrame({"id": [1] * 5, "t": [1, 2, 3, 4, 5], "x": [1.0, 4.0, 9.0, 16.0, 25.0]})
    terms = [t for s in ("D2.x", "LD.x", "F2.x") for t in parse_item(s)]
    out = add_time_series(frame, atoms(terms), "id", "t")
    # x = t²: D.x = 2t − 1 (3, 5, 7, 9 from t = 2), D2.x = 2 from t = 3
    assert out["D2.x"].to_list() == [None, None, 2.0, 2.0, 2.0]
    assert out["LD.x"].to_list() == [None, None, 3.0, 5.0, 7.0]
    assert out["F2.x"].to_list() == [9.0, 16.0, 25.0, None, None]


def test_operators_need_an_integer_time_column() -> None:
    frame = pl.DataFrame({"id": [1, 1], "t": [1.5, 2.5], "x": [1.0, 2.0]})
    with pytest.raises(SpecError, match="integer time column"):
        add_time_series(frame, atoms(parse_item("L.x")), "id", "t")


def test_a_term_cut_by_a_yaml_comment_warns(tmp_path, capsys) -> None:
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  m:\n    estimator: ols\n    y: inv\n    x:\n      - c.value # c.capital\n"
        + "      - capital  # a plain comment is fine\n",
    )
    assert main(["validate", str(spec)]) == 0
    err = capsys.readouterr().err
    assert (
        "spec.yaml:11:17: ' #' starts a YAML comment, so 'c.value # c.capital' reads as "
        "'c.value'" in err.replace("\n", "")
    )
    assert err.count("warning") == 1


def test_a_lag_keeps_the_type_and_a_difference_needs_numbers() -> None:
    frame = GAPPY.with_columns(g=pl.col("id") + pl.col("t").cast(pl.String))
    out = add_time_series(frame, atoms(parse_item("iL.g")), "id", "t")
    assert out["L.g"].to_list() == [None, "B2001", None, "A2003", None, "A2000"]
    with pytest.raises(SpecError, match=r"D\.g: differences need a numeric variable"):
        add_time_series(frame, atoms(parse_item("D.g")), "id", "t")


# --- the plain-name fast path and the generated parser (start-up of validate) ---------------


def _grammar_parse(text: str) -> tuple:
    """What the Lark grammar alone makes of ``text`` (the fast path bypassed)."""
    from specrun.data import terms

    tree = terms._parser().parse(text)
    return tuple(terms.Term((c,)) for c in terms._component(tree.children[0], text))


@pytest.mark.parametrize(
    "text", ["Dige", "  Dige", "Dige\t", " \t_x1 ", "城镇化率", "a_b_c_9", "x" * 64]
)
def test_a_plain_name_parses_as_the_grammar_parses_it(text: str):
    fast = parse_item.__wrapped__(text)
    assert fast == _grammar_parse(text)
    # col is left out of ==; it is where errors point, so it must agree as well
    assert [c.col for t in fast for c in t.components] == [
        c.col for t in _grammar_parse(text) for c in t.components
    ]


def _fast_and_grammar_outcomes(text: str) -> tuple[object, object]:
    """What ``parse_item`` makes of ``text`` (terms with each component's column, or the
    error and its column) reading it without the grammar where it can, and by the grammar
    alone (``_read`` disabled)."""
    from specrun.data import terms

    def outcome(fast: bool) -> object:
        saved = terms._read
        if not fast:  # every item goes to the grammar
            terms._read = lambda text: None
        try:
            got = parse_item.__wrapped__(text)
            return [(c, c.col) for t in got for c in t.components], [t.key() for t in got]
        except SpecError as exc:
            return str(exc), exc.col
        finally:
            terms._read = saved

    return outcome(True), outcome(False)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab_Z9²٣ \t.#()/LDFci\n"), min_size=1, max_size=12))
def test_the_fast_path_and_the_grammar_agree_on_any_text(text: str):
    fast, grammar = _fast_and_grammar_outcomes(text)
    assert fast == grammar


@pytest.mark.parametrize(
    "text",
    [
        "L.Dige",
        "c.Dige##c.STR",
        "c.Dige#c.STR",
        " c.a # c.b ",
        "\tc.a\t##\ti.b",
        "i.region#c.L2.Dige",
        "c.L.Dige#c.STR",
        "L(0/2).x",
        "L (0/2) . x",
        "L(0 1 3).x",
        "ib(last).region",
        "ib( first ).region##c.x#c.y",
        "ib3.region",
        "ibn.region",
        "F2D.x",
        "LD.x",
        "cL.x",
        "c.c.x",
        "ib2.L.x",
        "L(0/2).x#c.y",
        "L100.x",
        "L(a/b).x",
        "L(1).x",
        "x(1)",
        "a#b",
        "c.a#b",
        "2.region",
        "c.2x",
        "c.a##",
        "#a",
        "a.",
        ".a",
        "a..b",
        "a.#b",
        "c.a ### c.b",
        "c.a\n#c.b",
        "L(0/2\n).x",
        "x y",
        "x,y",
        "$x",
        "c.城镇化率#c.x",
    ],
)
def test_the_fast_path_and_the_grammar_agree_on_terms_and_errors(text: str):
    fast, grammar = _fast_and_grammar_outcomes(text)
    assert fast == grammar


def _modules_after(code: str) -> set[str]:
    import json
    import subprocess
    import sys

    probe = f"import json, sys; {code}; print(json.dumps(sorted(sys.modules)))"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_fast_path_loads_no_parser():
    modules = _modules_after(
        "from specrun.data.terms import parse_item; [parse_item(t) for t in "
        "('Dige', 'L.Dige', 'c.Dige##c.STR', 'ib(last).r#c.L2.x', 'L(0/2).x')]"
    )
    assert "specrun.data.term_parser" not in modules
    assert "lark" not in modules


def test_the_generated_parser_imports_neither_lark_nor_regex():
    # the grammar reads the items the fast path does not (syntax errors, to locate them)
    modules = _modules_after(
        "from specrun.data import terms; terms._parser().parse('i.region##c.L2.Dige')"
    )
    assert "specrun.data.term_parser" in modules
    assert [m for m in modules if m.split(".")[0] in ("lark", "regex", "platformdirs")] == []


# --- the generated stand-alone parser and the grammar cannot drift apart ---------------------


def _literal(source: str, name: str, end: str) -> object:
    import ast

    start = source.index(f"\n{name} = (\n") + len(f"\n{name} = (\n")
    return ast.literal_eval(source[start : source.index(f"\n)\n{end}", start)])


def _canonical(source: str) -> tuple:
    """The parser a generated module holds, independent of how one build happened to number
    the LALR states and the memo: states renumbered in breadth-first order from the start
    state, visiting each state's actions in the order of their symbols' names, and every
    memo reference replaced by what it refers to."""
    data, memo = _literal(source, "DATA", "MEMO"), _literal(source, "MEMO", "Shift")

    def resolve(node: object) -> object:
        if isinstance(node, dict):
            if set(node) == {"@"}:
                return resolve(memo[node["@"]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return type(node)(resolve(v) for v in node)
        return node

    table = data["parser"]["parser"]
    tokens, states = table["tokens"], table["states"]
    number = {table["start_states"]["start"]: 0}
    queue, canonical = [table["start_states"]["start"]], []
    while queue:
        state = queue.pop(0)
        actions = []
        for symbol, (action, argument) in sorted(
            states[state].items(), key=lambda item: tokens[item[0]]
        ):
            if action == 0:  # shift (or goto): the next state
                if argument not in number:
                    number[argument] = len(number)
                    queue.append(argument)
                actions.append((tokens[symbol], "shift", number[argument]))
            else:  # reduce by a rule
                actions.append((tokens[symbol], "reduce", repr(resolve(argument))))
        canonical.append(actions)
    assert len(number) == len(states)  # every state reachable: none left uncompared
    rest = {k: v for k, v in data.items() if k != "parser"}
    front = {k: v for k, v in data["parser"].items() if k != "parser"}
    end = number[table["end_states"]["start"]]
    return canonical, end, resolve(rest), resolve(front)


def test_the_generated_parser_is_the_grammar_regenerated():
    # term_parser.py is what `python -m specrun.data.terms` writes from GRAMMAR: the same
    # runtime code byte for byte, the same grammar digest, and the same LALR tables up to the
    # numbering of states (which varies from one Lark build to the next)
    from specrun.data import terms

    committed = terms.PARSER_MODULE.read_text(encoding="utf-8")
    fresh = terms.standalone_parser_source()
    assert f"# grammar sha256: {terms.grammar_digest()}\n" in committed, (
        "GRAMMAR changed: run python -m specrun.data.terms"
    )
    runtime = fresh.index("\nDATA = (\n")
    assert committed[: committed.index("\nDATA = (\n")] == fresh[:runtime]
    assert _canonical(committed) == _canonical(fresh)


def test_the_canonical_form_sees_a_changed_table():
    # the comparison above can fail: one reduce turned into another rule, or one shift
    # pointed elsewhere, changes the canonical form
    from specrun.data import terms

    committed = terms.PARSER_MODULE.read_text(encoding="utf-8")
    assert _canonical(committed) == _canonical(committed)
    data = _literal(committed, "DATA", "MEMO")
    states = data["parser"]["parser"]["states"]
    reduces = [(a, k) for a in states.values() for k, v in a.items() if v[0] == 1]
    actions, symbol = reduces[0]
    rules = [r["@"] for r in data["parser"]["parser_conf"]["rules"]]
    actions[symbol] = (1, {"@": next(r for r in rules if r != actions[symbol][1]["@"])})
    start = committed.index("\nDATA = (\n") + len("\nDATA = (\n")
    end = committed.index("\n)\nMEMO", start)
    edited = committed[:start] + repr(data) + committed[end:]
    assert _canonical(edited) != _canonical(committed)


@pytest.mark.parametrize(
    "text",
    [
        "c.L.Dige#c.STR",
        "i.region##c.Dige",
        "L(0/2).Dige",
        "ib(last).region",
        " L2D . x ",
        "a#",
        "#a",
        "a..b",
        "c.(x",
        "x$y",
        "L(1 2).x#c.z##i.w",
        "",
    ],
)
def test_the_generated_parser_parses_as_lark_built_from_the_grammar(text: str):
    import lark

    from specrun.data import term_parser, terms

    built = lark.Lark(
        terms.GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False
    )

    def outcome(parser: object, errors: type) -> object:
        try:
            tree = parser.parse(text)  # type: ignore[attr-defined]
        except errors as exc:
            return type(exc).__name__, getattr(exc, "line", None), getattr(exc, "column", None)
        return shape(tree)

    def shape(node: object) -> object:
        children = getattr(node, "children", None)
        if children is None:  # a token, with the position errors and components point at
            return (node.type, str(node), node.line, node.column, node.end_column)  # type: ignore[attr-defined]
        return (str(node.data), [shape(child) for child in children])  # type: ignore[attr-defined]

    assert outcome(terms._parser(), term_parser.UnexpectedInput) == outcome(
        built, lark.exceptions.UnexpectedInput
    )


@pytest.mark.parametrize(
    "text", ["yr*", "x?", "[ab]*", "c.Dige#c.STR", "L(0/2).x", "a..b", "x y", "c.a\n#c.b", ""]
)
def test_terms_of_is_parse_item_or_none_and_loads_no_parser_for_a_glob(text: str, monkeypatch):
    from specrun.data import terms

    try:
        expected = parse_item(text)
    except SpecError:
        expected = None
    if "\n" not in text:  # a glob or other non-term is told without the grammar's parser

        def no_parser() -> None:
            raise AssertionError("the term parser was loaded")

        monkeypatch.setattr(terms, "_parser", no_parser)
        parse_item.cache_clear()  # each text is read afresh, not found in the cache
    assert terms.terms_of(text) == expected


def test_a_variable_times_itself_is_its_square(tmp_path, capsys):
    # c.x#c.x is x squared (Stata [U] 11.4.3.5): 'c.value##c.value' dropped the square in
    # silence (its key equalled value's), '[value, c.value#c.value]' was "listed twice", and
    # a squared control beside its variable as an IV instrument was "in two roles".
    # Numbers: pyfixest 0.60, feols("inv ~ value + v2 + capital | firm", grunfeld,
    # vcov="iid") with v2 = value**2 (coef, se).
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + """\
models:
  sq: {estimator: panel_fe, y: inv, x: ["c.value##c.value", capital], effects: [entity],
       se: unadjusted}
  sq2: {extends: sq, x: [value, "c.value#c.value", capital]}
  iv: {estimator: iv, y: inv, x: ["c.capital#c.capital"], endog: [value],
       instruments: [capital]}
""",
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0
    models = json.loads((out / "results.json").read_text(encoding="utf-8"))["models"]
    for name in ("sq", "sq2"):
        coefs = models[name]["coefficients"]
        assert list(coefs) == ["value", "c.value#c.value", "capital", "_cons"]
        for term, (b, se) in {
            "value": (-0.008811255985975134, 0.026743769883547906),
            "c.value#c.value": (1.7630815915047692e-05, 3.600586493646206e-06),
            "capital": (0.29832109638526333, 0.016556880762268796),
        }.items():
            assert coefs[term]["estimate"] == pytest.approx(b, rel=1e-9)
            assert coefs[term]["std_error"] == pytest.approx(se, rel=1e-9)
    assert "c.capital#c.capital" in models["iv"]["coefficients"]
