"""The panel's index named by its columns in ``se: {cluster: …}``, and an item written twice in a
model's list (issue: hardening, third round).

Each test asserts the whole message a user sees and the key it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from specfiles import GRUNFELD_HEAD, PROJECT_ROOT, grunfeld_project
from specrun.api import plan_file, run_file
from specrun.cli import main

ZH_HEAD = """\
spec_version: 1
data:
  sources:
    g: {path: grunfeld_zh.csv}
  panel: {source: g, entity: 省份, time: 年份}
"""
# every estimator that clusters, clustered by the entity (ENTITY), both dimensions (BOTH), and a
# multiverse axis that sets se:
CLUSTERED = """\
transforms:
  - derive: {treated: "省份 <= 3", cohort: "if_else(省份 <= 3, 1945, 0)"}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], se: {cluster: ENTITY}}
  fe2: {estimator: panel_fe, y: inv, x: [value, capital], se: {cluster: BOTH}}
  tsls: {estimator: iv, y: inv, x: [capital], endog: [value], instruments: [L.value],
         effects: [entity], se: {cluster: ENTITY}}
  med: {estimator: mediation, y: inv, x: [value], mediator: capital, se: {cluster: ENTITY},
        bootstrap: 9, seed: 1}
  re: {estimator: panel_re, y: inv, x: [value, capital], se: {cluster: ENTITY}}
  twfe: {estimator: did, y: inv, treat: treated, first_treated: cohort, x: [value],
         se: {cluster: ENTITY}}
multiverse:
  rob:
    base: fe
    focus: value
    axes:
      se: {one: {}, two: {se: {cluster: BOTH}}, hc1: {se: robust}}
tables:
  t: {kind: regression, columns: [fe, fe2, tsls, re, twfe, med.outcome]}
  summary: {kind: multiverse, multiverse: rob}
outputs: {formats: [markdown, latex]}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


def _zh_project(folder: Path, body: str) -> Path:
    folder.mkdir()
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame.rename({"firm": "省份", "year": "年份"}).write_csv(folder / "grunfeld_zh.csv")
    spec = folder / "spec.yaml"
    spec.write_text(ZH_HEAD + body, encoding="utf-8")
    return spec


def test_clustering_by_the_panel_columns_by_name_is_clustering_by_entity_and_time(tmp_path):
    """se: {cluster: 省份} fitted the same numbers as cluster: entity, but under another plan
    hash (its own cache entries) and another note ("clustered by 省份"); panel_re refused it."""
    keywords = _zh_project(
        tmp_path / "keywords",
        CLUSTERED.replace("ENTITY", "entity").replace("BOTH", "[entity, time]"),
    )
    columns = _zh_project(
        tmp_path / "columns", CLUSTERED.replace("ENTITY", "省份").replace("BOTH", "[省份, 年份]")
    )
    plans = [plan_file(spec)[1] for spec in (keywords, columns)]
    assert [(n.id, n.hash) for n in plans[0].nodes] == [(n.id, n.hash) for n in plans[1].nodes]
    cache = tmp_path / "cache"
    first = run_file(keywords, keywords.parent / "out", cache=cache)
    second = run_file(columns, columns.parent / "out", cache=cache)
    # one cache entry serves both spellings: the second run fits nothing
    assert first.summary.cache.computed
    assert not [n for n in second.summary.cache.computed if n.startswith("fit:")]
    out = [spec.parent / "out" for spec in (keywords, columns)]
    results = [json.loads((o / "results.json").read_text(encoding="utf-8")) for o in out]
    for tree in results:
        tree.pop("spec")
    assert results[0] == results[1]
    assert results[1]["models"]["fe"]["se"]["type"] == "clustered by entity"
    assert results[1]["models"]["fe2"]["se"]["type"] == "clustered by entity and time"
    assert results[1]["models"]["rob[se=two]"]["se"]["type"] == "clustered by entity and time"
    for name in ("t.md", "t.tex", "summary.md", "summary.tex"):
        assert (out[0] / "tables" / name).read_bytes() == (out[1] / "tables" / name).read_bytes()


@pytest.mark.parametrize(
    ("cluster", "column", "message"),
    [
        (
            "[entity, 省份]",
            1,
            "'省份' is the panel's entity column (data.panel.entity), so the standard errors are "
            "clustered by entity twice: write it once",
        ),
        (
            "[年份, 省份, time]",
            2,
            "'年份' is the panel's time column (data.panel.time), so the standard errors are "
            "clustered by time twice: write it once",
        ),
        ("[省份, 省份]", 1, "cluster column '省份' is named twice: write it once"),
        ("[entity, entity]", 1, "cluster column 'entity' is named twice: write it once"),
        ("[capital, capital]", 1, "cluster column 'capital' is named twice: write it once"),
    ],
)
def test_one_cluster_dimension_twice_is_said_at_the_later_item(
    tmp_path, capsys, cluster, column, message
):
    # before: "a cluster column is named twice" at se:, and [entity, 省份] passed (the
    # note then said "clustered by entity and 省份" of a one-way clustered fit)
    text = (
        f"models:\n  fe: {{estimator: panel_fe, y: inv, x: [value], se: {{cluster: {cluster}}}}}\n"
    )
    spec = _zh_project(tmp_path / "p", text)
    lines = (ZH_HEAD + text).splitlines()
    row = next(i for i, s in enumerate(lines) if "cluster:" in s)
    items = cluster.strip("[]").split(", ")
    col = lines[row].index("cluster: [") + len("cluster: [") + 1
    col += sum(len(item) + 2 for item in items[:column])
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:{row + 1}:{col}: models.fe.se.cluster[{column}]: {message}",
    )


def test_a_multiverse_value_clustering_twice_is_said_there_once(tmp_path, capsys):
    text = (
        "models:\n"
        "  fe: {estimator: panel_fe, y: inv, x: [value, capital], se: {cluster: entity}}\n"
        "multiverse:\n"
        "  rob:\n"
        "    base: fe\n"
        "    focus: value\n"
        "    axes:\n"
        "      controls: {none: {x: [value]}, capital: {}}\n"
        "      se: {one: {}, two: {se: {cluster: [entity, 省份]}}}\n"
    )
    spec = _zh_project(tmp_path / "p", text)
    col = len("      se: {one: {}, two: {se: {cluster: [entity, ") + 1
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:14:{col}: multiverse.rob.axes.se.two.se.cluster[1]: '省份' is the "
        "panel's entity column (data.panel.entity), so the standard errors are clustered by "
        "entity twice: write it once (in specification 'rob[controls=none,se=two]': "
        "controls=none, se=two)",
    )


# an item written twice in a model's list: said at the later item (line and column), never a
# silently different fit; before, absorb:/effects: were said at the model, cluster: at se:,
# and center: and GMM's iv:, lags: and group vars passed (a GMM instrument twice changed the
# two-step estimates and the Hansen test)
TWICE = {
    "absorb-same": (
        "  m: {estimator: panel_fe, y: inv, x: [value], absorb: [firm, firm]}\n",
        "7:63: models.m.absorb[1]: effect 'firm' is absorbed twice: write it once",
    ),
    "absorb-keyword": (
        "  m: {estimator: panel_fe, y: inv, x: [value], absorb: [entity, entity]}\n",
        "7:65: models.m.absorb[1]: effect 'entity' is absorbed twice: write it once",
    ),
    "absorb-interaction-reversed": (
        "  m: {estimator: panel_fe, y: inv, x: [value], absorb: [entity, 'firm#year',\n"
        "      'year # firm']}\n",
        "8:7: models.m.absorb[2]: effect 'year # firm' is 'firm#year' again: absorbed twice: "
        "write it once",
    ),
    "iv-absorb": (
        "  m: {estimator: iv, y: inv, endog: [value], instruments: [L.value],\n"
        "      absorb: [year, year]}\n",
        "8:22: models.m.absorb[1]: effect 'year' is absorbed twice: write it once",
    ),
    "effects": (
        "  m: {estimator: panel_fe, y: inv, x: [value], effects: [time, entity, time]}\n",
        "7:72: models.m.effects[2]: effect 'time' is absorbed twice: write it once",
    ),
    "mediation-effects": (
        "  m: {estimator: mediation, y: inv, x: [value], mediator: capital,\n"
        "      effects: [entity, entity]}\n",
        "8:25: models.m.effects[1]: effect 'entity' is absorbed twice: write it once",
    ),
    "cluster": (
        "  m: {estimator: panel_fe, y: inv, x: [value], se: {cluster: [firm, year, firm]}}\n",
        "7:75: models.m.se.cluster[2]: cluster column 'firm' is named twice: write it once",
    ),
    "center": (
        "  m: {estimator: panel_fe, y: inv, x: ['c.value#c.capital'],\n"
        "      center: [value, capital, value]}\n",
        "8:32: models.m.center[2]: 'value' is listed twice in center of model 'm'",
    ),
    "gmm-iv": (
        "  m: {estimator: system_gmm, y: inv, x: [value, capital], gmm: {inv: [2, 3]},\n"
        "      iv: [capital, value, capital]}\n",
        "8:28: models.m.iv[2]: 'capital' is listed twice in iv of model 'm'",
    ),
    "gmm-lags": (
        "  m: {estimator: system_gmm, y: inv, lags: [1, 1], x: [value], gmm: {inv: [2, 3]}}\n",
        "7:48: models.m.lags[1]: 1 is listed twice in lags of model 'm'",
    ),
    "gmm-group-vars": (
        "  m: {estimator: system_gmm, y: inv, x: [value], gmm: {inv: [2, 3]},\n"
        "      iv: [{vars: [value]}, {vars: [capital, capital], equation: level}]}\n",
        "8:46: models.m.iv[1].vars[1]: 'capital' is listed twice in iv group 2 of model 'm'",
    ),
    "gmm-style-vars": (
        "  m: {estimator: system_gmm, y: inv, x: [value],\n"
        "      gmm: [{vars: [inv, value, inv], lags: [2, 3]}]}\n",
        "8:33: models.m.gmm[0].vars[2]: 'inv' is listed twice in gmm group 1 of model 'm'",
    ),
}


@pytest.mark.parametrize("case", list(TWICE))
def test_an_item_written_twice_is_said_at_the_later_item(tmp_path, capsys, case):
    body, expected = TWICE[case]
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + "models:\n" + body)
    assert run(["validate", str(spec)], capsys) == (1, f"error: {spec}:{expected}")


def test_a_variant_or_specification_whose_keys_exclude_each_other_is_said_at_its_layer(
    tmp_path, capsys
):
    # absorb: added to a base with effects: (or y: dropped) is an error of the model as a
    # whole; a variant or a specification is written nowhere under models:, and the error
    # pointed at the first model of the file (7:3, model 'other'), not at the layer
    text = (
        "models:\n"
        "  other: {estimator: ols, y: inv, x: [value]}\n"
        "  fe: {estimator: panel_fe, y: inv, x: [value], effects: [entity],\n"
        "       se: {cluster: 省份}}\n"
        "variants:\n"
        "  fe:\n"
        "    ab: {absorb: [年份]}\n"
        "    noy: {y: null}\n"
        "multiverse:\n"
        "  rob:\n"
        "    base: fe\n"
        "    focus: value\n"
        "    axes:\n"
        "      fe: {one: {}, ab: {absorb: [年份]}}\n"
    )
    spec = _zh_project(tmp_path / "p", text)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:12:9: variants.fe.ab: give absorb or its shorthand effects, not both\n"
        f"error: {spec}:13:10: variants.fe.noy: missing required key 'y'\n"
        f"error: {spec}:19:25: multiverse.rob.axes.fe.ab: give absorb or its shorthand "
        "effects, not both (in specification 'rob[fe=ab]': fe=ab)",
    )


# one mistake read by several models: a base and the models extending it, a model's variants,
# a multiverse's specifications
INHERITED = {
    "extends": (
        "  base: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
        "  robust: {extends: base, se: robust}\n"
        "  lagged: {extends: base, x: [value, capital, L.value]}\n",
        "7:76: models.base.center[1]: 'value' is listed twice in center of model 'base' (also "
        "models 'robust' and 'lagged', which read this line)",
    ),
    "variants": (
        "  m: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
        "variants:\n"
        "  m: {robust: {se: robust}}\n",
        "7:73: models.m.center[1]: 'value' is listed twice in center of model 'm' (also model "
        "'m.robust', which reads this line)",
    ),
    "multiverse": (
        "  m: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
        "multiverse:\n"
        "  mv:\n"
        "    base: m\n"
        "    focus: value\n"
        "    axes:\n"
        "      se: {a: {}, b: {se: robust}, c: {se: {cluster: entity}}}\n"
        "      fe: {one: {effects: [entity]}, two: {}}\n",
        "7:73: models.m.center[1]: 'value' is listed twice in center of model 'm' (also the 6 "
        "specifications of multiverse 'mv', which read this line)",
    ),
    # center: written once in a base, wrong for the models extending it that drop the
    # variable: the message names those models, not "this model" at the base's line, and
    # suggests no misspelt name the data lacks
    "center of an extension": (
        "  基准: {estimator: panel_fe, y: inv, x: [value, capital], center: [value]}\n"
        "  m2: {extends: 基准, x: [capital]}\n"
        "  m3: {extends: 基准, x: [capital, L.capital]}\n",
        "7:67: models.基准.center[0]: center: 'value' is not a continuous variable of model "
        "'m2' (also model 'm3', which reads this line)",
    ),
    # plain models named, then a count; a multiverse's specifications counted
    "many": (
        "  b: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
        + "".join(f"  e{i}: {{extends: b, se: robust}}\n" for i in range(6))
        + "multiverse:\n  mv:\n    base: b\n    focus: value\n    axes:\n"
        + "".join(
            f"      a{k}: {{{', '.join(f'v{i}: {{}}' for i in range(13))}}}\n" for k in range(3)
        ),
        "7:73: models.b.center[1]: 'value' is listed twice in center of model 'b' (also models "
        "'e0', 'e1', 'e2', 'e3', 2 more and the 2197 specifications of multiverse 'mv', which "
        "read this line)",
    ),
}


@pytest.mark.parametrize("case", list(INHERITED))
def test_one_mistake_read_by_several_models_is_said_once(tmp_path, capsys, case):
    body, expected = INHERITED[case]
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + "models:\n" + body)
    assert run(["validate", str(spec)], capsys) == (1, f"error: {spec}:{expected}")


def test_a_variant_named_with_a_quote_is_counted_with_the_others(tmp_path, capsys):
    # the variant's name is reported as not a name; the error it shares with the base and the
    # model extending it is still one line, the name not cut at its quote
    body = (
        "  m: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
        "  k: {extends: m}\n"
        "variants:\n"
        '  m: {"a\'b": {se: robust}}\n'
    )
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + "models:\n" + body)
    code, err = run(["validate", str(spec)], capsys)
    assert (code, err.splitlines()) == (
        1,
        [
            f"error: {spec}:7:73: models.m.center[1]: 'value' is listed twice in center of model "
            "'m' (also models 'k' and 'm.a'b', which read this line)",
            f"error: {spec}:10:7: variants.m.a'b: variant name \"a'b\" is not a name: use "
            "letters, digits, '_' or '-', starting with a letter or '_' (it becomes a file and "
            "result name)",
        ],
    )


def test_errors_differing_in_the_model_at_different_lines_stay_apart(tmp_path, capsys):
    body = (
        "  m2: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
        "  m3: {estimator: panel_fe, y: inv, x: [value, capital], center: [value, value]}\n"
    )
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + "models:\n" + body)
    code, err = run(["validate", str(spec)], capsys)
    assert (code, err.splitlines()) == (
        1,
        [
            f"error: {spec}:7:74: models.m2.center[1]: 'value' is listed twice in center of "
            "model 'm2'",
            f"error: {spec}:8:74: models.m3.center[1]: 'value' is listed twice in center of "
            "model 'm3'",
        ],
    )


def test_a_hint_addressed_to_one_model_of_a_shared_line_is_for_each(tmp_path, capsys):
    # two mediations extend a base whose absorb: they cannot take: the hint that named the
    # first alone is for both
    body = (
        "  b: {estimator: panel_fe, y: inv, x: [value], absorb: [entity, big]}\n"
        "  k1: {extends: b, estimator: mediation, mediator: capital}\n"
        "  k2: {extends: b, estimator: mediation, mediator: capital, se: robust}\n"
    )
    spec = grunfeld_project(
        tmp_path, GRUNFELD_HEAD + "transforms:\n  - derive: {big: firm > 5}\nmodels:\n" + body
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:65: models.b.absorb[1]: model 'k1' (also model 'k2', which reads this "
        "line) (estimator: mediation) absorbs the panel's entity and time effects only, not "
        "'big' (inherited from b through extends) (give each of these models its own absorb: "
        "[entity, time] (or effects:))",
    )


def test_a_statistic_or_format_listed_twice_is_said_at_the_later_item(tmp_path, capsys):
    """stats: [nobs, r2, nobs] printed the N row twice, and a format listed twice went
    unremarked; each is a slip, said where the repeat is written, as a model's lists are."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "models:\n  m: {estimator: ols, y: inv, x: [value]}\n"
        "tables:\n  t: {kind: regression, columns: [m], stats: [nobs, r2, nobs]}\n"
        "outputs: {formats: [markdown, latex, markdown]}\n",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:9:57: tables.t.stats[2]: 'nobs' is listed twice in stats of table 't'\n"
        f"error: {spec}:10:38: outputs.formats[2]: 'markdown' is listed twice in formats\n"
    )


def test_a_number_where_text_is_due_is_told_to_be_quoted(tmp_path, capsys):
    """YAML reads label: 2019 as a number and caption: true as a boolean: "input should be a
    valid string, got 2019" left the user to guess that quotes make it text. A variable list
    gets no such hint (a quoted 2012 is no variable name either)."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "models:\n  m: {estimator: ols, y: inv, x: [value, 2012], label: 2019}\n"
        "tables:\n  t: {kind: regression, columns: [m], caption: true}\n",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:42: models.m.x[1]: input should be a valid string, got 2012\n"
        f"error: {spec}:7:56: models.m.label: input should be a valid string, got 2019 (quote "
        "it to make it text: '2019')\n"
        f"error: {spec}:9:48: tables.t.caption: input should be a valid string, got True (quote "
        "it to make it text: 'true')\n"
    )


def test_a_group_may_name_another_group(tmp_path, capsys):
    """groups: {base: [value], all: [$base, capital]}, as Stata's global controls "$base x":
    '$base' inside a group was read as a variable ("term '$base': unexpected character '$'").
    It expands, under operators too; an unknown group is named there."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "groups:\n  base: [value]\n  all: ['L.($base)', $base, capital]\n"
        "models:\n  m: {estimator: ols, y: inv, x: [$all]}\n",
    )
    run_file(spec, out=tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert list(results["models"]["m"]["coefficients"]) == ["L.value", "value", "capital", "_cons"]
    spec.write_text(
        GRUNFELD_HEAD + "groups:\n  all: [value, $bse]\n  base: [capital]\n"
        "models:\n  m: {estimator: ols, y: inv, x: [$all]}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:16: groups.all[1]: unknown group '$bse' (did you mean 'base'?)\n"
    )


def test_a_reversed_time_window_is_said_once_where_it_is_written(tmp_path, capsys):
    """time: [1950, 1940] kept no row, and each model said its sample "keeps none of the 200
    rows" at run time. It is a validation error at the window; a model naming a sample that
    was refused is not told the sample is unknown (one error per mistake)."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "samples:\n  s: {time: [1950, 1940]}\n  t: {where: year > 1940, bogus: 1}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value], sample: s}\n"
        "  k: {estimator: ols, y: inv, x: [value], sample: t}\n",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:13: samples.s.time: the time window [1950, 1940] is reversed: write "
        "[1940, 1950]\n"
        f"error: {spec}:8:27: samples.t.bogus: unknown key 'bogus' (valid keys: where, time, "
        "exclude, label)\n"
    )
