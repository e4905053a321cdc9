"""Variable lists and standard errors written as a Stata user types them: each a located error
that shows the spec's way to write it."""

from __future__ import annotations

from specrun.cli import main

SPEC = """\
spec_version: 1
data:
  sources:
    p: {path: p.csv}
  panel: {source: p, entity: firm, time: year}
models:
  b: {estimator: panel_fe, y: y, x: x z, absorb: [firm]}
  c: {estimator: panel_fe, y: y, x: [x], absorb: firm year}
  d: {estimator: panel_fe, y: y, x: [x], absorb: [firm], se: {cluster: firm year}}
  e: {estimator: panel_fe, y: y, x: [x], absorb: [firm], se: vce(cluster firm)}
"""


def test_stata_varlists_and_vce_are_answered_with_the_spec_syntax(tmp_path, capsys):
    rows = "\n".join(f"F{i},{t},{i + t},{i * t % 3},{t % 4}" for i in range(3) for t in range(4))
    (tmp_path / "p.csv").write_text("firm,year,x,z,y\n" + rows + "\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:37: models.b.x: input should be a valid list, got 'x z' (a list is "
        "written in brackets: [x, z])\n"
        f"error: {spec}:8:50: models.c.absorb: input should be a valid list, got 'firm year' (a "
        "list is written in brackets: [firm, year])\n"
        f"error: {spec}:9:72: models.d.se.cluster[0]: unknown variable 'firm year' ('firm year' "
        "is not one column but 2: write [firm, year])\n"
        f"error: {spec}:10:62: models.e.se: se should be unadjusted, robust, HC0, HC1, HC2, HC3, "
        "driscoll_kraay or a mapping such as {cluster: entity}, got 'vce(cluster firm)' "
        "(clustered standard errors are written se: {cluster: firm})\n"
    )


def test_an_operator_on_a_header_with_brackets_says_how_to_lag_it(tmp_path, capsys):
    """GDP(亿元) is a column (and a term on its own), but L.GDP(亿元) is no term: the error
    names the transform that makes the lag a column."""
    rows = "\n".join(f"F{i},{t},{i + t},{t % 4}" for i in range(3) for t in range(4))
    (tmp_path / "p.csv").write_text("firm,year,GDP（亿元）,y\n" + rows + "\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        "  sources:\n"
        "    p: {path: p.csv}\n"
        "  panel: {source: p, entity: firm, time: year}\n"
        "models:\n"
        '  a: {estimator: panel_fe, y: y, x: ["L2.GDP(亿元)"], absorb: [firm]}\n',
        encoding="utf-8",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:7:38: models.a.x[0]: term 'L2.GDP(亿元)': the column 'GDP(亿元)' cannot "
        "take the operator 'L2.' (a term's variable is letters, digits and _) (make it a column "
        "first (transforms: - lag: {vars: ['GDP(亿元)'], periods: 2} adds 'GDP(亿元)_lag2'), or "
        "rename the column)\n"
    )
