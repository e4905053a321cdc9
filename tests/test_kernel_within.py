"""Tests of the within (fixed-effects) kernel: demeaning against linearmodels, bootstrap Gram sums.

Expected coefficients come from ``linearmodels.PanelOLS`` (version 7.1 when written) fitted on
R plm's 200-row Grunfeld data; the entity-bootstrap Gram matrices are checked against the same
resample written out row by row and demeaned directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels import PanelOLS

from specrun.kernels.within import (
    PanelIndex,
    demean,
    entity_blocks,
    multiplicities,
    resample_indices,
    weighted_gram,
)

EFFECTS = {"entity": (True, False), "time": (False, True), "twoway": (True, True)}


def _grunfeld(reference, balanced: bool) -> pd.DataFrame:
    frame = pd.read_csv(reference("grunfeld", "Grunfeld_plm.csv"))
    if balanced:
        return frame
    # Drop 23 seeded rows (never a whole firm or year) so entity and time groups differ in size.
    dropped = np.random.default_rng(2024).choice(frame.shape[0], size=23, replace=False)
    return frame.drop(index=frame.index[dropped]).reset_index(drop=True)


@pytest.mark.parametrize("balanced", [True, False], ids=["balanced", "unbalanced"])
@pytest.mark.parametrize("effects", list(EFFECTS))
def test_demean_matches_panelols(reference, effects: str, balanced: bool) -> None:
    frame = _grunfeld(reference, balanced)
    entity, time = EFFECTS[effects]
    index = PanelIndex.from_labels(frame["firm"].to_numpy(), frame["year"].to_numpy())
    assert index.balanced is balanced
    swept = demean(frame[["inv", "value", "capital"]].to_numpy(), index, entity=entity, time=time)
    beta, *_ = np.linalg.lstsq(swept[:, 1:], swept[:, 0], rcond=None)

    panel = frame.set_index(["firm", "year"])
    expected = (
        PanelOLS(
            panel["inv"], panel[["value", "capital"]], entity_effects=entity, time_effects=time
        )
        .fit()
        .params.to_numpy()
    )
    np.testing.assert_allclose(beta, expected, rtol=0, atol=1e-10)


def _explicit_resample_gram(
    frame: pd.DataFrame, columns: list[str], drawn: np.ndarray, entity: bool, time: bool
) -> np.ndarray:
    """The within Gram matrix of one resample built row by row, each drawn copy a new entity."""
    firms = frame["firm"].unique()
    pieces = [
        frame.loc[frame["firm"] == firms[unit]].assign(copy=position)
        for position, unit in enumerate(drawn)
    ]
    resample = pd.concat(pieces, ignore_index=True)
    index = PanelIndex.from_labels(resample["copy"].to_numpy(), resample["year"].to_numpy())
    values = resample[columns].to_numpy()
    if entity or time:
        swept = demean(values, index, entity=entity, time=time)
    else:
        swept = values - values.mean(axis=0)
    return swept.T @ swept


@pytest.mark.parametrize("balanced", [True, False], ids=["balanced", "unbalanced"])
@pytest.mark.parametrize("effects", [*EFFECTS, "none"])
def test_weighted_gram_equals_explicit_resample(reference, effects: str, balanced: bool) -> None:
    frame = _grunfeld(reference, balanced)
    entity, time = EFFECTS.get(effects, (False, False))
    columns = ["inv", "value", "capital"]
    index = PanelIndex.from_labels(frame["firm"].to_numpy(), frame["year"].to_numpy())
    blocks = entity_blocks(frame[columns].to_numpy(), index, entity=entity, time=time)
    drawn = resample_indices(index.n_entities, 4, seed=7)
    grams = weighted_gram(blocks, multiplicities(drawn, index.n_entities))
    for draw, gram in zip(drawn, grams, strict=True):
        expected = _explicit_resample_gram(frame, columns, draw, entity, time)
        np.testing.assert_allclose(gram, expected, rtol=1e-9, atol=1e-6)


def test_unit_weights_give_the_sample_gram(reference) -> None:
    frame = _grunfeld(reference, balanced=False)
    index = PanelIndex.from_labels(frame["firm"].to_numpy(), frame["year"].to_numpy())
    values = frame[["inv", "value", "capital"]].to_numpy()
    blocks = entity_blocks(values, index, entity=True, time=True)
    swept = demean(values, index, entity=True, time=True)
    gram = weighted_gram(blocks, np.ones((1, index.n_entities)))[0]
    np.testing.assert_allclose(gram, swept.T @ swept, rtol=1e-9)


def test_multiplicities_count_each_draw() -> None:
    drawn = np.array([[0, 0, 2], [1, 2, 1]])
    np.testing.assert_array_equal(multiplicities(drawn, 3), [[2, 0, 1], [0, 2, 1]])
    many = resample_indices(31, 500, seed=1)
    assert many.shape == (500, 31)
    np.testing.assert_array_equal(multiplicities(many, 31).sum(axis=1), np.full(500, 31.0))


def test_multiplicities_of_many_units_count_draw_by_draw() -> None:
    # 5,000 units take the per-draw count; the counts are those of the definition.
    drawn = resample_indices(5000, 4, seed=2)
    counts = multiplicities(drawn, 5000)
    assert counts.dtype == np.float64 and counts.shape == (4, 5000)
    for b in range(4):
        expected = np.zeros(5000)
        np.add.at(expected, drawn[b], 1.0)
        np.testing.assert_array_equal(counts[b], expected)


@pytest.mark.parametrize("units", [3, 5000])
def test_multiplicities_write_into_a_given_array(units: int) -> None:
    # the joint tests write the draws' counts under the observed sample's row of ones
    drawn = resample_indices(units, 6, seed=3)
    weights = np.ones((7, units))
    multiplicities(drawn, units, out=weights[1:])
    np.testing.assert_array_equal(weights[1:], multiplicities(drawn, units))
    np.testing.assert_array_equal(weights[0], np.ones(units))


def test_entity_pair_sums_in_chunks_give_the_one_pass_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    # chunks of whole entities (some longer than a chunk) add in the one-pass order
    from specrun.kernels import within

    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 9, size=40)
    sizes[7] = 30  # an entity longer than a chunk
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    columns = rng.normal(size=(3, int(sizes.sum())))
    pairs = [(0, 0), (0, 2), (1, 2), (2, 2)]
    one_pass = np.add.reduceat(
        np.stack([columns[a] * columns[b] for a, b in pairs]), starts, axis=1
    )
    monkeypatch.setattr(within, "_PAIR_ROWS", 16)
    chunked = within.entity_pair_sums(columns, pairs, starts)
    np.testing.assert_array_equal(chunked, one_pass)
    np.testing.assert_array_equal(within.entity_pair_sums(list(columns), pairs, starts), one_pass)
