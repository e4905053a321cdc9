"""Work in a forked child (the PDF figures of a run): its result, the fallbacks, no leftovers."""

from __future__ import annotations

import os
import sys

import pytest

from specrun.render.forked import Forked, usable_cpus

forks = pytest.mark.skipif(
    sys.platform != "linux" or usable_cpus() < 2, reason="forks on Linux with two CPUs"
)


def _reaped(pid: int | None) -> bool:
    assert pid is not None  # a child was started
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@forks
def test_the_result_comes_from_the_child():
    parent = os.getpid()
    job = Forked(lambda: (os.getpid(), b"x" * 1_000_000))  # larger than a pipe's buffer
    child = job.pid
    pid, data = job.result()
    assert pid == child and pid != parent and data == b"x" * 1_000_000
    assert _reaped(child) and job.pid is None


@forks
def test_a_failing_child_is_redone_here_and_an_error_surfaces_here():
    parent = os.getpid()

    def fails_in_child() -> int:
        if os.getpid() != parent:
            raise RuntimeError("child")
        return 42

    job = Forked(fails_in_child)
    child = job.pid
    assert job.result() == 42 and _reaped(child)

    def fails() -> int:
        raise ValueError("bad figure")

    job = Forked(fails)
    child = job.pid
    with pytest.raises(ValueError, match="bad figure"):
        job.result()
    assert _reaped(child)


@forks
def test_cancel_stops_and_reaps_a_child_that_would_block_writing():
    job = Forked(lambda: b"y" * 5_000_000)
    child = job.pid
    job.cancel()
    job.cancel()  # a second call does nothing
    assert _reaped(child)


def test_without_start_the_work_runs_here_when_asked():
    calls = []
    job = Forked(lambda: calls.append(os.getpid()) or len(calls), start=False)
    assert calls == [] and job.pid is None
    assert job.result() == 1 and calls == [os.getpid()]


@forks
def test_a_run_renders_the_same_files_with_and_without_the_child(tmp_path, monkeypatch):
    # a coefplot (tight layout, drawn once per format) and Word tables: the child's PDF and
    # per-table .docx files are byte-identical to this process's, in the same order
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun import outputs
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.render import forked

    path = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + """\
models:
  pooled: {estimator: ols, y: inv, x: [value, capital]}
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
tables:
  main: {kind: regression, columns: [pooled, fe]}
figures:
  value: {kind: coefplot, models: [pooled, fe], variable: value}
outputs:
  formats: [docx, markdown]
""",
    )
    spec, plan = plan_file(path)
    run = execute(spec, plan)
    started = []
    real = forked.Forked.__init__

    def record(self, work, *, start=True):
        real(self, work, start=start)
        started.append(self.pid)

    monkeypatch.setattr(forked.Forked, "__init__", record)
    files = outputs.render_outputs(spec, plan, run)
    assert started and started[0] is not None  # the child did render
    monkeypatch.setattr(forked, "usable_cpus", lambda: 1)
    serial = outputs.render_outputs(spec, plan, run)
    assert started[1] is None
    names = [f.relative for f in files]
    assert "figures/value.pdf" in names and "tables/main.docx" in names
    assert names == [f.relative for f in serial]
    for mine, theirs in zip(files, serial, strict=True):
        if mine.relative != "manifest.json":  # its timings differ
            assert mine.content == theirs.content, mine.relative
