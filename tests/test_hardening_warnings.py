"""Run warnings a reader needs (issue: hardening, second round): too few clusters, from every
estimator that clusters, a standard error that prints as 0.000, and an outcome the
regressors fit exactly.

Each test asserts the whole warning as the CLI prints it.
"""

from __future__ import annotations

import json

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.cli import main
from specrun.estimators.covariance import FEW_CLUSTERS, few_clusters

FEW = (
    "only 9 clusters: clustered standard errors are unreliable with fewer than about 10 "
    "(Cameron and Miller 2015)"
)

# what a linear model with one cluster dimension offers instead (Stata's boottest)
WILD = (
    "the wild cluster bootstrap gives reliable p-values: add 'bootstrap: {seed: 1}' to the "
    "model's se:"
)

# Grunfeld without firm 10: nine firms, so nine clusters wherever a model clusters by entity
NINE = """\
samples:
  nine: {exclude: {firm: [10]}}
transforms:
  - derive: {first: "if_else(firm <= 4, 1945, 0)"}
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], sample: nine, se: {cluster: entity}}
  th: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital, controls: [capital],
       sample: nine, se: cluster, bootstrap: 0}
  iv: {estimator: iv, y: inv, x: [capital], endog: [value], instruments: [L.value],
       sample: nine, se: {cluster: entity}}
  re: {estimator: panel_re, y: inv, x: [value, capital], sample: nine, se: {cluster: entity}}
  gmm: {estimator: system_gmm, y: inv, x: [value], gmm: {inv: [2, 2]}, collapse: true,
        time_effects: false, sample: nine}
  med: {estimator: mediation, y: inv, x: [value], mediator: capital, sample: nine,
        se: {cluster: entity}, bootstrap: 0}
  cs: {estimator: event_study, y: inv, first_treated: first, method: callaway_santanna,
       window: [-2, 2], sample: nine}
  fe_all: {estimator: panel_fe, y: inv, x: [value, capital], se: {cluster: entity}}
  th_plain: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital,
             sample: nine, bootstrap: 0}
outputs: {formats: [markdown]}
"""


def test_every_estimator_that_clusters_warns_of_few_clusters(tmp_path, capsys):
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + NINE)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().err.splitlines()
    few = [line for line in lines if "clusters:" in line]
    # the same words from the same function; ten firms (fe_all) and conventional standard
    # errors (th_plain) do not warn; a mediation model's three regressions each do
    # linear fits (fe, mediation's three regressions) name the wild cluster bootstrap they offer
    wild = {"fe", "med.total", "med.mediator", "med.outcome"}
    assert few == [
        f"warning: model '{name}': {FEW}" + (f"; {WILD}" if name in wild else "")
        for name in (
            "fe",
            "th",
            "iv",
            "re",
            "gmm",
            "med.total",
            "med.mediator",
            "med.outcome",
            "cs",
        )
    ]
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["models"]["th"]["stats"]["n_clusters"] == 9
    assert FEW in results["models"]["th"]["extra"]["warnings"]
    assert "n_clusters" not in results["models"]["th_plain"]["stats"]


@pytest.mark.parametrize(
    ("n", "warned"), [(2, True), (FEW_CLUSTERS - 1, True), (FEW_CLUSTERS, False)]
)
def test_few_clusters_bound(n, warned):
    assert bool(few_clusters({"n_clusters": float(n)})) is warned
    assert few_clusters({}) == []


# value × 100: its coefficient prints as 0.001 and its standard errors as (0.000)
ZERO_SE = """\
transforms:
  - derive: {value_c: value * 100}
models:
  ols: {estimator: ols, y: inv, x: [value_c, capital]}
  fe: {estimator: panel_fe, y: inv, x: [value_c, capital], se: {cluster: entity}}
  small: {estimator: ols, y: inv, x: [value]}
tables:
  t: {kind: regression, columns: [ols, fe]}
  one: {kind: regression, columns: [fe, small]}
  wide: {kind: regression, columns: [ols, fe], row_digits: {value_c: 5}}
  tstat: {kind: regression, columns: [ols, fe], show: t}
outputs: {formats: [markdown]}
"""


def test_a_standard_error_printing_as_zero_is_a_warning(tmp_path, capsys):
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + ZERO_SE)
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "standard error" in line]
    # the OLS SE is 1.2e-5 (5 decimals show it), the clustered FE one 1.9e-4 (4 decimals);
    # the wide table prints 5 decimals, and t statistics in brackets are not standard errors
    assert lines == [
        "warning: table 't': the standard error of 'value_c' in models 'ols', 'fe' prints as "
        "0.000 at 3 decimals; print more digits (row_digits: {value_c: 5}) or rescale the "
        "variable",
        "warning: table 'one': the standard error of 'value_c' in model 'fe' prints as 0.000 "
        "at 3 decimals; print more digits (row_digits: {value_c: 4}) or rescale the variable",
    ]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert lines[1].removeprefix("warning: ") in manifest["warnings"]
    table = (tmp_path / "out" / "tables" / "t.md").read_text(encoding="utf-8")
    assert "| value\\_c | 0.001*** | 0.001*** |" in table
    assert "|  | (0.000) | (0.000) |" in table


@pytest.mark.parametrize(
    ("se", "tail"),
    [
        # asked for: where its results are, since the table still prints the analytic ones
        (
            "{cluster: entity, bootstrap: {seed: 1, draws: 99}}",
            "; the table's stars use them; the wild cluster bootstrap's p-values and intervals "
            "are in results.json (extra.wild_bootstrap)",
        ),
        # two dimensions: the wild cluster bootstrap resamples one, so it is not suggested
        ("{cluster: [entity, time]}", ""),
    ],
)
def test_few_clusters_names_the_wild_bootstrap_only_where_it_applies(tmp_path, capsys, se, tail):
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "samples:\n  nine: {exclude: {firm: [10]}}\n"
        + f"models:\n  fe: {{estimator: panel_fe, y: inv, x: [value], sample: nine, se: {se}}}\n"
        + "outputs: {formats: [markdown]}\n",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    few = [line for line in capsys.readouterr().err.splitlines() if "clusters:" in line]
    assert few == [f"warning: model 'fe': {FEW}{tail}"]


ONLY_FIGURE = """\
models:
  fe: {estimator: panel_fe, y: inv, x: [value, capital], se: {cluster: entity}}
tables:
  t: {kind: regression, columns: [fe]}
figures:
  c: {kind: coefplot, models: [fe], variable: value, title: TITLE}
outputs: {formats: [docx], docx: {figures: true}}
"""


def test_only_a_figure_says_the_kept_word_document_embeds_it_as_it_was(tmp_path, capsys):
    """``--only FIGURE`` keeps the previous tables.docx (it renders no table), whose embedded
    PNG is then older than figures/c.png: said, unless the figure drew the same bytes."""
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + ONLY_FIGURE.replace("TITLE", "Old"))
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out), "--no-cache", "--only", "c"]) == 0
    assert "tables.docx" not in capsys.readouterr().err  # the same figure: nothing to say
    spec.write_text(GRUNFELD_HEAD + ONLY_FIGURE.replace("TITLE", "New"), encoding="utf-8")
    assert main(["run", str(spec), "--out", str(out), "--no-cache", "--only", "c"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "warning: --only: tables.docx is kept from the previous run and does not embed c as "
        "drawn now; run without --only to embed the new figure"
    ]
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0
    assert "tables.docx" not in capsys.readouterr().err  # rewritten with the new figure


def test_a_mediation_model_clusters_on_a_column_of_the_data(tmp_path, capsys):
    """se: {cluster: size} on a mediation model, size not a panel index: its three
    regressions read the column (qj: the fit's frame lacked it, an internal error, exit 3)."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + 'transforms:\n  - derive: {size: "capital > 200"}\n'
        + "models:\n  med: {estimator: mediation, y: inv, x: [value], mediator: capital,\n"
        + "        bootstrap: 0, se: {cluster: size}}\n",
    )
    code = main(["run", str(spec), "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().err.strip().splitlines()
    few = FEW.replace("only 9 clusters", "only 2 clusters")
    assert (code, lines) == (
        0,
        [
            f"warning: model 'med.{part}': {few}; {WILD}"
            for part in ("total", "mediator", "outcome")
        ],
    )


def test_only_a_figure_with_the_cache_reads_the_kept_word_document_each_time(tmp_path, capsys):
    """The warning depends on the kept tables.docx, which the run does not write: a cached
    re-run replayed it after a full run had embedded the new figure (a false alarm), and said
    "embeds c as drawn then" of a document that is not a Word file at all."""
    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + ONLY_FIGURE.replace("TITLE", "Old"))
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    spec.write_text(GRUNFELD_HEAD + ONLY_FIGURE.replace("TITLE", "New"), encoding="utf-8")
    stale = (
        "warning: --only: tables.docx is kept from the previous run and does not embed c as "
        "drawn now; run without --only to embed the new figure"
    )
    capsys.readouterr()
    for _ in range(2):  # the second from the record of the first
        assert main(["run", str(spec), "--out", str(out), "--only", "c"]) == 0
        assert capsys.readouterr().err.splitlines() == [stale]
    assert main(["run", str(spec), "--out", str(out)]) == 0  # embeds the new figure
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out), "--only", "c"]) == 0
    assert "tables.docx" not in capsys.readouterr().err
    (out / "tables.docx").write_bytes(b"not a zip file")
    for _ in range(2):
        assert main(["run", str(spec), "--out", str(out), "--only", "c"]) == 0
        assert capsys.readouterr().err.splitlines() == [
            "warning: --only: tables.docx is kept from the previous run but is not a readable "
            "Word document; run without --only to write it anew"
        ]


def test_an_exact_fit_is_said_of_the_model_not_cured_with_digits(tmp_path, capsys):
    """y = 3·value + 1 exactly: the standard errors are rounding noise (about 1e-16). Before,
    the table's warning advised printing 16 digits of that noise; now the model's warning says
    why they are meaningless, and the table adds none."""
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n  - derive: {built: 3 * value + 1}\n"
        "models:\n  m: {estimator: ols, y: built, x: [value]}\n"
        "  fe: {estimator: panel_fe, y: built, x: [value], absorb: [entity]}\n"
        "  honest: {estimator: ols, y: inv, x: [value]}\n"
        "tables:\n  t: {kind: regression, columns: [m, fe, honest]}\n",
    )
    code = main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 0
    assert err == "".join(
        f"warning: model '{name}': the regressors fit 'built' exactly (R² = 1 up to "
        "rounding): it is an exact linear function of them (built from a regressor?), so its "
        "residuals, standard errors, t and p-values are rounding noise\n"
        for name in ("m", "fe")
    )
    models = json.loads((tmp_path / "out" / "results.json").read_text())["models"]
    assert models["m"]["coefficients"]["value"]["estimate"] == pytest.approx(3.0, rel=1e-12)
    assert "warnings" not in models["honest"]["extra"]
