"""Goodman-Bacon decomposition against R bacondecomp on real data.

Data: ``tests/data/math_reform.csv``, the ``math_reform`` data set of the R package
bacondecomp (26 states × classes 1975–1994; Goodman 2019, J. Labor Economics; see
``tests/data/README.md``). Expected numbers: the README of bacondecomp 0.1.3 (its GitHub
repository, README.Rmd run by the authors), which prints

    df_bacon <- bacon(incearn_ln ~ reform_math, data = bacondecomp::math_reform,
                      id_var = "state", time_var = "class")
    head(df_bacon); bacon_summary(df_bacon)

six 2 × 2 comparisons (treated, untreated, estimate to 8 decimals, weight to 9) and the
weight and weighted mean estimate of each kind to 5 decimals. bacondecomp names the kinds
"Earlier vs Later Treated", "Later vs Earlier Treated" and "Treated vs Untreated"; specrun's
are "earlier vs later", "later vs earlier" and "treated vs never".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.did import DidSpec, fit_did

DATA = Path(__file__).parent / "data" / "math_reform.csv"

# bacondecomp README, head(df_bacon): (treated, control) → (estimate, weight)
README_COMPARISONS = {
    ("later vs earlier", 1987.0, 1985.0): (0.04575585, 0.031655309),
    ("later vs earlier", 1986.0, 1985.0): (0.11390411, 0.001978457),
    ("earlier vs later", 1984.0, 1985.0): (0.12012908, 0.001978457),
    ("earlier vs later", 1985.0, 1987.0): (0.01021379, 0.039569136),
    ("earlier vs later", 1986.0, 1987.0): (-0.09374495, 0.005440756),
    ("earlier vs later", 1984.0, 1987.0): (0.09784857, 0.013354583),
}
# bacondecomp README, bacon_summary(df_bacon): kind → (weight, avg_est)
README_SUMMARY = {
    "earlier vs later": (0.06353, 0.02868),
    "later vs earlier": (0.05265, 0.03375),
    "treated vs never": (0.88382, -0.00129),
}


@pytest.fixture(scope="module")
def result():
    frame = pl.read_csv(DATA, null_values="NA").with_columns(
        treat=pl.col("reformyr_math").is_not_null().cast(pl.Int64)
    )
    spec = DidSpec.model_validate(
        {
            "estimator": "did",
            "y": "incearn_ln",
            "treat": "treat",
            "first_treated": "reformyr_math",
        }
    )
    return fit_did(frame, spec, FitContext("reform", "state", "class"))[""]


def test_two_by_two_comparisons_are_bacondecomps(result) -> None:
    parts = {(p["kind"], p["treated"], p["control"]): p for p in result.extra["bacon"]}
    for key, (estimate, weight) in README_COMPARISONS.items():
        assert abs(parts[key]["estimate"] - estimate) <= 0.5e-8, key
        assert abs(parts[key]["weight"] - weight) <= 0.5e-9, key


def test_summary_by_kind_is_bacondecomps(result) -> None:
    for kind, (weight, average) in README_SUMMARY.items():
        parts = [p for p in result.extra["bacon"] if p["kind"] == kind]
        total = sum(p["weight"] for p in parts)
        mean = sum(p["weight"] * p["estimate"] for p in parts) / total
        assert abs(total - weight) <= 0.5e-5, kind
        assert abs(mean - average) <= 0.5e-5, kind
    # Goodman-Bacon (2021) Theorem 1: the weighted sum is the two-way FE coefficient
    total = sum(p["weight"] * p["estimate"] for p in result.extra["bacon"])
    assert total == pytest.approx(result.coefficients["did"].estimate, abs=1e-10)
