"""The spec expression language: parsing, precedence, evaluation on polars, and its errors.

Expected values are computed by hand from the small frame below (each case says how); the
property tests compare against a numpy float64 evaluation of the same tree written in the test.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specrun.data.expr import (
    MAX_DEPTH,
    BinaryOp,
    BooleanLiteral,
    ColumnRef,
    FunctionCall,
    Membership,
    Node,
    NumberLiteral,
    StringLiteral,
    UnaryOp,
    ValueKind,
    check_columns,
    compile_expression,
    parse_expression,
    referenced_columns,
    result_kind,
)
from specrun.errors import SpecError

FRAME = pl.DataFrame(
    {
        "province": ["Beijing", "Hebei", "Shanghai", "Guangdong", None],
        "region": ["East", "East", "East", "South", "West"],
        "year": [2018, 2019, 2020, 2019, 2021],
        "municipality": [1, 0, 1, 0, 0],
        "gdp": [4.0, 1.0, 2.5, 10.0, None],
        "gdp_pc": [100.0, 50.0, 200.0, 80.0, 40.0],
        "cpi": [100.0, 200.0, 50.0, 100.0, 400.0],
        "tertiary_va": [3.0, 1.0, 6.0, 5.0, 2.0],
        "secondary_va": [1.5, 2.0, 3.0, 4.0, 8.0],
        "trade_usd": [10.0, 20.0, 30.0, 40.0, 50.0],
        "usd_cny": [7.0, 6.5, 7.0, 6.5, 7.0],
        "gdp growth": [0.1, 0.2, 0.3, 0.4, 0.5],
        "coastal": [True, False, True, True, None],
    }
)


def evaluate(text: str) -> list[object]:
    return FRAME.select(compile_expression(text, FRAME.columns).alias("value"))["value"].to_list()


def first(text: str) -> object:
    """The value of an expression made of literals only (broadcast over the frame)."""
    return evaluate(text)[0]


def spec_error(text: str, columns: object = None) -> SpecError:
    with pytest.raises(SpecError) as caught:
        compile_expression(text, columns)  # type: ignore[arg-type]
    return caught.value


# --------------------------------------------------------------------------- the spec's examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Beijing and Shanghai are listed; the null province stays null (polars propagates it).
        (
            "province not in ['Beijing', 'Tianjin', 'Shanghai', 'Chongqing']",
            [False, True, False, True, None],
        ),
        ("year <= 2019", [True, True, False, True, False]),
        # 3/1.5, 1/2, 6/3, 5/4, 2/8
        ("tertiary_va / secondary_va", [2.0, 0.5, 2.0, 1.25, 0.25]),
        # trade * rate / (gdp * 1e4); the null gdp gives null
        (
            "trade_usd * usd_cny / (gdp * 1e4)",
            [70 / 40000, 130 / 10000, 210 / 25000, 260 / 100000, None],
        ),
        # East and not a municipality: only Hebei
        ("region == 'East' and not municipality", [False, True, False, False, False]),
    ],
)
def test_spec_examples(text: str, expected: list[object]):
    assert evaluate(text) == pytest.approx(expected)


def test_log_difference_matches_math_log():
    # log(gdp_pc) - log(cpi / 100), row by row with math.log
    expected = [
        math.log(pc) - math.log(cpi / 100)
        for pc, cpi in zip(FRAME["gdp_pc"], FRAME["cpi"], strict=True)
    ]
    assert evaluate("log(gdp_pc) - log(cpi / 100)") == pytest.approx(expected)


# --------------------------------------------------------------------------- literals and names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("2.5", 2.5),
        ("1e4", 10000.0),
        ("1.5E-3", 0.0015),
        (".5", 0.5),
        ("3.", 3.0),
        ("'East'", "East"),
        ('"East"', "East"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\\b'", "a\\b"),
        (r"'tab\there'", "tab\there"),
        ("true", True),
        ("false", False),
        ("True", True),
    ],
)
def test_literals(text: str, expected: object):
    value = first(text)
    assert value == expected
    assert type(value) is type(expected)


def test_integer_literal_is_int_and_float_literal_is_float():
    assert parse_expression("7") == NumberLiteral(7)
    assert isinstance(parse_expression("7").value, int)  # type: ignore[union-attr]
    assert isinstance(parse_expression("7.0").value, float)  # type: ignore[union-attr]


def test_backtick_names_a_column_with_a_space():
    assert parse_expression("`gdp growth` * 2") == BinaryOp(
        "*", ColumnRef("gdp growth"), NumberLiteral(2)
    )
    assert evaluate("`gdp growth` * 2") == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_backticks_make_a_keyword_a_column_name():
    assert parse_expression("`in` + `log`") == BinaryOp("+", ColumnRef("in"), ColumnRef("log"))


def test_names_may_hold_digits_underscores_and_non_ascii_letters():
    assert referenced_columns("x_1 + 省份2") == {"x_1", "省份2"}


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 + 2", 9),
        ("7 - 2", 5),
        ("7 * 2", 14),
        ("7 / 2", 3.5),  # true division, as in Python
        ("2 ** 10", 1024.0),
        ("2 ** -1", 0.5),  # Python gives 0.5; polars alone refuses int ** negative int
        ("-7", -7),
        ("- -7", 7),
        ("--7", 7),
        ("1 / 0", math.inf),
        ("-1 / 0", -math.inf),
    ],
)
def test_arithmetic_on_literals(text: str, expected: float):
    assert first(text) == expected


def test_zero_over_zero_is_nan():
    assert math.isnan(first("0 / 0"))  # type: ignore[arg-type]


def test_arithmetic_on_columns():
    # gdp_pc - cpi, and cpi ** 0.5 by hand: sqrt of 100, 200, 50, 100, 400
    assert evaluate("gdp_pc - cpi") == [0.0, -150.0, 150.0, -20.0, -360.0]
    assert evaluate("cpi ** 0.5") == pytest.approx([10.0, 200**0.5, 50**0.5, 10.0, 20.0])
    assert evaluate("year - 2000") == [18, 19, 20, 19, 21]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Each value as Python evaluates the same text.
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("10 - 4 - 3", 3),  # left-associative
        ("10 - (4 - 3)", 9),
        ("8 / 4 / 2", 1.0),  # left-associative
        ("2 ** 3 ** 2", 512.0),  # right-associative: 2 ** 9
        ("(2 ** 3) ** 2", 64.0),
        ("-2 ** 2", -4.0),  # unary minus binds looser than **
        ("(-2) ** 2", 4.0),
        ("2 ** -2 * 3", 0.75),  # (2 ** -2) * 3
        ("-3 * 2", -6),
        ("1 + 2 == 3", True),
        ("not 1 > 2", True),  # not (1 > 2)
        ("not 1 < 2 or 1 < 2", True),  # (not (1 < 2)) or (1 < 2)
        ("1 > 2 and 1 > 2 or 1 < 2", True),  # (F and F) or T
        ("1 < 2 or 1 < 2 and 1 > 2", True),  # T or (T and F)
        ("not (1 < 2 or 1 < 2)", False),
        ("1 + 1 in [2, 3]", True),
        ("true and not false", True),
    ],
)
def test_precedence_evaluates_like_python(text: str, expected: object):
    assert first(text) == expected


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "a + b * c",
            BinaryOp("+", ColumnRef("a"), BinaryOp("*", ColumnRef("b"), ColumnRef("c"))),
        ),
        (
            "a - b - c",
            BinaryOp("-", BinaryOp("-", ColumnRef("a"), ColumnRef("b")), ColumnRef("c")),
        ),
        (
            "a ** b ** c",
            BinaryOp("**", ColumnRef("a"), BinaryOp("**", ColumnRef("b"), ColumnRef("c"))),
        ),
        ("-a ** b", UnaryOp("-", BinaryOp("**", ColumnRef("a"), ColumnRef("b")))),
        ("a ** -b", BinaryOp("**", ColumnRef("a"), UnaryOp("-", ColumnRef("b")))),
        (
            "not a == b and c",
            BinaryOp(
                "and",
                UnaryOp("not", BinaryOp("==", ColumnRef("a"), ColumnRef("b"))),
                ColumnRef("c"),
            ),
        ),
        (
            "a or b and c",
            BinaryOp("or", ColumnRef("a"), BinaryOp("and", ColumnRef("b"), ColumnRef("c"))),
        ),
        (
            "a + 1 not in [1, -2]",
            Membership(
                BinaryOp("+", ColumnRef("a"), NumberLiteral(1)),
                (NumberLiteral(1), NumberLiteral(-2)),
                negated=True,
            ),
        ),
        (
            "if_else(a > 0, log(b), -c)",
            FunctionCall(
                "if_else",
                (
                    BinaryOp(">", ColumnRef("a"), NumberLiteral(0)),
                    FunctionCall("log", (ColumnRef("b"),)),
                    UnaryOp("-", ColumnRef("c")),
                ),
            ),
        ),
        ("a != true", BinaryOp("!=", ColumnRef("a"), BooleanLiteral(True))),
        (
            "region in ['East', \"West\"]",
            Membership(ColumnRef("region"), (StringLiteral("East"), StringLiteral("West"))),
        ),
    ],
)
def test_parse_tree(text: str, tree: Node):
    assert parse_expression(text) == tree


def test_parenthesized_comparison_may_be_compared_again():
    assert parse_expression("(a < b) == c") == BinaryOp(
        "==", BinaryOp("<", ColumnRef("a"), ColumnRef("b")), ColumnRef("c")
    )


def test_whitespace_and_newlines_are_ignored():
    assert parse_expression("  a\n  +\tb ") == parse_expression("a+b")


# --------------------------------------------------------------------------- comparisons, in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("year == 2019", [False, True, False, True, False]),
        ("year != 2019", [True, False, True, False, True]),
        ("year < 2019", [True, False, False, False, False]),
        ("year <= 2019", [True, True, False, True, False]),
        ("year > 2019", [False, False, True, False, True]),
        ("year >= 2019", [False, True, True, True, True]),
        ("region == 'East'", [True, True, True, False, False]),
        ("gdp > 2", [True, False, True, True, None]),  # null gdp stays null
        ("gdp_pc == cpi", [True, False, False, False, False]),
    ],
)
def test_comparisons(text: str, expected: list[object]):
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("year in [2018, 2020]", [True, False, True, False, False]),
        ("year not in [2018, 2020]", [False, True, False, True, True]),
        # integers against a float column and floats against an integer column
        ("cpi in [100, 50]", [True, False, True, True, False]),
        ("year in [2019.0, 2021.5]", [False, True, False, True, False]),
        ("year - 2020 in [-2, -1]", [True, True, False, True, False]),
        ("region in ['South', 'West',]", [False, False, False, True, True]),
        ("coastal in [true]", [True, False, True, True, None]),
        ("province in ['Hebei']", [False, True, False, False, None]),
    ],
)
def test_membership(text: str, expected: list[object]):
    assert evaluate(text) == expected


def test_membership_on_a_categorical_column():
    frame = FRAME.with_columns(pl.col("region").cast(pl.Categorical))
    result = frame.select(compile_expression("region in ['South']", frame.schema))
    assert result.to_series().to_list() == [False, False, False, True, False]


# --------------------------------------------------------------------------- booleans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("year > 2018 and gdp_pc > 60", [False, False, True, True, False]),
        ("year > 2020 or gdp_pc > 150", [False, False, True, False, True]),
        # an integer 0/1 column is a condition by truthiness, not polars' bitwise ~
        ("not municipality", [False, True, False, True, True]),
        ("municipality and year > 2018", [False, False, True, False, False]),
        ("not coastal", [False, True, False, False, None]),
        ("coastal or year == 2019", [True, True, True, True, None]),
    ],
)
def test_boolean_operators(text: str, expected: list[object]):
    assert evaluate(text) == expected


def test_boolean_columns_can_be_summed_as_dummies():
    # True counts as 1, as in Python: coastal + municipality by hand
    assert evaluate("coastal + municipality") == [2, 0, 2, 1, None]


# --------------------------------------------------------------------------- functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("log(cpi)", [math.log(100), math.log(200), math.log(50), math.log(100), math.log(400)]),
        ("log10(cpi)", [2.0, math.log10(200), math.log10(50), 2.0, math.log10(400)]),
        ("exp(year - 2019)", [math.exp(-1), 1.0, math.e, 1.0, math.exp(2)]),
        ("sqrt(cpi)", [10.0, math.sqrt(200), math.sqrt(50), 10.0, 20.0]),
        ("abs(year - 2019)", [1, 0, 1, 0, 2]),
        ("if_else(year > 2019, gdp_pc, -gdp_pc)", [-100.0, -50.0, 200.0, -80.0, 40.0]),
    ],
)
def test_functions(text: str, expected: list[float]):
    assert evaluate(text) == pytest.approx(expected)


def test_if_else_picks_strings_by_a_truthy_column():
    expected = ["city", "province", "city", "province", "province"]
    assert evaluate("if_else(municipality, 'city', 'province')") == expected


def test_null_tests():
    assert evaluate("is_null(gdp)") == [False, False, False, False, True]
    assert evaluate("is_not_null(province)") == [True, True, True, True, False]
    assert evaluate("is_null(gdp) or gdp > 3") == [True, False, False, True, True]


def test_log_of_non_positive_follows_ieee():
    # IEEE 754: log(0) = -inf, log(-1) = NaN, as numpy gives
    zero, negative = first("log(0)"), first("log(-1)")
    assert zero == -math.inf
    assert math.isnan(negative)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- columns and kinds


def test_referenced_columns():
    text = "log(gdp_pc) - log(cpi / 100) + if_else(`gdp growth` > 0, x, 1)"
    assert referenced_columns(text) == {"gdp_pc", "cpi", "gdp growth", "x"}
    assert referenced_columns(parse_expression("1 + 2")) == set()
    assert referenced_columns("province not in ['x']") == {"province"}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("year <= 2019", ValueKind.BOOLEAN),
        ("province not in ['x']", ValueKind.BOOLEAN),
        ("a / b", ValueKind.NUMBER),
        ("log(a)", ValueKind.NUMBER),
        ("'x'", ValueKind.STRING),
        ("municipality", ValueKind.UNKNOWN),
        ("if_else(a, b, 1)", ValueKind.NUMBER),
        ("if_else(a, b, c)", ValueKind.UNKNOWN),
        ("is_null(a)", ValueKind.BOOLEAN),
    ],
)
def test_result_kind(text: str, kind: ValueKind):
    assert result_kind(text) == kind


def test_check_columns_passes_known_names():
    check_columns("a + `b c`", ["a", "b c"])


def test_compile_accepts_a_schema():
    expression = compile_expression("year - 2000", FRAME.schema)
    assert FRAME.select(expression).to_series().to_list() == [18, 19, 20, 19, 21]


# --------------------------------------------------------------------------- errors

COLUMNS = ["Dige", "year", "gdp", "gdp_pc", "cpi", "province", "a", "b", "c", "x", "y"]


@pytest.mark.parametrize(
    ("text", "message", "col"),
    [
        ("(year + 1", "expected ')'", 10),
        ("year +", "unexpected end of expression", 7),
        ("year)", "unexpected ')' at column 5", 5),
        ("(gdp + 1) * (cpi))", "unexpected ')' at column 18", 18),
        ("year 2019", "unexpected '2019' at column 6", 6),
        ("", "empty expression", 1),
        ("   ", "empty expression", 1),
        ("log(gdp_pc) - lg(cpi)", "unknown function 'lg' (did you mean 'log'?)", 15),
        (
            "mean(gdp)",
            "unknown function 'mean' (the functions are abs, exp, if_else, is_not_null, "
            "is_null, log, log10, real, sqrt; a column whose name holds brackets is written in "
            "backticks: `mean(gdp)`)",
            1,
        ),
        # a yearbook header with its unit in brackets reads as a call unless in backticks
        (
            "光缆长度(公里) / 1000",
            "unknown function '光缆长度' (the functions are abs, exp, if_else, is_not_null, "
            "is_null, log, log10, real, sqrt; a column whose name holds brackets is written in "
            "backticks: `光缆长度(公里)`)",
            1,
        ),
        (
            "2 * GDP (bn)",
            "unknown function 'GDP' (the functions are abs, exp, if_else, is_not_null, "
            "is_null, log, log10, real, sqrt; a column whose name holds brackets is written in "
            "backticks: `GDP (bn)`)",
            5,
        ),
        ("log(gdp, 2)", "log() takes 1 argument, got 2", 1),
        ("if_else(year > 1, 2)", "if_else() takes 3 arguments, got 2", 1),
        ("log(gdp", "expected ',' or ')'", 8),
        ("log(gdp year)", "expected ',' or ')', found 'year' at column 9", 9),
        ("year = 2019", "unexpected '=' at column 6 (did you mean '=='?)", 6),
        ("year ! 2019", "unexpected '!' at column 6 (did you mean '!='?)", 6),
        ("a & b", "unexpected '&' at column 3 (use 'and')", 3),
        ("a || b", "unexpected '|' at column 3 (use 'or')", 3),
        ("~a", "unexpected '~' at column 1 (use 'not')", 1),
        ("year $ 2", "unexpected character '$' at column 6", 6),
        ("province == 'Beijing", "unterminated string", 13),
        ('a == "x', "unterminated string", 6),
        (r"'a\q'", r"unknown escape '\q' in string (write '\\' for a backslash)", 3),
        ("`gdp growth + 1", "unterminated column name in backticks", 1),
        ("`` + 1", "empty column name in backticks", 1),
        ("1.2.3", "invalid number '1.2.3'", 1),
        ("a + 2x", "invalid number '2x'", 5),
        ("1e999", "number '1e999' is too large", 1),
        (
            "99999999999999999999",
            "integer '99999999999999999999' does not fit in 64 bits (write it as a float)",
            1,
        ),
        ("year in [2018, 2019", "expected ']'", 20),
        ("year in [2018 2019]", "expected ',' or ']', found '2019' at column 15", 15),
        ("year in 2019", "expected '[' after 'in', found '2019' at column 9", 9),
        ("year in", "expected '[' after 'in'", 8),
        ("year in []", "empty list after 'in'", 9),
        ("year in [2018, 'x']", "the list after 'in' mixes a number and a string (column 16)", 16),
        (
            "year in [gdp]",
            "the list after 'in' may hold only numbers, strings or true/false, "
            "found 'gdp' at column 10",
            10,
        ),
        ("year in [1,", "expected ']'", 12),
        ("[1, 2]", "a list is only allowed after 'in' (column 1)", 1),
        ("a not b", "expected 'in' after 'not', found 'b' at column 7", 7),
        ("a < b < c", "chained comparison at column 7 (join the comparisons with 'and')", 7),
        ("a == b != c", "chained comparison at column 8 (join the comparisons with 'and')", 8),
        ("'a' + 1", "'+' needs numbers, but its left side is a string", 5),
        ("1 * true", "'*' needs numbers, but its right side is a true/false value", 3),
        ("-'a'", "'-' needs a number, but its operand is a string", 1),
        ("not 3", "'not' needs a condition, but its operand is a number", 1),
        ("a and 'x'", "'and' needs conditions, but its right side is a string", 3),
        ("1 or a", "'or' needs conditions, but its left side is a number", 3),
        ("1 == 'a'", "cannot compare a number with a string using '=='", 3),
        (
            "'a' in [1]",
            "'in' looks for a string in a list of numbers (quote the codes as the column "
            "writes them, e.g. ['005'])",
            5,
        ),
        ("log('a')", "log() needs a number, but got a string", 1),
        ("if_else(1, a, b)", "if_else() needs a condition first, but got a number", 1),
        ("if_else(a, 1, 'x')", "if_else() branches differ: a number and a string", 1),
        ("Dgie + 1", "unknown column 'Dgie' (did you mean 'Dige'?)", 1),
        ("year + zzz", "unknown column 'zzz'", 8),
        ("`gdp pc` > 1", "unknown column 'gdp pc' (did you mean 'gdp_pc'?)", 1),
        (
            "(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5),
            "expression is nested too deeply",
            201,
        ),
    ],
)
def test_error_messages(text: str, message: str, col: int):
    error = spec_error(text, COLUMNS)
    assert str(error) == message
    assert error.code == "expression"
    assert error.col == col
    assert (error.file, error.line) == (None, None)


def test_long_flat_chain_is_refused_not_a_recursion_error():
    error = spec_error(" + ".join(["a"] * (MAX_DEPTH + 10)))
    assert str(error) == "expression is nested too deeply"


def test_unknown_column_is_not_checked_without_columns():
    assert referenced_columns("Dgie + 1") == {"Dgie"}
    compile_expression("Dgie + 1")


def test_schema_types_are_checked():
    error = spec_error("year == '2019'", FRAME.schema)
    assert str(error) == (
        "cannot compare a number with a string using '==' (write the number without quotes: "
        "year == 2019)"
    )
    assert error.col == 6
    error = spec_error("province + 1", FRAME.schema)
    assert str(error) == "'+' needs numbers, but its left side is a string"
    error = spec_error("year in ['2019']", FRAME.schema)
    assert str(error) == (
        "'in' looks for a number in a list of strings (write the numbers without quotes, e.g. "
        "[2010])"
    )


def test_error_is_placed_by_the_caller():
    located = spec_error("year = 1").located(file="spec.yaml", line=4, col=12)
    assert str(located) == "spec.yaml:4:12: unexpected '=' at column 6 (did you mean '=='?)"


# --------------------------------------------------------------------------- property: no crash

_FRAGMENTS = [
    "a", "b", "`c d`", "log", "if_else", "is_null", "lg", "1", "2.5", "1e3", ".5", "0",
    "'s'", '"t"', "'", '"', "`", "\\", "true", "false", "and", "or", "not", "in",
    "+", "-", "*", "/", "**", "==", "!=", "<", "<=", ">", ">=", "=", "!", "&", "|", "~",
    "(", ")", "[", "]", ",", " ", ".", "$", "#", "é", "\n",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join),
        st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map(" ".join),
    )
)
def test_any_text_compiles_or_raises_spec_error(text: str):
    try:
        expression = compile_expression(text, ["a", "b", "c d"])
    except SpecError as error:
        assert error.code == "expression"
        assert error.col is not None and 1 <= error.col <= len(text) + 1
    else:
        assert isinstance(expression, pl.Expr)


# --------------------------------------------------------------------------- property: round trip

PROPERTY_COLUMNS = {
    "x": np.array([0.0, -1.5, 2.0, 1e-3, 1e3, -7.25]),
    "y": np.array([3.0, 0.5, -2.0, 0.0, -1e-2, 11.0]),
}
PROPERTY_FRAME = pl.DataFrame(PROPERTY_COLUMNS)

_numbers = st.one_of(
    st.integers(min_value=0, max_value=20),
    # polars' kernels flush subnormal floats to zero (x / 5e-324 is NaN at x = 0, not 0 as in
    # numpy); no spec writes such a literal, so the reference comparison keeps to normal floats
    st.floats(
        min_value=0.0, max_value=1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False
    ),
)
_arithmetic_leaves = st.one_of(
    _numbers.map(NumberLiteral),
    st.sampled_from(sorted(PROPERTY_COLUMNS)).map(ColumnRef),
)


def _extend_arithmetic(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(BinaryOp, st.sampled_from(["+", "-", "*", "/", "**"]), children, children),
        st.builds(UnaryOp, st.just("-"), children),
        st.builds(
            lambda name, arg: FunctionCall(name, (arg,)),
            st.sampled_from(["abs", "sqrt", "log", "exp"]),
            children,
        ),
    )


arithmetic_trees = st.recursive(_arithmetic_leaves, _extend_arithmetic, max_leaves=8)

# Python's precedence levels for rendering with the fewest parentheses.
_LEVEL = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6}
_NEGATE_LEVEL, _POWER_LEVEL, _ATOM_LEVEL = 7, 8, 9


def render_minimal(node: Node) -> tuple[str, int]:
    """Text for ``node`` with parentheses only where Python's precedence requires them."""

    def wrap(child: Node, needs_parentheses: Callable[[int], bool]) -> str:
        text, level = render_minimal(child)
        return f"({text})" if needs_parentheses(level) else text

    match node:
        case NumberLiteral(value=value):
            return repr(value), _ATOM_LEVEL
        case ColumnRef(name=name):
            return name, _ATOM_LEVEL
        case FunctionCall(name=name, args=args):
            return f"{name}({', '.join(render_minimal(a)[0] for a in args)})", _ATOM_LEVEL
        case UnaryOp(op="-", operand=operand):
            return "-" + wrap(operand, lambda level: level < _NEGATE_LEVEL), _NEGATE_LEVEL
        case UnaryOp(op="not", operand=operand):
            return "not " + wrap(operand, lambda level: level < _LEVEL["not"]), _LEVEL["not"]
        case BinaryOp(op="**", left=left, right=right):
            base = wrap(left, lambda level: level <= _POWER_LEVEL)
            exponent = wrap(right, lambda level: level < _NEGATE_LEVEL)
            return f"{base} ** {exponent}", _POWER_LEVEL
        case BinaryOp(op=op, left=left, right=right):
            own = _LEVEL.get(op, _LEVEL["compare"])
            lhs = wrap(left, lambda level: level < own or level == _LEVEL["compare"] == own)
            rhs = wrap(right, lambda level: level <= own)
            return f"{lhs} {op} {rhs}", own
    raise AssertionError(node)


def render_parenthesized(node: Node) -> str:
    """Text for ``node`` with every compound subexpression in parentheses."""
    match node:
        case NumberLiteral(value=value):
            return repr(value)
        case ColumnRef(name=name):
            return name
        case FunctionCall(name=name, args=args):
            return f"{name}({', '.join(render_parenthesized(a) for a in args)})"
        case UnaryOp(op=op, operand=operand):
            return f"({op} {render_parenthesized(operand)})"
        case BinaryOp(op=op, left=left, right=right):
            return f"({render_parenthesized(left)} {op} {render_parenthesized(right)})"
    raise AssertionError(node)


def reference_evaluate(node: Node, zero_sum_rows: np.ndarray | None = None) -> np.ndarray:
    """numpy evaluation keeping polars' int64/float64 split (an int literal stays int64).

    ``zero_sum_rows``, when given, is set where a float addition or subtraction gives exactly
    zero: polars 2.1 computes ``literal - column`` without IEEE 754's sign of zero (``0 - x`` at
    x = 0 gives -0.0 on frames of three rows or more, and its optimizer rewrites ``0 - x`` as
    ``-x``), which flips the sign of a later ``1 / 0``. Those rows are not compared.
    """

    def recurse(child: Node) -> np.ndarray:
        return reference_evaluate(child, zero_sum_rows)

    match node:
        case NumberLiteral(value=value):
            dtype = np.int64 if isinstance(value, int) else np.float64
            return np.full(len(PROPERTY_FRAME), value, dtype=dtype)
        case ColumnRef(name=name):
            return PROPERTY_COLUMNS[name]
        case UnaryOp(op="-", operand=operand):
            return -recurse(operand)
        case FunctionCall(name=name, args=(arg,)):
            functions = {"abs": np.abs, "sqrt": np.sqrt, "log": np.log, "exp": np.exp}
            return functions[name](recurse(arg))
        case BinaryOp(op="+" | "-" as op, left=left, right=right):
            lhs, rhs = recurse(left), recurse(right)
            result = lhs + rhs if op == "+" else lhs - rhs
            if zero_sum_rows is not None and result.dtype == np.float64:
                zero_sum_rows |= result == 0.0
            return result
        case BinaryOp(op="*", left=left, right=right):
            return recurse(left) * recurse(right)
        case BinaryOp(op="/", left=left, right=right):
            return np.true_divide(recurse(left), recurse(right), dtype=np.float64)
        case BinaryOp(op="**", left=left, right=right):
            return np.power(recurse(left).astype(np.float64), recurse(right))
    raise AssertionError(node)


def evaluate_on_property_frame(expression: pl.Expr) -> np.ndarray:
    # with_columns broadcasts a literal-only expression to every row, as the reference does
    values = PROPERTY_FRAME.with_columns(expression.alias("v"))["v"]
    return values.cast(pl.Float64).to_numpy()


@settings(max_examples=200, deadline=None)
@given(arithmetic_trees)
def test_arithmetic_round_trip_matches_reference(tree: Node):
    minimal, _ = render_minimal(tree)
    assert parse_expression(minimal) == tree, minimal
    assert parse_expression(render_parenthesized(tree)) == tree

    zero_sum_rows = np.zeros(len(PROPERTY_FRAME), dtype=bool)
    with np.errstate(all="ignore"):
        expected = reference_evaluate(tree, zero_sum_rows).astype(np.float64)
    actual = evaluate_on_property_frame(compile_expression(minimal, PROPERTY_FRAME.columns))
    compared = ~zero_sum_rows
    np.testing.assert_allclose(
        actual[compared], expected[compared], rtol=1e-9, atol=1e-12, err_msg=minimal
    )


_comparison_operands = st.one_of(
    st.integers(min_value=0, max_value=3).map(NumberLiteral),
    st.sampled_from(sorted(PROPERTY_COLUMNS)).map(ColumnRef),
)
_comparisons = st.builds(
    BinaryOp,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    _comparison_operands,
    _comparison_operands,
)


def _extend_conditions(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(BinaryOp, st.sampled_from(["and", "or"]), children, children),
        st.builds(UnaryOp, st.just("not"), children),
    )


condition_trees = st.recursive(_comparisons, _extend_conditions, max_leaves=6)


def reference_condition(node: Node) -> np.ndarray:
    match node:
        case UnaryOp(op="not", operand=operand):
            return ~reference_condition(operand)
        case BinaryOp(op="and", left=left, right=right):
            return reference_condition(left) & reference_condition(right)
        case BinaryOp(op="or", left=left, right=right):
            return reference_condition(left) | reference_condition(right)
        case BinaryOp(op=op, left=left, right=right):
            comparisons = {
                "==": np.equal,
                "!=": np.not_equal,
                "<": np.less,
                "<=": np.less_equal,
                ">": np.greater,
                ">=": np.greater_equal,
            }
            return comparisons[op](reference_evaluate(left), reference_evaluate(right))
    raise AssertionError(node)


@settings(max_examples=200, deadline=None)
@given(condition_trees)
def test_condition_round_trip_matches_reference(tree: Node):
    minimal, _ = render_minimal(tree)
    assert parse_expression(minimal) == tree, minimal
    assert parse_expression(render_parenthesized(tree)) == tree
    frame = PROPERTY_FRAME.with_columns(compile_expression(minimal).alias("v"))
    assert frame["v"].to_list() == reference_condition(tree).tolist(), minimal


def test_real_makes_numbers_of_text_as_statas_real():
    """Stata's real(): a text cell that is a number becomes it (codes written '01', padded
    ' 2.5 '), any other is missing; a number stays itself; a condition is refused."""
    frame = pl.DataFrame({"code": ["01", " 2.5 ", "x", None], "n": [1, 2, 3, 4]})
    out = frame.select(
        text=compile_expression("real(code)"), number=compile_expression("real(n) * 2")
    )
    assert out.to_dict(as_series=False) == {
        "text": [1.0, 2.5, None, None],
        "number": [2.0, 4.0, 6.0, 8.0],
    }
    with pytest.raises(SpecError, match=r"real\(\) needs text or a number, but got a condition"):
        parse_expression("real(n > 1)")


def test_real_is_missing_where_statas_real_is_and_refuses_dates():
    """Stata 18's real() (help real): real("inf"), real("nan") and real("1e400") are missing
    (Stata reads no infinity and its doubles end near 8.99e307), real("1e3") is 1000 and
    real(" 1,000 ") missing; polars' own cast gave inf and NaN, which reached the fits. A
    true/false column is 1/0 (as dummies are summed), not missing in every row, and a date
    column is refused where the schema is known (Stata's real() of a number: type mismatch)."""
    frame = pl.DataFrame(
        {
            "s": ["inf", "-Infinity", "nan", "1e400", "1e3", " 1,000 ", "--", "", "01", "五"],
            "b": [True, False, None, True, True, True, True, True, True, True],
        }
    )
    out = frame.select(s=compile_expression("real(s)"), b=compile_expression("real(b)"))
    assert out["s"].to_list() == [None, None, None, None, 1000.0, None, None, None, 1.0, None]
    assert out["b"].to_list()[:3] == [1.0, 0.0, None]
    dated = pl.DataFrame({"d": [datetime.date(2020, 1, 1)]})
    with pytest.raises(SpecError, match="'d' holds dates"):
        compile_expression("real(d) + 1", dated.schema)


@pytest.mark.parametrize(
    ("text", "step"),
    [
        ("L.vala", "{lag: {vars: [vala], periods: 1}}, makes the column vala_lag1"),
        ("L2.vala ** 2", "{lag: {vars: [vala], periods: 2}}, makes the column vala_lag2"),
        ("if_else(D.cfa > 0, 1, 0)", "{diff: {vars: [cfa], periods: 1}}, makes the column "),
        ("F.x / 2", "{lead: {vars: [x], periods: 1}}, makes the column x_lead1"),
        ("LD.vala", "lag, lead and diff transform steps before this one make columns"),
        ("D2.vala", "lag, lead and diff transform steps before this one make columns"),
        ("S2.vala", "{diff: {vars: [vala], periods: 2}}, makes the column vala_diff2"),
    ],
)
def test_a_time_series_operator_says_which_step_makes_its_column(text: str, step: str):
    # Stata's gen q1 = L.vala, written as derive: {q1: L.vala}, was only "unexpected
    # character '.' at column 2", which says neither why nor what to write instead
    error = spec_error(text)
    assert error.message.startswith("unexpected character '.'")
    assert error.hint is not None
    assert "are not part of expressions" in error.hint
    assert step in error.hint


@pytest.mark.parametrize("text", ["LA.vala", "x .y", "L .x"])
def test_other_dots_get_no_time_series_hint(text: str):
    error = spec_error(text)
    assert error.hint is None or "time-series" not in error.hint
