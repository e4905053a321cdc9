"""CSV dialects: files separated by ';', tabs or '|', with a decimal comma ('3,14') and '.'
between thousands ('1.234,5'), as European and some Chinese yearbook exports write them
(Stata's ``import delimited, delimiters(";") decimalseparator(,)``, R's ``read.csv2``).

Each file is Grunfeld's panel (``data/grunfeld.csv``) written in a dialect; what a model fits
on it is compared with the fit of the comma-separated original, never with typed numbers.
Before ``separator:`` and ``decimal:`` existed, each spec here was a schema error (an unknown
key) and a ';' file read with the default named no option that reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from specfiles import PROJECT_ROOT
from specrun.cli import main

FE = "models:\n  m: {estimator: panel_fe, y: inv, x: [value, capital], absorb: [entity, time]}\n"


def spec_text(path: str, options: str = "", panel: bool = True) -> str:
    head = f"spec_version: 1\ndata:\n  sources:\n    g: {{path: {path}{options}}}\n"
    index = "  panel: {source: g, entity: firm, time: year}\n" if panel else ""
    return head + index + FE + "outputs: {formats: [markdown]}\n"


def write_dialect(path: Path, separator: str, decimal: str, thousands: str = "") -> None:
    """Grunfeld's rows with ``separator`` between fields, ``decimal`` as the decimal mark, and
    market value written with ``thousands`` between its thousands (then quoted, as
    spreadsheets quote a cell holding a separator-like mark)."""
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    lines = [separator.join(frame.columns)]

    def number(value: float, grouped: bool = False) -> str:
        text = f"{value:,.2f}" if grouped else repr(value)
        # ',' thousands and '.' decimals of Python's format, swapped through a placeholder
        text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
        return f'"{text}"' if grouped else text

    for firm, year, inv, value, capital in frame.iter_rows():
        cells = [str(firm), str(year), number(inv), number(value, bool(thousands)), number(capital)]
        lines.append(separator.join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def fit(spec: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = spec.parent / f"out_{spec.stem}"
    code = main(["run", str(spec), "--out", str(out), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 0, err
    model = json.loads((out / "results.json").read_text(encoding="utf-8"))["models"]["m"]
    return {"nobs": model["nobs"], "coefficients": model["coefficients"]}


@pytest.fixture
def reference_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    """The fit on ``data/grunfeld.csv`` itself, the way that always worked."""
    spec = tmp_path / "plain.yaml"
    spec.write_text(spec_text(str(PROJECT_ROOT / "data" / "grunfeld.csv")), encoding="utf-8")
    return fit(spec, capsys)


@pytest.mark.parametrize(
    ("name", "separator", "decimal", "thousands", "options"),
    [
        # Excel's CSV in a German or French locale; R's write.csv2
        ("eu.csv", ";", ",", "", ", separator: ';', decimal: ','"),
        # '1.234,5' in quotes: polars' decimal_comma leaves it text, destring reads it
        ("eu_grouped.csv", ";", ",", ".", ", separator: ';', decimal: ',', thousands: '.'"),
        # .tsv is tab-separated without saying so; a decimal comma with it
        ("tab.tsv", "\t", ",", "", ", decimal: ','"),
        # a tab-separated .txt with a header (otherwise read as whitespace-separated numbers)
        ("tab.txt", "\t", ".", "", ', separator: "\\t"'),
        ("tab_word.txt", "\t", ".", "", ", separator: tab"),
        ("pipe.csv", "|", ".", "", ", separator: '|'"),
        # a comma-separated file with quoted '1,234.5' keeps working with thousands alone
        ("grouped.csv", ",", ".", ",", ", thousands: ','"),
    ],
)
def test_a_dialect_reads_the_numbers_of_the_comma_file(
    tmp_path, capsys, reference_fit, name, separator, decimal, thousands, options
):
    write_dialect(tmp_path / name, separator, decimal, thousands)
    spec = tmp_path / f"{Path(name).stem}.yaml"
    spec.write_text(spec_text(name, options), encoding="utf-8")
    assert fit(spec, capsys) == reference_fit


def test_quoted_fields_keep_their_separator_and_decimal_comma(tmp_path, capsys):
    # a name holding ';' is quoted, as is a quoted '3,14'; both read as written
    (tmp_path / "q.csv").write_text(
        'firm;year;name;y\n1;2000;"A; B";"3,14"\n1;2001;"C";2,5\n', encoding="utf-8"
    )
    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    frame = read_source(SourceSpec(path="q.csv", separator=";", decimal=","), tmp_path)
    assert frame.to_dict(as_series=False) == {
        "firm": [1, 1],
        "year": [2000, 2001],
        "name": ["A; B", "C"],
        "y": [3.14, 2.5],
    }


def test_a_point_under_a_decimal_comma_is_no_number(tmp_path):
    # '3.14' among '2,5' cells: 3.14 or 314? Neither reading is safe (polars' decimal_comma
    # leaves the column text), so the column stays text and a model names the cell
    (tmp_path / "p.csv").write_text("a;b\n2,5;x\n3.14;y\n", encoding="utf-8")
    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    frame = read_source(SourceSpec(path="p.csv", separator=";", decimal=","), tmp_path)
    assert frame["a"].to_list() == ["2,5", "3.14"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ", separator: ';;'",
            "4:34: data.sources.g.separator: separator must be one character (',', ';', '|' "
            "or \"\\t\" for a tab), got ';;' (2 characters)",
        ),
        (
            ", separator: '；'",
            "4:34: data.sources.g.separator: separator '；' is full-width: write separator: ';'",
        ),
        (
            ", decimal: ',', separator: ','",
            "4:48: data.sources.g.separator: separator ',' is also the decimal mark (decimal: "
            "','): an unquoted 3,14 would be two fields; files with a decimal comma separate "
            "fields with ';' (separator: ';')",
        ),
        (
            ", decimal: ','",
            "4:32: data.sources.g.decimal: ',' is the decimal mark and the field separator, "
            "the default of CSV files: an unquoted 3,14 would be two fields (files with a "
            "decimal comma separate fields with ';': add separator: ';')",
        ),
        (
            ", thousands: '.', decimal: '.'",
            "4:48: data.sources.g.decimal: decimal: '.' is also the thousands separator "
            "(thousands: '.'); '1.234,5' is decimal: ',' with thousands: '.'",
        ),
    ],
)
def test_a_bad_dialect_is_an_error_at_its_option(tmp_path, capsys, options, expected):
    write_dialect(tmp_path / "eu.csv", ";", ",")
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text("eu.csv", options), encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == f"error: {spec}:{expected}\n"


def test_a_separator_on_a_parquet_file_is_an_error_at_the_option(tmp_path, capsys):
    pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv").write_parquet(tmp_path / "g.parquet")
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text("g.parquet", ", separator: ';'"), encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:4:26: data.sources.g.separator: applies to CSV and TSV files only; "
        "'g.parquet' is read as Parquet\n"
    )


@pytest.mark.parametrize("panel", [True, False])
def test_a_semicolon_file_read_with_commas_names_both_options(tmp_path, capsys, panel):
    # read as one column 'firm;year;inv;value;capital'; a cross-section has no panel keys to
    # miss, so before, each model variable was only an unknown variable
    write_dialect(tmp_path / "eu.csv", ";", ",")
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text("eu.csv", panel=panel), encoding="utf-8")
    message = (
        f"error: {spec}:4:15: data.sources.g.path: 'eu.csv' separates its fields with ';', not "
        "commas, so its header 'firm;year;inv;value;capital' reads as 1 column (set "
        "separator: ';' and decimal: ',' on the source)\n"
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == message
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == message
    assert not (tmp_path / "out").exists()


def test_a_wrong_separator_given_is_named_at_the_option(tmp_path, capsys):
    write_dialect(tmp_path / "pipe.csv", "|", ".")
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text("pipe.csv", ", separator: ';'"), encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:4:36: data.sources.g.separator: 'pipe.csv' separates its fields with "
        "'|', not ';', so its header 'firm|year|inv|value|capital' reads as 1 column (set "
        "separator: '|' on the source)\n"
    )


@pytest.mark.parametrize(
    ("options", "cell", "hint"),
    [
        (
            ", separator: ';'",
            "317,6",
            "'317,6' is a number with a decimal comma: add decimal: ',' to the source (Stata's "
            "import delimited, decimalseparator(,))",
        ),
        (
            ", separator: ';', decimal: ','",
            "1.317,6",
            "'1.317,6' is a number with a thousands separator and a decimal mark: add "
            "thousands: '.' to the source",
        ),
        (
            ", separator: ';'",
            "1.317,6",
            "'1.317,6' is a number with a thousands separator and a decimal mark: add "
            "thousands: '.' and decimal: ',' to the source",
        ),
        (
            ", separator: ';'",
            "1,317",
            "'1,317' is a number with a decimal comma (1.234) or a thousands separator (1234): "
            "add decimal: ',' or thousands: ',' to the source",
        ),
    ],
)
def test_a_decimal_comma_left_as_text_names_the_option(tmp_path, capsys, options, cell, hint):
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame = frame.with_columns(pl.col("inv").cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(cell)).otherwise("inv").alias("inv")
    )
    frame.write_csv(tmp_path / "g.csv", separator=";")
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text("g.csv", options), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: {spec}:7:31: models.m.y: variable 'inv' of model 'm' is String, not numeric; "
        f"first non-number '{cell}' at firm 1, year 1935 ({hint})\n"
    )


@pytest.mark.parametrize(
    ("cell", "hint"),
    [
        (
            "1.234",
            "'1.234' is a number with a thousands separator: add thousands: \".\" to the source",
        ),
        (
            "2.5",
            "'2.5' has a decimal point where the source reads a decimal comma (decimal: ','): "
            "correct the cell, or add thousands: '.' to the source if '.' separates thousands "
            "there",
        ),
    ],
)
def test_a_late_point_under_a_decimal_comma_is_named_not_read(tmp_path, capsys, cell, hint):
    """polars' decimal_comma types a column from its first rows and then reads a later
    '1.234' as 1.234 (polars 2.1), where a file written with decimal commas means 1234 or a
    typo: past the rows that type columns (infer_rows), it was a silent wrong number. The
    cell keeps its column text, and the model names it."""
    frame = pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    text = frame.with_columns(pl.col("inv").cast(pl.String).str.replace(".", ",", literal=True))
    last = pl.int_range(pl.len()) == pl.len() - 1
    text = text.with_columns(pl.when(last).then(pl.lit(cell)).otherwise("inv").alias("inv"))
    text.write_csv(tmp_path / "g.csv", separator=";")
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text("g.csv", ", separator: ';', decimal: ',', infer_rows: 5"))
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:31: models.m.y: variable 'inv' of model 'm' is String, not numeric; "
        f"first non-number '{cell}' at firm 10, year 1954 ({hint})\n"
    )


def test_identifiers_keep_every_digit_under_a_decimal_comma(tmp_path):
    # every column of a decimal-comma file is typed from text; through a float, the 18-digit
    # firm identifier 123456789012345679 read as 123456789012345680
    (tmp_path / "id.csv").write_text(
        "id;year;y\n123456789012345678;2000;1,5\n123456789012345679;2001;2\n", encoding="utf-8"
    )
    from specrun.data.io import read_source
    from specrun.spec.models import SourceSpec

    frame = read_source(SourceSpec(path="id.csv", separator=";", decimal=","), tmp_path)
    assert frame.schema == {"id": pl.Int64, "year": pl.Int64, "y": pl.Float64}
    assert frame["id"].to_list() == [123456789012345678, 123456789012345679]
