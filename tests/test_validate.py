"""Spec validation: every error class, with its whole message, and all errors reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.errors import SpecErrors
from specrun.spec.validate import validate_file
from specrun.tables.statistics import KNOWN_STATS

HEAD = GRUNFELD_HEAD


@pytest.fixture
def write(tmp_path: Path):
    def write_spec(body: str) -> Path:
        return grunfeld_project(tmp_path, HEAD + body)

    return write_spec


def errors_of(path: Path) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        validate_file(path)
    prefix = f"{path}:"
    return [str(e).removeprefix(prefix) for e in caught.value.errors]


def test_valid_spec_resolves_extends_groups_and_variants(write):
    spec = validate_file(
        write("""\
groups:
  controls: [capital]
samples:
  early: {time: [1935, 1944]}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, $controls], se: {cluster: entity}}
  fe2: {extends: fe, effects: [entity, time]}
variants:
  fe:
    early: {sample: early}
""")
    )
    assert spec.models["fe"].spec.x == ["value", "capital"]
    assert spec.models["fe2"].spec.effects == ["entity", "time"]
    assert spec.models["fe2"].spec.se.cluster == ["entity"]
    assert spec.models["fe.early"].spec.sample == "early"
    assert spec.models["fe.early"].base == "fe"


def test_misspelt_variable_duplicate_key_and_wrong_type_reported_together(write):
    assert errors_of(
        write("""\
models:
  fe:
    estimator: panel_fe
    y: inv
    y: inv
    x: [value, captial]
    effects: entity
""")
    ) == [
        "10:5: models.fe.y: duplicate key 'y' (first defined at line 9)",
        "11:16: models.fe.x[1]: unknown variable 'captial' (did you mean 'capital'?)",
        "12:14: models.fe.effects: input should be a valid list, got 'entity'",
    ]


def test_unknown_names_get_did_you_mean(write):
    found = errors_of(
        write("""\
modles: {}
models:
  fe: {estimator: panel_fex, y: inv, x: [value]}
  ols: {estimator: ols, y: inv, x: [value], sample: erly}
  fe3: {extends: fee}
  fe4: {estimator: ols, y: inv, x: [$ctrls], wieght: 1}
samples:
  early: {time: [1935, 1944]}
groups:
  ctrl: [capital]
tables:
  t: {kind: regression, columns: [ols, fe5]}
  u: {kind: regresion, columns: [ols]}
""")
    )
    assert found == [
        "6:1: modles: unknown section 'modles' (did you mean 'models'?)",
        "8:19: models.fe.estimator: unknown estimator 'panel_fex' (did you mean 'panel_fe'?)",
        "9:53: models.ols.sample: unknown sample 'erly' (did you mean 'early'?)",
        "10:18: models.fe3.extends: extends unknown model 'fee' (did you mean 'fe'?)",
        "11:37: models.fe4.x[0]: unknown group '$ctrls' (did you mean 'ctrl'?)",
        "11:46: models.fe4.wieght: unknown key 'wieght' (did you mean 'weights'?)",
        "17:40: tables.t.columns[1]: unknown model 'fe5' (did you mean 'fe'?)",
        "18:13: tables.u.kind: unknown kind 'regresion' (did you mean 'regression'?)",
    ]


def test_missing_required_key_and_bad_cluster(write):
    assert errors_of(
        write("""\
models:
  fe: {estimator: panel_fe, x: [value], se: {cluster: firm}}
  fc: {estimator: panel_fe, y: inv, x: [value], se: {cluster: [entity, frim]}}
""")
    ) == [
        "7:7: models.fe: missing required key 'y'",
        "8:72: models.fc.se.cluster[1]: unknown variable 'frim' (did you mean 'firm'?)",
    ]


def test_a_misspelt_required_key_is_one_error_at_the_key(write):
    # each was also (or only) "missing required key" at the entry, with no did-you-mean
    assert errors_of(
        write("""\
models:
  a: {estimator: panel_fe, Y: inv, x: [value]}
  b: {estimater: panel_fe, y: inv, x: [value]}
tables:
  t: {kidn: regression, columns: [a]}
  u: {kind: threshold_test, model: a}
""")
    ) == [
        "7:28: models.a.Y: unknown key 'Y' (did you mean 'y'?)",
        "8:7: models.b.estimater: unknown key 'estimater' (did you mean 'estimator'?) "
        "(estimator: one of descriptive, did, difference_gmm, event_study, hausman, iv, "
        "mediation, ols, panel_be, panel_fe, panel_re, panel_threshold, system_gmm)",
        "10:7: tables.t.kidn: unknown key 'kidn' (did you mean 'kind'?) (kind: one of bacon, "
        "correlation, descriptive, iv, margins, mediation, multiverse, regression, "
        "threshold_test, weights)",
        "11:29: tables.u.model: unknown key 'model' (did you mean 'models'?)",
    ]


def test_extends_cycle(write):
    assert errors_of(
        write("""\
models:
  a: {extends: b}
  b: {extends: a}
""")
    ) == ["8:16: models.b.extends: extends forms a cycle: a → b → a"]  # one cycle, one error


def test_variant_that_changes_nothing_is_an_error(write):
    assert errors_of(
        write("""\
models:
  fe: {estimator: panel_fe, y: inv, x: [value]}
variants:
  fe:
    same: {label: Same}
""")
    ) == [
        "10:11: variants.fe.same: a variant must change the sample, the transforms or the "
        "estimator (it would duplicate its base model)"
    ]


def test_expression_errors_point_into_the_expression(write):
    assert errors_of(
        write("""\
samples:
  late: {where: "year >= 1945 and valeu > 0"}
  broken: {where: "year >= (1945"}
models:
  fe: {estimator: panel_fe, y: inv, x: [value]}
""")
    ) == [
        "7:17: samples.late.where: unknown variable 'valeu' (did you mean 'value'?)",
        "8:33: samples.broken.where: expected ')'",
    ]


def test_missing_data_file_and_column(tmp_path: Path):
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + "models:\n  m: {estimator: ols, y: inv, x: [value]}\n")
    assert errors_of(path) == [
        "4:15: data.sources.g.path: data file 'grunfeld.csv' not found (relative paths are "
        f"read from the spec's folder '{tmp_path}', so this is "
        f"'{tmp_path / 'grunfeld.csv'}') (that folder holds: spec.yaml)"
    ]


def test_table_statistics_and_model_kinds_are_checked(write):
    assert errors_of(
        write("""\
models:
  fe: {estimator: panel_fe, y: inv, x: [value]}
tables:
  t: {kind: regression, columns: [fe], stats: [nobs, r2_ajd]}
  d: {kind: descriptive, model: fe}
  c: {kind: regression, columns: [fe], indicators: {Controls: [capitol]}}
""")
    ) == [
        "9:54: tables.t.stats[1]: unknown statistic 'r2_ajd' (did you mean 'r2_adj'?); valid: "
        + ", ".join(sorted(KNOWN_STATS))
        + ", or a dotted name such as indirect.sobel_z (a model's extra results)",
        "10:33: tables.d.model: a descriptive table reads descriptive models; 'fe' is panel_fe",
        "11:64: tables.c.indicators.Controls[0]: unknown variable 'capitol' (did you mean "
        "'capital'?)",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a model or a flag: every alternative is named, not pydantic's class name
        (
            "models:\n  fe: {estimator: panel_fe, y: inv, x: [value], sample: 5}\n",
            "7:57: models.fe.sample: expected text, or a mapping with keys where, time, "
            "exclude, label, got 5",
        ),
        (
            "models:\n  fe: {estimator: panel_fe, y: inv, x: [value], sample: [a]}\n",
            "7:57: models.fe.sample: expected text, or a mapping with keys where, time, "
            "exclude, label, got a list",
        ),
    ],
)
def test_a_value_of_no_union_member_names_every_alternative(write, body, expected):
    assert errors_of(write(body)) == [expected]


def test_union_of_a_number_and_a_word_names_both(tmp_path: Path):
    head = HEAD.replace(".csv}", ".csv, infer_rows: many}", 1)
    model = "models:\n  ols: {estimator: ols, y: inv, x: [value]}\n"
    path = grunfeld_project(tmp_path, head + model)
    assert errors_of(path) == [
        "4:41: data.sources.g.infer_rows: expected a whole number, or 'all', got 'many'"
    ]


@pytest.mark.parametrize(
    ("se", "shown"), [("5", "5"), ("[robust]", "['robust']"), ("true", "True")]
)
def test_se_that_is_neither_a_type_nor_a_mapping_names_both_forms(write, se, shown):
    # before: "input should be a valid dictionary or instance of CovarianceSpec, got 5"
    body = f"models:\n  fe: {{estimator: panel_fe, y: inv, x: [value], se: {se}}}\n"
    assert errors_of(write(body)) == [
        "7:53: models.fe.se: se is a covariance type (unadjusted, robust, HC0–HC3, cluster, "
        f"driscoll_kraay) or a mapping such as {{cluster: entity}}, got {shown}"
    ]


def test_se_cluster_without_columns_writes_the_mapping_that_names_them(write):
    # vce(cluster id) written as se: cluster; before, the message named no form to write
    body = "models:\n  fe: {estimator: panel_fe, y: inv, x: [value], se: cluster}\n"
    assert errors_of(write(body)) == [
        "7:53: models.fe.se: clustered standard errors need 'cluster:' and one or more columns: "
        "write se: {cluster: entity} (Stata's vce(cluster id)), or name any columns, as "
        "se: {cluster: [entity, time]}"
    ]


def test_a_hausman_test_of_a_model_that_failed_its_types_adds_no_unknown_model(write):
    # before: a second error, "models.hausman.models[0]: unknown model 'fe'"
    body = (
        "models:\n  fe: {estimator: panel_fe, y: inv, x: [value], se: 5}\n"
        "  re: {estimator: panel_re, y: inv, x: [value]}\n"
        "  h: {estimator: hausman, models: [fe, ree]}\n"
    )
    assert errors_of(write(body)) == [
        "7:53: models.fe.se: se is a covariance type (unadjusted, robust, HC0–HC3, cluster, "
        "driscoll_kraay) or a mapping such as {cluster: entity}, got 5",
        "9:40: models.h.models[1]: unknown model 'ree' (did you mean 're'?)",
    ]


def test_a_mapping_where_a_list_goes_says_so_in_the_spec_words(write):
    # before: "Input should be a valid list" (pydantic's capital, and no word of what it got)
    assert errors_of(write("models:\n  fe: {estimator: panel_fe, y: inv, x: {a: 1}}\n")) == [
        "7:40: models.fe.x: input should be a valid list, got a mapping"
    ]


@pytest.mark.parametrize("x", ["value + capital", "value, capital"])
def test_a_formula_written_as_one_string_is_one_error_with_the_list_to_write(write, x):
    # before: a second error at the same place, "term 'value + capital': unexpected character"
    body = f"models:\n  fe: {{estimator: panel_fe, y: inv, x: '{x}'}}\n"
    assert errors_of(write(body)) == [
        f"7:40: models.fe.x: input should be a valid list, got '{x}' (a list is written in "
        "brackets: [value, capital])"
    ]


@pytest.mark.parametrize("effect", ["year", "firm"])
def test_effects_named_by_the_panel_columns_say_to_write_entity_and_time(write, effect):
    # the panel is xtset firm year: a Stata user writes the columns, not entity and time
    body = (
        f"models:\n  fe: {{estimator: panel_fe, y: inv, x: [value], effects: [entity, {effect}]}}\n"
    )
    assert errors_of(write(body)) == [
        f"7:67: models.fe.effects[1]: input should be 'entity' or 'time', got '{effect}' "
        "(effects name the panel's index as entity and time, whatever data.panel's columns are "
        "called; panel_fe's absorb: takes any other column)"
    ]


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("word", "Word files are 'docx'"),
        ("Excel", "Excel files are 'xlsx'"),
        (".md", "'markdown' writes the .md files"),
        ("pdf", "'latex' with latex: {compile: true} also writes tables.pdf"),
    ],
)
def test_a_format_written_by_its_common_name_says_what_to_write(write, written, hint):
    body = (
        "models:\n  fe: {estimator: panel_fe, y: inv, x: [value]}\n"
        f"outputs: {{formats: ['{written}']}}\n"
    )
    assert errors_of(write(body)) == [
        f"8:21: outputs.formats[0]: input should be 'latex', 'markdown', 'html', 'docx' or "
        f"'xlsx', got '{written}' ({hint})"
    ]


def test_an_unknown_format_with_no_common_name_has_no_hint(write):
    body = "models:\n  fe: {estimator: panel_fe, y: inv, x: [value]}\noutputs: {formats: [rtf]}\n"
    assert errors_of(write(body)) == [
        "8:21: outputs.formats[0]: input should be 'latex', 'markdown', 'html', 'docx' or "
        "'xlsx', got 'rtf'"
    ]


def test_unknown_model_is_placed_on_the_key_naming_it_not_on_an_equal_kind(write):
    # a mediation table whose model is called 'mediation' (the README's manuscripts example):
    # the error belonged on `model:`, not on `kind: mediation` before it
    assert errors_of(
        write("""\
models:
  fe: {estimator: panel_fe, y: inv, x: [value]}
tables:
  t1: {kind: mediation, model: mediation}
  t2:
    kind: margins
    caption: margins
    model: margins
    dydx: value
    at: {capital: [p50]}
""")
    ) == [
        "9:32: tables.t1.model: unknown model 'mediation'",
        "13:12: tables.t2.model: unknown model 'margins'",
    ]


def test_did_you_mean_finds_a_chinese_name_with_one_character_mistyped():
    from specrun.errors import did_you_mean

    # a homophone from the input method: 省分 for 省份 (difflib's ratio is 0.5)
    assert did_you_mean("省分", ["年份", "省份", "地区"]) == "did you mean '省份'?"
    assert did_you_mean("互联网普及", ["互联网普及率"]) == "did you mean '互联网普及率'?"
    assert did_you_mean("人口", ["年份", "省份"]) is None
    assert did_you_mean("ab", ["ac"]) is None  # Latin names keep difflib's cutoff


def test_a_name_copied_from_a_full_width_header_is_answered_with_the_folded_one(tmp_path: Path):
    # yearbook headers such as ＧＤＰ and 光缆长度（公里） are read folded (GDP, 光缆长度(公里));
    # a spec naming them as they look in the file was told only "unknown variable"
    (tmp_path / "p.csv").write_text(
        "省份,年份,ＧＤＰ ,光缆长度（公里）\nA,1,1.0,2.0\nA,2,1.5,2.5\nB,1,2.0,3.5\nB,2,2.5,3.0\n",
        encoding="utf-8",
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        "  sources: {p: {path: p.csv}}\n"
        "  panel: {source: p, entity: 省份, time: 年份}\n"
        "transforms:\n"
        "  - derive:\n"
        "      a: GDP / 10\n"
        "      b: ＧＤＰ / 10\n"
        "  - derive:\n"
        "      c: GDP / 10\n"
        "      d: 2 * 光缆长度（公里）\n"
        "models:\n"
        "  fe: {estimator: panel_fe, y: ＧＤＰ, x: [光缆长度（公里）]}\n",
        encoding="utf-8",
    )
    folded = "headers are read with full-width characters folded"
    # each derive error sits on its own entry's line, not on the first entry's
    assert errors_of(spec) == [
        f"8:10: transforms[0].derive.b: unknown variable 'ＧＤＰ' (did you mean 'GDP'? {folded})",
        "11:18: transforms[1].derive.d: unexpected character '（' at column 9 "
        f"({folded} ('（' as '('); a column whose name holds brackets is written in backticks)",
        f"13:32: models.fe.y: unknown variable 'ＧＤＰ' (did you mean 'GDP'? {folded})",
        "13:41: models.fe.x[0]: term '光缆长度（公里）': unexpected character '（' at position 5 "
        f"(did you mean '光缆长度(公里)'? {folded})",
    ]
