"""Goodman-Bacon decomposition and permutation (placebo) inference against R bacondecomp and
ritest-python on real data.

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

Placebo: ritest-python 0.1.1 (patsy 1.0.3), given specrun's own unit permutations as its
``permutations`` matrix (199 draws, ``placebo: {draws: 199, seed: 1}``, each a state's
treatment moved to another state), on a 2 × 2 design built from the same data (treated: states
that ever reformed; post: classes from 1985; D = treated × post):

    ritest(df=df, permute_var="D", formula="incearn_ln ~ D + C(state) + C(cohort)",
           stat="D", permutations=perms, reps=199, n_jobs=1)

(``cohort`` is ``class`` renamed, a Python keyword patsy cannot read). ritest refits each
permutation by OLS with the dummies; its p-value is #{|β̃_b| ≥ |β̂|}/B (as Stata's ritest),
specrun's ``p_value: share``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.did import DidSpec, fit_did
from specrun.kernels.placebo import draw_assignments
from specrun.kernels.within import PanelIndex

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


# ritest-python 0.1.1, the call in the module docstring: observed β̂, its first five placebo
# coefficients, their mean, smallest and largest, and the count at least as extreme (p = 123/199)
RITEST_ESTIMATE = -0.0070564732407494895
RITEST_FIRST = (-0.0194019132673, -0.00754996444242, 0.0074842730435, 0.0198761483394)
RITEST_FIRST += (-0.0002674565171,)
RITEST_MEAN, RITEST_MIN, RITEST_MAX = -0.000941994372145, -0.0356296573986, 0.0344229807998
RITEST_EXTREME = 123


def _two_by_two() -> pl.DataFrame:
    return pl.read_csv(DATA, null_values="NA").with_columns(
        treat=pl.col("reformyr_math").is_not_null().cast(pl.Int64),
        post=(pl.col("class") >= 1985).cast(pl.Int64),
    )


@pytest.mark.parametrize(
    ("rule", "p_value"),
    [("share", RITEST_EXTREME / 199), ("plus_one", (1 + RITEST_EXTREME) / 200)],
)
def test_placebo_refits_and_p_value_are_ritests(rule: str, p_value: float) -> None:
    frame = _two_by_two()
    spec = DidSpec.model_validate(
        {
            "estimator": "did",
            "y": "incearn_ln",
            "treat": "treat",
            "post": "post",
            "placebo": {"draws": 199, "seed": 1, "p_value": rule},
        }
    )
    result = fit_did(frame, spec, FitContext("placebo", "state", "class"))[""]
    placebo = result.extra["placebo"]
    assert placebo["estimate"] == pytest.approx(RITEST_ESTIMATE, rel=1e-10)
    estimates = np.array(placebo["estimates"])
    assert estimates[:5] == pytest.approx(RITEST_FIRST, rel=1e-10)
    assert estimates.mean() == pytest.approx(RITEST_MEAN, rel=1e-9)
    assert (estimates.min(), estimates.max()) == pytest.approx((RITEST_MIN, RITEST_MAX), rel=1e-10)
    assert placebo["p_value"] == pytest.approx(p_value, rel=1e-12)
    assert result.stats["placebo_p"] == placebo["p_value"]
    assert placebo["p_value_rule"] == rule


def test_the_permutations_given_to_ritest_are_the_placebos() -> None:
    """The matrix handed to ritest: each draw of ``draw_assignments`` (one seeded generator,
    units permuted), spread to the rows and multiplied by post; ritest needs it binary."""
    frame = _two_by_two()
    index = PanelIndex.from_labels(frame["state"].to_numpy(), frame["class"].to_numpy())
    unit_treat = np.zeros(index.n_entities)
    unit_treat[index.entity] = frame["treat"].to_numpy()
    treats, _ = draw_assignments(unit_treat, np.full(index.n_entities, np.nan), 199, "units", 1)
    perms = treats[:, index.entity] * frame["post"].to_numpy()[None, :]
    assert perms.shape == (199, 520)
    assert set(np.unique(perms)) == {0.0, 1.0}
    # every draw treats as many states as the data do (a permutation, not a resample)
    assert (treats.sum(axis=1) == unit_treat.sum()).all()
