"""The mediation estimator: the lavaan tutorial example, and its three fits as plain models."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.errors import SpecErrors
from specrun.estimators.base import FitContext
from specrun.estimators.mediation import MediationSpec, fit_mediation
from specrun.spec.validate import validate_file


def test_lavaan_tutorial_example(reference):
    # lavaan tutorial "Mediation" (set.seed(1234); X ~ N(0,1); M = 0.5X + e; Y = 0.7M + e),
    # fitted there as Y ~ c*X + b*M, M ~ a*X: a = 0.474, b = 0.788, ab = 0.374 as printed.
    frame = pl.read_csv(reference("mediation", "lavaan_tutorial_mediation.csv"))
    frame = frame.with_row_index("row").with_columns(period=pl.lit(1))
    spec = MediationSpec(
        estimator="mediation", y="Y", x=["X"], mediator="M", effects=[], bootstrap=2000, seed=1234
    )
    fitted = fit_mediation(frame, spec, FitContext("med", "row", "period"))
    main = fitted[""]
    assert round(main.coefficients["a"].estimate, 3) == 0.474
    assert round(main.coefficients["b"].estimate, 3) == 0.788
    assert round(main.coefficients["indirect"].estimate, 3) == 0.374
    # Sobel SE = sqrt(b² se_a² + a² se_b²) from the OLS standard errors of the two fits
    a, b = main.coefficients["a"], main.coefficients["b"]
    sobel_se = (b.estimate**2 * a.std_error**2 + a.estimate**2 * b.std_error**2) ** 0.5
    indirect = main.extra["indirect"]
    assert indirect["sobel_se"] == pytest.approx(sobel_se, rel=1e-12)
    assert indirect["sobel_z"] == pytest.approx(indirect["estimate"] / sobel_se, rel=1e-12)
    # lavaan's seeded 2000-draw percentile CI is about [0.21, 0.54]. Different random streams
    # give different draws: the Monte-Carlo SE of a 2.5 % / 97.5 % quantile of 2000 draws with
    # bootstrap SD ≈ 0.08 is ≈ sqrt(.025·.975/2000)/φ(1.96)·0.08 ≈ 0.006, so ±0.03 is 5 MC SEs.
    assert indirect["boot_ci_low"] == pytest.approx(0.21, abs=0.03)
    assert indirect["boot_ci_high"] == pytest.approx(0.54, abs=0.03)
    assert indirect["share"] == pytest.approx(
        indirect["estimate"] / main.coefficients["c"].estimate
    )


SPEC = (
    GRUNFELD_HEAD
    + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
  med: {extends: fe, x: [value], estimator: mediation, mediator: capital, bootstrap: 200,
        seed: 7}
  total: {extends: fe, x: [value]}
  mediator: {extends: fe, y: capital, x: [value]}
tables:
  t5: {kind: regression, columns: [med.total, med.mediator, med.outcome]}
  effects: {kind: mediation, model: med}
outputs: {formats: [markdown]}
"""
)


def test_three_fits_equal_hand_written_models(tmp_path: Path):
    grunfeld_project(tmp_path, SPEC)
    run = run_file(tmp_path / "spec.yaml", tmp_path / "out")
    models = run.output.results.models
    for part, hand in (("total", "total"), ("mediator", "mediator"), ("outcome", "fe")):
        fitted, written = models[f"med.{part}"], models[hand]
        assert set(fitted.coefficients) == set(written.coefficients)
        for name, coef in written.coefficients.items():
            assert fitted.coefficients[name].estimate == pytest.approx(coef.estimate, rel=1e-12)
            assert fitted.coefficients[name].std_error == pytest.approx(coef.std_error, rel=1e-12)
    assert models["med"].coefficients["a"].estimate == pytest.approx(
        models["mediator"].coefficients["value"].estimate, rel=1e-12
    )
    assert {"t5", "effects"} <= set(run.output.tables)


# Each coefficient's own reference distribution. a, b, c and c′ are t tests of their regression
# (G − 1 = 9 degrees of freedom when clustered by Grunfeld's 10 firms, as Stata's
# ``xtreg, fe vce(cluster firm)`` reports e(df_r); else N − K, as ``regress``), a·b is the Sobel
# z test (normal, as Stata's ``sgmediation`` and ``medsem`` report it). The expected quantiles are
# scipy's, computed here independently of specrun.
REFERENCES = (
    GRUNFELD_HEAD
    + """\
samples:
  late: {time: [1940, null]}
models:
  med: {estimator: mediation, y: inv, x: [value], mediator: capital, effects: [entity, time],
        se: {cluster: entity}, bootstrap: 0}
  pooled: {estimator: mediation, y: inv, x: [value], mediator: capital, effects: [],
           bootstrap: 0}
  re: {estimator: panel_re, y: inv, x: [value, capital]}
multiverse:
  paths:
    base: med
    focus: a
    axes:
      sample: {all: {}, late: {sample: late}}
tables:
  ci: {kind: regression, columns: [med, pooled], show: ci, digits: 6}
  t: {kind: regression, columns: [med, pooled], show: t}
  t_re: {kind: regression, columns: [med, re], show: t}
figures:
  a: {kind: coefplot, models: [med, pooled], variable: a}
  indirect: {kind: coefplot, models: [med, pooled], variable: indirect}
outputs: {formats: [markdown]}
"""
)
# the degrees of freedom of each path's t test: clustered, G − 1; pooled OLS, N − K with K the
# regression's constant and regressors (mediator and total: 2; outcome: 3)
DF = {
    "med": {"a": 9, "b": 9, "c": 9, "c_prime": 9},
    "pooled": {"a": 198, "b": 197, "c": 198, "c_prime": 197},
}
PATH_ROWS = ("a", "b", "c", "c_prime", "indirect")


def _interval(text: str) -> tuple[float, float]:
    low, high = text.strip("[]").replace("−", "-").split(", ")
    return float(low), float(high)


def _quantile(df: int | None, level: float = 0.95) -> float:
    from scipy import stats

    q = 0.5 + level / 2
    return float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, df))


def test_each_path_keeps_its_own_reference_distribution(tmp_path: Path):
    import json

    from scipy import stats

    run = run_file(grunfeld_project(tmp_path, REFERENCES), tmp_path / "out", cache=False)
    output = run.output
    models = output.results.models
    assert _quantile(None) == pytest.approx(1.959964, abs=1e-6)
    # the p-values use these degrees of freedom (and a·b the normal)
    for name, dfs in DF.items():
        coefficients = models[name].coefficients
        for path, df in dfs.items():
            coef = coefficients[path]
            assert coef.p_value == pytest.approx(2 * stats.t.sf(abs(coef.stat), df), rel=1e-10)
        indirect = coefficients["indirect"]
        assert indirect.p_value == pytest.approx(2 * stats.norm.sf(abs(indirect.stat)), rel=1e-10)
    # show: ci — each row's interval in its own reference (before: 1.96·SE for every row)
    rows = [r for block in output.tables["ci"].blocks for r in block.rows]
    for column, name in enumerate(("med", "pooled")):
        for path in PATH_ROWS:
            label = models[name].coefficient_labels[path]
            at = next(i for i, r in enumerate(rows) if r.label == label)
            low, high = _interval(rows[at + 1].cells[column].text)
            coef = models[name].coefficients[path]
            half = _quantile(DF[name].get(path)) * coef.std_error
            assert (low, high) == (
                pytest.approx(coef.estimate - half, abs=6e-7),
                pytest.approx(coef.estimate + half, abs=6e-7),
            ), (name, path)
    # coefplots: the same half-widths
    for variable in ("a", "indirect"):
        data = output.figures[variable].data
        for i, name in enumerate(("med", "pooled")):
            coef = models[name].coefficients[variable]
            expected = _quantile(DF[name].get(variable)) * coef.std_error
            assert data.half_widths[i] == pytest.approx(expected, rel=1e-12)
    # show: t — the note names the row whose statistic is a z
    assert output.tables["t"].notes[0] == (
        "t or z statistics (z for a·b: indirect effect; t for the others) in parentheses."
    )
    assert output.tables["t_re"].notes[0] == (
        "t or z statistics (t in column (1); z in column (2); z for a·b: indirect effect) in "
        "parentheses."
    )
    # results.json names each coefficient's reference; the other keys are as before
    saved = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    for name, dfs in DF.items():
        coefficients = saved["models"][name]["coefficients"]
        for path in PATH_ROWS:
            df = dfs.get(path)
            assert coefficients[path]["reference"] == (
                {"distribution": "t", "df": df} if df else {"distribution": "normal", "df": None}
            )
            assert list(coefficients[path]) == [
                "estimate", "std_error", "stat", "p_value", "reference"
            ]  # fmt: skip
    assert "reference" not in saved["models"]["re"]["coefficients"]["value"]
    assert "reference" not in saved["models"]["med.outcome"]["coefficients"]["value"]


def test_a_curve_of_a_path_reads_its_reference_from_fresh_and_cached_fits(tmp_path: Path):
    spec = grunfeld_project(tmp_path, REFERENCES)
    first = run_file(spec, tmp_path / "a", cache=tmp_path / "cache")
    # another level: the curve is recomputed from the cached fits' tidy cores
    spec.write_text(REFERENCES.replace("    focus: a\n", "    focus: a\n    level: 0.9\n"))
    second = run_file(spec, tmp_path / "b", cache=tmp_path / "cache")
    assert "multiverse:paths" in second.summary.cache.computed
    assert not [n for n in second.summary.cache.computed if n.startswith("fit:")]
    for run, level in ((first, 0.95), (second, 0.9)):
        curve = run.output.results.artifacts["multiverse:paths"].curve
        for row in curve.iter_rows(named=True):
            half = _quantile(9, level) * row["std_error"]  # 10 firms in both samples
            assert row["ci_low"] == pytest.approx(row["estimate"] - half, rel=1e-12)
            assert row["ci_high"] == pytest.approx(row["estimate"] + half, rel=1e-12)


def test_a_chinese_note_names_the_z_row(tmp_path: Path):
    text = REFERENCES.replace(
        "outputs: {formats: [markdown]}", "outputs: {formats: [markdown], language: zh}"
    )
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out", only=["t"], cache=False)
    assert run.output.tables["t"].notes[0] == (
        "括号内为t值或z值（a·b：间接效应为z值，其余为t值）。"
    )


def test_absorb_of_the_panel_index_is_the_mediations_effects(tmp_path: Path):
    # a Stata user's baseline, reghdfe y x, absorb(firm year) vce(cluster firm), extended by a
    # mediation model: the inherited absorb: was an unknown key reported at the baseline's
    # line as "models.fe.absorb", which is a valid key of the panel_fe model named there
    stata = SPEC.replace(
        "effects: [entity, time],\n       se: {cluster: entity}",
        "absorb: [firm, year], se: {cluster: firm}",
    )
    assert stata != SPEC
    index = run_file(grunfeld_project(tmp_path, SPEC), tmp_path / "a", cache=False)
    columns = run_file(grunfeld_project(tmp_path, stata), tmp_path / "b", cache=False)
    assert columns.output.results.models["med"] == index.output.results.models["med"]
    assert columns.output.results.models["med.outcome"].effects == ("entity", "time")


def test_absorb_of_other_effects_names_the_mediation_model(tmp_path: Path):
    text = SPEC.replace("effects: [entity, time],", "absorb: [firm, year, firm#year],")
    with pytest.raises(SpecErrors) as caught:
        validate_file(grunfeld_project(tmp_path, text))
    path = tmp_path / "spec.yaml"
    assert [str(e).removeprefix(f"{path}:") for e in caught.value.errors] == [
        "7:79: models.fe.absorb[2]: model 'med' (estimator: mediation) absorbs the panel's "
        "entity and time effects only, not 'firm#year' (inherited from fe through extends) "
        "(give model 'med' its own absorb: [entity, time] (or effects:))"
    ]


def test_the_mediations_own_effects_replace_an_inherited_absorb(tmp_path: Path):
    base = SPEC.replace("effects: [entity, time],", "absorb: [firm, year, firm#year],")
    own = base.replace("mediator: capital,", "mediator: capital, effects: [entity],")
    assert own != base
    spec = validate_file(grunfeld_project(tmp_path, own))
    assert spec.models["med"].spec.effects == ["entity"]
    both = SPEC.replace("mediator: capital,", "mediator: capital, absorb: [firm],")
    with pytest.raises(SpecErrors) as caught:
        validate_file(grunfeld_project(tmp_path, both))
    assert [str(e).removeprefix(f"{tmp_path / 'spec.yaml'}:") for e in caught.value.errors] == [
        "9:75: models.med.absorb: give absorb or its shorthand effects, not both"
    ]


@pytest.mark.parametrize(
    ("level", "method", "expected"),
    [
        (0.95, "percentile", "percentile 95%, 30 draws, resampling entities"),
        # a level between whole percents keeps its digits: rounded, 97.5% read "98%"
        (0.975, "bc", "bias-corrected 97.5%, 30 draws, resampling entities"),
    ],
)
def test_the_bootstrap_interval_is_described_with_its_level_as_given(
    tmp_path: Path, level: float, method: str, expected: str
):
    text = SPEC.replace(
        "bootstrap: 200,\n        seed: 7}",
        f"bootstrap: 30,\n        seed: 7, ci_level: {level}, ci_method: {method}}}",
    )
    grunfeld_project(tmp_path, text)
    run = run_file(tmp_path / "spec.yaml", tmp_path / "out", cache=False)
    indirect = run.output.results.models["med"].extra["indirect"]
    assert indirect["boot_method"] == expected


def test_ci_quantile_is_named_in_the_results_and_changes_only_the_quantiles(tmp_path: Path):
    """``ci_quantile: boot`` reads both intervals as R boot and lavaan do (their numbers on
    lavaan's own draws are checked in ``tests/test_kernel_mediation.py``): same draws, same
    bias correction, intervals moved by a fraction of the draws' spacing; results.json names
    the convention."""
    results = {}
    for quantile in ("linear", "boot"):
        text = SPEC.replace(
            "bootstrap: 200,\n        seed: 7}",
            f"bootstrap: 200,\n        seed: 7, ci_method: bc, ci_quantile: {quantile}}}",
        )
        folder = tmp_path / quantile
        folder.mkdir()
        grunfeld_project(folder, text)
        run = run_file(folder / "spec.yaml", folder / "out", cache=False)
        results[quantile] = run.output.results.models["med"].extra
    linear, boot = results["linear"], results["boot"]
    assert (linear["bootstrap"]["quantile"], boot["bootstrap"]["quantile"]) == ("linear", "boot")
    assert boot["indirect"]["boot_method"].endswith(", quantiles as R boot")
    assert boot["bootstrap"]["std_error"] == linear["bootstrap"]["std_error"]
    for key in ("percentile", "bias_corrected"):
        assert boot["bootstrap"][key] != linear["bootstrap"][key]
        low, high = linear["bootstrap"][key]
        # 200 draws: neighbouring draws lie a few hundredths of the interval apart
        assert boot["bootstrap"][key] == pytest.approx([low, high], abs=0.05 * (high - low))
    assert boot["indirect"]["boot_ci_low"] == boot["bootstrap"]["bias_corrected"][0]
