"""Entropy weights and index (``entropy_index`` transform) against pymcdm and by hand."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pydantic import ValidationError

from specrun.errors import SpecError
from specrun.transforms.base import TRANSFORMS, TransformContext
from specrun.transforms.entropy import (
    EntropyIndexOptions,
    apply_entropy_index,
    weights_artifact_key,
)

# pymcdm 1.4.0: pymcdm.weights.entropy_weights(matrix) on reference/entropy/decision_matrix.csv
# (columns c1..c4; pymcdm normalises every column by its sum).
PYMCDM_ENTROPY_WEIGHTS = [
    0.06776750888646788,
    0.3659453435626709,
    0.3032143251804813,
    0.26307282237038,
]

CTX = TransformContext("unit", "year", {})


def run(frame: pl.DataFrame, **options: object) -> tuple[pl.DataFrame, pl.DataFrame, tuple]:
    parsed = EntropyIndexOptions.model_validate({"output": "index"} | options)
    out = apply_entropy_index(frame, parsed, CTX)
    return out.frame, out.artifacts[weights_artifact_key("index")], out.notes


def test_sum_normalisation_equals_pymcdm(reference) -> None:
    matrix = pl.read_csv(reference("entropy", "decision_matrix.csv"))
    indicators = {c: "+" for c in ("c1", "c2", "c3", "c4")}
    frame, weights, notes = run(matrix, indicators=indicators, normalize="sum")
    assert weights.columns == ["indicator", "direction", "entropy", "divergence", "weight"]
    assert weights["indicator"].to_list() == ["c1", "c2", "c3", "c4"]
    assert weights["weight"].to_list() == pytest.approx(PYMCDM_ENTROPY_WEIGHTS, rel=1e-12)
    # The index is Σ w_j x_ij / Σ_i x_ij with these weights.
    values = matrix.select("c1", "c2", "c3", "c4").to_numpy()
    expected = (values / values.sum(axis=0)) @ np.array(PYMCDM_ENTROPY_WEIGHTS)
    assert frame["index"].to_list() == pytest.approx(expected.tolist(), rel=1e-12)
    assert notes == ()


def small_matrix() -> pl.DataFrame:
    return pl.DataFrame(
        {"unit": ["u1", "u2", "u3"], "good": [1.0, 2.0, 4.0], "bad": [10.0, 30.0, 20.0]}
    )


def test_minmax_with_shift_by_hand() -> None:
    shift = 0.01
    frame, weights, _ = run(
        small_matrix(), indicators={"good": "+", "bad": "-"}, shift=shift, scale=100
    )
    # By hand: good (+) spans 1..4, so z = (x - 1) / 3; bad (-) spans 10..30, z = (30 - x) / 20.
    z_good = [0.0 + shift, 1 / 3 + shift, 1.0 + shift]
    z_bad = [1.0 + shift, 0.0 + shift, 0.5 + shift]

    def entropy(z: list[float]) -> float:
        total = sum(z)
        return -sum(v / total * math.log(v / total) for v in z) / math.log(3)

    e_good, e_bad = entropy(z_good), entropy(z_bad)
    d_good, d_bad = 1 - e_good, 1 - e_bad
    w_good, w_bad = d_good / (d_good + d_bad), d_bad / (d_good + d_bad)
    assert weights["entropy"].to_list() == pytest.approx([e_good, e_bad], rel=1e-12)
    assert weights["divergence"].to_list() == pytest.approx([d_good, d_bad], rel=1e-12)
    assert weights["weight"].to_list() == pytest.approx([w_good, w_bad], rel=1e-12)
    assert weights["direction"].to_list() == ["+", "-"]
    index = [100 * (w_good * g + w_bad * b) for g, b in zip(z_good, z_bad, strict=True)]
    assert frame["index"].to_list() == pytest.approx(index, rel=1e-12)


def test_default_shift_depends_on_normalisation() -> None:
    assert EntropyIndexOptions(indicators={"a": "+", "b": "-"}, output="i").effective_shift == (
        0.0001
    )
    sum_options = EntropyIndexOptions(indicators={"a": "+", "b": "-"}, output="i", normalize="sum")
    assert sum_options.effective_shift == 0.0


def test_direction_words_and_cost_under_sum() -> None:
    _, weights, _ = run(
        small_matrix(), indicators={"good": "benefit", "bad": "cost"}, normalize="sum"
    )
    assert weights["direction"].to_list() == ["+", "-"]
    # A cost indicator under sum normalisation is (1/x) / Σ(1/x) (pymcdm's sum_normalization
    # with cost=True); its entropy is that of those shares.
    inverse = [1 / 10, 1 / 30, 1 / 20]
    p = [v / sum(inverse) for v in inverse]
    e_bad = -sum(v * math.log(v) for v in p) / math.log(3)
    assert weights["entropy"][1] == pytest.approx(e_bad, rel=1e-12)


def test_weights_per_year_equal_separate_cross_sections() -> None:
    first = small_matrix().with_columns(year=pl.lit(2020, dtype=pl.Int64))
    second = pl.DataFrame(
        {
            "unit": ["u1", "u2", "u3"],
            "good": [5.0, 1.0, 2.0],
            "bad": [3.0, 2.0, 9.0],
            "year": [2021, 2021, 2021],
        }
    )
    # Rows of the two years interleaved: the output must keep the input order.
    panel = pl.concat([first, second]).sort("unit")
    indicators = {"good": "+", "bad": "-"}
    frame, weights, _ = run(panel, indicators=indicators, weights="year")
    assert weights.columns[0] == "year"
    assert weights["year"].to_list() == [2020, 2020, 2021, 2021]
    for year, part in ((2020, first), (2021, second)):
        alone, alone_weights, _ = run(part, indicators=indicators)
        assert weights.filter(pl.col("year") == year)["weight"].to_list() == pytest.approx(
            alone_weights["weight"].to_list(), rel=1e-12
        )
        mine = frame.filter(pl.col("year") == year).sort("unit")["index"].to_list()
        assert mine == pytest.approx(alone.sort("unit")["index"].to_list(), rel=1e-12)
    assert frame["unit"].to_list() == panel["unit"].to_list()
    pooled, _, _ = run(panel, indicators=indicators)
    assert pooled["index"].to_list() != pytest.approx(frame["index"].to_list(), rel=1e-6)


def test_zero_variance_indicator_is_named() -> None:
    flat = small_matrix().with_columns(flat=pl.lit(7.0))
    with pytest.raises(SpecError) as info:
        run(flat, indicators={"good": "+", "flat": "+"})
    assert info.value.code == "data"
    assert info.value.message == (
        "entropy_index: indicator 'flat' has no spread (every value is 7); min-max "
        "normalisation divides by zero"
    )


def test_zero_variance_within_one_year_names_the_year() -> None:
    panel = pl.DataFrame(
        {
            "unit": ["u1", "u2", "u1", "u2"],
            "year": [2020, 2020, 2021, 2021],
            "a": [1.0, 2.0, 3.0, 3.0],
            "b": [1.0, 5.0, 2.0, 1.0],
        }
    )
    with pytest.raises(SpecError, match="indicator 'a' has no spread in year=2021"):
        run(panel, indicators={"a": "+", "b": "+"}, weights="year")


def test_missing_cells_error_or_are_dropped_and_reported() -> None:
    holes = pl.DataFrame(
        {
            "unit": ["u1", "u2", "u3", "u4"],
            "year": [2020, 2020, 2020, 2020],
            "good": [1.0, None, 4.0, 3.0],
            "bad": [10.0, 30.0, float("nan"), 20.0],
        }
    )
    indicators = {"good": "+", "bad": "-"}
    with pytest.raises(SpecError) as info:
        run(holes, indicators=indicators)
    assert info.value.message == (
        "entropy_index: 2 rows lack an indicator value (good: 1, bad: 1; first unit=u2, year=2020)"
    )
    frame, weights, notes = run(holes, indicators=indicators, missing="drop")
    assert notes == (
        "2 rows lack an indicator value (good: 1, bad: 1; first unit=u2, year=2020); left out "
        "of the weights, index is null there",
    )
    assert frame["index"].is_null().to_list() == [False, True, True, False]
    complete = holes.filter(pl.col("unit").is_in(["u1", "u4"]))
    _, complete_weights, _ = run(complete, indicators=indicators)
    assert weights["weight"].to_list() == pytest.approx(complete_weights["weight"].to_list())


def test_bad_options_and_inputs() -> None:
    with pytest.raises(ValidationError, match="direction 'up' is not one of"):
        EntropyIndexOptions(indicators={"a": "up", "b": "+"}, output="i")
    with pytest.raises(ValidationError, match="at least 2"):
        EntropyIndexOptions(indicators={"a": "+"}, output="i")
    with pytest.raises(SpecError, match="column 'god' not found in the panel"):
        run(small_matrix(), indicators={"god": "+", "bad": "-"})
    negative = small_matrix().with_columns(good=pl.Series([-1.0, 2.0, 3.0]))
    with pytest.raises(SpecError, match="sum normalisation needs non-negative values of 'good'"):
        run(negative, indicators={"good": "+", "bad": "-"}, normalize="sum")


def test_registered_with_inputs_and_outputs() -> None:
    kind = TRANSFORMS.get("entropy_index")
    options = EntropyIndexOptions(indicators={"a": "+", "b": "-"}, output="Dige")
    assert kind.inputs(options) == ["a", "b"]
    assert kind.outputs(options) == ["Dige"]


positive_matrices = arrays(
    np.float64,
    st.tuples(st.integers(3, 8), st.integers(2, 4)),
    elements=st.floats(0.5, 100.0, allow_nan=False, allow_infinity=False),
)


def matrix_frame(values: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({f"x{j}": values[:, j] for j in range(values.shape[1])})


@settings(max_examples=40, deadline=None)
@given(
    values=positive_matrices,
    normalize=st.sampled_from(["minmax", "sum"]),
    factor=st.floats(0.01, 100.0),
)
def test_weights_sum_to_one_and_ignore_an_indicators_unit(
    values: np.ndarray, normalize: str, factor: float
) -> None:
    spread = values.max(axis=0) - values.min(axis=0)
    # A (near-)constant column is the zero-variance error, tested above.
    assume(bool((spread >= 1e-3 * values.max(axis=0)).all()))
    indicators = {f"x{j}": "+" if j % 2 == 0 else "-" for j in range(values.shape[1])}
    frame, weights, _ = run(matrix_frame(values), indicators=indicators, normalize=normalize)
    w = weights["weight"].to_numpy()
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    assert (w >= 0).all()
    rescaled = values.copy()
    rescaled[:, 0] *= factor
    _, rescaled_weights, _ = run(matrix_frame(rescaled), indicators=indicators, normalize=normalize)
    assert rescaled_weights["weight"].to_numpy() == pytest.approx(w, rel=1e-9, abs=1e-12)
    if normalize == "minmax":
        # z lies in [shift, 1 + shift] and the weights sum to one, so the index does too.
        index = frame["index"].to_numpy()
        assert ((index >= 0.0001 - 1e-12) & (index <= 1.0001 + 1e-12)).all()
