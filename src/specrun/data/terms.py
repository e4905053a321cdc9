"""Model terms as Stata writes them: time-series operators, factor variables and interactions.

One grammar (Lark, LALR, with positions) defines every item of an estimator's variable lists; its
stand-alone parser is generated into ``term_parser`` (``standalone_parser_source``). Items the
grammar accepts are read by ``_read``, a reader of the same tokens that gives the same parse; the
parser itself is loaded only to locate a syntax error::

    Dige  L.Dige  L2.Dige  L(0/2).Dige  F.Dige  D.Dige  LD.Dige   time-series operators
    i.region  ib3.region  ib(last).region  ibn.region           factor variables
    c.Dige#c.STR  i.treat#c.post  i.region##c.Dige  c.L.Dige#c.STR   interactions

An item parses into one or more :class:`Term` (``L(0/2).x`` gives three, ``a##b`` gives ``a``,
``b`` and ``a#b``), each a product of :class:`Component` s. Names follow Stata's output
(``L.Dige``, ``cL.Dige#c.STR``, ``2.region``, ``East.region``, ``1.treat#c.post``), so a reader
can match a table to a Stata log. Semantics follow Stata's ``[U] 11.4.3 Factor variables`` and
``[U] 11.4.4 Time-series varlists`` (tsset: ``L.x`` at t is x at t − 1 of the same entity),
with one deliberate difference: an interaction component written without ``c.`` or ``i.`` is an
error here, where Stata would silently treat it as a factor (a continuous regressor read as a
factor would add one dummy per distinct value).

Errors are :class:`specrun.errors.SpecError` with ``code="term"`` and the 1-based character
position of the fault in the item (``col``), so validation can point at it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specrun.errors import SpecError

if TYPE_CHECKING:
    from specrun.data.term_parser import Tree, UnexpectedInput

__all__ = [
    "GRAMMAR",
    "Component",
    "Term",
    "parse_item",
    "term_names",
    "terms_of",
    "ts_prefix",
]

# Lark grammar of one list item. A prefix is any word before a dot (``c``, ``ib(last)``,
# ``L2D``, ``cL``); its meaning is checked after parsing so that an unknown operator is a
# located error naming it rather than a bare syntax error.
GRAMMAR = r"""
    start: component (INTERACT component)*
    component: (prefix ".")* WORD
    prefix: WORD ARGS?
    INTERACT: "##" | "#"
    WORD: /\w+/
    ARGS: /\([^()]*\)/
    %ignore /[ \t]+/
"""

# A variable alone (most items of most lists): read without the grammar, to the same Term the
# grammar gives (WORD is \w+, blanks and tabs are ignored).
_PLAIN = re.compile(r"[ \t]*(\w+)[ \t]*")
# The grammar's tokens, each after the blanks and tabs it ignores: WORD, ARGS, INTERACT, ".".
_TOKEN = re.compile(r"[ \t]*(?:(\w+)|(\([^()]*\))|(##|#)|(\.))")

# One component as the grammar reads it: its prefixes (word, ARGS or None, column) and its
# variable with its column; columns are 1-based positions in the item.
_Prefix = tuple[str, str | None, int]
_Read = tuple[list[tuple[list[_Prefix], str, int]], list[str]]


PARSER_MODULE = Path(__file__).with_name("term_parser.py")
# Lark's stand-alone generator copies this block of Lark's utilities into the module. The
# grammar's patterns are plain ``re``, so the generated parser never needs the ``regex`` package,
# whose import (~15 ms) would otherwise be paid by every ``specrun validate`` that parses a term.
_REGEX_IMPORT = """try:
    import regex
    _has_regex = True
except ImportError:
    _has_regex = False
"""
_NO_REGEX = "_has_regex = False  # specrun: never import regex (plain re patterns)\n"


def grammar_digest() -> str:
    """SHA-256 of ``GRAMMAR``, recorded in the generated parser to catch a stale one."""
    return hashlib.sha256(GRAMMAR.encode()).hexdigest()


def standalone_parser_source() -> str:
    """The text of ``term_parser.py``: Lark's stand-alone LALR(1) parser of ``GRAMMAR``.

    Equivalent to ``python -m lark.tools.standalone --propagate_positions terms.lark`` (the
    options ``_parser`` used to pass to ``Lark``: LALR, contextual lexer, positions, no
    placeholders), then the ``regex`` import removed and a header added. Needs Lark (a
    development dependency: the generated module imports nothing of it). The state numbers of
    the parse table depend on the build's set iteration order, so two builds of one grammar
    differ in numbering only; ``tests/test_terms.py`` compares them up to that numbering.
    Raises ``RuntimeError`` when Lark's output no longer has the block this edits."""
    import io

    import lark
    from lark.tools.standalone import gen_standalone

    built = lark.Lark(
        GRAMMAR,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )
    out = io.StringIO()
    gen_standalone(built, out=out)
    code = out.getvalue()
    if code.count(_REGEX_IMPORT) != 1:
        raise RuntimeError("Lark's stand-alone output has changed: review the regex edit")
    header = (
        "# Generated code: do not edit. Regenerate with `python -m specrun.data.terms` after\n"
        "# changing specrun.data.terms.GRAMMAR; tests/test_terms.py fails until this file\n"
        "# matches the grammar. Made by Lark's stand-alone generator (lark.tools.standalone,\n"
        f"# Lark {lark.__version__}) with propagate_positions, then one edit: the `regex` "
        "package\n"
        "# is never imported. Lark's generator and its output are under the Mozilla Public\n"
        "# License 2.0 (see the licence block below), unlike the rest of specrun (MIT).\n"
        f"# grammar sha256: {grammar_digest()}\n"
    )
    return header + code.replace(_REGEX_IMPORT, _NO_REGEX)


@cache
def _parser() -> Any:
    """The term grammar's LALR parser, loaded on first use (``parse_item`` needs it only for
    an item that is not a term, to locate the fault) from the generated ``term_parser`` module:
    its parse tables are Python literals, so loading it imports neither Lark nor ``regex`` and
    builds nothing."""
    from specrun.data import term_parser

    return term_parser.Lark_StandAlone()


# c. | i. | ibn. | ib#. | ib(…). | then time-series operators: L, L2, F, D, LD, L2D …
_PREFIX = re.compile(r"^(?P<kind>ibn|ib\d*|i|c)?(?P<ops>(?:[LFD]\d*)*)$")
_OP = re.compile(r"([LFD])(\d*)")
_RANGE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_BASES = ("first", "last", "freq")
MAX_OPERATOR = 99  # L100.x is a typo, not a lag


def _error(message: str, text: str, col: int, hint: str | None = None) -> SpecError:
    return SpecError(f"term '{text}': {message}", code="term", col=col, hint=hint)


@dataclass(frozen=True)
class Component:
    """One factor of a term: a variable, its time-series operators, and its role.

    ``shift`` is the net lag in periods (``L2`` → 2, ``F`` → −1); ``diff`` the order of
    differencing (``D`` → 1, ``D2`` → 2); ``factor`` marks ``i.`` variables, whose ``base`` is
    ``None`` (the first level, Stata's default), ``"none"`` (``ibn.``), ``"first"``, ``"last"``,
    ``"freq"``, ``"#k"`` (the k-th level) or a level's own text (``ib3.`` → ``"3"``). ``explicit``
    records that the user wrote ``c.`` or ``i.``; ``col`` the component's position in the item.
    """

    variable: str
    shift: int = 0
    diff: int = 0
    factor: bool = False
    base: str | None = None
    explicit: bool = False
    col: int = field(default=1, compare=False)

    @property
    def operated(self) -> bool:
        return self.shift != 0 or self.diff != 0

    @property
    def column(self) -> str:
        """The column holding the operated variable: ``Dige``, ``L.Dige``, ``LD.Dige``."""
        prefix = ts_prefix(self.shift, self.diff)
        return f"{prefix}.{self.variable}" if prefix else self.variable

    def key(self) -> tuple[str, int, int, bool]:
        """What makes two components the same regressor (the base is a coding choice)."""
        return (self.variable, self.shift, self.diff, self.factor)


def ts_prefix(shift: int, diff: int) -> str:
    """Stata's display of time-series operators: ``L``, ``L2``, ``F``, ``D``, ``LD``, ``F2D2``."""
    out = ""
    if shift:
        letter = "L" if shift > 0 else "F"
        out += letter + (str(abs(shift)) if abs(shift) != 1 else "")
    if diff:
        out += "D" + (str(diff) if diff != 1 else "")
    return out


@dataclass(frozen=True)
class Term:
    """A product of components: a main effect (one component) or an interaction."""

    components: tuple[Component, ...]

    @property
    def is_interaction(self) -> bool:
        return len(self.components) > 1

    @property
    def has_factor(self) -> bool:
        return any(c.factor for c in self.components)

    def key(self) -> frozenset[tuple[tuple[str, int, int, bool], int]]:
        """What makes two terms the same regressor: their components in any order, each
        counted (``c.x#c.x`` is x squared, not x again: Stata's ``c.x##c.x`` is x and x²)."""
        return components_key(self.components)

    def continuous_name(self) -> str:
        """The name of a term without factors: ``L.Dige``, ``c.Dige#cL.STR``."""
        if not self.is_interaction:
            return self.components[0].column
        return "#".join(_continuous_part(c) for c in self.components)


def components_key(
    components: Iterable[Component],
) -> frozenset[tuple[tuple[str, int, int, bool], int]]:
    """The key of a product of ``components`` (``Term.key``): each component's key with its
    occurrence number, so a repeated component (a power) stays apart from a single one."""
    counts: Counter[tuple[str, int, int, bool]] = Counter()
    out = []
    for c in components:
        out.append((c.key(), counts[c.key()]))
        counts[c.key()] += 1
    return frozenset(out)


def _continuous_part(component: Component) -> str:
    prefix = ts_prefix(component.shift, component.diff)
    return f"c{prefix}.{component.variable}"


def factor_part(component: Component, level: str) -> str:
    """Stata's name of a factor level: ``2.region``, ``East.region``, ``2L.region``."""
    prefix = ts_prefix(component.shift, component.diff)
    return f"{level}{prefix}.{component.variable}"


def term_names(term: Term, levels: dict[tuple[str, int, int, bool], list[str]]) -> list[str]:
    """The column names of a term, given the kept levels of each factor component (by key):
    the Cartesian product of factor levels, in Stata's order (first component slowest)."""
    names = [""]
    for component in term.components:
        parts = (
            [factor_part(component, lv) for lv in levels[component.key()]]
            if component.factor
            else [_continuous_part(component) if term.is_interaction else component.column]
        )
        names = [f"{a}#{b}" if a else b for a in names for b in parts]
    return names


@lru_cache(maxsize=4096)
def parse_item(text: str) -> tuple[Term, ...]:
    """Parse one list item into its terms (``a##b`` → a, b, a#b; ``L(0/2).x`` → x, L.x, L2.x).

    Raises ``SpecError`` (code ``term``, ``col`` the 1-based position in ``text``) for text that
    is not a term, an unknown or malformed operator, or an interaction component without ``c.``
    or ``i.``. Results are cached: validation and execution share one parse per item.
    """
    if not isinstance(text, str) or not text.strip():
        raise _error("empty term", str(text), 1)
    read = _read(text)
    if read is None:  # not an item of the grammar: its parser locates the fault
        from specrun.data.term_parser import UnexpectedInput

        try:
            tree = _parser().parse(text)
        except UnexpectedInput as exc:
            raise _syntax_error(exc, text) from None
        read = _tree_parts(tree)
    parts, operators = read
    # each component may expand (L(0/2).x)
    chains = [_components(prefixes, name, col, text) for prefixes, name, col in parts]
    interacted = len(chains) > 1
    if interacted:
        for chain in chains:
            first = chain[0]
            if not first.explicit:
                raise _error(
                    f"'{first.column}' in an interaction needs c. (continuous) or i. (factor)",
                    text,
                    first.col,
                    hint=f"write c.{first.column} or i.{first.column}; Stata would read it as a "
                    "factor",
                )
    if len(chains) > 1 and any(len(chain) > 1 for chain in chains):
        raise _error("an operator range such as L(0/2) cannot enter an interaction", text, 1)
    if len(chains) == 1:
        return tuple(Term((c,)) for c in chains[0])
    # ``a##b#c`` groups as Stata does: ## binds the full factorial of the pieces it joins
    groups: list[list[Component]] = [[chains[0][0]]]
    full: list[bool] = [False]
    for op, chain in zip(operators, chains[1:], strict=True):
        if op == "##":
            groups.append([chain[0]])
            full.append(True)
        else:
            groups[-1].append(chain[0])
    if not any(full):
        return (Term(tuple(groups[0])),)
    pieces = [tuple(g) for g in groups]
    terms: list[Term] = []
    for size in range(1, len(pieces) + 1):
        for combo in combinations(pieces, size):
            terms.append(Term(tuple(c for piece in combo for c in piece)))
    return tuple(_unique(terms))


def terms_of(text: str) -> tuple[Term, ...] | None:
    """The terms of ``text`` (``parse_item``), or None where ``parse_item`` raises: for callers
    asking only whether text is a term (a table's ``keep``/``drop`` patterns such as ``yr*``).
    Text the grammar rejects is told without loading the grammar's parser (``_read``; only a
    line break needs the parser), which ``parse_item`` loads only to locate the fault."""
    if isinstance(text, str) and "\n" not in text and _read(text) is None:
        return None
    try:
        return parse_item(text)
    except SpecError:
        return None


def _unique(terms: list[Term]) -> list[Term]:
    seen: set[frozenset] = set()
    out = []
    for term in terms:
        if term.key() not in seen:
            seen.add(term.key())
            out.append(term)
    return out


# R's term syntax (fixest, plm, lm formulas), read only to say how the spec writes it
_R_CALL = re.compile(r"^\s*(\w+(?:\.\w+)?)\s*\((.*)\)\s*$", re.S)
_R_NAME = re.compile(r"^[A-Za-z_]\w*$")
_R_LAGS = {"l": "L", "lag": "L", "f": "F", "lead": "F", "d": "D", "diff": "D"}
_R_TRANSFORMS = ("log", "log1p", "exp", "sqrt", "abs", "I", "poly", "scale", "ns", "bs")


def _r_arguments(inner: str) -> tuple[list[str], dict[str, str]]:
    """The positional and named arguments of an R call's text, split at its top-level commas
    (``ref = c(-1, -5)`` is one argument)."""
    positional: list[str] = []
    named: dict[str, str] = {}
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(inner):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            pieces.append(inner[start:i])
            start = i + 1
    pieces.append(inner[start:])
    for part in (p.strip() for p in pieces):
        key, eq, value = part.partition("=")
        if eq and _R_NAME.match(key.strip()):
            named[key.strip()] = value.strip().strip("\"'")
        elif part:
            positional.append(part.strip("\"'"))
    return positional, named


def r_term_hint(text: str) -> str | None:
    """What the spec writes for an item in R's formula syntax, or None for other text.

    Covers fixest's ``i(f)``, ``i(f, ref = k)``, ``i(f, x)``, ``sunab(g, t)``, ``l(x, k)``,
    ``f(x, k)``, ``d(x)``, R's ``factor(f)``, ``a:b`` and ``a*b``, functions of a variable
    (``log(x)``, ``I(x^2)``) and a whole formula (``y ~ x1 + x2``). Used only for the hint of
    an item that is not a term, so it never changes what a valid item means."""
    item = text.strip()
    if "~" in item or "|" in item:
        return formula_hint(item)
    call = _R_CALL.match(item)
    if call is not None:
        name, (args, named) = call.group(1), _r_arguments(call.group(2))
        if name == "i" and args and all(_R_NAME.match(a) for a in args[:2]):
            ref = named.get("ref")
            several = ref is not None and not re.fullmatch(r"-?\w+", ref)
            if several:
                ref = "<level>"  # ref = c(-1, -5): Stata's factor has one base level
            factor = f"ib({ref}).{args[0]}" if ref else f"i.{args[0]}"
            written = factor + (f"#c.{args[1]}" if len(args) > 1 else "")
            hint = f"fixest's i() is a factor variable: write {written}"
            if several:
                hint += (
                    " (one base level); an event study with its window's ends binned or "
                    "dropped is estimator: event_study, first_treated: <column>, endpoints: drop"
                )
            elif ref is not None and ref.startswith("-"):
                hint += (
                    "; an event study around each unit's first treated period is "
                    "estimator: event_study, first_treated: <column>, reference: " + ref
                )
            return hint
        if name == "sunab" and len(args) >= 2:
            return (
                f"Sun and Abraham's estimator is a model, not a term: estimator: event_study, "
                f"first_treated: {args[0]}, method: sun_abraham"
            )
        if name in ("factor", "as.factor") and len(args) == 1 and _R_NAME.match(args[0]):
            return f"a factor is written i.{args[0]}"
        if name in _R_LAGS and args and _R_NAME.match(args[0]):
            op = _R_LAGS[name]
            k = args[1] if len(args) > 1 else "1"
            span = re.fullmatch(r"(-?\d+)\s*:\s*(-?\d+)", k)
            written = None
            if span is not None:
                written = f"{op}({span[1]}/{span[2]}).{args[0]}"
            elif re.fullmatch(r"\d+", k):
                written = f"{op}{'' if k == '1' else k}.{args[0]}"
            if written is not None:
                return f"fixest's {name}() is Stata's time-series operator: write {written}"
        if name in _R_TRANSFORMS or name in ("log10", "log2"):
            made = call.group(2).strip() if name == "I" else item
            return (
                "a term is a column, not a function of one: make it a column first "
                f"(transforms: - derive: {{new_name: {made.replace('^', ' ** ')}}})"
            )
    if re.fullmatch(r"\w+(\s*:\s*\w+)+", item):
        parts = [p.strip() for p in item.split(":")]
        return "R's a:b is written " + "#".join(f"c.{p}" for p in parts) + " (i. for a factor)"
    if re.fullmatch(r"\w+(\s*\*\s*\w+)+", item):
        parts = [p.strip() for p in item.split("*")]
        return (
            "R's a*b (both and their product) is written "
            + "##".join(f"c.{p}" for p in parts)
            + " (i. for a factor)"
        )
    if re.fullmatch(r"\w+(\s*\+\s*\w+)+", item):
        return "a list is written in brackets: [" + ", ".join(re.split(r"\s*\+\s*", item)) + "]"
    if re.fullmatch(r"\w+\s*\^\s*\d+", item):
        power = item.replace("^", " ** ")
        return (
            f"a term is a column: make it one first (transforms: - derive: {{new_name: {power}}})"
        )
    return None


def formula_hint(text: str) -> str | None:
    """The spec's keys for an R formula (``y ~ x1 + x2 | fe1 + fe2 | endog ~ instruments``, as
    fixest's ``feols`` reads it), or None for text that is not one."""
    parts = [p.strip() for p in text.split("|")]
    head, tilde, rhs = parts[0].partition("~")
    if not tilde or len(parts) > 3:
        return None

    def names(side: str) -> list[str]:
        return [p.strip() for p in re.split(r"\+", side) if p.strip() and p.strip() not in "01"]

    keys = [f"y: {head.strip()}"] if head.strip() else []
    keys.append(f"x: [{', '.join(names(rhs))}]")
    if len(parts) > 1 and "~" not in parts[1]:
        fixed = [p.replace("^", "#") for p in names(parts[1])]
        keys.append(f"absorb: [{', '.join(fixed)}]")
    iv = next((p for p in parts[1:] if "~" in p), None)
    if iv is not None:
        endog, _, instruments = iv.partition("~")
        keys.append(f"endog: [{', '.join(names(endog))}]")
        keys.append(f"instruments: [{', '.join(names(instruments))}]")
        keys.insert(0, "estimator: iv")
    return "a model names its parts as keys, not a formula: " + ", ".join(keys)


def _syntax_error(exc: UnexpectedInput, text: str) -> SpecError:
    from specrun.data.term_parser import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    col = max(int(getattr(exc, "column", 1) or 1), 1)
    r_hint = r_term_hint(text)
    if r_hint is not None:  # R's syntax, not a typo in Stata's: say how the spec writes it
        return _error("R's formula syntax is not a term", text, 1, hint=r_hint)
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        return _error("ends early: a variable name must follow", text, len(text) + 1)
    if isinstance(exc, UnexpectedCharacters):
        char = text[col - 1] if col - 1 < len(text) else ""
        return _error(f"unexpected character '{char}' at position {col}", text, col)
    if isinstance(exc, UnexpectedToken):
        return _error(f"unexpected '{exc.token}' at position {col}", text, col)
    return _error(f"not a term (at position {col})", text, col)


def _read(text: str) -> _Read | None:
    """The components and interaction operators of an item the grammar accepts, read without
    it (Lark's parser is 0.2 MB of tables, ~10 ms to load); ``None`` for any other text, which
    the grammar then rejects with a located error. The grammar is regular (``start``: components
    joined by ``#``/``##``; ``component``: ``WORD ARGS? .`` prefixes, then a ``WORD``) and its
    tokens cannot run into each other, so reading them in order gives the grammar's tree.
    ``tests/test_terms.py`` checks the two agree on arbitrary text."""
    plain = _PLAIN.fullmatch(text)
    if plain is not None:
        return [([], plain.group(1), plain.start(1) + 1)], []
    if "\n" in text:  # Lark counts columns from the last line break; keep its count
        return None
    tokens: list[tuple[int, str, int]] = []  # (kind: 1 WORD, 2 ARGS, 3 INTERACT, 4 ".", text, col)
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip(" \t"):
                return None  # a character no token starts with
            break
        kind = match.lastindex or 0
        tokens.append((kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    parts: list[tuple[list[_Prefix], str, int]] = []
    operators: list[str] = []
    i = 0
    while True:
        prefixes: list[_Prefix] = []
        while True:  # WORD ARGS? "." … WORD
            if i >= len(tokens) or tokens[i][0] != 1:
                return None
            _, word, col = tokens[i]
            args = tokens[i + 1][1] if i + 1 < len(tokens) and tokens[i + 1][0] == 2 else None
            i += 1 if args is None else 2
            if i < len(tokens) and tokens[i][0] == 4:
                prefixes.append((word, args, col))
                i += 1
                continue
            if args is not None:
                return None
            parts.append((prefixes, word, col))
            break
        if i == len(tokens):
            return parts, operators
        if tokens[i][0] != 3:
            return None
        operators.append(tokens[i][1])
        i += 1


def _tree_parts(tree: Tree) -> _Read:
    """The components and operators of the grammar's parse tree, as ``_read`` gives them."""
    parts: list[tuple[list[_Prefix], str, int]] = []
    operators: list[str] = []
    for child in tree.children:
        if isinstance(child, str):  # a Token (a str): an interaction operator
            operators.append(str(child))
        else:
            parts.append(_tree_component(child))
    return parts, operators


def _tree_component(tree: Tree) -> tuple[list[_Prefix], str, int]:
    *prefixes, name = tree.children
    read = [
        (
            str(p.children[0]),
            str(p.children[1]) if len(p.children) > 1 else None,
            p.children[0].column or 1,
        )
        for p in prefixes
    ]
    return read, str(name), name.column or 1


def _component(tree: Tree, text: str) -> list[Component]:
    """The components one ``component`` subtree of the grammar's parse stands for."""
    return _components(*_tree_component(tree), text)


def _components(
    prefixes: list[_Prefix], variable: str, name_col: int, text: str
) -> list[Component]:
    """The components one ``prefix.prefix.name`` stands for (several for an operator range)."""
    if variable[0].isdigit():
        raise _error(
            f"'{variable}' is not a variable name (names start with a letter or _)",
            text,
            name_col,
        )
    kind: str | None = None
    base: str | None = None
    shifts: list[int] = [0]
    diff = 0
    for word, args, col in prefixes:
        match = _PREFIX.match(word)
        if match is None:
            raise _error(
                f"unknown operator '{word}{args or ''}.'",
                text,
                col,
                hint="operators: c. i. ib#. ib(first|last|freq). ibn. L. L#. F. D. LD. L(a/b).",
            )
        written, ops = match.group("kind"), match.group("ops")
        if written:
            if kind is not None:
                raise _error(f"'{word}.' repeats the c./i. prefix", text, col)
            kind = "c" if written == "c" else "i"
            if written == "ibn":
                base = "none"
            elif written.startswith("ib"):
                if ops:
                    raise _error(
                        f"write the base and the operators apart: '{written}.{ops}.'", text, col
                    )
                base = _base(written[2:], args, word, text, col)
                continue
        if args is not None and not ops:
            raise _error(f"unknown operator '{word}{args}.'", text, col)
        letters = _OP.findall(ops)
        for i, (letter, digits) in enumerate(letters):
            amounts = [int(digits) if digits else 1]
            if i == len(letters) - 1 and args is not None:
                if digits:
                    raise _error(f"'{word}{args}.' gives the operator twice", text, col)
                amounts = _operator_range(args, word, text, col)
            if max(amounts) > MAX_OPERATOR:
                raise _error(f"operator '{letter}{max(amounts)}.' is too large", text, col)
            if letter == "D":
                if len(amounts) > 1:
                    raise _error("a range applies to L. or F., not D.", text, col)
                diff += amounts[0]
            else:
                sign = 1 if letter == "L" else -1
                shifts = [s + sign * a for s in shifts for a in amounts]
    factor = kind == "i"
    start = prefixes[0][2] if prefixes else name_col
    return [
        Component(variable, s, diff, factor, base if factor else None, kind is not None, col=start)
        for s in dict.fromkeys(shifts)
    ]


def _base(number: str, args: str | None, word: str, text: str, col: int) -> str:
    if number:
        if args is not None:
            raise _error(f"'{word}{args}.' gives the base twice", text, col)
        return number
    if args is None:
        raise _error("'ib.' needs a base: ib2., ib(first)., ib(last)., ib(freq).", text, col)
    inner = str(args)[1:-1].strip()
    if inner in _BASES or re.fullmatch(r"#\d+", inner) or re.fullmatch(r"-?\d+", inner):
        return inner
    if inner and re.fullmatch(r"\w+", inner):
        return inner  # a string level's own text: ib(East).region
    raise _error(f"unknown base '{args}'", text, col, hint="ib(first|last|freq|#k|<level>).")


def _operator_range(args: str, word: str, text: str, col: int) -> list[int]:
    inner = args[1:-1]
    match = _RANGE.match(inner)
    if match:
        low, high = int(match.group(1)), int(match.group(2))
        if low > high:
            raise _error(f"empty operator range '{word}{args}.'", text, col)
        return list(range(low, high + 1))
    parts = inner.split()
    if parts and all(p.isdigit() for p in parts):
        return [int(p) for p in parts]
    raise _error(
        f"operator range '{word}{args}.' must read (a/b) or (a b …)", text, col, hint="L(0/2).x"
    )


if __name__ == "__main__":  # python -m specrun.data.terms: regenerate term_parser.py
    PARSER_MODULE.write_text(standalone_parser_source(), encoding="utf-8")
    print(f"wrote {PARSER_MODULE.name} (grammar sha256 {grammar_digest()[:16]}…)")
