"""The term grammar (``specrun.data.terms``) and tsset semantics (``data.design``).

Names are Stata's (``[U] 11.4.3 Factor variables``, ``[U] 11.4.4 Time-series varlists``, and
the row names of ``regress``/``xtreg`` output: ``L.x``, ``cL.x#c.z``, ``2.region``).
"""

from __future__ import annotations

import os
import pickle
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


# --- the plain-name fast path and the parser's cache file (start-up of validate) ------------


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


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab_Z9²٣ \t.#()L"), min_size=1, max_size=8))
def test_the_fast_path_and_the_grammar_agree_on_any_text(text: str):
    from specrun.data import terms

    def outcome(fast: bool) -> object:
        saved = terms._PLAIN
        if not fast:  # a pattern that matches nothing sends every item to the grammar
            terms._PLAIN = terms.re.compile(r"(?!)")
        try:
            got = parse_item.__wrapped__(text)
            return [(c, c.col) for t in got for c in t.components], [t.key() for t in got]
        except SpecError as exc:
            return str(exc), exc.col
        finally:
            terms._PLAIN = saved

    assert outcome(True) == outcome(False)


def test_the_fast_path_loads_no_parser():
    import subprocess
    import sys

    probe = (
        "import sys; from specrun.data.terms import parse_item; parse_item('Dige'); "
        "print('lark' in sys.modules)"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.strip() == "False"


def _fresh_parser(monkeypatch: pytest.MonkeyPatch, where: object) -> object:
    from specrun.data import terms

    monkeypatch.setattr(terms, "parser_cache_file", lambda: where)
    terms._parser.cache_clear()
    try:
        return terms._parser()
    finally:
        terms._parser.cache_clear()


def test_the_parser_cache_file_is_written_then_read(tmp_path, monkeypatch):
    path = tmp_path / "terms.lark"
    built = _fresh_parser(monkeypatch, path)
    assert path.stat().st_size > 0
    loaded = _fresh_parser(monkeypatch, path)
    text = "i.region##c.L2.Dige"
    assert loaded.parse(text) == built.parse(text)


@pytest.mark.parametrize(
    "content",
    [b"", b"garbage\n", b"0" * 64 + b"\n" + b"\x80\x04not a pickle", None],
    ids=["empty", "no-pickle", "wrong-digest", "truncated"],
)
def test_a_corrupt_parser_cache_file_is_rebuilt_not_trusted(tmp_path, monkeypatch, content):
    path = tmp_path / "terms.lark"
    _fresh_parser(monkeypatch, path)
    good = path.read_bytes()
    corrupt = good[: len(good) // 2] if content is None else content
    path.write_bytes(corrupt)
    parser = _fresh_parser(monkeypatch, path)
    assert parser.parse("c.Dige#c.STR").children[1] == "#"
    rewritten = path.read_bytes()  # whole again: the digest line, then the tables
    assert rewritten != corrupt
    assert rewritten.split(b"\n", 1)[0] == good.split(b"\n", 1)[0]
    with path.open("rb") as f:  # Lark's layout: digest line, files used, the parser's data
        f.readline()
        pickle.load(f)
        assert pickle.load(f)["data"]["__type__"] == "Lark"


def test_an_unwritable_parser_cache_folder_only_costs_the_build(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        parser = _fresh_parser(monkeypatch, folder / "terms.lark")
        assert parser.parse("L.Dige").children
        assert not (folder / "terms.lark").exists() or os.geteuid() == 0
    finally:
        folder.chmod(0o700)


def test_no_cache_folder_means_no_cache(monkeypatch):
    assert _fresh_parser(monkeypatch, None).parse("Dige").children
