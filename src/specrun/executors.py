"""Where model fits run: in this process, on local worker threads or processes, or on a Dask
distributed cluster. A registry of runners behind one small interface (``start``, ``run``,
``stop``); ``execute`` hands each runner a wave of independent ``fit`` nodes and merges what
comes back in plan order, so outputs are the same whatever the runner and however many workers.

Remote workers (processes, Dask) cannot receive the spec object itself (its step types are
pydantic models built at import time); they receive a ``WorkerContext`` — the spec's text, the
data files' digests and the transformed panel — once per worker (process initializer; Dask
``scatter(..., broadcast=True)``), rebuild the spec and plan from the text once, and check
that each node they are asked to fit has the hash the main process compiled.
"""

from __future__ import annotations

import abc
import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from specrun.errors import SpecError, SpecErrors
from specrun.registry import Registry

if TYPE_CHECKING:
    from specrun.execute import FitOutput, ProgressFactory, _Counts
    from specrun.plan.nodes import Node, Plan
    from specrun.results import ModelResult
    from specrun.spec.validate import Spec

Task = tuple["Node", dict[str, "ModelResult"]]  # a fit node and the results it reads


class NodeRunner(Protocol):
    """Fits waves of independent plan nodes; yields (node, output, seconds) as each ends."""

    def start(
        self, spec: Spec, plan: Plan, panel: pl.DataFrame, progress: ProgressFactory | None
    ) -> None: ...

    def run(
        self, tasks: Sequence[Task], counts: _Counts
    ) -> Iterator[tuple[Node, FitOutput, float]]: ...

    def stop(self) -> None: ...


RUNNERS: Registry[type] = Registry("executor")


@dataclass(frozen=True)
class WorkerContext:
    """What a worker needs to fit any node of a run: the spec's text (and its path, absolute
    for reading data headers, and as the user gave it, for messages), the sources' digests and
    the transformed panel."""

    token: str
    text: str
    file: str
    shown_file: str
    data_hashes: dict[str, str]
    panel: pl.DataFrame

    @classmethod
    def of(cls, spec: Spec, plan: Plan, panel: pl.DataFrame) -> WorkerContext:
        shown = spec.document.file
        text = spec.document.text
        token = hashlib.sha256(
            "\0".join(
                [text, shown, *sorted(f"{k}={v}" for k, v in plan.data_hashes.items())]
            ).encode()
        ).hexdigest()
        return cls(token, text, os.path.abspath(shown), shown, dict(plan.data_hashes), panel)


_REBUILT: dict[str, tuple[Spec, dict[str, Node]]] = {}  # per worker process: token → plan


def _rebuilt(context: WorkerContext) -> tuple[Spec, dict[str, Node]]:
    if context.token not in _REBUILT:
        from specrun.plan.compile import compile_spec
        from specrun.spec.load import load_text
        from specrun.spec.validate import validate

        spec = validate(load_text(context.text, context.file), check_outputs=False)
        plan = compile_spec(spec, context.data_hashes)
        _REBUILT.clear()  # one run at a time per worker: keep memory flat
        _REBUILT[context.token] = (spec, {n.id: n for n in plan.nodes})
    return _REBUILT[context.token]


def fit_remote(
    context: WorkerContext, node_id: str, node_hash: str, used: dict[str, ModelResult]
) -> tuple[FitOutput, float]:
    """Fit node ``node_id`` of the context's plan in a worker; the seconds it took."""
    from specrun.execute import fit_node

    try:
        spec, nodes = _rebuilt(context)
        node = nodes.get(node_id)
        if node is None or node.hash != node_hash:
            raise SpecError(
                f"plan node {node_id} differs in the worker: the spec or its data changed "
                "while running",
                code="data",
            )
        started = time.perf_counter()
        output = fit_node(spec, context.panel, node, used)
        return output, time.perf_counter() - started
    except SpecErrors as exc:
        for error in exc.errors:  # name the spec as the user did, as a serial run does
            if error.file == context.file:
                error.file = context.shown_file
        raise


_CONTEXT: list[WorkerContext] = []


def _init_process(context: WorkerContext) -> None:
    _CONTEXT[:] = [context]


def _fit_in_process(node_id: str, node_hash: str, used: dict[str, Any]) -> tuple[Any, float]:
    return fit_remote(_CONTEXT[0], node_id, node_hash, used)


def _first_error(errors: dict[int, BaseException]) -> None:
    """Raise the error of the earliest node in plan order, as a serial run would."""
    if errors:
        raise errors[min(errors)]


@RUNNERS.register("serial")
class SerialRunner:
    """Every fit in this process, in plan order; the default."""

    def __init__(self, jobs: int = 1) -> None:
        self.spec: Spec | None = None

    def start(
        self, spec: Spec, plan: Plan, panel: pl.DataFrame, progress: ProgressFactory | None
    ) -> None:
        self.spec, self.panel, self.progress = spec, panel, progress

    def run(
        self, tasks: Sequence[Task], counts: _Counts
    ) -> Iterator[tuple[Node, FitOutput, float]]:
        from specrun.execute import fit_node

        for node, used in tasks:
            counts.set_running(1)
            started = time.perf_counter()
            output = fit_node(self.spec, self.panel, node, used, self.progress)  # type: ignore[arg-type]
            counts.set_running(0)
            counts.finish(reused=False)
            yield node, output, time.perf_counter() - started

    def stop(self) -> None:
        pass


class _PoolRunner(abc.ABC):
    """A ``concurrent.futures`` pool of ``jobs`` workers; subclasses say how a fit is
    submitted (``ThreadRunner``, ``ProcessRunner``)."""

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = max(1, jobs)
        self.pool: Any = None

    @abc.abstractmethod
    def submit(self, node: Node, used: dict[str, ModelResult]) -> Any:
        """Submit one fit to the pool; returns its future."""

    def run(
        self, tasks: Sequence[Task], counts: _Counts
    ) -> Iterator[tuple[Node, FitOutput, float]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        if not tasks:
            return
        futures = {self.submit(node, used): (i, node) for i, (node, used) in enumerate(tasks)}
        pending = set(futures)
        errors: dict[int, BaseException] = {}
        while pending:
            counts.set_running(min(len(pending), self.jobs))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index, node = futures[future]
                error = future.exception()
                if error is not None:
                    errors[index] = error
                    continue
                output, seconds = future.result()
                counts.finish(reused=False)
                yield node, output, seconds
        counts.set_running(0)
        _first_error(errors)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


@RUNNERS.register("threads")
class ThreadRunner(_PoolRunner):
    """Fits on ``jobs`` threads of this process (numpy and polars release the GIL in their
    kernels; the Python around them does not)."""

    def start(
        self, spec: Spec, plan: Plan, panel: pl.DataFrame, progress: ProgressFactory | None
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.spec, self.panel = spec, panel
        self.pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="specrun-fit")

    def submit(self, node: Node, used: dict[str, ModelResult]) -> Any:
        from specrun.execute import fit_node

        def task() -> tuple[FitOutput, float]:
            started = time.perf_counter()
            output = fit_node(self.spec, self.panel, node, used)  # type: ignore[arg-type]
            return output, time.perf_counter() - started

        return self.pool.submit(task)


@RUNNERS.register("processes")
class ProcessRunner(_PoolRunner):
    """Fits on ``jobs`` worker processes (started with ``spawn``: polars' thread pool does not
    survive ``fork``), each receiving the run's ``WorkerContext`` once, as its initializer's
    argument."""

    def start(
        self, spec: Spec, plan: Plan, panel: pl.DataFrame, progress: ProgressFactory | None
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(
            self.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(WorkerContext.of(spec, plan, panel),),
        )

    def submit(self, node: Node, used: dict[str, ModelResult]) -> Any:
        return self.pool.submit(_fit_in_process, node.id, node.hash, used)


@RUNNERS.register("dask")
class DaskRunner:
    """Fits on an existing Dask distributed cluster at ``address``: the run's ``WorkerContext``
    is scattered to every worker once (``broadcast=True``) and each node is one task reading
    it. Requires the ``dask`` extra (``pip install specrun[dask]``)."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.address, self.timeout = address, timeout
        self.client: Any = None

    def start(
        self, spec: Spec, plan: Plan, panel: pl.DataFrame, progress: ProgressFactory | None
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
            raise SpecError(
                f"cannot reach the Dask scheduler at '{self.address}': {reason}",
                code="scheduler",
                path="--scheduler",
                hint="start one with `dask scheduler` and `dask worker ADDRESS`, or check the "
                "address",
            ) from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        context = WorkerContext.of(spec, plan, panel)
        self.context = self.client.scatter(context, broadcast=True, hash=False)

    def run(
        self, tasks: Sequence[Task], counts: _Counts
    ) -> Iterator[tuple[Node, FitOutput, float]]:
        from distributed import as_completed

        if not tasks:
            return
        futures = {
            self.client.submit(fit_remote, self.context, node.id, node.hash, used, pure=False): (
                i,
                node,
            )
            for i, (node, used) in enumerate(tasks)
        }
        errors: dict[int, BaseException] = {}
        left = len(futures)
        counts.set_running(min(left, self.workers))
        for future in as_completed(futures, loop=self.client.loop):
            index, node = futures[future]
            left -= 1
            counts.set_running(min(left, self.workers))
            if future.status == "error":
                errors[index] = future.exception()
                continue
            output, seconds = future.result()
            counts.finish(reused=False)
            yield node, output, seconds
        _first_error(errors)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def _check_address(address: str) -> None:
    """Raise ``ValueError`` for an address Dask cannot parse (``garbage``: no port; ``xyz://``:
    no such scheme) before a ``Client`` exists: a Client that fails while parsing lingers
    and, when collected, blocks 20 s closing and prints a traceback."""
    from distributed.comm.addressing import get_address_host_port, parse_address

    scheme, _ = parse_address(address)
    if scheme != "inproc":  # in-process clusters have no host and port
        get_address_host_port(address)


def make_runner(jobs: int = 1, scheduler: str | None = None, local: str = "threads") -> Any:
    """The runner for ``--jobs N`` / ``--scheduler ADDRESS``: Dask when an address is given,
    ``local`` workers when ``jobs > 1``, else serial.

    Threads are the default local workers because they were faster on the reference machine
    (2 cores, 200 panel-FE variants of the paper's data: serial 2.99 s, 2 threads 1.73 s,
    2 spawned processes 14.6 s — each process rebuilds the spec and its polars and BLAS
    thread pools compete for the same cores)."""
    if scheduler:
        return RUNNERS.get("dask")(scheduler)
    if jobs > 1:
        return RUNNERS.get(local)(jobs)
    return RUNNERS.get("serial")()
