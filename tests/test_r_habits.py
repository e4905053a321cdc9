"""Models and tables written as an R user types them (fixest, plm, modelsummary): each habit a
located error that shows the spec's way to write it."""

from __future__ import annotations

from pathlib import Path

import pytest

from specrun.cli import main
from specrun.data.terms import formula_hint, r_term_hint

DATA = """\
firm,year,x,z,w,y,ind,rel,g
A,1,1,2,1,3,m,0,0
A,2,2,1,1,4,m,1,0
B,1,3,1,2,5,s,0,0
B,2,1,3,2,6,s,1,0
"""

HEAD = """\
spec_version: 1
data:
  sources:
    p: {path: p.csv}
  panel: {source: p, entity: firm, time: year}
"""

KEYS = (
    HEAD
    + """\
models:
  a: {estimator: panel_fe, y: y, x: "y ~ x + z", absorb: [firm], vcov: hetero}
  b: {estimator: iv, formula: "y ~ z | firm + year | x ~ w", fixef.rm: singleton}
  c: {estimator: panel_fe, y: y, x: [x], absorb: [firm], cluster: ~firm, ssc: x}
  d: {estimator: panel_fe, y: y, x: [x], absorb: firm^year}
  e: {estimator: panel_fe, y: y, x: [x], absorb: [firm], se: twoway}
  f: {estimator: panel_fe, y: y, x: [x], absorb: [firm], se: ~firm, model: within, effect: twoways}
tables:
  t: {kind: regression, columns: [a], stars: TRUE, gof_map: [nobs], coef_map: {x: X}}
"""
)


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    (tmp_path / "p.csv").write_text(DATA, encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(text, encoding="utf-8")
    assert main(["validate", str(spec)]) == 1
    return capsys.readouterr().err.replace(str(spec), "s.yaml")


def test_fixest_and_plm_keys_are_answered_with_the_spec_keys(tmp_path, capsys):
    assert _validate(tmp_path, KEYS, capsys) == (
        "error: s.yaml:7:37: models.a.x: input should be a valid list, got 'y ~ x + z' (a model "
        "names its parts as keys, not a formula: y: y, x: [x, z])\n"
        "error: s.yaml:7:66: models.a.vcov: unknown key 'vcov' (standard errors are se: robust "
        "(fixest's vcov = 'hetero', HC1), se: {cluster: firm} (vcov = ~firm), se: {cluster: "
        "[firm, year]} ('twoway') or se: unadjusted ('iid'))\n"
        # the formula answers y, endog and instruments: they are not also reported missing
        "error: s.yaml:8:22: models.b.formula: unknown key 'formula' (a model names its parts as "
        "keys, not a formula: estimator: iv, y: y, x: [z], absorb: [firm, year], endog: [x], "
        "instruments: [w])\n"
        "error: s.yaml:8:62: models.b.fixef.rm: unknown key 'fixef.rm' (singletons: drop removes "
        "singletons (fixest's fixef.rm = 'singleton'); keep, the default, keeps them, as feols "
        "does by default)\n"
        "error: s.yaml:9:58: models.c.cluster: unknown key 'cluster' (clusters are written se: "
        "{cluster: firm} (fixest's cluster = ~firm), se: {cluster: [firm, year]} for two-way)\n"
        "error: s.yaml:9:74: models.c.ssc: unknown key 'ssc' (the small-sample correction is "
        "se: {convention: stata | areg | plm | linearmodels}; stata (the default) equals "
        "fixest's default ssc())\n"
        "error: s.yaml:10:50: models.d.absorb: input should be a valid list, got 'firm^year' (a "
        "list is written in brackets: [firm#year])\n"
        "error: s.yaml:11:62: models.e.se: se should be unadjusted, robust, HC0, HC1, HC2, HC3, "
        "driscoll_kraay or a mapping such as {cluster: entity}, got 'twoway' (fixest's 'twoway' "
        "is se: {cluster: [entity, time]} (Cameron–Gelbach–Miller))\n"
        "error: s.yaml:12:62: models.f.se: se should be unadjusted, robust, HC0, HC1, HC2, HC3, "
        "driscoll_kraay or a mapping such as {cluster: entity}, got '~firm' (clustered standard "
        "errors are written se: {cluster: firm})\n"
        "error: s.yaml:12:69: models.f.model: unknown key 'model' (plm's model = 'within' is "
        "estimator: panel_fe, 'random' panel_re, 'between' panel_be, 'pooling' ols)\n"
        "error: s.yaml:12:84: models.f.effect: unknown key 'effect' (plm's effect = 'twoways' is "
        "effects: [entity, time], 'individual' effects: [entity], 'time' effects: [time])\n"
        "error: s.yaml:14:46: tables.t.stars: input should be a valid list, got True (stars are "
        "printed by default at [0.1, 0.05, 0.01]; stars: [] prints none)\n"
        "error: s.yaml:14:52: tables.t.gof_map: unknown key 'gof_map' (statistic rows are stats: "
        "[nobs, r2, r2_within, n_clusters, …] (see the table statistics' reference))\n"
        "error: s.yaml:14:69: tables.t.coef_map: unknown key 'coef_map' (row labels are labels: "
        "{x1: Investment} (or variables: labels), the order order: [x1, x2], the rows kept keep: "
        "[x1, x2])\n"
    )


def test_fixest_terms_are_answered_with_stata_terms(tmp_path, capsys):
    text = (
        HEAD
        + """\
models:
  g: {estimator: panel_fe, y: log(y), x: ["i(ind, x)", "i(rel, ref = -1)", "sunab(g, year)"], absorb: [firm]}
  h: {estimator: panel_fe, y: y, x: ["x:z", "x*z", "I(x^2)", "l(x, 0:2)", "d(z)", "factor(ind)", "x + z"], absorb: [firm]}
"""  # noqa: E501
    )
    prefix = "R's formula syntax is not a term"
    assert _validate(tmp_path, text, capsys) == (
        f"error: s.yaml:7:31: models.g.y: term 'log(y)': {prefix} (a term is a column, not a "
        "function of one: make it a column first (transforms: - derive: {new_name: log(y)}))\n"
        f"error: s.yaml:7:43: models.g.x[0]: term 'i(ind, x)': {prefix} (fixest's i() is a "
        "factor variable: write i.ind#c.x)\n"
        f"error: s.yaml:7:56: models.g.x[1]: term 'i(rel, ref = -1)': {prefix} (fixest's i() is "
        "a factor variable: write ib(-1).rel; an event study around each unit's first treated "
        "period is estimator: event_study, first_treated: <column>, reference: -1)\n"
        f"error: s.yaml:7:76: models.g.x[2]: term 'sunab(g, year)': {prefix} (Sun and Abraham's "
        "estimator is a model, not a term: estimator: event_study, first_treated: g, method: "
        "sun_abraham)\n"
        f"error: s.yaml:8:38: models.h.x[0]: term 'x:z': {prefix} (R's a:b is written c.x#c.z "
        "(i. for a factor))\n"
        f"error: s.yaml:8:45: models.h.x[1]: term 'x*z': {prefix} (R's a*b (both and their "
        "product) is written c.x##c.z (i. for a factor))\n"
        f"error: s.yaml:8:52: models.h.x[2]: term 'I(x^2)': {prefix} (a term is a column, not a "
        "function of one: make it a column first (transforms: - derive: {new_name: x ** 2}))\n"
        f"error: s.yaml:8:62: models.h.x[3]: term 'l(x, 0:2)': {prefix} (fixest's l() is "
        "Stata's time-series operator: write L(0/2).x)\n"
        f"error: s.yaml:8:75: models.h.x[4]: term 'd(z)': {prefix} (fixest's d() is Stata's "
        "time-series operator: write D.z)\n"
        f"error: s.yaml:8:83: models.h.x[5]: term 'factor(ind)': {prefix} (a factor is written "
        "i.ind)\n"
        f"error: s.yaml:8:98: models.h.x[6]: term 'x + z': {prefix} (a list is written in "
        "brackets: [x, z])\n"
    )


def test_fixest_column_names_are_answered_with_the_columns(tmp_path, capsys):
    text = (
        HEAD
        + """\
models:
  c: {estimator: panel_fe, y: y, x: [x], absorb: [firm, ind^year]}
  d: {estimator: panel_fe, y: y, x: [x], absorb: [firm], se: {cluster: "~firm + year"}}
  e: {estimator: panel_fe, y: y, x: [x], absorb: [firm], weights: ~w}
"""
    )
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:7:57: models.c.absorb[1]: unknown variable 'ind^year' (fixest's a^b is "
        "written ind#year)\n"
        "error: s.yaml:8:72: models.d.se.cluster[0]: unknown variable '~firm + year' ('~firm + "
        "year' is not one column but 2: write [firm, year])\n"
        "error: s.yaml:9:67: models.e.weights: unknown variable '~w' (a column is named without "
        "R's ~: write w)\n"
    )


def test_formula_hint_reads_fixest_formulas():
    assert formula_hint("y ~ x1 + x2 | firm + industry^year") == (
        "a model names its parts as keys, not a formula: y: y, x: [x1, x2], absorb: [firm, "
        "industry#year]"
    )
    # fixest's IV without other regressors: y ~ 1 | fe | endog ~ instruments
    assert formula_hint("y ~ 1 | fe | d ~ z1 + z2") == (
        "a model names its parts as keys, not a formula: estimator: iv, y: y, x: [], absorb: "
        "[fe], endog: [d], instruments: [z1, z2]"
    )
    assert formula_hint("x1 + x2") is None
    assert r_term_hint("L.x") is None  # Stata's own syntax is not R's
    # a vector of references, split at its top-level commas only
    assert r_term_hint("i(rel, ref = c(-1, -5))") == (
        "fixest's i() is a factor variable: write ib(<level>).rel (one base level); an event "
        "study with its window's ends binned or dropped is estimator: event_study, "
        "first_treated: <column>, endpoints: drop"
    )
    assert r_term_hint("lag(x, 2)") == "fixest's lag() is Stata's time-series operator: write L2.x"


def test_modelsummary_and_etable_statistic_names_say_the_spec_name(tmp_path, capsys):
    # r.squared is a dotted name, which reads a model's extra results: it was taken for one
    # and printed a row of blanks
    text = HEAD + (
        "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], absorb: [firm]}\n"
        "tables:\n"
        "  t: {kind: regression, columns: [a], stats: [nobs, r.squared, wr2]}\n"
    )
    err = _validate(tmp_path, text, capsys)
    lines = [line.split("; valid: ")[0] for line in err.splitlines()]
    assert lines == [
        "error: s.yaml:9:53: tables.t.stats[1]: unknown statistic 'r.squared' (did you mean 'r2'?)",
        "error: s.yaml:9:64: tables.t.stats[2]: unknown statistic 'wr2' (did you mean "
        "'r2_within_hdfe'?)",
    ]


def test_a_dotted_statistic_no_column_has_is_an_error_not_blanks(tmp_path, capsys):
    (tmp_path / "p.csv").write_text(DATA, encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        HEAD + "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], absorb: [firm]}\n"
        "tables:\n"
        "  t: {kind: regression, columns: [a], stats: [nobs, hdfe_iteration.x]}\n",
        encoding="utf-8",
    )
    assert main(["run", str(spec), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:9:53: tables.t.stats[1]: no column of this table has a statistic "
        "'hdfe_iteration.x' (did you mean 'hdfe_iterations'?)\n"
    )
    assert not (tmp_path / "out").exists()


def test_modelsummary_stars_and_a_note_as_one_string(tmp_path, capsys):
    # a note was split at its spaces, as a Stata varlist: [Clustered, by, firm.]
    text = HEAD + (
        "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], absorb: [firm]}\n"
        "tables:\n"
        '  t: {kind: regression, columns: [a], stars: {"*": 0.1, "**": 0.05, "***": 0.01}}\n'
        '  u: {kind: regression, columns: [a], notes: "Clustered by firm."}\n'
    )
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:9:46: tables.t.stars: input should be a valid list, got a mapping (star "
        "levels are p-values alone: stars: [0.1, 0.05, 0.01] print *, ** and ***)\n"
        "error: s.yaml:10:46: tables.u.notes: input should be a valid list, got 'Clustered by "
        'firm.\' (a list is written in brackets, an item a line: ["Clustered by firm."])\n'
    )


def test_data_as_a_file_and_plm_index_say_how_the_panel_is_written(tmp_path, capsys):
    (tmp_path / "p.csv").write_text(DATA, encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\ndata: p.csv\nmodels:\n  a: {estimator: ols, y: y, x: [x]}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(spec)]) == 1
    # pydantic's "a valid dictionary or instance of DataSpec" named a class of specrun's
    assert capsys.readouterr().err.replace(str(spec), "s.yaml") == (
        "error: s.yaml:2:7: data: input should be a mapping, got 'p.csv' (data: {sources: {p: "
        "{path: p.csv}}, panel: {source: p, entity: <id column>, time: <period column>}})\n"
    )
    text = HEAD.replace("entity: firm, time: year", "index: [firm, year]") + (
        "models:\n  a: {estimator: panel_fe, y: y, x: [x], absorb: [firm]}\n"
    )
    # entity and time are not also reported missing: the index says them
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:5:22: data.panel.index: unknown key 'index' (the panel's index is "
        'entity: firm, time: year (plm\'s index = c("firm", "year")))\n'
    )


def test_etable_options_say_the_table_keys(tmp_path, capsys):
    text = HEAD + (
        "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], absorb: [firm]}\n"
        "tables:\n"
        "  t: {kind: regression, columns: [a], fitstat: [n, r2], vcov: twoway}\n"
    )
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:9:39: tables.t.fitstat: unknown key 'fitstat' (statistic rows are stats: "
        "[nobs, r2, r2_within_hdfe, …] (etable's fitstat))\n"
        "error: s.yaml:9:57: tables.t.vcov: unknown key 'vcov' (standard errors are each model's "
        "se: (a table prints what its models used))\n"
    )


def test_r_conditions_say_the_expression_language(tmp_path, capsys):
    text = HEAD + (
        "models:\n"
        '  a: {estimator: ols, y: y, x: [x], sample: "year > 1"}\n'
        "  b: {estimator: ols, y: y, x: [x], sample: {where: \"ind %in% c('m')\"}}\n"
        '  c: {estimator: ols, y: y, x: [x], sample: {where: "!is_null(x)"}}\n'
        '  d: {estimator: ols, y: y, x: [x], sample: {where: "not is.na(x)"}}\n'
        "  e: {estimator: ols, y: y, x: [x], sample: {where: \"ind in c('m')\"}}\n"
    )
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:7:45: models.a.sample: unknown sample 'year > 1' (a condition is written "
        'sample: {where: "year > 1"})\n'
        "error: s.yaml:8:58: models.b.sample.where: unexpected '%in%' at column 5 (write x in "
        "['a', 'b'] (a list))\n"
        "error: s.yaml:9:54: models.c.sample.where: unexpected '!' at column 1 (use 'not')\n"
        "error: s.yaml:10:60: models.d.sample.where: unexpected character '.' at column 7 (write "
        "is_null(x))\n"
        "error: s.yaml:11:61: models.e.sample.where: expected '[' after 'in', found 'c' at "
        "column 8 (a list is written ['a', 'b'])\n"
    )


def test_variants_and_multiverse_axes_get_the_same_answers(tmp_path, capsys):
    text = HEAD + (
        "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], absorb: [firm]}\n"
        "  h: {estimator: hausman, model: [a, a]}\n"
        "variants:\n"
        "  a:\n"
        "    hc: {vcov: hetero}\n"
        "multiverse:\n"
        "  rob: {base: a, focus: x, axes: {se: {cl: {}, hc: {vcov: hetero}}}}\n"
    )
    vcov = (
        "(standard errors are se: robust (fixest's vcov = 'hetero', HC1), se: {cluster: firm} "
        "(vcov = ~firm), se: {cluster: [firm, year]} ('twoway') or se: unadjusted ('iid'))"
    )
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:8:27: models.h.model: unknown key 'model' (did you mean 'models'?)\n"
        f"error: s.yaml:11:10: variants.a.hc.vcov: unknown key 'vcov' {vcov}\n"
        "error: s.yaml:13:53: multiverse.rob.axes.se.hc.vcov: unknown key 'vcov' (in "
        f"specification 'rob[se=hc]': se=hc) {vcov}\n"
    )


def test_plm_effect_values_and_random_method(tmp_path, capsys):
    text = HEAD + (
        "models:\n"
        "  a: {estimator: panel_fe, y: y, x: [x], effects: twoways}\n"
        "  b: {estimator: panel_fe, y: y, x: [x], effects: [individual]}\n"
        "  d: {estimator: panel_re, y: y, x: [x], random.method: swar}\n"
    )
    assert _validate(tmp_path, text, capsys) == (
        "error: s.yaml:7:51: models.a.effects: input should be a valid list, got 'twoways' "
        "(plm's effect = 'twoways' is effects: [entity, time])\n"
        "error: s.yaml:8:52: models.b.effects[0]: input should be 'entity' or 'time', got "
        "'individual' (plm's effect = 'individual' is effects: [entity])\n"
        "error: s.yaml:9:42: models.d.random.method: unknown key 'random.method' (plm's "
        "random.method = 'swar' is components: plm (Baltagi–Chang on unbalanced panels); "
        "components: stata, the default, is xtreg, re's)\n"
    )
