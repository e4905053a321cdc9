"""Small spec projects for tests: a spec file beside a copy of the shipped Grunfeld data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

GRUNFELD_HEAD = """\
spec_version: 1
data:
  sources:
    g: {path: grunfeld.csv}
  panel: {source: g, entity: firm, time: year}
"""


def grunfeld_project(folder: Path, spec_text: str, name: str = "spec.yaml") -> Path:
    """Write ``spec_text`` to ``folder/name`` beside ``grunfeld.csv``; return the spec's path."""
    shutil.copy(PROJECT_ROOT / "data" / "grunfeld.csv", folder / "grunfeld.csv")
    path = folder / name
    path.write_text(spec_text, encoding="utf-8")
    return path


def fast_paper(folder: Path, name: str = "paper.yaml") -> Path:
    """A copy of ``specs/<name>`` in ``folder`` reading the bundled data, with 49 bootstrap
    draws and a coarser threshold grid, so that a test runs the whole paper in seconds."""
    text = (PROJECT_ROOT / "specs" / name).read_text(encoding="utf-8")
    text = text.replace("../data/", f"{(PROJECT_ROOT / 'data').as_posix()}/")
    text = text.replace("bootstrap: 1000", "bootstrap: 49").replace(
        "bootstrap: 500", "bootstrap: 49"
    )
    text = text.replace("grid: 300", "grid: 60")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_latex_compiles(tex: Path, folder: Path, engine: str = "pdflatex") -> str:
    """``engine`` compiles ``tex`` (copied into ``folder``) without errors; returns the log."""
    shutil.copy(tex, folder / tex.name)
    done = subprocess.run(
        [engine, "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (folder / tex.with_suffix(".pdf").name).exists()
    return (folder / tex.with_suffix(".log").name).read_text(encoding="utf-8", errors="replace")


def output_files(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes, with the manifest's run-to-run fields (timings, what the
    cache supplied) left out: what must be equal between two runs of the same spec."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name == "manifest.json":
            manifest = json.loads(data)
            manifest.pop("timings")
            manifest.pop("cache")
            data = json.dumps(manifest, sort_keys=True).encode()
        files[str(path.relative_to(folder))] = data
    return files


def python_probe(code: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``argv`` in a fresh interpreter that imports this checkout's specrun
    (and the test environment's packages); its output captured as text, not checked."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), *sys.path])}
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
