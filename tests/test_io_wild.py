"""Files as users have them: a title row above the header, numbers stored as text with thousands
separators or as percentages, missing-value codes in Excel cells, a total row, repeated keys."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from specrun.cli import main

SPEC = """\
spec_version: 1
data:
  sources:
    p: {{path: {path}{options}}}
  panel: {{source: p, entity: firm, time: year, drop_missing_keys: true}}
models:
  fe: {{estimator: panel_fe, y: y, x: [x, share, z], absorb: [entity, time],
       se: {{cluster: entity}}}}
outputs: {{formats: [markdown]}}
"""

# pyfixest 0.60 on the rows of `panel_rows()` (share as a fraction, z missing where None):
# feols("y ~ x + share + z | firm + year", data, vcov={"CRV1": "firm"}, fixef_rm="none").
# pyfixest demeans by alternating projections to its default tolerance (fixef_tol=1e-08), so the
# two agree to about 1e-8, not to the last digit.
PEER_NOBS = 31
PEER_COEF = {"x": 1.5027584531062444e-06, "share": -1.8085273664814718, "z": 0.0933437153681398}
PEER_SE = {"x": 6.157166076597222e-06, "share": 0.6830640228398104, "z": 0.08214303701382816}


def panel_rows() -> list[tuple[str, int, float, float, float | None, float]]:
    """6 firms × 6 years from closed formulas: x in thousands, share in percent, z with gaps."""
    rows = []
    for i in range(6):
        for t in range(2015, 2021):
            k = i * 6 + (t - 2015)
            x = 1000.0 * ((k * 37) % 23 - 11) + 0.5 * k
            share = ((k * 13) % 17) * 2.5
            z = None if k % 7 == 3 else ((k * 5) % 11) / 4
            y = round(
                0.002 * x / 1000
                + 0.3 * share / 100
                + i * 0.7
                + (t - 2015) * 0.1
                + ((k * 29) % 13) / 10,
                4,
            )
            rows.append((f"F{i}", t, x, share, z, y))
    return rows


def write_workbook(
    path: Path, title: bool = True, codes: tuple[str, ...] = ("—", "NA", ".")
) -> None:
    """A yearbook-style sheet: a merged title row, numbers as text ('1,234.5', '12.5%'),
    missing cells written '—', 'NA' or '.' (or ``codes``), and a total row without a year."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append(["表1 企业面板（单位：万元）"])
        sheet.merge_cells("A1:F1")
    sheet.append(["firm", "year", "x", "share", "z", "y"])
    for n, (firm, year, x, share, z, y) in enumerate(panel_rows()):
        cell = codes[n % len(codes)] if z is None else z
        sheet.append([firm, year, f"{x:,.1f}", f"{share:.1f}%", cell, y])
    sheet.append(["合计", None, "12,345.0", None, None, 99.0])
    book.save(path)


def run(tmp_path: Path, options: str, capsys, path: str = "p.xlsx") -> tuple[int, str]:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(path=path, options=options), encoding="utf-8")
    code = main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"])
    return code, capsys.readouterr().err


def test_yearbook_sheet_reads_with_header_row_thousands_and_percent(tmp_path, capsys):
    write_workbook(tmp_path / "p.xlsx")
    code, err = run(tmp_path, ', header_row: 2, thousands: ",", percent: true', capsys)
    assert code == 0, err
    fe = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["fe"]
    assert fe["nobs"] == PEER_NOBS
    for name in PEER_COEF:
        assert fe["coefficients"][name]["estimate"] == pytest.approx(PEER_COEF[name], rel=1e-7)
        assert fe["coefficients"][name]["std_error"] == pytest.approx(PEER_SE[name], rel=1e-7)


def test_a_title_row_names_the_row_holding_the_header(tmp_path, capsys):
    write_workbook(tmp_path / "p.xlsx")
    code, err = run(tmp_path, "", capsys)
    assert code == 1
    assert err == (
        f"error: {tmp_path / 's.yaml'}:4:8: data.sources.p: source 'p' has no column 'firm' or "
        "'year' in its header row 1 (it reads '表1 企业面板(单位:万元)', '__UNNAMED__1', "
        "'__UNNAMED__2', …); row 2 holds them (set header_row: 2 on the source (rows above it, "
        "such as a title, are skipped))\n"
    )


def test_numbers_with_thousands_separators_name_the_option(tmp_path, capsys):
    write_workbook(tmp_path / "p.xlsx")
    code, err = run(tmp_path, ", header_row: 2, percent: true", capsys)
    assert code == 1
    assert err == (
        f"error: {tmp_path / 's.yaml'}:7:39: models.fe.x[0]: variable 'x' of model 'fe' is "
        "String, not numeric; first non-number '-11,000.0' at firm F0, year 2015 ('-11,000.0' "
        'is a number with a thousands separator: add thousands: "," to the source)\n'
    )


def test_percentages_name_the_option(tmp_path, capsys):
    write_workbook(tmp_path / "p.xlsx")
    code, err = run(tmp_path, ', header_row: 2, thousands: ","', capsys)
    assert code == 1
    assert err == (
        f"error: {tmp_path / 's.yaml'}:7:42: models.fe.x[1]: variable 'share' of model 'fe' "
        "is String, not numeric; first non-number '0.0%' at firm F0, year 2015 ('0.0%' is a "
        "percentage: add percent: true to the source)\n"
    )


def test_winds_double_hyphen_is_missing_by_default(tmp_path, capsys):
    # Wind's exports write a missing cell '--': the same fit as with '—', 'NA' and '.'
    write_workbook(tmp_path / "p.xlsx", codes=("--",))
    code, err = run(tmp_path, ', header_row: 2, thousands: ",", percent: true', capsys)
    assert code == 0, err
    fe = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["fe"]
    assert fe["nobs"] == PEER_NOBS
    assert fe["coefficients"]["z"]["estimate"] == pytest.approx(PEER_COEF["z"], rel=1e-7)


def test_an_unknown_missing_code_among_percentages_is_the_cell_named(tmp_path, capsys):
    """With percent: true set, the cell that keeps a column text is the code the source does
    not know ('n.a.'), not the first percentage; the hint writes the list with it added. It
    said "'0.0%' is a percentage: add percent: true", which the source had."""
    write_workbook(tmp_path / "p.xlsx", codes=("n.a.",))
    code, err = run(tmp_path, ', header_row: 2, thousands: ",", percent: true', capsys)
    assert code == 1
    assert err == (
        f"error: {tmp_path / 's.yaml'}:7:49: models.fe.x[2]: variable 'z' of model 'fe' is "
        "String, not numeric; first non-number 'n.a.' at firm F0, year 2018 (if 'n.a.' marks a "
        'missing value, add it to the source\'s missing-value codes: null_values: ["", "NA", ".", '
        '"..", "-", "—", "–", "--", "n.a."])\n'
    )


def test_excel_missing_codes_are_missing(tmp_path):
    """'—', 'NA' and '.' in an Excel column of numbers are missing, as in a CSV file; a text
    column of codes ('001') without any such cell stays text."""
    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "v", "w"])
    for row in [["001", 1.5, "—"], ["002", "NA", "2"], ["010", ".", " 3 "]]:
        sheet.append(row)
    book.save(tmp_path / "c.xlsx")
    frame = read_source(SourceSpec(path="c.xlsx"), tmp_path)
    assert frame.to_dict(as_series=False) == {
        "id": ["001", "002", "010"],
        "v": [1.5, None, None],
        "w": [None, 2, 3],
    }


def test_csv_codes_with_leading_zeros_stay_text_as_in_excel(tmp_path):
    """Stock codes in a CSV file read as written (000001), as an Excel column of them does; read
    as integers they were 1, printed so and matching no '000001' elsewhere. Plain integers,
    and numbers with a decimal point, stay numbers."""
    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    (tmp_path / "c.csv").write_text(
        "code,year,n,x\n000001,2011,7,0.5\n000010,2011,12,01.5\n600519,2011,--,2\n",
        encoding="utf-8",
    )
    frame = read_source(SourceSpec(path="c.csv"), tmp_path)
    assert frame.to_dict(as_series=False) == {
        "code": ["000001", "000010", "600519"],
        "year": [2011, 2011, 2011],
        "n": [7, 12, None],
        "x": [0.5, 1.5, 2.0],
    }


def test_a_model_reading_leading_zero_codes_is_told_they_are_codes(tmp_path, capsys):
    """A month column written 01…12 is read as codes (text), as stock codes are; a model that
    takes it as a number was told to list missing-value codes under null_values, though every
    cell is a number and none is missing. The error names a code and the factor it can be."""
    rows = "".join(
        f"F{i},{2010 + t},{i + t + (i * t) % 3},{(i * t) % 5},{(3 * i + t) % 4 + 1:02d}\n"
        for i in range(10)
        for t in range(6)
    )
    (tmp_path / "p.csv").write_text("firm,year,y,x,month\n" + rows, encoding="utf-8")
    spec = tmp_path / "s.yaml"
    head = (
        "spec_version: 1\ndata:\n  sources:\n    p: {path: p.csv}\n"
        "  panel: {source: p, entity: firm, time: year}\nmodels:\n"
    )
    spec.write_text(head + "  fe: {estimator: panel_fe, y: y, x: [x, month]}\n", encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:42: models.fe.x[1]: variable 'month' of model 'fe' is String, not "
        "numeric; codes with a leading zero such as '01' at firm F0, year 2010 are read as text "
        "('month' "
        "holds codes, not numbers: a regressor with such levels enters as a factor, one dummy "
        "per level (write i.month); derive: {month_num: real(month)} makes numbers of them "
        "(Stata's real()))\n"
    )
    spec.write_text(head + "  fe: {estimator: panel_fe, y: month, x: [x]}\n", encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert "'month' holds codes, not numbers: a dependent variable must be numeric" in (
        capsys.readouterr().err
    )
    spec.write_text(head + "  fe: {estimator: panel_fe, y: y, x: [x, i.month]}\n", "utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    # real() makes numbers of the codes: the fit equals one on the month written 1…12
    derived = "transforms:\n  - derive: {month_num: real(month)}\n"
    spec.write_text(
        head.replace("models:\n", derived + "models:\n")
        + "  fe: {estimator: panel_fe, y: y, x: [x, month_num]}\n",
        "utf-8",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "real"), "--no-cache"]) == 0
    plain = "".join(
        f"F{i},{2010 + t},{i + t + (i * t) % 3},{(i * t) % 5},{(3 * i + t) % 4 + 1}\n"
        for i in range(10)
        for t in range(6)
    )
    (tmp_path / "plain.csv").write_text("firm,year,y,x,month\n" + plain, encoding="utf-8")
    spec.write_text(
        head.replace("p.csv", "plain.csv") + "  fe: {estimator: panel_fe, y: y, x: [x, month]}\n",
        "utf-8",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "plain"), "--no-cache"]) == 0
    coefficients = [
        json.loads((tmp_path / out / "results.json").read_text())["models"]["fe"]["coefficients"]
        for out in ("real", "plain")
    ]
    assert coefficients[0]["month_num"] == coefficients[1]["month"]
    assert coefficients[0]["x"] == coefficients[1]["x"]


def test_periods_written_with_a_leading_zero_are_periods(tmp_path, capsys):
    """Periods written 01…06 (quarters, months, survey waves) are numbers: the source keeps a
    column of leading-zero codes as text (000001), and the time column was then refused as
    text, with the advice to "write the years as plain numbers". The fit equals the same
    panel's with periods written 1…6."""
    rows = [(f"F{i}", t, i + t + (i * t) % 3, (i * t) % 5) for i in range(6) for t in range(1, 7)]
    spec = tmp_path / "s.yaml"
    fits = {}
    for name, width in (("padded", 2), ("plain", 1)):
        body = "".join(f"{e},{t:0{width}d},{y},{x}\n" for e, t, y, x in rows)
        (tmp_path / f"{name}.csv").write_text("firm,wave,y,x\n" + body, encoding="utf-8")
        spec.write_text(
            f"spec_version: 1\ndata:\n  sources:\n    p: {{path: {name}.csv}}\n"
            "  panel: {source: p, entity: firm, time: wave}\n"
            "models:\n  fe: {estimator: panel_fe, y: y, x: [L.x], effects: [entity, time]}\n",
            encoding="utf-8",
        )
        out = tmp_path / f"out_{name}"
        assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0, capsys.readouterr()
        fits[name] = json.loads((out / "results.json").read_text())["models"]["fe"]
    assert fits["padded"]["nobs"] == fits["plain"]["nobs"] == 30  # 6 firms × 5 lagged waves
    assert fits["padded"]["coefficients"] == fits["plain"]["coefficients"]


def test_years_written_with_a_unit_read_with_ignore_as_stata_destring(tmp_path, capsys):
    """A yearbook's '2012年' periods: the error writes the ignore: that reads them (Stata's
    destring, ignore("年")); it said to edit the file. With it, the rows fit as with plain
    years."""
    rows = "".join(
        f"F{i},{t}年,{i + 0.1 * t + ((7 * i + 3 * t) % 5) / 10},{(i * t) % 7}\n"
        for i in range(4)
        for t in (1, 2, 3)
    )
    (tmp_path / "p.csv").write_text("firm,year,y,x\n" + rows, encoding="utf-8")
    plain = rows.replace("年", "")
    (tmp_path / "q.csv").write_text("firm,year,y,x\n" + plain, encoding="utf-8")
    spec = tmp_path / "s.yaml"
    body = (
        "spec_version: 1\ndata:\n  sources:\n    p: {{path: {path}{options}}}\n"
        "  panel: {{source: p, entity: firm, time: year}}\n"
        "models:\n  fe: {{estimator: panel_fe, y: y, x: [x], absorb: [entity, time]}}\n"
    )
    spec.write_text(body.format(path="p.csv", options=""), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:5:42: data.panel.time: the time column 'year' of 'p.csv' is text, e.g. "
        "'1年': periods must be numbers such as 2012 (or dates) ('1年' is a number followed by "
        '\'年\': add ignore: ["年"] to the source, as Stata\'s destring, ignore("年"))\n'
    )
    fits = {}
    for path, options in (("p.csv", ", ignore: [年]"), ("q.csv", "")):
        spec.write_text(body.format(path=path, options=options), encoding="utf-8")
        out = tmp_path / f"out_{path[0]}"
        assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0
        results = json.loads((out / "results.json").read_text())
        fits[path] = results["models"]["fe"]["coefficients"]["x"]
    assert fits["p.csv"] == fits["q.csv"]


def test_a_number_with_a_unit_names_the_ignore_that_reads_it(tmp_path, capsys):
    write_workbook(tmp_path / "p.xlsx")
    # a column of amounts written '12,345.0万元' as a yearbook prints them
    book = pytest.importorskip("openpyxl").load_workbook(tmp_path / "p.xlsx")
    sheet = book.active
    for row in sheet.iter_rows(min_row=3, max_row=sheet.max_row - 1, min_col=3, max_col=3):
        row[0].value = f"{row[0].value}万元"
    book.save(tmp_path / "p.xlsx")
    code, err = run(tmp_path, ', header_row: 2, thousands: ",", percent: true', capsys)
    assert code == 1
    assert err.endswith(
        "first non-number '-11,000.0万元' at firm F0, year 2015 ('-11,000.0万元' is a number "
        "followed by "
        '\'万元\': add ignore: ["万元"] to the source, as Stata\'s destring, ignore("万元"))\n'
    )
    code, err = run(
        tmp_path, ', header_row: 2, thousands: ",", percent: true, ignore: [万元]', capsys
    )
    assert code == 0, err
    fe = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["fe"]
    assert fe["coefficients"]["x"]["estimate"] == pytest.approx(PEER_COEF["x"], rel=1e-7)


def test_csv_title_line_and_a_later_type_break_keep_their_line(tmp_path, capsys):
    """header_row: 2 skips a CSV title line; a cell that breaks its column's type is still
    reported at its line in the file."""
    lines = ["Table 1. Firms", "firm,year,x,share,z,y"]
    lines += [
        f"F{i},{t},{i + t},1,{t % 3},{i * t % 7}" for i in range(3) for t in range(2015, 2019)
    ]
    lines += ["F9,2015,n/a,1,1,1"]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err = run(tmp_path, ", header_row: 2, infer_rows: 5", capsys, path="p.csv")
    assert code == 1
    assert err == (
        f"error: {tmp_path / 'p.csv'}:15:3: data.sources.p.path: column 'x' holds 'n/a' in "
        "data row 13, which is not Int64 as its first 5 rows suggested (add 'infer_rows: all' "
        "(or a larger number) to the source, or correct the cell)\n"
    )


def test_csv_title_line_is_found(tmp_path, capsys):
    lines = ["Table 1. Firms,,,,,", "firm,year,x,share,z,y", "F1,2015,1,1,1,1"]
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, err = run(tmp_path, "", capsys, path="p.csv")
    assert code == 1
    assert err == (
        f"error: {tmp_path / 's.yaml'}:4:8: data.sources.p: source 'p' has no column 'firm' or "
        "'year' in its header row 1; row 2 holds them (set header_row: 2 on the source (rows "
        "above it, such as a title, are skipped))\n"
    )


def test_a_blank_header_name_without_a_header_below_says_so(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("firm,,x\nF1,2015,1\n", encoding="utf-8")
    code, err = run(tmp_path, "", capsys, path="p.csv")
    assert code == 1
    assert err == (
        f"error: {tmp_path / 's.yaml'}:4:15: data.sources.p.path: '{tmp_path / 'p.csv'}': column "
        "2 of line 1 has no name (name it, or name the header's row with header_row:)\n"
    )


@pytest.mark.parametrize(
    ("terms", "where", "hint"),
    [
        (
            "y: region, x: [x]",
            "7:31: models.m.y: variable 'region'",
            "'region' holds text, not numbers: a dependent variable must be numeric",
        ),
        (
            "y: y, x: [x, region]",
            "7:41: models.m.x[1]: variable 'region'",
            "'region' holds text, not numbers: a regressor with text levels enters as a factor, "
            "one dummy per level (write i.region)",
        ),
        (
            "y: y, x: [L.region]",
            "7:38: models.m.x[0]: variable 'L.region'",
            "'L.region' holds text, not numbers: lags and differences need numbers",
        ),
    ],
)
def test_a_text_column_in_a_model_is_named_at_its_term(tmp_path, capsys, terms, where, hint):
    """A column of names, not of numbers with a few missing-value codes: the error points at
    the term and says what a text column can be in a model."""
    text = "firm,year,x,y,region\n" + "\n".join(
        f"F{i},{t},{i + t},{i * t % 5},{'East' if i % 2 else 'West'}"
        for i in range(4)
        for t in (2015, 2016, 2017)
    )
    (tmp_path / "p.csv").write_text(text + "\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        "  sources:\n"
        "    p: {path: p.csv}\n"
        "  panel: {source: p, entity: firm, time: year}\n"
        "models:\n"
        f"  m: {{estimator: panel_fe, {terms}, absorb: [time]}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    at = (
        "firm F0, year 2016" if "L." in terms else "firm F0, year 2015"
    )  # the lag of 2015 is missing
    assert capsys.readouterr().err == (
        f"error: {spec}:{where} of model 'm' is String, not numeric; first non-number "
        f"'West' at {at} ({hint})\n"
    )


def test_excel_numbers_beside_text_cells_keep_every_digit(tmp_path):
    """A column of number cells with one '—' cell is read by fastexcel as text with at most 9
    decimals (1/3 as '0.333333333', 1e-20 as '0'); the numbers keep their stored value, the
    one the same cells give in a column of numbers alone."""
    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    openpyxl = pytest.importorskip("openpyxl")
    values = [2 / 7, 1 / 3, None, 123456789.123456789, 1e-20, 7.0]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["v", "same", "note"])
    for value in values:
        sheet.append(["—" if value is None else value, value, None])
    sheet.append([None, None, None])  # a blank row inside the data is dropped, as before
    sheet.append([2.5, 2.5, "last"])
    book.save(tmp_path / "m.xlsx")
    frame = read_source(SourceSpec(path="m.xlsx"), tmp_path)
    assert frame.schema["same"] == frame.schema["v"] == pl.Float64
    assert frame["v"].to_list() == frame["same"].to_list()
    assert frame["v"].to_list()[:2] == [2 / 7, 1 / 3]
    assert frame["v"].to_list()[4] == 1e-20
    assert frame["note"].to_list() == [None] * len(values) + ["last"]


def test_excel_years_typed_as_dates_or_text_are_years(tmp_path):
    """Years an Excel sheet holds as 1 January dates, or as text cells, read as the integers
    Stata's import excel + destring would give, so L. and the period checks work."""
    import datetime

    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["firm", "as_date", "as_text"])
    for year in (2015, 2016):
        sheet.append(["F1", datetime.datetime(year, 1, 1), str(year)])
    book.save(tmp_path / "y.xlsx")
    frame = read_source(SourceSpec(path="y.xlsx"), tmp_path)
    assert frame.schema["as_date"] == frame.schema["as_text"] == pl.Int64
    assert frame["as_date"].to_list() == frame["as_text"].to_list() == [2015, 2016]


@pytest.mark.parametrize(
    ("path", "options", "expected"),
    [
        (
            "d.parquet",
            ", header_row: 2",
            "4:26: data.sources.p.header_row: applies to Excel, CSV and TSV files only; "
            "'d.parquet' is read as Parquet",
        ),
        (
            "d.csv",
            ", sheet: 2",
            "4:22: data.sources.p.sheet: applies to Excel files only; 'd.csv' is read as CSV",
        ),
        (
            "d.dta",
            ", header_row: 3",
            "4:22: data.sources.p.header_row: applies to Excel, CSV and TSV files only; "
            "'d.dta' is read as Stata",
        ),
    ],
)
def test_an_option_of_another_file_format_is_an_error_at_the_option(
    tmp_path, capsys, path, options, expected
):
    # it would be ignored: a Parquet file has no title line to skip, a CSV file no sheets
    frame = pl.DataFrame(
        {"firm": [1, 1, 2, 2], "year": [1, 2, 1, 2], "y": [1.0, 2, 3, 4], "x": [0.5, 0.2, 0.1, 0.9]}
    ).with_columns(share=pl.col("x") * 2, z=pl.col("y") - pl.col("x"))
    frame.write_parquet(tmp_path / "d.parquet")
    frame.write_csv(tmp_path / "d.csv")
    frame.to_pandas().to_stata(tmp_path / "d.dta", write_index=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path=path, options=options), encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == f"error: {spec}:{expected}\n"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (".", "(35.2 read as 352); a '.' thousands separator is thousands: '.'"),
        ("0", "(2010 read as 21)"),
    ],
)
def test_ignore_refuses_text_that_is_part_of_numbers(tmp_path, capsys, text, why):
    """ignore: ['.', 亿元] read '35.2亿元' as 352, ten times the amount, without a word: a digit
    or a decimal point is removed from inside every number, not only from around it."""
    (tmp_path / "p.csv").write_text("firm,year,sales\nA,2012,35.2亿元\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\ndata:\n  sources:\n"
        f"    p: {{path: p.csv, ignore: [亿元, '{text}']}}\n"
        "  panel: {source: p, entity: firm, time: year}\n"
        "models:\n  d: {estimator: descriptive, vars: [sales]}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:4:30: data.sources.p.ignore: ignore: '{text}' would be removed from "
        f"inside the numbers too {why}\n"
    )
