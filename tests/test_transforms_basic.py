"""``winsorize``, ``lag``/``lead``/``diff``, ``log``, ``standardize`` and ``ratio`` transforms."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from pydantic import BaseModel, ValidationError

from specrun.errors import SpecError
from specrun.transforms.base import TRANSFORMS, TransformContext
from specrun.transforms.entropy import EntropyIndexOptions
from specrun.transforms.panel import (
    LogOptions,
    RatioOptions,
    ShiftOptions,
    StandardizeOptions,
    apply_log,
    apply_ratio,
    apply_standardize,
)
from specrun.transforms.sophistication import SophisticationOptions
from specrun.transforms.winsorize import WinsorizeOptions, apply_winsorize

CTX = TransformContext("firm", "year", {})


def random_panel(seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    years = np.repeat([2019, 2020, 2021], 40)
    return pl.DataFrame(
        {
            "firm": np.tile(np.arange(40), 3),
            "year": years,
            "x": rng.standard_t(3, size=years.size) + (years - 2019),
            "y": rng.lognormal(size=years.size),
        }
    )


# Expected bounds come from numpy.quantile (numpy 2): method "averaged_inverted_cdf"
# (Hyndman-Fan type 2, Stata's _pctile) for quantile: stata, "linear" (type 7) for linear.
@pytest.mark.parametrize(
    ("quantile", "numpy_method"), [("stata", "averaged_inverted_cdf"), ("linear", "linear")]
)
def test_winsorize_pooled_matches_numpy_quantiles(quantile: str, numpy_method: str) -> None:
    panel = random_panel()
    options = WinsorizeOptions(vars=["x", "y"], limits=(0.05, 0.9), quantile=quantile)
    out = apply_winsorize(panel, options, CTX)
    for var in ("x", "y"):
        raw = panel[var].to_numpy()
        low, high = np.quantile(raw, [0.05, 0.9], method=numpy_method)
        assert out.frame[var].to_numpy() == pytest.approx(np.clip(raw, low, high), rel=1e-15)
        assert (out.frame[var].to_numpy() != raw).sum() > 0
    below = int(
        (
            panel["x"].to_numpy() < np.quantile(panel["x"].to_numpy(), 0.05, method=numpy_method)
        ).sum()
    )
    assert out.notes[0].startswith(f"x: {below} values raised to the 0.05 quantile")


def test_winsorize_by_year_matches_numpy_quantiles_per_year() -> None:
    panel = random_panel().sample(fraction=1.0, shuffle=True, seed=3)
    options = WinsorizeOptions(vars=["x"], limits=(0.1, 0.9), by="year", suffix="_w")
    out = apply_winsorize(panel, options, CTX).frame
    assert out["x"].to_list() == panel["x"].to_list()  # a suffix keeps the original column
    assert out["year"].n_unique() == 3
    for _, part in out.group_by("year"):
        raw = part["x"].to_numpy()
        low, high = np.quantile(raw, [0.1, 0.9], method="averaged_inverted_cdf")
        assert part["x_w"].to_numpy() == pytest.approx(np.clip(raw, low, high), rel=1e-15)
    pooled = apply_winsorize(panel, WinsorizeOptions(vars=["x"], limits=(0.1, 0.9)), CTX).frame
    assert pooled["x"].to_list() != out["x_w"].to_list()


def test_stata_quantile_definition_on_a_small_sample() -> None:
    # Stata's _pctile, n = 10, p = 0.1: h = n p = 1 is an integer, so the bound is the mean of
    # the 1st and 2nd order statistics, (1 + 2) / 2; p = 0.9: h = 9, mean of x(9) and x(10).
    frame = pl.DataFrame({"x": [float(v) for v in range(1, 11)]})
    out = apply_winsorize(frame, WinsorizeOptions(vars=["x"], limits=(0.1, 0.9)), CTX).frame
    assert out["x"].to_list() == [1.5, 2, 3, 4, 5, 6, 7, 8, 9, 9.5]


def test_winsorize_keeps_nulls_and_checks_limits() -> None:
    frame = pl.DataFrame({"x": [1.0, None, 3.0, 100.0, 2.0]})
    out = apply_winsorize(frame, WinsorizeOptions(vars=["x"], limits=(0.0, 0.5)), CTX).frame
    assert out["x"].to_list() == [1.0, None, 2.5, 2.5, 2.0]
    with pytest.raises(ValidationError, match="0 <= lower < upper <= 1"):
        WinsorizeOptions(vars=["x"], limits=(0.99, 0.01))
    with pytest.raises(SpecError, match="column 'z' not found in the panel \\(winsorize\\)"):
        apply_winsorize(frame, WinsorizeOptions(vars=["z"]), CTX)


def unsorted_panel_with_gap() -> pl.DataFrame:
    # Firm a has 2001, 2002 and 2004 (2003 missing); firm b has 2001 and 2002; rows shuffled.
    return pl.DataFrame(
        {
            "firm": ["b", "a", "a", "b", "a"],
            "year": [2002, 2004, 2001, 2001, 2002],
            "x": [20.0, 4.0, 1.0, 10.0, 2.0],
        }
    )


def shift(kind: str, frame: pl.DataFrame, **options: object):
    kind_ = TRANSFORMS.get(kind)
    return kind_.apply(frame, ShiftOptions.model_validate({"vars": ["x"]} | options), CTX)


def test_lag_follows_the_calendar_within_entity() -> None:
    out = shift("lag", unsorted_panel_with_gap())
    # Row order is kept; the lag of a's 2004 is null because 2003 is missing (not 2002's 2.0).
    assert out.frame["x_lag1"].to_list() == [10.0, None, None, None, 1.0]
    assert out.notes == (
        "x_lag1: 3 rows have no value of 'x' 1 period(s) earlier (panel edge or gap) and are null",
    )
    two = shift("lag", unsorted_panel_with_gap(), periods=2, name="L{periods}_{var}")
    assert two.frame["L2_x"].to_list() == [None, 2.0, None, None, None]


def test_lead_and_diff_within_entity() -> None:
    lead = shift("lead", unsorted_panel_with_gap()).frame
    assert lead["x_lead1"].to_list() == [None, None, 2.0, 20.0, None]
    diff = shift("diff", unsorted_panel_with_gap()).frame
    assert diff["x_diff1"].to_list() == [10.0, None, None, None, 1.0]
    replaced = shift("diff", unsorted_panel_with_gap(), name="{var}").frame
    assert replaced.columns == ["firm", "year", "x"]


def test_shift_errors() -> None:
    repeated = pl.concat([unsorted_panel_with_gap(), unsorted_panel_with_gap().head(1)])
    with pytest.raises(SpecError) as info:
        shift("lag", repeated)
    assert info.value.message == (
        "the panel has 2 rows with a repeated (firm, year): first firm='b', year=2002"
    )
    dated = unsorted_panel_with_gap().with_columns(pl.col("year").cast(pl.Float64))
    with pytest.raises(SpecError, match="lag needs an integer time column; 'year' is Float64"):
        shift("lag", dated)
    with pytest.raises(ValidationError, match="must contain '\\{var\\}'"):
        ShiftOptions(vars=["x"], name="lagged")
    with pytest.raises(ValidationError):
        ShiftOptions(vars=["x"], periods=0)


def test_log_and_its_errors() -> None:
    frame = pl.DataFrame({"firm": ["a", "b"], "year": [2001, 2001], "y": [1.0, math.e]})
    out = apply_log(frame, LogOptions(vars=["y"]), CTX).frame
    assert out["ln_y"].to_list() == pytest.approx([0.0, 1.0], rel=1e-15)
    shifted = apply_log(frame, LogOptions(vars=["y"], shift=1.0, name="{var}"), CTX).frame
    assert shifted["y"].to_list() == pytest.approx([math.log(2.0), math.log(1.0 + math.e)])
    with pytest.raises(SpecError) as info:
        apply_log(frame.with_columns(y=pl.Series([1.0, 0.0])), LogOptions(vars=["y"]), CTX)
    assert info.value.message == (
        "log of 'y': 1 rows have y + 0.0 <= 0 (first: firm=b, year=2001, y=0.0)"
    )


def test_standardize_pooled_and_by_group() -> None:
    panel = random_panel()
    out = apply_standardize(panel, StandardizeOptions(vars=["x"]), CTX).frame
    raw = panel["x"].to_numpy()
    assert out["x_std"].to_numpy() == pytest.approx((raw - raw.mean()) / raw.std(ddof=1))
    by_year = apply_standardize(panel, StandardizeOptions(vars=["x"], by="year"), CTX).frame
    assert by_year["year"].n_unique() == 3
    for _, part in by_year.group_by("year"):
        assert part["x_std"].mean() == pytest.approx(0.0, abs=1e-12)
        assert part["x_std"].std() == pytest.approx(1.0, rel=1e-12)
    flat = panel.with_columns(x=pl.lit(1.0))
    with pytest.raises(SpecError, match="standardize 'x': zero \\(or undefined\\) standard"):
        apply_standardize(flat, StandardizeOptions(vars=["x"]), CTX)


def test_ratio_and_zero_denominator() -> None:
    frame = pl.DataFrame(
        {"firm": ["a", "b"], "year": [2001, 2001], "top": [3.0, 1.0], "bottom": [2.0, 4.0]}
    )
    out = apply_ratio(frame, RatioOptions(output="r", numerator="top", denominator="bottom"), CTX)
    assert out.frame["r"].to_list() == [1.5, 0.25]
    with pytest.raises(SpecError) as info:
        apply_ratio(
            frame.with_columns(bottom=pl.Series([2.0, 0.0])),
            RatioOptions(output="r", numerator="top", denominator="bottom"),
            CTX,
        )
    assert info.value.message == (
        "ratio 'r': denominator 'bottom' is 0 in 1 rows (first: firm=b, year=2001)"
    )


def test_registered_inputs_and_outputs() -> None:
    assert TRANSFORMS.get("lag").outputs(ShiftOptions(vars=["x", "y"])) == ["x_lag1", "y_lag1"]
    assert TRANSFORMS.get("lead").inputs(ShiftOptions(vars=["x"])) == ["x"]
    assert TRANSFORMS.get("log").outputs(LogOptions(vars=["y"])) == ["ln_y"]
    assert TRANSFORMS.get("standardize").inputs(StandardizeOptions(vars=["y"], by="year")) == [
        "y",
        "year",
    ]
    ratio = RatioOptions(output="STR", numerator="tertiary_va", denominator="secondary_va")
    assert TRANSFORMS.get("ratio").inputs(ratio) == ["tertiary_va", "secondary_va"]
    assert TRANSFORMS.get("winsorize").outputs(WinsorizeOptions(vars=["x"], suffix="_w")) == ["x_w"]


@pytest.mark.parametrize(
    "options",
    [
        ShiftOptions,
        LogOptions,
        StandardizeOptions,
        RatioOptions,
        WinsorizeOptions,
        EntropyIndexOptions,
        SophisticationOptions,
    ],
)
def test_every_option_is_documented_in_the_schema(options: type[BaseModel]) -> None:
    schema = options.model_json_schema()
    assert schema.get("additionalProperties") is False
    undocumented = [k for k, v in schema["properties"].items() if not v.get("description")]
    assert undocumented == []
