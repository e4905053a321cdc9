"""A multiverse axis value that makes some specifications fail (an empty sample, collinear
controls): every failing fit of the run is reported at once, one error for each axis value and
message however many specifications share it, located at the axis value they all have; the
run writes nothing, and the fits that succeeded are cached for the re-run that excludes the
failing values. It once stopped at the first failing specification (one a run) and printed
each failing specification at the multiverse's line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main

SPEC = (
    GRUNFELD_HEAD
    + """\
transforms:
  - derive: {value2: value * 2}
samples:
  early: {time: [1935, 1944]}
  future: {where: "year > 3000"}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
multiverse:
  mv:
    base: fe
    focus: value
    axes:
      sample: {all: {}, early: {sample: early}, future: {sample: future}}
      controls: {capital: {}, twice: {x: [value, value2]}, none: {x: [value]}}
      se: {entity: {}, hc1: {se: robust}}
    EXCLUDE
tables:
  summary: {kind: multiverse, multiverse: mv}
outputs: {formats: [markdown]}
"""
)


@pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]])
def test_failing_axis_values_are_one_error_each_at_the_value(tmp_path: Path, capsys, jobs):
    spec = grunfeld_project(tmp_path, SPEC.replace("EXCLUDE", ""))
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["run", str(spec), "--out", str(out), "--cache", str(cache), *jobs]) == 1
    assert capsys.readouterr().err == (
        # every specification with sample=future: counted, the first named by its message
        f"error: {spec}:19:57: multiverse.mv.axes.sample.future: the 6 specifications of "
        "multiverse 'mv' with sample=future fail: model "
        "'mv[sample=future,controls=capital,se=entity]' has no rows: sample 'future' keeps "
        "none of the 200 rows (year 1935–1954) — where: year > 3000 matches no row\n"
        # some of those with controls=twice (the others have no rows): said so
        f"error: {spec}:20:38: multiverse.mv.axes.controls.twice: 4 of the 6 specifications "
        "of multiverse 'mv' with controls=twice fail (the first "
        "'mv[sample=all,controls=twice,se=entity]'): regressors are collinear once the "
        "effects are absorbed: value, value2\n"
    )
    assert not out.exists()
    # the 8 specifications that were fitted are cached: excluding the failing values, a
    # re-run fits none again
    fixed = SPEC.replace("EXCLUDE", "exclude: [{sample: future}, {controls: twice}]")
    spec.write_text(fixed, encoding="utf-8")
    assert main(["run", str(spec), "--out", str(out), "--cache", str(cache), *jobs]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    fits = [n for n in manifest["plan"] if n.startswith("fit:mv[")]
    assert len(fits) == 8 and set(fits) <= set(manifest["cache"]["reused_nodes"])


def test_one_failing_specification_is_said_as_before(tmp_path: Path, capsys):
    """A message only one specification gives is that specification's own error."""
    spec = grunfeld_project(
        tmp_path, SPEC.replace("EXCLUDE", "exclude: [{sample: future}, {se: hc1}, {sample: all}]")
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:16:5: models.mv[sample=early,controls=twice,se=entity]: regressors are "
        "collinear once the effects are absorbed: value, value2\n"
    )


THRESHOLD = (
    GRUNFELD_HEAD
    + """\
models:
  thr: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital, controls: [capital],
        bootstrap: 50, seed: 1}
multiverse:
  mv:
    base: thr
    focus: FOCUS
    axes:
      trim: {t5: {}, t10: {trim: [0.10]}}
"""
)


def test_a_threshold_base_s_focus_is_checked_by_validate(tmp_path: Path, capsys):
    """A threshold model's slopes are named by regime (value_r1, value_r2): a focus naming the
    variable passed validate, and the run said so only after fitting every specification."""
    spec = grunfeld_project(tmp_path, THRESHOLD.replace("FOCUS", "value"))
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:12:12: multiverse.mv.focus: multiverse 'mv': specification "
        "'mv[trim=t5]' has no coefficient 'value' (it has value_r1, value_r2, capital) (a "
        "threshold model's regime_x slopes are named <variable>_r1, _r2, … by regime)\n"
    )
    for focus in ("value_r2", "capital"):
        spec.write_text(THRESHOLD.replace("FOCUS", focus), encoding="utf-8")
        assert main(["validate", str(spec)]) == 0
