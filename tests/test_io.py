"""Every source format gives the same panel: CSV, TSV, Parquet, Excel, Stata, whitespace text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specfiles import PROJECT_ROOT
from specrun.api import run_file
from specrun.data.io import read_source
from specrun.errors import SpecError
from specrun.spec.models import SourceSpec

SPEC = """\
spec_version: 1
data:
  sources:
    g: {source}
  panel: {{source: g, entity: firm, time: year}}
models:
  fe: {{estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time]}}
outputs: {{formats: [markdown]}}
"""


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    return pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")


def write_all(frame: pl.DataFrame, folder: Path) -> dict[str, str]:
    frame.write_csv(folder / "g.tsv", separator="\t")
    frame.write_parquet(folder / "g.parquet")
    frame.write_excel(folder / "g.xlsx", worksheet="panel")
    frame.to_pandas().to_stata(folder / "g.dta", write_index=False)
    values = frame.select("inv", "value", "capital").to_numpy()
    np.savetxt(folder / "g.dat", values, fmt="%.6f")
    return {
        "tsv": "{path: g.tsv}",
        "parquet": "{path: g.parquet}",
        "excel": "{path: g.xlsx, sheet: panel}",
        "stata": "{path: g.dta}",
        # entity-major, no identifiers: the index is generated (Hansen's invest.dat layout)
        "whitespace": "{path: g.dat, columns: [inv, value, capital], "
        "index: {entity: firm, time: year, periods: 20, start: 1935}}",
    }


def test_every_format_gives_the_same_fit(grunfeld: pl.DataFrame, tmp_path: Path):
    sources = write_all(grunfeld, tmp_path)
    estimates = {}
    for name, source in sources.items():
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(SPEC.format(source=source))
        fit = run_file(spec, tmp_path / name).output.results.models["fe"]
        estimates[name] = fit.coefficients["value"].estimate
    # R plm 2.6.2 two-way within estimate on the Grunfeld data
    for name, value in estimates.items():
        assert value == pytest.approx(0.1177158550826, rel=1e-6), name


def test_unknown_extension_asks_for_a_format(tmp_path: Path):
    (tmp_path / "g.txt2").write_text("a")
    with pytest.raises(SpecError, match=r"cannot tell the format of 'g\.txt2'"):
        read_source(SourceSpec(path="g.txt2"), tmp_path)


def test_whitespace_rows_must_fill_whole_entities(tmp_path: Path):
    np.savetxt(tmp_path / "x.dat", np.ones((7, 2)))
    spec = SourceSpec(
        path="x.dat", columns=["a", "b"], index={"entity": "i", "time": "t", "periods": 3}
    )
    with pytest.raises(SpecError, match="has 7 rows, not a multiple of 3 periods"):
        read_source(spec, tmp_path)
