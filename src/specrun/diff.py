"""``specrun diff RUN_A RUN_B``: what changed between two output folders, and why.

Reads each folder's ``manifest.json`` (spec and data digests, the plan's node hashes and
inputs), ``results.json`` (every model's coefficients and statistics, every multiverse's size
and joint tests) and the Markdown tables (``tables/<t>.md``, one cell per table position; a
report on runs without them says their cells were not compared). A changed model is traced
through the plan to the nodes that changed on their own — a data file (a load node), a
transform, or the model's own spec fragment — which is the cause reported beside it.
Differences are a report, not an error; a folder that is not a specrun output is a
``SpecError`` (code ``usage``).

Two numbers are the same when their relative difference is at most ``tolerance`` (default
``1e-9``; 0 compares exactly), as R's ``all.equal`` compares numbers: the same spec and data
run on another machine, or with another number of BLAS threads, can differ in the last
binary digits of a sum (about 1e-16 relative), which is not a change of the results. Such
differences are counted and said in one line, not listed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from specrun.errors import SpecError


@dataclass(frozen=True)
class RunFolder:
    """One output folder's manifest, results and Markdown table cells."""

    path: Path
    manifest: dict[str, Any]
    results: dict[str, Any]
    tables: dict[str, dict[tuple[str, str], str]]

    @classmethod
    def read(cls, folder: str | Path) -> RunFolder:
        path = Path(folder)
        if not path.is_dir():
            raise SpecError(f"'{folder}' is not a folder", code="usage")
        documents = []
        for name in ("manifest.json", "results.json"):
            try:
                document = json.loads((path / name).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise SpecError(
                    f"'{folder}' is not a specrun output folder (it has no {name})", code="usage"
                ) from None
            except (OSError, ValueError) as exc:
                raise SpecError(f"cannot read '{path / name}': {exc}", code="usage") from None
            if not isinstance(document, dict) or "specrun_version" not in document:
                raise SpecError(
                    f"'{path / name}' was not written by specrun (no specrun_version)",
                    code="usage",
                )
            documents.append(document)
        tables = {}
        for item in sorted((path / "tables").glob("*.md")):
            try:
                tables[item.stem] = table_cells(item.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:  # a table saved in another encoding
                raise SpecError(f"cannot read '{item}': {exc}", code="usage") from None
        return cls(path, documents[0], documents[1], tables)


def table_cells(markdown: str) -> dict[tuple[str, str], str]:
    """Cells of the pipe tables in ``markdown`` keyed by (row, column): a row is named by its
    first cell (a standard-error row by the coefficient above it plus `` (2nd line)``), a
    column by its position ``(1)``, ``(2)``, …; a second table in the file adds ``[2]``."""
    cells: dict[tuple[str, str], str] = {}
    table = 0
    label = ""
    inside = False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        if not inside:
            inside, table, label = True, table + 1, ""
        parts = [p.strip() for p in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if parts and all(re.fullmatch(r":?-+:?", p) for p in parts):
            continue
        name = parts[0] if parts else ""
        if name:
            label = name
            row = name
        else:
            row = f"{label} (2nd line)" if label else "(header)"
        suffix = f" [{table}]" if table > 1 else ""
        for index, value in enumerate(parts[1:], start=1):
            key = (row + suffix, f"({index})")
            while key in cells:  # repeated header rows keep their order
                key = (key[0] + "'", key[1])
            cells[key] = value
    return cells


DEFAULT_TOLERANCE = 1e-9
# the largest tolerance whose differences the report calls rounding (R's all.equal takes
# 1.5e-8, the square root of a double's precision); a looser one is said as a tolerance
ROUNDING = 1.5e-8


@dataclass
class RunDiff:
    """The differences between two runs, and their causes; ``rounding`` counts the numbers
    that differ by at most ``tolerance`` (relative), which are not listed."""

    a: Path
    b: Path
    tolerance: float = DEFAULT_TOLERANCE
    rounding: int = 0
    causes: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    coefficients: list[str] = field(default_factory=list)
    multiverses: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    # why table cells were not compared (no Markdown tables in either folder), else ""
    uncompared: str = ""

    @property
    def same(self) -> bool:
        return not (
            self.models or self.coefficients or self.multiverses or self.cells or self.causes
        )

    def differs(self, x: Any, y: Any) -> bool:
        """Whether two values of the results differ: numbers by more than ``tolerance``
        relative to the larger (a smaller difference is counted in ``rounding``), anything
        else when unequal."""
        if isinstance(x, bool) or isinstance(y, bool):
            return x is not y  # true is not the number 1 (as Python's True == 1 would have it)
        if x == y:
            return False
        if not (_is_number(x) and _is_number(y)):
            return True
        if not (_finite(x) and _finite(y)):
            return not (math.isnan(x) and math.isnan(y))
        if isinstance(x, int) or isinstance(y, int):
            # exactly: an integer beyond a float's range (a results.json edited by hand)
            # cannot be converted, and below it the conversion would round
            a, b = Fraction(x), Fraction(y)
            close = abs(a - b) <= Fraction(self.tolerance) * max(abs(a), abs(b))
        else:
            close = abs(x - y) <= self.tolerance * max(abs(x), abs(y))
        if close:
            self.rounding += 1
            return False
        return True

    def _rounding_line(self) -> str:
        if not self.rounding:
            return ""
        numbers = "number differs" if self.rounding == 1 else "numbers differ"
        if self.tolerance > ROUNDING:
            # a loose tolerance takes real changes for the same: not to be called rounding
            return (
                f"{self.rounding} {numbers} by at most {self.tolerance:g} relative "
                f"(--tolerance {self.tolerance:g}); not listed (--tolerance 0 lists them)"
            )
        return (
            f"{self.rounding} {numbers} only in the last digits (relative difference at most "
            f"{self.tolerance:g}: rounding, e.g. another machine or number of BLAS threads); "
            "not listed (--tolerance 0 lists them)"
        )

    def describe(self) -> str:
        if self.same:
            if self.uncompared:
                text = f"{self.a} and {self.b}: no differences in models or coefficients; " + (
                    self.uncompared
                )
            else:
                text = f"{self.a} and {self.b}: no differences in models, coefficients or tables"
            return text + (f"\n{self._rounding_line()}" if self.rounding else "")
        lines = [f"{self.a} → {self.b}"]
        for title, items in (
            ("changes in the spec or data", self.causes),
            ("models", self.models),
            ("coefficients and statistics", self.coefficients),
            ("multiverses", self.multiverses),
            ("table cells", self.cells),
        ):
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  {item}" for item in items)
        if not (self.models or self.coefficients or self.multiverses or self.cells):
            # a change that moved no number (a comment, or an option set to its default):
            # said outright, so that the list of causes is not read as cut short
            compared = (
                "model, coefficient or statistic"
                if self.uncompared
                else "model, coefficient, statistic or table cell"
            )
            lines.append(f"results: no {compared} changed")
        if self.uncompared:
            lines.append(self.uncompared)
        if self.rounding:
            lines.append(self._rounding_line())
        return "\n".join(lines)


def valid_tolerance(value: float) -> bool:
    """A relative tolerance is a finite number at least 0 (NaN is not)."""
    return value >= 0 and math.isfinite(value)


def diff_runs(
    run_a: str | Path,
    run_b: str | Path,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    every: bool = False,
) -> RunDiff:
    """Compare two output folders, numbers within ``tolerance`` (relative) being the same
    (raises ``SpecError`` if either is not specrun's, or holds a manifest or results file of
    another shape: edited by hand, or by another version; or for a negative tolerance).
    A multiverse with more than ``GROUPED_BEYOND`` changed specifications is summed up in one
    line (how many, the axis values they share) with the first few listed, unless ``every``."""
    if not valid_tolerance(tolerance):
        raise SpecError(f"--tolerance must be a number at least 0, got {tolerance}", code="usage")
    a, b = RunFolder.read(run_a), RunFolder.read(run_b)
    try:
        return _compare(a, b, tolerance, every)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise SpecError(
            f"'{a.path}' and '{b.path}': a manifest.json or results.json does not have the "
            f"layout specrun writes (edited, or written by another version?): {exc}",
            code="usage",
        ) from None


def _compare(a: RunFolder, b: RunFolder, tolerance: float, every: bool = False) -> RunDiff:
    report = RunDiff(a.path, b.path, tolerance)
    roots = _root_changes(a.manifest, b.manifest, report)
    models_a, models_b = a.results.get("models", {}), b.results.get("models", {})
    for name in models_a.keys() - models_b.keys():
        report.models.append(f"{name}: only in {a.path}")
    for name in models_b.keys() - models_a.keys():
        report.models.append(f"{name}: only in {b.path}")
    plan_b = b.manifest.get("plan", {})
    changed: list[tuple[str, list[str], list[str]]] = []  # (model, causes, changes)
    for name in [n for n in models_b if n in models_a]:
        changes = _model_changes(models_a[name], models_b[name], report)
        if not changes:
            continue
        node = _fit_node(name, plan_b)
        changed.append((name, sorted(_causes(node, b.manifest, roots)) if node else [], changes))
    multiverses = b.results.get("multiverses") or {}
    grouped = {} if every else _grouped_specifications(changed, multiverses)
    for name, why, changes in changed:
        if name in grouped:
            continue
        report.models.append(f"{name}: changed" + (f" ({'; '.join(why)})" if why else ""))
        report.coefficients.extend(f"{name}: {change}" for change in changes)
    by_multiverse: dict[str, list[tuple[str, list[str], list[str]]]] = {}
    for entry in changed:
        if entry[0] in grouped:
            by_multiverse.setdefault(grouped[entry[0]][0], []).append(entry)
    for multiverse, members in by_multiverse.items():
        total = (multiverses.get(multiverse) or {}).get("specifications")
        shared = _shared_axis_values([grouped[name][1] for name, _, _ in members])
        why = sorted({cause for _, causes, _ in members for cause in causes})
        report.models.append(
            f"{multiverse}: {len(members)}"
            + (f" of {total}" if isinstance(total, int) else "")
            + " specifications changed"
            + (f", all with {shared}" if shared else "")
            + (f" ({'; '.join(why)})" if why else "")
        )
        for name, _, changes in members[:LISTED_SPECIFICATIONS]:
            report.coefficients.extend(f"{name}: {change}" for change in changes)
        report.coefficients.append(
            f"{multiverse}: and {len(members) - LISTED_SPECIFICATIONS} more specifications "
            "changed (specrun diff --all lists each)"
        )
    report.models.sort()
    report.multiverses.extend(
        _multiverse_changes(
            a.results.get("multiverses") or {},
            b.results.get("multiverses") or {},
            (a.path, b.path),
            report,
        )
    )
    if (
        not a.tables
        and not b.tables
        and any(
            (run.path / "tables").is_dir() and any((run.path / "tables").iterdir())
            for run in (a, b)
        )
    ):
        # the cells are read from the Markdown tables only: without them a changed table
        # would pass unseen
        report.uncompared = (
            "table cells not compared: neither run wrote Markdown tables (add markdown to "
            "outputs.formats)"
        )
    for table in sorted(a.tables.keys() | b.tables.keys()):
        if table not in b.tables or table not in a.tables:
            where = a.path if table in a.tables else b.path
            report.cells.append(f"{table}: only in {where}")
            continue
        cells_a, cells_b = a.tables[table], b.tables[table]
        relabelled = _relabelled_rows(cells_a, cells_b)
        for old, new in relabelled.items():
            if not _second_line_of(old, relabelled):
                report.cells.append(f"{table}: row '{old}' is now labelled '{new}'")
        # a relabelled row's cells are compared with the same row under its new label
        cells_a = {(relabelled.get(row, row), column): v for (row, column), v in cells_a.items()}
        order_a = [r for r in dict.fromkeys(row for row, _ in cells_a) if "(2nd line)" not in r]
        order_b = [r for r in dict.fromkeys(row for row, _ in cells_b) if "(2nd line)" not in r]
        if order_a != order_b and sorted(order_a) == sorted(order_b):
            # the same rows and cells in another order (an order: option): no cell differs
            moved = [r for r, s in zip(order_b, order_a, strict=True) if r != s]
            report.cells.append(f"{table}: rows in another order: {', '.join(moved)} moved")
        for key in list(dict.fromkeys([*cells_a, *cells_b])):
            old, new = cells_a.get(key, "—"), cells_b.get(key, "—")
            if old != new:
                report.cells.append(f"{table}: row '{key[0]}', column {key[1]}: {old} → {new}")
    return report


def _relabelled_rows(
    cells_a: dict[tuple[str, str], str], cells_b: dict[tuple[str, str], str]
) -> dict[str, str]:
    """Rows of a table that only changed their label between two runs (a variable's label
    edited in the spec), as {old label: new label}: with the same number of rows in the same
    order, a row whose label is in one run only is paired with the row at its place in the
    other. Otherwise (rows added or dropped) none: each cell is then compared by its label."""
    rows_a = list(dict.fromkeys(row for row, _ in cells_a))
    rows_b = list(dict.fromkeys(row for row, _ in cells_b))
    if len(rows_a) != len(rows_b):
        return {}
    only_a, only_b = set(rows_a) - set(rows_b), set(rows_b) - set(rows_a)
    return {
        old: new
        for old, new in zip(rows_a, rows_b, strict=True)
        if old != new and old in only_a and new in only_b
    }


def _second_line_of(row: str, relabelled: dict[str, str]) -> bool:
    """Whether ``row`` is the second line (standard errors) of a row relabelled with it."""
    found = re.fullmatch(r"(.*) \(2nd line\)( \[\d+\])?", row)  # " [2]": a second table
    return found is not None and found.group(1) + (found.group(2) or "") in relabelled


# a multiverse's changed specifications are summed up beyond this many (one changed axis
# value changes hundreds): the first few are listed, the rest counted (``--all`` lists each)
GROUPED_BEYOND = 5
LISTED_SPECIFICATIONS = 3


def _grouped_specifications(
    changed: list[tuple[str, list[str], list[str]]], multiverses: dict[str, Any]
) -> dict[str, tuple[str, dict[str, str]]]:
    """The changed models to sum up: specifications of a multiverse with more than
    ``GROUPED_BEYOND`` changed, each as (multiverse, its axis values) read from its name
    (``rob[sample=all,se=hc1]``)."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for name, _, _ in changed:
        multiverse, bracket, rest = name.partition("[")
        if not bracket or not rest.endswith("]") or multiverse not in multiverses:
            continue
        pairs = [part.split("=", 1) for part in rest[:-1].split(",")]
        if all(len(pair) == 2 for pair in pairs):
            found[name] = (multiverse, dict(pairs))  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    for multiverse, _ in found.values():
        counts[multiverse] = counts.get(multiverse, 0) + 1
    return {n: v for n, v in found.items() if counts[v[0]] > GROUPED_BEYOND}


def _shared_axis_values(values: list[dict[str, str]]) -> str:
    """The axis values every specification of ``values`` (each its axis → value) has
    (``sample=future``), or ""."""
    common = [
        f"{axis}={value}"
        for axis, value in values[0].items()
        if all(v.get(axis) == value for v in values[1:])
    ]
    return ", ".join(common)


def _root_changes(
    manifest_a: dict[str, Any], manifest_b: dict[str, Any], report: RunDiff
) -> dict[str, str]:
    """Plan nodes of B that changed although none of their inputs did, each with the reason
    (these are the causes); the spec and data digests that differ go into ``report.causes``."""
    from specrun.data.io import HASH_NAME

    key = f"spec_{HASH_NAME}"
    if manifest_a.get(key) != manifest_b.get(key):
        name_a, name_b = manifest_a.get("spec"), manifest_b.get("spec")
        # the usual case is one spec edited between runs: "(spec.yaml → spec.yaml)" reads as
        # if nothing had changed
        report.causes.append(
            f"the spec file {name_b} changed"
            if name_a == name_b
            else f"the spec file changed ({name_a} → {name_b})"
        )
    data_a, data_b = manifest_a.get("data", {}), manifest_b.get("data", {})
    for source in sorted(data_a.keys() | data_b.keys()):
        old, new = data_a.get(source, {}), data_b.get(source, {})
        if old.get(HASH_NAME) != new.get(HASH_NAME):
            report.causes.append(
                f"data source '{source}' changed: {old.get('path', '—')} "
                f"{str(old.get(HASH_NAME, '—'))[:12]} → {new.get('path', '—')} "
                f"{str(new.get(HASH_NAME, '—'))[:12]}"
            )
    plan_a, plan_b = manifest_a.get("plan", {}), manifest_b.get("plan", {})
    inputs = manifest_b.get("plan_inputs", {})
    changed = {n for n, h in plan_b.items() if plan_a.get(n) != h}
    roots: dict[str, str] = {}
    for node in changed:
        if any(i in changed for i in inputs.get(node, ())):
            continue
        kind, _, name = node.partition(":")
        if node not in plan_a:
            roots[node] = f"{_node_words(kind, name)} is new"
        elif kind == "load":
            roots[node] = f"data source '{name}' changed"
        elif kind == "transform":
            roots[node] = f"transform {name} changed in the spec"
        elif kind == "fit" and "[" in name:
            # a specification's own name is on the line already: its entry is the multiverse's
            roots[node] = f"the spec of multiverse '{name.partition('[')[0]}' changed for it"
        else:
            roots[node] = f"the spec of {_node_words(kind, name)} changed"
    for node, reason in sorted(roots.items()):
        if node.startswith("transform:"):
            report.causes.append(reason)
    return roots


def _node_words(kind: str, name: str) -> str:
    """A plan node as the spec names it: ``fit:ols`` is model 'ols', ``table:t3`` table 't3'."""
    words = {"fit": "model", "render": "output format"}.get(kind, kind)
    return f"{words} '{name}'"


def _causes(node: str, manifest: dict[str, Any], roots: dict[str, str]) -> set[str]:
    inputs = manifest.get("plan_inputs", {})
    seen: set[str] = set()
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in roots:
            found.add(roots[current])
        stack.extend(inputs.get(current, ()))
    return found


def _fit_node(model: str, plan: dict[str, str]) -> str | None:
    parts = model.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "fit:" + ".".join(parts[:end])
        if candidate in plan:
            return candidate
    return None


def _model_changes(old: dict[str, Any], new: dict[str, Any], report: RunDiff) -> list[str]:
    changes = []
    coefs_a, coefs_b = old.get("coefficients", {}), new.get("coefficients", {})
    for term in list(dict.fromkeys([*coefs_a, *coefs_b])):
        if term not in coefs_b:
            changes.append(f"{term} dropped")
        elif term not in coefs_a:
            changes.append(f"{term} added ({_number(coefs_b[term].get('estimate'))})")
        else:
            for field_name in ("estimate", "std_error", "p_value"):
                x, y = coefs_a[term].get(field_name), coefs_b[term].get(field_name)
                if report.differs(x, y):
                    changes.append(f"{term} {field_name} {_number(x)} → {_number(y)}")
    if old.get("nobs") != new.get("nobs"):
        changes.append(f"nobs {old.get('nobs')} → {new.get('nobs')}")
    stats_a, stats_b = old.get("stats", {}), new.get("stats", {})
    for stat in list(dict.fromkeys([*stats_a, *stats_b])):
        x, y = stats_a.get(stat), stats_b.get(stat)
        if report.differs(x, y):
            changes.append(f"{stat} {_number(x)} → {_number(y)}")
    for key in ("estimator", "dependent", "se", "effects"):
        if old.get(key) != new.get(key):
            changes.append(f"{key} {old.get(key)} → {new.get(key)}")
    return changes


def _multiverse_changes(
    old: dict[str, Any], new: dict[str, Any], where: tuple[Path, Path], report: RunDiff
) -> list[str]:
    """Changed sizes, resampling schemes and joint-test statistics of each multiverse in
    ``results.json`` (the curve summary a ``multiverse`` table prints)."""
    changes = []
    for name in list(dict.fromkeys([*old, *new])):
        if name not in new or name not in old:
            changes.append(f"{name}: only in {where[0] if name in old else where[1]}")
            continue
        a, b = old[name] or {}, new[name] or {}
        for key in ("focus", "specifications", "inference"):
            if a.get(key) != b.get(key):
                changes.append(f"{name}: {key} {_number(a.get(key))} → {_number(b.get(key))}")
        tests_a, tests_b = a.get("tests") or {}, b.get("tests") or {}
        for key in list(dict.fromkeys([*tests_a, *tests_b])):
            x, y = tests_a.get(key), tests_b.get(key)
            if report.differs(x, y):
                changes.append(f"{name}: {key} {_number(x)} → {_number(y)}")
        if not tests_a and not tests_b:
            # without inference: results.json holds no summary, but the multiverse table
            # prints the median estimate and the share positive from the curve's rows
            summary_a, summary_b = (_curve_summary(folder, name) for folder in where)
            for key in sorted(summary_a.keys() & summary_b.keys()):
                if report.differs(summary_a[key], summary_b[key]):
                    changes.append(
                        f"{name}: {key} {_number(summary_a[key])} → {_number(summary_b[key])}"
                    )
    return changes


def _curve_summary(folder: Path, name: str) -> dict[str, float]:
    """The median estimate and share positive of ``multiverse/<name>.parquet`` in a run
    folder, as the ``multiverse`` table prints them; empty when the file is absent."""
    path = folder / "multiverse" / f"{name}.parquet"
    if not path.is_file():
        return {}
    import numpy as np
    import polars as pl

    estimates = pl.read_parquet(path, columns=["estimate"])["estimate"].drop_nulls().to_numpy()
    if estimates.size == 0:
        return {}
    return {
        "median": float(np.median(estimates)),
        "share_positive": float(np.mean(estimates > 0)),
    }


def _finite(value: int | float) -> bool:
    # math.isfinite converts an int to a float, which fails beyond about 1e308
    return isinstance(value, int) or math.isfinite(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        # as a float would print it, without converting (beyond about 1e308 that fails) or
        # printing every digit (beyond 4,300 Python refuses to)
        from decimal import Decimal

        return f"{Decimal(value).normalize():.6g}"
    return "—" if value is None else str(value)
