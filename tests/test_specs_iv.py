"""End to end: the shipped IV spec (a cross-section) and cross-section validation rules.

``specs/mroz_iv.yaml`` reproduces Stata ``ivregress 2sls lwage exper expersq (educ = motheduc
fatheduc)`` on Mroz (1987): educ 0.0613966 (SE 0.0312895 with σ² = SSR/N, i.e. R AER 1.2-10
``ivreg``'s 0.0314367 × √(424/428)); Sargan 0.378 and first-stage F(2, 423) = 55.40 as printed
in Wooldridge's Examples 15.5/15.7 and by ``estat firststage``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specfiles import PROJECT_ROOT
from specrun.api import run_file
from specrun.errors import SpecErrors
from specrun.spec.validate import validate_file

SPEC = PROJECT_ROOT / "specs" / "mroz_iv.yaml"


@pytest.fixture(scope="module")
def mroz_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mroz")
    run_file(SPEC, out=out)
    return out


def test_iv_spec_reproduces_stata(mroz_run: Path) -> None:
    models = json.loads((mroz_run / "results.json").read_text())["models"]
    tsls = models["tsls"]
    assert tsls["nobs"] == 428
    educ = tsls["coefficients"]["educ"]
    assert educ["estimate"] == pytest.approx(0.0613966276912, rel=1e-9)
    assert educ["std_error"] == pytest.approx(0.0314366963799 * (424 / 428) ** 0.5, rel=1e-9)
    assert tsls["se"] == {"type": "conventional", "convention": "ivregress"}
    assert round(tsls["stats"]["hansen_j"], 3) == 0.378
    assert round(models["tsls.first.educ"]["stats"]["first_f"], 2) == 55.40
    assert models["tsls.first.educ"]["dependent"] == "educ"
    for name in ("liml", "gmm"):
        assert models[name]["extra"]["method"] == name


def test_iv_table_prints_first_and_second_stage(mroz_run: Path) -> None:
    text = (mroz_run / "tables" / "first_second.md").read_text()
    assert "| First stage | 2SLS | First stage | 2SLS |" in text
    assert "| Years of schooling |  | 0.0614** |  | 0.0614* |" in text
    assert "| First-stage F | 55.4003 | 55.4003 | 49.5266 | 49.5266 |" in text
    assert "| Overidentification p-value |  | 0.5386 |  | 0.5055 |" in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    rows = [line.split("|")[1].strip() for line in lines]
    # endogenous regressor first, then the instruments, then the controls
    assert rows.index("Years of schooling") < rows.index("Mother's schooling")
    assert rows.index("Father's schooling") < rows.index("Experience")
    tex = (mroz_run / "tables" / "first_second.tex").read_text()
    assert "First stage" in tex


def test_default_iv_table_leaves_out_a_row_no_column_has(tmp_path: Path) -> None:
    # one instrument for one endogenous regressor: no over-identification test, so the default
    # table printed an empty "Overidentification p-value" row; asked for, the row stays
    (tmp_path / "mroz.csv").write_bytes((PROJECT_ROOT / "data" / "mroz.csv").read_bytes())
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        CROSS_SECTION
        + "  just: {estimator: iv, y: lwage, x: [exper], endog: [educ], instruments: [motheduc]}\n"
        "tables:\n"
        "  default: {kind: iv, models: [just]}\n"
        "  asked: {kind: iv, models: [just], stats: [nobs, hansen_j_p]}\n"
        "outputs: {formats: [markdown]}\n",
        encoding="utf-8",
    )
    run_file(spec, out=tmp_path / "out")
    default = (tmp_path / "out" / "tables" / "default.md").read_text(encoding="utf-8")
    assert "Overidentification" not in default
    assert "| First-stage F |" in default and "| Endogeneity test p-value |" in default
    asked = (tmp_path / "out" / "tables" / "asked.md").read_text(encoding="utf-8")
    assert "| Overidentification p-value |  |  |" in asked


CROSS_SECTION = """\
spec_version: 1
data:
  sources:
    mroz: {path: mroz.csv}
models:
"""


def _errors(tmp_path: Path, body: str, head: str = CROSS_SECTION) -> list[str]:
    (tmp_path / "mroz.csv").write_bytes((PROJECT_ROOT / "data" / "mroz.csv").read_bytes())
    path = tmp_path / "spec.yaml"
    path.write_text(head + body, encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        validate_file(path)
    return [str(e).removeprefix(f"{path}:") for e in caught.value.errors]


def test_cross_section_rejects_panel_estimators_effects_and_clusters(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """\
  fe: {estimator: panel_fe, y: lwage, x: [educ]}
  ols: {estimator: ols, y: lwage, x: [educ], se: {cluster: entity}}
  iv: {estimator: iv, y: lwage, endog: [educ], instruments: [motheduc], effects: [entity]}
""",
    )
    assert errors == [
        "6:19: models.fe.estimator: estimator 'panel_fe' needs a panel: this spec has no "
        "data.panel (add data.panel: {source: ..., entity: ..., time: ...})",
        "7:50: models.ols.se: clustering by entity or time needs data.panel (this spec is a "
        "cross-section) (add data.panel: {source: ..., entity: ..., time: ...})",
        "8:82: models.iv.effects: fixed effects need data.panel (this spec is a "
        "cross-section); use effects: [] (add data.panel: {source: ..., entity: ..., time: ...})",
    ]


def test_cross_section_rejects_lags_and_time_windows(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """\
  ols: {estimator: ols, y: lwage, x: [educ], sample: early}
transforms:
  - lag: {vars: [educ]}
samples:
  early: {time: [null, 1975]}
""",
    )
    assert errors == [
        "8:10: transforms[0].lag: lag works within entities over time and needs data.panel "
        "(this spec is a cross-section)",
        "10:17: samples.early.time: a time window needs data.panel (this spec is a "
        "cross-section); use where:",
    ]


def test_cross_section_rejects_time_series_terms_and_driscoll_kraay(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """\
  a: {estimator: ols, y: lwage, x: [exper, L.educ]}
  b: {estimator: ols, y: lwage, x: [educ], se: {type: driscoll_kraay}}
  c: {estimator: iv, y: lwage, endog: [educ], instruments: [D.motheduc]}
  d: {estimator: ols, y: lwage, x: [educ, c.exper#c.exper]}
""",
    )
    hint = " (add data.panel: {source: ..., entity: ..., time: ...})"
    assert errors == [
        "6:44: models.a.x[1]: 'L.educ' is a lag, lead or difference, which needs data.panel "
        "(this spec is a cross-section)" + hint,
        "7:48: models.b.se: Driscoll–Kraay standard errors need data.panel (this spec is a "
        "cross-section)" + hint,
        "8:61: models.c.instruments[0]: 'D.motheduc' is a lag, lead or difference, which needs "
        "data.panel (this spec is a cross-section)" + hint,
    ]


def test_several_sources_without_panel_need_main(tmp_path: Path) -> None:
    head = """\
spec_version: 1
data:
  sources:
    mroz: {path: mroz.csv}
    other: {path: mroz.csv}
models:
"""
    errors = _errors(tmp_path, "  ols: {estimator: ols, y: lwage, x: [educ]}\n", head)
    assert len(errors) == 1
    assert (
        "without a panel, 'main' must name the source models read (there are 2 sources)"
        in (errors[0])
    )
