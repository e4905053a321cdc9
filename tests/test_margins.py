"""Margins (``dy/dx`` at moderator values, delta-method SEs, Johnson–Neyman) on public data.

Data: UCLA OARC's hsbdemo (``tests/data/README.md``), the model of UCLA's FAQ "How can I
explain a continuous by continuous interaction?": read = b0 + b1 math + b2 socst +
b3 math·socst, i.e. Stata ``regress read c.math##c.socst`` followed by
``margins, dydx(math) at(socst = (30(10)70))``.

Numbers and where they come from:
* the coefficients are UCLA's published R output for ``glm(read ~ math * socst)`` on its R FAQ
  page (intercept 37.842715 (14.545210), math −0.110512 (0.291634), socst −0.220044
  (0.271754)), which Stata's ``regress`` reproduces;
* dy/dx and its standard error at socst = 30, 40, 50, 60, 70 were computed once with R 4.2.2
  from ``m <- lm(read ~ math * socst, d)`` as ``g <- c(0, 1, 0, z); sum(g * coef(m))`` and
  ``sqrt(t(g) %*% vcov(m) %*% g)`` — what Stata's ``margins, dydx(math) at(socst = z)``
  computes after ``regress`` (delta method under the model's covariance; t with 196 df). The
  Stata log itself could not be retrieved here, so these are R's numbers for Stata's formula;
* each is cross-checked below by an independent numpy computation from the data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from specrun.api import run_file
from specrun.kernels.margins import johnson_neyman

DATA = Path(__file__).parent / "data" / "hsbdemo.csv"

SPEC = """\
spec_version: 1
data:
  sources:
    hsb: {path: hsbdemo.csv}
  panel: {source: hsb, entity: id, time: wave}
variables:
  math: {label: Math score}
  socst: {label: Social studies score}
models:
  m: {estimator: ols, y: read, x: ["c.math##c.socst"]}
  centred: {extends: m, center: [math, socst]}
tables:
  margins: {kind: margins, model: m, dydx: math, at: {socst: [30, 40, 50, 60, 70]}}
  centred_margins: {kind: margins, model: centred, dydx: math,
                    at: {socst: [30, 40, 50, 60, 70, p10, p50, p90]}}
  coefficients: {kind: regression, columns: [m, centred]}
figures:
  slope: {kind: margins, model: m, dydx: math, over: socst}
outputs: {dir: out, formats: [markdown]}
"""

# R 4.2.2: lm(read ~ math * socst); dy/dx of math and its delta-method SE at socst = z
R_MARGINS = {
    30: (0.227909392399249, 0.14249239540207),
    40: (0.340716613031142, 0.0982882517302403),
    50: (0.453523833663035, 0.0669802510571605),
    60: (0.566331054294928, 0.0691476938002953),
    70: (0.67913827492682, 0.102692399946854),
}
# UCLA's published R output (glm(read ~ math * socst)), to its printed 6 decimals
PUBLISHED = {
    "_cons": (37.842715, 14.545210),
    "math": (-0.110512, 0.291634),
    "socst": (-0.220044, 0.271754),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("margins")
    # a cross-section: every student is one entity observed in one period
    pl.read_csv(DATA).with_columns(wave=pl.lit(1)).write_csv(folder / "hsbdemo.csv")
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    result = run_file(folder / "spec.yaml")
    return {
        "results": json.loads((result.folder / "results.json").read_text()),
        "output": result.output,
        "folder": result.folder,
    }


def independent() -> tuple[np.ndarray, np.ndarray, int]:
    """OLS of read on (1, math, socst, math·socst) and its conventional covariance."""
    d = pl.read_csv(DATA)
    x = np.column_stack([np.ones(d.height), d["math"], d["socst"], d["math"] * d["socst"]])
    y = d["read"].to_numpy().astype(float)
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    resid = y - x @ beta
    df = d.height - 4
    cov = (resid @ resid / df) * np.linalg.inv(x.T @ x)
    return beta, cov, df


def test_coefficients_equal_the_published_output(run: dict) -> None:
    coefficients = run["results"]["models"]["m"]["coefficients"]
    for name, (estimate, std_error) in PUBLISHED.items():
        assert coefficients[name]["estimate"] == pytest.approx(estimate, abs=5e-7)
        assert coefficients[name]["std_error"] == pytest.approx(std_error, abs=5e-7)


def test_margins_equal_r_and_an_independent_delta_method(run: dict) -> None:
    table = run["output"].tables["margins"]
    rows = table.blocks[0].rows
    beta, cov, df = independent()
    for row, (z, (estimate, std_error)) in zip(rows, R_MARGINS.items(), strict=True):
        g = np.array([0.0, 1.0, 0.0, z])
        assert float(g @ beta) == pytest.approx(estimate, rel=1e-10)
        assert float(np.sqrt(g @ cov @ g)) == pytest.approx(std_error, rel=1e-10)
        cells = [c.text for c in row.cells]
        assert row.label == f"Social studies score = {z}.000"
        assert cells[0] == f"{estimate:.3f}"
        assert cells[1] == f"{std_error:.3f}"
        p = 2 * sps.t.sf(abs(estimate / std_error), df)
        assert cells[3] == f"{p:.3f}"
    assert "t with 196 df" in table.notes[0]


def test_centring_changes_main_effects_not_margins(run: dict) -> None:
    rows = run["output"].tables["centred_margins"].blocks[0].rows
    for row, (estimate, std_error) in zip(rows, R_MARGINS.values(), strict=False):
        assert row.cells[0].text == f"{estimate:.3f}"
        assert row.cells[1].text == f"{std_error:.3f}"
    # Stata's percentiles (summarize, detail) of socst on the estimation sample
    d = pl.read_csv(DATA)["socst"].sort().to_numpy()
    n = d.size
    for row, p in zip(rows[5:], (10, 50, 90), strict=True):
        pos = n * p / 100  # whole: mean of the pos-th and next order statistics
        expected = (d[int(pos) - 1] + d[int(pos)]) / 2 if pos == int(pos) else d[int(pos)]
        assert row.label == f"Social studies score = {expected:.3f} (p{p})"
    # the centred model's math coefficient is the effect at the mean of socst
    model = run["results"]["models"]["centred"]
    beta, cov, _ = independent()
    mean = float(pl.read_csv(DATA)["socst"].mean())
    g = np.array([0.0, 1.0, 0.0, mean])
    assert model["coefficients"]["math"]["estimate"] == pytest.approx(float(g @ beta), rel=1e-9)
    assert model["coefficients"]["math"]["std_error"] == pytest.approx(
        float(np.sqrt(g @ cov @ g)), rel=1e-9
    )
    assert model["extra"]["centered"]["socst"] == pytest.approx(mean)
    notes = " ".join(run["output"].tables["coefficients"].notes)
    assert "Math score, Social studies score are centred at the mean" in notes


def test_johnson_neyman_bounds_are_where_t_equals_the_critical_value(run: dict) -> None:
    beta, cov, df = independent()
    crit = float(sps.t.ppf(0.975, df))
    regions = johnson_neyman(beta[1], beta[3], cov[1, 1], cov[1, 3], cov[3, 3], crit, 26.0, 71.0)
    assert len(regions) == 1 and regions[0][1] == 71.0
    bound = regions[0][0]
    g = np.array([0.0, 1.0, 0.0, bound])
    assert float(g @ beta) / float(np.sqrt(g @ cov @ g)) == pytest.approx(crit, rel=1e-9)
    # between 30 (t = 1.60, not significant) and 40 (t = 3.47)
    assert 30 < bound < 40
    note = " ".join(run["output"].tables["margins"].notes)
    assert f"Johnson–Neyman: significant at 5% for Social studies score in [{bound:.3f}, " in note
    assert (run["folder"] / "figures" / "slope.png").exists()


def test_no_significance_anywhere_and_everywhere() -> None:
    assert johnson_neyman(0.0, 0.0, 1.0, 0.0, 1.0, 1.96, 0.0, 1.0) == ()
    assert johnson_neyman(10.0, 0.0, 1.0, 0.0, 1.0, 1.96, 0.0, 1.0) == ((0.0, 1.0),)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 99, 100, 101, 200, 341, 1000, 3411])
def test_percentiles_are_numpys_averaged_inverted_cdf_bit_for_bit(n: int) -> None:
    # the kernel replays numpy 2's quantile arithmetic on sorted values: the same floats as
    # np.quantile(values, np.arange(101) / 100, method="averaged_inverted_cdf"), ties included
    from specrun.data.design import percentiles

    rng = np.random.default_rng(n)
    for values in (
        rng.normal(size=n) * 1e5,
        rng.integers(0, 4, size=n).astype(float),
        np.round(rng.exponential(size=n), 2),
    ):
        expected = np.quantile(values, np.arange(101) / 100, method="averaged_inverted_cdf")
        expected[0], expected[-1] = values.min(), values.max()
        assert percentiles(values) == tuple(expected.tolist())


def test_percentiles_are_measured_only_for_models_margins_read(run: dict) -> None:
    # sorting every regressor for percentiles is a cost at scale: fits record them only for
    # models a margins table or figure reads, and that need is part of the fit's plan hash
    # (a cached fit without them must not serve a margins table added later)
    from specrun.plan.compile import compile_spec
    from specrun.spec.load import load_text
    from specrun.spec.validate import validate

    models = run["output"].results.models
    assert set(models["m"].distributions) == {"read", "math", "socst"}
    assert models["centred"].distributions  # read by centred_margins

    def plan(text: str) -> dict:
        spec = validate(
            load_text(text, str(run["folder"].parent / "spec.yaml")), check_outputs=False
        )
        nodes = compile_spec(spec, {"hsb": "digest"}).nodes
        return {n.name: n for n in nodes if n.kind == "fit"}

    without = SPEC.replace(
        "  centred_margins: {kind: margins, model: centred, dydx: math,\n"
        "                    at: {socst: [30, 40, 50, 60, 70, p10, p50, p90]}}\n",
        "",
    )
    assert without != SPEC
    read, unread = plan(SPEC), plan(without)
    assert read["centred"].payload.get("distributions") is True
    assert "distributions" not in unread["centred"].payload
    assert read["centred"].hash != unread["centred"].hash
    assert read["m"].hash == unread["m"].hash


@pytest.mark.parametrize(
    ("language", "axis", "legend"),
    [
        ("en", "Effect of Math score (95% CI)", "significant at 5%"),
        ("zh", "数学成绩的边际效应（95%置信区间）", "在5%的水平上显著"),
    ],
)
def test_the_figure_speaks_the_tables_language(tmp_path: Path, language, axis, legend) -> None:
    # under language: zh the axis and the legend read "Effect of 数学成绩 (95% CI)" and
    # "significant at 5%": English words and ASCII brackets around Chinese text
    pl.read_csv(DATA).with_columns(wave=pl.lit(1)).write_csv(tmp_path / "hsbdemo.csv")
    text = SPEC.replace("{label: Math score}", "{label: {en: Math score, zh: 数学成绩}}")
    text = text.replace("formats: [markdown]}", f"formats: [markdown], language: {language}}}")
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    figure = run_file(tmp_path / "spec.yaml", cache=False).output.figures["slope"].draw()
    axes = figure.axes[0]
    assert axes.get_ylabel() == axis
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [legend]
    assert axes.get_xlabel() == "Social studies score"
