"""The seeded generator of data/ reproduces the shipped CSVs byte for byte and their shape."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
PANEL = DATA_DIR / "province_panel.csv"
EXPORTS = DATA_DIR / "province_exports.csv"

# NBS regional classification (National Bureau of Statistics, "East, Central, West and
# Northeast regions", 2011): 10 + 6 + 12 + 3 = 31 provincial units of mainland China.
NBS_REGIONS = {
    "East": {
        "Beijing", "Tianjin", "Hebei", "Shanghai", "Jiangsu", "Zhejiang", "Fujian", "Shandong",
        "Guangdong", "Hainan",
    },
    "Central": {"Shanxi", "Anhui", "Jiangxi", "Henan", "Hubei", "Hunan"},
    "West": {
        "Inner Mongolia", "Guangxi", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet",
        "Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang",
    },
    "Northeast": {"Liaoning", "Jilin", "Heilongjiang"},
}  # fmt: skip
MUNICIPALITIES = {"Beijing", "Tianjin", "Shanghai", "Chongqing"}
# The paper's Table 1 indicators as panel columns (GDP per capita is the gdp_pc column).
INDICATORS = [
    "internet_rate", "mobile_internet_users", "optical_cable_km", "rd_personnel_fte",
    "rd_institution_patents", "rd_expenditure", "ict_goods_export_share",
    "ict_services_export_share", "digital_services_export_share", "gdp_pc", "imports_gdp_ratio",
    "digital_trade_restriction",
]  # fmt: skip
CONTROL_INPUTS = [
    "urban_rate", "teacher_student_ratio", "market_index", "trade_usd", "usd_cny", "gdp",
    "deposits", "loans", "tertiary_va", "secondary_va", "cpi",
]  # fmt: skip


def load_generator() -> ModuleType:
    """data/generate.py is a standalone script, not part of the package: load it by path."""
    spec = importlib.util.spec_from_file_location("data_generate", DATA_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return pl.read_csv(PANEL)


@pytest.fixture(scope="module")
def exports() -> pl.DataFrame:
    return pl.read_csv(EXPORTS)


def test_regeneration_reproduces_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    generator = load_generator()
    generator.main(["--out", str(tmp_path)])
    assert (tmp_path / "province_panel.csv").read_bytes() == PANEL.read_bytes()
    assert (tmp_path / "province_exports.csv").read_bytes() == EXPORTS.read_bytes()


def test_another_seed_gives_other_numbers(tmp_path: Path) -> None:
    generator = load_generator()
    generator.generate(tmp_path, seed=generator.SEED + 1)
    assert (tmp_path / "province_panel.csv").read_bytes() != PANEL.read_bytes()


def test_panel_is_31_provinces_by_2012_to_2022(panel: pl.DataFrame) -> None:
    # The paper: 31 provinces × 2012–2022 = 341 observations.
    assert panel.height == 341
    assert panel.select(pl.struct("province", "year").n_unique()).item() == 341
    assert sorted(panel["year"].unique().to_list()) == list(range(2012, 2023))
    assert set(panel["province"].unique()) == set().union(*NBS_REGIONS.values())


def test_regions_follow_nbs_classification(panel: pl.DataFrame) -> None:
    regions = panel.select("province", "region").unique()
    for region, members in NBS_REGIONS.items():
        assert set(regions.filter(pl.col("region") == region)["province"]) == members
    counts = dict(regions.group_by("region").len().iter_rows())
    assert counts == {"East": 10, "Central": 6, "West": 12, "Northeast": 3}


def test_municipality_flag_marks_the_four_municipalities(panel: pl.DataFrame) -> None:
    flagged = set(panel.filter(pl.col("municipality") == 1)["province"])
    assert flagged == MUNICIPALITIES
    assert set(panel["municipality"].unique()) == {0, 1}


def test_panel_has_every_indicator_and_control_input(panel: pl.DataFrame) -> None:
    assert len(INDICATORS) == 12
    missing_columns = set(INDICATORS + CONTROL_INPUTS) - set(panel.columns)
    assert not missing_columns


def test_missing_cells_are_the_documented_few(panel: pl.DataFrame) -> None:
    generator = load_generator()
    empty = {
        (row["province"], row["year"], column)
        for column in panel.columns
        for row in panel.filter(pl.col(column).is_null()).iter_rows(named=True)
    }
    assert empty == set(generator.MISSING_CELLS)
    assert 3 <= len(empty) <= 6
    # Interior years only, so linear interpolation within a province can fill each one.
    assert all(2012 < year < 2022 for _, year, _ in empty)


def test_exports_are_province_year_by_12_categories(exports: pl.DataFrame) -> None:
    assert exports.columns == ["province", "year", "category", "export_value", "dva_share"]
    assert exports.height == 341 * 12
    assert exports["category"].n_unique() == 12
    assert exports.group_by("province", "year").len()["len"].unique().to_list() == [12]
    assert exports["export_value"].min() > 0
    assert exports["dva_share"].min() > 0 and exports["dva_share"].max() < 1
    assert exports.null_count().sum_horizontal().item() == 0


def test_panel_is_internally_consistent(panel: pl.DataFrame, exports: pl.DataFrame) -> None:
    # Value added sums to GDP (each part rounded to 0.01, so within 0.02).
    va_gap = panel["primary_va"] + panel["secondary_va"] + panel["tertiary_va"] - panel["gdp"]
    assert va_gap.abs().max() <= 0.02 + 1e-9
    # The ICT goods export share indicator is the ICT category's share of the exports file.
    ict = (
        exports.group_by("province", "year")
        .agg(
            (
                100
                * pl.col("export_value").filter(pl.col("category") == "ICT and electronics").sum()
                / pl.col("export_value").sum()
            ).alias("ict_share_from_exports")
        )
        .join(panel.select("province", "year", "ict_goods_export_share"), on=["province", "year"])
    )
    gap = ict["ict_share_from_exports"] - ict["ict_goods_export_share"]
    assert gap.abs().max() < 0.006
    # Trade (100 million USD) covers the exports file's total (million USD) plus imports.
    totals = exports.group_by("province", "year").agg(pl.col("export_value").sum() / 100)
    joined = totals.join(panel.select("province", "year", "trade_usd"), on=["province", "year"])
    assert (joined["trade_usd"] > joined["export_value"]).all()
    base_year = panel.filter(pl.col("year") == 2012)
    assert (base_year["cpi"] == 100).all()


def test_size_repeats_every_province_with_its_own_draws(tmp_path: Path):
    generator = load_generator()
    panel_path, exports_path = generator.generate(tmp_path, size=3)
    panel = pl.read_csv(panel_path)
    exports = pl.read_csv(exports_path)
    assert panel.height == 31 * 3 * 11 and exports.height == 31 * 3 * 11 * 12
    assert {"Beijing", "Beijing 2", "Beijing 3", "Inner Mongolia 3"} <= set(panel["province"])
    copies = panel.filter(pl.col("province").str.starts_with("Beijing"))
    assert copies.filter(pl.col("municipality") == 1).height == 33  # every copy stays one
    # the same anchors, different draws
    gdp = copies.filter(pl.col("year") == 2022).sort("province")["gdp_pc"]
    assert gdp.n_unique() == 3
