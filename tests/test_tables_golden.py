"""Golden files for whole tables built from real fits: the Grunfeld spec, every format.

After a deliberate change to a table kind or template, rewrite them with

    SPECRUN_UPDATE_GOLDEN=1 pytest tests/test_tables_golden.py

and review the diff. The numbers in them are checked against R plm and Stata in
``tests/test_estimators_linear.py``; here the layout is what is pinned.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specrun.api import run_file

PROJECT_ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "grunfeld"
FILES = [
    "tables/table_fe.tex",
    "tables/table_fe.md",
    "tables/table_fe.html",
    "tables/summary.tex",
    "tables/summary.md",
]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grunfeld_golden")
    run_file(PROJECT_ROOT / "specs" / "grunfeld.yaml", out)
    return out


@pytest.mark.parametrize("name", FILES)
def test_rendered_table_matches_golden(run_folder: Path, name: str):
    produced = (run_folder / name).read_text(encoding="utf-8")
    golden = GOLDEN / name.replace("tables/", "")
    if os.environ.get("SPECRUN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(produced, encoding="utf-8")
    assert produced == golden.read_text(encoding="utf-8")


def test_descriptive_statistics_match_stata_summarize(run_folder: Path):
    # Stata `summarize inv value capital, detail` on the Grunfeld data (R plm's 200 rows):
    # inv mean 145.9583, sd 216.8753, p50 57.485, min .93, max 1486.7.
    import json

    stats = json.loads((run_folder / "results.json").read_text())["models"]["describe"]
    inv = stats["extra"]["variables"]["inv"]
    assert inv["nobs"] == 200
    assert round(inv["mean"], 4) == 145.9583
    assert round(inv["sd"], 4) == 216.8753
    assert inv["median"] == 57.485
    assert (inv["min"], inv["max"]) == (0.93, 1486.7)
