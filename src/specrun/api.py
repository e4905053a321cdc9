"""The Python API behind the CLI: validate, plan and run a spec file.

The executor, the outputs and the plan compiler are imported by the functions that use them,
so that ``validate`` loads none of them (start-up dominates small specs).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from specrun.errors import SpecError, SpecErrors, did_you_mean
from specrun.spec.validate import Spec, validate_file

if TYPE_CHECKING:
    from specrun.cache import NodeCache
    from specrun.drawers import Drawers
    from specrun.execute import NodeProgress, ProgressFactory, RunOutput
    from specrun.figures.base import FigureData
    from specrun.outputs import OutputFile, RunSummary
    from specrun.plan.nodes import Plan


@dataclass(frozen=True)
class Run:
    """What ``run_file`` did: the validated ``spec``, the ``plan`` it ran, the ``files``
    written (paths relative to ``folder``), the output ``folder``, a ``summary`` (counts,
    warnings, cache use) and the ``output`` (``output.results.models[name]`` holds each
    fitted model's coefficients, ``stats`` and ``extra``; ``output.tables`` the built tables).

    When an unchanged run's files came from the cache, ``output`` is computed (from the node
    cache) the first time it is read."""

    spec: Spec
    plan: Plan
    files: list[OutputFile]
    folder: Path
    summary: RunSummary
    load: Callable[[], RunOutput]

    @cached_property
    def output(self) -> RunOutput:
        return self.load()


def plan_file(
    path: str | Path, only: Sequence[str] = (), *, check_outputs: bool = True
) -> tuple[Spec, Plan]:
    """Validate the spec file at ``path`` and compile its plan (``specrun plan``), restricted
    to the models, tables or figures named in ``only`` and what they need.

    Raises ``SpecErrors`` (every problem of the spec, located) or, for an ``only`` name that is
    in no plan node, ``SpecErrors`` with code ``usage``. ``check_outputs=False`` skips the
    check of ``outputs.dir`` (for runs given another output folder).
    """
    from specrun.plan.compile import compile_spec

    spec = validate_file(path, check_outputs=check_outputs)
    plan = compile_spec(spec)
    if only:
        names = {n.name for n in plan.nodes if n.kind in ("fit", "multiverse", "table", "figure")}
        wanted = [_node_name(name, names) for name in only]
        unknown = [name for name, node in zip(only, wanted, strict=True) if node is None]
        if unknown:
            raise SpecErrors(
                [
                    SpecError(
                        f"--only names no model, multiverse, table or figure '{name}'",
                        code="usage",
                        hint=did_you_mean(name, names),
                    )
                    for name in unknown
                ]
            )
        plan = plan.restricted([w for w in wanted if w is not None])
    return spec, plan


def _check_members(only: Sequence[str], plan: Plan, output: RunOutput) -> None:
    """Each ``--only`` name that stands for a member of a model (``by_region.East``, known
    once the data are read) or a part of it (``mediation.total``) is one the run fitted: a
    misspelt member ran the whole family without a word. Raises ``SpecErrors`` (code
    ``usage``) before any file is written."""
    names = {n.name for n in plan.nodes}
    fitted = output.results.models
    unknown = []
    for name in only:
        if name in names or name in fitted:
            continue
        family = _node_name(name, names)
        members = sorted(m for m in fitted if family and m.startswith(f"{family}."))
        unknown.append(
            SpecError(
                f"--only names no model '{name}': '{family}' has "
                + (", ".join(members[:12]) + (", …" if len(members) > 12 else "") or "no members"),
                code="usage",
                hint=did_you_mean(name, members),
            )
        )
    if unknown:
        raise SpecErrors(unknown)


def _node_name(name: str, names: set[str]) -> str | None:
    """A plan node's name, or the model an expanded name comes from (by_region.East,
    mediation.total → by_region, mediation)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in names:
            return ".".join(parts[:end])
    return None


def run_file(
    path: str | Path,
    out: str | Path | None = None,
    only: Sequence[str] = (),
    progress: ProgressFactory | None = None,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    cache: str | Path | bool | None = None,
    cache_max_size: str | int | None = None,
    node_progress: NodeProgress | None = None,
) -> Run:
    """Validate, compile, execute and write every output (``specrun run``); nothing is
    written on failure.

    ``out`` replaces the spec's ``outputs.dir``; ``only`` runs the named models, tables or
    figures and what they need; ``progress`` receives progress callbacks (the CLI's bars).
    ``jobs`` > 1 fits independent models on that many local processes, ``scheduler`` on
    the Dask cluster at that address. ``cache`` is the cache folder (default ``.specrun-cache``
    beside the output folder; ``False`` for none) and ``cache_max_size`` its bound (``2GB`` by
    default). Returns a ``Run``. Raises ``SpecErrors`` for a problem of the spec or its data
    (located at file, line and column) and ``SpecError`` (code ``usage``) for an unusable
    ``out``.

    A cached run also stores its record (``specrun.record``): the files it read and wrote with
    their digests, which lets ``specrun run`` skip an unchanged re-run before any import.
    """
    from specrun.record import recording

    with recording() as reads, _collector_skips_what_lives():
        run = _run(path, out, only, progress, jobs, scheduler, cache, cache_max_size, node_progress)
    if run.cache is not None:
        _store_record(path, only, run, reads)
    return run.run


@contextlib.contextmanager
def _collector_skips_what_lives() -> Iterator[None]:
    """Objects made before a run's fits (the modules, the spec, the plan) live through it:
    kept out of the cyclic garbage collector's scans (``gc.freeze``) until the run ends. A
    full collection walks every object, and the fits and cache reads of a 2,000-model spec
    set off enough of them to take about a fifth of a re-run's CPU time."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # collectable again: a process running many specs does not accumulate


@dataclass(frozen=True)
class _Done:
    """A finished run, the cache it used and the files as written (``write_outputs``)."""

    run: Run
    cache: NodeCache | None
    written: list[OutputFile]
    # files kept from the previous run that this run's warnings read (an --only run's
    # tables.docx): the record holds their digests too, so a changed one is a full re-run
    read_kept: tuple[str, ...] = ()


def _run(
    path: str | Path,
    out: str | Path | None,
    only: Sequence[str],
    progress: ProgressFactory | None,
    jobs: int,
    scheduler: str | None,
    cache: str | Path | bool | None,
    cache_max_size: str | int | None,
    node_progress: NodeProgress | None,
) -> _Done:
    from specrun.drawers import CachedDrawers, end_prestarted
    from specrun.execute import execute
    from specrun.executors import make_runner
    from specrun.outputs import (
        IN_USE_HINT,
        NO_SPACE_HINT,
        RunSummary,
        clean_stale,
        documents_with_figures,
        kept_with_old_figures,
        outputs_key,
        render_outputs,
        reused_outputs,
        store_outputs,
        write_outputs,
    )

    # made first: spawned worker processes start while the spec is validated and compiled
    # (forked ones start once it is compiled, ``ProcessRunner.prepare``)
    runner = make_runner(jobs, scheduler)
    spec, plan = plan_file(path, only, check_outputs=out is None)
    gc.freeze()  # the spec and plan too (``_collector_skips_what_lives``)
    folder = (
        Path(out) if out is not None else Path(os.path.normpath(spec.folder / spec.outputs.dir))
    )
    try:
        _check_output_folder(spec, folder)
        clean_stale(Path(os.path.realpath(folder)))
    except SpecError as exc:
        if out is None:
            raise SpecErrors([exc.located(**_outputs_position(spec))]) from None
        raise SpecError(exc.message, code="usage", path="--out", hint=exc.hint) from None
    except OSError:
        pass  # an unreadable parent folder is reported when the outputs are written
    store = _open_cache(folder, cache, cache_max_size)

    def load(on_figure: Callable[[FigureData], None] | None = None) -> RunOutput:
        return execute(
            spec,
            plan,
            progress,
            runner=runner,
            cache=store,
            node_progress=node_progress,
            on_figure=on_figure,
        )

    key = outputs_key(spec, plan, only) if store is not None else ""
    reused = reused_outputs(store, key, plan) if store is not None else None
    if reused is not None:
        files, summary = reused
        lazy = load
        end_prestarted()  # nothing to draw: a drawer started with the run is ended
    else:
        # the figures' drawers load matplotlib while the models run (``specrun.drawers``)
        figures = sum(1 for node in plan.nodes if node.kind == "figure")
        with _drawers(figures) as drawers:
            # a figure whose drawing the cache holds is not drawn again
            painter = (
                CachedDrawers(drawers, store, plan) if store is not None and figures else drawers
            )
            output = load(painter.submit if painter is not None else None)
            _check_members(only, plan, output)
            files = render_outputs(spec, plan, output, painter)
        summary = RunSummary.of(output)
        if store is not None:
            store_outputs(store, key, files, output)
            store.evict()

        def lazy() -> RunOutput:
            return output

    stale = kept_with_old_figures(spec, folder, files) if only else []
    try:
        written = write_outputs(folder, files, only=bool(only))
    except SpecError as exc:
        if out is None:  # the spec's outputs.dir: a problem of the spec
            raise SpecErrors([exc.located(**_outputs_position(spec))]) from None
        # a full disk, or a file open in another program, is no misuse of --out (exit 1)
        code = "data" if exc.hint in (NO_SPACE_HINT, IN_USE_HINT) else "usage"
        raise SpecError(exc.message, code=code, path="--out", hint=exc.hint) from None
    summary.warnings.extend(stale)
    read_kept = documents_with_figures(spec) if only else ()
    return _Done(Run(spec, plan, files, folder, summary, lazy), store, written, read_kept)


@contextlib.contextmanager
def _drawers(figures: int) -> Iterator[Drawers | None]:
    """The drawer processes of a run that draws ``figures`` figures, ended on leaving (None:
    they are drawn in this process)."""
    from specrun.drawers import Drawers

    drawers = Drawers.take(figures)
    if drawers is None:
        yield None
        return
    with drawers:
        yield drawers


def _store_record(path: str | Path, only: Sequence[str], run: _Done, reads: dict[str, str]) -> None:
    """Keep the record of a finished cached run in its cache folder (``specrun.record``): the
    files it read, as their readers noted them, and the files it wrote."""
    from specrun.record import RunRecord, digest_bytes, run_key, write_record

    spec_digest = reads.get(os.path.abspath(path))
    if run.cache is None or spec_digest is None:
        return
    done = run.run
    outputs = {f.relative: digest_bytes(f.content) for f in run.written}
    for relative in run.read_kept:
        if relative and relative not in outputs:
            try:  # read as bytes: noting it as an input would make the run its own input
                outputs[relative] = digest_bytes((done.folder / relative).read_bytes())
            except OSError:
                return  # nothing to compare a re-run with: it is checked in full
    record = RunRecord(
        inputs=dict(sorted(reads.items())),
        outputs=outputs,
        nodes=len(done.plan.nodes),
        models=done.summary.models,
        tables=done.summary.tables,
        figures=done.summary.figures,
        warnings=list(done.summary.warnings),
    )
    write_record(run.cache.folder, run_key(str(path), spec_digest, done.folder, only), record)


def _open_cache(
    folder: Path, cache: str | Path | bool | None, max_size: str | int | None
) -> NodeCache | None:
    from specrun.cache import DEFAULT_MAX_SIZE, NodeCache, parse_size

    if cache is False:
        return None
    size = parse_size(max_size) if max_size is not None else DEFAULT_MAX_SIZE
    if isinstance(cache, str | Path):
        return NodeCache(Path(cache), size)
    try:
        return NodeCache(_default_cache(folder), size)
    except SpecError:
        return None  # no writable place beside the outputs: run uncached, as --no-cache


def _default_cache(folder: Path) -> Path:
    """``.specrun-cache`` beside the output folder (never inside it: the folder is replaced
    whole by every run)."""
    from specrun.cache import DEFAULT_FOLDER

    return Path(os.path.abspath(folder)).parent / DEFAULT_FOLDER


def _check_output_folder(spec: Spec, folder: Path) -> None:
    """The output folder is replaced whole: it must not hold the spec or its data, and this
    user must be able to write it (``outputs.check_writable``)."""
    from specrun.data.io import resolve
    from specrun.folders import check_writable

    target = Path(os.path.realpath(folder))
    inputs = [Path(spec.document.file)] + [
        resolve(source, spec.folder) for source in spec.data.sources.values()
    ]
    for item in inputs:
        real = Path(os.path.realpath(item))
        if real == target or target in real.parents:
            raise SpecError(
                f"the output folder '{folder}' holds '{item}', which a run would replace: "
                "write the outputs to a folder of their own",
                code="data",
            )
    check_writable(folder)


def _outputs_position(spec: Spec) -> dict[str, object]:
    pos = spec.document.position(("outputs", "dir"))
    return {
        "file": spec.document.file,
        "line": pos.line if pos else None,
        "col": pos.col if pos else None,
        "path": "outputs.dir",
    }


__all__ = ["Run", "plan_file", "run_file", "validate_file"]
