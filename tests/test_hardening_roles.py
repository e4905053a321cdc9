"""A variable in two roles of one model, and the panel's index absorbed by its column names
(issue: hardening, second round).

Each test asserts the whole message a user sees and the key it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, PROJECT_ROOT, grunfeld_project
from specrun.api import plan_file
from specrun.cli import main

ROLE = "one variable cannot take two roles (its two columns would be collinear)"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


# a name in two fields of a model: reported by validate (and run) where it is written the second
# time, naming both fields; the fit would only have said "collinear"
ROLE_CASES = {
    "threshold-regime-and-control": (
        "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        "      controls: [value], bootstrap: 0}\n",
        f"8:18: models.m.controls[0]: 'value' is in both regime_x and controls of model 'm': "
        f"{ROLE}",
    ),
    # written first in controls: the error is at regime_x, the later place
    "threshold-control-then-regime": (
        "  m: {estimator: panel_threshold, y: inv, controls: [capital, value], q: capital,\n"
        "      regime_x: [value], bootstrap: 0}\n",
        f"8:18: models.m.regime_x[0]: 'value' is in both controls and regime_x of model 'm': "
        f"{ROLE}",
    ),
    "threshold-regime-spelt-c": (
        "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        "      controls: [c.value], bootstrap: 0}\n",
        f"8:18: models.m.controls[0]: 'c.value' is in both regime_x and controls of model 'm': "
        f"{ROLE}",
    ),
    # a factorial writes its main effects: c.value##c.value is value and value², so value is
    # twice in the design (qi: it passed validate; the fit said only "collinear")
    "threshold-regime-and-factorial-control": (
        "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        '      controls: ["c.value##c.value"], bootstrap: 0}\n',
        "8:18: models.m.controls[0]: 'c.value##c.value' (which includes 'value') is in both "
        f"regime_x and controls of model 'm': {ROLE}",
    ),
    # two factorials sharing a main effect: the message names the shared term and where the
    # first writes it (qj: it named the whole first factorial as the term repeated)
    "threshold-two-factorials-share-a-term": (
        '  m: {estimator: panel_threshold, y: inv, regime_x: ["c.value##c.capital"],\n'
        '      q: capital, controls: ["c.value##c.value"], bootstrap: 0}\n',
        "8:30: models.m.controls[0]: 'c.value##c.value' (which includes 'value') is in both "
        f"regime_x (in 'c.value##c.capital') and controls of model 'm': {ROLE}",
    ),
    "mediator-in-a-factorial-of-x": (
        '  m: {estimator: mediation, y: inv, x: ["c.value##c.capital"], mediator: capital}\n',
        "7:74: models.m.mediator: 'capital' is in both x (in 'c.value##c.capital') and mediator "
        f"of model 'm': {ROLE}",
    ),
    "iv-x-and-instruments": (
        "  m: {estimator: iv, y: inv, x: [capital], endog: [value], instruments: [capital]}\n",
        f"7:74: models.m.instruments[0]: 'capital' is in both x and instruments of model 'm': "
        f"{ROLE}",
    ),
    "iv-endog-and-x": (
        "  m: {estimator: iv, y: inv, endog: [value], x: [value], instruments: [capital]}\n",
        f"7:50: models.m.x[0]: 'value' is in both endog and x of model 'm': {ROLE}",
    ),
    "iv-y-instrument": (
        "  m: {estimator: iv, y: inv, endog: [value], instruments: [inv]}\n",
        "7:60: models.m.instruments[0]: the dependent variable 'inv' is also in instruments of "
        "model 'm'",
    ),
    "mediator-in-x": (
        "  m: {estimator: mediation, y: inv, x: [value, capital], mediator: capital}\n",
        f"7:68: models.m.mediator: 'capital' is in both x and mediator of model 'm': {ROLE}",
    ),
    "mediator-is-treatment": (
        "  m: {estimator: mediation, y: inv, x: [value, capital], treatment: value,\n"
        "      mediator: value}\n",
        f"8:17: models.m.mediator: 'value' is in both treatment and mediator of model 'm': {ROLE}",
    ),
    "mediator-is-y": (
        "  m: {estimator: mediation, y: inv, x: [value], mediator: inv}\n",
        "7:59: models.m.mediator: the dependent variable 'inv' is also in mediator of model 'm'",
    ),
    "did-treat-and-post": (
        "  m: {estimator: did, y: inv, treat: value, post: value}\n",
        f"7:51: models.m.post: 'value' is in both treat and post of model 'm': {ROLE}",
    ),
    "event-study-timing-as-control": (
        "  m: {estimator: event_study, y: inv, first_treated: capital, x: [capital]}\n",
        f"7:67: models.m.x[0]: 'capital' is in both first_treated and x of model 'm': {ROLE}",
    ),
}


@pytest.mark.parametrize("case", sorted(ROLE_CASES))
def test_a_variable_in_two_roles_is_a_located_validation_error(tmp_path, capsys, case):
    body, message = ROLE_CASES[case]
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + "models:\n" + body)
    expected = (1, f"error: {spec}:{message}")
    assert run(["validate", str(spec)], capsys) == expected
    assert run(["run", str(spec)], capsys) == expected
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "body",
    [
        # xthreg's own example (Wang 2015): xthreg i q1 q2 q3 d1 qd1, rx(cf1) qx(d1): the
        # threshold variable may also be a regressor, regime-dependent or not
        "  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        "      controls: [capital], bootstrap: 0}\n",
        "  m: {estimator: panel_threshold, y: inv, regime_x: [capital], q: capital,\n"
        "      bootstrap: 0}\n",
        # the treatment is the first of x by design
        "  m: {estimator: mediation, y: inv, x: [value], treatment: value, mediator: capital}\n",
    ],
)
def test_legitimate_repeats_across_fields_validate(tmp_path, capsys, body):
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + "models:\n" + body)
    assert run(["validate", str(spec)], capsys)[0] == 0


# absorb: [省份, 年份] is absorb: [entity, time] when the panel is xtset 省份 年份

ZH_HEAD = """\
spec_version: 1
data:
  sources:
    g: {path: grunfeld_zh.csv}
  panel: {source: g, entity: 省份, time: 年份}
"""
ZH_SPEC = """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], absorb: ABSORB,
       se: {cluster: entity}}
  iv: {estimator: iv, y: inv, endog: [value], instruments: [L.value], absorb: ABSORB,
       se: {cluster: entity}}
multiverse:
  rob:
    base: fe
    focus: value
    axes:
      controls: {none: {x: [value]}, capital: {}}
      se: {entity: {}, hc1: {se: robust}}
    inference: {draws: 99, seed: 7}
tables:
  t: {kind: regression, columns: [fe, iv]}
  summary: {kind: multiverse, multiverse: rob}
outputs: {formats: [markdown, latex]}
"""


def _zh_project(folder: Path, absorb: str) -> Path:
    folder.mkdir()
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame.rename({"firm": "省份", "year": "年份"}).write_csv(folder / "grunfeld_zh.csv")
    spec = folder / "spec.yaml"
    spec.write_text(ZH_HEAD + ZH_SPEC.replace("ABSORB", absorb), encoding="utf-8")
    return spec


def test_absorbing_the_panel_columns_by_name_is_absorbing_entity_and_time(tmp_path, capsys):
    keywords = _zh_project(tmp_path / "keywords", "[entity, time]")
    columns = _zh_project(tmp_path / "columns", "[省份, 年份]")
    # the same plan, node for node: one cache entry serves both spellings
    plans = [plan_file(spec)[1] for spec in (keywords, columns)]
    assert [(n.id, n.hash) for n in plans[0].nodes] == [(n.id, n.hash) for n in plans[1].nodes]
    for spec in (keywords, columns):
        # the joint tests' entity bootstrap accepts both (it refused the column names before)
        assert run(["run", str(spec), "--out", str(spec.parent / "out")], capsys)[0] == 0
    out = [spec.parent / "out" for spec in (keywords, columns)]
    results = [json.loads((o / "results.json").read_text(encoding="utf-8")) for o in out]
    for tree in results:
        tree.pop("spec")
    assert results[0] == results[1]
    assert results[0]["models"]["fe"]["effects"] == ["entity", "time"]
    for name in ("t.md", "t.tex", "summary.md", "summary.tex"):
        assert (out[0] / "tables" / name).read_bytes() == (out[1] / "tables" / name).read_bytes()
    assert "Entity FE | Yes" in (out[1] / "tables" / "t.md").read_text(encoding="utf-8")


def test_an_interaction_with_a_panel_column_is_kept_as_written(tmp_path):
    spec = _zh_project(tmp_path / "p", "[省份, 年份]")
    spec.write_text(
        ZH_HEAD + "models:\n  fe: {estimator: panel_fe, y: inv, x: [value], "
        "absorb: [年份, 省份#capital]}\n",
        encoding="utf-8",
    )
    fit = next(n for n in plan_file(spec)[1].nodes if n.id == "fit:fe")
    # 年份 alone is the time effect; 省份#capital is an interaction, not the entity effect
    assert fit.payload["model"].spec.absorbed() == ["time", "省份#capital"]


@pytest.mark.parametrize(
    ("absorb", "column"),
    [("[entity, 省份]", 1), ("[省份, entity, 年份]", 1), ("[年份, 省份, time]", 2)],
)
def test_one_effect_in_two_spellings_is_said_at_the_later_one(tmp_path, capsys, absorb, column):
    """absorb: [entity, 省份] said "effect 'entity' is absorbed twice" at the model, naming
    neither the column nor the item; once, not again for every specification of a multiverse
    built on the model."""
    spec = _zh_project(tmp_path / "p", "[entity, time]")
    text = (
        ZH_HEAD + f"models:\n  fe: {{estimator: panel_fe, y: inv, x: [value], absorb: {absorb}}}\n"
    )
    text += "multiverse:\n  m:\n    base: fe\n    focus: value\n"
    text += "    axes: {c: {a: {}, b: {x: [value, capital]}}}\n"
    spec.write_text(text, encoding="utf-8")
    code, err = run(["validate", str(spec)], capsys)
    effect = "time" if absorb.endswith("time]") else "entity"
    name = "年份" if effect == "time" else "省份"
    line = text.splitlines()[next(i for i, s in enumerate(text.splitlines()) if "absorb" in s)]
    col = line.index("absorb: ") + len("absorb: [") + 1
    col += sum(len(item) + 2 for item in absorb.strip("[]").split(", ")[:column])
    row = text.splitlines().index(line) + 1
    assert (code, err) == (
        1,
        f"error: {spec}:{row}:{col}: models.fe.absorb[{column}]: '{name}' is the panel's "
        f"{effect} column (data.panel.{effect}), so the {effect} effect is absorbed twice: "
        "write it once",
    )
