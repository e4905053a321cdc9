"""Resolve a spec's models: ``extends`` inheritance, ``variants`` overlays, ``$group`` names.

Models are merged as raw mappings (a key set to null drops an inherited one), remembering
where each key was written, and only then validated against the estimator's spec model, so
an error in an inherited key points at the line that wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from specrun.errors import did_you_mean
from specrun.estimators import ESTIMATORS
from specrun.estimators.base import variable_fields
from specrun.spec import schema
from specrun.spec.diagnostics import Diagnostics
from specrun.spec.load import PathKey, SpecDocument
from specrun.spec.models import ModelBase
from specrun.spec.multiverse import (
    MAX_SPECIFICATIONS,
    RESAMPLING,
    MultiverseSpec,
    ResolvedMultiverse,
    Specification,
    expand,
    focus_term,
    product_size,
)

_NAME = re.compile(r"[^\W\d][\w-]*")  # axis and value names: parts of model names
_GROUP_IN_TERM = re.compile(r"^(?P<pre>[^$]*)\(\$(?P<group>\w+)\)(?P<post>[^$]*)$")
# Stata's operator on a list of variables, L.(x z) or L(0/2).(x z): a parenthesis after the
# operator's point holding one or more names
_LIST_IN_TERM = re.compile(
    r"^(?P<pre>[^$]*\.)\((?P<names>\s*\w+(?:\s+\w+)*\s*)\)(?P<post>[^$()]*)$"
)
NOT_INHERITED = ("extends", "over", "label")  # by a model that extends another


def list_in_term(item: str) -> list[str] | None:
    """The terms of Stata's operator on a list of variables, ``L.(x z)`` → ``L.x``, ``L.z``
    (``L(0/2).(x z)``, ``c.(x z)#c.w`` alike), or None for any other item."""
    listed = _LIST_IN_TERM.match(item)
    if listed is None:
        return None
    pre, post = listed.group("pre"), listed.group("post")
    return [f"{pre}{name}{post}" for name in listed.group("names").split()]


NOT_OVERLAID = ("extends", "label")  # by a variant: a variant of a family is a family
VARIANT_ONLY = ("transforms", "winsorize")


def _effect_key(effect: Any) -> Any:
    """What makes two absorbed effects the same: their columns, in any order (``a#b``,
    ``b # a``)."""
    if not isinstance(effect, str):
        return repr(effect)
    return frozenset(part.strip() for part in effect.split("#"))


@dataclass(frozen=True)
class ResolvedModel:
    """A model after ``extends`` and variant overlays, with ``$groups`` expanded."""

    name: str
    spec: ModelBase
    path: PathKey
    transforms: tuple[Any, ...] = ()  # steps applied to this model's data only (variants)
    base: str | None = None  # the model a variant derives from
    # where each key was written (its own body, a base model or a variant)
    origins: Mapping[str, PathKey] = field(default_factory=dict, compare=False, repr=False)
    # where each of ``transforms`` was written (a multiverse's steps come from its axes)
    step_paths: tuple[PathKey, ...] = field(default=(), compare=False, repr=False)

    def step_path(self, i: int) -> PathKey:
        """The spec path of step ``i`` of ``transforms``, for errors about it."""
        return self.step_paths[i] if i < len(self.step_paths) else (*self.path, "transforms", i)


class ModelResolver(Diagnostics):
    # resolve a multiverse's axis values once each where that is exact (``value_overlays``);
    # False overlays every specification whole (the reference the tests compare with)
    per_value = True

    def __init__(self, doc: SpecDocument) -> None:
        super().__init__(doc)
        # models whose types failed: their variable names are still checked against the data
        self.unvalidated: list[tuple[type[BaseModel], dict[str, Any], dict[str, PathKey]]] = []
        # models that could not be resolved or typed: errors about their variants, children
        # and the tables naming them follow from the first error and are not repeated
        self.failed: set[str] = set()
        self.multiverses: dict[str, ResolvedMultiverse] = {}

    def resolve_models(self, groups: dict[str, tuple[str, ...]]) -> dict[str, ResolvedModel]:
        raw = self.doc.data.get("models")
        if not isinstance(raw, dict):
            return {}
        merged: dict[str, tuple[dict[str, Any], dict[str, PathKey]]] = {}

        def resolve(name: str) -> tuple[dict, dict] | None:
            # walk up the extends chain first (iteratively: a chain may be long), then merge
            # from the root down, so each model's keys override its base's
            chain: list[str] = []
            current = name
            while current not in merged:
                body = raw.get(current)
                if not isinstance(body, dict):
                    return None
                chain.append(current)
                if "extends" not in body:
                    break
                base = body["extends"]
                where = ("models", current, "extends")
                if not isinstance(base, str):
                    self.error(
                        "extends takes the name of one model, got "
                        f"{type(base).__name__ if base is not None else 'nothing'}",
                        where,
                        code="schema",
                        hint=f"extends: {base[0]}"
                        if isinstance(base, list) and len(base) == 1 and isinstance(base[0], str)
                        else None,
                    )
                    return None
                if base not in raw:
                    self.error(
                        f"extends unknown model '{base}'",
                        where,
                        code="reference",
                        hint=did_you_mean(base, [str(k) for k in raw]),
                    )
                    return None
                if base in chain:
                    cycle = [*chain[chain.index(base) :], base]
                    self.error(
                        "extends forms a cycle: " + " → ".join(cycle),
                        where,
                        code="reference",
                    )
                    return None
                current = base
            for model in reversed(chain):
                body = raw[model]
                own = {k: v for k, v in body.items() if k != "extends"}
                result: dict[str, Any] = {}
                result_origins: dict[str, PathKey] = {}
                if "extends" in body:
                    inherited = merged.get(body["extends"])
                    if inherited is None:
                        return None
                    result = {k: v for k, v in inherited[0].items() if k not in NOT_INHERITED}
                    result_origins = {k: inherited[1][k] for k in result}
                for key, value in own.items():  # an explicit null drops an inherited key
                    if value is None and key in result:
                        del result[key]
                        del result_origins[key]
                    elif value is not None:
                        result[key] = value
                        result_origins[key] = ("models", model, key)
                merged[model] = (result, result_origins)
            return merged.get(name)

        def ancestors(name: str) -> list[str]:
            seen: dict[str, None] = {}  # ordered, with O(1) membership (chains may be long)
            base = raw[name].get("extends") if isinstance(raw.get(name), dict) else None
            while isinstance(base, str) and base in raw and base not in seen and base != name:
                seen[base] = None
                body = raw[base]
                base = body.get("extends") if isinstance(body, dict) else None
            return list(seen)

        lineage = {name: ancestors(name) for name in raw}
        models: dict[str, ResolvedModel] = {}
        # bases first, so a model whose base is broken is known to be a consequence of it
        for name in sorted(raw, key=lambda n: len(lineage[n])):
            base = raw[name].get("extends") if isinstance(raw.get(name), dict) else None
            if isinstance(base, str) and base in self.failed:
                self.failed.add(name)  # its errors are its base's: reported once, there
                continue
            if "." in name:
                self.error(
                    "model names cannot contain '.' (it separates variants and groups)",
                    ("models", name),
                    code="schema",
                    key=True,
                )
                continue
            entry = resolve(name)
            if entry is None:
                self.failed.add(name)
                continue
            model = self.typed_model(name, entry[0], entry[1], groups)
            if model is not None:
                models[name] = ResolvedModel(name, model, ("models", name), origins=entry[1])
            else:
                self.failed.add(name)
        models = {name: models[name] for name in raw if name in models}  # the spec's order
        self.resolve_variants(merged, models, groups)
        self.resolve_multiverses(merged, models, groups)
        return models

    def typed_model(
        self,
        name: str,
        body: dict[str, Any],
        origins: dict[str, PathKey],
        groups: dict[str, tuple[str, ...]],
        layer: PathKey | None = None,
    ) -> ModelBase | None:
        """The model ``name`` validated, or None with its errors noted: each key's at its
        origin, an error of the model as a whole (two keys that exclude each other) or of a
        key it lacks at ``at`` (a variant's or a specification's own layer, since the model
        itself is written nowhere), else at ``models.<name>``."""
        kind = body.get("estimator")
        expanded = dict(body)
        if isinstance(kind, str) and kind in ESTIMATORS:
            spec_cls = ESTIMATORS.get(kind).spec
            for field_name in variable_fields(spec_cls):
                if field_name in body:
                    expanded[field_name] = self.expand_groups(
                        body[field_name], origins[field_name], groups
                    )
        for field_name, value in body.items():
            # other lists of names (e.g. GMM's iv:) take known groups too
            if field_name not in expanded or expanded[field_name] is not value:
                continue
            if isinstance(value, list) and any(
                isinstance(v, str) and v.startswith("$") and v[1:] in groups for v in value
            ):
                expanded[field_name] = self.expand_groups(value, origins[field_name], groups)
        if isinstance(expanded.get("absorb"), list):
            expanded["absorb"] = self.index_effects(expanded["absorb"], origins.get("absorb"))
            if kind == "mediation":
                self.mediation_absorb(name, expanded, origins)
        if isinstance(expanded.get("effects"), list):
            # the shorthand takes entity and time only (a column name there is a type error,
            # naming the keywords): an effect given twice is still said at the item
            expanded["effects"] = self.index_effects(
                expanded["effects"], origins.get("effects"), rename=False
            )
        se = expanded.get("se")
        if isinstance(se, dict) and isinstance(se.get("cluster"), list | str):
            at = origins.get("se")
            cluster = self.index_clusters(se["cluster"], (*at, "cluster") if at else None)
            expanded["se"] = {**se, "cluster": cluster}
        try:
            return schema.validate_tagged("models", expanded)
        except ValidationError as exc:
            where = layer if layer is not None else ("models", name)
            self.pydantic_errors(exc, schema.model_union(), expanded, where, origins)
            if isinstance(kind, str) and kind in ESTIMATORS:
                self.unvalidated.append((ESTIMATORS.get(kind).spec, body, origins))
            return None

    def mediation_absorb(
        self, name: str, expanded: dict[str, Any], origins: dict[str, PathKey]
    ) -> None:
        """A mediation model's ``absorb:`` read as its ``effects:``, in place, when it names only
        the panel's entity and time (``absorb: [省份, 年份]`` as reghdfe writes it, often
        inherited through ``extends:`` from a ``panel_fe`` baseline): the same model, plan hash
        and results as ``effects: [entity, time]``. Any other effect is an error at the
        ``absorb:`` item naming the model (the mediation bootstrap refits the three
        regressions on resampled entities with entity and time effects only), and ``absorb:``
        is then dropped so that it is not also reported as an unknown key. A model giving its
        own ``effects:`` replaces an inherited ``absorb:``; both in the model are an error."""
        absorb = expanded["absorb"]
        path = origins.get("absorb", ("models", name, "absorb"))
        inherited = path[:2] != ("models", name)
        if "effects" in expanded:
            if inherited:
                expanded.pop("absorb")  # the model's own effects: replace its base's absorb:
            else:
                message = "give absorb or its shorthand effects, not both"
                self.error(message, path, code="schema", key=True)
                expanded.pop("absorb")
            return
        others = [(i, t) for i, t in enumerate(absorb) if t not in ("entity", "time")]
        for i, term in others:
            self.error(
                f"model '{name}' (estimator: mediation) absorbs the panel's entity and time "
                f"effects only, not '{str(term).strip()}'"
                + (f" (inherited from {path[1]} through extends)" if inherited else ""),
                (*path, i),
                code="schema",
                hint=f"give model '{name}' its own absorb: [entity, time] (or effects:)",
            )
        if others:
            expanded.pop("absorb")
            return
        expanded["effects"] = expanded.pop("absorb")
        origins["effects"] = path

    def panel_index(self) -> dict[str, str]:
        """The panel's own entity and time columns → ``entity`` / ``time``; empty for a
        cross-section."""
        data = self.doc.data.get("data")
        panel = data.get("panel") if isinstance(data, dict) else None
        if not isinstance(panel, dict):
            return {}
        return {
            column.strip(): keyword
            for keyword in ("entity", "time")
            if isinstance(column := panel.get(keyword), str) and column.strip()
        }

    def index_effects(
        self, absorb: list[Any], path: PathKey | None = None, *, rename: bool = True
    ) -> list[Any]:
        """``absorb`` with the panel's own entity and time columns written as ``entity`` and
        ``time`` (``absorb: [省份, 年份]`` is ``absorb: [entity, time]``, as reghdfe's
        ``absorb(province year)`` after ``xtset province year``). Every later stage (the fit,
        its ``effects``, the tables' FE rows, the joint tests, the plan hash) then sees one
        spelling of the same model. An interaction (``region#year``) is kept as written: it
        is not the panel's entity or time effect, and its name is what tables print. An effect
        written twice (``[firm, firm]``, ``[entity, 省份]``, ``[a#b, b#a]``) is an error at
        the later item, which is left out. ``rename=False`` checks repeats only."""

        def twice(effect: Any, term: Any, first: Any) -> str:
            if isinstance(effect, str) and effect in ("entity", "time") and first != term:
                # absorb: [entity, 省份] named one effect in two spellings: said naming the column
                column = (term if term != effect else first).strip()
                return (
                    f"'{column}' is the panel's {effect} column (data.panel.{effect}), so "
                    f"the {effect} effect is absorbed twice: write it once"
                )
            if str(first).strip() != str(term).strip():  # region#year, year#region
                return (
                    f"effect '{str(term).strip()}' is '{str(first).strip()}' again: "
                    "absorbed twice: write it once"
                )
            return f"effect '{str(term).strip()}' is absorbed twice: write it once"

        index = self.panel_index() if rename else {}
        return self.named_once(absorb, path, index, _effect_key, twice)

    def index_clusters(self, cluster: list[Any] | str, path: PathKey | None) -> list[Any] | str:
        """``se: {cluster: …}`` with the panel's own entity and time columns written as
        ``entity`` and ``time``, as ``index_effects`` does for ``absorb``: ``cluster: 省份`` is
        ``cluster: entity`` (the same plan hash, results, tables and cache entries). A
        dimension named twice (``[firm, firm]``, ``[entity, 省份]``) is an error at the later
        item, which is left out."""

        def twice(named: Any, column: Any, first: Any) -> str:
            if named in ("entity", "time") and first != column:
                written = (column if column != named else first).strip()
                return (
                    f"'{written}' is the panel's {named} column (data.panel.{named}), so "
                    f"the standard errors are clustered by {named} twice: write it once"
                )
            return f"cluster column '{str(column).strip()}' is named twice: write it once"

        index = self.panel_index()
        if isinstance(cluster, str):
            return index.get(cluster.strip(), cluster)

        def key(named: Any) -> Any:
            return None if isinstance(named, list | dict) else named  # unhashable: not checked

        return self.named_once(cluster, path, index, key, twice)

    def named_once(
        self,
        items: list[Any],
        path: PathKey | None,
        index: dict[str, str],
        key: Callable[[Any], Any],
        twice: Callable[[Any, Any, Any], str],
    ) -> list[Any]:
        """``items`` with each one naming the panel's own entity or time column written as
        ``entity`` / ``time`` (``index``), and each item whose ``key`` an earlier one had left
        out, with the error ``twice(named, written, first written)`` at it (when ``path``
        locates the list); a ``key`` of None is never a repeat."""
        out: list[Any] = []
        spelt: dict[Any, Any] = {}  # key -> how it was first written
        for i, item in enumerate(items):
            named = index.get(item.strip(), item) if isinstance(item, str) else item
            k = key(named)
            if k is not None and k in spelt and path is not None:
                self.error(twice(named, item, spelt[k]), (*path, i), code="schema")
                continue
            if k is not None:
                spelt.setdefault(k, item)
            out.append(named)
        return out

    def expand_groups(self, value: Any, path: PathKey, groups: dict[str, tuple[str, ...]]) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        out: list[Any] = []
        for i, item in enumerate(items):
            here = path if isinstance(value, str) else (*path, i)
            listed = list_in_term(item) if isinstance(item, str) else None
            if listed is not None:
                out.extend(listed)  # L.(x z): Stata's operator on each variable of the list
                continue
            inner = _GROUP_IN_TERM.match(item) if isinstance(item, str) else None
            if inner is not None and inner.group("group") in groups:
                # L.($controls): the operators apply to every member
                members = groups[inner.group("group")]
                out.extend(f"{inner.group('pre')}{m}{inner.group('post')}" for m in members)
                continue
            if inner is not None:
                group = inner.group("group")
                self.error(
                    f"unknown group '${group}'",
                    here,
                    code="reference",
                    hint=did_you_mean(group, groups),
                )
                continue
            if isinstance(item, str) and item.startswith("$"):
                group = item[1:]
                if group not in groups:
                    self.error(
                        f"unknown group '{item}'",
                        here,
                        code="reference",
                        hint=did_you_mean(group, groups),
                    )
                    continue
                if isinstance(value, str) and len(groups[group]) != 1:
                    out.extend(groups[group])
                    return out
                out.extend(groups[group])
            else:
                out.append(item)
        if isinstance(value, str) and len(out) == 1:
            return out[0]
        return out

    def resolve_variants(
        self, merged: dict, models: dict[str, ResolvedModel], groups: dict[str, tuple[str, ...]]
    ) -> None:
        raw = self.doc.data.get("variants")
        if not isinstance(raw, dict):
            return
        for base, variants in raw.items():
            if base in self.failed:
                continue
            if base not in merged:
                self.error(
                    f"variants of unknown model '{base}'",
                    ("variants", base),
                    code="reference",
                    key=True,
                    hint=did_you_mean(str(base), merged),
                )
                continue
            if not isinstance(variants, dict):
                continue
            for vname, overlay in variants.items():
                path: PathKey = ("variants", base, vname)
                if not isinstance(overlay, dict):
                    continue
                steps_raw = list(overlay.get("transforms", []))
                if "winsorize" in overlay:
                    steps_raw.append({"winsorize": overlay["winsorize"]})
                changes = {k: v for k, v in overlay.items() if k not in VARIANT_ONLY}
                if not steps_raw and set(changes) <= {"label"}:
                    self.error(
                        "a variant must change the sample, the transforms or the estimator "
                        "(it would duplicate its base model)",
                        path,
                        code="schema",
                    )
                    continue
                resolved = self.overlay(
                    f"{base}.{vname}", base, merged, [(path, overlay)], path, groups
                )
                if resolved is not None:
                    models[resolved.name] = resolved

    def overlay(
        self,
        name: str,
        base: str,
        merged: dict,
        layers: list[tuple[PathKey, dict[str, Any]]],
        path: PathKey,
        groups: dict[str, tuple[str, ...]],
    ) -> ResolvedModel | None:
        """The model ``name``: ``base`` overlaid by each layer in turn (a variant is one layer, a
        multiverse specification one per axis). A layer's ``transforms:`` and ``winsorize:``
        apply to the model's data only, after the earlier layers' steps; a key set to null drops
        the base's. Errors point at the layer key that caused them."""
        steps_raw: list[Any] = []
        steps_at: list[PathKey] = []
        body = {k: v for k, v in merged[base][0].items() if k not in NOT_OVERLAID}
        origins = {k: merged[base][1][k] for k in body}
        for layer_path, layer in layers:
            own = list(layer.get("transforms", []))
            steps_at.extend((*layer_path, "transforms", i) for i in range(len(own)))
            if "winsorize" in layer:
                own.append({"winsorize": layer["winsorize"]})
                steps_at.append(layer_path)  # the step's own key, winsorize, follows
            steps_raw.extend(own)
            for key, value in layer.items():
                if key in VARIANT_ONLY:
                    continue
                if value is None:
                    body.pop(key, None)
                    origins.pop(key, None)
                else:
                    body[key] = value
                    origins[key] = (*layer_path, key)
        steps: list[Any] = []
        if steps_raw:
            try:
                steps = schema.validate_steps(steps_raw)
            except ValidationError as exc:
                first = steps_at[exc.errors()[0]["loc"][0]]
                layer_at = first[:-2] if first[-2:-1] == ("transforms",) else first
                at = layer_at if len(layers) > 1 else path
                self.pydantic_errors(exc, list[schema.transform_step()], steps_raw, at)
                return None
        model = self.typed_model(name, body, origins, groups, layers[-1][0] if layers else None)
        if model is None:
            return None
        return ResolvedModel(name, model, path, tuple(steps), base, origins, tuple(steps_at))

    def resolve_multiverses(
        self, merged: dict, models: dict[str, ResolvedModel], groups: dict[str, tuple[str, ...]]
    ) -> None:
        """Expand each valid ``multiverse:`` entry into one model per specification."""
        raw = self.doc.data.get("multiverse")
        if not isinstance(raw, dict):
            return
        for name, body in raw.items():
            try:
                spec = MultiverseSpec.model_validate(body)
            except ValidationError:
                # reported with the section's types; tables naming its specifications follow
                # from that error
                self.failed.add(f"{name}[")
                continue
            resolved = self.resolve_multiverse(str(name), spec, merged, models, groups)
            if resolved is not None:
                # resolved from the axes as written (errors name the columns), kept as the
                # specifications read them
                resolved = replace(resolved, spec=self.index_axes(spec))
                self.multiverses[resolved.name] = resolved
            else:  # tables naming its specifications follow from its own error
                self.failed.add(f"{name}[")

    def index_axes(self, spec: MultiverseSpec) -> MultiverseSpec:
        """``spec`` with its axis values' ``absorb:`` and ``se: {cluster: …}`` naming the
        panel's index as ``entity`` and ``time`` (``index_effects``, ``index_clusters``), so
        that the multiverse's plan node, which holds the axes, is the same whichever way a
        value writes them. Errors are said where each specification is resolved, before."""

        def indexed(layer: dict[str, Any]) -> dict[str, Any]:
            layer = dict(layer)
            if isinstance(layer.get("absorb"), list):
                layer["absorb"] = self.index_effects(layer["absorb"])
            se = layer.get("se")
            if isinstance(se, dict) and isinstance(se.get("cluster"), list | str):
                layer["se"] = {**se, "cluster": self.index_clusters(se["cluster"], None)}
            return layer

        axes = {
            axis: {value: indexed(layer) for value, layer in values.items()}
            for axis, values in spec.axes.items()
        }
        return spec if axes == spec.axes else spec.model_copy(update={"axes": axes})

    def resolve_multiverse(
        self,
        name: str,
        spec: MultiverseSpec,
        merged: dict,
        models: dict[str, ResolvedModel],
        groups: dict[str, tuple[str, ...]],
    ) -> ResolvedMultiverse | None:
        here: PathKey = ("multiverse", name)
        if spec.base in self.failed:
            return None  # the base's own error says it
        if spec.base not in merged or spec.base not in models:
            self.error(
                f"multiverse '{name}': base '{spec.base}' is not a model",
                (*here, "base"),
                code="reference",
                hint=did_you_mean(spec.base, [str(k) for k in merged]),
            )
            return None
        ok = True
        if not spec.axes:
            self.error(f"multiverse '{name}' has no axes", (*here, "axes"), code="schema")
            return None
        for axis, values in spec.axes.items():
            for label, path in [(axis, (*here, "axes", axis))] + [
                (v, (*here, "axes", axis, v)) for v in values
            ]:
                if not _NAME.fullmatch(str(label)):
                    self.error(
                        f"multiverse '{name}': {label!r} is not a name: use letters, digits, "
                        "'_' or '-', starting with a letter or '_' (it is part of the "
                        "specifications' model names)",
                        path,
                        code="schema",
                        key=True,
                    )
                    ok = False
            if not values:
                self.error(
                    f"multiverse '{name}': axis '{axis}' has no values, so the product of the "
                    "axes is empty",
                    (*here, "axes", axis),
                    code="schema",
                )
                ok = False
        for i, rule in enumerate(spec.exclude):
            if not rule:
                self.error(
                    f"multiverse '{name}': an empty exclude rule would exclude everything",
                    (*here, "exclude", i),
                    code="schema",
                )
                ok = False
            for axis, value in rule.items():
                where = (*here, "exclude", i, axis)
                if axis not in spec.axes:
                    self.error(
                        f"multiverse '{name}': exclude names unknown axis '{axis}'",
                        where,
                        code="reference",
                        key=True,
                        hint=did_you_mean(axis, spec.axes) or "axes: " + ", ".join(spec.axes),
                    )
                    ok = False
                elif value not in spec.axes[axis]:
                    self.error(
                        f"multiverse '{name}': exclude names unknown value '{value}' of axis "
                        f"'{axis}'",
                        where,
                        code="reference",
                        hint=did_you_mean(value, spec.axes[axis])
                        or "values: " + ", ".join(spec.axes[axis]),
                    )
                    ok = False
        if not ok:
            return None
        size = product_size(spec.axes)
        if size > MAX_SPECIFICATIONS:
            sizes = " × ".join(str(len(v)) for v in spec.axes.values())
            self.error(
                f"multiverse '{name}': its axes give {sizes} = {size:,} specifications; a "
                f"multiverse takes at most {MAX_SPECIFICATIONS:,}",
                (*here, "axes"),
                code="schema",
                hint="drop axis values or exclude combinations that make no sense",
            )
            return None
        specifications = expand(spec, name)
        if not specifications:
            self.error(
                f"multiverse '{name}': exclude removes all {size:,} specifications",
                (*here, "exclude"),
                code="schema",
            )
            return None
        seen: set[str] = set()
        reported: set[tuple[str, str, str, str, str]] = set()
        expanded: dict[str, ResolvedModel] = {}
        regressors: set[str] = set()  # of every specification: is the focus in any?
        combine = self.value_overlays(name, spec, merged, groups) if self.per_value else None
        for item in specifications:
            if item.name in models:
                self.error(
                    f"multiverse '{name}': specification '{item.name}' is also a model's name",
                    here,
                    code="reference",
                    key=True,
                )
                return None
            if not self.check_disjoint(name, spec, item, reported):
                ok = False
                continue
            model = combine(item) if combine is not None else None
            if model is not None:
                ok = self.check_specification(name, spec, item.name, model, seen) and ok
                expanded[item.name] = model
                x = getattr(model.spec, "x", None)
                if model.spec.estimator in RESAMPLING and isinstance(x, list):
                    regressors.update(map(str, x))
                continue
            layers = [((*here, "axes", a, v), spec.axes[a][v]) for a, v in item.choices]
            before = len(self.errors)
            model = self.overlay(item.name, spec.base, merged, layers, here, groups)
            new = self.errors[before:]
            del self.errors[before:]
            for error in new:
                # one bad axis value fails many specifications: say it once, naming the first;
                # an error of the base model itself was said already, at the base model
                if str(error) in seen or any(str(error) == str(e) for e in self.errors):
                    continue
                seen.add(str(error))
                chosen = ", ".join(f"{a}={v}" for a, v in item.choices)
                error.message = f"{error.message} (in specification '{item.name}': {chosen})"
                self.errors.append(error)
            if model is None:
                ok = False
                continue
            ok = self.check_specification(name, spec, item.name, model, seen) and ok
            expanded[item.name] = model
            x = getattr(model.spec, "x", None)
            if model.spec.estimator in RESAMPLING and isinstance(x, list):
                regressors.update(map(str, x))
        if regressors and all(focus_term(spec.focus, [r]) is None for r in regressors):
            # a focus no specification has is a typo in focus:, not in every axis's x
            unrelated = f"multiverse '{name}': focus '{spec.focus}' is not a regressor of "
            self.errors = [e for e in self.errors if not e.message.startswith(unrelated)]
            self.error(
                f"multiverse '{name}': focus '{spec.focus}' is a regressor of no specification",
                (*here, "focus"),
                code="reference",
                hint=did_you_mean(spec.focus, sorted(regressors)),
            )
            ok = False
        if not ok:
            self.failed.update(s.name for s in specifications)
            return None
        models.update(expanded)
        return ResolvedMultiverse(name, spec, tuple(specifications))

    def check_disjoint(
        self,
        name: str,
        spec: MultiverseSpec,
        item: Specification,
        reported: set[tuple[str, str, str, str, str]],
    ) -> bool:
        """Whether the axis values ``item`` chooses set different model keys (``transforms:``
        and ``winsorize:`` steps add up, in axis order). Two that set one key made a
        specification whose name claims both values while it fitted the later one's alone;
        each such pair of values is an error once, located at the later value's key."""
        here: PathKey = ("multiverse", name)
        writer: dict[str, tuple[str, str]] = {}
        ok = True
        for axis, value in item.choices:
            for key in spec.axes[axis][value]:
                if key in VARIANT_ONLY:
                    continue
                if key not in writer:
                    writer[key] = (axis, value)
                    continue
                ok = False
                first_axis, first_value = writer[key]
                pair = (key, first_axis, first_value, axis, value)
                if pair in reported:
                    continue
                reported.add(pair)
                self.error(
                    f"multiverse '{name}': '{key}' is set by both {first_axis}={first_value} "
                    f"and {axis}={value}, so specification '{item.name}' would fit the "
                    f"latter's alone",
                    (*here, "axes", axis, value, key),
                    code="schema",
                    key=True,
                    hint=f"set '{key}' on one axis, or exclude the combination "
                    f"({{{first_axis}: {first_value}, {axis}: {value}}})",
                )
        return ok

    def value_overlays(
        self,
        name: str,
        spec: MultiverseSpec,
        merged: dict,
        groups: dict[str, tuple[str, ...]],
    ) -> Callable[[Specification], ResolvedModel | None] | None:
        """Resolve each axis value once, as an overlay of the base alone, and return how to
        combine the values a specification chooses into its model; None when a specification
        must be overlaid whole (``overlay``), which is when:

        - a value sets ``estimator`` (it picks the class the other keys are validated by) or
          sets a key to null (the class default then applies, not a validated value);
        - values of two different axes write the same model key (``transforms:`` and
          ``winsorize:`` steps excepted: they are validated one by one and run in axis order);
        - the base's spec class has field validators, or a key is not one of its field names
          (an alias): the combination re-runs only the class's model validators;
        - the base, or any value overlaid on it alone, does not resolve: its errors are then
          reported by the whole overlays, located and worded as ever.

        A combination re-validates the base's and the values' validated fields together, so
        the class's model validators (the rules across keys: ``absorb`` with ``effects``) run
        on each specification; one that fails them returns None and is overlaid whole. The
        model equals the whole overlay's (``tests/test_multiverse.py`` compares every
        multiverse of ``specs/`` and the benchmark both ways)."""
        here: PathKey = ("multiverse", name)
        writers: dict[str, str] = {}  # model key → the axis whose values write it
        for axis, values in spec.axes.items():
            for layer in values.values():
                for key, value in layer.items():
                    if key in VARIANT_ONLY:
                        continue
                    if value is None or key == "estimator" or writers.get(key, axis) != axis:
                        return None
                    writers[key] = axis
        errors, unvalidated, hints = len(self.errors), len(self.unvalidated), len(self.hints)

        def abandon() -> None:
            # the whole overlays will report these, located as ever
            del self.errors[errors:], self.unvalidated[unvalidated:], self.hints[hints:]

        base = self.overlay(f"{name}[]", spec.base, merged, [], here, groups)
        if base is None:
            abandon()
            return None
        cls = type(base.spec)
        base_keys = [k for k in merged[spec.base][0] if k not in NOT_OVERLAID]
        if cls.__pydantic_decorators__.field_validators or not set(base_keys) | set(writers) <= set(
            cls.model_fields
        ):
            return None
        parts: dict[tuple[str, str], tuple[dict[str, Any], ResolvedModel]] = {}
        for axis, values in spec.axes.items():
            for value, layer in values.items():
                at: PathKey = (*here, "axes", axis, value)
                alone = self.overlay(
                    f"{name}[{axis}={value}]", spec.base, merged, [(at, layer)], here, groups
                )
                if alone is None or type(alone.spec) is not cls:
                    abandon()
                    return None
                keys = [k for k in layer if k not in VARIANT_ONLY]
                parts[axis, value] = ({k: getattr(alone.spec, k) for k in keys}, alone)
        if len(self.errors) > errors:
            abandon()
            return None
        fields = {k: getattr(base.spec, k) for k in base_keys}

        def combine(item: Specification) -> ResolvedModel | None:
            data = dict(fields)
            origins = dict(base.origins)
            steps: list[Any] = []
            steps_at: list[PathKey] = []
            for choice in item.choices:
                written, alone = parts[choice]
                data.update(written)
                for key in written:
                    origins[key] = alone.origins[key]
                steps.extend(alone.transforms)
                steps_at.extend(alone.step_paths)
            try:
                model = cls.model_validate(data)
            except ValidationError:
                return None  # a rule across keys: the whole overlay reports it
            return ResolvedModel(
                item.name, model, here, tuple(steps), spec.base, origins, tuple(steps_at)
            )

        return combine

    def check_specification(
        self,
        name: str,
        spec: MultiverseSpec,
        spec_name: str,
        model: ResolvedModel,
        seen: set[str],
    ) -> bool:
        """The focus is a regressor of the specification and, with joint tests, its estimator
        has a resampling scheme the tests can refit on."""
        here: PathKey = ("multiverse", name)
        fitted = model.spec
        regressors = getattr(fitted, "x", None)
        if fitted.over:
            problem = "over: makes it a family of models; a specification is one model"
            if problem not in seen:
                seen.add(problem)
                self.error(
                    f"multiverse '{name}': specification '{spec_name}': {problem}",
                    model.origins.get("over", here),
                    code="schema",
                )
            return False
        if fitted.estimator == "descriptive":
            problem = "a descriptive model has no coefficients for the focus"
            if problem not in seen:
                seen.add(problem)
                self.error(
                    f"multiverse '{name}': specification '{spec_name}': {problem}",
                    # at the axis value that made it descriptive, else at the base
                    origin
                    if (origin := model.origins.get("estimator", here))[0] == "multiverse"
                    else (*here, "base"),
                    code="reference",
                )
            return False
        # other estimators name their coefficients otherwise (a mediation's indirect): their
        # focus is checked against the fit
        threshold = _threshold_coefficients(fitted)
        if threshold is not None and focus_term(spec.focus, threshold) is None:
            # a run said it only after fitting every specification
            where = (*here, "focus")
            if str(where) not in seen:
                seen.add(str(where))
                self.error(
                    f"multiverse '{name}': specification '{spec_name}' has no coefficient "
                    f"'{spec.focus}' (it has {', '.join(threshold)})",
                    where,
                    code="reference",
                    hint="a threshold model's regime_x slopes are named <variable>_r1, _r2, … "
                    "by regime",
                )
            return False
        draws = getattr(fitted, "bootstrap", 0)
        if threshold is not None and isinstance(draws, int) and draws > 0:
            # each specification would bootstrap its F tests (bootstrap × max_thresholds refits
            # of the grid search), which the curve never reads: a 216-specification curve of
            # Hansen's model ran its 900 refits 216 times
            key = f"bootstrap of {name}"
            if key not in seen:
                seen.add(key)
                self.hints.append(
                    self.doc.error(
                        f"multiverse '{name}': its threshold specifications bootstrap their "
                        f"threshold tests (bootstrap: {draws} each), which the curve does not "
                        "read: bootstrap: 0 on the base, or in an axis' values, fits them "
                        "without",
                        model.origins.get("bootstrap", (*here, "base")),
                        code="hint",
                    )
                )
        if (
            fitted.estimator in RESAMPLING
            and isinstance(regressors, list)
            and focus_term(spec.focus, regressors) is None
        ):
            # at the axis value (or base key) that wrote this x, once however many it fails
            where = model.origins.get("x", (*here, "focus"))
            if str(where) not in seen:
                seen.add(str(where))
                self.error(
                    f"multiverse '{name}': focus '{spec.focus}' is not a regressor of "
                    f"specification '{spec_name}' (x: {', '.join(map(str, regressors))})",
                    where,
                    code="reference",
                )
            return False
        if spec.inference is None:
            return True
        estimator = fitted.estimator
        problem = None
        if estimator not in RESAMPLING:
            problem = (
                f"estimator '{estimator}' has no resampling scheme for the joint tests "
                f"(they refit: {', '.join(sorted(RESAMPLING))})"
            )
        elif getattr(fitted, "weights", None) is not None:
            problem = "the joint tests' entity bootstrap takes no weights"
        elif estimator == "panel_fe" and not set(fitted.absorbed()) <= {"entity", "time"}:
            others = [t for t in fitted.absorbed() if t not in ("entity", "time")]
            problem = (
                "the joint tests' entity bootstrap absorbs entity and time effects only, not "
                + ", ".join(others)
            )
        elif getattr(fitted, "singletons", "keep") == "drop":
            problem = "the joint tests' entity bootstrap keeps singletons (singletons: keep)"
        if problem is None:
            return True
        if problem in seen:
            return False  # said once, for the first specification that has it
        seen.add(problem)
        self.error(
            f"multiverse '{name}': specification '{spec_name}': {problem}",
            (*here, "inference"),
            code="reference",
        )
        return False

    def check_multiverse_refs(self, sections: dict[str, Any]) -> None:
        """A table or figure naming a multiverse (``multiverse: robustness``) names one the spec
        defines; one that failed to resolve has said why already."""
        raw = self.doc.data.get("multiverse")
        written = set(raw) if isinstance(raw, dict) else set()
        for section in ("tables", "figures"):
            for name, item in sections.get(section, {}).items():
                ref = getattr(item, "multiverse", None)
                if ref is None or ref in self.multiverses or ref in written:
                    continue
                self.error(
                    f"unknown multiverse '{ref}'",
                    (section, name, "multiverse"),
                    code="reference",
                    hint=did_you_mean(ref, written)
                    or (
                        "multiverses: " + ", ".join(sorted(written))
                        if written
                        else "the spec has no multiverse: section"
                    ),
                )


def _threshold_coefficients(fitted: Any) -> list[str] | None:
    """The coefficients a ``panel_threshold`` model reports (``Dige_r1`` … ``Dige_r<k+1>`` for
    each ``regime_x`` of its reported model of k thresholds, then its controls, as
    ``estimators.threshold`` names them); None for another estimator, or when a factor or an
    interaction among them names its coefficients from the data."""
    if fitted.estimator != "panel_threshold":
        return None
    terms = [str(t) for t in [*fitted.regime_x, *fitted.controls]]
    if any("#" in t or "(" in t or t.startswith(("i.", "ib")) for t in terms):
        return None
    regimes = (fitted.report or fitted.max_thresholds) + 1
    slopes = [f"{x}_r{k}" for x in map(str, fitted.regime_x) for k in range(1, regimes + 1)]
    return [*slopes, *map(str, fitted.controls)]
