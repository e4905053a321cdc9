"""Work done in a forked child process while this one goes on: a share of a run's figures
(drawn from their data, PNG and PDF) and its Word files are rendered on the second core while
the other figures and tables are rendered on the first (``specrun.outputs.render_outputs``).

Only on Linux, and when the process may use more than one CPU; elsewhere the work runs in this
process when its result is asked for (macOS's system frameworks are not safe to use in a forked
child without ``exec``, which is why Python's ``multiprocessing`` spawns there). The child
computes, sends the pickled result back through a pipe and leaves with ``os._exit`` (no
``atexit`` handlers, no flushing of buffers inherited from the parent). If the child fails in
any way (an exception, a signal, a truncated result), the work is done again in this process,
so an error surfaces here with its usual message.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import warnings
from collections.abc import Callable
from typing import Generic, TypeVar

from specrun.executors import end_with_parent, usable_cpus

T = TypeVar("T")


class Forked(Generic[T]):
    """``work()`` started in a forked child; :meth:`result` waits for it and returns its value.

    ``work`` must return a picklable value (bytes, here) and touch nothing but what it draws:
    the parent's other threads (polars' and BLAS' pools) do not exist in the child. Without a
    child (``start=False``, not Linux, one CPU) ``work()`` runs here at once, so it sees the
    same state of its objects as a child would: outputs do not depend on whether a fork
    happened (a figure with constrained layout is laid out again at every save, starting from
    where the previous save left it). Call :meth:`result` or :meth:`cancel` exactly once
    (``cancel`` on the parent's error path, so that no child is left waiting to write).
    """

    def __init__(self, work: Callable[[], T], *, start: bool = True) -> None:
        self._work = work
        self._pid: int | None = None
        self._read: int | None = None
        self._value: tuple[T] | None = None
        if not start or sys.platform != "linux" or usable_cpus() < 2:
            self._value = (work(),)  # nothing to gain from a child
            return
        read, write = os.pipe()
        parent = os.getpid()
        with warnings.catch_warnings():
            # Python 3.12+ warns that forking a multi-threaded process may deadlock the child;
            # this child runs matplotlib only, never polars or BLAS, and exits without cleanup
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its output is checked by the parent
            os.close(read)
            code = 1
            try:
                end_with_parent(parent)
                data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs unreaped; None without a child."""
        return self._pid

    def result(self) -> T:
        """The work's value: the child's, or the one computed here without a child."""
        if self._value is not None:
            return self._value[0]
        if self._pid is None or self._read is None:
            raise RuntimeError("the result was asked for twice, or after cancel()")
        with os.fdopen(self._read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = self._read = None
        if os.waitstatus_to_exitcode(status) == 0:
            try:
                return pickle.loads(data)  # bytes from our own child
            except (pickle.UnpicklingError, EOFError, ValueError):
                pass
        return self._work()

    def cancel(self) -> None:
        """Stop the child (if any) and reap it, when the result is no longer wanted."""
        if self._pid is None or self._read is None:
            return
        os.close(self._read)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        os.waitpid(self._pid, 0)
        self._pid = self._read = None


__all__ = ["Forked", "usable_cpus"]
