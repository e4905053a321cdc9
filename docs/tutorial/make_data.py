"""Write the tutorial's example input files from the bundled synthetic data.

The tutorial starts from "your own" files as researchers get them: an Excel workbook with the
panel on a named sheet, the same panel as a GBK-encoded CSV with Chinese headers and ``..`` for
missing cells (as statistical yearbooks export them), a Stata ``.dta`` file, and the exports by
product category. They are made from ``data/province_panel.csv`` and
``data/province_exports.csv``, which are SYNTHETIC (``data/generate.py``): the numbers are not
the paper's. Usage: ``python docs/tutorial/make_data.py my_paper/data``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
CHINESE_HEADERS = {"province": "省份", "year": "年份", "region": "地区"}


def make(folder: str | Path) -> list[Path]:
    """Write panel.xlsx, panel_gbk.csv, panel.dta and exports.csv into ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    panel = pl.read_csv(ROOT / "data" / "province_panel.csv")
    written = [out / "panel.xlsx", out / "panel_gbk.csv", out / "panel.dta", out / "exports.csv"]
    panel.write_excel(written[0], worksheet="panel")
    text = panel.rename(CHINESE_HEADERS).write_csv(null_value="..")
    written[1].write_bytes(text.encode("gbk"))
    panel.to_pandas().to_stata(written[2], write_index=False, version=118)
    shutil.copyfile(ROOT / "data" / "province_exports.csv", written[3])
    return written


if __name__ == "__main__":
    for path in make(sys.argv[1] if len(sys.argv) > 1 else "my_paper/data"):
        print(path)
