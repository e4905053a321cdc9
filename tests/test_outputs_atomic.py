"""Kill -9 at the write step: the previous outputs stay byte-identical and nothing is left over.

Each scenario runs specrun in a child process whose output writer is patched to SIGKILL the
process at one moment of the write (after some files are staged, while old files are carried
over, between the two renames of the fallback swap, right after the atomic exchange); the
last tests fail the fallback swap as Windows does when another program holds a file open.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, PROJECT_ROOT, grunfeld_project
from specrun.cli import main

SPEC = (
    GRUNFELD_HEAD
    + """\
title: TITLE
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
tables:
  t: {kind: regression, columns: [fe]}
outputs: {formats: [latex, markdown]}
"""
)

KILLER = """
import os, signal, sys
import specrun.outputs as outputs
from specrun.cli import main

point, count = sys.argv[1], int(sys.argv[2])
seen = {{"n": 0}}

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

def counting(original):
    def wrapper(*args, **kwargs):
        seen["n"] += 1
        if seen["n"] > count:
            kill()
        return original(*args, **kwargs)
    return wrapper

if point == "write":
    outputs._write_file = counting(outputs._write_file)
elif point == "carry":
    outputs.os.link = counting(os.link)
elif point == "exchanged":
    original = outputs._exchange
    def exchange(a, b):
        done = original(a, b)
        kill()
        return done
    outputs._exchange = exchange
elif point == "fallback":
    outputs._exchange = lambda a, b: False
    from pathlib import Path
    rename = Path.rename
    def renamed(self, target):
        result = rename(self, target)
        if ".specrun-old-" in str(target):
            kill()
        return result
    Path.rename = renamed
sys.exit(main(["run", {spec!r}, "--out", {out!r}]))
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def leftovers(folder: Path) -> list[str]:
    # the node cache lives beside the outputs by design; it is not a leftover
    hidden = (p.name for p in folder.parent.iterdir() if p.name.startswith("."))
    return sorted(name for name in hidden if name != ".specrun-cache")


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    spec = grunfeld_project(tmp_path, SPEC.replace("TITLE", "first"))
    out = tmp_path / "results" / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    (out / "my_notes.txt").write_text("the user's own file\n")
    before = snapshot(out)
    spec.write_text(SPEC.replace("TITLE", "second"), encoding="utf-8")  # new outputs differ
    return spec, out, before


def killed_run(spec: Path, out: Path, point: str, count: int = 0) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), *sys.path])}
    script = KILLER.format(spec=str(spec), out=str(out))
    done = subprocess.run(
        [sys.executable, "-c", script, point, str(count)], env=env, capture_output=True
    )
    return done.returncode


@pytest.mark.parametrize(("point", "count"), [("write", 3), ("carry", 0)])
def test_kill_while_staging_leaves_previous_outputs(project, point, count, capsys):
    spec, out, before = project
    assert killed_run(spec, out, point, count) == -9
    assert snapshot(out) == before
    assert len(leftovers(out)) == 1  # the hidden staging folder, removed by the next run
    assert main(["run", str(spec), "--out", str(out)]) == 0
    assert leftovers(out) == []
    after = snapshot(out)
    assert b"second" in after["tables.tex"]
    assert after["my_notes.txt"] == before["my_notes.txt"]  # not specrun's: carried over


def test_kill_after_the_exchange_leaves_the_new_outputs_whole(project):
    spec, out, before = project
    assert killed_run(spec, out, "exchanged") == -9
    after = snapshot(out)
    assert set(after) == set(before)
    assert b"second" in after["tables.tex"]
    assert after["my_notes.txt"] == before["my_notes.txt"]


def test_kill_between_fallback_renames_is_undone_by_the_next_run(project):
    spec, out, before = project
    assert killed_run(spec, out, "fallback") == -9
    assert not out.exists()  # killed between the two renames
    from specrun.outputs import clean_stale

    clean_stale(out)  # what the next run does first
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_outputs_take_modes_from_the_umask(project):
    spec, out, _ = project
    previous = os.umask(0o022)
    try:
        assert main(["run", str(spec), "--out", str(out)]) == 0
    finally:
        os.umask(previous)
    assert (out / "results.json").stat().st_mode & 0o777 == 0o644
    assert out.stat().st_mode & 0o777 == 0o755


def test_a_failed_write_names_the_output_folder_not_the_stage(tmp_path, monkeypatch):
    """A disk that fills while outputs are staged: the error names the file under the folder
    the user gave (--out), never the hidden staging folder, and nothing is left beside it."""
    import errno

    import specrun.outputs as outputs
    from specrun.errors import SpecError

    def full(path: Path, content: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(outputs, "_write_file", full)
    folder = tmp_path / "out"
    with pytest.raises(SpecError) as caught:
        outputs.write_outputs(folder, [outputs.OutputFile("tables/t.tex", b"x")])
    assert caught.value.message == (
        f"cannot write to '{folder}/tables/t.tex': No space left on device"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_file_size_limit_hit_while_staging_is_exit_1_naming_the_file(project):
    """A real limit (``ulimit -f``, as a full disk): write() fails with no file name, and the
    error said "cannot write to 'out'" as a usage error (exit 2). It names the file, says what
    to do, exits 1, and the previous outputs stay as they were."""
    spec, out, before = project
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), *sys.path])}
    script = (
        "import resource, sys\n"
        "from specrun.cli import main\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "run", str(spec), "--out", str(out), "--no-cache"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stderr) == (
        1,
        f"error: --out: cannot write to '{out}/tables.tex': File too large (free space on "
        "that disk (or raise the file size limit, ulimit -f), or give --out a folder on another "
        "disk)\n",
    )
    assert snapshot(out) == before
    assert leftovers(out) == []


class _InUse(PermissionError):
    """What Windows raises renaming a folder that holds a file another program has open."""

    winerror = 32


def test_a_folder_held_open_elsewhere_keeps_the_previous_outputs(project, monkeypatch, capsys):
    """Where the folders cannot be exchanged in one step (not Linux), the old folder is moved
    aside and the new one moved in. When the second move failed (Windows: a table open in
    Excel), the previous outputs were left under a hidden name until the next run; they are
    put back, and the error says what to close."""
    import specrun.outputs as outputs

    spec, out, before = project
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    real_rename = Path.rename

    def rename(self: Path, target: Path) -> Path:
        if Path(target) == out and outputs.STAGE_TAG in self.name:
            raise _InUse(13, "The process cannot access the file", str(target))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: --out: cannot write to '{out}': The process cannot access the file (a file "
        "in it is open in another program (a table in Excel or Word, a PDF viewer): close it "
        "and run again)\n"
    )
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_old_outputs_that_cannot_be_removed_do_not_fail_a_written_run(project, monkeypatch):
    """The new outputs are in place when the old folder's removal fails (Windows: one of its
    files still open): that was reported as a failure to write, exit 1."""
    import shutil

    import specrun.outputs as outputs

    spec, out, _ = project
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    real_rmtree = shutil.rmtree

    def rmtree(path, ignore_errors=False, **kwargs):
        if outputs.OLD_TAG in Path(path).name and not ignore_errors:
            raise _InUse(13, "The process cannot access the file", str(path))
        if outputs.OLD_TAG in Path(path).name:
            return None  # left for the next run's clean_stale, as Windows would
        return real_rmtree(path, ignore_errors=ignore_errors, **kwargs)

    monkeypatch.setattr(outputs.shutil, "rmtree", rmtree)
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0
    assert "second" in (out / "tables.md").read_text(encoding="utf-8")
    assert (out / "my_notes.txt").read_text() == "the user's own file\n"


WRITER = """
import sys, time
from pathlib import Path
import specrun.outputs as outputs

folder, mode, signal = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
real_carry = outputs._carry

def slow_carry(old, stage, skip, only):
    real_carry(old, stage, skip, only)
    if only:
        signal.write_text("carried")
        time.sleep(2.0)  # without turns, the full run swaps its outputs in here

outputs._carry = slow_carry
if mode == "only":
    outputs.write_outputs(folder, [outputs.OutputFile("b.txt", b"only")], only=True)
else:
    outputs.write_outputs(
        folder, [outputs.OutputFile("a.txt", b"full"), outputs.OutputFile("b.txt", b"full")]
    )
"""


def test_an_only_run_writing_beside_a_full_run_keeps_the_full_runs_outputs(tmp_path):
    """Two runs into one folder: an ``--only`` run carries the old files over, then swaps its
    folder in. When a full run swapped its outputs in meanwhile, the ``--only`` run's swap put
    the files of before back over them: the full run had said it wrote them. Writers now
    take turns, so the full run's outputs are never lost."""
    import time

    import specrun.outputs as outputs

    folder, signal = tmp_path / "out", tmp_path / "signal"
    outputs.write_outputs(
        folder, [outputs.OutputFile("a.txt", b"old"), outputs.OutputFile("b.txt", b"old")]
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), *sys.path])}

    def writer(mode: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-c", WRITER, str(folder), mode, str(signal)]
        return subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)

    partial = writer("only")
    deadline = time.monotonic() + 60
    while not signal.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    full = writer("full")
    assert full.wait(timeout=60) == 0, full.stderr.read() if full.stderr else ""
    assert partial.wait(timeout=60) == 0, partial.stderr.read() if partial.stderr else ""
    assert (folder / "a.txt").read_bytes() == b"full"
    assert (folder / "b.txt").read_bytes() == b"full"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "signal"]


@pytest.mark.parametrize("change", ["edit", "move"])
def test_a_spec_saved_or_moved_during_the_run(tmp_path, monkeypatch, capsys, change):
    """The manifest hashed the spec file when the outputs were written: a spec an editor
    saved during a long run gave the hash of text that never ran, and a spec moved away
    crashed the run (exit 3, FileNotFoundError). It hashes the bytes the run read."""
    import json

    import specrun.execute as execute
    from specrun.record import digest_bytes

    spec = grunfeld_project(tmp_path, SPEC.replace("TITLE", "first"))
    read = spec.read_bytes()
    real = execute.execute

    def changing(*args, **kwargs):
        if change == "edit":
            spec.write_text(SPEC.replace("TITLE", "edited"), encoding="utf-8")
        else:
            spec.rename(tmp_path / "moved.yaml")
        return real(*args, **kwargs)

    monkeypatch.setattr(execute, "execute", changing)
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["spec_xxh3_128"] == digest_bytes(read)
