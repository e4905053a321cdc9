"""Work in a forked child (the PDF figures of a run): its result, the fallbacks, no leftovers."""

from __future__ import annotations

import os

import pytest

from specrun.render.forked import Forked, usable_cpus

forks = pytest.mark.skipif(
    not hasattr(os, "fork") or usable_cpus() < 2, reason="needs os.fork and two CPUs"
)


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@forks
def test_the_result_comes_from_the_child():
    parent = os.getpid()
    job = Forked(lambda: (os.getpid(), b"x" * 1_000_000))  # larger than a pipe's buffer
    pid, data = job.result()
    assert pid != parent and data == b"x" * 1_000_000
    assert _no_children_left()


@forks
def test_a_failing_child_is_redone_here_and_an_error_surfaces_here():
    parent = os.getpid()

    def fails_in_child() -> int:
        if os.getpid() != parent:
            raise RuntimeError("child")
        return 42

    assert Forked(fails_in_child).result() == 42

    def fails() -> int:
        raise ValueError("bad figure")

    with pytest.raises(ValueError, match="bad figure"):
        Forked(fails).result()
    assert _no_children_left()


@forks
def test_cancel_stops_and_reaps_a_child_that_would_block_writing():
    job = Forked(lambda: b"y" * 5_000_000)
    job.cancel()
    job.cancel()  # a second call does nothing
    assert _no_children_left()


def test_without_start_the_work_runs_here_when_asked():
    calls = []
    job = Forked(lambda: calls.append(os.getpid()) or len(calls), start=False)
    assert calls == []
    assert job.result() == 1 and calls == [os.getpid()]
