"""``multiverse:``: expansion, naming, validation errors, outputs, and the joint tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.cli import main
from specrun.errors import SpecErrors
from specrun.kernels.curve import (
    SharedGrams,
    joint_tests,
    null_refits,
    refits_from_grams,
    resample_grams,
)
from specrun.kernels.within import PanelIndex, multiplicities, resample_indices
from specrun.spec.validate import validate_file

AXES = {
    "sample": {"all": {}, "late": {"sample": "late"}, "no_gm": {"sample": "no_gm"}},
    "controls": {"none": {"x": ["value"]}, "capital": {}},
    "se": {"entity": {}, "hc1": {"se": "robust"}},
}
SPEC = (
    GRUNFELD_HEAD
    + """\
samples:
  late: {time: [1940, null]}
  no_gm: {exclude: {firm: [1]}}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
  thr: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital, bootstrap: 50,
        seed: 1}
multiverse:
  rob:
    base: fe
    focus: value
    axes:
      sample: {all: {}, late: {sample: late}, no_gm: {sample: no_gm}}
      controls: {none: {x: [value]}, capital: {}}
      se: {entity: {}, hc1: {se: robust}}
    exclude:
      - {sample: late, se: hc1}
    inference: {draws: 199, seed: 7}
tables:
  one: {kind: regression, columns: ["rob[sample=late,controls=none,se=entity]"]}
  summary: {kind: multiverse, multiverse: rob}
figures:
  curve: {kind: specification_curve, multiverse: rob}
outputs: {formats: [markdown]}
"""
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("multiverse")
    grunfeld_project(folder, SPEC)
    return run_file(folder / "spec.yaml", folder / "out")


def test_expansion_excludes_and_names(tmp_path: Path):
    spec = validate_file(grunfeld_project(tmp_path, SPEC))
    names = [s.name for s in spec.multiverses["rob"].specifications]
    # 3 × 2 × 2 = 12, less the two with sample=late and se=hc1; the first axis varies slowest
    assert names == [
        "rob[sample=all,controls=none,se=entity]",
        "rob[sample=all,controls=none,se=hc1]",
        "rob[sample=all,controls=capital,se=entity]",
        "rob[sample=all,controls=capital,se=hc1]",
        "rob[sample=late,controls=none,se=entity]",
        "rob[sample=late,controls=capital,se=entity]",
        "rob[sample=no_gm,controls=none,se=entity]",
        "rob[sample=no_gm,controls=none,se=hc1]",
        "rob[sample=no_gm,controls=capital,se=entity]",
        "rob[sample=no_gm,controls=capital,se=hc1]",
    ]
    model = spec.models["rob[sample=no_gm,controls=none,se=hc1]"].spec
    assert (model.sample, model.x, model.se.type) == ("no_gm", ["value"], "HC1")
    assert spec.models["rob[sample=all,controls=capital,se=entity]"].spec == spec.models["fe"].spec


def test_each_specification_equals_the_ordinary_model_with_its_overlay(run, tmp_path: Path):
    # every specification written out by hand as a model extending the base
    models = {}
    for item in run.spec.multiverses["rob"].specifications:
        body: dict = {"extends": "fe"}
        for axis, value in item.choices:
            body.update(AXES[axis][value])
        models[f"m{len(models)}"] = body
    head, _ = SPEC.split("multiverse:\n", 1)
    text = head + yaml.safe_dump({"models": models}).replace("models:\n", "", 1)
    text = text.replace("  thr:", "  thr_unused:")  # keep the other models as they were
    text += "outputs: {formats: [markdown]}\n"
    ordinary = run_file(grunfeld_project(tmp_path, text), tmp_path / "out").output.results.models
    for i, item in enumerate(run.spec.multiverses["rob"].specifications):
        mine, theirs = run.output.results.models[item.name], ordinary[f"m{i}"]
        assert mine.nobs == theirs.nobs
        for term in ("value",):
            assert mine.coefficients[term].estimate == theirs.coefficients[term].estimate
            assert mine.coefficients[term].std_error == theirs.coefficients[term].std_error


def test_parquet_rows_and_columns(run):
    frame = pl.read_parquet(run.folder / "multiverse" / "rob.parquet")
    assert frame.columns[:12] == [
        "specification",
        "sample",
        "controls",
        "se",
        "term",
        "estimate",
        "std_error",
        "stat",
        "p_value",
        "ci_low",
        "ci_high",
        "nobs",
    ]
    assert {"r2_within", "n_entities", "n_clusters"} <= set(frame.columns)
    assert frame.height == 10
    row = frame.filter(pl.col("specification") == "rob[sample=late,controls=none,se=entity]")
    model = run.output.results.models["rob[sample=late,controls=none,se=entity]"]
    assert row["estimate"][0] == model.coefficients["value"].estimate
    assert row["nobs"][0] == model.nobs == 150  # 10 firms × 1940–1954
    assert row["ci_low"][0] < row["estimate"][0] < row["ci_high"][0]


def _drawn_curve(run: Any) -> Any:
    """The curve as rendering draws and lays it out before saving it (``specrun.outputs``)."""
    from specrun.figures.files import fix_layout

    figure = run.output.figures["curve"].draw()
    fix_layout(figure)
    return figure


def test_outputs_name_a_specification_render_the_summary_and_the_curve(run):
    table = (run.folder / "tables" / "one.md").read_text()
    assert "| value |" in table
    summary = (run.folder / "tables" / "summary.md").read_text()
    assert "| Specifications | 10 |  |" in summary
    assert "Aggregate z (Stouffer)" in summary
    png = (run.folder / "figures" / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    figure = _drawn_curve(run)
    _top, bottom = figure.axes
    assert len(bottom.get_yticklabels()) == 7  # 3 samples + 2 control sets + 2 covariances
    assert bottom.get_yticklabels()[0].get_text() == "sample: all"


def test_curve_estimate_label_sits_beside_its_own_axis(run):
    # aligned with the indicator panel, the upper panel's y label was pushed out past the long
    # indicator labels ("sample: no_municipalities_pre_2020"), far from its own ticks
    figure = _drawn_curve(run)
    top, bottom = figure.axes
    figure.canvas.draw()
    label = top.yaxis.label.get_window_extent()
    indicators = max(t.get_window_extent().width for t in bottom.get_yticklabels())
    gap = top.get_window_extent().x0 - label.x1
    assert gap < indicators / 2, (gap, indicators)


def test_curve_legend_covers_no_estimate(run):
    # the key sat in the panel's upper left, over the first estimates when all are far above
    # zero; beside the panel it can cover none, whatever the estimates
    figure = _drawn_curve(run)
    top, _bottom = figure.axes
    figure.canvas.draw()
    box = top.get_legend().get_window_extent()
    assert box.x0 >= top.get_window_extent().x1
    from matplotlib.collections import LineCollection

    marks = [
        xy
        for artist in top.collections
        for xy in (
            [v for segment in artist.get_segments() for v in segment]
            if isinstance(artist, LineCollection)
            else artist.get_offsets()
        )
    ]
    points = top.transData.transform(np.asarray(marks, dtype=float))
    assert points.size and not any(box.contains(float(x), float(y)) for x, y in points)


def test_joint_tests_in_results_json_and_stable_across_runs(run, tmp_path: Path):
    import json

    stored = json.loads((run.folder / "results.json").read_text())["multiverses"]["rob"]
    assert stored["specifications"] == 10 and stored["tests"]["draws"] == 199
    again = run_file(grunfeld_project(tmp_path, SPEC), tmp_path / "out")
    assert again.output.results.artifacts["multiverse:rob"].tests == (
        run.output.results.artifacts["multiverse:rob"].tests
    )


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = grunfeld_project(tmp_path, text)
    with pytest.raises(SpecErrors) as info:
        validate_file(path)
    return [str(e) for e in info.value.errors]


def _with(old: str, new: str) -> str:
    assert old in SPEC
    return SPEC.replace(old, new)


def test_unknown_base(tmp_path: Path):
    errors = _errors(tmp_path, _with("    base: fe\n", "    base: fee\n"))
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:16:11: multiverse.rob.base: multiverse 'rob': base 'fee' is "
        "not a model (did you mean 'fe'?)"
    ]


def test_unknown_axis_value_and_axis_in_exclude(tmp_path: Path):
    errors = _errors(
        tmp_path, _with("      - {sample: late, se: hc1}", "      - {sample: lat, sd: hc1}")
    )
    spec = tmp_path / "spec.yaml"
    assert errors == [
        f"{spec}:23:18: multiverse.rob.exclude[0].sample: multiverse 'rob': exclude names "
        "unknown value 'lat' of axis 'sample' (did you mean 'late'?)",
        f"{spec}:23:23: multiverse.rob.exclude[0].sd: multiverse 'rob': exclude names unknown "
        "axis 'sd' (axes: sample, controls, se)",
    ]


def test_overlay_invalid_for_the_base_estimator_names_the_specification(tmp_path: Path):
    errors = _errors(tmp_path, _with("hc1: {se: robust}", "hc1: {se: robust, grid: 50}"))
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:21:42: multiverse.rob.axes.se.hc1.grid: unknown key 'grid' "
        "(in specification 'rob[sample=all,controls=none,se=hc1]': sample=all, controls=none, "
        "se=hc1) (valid keys: estimator, label, sample, over, center, y, x, absorb, effects, "
        "weights, singletons, tolerance, max_iterations, se)"
    ]


def test_two_axes_setting_one_key_is_an_error_once_per_pair_of_values(tmp_path: Path):
    """controls=none and se=hc1 both set x: 'rob[sample=all,controls=none,se=hc1]' fitted
    se=hc1's x alone, its name claiming controls=none (the later axis won in silence). Once
    per pair of values, not per specification; a combination excluded is no clash."""
    hc1 = "hc1: {se: robust, x: [value, capital]}"
    errors = _errors(tmp_path, _with("hc1: {se: robust}", hc1))
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:21:42: multiverse.rob.axes.se.hc1.x: multiverse 'rob': 'x' "
        "is set by both controls=none and se=hc1, so specification "
        "'rob[sample=all,controls=none,se=hc1]' would fit the latter's alone (set 'x' on one "
        "axis, or exclude the combination ({controls: none, se: hc1}))"
    ]
    text = _with("hc1: {se: robust}", hc1).replace(
        "      - {sample: late, se: hc1}", "      - {controls: none, se: hc1}"
    )
    assert validate_file(grunfeld_project(tmp_path, text)) is not None


def test_empty_product_and_everything_excluded(tmp_path: Path):
    text = _with("se: {entity: {}, hc1: {se: robust}}", "se: {}")
    errors = _errors(tmp_path, text.replace("{sample: late, se: hc1}", "{sample: late}"))
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:21:11: multiverse.rob.axes.se: multiverse 'rob': axis 'se' "
        "has no values, so the product of the axes is empty"
    ]
    errors = _errors(
        tmp_path,
        _with("      - {sample: late, se: hc1}", "      - {se: hc1}\n      - {se: entity}"),
    )
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:23:7: multiverse.rob.exclude: multiverse 'rob': exclude "
        "removes all 12 specifications"
    ]


def test_product_larger_than_the_bound(tmp_path: Path):
    values = "{" + ", ".join(f"v{i}: {{}}" for i in range(22)) + "}"
    axes = "".join(f"      a{j}: {values}\n" for j in range(3))
    text = _with(
        "      se: {entity: {}, hc1: {se: robust}}\n",
        "      se: {entity: {}, hc1: {se: robust}}\n" + axes,
    )
    errors = _errors(tmp_path, text)
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:19:7: multiverse.rob.axes: multiverse 'rob': its axes give "
        "3 × 2 × 2 × 22 × 22 × 22 = 127,776 specifications; a multiverse takes at most 10,000 "
        "(drop axis values or exclude combinations that make no sense)"
    ]


def test_base_without_a_resampling_scheme(tmp_path: Path):
    # (a threshold model's slope of value in its first regime: value_r1)
    text = _with("    base: fe\n    focus: value\n", "    base: thr\n    focus: value_r1\n")
    text = text.replace(
        "      controls: {none: {x: [value]}, capital: {}}\n      se: {entity: {}, hc1: {se: "
        "robust}}\n",
        "      controls: {a: {}, b: {grid: 100}}\n",
    ).replace("      - {sample: late, se: hc1}", "      - {sample: late, controls: b}")
    errors = _errors(tmp_path, text)
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:23:16: multiverse.rob.inference: multiverse 'rob': "
        "specification 'rob[sample=all,controls=a]': estimator 'panel_threshold' has no "
        "resampling scheme for the joint tests (they refit: ols, panel_fe)"
    ]


def test_base_absorbing_the_panel_index_by_name_is_absorbing_entity_and_time(tmp_path: Path):
    # the panel is firm × year: absorbing those columns by name is the entity and time effects,
    # which the joint tests' bootstrap refits (tests/test_hardening_roles.py compares the runs)
    base = "effects: [entity, time],\n       se: {cluster: entity}}"
    for absorb in ("[firm, year]", "[entity, year]"):
        path = grunfeld_project(
            tmp_path, _with(base, base.replace("effects: [entity, time]", f"absorb: {absorb}"))
        )
        assert validate_file(path).models["fe"].spec.absorbed() == ["entity", "time"]


def test_focus_must_be_a_regressor(tmp_path: Path):
    errors = _errors(tmp_path, _with("none: {x: [value]}", "none: {x: [capital]}"))
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:20:28: multiverse.rob.axes.controls.none.x: multiverse 'rob': "
        "focus 'value' is not a regressor of specification "
        "'rob[sample=all,controls=none,se=entity]' (x: capital)"
    ]


def test_unknown_multiverse_in_a_figure(tmp_path: Path):
    errors = _errors(
        tmp_path,
        _with("specification_curve, multiverse: rob}", "specification_curve, multiverse: robs}"),
    )
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:29:50: figures.curve.multiverse: unknown multiverse 'robs' "
        "(did you mean 'rob'?)"
    ]


# --- the joint-test kernel on simulated panels -----------------------------------------------


def _panel(rng: np.random.Generator, effect: float, n: int = 40, t: int = 8):
    entity = np.repeat(np.arange(n), t)
    time = np.tile(np.arange(t), n)
    alpha = rng.normal(size=n)[entity]
    x = alpha + rng.normal(size=n * t)
    z = rng.normal(size=n * t)  # independent of x: every specification has the same truth
    y = effect * x + 0.3 * z + alpha + 0.2 * time + rng.normal(size=n * t) * (1 + 0.5 * alpha**2)
    return entity, time, x, z, y


def _curve_tests(seed: int, effect: float, draws: int = 199):
    """Four specifications (with and without z; all entities or the first 30), two-way FE,
    tested with shared draws as ``specrun.multiverse`` does."""
    rng = np.random.default_rng(seed)
    entity, time, x, z, y = _panel(rng, effect)
    counts = multiplicities(resample_indices(40, draws, rng), 40)
    estimates, p_values, null_est, null_p = [], [], [], []
    for rows in (entity < 40, entity < 30):
        for columns in ((x,), (x, z)):
            design = np.column_stack([c[rows] for c in columns])
            index = PanelIndex.from_labels(entity[rows], time[rows])
            # the conventional fit of the observed data (design effect 1)
            xd = _within(design, entity[rows], time[rows])
            yd = _within(y[rows][:, None], entity[rows], time[rows])[:, 0]
            beta = np.linalg.lstsq(xd, yd, rcond=None)[0]
            resid = yd - xd @ beta
            se = float(np.sqrt(resid @ resid / yd.size * np.linalg.inv(xd.T @ xd)[0, 0]))
            refits = null_refits(
                y[rows],
                design,
                0,
                index,
                entity_effects=True,
                time_effects=True,
                reported_estimate=float(beta[0]),
                reported_se=se,
                multiplicities=counts[:, np.unique(entity[rows])],
            )
            from scipy import stats

            estimates.append(beta[0])
            p_values.append(2 * stats.norm.sf(abs(beta[0] / se)))
            null_est.append(refits.estimates)
            null_p.append(2 * stats.norm.sf(np.abs(refits.estimates / refits.std_errors)))
    return joint_tests(
        np.array(estimates),
        np.array(p_values),
        np.column_stack(null_est),
        np.column_stack(null_p),
        direction="positive",
        alpha=0.05,
    )


def _within(values: np.ndarray, entity: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Two-way demeaning of a balanced block by the textbook formula x − x̄ᵢ − x̄ₜ + x̄."""
    out = values.copy()
    for codes in (entity, time):
        means = np.zeros((codes.max() + 1, values.shape[1]))
        np.add.at(means, codes, out)
        out = out - (means / np.bincount(codes)[:, None])[codes]
    return out


def test_joint_test_p_values_under_a_simulated_null_are_roughly_uniform():
    p = np.array(
        [
            [t.p_median, t.p_aggregate_z]
            for t in (_curve_tests(seed, 0.0, draws=99) for seed in range(40))
        ]
    )
    # uniform p-values have mean 1/2 and put 10 % below 0.1; 40 replications, loose bounds
    assert 0.3 < p.mean() < 0.7
    assert (p < 0.1).mean() < 0.25
    assert (p > 0.5).mean() > 0.25


def test_joint_test_p_values_under_a_strong_effect_are_small():
    tests = _curve_tests(1, 0.5)
    assert tests.n_significant == 4 and tests.direction == "positive"
    assert tests.p_median < 0.01
    # conventional SEs under heteroskedastic errors let a few null draws reach 4 of 4
    assert tests.p_significant < 0.05
    assert tests.p_aggregate_z < 0.01


def test_a_null_draw_equals_an_explicit_refit_of_the_resampled_null_data():
    rng = np.random.default_rng(3)
    entity, time, x, z, y = _panel(rng, 0.4, n=12, t=5)
    design = np.column_stack([x, z])
    index = PanelIndex.from_labels(entity, time)
    xd = _within(design, entity, time)
    yd = _within(y[:, None], entity, time)[:, 0]
    beta = np.linalg.lstsq(xd, yd, rcond=None)[0]
    drawn = resample_indices(12, 3, rng)
    refits = null_refits(
        y,
        design,
        0,
        index,
        entity_effects=True,
        time_effects=True,
        reported_estimate=float(beta[0]),
        reported_se=0.1,
        multiplicities=multiplicities(drawn, 12),
    )
    null = y - beta[0] * x
    for b in range(3):
        # every drawn copy is a distinct entity with its own effect (the cluster bootstrap)
        rows = np.concatenate([np.flatnonzero(entity == g) for g in drawn[b]])
        copies = np.repeat(np.arange(12), 5)
        xs = _within(design[rows], copies, time[rows])
        ys = _within(null[rows][:, None], copies, time[rows])[:, 0]
        assert refits.estimates[b] == pytest.approx(np.linalg.lstsq(xs, ys, rcond=None)[0][0])


def test_other_estimators_as_bases(tmp_path: Path):
    # a mediation's indirect effect and one coefficient of one of its parts; an ols base with
    # the joint tests (its refits carry an intercept instead of absorbed effects)
    text = (
        GRUNFELD_HEAD
        + """\
samples:
  late: {time: [1940, null]}
models:
  med: {estimator: mediation, y: inv, x: [value], mediator: capital, effects: [entity, time],
        se: {cluster: entity}, bootstrap: 49, seed: 3}
  pooled: {estimator: ols, y: inv, x: [value, capital], se: {cluster: entity}}
multiverse:
  indirect:
    base: med
    focus: indirect
    axes:
      sample: {all: {}, late: {sample: late}}
  outcome:
    base: med
    focus: outcome.value
    axes:
      sample: {all: {}, late: {sample: late}}
  ols:
    base: pooled
    focus: value
    axes:
      sample: {all: {}, late: {sample: late}}
      controls: {none: {x: [value]}, capital: {}}
    inference: {draws: 99, seed: 2}
outputs: {formats: [markdown]}
"""
    )
    results = run_file(grunfeld_project(tmp_path, text), tmp_path / "out").output.results
    models = results.models
    indirect = results.artifacts["multiverse:indirect"].curve
    assert indirect["term"].to_list() == ["indirect", "indirect"]
    assert (
        indirect["estimate"][1] == models["indirect[sample=late]"].coefficients["indirect"].estimate
    )
    outcome = results.artifacts["multiverse:outcome"].curve
    assert (
        outcome["estimate"][0]
        == models["outcome[sample=all].outcome"].coefficients["value"].estimate
    )
    tests = results.artifacts["multiverse:ols"].tests
    assert tests is not None and tests.draws == 99 and tests.n_significant == 4


def test_readme_multiverse_validates():
    from specrun.spec.load import load_text
    from specrun.spec.validate import validate
    from test_readme import PROJECT_ROOT, yaml_blocks

    spec_text = yaml_blocks()[0]
    block = next(b for b in yaml_blocks() if b.startswith("multiverse:"))
    section, outputs = block.split("tables:\n", 1)
    tables, figures = outputs.split("figures:\n")
    text = spec_text.replace("tables:\n", "tables:\n" + tables, 1) + section
    text += "figures:\n" + figures
    spec = validate(load_text(text, str(PROJECT_ROOT / "specs" / "readme.yaml")))
    assert len(spec.multiverses["robustness"].specifications) == 2 * 2 * 2 * 2 - 4
    assert "robustness[sample=pre_2020,controls=all,winsorize=p1,se=entity]" in spec.models


def test_joint_tests_rebuild_designs_fitted_elsewhere(run):
    # the fits ran on a runner (or came from the cache): the joint tests rebuild each design
    from specrun.execute import Executor
    from specrun.multiverse import run_multiverse

    executor = Executor(run.spec, run.plan)
    executor.run()
    again = run_multiverse(executor, run.spec.multiverses["rob"])
    assert again.tests == run.output.results.artifacts["multiverse:rob"].tests


@pytest.mark.parametrize("effects", [(True, True), (True, False), (False, False)])
def test_a_sub_block_of_a_wider_gram_refits_the_narrower_specification(effects):
    # specifications differing only in their controls share one Gram product of the draws
    rng = np.random.default_rng(11)
    entity, time, x, z, y = _panel(rng, 0.4, n=15, t=6)
    wide = np.column_stack([x, z, rng.normal(size=x.size)])
    index = PanelIndex.from_labels(entity, time)
    counts = multiplicities(resample_indices(15, 7, rng), 15)
    entity_effects, time_effects = effects
    grams = resample_grams(
        np.column_stack([y, wide]),
        index,
        entity_effects=entity_effects,
        time_effects=time_effects,
        multiplicities=counts,
    )
    pick = [0, 1, 3]  # y, x and the third column: the narrower specification
    block = grams[:, pick][:, :, pick]
    observed = float(np.linalg.solve(block[0, 1:, 1:], block[0, 1:, 0])[0])
    own = null_refits(
        y,
        wide[:, [0, 2]],
        0,
        index,
        entity_effects=entity_effects,
        time_effects=time_effects,
        reported_estimate=observed,
        reported_se=0.1,
        multiplicities=counts,
    )
    shared = refits_from_grams(
        block,
        np.bincount(index.entity).astype(float),
        0,
        reported_estimate=observed,
        reported_se=0.1,
        multiplicities=counts,
    )
    assert shared.estimates.shape == (7,)
    np.testing.assert_allclose(shared.estimates, own.estimates, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(shared.std_errors, own.std_errors, rtol=1e-10)
    assert abs(shared.design_effect - own.design_effect) <= 1e-10 * own.design_effect


@pytest.mark.parametrize("balanced", [True, False])
def test_shared_grams_equal_each_design_s_own_product(balanced: bool):
    # designs on the same rows (some columns winsorized, others not; shuffled rows; a sample
    # of some of the drawn entities) read cached column and pair sums: each Gram equals the
    # design's own resample_grams to rounding
    rng = np.random.default_rng(5)
    entity, time, x, z, y = _panel(rng, 0.4, n=14, t=6)
    keep = np.ones(entity.size, dtype=bool) if balanced else rng.random(entity.size) > 0.2
    keep &= entity >= 2  # entities 0 and 1 are drawn but not in the sample
    order = rng.permutation(int(keep.sum()))
    entity, time, x, z, y = (v[keep][order] for v in (entity, time, x, z, y))
    index = PanelIndex.from_labels(entity, time)
    assert index.balanced is balanced and index.n_entities == 12
    counts = multiplicities(resample_indices(14, 9, rng), 14)
    weights = np.vstack([np.ones((1, 14)), counts])
    shared = SharedGrams(index, weights, units=np.arange(2, 14))
    clipped = [np.clip(v, *np.quantile(v, [0.05, 0.95])) for v in (y, x)]
    designs = [[y, x, z], [*clipped, z], [y, x], [*clipped, z, x * z], [y, x, z, x.copy()]]
    for columns in designs:
        for entity_effects, time_effects in [(1, 1), (1, 0), (0, 1), (0, 0)]:
            got = shared.grams(
                columns, entity_effects=bool(entity_effects), time_effects=bool(time_effects)
            )
            want = resample_grams(
                np.column_stack(columns),
                index,
                entity_effects=bool(entity_effects),
                time_effects=bool(time_effects),
                multiplicities=counts[:, 2:],
            )
            assert got.shape == (10, len(columns), len(columns))
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    if balanced:  # 15 distinct pairs of the 6 distinct columns, swept and not
        assert len(shared._pairs) == 2 * 15


def test_specifications_on_the_same_rows_share_one_rebuilt_design(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # controls and effects change no row: each sample's design is rebuilt once for the joint
    # tests (its widest controls; the entity-only and two-way Grams from one set of swept
    # blocks), and the tests equal those of every specification rebuilding its own
    import specrun.execute as execute
    import specrun.multiverse as multiverse_module
    from specrun.execute import Executor
    from specrun.multiverse import run_multiverse

    text = SPEC.replace(
        "      se: {entity: {}, hc1: {se: robust}}\n",
        "      effects: {two_way: {}, entity: {effects: [entity]}}\n"
        "      se: {entity: {}, hc1: {se: robust}}\n",
    ).replace("controls=none,se=entity", "controls=none,effects=entity,se=entity")
    project = grunfeld_project(tmp_path, text)
    rebuilt: list[str] = []
    real = execute.model_design
    monkeypatch.setattr(
        execute,
        "model_design",
        lambda model, frame: rebuilt.append(model.name) or real(model, frame),
    )
    run = run_file(project, tmp_path / "out")
    shared = run.output.results.artifacts["multiverse:rob"].tests
    assert len(run.spec.multiverses["rob"].specifications) == 20
    assert len(rebuilt) == 3  # one per sample
    assert all("controls=capital" in name for name in rebuilt)

    monkeypatch.setattr(multiverse_module, "_holders", lambda members: list(range(len(members))))
    monkeypatch.setattr(multiverse_module, "_KEPT_DESIGNS", 0)
    rebuilt.clear()
    executor = Executor(run.spec, run.plan)
    executor.run()
    rebuilt.clear()
    alone = run_multiverse(executor, run.spec.multiverses["rob"]).tests
    assert len(rebuilt) == 20
    assert alone == shared


def test_the_curve_and_its_tests_come_from_the_cache_until_the_multiverse_changes(
    tmp_path: Path,
):
    import json

    spec = grunfeld_project(tmp_path, SPEC)
    first = run_file(spec, tmp_path / "a", cache=tmp_path / "cache")
    assert "multiverse:rob" in first.summary.cache.computed
    # another table: the fits and the curve (with its 199 null draws) are reused
    spec.write_text(SPEC.replace("controls=none,se=entity", "controls=capital,se=entity"))
    second = run_file(spec, tmp_path / "b", cache=tmp_path / "cache")
    assert "multiverse:rob" in second.summary.cache.reused
    curve = "multiverse/rob.parquet"
    assert (tmp_path / "b" / curve).read_bytes() == (tmp_path / "a" / curve).read_bytes()
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "outputs_reused" not in manifest["cache"]
    # another seed of the joint tests: the curve node is recomputed, the fits are not
    spec.write_text(SPEC.replace("seed: 7", "seed: 8"))
    third = run_file(spec, tmp_path / "c", cache=tmp_path / "cache")
    assert "multiverse:rob" in third.summary.cache.computed
    assert not [n for n in third.summary.cache.computed if n.startswith("fit:")]


def test_a_focus_no_specification_has_is_reported_once_at_focus(tmp_path: Path):
    # before: one error per axis value that writes x, each at that x and none at the typo
    errors = _errors(tmp_path, _with("    focus: value\n", "    focus: valeu\n"))
    assert len(errors) == 1
    assert errors[0].endswith(
        "multiverse.rob.focus: multiverse 'rob': focus 'valeu' is a regressor of no "
        "specification (did you mean 'value'?)"
    )


def test_the_joint_tests_note_follows_the_output_language(tmp_path: Path):
    # a language: zh manuscript printed the Chinese summary table under an English note
    spec = grunfeld_project(
        tmp_path,
        SPEC.replace(
            "outputs: {formats: [markdown]}", "outputs: {formats: [markdown], language: zh}"
        ),
    )
    for out in ("a", "b"):  # b: the curve and its tests come from the cache
        run_file(spec, tmp_path / out, cache=tmp_path / "cache")
        summary = (tmp_path / out / "tables" / "summary.md").read_text(encoding="utf-8")
        assert "Joint tests of" not in summary
        assert "（y − β̂·value）按个体聚类自助抽样199次" in summary
        assert "随机种子7；" in summary
        # the observed statistics' column is not headed 观测值, which in Chinese tables is N
        assert "|  | 实际值 | 原假设下p值 |" in summary and "观测值" not in summary
        # full-width brackets in a Chinese label, as 合并z值（Stouffer）
        assert "| 显著的比例（p \\< 0.05） |" in summary


def test_without_inference_the_summary_has_no_empty_p_value_column(tmp_path: Path):
    # a multiverse without inference: printed a "p-value under the null" column left blank
    text = SPEC.replace("    inference: {draws: 199, seed: 7}\n", "").replace(
        "outputs: {formats: [markdown]}", "outputs: {formats: [markdown, latex, docx, xlsx]}"
    )
    assert "inference" not in text
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out")
    table = run.output.tables["summary"]
    assert table.n_columns == 1
    assert [c.text for c in table.header[0].cells] == ["Observed"]
    assert all(len(r.cells) == 1 for b in table.blocks for r in b.rows)
    summary = (tmp_path / "out" / "tables" / "summary.md").read_text(encoding="utf-8")
    assert "|  | Observed |\n" in summary and "| Specifications | 10 |\n" in summary
    assert "p-value" not in summary and "Joint tests" not in summary
    tex = (tmp_path / "out" / "tables" / "summary.tex").read_text(encoding="utf-8")
    assert "\\begin{tabular}{lD{.}{.}{-1}}" in tex and "& \\multicolumn{1}{c}{Observed} \\\\" in tex


def test_a_multiverse_with_a_type_error_is_its_one_error(tmp_path: Path):
    # a table naming one of its specifications was also reported, as an "unknown model"
    errors = _errors(tmp_path, _with("draws: 199", "draws: 19"))
    assert len(errors) == 1, errors
    assert (
        "multiverse.rob.inference.draws: input should be greater than or equal to 99" in (errors[0])
    )


def _resolved_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, int]]:
    """The spec's models (every part that identifies a resolved model) and how many whole
    overlays built them, resolved per axis value (``value_overlays``) and per combination."""
    from specrun.spec.resolve import ModelResolver

    overlay = ModelResolver.overlay
    out = []
    for per_value in (True, False):
        monkeypatch.setattr(ModelResolver, "per_value", per_value)
        calls = [0]

        def counted(self: Any, *args: Any, _calls: list[int] = calls, **kwargs: Any) -> Any:
            _calls[0] += 1
            return overlay(self, *args, **kwargs)

        monkeypatch.setattr(ModelResolver, "overlay", counted)
        try:
            models = validate_file(path).models
            found: Any = {
                name: (
                    m,  # name, spec, path, transforms, base
                    m.spec.model_dump(),
                    m.spec.model_fields_set,
                    dict(m.origins),
                    m.step_paths,
                )
                for name, m in models.items()
            }
        except SpecErrors as exc:
            found = [(str(e), e.hint) for e in exc.errors]
        out.append((found, calls[0]))
        monkeypatch.undo()
    return out


def _bench_spec(count: int, change: int | None = None) -> str:
    import importlib.util

    loader = importlib.util.spec_from_file_location(
        "bench_multiverse", Path(__file__).resolve().parents[1] / "bench" / "multiverse.py"
    )
    assert loader is not None and loader.loader is not None
    bench = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(bench)
    return bench.spec_text(count, change)  # type: ignore[no-any-return]


def test_per_value_resolution_equals_the_whole_overlays(tmp_path: Path, monkeypatch):
    """Every multiverse of specs/ and of the benchmark (as run and after its one-value change)
    resolves to the same models per axis value as per combination, with far fewer overlays."""
    root = Path(__file__).resolve().parents[1]
    specs = [p for p in sorted((root / "specs").glob("*.yaml")) if "\nmultiverse:" in p.read_text()]
    assert specs, "specs/ has a multiverse"
    for i, text in enumerate([_bench_spec(2000), _bench_spec(2000, 0)]):
        specs.append(tmp_path / f"bench{i}.yaml")
        specs[-1].write_text(text, encoding="utf-8")
    (tmp_path / "grunfeld").mkdir()
    specs.append(grunfeld_project(tmp_path / "grunfeld", SPEC))
    for path in specs:
        (per_value, few), (whole, many) = _resolved_both_ways(path, monkeypatch)
        assert isinstance(per_value, dict) and per_value == whole, path
        # one overlay of the base alone and one per axis value, not one per combination
        assert few < many, path
        if path.name.startswith("bench"):  # 21 windows, 32 control sets, 3 SE: 2,016
            assert many - few == 2016 - (1 + 21 + 32 + 3), path


def test_a_bad_column_in_one_axis_value_is_reported_once_where_it_is_written(
    tmp_path: Path, monkeypatch
):
    # one axis value of a multiverse of 10 specifications names a column the data lack
    text = SPEC.replace("capital: {}}", "capital: {x: [value, capitl]}}")
    path = grunfeld_project(tmp_path, text)
    (per_value, _), (whole, _) = _resolved_both_ways(path, monkeypatch)
    assert per_value == whole
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "capitl" in t)
    column = text.splitlines()[line - 1].index("capitl") + 1
    assert [(m.split("spec.yaml:")[1], hint) for m, hint in per_value if "capitl" in m] == [
        (
            f"{line}:{column}: multiverse.rob.axes.controls.capital.x[1]: unknown variable "
            "'capitl' (did you mean 'capital'?)",
            "did you mean 'capital'?",
        )
    ]


def test_a_note_of_an_axis_value_is_in_the_manifest_once(tmp_path: Path):
    # eight specifications winsorize alike; the manifest listed the same note each time. The
    # late ones clip at the quantiles of all 200 rows (10 each side), as the docs say: a
    # value's transforms run on the whole panel before the sample keeps its rows
    import json

    text = (
        GRUNFELD_HEAD
        + """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], se: {cluster: entity}}
multiverse:
  rob:
    base: fe
    focus: value
    axes:
      controls: {none: {x: [value]}, capital: {}}
      sample: {all: {}, late: {sample: {time: [1940, null]}}}
      winsorize: {none: {}, p5: {winsorize: {vars: [inv], limits: [0.05, 0.95]}}}
outputs: {formats: [markdown]}
"""
    )
    run_file(grunfeld_project(tmp_path, text), out=tmp_path / "out")
    notes = json.loads((tmp_path / "out" / "manifest.json").read_text())["notes"]
    assert notes == [
        "multiverse.rob.axes.winsorize.p5 winsorize: inv: 10 values raised to the 0.05 "
        "quantile and 10 lowered to the 0.95 quantile"
    ]


@pytest.mark.parametrize(
    ("language", "ylabel", "tick"),
    [("zh", "市值（区制2）", "样本：全部"), ("en", "Market value, regime 2", "样本: 全部")],
)
def test_a_threshold_curve_names_its_regime_focus(
    tmp_path: Path, language: str, ylabel: str, tick: str
):
    # a curve of a threshold model's value_r2 titled its axis 'value_r2' (the regime's bounds
    # differ between its specifications, so the regime's number names it), and the Chinese
    # choices read '样本: 全部' with a half-width colon after Chinese text
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "variables:\n"
        + "  value: {label: {en: Market value, zh: 市值}}\n"
        + "models:\n"
        + "  thr: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + "        bootstrap: 0}\n"
        + "multiverse:\n"
        + "  mv:\n"
        + "    base: thr\n"
        + "    focus: value_r2\n"
        + "    axes:\n"
        + "      样本: {全部: {}, 后期: {sample: {time: [1940, null]}}}\n"
        + "figures:\n"
        + "  curve: {kind: specification_curve, multiverse: mv}\n"
        + f"outputs: {{formats: [markdown], language: {language}}}\n",
    )
    run = run_file(spec, tmp_path / "out")
    top, bottom = run.output.figures["curve"].draw().axes[:2]
    assert top.get_ylabel().split("\n")[0] == ylabel
    assert bottom.get_yticklabels()[0].get_text() == tick


@pytest.mark.parametrize(("draws", "hinted"), [(50, True), (0, False)])
def test_a_bootstrapping_threshold_base_is_hinted_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], draws: int, hinted: bool
):
    # every specification of a threshold base bootstrapped its F tests, which the curve never
    # reads: a curve of Hansen's model ran 300 draws per test in each of 216 specifications
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n"
        + "  thr: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,\n"
        + f"        bootstrap: {draws}}}\n"
        + "multiverse:\n"
        + "  mv:\n"
        + "    base: thr\n"
        + "    focus: value_r1\n"
        + "    axes:\n"
        + "      sample: {all: {}, late: {sample: {time: [1940, null]}}}\n"
        + "      grid: {g50: {grid: 50}, g100: {grid: 100}}\n",
    )
    hints = [str(h) for h in validate_file(spec).hints]
    expected = (
        f"{spec}:8:20: models.thr.bootstrap: multiverse 'mv': its threshold specifications "
        f"bootstrap their threshold tests (bootstrap: {draws} each), which the curve does not "
        "read: bootstrap: 0 on the base, or in an axis' values, fits them without"
    )
    assert hints == ([expected] if hinted else [])
    # run says it too, after the run's warnings: most users only ever run
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hint")]
    assert said == ([f"hint: {expected}"] if hinted else [])


@pytest.mark.parametrize(
    ("language", "note"),
    [
        (
            "en",
            "Estimates of the coefficient of Market value in 4 specifications (sample × controls).",
        ),
        ("zh", "估计值为市值的系数，共4个规格（sample×controls）。"),
    ],
)
def test_a_multiverse_table_says_what_its_estimates_are_of(
    tmp_path: Path, language: str, note: str
):
    # the table printed a median estimate and shares of significant ones without naming the
    # coefficient or the choices crossed
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "variables:\n"
        + "  value: {label: {en: Market value, zh: 市值}}\n"
        + "models:\n"
        + "  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}\n"
        + "multiverse:\n"
        + "  mv:\n"
        + "    base: fe\n"
        + "    focus: value\n"
        + "    axes:\n"
        + "      sample: {all: {}, late: {sample: {time: [1940, null]}}}\n"
        + "      controls: {none: {x: [value]}, capital: {}}\n"
        + "tables:\n"
        + "  summary: {kind: multiverse, multiverse: mv}\n"
        + f"outputs: {{formats: [markdown], language: {language}}}\n",
    )
    run = run_file(spec, tmp_path / "out")
    assert run.output.tables["summary"].notes[0] == note
