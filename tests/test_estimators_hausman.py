"""The Hausman test: numbers against R plm's ``phtest``, and the model-of-models plumbing
(validation of ``models:``, plan order, the test's row under the fixed-effects column).

Reference numbers: R plm 2.6.2, ``phtest(fe, re)`` with ``fe <- plm(f, model = "within")`` and
``re <- plm(f, model = "random", random.method = "swar")``: Grunfeld (data/grunfeld.csv,
f = inv ~ value + capital) chisq 2.330366893675, df 2, p 0.3118654460549; EmplUK
(data/emplUK.csv, f = emp ~ wage + capital) chisq 181.6796547168, df 2, p 3.538052241097e-40.
plm's chisq is Stata's ``hausman fe re`` whenever V_b − V_B has full rank (both use each
model's conventional covariance and leave the constant out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import plan_file, run_file
from specrun.errors import SpecError, SpecErrors
from specrun.estimators.base import FitContext
from specrun.estimators.hausman import HausmanSpec, fit_hausman
from specrun.estimators.linear import PanelFeSpec, fit_linear
from specrun.estimators.random_effects import PanelReSpec, fit_re

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CTX = FitContext("fe", "firm", "year")


def fitted(frame: pl.DataFrame, y: str, x: list[str], components: str = "stata", se="unadjusted"):
    fe = fit_linear(
        frame, PanelFeSpec(estimator="panel_fe", y=y, x=x, se=se), FitContext("fe", "firm", "year")
    )[""]
    re = fit_re(
        frame,
        PanelReSpec(estimator="panel_re", y=y, x=x, components=components),
        FitContext("re", "firm", "year"),
    )[""]
    return {"fe": fe, "re": re}


def hausman(models, variance: str = "own"):
    spec = HausmanSpec(estimator="hausman", models=["fe", "re"], variance=variance)
    ctx = FitContext("hausman", "firm", "year", models=models)
    return fit_hausman(pl.DataFrame(), spec, ctx)[""]


@pytest.mark.parametrize(
    ("file", "y", "x", "chi2", "p"),
    [
        ("grunfeld.csv", "inv", ["value", "capital"], 2.330366893675, 0.3118654460549),
        ("emplUK.csv", "emp", ["wage", "capital"], 181.6796547168, 3.538052241097e-40),
    ],
)
def test_hausman_matches_plm_phtest(file, y, x, chi2, p):
    frame = pl.read_csv(PROJECT_ROOT / "data" / file)
    # EmplUK is unbalanced: plm's random effects use plm's components
    result = hausman(fitted(frame, y, x, components="plm"))
    assert result.stats["hausman_chi2"] == pytest.approx(chi2, rel=1e-9)
    assert result.stats["hausman_df"] == 2
    assert result.stats["hausman_p"] == pytest.approx(p, rel=1e-8)
    assert result.extra["attach"] == {"fe": result.stats}
    assert set(result.extra["differences"]) == set(x)


def test_sigmamore_and_sigmaless_rescale_by_the_error_variances():
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    models = fitted(frame, "inv", ["value", "capital"])
    fe, re = models["fe"], models["re"]
    s2_fe = fe.stats["ssr"] / fe.stats["df_resid"]  # xtreg, fe e(sigma_e)²
    s2_re = re.stats["rmse"] ** 2  # xtreg, re e(rmse)²
    d = np.array(
        [fe.coefficients[n].estimate - re.coefficients[n].estimate for n in ("value", "capital")]
    )
    assert fe.covariance is not None and re.covariance is not None
    v_fe, v_re = fe.covariance[:2, :2], re.covariance[:2, :2]
    more = d @ np.linalg.solve(v_fe * s2_re / s2_fe - v_re, d)
    less = d @ np.linalg.solve(v_fe - v_re * s2_fe / s2_re, d)
    assert hausman(models, "sigmamore").stats["hausman_chi2"] == pytest.approx(more, rel=1e-10)
    assert hausman(models, "sigmaless").stats["hausman_chi2"] == pytest.approx(less, rel=1e-10)
    assert more != pytest.approx(hausman(models).stats["hausman_chi2"], rel=1e-3)


def test_sigmamore_and_sigmaless_equal_r_plm_by_statas_definition():
    """No public Stata log of ``hausman fe re, sigmamore`` on public data was found, so the
    statistic is computed in R 4.2.2 with plm 2.6.2 by the definition of [R] hausman (both
    covariances on the efficient model's σ², ``e(rmse)``² of ``xtreg, re``, for sigmamore; on
    the consistent model's, ``e(sigma_e)``² of ``xtreg, fe``, for sigmaless)::

        d <- read.csv("grunfeld.csv"); f <- inv ~ value + capital
        fe <- plm(f, d, index = c("firm", "year"), model = "within")
        re <- plm(f, d, index = c("firm", "year"), model = "random", random.method = "swar")
        k <- c("value", "capital"); dif <- coef(fe)[k] - coef(re)[k]
        s2_fe <- deviance(fe) / df.residual(fe)   # 2784.45823077794
        s2_re <- deviance(re) / df.residual(re)   # 2786.31500117175
        # vcov(re) equals s2_re * solve(crossprod(model.matrix(re))): s2_re is its scale
        V_fe <- vcov(fe)[k, k]; V_re <- vcov(re)[k, k]
        more <- t(dif) %*% solve(V_fe * s2_re / s2_fe - V_re) %*% dif
        less <- t(dif) %*% solve(V_fe - V_re * s2_fe / s2_re) %*% dif
        pchisq(c(more, less), 2, lower.tail = FALSE)
    """
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    models = fitted(frame, "inv", ["value", "capital"])
    assert models["fe"].stats["ssr"] / models["fe"].stats["df_resid"] == pytest.approx(
        2784.45823077794, rel=1e-12
    )
    assert models["re"].stats["rmse"] ** 2 == pytest.approx(2786.31500117175, rel=1e-12)
    for variance, chi2, p in (
        ("sigmamore", 2.12994590584451, 0.344737178774401),
        ("sigmaless", 2.13136622540784, 0.344492447204336),
    ):
        result = hausman(models, variance)
        assert result.stats["hausman_chi2"] == pytest.approx(chi2, rel=1e-9)
        assert result.stats["hausman_df"] == 2
        assert result.stats["hausman_p"] == pytest.approx(p, rel=1e-9)
        assert result.extra["variance"] == variance


def test_hausman_refuses_clustered_models():
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    models = fitted(frame, "inv", ["value", "capital"], se={"cluster": "entity"})
    with pytest.raises(SpecError, match="needs conventional standard errors; model 'fe'"):
        hausman(models)


HAUSMAN_SPEC = (
    GRUNFELD_HEAD
    + """\
models:
  test: {estimator: hausman, models: [fe, re]}
  fe: {estimator: panel_fe, y: inv, x: [value, capital]}
  re: {estimator: panel_re, y: inv, x: [value, capital]}
tables:
  choice:
    kind: regression
    columns: [fe, re]
    stats: [nobs, hausman_p]
    stat_labels: {hausman_p: Hausman test p}
"""
)


def test_the_plan_fits_referenced_models_first_and_the_table_reads_the_test(tmp_path):
    path = grunfeld_project(tmp_path, HAUSMAN_SPEC)
    _, plan = plan_file(path)
    ids = [n.id for n in plan.nodes]
    assert ids.index("fit:fe") < ids.index("fit:test") and ids.index("fit:re") < ids.index(
        "fit:test"
    )
    assert {"fit:fe", "fit:re"} <= set(plan.get("fit:test").inputs)
    assert "fit:test" in plan.get("table:choice").inputs
    # --only the table still runs the test that writes one of its rows
    _, only = plan_file(path, ["choice"])
    assert "fit:test" in [n.id for n in only.nodes]
    run = run_file(path, tmp_path / "out")
    markdown = (tmp_path / "out" / "tables" / "choice.md").read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if line.startswith("| Hausman test p"))
    assert row.split("|")[2].strip() == "0.312"  # under the FE column
    assert row.split("|")[3].strip() == ""
    assert run.output.results.models["test"].stats["hausman_p"] == pytest.approx(
        0.3118654460549, rel=1e-8
    )


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ("[fe, ree]", "models.test.models[1]: unknown model 'ree' (did you mean 're'?)"),
        ("[fe, fe]", "a Hausman test compares two different models"),
        ("[test, re]", "models.test.models[0]: model 'test' reads its own results"),
    ],
)
def test_unknown_or_repeated_models_are_located_errors(tmp_path, models, message):
    text = HAUSMAN_SPEC.replace("models: [fe, re]", f"models: {models}")
    path = grunfeld_project(tmp_path, text)
    with pytest.raises(SpecErrors) as caught:
        plan_file(path)
    errors = [str(e) for e in caught.value.errors]
    assert any(message in e for e in errors), errors
    assert all(e.startswith(f"{path}:") for e in errors)


def test_a_family_is_not_a_hausman_model(tmp_path):
    text = HAUSMAN_SPEC.replace(
        "  fe: {estimator: panel_fe, y: inv, x: [value, capital]}",
        "  fe: {estimator: panel_fe, y: inv, x: [value, capital], over: firm}",
    )
    path = grunfeld_project(tmp_path, text)
    with pytest.raises(SpecErrors, match=r"model 'fe' is a family \(over: firm\)"):
        plan_file(path)


def test_a_negative_variance_difference_has_no_standard_error():
    # Stata's hausman prints "." for sqrt(diag(V_b − V_B)) where that diagonal is negative; the
    # covariances are swapped here (efficient model's the larger) so every diagonal is negative.
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    models = fitted(frame, "inv", ["value", "capital"])
    swapped = {"fe": models["re"], "re": models["fe"]}
    result = hausman(swapped)
    assert all(np.isnan(d["std_error"]) for d in result.extra["differences"].values())
    assert any("not positive definite" in w for w in result.extra["warnings"])
