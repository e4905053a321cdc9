"""Write a run's outputs: tables in every format, tables.tex, figures, results/manifest JSON.

Everything is rendered in memory first. The new output folder is then built whole in a hidden
staging folder beside it (``.<name>.specrun-stage-<pid>-<random>``), carrying over the files of
the old folder that this run does not write (``--only`` runs, and files that are not
specrun's), and swapped with the old folder in one step: ``renameat2(RENAME_EXCHANGE)`` on
Linux, two renames elsewhere. A run that fails or is killed at any moment leaves the previous
outputs byte-identical; the staging folder it may leave behind is removed when the next run
starts (``clean_stale``). Runs writing beside each other take turns at that step
(``_writers_lock``).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specrun import __version__
from specrun.cache import pid_alive
from specrun.data.io import HASH_NAME, file_hash
from specrun.errors import SpecError, SpecErrors
from specrun.execute import RunOutput
from specrun.plan.nodes import Plan
from specrun.record import PACKAGES, hash_file, package_versions
from specrun.results import ModelResult
from specrun.spec.validate import Spec

if TYPE_CHECKING:
    from specrun.cache import CacheStats, NodeCache
    from specrun.drawers import CachedDrawers, Drawers
    from specrun.figures.base import FigureData
    from specrun.figures.files import Drawn
    from specrun.render import RenderOptions


@dataclass(frozen=True)
class OutputFile:
    relative: str
    content: bytes


def _json(value: Any) -> bytes:
    """``value`` as ``json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)`` writes
    it, and a newline: through :func:`_indented`, since the indenting encoder is pure Python
    (the manifest of a 2,000-specification multiverse lists every node three times)."""
    return (_indented(value, 0) + "\n").encode()


INDENT = "  "  # results.json and manifest.json: json.dumps(indent=2)


def results_bytes(spec: Spec, run: RunOutput) -> bytes:
    """``results.json``: the bytes of ``_json(results_json(spec, run))``, each model's text
    taken from ``run.model_texts`` (encoded where the model was fitted, or stored with its
    cache entry: ``model_text``), else encoded here.

    Python's indenting JSON encoder is pure Python (about 0.4 ms a model); a value nested at
    depth ``d`` encodes as it would alone with every newline followed by ``d`` indents more,
    which is what lets a model's own text stand in for encoding (``tests/test_cache.py``
    checks the bytes against the whole-document encoder)."""
    items = []
    models_read = run.results.models
    for name in models_read:
        text = run.model_texts.get(name)
        if text is None:
            text = model_text(models_read[name])
        items.append(f"{_indented(name, 0)}: {text}")
    models = "{}" if not items else "{\n" + INDENT * 2 + f",\n{INDENT * 2}".join(items)
    models += "" if not items else f"\n{INDENT}}}"
    head = {"specrun_version": __version__, "spec": spec.document.file}
    parts = [f"{_indented(key, 0)}: {_indented(value, 1)}" for key, value in head.items()]
    parts.append(f'"models": {models}')
    curves = _multiverses(run)
    if curves:
        value = {name: curve.to_json() for name, curve in curves.items()}
        parts.append(f'"multiverses": {_indented(value, 1)}')
    text = "{\n" + INDENT + f",\n{INDENT}".join(parts) + "\n}\n"
    return text.encode()


def model_text(result: ModelResult) -> str:
    """A model's value in ``results.json`` as the whole document's encoder writes it there,
    two levels deep (``results_bytes``). Raises ``ValueError`` for NaN or infinity."""
    return _indented(result.to_json(), 2)


# json.dumps without indent runs the standard library's C encoder (``c_make_encoder``);
# with indent it runs the pure-Python one, several times as slow
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ": "))
# a run of scalars, strings (escapes included) and ': ' between structural characters; an
# empty container; or one structural character
_TOKENS = re.compile(r'(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^"\[\]{},]+)+|\[\]|\{\}|[\[\]{},]')


def _indented(value: Any, level: int) -> str:
    """``value`` as ``json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)`` writes
    it ``level`` levels deep. Raises ``ValueError`` for NaN or infinity and ``TypeError`` for
    what JSON cannot hold, as ``json.dumps`` does.

    The standard library's C encoder writes the compact text (separators ``","`` and
    ``": "``); the indented text differs from it only around structure, which this adds: the
    indenting encoder writes every scalar, string and key by the same functions
    (``float.__repr__``, ``int.__repr__``, ``encode_basestring``), an empty container as ``[]``
    or ``{}``, and otherwise a newline and the indent of the depth after an opening bracket,
    after each ``,`` between items and before the closing bracket. A structural character
    inside a string is part of the string's token (``_TOKENS``), never taken for structure.
    ``tests/test_cache.py`` checks the bytes against ``json.dumps(indent=2)``."""
    pads = ["\n" + INDENT * level]
    out: list[str] = []
    depth = 0
    for token in _TOKENS.findall(_COMPACT.encode(value)):
        if token == "{" or token == "[":
            depth += 1
            if depth == len(pads):
                pads.append(pads[-1] + INDENT)
            out.append(token + pads[depth])
        elif token == ",":
            out.append("," + pads[depth])
        elif token == "}" or token == "]":
            depth -= 1
            out.append(pads[depth] + token)
        else:
            out.append(token)
    return "".join(out)


def results_json(spec: Spec, run: RunOutput) -> dict[str, Any]:
    out = {
        "specrun_version": __version__,
        "spec": spec.document.file,
        "models": {name: r.to_json() for name, r in run.results.models.items()},
    }
    curves = _multiverses(run)
    if curves:
        out["multiverses"] = {name: curve.to_json() for name, curve in curves.items()}
    return out


def _multiverses(run: RunOutput) -> dict[str, Any]:
    """The run's fitted multiverses by name (artifacts ``multiverse:<name>``)."""
    from specrun.multiverse import MultiverseResult

    return {
        key.split(":", 1)[1]: value
        for key, value in run.results.artifacts.items()
        if isinstance(value, MultiverseResult)
    }


def manifest_json(spec: Spec, plan: Plan, run: RunOutput) -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    seeds = {
        name: model.spec.seed
        for name, model in spec.models.items()
        if getattr(model.spec, "seed", None) is not None
    }
    for name, multiverse in spec.multiverses.items():
        if multiverse.spec.inference is not None:
            seeds[f"multiverse:{name}"] = multiverse.spec.inference.seed
    return {
        "specrun_version": __version__,
        "spec": spec.document.file,
        f"spec_{HASH_NAME}": spec.document.digest or file_hash(Path(spec.document.file)),
        "data": {
            name: {"path": source.path, HASH_NAME: plan.data_hashes[name]}
            for name, source in spec.data.sources.items()
        },
        "python": platform.python_version(),
        "packages": versions,
        "seeds": seeds,
        "plan": {n.id: n.hash for n in plan.nodes},
        # each node's inputs, so that ``specrun diff`` can tell which change caused which
        "plan_inputs": {n.id: list(n.inputs) for n in plan.nodes if n.inputs},
        "rows": run.model_rows,
        "panel": {"dropped_missing_keys": run.panel_rows.get("dropped_missing_keys", 0)},
        # the only run-to-run difference between two runs' outputs: seconds per plan step
        # in plan order: workers finish in any order, and two runs' manifests are compared
        # line by line (``--jobs`` left unset forks them on large data)
        "timings": {node: round(run.timings[node], 4) for node in _plan_order(plan, run.timings)},
        # and which nodes this run took from the cache (a cached and an uncached run differ
        # only here and in the timings)
        "cache": _cache_summary(run),
        # each node carries the notes of the transforms building its frame (a cached node
        # replays them), so specifications sharing an axis value would repeat one note
        "notes": list(dict.fromkeys(run.notes)),
        "files": [],  # filled by render_outputs: every file this run writes
        "warnings": run.warnings,
    }


def _plan_order(plan: Plan, timings: Mapping[str, float]) -> list[str]:
    """The timed steps in plan order, any step that is no plan node (none today) last."""
    ordered = [node.id for node in plan.nodes if node.id in timings]
    planned = set(ordered)
    return ordered + [name for name in timings if name not in planned]


def _cache_summary(run: RunOutput) -> dict[str, Any]:
    stats = run.cache
    if stats is None:
        return {"used": False}
    return {
        "used": True,
        "reused": len(stats.reused),
        "computed": len(stats.computed),
        "reused_nodes": sorted(stats.reused),
        "not_cacheable": sorted(stats.uncacheable),
        "reused_drawings": sorted(stats.reused_figures),
        "warnings": stats.warnings,
    }


def _parquet(frame: Any) -> bytes:
    """Parquet bytes with no writer timestamp, so reruns give the same file (zstd, statistics)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _at_spec_path(spec: Spec, exc: SpecError) -> SpecError:
    """The error located at the spec key its dotted path names (``outputs.latex.engine``)."""
    key = tuple(exc.path.split(".")) if exc.path else ()
    position = spec.document.position(key)
    return exc.located(
        file=spec.document.file,
        line=position.line if position else None,
        col=position.col if position else None,
        path=exc.path,
    )


def _compiled(
    source: str, tables: list[Any], title: str, options: Any, run: RunOutput
) -> list[OutputFile]:
    """``tables.pdf`` from ``outputs.latex.compile``; the engine's warnings join the run's."""
    from specrun.render.compile import compile_latex
    from specrun.render.latex import latex_engine

    engine = latex_engine(tables, title, options)
    pdf, warnings = compile_latex(source, engine, [t.name for t in tables])
    run.warnings.extend(warnings)
    return [OutputFile("tables.pdf", pdf)] if pdf is not None else []


def render_outputs(
    spec: Spec,
    plan: Plan,
    run: RunOutput,
    drawers: Drawers | CachedDrawers | None = None,
) -> list[OutputFile]:
    """Every output file's bytes; only ``manifest.json`` (its timings) differs between reruns.

    With ``drawers`` (``specrun.drawers``, started before the models ran and given the
    figures as the execute stage computed them), the figures are drawn there while this
    process renders the tables; ``tables.docx``, when it embeds
    the figures' PNGs (``outputs.docx.figures``), is rendered last. Without, the figures are
    drawn here first. The files, their order and their bytes are the same either way. Raises
    ``SpecErrors`` for every figure that could not be drawn (each located at its figure in the
    spec), ``SpecError`` for an ``outputs`` option the tables cannot honour; nothing is
    written in either case.
    """
    from specrun.figures.files import draw_figures

    figures = list(run.figures.values())
    embedding = _embeds_figures(spec, run)
    if drawers is None:
        done = _drawn_files(spec, draw_figures(figures))
        later: set[str] = set()
    else:
        drawers.finish(figures)  # drawn there while the tables are rendered here
        done = {}
        later = {f"figures/{f.name}.{fmt}" for f in figures for fmt in ("png", "pdf")}
        later |= {embedding} if embedding else set()
    try:
        files = _render_files(spec, run, done, later)
        manifest = _manifest_file(spec, plan, run, files)
    except (SpecError, SpecErrors) as exc:  # with the figures' errors too: all at once
        errors = exc.errors if isinstance(exc, SpecErrors) else [exc]
        if drawers is not None:
            errors += _figure_errors(spec, _with_missing(figures, drawers.result()))
        raise SpecErrors(errors) from None
    if drawers is not None:
        done = _drawn_files(spec, _with_missing(figures, drawers.result()))
        if embedding:  # it embeds every figure's PNG: Word's document alone, once more
            pngs = {f.name: done[f"figures/{f.name}.png"] for f in figures}
            tables = list(run.tables.values())
            rendered = {f.relative for f in files} - {embedding}
            for item in _table_files(spec, run, tables, pngs, rendered, ["docx"]):
                if item.relative == embedding:
                    done[embedding] = item.content
    files = [OutputFile(f.relative, done.get(f.relative, f.content)) for f in files]
    files.append(manifest)
    return files


def _embeds_figures(spec: Spec, run: RunOutput) -> str:
    """The Word document that embeds the figures' PNGs (``tables.docx`` with
    ``outputs.docx.figures``), or "" when none does."""
    from specrun.render import FORMATS

    if not (run.tables and run.figures and spec.outputs.docx.figures):
        return ""
    if "docx" not in spec.outputs.formats:
        return ""
    return FORMATS.get("docx").document_file or ""


def _with_missing(figures: list[FigureData], drawn: dict[str, Drawn]) -> dict[str, Drawn]:
    """``drawn``, with the figures the drawers did not return drawn here (a drawer died)."""
    from specrun.figures.files import draw_figures

    missing = [f for f in figures if f.name not in drawn]
    return {**drawn, **draw_figures(missing)} if missing else drawn


def _figure_errors(spec: Spec, drawn: dict[str, Drawn]) -> list[SpecError]:
    return [_at_spec_path(spec, value) for value in drawn.values() if isinstance(value, SpecError)]


def _drawn_files(spec: Spec, drawn: dict[str, Drawn]) -> dict[str, bytes]:
    """The figures' files; raises ``SpecErrors`` for every figure that could not be drawn
    (Chinese text and no CJK font), each located at its figure: all at once, as the execute
    stage reports every table's error."""
    from specrun.figures.files import figure_files

    failed = _figure_errors(spec, drawn)
    if failed:
        raise SpecErrors(failed)
    return figure_files(drawn)


def _title(spec: Spec) -> str:
    return spec.title or Path(spec.document.file).stem


def _manifest_file(spec: Spec, plan: Plan, run: RunOutput, files: list[OutputFile]) -> OutputFile:
    """``manifest.json`` listing ``files`` (their names: the bytes may still be rendered by
    the child) and itself."""
    manifest = manifest_json(spec, plan, run)
    manifest["files"] = sorted([f.relative for f in files] + ["manifest.json"])
    return OutputFile("manifest.json", _json(manifest))


def _render_options(spec: Spec, figures: dict[str, bytes]) -> RenderOptions:
    """The spec's ``outputs`` options for the renderers; ``figures`` are PNGs Word embeds."""
    from specrun.figures.base import figure_caption
    from specrun.render import RenderOptions

    outputs = spec.outputs
    return RenderOptions(
        latex_engine=outputs.latex.engine,
        paper=outputs.latex.paper,
        latin_font=outputs.docx.latin_font,
        cjk_font=outputs.docx.cjk_font,
        figures=figures,
        captions={name: figure_caption(f, outputs.language) for name, f in spec.figures.items()},
    )


def _table_files(
    spec: Spec,
    run: RunOutput,
    tables: list[Any],
    pngs: dict[str, bytes],
    elsewhere: set[str],
    formats: Sequence[str] | None = None,
) -> list[OutputFile]:
    """The tables in every format of ``formats`` (by default ``outputs.formats``) and each
    format's document; the files named in ``elsewhere`` are rendered by another process and
    stand here empty."""
    from specrun.render import FORMATS, as_bytes, render_document, render_table

    files: list[OutputFile] = []
    outputs = spec.outputs
    options = _render_options(spec, pngs if outputs.docx.figures else {})
    title = _title(spec)
    for fmt in outputs.formats if formats is None else formats:
        renderer = FORMATS.get(fmt)
        for table in tables:
            relative = f"tables/{table.name}.{renderer.extension}"
            if relative in elsewhere:
                files.append(OutputFile(relative, b""))
                continue
            files.append(OutputFile(relative, as_bytes(render_table(table, fmt, options))))
        if not tables or not renderer.document_file:
            continue
        if renderer.document_file in elsewhere:
            files.append(OutputFile(renderer.document_file, b""))
            continue
        try:
            document = render_document(tables, fmt, title=title, options=options)
        except SpecError as exc:  # an outputs option that the tables cannot honour
            raise _at_spec_path(spec, exc) from None
        files.append(OutputFile(renderer.document_file, as_bytes(document)))
        if fmt == "latex" and outputs.latex.compile:
            try:
                files += _compiled(str(document), tables, title, options, run)
            except SpecError as exc:
                raise _at_spec_path(spec, exc) from None
    return files


def _render_files(
    spec: Spec,
    run: RunOutput,
    figures: dict[str, bytes],
    elsewhere: set[str],
) -> list[OutputFile]:
    """Every output file but ``manifest.json``, in the order they are listed, the figures'
    bytes taken from ``figures``; the files named in ``elsewhere`` are rendered by another
    process (or later) and stand here empty, in their place."""
    files: list[OutputFile] = []
    tables = list(run.tables.values())
    if tables:  # the renderers (Jinja, python-docx, xlsxwriter) load only for tables
        # Word embeds the bytes written as figures/<name>.png (``tables.docx`` is rendered
        # last when some of them are drawn elsewhere)
        pngs = {
            name: figures[f"figures/{name}.png"]
            for name in run.figures
            if f"figures/{name}.png" in figures
        }
        files += _table_files(spec, run, tables, pngs, elsewhere)
    for name in run.figures:
        for fmt in ("png", "pdf"):
            relative = f"figures/{name}.{fmt}"
            files.append(OutputFile(relative, b"" if relative in elsewhere else figures[relative]))
    files.append(OutputFile("results.json", results_bytes(spec, run)))
    for name, curve in _multiverses(run).items():
        files.append(OutputFile(f"multiverse/{name}.parquet", _parquet(curve.curve)))
    if spec.outputs.analysis == "parquet":
        files.append(OutputFile("analysis.parquet", _parquet(run.analysis)))
    elif spec.outputs.analysis == "csv":
        csv = run.analysis.write_csv(float_precision=None)
        files.append(OutputFile("analysis.csv", csv.encode()))
    return files


# ---------------------------------------------------------------------------------------------
# the rendered outputs of an unchanged run, reused from the node cache


@dataclass(frozen=True)
class RunSummary:
    """What the command line reports of a run: counts of models, tables and figures, the
    run's warnings and what the cache supplied (``None`` without a cache)."""

    models: int
    tables: int
    figures: int
    warnings: list[str]
    cache: CacheStats | None

    @classmethod
    def of(cls, run: RunOutput) -> RunSummary:
        return cls(
            len(run.results.models), len(run.tables), len(run.figures), run.warnings, run.cache
        )


@dataclass(frozen=True)
class RenderedOutputs:
    """Every file a run rendered (``manifest.json`` aside) and its manifest's text, as the
    cache stores them under ``outputs_key``: an unchanged re-run writes these bytes again
    instead of decoding every fit, building the tables and rendering (the files' content is
    a function of the key, so the reused files are byte-identical to rendered ones)."""

    files: tuple[tuple[str, np.ndarray], ...]  # (relative path, bytes as uint8)
    manifest: str
    models: int
    tables: int
    figures: int
    warnings: list[str]


def outputs_key(spec: Spec, plan: Plan, only: Sequence[str]) -> str:
    """The hash the rendered outputs of a run depend on: the spec's text and path (titles,
    labels, formats and the path named in ``results.json``), every plan node's hash (the data
    files' digests among them), ``--only``, the versions of the packages that render and the
    table templates' digests when it has tables (read here, so the run's record lists them
    among its inputs)."""
    versions = list(package_versions())
    if spec.tables:
        from specrun.render.environment import template_folder

        templates = template_folder()
        versions += [
            f"{path.relative_to(templates).as_posix()}={hash_file(path)}"
            for path in sorted(templates.rglob("*"))
            if path.is_file()
        ]
    parts = [
        "outputs",
        spec.document.text,
        spec.document.file,
        *(f"{n.id}={n.hash}" for n in plan.nodes),
        "only",
        *only,
        *versions,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def store_outputs(cache: NodeCache, key: str, files: list[OutputFile], run: RunOutput) -> None:
    """Keep a run's rendered files in ``cache`` under ``outputs_key``."""
    manifest = next(json.loads(f.content) for f in files if f.relative == "manifest.json")
    for volatile in ("timings", "cache"):
        manifest.pop(volatile, None)
    entry = RenderedOutputs(
        tuple(
            (f.relative, np.frombuffer(f.content, dtype=np.uint8))
            for f in files
            if f.relative != "manifest.json"
        ),
        json.dumps(manifest, ensure_ascii=False),
        len(run.results.models),
        len(run.tables),
        len(run.figures),
        list(run.warnings),
    )
    cache.put(cache.key(key), entry)


def reused_outputs(
    cache: NodeCache, key: str, plan: Plan
) -> tuple[list[OutputFile], RunSummary] | None:
    """The files of an unchanged run from ``cache`` (with a fresh manifest: this run's
    timing and cache record), or None when the cache does not hold them intact."""
    started = time.perf_counter()
    stored = cache.get(cache.key(key), "the rendered outputs")
    if not isinstance(stored, RenderedOutputs):
        return None
    files = [OutputFile(relative, content.tobytes()) for relative, content in stored.files]
    manifest = json.loads(stored.manifest)
    ids = [n.id for n in plan.nodes]
    cache.stats.reused.extend(ids)
    manifest["timings"] = {"outputs": round(time.perf_counter() - started, 4)}
    manifest["cache"] = {
        "used": True,
        "reused": len(ids),
        "computed": 0,
        "reused_nodes": sorted(ids),
        "not_cacheable": [],
        "warnings": cache.stats.warnings,
        "outputs_reused": True,
    }
    files.append(OutputFile("manifest.json", _json(_in_manifest_order(manifest))))
    summary = RunSummary(
        stored.models, stored.tables, stored.figures, list(stored.warnings), cache.stats
    )
    return files, summary


def _in_manifest_order(manifest: dict[str, Any]) -> dict[str, Any]:
    """The keys in the order ``manifest_json`` writes them (timings and cache were removed
    from the stored text and put back at the end)."""
    order = ["timings", "cache", "notes", "files", "warnings"]
    head = {k: v for k, v in manifest.items() if k not in order}
    return head | {k: manifest[k] for k in order if k in manifest}


STAGE_TAG = ".specrun-stage-"
OLD_TAG = ".specrun-old-"


def _hidden(folder: Path, tag: str) -> str:
    return f".{folder.name}{tag}"


def clean_stale(folder: Path) -> None:
    """Remove staging folders that killed runs left beside ``folder``; if a run was killed
    between the two renames of the fallback swap, put the previous outputs back first."""
    parent = folder.parent
    if not parent.is_dir():
        return
    for tag in (OLD_TAG, STAGE_TAG):
        prefix = _hidden(folder, tag)
        for entry in parent.iterdir():
            if not entry.name.startswith(prefix):
                continue
            pid = entry.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)):
                continue  # a run still in progress
            if tag == OLD_TAG and not folder.exists():
                entry.rename(folder)
            else:
                shutil.rmtree(entry, ignore_errors=True)


def _previous_outputs(folder: Path) -> set[str] | None:
    """The files the previous run wrote (its manifest's list), or None when unknown."""
    try:
        listed = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {str(item) for item in listed} if isinstance(listed, list) else None


def _carry(old: Path, stage: Path, skip: set[str], only: bool) -> None:
    """Hard-link (or copy) into ``stage`` the old files this run does not write: all of them
    for ``--only``; otherwise those the previous run did not write (the user's own files)."""
    previous = None if only else _previous_outputs(old)
    for root, dirs, names in os.walk(old):
        here = Path(root)
        relative_root = here.relative_to(old)
        for name in dirs:
            target = stage / relative_root / name
            if target.exists() and not target.is_dir():
                # never merged, moved or deleted: the user's folder is in the way of a file
                raise SpecError(
                    f"'{here / name}' is a folder, where this run writes the file "
                    f"'{(relative_root / name).as_posix()}'",
                    code="data",
                    hint="rename or move that folder",
                )
            target.mkdir(exist_ok=True)
        for name in names:
            relative = (relative_root / name).as_posix()
            if relative in skip or (previous is not None and relative in previous):
                continue
            source, target = here / name, stage / relative_root / name
            if target.is_dir() and not target.is_symlink():
                raise SpecError(
                    f"'{source}' is a file, where this run writes the folder '{relative}/'",
                    code="data",
                    hint="rename or move that file",
                )
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
                continue
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def _with_previous_listed(folder: Path, files: list[OutputFile]) -> list[OutputFile]:
    """An ``--only`` run's manifest lists the files kept from the previous run too."""
    previous = _previous_outputs(folder) or set()
    out = []
    for item in files:
        if item.relative == "manifest.json" and previous:
            manifest = json.loads(item.content)
            manifest["files"] = sorted(set(manifest["files"]) | previous)
            item = OutputFile(item.relative, _json(manifest))
        out.append(item)
    return out


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where
    the system cannot."""
    if sys.platform != "linux":
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot
            return False
        raise OSError(errno, os.strerror(errno), str(b))
    return True


# A disk that fills (or a quota, or ``ulimit -f``) while the outputs are staged: not a
# problem of the spec or of --out, which are right (exit 1, never exit 2 for bad usage)
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
NO_SPACE_HINT = (
    "free space on that disk (or raise the file size limit, ulimit -f), or give --out a "
    "folder on another disk"
)


# Windows' errors for a folder or file another program holds open: access denied (a folder
# holding an open file cannot be renamed), sharing and lock violations
WINDOWS_IN_USE = frozenset({5, 32, 33})
IN_USE_HINT = (
    "a file in it is open in another program (a table in Excel or Word, a PDF viewer): close "
    "it and run again"
)


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("wb") as handle:  # modes from the umask, as any other program's files
            handle.write(content)
    except OSError as exc:
        if exc.filename is not None:
            raise
        # write() and close() name no file: a full disk said "cannot write to 'out'"
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None


def _as_written(filename: object, stage: Path, folder: Path) -> str:
    """The path a failed write names, with the hidden staging folder shown as the output
    folder the user asked for (the stage is an implementation detail they never typed)."""
    if not isinstance(filename, str | os.PathLike):
        return str(folder)
    path = os.fspath(filename)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if path == str(stage) or path.startswith(str(stage) + os.sep):
        return str(folder) + path[len(str(stage)) :]
    return path


def documents_with_figures(spec: Spec) -> tuple[str, ...]:
    """The documents that embed the figures' PNGs: ``tables.docx`` with ``docx: {figures:
    true}``; an ``--only`` run that keeps one reads it (``kept_with_old_figures``)."""
    outputs = spec.outputs
    if not (outputs.docx.figures and "docx" in outputs.formats):
        return ()
    from specrun.render import FORMATS

    document = FORMATS.get("docx").document_file
    return (document,) if document else ()


def kept_with_old_figures(spec: Spec, folder: Path, files: list[OutputFile]) -> list[str]:
    """The warning of an ``--only`` run that draws figures anew but keeps the previous
    ``tables.docx``, which embeds them as they were (``docx: {figures: true}``): the figures
    whose new PNG is not among the document's images, or that the kept document cannot be
    read at all. Empty when there is nothing to say."""
    documents = documents_with_figures(spec)
    written = {item.relative for item in files}
    if not documents or documents[0] in written or not (folder / documents[0]).is_file():
        return []
    document = documents[0]
    drawn = [
        item
        for item in files
        if item.relative.startswith("figures/") and item.relative.endswith(".png")
    ]
    if not drawn:
        return []
    import zipfile
    import zlib

    try:  # the PNGs the kept document embeds (python-docx stores them as given)
        with zipfile.ZipFile(folder / document) as kept:
            embedded = {kept.read(n) for n in kept.namelist() if n.startswith("word/media/")}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError):
        # not a document Word opens: that, not its figures, is what the user needs to hear
        return [
            f"--only: {document} is kept from the previous run but is not a readable Word "
            "document; run without --only to write it anew"
        ]
    redrawn = [
        item.relative.removeprefix("figures/").removesuffix(".png")
        for item in drawn
        if item.content not in embedded
    ]
    if not redrawn:
        return []
    return [
        # "as drawn then" would be false of a document written by --only TABLE, which
        # embeds no figure at all
        f"--only: {document} is kept from the previous run and does not embed "
        f"{', '.join(redrawn)} as drawn now; run without --only to embed the new "
        f"{'figure' if len(redrawn) == 1 else 'figures'}"
    ]


def write_outputs(folder: Path, files: list[OutputFile], *, only: bool = False) -> list[OutputFile]:
    """Build the new output folder in a sibling staging folder, then swap it in whole; returns
    the files as written (an ``--only`` run's manifest also lists the files kept).

    ``only``: the run wrote a subset (``--only``), so every old file it does not rewrite is
    kept. Two runs writing beside each other take turns (``_writers_lock``), so a run's carry
    reads the other's finished outputs. Raises ``SpecError`` (code ``data``) when the folder
    cannot be written.
    """
    from specrun.folders import check_writable

    check_writable(folder)
    folder = Path(os.path.realpath(folder))
    if folder.parent == folder:
        raise SpecError(f"cannot write outputs to the root folder '{folder}'", code="data")
    stage = folder.parent / f"{_hidden(folder, STAGE_TAG)}{os.getpid()}-{os.urandom(4).hex()}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _writers_lock(folder.parent):
            return _swap_in(folder, stage, files, only)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        where = _as_written(exc.filename, stage, folder)
        hint = NO_SPACE_HINT if exc.errno in NO_SPACE else None
        if getattr(exc, "winerror", None) in WINDOWS_IN_USE:
            hint = IN_USE_HINT
        raise SpecError(
            f"cannot write to '{where}': {exc.strerror or exc}", code="data", hint=hint
        ) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


@contextmanager
def _writers_lock(parent: Path) -> Iterator[None]:
    """An exclusive lock on the output folder's parent while a run stages and swaps its
    outputs in. Without it a run writing ``--only`` a table while another wrote everything
    carried the old files over and swapped them in after the other's, losing its outputs
    (and two first runs collided renaming onto one name). ``flock`` on the folder itself, so
    nothing is left beside the outputs; where there is no ``flock`` (Windows), no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        handle = os.open(parent, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened is said where the outputs are written
        yield
        return
    try:
        # a file system without locks (some network mounts): write as before
        with suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock


def _swap_in(folder: Path, stage: Path, files: list[OutputFile], only: bool) -> list[OutputFile]:
    """``write_outputs``' steps under the writers' lock: stage the files, carry over the old
    folder's files this run keeps, and swap the staged folder in."""
    clean_stale(folder)
    if folder.exists() and not folder.is_dir():
        raise SpecError(f"'{folder}' exists and is not a folder", code="data")
    stage.mkdir()
    if only:
        files = _with_previous_listed(folder, files)
    for item in files:
        _write_file(stage / item.relative, item.content)
    if not folder.exists():
        stage.rename(folder)
        return files
    _carry(folder, stage, {item.relative for item in files}, only)
    if _exchange(stage, folder):
        shutil.rmtree(stage)  # now the old outputs
        return files
    old = folder.parent / f"{_hidden(folder, OLD_TAG)}{os.getpid()}-{os.urandom(4).hex()}"
    folder.rename(old)
    try:
        stage.rename(folder)
    except OSError:
        old.rename(folder)  # the previous outputs back where the user left them
        raise
    # the new outputs are in place: a file of the old ones still open elsewhere (Windows) is
    # removed by the next run's clean_stale, not reported as a failure
    shutil.rmtree(old, ignore_errors=True)
    return files
