"""``outputs.latex.compile``: tables.pdf, and an overfull table named in a warning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.render.compile import overfull_warnings, table_spans

SOURCE = """\\documentclass{article}
\\begin{document}
\\begin{table}[htbp]
narrow
\\end{table}
\\begin{table}[htbp]
wide
\\end{table}
\\end{document}
"""


def test_overfull_lines_map_to_the_table_holding_them():
    assert table_spans(SOURCE) == [(3, 5), (6, 8)]
    log = (
        "Overfull \\hbox (12.5pt too wide) in paragraph at lines 7--7\n"
        "Overfull \\hbox (80.1pt too wide) in paragraph at lines 6--8\n"
        "Overfull \\hbox (3.0pt too wide) in paragraph at lines 40--41\n"
    )
    assert overfull_warnings(SOURCE, log, ["t1", "t2"]) == [
        "table 't2' is 80pt wider than the text in tables.tex (LaTeX: Overfull \\hbox); "
        "set resize: auto, size: small or landscape: true on the table"
    ]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_compile_writes_the_pdf_and_names_the_overfull_table(tmp_path: Path):
    columns = ", ".join(["pooled"] * 12)
    spec = GRUNFELD_HEAD + (
        "models:\n  pooled: {estimator: ols, y: inv, x: [value, capital]}\n"
        "tables:\n"
        f"  wide: {{kind: regression, columns: [{columns}], resize: none}}\n"
        f"  shrunk: {{kind: regression, columns: [{columns}]}}\n"
        "outputs: {formats: [latex], latex: {compile: true}}\n"
    )
    run = run_file(grunfeld_project(tmp_path, spec), out=tmp_path / "out")
    assert (tmp_path / "out" / "tables.pdf").read_bytes().startswith(b"%PDF")
    overfull = [w for w in run.output.warnings if "Overfull" in w]
    assert len(overfull) == 1
    assert overfull[0].startswith("table 'wide' is ")
