"""Spec diagnostics: turn pydantic errors and spec problems into located ``SpecError``s.

A pydantic error's ``loc`` mixes spec keys with union tags (``panel_fe``, ``SampleSpec``);
walking the loaded document along it keeps the keys, drops the tags and finds the line and
column, and walking the spec's types along it finds the valid keys for "did you mean".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from specrun.errors import SpecError, did_you_mean
from specrun.spec.load import PathKey, SpecDocument, format_path
from specrun.transforms import TRANSFORMS


def dedupe(errors: Iterable[SpecError]) -> list[SpecError]:
    seen: set[str] = set()
    out = []
    for e in errors:
        if str(e) not in seen:
            seen.add(str(e))
            out.append(e)
    return out


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _tag_member(tp: Any, part: Any) -> Any | None:
    """The member of a tagged union that a pydantic loc part names, if it is a tag."""
    tp = _strip(tp)
    if get_origin(tp) not in (Union, UnionType):
        return None
    for member in get_args(tp):
        base = _strip(member)
        if isinstance(base, type) and issubclass(base, BaseModel):
            for key in ("estimator", "kind"):
                info = base.model_fields.get(key)
                if (
                    info
                    and get_origin(info.annotation) is Literal
                    and part in get_args(info.annotation)
                ):
                    return base
            if list(base.model_fields) == [part] and len(base.model_fields) == 1:
                return base
            name = base.__name__
            if part == name or (
                isinstance(part, str) and part.endswith((f" {name}]", f"[{name}]"))
            ):
                return base
    return None


def _child_type(tp: Any, part: Any) -> Any:
    tp = _strip(tp)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(part) if isinstance(part, str) else None
        return info.annotation if info else None
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        return get_args(tp)[0]
    if origin in (Union, UnionType):
        for member in get_args(tp):
            child = _child_type(member, part)
            if child is not None:
                return child
    return None


def _valid_keys(tp: Any) -> list[str]:
    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    if get_origin(tp) in (Union, UnionType):
        for member in get_args(tp):
            keys = _valid_keys(member)
            if keys:
                return keys
    return []


def _registry_names(field: str, section: str) -> list[str]:
    """The valid values of a discriminator key, from the registry it selects in."""
    if field == "estimator":
        from specrun.estimators import ESTIMATORS

        return list(ESTIMATORS.names())
    if section == "figures":
        from specrun.figures import FIGURES

        return list(FIGURES.names())
    from specrun.tables.kinds import TABLES

    return list(TABLES.names())


# what each pydantic type error expects, in the spec's words
_EXPECTS = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _alternatives(errors: list[tuple[Any, Any]]) -> str | None:
    """One phrase for a value that matches no member of a union ("true or false, or a mapping
    with keys draws, seed"), when every member only objects to the value's type; None when
    one member has something more specific to say, or there is only one member."""
    simple = (*_EXPECTS, "literal_error")
    if len(errors) < 2 or any(e["type"] not in simple for e, _ in errors):
        return None
    models = {}
    for _, tp in errors:  # the walk ends at the member itself, or at the union
        for m in (_strip(tp), *map(_strip, get_args(_strip(tp)))):
            if isinstance(m, type) and issubclass(m, BaseModel):
                models[m.__name__] = m
    phrases: list[str] = []
    for e, _ in errors:
        ctx = e.get("ctx") or {}
        phrase = str(ctx.get("expected")) if e["type"] == "literal_error" else _EXPECTS[e["type"]]
        model = models.get(str(ctx.get("class_name")))
        if e["type"].startswith("model") and model is not None:
            phrase += " with keys " + ", ".join(model.model_fields)
        if phrase not in phrases:
            phrases.append(phrase)
    return ", or ".join(phrases)


# outputs.formats values for the names users call the formats by
FORMAT_HINTS = {
    "word": "Word files are 'docx'",
    "doc": "Word files are 'docx'",
    "excel": "Excel files are 'xlsx'",
    "xls": "Excel files are 'xlsx'",
    "tex": "'latex' writes the .tex files",
    "pdf": "'latex' with latex: {compile: true} also writes tables.pdf",
    "md": "'markdown' writes the .md files",
    "htm": "'html' writes the .html files",
}


# fixest's vcov = "…" names, as the spec writes each
R_VCOV = {
    "hetero": "fixest's 'hetero' is se: robust (HC1; HC0, HC2, HC3 by name)",
    "iid": "fixest's 'iid' is se: unadjusted",
    "standard": "fixest's 'iid' is se: unadjusted",
    "twoway": "fixest's 'twoway' is se: {cluster: [entity, time]} (Cameron–Gelbach–Miller)",
    "NW": "serial-correlation-robust panel SEs here are Driscoll–Kraay: se: {type: "
    "driscoll_kraay, lags: 2}",
    "DK": "fixest's 'DK' is se: {type: driscoll_kraay, lags: 2}",
    "driscoll_kraay": "write se: {type: driscoll_kraay, lags: 2}",
}


def _formula_hint(text: Any) -> str | None:
    from specrun.data.terms import formula_hint

    return formula_hint(text) if isinstance(text, str) else None


# a model's keys in R's fixest, plm (and lm), answered with the spec's way to say them
FOREIGN_MODEL_KEYS = {
    "formula": "a model names its parts as keys: y: y, x: [x1, x2], absorb: [firm, year]",
    "fml": "a model names its parts as keys: y: y, x: [x1, x2], absorb: [firm, year]",
    "vcov": "standard errors are se: robust (fixest's vcov = 'hetero', HC1), se: {cluster: "
    "firm} (vcov = ~firm), se: {cluster: [firm, year]} ('twoway') or se: unadjusted ('iid')",
    "cluster": "clusters are written se: {cluster: firm} (fixest's cluster = ~firm), "
    "se: {cluster: [firm, year]} for two-way",
    "fixef": "fixed effects are absorb: [firm, year] (fixest's | firm + year)",
    "fixef.rm": "singletons: drop removes singletons (fixest's fixef.rm = 'singleton'); keep, "
    "the default, keeps them, as feols does by default",
    "fixef_rm": "singletons: drop removes singletons (pyfixest's fixef_rm = 'singleton', its "
    "default); keep, specrun's default, is fixef_rm = 'none'",
    "ssc": "the small-sample correction is se: {convention: stata | areg | plm | "
    "linearmodels}; stata (the default) equals fixest's default ssc()",
    "model": "plm's model = 'within' is estimator: panel_fe, 'random' panel_re, 'between' "
    "panel_be, 'pooling' ols",
    "effect": "plm's effect = 'twoways' is effects: [entity, time], 'individual' "
    "effects: [entity], 'time' effects: [time]",
    "index": "the panel's index is data: {panel: {source: …, entity: firm, time: year}}",
    "random.method": "plm's random.method = 'swar' is components: plm (Baltagi–Chang on "
    "unbalanced panels); components: stata, the default, is xtreg, re's",
    "subset": "a model's rows are sample: (a name under samples:, or {where: …})",
    "split": "one model per value of a column is over: column",
    "fsplit": "one model per value of a column is over: column",
}


# plm's effect = values, as the spec writes each
PLM_EFFECTS = {"twoways": "[entity, time]", "individual": "[entity]", "time": "[time]"}

# a table's keys in R's modelsummary and fixest's etable
FOREIGN_TABLE_KEYS = {
    "gof_map": "statistic rows are stats: [nobs, r2, r2_within, n_clusters, …] (see the "
    "table statistics' reference)",
    "gof_omit": "statistic rows are those stats: lists, e.g. stats: [nobs, r2]",
    "coef_map": "row labels are labels: {x1: Investment} (or variables: labels), the order "
    "order: [x1, x2], the rows kept keep: [x1, x2]",
    "coef_rename": "row labels are labels: {x1: Investment} (or variables: labels)",
    "dict": "row labels are labels: {x1: Investment} (or variables: labels)",
    "coef_omit": "rows are left out with drop: [pattern, …] (globs, or re: regular expressions)",
    "statistic": "what prints under a coefficient is show: se | t | p | ci",
    "fmt": "the digits are digits: 3 (row_digits: for one row)",
    "title": "a table's title is caption:",
    "output": "files are chosen by outputs: {formats: [latex, docx, markdown]}",
    "signif.code": "star levels are stars: [0.1, 0.05, 0.01]",
    "fitstat": "statistic rows are stats: [nobs, r2, r2_within_hdfe, …] (etable's fitstat)",
    "headers": "column headers are column_labels: [A, B] (and groups: for spanning ones)",
    "se.below": "where the standard errors print is se_position: below | beside",
    "file": "files are chosen by outputs: {formats: [latex, docx, markdown]}",
    "group": "indicator rows are indicators: {Controls: [x2, x3]} (etable's group)",
    "vcov": "standard errors are each model's se: (a table prints what its models used)",
}
# data.panel's keys in plm (pdata.frame's index) and fixest (panel.id)
FOREIGN_PANEL_KEYS = {
    "index": 'the panel\'s index is entity: firm, time: year (plm\'s index = c("firm", "year"))',
    "panel.id": "the panel's index is entity: firm, time: year (fixest's panel.id = ~firm + year)",
    "id": "the panel's index is entity: firm, time: year",
}


class Diagnostics:
    """The errors found so far in one spec document, and how to add located ones."""

    def __init__(self, doc: SpecDocument) -> None:
        self.doc = doc
        self.errors: list[SpecError] = list(doc.problems)
        self.hints: list[SpecError] = []  # advice that does not make the spec invalid

    def error(
        self, message: str, path: PathKey, *, code: str, key: bool = False, hint: str | None = None
    ) -> None:
        self.errors.append(self.doc.error(message, path, code=code, key=key, hint=hint))

    def pydantic_errors(
        self,
        exc: ValidationError,
        root_type: Any,
        data: Any,
        prefix: PathKey,
        origins: dict[str, PathKey] | None = None,
    ) -> None:
        found = []
        for err in exc.errors():
            tp, node, path = root_type, data, []
            for part in err["loc"]:
                member = _tag_member(tp, part)
                if member is not None and not (isinstance(node, dict) and part in node):
                    tp = member
                    continue
                if (isinstance(node, dict) and part in node) or (
                    isinstance(node, list) and isinstance(part, int) and part < len(node)
                ):
                    node = node[part]
                    path.append(part)
                elif err["type"] in ("missing", "extra_forbidden") and part == err["loc"][-1]:
                    path.append(part)
                else:
                    continue
                tp = _child_type(tp, part) if tp is not None else None
            found.append((err, tuple(path), tp))
        paths = [p for _, p, _ in found]
        # a required key misspelt (model: for models:) is one fault: the unknown key, with its
        # "did you mean", not also the required key it was meant to be
        missing = [p for e, p, _ in found if e["type"] == "missing" and p]
        answered = {
            m
            for e, p, _ in found
            if e["type"] == "extra_forbidden" and p
            for m in missing
            if m[:-1] == p[:-1]
            and (
                did_you_mean(str(p[-1]), [str(m[-1])])
                or str(p[-1]) in ("formula", "fml")
                or (p[-1] in ("index", "panel.id") and m[-1] in ("entity", "time"))
            )
        }  # R's formula: a model's y, x, endog and instruments, which its error translates
        shown: set[tuple] = set()
        for err, path, _ in found:
            if err["type"] == "missing" and path in answered:
                continue
            if any(len(o) > len(path) and o[: len(path)] == path for o in paths):
                continue  # a more specific error about the same value is shown instead
            if path in shown and err["type"] not in ("missing", "extra_forbidden"):
                continue  # union members each complain about one value: said once, below
            shown.add(path)
            members = [(e, t) for e, p, t in found if p == path]
            alternatives = _alternatives(members)
            if alternatives is not None:
                shape = type(err.get("input"))
                got = {list: ", got a list", dict: ", got a mapping"}.get(shape, "")
                err = {**err, "type": "union_type", "msg": f"expected {alternatives}{got}"}
            self.errors.append(self._convert(err, path, prefix, origins, root_type))

    def _convert(
        self,
        err: Any,
        path: tuple,
        prefix: PathKey,
        origins: dict[str, PathKey] | None,
        root_type: Any,
    ) -> SpecError:
        full: PathKey = (*prefix, *path)
        if origins and path and path[0] in origins:
            full = (*origins[path[0]], *path[1:])
        kind = err["type"]
        hint = None
        if kind == "extra_forbidden":
            parent_type = root_type
            for part in err["loc"][:-1]:
                member = _tag_member(parent_type, part)
                parent_type = member if member is not None else _child_type(parent_type, part)
            valid = _valid_keys(parent_type)
            message = f"unknown key '{path[-1]}'"
            # a key of a model (under models:, a variant or a multiverse axis value: its
            # type has an estimator), of a table entry, or of data.panel
            section = None
            if "estimator" in valid:
                section = FOREIGN_MODEL_KEYS
            elif full[0] == "tables" and len(full) == 3:
                section = FOREIGN_TABLE_KEYS
            elif full[:2] == ("data", "panel"):
                section = FOREIGN_PANEL_KEYS
            foreign = section.get(str(path[-1])) if section else None
            if f"{path[-1]}s" in valid and path[-1] != "effect":
                foreign = None  # a Hausman test's model: for models:, a typo, not plm's
            if foreign is not None and str(path[-1]) in ("formula", "fml"):
                foreign = _formula_hint(err.get("input")) or foreign
            hint = (
                foreign
                or did_you_mean(str(path[-1]), valid)
                or ("valid keys: " + ", ".join(valid) if valid else None)
            )
            return self.doc.error(message, full, code="schema", key=True, hint=hint)
        if kind == "missing":
            where = full[:-1]
            return self.doc.error(f"missing required key '{path[-1]}'", where, code="schema")
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            return self._tag_error(err, full)
        message = err["msg"]
        if kind == "literal_error" and full[-1:] == ("se",) and _threshold_se(err):
            # panel_threshold's own three: the linear models' list below would offer robust
            # and {cluster: …}, which it refuses
            return self.doc.error(_threshold_se(err), full, code="schema")
        if kind.startswith("value_error"):
            message = message.removeprefix("Value error, ")
        elif isinstance(err.get("input"), dict | list):
            # a whole mapping or list is not repeated: its shape is what was wrong
            shape = "a mapping" if isinstance(err["input"], dict) else "a list"
            message = f"{message[0].lower()}{message[1:]}"
            message += "" if ", got " in message else f", got {shape}"
        else:
            shown = repr(err.get("input"))
            shown = shown if len(shown) <= 60 else f"{shown[:57]}…"  # a huge value, cut
            message = f"{message[0].lower()}{message[1:]}"
            # pydantic's wording may already say what it got ("…, got a number with a
            # fractional part"): then the value goes in brackets, not after a second "got"
            message += f" ({shown})" if ", got " in message else f", got {shown}"
            if kind in ("model_type", "model_attributes_type"):
                # pydantic names the class ("a valid dictionary or instance of DataSpec")
                message = f"input should be a mapping, got {shown}"
            if kind == "literal_error" and full[-1:] == ("se",):
                # the shorthand's type, not pydantic's list of the type field's values (which
                # leaves out robust, the commonest, and offers cluster, which needs columns)
                message = (
                    "se should be unadjusted, robust, HC0, HC1, HC2, HC3, driscoll_kraay or a "
                    f"mapping such as {{cluster: entity}}, got {shown}"
                )
        hint = None
        if "effects" in full[-2:] and str(err.get("input")) in PLM_EFFECTS:
            # plm's effect = "twoways" | "individual" | "time"
            hint = f"plm's effect = '{err['input']}' is effects: {PLM_EFFECTS[err['input']]}"
        elif kind == "list_type" and isinstance(err.get("input"), str) and "~" in err["input"]:
            hint = _formula_hint(err["input"])  # R's y ~ x1 + x2 where a list was due
        elif full == ("data",) and isinstance(err.get("input"), str):
            # R's read.csv("firms.csv") habit: the file where the data section goes
            name = re.sub(r"\W", "_", err["input"].rsplit("/", 1)[-1].split(".")[0]) or "main"
            hint = (
                f"data: {{sources: {{{name}: {{path: {err['input']}}}}}, panel: {{source: "
                f"{name}, entity: <id column>, time: <period column>}}}}"
            )
        elif (
            kind == "string_type"
            and isinstance(err.get("input"), int | float)
            and not (full[:1] == ("models",) and full[2:3] != ("label",))  # names, not text
        ):
            # YAML reads label: 2019 (or true) as a number (a boolean): quoted, it is text
            written = str(err["input"]).lower() if isinstance(err["input"], bool) else err["input"]
            hint = f"quote it to make it text: '{written}'"
        elif kind == "list_type" and full[-1:] in (("notes",), ("column_labels",)):
            # text, not a varlist: one string is one item, never split at its spaces
            shown_text = str(err.get("input")).replace('"', '\\"')
            hint = f'a list is written in brackets, an item a line: ["{shown_text}"]'
        elif kind == "list_type" and full[-1:] == ("stars",) and isinstance(err["input"], dict):
            # modelsummary's stars = c("*" = .1, "**" = .05, "***" = .01)
            levels = [v for v in err["input"].values() if isinstance(v, int | float)]
            written = ", ".join(str(v) for v in sorted(levels, reverse=True)) or "0.1, 0.05, 0.01"
            hint = f"star levels are p-values alone: stars: [{written}] print *, ** and ***"
        elif kind == "list_type" and isinstance(err.get("input"), str):
            # a formula or a comma list written as one string, as fixest or Stata write x
            parts = [p.strip() for p in re.split(r"[+,]", err["input"]) if p.strip()]
            if len(parts) == 1 and not re.search(r"(^|\s)##?(\s|$)", err["input"]):
                parts = err["input"].split()  # a Stata varlist, separated by spaces
            if len(parts) > 1:
                hint = "a list is written in brackets: [" + ", ".join(parts) + "]"
            elif "^" in err["input"]:  # fixest's interacted effects, firm^year
                hint = "a list is written in brackets: [" + err["input"].replace("^", "#") + "]"
        elif (
            kind == "literal_error"
            and full[-1:] == ("se",)
            and isinstance(err.get("input"), str)
            and not R_VCOV.get(err["input"].strip().replace(" ", ""))
            and not err["input"].strip().startswith("~")
        ):
            # Stata's vce(cluster firm), written as it is typed there
            words = err["input"].replace("(", " ").replace(")", " ").split()
            if len(words) > 1 and words[0].lower() in ("cluster", "cl", "vce"):
                names = [w for w in words[1:] if w.lower() != "cluster"]
                hint = (
                    "clustered standard errors are written se: {cluster: "
                    + (names[0] if len(names) == 1 else "[" + ", ".join(names) + "]")
                    + "}"
                )
        elif kind == "list_type" and full[-1:] == ("stars",) and isinstance(err["input"], bool):
            # modelsummary's stars = TRUE
            hint = "stars are printed by default at [0.1, 0.05, 0.01]; stars: [] prints none"
        elif kind == "literal_error" and full[-1:] == ("se",) and isinstance(err.get("input"), str):
            hint = R_VCOV.get(err["input"].strip().replace(" ", ""))
            if hint is None and err["input"].strip().startswith("~"):
                names = [n.strip() for n in err["input"].strip()[1:].split("+") if n.strip()]
                hint = (
                    "clustered standard errors are written se: {cluster: "
                    + (names[0] if len(names) == 1 else "[" + ", ".join(names) + "]")
                    + "}"
                )
        elif kind == "literal_error" and "effects" in full[-2:]:
            # effects: [entity, year] from a user whose panel's time column is 'year'
            hint = (
                "effects name the panel's index as entity and time, whatever data.panel's "
                "columns are called; panel_fe's absorb: takes any other column"
            )
        elif kind == "literal_error" and "formats" in full[-2:]:
            # the names users know the formats by: Word, Excel, TeX, PDF, Markdown's extension
            hint = FORMAT_HINTS.get(str(err.get("input")).strip().lower().lstrip("."))
        return self.doc.error(message, full, code="schema", hint=hint)

    def _tag_error(self, err: Any, path: PathKey) -> SpecError:
        ctx = err.get("ctx") or {}
        tag = ctx.get("tag")
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t]
        field = ctx.get("discriminator", "").strip("'")
        if field not in ("estimator", "kind"):  # the transform union's callable discriminator
            expected = list(TRANSFORMS.names())
            if tag is None:
                return self.doc.error(
                    "a transform is a mapping with exactly one key, its name",
                    path,
                    code="schema",
                    hint="valid: " + ", ".join(expected),
                )
            return self.doc.error(
                f"unknown transform '{tag}'",
                path,
                code="schema",
                hint=did_you_mean(str(tag), expected) or "valid: " + ", ".join(expected),
            )
        if not expected:
            expected = _registry_names(field, str(path[0]) if path else "")
        if tag is None:
            node: Any = self.doc.data
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            for key in node if isinstance(node, dict) else ():
                if did_you_mean(str(key), [field]):  # estimater: for estimator:
                    return self.doc.error(
                        f"unknown key '{key}' (did you mean '{field}'?)",
                        (*path, key),
                        code="schema",
                        key=True,
                        hint=f"{field}: one of " + ", ".join(expected),
                    )
            what = "model" if field == "estimator" else path[0][:-1] if path else "entry"
            return self.doc.error(
                f"missing required key '{field}' (which {field} this {what} is)",
                path,
                code="schema",
                hint="valid: " + ", ".join(expected),
            )
        return self.doc.error(
            f"unknown {field} '{tag}'",
            (*path, field),
            code="schema",
            hint=did_you_mean(str(tag), expected) or "valid: " + ", ".join(expected),
        )

    def expression_error(self, exc: SpecError, path: PathKey) -> None:
        pos = self.doc.position(path)
        col = None
        if pos is not None and exc.col is not None:
            col = pos.col + exc.col - 1 + (1 if self._quoted(pos) else 0)
        self.errors.append(
            SpecError(
                exc.message,
                code="expression",
                path=format_path(path),
                file=self.doc.file,
                line=pos.line if pos else None,
                col=col if col else (pos.col if pos else None),
                hint=exc.hint,
            )
        )

    def _quoted(self, pos: Any) -> bool:
        lines = self.doc.text.splitlines()
        if not 0 < pos.line <= len(lines):
            return False
        return lines[pos.line - 1][pos.col - 1 : pos.col] in ("'", '"')


def _threshold_se(err: Mapping[str, Any]) -> str | None:
    """The message for a ``panel_threshold`` model's ``se:`` outside its three values, or None
    for another estimator's. Stata's and the linear models' ways of writing it (``robust``,
    ``{cluster: firm}``) are named with the value that does it here."""
    expected = str((err.get("ctx") or {}).get("expected", ""))
    if "'white'" not in expected:
        return None
    given = err.get("input")
    shown = "a mapping" if isinstance(given, dict) else repr(given)
    if isinstance(given, dict) and "cluster" in given:
        advice = "it clusters by the panel's entity only: write se: cluster"
    elif str(given).lower() in ("robust", "hc0", "hc1", "het", "hetero"):
        advice = "White's heteroskedasticity-robust errors (Hansen's het) are se: white"
    else:
        advice = "write conventional, white (heteroskedasticity-robust) or cluster (by entity)"
    return (
        "a panel_threshold model's se is conventional, white or cluster (clustered by entity), "
        f"got {shown}: {advice}"
    )
