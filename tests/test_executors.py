"""Fits on local workers and on a Dask cluster give byte-identical outputs to a serial run;
an unreachable scheduler is a clear error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from specfiles import grunfeld_project, output_files
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
        assert runner.jobs == 2 and len(runner.workers) == 1
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
    from specrun.executors import RUNNERS
    from specrun.render.forked import usable_cpus

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
