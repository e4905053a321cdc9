"""A large panel's model sample frame keeps only the columns some model or sample reads
(``Executor._read_columns``; every panel here is projected): a column that only a sample's
``where:`` names must stay, whatever characters its name holds. Expected row counts are
computed here with polars from the same CSV file, independently of specrun's expression
language."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specfiles import PROJECT_ROOT
from specrun.api import run_file


@pytest.fixture(autouse=True)
def every_panel_projected(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small panels keep all their columns (``PROJECTED_CELLS``): these tests project every
    panel, as a large one is."""
    import specrun.execute

    monkeypatch.setattr(specrun.execute, "PROJECTED_CELLS", 0)


@pytest.mark.parametrize("column", ['big"firm', "收入\\万元", "a b.c"])
def test_a_column_only_a_where_names_is_kept_whatever_its_name(tmp_path: Path, column: str):
    # the Grunfeld panel (R plm) with one more 0/1 column: 1 where the market value exceeds
    # 1000; the header holds a quote or a backslash, which JSON escapes (the sample's text was
    # searched as JSON, the column dropped and the filter failed with "unknown column")
    grunfeld = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    flagged = grunfeld.with_columns((pl.col("value") > 1000).cast(pl.Int64).alias(column))
    flagged.write_csv(tmp_path / "g.csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        "  sources:\n"
        "    g: {path: g.csv}\n"
        "  panel: {source: g, entity: firm, time: year}\n"
        "samples:\n"
        "  big:\n"
        f"    where: '`{column}` == 1'\n"
        "models:\n"
        "  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity],"
        " sample: big}\n",
        encoding="utf-8",
    )
    result = run_file(spec, out=tmp_path / "out", cache=False).output.results.models["fe"]
    assert result.nobs == grunfeld.filter(pl.col("value") > 1000).height


def test_a_panel_column_named_as_a_lag_is_read_as_it_stands(tmp_path: Path):
    # a column headed L.value is the term L.value: no lag is built for it, and the sample frame
    # dropped it (no model names the column 'L.value', only the variable 'value'), so the fit
    # stopped with polars' ColumnNotFoundError. It holds value's lag within each firm, so the
    # fit equals that of the same spec on the plain panel, where specrun builds L.value.
    grunfeld = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv").sort("firm", "year")
    grunfeld.write_csv(tmp_path / "plain.csv")
    lagged = grunfeld.with_columns(pl.col("value").shift(1).over("firm").alias("L.value"))
    lagged.write_csv(tmp_path / "lagged.csv")
    fits = {}
    for name in ("plain", "lagged"):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(
            "spec_version: 1\n"
            "data:\n"
            "  sources:\n"
            f"    g: {{path: {name}.csv}}\n"
            "  panel: {source: g, entity: firm, time: year}\n"
            "models:\n"
            "  fe: {estimator: panel_fe, y: inv, x: [L.value, capital], effects: [entity]}\n",
            encoding="utf-8",
        )
        run = run_file(spec, out=tmp_path / f"out_{name}", cache=False)
        fits[name] = run.output.results.models["fe"]
    assert fits["lagged"].nobs == fits["plain"].nobs == 190  # 10 firms × 19 lagged years
    for term in ("L.value", "capital"):
        assert fits["lagged"].coefficients[term].estimate == pytest.approx(
            fits["plain"].coefficients[term].estimate, rel=1e-12
        )
