"""Work in a forked child (the PDF figures of a run): its result, the fallbacks, no leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from specrun.render.forked import Forked, usable_cpus

forks = pytest.mark.skipif(
    sys.platform != "linux" or usable_cpus() < 2, reason="forks on Linux with two CPUs"
)


def _reaped(pid: int | None) -> bool:
    assert pid is not None  # a child was started
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@forks
def test_the_result_comes_from_the_child():
    parent = os.getpid()
    job = Forked(lambda: (os.getpid(), b"x" * 1_000_000))  # larger than a pipe's buffer
    child = job.pid
    pid, data = job.result()
    assert pid == child and pid != parent and data == b"x" * 1_000_000
    assert _reaped(child) and job.pid is None


@forks
def test_a_failing_child_is_redone_here_and_an_error_surfaces_here():
    parent = os.getpid()

    def fails_in_child() -> int:
        if os.getpid() != parent:
            raise RuntimeError("child")
        return 42

    job = Forked(fails_in_child)
    child = job.pid
    assert job.result() == 42 and _reaped(child)

    def fails() -> int:
        raise ValueError("bad figure")

    job = Forked(fails)
    child = job.pid
    with pytest.raises(ValueError, match="bad figure"):
        job.result()
    assert _reaped(child)


@forks
def test_cancel_stops_and_reaps_a_child_that_would_block_writing():
    job = Forked(lambda: b"y" * 5_000_000)
    child = job.pid
    job.cancel()
    job.cancel()  # a second call does nothing
    assert _reaped(child)


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie left to an init that does not reap has ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@forks
def test_a_child_ends_with_its_parent_killed_by_sigkill():
    # kill -9 of a run mid-render left the child drawing on, orphaned, for its whole work
    script = (
        "import os, signal, time\n"
        "from specrun.render.forked import Forked\n"
        "job = Forked(lambda: time.sleep(60) or b'')\n"
        "print(job.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -9, done.stderr
    child = int(done.stdout)
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_without_a_child_the_work_runs_here_at_once():
    # at once, not when asked: the work sees its objects as a child forked then would
    calls = []
    job = Forked(lambda: calls.append(os.getpid()) or len(calls), start=False)
    assert calls == [os.getpid()] and job.pid is None
    assert job.result() == 1 and calls == [os.getpid()]


# Word tables and a coefplot (tight layout, drawn once per format) of two Grunfeld models
WORD_AND_FIGURE = """\
models:
  pooled: {estimator: ols, y: inv, x: [value, capital]}
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
tables:
  main: {kind: regression, columns: [pooled, fe]}
figures:
  value: {kind: coefplot, models: [pooled, fe], variable: value}
outputs:
  formats: [docx, markdown]
"""


# and a second coefplot, which the child draws (``share_rendering``: the Word files are about
# as much work as this process's Markdown and first figure)
TWO_FIGURES = WORD_AND_FIGURE.replace(
    "outputs:", "  capital: {kind: coefplot, models: [pooled, fe], variable: capital}\noutputs:"
)


@forks
@pytest.mark.parametrize("embedded", [False, True])
def test_a_run_renders_the_same_files_with_and_without_the_child(tmp_path, monkeypatch, embedded):
    # two coefplots (tight layout, drawn once per format) and Word tables: the child's figure
    # and Word files are byte-identical to this process's, in the same order; tables.docx is
    # rendered here, last, when it embeds the PNGs drawn by both processes. The child draws
    # the first figure (share_rendering's costs: Markdown here, 0.005 s, and Word there,
    # 0.18 s, so one figure each, 0.25 s and 0.1 s for a process's first, and the first
    # subset found is the child's first figure); with tables.docx here too (0.17 s against
    # 0.165 s) the same
    theirs, mine = "value", "capital"
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun import outputs
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.render import forked

    path = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + TWO_FIGURES + ("  docx: {figures: true}\n" if embedded else ""),
    )
    spec, plan = plan_file(path)
    run = execute(spec, plan)
    started = []
    real = forked.Forked.__init__

    def record(self, work, *, start=True):
        real(self, work, start=start)
        started.append(self.pid)

    real_table_files = outputs._table_files
    real_figure_files = outputs._figure_files
    made_by_child = tmp_path / "made by the child"  # the child's memory is not this one's
    made_here: list[str] = []

    def note(files):
        if os.getpid() != parent:
            with made_by_child.open("a") as handle:
                handle.write("".join(f"{relative}\n" for relative in files))
        else:
            made_here.extend(files)

    def table_files(spec, run, tables, pngs, elsewhere, formats=None):
        files = real_table_files(spec, run, tables, pngs, elsewhere, formats)
        note([f.relative for f in files if f.relative not in elsewhere])
        return files

    def figure_files(spec, run, names):
        files = real_figure_files(spec, run, names)
        note(list(files))
        return files

    parent = os.getpid()
    monkeypatch.setattr(forked.Forked, "__init__", record)
    monkeypatch.setattr(outputs, "_table_files", table_files)
    monkeypatch.setattr(outputs, "_figure_files", figure_files)
    files = outputs.render_outputs(spec, plan, run)
    assert started and started[0] is not None  # the child did render
    word = ["tables/main.docx"] + ([] if embedded else ["tables.docx"])
    drawn = [f"figures/{theirs}.png", f"figures/{theirs}.pdf"]
    assert made_by_child.read_text().split() == drawn + word
    last = ["tables.docx"] if embedded else []
    here = [f"figures/{mine}.png", f"figures/{mine}.pdf", "tables/main.md", "tables.md", *last]
    assert made_here == here
    monkeypatch.setattr(forked, "usable_cpus", lambda: 1)
    serial = outputs.render_outputs(spec, plan, run)
    assert started[1] is None
    names = [f.relative for f in files]
    assert "figures/value.pdf" in names and "tables/main.docx" in names
    assert names == [f.relative for f in serial]
    for forked_file, serial_file in zip(files, serial, strict=True):
        if forked_file.relative != "manifest.json":  # its timings differ
            assert forked_file.content == serial_file.content, forked_file.relative


def test_rendering_is_shared_by_cost_so_that_both_processes_end_together():
    # the paper's outputs (12 tables in five formats, four figures) shared so that the later
    # process ends soonest (specrun.outputs' constants and FigureKind.seconds, 0.1 s more
    # for a process's first figure): this process's four formats take 0.28 s, the child's
    # Word files 0.51 s; the coefplot (0.25 s) and the curve (0.65) there end at 1.51 s, the
    # LR curves (0.7) and the margins (0.3) here at 1.38 (the LR curves alone there: 1.58
    # here; the margins and the curve there: 1.56)
    from types import SimpleNamespace

    from specrun.figures.base import FigureData
    from specrun.figures.specs.coefplot import CoefplotSpec
    from specrun.figures.specs.curve import SpecificationCurveSpec
    from specrun.figures.specs.margins import MarginsFigureSpec
    from specrun.figures.specs.threshold import ThresholdLrSpec
    from specrun.outputs import share_rendering
    from specrun.tables.base import TableContext

    ctx = TableContext("f", {}, {})
    figures = {
        name: FigureData(name, spec, None, ctx)
        for name, spec in [
            ("regional_effects", CoefplotSpec(kind="coefplot", models=["m"], variable="x")),
            ("threshold_lr", ThresholdLrSpec(kind="threshold_lr", model="t")),
            ("margins", MarginsFigureSpec(kind="margins", model="m", dydx="x", over="z")),
            ("curve", SpecificationCurveSpec(kind="specification_curve", multiverse="u")),
        ]
    }
    tables = {f"table{i}": SimpleNamespace(name=f"table{i}") for i in range(1, 13)}
    run = SimpleNamespace(tables=tables, figures=figures)

    def spec(embedded: bool) -> SimpleNamespace:
        formats = ["latex", "markdown", "html", "docx", "xlsx"]
        docx = SimpleNamespace(figures=embedded)
        return SimpleNamespace(outputs=SimpleNamespace(formats=formats, docx=docx))

    share = share_rendering(spec(False), run)
    assert share.child_figures == ("regional_effects", "curve")
    word = {f"tables/table{i}.docx" for i in range(1, 13)}
    drawn = {f"figures/{n}.{fmt}" for n in share.child_figures for fmt in ("png", "pdf")}
    assert share.child == {*word, "tables.docx", *drawn}
    assert share.last == set()
    assert share_rendering(spec(False), run) == share  # a function of its inputs only
    # tables.docx embedding the PNGs is rendered here, last (0.61 s here, 0.33 s there):
    # the LR curves and the margins there end at 1.43 s, the rest here at 1.61
    embedded = share_rendering(spec(True), run)
    assert embedded.child_figures == ("threshold_lr", "margins")
    assert embedded.last == {"tables.docx"}
    assert "tables.docx" not in embedded.child


def _constrained_figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), layout="constrained")
    top, bottom = figure.subplots(2, 1)
    top.plot([1, 2, 3], [3, 1, 2])
    top.set_ylabel("a long label\n(95% CI)")
    top.legend(["x"], loc="upper left", bbox_to_anchor=(1.01, 1.0))
    bottom.set_yticks([0, 1, 2], ["sample: no_municipalities", "controls: all", "se: cluster"])
    return figure


def test_a_fixed_layout_draws_alike_in_any_order_and_keeps_the_png():
    # constrained layout runs again at every save, from where the previous save left it: a
    # PDF saved after the PNG differed from one saved first; fixed once, the order is moot
    from specrun.outputs import _figure_bytes, _fix_layout

    unfixed = _constrained_figure()
    png_first = _figure_bytes(unfixed, "png")
    fixed = _constrained_figure()
    _fix_layout(fixed)
    assert fixed.get_layout_engine() is None  # lays out nothing, and no draw before saving
    pdf = _figure_bytes(fixed, "pdf")
    png = _figure_bytes(fixed, "png")
    assert png == png_first  # laid out as the PNG's own save lays it out
    assert _figure_bytes(fixed, "pdf") == pdf and _figure_bytes(fixed, "png") == png


def _draws(figure, monkeypatch) -> list[str]:
    """The renderers ``figure`` is drawn with from now on, by class name."""
    seen: list[str] = []
    real = type(figure).draw

    def draw(self, renderer):
        seen.append(type(renderer).__name__)
        return real(self, renderer)

    monkeypatch.setattr(type(figure), "draw", draw)
    return seen


def test_a_figure_laid_out_when_drawn_is_saved_with_one_draw_and_the_same_bytes(monkeypatch):
    # tight_layout leaves matplotlib's placeholder engine behind, and savefig draws a figure
    # with any engine once more before drawing it for real (a fifth of each save's time)
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    from specrun.outputs import _figure_bytes, _fix_layout

    def drawn() -> Figure:
        figure = Figure(figsize=(6, 4))
        axes = figure.subplots(2, 1)
        for number, ax in enumerate(axes):
            ax.plot([1, 2, 3], [3, 1, 2 + number])
            ax.set_title(f"panel {number}: γ̂ = 0.25")
        axes[-1].set_xlabel("Threshold γ of STR")
        figure.suptitle("LR statistic")
        figure.tight_layout()
        return figure

    kept = drawn()
    assert isinstance(kept.get_layout_engine(), PlaceHolderLayoutEngine)
    before = {fmt: _figure_bytes(kept, fmt) for fmt in ("png", "pdf")}
    fixed = drawn()
    _fix_layout(fixed)
    assert fixed.get_layout_engine() is None
    draws = _draws(fixed, monkeypatch)
    after = {fmt: _figure_bytes(fixed, fmt) for fmt in ("png", "pdf")}
    assert draws == ["RendererAgg", "MixedModeRenderer"]  # one draw per format
    assert after == before


def test_dollar_signs_in_figure_text_are_drawn_as_written(tmp_path, capsys):
    # a title or label with two '$' was parsed as mathtext: "$ m, $ of 1947" printed in math
    # italics, and text that is not valid TeX ("$\frac{x}$") ended the run with exit 3 and a
    # traceback from inside matplotlib
    from matplotlib.text import Text

    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import plan_file
    from specrun.cli import main
    from specrun.execute import execute

    path = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + """\
variables:
  value: {label: 'Market value ($ m, $ of 1947)'}
models:
  pooled: {estimator: ols, y: inv, x: [value, capital]}
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity]}
figures:
  value:
    {kind: coefplot, models: [pooled, fe], variable: value, title: 'Effect of $\\frac{x}$ by firm'}
""",
    )
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert (tmp_path / "out" / "figures" / "value.pdf").stat().st_size > 0
    spec, plan = plan_file(path)
    figure = execute(spec, plan).figures["value"].draw()
    texts = {t.get_text(): t for t in figure.findobj(Text) if t.get_text()}
    assert "Effect of $\\frac{x}$ by firm" in texts
    assert "Market value ($ m, $ of 1947) (95% CI)" in texts
    assert not any(t.get_parse_math() for t in texts.values())


@forks
def test_a_word_document_that_fails_in_the_child_is_a_located_error_and_nothing_is_written(
    tmp_path, monkeypatch
):
    # tables.docx is rendered in the child: its error (an outputs option the tables cannot
    # honour) makes the child exit, the work is done again here, and the error surfaces here
    # at the spec's line, with no child left and no output folder
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file
    from specrun.errors import SpecError
    from specrun.render import FORMATS

    path = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + WORD_AND_FIGURE + "  docx: {cjk_font: SimSun}\n",
    )
    parent = os.getpid()
    children: list[int | None] = []
    real = Forked.__init__

    def record(self, work, *, start=True):
        real(self, work, start=start)
        children.append(self.pid)

    def refuses(tables, *, title, options):
        side = "child" if os.getpid() != parent else "here"
        raise SpecError(f"no such font ({side})", code="schema", path="outputs.docx.cjk_font")

    monkeypatch.setattr(Forked, "__init__", record)
    # the registry's entry resolves the module's function once (``Lazy``): replace that
    monkeypatch.setattr(FORMATS.get("docx").document, "_target", refuses)
    with pytest.raises(SpecError) as caught:
        run_file(path, out=tmp_path / "out", cache=False)
    error = caught.value
    assert error.message == "no such font (here)"
    assert (error.file, error.line, error.col) == (str(path), 15, 20)
    assert error.path == "outputs.docx.cjk_font"
    assert children and children[0] is not None and _reaped(children[0])
    assert not (tmp_path / "out").exists()


def test_a_share_is_the_best_split_of_few_figures_and_close_for_many():
    from specrun.outputs import EXACT_SHARE, _balanced

    # few: every split tried; 0.4 + 0.3 against 0.5 + 0.2 + 0.1 (each with 0.1 s for its
    # first figure) is the best, the child's first-found (binary order: figure a is bit 0)
    costs = [("a", 0.4), ("b", 0.5), ("c", 0.3), ("d", 0.2), ("e", 0.1)]
    assert _balanced(costs, 0.0, 0.0) == ["a", "c"]
    assert _balanced(costs, 0.0, 1.5) == []  # the child is busy enough with its own work
    assert _balanced(costs, 1.5, 0.0) == ["a", "b", "c", "d", "e"]
    # many: costliest first to the process with less work, which ends at most one figure's
    # cost apart from the other (and the same way every time); both draw, so both pay for
    # their first figure alike
    many = [(f"f{i}", 0.1 * (i % 5 + 1)) for i in range(EXACT_SHARE + 3)]
    chosen = _balanced(many, 0.2, 0.0)
    assert 0 < len(chosen) < len(many)
    theirs = sum(seconds for name, seconds in many if name in chosen)
    mine = 0.2 + sum(seconds for name, seconds in many if name not in chosen)
    assert abs(mine - theirs) <= 0.5 + 1e-9
    assert _balanced(many, 0.2, 0.0) == chosen


@forks
def test_figures_that_fail_in_either_process_are_all_reported_located_and_nothing_is_written(
    tmp_path, monkeypatch
):
    # Chinese titles and no CJK font: the figure drawn here and the one drawn in the child
    # (which exits; its share is drawn again here) are both reported, each at its spec line,
    # with no child left and no output folder (as when figures were drawn by the execute stage)
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file
    from specrun.errors import SpecErrors
    from specrun.figures import fonts

    text = TWO_FIGURES.replace("variable: value}", "variable: value, title: 价值}")
    text = text.replace("variable: capital}", "variable: capital, title: 资本}")
    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    children: list[int | None] = []
    real = Forked.__init__

    def record(self, work, *, start=True):
        real(self, work, start=start)
        children.append(self.pid)

    monkeypatch.setattr(Forked, "__init__", record)
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)  # the child inherits it
    with pytest.raises(SpecErrors) as caught:
        run_file(path, out=tmp_path / "out", cache=False)
    errors = caught.value.errors
    assert [(e.path, e.line, e.col) for e in errors] == [
        ("figures.value", 12, 10),
        ("figures.capital", 13, 12),
    ]
    assert errors[0].message == "figure 'value' has Chinese text, but no CJK font is installed"
    assert children and children[0] is not None and _reaped(children[0])
    assert not (tmp_path / "out").exists()


def test_the_execute_stage_leaves_figures_as_data_and_imports_no_matplotlib(tmp_path):
    # execute computes, render draws: a figure's numbers and text are ready after execute
    # (polars is not usable in a forked render child), matplotlib loads only to draw
    from specfiles import GRUNFELD_HEAD, grunfeld_project, python_probe

    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + TWO_FIGURES)
    probe = (
        "import sys\n"
        "from specrun.api import plan_file\n"
        "from specrun.execute import execute\n"
        f"run = execute(*plan_file({str(path)!r}))\n"
        "data = run.figures['value'].data\n"
        "print(type(data).__name__, data.labels, 'matplotlib' in sys.modules)\n"
        "figure = run.figures['value'].draw()\n"
        "print(len(figure.axes), 'matplotlib' in sys.modules)\n"
    )
    done = python_probe(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["CoefplotData ['pooled', 'fe'] False", "1 True"]
