"""Fits on local workers and on a Dask cluster give byte-identical outputs to a serial run;
an unreachable scheduler is a clear error."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project, output_files
from specrun.cli import main
from test_cache import SPEC

# a Hausman test reads two other fits (a second wave of nodes); the mediation bootstrap draws
# from its spec seed, whichever worker runs it
HAUSMAN = SPEC.replace(
    "variants:",
    """\
  re: {estimator: panel_re, y: inv, x: [value, capital]}
  fe_plain: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
  hausman: {estimator: hausman, models: [fe_plain, re]}
  by_firm_group: {extends: ols, over: big}
  med: {extends: fe_plain, x: [value], estimator: mediation, mediator: capital, bootstrap: 49,
        seed: 7}
variants:""",
).replace("lcapital: log(capital)}", "lcapital: log(capital), big: firm <= 5}")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("executors")
    spec = grunfeld_project(folder, HAUSMAN)
    assert main(["run", str(spec), "--out", str(folder / "serial"), "--no-cache"]) == 0
    return spec


def test_jobs_two_matches_serial(project: Path):
    out = project.parent / "jobs2"
    assert main(["run", str(project), "--out", str(out), "--no-cache", "--jobs", "2"]) == 0
    assert output_files(out) == output_files(project.parent / "serial")
    models = json.loads((out / "results.json").read_text())["models"]
    assert {"hausman", "by_firm_group.true", "by_firm_group.false", "med.total"} <= set(models)


def test_process_workers_match_serial(project: Path):
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.executors import RUNNERS

    spec, plan = plan_file(project)
    serial = execute(spec, plan)
    spawned = execute(spec, plan, runner=RUNNERS.get("processes")(2))
    assert list(spawned.results.models) == list(serial.results.models)
    for name, result in serial.results.models.items():
        assert spawned.results.models[name].to_json() == result.to_json()


def test_process_runner_serves_runs_until_closed(project: Path):
    """--jobs 3: this process and two workers, spawned when the runner is made; the workers
    keep serving runs (each sends its panel once) until the runner is closed."""
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.executors import RUNNERS

    spec, plan = plan_file(project)
    serial = {k: v.to_json() for k, v in execute(spec, plan).results.models.items()}
    runner = RUNNERS.get("processes")(3)
    processes = [process for process, _ in runner.workers]
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    for _ in range(2):
        output = execute(spec, plan, runner=runner)
        assert {k: v.to_json() for k, v in output.results.models.items()} == serial
    runner.close()
    assert not runner.workers and not any(p.is_alive() for p in processes)


def test_a_worker_still_starting_is_ended_not_waited_for():
    """A spec error ends a --jobs run before any fit, while its workers are still importing
    numpy, polars and scipy (seconds): they were waited for up to 5 s each before the error
    printed. A worker that does not answer "stop" at once holds nothing and is ended."""
    import multiprocessing

    from specrun.executors import _stop_workers

    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    busy = spawn.Process(target=time.sleep, args=(60,), daemon=True)  # never reads "stop"
    busy.start()
    started = time.perf_counter()
    _stop_workers([(busy, here)])
    assert time.perf_counter() - started < 4
    assert not busy.is_alive()
    there.close()


def test_dask_cluster_matches_serial(project: Path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=":0"
    ) as cluster:
        out = project.parent / "dask"
        code = main(
            [
                "run",
                str(project),
                "--out",
                str(out),
                "--no-cache",
                "--scheduler",
                cluster.scheduler_address,
            ]
        )
        assert code == 0
    assert output_files(out) == output_files(project.parent / "serial")


def test_dask_and_cache_together(project: Path):
    """Cached entries computed on a cluster serve a serial re-run, byte for byte."""
    distributed = pytest.importorskip("distributed")
    cache = project.parent / "cache"
    with distributed.LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        out = project.parent / "dask_cached"
        assert (
            main(
                [
                    "run",
                    str(project),
                    "--out",
                    str(out),
                    "--cache",
                    str(cache),
                    "--scheduler",
                    address,
                ]
            )
            == 0
        )
    again = project.parent / "serial_cached"
    assert main(["run", str(project), "--out", str(again), "--cache", str(cache)]) == 0
    manifest = json.loads((again / "manifest.json").read_text())
    assert manifest["cache"]["computed"] == 0
    assert output_files(again) == output_files(project.parent / "serial")


def test_unreachable_scheduler_is_a_clear_error(project: Path, capsys):
    pytest.importorskip("distributed")
    out = project.parent / "nowhere"
    code = main(
        ["run", str(project), "--out", str(out), "--no-cache", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "--scheduler: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_malformed_scheduler_address_is_a_clear_error(project: Path, capsys):
    """Refused before a dask Client exists (one failing while parsing blocked 20 s on exit and
    printed a traceback)."""
    pytest.importorskip("distributed")
    address, reason = "garbage", "missing port number in address 'garbage'"
    out = project.parent / "nowhere"
    started = time.perf_counter()
    code = main(["run", str(project), "--out", str(out), "--no-cache", "--scheduler", address])
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: --scheduler: cannot reach the Dask scheduler at '{address}': {reason} (start "
        "one with `dask scheduler` and `dask worker ADDRESS`, or check the address)\n"
    )
    assert time.perf_counter() - started < 10
    assert not out.exists()


def test_a_scheduler_address_where_no_dask_answers_is_a_clear_error(project: Path, capsys):
    """A web server (or a proxy) listening at the address: Dask read its status line as a
    frame length of exabytes and failed with a MemoryError (exit 3, a traceback)."""
    pytest.importorskip("distributed")
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"

    def answer_http() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    threading.Thread(target=answer_http, daemon=True).start()
    out = project.parent / "nowhere"
    try:
        code = main(["run", str(project), "--out", str(out), "--no-cache", "--scheduler", address])
    finally:
        server.close()
    assert code == 1
    assert capsys.readouterr().err == (
        f"error: --scheduler: cannot reach the Dask scheduler at '{address}': what answers "
        "there does not speak Dask's protocol (start one with `dask scheduler` and `dask "
        "worker ADDRESS`, or check the address)\n"
    )
    assert not out.exists()


def test_errors_in_workers_are_located(tmp_path: Path, capsys):
    bad = SPEC.replace("x: [lvalue, lcapital]", "x: [lvalue, constant_zero]").replace(
        "lcapital: log(capital)}", "lcapital: log(capital), constant_zero: value * 0}"
    )
    spec = grunfeld_project(tmp_path, bad)
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--no-cache"]) == 1
    serial = capsys.readouterr().err
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--no-cache", "-j", "2"]) == 1
    assert capsys.readouterr().err == serial
    assert "spec.yaml:" in serial


def test_jobs_must_be_positive(project: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(project), "--jobs", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_jobs_beyond_the_cpus_start_one_process_per_cpu(monkeypatch: pytest.MonkeyPatch):
    """--jobs 999 once spawned 998 workers (each ~150 MB of imports) on a 2-core machine."""
    from specrun import executors

    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    runner = executors.make_runner(999)
    try:
        assert type(runner).__name__ == "ProcessRunner"
        # spawned at once, or forked by ``prepare`` once the spec is compiled
        assert runner.jobs == 2 and len(runner.workers) == (runner.start_method == "spawn")
    finally:
        runner.close()
    monkeypatch.setattr(executors, "usable_cpus", lambda: 1)
    assert type(executors.make_runner(4)).__name__ == "SerialRunner"


def test_ctrl_c_while_workers_start_leaves_them_serving(project: Path, capfd):
    """A Ctrl-C reaches the whole foreground process group: a worker still importing (before it
    ignores SIGINT itself) printed a KeyboardInterrupt traceback and died. Workers are spawned
    with SIGINT ignored, and this process's handler is restored."""
    import os
    import signal

    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.executors import RUNNERS

    spec, plan = plan_file(project)
    # the handler before: Python's default, or SIG_IGN where the tests run in the background
    # (nohup, `&` in a script), which the runner must leave as it found it
    before = signal.getsignal(signal.SIGINT)
    runner = RUNNERS.get("processes")(2)
    try:
        process, _ = runner.workers[0]
        os.kill(process.pid, signal.SIGINT)  # during its start-up imports
        assert signal.getsignal(signal.SIGINT) is before
        output = execute(spec, plan, runner=runner)
        assert process.is_alive() and "hausman" in output.results.models
    finally:
        runner.close()
    assert "Traceback" not in capfd.readouterr().err


def test_worker_ends_quietly_when_the_main_process_is_gone(project: Path, capfd):
    """kill -9 of the main process mid-run: each worker finished its batch, failed to send it
    and printed a BrokenPipeError traceback over the user's terminal."""
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.executors import RUNNERS

    spec, plan = plan_file(project)
    runner = RUNNERS.get("processes")(2)
    try:
        execute(spec, plan, runner=runner)  # the worker now holds the run's context
        capfd.readouterr()
        process, conn = runner.workers[0]
        node = next(n for n in plan.nodes if n.kind == "fit" and n.name == "ols")
        conn.send(("fit", [(node.id, node.hash, {})]))
        conn.close()  # as the kernel does for a killed process: nobody reads the result
        process.join(timeout=60)
        assert process.exitcode == 0
        assert capfd.readouterr().err == ""
    finally:
        runner.close()


def test_a_fit_in_a_worker_has_the_bytes_of_a_serial_fit(tmp_path: Path):
    """BLAS results depend on its thread count in the last digits (OpenBLAS' dgemv splits the
    columns by thread): workers ran BLAS on one thread, so a DID's placebo draws fitted in a
    worker differed from a serial run's (mpdta, 500 draws; 5 of them in the 16th digit). A
    wave of one fit goes to the worker."""
    import shutil

    from specfiles import PROJECT_ROOT
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.executors import RUNNERS, usable_cpus

    if usable_cpus() < 2:
        pytest.skip("one CPU: BLAS runs on one thread everywhere")
    shutil.copy(PROJECT_ROOT / "data" / "mpdta.csv", tmp_path / "mpdta.csv")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        """\
spec_version: 1
data:
  sources:
    mpdta: {path: mpdta.csv}
  panel: {source: mpdta, entity: countyreal, time: year}
transforms:
  - derive: {first_treat: "`first.treat`"}
models:
  twfe_did:
    {estimator: did, y: lemp, treat: treat, first_treated: first_treat,
     placebo: {draws: 500, permute: units, seed: 2021}}
""",
        encoding="utf-8",
    )
    spec, plan = plan_file(spec_path)
    serial = execute(spec, plan).results.models["twfe_did"].to_json()
    runner = RUNNERS.get("processes")(2)
    try:
        spawned = execute(spec, plan, runner=runner).results.models["twfe_did"].to_json()
    finally:
        runner.close()
    assert json.dumps(spawned) == json.dumps(serial)


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _slow_project(tmp_path: Path) -> Path:
    from test_cache import SPEC

    variants = "\n".join(
        f"    v{i}: {{sample: {{time: [1935, {1940 + i % 15}]}}, x: [value{', capital' * (i % 2)}],"
        f" se: {{type: HC{i % 4}}}}}"
        for i in range(150)
    )
    text = SPEC.replace("    early: {sample: {time: [1935, 1945]}}", variants)
    return grunfeld_project(tmp_path, text.replace("fe.early", "fe.v0"))


def _forked_run(tmp_path: Path, **popen: object) -> tuple[object, int]:
    """A ``--jobs 2`` run in a fresh process and its worker, once there is one; skips where
    workers are not forked."""
    import os
    import subprocess
    import sys

    from specfiles import PROJECT_ROOT

    if sys.platform != "linux":
        pytest.skip("workers are forked on Linux only")
    from specrun.executors import usable_cpus

    if usable_cpus() < 2:
        pytest.skip("one CPU: --jobs 2 runs serially")
    spec = _slow_project(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    command = [sys.executable, "-m", "specrun", "run", str(spec), "--out", str(tmp_path / "a")]
    process = subprocess.Popen(
        [*command, "--no-cache", "--jobs", "2"],
        env=env,
        stderr=subprocess.PIPE,
        **popen,  # type: ignore[arg-type]
    )
    deadline = time.monotonic() + 60
    while not (workers := _children(process.pid)) and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the run ended before its worker was seen")
        time.sleep(0.005)
    (worker,) = workers
    # forked: the worker runs the parent's command line, not multiprocessing's spawn_main
    cmdline = Path(f"/proc/{worker}/cmdline").read_bytes()
    assert cmdline == Path(f"/proc/{process.pid}/cmdline").read_bytes()
    return process, worker


def _gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if stat[stat.rindex(")") + 2] == "Z":  # ended; its parent (init) reaps it
            return True
        time.sleep(0.02)
    return False


def test_forked_workers_match_serial_and_end_with_a_killed_run(tmp_path: Path):
    """From a fresh process, --jobs 2 forks its worker once the spec is compiled (no second
    validation, no imports): the outputs are a serial run's bytes; after kill -9 of the main
    process mid-run the worker ends by itself (no orphan)."""
    import signal

    process, worker = _forked_run(tmp_path)
    process.wait()
    assert process.returncode == 0, process.stderr.read()  # type: ignore[attr-defined]
    spec = tmp_path / "spec.yaml"
    assert main(["run", str(spec), "--out", str(tmp_path / "serial"), "--no-cache"]) == 0
    assert output_files(tmp_path / "a") == output_files(tmp_path / "serial")
    assert _gone(worker)

    (tmp_path / "again").mkdir()
    process, worker = _forked_run(tmp_path / "again")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _gone(worker)


def test_ctrl_c_ends_a_run_with_forked_workers_quietly(tmp_path: Path):
    """Ctrl-C reaches the whole process group: the main process stops (exit 130) and ends its
    forked worker, which ignores the signal itself; no traceback."""
    import os
    import signal

    process, worker = _forked_run(tmp_path, start_new_session=True)
    os.killpg(process.pid, signal.SIGINT)  # type: ignore[attr-defined]
    _, err = process.communicate(timeout=60)  # type: ignore[attr-defined]
    assert process.returncode == 130, err  # type: ignore[attr-defined]
    assert b"Traceback" not in err
    assert _gone(worker)


# Ctrl-C sent the moment a worker has been forked (a test's poll for the worker once saw it
# before the main process had left the fork): the run must stop, not go on to its end
_CTRL_C_AT_FORK = """\
import os, signal, sys
from multiprocessing.context import ForkProcess
from specrun.cli import main

start = ForkProcess.start

def start_then_ctrl_c(self):
    start(self)
    with open(sys.argv[2], "w") as handle:
        handle.write(str(self.pid))
    os.kill(os.getpid(), signal.SIGINT)

ForkProcess.start = start_then_ctrl_c
sys.exit(main(["run", sys.argv[1], "--out", sys.argv[3], "--no-cache", "--jobs", "2"]))
"""


def test_ctrl_c_while_a_worker_is_forked_stops_the_run(tmp_path: Path):
    """SIGINT was ignored while workers were forked: a Ctrl-C then was lost and the run went
    on to its end (exit 0). It is now held back and taken once the workers exist: exit 130,
    no traceback, the worker ended."""
    import os
    import subprocess
    import sys

    from specfiles import PROJECT_ROOT
    from specrun.executors import usable_cpus

    if sys.platform != "linux" or usable_cpus() < 2:
        pytest.skip("workers are forked on Linux, with two CPUs")
    spec = _slow_project(tmp_path)
    script, pid = tmp_path / "ctrl_c.py", tmp_path / "worker.pid"
    script.write_text(_CTRL_C_AT_FORK)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    command = [sys.executable, str(script), str(spec), str(pid), str(tmp_path / "a")]
    done = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert done.returncode == 130, done.stderr
    assert done.stderr == b""  # (exit 130 says it; no traceback, from it or its worker)
    assert not (tmp_path / "a" / "results.json").exists()
    assert _gone(int(pid.read_text()))


# Ctrl-C while the worker holds batches of slow fits (3 s each here): the worker ignores
# SIGINT, and the run waited for every fit of its batches in flight (one run was still going
# 30 s after Ctrl-C) before it could stop
_CTRL_C_WITH_BATCHES_OUT = """\
import os, signal, sys, time
import multiprocessing.connection as connection
import specrun.execute as execute
from specrun.cli import main

main_pid, fit, wait = os.getpid(), execute.fit_node, connection.wait

def slow_in_a_worker(*args, **kwargs):
    if os.getpid() != main_pid:
        with open(sys.argv[2], "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(3)
    return fit(*args, **kwargs)

def wait_then_ctrl_c(*args, **kwargs):
    if os.path.exists(sys.argv[2]) and not sent:  # the worker is fitting its first batch
        sent.append(True)
        os.kill(main_pid, signal.SIGINT)
    return wait(*args, **kwargs)

sent = []

execute.fit_node, connection.wait = slow_in_a_worker, wait_then_ctrl_c
sys.exit(main(["run", sys.argv[1], "--out", sys.argv[3], "--no-cache", "--jobs", "2"]))
"""


def test_ctrl_c_with_batches_in_the_worker_stops_at_once(tmp_path: Path):
    """Exit 130 within seconds, no traceback, the worker ended, no outputs."""
    import os
    import subprocess
    import sys

    from specfiles import PROJECT_ROOT
    from specrun.executors import usable_cpus

    if sys.platform != "linux" or usable_cpus() < 2:
        pytest.skip("workers are forked on Linux, with two CPUs")
    spec = _slow_project(tmp_path)
    script, pid = tmp_path / "ctrl_c.py", tmp_path / "worker.pid"
    script.write_text(_CTRL_C_WITH_BATCHES_OUT)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    command = [sys.executable, str(script), str(spec), str(pid), str(tmp_path / "a")]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    seconds = time.monotonic() - started
    assert done.returncode == 130, done.stderr
    assert done.stderr == b""
    assert not (tmp_path / "a" / "results.json").exists()
    assert _gone(int(pid.read_text()))
    # the worker's two batches in flight hold dozens of 3-second fits: waiting for them took
    # minutes; the start-up and the first fit take a few seconds
    assert seconds < 20, seconds


def test_workers_store_their_nodes_entries(tmp_path: Path):
    """With a cache, --jobs workers encode and write their nodes' entries themselves; a run
    that reuses them (the spec's title changed: every node is the same) gives a serial run's
    outputs."""
    from test_cache import SPEC

    spec = grunfeld_project(tmp_path, SPEC)
    cache = str(tmp_path / "cache")
    command = ["run", str(spec), "--cache", cache, "--jobs", "2"]
    assert main([*command, "--out", str(tmp_path / "a")]) == 0
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    fits = [n for n in manifest["plan"] if n.startswith("fit:")]
    assert manifest["cache"]["computed"] == len(fits) + 2  # and the load and the transform
    assert not manifest["cache"]["not_cacheable"]
    spec.write_text(spec.read_text().replace("outputs:", "title: Again\noutputs:"))
    assert main([*command, "--out", str(tmp_path / "b")]) == 0
    reused = json.loads((tmp_path / "b" / "manifest.json").read_text())["cache"]["reused_nodes"]
    assert set(fits) <= set(reused)
    assert main(["run", str(spec), "--out", str(tmp_path / "c"), "--no-cache"]) == 0
    assert output_files(tmp_path / "b") == output_files(tmp_path / "c")


def test_workers_with_other_source_leave_their_entries_to_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """specrun's files changed on disk after the main process had read them (a merge while the
    test suite ran): a spawned worker's keys then differed from the main process's, it stored
    its nodes' entries where no run looked, and the next run refitted them (``fit:ols`` and
    ``fit:fe`` not reused: the flaky failure of the test above). The main process now stores
    them, under its keys."""
    import polars as pl

    import specrun.cache as cache_module
    from specrun.executors import _fork_safe

    pl.DataFrame({"a": [1, 2]}).select(pl.col("a").sum())  # polars' pool runs: workers spawn
    assert not _fork_safe()
    spec = grunfeld_project(tmp_path, SPEC)
    monkeypatch.setattr(cache_module, "code_digest", lambda: "the main process's source")
    command = ["run", str(spec), "--cache", str(tmp_path / "cache"), "--jobs", "2"]
    assert main([*command, "--out", str(tmp_path / "a")]) == 0
    spec.write_text(spec.read_text().replace("outputs:", "title: Again\noutputs:"))
    assert main([*command, "--out", str(tmp_path / "b")]) == 0
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    fits = [n for n in manifest["plan"] if n.startswith("fit:")]
    assert sorted(manifest["cache"]["reused_nodes"]) == sorted(
        [*fits, "load:g", "transform:0:derive"]
    )


# two failing models whose samples put the later one (in plan order) first when fits are
# grouped by sample: every runner reports both (every failed fit of a run is reported), in
# plan order, as a run in plan order would
TWO_ERRORS = (
    GRUNFELD_HEAD
    + """\
transforms:
  - derive: {value2: value * 2}
samples:
  early: {time: [1935, 1944]}
  none: {where: "year > 3000"}
models:
  ok: {estimator: panel_fe, y: inv, x: [value], sample: early}
  empty: {estimator: panel_fe, y: inv, x: [value], sample: none}
  collinear: {estimator: panel_fe, y: inv, x: [value, value2], sample: early}
outputs: {dir: out, formats: [markdown]}
"""
)


def test_fits_grouped_by_sample_still_report_their_errors_in_plan_order(tmp_path: Path, capsys):
    from specrun.api import plan_file
    from specrun.executors import locality_order

    spec = grunfeld_project(tmp_path, TWO_ERRORS)
    _, plan = plan_file(spec)
    fits = [(n, {}) for n in plan.nodes if n.kind == "fit"]
    assert [n.name for n, _ in fits] == ["ok", "empty", "collinear"]
    assert locality_order(fits) == [0, 2, 1]  # 'collinear' fails first when grouped
    for flags in ([], ["--jobs", "2"]):
        capsys.readouterr()
        assert main(["run", str(spec), "--out", str(tmp_path / "o"), "--no-cache", *flags]) == 1
        assert capsys.readouterr().err == (
            f"error: {spec}:13:10: models.empty: model 'empty' has no rows: sample 'none' keeps "
            "none of the 200 rows (year 1935–1954) — where: year > 3000 matches no row\n"
            f"error: {spec}:14:14: models.collinear: regressors are collinear once the effects "
            "are absorbed: value, value2\n"
        )


def test_a_killed_worker_is_a_located_error_not_a_silent_exit(tmp_path: Path):
    """kill -9 of a --jobs worker mid-run (the out-of-memory killer's signal): the run ends
    with exit 1 and an error located at the first model whose fit the worker had not returned,
    saying how the worker ended. It once ended with exit 0 and no outputs (sending the next
    batch to the dead worker raised BrokenPipeError, which the command line takes for a closed
    stdout) or with an internal error."""
    import os
    import re
    import signal

    process, worker = _forked_run(tmp_path)
    os.kill(worker, signal.SIGKILL)
    _, err = process.communicate(timeout=120)  # type: ignore[attr-defined]
    text = err.decode()
    assert process.returncode == 1, text  # type: ignore[attr-defined]
    # killed before it was sent the run (no model to name) or while fitting
    where = r"(error: --jobs: |error: [^\n]*spec\.yaml:\d+:\d+: models\.(?P<m>[\w.]+): )"
    fits = (
        r"( before returning the (fit of model '(?P=m)'|fits of \d+ models, the first '(?P=m)'))?"
    )
    pattern = (
        rf"{where}a --jobs worker process \(pid {worker}\) was killed by signal 9 \(SIGKILL\)"
        rf"{fits} \(run again; a worker killed by SIGKILL was most likely out of memory: fewer "
        r"--jobs, or --jobs 1, use less\)\n"
    )
    assert re.fullmatch(pattern, text), text
    assert not (tmp_path / "a" / "results.json").exists()


WINDOWS = (
    GRUNFELD_HEAD
    + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value], absorb: [entity, time]}
multiverse:
  mv:
    base: fe
    focus: value
    axes:
      window: {w1: {sample: {time: [1935, 1950]}}, w2: {sample: {time: [1936, 1951]}},
               w3: {sample: {time: [1937, 1952]}}, w4: {sample: {time: [1938, 1953]}},
               w5: {sample: {time: [1939, 1954]}}, w6: {sample: {time: [1940, 1954]}}}
      controls: {none: {}, capital: {x: [value, capital]}}
      se: {entity: {se: {cluster: entity}}, hc1: {se: {type: HC1}}, iid: {se: {type: unadjusted}}}
outputs: {dir: out, formats: [markdown]}
"""
)


def test_batches_keep_a_samples_fits_together_and_end_in_small_batches(tmp_path: Path):
    """Each of the six windows' six specifications is one batch (a window cut between two
    processes would have its sample and shared intermediates built in both) but for the last
    workers × size tasks, cut into quarter batches so that the processes finish together;
    every task once, in locality order."""
    from specrun.api import plan_file
    from specrun.executors import _batches, locality_groups, locality_order

    _, plan = plan_file(grunfeld_project(tmp_path, WINDOWS))
    fits = [(n, {}) for n in plan.nodes if n.kind == "fit"]
    assert len(fits) == 37  # the base and 6 windows × 2 control sets × 3 SEs
    groups = locality_groups(fits)
    assert [len(g) for g in groups] == [1, 6, 6, 6, 6, 6, 6]
    windows = [{fits[i][0].payload["model"].spec.sample.time[0] for i in g} for g in groups[1:]]
    assert windows == [{1935}, {1936}, {1937}, {1938}, {1939}, {1940}]
    # size ⌈37 / (2 × 2)⌉ = 10: a window (6 ≤ 2 × 10) whole, the base shares the first window's
    # batch, and the last 2 × 10 tasks (the last four windows: 24) in batches of 10 // 4 = 2
    batches = _batches(fits, workers=2, per_worker=2)
    assert [len(b) for b in batches] == [7, 6] + [2] * 12
    assert [i for b in batches for i, _ in b] == locality_order(fits)
    assert [sorted(i for i, _ in b) for b in batches[:2]] == [
        sorted(groups[0] + groups[1]),
        groups[2],
    ]
    # size ⌈37 / 16⌉ = 3: a window of 6 (twice the size) still whole, the last 6 tasks in 1s
    assert [len(b) for b in _batches(fits, workers=2, per_worker=8)] == [1] + [6] * 5 + [1] * 6
    # size ⌈37 / 20⌉ = 2: a window of 6 (more than twice) cut into 3 batches of 2
    assert [len(b) for b in _batches(fits, workers=2, per_worker=10)] == [1] + [2] * 16 + [1] * 4


def test_a_forked_worker_asks_to_end_with_its_parent(monkeypatch: pytest.MonkeyPatch):
    """kill -9 of the main process left a --jobs worker fitting on, orphaned, until its batch
    ended (its pipe's EOF ends it only between batches): a forked worker now asks Linux to end
    it with its parent (``end_with_parent``, whose effect test_forked checks), before serving."""
    import signal

    from specrun import executors
    from specrun.plan.nodes import Plan

    calls: list[str] = []
    monkeypatch.setattr(executors, "end_with_parent", lambda pid: calls.append(f"end {pid}"))
    monkeypatch.setattr(executors, "_serve", lambda conn: calls.append("serve"))
    before = signal.getsignal(signal.SIGINT)
    try:
        executors._forked_main(None, [], "token", None, Plan(nodes=()), 4242)  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGINT, before)
        executors._REBUILT.clear()
    assert calls == ["end 4242", "serve"]


def test_jobs_left_unset_fork_workers_for_large_data_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    """--jobs unset: serial for small data files, one process per CPU (at most
    ``AUTO_MAX_JOBS``) from ``AUTO_DATA_BYTES`` of data on, never for a single fit or one CPU.
    The paper spec at x1000 (300 MB of CSV) ran 16 % faster on two processes, and as fast at
    x1 and x100 (``bench/scale.py``)."""
    from specrun import executors
    from specrun.api import plan_file

    spec, plan = plan_file(project)
    monkeypatch.setattr(executors, "_fork_safe", lambda: True)
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    assert executors.AutoRunner._jobs(spec, plan) == 1  # the Grunfeld file: 10 kB
    monkeypatch.setattr(executors, "AUTO_DATA_BYTES", 1)
    # one resampling fit (the mediation model) has nothing to run beside it; with the fixed
    # effects models counted as long fits too, the workers start
    assert executors.AutoRunner._jobs(spec, plan) == 1
    monkeypatch.setattr(executors, "AUTO_HEAVY", frozenset({"mediation", "panel_fe"}))
    assert executors.AutoRunner._jobs(spec, plan) == 2
    monkeypatch.setattr(executors, "usable_cpus", lambda: 16)
    assert executors.AutoRunner._jobs(spec, plan) == executors.AUTO_MAX_JOBS
    monkeypatch.setattr(executors, "usable_cpus", lambda: 1)
    assert executors.AutoRunner._jobs(spec, plan) == 1
    one, one_plan = plan_file(
        grunfeld_project(_folder(project.parent / "one"), GRUNFELD_HEAD + ONE_MODEL)
    )
    monkeypatch.setattr(executors, "usable_cpus", lambda: 2)
    assert executors.AutoRunner._jobs(one, one_plan) == 1


def test_jobs_left_unset_start_no_more_workers_than_memory_holds(
    project: Path, monkeypatch: pytest.MonkeyPatch
):
    """--jobs unset on large data forked one worker per CPU whatever the memory: a worker
    given the run's panel added 261 MB to the peak of a 69 MB CSV's run (1M rows, measured
    with ps on this branch), so four of them on a few million rows took gigabytes a laptop
    does not have. A worker starts only where ``available_memory`` holds the serial run
    (``AUTO_RUN_MEMORY`` x the data) and its copy (``AUTO_WORKER_MEMORY`` x the data)."""
    from specrun import executors
    from specrun.api import plan_file
    from specrun.data.io import resolve

    spec, plan = plan_file(project)
    data = sum(resolve(s, spec.folder).stat().st_size for s in spec.data.sources.values())
    monkeypatch.setattr(executors, "_fork_safe", lambda: True)
    monkeypatch.setattr(executors, "usable_cpus", lambda: 16)
    monkeypatch.setattr(executors, "AUTO_DATA_BYTES", 1)
    monkeypatch.setattr(executors, "AUTO_HEAVY", frozenset({"mediation", "panel_fe"}))
    serial = executors.AUTO_RUN_MEMORY * data
    worker = executors.AUTO_WORKER_MEMORY * data
    for available, jobs in [
        (0, 1),
        (serial + worker - 1, 1),
        (serial + worker, 2),
        (serial + 2 * worker, 3),
        (serial + 99 * worker, 4),
    ]:
        monkeypatch.setattr(executors, "available_memory", lambda a=available: a)
        assert executors.AutoRunner._jobs(spec, plan) == jobs, available
    assert executors.available_memory() > 0  # Linux: /proc/meminfo


def test_jobs_left_unset_count_a_containers_memory_and_cpus(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """In a container the host's /proc/meminfo and CPU count are not the run's: a job given
    2 CPUs and 1 GiB of a 64-core, 64 GiB host forked three workers whose copies of the panel
    the container could not hold. Fake files stand for the host and the group
    (``test_executors_cgroup.py`` checks how they are read)."""
    from specrun import executors
    from specrun.api import plan_file
    from specrun.data.io import resolve

    spec, plan = plan_file(project)
    data = sum(resolve(s, spec.folder).stat().st_size for s in spec.data.sources.values())
    monkeypatch.setattr(executors, "_fork_safe", lambda: True)
    monkeypatch.setattr(executors, "AUTO_DATA_BYTES", 1)
    monkeypatch.setattr(executors, "AUTO_HEAVY", frozenset({"mediation", "panel_fe"}))
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: set(range(64)))
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "meminfo").write_text("MemAvailable:   67108864 kB\n")
    (tmp_path / "self").write_text("0::/\n")
    monkeypatch.setattr(executors, "MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(executors, "PROC_CGROUP", tmp_path / "self")
    monkeypatch.setattr(executors, "CGROUP_ROOT", root)
    (root / "memory.max").write_text("max\n")
    (root / "cpu.max").write_text("max 100000\n")
    assert executors.AutoRunner._jobs(spec, plan) == executors.AUTO_MAX_JOBS  # the host's
    (root / "cpu.max").write_text("200000 100000\n")
    assert executors.AutoRunner._jobs(spec, plan) == 2
    # room for the serial run and less than one worker's copy: no worker
    serial = executors.AUTO_RUN_MEMORY * data
    worker = executors.AUTO_WORKER_MEMORY * data
    (root / "memory.max").write_text(f"{serial + worker - 1}\n")
    (root / "memory.current").write_text("0\n")
    assert executors.AutoRunner._jobs(spec, plan) == 1
    (root / "memory.max").write_text(f"{serial + worker}\n")
    assert executors.AutoRunner._jobs(spec, plan) == 2


def test_jobs_left_unset_send_the_panel_only_once_a_node_is_fitted(project: Path):
    """--jobs unset on large data: a run whose fits all come from the cache (a table or a
    label changed) gave every forked worker a pickled copy of the panel it never read (each
    worker holding the whole transformed panel at 300 MB of CSV); the workers get it once a
    wave has a node to fit, and a run with no fit to do sends nothing."""
    from specrun import executors
    from specrun.api import plan_file

    spec, plan = plan_file(project)
    calls: list[str] = []

    class Inner:
        def prepare(self, spec: object, plan: object) -> None:
            calls.append("prepare")

        def start(self, *args: object, **kwargs: object) -> None:
            calls.append("start")

        def run(self, tasks: list[object], counts: object) -> list[object]:
            calls.append(f"run {len(tasks)}")
            return []

        def stop(self) -> None:
            calls.append("stop")

    cached = executors.AutoRunner()
    cached.inner = Inner()
    cached.start(spec, plan, None, None)
    assert list(cached.run([], None)) == []  # type: ignore[arg-type]
    cached.stop()
    assert calls == ["prepare", "stop"]
    calls.clear()
    fitting = executors.AutoRunner()
    fitting.inner = Inner()
    fitting.start(spec, plan, None, None)
    list(fitting.run([], None))  # type: ignore[arg-type]
    list(fitting.run(["task"], None))  # type: ignore[list-item, arg-type]
    list(fitting.run(["task"], None))  # type: ignore[list-item, arg-type]
    assert calls == ["prepare", "start", "run 1", "run 1"]


def test_manifest_timings_are_in_plan_order_whichever_fit_ends_first(project: Path):
    """Forked workers (--jobs N, or unset on large data) finish fits in any order: the
    manifest listed its timings in that order, so a parallel and a serial run's manifests
    differed in more lines than the seconds themselves. They are written in plan order."""
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.outputs import manifest_json

    spec, plan = plan_file(project)
    run = execute(spec, plan)
    run.timings = dict(reversed(run.timings.items()))  # as the last node had finished first
    timed = list(manifest_json(spec, plan, run)["timings"])
    assert timed == [node.id for node in plan.nodes if node.id in run.timings]
    assert len(timed) > 2


ONE_MODEL = "models:\n  m: {estimator: panel_fe, y: inv, x: [value]}\n"

AUTO_RUN = """
import sys
from specrun import executors
from specrun.cli import main

executors.AUTO_DATA_BYTES = 1  # any data file is large
executors.AUTO_HEAVY = frozenset({"mediation", "panel_fe"})  # and these fits long
prepare = executors.ProcessRunner.prepare


def noted(self, spec, plan):
    print(f"workers: {self.jobs - 1} {self.start_method}", file=sys.stderr)
    return prepare(self, spec, plan)


executors.ProcessRunner.prepare = noted
sys.exit(main(["run", sys.argv[1], "--out", sys.argv[2], "--no-cache"]))
"""


def test_jobs_left_unset_on_large_data_match_a_serial_run(project: Path):
    """From a fresh process (polars' pool not started: workers fork), a run with --jobs unset
    on data counted as large forks its workers, and writes a serial run's bytes."""
    import subprocess
    import sys

    out = project.parent / "auto"
    done = subprocess.run(
        [sys.executable, "-c", AUTO_RUN, str(project), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "workers: 1 fork" in done.stderr
    assert output_files(out) == output_files(project.parent / "serial")


def _folder(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path
