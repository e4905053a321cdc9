"""Every source format gives the same panel: CSV, TSV, Parquet, Excel, Stata, whitespace text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specfiles import PROJECT_ROOT
from specrun.api import run_file
from specrun.data.io import read_source
from specrun.errors import SpecError
from specrun.spec.models import SourceSpec

SPEC = """\
spec_version: 1
data:
  sources:
    g: {source}
  panel: {{source: g, entity: firm, time: year}}
models:
  fe: {{estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time]}}
outputs: {{formats: [markdown]}}
"""


@pytest.fixture(scope="module")
def grunfeld() -> pl.DataFrame:
    return pl.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")


def write_all(frame: pl.DataFrame, folder: Path) -> dict[str, str]:
    frame.write_csv(folder / "g.tsv", separator="\t")
    frame.write_parquet(folder / "g.parquet")
    frame.write_excel(folder / "g.xlsx", worksheet="panel")
    frame.to_pandas().to_stata(folder / "g.dta", write_index=False)
    values = frame.select("inv", "value", "capital").to_numpy()
    np.savetxt(folder / "g.dat", values, fmt="%.6f")
    return {
        "tsv": "{path: g.tsv}",
        "parquet": "{path: g.parquet}",
        "excel": "{path: g.xlsx, sheet: panel}",
        "stata": "{path: g.dta}",
        # entity-major, no identifiers: the index is generated (Hansen's invest.dat layout)
        "whitespace": "{path: g.dat, columns: [inv, value, capital], "
        "index: {entity: firm, time: year, periods: 20, start: 1935}}",
    }


def test_every_format_gives_the_same_fit(grunfeld: pl.DataFrame, tmp_path: Path):
    sources = write_all(grunfeld, tmp_path)
    estimates = {}
    for name, source in sources.items():
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(SPEC.format(source=source))
        fit = run_file(spec, tmp_path / name).output.results.models["fe"]
        estimates[name] = fit.coefficients["value"].estimate
    # R plm 2.6.2 two-way within estimate on the Grunfeld data
    for name, value in estimates.items():
        assert value == pytest.approx(0.1177158550826, rel=1e-6), name


def test_unknown_extension_asks_for_a_format(tmp_path: Path):
    (tmp_path / "g.txt2").write_text("a")
    with pytest.raises(SpecError, match=r"cannot tell the format of 'g\.txt2'"):
        read_source(SourceSpec(path="g.txt2"), tmp_path)


def test_whitespace_rows_must_fill_whole_entities(tmp_path: Path):
    np.savetxt(tmp_path / "x.dat", np.ones((7, 2)))
    spec = SourceSpec(
        path="x.dat", columns=["a", "b"], index={"entity": "i", "time": "t", "periods": 3}
    )
    with pytest.raises(SpecError, match="has 7 rows, not a multiple of 3 periods"):
        read_source(spec, tmp_path)


def write_late_break(folder: Path, rows: int = 300) -> Path:
    """A CSV whose column ``b`` looks like integers for ``rows`` rows and then holds 2.5."""
    lines = ["a,b,c", *(f"{i},{i},x{i}" for i in range(rows)), "7,2.5,y", "8,9,z"]
    path = folder / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_types_come_from_the_first_rows_and_a_later_break_is_located(tmp_path: Path):
    path = write_late_break(tmp_path)
    with pytest.raises(SpecError) as caught:
        read_source(SourceSpec(path="late.csv", infer_rows=100), tmp_path)
    error = caught.value
    # header is line 1, so data row 301 (0-based 300) is line 302; b is the second column
    assert (error.file, error.line, error.col) == (str(path), 302, 2)
    assert error.message == (
        "column 'b' holds '2.5' in data row 301, which is not Int64 as its first 100 rows suggested"
    )
    assert "infer_rows: all" in (error.hint or "")


def test_infer_rows_reads_more_rows_before_typing(tmp_path: Path):
    write_late_break(tmp_path)
    for rows in ("all", 1000):
        frame = read_source(SourceSpec(path="late.csv", infer_rows=rows), tmp_path)
        assert frame.schema["b"] == pl.Float64
        assert frame["b"][300] == 2.5


def test_a_late_type_break_exits_1_naming_the_data_file_line(tmp_path: Path, capsys):
    from specrun.cli import main

    lines = ["firm,year,inv,value"]
    lines += [f"{f},{y},{f + y / 1000},{f * y}" for f in range(1, 40) for y in range(2000, 2010)]
    lines.append("40,2000,1.5,n/a")
    (tmp_path / "g.csv").write_text("\n".join(lines) + "\n")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        SPEC.format(source="{path: g.csv, infer_rows: 50}").replace(
            "x: [value, capital]", "x: [value]"
        )
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'g.csv'}:392:4: data.sources.g.path: column 'value' holds 'n/a'" in err
    assert "Traceback" not in err


def test_analysis_panel_is_parquet_by_default_and_csv_on_request(
    grunfeld: pl.DataFrame, tmp_path: Path
):
    grunfeld.write_csv(tmp_path / "g.csv")
    written = {}
    for choice in ("parquet", "csv", "none"):
        spec = tmp_path / f"{choice}.yaml"
        text = SPEC.format(source="{path: g.csv}").replace(
            "outputs: {formats: [markdown]}",
            f"outputs: {{formats: [markdown], analysis: {choice}}}",
        )
        spec.write_text(text)
        run_file(spec, tmp_path / choice)
        written[choice] = sorted(p.name for p in (tmp_path / choice).glob("analysis.*"))
    assert written == {"parquet": ["analysis.parquet"], "csv": ["analysis.csv"], "none": []}
    parquet = pl.read_parquet(tmp_path / "parquet" / "analysis.parquet")
    assert parquet.equals(pl.read_csv(tmp_path / "csv" / "analysis.csv"))
    assert parquet.columns == ["firm", "year", "inv", "value", "capital"]


def test_analysis_panel_holds_the_index_and_the_columns_models_use(
    grunfeld: pl.DataFrame, tmp_path: Path
):
    # README and Getting started describe analysis.parquet by this rule: a transform's
    # output that no model reads (ln_inv here) is not written
    grunfeld.write_csv(tmp_path / "g.csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        SPEC.format(source="{path: g.csv}")
        .replace("models:", "transforms:\n  - log: {vars: [inv, value]}\nmodels:")
        .replace("x: [value, capital]", "x: [ln_value, capital]")
    )
    run_file(spec, tmp_path / "out")
    analysis = pl.read_parquet(tmp_path / "out" / "analysis.parquet")
    assert analysis.columns == ["firm", "year", "inv", "capital", "ln_value"]


@pytest.mark.parametrize("block", [1 << 24, 7])  # 7 bytes: every line crosses a numpy block
def test_row_widths_counted_in_numpy_agree_with_the_csv_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
):
    import specrun.data.io as io_module

    monkeypatch.setattr(io_module, "_ROW_BLOCK", block)
    # quotes around a separator and a line break, a blank line and CRLF ends: no ragged row
    good = 'a,b,c\r\n1,"x, y",3\r\n\r\n4,"two\r\nlines",6\r\n7,z,9'
    (tmp_path / "good.csv").write_bytes(good.encode())
    frame = read_source(SourceSpec(path="good.csv"), tmp_path)
    assert frame["b"].to_list() == ["x, y", None, "two\r\nlines", "z"]
    assert frame["c"].to_list() == [3, None, 6, 9]
    # a short row in a file with quotes, and one in a file without: the same message
    for name, text in {
        "quoted.csv": 'a,b,c\n1,"x, y",3\n4,5\n',
        "plain.csv": "a,b,c\n1,2,3\n4,5\n7,8,9",
    }.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(SpecError) as caught:
            read_source(SourceSpec(path=name), tmp_path)
        assert caught.value.message == (
            f"{tmp_path / name}: row 2 has 2 fields, the header 3 (rows count data rows from 1, "
            "after the header)"
        )
    # a long row, which polars itself refuses, and a short row whose last cell is the only
    # missing one (only files with a missing last cell have their separators counted)
    for name, text, fields in (
        ("long.csv", "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n", 4),
        ("short_last.csv", "a,b,c\n1,2,3\n4,5\n8,9,10\n", 2),
    ):
        (tmp_path / name).write_text(text)
        with pytest.raises(SpecError) as caught:
            read_source(SourceSpec(path=name), tmp_path)
        assert caught.value.message.startswith(
            f"{tmp_path / name}: row 2 has {fields} fields, the header 3"
        )


def test_a_type_break_names_the_folded_header_in_a_declared_encoding(tmp_path: Path):
    lines = ["企业,\u3000ｖａｌｕｅ", *(f"{i},{i}" for i in range(20)), "20,缺失"]
    (tmp_path / "gbk.csv").write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    with pytest.raises(SpecError) as caught:
        read_source(SourceSpec(path="gbk.csv", encoding="gbk", infer_rows=10), tmp_path)
    error = caught.value
    assert (error.line, error.col) == (22, 2)
    assert error.message == (
        "column 'value' holds '缺失' in data row 21, which is not Int64 as its first 10 rows "
        "suggested"
    )


def test_well_formed_rows_need_no_python_csv_pass():
    from specrun.data.io import _separator_counts_agree

    assert _separator_counts_agree(b"a,b,c\r\n1,2,3\r\n\r\n4,5,6", ",", 3)  # CRLF, blank line
    assert _separator_counts_agree(b"a\tb\n1\t2\n", "\t", 2)
    assert _separator_counts_agree(b"a,b,c", ",", 3)  # the header alone
    assert not _separator_counts_agree(b"a,b,c\n1,2,3\n4,5\n", ",", 3)
    assert not _separator_counts_agree(b"a,b,c\n1,2,3\n4,5,6,7", ",", 3)
    assert _separator_counts_agree(b'a,b,c\n1,"2,x",3\n4,"say ""a,b""",6\n', ",", 3)
    assert not _separator_counts_agree(b'a,b,c\n1,"2,x",3\n4,"5",6,7\n', ",", 3)
    assert not _separator_counts_agree(b'a,b,c\n1,"2\nx",3\n', ",", 3)  # left to the csv module
