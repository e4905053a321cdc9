"""Hostile and careless inputs, one class of fault at a time (issue: hardening).

Each test asserts the whole message a user sees and the key or row it names; the generated
corpus in ``test_malformed_corpus.py`` then checks that no variation crashes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main
from specrun.estimators import ESTIMATORS
from specrun.tables.kinds import TABLES
from specrun.tables.statistics import KNOWN_STATS

MODELS = """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip()


def spec_file(folder: Path, text: str) -> Path:
    return grunfeld_project(folder, text)


# class 1: user text is printed literally, never as rich markup or emoji


def test_markup_in_a_name_is_printed_literally(tmp_path, capsys):
    spec = spec_file(
        tmp_path, GRUNFELD_HEAD + "models:\n  fe: {estimator: ols, y: inv, x: ['[/x]']}\n"
    )
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:7:36: models.fe.x[0]: term '[/x]': unexpected character '[' at position 1",
    )


def test_an_error_on_line_100_is_not_an_emoji(tmp_path, capsys):
    text = GRUNFELD_HEAD + "#\n" * 93 + "models:\n  fe: {estimator: ols, y: inv, x: [valu]}\n"
    spec = spec_file(tmp_path, text)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:100:36: models.fe.x[0]: unknown variable 'valu' (did you mean 'value'?)",
    )


# class 2 and 11: the YAML loader and undecodable files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'title: "a\x00b"\n',
            "1:10: character U+0000 is not allowed in a spec (a control character; YAML accepts "
            "tab, line feed and carriage return only)",
        ),
        ("a: &v\n  b: *v\n", "2:6: a recursive alias: '*v' is inside the value it names"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "1:67: nesting deeper than 64 levels"),
        (
            "a0: &a0 [x,x,x,x,x,x,x,x,x]\n"
            + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 9)),
            "1:26: aliases expand this spec beyond 10,400 values, far more than it writes "
            "(refused, as an alias bomb would be)",
        ),
    ],
    ids=["nul", "recursive-alias", "deep", "billion-laughs"],
)
def test_loader_refuses_hostile_yaml_at_a_position(tmp_path, capsys, text, message):
    spec = tmp_path / "s.yaml"
    spec.write_text(text, encoding="utf-8")
    assert run(["validate", str(spec)], capsys) == (1, f"error: {spec}:{message}")


def test_a_huge_integer_is_a_located_error(tmp_path, capsys):
    head = GRUNFELD_HEAD.replace("spec_version: 1", "spec_version: " + "9" * 4301)
    spec = spec_file(tmp_path, head + MODELS)
    code, err = run(["validate", str(spec)], capsys)
    assert code == 1
    assert err.startswith(f"error: {spec}:1:15: spec_version: cannot read '9999")
    assert "Exceeds the limit (4300 digits)" in err


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("coefplot, models: [m], variable: value", "11:{col}: figures.f.width: {bound}"),
        ("specification_curve, multiverse: u", "11:{col}: figures.f.width: {bound}"),
    ],
)
@pytest.mark.parametrize(
    ("width", "bound"),
    [
        ("400", "input should be less than or equal to 50, got 400"),  # 20 GB, three minutes
        ("0.01", "input should be greater than or equal to 1, got 0.01"),  # a raw UserWarning
    ],
)
def test_a_figure_size_is_bounded(tmp_path, capsys, kind, message, width, bound):
    line = f"  f: {{kind: {kind}, width: {width}}}\n"
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "models:\n  m: {estimator: panel_fe, y: inv, x: [value], effects: [entity]}\n"
        + "multiverse:\n  u: {base: m, focus: value, axes: {e: {a: {}, b: {effects: [time]}}}}\n"
        + "figures:\n"
        + line,
    )
    assert main(["validate", str(spec)]) == 1
    col = line.index("width:") + 8
    expected = message.format(col=col, bound=bound)
    assert capsys.readouterr().err.strip() == f"error: {spec}:{expected}"


def test_utf16_spec_is_a_located_error(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_bytes("spec_version: 1\n".encode("utf-16"))
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:1:1: the spec is UTF-16 (it starts with a UTF-16 byte-order mark); "
        "save it as UTF-8",
    )


def test_invalid_utf8_names_line_column_and_a_likely_encoding(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_bytes("spec_version: 1\ntitle: 数字贸易与出口技术复杂度研究\n".encode("gbk"))
    code, err = run(["validate", str(spec)], capsys)
    assert code == 1
    assert err.startswith(f"error: {spec}:2:8: the spec is not valid UTF-8 (byte 0xca) (it looks")
    assert err.endswith("; save it as UTF-8)")


def test_a_utf8_bom_is_accepted(tmp_path, capsys):
    spec = spec_file(tmp_path, "\ufeff" + GRUNFELD_HEAD + MODELS)
    assert run(["validate", str(spec)], capsys)[0] == 0


# classes 3-6, 8, 9, 12-14: checked by `validate` (and so by `run`), each at its key


def project_spec(tmp_path: Path, text: str, head: str = GRUNFELD_HEAD) -> Path:
    """A spec at <project>/specs/spec.yaml, so outputs.dir's confinement applies."""
    specs = tmp_path / "proj" / "specs"
    specs.mkdir(parents=True)
    return grunfeld_project(specs, head + text)


OLS = "models:\n  m: {estimator: ols, y: inv, x: [value]}\n"
THRESHOLD = "models:\n  m: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital, "

VALIDATION_CASES = {
    "extends-list": (
        OLS + "  b: {extends: [m]}\n",
        "8:16: models.b.extends: extends takes the name of one model, got list (extends: m)",
    ),
    "extends-1000-deep": (
        OLS
        + "".join(
            f"  m{i}: {{extends: {'m' if i == 1 else f'm{i - 1}'}}}\n" for i in range(1, 1001)
        )
        + "  bad: {extends: m1000, x: [valu]}\n",
        "1008:29: models.bad.x[0]: unknown variable 'valu' (did you mean 'value'?)",
    ),
    "seed-negative": (
        THRESHOLD + "seed: -1}\n",
        "7:80: models.m.seed: input should be greater than or equal to 0, got -1",
    ),
    "grid-1e9": (
        THRESHOLD + "grid: 1000000000}\n",
        "7:80: models.m.grid: input should be less than or equal to 100000, got 1000000000",
    ),
    "grid-2": (
        THRESHOLD + "grid: 2}\n",
        "7:80: models.m.grid: input should be greater than or equal to 3, got 2",
    ),
    "trim-half": (
        THRESHOLD + "trim: [0.5]}\n",
        "7:80: models.m.trim: each trim must be in [0, 0.5): the share cut from each end of q",
    ),
    "bootstrap-1e9": (
        "models:\n  m: {estimator: mediation, y: inv, x: [value], mediator: capital, "
        "bootstrap: 1000000000}\n",
        "7:79: models.m.bootstrap: input should be less than or equal to 100000, got 1000000000",
    ),
    "gmm-lags-1e9": (
        "models:\n  m: {estimator: system_gmm, y: inv, lags: 1000000000, x: [value], "
        "gmm: {inv: [2, null]}}\n",
        "7:44: models.m.lags: lags of y must be at most 50",
    ),
    "gmm-reversed-range": (
        "models:\n  m: {estimator: system_gmm, y: inv, x: [value], gmm: {inv: [4, 2]}}\n",
        "7:55: models.m.gmm: the lag range [4, 2] is reversed: write [2, 4]",
    ),
    # xtabond2 stops with error 198 ("passthru not valid with equation(both) in system GMM");
    # specrun fitted it, levels in the transformed equation included
    "gmm-passthru-both-equations": (
        "models:\n  m: {estimator: system_gmm, y: inv, x: [value], gmm: {inv: [2, 3]},\n"
        "      iv: [{vars: [value], passthru: true}]}\n",
        "8:11: models.m.iv: iv group 1: passthru in system GMM needs equation: diff (the levels "
        "equation takes the instruments untransformed anyway); xtabond2 refuses passthru with "
        "equation(both)",
    ),
    "x-repeated": (
        "models:\n  m: {estimator: ols, y: inv, x: [value, value]}\n",
        "7:42: models.m.x[1]: 'value' is listed twice in x of model 'm'",
    ),
    # one term spelt two ways: the design kept one and dropped the other without a word
    "x-repeated-lag-spelling": (
        "models:\n  m: {estimator: ols, y: inv, x: [L.value, L1.value]}\n",
        "7:44: models.m.x[1]: 'L1.value' is 'L.value' again: listed twice in x of model 'm'",
    ),
    "x-repeated-interaction-order": (
        "models:\n  m: {estimator: ols, y: inv, x: [c.value#c.capital, c.capital#c.value]}\n",
        "7:54: models.m.x[1]: 'c.capital#c.value' is 'c.value#c.capital' again: listed twice in "
        "x of model 'm'",
    ),
    "y-among-x": (
        "models:\n  m: {estimator: ols, y: inv, x: [inv, value]}\n",
        "7:35: models.m.x[0]: the dependent variable 'inv' is also in x of model 'm'",
    ),
    "x-empty": (
        "models:\n  m: {estimator: ols, y: inv, x: []}\n",
        "7:34: models.m.x: model 'm' lists no variables in x",
    ),
    "table-name-path": (
        OLS + "tables:\n  ../../ESC: {kind: regression, columns: [m]}\n",
        "9:3: tables.../../ESC: table name '../../ESC' is not a name: use letters, digits, '_' "
        "or '-', starting with a letter or '_' (it becomes a file and result name)",
    ),
    "table-name-empty": (
        OLS + "tables:\n  '': {kind: regression, columns: [m]}\n",
        "9:3: tables.: table name '' is not a name: use letters, digits, '_' or '-', starting "
        "with a letter or '_' (it becomes a file and result name)",
    ),
    "table-without-kind": (
        OLS + "tables:\n  t: {columns: [m]}\n",
        "9:6: tables.t: missing required key 'kind' (which kind this table is) (valid: "
        + ", ".join(TABLES.names())
        + ")",
    ),
    "model-without-estimator": (
        "models:\n  m: {y: inv, x: [value]}\n",
        "7:6: models.m: missing required key 'estimator' (which estimator this model is) (valid: "
        + ", ".join(ESTIMATORS.names())
        + ")",
    ),
    "where-numeric": (
        "samples:\n  s: {where: value / 2}\n" + OLS.replace("[value]}", "[value], sample: s}"),
        "7:14: samples.s.where: a where: filter must be true or false for each row; 'value / 2' "
        "gives numbers (compare it, e.g. 'value > 0')",
    ),
    "where-step-numeric": (
        "transforms:\n  - where: value / 2\n" + OLS,
        "7:12: transforms[0].where: a where: filter must be true or false for each row; "
        "'value / 2' gives numbers (compare it, e.g. 'value > 0')",
    ),
    "column-labels-count": (
        OLS + "tables:\n  t: {kind: regression, columns: [m], column_labels: [a, b]}\n",
        "9:54: tables.t.column_labels: column_labels has 2 entries, the table has 1 columns",
    ),
    "template-attribute-walk": (
        "transforms:\n  - log: {vars: [inv], name: '{var}{var.__class__}'}\n" + OLS,
        "7:30: transforms[0].log.name: the name template takes only '{var}' as placeholders",
    ),
    "template-padding": (
        "transforms:\n  - log: {vars: [inv], name: '{var:>300000000}'}\n" + OLS,
        "7:30: transforms[0].log.name: the name template takes only '{var}' as placeholders",
    ),
    "bidi-override": (
        'variables:\n  value: {label: "Market \\u202e value"}\n' + OLS,
        "7:18: variables.value.label: character U+202E (a control or direction-override "
        "character) at position 8 of this text: tables and figures cannot show it",
    ),
    "escape-in-label": (
        'variables:\n  value: {label: "Market\\e[31m value"}\n' + OLS,
        "7:18: variables.value.label: character U+001B (a control or direction-override "
        "character) at position 7 of this text: tables and figures cannot show it",
    ),
    "label-too-long": (
        "variables:\n  value: {label: " + "x" * 300 + "}\n" + OLS,
        "7:18: variables.value.label: string should have at most 200 characters, got "
        "'" + "x" * 56 + "…",
    ),
    "outputs-absolute": (
        OLS + "outputs: {dir: /tmp/x}\n",
        "8:16: outputs.dir: '/tmp/x' is absolute: a spec writes inside its project (e.g. "
        "'../out/spec'); 'specrun run --out DIR' writes elsewhere",
    ),
    "outputs-above-project": (
        OLS + "outputs: {dir: ../../x}\n",
        "8:16: outputs.dir: '../../x' leaves the project folder 'proj': a spec writes inside "
        "its project (e.g. '../out/spec'); 'specrun run --out DIR' writes elsewhere",
    ),
    "outputs-empty": (
        OLS + "outputs: {dir: ''}\n",
        "8:16: outputs.dir: '' is empty: a spec writes inside its project (e.g. '../out/spec'); "
        "'specrun run --out DIR' writes elsewhere",
    ),
    "outputs-spec-folder": (
        OLS + "outputs: {dir: .}\n",
        "8:16: outputs.dir: '.' is the spec's own folder: a spec writes inside its project (e.g. "
        "'../out/spec'); 'specrun run --out DIR' writes elsewhere",
    ),
}


@pytest.mark.parametrize("case", sorted(VALIDATION_CASES))
def test_validate_and_run_report_the_same_located_error(tmp_path, capsys, case):
    text, message = VALIDATION_CASES[case]
    spec = project_spec(tmp_path, text)
    expected = (1, f"error: {spec}:{message}")
    assert run(["validate", str(spec)], capsys) == expected
    assert run(["run", str(spec)], capsys) == expected
    assert not (tmp_path / "proj" / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_entity_and_time_must_differ(tmp_path, capsys):
    spec = project_spec(tmp_path, OLS, GRUNFELD_HEAD.replace("time: year", "time: firm"))
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:5:10: data.panel: entity and time are both 'firm': name two columns",
    )


def test_every_unknown_statistic_is_named_with_a_suggestion(tmp_path, capsys):
    spec = project_spec(
        tmp_path, OLS + "tables:\n  t: {kind: regression, columns: [m], stats: [N, r2, adj_r2]}\n"
    )
    code, err = run(["validate", str(spec)], capsys)
    valid = (
        "valid: "
        + ", ".join(sorted(KNOWN_STATS))
        + ", or a dotted name such as indirect.sobel_z (a model's extra results)"
    )
    assert code == 1
    assert err.splitlines() == [
        f"error: {spec}:9:47: tables.t.stats[0]: unknown statistic 'N' (did you mean 'nobs'?); "
        + valid,
        f"error: {spec}:9:54: tables.t.stats[2]: unknown statistic 'adj_r2' (did you mean "
        "'r2_adj'?); " + valid,
    ]


def test_a_typo_in_a_base_model_is_reported_once(tmp_path, capsys):
    text = (
        "models:\n  fe: {estimator: panel_fe, y: inv, x: [value], efects: [entity]}\n"
        "  fe2: {extends: fe, x: [value, capital]}\n"
        "variants:\n  fe:\n    late: {sample: {time: [1945, null]}}\n"
        "tables:\n  t: {kind: regression, columns: [fe, fe2, fe.late]}\n"
    )
    spec = project_spec(tmp_path, text)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:7:49: models.fe.efects: unknown key 'efects' (did you mean 'effects'?)",
    )


# the CLI for a newcomer


def test_no_arguments_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: specrun [-h] [-V] COMMAND ...")
    assert "exit codes: 0 success; 1 a problem in the spec or the data" in out


def test_short_version_flag(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["-V"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("specrun ")


def test_run_help_explains_outputs_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "tables/<table>.<tex|md|html>, tables.tex" in out
    assert "--out DIR" in out and "--only NAME" in out
    assert "2 bad usage; 3 a bug in specrun" in out


def test_out_folder_holding_the_spec_or_data_is_refused(tmp_path, capsys):
    spec = spec_file(tmp_path, GRUNFELD_HEAD + MODELS)
    assert run(["run", str(spec), "--out", str(tmp_path)], capsys) == (
        2,
        f"error: --out: the output folder '{tmp_path}' holds '{spec}', which a run would "
        "replace: write the outputs to a folder of their own",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grunfeld.csv", "spec.yaml"]


def test_schema_enumerates_statistics_and_documents_data_options():
    from specrun.spec.schema import json_schema

    defs = json_schema()["$defs"]
    stats = defs["RegressionTableSpec"]["properties"]["stats"]["items"]["anyOf"]
    assert {"nobs", "r2_adj", "r2_within"} <= set(stats[0]["enum"])
    assert stats[1] == {"type": "string", "pattern": "^[^.]+\\..+$"}
    assert "drop_missing_keys" in defs["PanelSpec"]["properties"]
    assert "encoding" in defs["SourceSpec"]["properties"]
