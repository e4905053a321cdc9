"""The ``multiverse:`` section: specification axes expanded into ordinary models.

A multiverse names a base model, the coefficient it is about (``focus``) and axes whose values
are overlays of the base in the language of ``variants`` (any model key, ``transforms:``,
``winsorize:``). Their Cartesian product, less the ``exclude:`` combinations, becomes one
ordinary model per specification, named ``<multiverse>[<axis>=<value>,…]`` with every axis in
the order written (``robustness[sample=pre_2020,controls=all,se=hc1]``): the plan, the tables
(``columns: ["robustness[sample=pre_2020,controls=all,se=hc1]"]``), ``--only`` and
``results.json`` see plain models. The specification curve and its joint tests (Simonsohn,
Simmons and Nelson 2020) are computed by one ``multiverse`` plan node that reads them.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field

from specrun.spec.models import MAX_DRAWS, StrictModel, new_list

# Beyond this a spec is almost surely a mistake (an axis listed twice, a typo in exclude:);
# a run of it would take hours. The bound says how large the product is.
MAX_SPECIFICATIONS = 10_000
# Estimators whose specifications the joint tests can refit on entity-cluster resamples
# (the within kernel's per-entity Gram blocks, ``kernels.within.entity_blocks``).
RESAMPLING = {"ols": "entity-cluster bootstrap", "panel_fe": "entity-cluster bootstrap"}
_OPERATOR = r"(?:(?:[LFD]\d*)+|[LF]\(\d+/\d+\))\."  # L. L2. LD. F. L(0/2). as Stata writes


class InferenceSpec(StrictModel):
    """Joint tests of the specification curve under the null imposed on the data (Simonsohn,
    Simmons and Nelson 2020, "Specification curve analysis", Nat. Hum. Behav. 4: 1208–1214)."""

    # built with MultiverseSpec, when a spec first has a multiverse (see there)
    model_config = ConfigDict(defer_build=True)

    draws: int = Field(
        500, ge=99, le=MAX_DRAWS, description="Entity-cluster bootstrap samples of the null data."
    )
    seed: int = Field(
        description="Seed of the entity draws (the same draws for every specification)."
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance level counted by the share-significant test."
    )
    direction: Literal["auto", "positive", "negative"] = Field(
        "auto",
        description="The predicted sign of the focus effect; auto takes the sign of the median "
        "observed estimate.",
    )


class MultiverseSpec(StrictModel):
    """One multiverse: a base model, its focus coefficient, axes of overlays, exclusions."""

    # its validator is built on first use: a spec without a multiverse never pays for it
    model_config = ConfigDict(defer_build=True)

    base: str = Field(description="The model every specification overlays (any estimator).")
    focus: str = Field(
        description="The coefficient the curve and the tests are about (a regressor of the "
        "base; an axis that lags it, L.Dige, keeps it in focus)."
    )
    axes: dict[str, dict[str, dict[str, Any]]] = Field(
        description="Axis name → value name → overlay of the base model, as a variant writes it "
        "({} keeps the base). Specifications are named <multiverse>[<axis>=<value>,...] with "
        "every axis in this order."
    )
    exclude: list[dict[str, str]] = Field(
        default_factory=new_list,
        description="Combinations left out: each item a partial assignment {axis: value, ...}; "
        "a specification matching every pair of an item is dropped.",
    )
    inference: InferenceSpec | None = Field(
        None, description="Joint tests under the null (Simonsohn et al. 2020); omit to skip."
    )
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    label: str | None = Field(None, description="Title of the multiverse in tables.")


@dataclass(frozen=True)
class Specification:
    """One point of the multiverse: its model name and the value chosen on each axis."""

    name: str
    choices: tuple[tuple[str, str], ...]  # (axis, value) in axis order


@dataclass(frozen=True)
class ResolvedMultiverse:
    """A valid multiverse: its spec and the specifications it expanded into, in product order
    (the first axis varies slowest)."""

    name: str
    spec: MultiverseSpec
    specifications: tuple[Specification, ...]

    @property
    def axes(self) -> tuple[str, ...]:
        return tuple(self.spec.axes)


def specification_name(multiverse: str, choices: tuple[tuple[str, str], ...]) -> str:
    """``robustness[sample=pre_2020,se=hc1]``: the model name of one specification."""
    return f"{multiverse}[" + ",".join(f"{a}={v}" for a, v in choices) + "]"


def product_size(axes: dict[str, dict[str, Any]]) -> int:
    return math.prod(len(values) for values in axes.values())


def expand(spec: MultiverseSpec, name: str) -> list[Specification]:
    """The Cartesian product of the axes minus the excluded combinations (no checks: the
    resolver reports unknown axes, empty products and the size bound first)."""
    axes = list(spec.axes)
    out = []
    for values in itertools.product(*(list(spec.axes[a]) for a in axes)):
        choices = tuple(zip(axes, values, strict=True))
        chosen = dict(choices)
        if any(all(chosen.get(a) == v for a, v in rule.items()) for rule in spec.exclude):
            continue
        out.append(Specification(specification_name(name, choices), choices))
    return out


def focus_term(focus: str, regressors: list[str]) -> str | None:
    """The regressor a focus names: itself, else the one time-series operator on it
    (``L.Dige`` for ``Dige`` when an axis lags it)."""
    if focus in regressors:
        return focus
    pattern = re.compile(rf"^{_OPERATOR}{re.escape(focus)}$")
    found = [r for r in regressors if isinstance(r, str) and pattern.match(r)]
    return found[0] if len(found) == 1 else None
