"""The spec's small safe expression language (`where:`, `derive:`), compiled to polars.

Text is tokenized, parsed by precedence climbing (Pratt) into frozen AST nodes, checked for
cheap type mistakes (``'a' + 1``, ``year in [1, 'x']``), and compiled to a ``pl.Expr``. Nothing
is ever handed to Python's ``eval``. Operator precedence follows Python: ``or`` < ``and`` <
``not`` < comparisons and ``in`` < ``+ -`` < ``* /`` < unary ``-`` < ``**`` (right-associative).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from specrun.errors import SpecError, did_you_mean

if TYPE_CHECKING:  # compiling imports polars: parsing and checking (validate) never load it
    import polars as pl

__all__ = [
    "ARITHMETIC_OPERATORS",
    "COMPARISON_OPERATORS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "BinaryOp",
    "BooleanLiteral",
    "ColumnRef",
    "FunctionCall",
    "Membership",
    "Node",
    "NumberLiteral",
    "StringLiteral",
    "UnaryOp",
    "ValueKind",
    "check_columns",
    "compile_expression",
    "compile_node",
    "parse_expression",
    "referenced_columns",
    "result_kind",
]

# Deeper trees would exhaust Python's recursion limit in the checker and the compiler; no
# hand-written spec expression comes close.
MAX_DEPTH = 200

ARITHMETIC_OPERATORS = ("+", "-", "*", "/", "**")
COMPARISON_OPERATORS = ("==", "!=", "<", "<=", ">", ">=")
_BOOLEAN_OPERATORS = ("and", "or")
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "True", "False"})
_INT64_MAX = 2**63 - 1


class ValueKind(StrEnum):
    """What an expression evaluates to, as far as it can be told without the data."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    UNKNOWN = "unknown"


_KIND_NOUN = {
    ValueKind.NUMBER: "a number",
    ValueKind.STRING: "a string",
    ValueKind.BOOLEAN: "a true/false value",
}


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class NumberLiteral:
    """A number as written (``3``, ``0.5``, ``1e-3``); ``col`` is its position."""

    value: int | float
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class StringLiteral:
    """A quoted text (``'Beijing'``); ``col`` is its position."""

    value: str
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class BooleanLiteral:
    """``true`` or ``false``; ``col`` is its position."""

    value: bool
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class ColumnRef:
    """A column of the panel, by name; ``col`` is its position."""

    name: str
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class UnaryOp:
    """``-x`` (op ``"-"``) or ``not x`` (op ``"not"``)."""

    op: str
    operand: Node
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class BinaryOp:
    """Arithmetic, comparison, ``and`` or ``or``; ``col`` is the operator's position."""

    op: str
    left: Node
    right: Node
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Membership:
    """``operand in [values]`` or, when ``negated``, ``operand not in [values]``."""

    operand: Node
    values: tuple[NumberLiteral | StringLiteral | BooleanLiteral, ...]
    negated: bool = False
    col: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class FunctionCall:
    """``name(args…)``, one of ``FUNCTIONS``; ``col`` is the name's position."""

    name: str
    args: tuple[Node, ...]
    col: int = field(default=0, compare=False, repr=False)


Node = (
    NumberLiteral
    | StringLiteral
    | BooleanLiteral
    | ColumnRef
    | UnaryOp
    | BinaryOp
    | Membership
    | FunctionCall
)
LiteralNode = NumberLiteral | StringLiteral | BooleanLiteral


@dataclass(frozen=True)
class _Function:
    """A function expressions may call: its number of arguments and its polars builder."""

    arity: int
    compile: Callable[..., pl.Expr]


def _if_else(condition: pl.Expr, when_true: pl.Expr, when_false: pl.Expr) -> pl.Expr:
    import polars as pl

    return pl.when(condition).then(when_true).otherwise(when_false)


def _real_expression(values: pl.Expr) -> pl.Expr:
    import polars as pl

    return values.map_batches(_real, return_dtype=pl.Float64)


FUNCTIONS: dict[str, _Function] = {
    "log": _Function(1, lambda x: x.log()),
    "log10": _Function(1, lambda x: x.log10()),
    "exp": _Function(1, lambda x: x.exp()),
    "sqrt": _Function(1, lambda x: x.sqrt()),
    "abs": _Function(1, lambda x: x.abs()),
    "is_null": _Function(1, lambda x: x.is_null()),
    "is_not_null": _Function(1, lambda x: x.is_not_null()),
    "if_else": _Function(3, _if_else),
    # Stata's real(): text to a number, missing where it is none (codes written '01' read as
    # text, so that stock codes 000001 stay codes); a number stays itself
    "real": _Function(1, _real_expression),
}


def _real(values: pl.Series) -> pl.Series:
    """Stata's ``real()`` of a column: text that is a finite number becomes it (blanks around
    it allowed, as in Stata), any other text is missing; numbers stay themselves, a true/false
    column is 1/0 (as ``east + coastal`` sums dummies). Text that polars parses but Stata does
    not, ``inf``, ``nan``, ``Infinity`` or ``1e400``, is missing: Stata's ``real("inf")`` and
    ``real("1e400")`` are ``.``, and an infinite regressor would otherwise reach the fits.
    Raises ``TypeError`` for dates, which ``compile_expression`` reports with the schema."""
    import polars as pl

    dtype = values.dtype
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        parsed = values.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        return parsed.set(~parsed.is_finite().fill_null(False), None)
    if dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.Null:
        return values.cast(pl.Float64)
    raise TypeError(f"real() needs text or a number, but got {dtype}")


_NUMERIC_FUNCTIONS = frozenset({"log", "log10", "exp", "sqrt", "abs"})


def _error(message: str, col: int, hint: str | None = None) -> SpecError:
    return SpecError(message, code="expression", col=col, hint=hint)


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    """One token of an expression, with its 1-based position."""

    kind: str  # "number", "string", "name", "keyword", "op", "end"
    text: str  # as written in the source, for messages
    value: object
    col: int
    quoted: bool = False  # a `backtick` name: never a keyword or a function


_OPERATORS = ("**", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",")
_MISTAKEN_OPERATORS = {
    "=": "did you mean '=='?",
    "!": "did you mean '!='?",
    "&": "use 'and'",
    "|": "use 'or'",
    "~": "use 'not'",
    "^": "write x ** 2 for a power (Stata's x^2)",
}
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


# Stata's time-series operators before a variable (L.x, L2.x, F.x, D.x, LD.x, S.x): what each
# becomes as a transform step, whose output the expression then names
_TS_OPERATOR = re.compile(r"([LFDS])([0-9]*)(?:([LFDS])[0-9]*)?$")
_TS_STEPS = {"L": "lag", "F": "lead", "D": "diff", "S": "diff"}


def _time_series_hint(tokens: list[_Token], text: str, position: int) -> str | None:
    """A hint for ``L.vala`` in an expression (Stata's ``gen q = L.vala``): the operator is
    read as a name and the dot is unexpected. Model variable lists take such terms; an
    expression names the output of a ``lag``/``lead``/``diff`` step written before it."""
    if not tokens or tokens[-1].kind != "name" or tokens[-1].quoted:
        return None
    if tokens[-1].col + len(tokens[-1].text) != position + 1:
        return None  # 'x .y': not an operator written against its variable
    match = _TS_OPERATOR.match(str(tokens[-1].value))
    rest = text[position + 1 :]
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", rest)
    if match is None or name is None:
        return None
    var, written = name.group(), f"{tokens[-1].value}.{name.group()}"
    # LD.x is two steps (a diff, then a lag of its output), and so is D2.x, the difference of
    # the difference, where a diff step of periods: 2 is x − L2.x (Stata's S2.x)
    if match.group(3) or (match.group(1) == "D" and match.group(2) not in ("", "1")):
        return (
            f"time-series operators such as {written} are not part of expressions: lag, lead "
            "and diff transform steps before this one make columns to use here; in a model's "
            f"variable list (x:, controls:, …) write {written} as it is"
        )
    kind, periods = _TS_STEPS[match.group(1)], int(match.group(2) or 1)
    return (
        f"time-series operators such as {written} are not part of expressions: "
        f"a transform step before this one, {{{kind}: {{vars: [{var}], periods: {periods}}}}}, "
        f"makes the column {var}_{kind}{periods} to use here; in a model's variable list "
        f"(x:, controls:, …) write {written} as it is"
    )


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        col = position + 1
        if char.isspace():
            position += 1
            continue
        number = _NUMBER.match(text, position)
        if number:
            end = number.end()
            while end < len(text) and (_is_name_char(text[end]) or text[end] == "."):
                end += 1
            tokens.append(_number_token(text[position:end], number.group(), col))
            position = end
            continue
        if char in "'\"":
            token, position = _string_token(text, position)
            tokens.append(token)
            continue
        if char == "`":
            close = text.find("`", position + 1)
            if close < 0:
                raise _error("unterminated column name in backticks", col)
            name = text[position + 1 : close]
            if not name:
                raise _error("empty column name in backticks", col)
            tokens.append(_Token("name", text[position : close + 1], name, col, quoted=True))
            position = close + 1
            continue
        if char.isalpha() or char == "_":
            end = position
            while end < len(text) and _is_name_char(text[end]):
                end += 1
            word = text[position:end]
            kind = "keyword" if word in _KEYWORDS else "name"
            tokens.append(_Token(kind, word, word, col))
            position = end
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
        if operator is not None:
            tokens.append(_Token("op", operator, operator, col))
            position += len(operator)
            continue
        operator_hint = _time_series_hint(tokens, text, position) if char == "." else None
        if operator_hint is not None:
            raise _error(f"unexpected character '.' at column {col}", col, operator_hint)
        if text.startswith("is.na(", position - 2) and char == ".":  # R's is.na(x)
            raise _error(f"unexpected character '.' at column {col}", col, "write is_null(x)")
        if text.startswith("%in%", position):  # R's x %in% c(…)
            raise _error(
                f"unexpected '%in%' at column {col}", col, "write x in ['a', 'b'] (a list)"
            )
        after_value = bool(tokens) and (
            tokens[-1].kind in ("name", "number", "string") or tokens[-1].text in (")", "]")
        )
        if char == "!" and not after_value:
            # R's and C's negation, !is.na(x), where no value precedes it: not a mistaken !=
            raise _error(f"unexpected '!' at column {col}", col, "use 'not'")
        if char in _MISTAKEN_OPERATORS:
            raise _error(f"unexpected '{char}' at column {col}", col, _MISTAKEN_OPERATORS[char])
        folded = unicodedata.normalize("NFKC", char)
        raise _error(
            f"unexpected character {char!r} at column {col}",
            col,
            # a name copied from a yearbook header as it looks: specrun reads it folded
            f"headers are read with full-width characters folded ('{char}' as '{folded}'); a "
            "column whose name holds brackets is written in backticks"
            if folded != char
            else None,
        )
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


def _number_token(written: str, matched: str, col: int) -> _Token:
    if written != matched:
        raise _error(f"invalid number '{written}'", col)
    if re.fullmatch(r"[0-9]+", written):
        value: int | float = int(written)
        if value > _INT64_MAX:
            raise _error(f"integer '{written}' does not fit in 64 bits", col, "write it as a float")
    else:
        value = float(written)
        if math.isinf(value):
            raise _error(f"number '{written}' is too large", col)
    return _Token("number", written, value, col)


def _string_token(text: str, start: int) -> tuple[_Token, int]:
    quote = text[start]
    position = start + 1
    characters: list[str] = []
    while position < len(text):
        char = text[position]
        if char == quote:
            return _Token("string", text[start : position + 1], "".join(characters), start + 1), (
                position + 1
            )
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped not in _ESCAPES:
                raise _error(
                    f"unknown escape '\\{escaped}' in string",
                    position + 1,
                    "write '\\\\' for a backslash",
                )
            characters.append(_ESCAPES[escaped])
            position += 2
            continue
        characters.append(char)
        position += 1
    raise _error("unterminated string", start + 1)


# --------------------------------------------------------------------------- parser

# (left binding power, right binding power): right < left makes ``**`` right-associative.
_INFIX_POWER = {
    "or": (1, 2),
    "and": (3, 4),
    **{op: (7, 8) for op in (*COMPARISON_OPERATORS, "in", "not in")},
    "+": (9, 10),
    "-": (9, 10),
    "*": (11, 12),
    "/": (11, 12),
    "**": (16, 15),
}
_NOT_POWER = 5
_NEGATE_POWER = 13
_COMPARISON_POWER = 7


def _describe(token: _Token) -> str:
    return "end of expression" if token.kind == "end" else f"'{token.text}'"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.position = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.position + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.position += 1
        return token

    def is_op(self, text: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "op" and token.text == text

    def expect(self, text: str) -> _Token:
        if self.is_op(text):
            return self.advance()
        raise self.expected(f"'{text}'")

    def expected(self, what: str) -> SpecError:
        token = self.peek()
        if token.kind == "end":
            return _error(f"expected {what}", token.col)
        return _error(f"expected {what}, found {_describe(token)} at column {token.col}", token.col)

    def unexpected(self, token: _Token) -> SpecError:
        if token.kind == "end":
            return _error("unexpected end of expression", token.col)
        return _error(f"unexpected {_describe(token)} at column {token.col}", token.col)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise _error("empty expression", 1)
        node = self.expression(0)
        if self.peek().kind != "end":
            raise self.unexpected(self.peek())
        return node

    def column_hint(self, name: _Token) -> str:
        """For ``name(`` that is no function: the functions there are, and how a column whose
        name holds brackets is written — statistical yearbooks put units in their headers
        (``光缆长度(公里)``, ``GDP (bn)``), which read as a call without backticks."""
        start = name.col - 1
        depth, end = 0, None
        for i in range(self.text.index("(", start), len(self.text)):
            depth += {"(": 1, ")": -1}.get(self.text[i], 0)
            if depth == 0:
                end = i + 1
                break
        written = self.text[start:end] if end else f"{name.text}(…)"
        return (
            f"the functions are {', '.join(sorted(FUNCTIONS))}; a column whose name holds "
            f"brackets is written in backticks: `{written}`"
        )

    def expression(self, min_power: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error("expression is nested too deeply", self.peek().col)
        left = self.prefix()
        compared = False
        while True:
            token = self.peek()
            operator = self.infix_operator(token)
            if operator is None:
                break
            left_power, right_power = _INFIX_POWER[operator]
            if left_power < min_power:
                break
            if left_power == _COMPARISON_POWER:
                if compared:
                    raise _error(
                        f"chained comparison at column {token.col}",
                        token.col,
                        "join the comparisons with 'and'",
                    )
                compared = True
            self.advance()
            if operator == "not in":
                self.advance()
            if operator in ("in", "not in"):
                left = Membership(left, self.literal_list(), operator == "not in", token.col)
            else:
                left = BinaryOp(operator, left, self.expression(right_power), token.col)
        self.depth -= 1
        return left

    def infix_operator(self, token: _Token) -> str | None:
        if token.kind == "op" and token.text in _INFIX_POWER:
            return token.text
        if token.kind != "keyword":
            return None
        if token.text in ("and", "or", "in"):
            return token.text
        if token.text == "not":
            following = self.peek(1)
            if following.kind == "keyword" and following.text == "in":
                return "not in"
            self.advance()
            raise self.expected("'in' after 'not'")
        return None

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return NumberLiteral(token.value, token.col)  # type: ignore[arg-type]
        if token.kind == "string":
            return StringLiteral(str(token.value), token.col)
        if token.kind == "keyword" and token.text.lower() in ("true", "false"):
            return BooleanLiteral(token.text.lower() == "true", token.col)
        if token.kind == "name":
            if not token.quoted and self.is_op("("):
                return self.call(token)
            return ColumnRef(str(token.value), token.col)
        if token.kind == "keyword" and token.text == "not":
            return UnaryOp("not", self.expression(_NOT_POWER), token.col)
        if token.kind == "op" and token.text == "-":
            return UnaryOp("-", self.expression(_NEGATE_POWER), token.col)
        if token.kind == "op" and token.text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if token.kind == "op" and token.text == "[":
            raise _error(f"a list is only allowed after 'in' (column {token.col})", token.col)
        raise self.unexpected(token)

    def call(self, name: _Token) -> FunctionCall:
        function = FUNCTIONS.get(name.text)
        if function is None:
            hint = did_you_mean(name.text, FUNCTIONS) or self.column_hint(name)
            raise _error(f"unknown function '{name.text}'", name.col, hint)
        self.expect("(")
        args: list[Node] = []
        if not self.is_op(")"):
            args.append(self.expression(0))
            while self.is_op(","):
                self.advance()
                args.append(self.expression(0))
        if not self.is_op(")"):
            raise self.expected("',' or ')'")
        self.advance()
        if len(args) != function.arity:
            plural = "argument" if function.arity == 1 else "arguments"
            raise _error(
                f"{name.text}() takes {function.arity} {plural}, got {len(args)}", name.col
            )
        return FunctionCall(name.text, tuple(args), name.col)

    def literal_list(self) -> tuple[LiteralNode, ...]:
        if not self.is_op("["):
            error = self.expected("'[' after 'in'")
            if self.peek().text == "c":  # R's x %in% c("a", "b")
                error = _error(error.message, error.col or 1, "a list is written ['a', 'b']")
            raise error
        opening = self.advance()
        values: list[LiteralNode] = []
        while not self.is_op("]"):
            values.append(self.list_item())
            if self.is_op(","):
                self.advance()
            elif self.peek().kind == "end":
                raise self.expected("']'")
            elif not self.is_op("]"):
                raise self.expected("',' or ']'")
        self.advance()
        if not values:
            raise _error("empty list after 'in'", opening.col)
        first_kind = _literal_kind(values[0])
        for value in values[1:]:
            if _literal_kind(value) != first_kind:
                raise _error(
                    f"the list after 'in' mixes {_KIND_NOUN[first_kind]} and "
                    f"{_KIND_NOUN[_literal_kind(value)]} (column {value.col})",
                    value.col,
                )
        return tuple(values)

    def list_item(self) -> LiteralNode:
        token = self.advance()
        if token.kind == "op" and token.text == "-" and self.peek().kind == "number":
            number = self.advance()
            return NumberLiteral(-number.value, token.col)  # type: ignore[operator]
        if token.kind == "number":
            return NumberLiteral(token.value, token.col)  # type: ignore[arg-type]
        if token.kind == "string":
            return StringLiteral(str(token.value), token.col)
        if token.kind == "keyword" and token.text.lower() in ("true", "false"):
            return BooleanLiteral(token.text.lower() == "true", token.col)
        if token.kind == "end":
            raise _error("expected ']'", token.col)
        raise _error(
            f"the list after 'in' may hold only numbers, strings or true/false, "
            f"found {_describe(token)} at column {token.col}",
            token.col,
        )


# --------------------------------------------------------------------------- checks


def _literal_kind(node: LiteralNode) -> ValueKind:
    if isinstance(node, NumberLiteral):
        return ValueKind.NUMBER
    if isinstance(node, StringLiteral):
        return ValueKind.STRING
    return ValueKind.BOOLEAN


def _require(kind: ValueKind, allowed: ValueKind, message: str, col: int) -> None:
    """Reject a value whose kind is known and is not ``allowed``; columns pass unchecked."""
    if kind not in (allowed, ValueKind.UNKNOWN):
        raise _error(message.format(noun=_KIND_NOUN[kind]), col)


def _check(
    node: Node, column_kinds: Mapping[str, ValueKind] | None = None, depth: int = 0
) -> ValueKind:
    """The kind ``node`` evaluates to; raises on a kind mistake visible before evaluation.

    ``column_kinds`` gives the kinds of columns whose types are known; others are ``UNKNOWN``.
    """
    if depth > MAX_DEPTH:
        raise _error("expression is nested too deeply", node.col)
    match node:
        case NumberLiteral() | StringLiteral() | BooleanLiteral():
            return _literal_kind(node)
        case ColumnRef(name=name):
            return (column_kinds or {}).get(name, ValueKind.UNKNOWN)
        case UnaryOp(op="-", operand=operand):
            message = "'-' needs a number, but its operand is {noun}"
            _require(_check(operand, column_kinds, depth + 1), ValueKind.NUMBER, message, node.col)
            return ValueKind.NUMBER
        case UnaryOp(operand=operand):
            message = "'not' needs a condition, but its operand is {noun}"
            _require(_check(operand, column_kinds, depth + 1), ValueKind.BOOLEAN, message, node.col)
            return ValueKind.BOOLEAN
        case BinaryOp(op=op, left=left, right=right):
            return _check_binary(
                node,
                op,
                _check(left, column_kinds, depth + 1),
                _check(right, column_kinds, depth + 1),
            )
        case Membership(operand=operand, values=values, negated=negated):
            operand_kind = _check(operand, column_kinds, depth + 1)
            list_kind = _literal_kind(values[0])
            if operand_kind not in (list_kind, ValueKind.UNKNOWN):
                keyword = "not in" if negated else "in"
                hint = None
                if operand_kind == ValueKind.STRING and list_kind == ValueKind.NUMBER:
                    # a code list written as numbers: 005 unquoted is the number 5
                    hint = "quote the codes as the column writes them, e.g. ['005']"
                elif operand_kind == ValueKind.NUMBER and list_kind == ValueKind.STRING:
                    hint = "write the numbers without quotes, e.g. [2010]"
                raise _error(
                    f"'{keyword}' looks for {_KIND_NOUN[operand_kind]} in a list of "
                    f"{list_kind.value}s",
                    node.col,
                    hint,
                )
            return ValueKind.BOOLEAN
        case FunctionCall(name=name, args=args):
            kinds = [_check(arg, column_kinds, depth + 1) for arg in args]
            return _check_call(node, name, kinds)
    raise TypeError(f"not an expression node: {node!r}")


def _check_binary(node: BinaryOp, op: str, left: ValueKind, right: ValueKind) -> ValueKind:
    if op in ARITHMETIC_OPERATORS or op in _BOOLEAN_OPERATORS:
        if op in ARITHMETIC_OPERATORS:
            needed, wanted = ValueKind.NUMBER, "numbers"
        else:
            needed, wanted = ValueKind.BOOLEAN, "conditions"
        for side, kind in (("left", left), ("right", right)):
            message = f"'{op}' needs {wanted}, but its {side} side is {{noun}}"
            _require(kind, needed, message, node.col)
        return needed
    if ValueKind.UNKNOWN not in (left, right) and left != right:
        sides = {left: node.left, right: node.right}
        hint = None
        text, number = sides.get(ValueKind.STRING), sides.get(ValueKind.NUMBER)
        if isinstance(text, ColumnRef) and isinstance(number, NumberLiteral):
            # a code held as text compared with a number: id == 5 for the code '005'
            hint = (
                f"quote a code as the column writes it, e.g. {text.name} == '005' (or "
                f"real({text.name}) == 5)"
            )
        elif isinstance(number, ColumnRef) and isinstance(text, StringLiteral):
            written = text.value if re.fullmatch(r"-?[0-9.]+", text.value.strip()) else "2010"
            hint = f"write the number without quotes: {number.name} {op} {written.strip()}"
        raise _error(
            f"cannot compare {_KIND_NOUN[left]} with {_KIND_NOUN[right]} using '{op}'",
            node.col,
            hint,
        )
    return ValueKind.BOOLEAN


def _check_call(node: FunctionCall, name: str, kinds: list[ValueKind]) -> ValueKind:
    if name in _NUMERIC_FUNCTIONS:
        message = f"{name}() needs a number, but got {{noun}}"
        _require(kinds[0], ValueKind.NUMBER, message, node.col)
        return ValueKind.NUMBER
    if name in ("is_null", "is_not_null"):
        return ValueKind.BOOLEAN
    if name == "real":
        if kinds[0] == ValueKind.BOOLEAN:
            raise _error("real() needs text or a number, but got a condition", node.col)
        return ValueKind.NUMBER
    condition, when_true, when_false = kinds
    message = "if_else() needs a condition first, but got {noun}"
    _require(condition, ValueKind.BOOLEAN, message, node.col)
    if ValueKind.UNKNOWN in (when_true, when_false):
        return when_true if when_false == ValueKind.UNKNOWN else when_false
    if when_true != when_false:
        raise _error(
            f"if_else() branches differ: {_KIND_NOUN[when_true]} and {_KIND_NOUN[when_false]}",
            node.col,
        )
    return when_true


# --------------------------------------------------------------------------- public API


def parse_expression(text: str) -> Node:
    """Parse and kind-check an expression; raises ``SpecError(code="expression", col=...)``.

    ``col`` is the 1-based offset within ``text``; the caller adds the YAML file and line.
    """
    node = _Parser(text).parse()
    _check(node)
    return node


def _as_node(text_or_node: str | Node) -> Node:
    return parse_expression(text_or_node) if isinstance(text_or_node, str) else text_or_node


def _walk(node: Node) -> Iterator[Node]:
    # An explicit stack, so a hand-built tree deeper than the recursion limit is still walked.
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        match current:
            case UnaryOp(operand=operand) | Membership(operand=operand):
                stack.append(operand)
            case BinaryOp(left=left, right=right):
                stack.extend((right, left))
            case FunctionCall(args=args):
                stack.extend(reversed(args))


def referenced_columns(text_or_node: str | Node) -> set[str]:
    """Every column name an expression reads, for validation before any data is loaded."""
    return {n.name for n in _walk(_as_node(text_or_node)) if isinstance(n, ColumnRef)}


def result_kind(text_or_node: str | Node) -> ValueKind:
    """What the expression yields (``unknown`` when that depends on a column's type)."""
    return _check(_as_node(text_or_node))


def check_columns(text_or_node: str | Node, columns: Collection[str]) -> None:
    """Raise for the first column the expression reads that is not in ``columns``."""
    known = set(columns)
    for node in _walk(_as_node(text_or_node)):
        if isinstance(node, ColumnRef) and node.name not in known:
            raise _error(f"unknown column '{node.name}'", node.col, did_you_mean(node.name, known))


def compile_expression(
    text: str, columns: Collection[str] | Mapping[str, pl.DataType] | None = None
) -> pl.Expr:
    """Parse ``text`` and compile it to a polars expression.

    When ``columns`` is given, every column the expression reads must be one of them. When it is
    a schema (name → polars dtype, e.g. ``frame.schema``), the column types are checked too, so
    ``year == '2019'`` on an integer ``year`` is reported here rather than by polars later.
    """
    node = parse_expression(text)
    if columns is not None:
        check_columns(node, columns)
        if isinstance(columns, Mapping):
            _check(node, {name: _dtype_kind(dtype) for name, dtype in columns.items()})
            _check_real(node, columns)
    return compile_node(node)


def _check_real(node: Node, schema: Mapping[str, pl.DataType]) -> None:
    # dates are kinds of their own here (UNKNOWN), but real() of one would be missing in every
    # row: Stata refuses real() of a number too (type mismatch), so a date column is refused
    for call in _walk(node):
        if not (isinstance(call, FunctionCall) and call.name == "real"):
            continue
        arg = call.args[0]
        if isinstance(arg, ColumnRef) and schema[arg.name].is_temporal():
            raise _error(
                f"real() needs text or a number, but '{arg.name}' holds dates",
                call.col,
                "real() makes numbers of text; read a date column as it is",
            )


def _dtype_kind(dtype: pl.DataType) -> ValueKind:
    import polars as pl

    # A Boolean column stays UNKNOWN: summing dummies (``east + coastal``) is meaningful and
    # polars computes it, so only literal true/false are held to the boolean kind.
    if dtype.is_numeric():
        return ValueKind.NUMBER
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return ValueKind.STRING
    return ValueKind.UNKNOWN


def compile_node(node: Node) -> pl.Expr:
    """A polars expression computing ``node`` (which must have passed ``parse_expression``)."""
    import polars as pl

    match node:
        case NumberLiteral(value=value):
            # Explicit 64-bit types: polars would otherwise pick a narrow integer for literals
            # and overflow where Python arithmetic would not.
            dtype = pl.Int64 if isinstance(value, int) else pl.Float64
            return pl.lit(value, dtype=dtype)
        case StringLiteral(value=value):
            return pl.lit(value, dtype=pl.String)
        case BooleanLiteral(value=value):
            return pl.lit(value, dtype=pl.Boolean)
        case ColumnRef(name=name):
            return pl.col(name)
        case UnaryOp(op="-", operand=operand):
            return -compile_node(operand)
        case UnaryOp(operand=operand):
            return _as_condition(operand).not_()
        case BinaryOp(op=op, left=left, right=right):
            return _compile_binary(op, left, right)
        case Membership(operand=operand, values=values, negated=negated):
            # A chain of equalities rather than ``is_in``: polars' ``is_in`` refuses an Int64
            # list against a Float64 column, while ``==`` finds the common type.
            target = compile_node(operand)
            found = pl.any_horizontal([target == compile_node(value) for value in values])
            return found.not_() if negated else found
        case FunctionCall(name=name, args=args):
            if name == "if_else":
                condition, when_true, when_false = args
                return _if_else(
                    _as_condition(condition), compile_node(when_true), compile_node(when_false)
                )
            return FUNCTIONS[name].compile(*(compile_node(arg) for arg in args))
    raise TypeError(f"not an expression node: {node!r}")


def _as_condition(node: Node) -> pl.Expr:
    # A 0/1 column used as a condition: polars' ``~``/``&``/``|`` on integers are bitwise, so
    # ``not municipality`` would give -1/-2; casting first gives Python's truthiness.
    import polars as pl

    expression = compile_node(node)
    if _check(node) == ValueKind.BOOLEAN:
        return expression
    return expression.cast(pl.Boolean)


def _compile_binary(op: str, left: Node, right: Node) -> pl.Expr:
    if op == "and":
        return _as_condition(left) & _as_condition(right)
    if op == "or":
        return _as_condition(left) | _as_condition(right)
    import polars as pl

    lhs, rhs = compile_node(left), compile_node(right)
    match op:
        case "+":
            return lhs + rhs
        case "-":
            return lhs - rhs
        case "*":
            return lhs * rhs
        case "/":
            return lhs / rhs
        case "**":
            # polars refuses an integer base with a negative integer exponent; Python gives a
            # float there, so the base is made a float.
            return lhs.cast(pl.Float64).pow(rhs)
        case "==":
            return lhs == rhs
        case "!=":
            return lhs != rhs
        case "<":
            return lhs < rhs
        case "<=":
            return lhs <= rhs
        case ">":
            return lhs > rhs
        case ">=":
            return lhs >= rhs
    raise TypeError(f"not an operator: {op!r}")
