"""What an estimator is: a spec model, the variables it reads, and ``fit(frame) -> results``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel

from specrun.data.terms import Component, Term, parse_item
from specrun.errors import SpecError, did_you_mean
from specrun.registry import Registry
from specrun.spec.models import ModelBase, VariableRef

if TYPE_CHECKING:  # the fits import numpy and polars: validating a spec loads neither
    import numpy as np
    import polars as pl

    from specrun.kernels.memo import FitMemo
    from specrun.results import Coefficient, ModelResult

S = TypeVar("S", bound=ModelBase)


@dataclass(frozen=True)
class FitContext:
    """What a fit may know besides its rows: its name, the panel's index columns, the
    results of the models its spec references (``ModelBase.model_refs``), by name, and the
    work it may share with other fits of the process.

    ``frame_key`` names the values of every column of the frame the fit receives, by column
    name (the executor builds it from the panel's transforms, the sample, the rows kept and the
    centring); fits given equal keys and the same ``memo`` share factor codes and swept columns
    (``kernels.memo``). None (the default) shares nothing."""

    name: str
    entity: str
    time: str
    progress: Callable[[str, int], Callable[[int, int], None] | None] = lambda _l, _t: None
    # factor-level columns an estimator drops, rather than fails on, when its rank check finds
    # them collinear with the constant, the fixed effects or earlier columns (Stata's o.)
    omittable: frozenset[str] = frozenset()
    models: Mapping[str, ModelResult] = field(default_factory=dict)
    frame_key: Hashable | None = None
    memo: FitMemo | None = None


@dataclass(frozen=True)
class EstimatorKind(Generic[S]):
    """An estimator family. ``fit`` returns the main result under ``""`` and any addressable
    parts (mediation's ``total``/``mediator``/``outcome``) under their own names."""

    name: str
    spec: type[S]
    fit: Callable[[pl.DataFrame, S, FitContext], Mapping[str, ModelResult]]
    children: tuple[str, ...] = ()
    complete_cases: bool = True  # fit only rows complete in every variable the model names
    notes: Mapping[str, Any] = field(default_factory=dict)
    needs_panel: bool = False  # within-entity dynamics or effects: a spec must have data.panel
    # parts whose names depend on the model (IV's ``first.<endog>``); default: ``children``
    child_names: Callable[[S], tuple[str, ...]] | None = None
    # the fit reads the frame it is given as it is, so the executor may give it a
    # ``FitContext.frame_key`` (an estimator that fits a frame of its own making must not
    # pass such a key on)
    shares_work: bool = False

    def parts(self, spec: S) -> tuple[str, ...]:
        """The addressable parts of a model of this kind (``<model>.<part>``)."""
        return self.child_names(spec) if self.child_names is not None else self.children


ESTIMATORS: Registry[EstimatorKind[Any]] = Registry("estimator")


def variable_marks(model: type[BaseModel]) -> dict[str, VariableRef]:
    """A spec model's fields typed ``VarName``/``VarList``/``TermList``, with their marks."""
    return dict(_variable_marks(model))


@cache
def _variable_marks(model: type[BaseModel]) -> dict[str, VariableRef]:
    # read once per class: validation asks for every model of a spec (a 108-specification
    # multiverse asks 216 times), and the fields of a class do not change
    found = {}
    for name, info in model.model_fields.items():
        metadata = list(info.metadata)
        annotation = info.annotation
        if get_origin(annotation) is not None:
            for arg in get_args(annotation):
                metadata.extend(getattr(arg, "__metadata__", ()))
        marks = [m for m in metadata if isinstance(m, VariableRef)]
        if marks:
            found[name] = marks[0]
    return found


def variable_fields(model: type[BaseModel]) -> list[str]:
    return list(variable_marks(model))


def item_terms(item: str, columns: Collection[str] = ()) -> tuple[Term, ...]:
    """The terms of one list item; a column whose name is not a term (``GDP growth``) reads
    as itself. Raises ``SpecError`` (code ``term``) otherwise."""
    try:
        return parse_item(item)
    except SpecError as exc:
        if item in columns:
            return (Term((Component(item),)),)
        folded = unicodedata.normalize("NFKC", item).strip()
        operated = re.fullmatch(r"((?:L\(\d+/\d+\)|L?D|[LFD]\d*)\.)(.+)", folded)
        if operated and operated.group(2) in columns:
            # a header such as GDP(亿元) is a column, but no term's variable name
            column, operator = operated.group(2), operated.group(1)
            simple = re.fullmatch(r"([LFD])(\d*)\.", operator)
            kind = {"L": "lag", "F": "lead", "D": "diff"}[simple.group(1) if simple else "L"]
            periods = int(simple.group(2) or 1) if simple else 1
            step = f"{kind}: {{vars: ['{column}']" + (
                f", periods: {periods}}}" if periods > 1 else "}"
            )
            raise SpecError(
                f"term '{item}': the column '{column}' cannot take the operator "
                f"'{operator}' (a term's variable is letters, digits and _)",
                code="term",
                hint=f"make it a column first (transforms: - {step} adds "
                f"'{column}_{kind}{periods}'), or rename the column",
            ) from None
        if folded != item and folded in columns:
            # copied from the file as it looks (光缆长度（公里）): headers are read folded
            raise SpecError(
                exc.message, code=exc.code, col=exc.col, hint=did_you_mean(item, columns)
            ) from None
        raise


def check_mark(terms: tuple[Term, ...], mark: VariableRef, item: str) -> None:
    """What a field's mark allows: one plain column (``single``) or lags only (GMM)."""
    if mark.single and (
        len(terms) != 1 or terms[0].is_interaction or terms[0].components[0].factor
    ):
        raise SpecError(
            f"term '{item}': this field takes one variable, optionally with L./F./D. operators",
            code="term",
        )
    if mark.lags_only:
        for term in terms:
            c = term.components[0]
            if term.is_interaction or c.factor or c.diff or c.shift < 0:
                raise SpecError(
                    f"term '{item}': this estimator takes variables and their lags (L.x, L2.x) "
                    "only",
                    code="term",
                )


def model_terms(spec: ModelBase, columns: Collection[str] = ()) -> dict[str, tuple[Term, ...]]:
    """The parsed terms of each field the executor builds (all term fields but ``lags_only``),
    in field order. Raises ``SpecError`` for an item that is not a term."""
    out: dict[str, tuple[Term, ...]] = {}
    for field_name, mark in variable_marks(type(spec)).items():
        if mark.lags_only:
            continue
        value = getattr(spec, field_name)
        items = [value] if isinstance(value, str) else list(value or [])
        out[field_name] = tuple(t for item in items for t in item_terms(item, columns))
    return out


def model_variables(spec: ModelBase) -> list[str]:
    """Every variable a (group-expanded) model spec reads, in field order, without repeats.

    Operators are stripped (``L.Dige`` reads ``Dige``); items that do not parse are returned
    as written (validation reports them)."""
    names: list[str] = []
    for field_name in variable_marks(type(spec)):
        value = getattr(spec, field_name)
        for item in [value] if isinstance(value, str) else value or []:
            try:
                found = [c.variable for t in parse_item(item) for c in t.components]
            except SpecError:
                found = [item]
            for name in found:
                if name not in names:
                    names.append(name)
    for name, _ in spec.variable_refs():
        if name not in names:
            names.append(name)
    return names


def unbuilt_variables(spec: ModelBase) -> list[str]:
    """Variables an estimator reads as written (GMM's lag lists, ``variable_refs``): the
    executor checks and selects them but builds no term columns for them."""
    names: list[str] = []
    for field_name, mark in variable_marks(type(spec)).items():
        value = getattr(spec, field_name)
        if not mark.lags_only or value is None:
            continue
        names.extend(term_variable(item) for item in value)
    names.extend(name for name, _ in spec.variable_refs())
    return list(dict.fromkeys(names))


def term_variable(item: str) -> str:
    """The variable a lagged item reads (``L2.k`` → ``k``); the item itself if not a term."""
    try:
        return parse_item(item)[0].components[0].variable
    except SpecError:
        return item


def coefficient_table(
    names: list[str], beta: np.ndarray, covariance: np.ndarray, df: int | None
) -> dict[str, Coefficient]:
    """Estimates (K,), standard errors, t (or z when ``df`` is None) and two-sided p-values from
    a (K, K) ``covariance``, keyed by ``names``.

    A negative variance — multiway clustering by inclusion–exclusion can give one — leaves that
    coefficient's standard error, statistic and p-value undefined (NaN, as pyfixest 0.60 reports
    them), never a zero standard error with p = 0 that a table would star.
    """
    import numpy as np

    from specrun.kernels.distributions import two_sided_p
    from specrun.results import Coefficient

    variance = np.diag(covariance)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.where(variance < 0.0, np.nan, variance))
        stat = beta / se
    p = two_sided_p(stat, df)
    return {
        n: Coefficient(float(b), float(s), float(t), float(pv))
        for n, b, s, t, pv in zip(names, beta, se, stat, p, strict=True)
    }
