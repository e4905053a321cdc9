"""Data as users bring it, broken: NaN cells, empty columns, workbooks whose data is not on
the sheet read.

Each test failed before its fix; each asserts the whole message a user sees, or the numbers
read against the same data written the way that always worked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, PROJECT_ROOT, grunfeld_project
from specrun.cli import main

FE = "models:\n  m: {estimator: panel_fe, y: inv, x: [value, capital], absorb: [entity, time]}\n"


def run(spec: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["run", str(spec), "--out", str(spec.parent / "out"), "--no-cache", *args])
    return code, capsys.readouterr().err


def grunfeld_with_cell(folder: Path, text: str) -> Path:
    """Grunfeld's CSV with firm 1's 1940 market value written as ``text``; the spec's path."""
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    lines = [
        ",".join([*line.split(",")[:3], text, line.split(",")[4]])
        if line.startswith("1,1940,")
        else line
        for line in lines
    ]
    spec = grunfeld_project(folder, GRUNFELD_HEAD + FE)
    (folder / "grunfeld.csv").write_text("\n".join(lines) + "\n")
    return spec


def test_a_nan_cell_is_a_missing_value(tmp_path, capsys):
    """pandas.read_csv and R's read.csv read 'NaN' as missing; polars reads it as a float NaN,
    which passed the complete-case filter and made the fit say 'regressors are collinear once
    the effects are absorbed: ' naming none. The fit equals the one with the cell left blank."""
    blank = tmp_path / "blank"
    blank.mkdir()
    assert run(grunfeld_with_cell(blank, ""), capsys)[0] == 0
    spec = grunfeld_with_cell(tmp_path, "NaN")
    assert run(spec, capsys) == (0, "")
    got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    want = json.loads((blank / "out" / "results.json").read_text())["models"]["m"]
    assert got["nobs"] == 199
    assert got["coefficients"] == want["coefficients"]


def test_an_infinity_written_out_is_an_infinite_value(tmp_path, capsys):
    """The CSV reader keeps a column with an 'Infinity' cell as text, though the cell is a
    float: the error named no cell ("is String, not numeric (list ...)"). It reads as the
    infinite value 'inf' gives, and is named as that is."""
    spec = grunfeld_with_cell(tmp_path, "Infinity")
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:7:6: models.m: variable 'value' of model 'm' is infinite in 1 rows, "
        "first at firm 1, year 1940 (inf) (an inf usually comes from dividing by zero; set such "
        "cells missing)\n",
    )


@pytest.mark.parametrize("cell", ["   ", " NA ", "nan", "-nan"])
def test_blank_and_padded_missing_codes_of_a_csv_are_missing(tmp_path, capsys, cell):
    """A CSV cell of spaces, a code with spaces around it, or numpy's 'nan' made the column
    text ("String, not numeric"), where the same cell of an Excel sheet was missing (its
    text cells are stripped before the codes are matched). The fit equals the blank cell's."""
    blank = tmp_path / "blank"
    blank.mkdir()
    assert run(grunfeld_with_cell(blank, ""), capsys)[0] == 0
    spec = grunfeld_with_cell(tmp_path, cell)
    assert run(spec, capsys) == (0, "")
    got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    want = json.loads((blank / "out" / "results.json").read_text())["models"]["m"]
    assert got["coefficients"] == want["coefficients"]


def test_a_padded_number_of_a_csv_is_a_number(tmp_path, capsys):
    """' 4643.9 ' (a spreadsheet's padding) is the number, as in an Excel sheet."""
    plain = tmp_path / "plain"
    plain.mkdir()
    assert run(grunfeld_with_cell(plain, "4643.9"), capsys)[0] == 0
    spec = grunfeld_with_cell(tmp_path, " 4643.9 ")
    assert run(spec, capsys) == (0, "")
    got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    want = json.loads((plain / "out" / "results.json").read_text())["models"]["m"]
    assert got["coefficients"] == want["coefficients"]


def test_a_nan_in_a_parquet_file_is_a_missing_value(tmp_path, capsys):
    """A float NaN in a parquet column (pandas writes its missing floats so) is missing."""
    import polars as pl

    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD.replace("grunfeld.csv", "g.parquet") + FE)
    frame.with_columns(
        pl.when((pl.col("firm") == 1) & (pl.col("year") == 1940))
        .then(float("nan"))
        .otherwise(pl.col("value"))
        .alias("value")
    ).write_parquet(tmp_path / "g.parquet")
    assert run(spec, capsys) == (0, "")
    got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    assert got["nobs"] == 199


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "models:\n  m: {estimator: ols, y: inv, x: [value, rd]}\n",
            "7:6: models.m: model 'm' has no complete observations: every one of the 200 rows "
            "of its sample misses a value of rd (200 of 200 missing)",
        ),
        (
            "transforms:\n  - interpolate: {vars: [rd]}\n"
            "models:\n  m: {estimator: ols, y: inv, x: [value]}\n",
            "7:18: transforms[0].interpolate: interpolate: 'rd' is missing in every row",
        ),
    ],
)
def test_an_empty_column_is_a_column_of_missing_numbers(tmp_path, capsys, body, message):
    """A CSV column with no value at all has no type to infer and was read as text: models
    and transforms said "'rd' is String, not numeric", sending the user hunting for a text
    cell. It reads as numbers, all missing (as Stata's import delimited and pandas read it),
    and each reader says what it says of a numeric column with no values."""
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + body)
    rows = [f"{lines[0]},rd"] + [f"{line}," for line in lines[1:]]
    (tmp_path / "grunfeld.csv").write_text("\n".join(rows) + "\n")
    assert run(spec, capsys) == (1, f"error: {spec}:{message}\n")


def workbook(path: Path) -> None:
    """Grunfeld's data on a second sheet '数据' behind a sheet of notes, as statistical
    offices publish them."""
    openpyxl = pytest.importorskip("openpyxl")
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["数据来源：Grunfeld (1958)"])
    sheet = book.create_sheet("数据")
    sheet.append(lines[0].replace('"', "").split(","))
    for line in lines[1:]:
        sheet.append([float(cell) for cell in line.split(",")])
    book.save(path)


@pytest.mark.parametrize(
    ("option", "where", "message"),
    [
        (
            "",
            "4:8: data.sources.g",
            "source 'g' has no column 'firm' or 'year' in the sheet it reads ('说明'); sheet "
            "'数据' holds them (set sheet: 数据 on the source)",
        ),
        (
            ", sheet: 数剧",
            "4:30: data.sources.g.sheet",
            "'g.xlsx' has no sheet '数剧'; its sheets: '说明', '数据' (did you mean '数据'?)",
        ),
        (
            ", sheet: Data",
            "4:30: data.sources.g.sheet",
            "'g.xlsx' has no sheet 'Data'; its sheets: '说明', '数据'",
        ),
        (
            ", sheet: 3",
            "4:30: data.sources.g.sheet",
            "'g.xlsx' has no sheet 3: it has 2 ('说明', '数据'; sheet: counts from 1)",
        ),
    ],
)
def test_a_workbook_names_its_sheets(tmp_path, capsys, option, where, message):
    """Before, a workbook read from its notes sheet reported every name the spec uses as
    missing, and a sheet it lacks gave the reader's "no matching sheet found when
    `sheet_name` is 'Data'"; validate and run say the same, at the source or its sheet."""
    workbook(tmp_path / "g.xlsx")
    head = GRUNFELD_HEAD.replace("{path: grunfeld.csv}", "{path: g.xlsx" + option + "}")
    spec = grunfeld_project(tmp_path, head + FE)
    assert run(spec, capsys) == (1, f"error: {spec}:{where}: {message}\n")
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == f"error: {spec}:{where}: {message}\n"


def test_the_sheet_named_reads_the_data(tmp_path, capsys):
    """The fix's hint works: the second sheet by name or number fits as the CSV does."""
    workbook(tmp_path / "g.xlsx")
    (tmp_path / "csv").mkdir()
    csv = grunfeld_project(tmp_path / "csv", GRUNFELD_HEAD + FE)
    assert run(csv, capsys)[0] == 0
    want = json.loads((tmp_path / "csv" / "out" / "results.json").read_text())["models"]["m"]
    for sheet in ("数据", "2"):
        head = GRUNFELD_HEAD.replace("{path: grunfeld.csv}", "{path: g.xlsx, sheet: " + sheet + "}")
        spec = grunfeld_project(tmp_path, head + FE)
        assert run(spec, capsys) == (0, "")
        got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
        for name, coefficient in want["coefficients"].items():
            assert got["coefficients"][name] == pytest.approx(coefficient, rel=1e-12)


@pytest.mark.parametrize("tail", [",", ",,"])
def test_empty_unnamed_columns_of_a_spreadsheet_export_are_dropped(tmp_path, capsys, tail):
    """A spreadsheet's CSV export often ends every line with a separator (empty columns past
    the last one): the run stopped at "column 6 of line 1 has no name", though the Excel
    reader drops such columns. The fit equals the one on the file without them."""
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    plain = tmp_path / "plain"
    plain.mkdir()
    assert run(grunfeld_project(plain, GRUNFELD_HEAD + FE), capsys)[0] == 0
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + FE)
    (tmp_path / "grunfeld.csv").write_text("\n".join(line + tail for line in lines) + "\n")
    assert run(spec, capsys) == (0, "")
    assert (tmp_path / "out" / "results.json").read_bytes().replace(str(spec).encode(), b"") == (
        plain / "out" / "results.json"
    ).read_bytes().replace(str(plain / "spec.yaml").encode(), b"")


def test_an_unnamed_column_with_data_is_still_an_error(tmp_path, capsys):
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + FE)
    rows = [lines[0] + ","] + [line + ",1" for line in lines[1:]]
    (tmp_path / "grunfeld.csv").write_text("\n".join(rows) + "\n")
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:4:15: data.sources.g.path: '{tmp_path / 'grunfeld.csv'}': column 6 of "
        "line 1 has no name (name it, or name the header's row with header_row:)\n",
    )


@pytest.mark.parametrize(
    ("separator", "said", "hint"),
    [
        (";", "';'", "set separator: ';' on the source"),
        ("\t", "tabs", 'set separator: "\\t" on the source'),
    ],
)
def test_a_file_separated_otherwise_names_its_separator(tmp_path, capsys, separator, said, hint):
    """A CSV file saved with ';' (a spreadsheet in a locale whose decimal mark is a comma) or
    tabs reads as one column: before, each name the spec uses was reported missing. Grunfeld's
    numbers have decimal points, so no decimal: ',' is asked for."""
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + FE)
    (tmp_path / "grunfeld.csv").write_text(
        "\n".join(line.replace(",", separator) for line in lines) + "\n"
    )
    shown = separator.replace("\t", "\\t")  # a tab is shown as \t
    header = shown.join(f'"{name}"' for name in ("firm", "year", "inv", "value", "capital"))
    message = (
        f"error: {spec}:4:15: data.sources.g.path: 'grunfeld.csv' separates its fields with "
        f"{said}, not commas, so its header '{header}' reads as 1 column ({hint})\n"
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == message
    assert run(spec, capsys) == (1, message)


@pytest.mark.parametrize(
    ("step", "col", "key", "what"),
    [
        ("derive: {firm: value * 2}", 14, "firm", "entity"),
        ("derive: {v2: value, year: year - 1900}", 25, "year", "time"),
    ],
)
def test_a_transform_replacing_a_panel_key_is_an_error(tmp_path, capsys, step, col, key, what):
    """derive: {firm: ...} replaced the entity column after the panel's keys were checked:
    the run went on with each row its own entity (or periods never checked for repeats)."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + f"transforms:\n  - {step}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value]}\n",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:{col}: transforms[0].derive.{key}: derive would replace '{key}', the "
        f"panel's {what} column (give the new column another name; to index the panel by it, "
        f"name it as data.panel.{what})\n"
    )


def test_a_where_step_keeping_no_row_says_so(tmp_path, capsys):
    """A where: step that drops every row made each model say "sample (inline) keeps none of
    the 0 rows (no periods)", blaming a sample the model does not have."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - where: 'year > 3000'\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value]}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:7:12: transforms[0].where: where 'year > 3000' keeps none of the 200 "
        "rows of the panel, year 1935–1954: every model would be empty\n",
    )


def test_a_list_or_duration_column_in_a_model_is_named_not_a_crash(tmp_path, capsys):
    """A parquet file's list or duration column in a model crashed (exit 3, "cannot cast
    List type ... to String", "casting from Duration to String not supported"). Each is
    named with its type, at its item."""
    import polars as pl

    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame.with_columns(
        pair=pl.concat_list([pl.col("inv"), pl.col("value")]),
        age=pl.duration(days=pl.col("year") - 1900),
    ).write_parquet(tmp_path / "g.parquet")
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD.replace("grunfeld.csv", "g.parquet")
        + "models:\n  m: {estimator: ols, y: inv, x: [pair]}\n"
        "  d: {estimator: descriptive, vars: [inv, age]}\n",
    )
    hint = "(a model reads columns of numbers; derive one from this column first)"
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:7:35: models.m.x[0]: variable 'pair' of model 'm' is List(Float64), "
        f"not numeric {hint}\n"
        f"error: {spec}:8:43: models.d.vars[1]: variable 'age' of model 'd' is "
        f"Duration(time_unit='us'), not numeric {hint}\n",
    )


@pytest.mark.parametrize(
    ("model", "where"),
    [
        (
            "{estimator: panel_fe, y: inv, x: [value], absorb: [entity, pair]}",
            "7:65: models.m.absorb[1]",
        ),
        (
            "{estimator: ols, y: inv, x: [value], se: {cluster: [firm, pair]}}",
            "7:64: models.m.se.cluster[1]",
        ),
        ("{estimator: ols, y: inv, x: [value, i.pair]}", "7:42: models.m.x[1]"),
        ("{estimator: ols, y: inv, x: [value], over: pair}", "7:49: models.m.over"),
    ],
)
def test_a_list_column_grouping_rows_is_named_at_its_item(tmp_path, capsys, model, where):
    """A list column as a fixed effect, cluster or factor crashed (exit 3: "the truth value of
    an array ... is ambiguous", "cannot cast List type"); as over: it made one model per list
    ('m.[317.6, 3078.5]')."""
    import polars as pl

    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame.with_columns(pair=pl.concat_list([pl.col("inv"), pl.col("value")])).write_parquet(
        tmp_path / "g.parquet"
    )
    spec = grunfeld_project(
        tmp_path, GRUNFELD_HEAD.replace("grunfeld.csv", "g.parquet") + f"models:\n  m: {model}\n"
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:{where}: variable 'pair' of model 'm' is List(Float64): a fixed effect, "
        "cluster, factor or over: column groups rows by one value each (numbers, text or "
        "dates)\n",
    )


def test_a_list_entity_column_is_named(tmp_path, capsys):
    """A parquet list column named as the panel's entity crashed (exit 3) grouping rows."""
    import polars as pl

    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame.with_columns(pair=pl.concat_list([pl.col("firm"), pl.col("firm")])).write_parquet(
        tmp_path / "g.parquet"
    )
    head = GRUNFELD_HEAD.replace("grunfeld.csv", "g.parquet").replace(
        "entity: firm", "entity: pair"
    )
    spec = grunfeld_project(tmp_path, head + "models:\n  m: {estimator: ols, y: inv, x: [value]}\n")
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:5:30: data.panel.entity: the entity column 'pair' of 'g.parquet' is "
        "List(Int64): an entity is one number or text a row\n",
    )


def grunfeld_cells(folder: Path, cells: dict[tuple[int, int, str], str], body: str) -> Path:
    """Grunfeld's CSV with the cells {(firm, year, column): text} replaced; the spec's path."""
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    header = lines[0].replace('"', "").split(",")
    rows = [lines[0]]
    for line in lines[1:]:
        cells_of = line.split(",")
        for (firm, year, column), text in cells.items():
            if cells_of[0] == str(firm) and cells_of[1] == str(year):
                cells_of[header.index(column)] = text
        rows.append(",".join(cells_of))
    spec = grunfeld_project(folder, GRUNFELD_HEAD + body)
    (folder / "grunfeld.csv").write_text("\n".join(rows) + "\n")
    return spec


@pytest.mark.parametrize("estimator", ["ols", "panel_re"])
def test_a_value_too_large_to_square_is_named(tmp_path, capsys, estimator):
    """1e300 in a regressor made the random-effects fit crash (exit 3: "SVD did not
    converge"), OLS say "regressors are collinear: value" after a numpy overflow warning, and
    fixed effects "regressors are collinear once the effects are absorbed: " naming none."""
    spec = grunfeld_cells(
        tmp_path,
        {(1, 1939, "value"): "1e300"},
        f"models:\n  m: {{estimator: {estimator}, y: inv, x: [value, capital]}}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:7:6: models.m: variable 'value' of model 'm' is 1e+300 at firm 1, year "
        "1939: values beyond ±1e+150 overflow double precision when squared (set a mistyped "
        "cell missing, or rescale: derive: {value_s: value / 1e9})\n",
    )


def test_a_factor_level_beyond_exact_integers_is_named(tmp_path, capsys):
    """i.code with a level of 1e300 crashed (exit 3) converting it to an integer."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - derive: {code: 'if_else(year == 1939, 1e300, firm)'}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value, i.code]}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:9:6: models.m: factor i.code takes the value 1e+300; factor levels "
        "are integers (of at most 16 digits) or text\n",
    )


def test_a_mistyped_period_is_named_not_terabytes(tmp_path, capsys):
    """One period typed 20100000000 for 2010: dynamic panel GMM allocated its instruments for
    every period of the span (numpy: "Unable to allocate 1.46 TiB"), exit 3."""
    spec = grunfeld_cells(
        tmp_path,
        {(1, 1954, "year"): "20000000000"},
        "models:\n  gm: {estimator: difference_gmm, y: inv, lags: 1, x: [value], "
        "gmm: {inv: [2, 3]}}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:7:7: models.gm: year: the time variable 'year' runs from 1935 to "
        "20000000000: 19,999,998,066 periods for 21 distinct values (a mistyped period?)\n",
    )


def test_a_period_beyond_whole_floats_is_named(tmp_path, capsys):
    """A period of 1e300 turned the time column to decimals, and a lag crashed on the cast."""
    spec = grunfeld_cells(
        tmp_path,
        {(1, 1954, "year"): "1e300"},
        "models:\n  m: {estimator: panel_fe, y: inv, x: [L.value], absorb: [entity]}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:5:42: data.panel.time: the time column 'year' of 'grunfeld.csv' holds "
        "1e+300 (firm 1): a period is a whole number such as 2012 (correct the mistyped cell)\n",
    )


def test_years_written_as_decimals_are_periods_for_every_lag(tmp_path, capsys):
    """A CSV writing years as 1935.0: the L. operator counted them, but the lag transform
    said "lag needs an integer time column; 'year' is Float64". Both agree with the file of
    whole years."""
    body = (
        "transforms:\n  - lag: {vars: [value]}\n"
        "models:\n  m: {estimator: panel_fe, y: inv, x: [L.capital, value_lag1], "
        "absorb: [entity, time]}\n"
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    assert run(grunfeld_project(plain, GRUNFELD_HEAD + body), capsys)[0] == 0
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + body)
    rows = [lines[0]] + [
        ",".join(c + ".0" if i == 1 else c for i, c in enumerate(line.split(",")))
        for line in lines[1:]
    ]
    (tmp_path / "grunfeld.csv").write_text("\n".join(rows) + "\n")
    assert run(spec, capsys) == (0, "")
    got = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    want = json.loads((plain / "out" / "results.json").read_text())["models"]["m"]
    assert got["coefficients"] == want["coefficients"]


def test_a_solver_giving_up_is_a_located_error(tmp_path, capsys, monkeypatch):
    """Whatever data no check describes, numpy's "SVD did not converge" in an estimator is the
    model's numerical trouble, said at the model, never a traceback (exit 3)."""
    import dataclasses

    import numpy as np

    from specrun.estimators.base import ESTIMATORS

    def failing(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    kind = dataclasses.replace(ESTIMATORS.get("ols"), fit=failing)
    monkeypatch.setitem(ESTIMATORS._items, "ols", kind)
    spec = grunfeld_project(
        tmp_path, GRUNFELD_HEAD + "models:\n  m: {estimator: ols, y: inv, x: [value]}\n"
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:7:6: models.m: the fit of model 'm' failed numerically (numpy: SVD did "
        "not converge) (look for nearly collinear regressors or variables of very different "
        "scales)\n",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "models:\n  m: {estimator: panel_fe, y: inv, x: [L.value], absorb: [entity]}\n",
            "7:6: models.m: time-series operators (L.value) need an integer time column; "
            "'year' is Float64 and holds 1939.5 (firm 1)",
        ),
        (
            "transforms:\n  - lag: {vars: [value]}\n"
            "models:\n  m: {estimator: ols, y: inv, x: [value]}\n",
            "7:10: transforms[0].lag: lag needs an integer time column; 'year' is Float64 and "
            "holds 1939.5 (firm 1)",
        ),
    ],
)
def test_a_fractional_period_is_named(tmp_path, capsys, body, message):
    """One period typed 1939.5 turns the time column to decimals: lags said only "'year' is
    Float64", leaving the user to find the cell."""
    spec = grunfeld_cells(tmp_path, {(1, 1939, "year"): "1939.5"}, body)
    assert run(spec, capsys) == (1, f"error: {spec}:{message}\n")


def test_a_text_cell_outside_the_sample_is_named_there(tmp_path, capsys):
    """A text cell of firm 9 makes 'value' text for the whole file: a model of firms 1–3 said
    "is String, not numeric" and named no cell, since each of its own cells is a number."""
    spec = grunfeld_cells(
        tmp_path,
        {(9, 1944, "value"): "n.a."},
        "samples:\n  few: {where: firm <= 3}\n"
        "models:\n  m: {estimator: ols, y: inv, x: [value], sample: few}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:9:35: models.m.x[0]: variable 'value' of model 'm' is String, not "
        "numeric; first non-number 'n.a.' at firm 9, year 1944 (outside this model's sample) "
        "(if 'n.a.' marks a missing value, add it to the source's missing-value codes: "
        'null_values: ["", "NA", ".", "..", "-", "—", "–", "--", "n.a."])\n',
    )


def test_merged_entity_cells_of_a_sheet_are_named_as_the_likely_cause(tmp_path, capsys):
    """A yearbook sheet merges each firm's cell over its years: the value sits in the first
    row only, and the rows below read blank. The error named the blank rows; it now says
    what merged cells do and what to change."""
    openpyxl = pytest.importorskip("openpyxl")
    lines = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(lines[0].replace('"', "").split(","))
    for line in lines[1:]:
        sheet.append([float(cell) for cell in line.split(",")])
    sheet.merge_cells("A2:A4")  # firm 1 over 1935–1937
    book.save(tmp_path / "g.xlsx")
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD.replace("grunfeld.csv", "g.xlsx") + FE,
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:5:10: data.panel: 2 rows have no firm or no year (g.xlsx: row 2, "
        "g.xlsx: row 3; rows count data rows from 1, after the header): a missing key cannot "
        "be an entity or a period (if the sheet merges cells of firm, each keeps its value in "
        "its first row only: unmerge them and fill each value down; or fill them in, or set "
        "drop_missing_keys: true on data.panel to drop and count them)\n",
    )


def test_an_overidentified_iv_without_first_stage_rows_is_named(tmp_path, capsys):
    """12 rows, 7 absorbed effects, 3 exogenous regressors and 2 instruments for 1
    endogenous: the second stage keeps a degree of freedom, the first stage none, and the
    Anderson–Rubin interval crashed dividing by it (exit 3: ZeroDivisionError)."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - derive: {z1: capital * year, z2: capital * capital, "
        "w: value * year, lc: log(capital + inv)}\n"
        "samples:\n  small: {where: firm <= 2 and year <= 1940}\n"
        "models:\n  m: {estimator: iv, y: inv, x: [capital, w, z2], endog: [value], "
        "instruments: [z1, lc], absorb: [entity, time], sample: small}\n",
    )
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:11:6: models.m: no residual degrees of freedom in the first stage (12 "
        "observations for 5 instruments and exogenous regressors and 7 absorbed effects)\n",
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "g.csv",
            "xlsx",
            "'{path}' is an Excel workbook (.xlsx), not CSV text as its extension says (set "
            "format: excel on the source, or name the file .xlsx)",
        ),
        (
            "g.csv",
            "gzip",
            "'{path}' is a gzip archive, not CSV text as its extension says (unpack it (gunzip) "
            "and name the file inside)",
        ),
        (
            "g.xlsx",
            "csv",
            "'{path}' is a text file, not an Excel workbook as its extension says (set format: "
            "csv on the source, or name the file .csv)",
        ),
        (
            "g.dta",
            "csv",
            "'{path}' is a text file, not a Stata dataset as its extension says (set format: csv "
            "on the source, or name the file .csv)",
        ),
    ],
)
def test_a_file_whose_bytes_are_another_format_says_which(tmp_path, capsys, name, content, message):
    """A workbook saved under .csv was told "not UTF-8 text ... (add encoding: gb18030)", a CSV
    under .xlsx got calamine's "Cannot detect file format" with three lines of its context."""
    import gzip

    csv_bytes = (PROJECT_ROOT / "data" / "grunfeld.csv").read_bytes()
    if content == "xlsx":
        workbook(tmp_path / "book.xlsx")
        data = (tmp_path / "book.xlsx").read_bytes()
    else:
        data = gzip.compress(csv_bytes) if content == "gzip" else csv_bytes
    (tmp_path / name).write_bytes(data)
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD.replace("grunfeld.csv", name) + FE)
    path = tmp_path / name
    assert run(spec, capsys) == (
        1,
        f"error: {spec}:4:15: data.sources.g.path: {message.format(path=path)}\n",
    )


def test_a_csv_named_txt_is_told_its_format(tmp_path, capsys):
    (tmp_path / "g.txt").write_bytes((PROJECT_ROOT / "data" / "grunfeld.csv").read_bytes())
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD.replace("grunfeld.csv", "g.txt") + FE)
    code, err = run(spec, capsys)
    assert (code, err.endswith("(set format: csv on the source)\n")) == (1, True)


def test_a_float32_column_is_checked_without_a_numpy_warning(tmp_path, capsys):
    """A Stata float (or parquet float32) column: the check for values too large to square
    compared it with 1e150, which float32 cannot hold ("RuntimeWarning: overflow encountered
    in cast", printed amid the run's output)."""
    import warnings

    import polars as pl

    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame.with_columns(pl.col("value").cast(pl.Float32)).write_parquet(tmp_path / "g.parquet")
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD.replace("grunfeld.csv", "g.parquet") + FE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run(spec, capsys) == (0, "")
