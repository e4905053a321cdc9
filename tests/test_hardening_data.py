"""Data as users bring it: encodings, office missing codes, odd headers, bad cells and rows.

Each test asserts the whole message (or the values read) and the row or key it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specrun.cli import main

HEAD = """\
spec_version: 1
data:
  sources:
    d: {path: d.csv%s}
  panel: {source: d, entity: firm, time: year}
"""
OLS = "models:\n  m: {estimator: ols, y: y, x: [x]}\n"

ROWS = [
    (f, t, 0.5 * f + 0.1 * t + (f * t) % 3, 1.0 * f + (t % 4))
    for f in (1, 2, 3)
    for t in range(2001, 2006)
]


def write(
    folder: Path,
    header: str,
    rows: list[str],
    *,
    encoding: str = "utf-8",
    options: str = "",
    models: str = OLS,
) -> Path:
    (folder / "d.csv").write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    spec = folder / "spec.yaml"
    spec.write_text(HEAD % options + models, encoding="utf-8")
    return spec


def plain_rows() -> list[str]:
    return [f"{f},{t},{x},{y}" for f, t, x, y in ROWS]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


def test_gbk_file_without_encoding_names_the_encoding_to_try(tmp_path, capsys):
    spec = write(tmp_path, "企业,年份,x,y", plain_rows(), encoding="gbk", models=OLS).with_name(
        "spec.yaml"
    )
    spec.write_text(spec.read_text().replace("firm", "企业").replace("year", "年份"))
    code, err = run(["validate", str(spec)], capsys)
    assert code == 1
    assert err.startswith(
        f"error: {spec}:4:15: data.sources.d.path: '{tmp_path / 'd.csv'}' is not UTF-8 text "
        "(byte 0xc6 on line 1) (add encoding: gb18030 to the source"
    )


def test_gbk_file_with_encoding_reads_chinese_headers(tmp_path, capsys):
    spec = write(
        tmp_path, "企业,年份,x,y", plain_rows(), encoding="gbk", options=", encoding: gb18030"
    )
    spec.write_text(spec.read_text().replace("firm", "企业").replace("year", "年份"))
    out = tmp_path / "out"
    assert run(["run", str(spec), "--out", str(out)], capsys)[0] == 0
    assert json.loads((out / "results.json").read_text())["models"]["m"]["nobs"] == 15


def test_unknown_encoding_is_a_schema_error(tmp_path, capsys):
    spec = write(tmp_path, "firm,year,x,y", plain_rows(), options=", encoding: gbkk")
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:4:32: data.sources.d.encoding: unknown encoding 'gbkk' (e.g. utf-8, "
        "gb18030, gbk, big5, latin-1)",
    )


def test_bom_office_missing_codes_and_full_width_headers(tmp_path, capsys):
    rows = plain_rows()
    rows[0] = rows[0].rsplit(",", 1)[0] + ",.."
    rows[1] = rows[1].rsplit(",", 1)[0] + ",—"
    rows[2] = rows[2].rsplit(",", 1)[0] + ",-"
    header = "\ufeff firm ,ｙｅａｒ,x,\u3000y"
    spec = write(tmp_path, header, rows)
    out = tmp_path / "out"
    assert run(["run", str(spec), "--out", str(out)], capsys)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["m"] == {"sample": 15, "used": 12, "dropped_incomplete": 3}


def test_duplicate_header_is_named(tmp_path, capsys):
    spec = write(tmp_path, "firm,year,x,x", plain_rows())
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:4:15: data.sources.d.path: '{tmp_path / 'd.csv'}' has two columns named "
        "'x' (columns 3 and 4 of line 1) (rename one of them in the file)",
    )


def test_cr_only_line_ends_are_read(tmp_path, capsys):
    spec = write(tmp_path, "firm,year,x,y", plain_rows())
    path = tmp_path / "d.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    assert run(["validate", str(spec)], capsys)[0] == 0


def test_infinite_cell_names_its_row(tmp_path, capsys):
    rows = plain_rows()
    rows[6] = "2,2002,inf,1.0"
    spec = write(tmp_path, "firm,year,x,y", rows)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:6: models.m: variable 'x' of model 'm' is infinite in 1 rows, first at "
        "firm 2, year 2002 (inf) (an inf usually comes from dividing by zero; set such cells "
        "missing)",
    )


def test_time_column_as_text_shows_a_value(tmp_path, capsys):
    rows = [f"{f},{t}年,{x},{y}" for f, t, x, y in ROWS]
    spec = write(tmp_path, "firm,year,x,y", rows)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:5:42: data.panel.time: the time column 'year' of 'd.csv' is text, e.g. "
        "'2001年': periods must be numbers such as 2012 (or dates) ('2001年' is a number "
        "followed by '年': add ignore: [\"年\"] to the source, as Stata's destring, "
        'ignore("年"))',
    )
    # a period that is not a number with a unit: the file needs plain numbers
    rows = [f"{f},{t}Q1,{x},{y}" for f, t, x, y in ROWS]
    spec = write(tmp_path, "firm,year,x,y", rows)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:5:42: data.panel.time: the time column 'year' of 'd.csv' is text, e.g. "
        "'2001Q1': periods must be numbers such as 2012 (or dates) (write the years as plain "
        "numbers in the file)",
    )


def test_empty_sample_says_why(tmp_path, capsys):
    models = "models:\n  m: {estimator: ols, y: y, x: [x], sample: {time: [1990, 1995]}}\n"
    spec = write(tmp_path, "firm,year,x,y", plain_rows(), models=models)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:6: models.m: model 'm' has no rows: sample (inline) keeps none of the "
        "15 rows (year 2001–2005) — its time window [1990, 1995] matches no row",
    )


def test_constant_dependent_variable(tmp_path, capsys):
    rows = [f"{f},{t},{x},1.5" for f, t, x, _ in ROWS]
    spec = write(tmp_path, "firm,year,x,y", rows)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:6: models.m: the dependent variable 'y' of model 'm' is constant (1.5) "
        "in all 15 rows of its sample",
    )


def test_non_boolean_where_on_a_column_at_run(tmp_path, capsys):
    models = "samples:\n  s: {where: x}\nmodels:\n  m: {estimator: ols, y: y, x: [x], sample: s}\n"
    spec = write(tmp_path, "firm,year,x,y", plain_rows(), models=models)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:6: samples.s: a where: filter must be true or false for each row; 'x' "
        "gives Float64 values (compare it, e.g. 'value > 0')",
    )


def test_wrong_data_path_shows_where_it_was_resolved(tmp_path, capsys):
    spec = write(tmp_path, "firm,year,x,y", plain_rows())
    spec.write_text(spec.read_text().replace("d.csv", "data/d.csv"))
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:4:15: data.sources.d.path: data file 'data/d.csv' not found (relative "
        f"paths are read from the spec's folder '{tmp_path}', so this is "
        f"'{tmp_path / 'data' / 'd.csv'}') (the folder '{tmp_path / 'data'}' does not exist)",
    )
