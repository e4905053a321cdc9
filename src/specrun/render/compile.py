"""Compiling ``tables.tex`` (``outputs.latex.compile: true``) and reading the engine's log.

LaTeX reports a table wider than the text only as ``Overfull \\hbox (76pt too wide) in
paragraph at lines 87--125`` in its log; the lines are mapped back to the table whose
``table`` environment holds them, so the warning names the table and the options that fix it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from specrun.errors import SpecError

OVERFULL = re.compile(
    r"^Overfull \\hbox \((?P<points>[\d.]+)pt too wide\).* at lines? (?P<line>\d+)"
)
ERROR_LINE = re.compile(r"^! (?P<message>.+)$", re.MULTILINE)
INSTALL_HINTS = {
    "pdflatex": "Debian/Ubuntu: apt-get install texlive-latex-base texlive-latex-recommended "
    "texlive-latex-extra",
    "xelatex": "Debian/Ubuntu: apt-get install texlive-xetex texlive-lang-chinese fonts-noto-cjk",
}


def table_spans(source: str) -> list[tuple[int, int]]:
    """The (first, last) line numbers, 1-based, of each ``table`` environment in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for number, line in enumerate(source.splitlines(), start=1):
        if line.startswith("\\begin{table}"):
            start = number
        elif line.startswith("\\end{table}") and start:
            spans.append((start, number))
            start = 0
    return spans


def overfull_warnings(source: str, log: str, names: Sequence[str]) -> list[str]:
    """One warning per table the log reports as too wide (the widest excess of each).

    ``names`` are the tables of ``source`` in order (``render_document``'s order).
    """
    spans = table_spans(source)
    widest: dict[str, float] = {}
    for line in log.splitlines():
        match = OVERFULL.match(line)
        if match is None:
            continue
        at = int(match["line"])
        for name, (first, last) in zip(names, spans, strict=False):
            if first <= at <= last:
                widest[name] = max(widest.get(name, 0.0), float(match["points"]))
    return [
        f"table '{name}' is {points:.0f}pt wider than the text in tables.tex (LaTeX: Overfull "
        "\\hbox); set resize: auto, size: small or landscape: true on the table"
        for name, points in widest.items()
    ]


def compile_latex(source: str, engine: str, names: Sequence[str]) -> tuple[bytes | None, list[str]]:
    """Run ``engine`` on ``source``; the PDF's bytes (None when the engine is missing) and
    the warnings of the run. Raises a SpecError when the engine fails, with its first error."""
    executable = shutil.which(engine)
    if executable is None:
        return None, [
            f"{engine} is not installed, so tables.tex was not compiled ({INSTALL_HINTS[engine]})"
        ]
    # fixed dates in the PDF, so that a rerun writes the same bytes
    env = {**os.environ, "SOURCE_DATE_EPOCH": "946684800", "FORCE_SOURCE_DATE": "1"}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "tables.tex").write_text(source, encoding="utf-8")
        done = subprocess.run(
            [executable, "-interaction=nonstopmode", "-halt-on-error", "tables.tex"],
            cwd=folder,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=600,
            env=env,
            check=False,
        )
        log_path = Path(folder, "tables.log")
        log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
        pdf = Path(folder, "tables.pdf")
        if done.returncode != 0 or not pdf.exists():
            error = ERROR_LINE.search(log or done.stdout)
            raise SpecError(
                f"{engine} could not compile tables.tex: "
                + (error["message"] if error else f"exit status {done.returncode}"),
                code="usage",
                path="outputs.latex",
            )
        return pdf.read_bytes(), overfull_warnings(source, log, names)
