"""Where model fits run: in this process, on local worker threads or processes, or on a Dask
distributed cluster. A registry of runners behind one small interface (``prepare``, ``start``,
``run``, ``stop``); ``execute`` hands each runner a wave of independent ``fit`` nodes and merges
what comes back in plan order, so outputs are the same whatever the runner and however many
workers.

Spawned and remote workers (processes, Dask) cannot receive the spec object itself (its step
types are pydantic models built at import time); they receive a ``WorkerContext`` — the spec's
text, the data files' digests and the transformed panel — once per worker (a pipe; Dask
``scatter(..., broadcast=True)``), rebuild the spec and plan from the text once, and check
that each node they are asked to fit has the hash the main process compiled. A worker forked
on Linux (``ProcessRunner.prepare``) has the spec and plan from its parent and receives only
the panel.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import os
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from specrun.errors import SpecError, SpecErrors
from specrun.registry import Registry

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    # (polars only for annotations: a worker process sets its thread count before loading it)
    import polars as pl

    from specrun.cache import NodeCache
    from specrun.execute import FitOutput, ProgressFactory, SampleFrames, _Counts
    from specrun.plan.nodes import Node, Plan
    from specrun.results import ModelResult
    from specrun.spec.validate import Spec

Task = tuple["Node", dict[str, "ModelResult"]]  # a fit node and the results it reads


# a fitted node: its output, seconds, and whether the worker stored its cache entry (None:
# not attempted, the main process stores it)
Fitted = tuple["Node", "FitOutput", float, "bool | None"]


class NodeRunner(Protocol):
    """Fits waves of independent plan nodes; yields ``Fitted`` tuples as each ends.

    ``prepare`` is called once the spec is compiled, before the data stage; ``start`` with
    the transformed panel before the first wave, with the cache folder (where workers may
    store entries) and the executor's ``SampleFrames`` (the sample frames and the fit memo of
    this process): fits made in this process then build into it, and the steps after the fits
    (a multiverse's joint tests) find their samples there. Without it a runner keeps its own."""

    def prepare(self, spec: Spec, plan: Plan) -> None: ...

    def start(
        self,
        spec: Spec,
        plan: Plan,
        panel: pl.DataFrame,
        progress: ProgressFactory | None,
        cache: Path | None = None,
        frames: SampleFrames | None = None,
    ) -> None: ...

    def run(self, tasks: Sequence[Task], counts: _Counts) -> Iterator[Fitted]: ...

    def stop(self) -> None: ...


RUNNERS: Registry[type] = Registry("executor")


@dataclass(frozen=True)
class WorkerContext:
    """What a worker needs to fit any node of a run: the spec's text (and its path, absolute
    for reading data headers, and as the user gave it, for messages), the sources' digests and
    the transformed panel; and the cache folder where the worker stores each node's entry
    (None: the main process stores them, or no cache), with the key the main process's cache
    gives an empty node hash (``NodeCache.key``: its specrun version, source digest and entry
    format), which a worker's keys must match."""

    token: str
    text: str
    file: str
    shown_file: str
    data_hashes: dict[str, str]
    panel: pl.DataFrame
    cache: str | None = None
    key_check: str = ""

    @classmethod
    def of(
        cls, spec: Spec, plan: Plan, panel: pl.DataFrame, cache: Path | None = None
    ) -> WorkerContext:
        shown = spec.document.file
        token = cls.token_of(spec, plan)
        text = spec.document.text
        folder = str(cache) if cache is not None else None
        hashes = dict(plan.data_hashes)
        check = ""
        if cache is not None:
            from specrun.cache import NodeCache

            check = NodeCache.key("")
        return cls(token, text, os.path.abspath(shown), shown, hashes, panel, folder, check)

    @staticmethod
    def token_of(spec: Spec, plan: Plan) -> str:
        """The run's identity for a worker: its spec's text and path and the data digests."""
        parts = [spec.document.text, spec.document.file]
        parts += sorted(f"{k}={v}" for k, v in plan.data_hashes.items())
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


# per worker process: token → the rebuilt spec, its plan's nodes and the sample frames built
_REBUILT: dict[str, tuple[Spec, dict[str, Node], SampleFrames]] = {}

Item = tuple[str, str, dict[str, "ModelResult"]]  # a node's id, its hash, the results it reads


def _rebuilt(context: WorkerContext) -> tuple[Spec, dict[str, Node], SampleFrames]:
    if context.token not in _REBUILT:
        from specrun.execute import SampleFrames
        from specrun.plan.compile import compile_spec
        from specrun.spec.load import load_text
        from specrun.spec.validate import validate

        spec = validate(load_text(context.text, context.file), check_outputs=False)
        plan = compile_spec(spec, context.data_hashes)
        from specrun.estimators import ESTIMATORS

        for node in plan.nodes:  # load the estimators' modules now, not in the first fits
            if node.kind == "fit":
                ESTIMATORS.get(node.payload["model"].spec.estimator)
        _REBUILT.clear()  # one run at a time per worker: keep memory flat
        _REBUILT[context.token] = (spec, {n.id: n for n in plan.nodes}, SampleFrames())
    return _REBUILT[context.token]


def fit_batch(
    context: WorkerContext, items: Sequence[Item]
) -> tuple[list[tuple[FitOutput, float, bool | None]], BaseException | None]:
    """Fit the nodes ``items`` (id, hash, results read) of the context's plan in a worker, in
    order: each one's output, seconds and whether its cache entry was stored here (when the
    context names a cache folder), or its ``SpecErrors`` when the fit failed on the spec or the
    data (the batch goes on: every failing fit of a run is reported at once), and the error
    that stopped the batch (a bug, the next node's), if any. One task per batch, not per node:
    a small fit takes ~1 ms, less than a task's round trip."""
    from specrun.execute import fit_node, store_fit

    done: list[tuple[FitOutput, float, bool | None] | SpecErrors] = []
    try:
        spec, nodes, frames = _rebuilt(context)
        cache = _writer(context)
        for node_id, node_hash, used in items:
            node = nodes.get(node_id)
            if node is None or node.hash != node_hash:
                raise SpecError(
                    f"plan node {node_id} differs in the worker: the spec or its data changed "
                    "while running",
                    code="data",
                )
            started = time.perf_counter()
            try:
                output = fit_node(spec, context.panel, node, used, None, frames)
            except SpecErrors as exc:
                done.append(_as_shown(exc, context))
                continue
            # the entry encoded and written here too: work the main process need not do
            stored = store_fit(cache, node, output) if cache is not None else None
            done.append((output, time.perf_counter() - started, stored))
    except SpecErrors as exc:
        return done, _as_shown(exc, context)
    except Exception as exc:  # a bug: raised in the main process, with its type
        return done, exc
    return done, None


def _as_shown(exc: SpecErrors, context: WorkerContext) -> SpecErrors:
    for error in exc.errors:  # name the spec as the user did, as a serial run does
        if error.file == context.file:
            error.file = context.shown_file
    return exc


_WRITERS: dict[str, NodeCache] = {}


def _writer(context: WorkerContext) -> NodeCache | None:
    """A worker's handle on the run's cache folder (made once; the main process swept it);
    None without one, or when this worker's keys differ from the main process's: its specrun
    source differs (its files changed on disk between the two processes' imports: an
    upgrade, a checkout, a merge while a test suite runs). Its entries would go under keys the
    main process never reads, and the next run would miss them; the main process stores them
    instead, under its keys."""
    from specrun.cache import NodeCache

    folder = context.cache
    if folder is None or context.key_check != NodeCache.key(""):
        return None
    if folder not in _WRITERS:
        _WRITERS.clear()
        _WRITERS[folder] = NodeCache(Path(folder), sweep=False)
    return _WRITERS[folder]


def locality_order(tasks: Sequence[Task]) -> list[int]:
    """Plan positions of ``tasks`` in the order that fits the models reading one sample one
    after another: grouped by their own transforms (in order of first appearance), then by
    their sample and ``over:`` column, plan order within a group.

    A process keeps a bounded number of sample frames and fit intermediates (``SampleFrames``,
    ``kernels.memo``); a multiverse in plan order (its axes' product) returns to a sample
    every few specifications, so at scale they were evicted before their next use (26
    winsorizings and 36 sample filters of 341,000 rows for the paper's 108 specifications,
    against 2 and 12 grouped). Results are merged in plan order whatever the order of the
    fits, and a fit's numbers do not depend on what it shared."""
    return [i for group in locality_groups(tasks) for i in group]


def locality_groups(tasks: Sequence[Task]) -> list[list[int]]:
    """Plan positions of ``tasks`` in groups of the fits that read one sample (the same own
    transforms, sample and ``over:`` column), in :func:`locality_order`: the groups in order
    of their transforms' first appearance, then of their sample's, plan order within one.
    Tasks that fit no model (none yet) form one group of their own, first."""
    steps: dict[str, int] = {}
    samples: dict[str, int] = {}
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (node, _) in enumerate(tasks):
        model = node.payload.get("model")
        if model is None:
            groups.setdefault((-1, -1), []).append(i)
            continue
        made = repr([step.model_dump_json() for step in model.transforms])
        sample = model.spec.sample
        read = repr(
            (
                sample if isinstance(sample, str) else sample and sample.model_dump_json(),
                model.spec.over,
            )
        )
        key = (steps.setdefault(made, len(steps)), samples.setdefault(read, len(samples)))
        groups.setdefault(key, []).append(i)
    return [groups[key] for key in sorted(groups)]


def _batches(
    tasks: Sequence[Task], workers: int, per_worker: int = 8
) -> list[list[tuple[int, Task]]]:
    """The wave's tasks, numbered in plan order, in batches of about ``size`` = n / (
    ``per_worker`` × ``workers``) tasks (few round trips) in :func:`locality_order`, each
    batch of the fits of whole :func:`locality_groups` where it can be; the last
    ``workers`` × ``size`` tasks in batches of a quarter of that size.

    A group of up to twice the size stays in one batch, small groups share one, and a larger
    group is cut into pieces of about the size: the processes fitting one group's pieces each
    build its sample frame and its fits' shared intermediates (``kernels.memo``), which one
    process would have built once (cut in 64s, the bench multiverse's 96-specification windows
    cost ``--jobs 2`` about 2,090 memo misses, against 1,445 serially; whole, about 1,520).
    The small batches at the end let the processes finish together: a process waits for the
    others' last batches, which were up to two full ones (each has two in flight)."""
    size = max(1, -(-len(tasks) // (per_worker * workers)))
    batches: list[list[tuple[int, Task]]] = []
    for group in locality_groups(tasks):
        numbered = [(i, tasks[i]) for i in group]
        if len(numbered) > 2 * size:
            batches.extend(_cut(numbered, -(-len(numbered) // size)))
        elif batches and len(batches[-1]) + len(numbered) <= size:
            batches[-1].extend(numbered)
        else:
            batches.append(numbered)
    tail: list[tuple[int, Task]] = []
    while batches and len(tail) < workers * size:
        tail[:0] = batches.pop()
    small = max(1, size // 4)
    return batches + _cut(tail, -(-len(tail) // small))


def _cut(items: list[tuple[int, Task]], parts: int) -> list[list[tuple[int, Task]]]:
    """``items`` in ``parts`` consecutive pieces whose sizes differ by at most one."""
    step, extra = divmod(len(items), max(1, parts))
    pieces, start = [], 0
    for part in range(parts):
        end = start + step + (1 if part < extra else 0)
        if end > start:
            pieces.append(items[start:end])
        start = end
    return pieces


def _items(batch: list[tuple[int, Task]]) -> list[Item]:
    return [(node.id, node.hash, used) for _, (node, used) in batch]


def _worker_lost(spec: Spec, process: Any, batch: list[tuple[int, Task]]) -> SpecErrors:
    """The error of a ``--jobs`` worker that ended before returning the fits of ``batch`` (the
    oldest batch it was sent and has not answered: killed, most often by the out-of-memory
    killer, whose signal is SIGKILL): located at its first model, saying how the worker
    ended. Not a fault of the spec, nor a bug of specrun's."""
    import signal

    from specrun.execute import _located

    process.join(timeout=1.0)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            how = f"was killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = "ended" if code is None else f"exited with status {code}"
    models = [node.payload["model"] for _, (node, _) in batch]
    fitting = ""
    if models:
        # the worker may have fitted some of them: their results died with it
        fitting = (
            f" before returning the fits of {len(models)} models, the first '{models[0].name}'"
        )
        if len(models) == 1:
            fitting = f" before returning the fit of model '{models[0].name}'"
    error = SpecError(
        f"a --jobs worker process (pid {process.pid}) {how}{fitting}",
        code="worker",
        path=f"models.{models[0].name}" if models else "--jobs",
        hint="run again; a worker killed by SIGKILL was most likely out of memory: fewer "
        "--jobs, or --jobs 1, use less",
    )
    return SpecErrors([_located(spec, error, models[0].path) if models else error])


def _first_error(errors: dict[int, BaseException], failed: dict[int, SpecErrors]) -> None:
    """Raise the error of the earliest node in plan order that stopped the run (a bug, a
    worker lost), else every failed fit's errors at once, in plan order, as a serial run
    would."""
    if errors:
        raise errors[min(errors)]
    if failed:
        raise SpecErrors([e for i in sorted(failed) for e in failed[i].errors])


def _settle(
    batch: list[tuple[int, Task]],
    outcome: tuple[list[Any], BaseException | None],
    counts: _Counts,
    errors: dict[int, BaseException],
    failed: dict[int, SpecErrors],
) -> Iterator[Fitted]:
    """The fits of ``batch`` a worker returned (``fit_batch``), failed ones noted in
    ``failed`` and the error that stopped the batch in ``errors``, under their positions."""
    done, error = outcome
    for (index, (node, _)), result in zip(batch, done, strict=False):
        counts.finish(reused=False)
        if isinstance(result, SpecErrors):
            failed[index] = result
            continue
        output, seconds, stored = result
        yield node, output, seconds, stored
    if error is not None:
        errors[batch[len(done)][0]] = error


@RUNNERS.register("serial")
class SerialRunner:
    """Every fit in this process, in plan order; the default."""

    def __init__(self, jobs: int = 1) -> None:
        self.spec: Spec | None = None

    def prepare(self, spec: Spec, plan: Plan) -> None:
        pass

    def start(
        self,
        spec: Spec,
        plan: Plan,
        panel: pl.DataFrame,
        progress: ProgressFactory | None,
        cache: Path | None = None,
        frames: SampleFrames | None = None,
    ) -> None:
        from specrun.execute import SampleFrames

        self.spec, self.panel, self.progress = spec, panel, progress
        self.frames = frames if frames is not None else SampleFrames()

    def run(self, tasks: Sequence[Task], counts: _Counts) -> Iterator[Fitted]:
        """The tasks in :func:`locality_order`. A fit failing on the spec or the data
        (``SpecErrors``) is noted and the others go on (they are cached), and the run then
        stops with every failure's errors in plan order: a multiverse whose axis value fails
        in many specifications says so in one run, not one specification a run. Any other
        exception (a bug) stops the run with the error of the earliest failing node in plan
        order, as fitting in plan order would: the nodes before it in plan order not yet
        fitted are fitted first."""
        from specrun.execute import fit_node

        order = locality_order(tasks)
        failed: dict[int, SpecErrors] = {}
        for at, index in enumerate(order):
            node, used = tasks[index]
            counts.set_running(1)
            started = time.perf_counter()
            try:
                output = fit_node(self.spec, self.panel, node, used, self.progress, self.frames)  # type: ignore[arg-type]
            except SpecErrors as exc:
                counts.set_running(0)
                counts.finish(reused=False)
                failed[index] = exc
                continue
            except Exception:
                counts.set_running(0)
                self._raise_earliest(tasks, [i for i in order[at + 1 :] if i < index])
                raise
            counts.set_running(0)
            counts.finish(reused=False)
            yield node, output, time.perf_counter() - started, None
        _first_error({}, failed)

    def _raise_earliest(self, tasks: Sequence[Task], before: list[int]) -> None:
        """Fit the nodes ``before`` (plan positions before a node that failed with a bug, not
        yet fitted) in plan order, raising the first one's bug; return if none has one."""
        from specrun.execute import fit_node

        for index in sorted(before):
            node, used = tasks[index]
            with contextlib.suppress(SpecErrors):
                fit_node(self.spec, self.panel, node, used, None, self.frames)  # type: ignore[arg-type]

    def stop(self) -> None:
        pass


class _PoolRunner(abc.ABC):
    """A ``concurrent.futures`` pool of ``jobs`` workers; subclasses say how a fit is
    submitted (``ThreadRunner``)."""

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = max(1, jobs)
        self.pool: Any = None

    @abc.abstractmethod
    def submit(self, node: Node, used: dict[str, ModelResult]) -> Any:
        """Submit one fit to the pool; returns its future."""

    def run(self, tasks: Sequence[Task], counts: _Counts) -> Iterator[Fitted]:
        from concurrent.futures import FIRST_COMPLETED, wait

        if not tasks:
            return
        futures = {self.submit(node, used): (i, node) for i, (node, used) in enumerate(tasks)}
        pending = set(futures)
        errors: dict[int, BaseException] = {}
        failed: dict[int, SpecErrors] = {}
        while pending:
            counts.set_running(min(len(pending), self.jobs))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index, node = futures[future]
                error = future.exception()
                if isinstance(error, SpecErrors):
                    failed[index] = error
                    continue
                if error is not None:
                    errors[index] = error
                    continue
                output, seconds = future.result()
                counts.finish(reused=False)
                yield node, output, seconds, None
        counts.set_running(0)
        _first_error(errors, failed)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


@RUNNERS.register("threads")
class ThreadRunner(_PoolRunner):
    """Fits on ``jobs`` threads of this process (numpy and polars release the GIL in their
    kernels; the Python around them does not)."""

    def prepare(self, spec: Spec, plan: Plan) -> None:
        pass

    def start(
        self,
        spec: Spec,
        plan: Plan,
        panel: pl.DataFrame,
        progress: ProgressFactory | None,
        cache: Path | None = None,
        frames: SampleFrames | None = None,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from specrun.execute import SampleFrames

        self.spec, self.panel = spec, panel
        self.frames = frames if frames is not None else SampleFrames()
        self.pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="specrun-fit")

    def submit(self, node: Node, used: dict[str, ModelResult]) -> Any:
        from specrun.execute import fit_node

        def task() -> tuple[FitOutput, float]:
            started = time.perf_counter()
            output = fit_node(self.spec, self.panel, node, used, None, self.frames)  # type: ignore[arg-type]
            return output, time.perf_counter() - started

        return self.pool.submit(task)


# thread-pool sizes a worker process sets to 1 unless the environment gives them. Not BLAS':
# a BLAS call splits its work by its thread count (OpenBLAS' dgemv gives the columns at the
# ends of each thread's share to another loop), so its last digits depend on that count, and a
# fit in a worker must give the bytes it gives in this process (the placebo draws of a DID and
# the Callaway-Sant'Anna bootstrap differed from a serial run's with one BLAS thread per worker)
WORKER_THREADS = ("POLARS_MAX_THREADS",)


def _worker_main(conn: Connection) -> None:
    """A spawned fit worker process: one thread for polars (unless the environment says
    otherwise: workers sharing the cores should not each start a pool of every core; BLAS
    keeps this process's thread count, which its results depend on), the fitting modules
    imported at once (while the main process validates the spec), then ``_serve``."""
    import signal

    for name in WORKER_THREADS:
        os.environ.setdefault(name, "1")  # before numpy and polars load
    # Ctrl-C is the main process's to handle (it stops the workers), not a traceback per worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import importlib

    # (scipy.special, for every fit's p-values, takes ~0.3 s the first fit would otherwise pay)
    for module in ("specrun.execute", "specrun.plan.compile", "specrun.spec.validate"):
        importlib.import_module(module)
    importlib.import_module("scipy.special")
    _serve(conn)


def end_with_parent(parent: int) -> None:
    """Have Linux kill this forked child (SIGKILL) when its parent dies, and end it now if the
    parent is already gone. A parent killed by SIGKILL otherwise left its children working on,
    orphaned, their results read by nobody: a figure drawer for as long as its figures took
    (seconds), a ``--jobs`` fit worker until its current batch ended.

    ``prctl(PR_SET_PDEATHSIG)`` (Linux ``prctl(2)``) fires when the thread that forked the
    child ends; the thread that forks the drawers (``specrun.drawers``) waits for their
    figures, and the one that forks fit workers (``ProcessRunner.prepare``) runs the fits and
    stops the workers, so each outlives its children in a run that is not killed.
    """
    import ctypes
    import signal

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # died before the request was made
        os._exit(1)


def _forked_main(
    conn: Connection, theirs: list[Connection], token: str, spec: Spec, plan: Plan, parent: int
) -> None:
    """A forked fit worker process: it has this run's spec, plan and imports from its parent
    (the spec is not validated again), then ``_serve``. Polars' thread pool is its own: the
    parent forks only before its pool starts (``_fork_safe``); it has the parent's size, as
    polars reads ``POLARS_MAX_THREADS`` once, on import (setting it here changed nothing; its
    threads took about 10 ms of CPU time in a 1,000-fit worker). ``theirs``: the parent's ends
    of the workers' pipes, which the fork copied; closed, so that the parent's death ends
    ``recv`` here with EOF; ``parent``: the parent's process id, whose death (even by SIGKILL)
    ends this worker at once (:func:`end_with_parent`), not after its current batch."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process's to handle, as spawned
    end_with_parent(parent)
    for end in theirs:
        end.close()
    from specrun.execute import SampleFrames

    _REBUILT.clear()
    _REBUILT[token] = (spec, {n.id: n for n in plan.nodes}, SampleFrames())
    _serve(conn)


def _serve(conn: Connection) -> None:
    """A worker's loop: the run's ``WorkerContext`` once, then batches of nodes until told to
    stop or the main process has gone."""
    context: WorkerContext | None = None
    while True:
        try:
            kind, body = conn.recv()
        except (EOFError, OSError):  # the main process has gone
            return
        if kind == "stop":
            return
        if kind == "context":
            context = body
            _rebuilt(context)  # the spec and plan now, before the first batch arrives
        else:
            outcome = fit_batch(context, body)  # type: ignore[arg-type]
            try:
                conn.send(outcome)
            except OSError:  # the main process was killed mid-run: nobody reads the results
                return


def _fork_safe() -> bool:
    """Whether a worker may be forked from this process now: on Linux, before polars' thread
    pool (threads ``polars-0``, …) and its async runtime (``tokio-rt-worker``) exist, whose
    threads a child would not have (a pool job would wait forever). Its allocator's and BLAS'
    threads are restarted in a child by their own fork handlers."""
    import re
    import sys

    if sys.platform != "linux":
        return False
    try:
        tasks = os.listdir("/proc/self/task")
        names = []
        for task in tasks:
            with open(f"/proc/self/task/{task}/comm", encoding="utf-8") as handle:
                names.append(handle.read().strip())
    except OSError:
        return False
    return not any(re.fullmatch(r"polars-\d+|tokio-rt-worker", name) for name in names)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C in this process while worker processes are spawned: a spawned Python
    keeps SIGINT ignored when it starts with it ignored, so a Ctrl-C during a worker's first
    imports (before ``_worker_main`` ignores it) stops only this process, without a traceback
    from each worker. A Ctrl-C within the few milliseconds of the spawns is lost."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; workers then start with Python's
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C in this process while workers are forked, and take it once they are:
    a SIGINT meanwhile is noted by a handler that raises nothing, then raised again when the
    previous handler is back. A forked worker copies that handler until it ignores SIGINT
    (``_forked_main``), so a Ctrl-C reaching it meanwhile is no traceback of its own. (Ignoring
    SIGINT over the fork, as for spawned workers, lost a Ctrl-C sent just then: the run went on
    to its end. Blocking it would not hold it back: another thread, BLAS', takes it.)"""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            signal.raise_signal(signal.SIGINT)


def _stop_workers(workers: list[tuple[Any, Connection]]) -> None:
    for _, conn in workers:
        with contextlib.suppress(OSError, ValueError):  # a worker already gone
            conn.send(("stop", None))
    for process, conn in workers:
        # an idle worker stops at once; one still importing (a spec error ended the run
        # before any fit) would read "stop" only after its imports, seconds later, and holds
        # nothing to save: it is ended rather than waited for
        process.join(timeout=0.1)
        if process.is_alive():
            process.terminate()
            process.join()
        conn.close()
    workers.clear()


@RUNNERS.register("processes")
class ProcessRunner:
    """Fits on ``jobs`` processes: this one and ``jobs - 1`` workers. Each worker receives the
    run's ``WorkerContext`` once, then batches of nodes; this process fits a batch itself
    whenever no worker is idle.

    Workers are forked (``fork=True``, Linux) once the spec is compiled and before the data
    stage starts polars' thread pool (``prepare``): a forked worker has the spec, the plan and
    the fitting modules already, and costs milliseconds, where a spawned one imports them and
    validates the spec again (~1.4 CPU-seconds on the 2,000-specification bench). Elsewhere,
    or when this process's polars pool already runs, they are spawned when the runner is made,
    so that their start-up overlaps the spec's validation (``spawn``: polars' pool does not
    survive ``fork``).

    Chosen for ``--jobs`` over threads: the Python around the numpy kernels holds the GIL, so
    two threads ran the 2,016-fit bench multiverse slower than one (1.2× the serial time),
    and a pool per task (``concurrent.futures``, one task per fit) paid a round trip per
    ~1 ms fit."""

    def __init__(self, jobs: int = 2, *, fork: bool = False) -> None:
        self.jobs = max(1, jobs)
        self.workers: list[tuple[Any, Connection]] = []
        self.start_method = "fork" if fork and _fork_safe() else "spawn"
        if self.start_method == "spawn":
            self._spawn()
        # workers end with the runner even when a run never reaches its fits (a spec error)
        self._finalizer = weakref.finalize(self, _stop_workers, self.workers)

    def _spawn(self) -> None:
        import multiprocessing

        spawn = multiprocessing.get_context("spawn")
        with _sigint_ignored():
            for _ in range(self.jobs - 1 - len(self.workers)):
                here, there = spawn.Pipe()
                process = spawn.Process(target=_worker_main, args=(there,), daemon=True)
                process.start()
                there.close()
                self.workers.append((process, here))

    def prepare(self, spec: Spec, plan: Plan) -> None:
        """Fork the workers, with this run's spec and plan, if they are to be forked and this
        process is still safe to fork (else spawn them)."""
        if self.start_method != "fork" or self.workers:
            return
        if not _fork_safe():
            self.start_method = "spawn"
            self._spawn()
            return
        import importlib
        import multiprocessing
        import warnings

        from specrun.estimators import ESTIMATORS

        # imported once here, for this process's fits and every worker's
        for node in plan.nodes:
            if node.kind == "fit":
                ESTIMATORS.get(node.payload["model"].spec.estimator)
        importlib.import_module("scipy.special")  # every fit's p-values
        token = WorkerContext.token_of(spec, plan)
        fork = multiprocessing.get_context("fork")
        with _sigint_deferred(), warnings.catch_warnings():
            # polars warns that a fork may deadlock the child: its pool has not started
            # (``_fork_safe``), so the child starts its own
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            for _ in range(self.jobs - 1):
                here, there = fork.Pipe()
                theirs = [*(end for _, end in self.workers), here]
                process = fork.Process(
                    target=_forked_main,
                    args=(there, theirs, token, spec, plan, os.getpid()),
                    daemon=True,
                )
                process.start()
                there.close()
                self.workers.append((process, here))

    def start(
        self,
        spec: Spec,
        plan: Plan,
        panel: pl.DataFrame,
        progress: ProgressFactory | None,
        cache: Path | None = None,
        frames: SampleFrames | None = None,
    ) -> None:
        from specrun.execute import SampleFrames

        self.prepare(spec, plan)  # a run that did not prepare: workers spawned now
        self.spec, self.panel, self.progress = spec, panel, progress
        self.frames = frames if frames is not None else SampleFrames()
        # workers on this machine write their nodes' entries into the run's cache themselves
        context = WorkerContext.of(spec, plan, panel, cache)
        for process, conn in self.workers:
            try:
                conn.send(("context", context))
            except OSError:
                raise _worker_lost(spec, process, []) from None

    def _fit_here(self, batch: list[tuple[int, Task]]) -> tuple[list[Any], BaseException | None]:
        from specrun.execute import fit_node

        done: list[tuple[FitOutput, float, bool | None] | SpecErrors] = []
        for _, (node, used) in batch:
            started = time.perf_counter()
            try:
                output = fit_node(self.spec, self.panel, node, used, self.progress, self.frames)  # type: ignore[arg-type]
            except SpecErrors as exc:
                done.append(exc)
                continue
            except Exception as exc:
                return done, exc
            done.append((output, time.perf_counter() - started, None))
        return done, None

    def run(self, tasks: Sequence[Task], counts: _Counts) -> Iterator[Fitted]:
        from collections import deque
        from multiprocessing.connection import wait

        queue = deque(_batches(tasks, self.jobs, per_worker=16))
        # two batches in flight per worker: it starts the next while this process, busy with
        # a batch of its own, has not yet read the last one's results
        sent: dict[Any, deque[list[tuple[int, Task]]]] = {conn: deque() for _, conn in self.workers}
        errors: dict[int, BaseException] = {}
        failed: dict[int, SpecErrors] = {}

        def settle(batch: list[tuple[int, Task]], outcome: Any) -> Iterator[Any]:
            return _settle(batch, outcome, counts, errors, failed)

        processes = {id(conn): process for process, conn in self.workers}

        def receive(conn: Any) -> Any:
            try:
                return conn.recv()
            except (EOFError, OSError):
                batch = sent[conn][0] if sent[conn] else []
                raise _worker_lost(self.spec, processes[id(conn)], batch) from None

        try:
            while queue or any(sent.values()):
                # after a bug, only nodes before it still run (to raise the first, as serially);
                # after a failed fit every other node runs (``_first_error``)
                stop = min(errors, default=len(tasks))
                while queue and min(i for i, _ in queue[0]) >= stop:
                    queue.popleft()
                for conn, batches in sent.items():
                    while len(batches) < 2 and queue:
                        batches.append(queue.popleft())
                        try:
                            conn.send(("fit", _items(batches[-1])))
                        except OSError:
                            # a worker that has died (a BrokenPipeError, which the command
                            # line would take for a closed stdout and exit 0 in silence)
                            raise _worker_lost(self.spec, processes[id(conn)], batches[0]) from None
                counts.set_running(len(self.workers) + (1 if queue else 0))
                waiting = [conn for conn, batches in sent.items() if batches]
                ready = wait(waiting, timeout=0 if queue else None) if waiting else []
                for conn in ready:
                    outcome = receive(conn)
                    yield from settle(sent[conn].popleft(), outcome)  # type: ignore[index]
                if queue and not ready:
                    batch = queue.popleft()
                    yield from settle(batch, self._fit_here(batch))
        finally:
            # A run left early (Ctrl-C, a bug while merging) with batches still in the
            # workers wants none of their results, and the next run of these workers must not
            # read them as its own: the workers are stopped rather than waited for (a worker
            # ignores SIGINT, and its batch may hold minutes of fits); a later run of this
            # runner fits in this process alone.
            if any(sent.values()):
                _stop_workers(self.workers)
        counts.set_running(0)
        _first_error(errors, failed)

    def stop(self) -> None:
        """Nothing per run: the workers serve every run of this runner until it is closed."""

    def close(self) -> None:
        """End the worker processes."""
        self._finalizer()


@RUNNERS.register("dask")
class DaskRunner:
    """Fits on an existing Dask distributed cluster at ``address``: the run's ``WorkerContext``
    is scattered to every worker once (``broadcast=True``) and each task fits a batch of
    nodes reading it (about eight batches per worker and wave: a small fit is shorter than a
    task's round trip through the scheduler). Requires the ``dask`` extra (``pip install
    specrun[dask]``)."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.address, self.timeout = address, timeout
        self.client: Any = None

    def prepare(self, spec: Spec, plan: Plan) -> None:
        pass

    def start(
        self,
        spec: Spec,
        plan: Plan,
        panel: pl.DataFrame,
        progress: ProgressFactory | None,
        cache: Path | None = None,
        frames: SampleFrames | None = None,
    ) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SpecError(
                "--scheduler needs Dask distributed: pip install 'specrun[dask]'", code="usage"
            ) from None
        try:
            _check_address(self.address)
            self.client = Client(self.address, timeout=self.timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _unreachable(self.address, reason) from None
        except Exception:
            # something else answers there (a web server, a proxy): Dask reads its reply as
            # a frame and fails somewhere in its protocol code (an HTTP status line read as
            # a length of exabytes was a MemoryError, exit 3)
            raise _unreachable(
                self.address, "what answers there does not speak Dask's protocol"
            ) from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        context = WorkerContext.of(spec, plan, panel)
        self.context = self.client.scatter(context, broadcast=True, hash=False)

    def run(self, tasks: Sequence[Task], counts: _Counts) -> Iterator[Fitted]:
        from distributed import as_completed

        if not tasks:
            return
        futures = {
            self.client.submit(fit_batch, self.context, _items(batch), pure=False): batch
            for batch in _batches(tasks, self.workers)
        }
        errors: dict[int, BaseException] = {}
        failed: dict[int, SpecErrors] = {}
        left = len(tasks)
        counts.set_running(min(left, self.workers))
        for future in as_completed(futures, loop=self.client.loop):
            batch = futures[future]
            if future.status == "error":  # the task itself failed (a worker lost, say)
                errors[batch[0][0]] = future.exception()
                continue
            left -= len(batch)
            counts.set_running(min(left, self.workers))
            # (a cluster's workers need not see the cache folder: the entries are stored here)
            for node, output, seconds, _ in _settle(batch, future.result(), counts, errors, failed):
                yield node, output, seconds, None
        _first_error(errors, failed)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def _unreachable(address: str, reason: str) -> SpecError:
    return SpecError(
        f"cannot reach the Dask scheduler at '{address}': {reason}",
        code="scheduler",
        path="--scheduler",
        hint="start one with `dask scheduler` and `dask worker ADDRESS`, or check the address",
    )


def _check_address(address: str) -> None:
    """Raise ``ValueError`` for an address Dask cannot parse (``garbage``: no port; ``xyz://``:
    no such scheme) before a ``Client`` exists: a Client that fails while parsing lingers
    and, when collected, blocks 20 s closing and prints a traceback."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    scheme, _ = parse_address(address)
    if scheme != "inproc":  # in-process clusters have no host and port
        get_address_host_port(address)


# data files from which ``--jobs`` left unset fits on forked processes: the paper spec ran as
# fast on two processes as on one at x1 and x100 (30 MB of CSV) and 16 % faster at x1000 (300
# MB; ``bench/scale.py``), where its threshold, mediation and GMM fits take a second each
AUTO_DATA_BYTES = 64 << 20
# estimators whose fits resample or search (bootstraps, grids, GMM's instrument blocks): a
# worker pays only when two such fits can run side by side; on cheap ones, copying the panel
# to it cost more than it saved (eight two-way FE fits of 1M rows: 1.17x the serial time)
AUTO_HEAVY = frozenset({"panel_threshold", "mediation", "difference_gmm", "system_gmm"})
AUTO_MAX_JOBS = 4  # each worker holds its own copy of the transformed panel
# bytes of memory per byte of data file: a forked worker, given the run's panel, added 261 MB
# to the peak of a 69 MB CSV's run (1M rows x 5 columns, four fits; the run itself peaked at
# 520 MB serially, 7.5x): a worker starts only where the memory available holds it
AUTO_WORKER_MEMORY = 4
AUTO_RUN_MEMORY = 8


class AutoRunner:
    """``--jobs`` left unset: fits in this process, or on forked processes (this one and
    ``min(usable CPUs, AUTO_MAX_JOBS) - 1`` workers, ``ProcessRunner``) when the data files
    total at least ``AUTO_DATA_BYTES`` and the plan has two resampling or search fits or more
    (``AUTO_HEAVY``: threshold, mediation, GMM), on Linux, where a
    worker forks in milliseconds; fewer workers where the memory available would not hold
    each one's copy of the panel (``AUTO_WORKER_MEMORY``, ``available_memory``). CPUs and
    memory are the smaller of the machine's and the control group's (a container's or a
    SLURM job's limits: ``usable_cpus``, ``available_memory``). Decided in
    ``prepare``, once the spec is compiled and before the data stage (as a forked worker must
    be): small specs pay nothing for workers they would not use. Results are the same bytes
    either way (``ProcessRunner``)."""

    def __init__(self) -> None:
        self.inner: Any = None
        self.jobs = 1
        # ``start``'s arguments until a wave has a node to fit: a run whose fits all come from
        # the cache (a table or a label changed) sends its workers no copy of the panel
        self.pending: tuple[tuple[Any, ...], dict[str, Any]] | None = None

    def prepare(self, spec: Spec, plan: Plan) -> None:
        if self.inner is None:
            self.jobs = self._jobs(spec, plan)
            self.inner = ProcessRunner(self.jobs, fork=True) if self.jobs > 1 else SerialRunner()
        self.inner.prepare(spec, plan)

    @staticmethod
    def _jobs(spec: Spec, plan: Plan) -> int:
        from specrun.data.io import resolve

        cpus = min(usable_cpus(), AUTO_MAX_JOBS)
        heavy = sum(
            1
            for node in plan.nodes
            if node.kind == "fit" and node.payload["model"].spec.estimator in AUTO_HEAVY
        )
        if cpus < 2 or heavy < 2 or not _fork_safe():  # (False off Linux)
            return 1
        total = 0
        for source in spec.data.sources.values():
            with contextlib.suppress(OSError):  # a missing file is the data stage's error
                total += resolve(source, spec.folder).stat().st_size
        if total < AUTO_DATA_BYTES:
            return 1
        # a machine that holds the serial run but not a copy of the panel per worker fits
        # serially rather than swap or be killed
        spare = available_memory() - AUTO_RUN_MEMORY * total
        return max(1, min(cpus, 1 + spare // (AUTO_WORKER_MEMORY * total)))

    def start(self, spec: Spec, plan: Plan, *args: Any, **kwargs: Any) -> None:
        """Note the run's panel; the workers are given it (``ProcessRunner.start`` pickles it
        to each) once a wave has a node to fit, so a run that fits nothing sends nothing."""
        self.prepare(spec, plan)
        self.pending = ((spec, plan, *args), kwargs)

    def run(self, tasks: Sequence[Task], counts: _Counts) -> Iterator[Fitted]:
        if not tasks:
            return iter(())
        if self.pending is not None:
            args, kwargs = self.pending
            self.pending = None
            self.inner.start(*args, **kwargs)
        return self.inner.run(tasks, counts)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.pending = None
        if self.inner is not None:
            self.inner.stop()


def make_runner(jobs: int = 1, scheduler: str | None = None, local: str = "processes") -> Any:
    """The runner for ``--jobs N`` / ``--scheduler ADDRESS``: Dask when an address is given,
    ``local`` workers when ``jobs > 1`` (at most one process per usable CPU), serial for
    ``jobs == 1``, and ``AutoRunner`` for ``jobs == 0`` (``--jobs`` left unset).
    Made before the spec is validated, so that local worker processes start meanwhile.

    Processes are the default local workers: the Python around the numpy kernels holds the
    GIL, so two threads ran the fits of the 2,016-specification bench multiverse slower than
    one thread (``bench/fitpath.py`` times serial, threads and processes in one run)."""
    if scheduler:
        return RUNNERS.get("dask")(scheduler)
    if jobs == 0:
        return AutoRunner()
    jobs = min(jobs, usable_cpus())
    if jobs > 1:
        return (
            RUNNERS.get(local)(jobs, fork=True)
            if local == "processes"
            else RUNNERS.get(local)(jobs)
        )
    return RUNNERS.get("serial")()


# Where Linux shows the memory and CPUs this process may use: the machine's, and its control
# group's (Docker, Kubernetes, SLURM and systemd limit a job there, not in /proc/meminfo or the
# affinity mask). Module constants, so that tests can point them at files of their own.
MEMINFO = Path("/proc/meminfo")
PROC_CGROUP = Path("/proc/self/cgroup")
CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit number
# (9223372036854771712 on 4 kB pages): anything this large is no limit
_UNLIMITED = 1 << 62


def available_memory() -> int:
    """Bytes of memory available to new processes without swapping or being killed: the
    smaller of the machine's (``/proc/meminfo``'s ``MemAvailable``) and what this process's
    control group has left (``cgroup_memory_available``). 0 where the machine's figure cannot
    be read, so that ``--jobs`` left unset fits serially."""
    machine = 0
    try:
        with MEMINFO.open(encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    machine = int(line.split()[1]) * 1024  # kB
                    break
    except (OSError, ValueError, IndexError):
        return 0
    group = cgroup_memory_available()
    return machine if group is None else min(machine, group)


def cgroup_memory_available() -> int | None:
    """Bytes this process's control group may still use before its limit, or None without a
    limit (``max`` in cgroup v2, the v1 "no limit" number, no cgroup files at all).

    The limit is the smallest of ``memory.max`` (cgroup v2) or ``memory.limit_in_bytes`` (v1)
    on the group's folder and every folder above it up to the mount point, since a parent's
    limit binds its children (a SLURM job's step, a Kubernetes pod's container). What the
    group uses is its ``memory.current`` (v2) or ``memory.usage_in_bytes`` (v1) less the
    inactive page cache (``inactive_file`` of ``memory.stat``), which the kernel reclaims
    before it kills anything: the "working set" that ``docker stats`` and the kubelet report.
    Never raises; an unreadable file counts as no limit there."""
    best: int | None = None
    for folder, v2 in _cgroup_folders("memory"):
        limit = _read_int(folder / ("memory.max" if v2 else "memory.limit_in_bytes"))
        if limit is None or limit >= _UNLIMITED:
            continue
        used = _read_int(folder / ("memory.current" if v2 else "memory.usage_in_bytes")) or 0
        stat = _read_stat(folder / "memory.stat")
        used -= stat.get("inactive_file" if v2 else "total_inactive_file", 0)
        left = max(0, limit - max(0, used))
        best = left if best is None else min(best, left)
    return best


def cgroup_cpus() -> int | None:
    """The CPUs this process's control group may keep busy, or None without a quota: its
    CPU time quota over its period (``cpu.max``, "200000 100000" = 2 CPUs, in cgroup v2;
    ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` in v1, -1 for none) on the group's folder
    and every folder above it, the smallest, rounded down as Go's automaxprocs does, and at
    least 1 (a quota of 1.5 CPUs runs two CPU-bound processes slower than one, each throttled
    in turn). Never raises."""
    best: float | None = None
    for folder, v2 in _cgroup_folders("cpu"):
        if v2:
            parts = (_read_text(folder / "cpu.max") or "").split()
            if len(parts) != 2 or parts[0] == "max":
                continue
            try:
                quota, period = int(parts[0]), int(parts[1])
            except ValueError:
                continue
        else:
            quota = _read_int(folder / "cpu.cfs_quota_us") or -1
            period = _read_int(folder / "cpu.cfs_period_us") or 0
        if quota <= 0 or period <= 0:
            continue
        best = quota / period if best is None else min(best, quota / period)
    return None if best is None else max(1, int(best))


def _cgroup_folders(controller: str) -> list[tuple[Path, bool]]:
    """The folders of this process's control group for ``controller`` (``memory``, ``cpu``)
    and of every group above it, innermost first, each with whether it is cgroup v2.

    ``/proc/self/cgroup`` names the group (``0::/path`` in v2; ``N:memory:/path`` in v1, whose
    controller folder is ``/sys/fs/cgroup/memory`` or, as some systems mount it,
    ``cpu,cpuacct``). Inside a container the group's path may name a folder of the host that
    the container does not see: then only the mount point, which is the container's own
    group, is read."""
    text = _read_text(PROC_CGROUP) or ""
    found: list[tuple[Path, bool]] = []
    for line in text.splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and controllers == "":
            root, v2 = CGROUP_ROOT, True
            if not (root / "cgroup.controllers").is_file():
                unified = CGROUP_ROOT / "unified"  # hybrid systems: v2 beside v1's folders
                if not (unified / "cgroup.controllers").is_file():
                    continue
                root = unified
        elif controller in controllers.split(","):
            root = next(
                (
                    CGROUP_ROOT / name
                    for name in (controllers, controller, "cpu,cpuacct", "cpuacct,cpu")
                    if (CGROUP_ROOT / name).is_dir()
                ),
                CGROUP_ROOT / controller,
            )
            v2 = False
        else:
            continue
        folder = root / path.strip("/") if path.strip("/") else root
        chain = [folder, *folder.parents] if folder.is_dir() else [root]
        found.extend((f, v2) for f in chain if f == root or root in f.parents)
    if not text and (CGROUP_ROOT / "cgroup.controllers").is_file():
        found.append((CGROUP_ROOT, True))  # no /proc (a test, a sandbox): the mount point
    return found


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return int(text) if text else None
    except ValueError:
        return None  # "max": no limit


def _read_stat(path: Path) -> dict[str, int]:
    stat: dict[str, int] = {}
    for line in (_read_text(path) or "").splitlines():
        key, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            stat[key] = int(value)
    return stat


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask where the system has one, or the
    machine's count, and no more than its control group's CPU quota (``cgroup_cpus``: a
    container given two CPUs of a 64-core host). The most ``--jobs`` uses. Fits are CPU-bound,
    so more processes only compete for the cores (or for the quota, throttled in turn), and
    each spawned worker holds its own imports (about 150 MB): ``--jobs 999`` once started 998."""
    if hasattr(os, "sched_getaffinity"):
        cpus = max(1, len(os.sched_getaffinity(0)))
    else:
        cpus = max(1, os.cpu_count() or 1)
    quota = cgroup_cpus()
    return cpus if quota is None else min(cpus, quota)
