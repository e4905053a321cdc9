"""Hostile inputs to the features merged together (absorb, se, weights, terms, IV/DID, output).

Each test asserts the whole message a user sees; before each fix the input crashed (exit 3).
"""

from __future__ import annotations

import json

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip()


def test_an_outcome_absorbed_by_the_effects_is_named(tmp_path, capsys):
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n  - derive: {fy: firm * 2}\n"
        + "models:\n  m: {estimator: panel_fe, y: fy, x: [value], absorb: [entity, time]}\n",
    )
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:9:6: models.m: the dependent variable 'fy' is absorbed by the fixed "
        "effect 'entity'",
    )


DID_DATA = (
    "transforms:\n  - derive: {tr: 'if_else(firm <= 6, 1, 0)', "
    "half: 'if_else(firm <= 3, 1945.5, 0)', "
    "moving: 'if_else(firm <= 3, if_else(year < 1940, 1945, 1950), 0)', "
    "index: 'if_else(firm <= 3, 5, 0)'}\n"
)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "{estimator: did, y: inv, treat: tr, first_treated: moving}",
            "'moving' varies within a unit (firm 1); it must be the unit's first treated period",
        ),
        (
            "{estimator: event_study, y: inv, first_treated: moving, window: [-3, 3]}",
            "'moving' varies within a unit (firm 1); it must be the unit's first treated period",
        ),
        (
            "{estimator: did, y: inv, treat: tr, first_treated: half}",
            "'half' is 1945.5 for firm 1: a first treated period is a whole period number "
            "(missing or 0: never treated)",
        ),
        (
            "{estimator: event_study, y: inv, first_treated: half, window: [-3, 3]}",
            "'half' is 1945.5 for firm 1: a first treated period is a whole period number "
            "(missing or 0: never treated)",
        ),
        # a treatment indicator, or a period index, where the period is wanted: before, did
        # said "'did' is absorbed by the fixed effect 'entity'"
        (
            "{estimator: did, y: inv, treat: tr, first_treated: tr}",
            "'tr' is before the panel's first period (1935) for every treated unit: "
            "first_treated is the period a unit is first treated (one of the panel's, "
            "1935–1954), 0 or missing for never treated; 'tr' holds only 0 and 1, a treatment "
            "indicator (name the column holding each unit's first treated period, or build it: "
            "the earliest period in which the indicator is 1)",
        ),
        (
            "{estimator: event_study, y: inv, first_treated: index, window: [-3, 3]}",
            "'index' is before the panel's first period (1935) for every treated unit: "
            "first_treated is the period a unit is first treated (one of the panel's, "
            "1935–1954), 0 or missing for never treated",
        ),
    ],
)
def test_a_first_treated_period_that_is_not_one_per_unit_is_an_error(
    tmp_path, capsys, model, message
):
    # Before: did fitted 1(t ≥ first_treated) row by row and exited 0 with a wrong coefficient;
    # event_study said "'rel-3' is constant in the sample".
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + DID_DATA + f"models:\n  m: {model}\n")
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:9:6: models.m: {message}",
    )


MODERATED = (
    "models:\n  m: {estimator: panel_fe, y: inv, x: ['c.value##c.capital'], absorb: [entity]}\n"
)


@pytest.mark.parametrize(
    ("factor", "message"),
    [
        (".inf", "input should be a finite number, got inf"),  # was an OverflowError (exit 3)
        (".nan", "input should be a finite number, got nan"),  # was a ValueError (exit 3)
        ("0", "input should be greater than 0, got 0"),  # printed every estimate as 0.000
        ("-1", "input should be greater than 0, got -1"),  # printed negative standard errors
    ],
)
def test_a_scale_factor_is_positive_and_finite(tmp_path, capsys, factor, message):
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + MODERATED
        + f"tables:\n  t: {{kind: regression, columns: [m], scale: {{value: {factor}}}}}\n",
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:54: tables.t.scale.value: {message}",
    )


@pytest.mark.parametrize(
    "item",
    [
        "tables:\n  t: {kind: margins, model: m, dydx: nope, at: {capital: [p50]}}\n",
        "figures:\n  t: {kind: margins, model: m, dydx: nope, over: capital}\n",
    ],
)
def test_margins_of_a_variable_not_in_the_model_is_an_error(tmp_path, capsys, item):
    # Before: exit 0 with dy/dx 0.000 (0.000) and a Johnson–Neyman "significant" interval;
    # then validate passed it and only run said it, located at the table, not at its dydx.
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MODERATED + item)
    section = item.split(":")[0]
    message = f"error: {spec}:9:38: {section}.t.dydx: dydx: 'nope' is not a regressor of model 'm'"
    assert run(["validate", str(spec)], capsys) == (1, message)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (1, message)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "tables:\n  t: {kind: margins, model: m, dydx: value, at: {inv: [p50]}}\n",
            "9:49: tables.t.at: dydx: 'value' interacts with capital in model 'm' "
            "('c.value#c.capital'): give capital in at:",
        ),
        (
            "tables:\n  t: {kind: margins, model: m, dydx: value, at: {capitl: [p50]}}\n",
            "9:58: tables.t.at.capitl: at: 'capitl' is not a continuous variable of model "
            "'m' (did you mean 'capital'?)",
        ),
        (
            "figures:\n  t: {kind: margins, model: m, dydx: value, over: inv}\n",
            "9:51: figures.t.over: dydx: 'value' interacts with capital in model 'm' "
            "('c.value#c.capital'): a margins figure varies one moderator, so over: must be "
            "capital",
        ),
        (
            "figures:\n  t: {kind: margins, model: m, dydx: value, over: firm}\n",
            "9:51: figures.t.over: over: 'firm' is not a continuous variable of model 'm'",
        ),
    ],
)
def test_margins_moderators_are_checked_by_validate(tmp_path, capsys, item, message):
    # validate passed each of these; run then failed on the first, at the table's name, and
    # a figure was told to "give it in at:", a key figures do not have
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MODERATED + item)
    assert run(["validate", str(spec)], capsys) == (1, f"error: {spec}:{message}")


def test_a_coefplot_variable_missing_from_a_model_is_found_by_validate(tmp_path, capsys):
    # validate passed it; run said "model 'm2' has no coefficient 'capital'" at the figure
    items = (
        "  m2: {estimator: ols, y: inv, x: [value]}\n"
        "figures:\n  f: {kind: coefplot, models: [m, m2], variable: capital}\n"
        "  g: {kind: coefplot, models: [m, m2], variable: value}\n"
    )
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MODERATED + items)
    message = f"error: {spec}:10:50: figures.f.variable: model 'm2' has no coefficient 'capital'"
    assert run(["validate", str(spec)], capsys) == (1, message)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (1, message)


def test_a_kind_reading_other_models_is_named_with_its_article(tmp_path, capsys):
    # "a event_study figure reads event_study models"
    items = "figures:\n  f: {kind: event_study, model: m}\n"
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MODERATED + items)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:33: figures.f.model: an event_study figure reads event_study "
        "models; 'm' is panel_fe",
    )


def test_margins_of_a_moderated_regressor_still_validate(tmp_path, capsys):
    items = (
        "tables:\n  t: {kind: margins, model: m, dydx: value, at: {capital: [p10, p90]}}\n"
        "figures:\n  f: {kind: margins, model: m, dydx: capital, over: value}\n"
    )
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + MODERATED + items)
    assert run(["validate", str(spec)], capsys) == (0, "")


@pytest.mark.parametrize(
    ("model", "key", "col"),
    [
        (
            "{estimator: ols, y: inv, x: [value], se: {cluster: entity, bootstrap: "
            "{draws: 1000000000000, seed: 1}}}",
            "se.bootstrap.draws",
            84,
        ),
        (
            "{estimator: did, y: inv, treat: tr, post: po, placebo: "
            "{draws: 1000000000000, permute: units, seed: 1}}",
            "placebo.draws",
            69,
        ),
    ],
)
def test_resampling_draws_are_bounded_at_validation(tmp_path, capsys, model, key, col):
    # 10¹² draws used to pass validate and exhaust memory at run (exit 3)
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - derive: {tr: 'if_else(firm <= 5, 1, 0)', "
        "po: 'if_else(year >= 1945, 1, 0)'}\n" + f"models:\n  m: {model}\n",
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:{col}: models.m.{key}: input should be less than or equal to 100000, "
        "got 1000000000000",
    )


def test_random_and_between_effects_need_a_panel_at_validation(tmp_path, capsys):
    spec = grunfeld_project(
        tmp_path,
        "spec_version: 1\ndata:\n  sources:\n    g: {path: grunfeld.csv}\n"
        "models:\n  re: {estimator: panel_re, y: inv, x: [value]}\n",
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:6:19: models.re.estimator: estimator 'panel_re' needs a panel: this spec "
        "has no data.panel (add data.panel: {source: ..., entity: ..., time: ...})",
    )


def test_a_negative_threshold_variance_is_named_not_a_numpy_warning(tmp_path, capsys):
    # 2 entities, 20 years with time effects and 4 regimes: the entity-clustered covariance
    # (rank <= 2 for 23 coefficients) rounds some variances below zero. Their standard errors
    # were left empty in silence, beside a raw "RuntimeWarning: invalid value encountered".
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "samples:\n  two: {where: firm <= 2}\n"
        + "models:\n  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,"
        + " max_thresholds: 3, grid: 10, bootstrap: 0, time_effects: true, se: cluster,"
        + " sample: two}\n",
    )
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    # which of the regimes' variances (each zero up to rounding, about ±1e-19) falls below zero
    # depends on the order of the sums and on the CPU's BLAS kernels: the warning names exactly
    # those whose standard error results.json leaves empty
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    coefficients = results["models"]["m"]["coefficients"]
    empty = [name for name, c in coefficients.items() if c["std_error"] is None]
    assert empty and all(name.startswith("value_r") for name in empty)
    assert (code, err) == (
        0,
        "warning: model 'm': only 2 clusters: clustered standard errors are unreliable with "
        "fewer than about 10 (Cameron and Miller 2015)\n"
        "warning: model 'm': the covariance (clustered by entity) gives a negative variance "
        f"for {', '.join(empty)}: its standard error, t and p are left empty",
    )
