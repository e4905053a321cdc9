"""Axis titles that fit their figure: a long variable label (数字经济发展水平综合指数（熵值法测算）)
ran off the top and bottom of a margins figure and a coefplot, one line longer than the axis."""

from __future__ import annotations

from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project
from specrun.api import run_file
from specrun.figures.base import axis_title

LONG_ZH = "数字经济发展水平综合指数（熵值法测算）"
LONG_EN = "Digital economy development index built by the entropy weight method"


@pytest.mark.parametrize(
    ("label", "interval", "expected"),
    [
        # short titles stay on one line, as they always were
        ("互联网普及率的边际效应", "（95%置信区间）", "互联网普及率的边际效应（95%置信区间）"),
        ("Effect of Digital trade ", "(95% CI)", "Effect of Digital trade (95% CI)"),
        # Chinese breaks after a closing bracket or before 的; English at spaces (a 4-inch
        # figure leaves 3.5 inches, 25.2 ems of 10 pt, to its vertical axis title)
        (f"{LONG_ZH}的边际效应", "（95%置信区间）", f"{LONG_ZH}的边际效应\n（95%置信区间）"),
        (
            f"{LONG_ZH}的平均边际效应",
            "（95%置信区间）",
            f"{LONG_ZH}\n的平均边际效应\n（95%置信区间）",
        ),
        (
            f"Effect of {LONG_EN} ",
            "(95% CI)",
            "Effect of Digital economy development\nindex built by the entropy weight method\n"
            "(95% CI)",
        ),
        # a word longer than a line is cut where it must be
        ("数" * 30, "（95%置信区间）", "数" * 25 + "\n" + "数" * 5 + "\n（95%置信区间）"),
    ],
)
def test_axis_title_breaks_only_what_does_not_fit(label: str, interval: str, expected: str):
    assert axis_title(label, interval, 4.0) == expected


SPEC = (
    GRUNFELD_HEAD
    + """\
variables:
  value: {label: {en: LONG_EN, zh: LONG_ZH}}
models:
  m: {estimator: panel_fe, y: inv, x: ["c.value##c.capital"], effects: [entity, time]}
figures:
  slope: {kind: margins, model: m, dydx: value, over: capital}
  coef: {kind: coefplot, models: [m], variable: value}
outputs: {formats: [markdown], language: LANGUAGE}
"""
)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_long_label_stays_inside_the_figure(tmp_path: Path, language: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from specrun.figures.fonts import cjk_fallback

    text = SPEC.replace("LONG_EN", LONG_EN).replace("LONG_ZH", LONG_ZH)
    text = text.replace("LANGUAGE", language)
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out", cache=False)
    for name in ("slope", "coef"):
        figure = run.output.figures[name].draw()
        canvas = FigureCanvasAgg(figure)
        with cjk_fallback():  # drawn as saved: the axis places its title when drawn
            canvas.draw()
        renderer = canvas.get_renderer()
        title = figure.axes[0].yaxis.label
        assert "\n" in title.get_text()
        box = title.get_window_extent(renderer)
        # the title's box lies inside the figure's, which it overran by about a line
        assert box.y0 >= 0 and box.y1 <= figure.bbox.height, (name, box, figure.bbox)
        assert box.x0 >= 0


@pytest.mark.parametrize(
    ("level", "language", "band", "expected"),
    [
        (0.95, "zh", False, "（95%置信区间）"),
        (0.95, "en", False, "(95% CI)"),
        (0.9, "en", False, "(90% CI)"),
        (0.95, "zh", True, "（95%同时置信带）"),
        (0.95, "en", True, "(95% simultaneous band)"),
        # a level between whole percents keeps its digits: rounded, 0.999 read "100% CI"
        (0.975, "zh", False, "（97.5%置信区间）"),
        (0.999, "en", False, "(99.9% CI)"),
        (0.995, "en", True, "(99.5% simultaneous band)"),
    ],
)
def test_an_interval_is_named_with_its_level_as_given(
    level: float, language: str, band: bool, expected: str
):
    from specrun.figures.base import interval_text

    assert interval_text(level, language, band=band) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", {"slope": "Effect of value (97.5% CI)", "coef": "value (99.9% CI)"}),
        ("zh", {"slope": "value的边际效应（97.5%置信区间）", "coef": "value（99.9%置信区间）"}),
    ],
)
def test_a_figure_names_a_level_between_whole_percents_as_given(
    tmp_path: Path, language: str, expected: dict[str, str]
):
    # a 99.9% coefplot's axis read "value (100% CI)", a 97.5% margins band "(98% CI)"
    text = SPEC.replace("LONG_EN", "value").replace("LONG_ZH", "value")
    text = text.replace("LANGUAGE", language)
    text = text.replace("over: capital}", "over: capital, level: 0.975}")
    text = text.replace("variable: value}", "variable: value, level: 0.999}")
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out", cache=False)
    titles = {n: run.output.figures[n].draw().axes[0].yaxis.label.get_text() for n in expected}
    assert titles == expected


LONG_TITLE_EN = "Effect of digital trade by industrial structure upgrading (synthetic data)"
LONG_TITLE_ZH = "数字贸易对出口技术复杂度的影响随产业结构升级水平变化的边际效应（合成数据）"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Effect of digital trade by region", 6.0, "Effect of digital trade by region"),
        # 6 inches leave 5, 30 ems of 12 pt: the paper's margins title ran off at "(synthetic dat"
        (
            LONG_TITLE_EN,
            6.0,
            "Effect of digital trade by industrial structure\nupgrading (synthetic data)",
        ),
        (LONG_TITLE_EN, 10.0, LONG_TITLE_EN),
        (
            LONG_TITLE_ZH,
            6.0,
            "数字贸易对出口技术复杂度的影响随产业结构升级水平变化\n的边际效应（合成数据）",
        ),
    ],
)
def test_a_title_breaks_only_what_does_not_fit(text: str, width: float, expected: str):
    from specrun.figures.base import figure_title

    assert figure_title(text, width) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        # runs of spaces: no empty line, no line starting with spaces
        ("aaaaaaaa       bbbbbbbb", 1.0, "aaaaaaaa\nbbbbbbbb"),
        (
            "Effect of digital     trade on     export sophistication of provinces",
            3.0,
            "Effect of digital\ntrade on export\nsophistication of\nprovinces",
        ),
        # the title's own line break is kept, and each of its lines measured alone
        (
            "A title\nwith its own newline that is long enough to break somewhere",
            3.0,
            "A title\nwith its own newline\nthat is long enough\nto break somewhere",
        ),
        ("A short title\nin two lines", 1.0, "A short\ntitle\nin two\nlines"),
        # a dollar sign is a character like any other (text is drawn as written, not as math)
        (
            "Effect of $\\alpha + \\beta$ on investment across all the firms",
            3.0,
            "Effect of $\\alpha +\n\\beta$ on investment\nacross all the firms",
        ),
        # a word longer than a line, and Chinese only, at a 1-inch figure (6 ems)
        ("Supercalifragilistic", 1.0, "Supercalif\nragilistic"),
        ("数字经济发展水平对出口的影响", 1.0, "数字经济发展\n水平对出口\n的影响"),
    ],
)
def test_a_title_breaks_into_lines_that_are_never_empty(text: str, width: float, expected: str):
    from specrun.figures.base import figure_title

    assert figure_title(text, width) == expected


TITLED = (
    GRUNFELD_HEAD
    + """\
variables:
  value: {label: {en: LONG_EN, zh: LONG_ZH}}
  capital: {label: {en: LONG_EN, zh: LONG_ZH}}
models:
  m: {estimator: panel_fe, y: inv, x: ["c.value##c.capital"], effects: [entity, time]}
  thr: {estimator: panel_threshold, y: inv, regime_x: [value], q: capital, max_thresholds: 1,
        grid: 20, bootstrap: 9, seed: 1}
figures:
  slope: {kind: margins, model: m, dydx: value, over: capital, title: TITLE}
  coef: {kind: coefplot, models: [m], variable: value, title: TITLE}
  lr: {kind: threshold_lr, model: thr, title: TITLE}
outputs: {formats: [markdown], language: LANGUAGE}
"""
)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_long_title_and_horizontal_axis_title_stay_inside_the_figure(
    tmp_path: Path, language: str
):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from specrun.figures.fonts import cjk_fallback

    title = LONG_TITLE_ZH if language == "zh" else LONG_TITLE_EN
    text = TITLED.replace("LONG_EN", LONG_EN).replace("LONG_ZH", LONG_ZH)
    text = text.replace("LANGUAGE", language).replace("TITLE", f'"{title}"')
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out", cache=False)
    for name in ("slope", "coef", "lr"):
        figure = run.output.figures[name].draw()
        canvas = FigureCanvasAgg(figure)
        with cjk_fallback():
            canvas.draw()
        renderer = canvas.get_renderer()
        if name == "lr":  # a panel's title: a full-width colon after Chinese
            panel = figure.axes[0].title.get_text()
            assert panel.startswith(
                "单一门槛：γ̂ = " if language == "zh" else "Single threshold: γ̂ = "
            )
        texts = [figure._suptitle] if name == "lr" else [figure.axes[0].title]
        if name in ("slope", "lr"):  # the moderator's or the threshold variable's long label
            texts.append(figure.axes[-1].xaxis.label)
        for shown in texts:
            assert shown is not None
            # every title is too long for one line; of the horizontal axis titles, the
            # English ones (the Chinese label is 19 ems of 10 pt, 2.6 inches)
            broken = shown is not texts[-1] or len(texts) == 1 or language == "en"
            assert ("\n" in shown.get_text()) == broken, (name, shown)
            box = shown.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= figure.bbox.width, (name, shown.get_text(), box)
            assert box.y0 >= 0 and box.y1 <= figure.bbox.height, (name, shown.get_text(), box)


CURVE = (
    GRUNFELD_HEAD
    + """\
models:
  m: {estimator: panel_fe, y: inv, x: [value, capital]}
multiverse:
  mv:
    base: m
    focus: value
    axes:
      se: {one: {}, hc1: {se: robust}}
figures:
  curve: {kind: specification_curve, multiverse: mv, width: WIDTH}
outputs: {formats: [markdown], language: LANGUAGE}
"""
)


@pytest.mark.parametrize(
    ("language", "width", "expected"),
    [
        ("en", 8.0, "Specification (sorted by estimate)"),
        ("en", 3.5, "Specification (sorted by\nestimate)"),
        ("zh", 3.5, "规格（按估计值排序）"),
        ("zh", 1.0, "规格（按估计值\n排序）"),
    ],
)
def test_a_specification_curve_breaks_its_horizontal_axis_title_to_fit(
    tmp_path: Path, language: str, width: float, expected: str
):
    # the specification curve's axis title was set as it was: on a narrow figure it ran off
    text = CURVE.replace("WIDTH", str(width)).replace("LANGUAGE", language)
    run = run_file(grunfeld_project(tmp_path, text), tmp_path / "out", cache=False)
    figure = run.output.figures["curve"].draw()
    assert figure.axes[1].xaxis.label.get_text() == expected
