"""An output folder a run cannot write (issue: hardening, second round): ``--out`` or
``outputs.dir`` through a file, at a file, in a folder without write permission or on a
read-only file system. Each is one message saying what is wrong, before anything is fitted or
written; ``--out`` is a usage error (exit 2), ``outputs.dir`` a located spec error (exit 1).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main

MODELS = "models:\n  m: {estimator: ols, y: inv, x: [value]}\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    grunfeld_project(tmp_path, GRUNFELD_HEAD + MODELS)
    (tmp_path / "afile").write_text("not a folder\n", encoding="utf-8")
    return tmp_path


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("out", ["afile/sub", "afile", "afile/sub/deeper"])
def test_out_through_or_at_a_file_says_it_is_a_file(project, capsys, out):
    before = _listing(project)
    assert run(["run", str(project / "spec.yaml"), "--out", str(project / out)], capsys) == (
        2,
        f"error: --out: '{project / 'afile'}' is a file, not a folder",
    )
    assert _listing(project) == before  # no output, no staging folder, no cache


def test_out_in_a_folder_without_write_permission(project, capsys, monkeypatch):
    locked = project / "locked"
    locked.mkdir()
    access = os.access
    # the permission bits of a folder do not bind root (this suite may run as root): deny
    # through os.access, which is what the check asks
    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != locked and access(path, mode)
    )
    before = _listing(project)
    for out in (locked / "out", locked / "a" / "b"):
        assert run(["run", str(project / "spec.yaml"), "--out", str(out)], capsys) == (
            2,
            f"error: --out: no permission to write in '{locked}'",
        )
    assert _listing(project) == before


def test_out_folder_itself_without_write_permission(project, capsys, monkeypatch):
    done = project / "done"
    done.mkdir()
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != done and access(path, mode))
    assert run(["run", str(project / "spec.yaml"), "--out", str(done)], capsys) == (
        2,
        f"error: --out: no permission to write in '{done}'",
    )
    assert _listing(done) == []


def test_out_on_a_read_only_file_system(project, capsys, monkeypatch):
    mounted = project / "cdrom"
    mounted.mkdir()
    access, statvfs = os.access, os.statvfs

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(
        os, "access", lambda path, mode: Path(path) != mounted and access(path, mode)
    )
    monkeypatch.setattr(
        os, "statvfs", lambda path: ReadOnly() if Path(path) == mounted else statvfs(path)
    )
    assert run(["run", str(project / "spec.yaml"), "--out", str(mounted / "out")], capsys) == (
        2,
        f"error: --out: '{mounted}' is on a read-only file system",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_out_in_a_read_only_folder_for_real(project, capsys):
    locked = project / "locked"
    locked.mkdir(mode=0o555)
    try:
        assert run(["run", str(project / "spec.yaml"), "--out", str(locked / "o")], capsys) == (
            2,
            f"error: --out: no permission to write in '{locked}'",
        )
    finally:
        locked.chmod(0o755)


def test_outputs_dir_through_a_file_is_located(tmp_path, capsys):
    specs = tmp_path / "proj" / "specs"
    specs.mkdir(parents=True)
    (tmp_path / "proj" / "afile").write_text("not a folder\n", encoding="utf-8")
    spec = grunfeld_project(specs, GRUNFELD_HEAD + MODELS + "outputs: {dir: ../afile/sub}\n")
    expected = (
        1,
        f"error: {spec}:8:16: outputs.dir: '{tmp_path / 'proj' / 'afile'}' is a file, not a folder",
    )
    assert run(["validate", str(spec)], capsys) == expected
    assert run(["run", str(spec)], capsys) == expected
    assert sorted(p.name for p in (tmp_path / "proj").iterdir()) == ["afile", "specs"]


def test_out_through_a_broken_link(project, capsys):
    (project / "gone").symlink_to(project / "nowhere")
    assert run(
        ["run", str(project / "spec.yaml"), "--out", str(project / "gone" / "o")], capsys
    ) == (
        2,
        f"error: --out: '{project / 'gone'}' is a broken symbolic link",
    )


def test_out_at_a_broken_link(project, capsys):
    # the link itself as --out: the run made the folder it names (nowhere/o) and wrote there
    (project / "gone").symlink_to(project / "nowhere" / "o")
    before = _listing(project)
    assert run(["run", str(project / "spec.yaml"), "--out", str(project / "gone")], capsys) == (
        2,
        f"error: --out: '{project / 'gone'}' is a broken symbolic link",
    )
    assert _listing(project) == before
