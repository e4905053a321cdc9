"""The HDFE kernel: the within projection equals the residual of an explicit dummy regression."""

from __future__ import annotations

import numpy as np
import pytest

from specrun.kernels.hdfe import (
    Factor,
    demean,
    factor_codes,
    interact,
    nested_in,
    singleton_rows,
)


def _factor(name: str, values: np.ndarray) -> Factor:
    codes, levels = factor_codes(values)
    return Factor(name, codes, levels)


def _dummy_residual(values: np.ndarray, factors: list[Factor], w: np.ndarray | None) -> np.ndarray:
    n = values.shape[0]
    columns = [np.ones(n)]
    for f in factors:
        dummies = np.zeros((n, f.levels))
        dummies[np.arange(n), f.codes] = 1.0
        columns.append(dummies[:, 1:])
    design = np.column_stack(columns)
    sw = np.ones(n) if w is None else np.sqrt(w)
    beta, *_ = np.linalg.lstsq(design * sw[:, None], values * sw[:, None], rcond=None)
    return values - design @ beta


@pytest.fixture(scope="module")
def unbalanced() -> tuple[np.ndarray, list[Factor]]:
    rng = np.random.default_rng(7)
    n = 600
    firm = rng.integers(0, 60, n)
    year = rng.integers(0, 12, n)
    industry = firm % 7
    factors = [
        _factor("firm", firm),
        _factor("year", year),
        Factor("industry#year", *interact([industry, year])),
    ]
    values = rng.normal(size=(n, 3)) + firm[:, None] * 0.1 + year[:, None] * 0.3
    return values, factors


@pytest.mark.parametrize("weighted", [False, True])
def test_three_sets_equal_the_dummy_regression(unbalanced, weighted):
    values, factors = unbalanced
    w = np.random.default_rng(1).uniform(0.5, 3.0, values.shape[0]) if weighted else None
    out = demean(values, factors, weights=w, tol=1e-13)
    assert out.converged and out.iterations > 0
    np.testing.assert_allclose(out.values, _dummy_residual(values, factors, w), atol=1e-9)


def test_balanced_two_way_is_one_pass():
    firm, year = np.repeat(np.arange(20), 5), np.tile(np.arange(5), 20)
    values = np.random.default_rng(2).normal(size=(100, 2))
    factors = [_factor("firm", firm), _factor("year", year)]
    out = demean(values, factors)
    assert out.iterations == 0
    np.testing.assert_allclose(out.values, _dummy_residual(values, factors, None), atol=1e-12)


@pytest.mark.parametrize("order", ["sorted", "shuffled", "time first"])
def test_balanced_two_way_in_any_row_order_equals_the_dummy_regression(order):
    # sorted by firm then year the sweep reads each column as a firms × years matrix;
    # otherwise it takes bincount means: both are the dummy regression's residual
    firm, year = np.repeat(np.arange(30), 6), np.tile(np.arange(6), 30)
    values = np.random.default_rng(3).normal(size=(180, 3)) + firm[:, None] * 0.2
    if order == "shuffled":
        rows = np.random.default_rng(4).permutation(180)
        firm, year, values = firm[rows], year[rows], values[rows]
    factors = [_factor("firm", firm), _factor("year", year)]
    if order == "time first":
        factors.reverse()
    out = demean(values, factors)
    assert out.iterations == 0
    np.testing.assert_allclose(out.values, _dummy_residual(values, factors, None), atol=1e-12)


@pytest.mark.parametrize("two_way", [False, True])
def test_overwrite_sweeps_a_column_major_array_in_place(two_way):
    firm, year = np.repeat(np.arange(10), 4), np.tile(np.arange(4), 10)
    factors = [_factor("firm", firm), _factor("year", year)][: 2 if two_way else 1]
    values = np.asfortranarray(np.random.default_rng(5).normal(size=(40, 2)))
    expected = demean(values, factors).values
    out = demean(values, factors, overwrite=True).values
    assert np.shares_memory(out, values)
    np.testing.assert_allclose(values, expected, atol=1e-14)
    rows = np.ascontiguousarray(np.random.default_rng(6).normal(size=(40, 2)))
    assert not np.shares_memory(demean(rows, factors, overwrite=True).values, rows)


def test_non_convergence_is_reported(unbalanced):
    values, factors = unbalanced
    assert not demean(values, factors, tol=1e-15, max_iter=2).converged


def test_singletons_go_iteratively():
    # row 4 is alone in firm 3 and row 1 in year 1; once they go, row 3 is alone in year 2,
    # then rows 0 and 2 are alone in their firms: nothing is left
    firm = np.array([0, 0, 1, 1, 3])
    year = np.array([0, 1, 0, 2, 2])
    keep = singleton_rows([_factor("firm", firm), _factor("year", year)])
    assert keep.tolist() == [False, False, False, False, False]
    firm = np.array([0, 0, 1, 1, 2])
    year = np.array([0, 1, 0, 1, 1])
    keep = singleton_rows([_factor("firm", firm), _factor("year", year)])
    assert keep.tolist() == [True, True, True, True, False]


def test_codes_and_nesting():
    codes, levels = factor_codes(np.array(["b", "a", "b", "c"]))
    assert codes.tolist() == [1, 0, 1, 2] and levels == 3
    codes, levels = factor_codes(np.array([2001, 2003, 2001]))
    assert codes.tolist() == [0, 1, 0] and levels == 2
    firm = _factor("firm", np.array([0, 0, 1, 1, 2]))
    assert nested_in(firm, np.array([5, 5, 6, 6, 6]))
    assert not nested_in(firm, np.array([5, 6, 6, 6, 6]))
    assert nested_in(firm, firm.codes)


def test_nesting_broken_only_past_the_prefix_checked_first():
    # the check tries the first 65,536 rows first; a break after them must still be seen
    groups = np.repeat(np.arange(1_000), 100)
    firm = _factor("firm", np.repeat(np.arange(10_000), 10))
    assert nested_in(firm, groups)
    broken = groups.copy()
    broken[-1] = 0  # the last firm's last row in another group
    assert not nested_in(firm, broken)


def test_a_factor_inside_a_finer_one_is_left_out(unbalanced):
    values, factors = unbalanced  # firm, year, industry#year: year is a union of the last
    out = demean(values, factors, tol=1e-13)
    np.testing.assert_allclose(out.values, _dummy_residual(values, factors, None), atol=1e-9)
    from specrun.kernels.hdfe import essential

    assert [f.name for f in essential(factors)] == ["firm", "industry#year"]


@pytest.mark.parametrize(
    "values",
    [
        # contiguous runs in first-appearance order (a panel sorted by entity, not by name)
        np.array(["Tianjin"] * 3 + ["Beijing"] * 3 + ["Anhui"] * 2, dtype=object),
        np.array(["b", "b", "a", "a", "c", "c"]),
        # a value in two runs: the plain sort must decide
        np.array(["b", "b", "a", "a", "b", "c"], dtype=object),
        np.array([2.5, 2.5, 1.0, 1.0, 7.0, 7.0]),
        np.array([2.5, 2.5, np.nan, np.nan, 1.0, 1.0]),
        np.array([10**12, 10**12, 5, 5]),
    ],
)
def test_codes_from_runs_equal_numpy_unique(values):
    codes, levels = factor_codes(values)
    distinct, expected = np.unique(values, return_inverse=True)
    assert codes.tolist() == expected.ravel().tolist() and levels == distinct.size
