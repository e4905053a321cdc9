"""``specs/paper.yaml`` end to end on the bundled (synthetic) data: every table, figure and file.

The data are synthetic (``data/README.md``), so the checks are the paper's qualitative
findings that the data-generating process builds in, not the paper's printed numbers; the
estimators themselves are checked against published numbers in the ``test_estimators_*`` and
``test_kernel_*`` modules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from specfiles import assert_latex_compiles
from specrun.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TABLES = [
    "table1",
    "table2",
    "table3",
    "table4",
    "table5",
    "table5_effects",
    "table6",
    "table7",
    "table8",
    "table9",
    "table9_margins",
]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("paper")
    assert main(["run", str(PROJECT_ROOT / "specs" / "paper.yaml"), "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def models(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())["models"]


def test_every_table_in_every_format(out: Path):
    for table in TABLES:
        for extension in ("tex", "md", "html", "docx", "xlsx"):
            assert (out / "tables" / f"{table}.{extension}").stat().st_size > 0
    for document in ("tables.tex", "tables.md", "tables.html", "tables.docx", "tables.xlsx"):
        assert (out / document).stat().st_size > 0
    for figure in ("regional_effects", "threshold_lr", "moderation_margins"):
        assert (out / "figures" / f"{figure}.png").exists()
        assert (out / "figures" / f"{figure}.pdf").exists()


def test_the_paper_multiverse(out: Path):
    import polars as pl

    curve = pl.read_parquet(out / "multiverse" / "robustness.parquet")
    # 4 samples × 3 control sets × 3 winsorizings × 2 effects × 2 covariances, less the 36
    # Driscoll–Kraay specifications of the 8-year samples
    assert curve.height == 108
    assert curve.columns[:6] == [
        "specification",
        "sample",
        "controls",
        "winsorize",
        "effects",
        "se",
    ]
    stored = json.loads((out / "results.json").read_text())["multiverses"]["robustness"]
    assert stored["specifications"] == 108 and stored["tests"]["draws"] == 500
    assert (out / "figures" / "specification_curve.png").stat().st_size > 0
    assert "Aggregate z (Stouffer)" in (out / "tables" / "multiverse.md").read_text()
    seeds = json.loads((out / "manifest.json").read_text())["seeds"]
    assert seeds["multiverse:robustness"] == 20240601


def test_analysis_parquet_is_the_model_ready_panel(out: Path):
    assert not (out / "analysis.csv").exists()  # Parquet unless outputs.analysis asks for CSV
    analysis = pl.read_parquet(out / "analysis.parquet")
    assert analysis.height == 341
    assert {
        "province",
        "year",
        "Expy",
        "Dige",
        "STR",
        "URBAN",
        "EDU",
        "MARKET",
        "OPEN",
        "FIN",
    } <= set(analysis.columns)
    assert analysis.select(pl.col("Expy", "Dige", "STR").null_count()).sum_horizontal().item() == 0


def test_digital_trade_raises_export_sophistication(models: dict):
    dige = models["fe_controls"]["coefficients"]["Dige"]
    assert dige["estimate"] > 0 and dige["p_value"] < 0.05
    assert models["fe_controls"]["nobs"] == 341


def test_robustness_samples(models: dict):
    assert models["fe_controls.no_municipalities"]["nobs"] == 297
    assert models["fe_controls.pre_2020"]["nobs"] == 248
    assert models["fe_controls.winsorized"]["nobs"] == 341
    assert "L.Expy" in models["gmm"]["coefficients"]
    for key in ("ar1_p", "ar2_p", "hansen_p", "n_instruments", "n_groups"):
        assert key in models["gmm"]["extra"]
    assert models["gmm"]["extra"]["n_instruments"] <= models["gmm"]["extra"]["n_groups"]


def test_lagged_variant_and_moderation(models: dict, out: Path):
    lagged = models["fe_controls.lagged"]
    assert "L.Dige" in lagged["coefficients"] and "Dige" not in lagged["coefficients"]
    assert lagged["nobs"] == 341 - 31  # the first year has no lag
    moderation = models["moderation"]
    assert {"Dige", "STR", "c.Dige#c.STR"} <= set(moderation["coefficients"])
    assert set(moderation["extra"]["centered"]) == {"Dige", "STR"}
    table8 = (out / "tables" / "table8.md").read_text()
    assert "| Digital trade (t−1) |" in table8
    table9 = (out / "tables" / "table9.md").read_text()
    assert "| Digital trade × Industrial structure upgrading |" in table9
    assert "centred at the mean" in table9
    margins = (out / "tables" / "table9_margins.md").read_text()
    assert "(p10)" in margins and "(p90)" in margins and "Johnson–Neyman" in margins


def test_regions_and_mediation_and_threshold(models: dict):
    assert {"by_region.East", "by_region.Central", "by_region.West", "by_region.Northeast"} <= set(
        models
    )
    indirect = models["mediation"]["extra"]["indirect"]
    for key in (
        "estimate",
        "sobel_z",
        "sobel_p",
        "boot_ci_low",
        "boot_ci_high",
        "boot_method",
        "share",
    ):
        assert key in indirect
    threshold = models["threshold"]["extra"]
    assert set(threshold["tests"]) == {"1", "2"}
    assert set(threshold["tests"]["1"]["crit"]) == {"10%", "5%", "1%"}
    assert threshold["thresholds"][0]["ci_low"] <= threshold["thresholds"][0]["estimate"]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_paper_tables_tex_compiles(out: Path, tmp_path: Path):
    assert_latex_compiles(out / "tables.tex", tmp_path)


def test_only_the_weights_table_still_runs_the_transforms(tmp_path: Path):
    # Table 1 reads the entropy_index artifact, not a model: the plan makes it depend on the
    # transformed panel, so `--only table1` still builds the index.
    spec = str(PROJECT_ROOT / "specs" / "paper.yaml")
    assert main(["run", spec, "--only", "table1", "--out", str(tmp_path)]) == 0
    assert "Digital trade restriction index" in (tmp_path / "tables" / "table1.md").read_text()


def test_rerun_is_byte_identical(out: Path, tmp_path: Path):
    # Float sums in the transforms run in a fixed order (transforms/aggregate.py), so the
    # outputs do not depend on polars' thread scheduling.
    spec = str(PROJECT_ROOT / "specs" / "paper.yaml")
    for _ in range(3):
        assert main(["run", spec, "--out", str(tmp_path)]) == 0
        for name in (
            "analysis.parquet",
            "results.json",
            "tables.tex",
            "tables.docx",
            "tables.xlsx",
        ):
            assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_only_accepts_an_expanded_model_name(tmp_path: Path):
    spec = str(PROJECT_ROOT / "specs" / "paper.yaml")
    assert main(["run", spec, "--only", "by_region.East", "--out", str(tmp_path)]) == 0
    fitted = json.loads((tmp_path / "results.json").read_text())["models"]
    assert set(fitted) == {f"by_region.{r}" for r in ("East", "Central", "West", "Northeast")}
