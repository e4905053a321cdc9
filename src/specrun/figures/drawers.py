"""Figures drawn in forked processes while this one fits the models and renders the tables.

Importing matplotlib and drawing a run's figures is most of what ``specrun run`` does after
its fits (on ``specs/paper.yaml``: about 1.1 s to load matplotlib and 2 s of CPU time for four
figures in PNG and PDF, against under a second of fitting). A drawer process, forked once the
spec is compiled, loads matplotlib and the fonts while this process runs the models; when the
figures' data are ready (``FigureData``, computed by the execute stage), it receives them,
forks helpers that share what it loaded, and each process draws its share of the figures while
this one renders the tables. On two cores the figures then cost the run little more than the
tables do.

Only on Linux and with at least two usable CPUs; elsewhere the figures are drawn in this
process (macOS's system frameworks are not safe to use in a forked child without ``exec``,
which is why Python's ``multiprocessing`` spawns there). A drawer never uses polars or BLAS,
whose thread pools a forked child lacks: a figure's data are numpy arrays and text, and drawing
computes nothing. Every drawer ends when this process dies, even by SIGKILL
(``end_with_parent``). Figures a drawer could not return (it was killed, or failed in a way
that is not a user error) are drawn again in this process, where the error then surfaces with
its usual message; a figure's bytes do not depend on the process that drew it
(``specrun.figures.files``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import warnings
from collections.abc import Sequence
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from specrun.executors import end_with_parent, usable_cpus
from specrun.figures.files import Drawn, draw_figures, load_matplotlib, warm_up

if TYPE_CHECKING:
    from specrun.figures.base import FigureData

F_SETPIPE_SZ = 1031  # <linux/fcntl.h>: the figures' data are sent before the drawer reads them
PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size


def shares(costs: Sequence[tuple[str, float]], processes: int) -> list[list[str]]:
    """The figures (name, seconds) each of ``processes`` drawers draws, so that the last one
    ends soon: costliest first, each to the drawer with the least work so far (Graham's
    longest-processing-time rule; ties to the first drawer). Deterministic; a drawer may get
    nothing when there are fewer figures than drawers. Each share keeps the figures' order."""
    load = [0.0] * processes
    chosen: list[list[str]] = [[] for _ in range(processes)]
    for name, seconds in sorted(costs, key=lambda item: -item[1]):  # stable: spec order
        drawer = load.index(min(load))
        load[drawer] += seconds
        chosen[drawer].append(name)
    order = {name: i for i, (name, _) in enumerate(costs)}
    return [sorted(share, key=order.__getitem__) for share in chosen]


class Drawers:
    """The drawer processes of one run. :meth:`start` forks the first one (or gives None where
    figures are drawn in this process); :meth:`draw` sends it the figures' data, once;
    :meth:`result` waits for what each figure gave. Use it as a context manager: leaving the
    block before :meth:`result` (an error in the fits or the tables) ends the drawers.

    ``processes`` is how many processes draw (the first drawer and the helpers it forks).
    """

    def __init__(self, pid: int, jobs: Connection, results: Connection, processes: int) -> None:
        self.pid: int | None = pid
        self.processes = processes
        self._jobs = jobs
        self._results = results

    @classmethod
    def start(cls, figures: int) -> Drawers | None:
        """Fork the first drawer, which loads matplotlib now, for a run that draws ``figures``
        figures; None when they are drawn in this process (not Linux, one usable CPU, no
        figure). Call it after the spec is compiled and before the models run."""
        cpus = usable_cpus()
        if sys.platform != "linux" or cpus < 2 or figures < 1:
            return None
        jobs_out, jobs_in = Pipe(duplex=False)
        results_out, results_in = Pipe(duplex=False)
        with contextlib.suppress(OSError):  # a smaller pipe only makes ``draw`` wait longer
            import fcntl

            fcntl.fcntl(jobs_in.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        parent = os.getpid()
        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a multi-threaded process may deadlock the child;
            # a drawer runs matplotlib only, never polars or BLAS, and exits without cleanup
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the drawer; its figures are checked by the parent
            code = 1
            try:
                jobs_in.close()
                results_out.close()
                _drawer(jobs_out, results_in, parent, min(cpus, figures))
                code = 0
            finally:
                os._exit(code)
        jobs_out.close()
        results_in.close()
        return cls(pid, jobs_in, results_out, min(cpus, figures))

    def draw(self, figures: Sequence[FigureData]) -> None:
        """Send the figures' data to the drawers (once); they draw while this process goes
        on. A drawer already gone is noticed by :meth:`result`."""
        with contextlib.suppress(OSError, ValueError):
            self._jobs.send(list(figures))
        self._jobs.close()

    def result(self) -> dict[str, Drawn]:
        """What each figure the drawers drew gave: its PNG and PDF bytes, or the
        ``SpecError`` it raised (unlocated), by figure name. Figures missing from it were not
        drawn (a drawer died): the caller draws them. Waits for the drawers and reaps them."""
        drawn: dict[str, Drawn] = {}
        try:
            drawn = self._results.recv()  # from our own child
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            pass
        finally:
            self._results.close()
            self._reap()
        return drawn

    def cancel(self) -> None:
        """End the drawers (when their figures are no longer wanted) and reap them."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # its helpers follow it (``end_with_parent``)
        for connection in (self._jobs, self._results):
            connection.close()
        self._reap()

    def _reap(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None

    def __enter__(self) -> Drawers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def _drawer(jobs: Connection, results: Connection, parent: int, processes: int) -> None:
    """The first drawer: load matplotlib, wait for the figures' data, fork ``processes - 1``
    helpers and draw its own share; send back every share's figures that were drawn."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process's to handle
    end_with_parent(parent)
    load_matplotlib()
    warm_up()  # while the models are still fitted: its helpers are forked warm
    try:
        figures: list[FigureData] = jobs.recv()
    except (EOFError, OSError):  # the run ended before its figures: nothing to draw
        return
    jobs.close()
    by_name = {f.name: f for f in figures}
    groups = shares([(f.name, f.seconds) for f in figures], processes)
    helpers = [_helper([by_name[n] for n in group], results) for group in groups[1:] if group]
    drawn = draw_figures([by_name[n] for n in groups[0]])
    for pid, connection in helpers:
        with contextlib.suppress(EOFError, OSError, pickle.UnpicklingError, ValueError):
            drawn.update(connection.recv())  # a helper lost: its figures are drawn again
        connection.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    results.send(drawn)


def _helper(figures: list[FigureData], results: Connection) -> tuple[int, Connection]:
    """Fork a helper of the first drawer that draws ``figures`` with what the drawer loaded
    and sends them to it; its process id and the end its figures come from."""
    out, into = Pipe(duplex=False)
    drawer = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a helper; its figures are checked by the parent
        code = 1
        try:
            out.close()
            results.close()  # only the first drawer answers the main process
            end_with_parent(drawer)
            into.send(draw_figures(figures))
            code = 0
        finally:
            os._exit(code)
    into.close()
    return pid, out
