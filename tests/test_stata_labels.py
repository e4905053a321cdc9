"""A Stata file's own labels in tables and figures, as esttab's ``label`` option prints them.

``label variable gdppc "GDP per capita"`` labels a variable wherever the spec's ``variables:``
gives it none; ``label define region 1 "East" 2 "West"`` with ``label values regcode region``
labels the levels of ``i.regcode`` ("Region: West") and the members of ``over: regcode``. The
.dta files are written here with pandas' ``DataFrame.to_stata`` from the bundled Grunfeld data;
every expected text below is the label written into the file, so nothing depends on a peer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from specfiles import PROJECT_ROOT
from specrun.api import run_file
from specrun.data.io import DataLabels, read_labels, read_source
from specrun.spec.models import SourceSpec

EN = {
    "variables": {
        "inv": "Gross investment",
        "value": "Market value",
        "capital": "Plant and equipment",  # the spec's label wins over this one
        "regcode": "Region",
    },
    # code 3 has no label: its rows print the code
    "values": {"regcode": {1: "East", 2: "West"}},
}
ZH = {
    "variables": {"inv": "总投资", "value": "市值", "capital": "厂房设备", "regcode": "地区"},
    "values": {"regcode": {1: "东部", 2: "西部"}},
}


def write_dta(folder: Path, labels: dict) -> Path:
    """Grunfeld's 200 firm-years with ``regcode`` = firm mod 3 + 1 (an int8, as Stata's byte)."""
    frame = pd.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame["regcode"] = (frame["firm"] % 3 + 1).astype("int8")
    path = folder / "g.dta"
    frame.to_stata(
        path,
        write_index=False,
        version=118,
        variable_labels=labels["variables"],
        value_labels=labels["values"],
    )
    return path


SPEC = """\
spec_version: 1
data:
  sources:
    g: {path: g.dta}
  panel: {source: g, entity: firm, time: year}
variables:
  capital: {label: {en: Capital stock, zh: 资本存量}}
models:
  m: {estimator: ols, y: inv, x: [value, capital, i.regcode]}
  mi: {estimator: ols, y: inv, x: [capital, ib2.regcode, i.regcode#c.value]}
  fam: {estimator: ols, y: inv, x: [value, capital], over: regcode}
tables:
  t: {kind: regression, columns: [m, mi], stats: [nobs]}
  k: {kind: regression, columns: [m], keep: [i.regcode], stats: [nobs]}
  f: {kind: regression, columns: [fam], keep: [value], stats: [nobs]}
figures:
  ticks: {kind: coefplot, models: [fam], variable: value}
  level: {kind: coefplot, models: [m], variable: 2.regcode}
outputs: {formats: [markdown], language: LANGUAGE}
"""


def project(folder: Path, labels: dict, language: str = "en") -> Path:
    write_dta(folder, labels)
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.replace("LANGUAGE", language), encoding="utf-8")
    return spec


def row_labels(markdown: str) -> list[str]:
    """The first cell of every body row of a Markdown table, blank (SE) rows left out."""
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    firsts = [line.split("|")[1].strip() for line in rows[2:]]
    return [first for first in firsts if first]


def header_rows(markdown: str) -> list[list[str]]:
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in rows]


def labels_of(name: str, folder: Path) -> DataLabels:
    source = SourceSpec(path=name)
    return read_labels(source, folder, read_source(source, folder))


def test_pandas_reads_labels_of_a_few_values_and_of_string_variables(tmp_path: Path):
    """pandas 3.1 reads a label set that labels some codes only as categories mixing the labels
    with the unlabelled codes (``['East', 'West', 3]``): the unlabelled code gets no label. A
    string variable takes a variable label; a value label on it Stata refuses (``label values``
    needs a numeric variable), and so does pandas' writer."""
    frame = pd.DataFrame(
        {
            "regcode": np.array([1, 2, 3, 1], dtype=np.int8),
            "province": ["北京", "Tianjin", "Hebei", "Shanxi"],
            "y": [1.0, 2.0, 3.0, 4.0],
        }
    )
    frame.to_stata(
        tmp_path / "few.dta",
        write_index=False,
        version=118,
        variable_labels={"province": "省份", "y": "GDP per capita"},
        value_labels={"regcode": {1: "East", 2: "West"}},
    )
    mixed = pd.read_stata(tmp_path / "few.dta").regcode.cat.categories.tolist()
    assert mixed == ["East", "West", 3]
    labels = labels_of("few.dta", tmp_path)
    assert labels == DataLabels(
        {"province": "省份", "y": "GDP per capita"}, {"regcode": {"1": "East", "2": "West"}}
    )
    with pytest.raises(ValueError, match="can only be applied to numeric columns"):
        frame.to_stata(
            tmp_path / "text.dta", write_index=False, value_labels={"province": {1: "x"}}
        )


def test_a_set_giving_two_codes_one_label_leaves_that_column_its_codes(tmp_path: Path):
    """pandas cannot read a set with a repeated label as categories (ValueError): that column
    keeps its codes, the file's other labels are still read."""
    frame = pd.DataFrame(
        {"a": np.array([1, 2], dtype=np.int8), "b": np.array([1, 2], dtype=np.int8)}
    )
    frame.to_stata(
        tmp_path / "twice.dta",
        write_index=False,
        version=118,
        variable_labels={"a": "Group"},
        value_labels={"a": {1: "same", 2: "same"}, "b": {1: "one", 2: "two"}},
    )
    labels = labels_of("twice.dta", tmp_path)
    assert labels == DataLabels({"a": "Group"}, {"b": {"1": "one", "2": "two"}})


def test_other_formats_carry_no_labels(tmp_path: Path):
    shutil.copy(PROJECT_ROOT / "data" / "grunfeld.csv", tmp_path / "g.csv")
    assert labels_of("g.csv", tmp_path) == DataLabels()


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("labels_en")
    return run_file(project(folder, EN), folder / "out", cache=False)


def test_a_markdown_table_prints_the_files_variable_and_value_labels(english):
    table = (english.folder / "tables" / "t.md").read_text(encoding="utf-8")
    assert row_labels(table) == [
        "Dependent variable",
        "Market value",
        "Capital stock",  # the spec's label, not the file's "Plant and equipment"
        "Region: West",
        "Region: 3",  # no value label: the code
        "Region: East",  # ib2.: East is the first level shown
        "Region: East × Market value",
        "Region: West × Market value",
        "Region: 3 × Market value",
        "Constant",
        "N",
    ]
    assert header_rows(table)[2] == ["Dependent variable", "Gross investment", "Gross investment"]


def test_keep_patterns_and_results_json_keep_the_codes(english):
    kept = (english.folder / "tables" / "k.md").read_text(encoding="utf-8")
    assert row_labels(kept) == ["Dependent variable", "Region: West", "Region: 3", "N"]
    models = json.loads((english.folder / "results.json").read_text())["models"]
    assert list(models["m"]["coefficients"]) == [
        "value",
        "capital",
        "2.regcode",
        "3.regcode",
        "_cons",
    ]
    assert list(models["mi"]["coefficients"]) == [
        "capital",
        "1.regcode",
        "3.regcode",
        "1.regcode#c.value",
        "2.regcode#c.value",
        "3.regcode#c.value",
        "_cons",
    ]
    assert {"fam.1", "fam.2", "fam.3"} <= set(models)


def test_an_over_family_of_a_labelled_variable_heads_its_columns_with_the_labels(english):
    table = (english.folder / "tables" / "f.md").read_text(encoding="utf-8")
    # members in the data's order of appearance (firm 1 is regcode 2)
    assert header_rows(table)[3] == ["", "West", "3", "East"]


def test_coefplots_print_value_labels_on_ticks_and_axis(english):
    ticks = english.output.figures["ticks"].draw()
    assert [t.get_text() for t in ticks.axes[0].get_xticklabels()] == ["West", "3", "East"]
    assert ticks.axes[0].get_ylabel() == "Market value (95% CI)"
    level = english.output.figures["level"].draw()
    assert level.axes[0].get_ylabel() == "Region: West (95% CI)"


def test_a_chinese_table_prints_chinese_labels_with_full_width_colons(tmp_path: Path):
    run = run_file(project(tmp_path, ZH, "zh"), tmp_path / "out", cache=False)
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert row_labels(table) == [
        "被解释变量",
        "市值",
        "资本存量",
        "地区：西部",
        "地区：3",
        "地区：东部",
        "地区：东部 × 市值",
        "地区：西部 × 市值",
        "地区：3 × 市值",
        "常数项",
        "观测值",
    ]
    figure = run.output.figures["level"].draw()
    assert figure.axes[0].get_ylabel() == "地区：西部（95%置信区间）"


def test_an_english_file_label_prints_in_a_chinese_table(tmp_path: Path):
    """A Stata label is one text: printed as it is in every language, with an ASCII colon
    after it, while the spec's own label takes its Chinese text."""
    run_file(project(tmp_path, EN, "zh"), tmp_path / "out", cache=False)
    table = (tmp_path / "out" / "tables" / "k.md").read_text(encoding="utf-8")
    assert row_labels(table) == ["被解释变量", "Region: West", "Region: 3", "观测值"]
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert row_labels(table)[1:3] == ["Market value", "资本存量"]


def test_a_cached_rerun_prints_the_same_labels(tmp_path: Path):
    spec = project(tmp_path, EN)
    first = run_file(spec, tmp_path / "one", cache=tmp_path / "cache")
    second = run_file(spec, tmp_path / "two", cache=tmp_path / "cache")
    assert "load:g" in second.output.cache.reused  # the labels came with the cached data
    for name in ("t", "f"):
        one = (first.folder / "tables" / f"{name}.md").read_text(encoding="utf-8")
        two = (second.folder / "tables" / f"{name}.md").read_text(encoding="utf-8")
        assert two == one
    assert row_labels((second.folder / "tables" / "t.md").read_text())[3] == "Region: West"
    ticks = second.output.figures["ticks"].draw()
    assert [t.get_text() for t in ticks.axes[0].get_xticklabels()] == ["West", "3", "East"]


def _gbk_as_latin1(text: str) -> str:
    """Text that pandas writes into a Stata 13 file (format 117, latin-1) as the bytes GBK gives
    ``text``: a file written by Stata 13 on Chinese Windows."""
    return text.encode("gbk").decode("latin-1")


def write_old_dta(folder: Path, version: int = 117) -> Path:
    """Grunfeld with a Chinese text column ``region`` and Chinese labels, as Stata 13 on Chinese
    Windows wrote them (GBK bytes; ``version=118`` writes the same text as UTF-8)."""
    frame = pd.read_csv(PROJECT_ROOT / "data" / "grunfeld.csv")
    frame["regcode"] = (frame["firm"] % 3 + 1).astype("int8")
    recode = _gbk_as_latin1 if version < 118 else (lambda text: text)
    frame["region"] = [recode(["东部", "西部"][f % 2]) for f in frame["firm"]]
    path = folder / "g.dta"
    frame.to_stata(
        path,
        write_index=False,
        version=version,
        variable_labels={"inv": recode("总投资"), "value": recode("市值")},
        value_labels={"regcode": {1: recode("东部"), 2: recode("西部")}},
    )
    return path


OLD = """\
spec_version: 1
data:
  sources:
    g: {path: g.dta ENCODING}
  panel: {source: g, entity: firm, time: year}
models:
  m: {estimator: panel_fe, y: inv, x: [value, capital, i.regcode#c.value], effects: [time],
      over: region}
tables:
  t: {kind: regression, columns: [m]}
outputs: {formats: [markdown], language: zh}
"""


def test_an_old_stata_files_text_is_read_in_its_encoding(tmp_path: Path):
    # Stata 13 and older keep the writing computer's encoding (GBK on Chinese Windows), which
    # pandas reads as latin-1: the members, labels and levels printed '¶«²¿' for 东部
    write_old_dta(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(OLD.replace(" ENCODING", ", encoding: gb18030"), encoding="utf-8")
    run = run_file(spec, tmp_path / "out", cache=False)
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert "| 被解释变量 | 总投资 | 总投资 |" in table
    assert "|  | 西部 | 东部 |" in table
    assert "| 市值 | " in table and "| regcode: 西部 × 市值 | " in table
    assert sorted(run.output.results.models) == ["m.东部", "m.西部"]


def test_an_old_stata_file_in_an_east_asian_encoding_without_encoding_is_an_error(
    tmp_path: Path, capsys
):
    from specrun.cli import main

    write_old_dta(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(OLD.replace(" ENCODING", ""), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:4:15: data.sources.g.path: '{tmp_path / 'g.dta'}' is a file of Stata 13 "
        "or older "
        "(format 117), whose text is in the encoding of the computer that wrote it: read as "
        "latin-1 it is 'Î÷²¿', read as gb18030 '西部' (add encoding: gb18030 to the source)\n"
    )


def test_encoding_on_a_stata_14_file_is_an_error(tmp_path: Path, capsys):
    from specrun.cli import main

    write_old_dta(tmp_path, version=118)
    spec = tmp_path / "spec.yaml"
    spec.write_text(OLD.replace(" ENCODING", ", encoding: gb18030"), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:4:15: data.sources.g.path: '{tmp_path / 'g.dta'}' is a Stata 14 or later "
        "file "
        "(format 118), whose text is UTF-8: encoding: is for files of Stata 13 and older "
        "(remove encoding: from the source)\n"
    )
    # without it, the same file reads as written
    spec.write_text(OLD.replace(" ENCODING", ""), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert "|  | 西部 | 东部 |" in table and "| regcode: 西部 × 市值 | " in table
