"""Johnson–Neyman intervals and margins against R on the `interactions` vignette's model.

Data: R's ``state.x77`` (``tests/data/state_x77.csv``, see ``tests/data/README.md``). Model:
the vignette "Exploring interactions with continuous predictors in regression models" of
R's *interactions* package (Long), ``lm(Income ~ Illiteracy * Murder + `HS Grad`)``, whose
``johnson_neyman(fiti, pred = Illiteracy, modx = Murder)`` reports the two roots of the
Johnson–Neyman quadratic (Bauer and Curran 2005, eq. 7) and the moderator's observed range.

Numbers and where they come from:
* the coefficients and standard errors are the vignette's printed ``summ(fiti)`` (2 decimals);
* the bounds, dy/dx and their standard errors were computed once with R 4.2.2 (the package
  ``interactions`` is not installable here, so its formula is written out in base R)::

      d <- read.csv("state_x77.csv")
      m <- lm(income ~ illiteracy * murder + hs_grad, data = d)
      b <- coef(m); V <- vcov(m)
      jn <- function(level) {
        crit <- qt(0.5 + level / 2, df.residual(m))
        qa <- b[5]^2 - crit^2 * V[5, 5]; qb <- 2 * (b[2] * b[5] - crit^2 * V[2, 5])
        qc <- b[2]^2 - crit^2 * V[2, 2]
        sort((-qb + c(-1, 1) * sqrt(qb^2 - 4 * qa * qc)) / (2 * qa))
      }
      jn(0.95); jn(0.90)
      g <- c(0, 1, 0, 0, z); sum(g * b); sqrt(t(g) %*% V %*% g)   # z = 2, 6, 10, 14

  R reports the roots themselves ("Murder OUTSIDE [-0.75, 11.74]"); specrun reports the
  same roots intersected with the observed range [1.4, 15.1] by default, and R's way with
  ``johnson_neyman_bounds: roots`` (docs/conventions.md).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from specrun.api import run_file

DATA = Path(__file__).parent / "data" / "state_x77.csv"

SPEC = """\
spec_version: 1
data:
  sources:
    states: {path: state_x77.csv}
variables:
  murder: {label: Murder}
models:
  m: {estimator: ols, y: income, x: ["c.illiteracy##c.murder", hs_grad]}
tables:
  jn95: {kind: margins, model: m, dydx: illiteracy, at: {murder: [2, 6, 10, 14]}, digits: 6}
  jn90: {kind: margins, model: m, dydx: illiteracy, at: {murder: [2, 6, 10, 14]}, digits: 6,
         level: 0.9}
  roots: {kind: margins, model: m, dydx: illiteracy, at: {murder: [2, 6, 10, 14]}, digits: 6,
          johnson_neyman_bounds: roots}
outputs: {dir: out, formats: [markdown]}
"""

# the vignette's summ(fiti): estimate, standard error (2 decimals)
VIGNETTE = {
    "_cons": (1414.46, 737.84),
    "illiteracy": (753.07, 385.90),
    "murder": (130.60, 44.67),
    "hs_grad": (40.76, 10.92),
    "c.illiteracy#c.murder": (-97.04, 35.86),
}
# R 4.2.2, jn(level) above: the roots of the Johnson–Neyman quadratic in Murder
R_ROOTS = {
    0.95: (-0.749635218182387, 11.743920425708460),
    0.90: (2.32921243908638, 10.90861350474043),
}
# R 4.2.2: dy/dx of illiteracy and its delta-method standard error at murder = z
R_MARGINS = {
    2: (558.993976888199, 323.678181253091),
    6: (170.839083458421, 217.564542844023),
    10: (-217.315809971357, 176.21257354296),
    14: (-605.470703401134, 236.468152896795),
}


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    folder = tmp_path_factory.mktemp("state_x77")
    shutil.copy(DATA, folder / "state_x77.csv")
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return run_file(folder / "spec.yaml").output


def _spans(note: str) -> list[tuple[float, float]]:
    found = re.findall(r"\[(−?[\d.]+), (−?[\d.]+)\]", note.replace("\\", ""))
    return [(float(a.replace("−", "-")), float(b.replace("−", "-"))) for a, b in found]


def test_coefficients_equal_the_vignettes_printed_model(output) -> None:
    coefficients = output.results.models["m"].coefficients
    interaction = next(n for n in coefficients if "#" in n)
    for name, (estimate, se) in VIGNETTE.items():
        c = coefficients[interaction if "#" in name else name]
        assert round(c.estimate, 2) == pytest.approx(estimate, abs=1e-9)
        assert round(c.std_error, 2) == pytest.approx(se, abs=1e-9)


def test_johnson_neyman_bounds_equal_r_within_the_observed_range(output) -> None:
    # 95%: one root (−0.75) lies below the observed minimum 1.4, so the region is [11.74, 15.1]
    note = next(n for n in output.tables["jn95"].notes if "Johnson–Neyman" in n)
    significant, observed = _spans(note)[:-1], _spans(note)[-1]
    assert observed == (1.4, 15.1)
    assert significant == [pytest.approx((R_ROOTS[0.95][1], 15.1), abs=5e-7)]
    # 90%: both roots inside the observed range, so two regions outside them
    note = next(n for n in output.tables["jn90"].notes if "Johnson–Neyman" in n)
    spans = _spans(note)
    low, high = R_ROOTS[0.90]
    assert spans[:2] == [
        pytest.approx((1.4, low), abs=5e-7),
        pytest.approx((high, 15.1), abs=5e-7),
    ]


def test_margins_equal_r_delta_method(output) -> None:
    rows = output.tables["jn95"].blocks[0].rows
    assert len(rows) == len(R_MARGINS)
    for row, (z, (estimate, se)) in zip(rows, R_MARGINS.items(), strict=True):
        assert f"{z:.6f}" in row.label
        assert float(row.cells[0].text.replace("−", "-")) == pytest.approx(estimate, abs=5e-7)
        assert float(row.cells[1].text.replace("−", "-")) == pytest.approx(se, abs=5e-7)


def test_roots_give_the_bounds_as_r_prints_them(output) -> None:
    note = next(n for n in output.tables["roots"].notes if "Johnson–Neyman" in n)
    assert "significant at 5% for Murder outside [" in note
    bounds, observed = _spans(note)
    assert bounds == pytest.approx(R_ROOTS[0.95], abs=5e-7)
    assert observed == (1.4, 15.1)


def test_the_bounds_sentence_in_chinese_and_without_roots() -> None:
    from specrun.kernels.margins import JNBounds, Margins
    from specrun.tables.margins import describe_bounds

    def sentence(bounds: JNBounds, language: str) -> str:
        margins = Margins("x", (), 45.0, 0.95, "murder", (), (1.4, 15.1), bounds)
        return describe_bounds(margins, "谋杀率" if language == "zh" else "Murder", 2, language)

    assert sentence(JNBounds((-0.75, 11.74), True), "zh") == (
        "Johnson–Neyman区间：谋杀率位于[−0.75, 11.74]之外时，边际效应在5%水平上显著"
        "（观测范围[1.40, 15.10]）。"
    )
    assert sentence(JNBounds((2.0, 9.0), False), "en") == (
        "Johnson–Neyman: significant at 5% for Murder inside [2.00, 9.00] (observed range "
        "[1.40, 15.10])."
    )
    assert sentence(JNBounds((), False), "en") == (
        "Johnson–Neyman: the effect is not significant at 5% at any value of Murder."
    )
