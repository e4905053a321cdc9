"""``over:`` families and ``variants:`` equal the same models written out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.errors import SpecErrors

SPEC = (
    GRUNFELD_HEAD
    + """\
transforms:
  - derive: {half: "firm <= 5"}
samples:
  first_half: {where: "half"}
  second_half: {where: "not half"}
  late: {time: [1940, null]}
  no_gm: {exclude: {firm: [1]}}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
  by_half: {extends: fe, over: half}
  fe_first: {extends: fe, sample: first_half}
  fe_second: {extends: fe, sample: second_half}
  fe_late: {extends: fe, sample: late}
  fe_no_gm: {extends: fe, sample: no_gm}
  fe_pooled: {extends: fe, estimator: ols, effects: null}
variants:
  fe:
    late: {sample: late}
    no_gm: {sample: {exclude: {firm: [1]}}}
    pooled: {estimator: ols, effects: null}
    trimmed: {winsorize: {vars: [inv, value], limits: [0.05, 0.95]}}
  by_half:
    late: {sample: late}
tables:
  t: {kind: regression, columns: [by_half, fe.late]}
outputs: {formats: [markdown]}
"""
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("families")
    grunfeld_project(folder, SPEC)
    return run_file(folder / "spec.yaml", folder / "out").output.results


def same(a, b) -> None:
    assert a.nobs == b.nobs
    assert set(a.coefficients) == set(b.coefficients)
    for name in a.coefficients:
        assert a.coefficients[name].estimate == pytest.approx(
            b.coefficients[name].estimate, rel=1e-12
        )
        assert a.coefficients[name].std_error == pytest.approx(
            b.coefficients[name].std_error, rel=1e-12
        )


def test_over_expands_to_one_model_per_value(results):
    assert results.families["by_half"] == ("by_half.true", "by_half.false")
    same(results.models["by_half.true"], results.models["fe_first"])
    same(results.models["by_half.false"], results.models["fe_second"])
    assert results.models["by_half.true"].nobs == 100


def test_variants_equal_hand_written_models(results):
    same(results.models["fe.late"], results.models["fe_late"])
    same(results.models["fe.no_gm"], results.models["fe_no_gm"])
    same(results.models["fe.pooled"], results.models["fe_pooled"])
    assert results.models["fe.late"].nobs == 150
    assert results.models["fe.no_gm"].nobs == 180


def test_winsorized_variant_changes_only_its_own_data(results):
    trimmed = results.models["fe.trimmed"]
    assert trimmed.nobs == 200
    assert trimmed.coefficients["value"].estimate != pytest.approx(
        results.models["fe"].coefficients["value"].estimate, rel=1e-6
    )
    # the base model still sees the raw data (R plm 2.6.2 twoways estimate)
    assert results.models["fe"].coefficients["value"].estimate == pytest.approx(0.1177158550826)


def test_unknown_group_value_table_reference_is_an_error(tmp_path: Path):
    grunfeld_project(tmp_path, SPEC.replace("[by_half, fe.late]", "[by_half.maybe]"))
    with pytest.raises(
        SpecErrors, match=r"needs model\(s\) not fitted in this run: by_half\.maybe"
    ):
        run_file(tmp_path / "spec.yaml", tmp_path / "out")


def test_a_variant_of_a_family_is_a_family(results):
    assert results.families["by_half.late"] == ("by_half.late.true", "by_half.late.false")
    assert results.models["by_half.late.true"].nobs == 75  # 5 firms, 1940-1954


def test_a_variant_named_like_a_group_value_is_an_error(tmp_path: Path):
    grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + """\
transforms:
  - derive: {half: "firm <= 5"}
models:
  fe: {estimator: panel_fe, y: inv, x: [value], over: half}
variants:
  fe:
    'true': {sample: {time: [1940, null]}}
""",
    )
    with pytest.raises(SpecErrors, match=r"two models are named 'fe\.true'"):
        run_file(tmp_path / "spec.yaml", tmp_path / "out")
