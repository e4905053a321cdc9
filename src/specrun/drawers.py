"""Figures drawn in forked processes while this one fits the models and renders the tables.

Loading matplotlib and drawing a run's figures is most of what ``specrun run`` does besides its
own imports (on ``specs/paper.yaml``: about 1.1 s to load matplotlib and 1.7 s of CPU time for
four figures in PNG and PDF, against about a second of fitting). A drawer process is forked as
the run starts, once this process has imported pydantic and the spec's modules (which the
drawer then shares; polars loads later, with the data, and only here), when the spec file names
figures (:func:`prestart`; else once the spec is compiled): it loads matplotlib and the fonts
on the second core while this process validates the spec and fits the models. Each figure's
data (``FigureData``) are sent to it as soon as the models the figure reads are fitted, and the
drawer hands each figure to the first of its helpers free, forking one (it shares what the
drawer loaded) whenever a figure waits and none is free, up to one per usable CPU: figures are
drawn while the fits go on and while this process renders the tables.

Only on Linux and with at least two usable CPUs; elsewhere the figures are drawn in this
process (macOS's system frameworks are not safe to use in a forked child without ``exec``,
which is why Python's ``multiprocessing`` spawns there). A drawer never uses polars or BLAS,
whose thread pools a forked child lacks: a figure's data are numpy arrays and text, and drawing
computes nothing. Every drawer ends when this process dies, even by SIGKILL
(``end_with_parent``), and when the run stops for any reason (``Drawers`` is a context
manager). Figures a drawer could not return (it was killed, or failed in a way that is not a
user error) are drawn again in this process, where an error then surfaces with its usual
message. A figure's bytes do not depend on the process that drew it
(``specrun.figures.files``).

This module imports nothing heavy: it is loaded before a run knows whether it draws figures.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import signal
import sys
import warnings
from collections.abc import Sequence
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specrun.executors import end_with_parent, usable_cpus

if TYPE_CHECKING:
    from specrun.cache import NodeCache
    from specrun.figures.base import FigureData
    from specrun.figures.files import Drawn
    from specrun.plan.nodes import Plan

F_SETPIPE_SZ = 1031  # <linux/fcntl.h>: figures are sent while the drawer may still be loading
PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size
END = None  # the message after the last figure
# a top-level ``figures:`` key: the spec (most likely) draws figures
FIGURES_KEY = re.compile(rb"^figures[ \t]*:", re.MULTILINE)

_started: Drawers | None = None  # forked by ``prestart``, taken by ``Drawers.take``


def prestart(spec_path: str | Path) -> None:
    """Fork the first drawer now, at the start of ``specrun run``, when the spec file has a
    top-level ``figures:`` key, so that matplotlib loads while this process validates the
    spec and fits the models. The run takes it once its spec is
    compiled (:meth:`Drawers.take`), and ends it when the plan draws no figure (a guess
    wrong, or ``--only`` leaving the figures out): the guess decides only where and when
    figures are drawn, never what they are. A file that cannot be read starts nothing, nor
    does a spec that is not a regular file (``/dev/stdin`` fed by a pipe, ``<(...)``): it can
    be read once only, and that is the run's; nor one larger than the loader reads (a data
    file given as the spec), which the run then refuses at once rather than after reading
    it all here."""
    import stat

    from specrun.spec.load import MAX_SPEC_BYTES  # loaded already, with specrun.api

    global _started
    try:
        status = os.stat(spec_path)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_SPEC_BYTES:
            return  # not opened: a FIFO's open waits for a writer
        with open(spec_path, "rb") as handle:
            text = handle.read()
    except OSError:
        return
    if FIGURES_KEY.search(text):
        _started = Drawers.start()


def end_prestarted() -> None:
    """End the drawer :func:`prestart` forked when no run took it (the spec did not
    validate, or the run stopped before its plan was compiled)."""
    global _started
    if _started is not None:
        _started.cancel()
        _started = None


class Drawers:
    """The drawer processes of one run: :meth:`start` forks the first one (or gives None where
    figures are drawn in this process); :meth:`submit` sends it a figure's data as soon as
    they are computed, :meth:`finish` the rest and the end; :meth:`result` waits for what each
    figure gave. Use it as a context manager: leaving the block before :meth:`result` (an
    error in the fits or the tables, Ctrl-C) ends the drawers.

    ``processes`` is at most how many processes draw (the first drawer and its helpers).
    """

    def __init__(self, pid: int, jobs: Connection, results: Connection, processes: int) -> None:
        self.pid: int | None = pid
        self.processes = processes
        self.sent: list[str] = []  # the figures submitted, by name
        self._jobs = jobs
        self._results = results

    @classmethod
    def start(cls) -> Drawers | None:
        """Fork the first drawer, which loads matplotlib at once; None where figures are
        drawn in this process (not Linux, one usable CPU)."""
        cpus = usable_cpus()
        if sys.platform != "linux" or cpus < 2:
            return None
        jobs_out, jobs_in = Pipe(duplex=False)
        results_out, results_in = Pipe(duplex=False)
        with contextlib.suppress(OSError):  # a smaller pipe only makes ``submit`` wait longer
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
                _drawer(jobs_out, results_in, parent, cpus)
                code = 0
            finally:
                os._exit(code)
        jobs_out.close()
        results_in.close()
        return cls(pid, jobs_in, results_out, cpus)

    @classmethod
    def take(cls, figures: int) -> Drawers | None:
        """The drawers of a run whose plan draws ``figures`` figures: the ones
        :func:`prestart` forked, else new ones; None (the prestarted ones ended) when it draws
        none or they are drawn in this process."""
        global _started
        drawers, _started = _started, None
        if figures < 1:
            if drawers is not None:
                drawers.cancel()
            return None
        return drawers if drawers is not None else cls.start()

    def submit(self, figure: FigureData) -> None:
        """Send one figure's data to the drawer, which draws it while this process goes on
        (its error, if any, comes back with :meth:`result`). A drawer gone is noticed there."""
        self.sent.append(figure.name)
        with contextlib.suppress(OSError, ValueError):
            self._jobs.send(figure)

    def finish(self, figures: Sequence[FigureData]) -> None:
        """Send the figures not yet submitted, then the end: the figures left are shared
        between the drawer and its helpers."""
        for figure in figures:
            if figure.name not in self.sent:
                self.submit(figure)
        with contextlib.suppress(OSError, ValueError):
            self._jobs.send(END)
        self._jobs.close()

    def result(self) -> dict[str, Drawn]:
        """What each figure the drawers drew gave: its PNG and PDF bytes, or the
        ``SpecError`` it raised (unlocated), by figure name. Figures missing from it were not
        drawn (a drawer died): the caller draws them. Waits for the drawers and reaps them;
        interrupted (``KeyboardInterrupt``), ends them at once and re-raises."""
        drawn: dict[str, Drawn] = {}
        try:
            drawn = self._results.recv()  # from our own child
        except (EOFError, OSError, pickle.UnpicklingError, ValueError):
            pass
        except BaseException:
            # Ctrl-C while waiting: the figures are no longer wanted, and the drawers (which
            # leave SIGINT to this process) drew on for as long as the figures left took
            self.cancel()
            raise
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


class CachedDrawers:
    """The figures of a run drawn once: a figure whose drawing the node cache holds is taken
    from it, the others are drawn by ``drawers`` (in this process when None) and stored. The
    interface is :class:`Drawers`' (``submit``, ``finish``, ``result``), so the render stage
    (``outputs.render_outputs``) is the same with or without the cache.

    A drawing is stored under the figure's plan hash (its spec entry, labels and language,
    and the hashes of the fits or the multiverse it reads), its name, the context it is drawn
    with (labels, groups, value labels, the panel's names) and the versions of specrun and
    matplotlib: a re-run that changes a table's caption draws no figure, one that changes a
    figure's model or title draws that figure again. A figure that could not be drawn (a
    ``SpecError``) is not stored. Fonts installed after a drawing was stored do not redraw it
    (``--no-cache`` draws every figure anew)."""

    def __init__(self, drawers: Drawers | None, cache: NodeCache, plan: Plan) -> None:
        self.drawers = drawers
        self.cache = cache
        self.hashes = {node.name: node.hash for node in plan.nodes if node.kind == "figure"}
        self.keys: dict[str, str] = {}  # by figure name, once looked up
        self.hits: dict[str, tuple[bytes, bytes]] = {}  # (PNG, PDF) from the cache
        self.missed: list[FigureData] = []  # drawn by the drawers, or here

    def submit(self, figure: FigureData) -> None:
        """Take the figure's drawing from the cache, or have it drawn."""
        if figure.name in self.keys:
            return
        key = self.keys[figure.name] = self._key(figure)
        stored = self.cache.get(key, f"the drawing of figure '{figure.name}'")
        drawn = _drawing(stored)
        if drawn is not None:
            self.hits[figure.name] = drawn
            self.cache.stats.reused_figures.append(figure.name)
            return
        self.missed.append(figure)
        if self.drawers is not None:
            self.drawers.submit(figure)

    def finish(self, figures: Sequence[FigureData]) -> None:
        """Look up the figures not yet submitted, then end the drawers' input; drawers with
        nothing to draw are ended at once."""
        for figure in figures:
            self.submit(figure)
        if self.drawers is None:
            return
        if self.missed:
            self.drawers.finish(self.missed)
        else:
            self.drawers.cancel()  # every drawing was in the cache: matplotlib is not needed
            self.drawers = None

    def result(self) -> dict[str, Drawn]:
        """Every figure's drawing (or its ``SpecError``), by name; those drawn now are stored."""
        if self.drawers is not None:
            drawn = self.drawers.result()
        else:
            from specrun.figures.files import draw_figures

            drawn = draw_figures(self.missed)
        self.missed = []
        for name, value in drawn.items():
            if isinstance(value, tuple) and name in self.keys:
                self._store(self.keys[name], value)
        return {**drawn, **self.hits}

    def _key(self, figure: FigureData) -> str:
        import hashlib
        import json
        from importlib.metadata import PackageNotFoundError, version

        try:
            matplotlib = version("matplotlib")
        except PackageNotFoundError:  # pragma: no cover - a dependency of specrun
            matplotlib = ""
        ctx = figure.ctx
        text = json.dumps(
            [
                "drawing",
                figure.name,
                self.hashes.get(figure.name, ""),
                matplotlib,
                ctx.language,
                ctx.labels,
                ctx.groups,
                ctx.value_labels,
                ctx.member_labels,
                ctx.index_names,
            ],
            sort_keys=True,
            ensure_ascii=False,
            default=list,
        )
        return self.cache.key(hashlib.sha256(text.encode()).hexdigest())

    def _store(self, key: str, drawn: tuple[bytes, bytes]) -> None:
        import numpy as np

        png, pdf = (np.frombuffer(part, dtype=np.uint8) for part in drawn)
        self.cache.put(key, {"png": png, "pdf": pdf})


def _drawing(stored: Any) -> tuple[bytes, bytes] | None:
    """The (PNG, PDF) bytes of a stored drawing; None for anything else (a miss)."""
    import numpy as np

    if not isinstance(stored, dict) or set(stored) != {"png", "pdf"}:
        return None
    parts = [stored["png"], stored["pdf"]]
    if not all(isinstance(p, np.ndarray) and p.dtype == np.uint8 and p.ndim == 1 for p in parts):
        return None
    return parts[0].tobytes(), parts[1].tobytes()


def _preload() -> None:
    """What drawing needs, loaded while the run validates and fits: matplotlib and the fonts.
    A figure kind's module loads with its first figure's data (some import the estimators,
    for their data's classes). (Drawing a throwaway figure as well, to fill matplotlib's
    caches before the helpers are forked, made no difference measurable on the paper's
    spec: 0.945× the wall time, paired medians of 9, min–max overlapping.)"""
    import matplotlib.artist

    # Each Artist subclass writes its set() method's docstring, a table of its properties, as
    # matplotlib defines it (``Artist.__init_subclass__`` → ``kwdoc``): a fifth of the CPU
    # time of importing matplotlib's figure and backends (0.95 s → 0.77 s, medians of 8), for
    # help text that a drawer, a process that only draws and exits, never shows. Only the
    # drawers skip it: a figure drawn in the main process (where a user of ``specrun.api``
    # may ask for help()) imports matplotlib unchanged.
    matplotlib.artist.kwdoc = lambda artist: ""
    from specrun.figures.files import load_matplotlib

    load_matplotlib()


def _drawer(jobs: Connection, results: Connection, parent: int, cpus: int) -> None:
    """The first drawer: preload, then hand each figure to the first helper free as the
    figures come (the costliest waiting first: ``FigureKind.seconds``), forking a helper
    (which shares what it loaded) whenever a figure waits and none is free, up to one per
    usable CPU; once the run has sent the last figure and every figure is back, send them all
    to the main process. A helper that dies loses only the figure it was drawing (the main
    process draws it again)."""
    from multiprocessing.connection import wait

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process's to handle
    end_with_parent(parent)
    _preload()
    idle: list[tuple[int, Connection]] = []
    forked = 0  # helpers forked so far, at most ``cpus``
    busy: dict[Connection, int] = {}  # a helper drawing, and its process id
    waiting: list[FigureData] = []
    drawn: dict[str, Any] = {}
    sending = True  # the run may send more figures
    while sending or waiting or busy:
        while waiting and (idle or forked < cpus):
            if not idle:
                idle.append(_helper())
                forked += 1
            pid, helper = idle.pop(0)
            figure = max(waiting, key=lambda f: f.seconds)  # the first of the costliest
            try:
                helper.send(figure)
            except OSError:  # died while idle: its figure waits for another
                helper.close()
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                continue
            waiting.remove(figure)
            busy[helper] = pid
        if waiting and not busy and not idle:
            break  # every helper died: the figures left are drawn by the main process
        ready = wait([*busy, *([jobs] if sending else [])])
        if jobs in ready:
            try:
                message = jobs.recv()
            except (EOFError, OSError):  # the run ended before its figures: nothing to send
                return
            if message is END:
                sending = False
                jobs.close()
            else:
                waiting.append(message)
        for helper in (r for r in ready if r is not jobs):
            pid = busy.pop(helper)  # type: ignore[arg-type]
            try:
                drawn.update(helper.recv())  # type: ignore[union-attr]
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                helper.close()  # type: ignore[union-attr]  # died: its figure is lost
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                continue
            idle.append((pid, helper))  # type: ignore[arg-type]
    for pid, helper in idle:
        with contextlib.suppress(OSError, ValueError):
            helper.send(END)
        helper.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    results.send(drawn)


def _helper() -> tuple[int, Connection]:
    """Fork a helper of the first drawer: it draws each figure the drawer sends it, with what
    the drawer loaded, and sends back its PNG and PDF (``draw_figures``) until told to end.
    Its process id and the drawer's end of their pipe."""
    from specrun.figures.files import draw_figures

    mine, theirs = Pipe()
    drawer = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a helper; its figures are checked by the parent
        code = 1
        try:
            mine.close()
            end_with_parent(drawer)
            while (figure := theirs.recv()) is not END:
                theirs.send(draw_figures([figure]))
            code = 0
        except EOFError:
            code = 0  # the drawer has gone: nothing to send
        finally:
            os._exit(code)
    theirs.close()
    return pid, mine
