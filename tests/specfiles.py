"""Small spec projects for tests: a spec file beside a copy of the shipped Grunfeld data."""

from __future__ import annotations

import shutil
import subprocess
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


def assert_latex_compiles(tex: Path, folder: Path) -> None:
    """pdflatex compiles ``tex`` (copied into ``folder``) without errors."""
    shutil.copy(tex, folder / tex.name)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert (folder / tex.with_suffix(".pdf").name).exists()
