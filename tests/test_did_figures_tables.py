"""A DID paper's figures and table on the did package's mpdta (bundled as data/mpdta.csv): the
placebo histogram keeps its estimate in view, a coefplot of a did model's coefficient is
labelled as the table's row, validate finds a coefplot variable a did model lacks, and the DID
statistics are printed in Chinese under ``language: zh``. The numbers themselves are checked
against R did and pyfixest in tests/test_estimators_did_mpdta.py; these tests check the text
and the drawing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from specrun.cli import main
from specrun.figures.placebo import draw_placebo
from specrun.figures.specs.placebo import PlaceboFigureSpec
from specrun.tables.base import TableContext

DATA = Path(__file__).resolve().parents[1] / "data" / "mpdta.csv"


def _spec(tmp_path: Path, figures: str, language: str = "en") -> Path:
    spec = tmp_path / "did.yaml"
    spec.write_text(
        f"""\
spec_version: 1
data:
  sources:
    mpdta: {{path: {DATA.as_posix()}}}
  panel: {{source: mpdta, entity: countyreal, time: year}}
transforms:
  - derive: {{first_treat: "`first.treat`"}}
models:
  did: {{estimator: did, y: lemp, treat: treat, first_treated: first_treat,
        placebo: {{draws: 20, permute: units, seed: 1}}}}
  event: {{estimator: event_study, y: lemp, first_treated: first_treat, window: [-4, 3]}}
tables:
  main: {{kind: regression, columns: [did, event], show: ci,
          stats: [nobs, n_treated, placebo_p, pretrend_p]}}
figures:
{figures}outputs: {{dir: out, formats: [markdown], language: {language}}}
""",
        encoding="utf-8",
    )
    return spec


@pytest.mark.parametrize("side", [-1, 1])
def test_a_placebo_estimate_in_a_tail_is_drawn_inside_the_frame(side: int) -> None:
    # mpdta's TWFE DID (−0.037) lies left of all 200 placebo draws: its line sat on the frame's
    # left edge, hidden by it, and the legend covered the tallest bars
    draws = np.random.default_rng(0).normal(0.0, 0.01, 200)
    estimate = side * (np.abs(draws).max() + 0.001)
    placebo = {"estimates": draws.tolist(), "estimate": estimate, "p_value": 1 / 201}
    placebo["permute"] = "units"
    ctx = TableContext(name="placebo", labels={}, groups={}, language="en")
    figure = draw_placebo(PlaceboFigureSpec(kind="placebo", model="did"), placebo, ctx)
    axes = figure.axes[0]
    low, high = axes.get_xlim()
    span = high - low
    assert low + 0.02 * span < estimate < high - 0.02 * span
    tallest = max(p.get_height() for p in axes.patches)
    assert axes.get_ylim()[1] >= 1.2 * tallest
    assert all(float(t).is_integer() for t in axes.get_yticks())
    legend = axes.get_legend()
    assert legend._loc == (1 if side < 0 else 2)  # upper right, away from a left estimate


def test_a_coefplot_of_did_is_labelled_as_the_tables_row(tmp_path: Path) -> None:
    # its axis read "did (95% CI)" while the table's row reads "DID"
    from specrun.api import run_file

    spec = _spec(tmp_path, "  coef: {kind: coefplot, models: [did], variable: did}\n")
    figure = run_file(spec, cache=False).output.figures["coef"]
    assert figure.draw().axes[0].get_ylabel() == "DID (95% CI)"


def test_validate_finds_a_coefplot_variable_a_did_model_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # validate said "valid" and run failed at the figure
    spec = _spec(tmp_path, "  coef: {kind: coefplot, models: [did], variable: dd}\n")
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {spec}:16:51: figures.coef.variable: model 'did' has no coefficient 'dd' "
        "(did you mean 'did'?)"
    )
    fine = _spec(tmp_path, "  coef: {kind: coefplot, models: [did], variable: did}\n")
    assert main(["validate", str(fine)]) == 0


def test_a_bacon_table_of_an_unbalanced_panel_names_the_units_and_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # it said only "it needs a staggered did model without controls on a balanced panel"
    spec = _spec(tmp_path, "")
    text = spec.read_text(encoding="utf-8").replace(
        "tables:\n",
        'samples:\n  cut: {where: "not (countyreal == 8001 and year == 2003)"}\n'
        "tables:\n  bacon: {kind: bacon, model: cut_did}\n",
    )
    text = text.replace(
        "models:\n", "models:\n  cut_did: {extends: did, sample: cut, placebo: null}\n"
    )
    spec.write_text(text.replace("figures:\n", ""), encoding="utf-8")
    assert main(["run", str(spec), "--no-cache"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "tables.bacon.model: model 'cut_did' has no Goodman-Bacon decomposition (it needs a "
        "balanced panel; 1 unit misses periods (or their outcome): 8001 (2003)) (leave them out "
        "with a sample: samples: {balanced: {exclude: {countyreal: [8001]}}} and sample: "
        "balanced on the model)"
    )


def test_did_statistics_are_printed_in_chinese(tmp_path: Path) -> None:
    # under language: zh the rows read "Treated observations", "Placebo (permutation)
    # p-value" and "Pre-trend test p-value"
    spec = _spec(tmp_path, "  es: {kind: event_study, model: event}\n", "zh")
    assert main(["run", str(spec)]) == 0
    text = (tmp_path / "out" / "tables" / "main.md").read_text(encoding="utf-8")
    for row in ("处理组观测值", "安慰剂检验（置换）p值", "平行趋势检验p值"):
        assert f"| {row} |" in text
    assert "p-value" not in text and "Treated" not in text


def test_the_bacon_table_is_printed_in_chinese(tmp_path: Path) -> None:
    # under language: zh its header, rows and note were English
    spec = _spec(tmp_path, "", "zh")
    text = spec.read_text(encoding="utf-8").replace(
        "tables:\n", "tables:\n  bacon: {kind: bacon, model: did, detail: true}\n"
    )
    spec.write_text(text.replace("figures:\n", ""), encoding="utf-8")
    assert main(["run", str(spec)]) == 0
    table = (tmp_path / "out" / "tables" / "bacon.md").read_text(encoding="utf-8")
    assert "|  | 权重 | 估计值 |" in table
    for row in ("处理组 vs 从未处理组", "早处理组 vs 晚处理组", "晚处理组 vs 早处理组"):
        assert f"| {row} |" in table
    assert "| 处理组 vs 从未处理组：2004 vs 从未处理 |" in table
    assert "| 双向固定效应DID（Σ 权重 × 估计值） |" in table
    assert "Goodman-Bacon（2021）分解：" in table
    assert not re.search(r"[A-Za-z]{3,}", table.replace("Goodman-Bacon", "").replace("DID", ""))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["Figure 1: Coefficient estimates", "Figure 2: My event study"]),
        ("zh", ["图1 系数估计", "图2 My event study", "图3 安慰剂检验"]),
    ],
)
def test_word_captions_a_figure_without_a_title_by_its_kind(
    tmp_path: Path, language: str, expected: list[str]
) -> None:
    # a figure without title: was captioned with its key ("Figure 3: placebo", "图1 coef")
    import docx

    figures = (
        "  coef: {kind: coefplot, models: [did], variable: did}\n"
        "  es: {kind: event_study, model: event, title: My event study}\n"
        "  placebo: {kind: placebo, model: did}\n"
    )
    spec = _spec(tmp_path, figures, language)
    text = spec.read_text(encoding="utf-8").replace(
        "formats: [markdown]", "formats: [docx], docx: {figures: true}"
    )
    spec.write_text(text, encoding="utf-8")
    assert main(["run", str(spec)]) == 0
    document = docx.Document(str(tmp_path / "out" / "tables.docx"))
    captions = [p.text for p in document.paragraphs if p.text.startswith(("Figure", "图"))]
    assert captions[: len(expected)] == expected
    assert len(captions) == 3
    if language == "en":
        assert captions[2] == "Figure 3: Placebo test"
