"""Faults found by breaking transforms, validation, Word tables and ``specrun diff`` where
they were newest: each test runs a small spec through the CLI (or the function at fault) and
asserts the whole message or the property that was broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from specrun.cli import main

HEAD = """\
spec_version: 1
data:
  sources:
    d: {path: d.csv}
  panel: {source: d, entity: firm, time: year}
"""


def panel_rows() -> list[str]:
    """Three firms over five years: firm, year, group, x, y (made up; no estimate is checked)."""
    return [
        f"{f},{t},{'ab'[f % 2]},{0.5 * f + 0.1 * (t - 2000) + (f * t) % 3},{f + t % 4}"
        for f in (1, 2, 3, 4)
        for t in range(2001, 2006)
    ]


def write(folder: Path, rows: list[str], body: str) -> Path:
    (folder / "d.csv").write_text("\n".join(["firm,year,g,x,y", *rows]) + "\n")
    spec = folder / "spec.yaml"
    spec.write_text(HEAD + body, encoding="utf-8")
    return spec


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


MODEL = "models:\n  m: {estimator: ols, y: y, x: [x]}\n"


@pytest.mark.parametrize(
    "step",
    [
        "standardize: {vars: [x]}",
        "group_mean: {vars: [x], by: [g]}",
        "winsorize: {vars: [x], limits: [0.1, 0.9]}",
        "interpolate: {vars: [x]}",
        "lag: {vars: [x]}",
    ],
)
def test_transform_input_with_a_missing_code_names_its_cell(tmp_path, capsys, step):
    # 'N/A' is not among the default missing-value codes: the column is read as text, and a
    # transform said only "is String, not numeric", where a model's variable names the cell
    rows = panel_rows()
    rows[6] = "2,2002,b,N/A,3"
    spec = write(tmp_path, rows, f"transforms:\n  - {step}\n" + MODEL)
    kind = step.split(":")[0]
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    if kind == "lag":  # a lag copies text as it is: the model reads the cell and names it
        assert code == 1 and "first non-number 'N/A' at firm 2, year 2002" in err
        return
    column = len(kind) + 7  # the options mapping after "  - kind: "
    assert (code, err) == (
        1,
        f"error: {spec}:7:{column}: transforms[0].{kind}: column 'x' in the panel ({kind}) is "
        "String, not numeric; first non-number 'N/A' at firm=2, year=2002 (if 'N/A' marks a "
        "missing value, add it to the source's missing-value codes: null_values: "
        '["", "NA", ".", "..", "-", "—", "–", "--", "N/A"])',
    )
    assert not (tmp_path / "out").exists()


def test_transform_input_with_a_unit_suffix_says_ignore(tmp_path, capsys):
    # every x written with its unit, as yearbooks print "35.2亿元"
    rows = [f"{head},{x}亿元,{y}" for head, x, y in (r.rsplit(",", 2) for r in panel_rows())]
    spec = write(tmp_path, rows, "transforms:\n  - standardize: {vars: [x]}\n" + MODEL)
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "column 'x' in the panel (standardize) is String, not numeric; first non-number" in err
    assert 'add ignore: ["亿元"] to the source' in err


@pytest.mark.parametrize(
    "step",
    [
        "standardize: {vars: [x]}",
        "standardize: {vars: [x], by: g}",
        "group_mean: {vars: [x], by: [g], leave_out: true}",
        "winsorize: {vars: [x], limits: [0.1, 0.9]}",
        "log: {vars: [x]}",
        "interpolate: {vars: [x]}",
    ],
)
def test_infinite_transform_input_is_named_at_its_row(tmp_path, capsys, step):
    # an 'inf' cell reached the transform: standardize made the whole column NaN, group_mean
    # made its group's means inf, winsorize clipped it to the top quantile without a word; the
    # model then blamed the transform's output ("usually comes from dividing by zero")
    rows = panel_rows()
    rows[6] = "2,2002,b,inf,3"
    spec = write(tmp_path, rows, f"transforms:\n  - {step}\n" + MODEL)
    kind = step.split(":")[0]
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert (code, err) == (
        1,
        f"error: {spec}:7:{len(kind) + 7}: transforms[0].{kind}: column 'x' in the panel "
        f"({kind}) is infinite in 1 rows (first: firm=2, year=2002, x=inf) (an inf is no number "
        "a transform can use: set such cells missing (list the cell's text under the source's "
        "null_values) or filter the rows with a where: step)",
    )


def test_standardize_by_a_column_with_missing_groups(tmp_path, capsys):
    # two rows without a group were standardized among themselves as a group "None"; one such
    # row gave "zero (or undefined) standard deviation in g=None"
    rows = panel_rows()
    for i in (6, 11):
        firm, year, _, x, y = rows[i].split(",")
        rows[i] = f"{firm},{year},,{x},{y}"
    spec = write(tmp_path, rows, "transforms:\n  - standardize: {vars: [x], by: g}\n" + MODEL)
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert (code, err) == (
        1,
        f"error: {spec}:7:18: transforms[0].standardize: standardize: the grouping column 'g' "
        "is missing in 2 rows (first: firm=2, year=2002) (leave those rows out with a where: "
        "step before it, or fill the column)",
    )


def test_validate_reports_table_errors_run_found_after_fitting(tmp_path, capsys):
    # groups that do not span the columns and a statistic no column's estimator reports:
    # validate said "valid", and run fitted every model before naming the first of them
    body = (
        "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], absorb: [entity]}\n"
        "  b: {extends: a, absorb: [entity, time]}\n"
        "  c: {extends: a, sample: late}\n"
        "samples:\n"
        "  late: {time: [2003, null]}\n"
        "tables:\n"
        "  t:\n"
        "    kind: regression\n"
        "    columns: [a, b, c]\n"
        "    groups: [{label: Entity, span: 1}, {label: Two-way, span: 1}]\n"
        "    stats: [nobs, r2_adj]\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    expected = [
        f"error: {spec}:16:13: tables.t.groups: column groups span 2 columns, the table has 3",
        f"error: {spec}:17:19: tables.t.stats[1]: no column of this table has a statistic "
        "'r2_adj' (Stata e(r2_a)): ols, panel_be report it, the columns are panel_fe (did you "
        "mean 'r2_lsdv_adj' (areg e(r2_a); reghdfe e(r2_a))?)",
    ]
    assert run(["validate", str(spec)], capsys) == (1, "\n".join(expected))
    # run reports the same, before fitting anything (no output folder, nothing cached)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        "\n".join(expected),
    )
    assert not (tmp_path / "out").exists()


def test_validate_leaves_stats_of_families_and_attached_tests_to_run(tmp_path, capsys):
    # a Hausman test attaches hausman_p to its FE column; an over: family's members share
    # its estimator (ols reports r2_adj): neither is an error
    body = (
        "models:\n"
        "  fe: {estimator: panel_fe, y: y, x: [x], effects: [entity]}\n"
        "  re: {estimator: panel_re, y: y, x: [x]}\n"
        "  h: {estimator: hausman, models: [fe, re]}\n"
        "  o: {estimator: ols, y: y, x: [x], over: g}\n"
        "tables:\n"
        "  t: {kind: regression, columns: [fe, re], stats: [nobs, hausman_p]}\n"
        "  u: {kind: regression, columns: [o], stats: [nobs, r2_adj]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["validate", str(spec)], capsys) == (0, "")


LIBERATION_SERIF = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")


def test_word_table_too_wide_for_the_page_keeps_each_number_on_one_line(tmp_path):
    # sixteen columns on a landscape page: every column shrank to 35 pt at 10.5 pt type, and
    # Word broke the numbers between digits ("0" / ".525" / "**"); the document's title sat
    # alone on a portrait page before the table's landscape one
    from docx import Document
    from docx.oxml.ns import qn

    font_file = pytest.importorskip("PIL.ImageFont")
    if not LIBERATION_SERIF.exists():
        pytest.skip("Liberation Serif (Times New Roman's metrics) is not installed")
    names = [f"m{k}" for k in range(16)]
    body = (
        "models:\n"
        + "".join(
            f"  {n}: {{estimator: panel_fe, y: y, x: [x, L.x], absorb: [entity]}}\n" for n in names
        )
        + f"tables:\n  t: {{kind: regression, columns: [{', '.join(names)}]}}\n"
        + "outputs: {formats: [docx]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    document = Document(str(tmp_path / "out" / "tables.docx"))
    assert len(document.sections) == 1  # the title on the table's landscape page
    table = document.tables[0]._tbl
    margins = table.find(qn("w:tblPr")).find(qn("w:tblCellMar"))
    margin = int(margins.find(qn("w:left")).get(qn("w:w")))
    font = font_file.truetype(str(LIBERATION_SERIF), 1000)

    def width(text: str, points: float) -> float:
        """The advance width of ``text`` in twips at ``points`` (Liberation Serif's)."""
        return font.getlength(text) / 1000 * points * 20

    checked = 0
    for row in table.findall(qn("w:tr")):
        for cell in row.findall(qn("w:tc"))[1:]:
            tab = cell.find(f".//{qn('w:tab')}")
            runs = cell.findall(f".//{qn('w:r')}")
            if tab is None or not runs:
                continue
            text = "".join(t.text for t in runs[0].findall(qn("w:t")))
            stars = "".join(t.text for r in runs[1:] for t in r.findall(qn("w:t")))
            size = int(runs[0].find(f".//{qn('w:sz')}").get(qn("w:val"))) / 2
            assert 7 <= size < 10.5  # set smaller than the document's 10.5 pt to fit
            whole, point, fraction = text.partition(".")
            inside = int(cell.find(qn("w:tcPr")).find(qn("w:tcW")).get(qn("w:w"))) - 2 * margin
            stop = int(tab.get(qn("w:pos")))
            assert width(whole, size) <= stop, (text, stop)
            # stars are superscript, about 2/3 of the size
            assert stop + width(point + fraction, size) + width(stars, size * 2 / 3) <= inside
            checked += 1
    assert checked >= 16 * 4  # coefficients, their t statistics, N and R² of every column
    # an empty cell's paragraph is as tall as its mark's font: the table's size, not the
    # document's 10.5 pt (column (1) has no L.x, and its row was taller than the others)
    marks = {
        p.find(qn("w:pPr")).find(qn("w:rPr")).find(qn("w:sz")).get(qn("w:val"))
        for p in table.iter(qn("w:p"))
    }
    assert marks == {str(int(size * 2))}


def test_diff_says_a_relabelled_row_once_not_each_cell(tmp_path, capsys):
    # a label edited in the spec listed every cell of the row and of its standard errors twice
    # (under the old label "→ —", under the new "— →"), 64 lines for one edit, and hid that no
    # number moved
    body = (
        "variables:\n  x: {label: Digital}\n"
        "models:\n  m: {estimator: panel_fe, y: y, x: [x, L.x], absorb: [entity]}\n"
        "  n: {extends: m, x: [x]}\n"
        "tables:\n  t: {kind: regression, columns: [m, n]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert main(["run", str(spec), "--out", str(tmp_path / "a")]) == 0
    spec.write_text(spec.read_text().replace("label: Digital}", "label: Digital trade}"))
    assert main(["run", str(spec), "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[out.index("table cells:") :] == [
        "table cells:",
        "  t: row 'Digital' is now labelled 'Digital trade'",
        "  t: row 'Digital (t−1)' is now labelled 'Digital trade (t−1)'",
    ]
    # a relabelled row whose numbers changed too: its cells are listed under the new label
    spec.write_text(spec.read_text().replace("label: Digital trade}", "label: Trade}"))
    spec.write_text(
        spec.read_text().replace("absorb: [entity]}", "absorb: [entity], se: {type: HC1}}")
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    main(["diff", str(tmp_path / "b"), str(tmp_path / "c")])
    cells = [line.strip() for line in capsys.readouterr().out.split("table cells:")[1].splitlines()]
    assert cells[1] == "t: row 'Digital trade' is now labelled 'Trade'"
    # the standard errors changed (HC1 for conventional): listed under the new label
    assert any(line.startswith("t: row 'Trade (2nd line)', column (1): (") for line in cells)
    assert not any("→ —" in line or "— →" in line for line in cells)


def _sophistication_project(folder: Path, exporter: str) -> Path:
    """A panel whose firms are codes with leading zeros ('001', read as text), and an export
    source whose firms are written by ``exporter`` (a format string of the firm number)."""
    panel = ["firm,year,inc,y"] + [
        f"{f:03d},{t},{1 + f + (t % 3)},{f * t % 7}" for f in (1, 2, 3, 4) for t in (2001, 2002)
    ]
    exports = ["firm,year,cat,val"] + [
        f"{exporter.format(f)},{t},{c},{(f * 7 + t + ord(c)) % 11 + 1}"
        for f in (1, 2, 3, 4)
        for t in (2001, 2002)
        for c in "abc"
    ]
    (folder / "panel.csv").write_text("\n".join(panel) + "\n")
    (folder / "exports.csv").write_text("\n".join(exports) + "\n")
    spec = folder / "spec.yaml"
    spec.write_text(
        "spec_version: 1\ndata:\n  sources:\n    p: {path: panel.csv}\n"
        "    ex: {path: exports.csv}\n  panel: {source: p, entity: firm, time: year}\n"
        "transforms:\n"
        "  - sophistication: {source: ex, product: cat, value: val, income: inc, output: E}\n"
        "models:\n  m: {estimator: ols, y: y, x: [E]}\n"
    )
    return spec


def test_sophistication_matches_numeric_codes_with_zero_padded_ones(tmp_path, capsys):
    # the panel's firms '001' (text) and the export file's 1 (numbers): the codes were cast to
    # '1', none matched, and the error blamed the panel: "32 exporter-years have no 'inc'"
    import polars as pl

    texts, numbers = tmp_path / "texts", tmp_path / "numbers"
    for folder, exporter in ((texts, "{:03d}"), (numbers, "{}")):
        folder.mkdir()
        spec = _sophistication_project(folder, exporter)
        assert main(["run", str(spec), "--out", str(folder / "out")]) == 0
    # the same EXPY whichever way the export file writes its codes
    same = [pl.read_parquet(f / "out" / "analysis.parquet") for f in (texts, numbers)]
    assert same[0]["E"].null_count() == 0
    assert same[0].equals(same[1])


def test_sophistication_with_no_code_in_common_says_so(tmp_path, capsys):
    spec = _sophistication_project(tmp_path, "F{}")
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert (code, err) == (
        1,
        f"error: {spec}:8:21: transforms[0].sophistication: sophistication: no firm of source "
        "'ex' is one of the panel's: it has 'F1', 'F2', 'F3' and 1 more, the panel '001', "
        "'002', '003' and 1 more (the two files must write the codes alike (the same names, or "
        "the same numbers); derive a matching column in one of them)",
    )


def _staggered(folder: Path) -> tuple[Path, list[tuple[int, int, float, int, int]]]:
    """A balanced panel of 24 units over 2010–2017 (made up, with a deterministic noise):
    ``g`` first treated in 2012,
    2014 or 2016, or 2030 (after the panel: never within it); ``g_all`` the same with 2015
    for those, so that every unit is treated by 2016."""
    rows = []
    for i in range(24):
        g, g_all = [2012, 2014, 2016, 2030][i % 4], [2012, 2014, 2016, 2015][i % 4]
        for t in range(2010, 2018):
            noise = ((i * i * 13 + t * 7 + i * t) % 11) / 10
            y = 0.1 * i + 0.05 * t + (0.5 if t >= g_all else 0) + noise
            rows.append((i, t, round(y, 4), g, g_all))
    (folder / "d.csv").write_text(
        "unit,year,y,g,g_all\n" + "".join(f"{i},{t},{y},{g},{a}\n" for i, t, y, g, a in rows)
    )
    return folder / "spec.yaml", rows


def _att(rows, first: dict[int, float], g: int, t: int, base: int, controls) -> float:
    """ATT(g, t) of Callaway and Sant'Anna (2021, eq. 2.6 without covariates): the mean change
    from ``base`` to ``t`` of cohort g less that of the ``controls`` (a unit predicate)."""
    y = {(i, year): v for i, year, v, _, _ in rows}
    units = sorted(first)

    def change(group):
        return sum(y[i, t] - y[i, base] for i in group) / len(group)

    return change([i for i in units if first[i] == g]) - change(
        [i for i in units if controls(first[i])]
    )


def test_callaway_santanna_without_never_treated_units_as_r_did(tmp_path, capsys):
    # every unit treated by 2016: control: notyet was refused ("no never-treated unit"), where
    # R did's att_gt (pre_process_did, control_group = "notyettreated") drops the periods from
    # the last cohort's on and uses that cohort as controls only; units first treated after
    # the panel (2030) count as never treated there, and were taken for a treated cohort
    import json

    spec, rows = _staggered(tmp_path)
    spec.write_text(
        "spec_version: 1\ndata:\n  sources:\n    d: {path: d.csv}\n"
        "  panel: {source: d, entity: unit, time: year}\nmodels:\n"
        "  notyet: {estimator: event_study, y: y, first_treated: g_all, "
        "method: callaway_santanna, control: notyet, bootstrap: false}\n"
        "  late: {estimator: event_study, y: y, first_treated: g, "
        "method: callaway_santanna, control: never, bootstrap: false}\n"
    )
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert err.splitlines() == [
        "warning: model 'notyet': no never-treated unit: the last cohort (2016) serves as "
        "not-yet-treated controls only and the periods from 2016 on are dropped (R did's "
        'att_gt, control_group = "notyettreated")',
        "warning: model 'late': 6 units first treated after the last period (2017) are never "
        "treated within the panel, as in R did",
    ]
    models = json.loads((tmp_path / "out" / "results.json").read_text())["models"]
    cells = {
        name: {(c["group"], c["period"]): c["att"] for c in models[name]["extra"]["att_gt"]}
        for name in ("notyet", "late")
    }
    # not yet treated: periods 2010–2015 only, no ATT of the 2016 cohort, whose units are
    # controls (first treated after max(t, base))
    assert {g for g, _ in cells["notyet"]} == {2012.0, 2014.0, 2015.0}
    assert max(t for _, t in cells["notyet"]) == 2015.0
    assert models["notyet"]["nobs"] == 24 * 6
    first_all = {i: a for i, t, _, _, a in rows if t == 2010}
    for (g, t), att in cells["notyet"].items():
        base = int(t) - 1 if t < g else int(g) - 1  # varying base period
        cutoff = max(t, base)  # not yet treated by then, cohort g itself left out (R did)
        expected = _att(rows, first_all, g, int(t), base, lambda f, c=cutoff, g=g: c < f != g)
        assert att == pytest.approx(expected, abs=1e-12)
    # 2030 is never treated within 2010–2017: the never-treated controls of every cohort
    first = {i: (float("inf") if g == 2030 else g) for i, t, _, g, _ in rows if t == 2010}
    assert {g for g, _ in cells["late"]} == {2012.0, 2014.0, 2016.0}
    for (g, t), att in cells["late"].items():
        base = int(t) - 1 if t < g else int(g) - 1
        expected = _att(rows, first, g, int(t), base, lambda f: f == float("inf"))
        assert att == pytest.approx(expected, abs=1e-12)


def test_callaway_santanna_never_control_without_never_treated_says_notyet(tmp_path, capsys):
    spec, _ = _staggered(tmp_path)
    spec.write_text(
        "spec_version: 1\ndata:\n  sources:\n    d: {path: d.csv}\n"
        "  panel: {source: d, entity: unit, time: year}\nmodels:\n"
        "  m: {estimator: event_study, y: y, first_treated: g_all, "
        "method: callaway_santanna, bootstrap: false}\n"
    )
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:6: models.m: 'g_all' has no never-treated unit: every unit is "
        "treated by 2016, so control: never has no comparison group (control: notyet compares "
        "each cohort with the units not yet treated, the last cohort serving as controls only "
        '(R did\'s att_gt, control_group = "notyettreated"))',
    )


def test_callaway_santanna_with_one_treated_and_one_control_unit(tmp_path, capsys):
    # a case study's one treated unit against one control: every influence function is 0,
    # so the analytic SE, and z = estimate / 0 crashed the run (ZeroDivisionError, exit 3)
    import json

    rows = [
        f"{i},{t},{0.3 * i + 0.1 * t + (0.5 if g and t >= g else 0) + (i * t % 3) / 10},{g}"
        for i, g in ((1, 2014), (2, 0))
        for t in range(2010, 2018)
    ]
    (tmp_path / "d.csv").write_text("unit,year,y,g\n" + "\n".join(rows) + "\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "spec_version: 1\ndata:\n  sources:\n    d: {path: d.csv}\n"
        "  panel: {source: d, entity: unit, time: year}\nmodels:\n"
        "  m: {estimator: event_study, y: y, first_treated: g, "
        "method: callaway_santanna, bootstrap: false}\n"
        "tables:\n  t: {kind: regression, columns: [m]}\n"
    )
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert "warning: model 'm': the standard error of att, att_dynamic, att_group" in err
    att = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    simple = att["coefficients"]["att"]
    assert simple["std_error"] == 0 and simple["p_value"] is None


def test_stata_power_operator_is_answered(tmp_path, capsys):
    # Stata writes a square x^2: "unexpected character '^'" named no way to write it
    spec = write(tmp_path, panel_rows(), "transforms:\n  - derive: {x2: x^2}\n" + MODEL)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:7:19: transforms[0].derive.x2: unexpected '^' at column 2 (write "
        "x ** 2 for a power (Stata's x^2))",
    )


def test_table_label_matching_no_coefficient_is_named(tmp_path, capsys):
    # esttab's coeflabels(Dgie "…") with a misspelt name: keep:, drop:, order:, scale: and
    # row_digits: name it, labels: left the row under its own name without a word
    body = (
        "models:\n  m: {estimator: ols, y: y, x: [x]}\n"
        "tables:\n  t: {kind: regression, columns: [m], labels: {xx: Digital trade}}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:9:52: tables.t.labels.xx: 'xx' matches no coefficient ('xx': did you "
        "mean 'x'?; patterns are names, terms (i.region), globs matched against the whole name "
        "(x*, yr20??), or regular expressions prefixed with 're:' (re:^x_); the coefficients "
        "are: x, _cons)",
    )


def test_threshold_on_a_panel_with_absent_rows_names_the_sample(tmp_path, capsys):
    # the hint said "fill missing cells with the interpolate transform"; the periods of firm 2
    # have no row at all, which interpolate cannot fill, and the same error followed
    rows = [r for r in panel_rows() if not r.startswith(("2,2002,", "2,2003,"))]
    body = (
        "transforms:\n  - interpolate: {vars: [x, y]}\n"
        "models:\n  m: {estimator: panel_threshold, y: y, regime_x: [x], q: x, "
        "bootstrap: 10, seed: 1}\n"
    )
    spec = write(tmp_path, rows, body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:9:6: models.m: the panel threshold model needs a balanced panel "
        "(Hansen 1999: every entity in every period); 1 of 4 entities misses periods: 2 "
        "(2002, 2003) (leave them out with sample: {exclude: {firm: [2]}} on model 'm' (keeps "
        "15 of 18 rows); or keep every entity in the periods all of them have with sample: "
        "{time: [2004, 2005]} on model 'm' (keeps 8). Stata's xthreg needs a balanced panel "
        "too: its users drop such entities first (xtbalance, range(2001 2005), or bysort firm: "
        "keep if _N == 5); the interpolate transform fills missing cells of the rows the data "
        "have, not periods without a row)",
    )
    # the sample the hint writes leaves the panel balanced
    spec.write_text(
        spec.read_text().replace("seed: 1}", "seed: 1, sample: {exclude: {firm: [2]}}}")
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0


@pytest.mark.parametrize("written", ["{}-12-31", "{}/12/31", "parquet"])
def test_annual_periods_written_as_year_end_dates_read_as_years(tmp_path, capsys, written):
    # CSMAR's and Wind's annual files date each row at its year's end ("2015-12-31"): the time
    # column was text, refused with "write the years as plain numbers in the file" (a Date
    # column of a Parquet file passed, and failed at the first lag)
    import json
    from datetime import date

    import polars as pl

    body = "models:\n  m: {estimator: panel_fe, y: x, x: [y, L.y], absorb: [entity]}\n"
    plain = tmp_path / "plain"
    plain.mkdir()
    spec = write(plain, panel_rows(), body)
    assert main(["run", str(spec), "--out", str(plain / "out")]) == 0
    dated = tmp_path / "dated"
    dated.mkdir()
    spec = write(dated, panel_rows(), body)
    frame = pl.read_csv(dated / "d.csv")
    if written == "parquet":
        frame = frame.with_columns(
            pl.col("year").map_elements(lambda y: date(y, 12, 31), return_dtype=pl.Date)
        )
        frame.write_parquet(dated / "d.parquet")
        spec.write_text(spec.read_text().replace("d.csv", "d.parquet"))
    else:
        frame = frame.with_columns(
            pl.col("year").map_elements(written.format, return_dtype=pl.String)
        )
        frame.write_csv(dated / "d.csv")
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(dated / "out")]) == 0
    results = [json.loads((f / "out" / "results.json").read_text()) for f in (plain, dated)]
    assert results[0]["models"]["m"]["coefficients"] == results[1]["models"]["m"]["coefficients"]
    notes = json.loads((dated / "out" / "manifest.json").read_text())["notes"]
    assert any("holds dates on 12-31 of each year: read as their years" in n for n in notes)


def test_monthly_dates_as_periods_say_what_to_write(tmp_path, capsys):
    # a monthly panel: its periods dated on the first of months (not one day of each year)
    rows = []
    for row in panel_rows():
        firm, year, rest = row.split(",", 2)
        rows.append(f"{firm},2001-{int(year) - 2000:02d}-01,{rest}")
    spec = write(tmp_path, rows, MODEL)
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert err.endswith(
        "(dates on several days of the year (months, quarters) are no period numbers: write a "
        "period number in the file (such as year × 12 + month))"
    )


def test_exclude_lists_of_the_wrong_type_or_absent_values_are_named(tmp_path, capsys):
    # exclude: {firm: [005]} reads 5 (a number) against text codes '005': polars' "'is_in'
    # cannot check for String values in List(Int64) data"; a misspelt value excluded nothing
    rows = [
        f"{f:03d}," + r.split(",", 1)[1]
        for f, r in zip([1] * 5 + [2] * 5 + [3] * 5 + [4] * 5, panel_rows(), strict=True)
    ]
    body = (
        "samples:\n"
        "  codes: {exclude: {firm: [002, 004]}}\n"
        "  typo: {exclude: {g: [c]}}\n"
        "  years: {exclude: {year: ['2001']}}\n"
        "models:\n"
        "  a: {estimator: ols, y: y, x: [x], sample: codes}\n"
        "  b: {estimator: ols, y: y, x: [x], sample: typo}\n"
        "  c: {estimator: ols, y: y, x: [x], sample: years}\n"
    )
    spec = write(tmp_path, rows, body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:7:27: samples.codes.exclude.firm: 'firm' holds text (such as '001'), "
        "and exclude: lists the numbers 2, 4 (YAML reads 005 as 5) (quote the codes as they "
        'are written: ["002", "004"])\n'
        f"error: {spec}:8:23: samples.typo.exclude.g: exclude: 'c' is no value of 'g', so it "
        "excludes no row (its values: a, b)\n"
        f"error: {spec}:9:27: samples.years.exclude.year: 'year' holds numbers, and exclude: "
        "lists the text '2001' (write the values without quotes)",
    )
    # the codes as the hint writes them leave those firms out
    spec.write_text(
        spec.read_text()
        .replace("[002, 004]", "['002', '004']")
        .replace("[c]", "[b]")
        .replace("['2001']", "[2001]")
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0


def test_only_with_a_misspelt_member_of_a_family_is_named(tmp_path, capsys):
    # --only m.c of a family over g (members m.a, m.b) ran the whole family and wrote it
    body = "models:\n  m: {estimator: ols, y: y, x: [x], over: g}\n"
    spec = write(tmp_path, panel_rows(), body)
    out = tmp_path / "out"
    assert run(["run", str(spec), "--out", str(out), "--only", "m.c"], capsys) == (
        2,
        "error: --only names no model 'm.c': 'm' has m.a, m.b (did you mean 'm.b'?)",
    )
    assert not out.exists()  # nothing written
    assert main(["run", str(spec), "--out", str(out), "--only", "m.b"]) == 0


def test_hausman_of_models_fitted_on_different_rows_is_refused(tmp_path, capsys):
    # fixed effects on every year against random effects on the later ones: a statistic was
    # reported (with a warning that V_b − V_B is not positive definite) for a comparison of
    # two estimators on different data
    body = (
        "samples:\n  late: {time: [2003, null]}\n"
        "models:\n"
        "  fe: {estimator: panel_fe, y: y, x: [x], effects: [entity]}\n"
        "  re: {estimator: panel_re, y: y, x: [x], sample: late}\n"
        "  h: {estimator: hausman, models: [fe, re]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:11:6: models.h: models 'fe' and 're' are fitted on different "
        "observations (20 and 12 rows): the Hausman test compares two estimators on the same "
        "sample (give both models the same sample: and variables missing in the same rows)",
    )


def test_validate_reports_panels_of_unequal_width(tmp_path, capsys):
    # Panel A of two models, Panel B of one: run fitted every model before saying so
    body = (
        "models:\n"
        "  a: {estimator: ols, y: y, x: [x]}\n"
        "  b: {estimator: ols, y: x, x: [y]}\n"
        "tables:\n"
        "  t: {kind: regression, panels: [{columns: [a, b]}, {columns: [a]}]}\n"
        "  u: {kind: regression, panels: [{columns: [a, b]}, {columns: [b, a]}], "
        "column_labels: [one]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:10:33: tables.t.panels: every panel needs as many columns as the "
        "first: 2, 1\n"
        f"error: {spec}:11:88: tables.u.column_labels: column_labels has 1 entries, the table "
        "has 2 columns",
    )


def test_diff_says_rows_put_in_another_order(tmp_path, capsys):
    # order: [L.x] moved a row up: "no model, coefficient, statistic or table cell changed"
    body = (
        "models:\n  m: {estimator: panel_fe, y: y, x: [x, L.x], absorb: [entity]}\n"
        "tables:\n  t: {kind: regression, columns: [m]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert main(["run", str(spec), "--out", str(tmp_path / "a")]) == 0
    spec.write_text(spec.read_text().replace("columns: [m]}", "columns: [m], order: [L.x]}"))
    assert main(["run", str(spec), "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[out.index("table cells:") :] == [
        "table cells:",
        "  t: rows in another order: x (t−1), x moved",
    ]


def test_exact_fit_of_a_fixed_effects_model_is_a_warning_not_a_crash(tmp_path, capsys):
    # y2 = 2·x exactly: the residual sum of squares is 0.0, and xtreg's F test that all
    # u_i = 0 divided by it (ZeroDivisionError, exit 3); a mediation whose mediator is such a
    # column crashed the same way in its mediator regression
    body = (
        "transforms:\n  - derive: {x2: 2 * x}\n"
        "models:\n  m: {estimator: panel_fe, y: x2, x: [x], effects: [entity]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert "warning: model 'm': the regressors fit 'x2' exactly" in err


def test_exclude_of_a_multiverse_axis_value_is_said_once_at_it(tmp_path, capsys):
    rows = [f"00{r}" for r in panel_rows()]  # firms '001'…'004', text codes
    body = (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x], absorb: [entity]}\n"
        "multiverse:\n  r:\n    base: fe\n    focus: x\n    axes:\n"
        "      sample: {all: {}, no2: {sample: {exclude: {firm: [002]}}}}\n"
        "      se: {plain: {}, robust: {se: robust}}\n"
    )
    spec = write(tmp_path, rows, body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:13:30: multiverse.r.axes.sample.no2: the 2 specifications of "
        "multiverse 'r' with sample=no2 fail (the first 'r[sample=no2,se=plain]'): 'firm' "
        "holds text (such as '001'), and exclude: lists the numbers 2 (YAML reads 005 as 5) "
        '(quote the codes as they are written: ["002"])',
    )


def test_operator_on_a_list_of_variables_as_stata_writes_it(tmp_path, capsys):
    # Stata's L.(x y) and L(0/1).(x y): "unexpected '(x y)'", though L.($group) worked; a
    # misspelt name in the list is reported at the item it is written in
    import json

    body = "models:\n  m: {estimator: panel_fe, y: y, x: ['L(0/1).(x g2)'], absorb: [entity]}\n"
    spec = write(tmp_path, panel_rows(), "transforms:\n  - derive: {g2: x * x}\n" + body)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    fitted = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]
    assert list(fitted["coefficients"]) == ["x", "L.x", "g2", "L.g2", "_cons"]
    spec.write_text(spec.read_text().replace("(x g2)", "(x g3)"))
    capsys.readouterr()
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:38: models.m.x[0]: unknown variable 'g3' in term 'L(0/1).g3' (did "
        "you mean 'g'?)",
    )


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            "firm in [002, 003]",
            "'in' looks for a string in a list of numbers (quote the codes as the column writes "
            "them, e.g. ['005'])",
        ),
        (
            "firm == 2",
            "cannot compare a string with a number using '==' (quote a code as the column "
            "writes it, e.g. firm == '005' (or real(firm) == 5))",
        ),
    ],
)
def test_text_codes_against_numbers_say_to_quote_them(tmp_path, capsys, where, message):
    rows = [f"00{r}" for r in panel_rows()]  # firms '001'…'004', text codes
    body = (
        f"samples: {{s: {{where: '{where}'}}}}\n"
        "models:\n  m: {estimator: ols, y: y, x: [x], sample: s}\n"
    )
    spec = write(tmp_path, rows, body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:6:14: samples.s: {message}",
    )


@pytest.mark.parametrize("row", [0, 6])
def test_numbers_typed_with_full_width_digits_read_as_numbers(tmp_path, capsys, row):
    # '１２.５' (a Chinese input method's digits) in a column of numbers: polars took the
    # column for numbers and could not parse the cell, and the file was unreadable ("holds
    # '１２.５' in data row 3, which is not Float64 …: add 'infer_rows: all'", which failed too)
    import json

    rows = panel_rows()
    firm, year, g, _, y = rows[row].split(",")
    rows[row] = ",".join([firm, year, g, "１２.５", y])
    spec = write(tmp_path, rows, MODEL)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    expected = [r.split(",") for r in panel_rows()]
    expected[row][3] = "12.5"
    (tmp_path / "plain").mkdir()
    plain = write(tmp_path / "plain", [",".join(r) for r in expected], MODEL)
    assert main(["run", str(plain), "--out", str(tmp_path / "plain" / "out")]) == 0
    fitted = [
        json.loads((folder / "out" / "results.json").read_text())["models"]["m"]["coefficients"]
        for folder in (tmp_path, tmp_path / "plain")
    ]
    assert fitted[0] == fitted[1]  # the same fit as with 12.5 written in ASCII digits


def test_iv_with_an_instrument_built_from_the_endogenous_regressor_says_so(tmp_path, capsys):
    # instrument z2 = 2·x for endogenous x: numpy's "Singular matrix" and nothing else
    body = (
        "transforms:\n  - derive: {z2: 2 * x, w: x * x}\n"
        "models:\n  m: {estimator: iv, y: y, x: [w], endog: [x], instruments: [z2]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert err.endswith(
        "(a regressor or instrument is an exact linear function of the others (an instrument "
        "built from an endogenous regressor, or from x): leave it out)"
    )


def test_table_whose_keep_and_drop_leave_no_coefficient_row_is_an_error(tmp_path, capsys):
    # keep: [x] with drop: [x] (each pattern matches a coefficient) printed a table of
    # statistics only, without a word
    body = (
        "models:\n  m: {estimator: ols, y: y, x: [x]}\n"
        "tables:\n  t: {kind: regression, columns: [m], keep: [x], drop: [x, _cons]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["run", str(spec), "--out", str(tmp_path / "out")], capsys) == (
        1,
        f"error: {spec}:9:45: tables.t.keep: keep: leaves no coefficient row (with drop:): the "
        "table would print no coefficient (the coefficients are: x, _cons)",
    )
    assert not (tmp_path / "out").exists()


def test_table_whose_drop_leaves_no_coefficient_row_names_drop(tmp_path, capsys):
    body = (
        "models:\n  m: {estimator: ols, y: y, x: [x]}\n"
        "tables:\n  t: {kind: regression, columns: [m], drop: [x], constant: false}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert err.startswith(f"error: {spec}:9:")
    assert "tables.t.drop: drop: leaves no coefficient row (with constant: false)" in err
    assert "(the coefficients are: x, _cons)" in err


def test_keep_and_drop_leaving_no_row_is_a_validation_error(tmp_path, capsys):
    # the names follow from an ols model's x (plain variables and _cons): validate says it
    # before anything is fitted, at the table's keep:
    body = (
        "models:\n  m: {estimator: ols, y: y, x: [x]}\n"
        "tables:\n  t: {kind: regression, columns: [m], keep: [x], drop: [x, _cons]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["validate", str(spec)], capsys) == (
        1,
        f"error: {spec}:9:45: tables.t.keep: keep: leaves no coefficient row (with drop:): the "
        "table would print no coefficient (the coefficients are: x, _cons)",
    )


def test_keep_of_an_operator_term_is_left_to_the_run(tmp_path, capsys):
    # L.x names its coefficient from the data's panel: validate cannot know it, run says it
    body = (
        "models:\n  m: {estimator: panel_fe, y: y, x: [L.x], absorb: [entity]}\n"
        "tables:\n  t: {kind: regression, columns: [m], drop: [L.x, _cons]}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["validate", str(spec)], capsys) == (0, "")
    code, err = run(["run", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "tables.t.drop: drop: leaves no coefficient row: the table would print no coeff" in err
    assert err.endswith("(the coefficients are: L.x, _cons)")


def test_keep_and_drop_leaving_a_row_validate(tmp_path, capsys):
    body = (
        "groups:\n  c: [x]\n"
        "models:\n  m: {estimator: ols, y: y, x: [x]}\n"
        "tables:\n  t: {kind: regression, columns: [m], keep: [c.x], drop: [_cons]}\n"
        "  u: {kind: regression, columns: [m], indicators: {Controls: [$c]}, constant: true}\n"
    )
    spec = write(tmp_path, panel_rows(), body)
    assert run(["validate", str(spec)], capsys) == (0, "")
