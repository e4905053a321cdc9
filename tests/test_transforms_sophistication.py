"""PRODY and EXPY (``sophistication`` transform) against econcomplex, options and bad inputs."""

from __future__ import annotations

import math

import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.transforms.base import TRANSFORMS, TransformContext
from specrun.transforms.sophistication import (
    SophisticationOptions,
    apply_sophistication,
    prody_artifact_key,
)

# PRODY and EXPY of reference/prody (trade_long.csv, gdp_pc.csv) from the econcomplex package
# 1.0.1, equal to ecomplexity 0.5.3's RCA plugged into Hausmann, Hwang and Rodrik (2007).
ECONCOMPLEX_PRODY = {
    "p1": 18375.411635565313,
    "p2": 20752.25225225225,
    "p3": 12319.277108433738,
    "p4": 16745.76271186441,
}
ECONCOMPLEX_EXPY = {"A": 18366.393933050058, "E": 17749.50835219283}


def reference_inputs(reference) -> tuple[pl.DataFrame, pl.DataFrame]:
    trade = pl.read_csv(reference("prody", "trade_long.csv"))
    # gdp_pc.csv has no year; the trade data are all of 2000.
    panel = pl.read_csv(reference("prody", "gdp_pc.csv")).with_columns(
        year=pl.lit(2000, dtype=pl.Int64)
    )
    return trade, panel


def run(
    panel: pl.DataFrame, exports: pl.DataFrame, **options: object
) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]:
    settings = {
        "source": "exports",
        "product": "product",
        "value": "export_value",
        "income": "gdp_pc",
    } | options
    parsed = SophisticationOptions.model_validate(settings)
    ctx = TransformContext("country", "year", {"exports": exports})
    out = apply_sophistication(panel, parsed, ctx)
    return out.frame, out.artifacts[prody_artifact_key(parsed.output)], out.notes


def expy_of(frame: pl.DataFrame, output: str = "EXPY") -> dict[tuple[str, int], float]:
    return {(c, y): v for c, y, v in frame.select("country", "year", output).iter_rows()}


def test_prody_and_expy_equal_econcomplex(reference) -> None:
    trade, panel = reference_inputs(reference)
    frame, prody, notes = run(panel, trade)
    assert prody.columns == ["product", "year", "prody"]
    for product, year, value in prody.iter_rows():
        assert year == 2000
        assert value == pytest.approx(ECONCOMPLEX_PRODY[product], rel=1e-10)
    expy = dict(zip(frame["country"], frame["EXPY"], strict=True))
    for country, expected in ECONCOMPLEX_EXPY.items():
        assert expy[country] == pytest.approx(expected, rel=1e-10)
    assert frame.height == panel.height and frame.columns == [*panel.columns, "EXPY"]
    assert notes == ()


def test_registered_with_inputs_and_outputs() -> None:
    kind = TRANSFORMS.get("sophistication")
    options = SophisticationOptions(
        source="s", product="p", value="v", income="gdp", deflator="cpi", output="Expy"
    )
    assert kind.inputs(options) == ["gdp", "cpi"]
    assert kind.outputs(options) == ["Expy"]


def two_years(trade: pl.DataFrame, panel: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Year 2001 repeats 2000 with one flow changed, so yearly PRODY differs between years."""
    trade_2001 = trade.with_columns(
        year=pl.lit(2001, dtype=pl.Int64),
        export_value=pl.when((pl.col("country") == "A") & (pl.col("product") == "p3"))
        .then(pl.lit(50.0))
        .otherwise(pl.col("export_value")),
    )
    trade = pl.concat([trade, trade_2001.select(trade.columns)])
    panel = pl.concat([panel, panel.with_columns(year=pl.lit(2001, dtype=pl.Int64))])
    return trade, panel


def test_deflator_with_base_year_divides_income_by_relative_price(reference) -> None:
    trade, panel = reference_inputs(reference)
    trade, panel = two_years(trade, panel)
    # Prices double for everyone in 2001: real income there is half, so is PRODY and EXPY
    # (both are linear in income), while 2000 is unchanged.
    priced = panel.with_columns(cpi=pl.when(pl.col("year") == 2000).then(100.0).otherwise(200.0))
    nominal, _, _ = run(panel, trade)
    real, _, _ = run(priced, trade, deflator="cpi", base_year=2000)
    for key, value in expy_of(real).items():
        factor = 1.0 if key[1] == 2000 else 0.5
        assert value == pytest.approx(factor * expy_of(nominal)[key], rel=1e-12)
    # With 2001 as base year, 2000's income is doubled instead.
    rebased, _, _ = run(priced, trade, deflator="cpi", base_year=2001)
    for key, value in expy_of(rebased).items():
        factor = 2.0 if key[1] == 2000 else 1.0
        assert value == pytest.approx(factor * expy_of(nominal)[key], rel=1e-12)
    # Without base_year the index is read as 100 in its base period: income * 100 / cpi.
    hundred, _, _ = run(priced, trade, deflator="cpi")
    assert expy_of(hundred) == pytest.approx(expy_of(real), rel=1e-12)


def test_deflator_uses_each_entitys_own_base_price(reference) -> None:
    trade, panel = reference_inputs(reference)
    # A constant but entity-specific index cancels: P_i,base / P_it = 1 for every entity.
    priced = panel.with_columns(cpi=pl.Series([90.0, 100.0, 110.0, 120.0, 130.0]))
    plain, _, _ = run(panel, trade)
    real, _, _ = run(priced, trade, deflator="cpi", base_year=2000)
    assert real["EXPY"].to_list() == pytest.approx(plain["EXPY"].to_list(), rel=1e-12)


def test_value_added_share_multiplies_exports(reference) -> None:
    trade, panel = reference_inputs(reference)
    shares = trade.with_columns(dva=(0.3 + 0.1 * pl.int_range(pl.len()) / pl.len()))
    premultiplied = shares.with_columns(export_value=pl.col("export_value") * pl.col("dva"))
    with_share, prody_share, _ = run(panel, shares, va_share="dva")
    direct, prody_direct, _ = run(panel, premultiplied)
    assert with_share["EXPY"].to_list() == pytest.approx(direct["EXPY"].to_list(), rel=1e-12)
    assert prody_share["prody"].to_list() == pytest.approx(prody_direct["prody"].to_list())
    # A share that varies across rows must change the result (the option is not ignored).
    plain, _, _ = run(panel, trade)
    assert with_share["EXPY"][0] != pytest.approx(plain["EXPY"][0], rel=1e-6)


def test_pooled_prody_is_the_mean_of_yearly_prody(reference) -> None:
    trade, panel = reference_inputs(reference)
    trade, panel = two_years(trade, panel)
    yearly_frame, yearly, _ = run(panel, trade)
    pooled_frame, pooled, _ = run(panel, trade, per="pooled")
    assert pooled.columns == ["product", "prody"]
    expected_prody = yearly.group_by("product").agg(pl.col("prody").mean())
    expected = dict(expected_prody.iter_rows())
    assert dict(pooled.iter_rows()) == pytest.approx(expected, rel=1e-12)
    assert yearly.filter(pl.col("product") == "p3")["prody"].n_unique() == 2
    # EXPY_it = Σ_j s_ijt PRODY_j with the year's shares.
    values = trade.filter((pl.col("country") == "A") & (pl.col("year") == 2001))
    total = values["export_value"].sum()
    hand = sum(v / total * expected[p] for p, v in values.select("product", "export_value").rows())
    assert expy_of(pooled_frame)[("A", 2001)] == pytest.approx(hand, rel=1e-12)
    assert expy_of(yearly_frame)[("A", 2001)] != pytest.approx(hand, rel=1e-6)


def test_scale_and_log(reference) -> None:
    trade, panel = reference_inputs(reference)
    frame, prody, _ = run(panel, trade, scale=0.0001, log=True, output="Expy")
    expy = dict(zip(frame["country"], frame["Expy"], strict=True))
    assert expy["A"] == pytest.approx(math.log(0.0001 * ECONCOMPLEX_EXPY["A"]), rel=1e-12)
    p1 = prody.filter(pl.col("product") == "p1")["prody"][0]
    assert p1 == pytest.approx(0.0001 * ECONCOMPLEX_PRODY["p1"], rel=1e-12)


def test_repeated_rows_are_summed_and_reported(reference) -> None:
    trade, panel = reference_inputs(reference)
    halves = pl.concat(
        [
            trade.with_columns(pl.col("export_value") / 2),
            trade.with_columns(pl.col("export_value") / 2),
        ]
    )
    frame, _, notes = run(panel, halves)
    assert frame["EXPY"][0] == pytest.approx(ECONCOMPLEX_EXPY["A"], rel=1e-12)
    assert notes == ("summed 40 export rows sharing 20 (country, year, product) combinations",)


def test_source_entity_and_time_columns_may_differ_from_the_panels(reference) -> None:
    trade, panel = reference_inputs(reference)
    renamed = trade.rename({"country": "iso", "year": "yr"})
    frame, _, _ = run(panel, renamed, entity="iso", time="yr")
    assert frame["EXPY"][0] == pytest.approx(ECONCOMPLEX_EXPY["A"], rel=1e-10)


def test_missing_source_is_a_data_error(reference) -> None:
    trade, panel = reference_inputs(reference)
    with pytest.raises(SpecError) as info:
        run(panel, trade, source="exprts")
    assert info.value.code == "data"
    assert info.value.message == "sophistication: source 'exprts' is not loaded"
    assert info.value.hint == "sources: exports"


def test_missing_category_column_is_named(reference) -> None:
    trade, panel = reference_inputs(reference)
    with pytest.raises(SpecError) as info:
        run(panel, trade, product="category")
    assert info.value.code == "data"
    assert info.value.message == "column 'category' not found in source 'exports'"


def test_negative_export_value_is_named(reference) -> None:
    trade, panel = reference_inputs(reference)
    bad = trade.with_columns(
        export_value=pl.when((pl.col("country") == "C") & (pl.col("product") == "p2"))
        .then(-1.0)
        .otherwise(pl.col("export_value"))
    )
    with pytest.raises(SpecError) as info:
        run(panel, bad)
    assert info.value.code == "data"
    assert info.value.message == (
        "sophistication: 1 negative export values in column 'export_value' of source "
        "'exports': (country=C, year=2000, product=p2)"
    )


def test_value_added_share_outside_unit_interval(reference) -> None:
    trade, panel = reference_inputs(reference)
    with pytest.raises(SpecError, match="value-added share 'dva' outside"):
        run(panel, trade.with_columns(dva=pl.lit(1.5)), va_share="dva")


def test_exporter_without_income_errors_or_is_left_out_of_prody(reference) -> None:
    trade, panel = reference_inputs(reference)
    holes = panel.with_columns(
        gdp_pc=pl.when(pl.col("country") == "D").then(None).otherwise(pl.col("gdp_pc"))
    )
    with pytest.raises(SpecError) as info:
        run(holes, trade)
    assert info.value.message == (
        "sophistication: 1 exporter-years have no 'gdp_pc' in the panel: (country=D, year=2000)"
    )
    frame, prody, notes = run(holes, trade, missing="skip")
    assert notes == (
        "left out of PRODY 1 exporter-years have no 'gdp_pc' in the panel: (country=D, year=2000)",
    )
    # Without D the PRODY equal those of the four other exporters alone; D keeps an EXPY.
    _, prody_without_d, _ = run(
        panel.filter(pl.col("country") != "D"), trade.filter(pl.col("country") != "D")
    )
    assert prody["prody"].to_list() == pytest.approx(prody_without_d["prody"].to_list())
    assert frame["EXPY"].null_count() == 0


def test_year_missing_for_one_entity_errors_or_is_reported_null(reference) -> None:
    trade, panel = reference_inputs(reference)
    trade, panel = two_years(trade, panel)
    gap = trade.filter(~((pl.col("country") == "B") & (pl.col("year") == 2001)))
    with pytest.raises(SpecError) as info:
        run(panel, gap)
    assert info.value.message == (
        "sophistication: 1 panel rows have no exports in source 'exports': (country=B, year=2001)"
    )
    frame, _, notes = run(panel, gap, missing="skip")
    assert notes == (
        "EXPY is null for 1 panel rows have no exports in source 'exports': (country=B, year=2001)",
    )
    assert expy_of(frame)[("B", 2001)] is None
    assert frame["EXPY"].null_count() == 1 and frame["EXPY"].is_nan().sum() == 0


def test_null_export_value_and_zero_total(reference) -> None:
    trade, panel = reference_inputs(reference)
    nulled = trade.with_columns(
        export_value=pl.when(pl.col("country") == "E").then(None).otherwise(pl.col("export_value"))
    )
    with pytest.raises(SpecError, match="4 export rows of source 'exports' lack 'export_value'"):
        run(panel, nulled)
    zero = trade.with_columns(
        export_value=pl.when(pl.col("country") == "E").then(0.0).otherwise(pl.col("export_value"))
    )
    with pytest.raises(SpecError, match=r"1 entity-years export nothing in total: \(country=E"):
        run(panel, zero)
    frame, _, notes = run(panel, zero, missing="skip")
    assert len(notes) == 2 and frame["EXPY"].null_count() == 1


def test_base_year_without_deflator_and_base_year_absent(reference) -> None:
    trade, panel = reference_inputs(reference)
    with pytest.raises(SpecError, match="'base_year' needs 'deflator'"):
        run(panel, trade, base_year=2000)
    with pytest.raises(SpecError, match="no deflator 'cpi' in base year 2012 for 5 entities"):
        run(panel.with_columns(cpi=pl.lit(100.0)), trade, deflator="cpi", base_year=2012)


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(ValueError, match="extra"):
        SophisticationOptions.model_validate(
            {"source": "s", "product": "p", "value": "v", "income": "y", "prodcut": "p"}
        )


def test_product_exported_only_by_an_entity_without_income(reference) -> None:
    trade, panel = reference_inputs(reference)
    # Only C exports p3, and C has no income: p3 has no PRODY, so C's EXPY cannot be computed.
    only_c = trade.with_columns(
        export_value=pl.when((pl.col("product") == "p3") & (pl.col("country") != "C"))
        .then(0.0)
        .otherwise(pl.col("export_value"))
    )
    holes = panel.with_columns(
        gdp_pc=pl.when(pl.col("country") == "C").then(None).otherwise(pl.col("gdp_pc"))
    )
    frame, prody, notes = run(holes, only_c, missing="skip")
    assert prody["product"].to_list() == ["p1", "p2", "p4"]
    assert notes[-1] == (
        "no PRODY for (product=p3, year=2000) (no exporter with income), so EXPY is null for "
        "(country=C, year=2000)"
    )
    assert frame["EXPY"].is_null().to_list() == [False, False, True, False, False]
