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


@forks
@pytest.mark.parametrize("embedded", [False, True])
def test_a_run_renders_the_same_files_with_and_without_the_child(tmp_path, monkeypatch, embedded):
    # a coefplot (tight layout, drawn once per format) and Word tables: the child's PDF and
    # Word files are byte-identical to this process's, in the same order; tables.docx is
    # rendered here when it embeds the PNGs drawn here
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun import outputs
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.render import forked

    path = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + WORD_AND_FIGURE + ("  docx: {figures: true}\n" if embedded else ""),
    )
    spec, plan = plan_file(path)
    run = execute(spec, plan)
    started = []
    real = forked.Forked.__init__

    def record(self, work, *, start=True):
        real(self, work, start=start)
        started.append(self.pid)

    real_table_files = outputs._table_files
    made_by_child = tmp_path / "made by the child"  # the child's memory is not this one's

    def table_files(spec, run, tables, pngs, elsewhere, formats=None):
        files = real_table_files(spec, run, tables, pngs, elsewhere, formats)
        if os.getpid() != parent:
            made = "".join(f"{f.relative}\n" for f in files if f.relative not in elsewhere)
            with made_by_child.open("a") as handle:
                handle.write(made)
        return files

    parent = os.getpid()
    monkeypatch.setattr(forked.Forked, "__init__", record)
    monkeypatch.setattr(outputs, "_table_files", table_files)
    files = outputs.render_outputs(spec, plan, run)
    assert started and started[0] is not None  # the child did render
    word = ["tables/main.docx"] + ([] if embedded else ["tables.docx"])
    assert made_by_child.read_text().split() == word
    monkeypatch.setattr(forked, "usable_cpus", lambda: 1)
    serial = outputs.render_outputs(spec, plan, run)
    assert started[1] is None
    names = [f.relative for f in files]
    assert "figures/value.pdf" in names and "tables/main.docx" in names
    assert names == [f.relative for f in serial]
    for mine, theirs in zip(files, serial, strict=True):
        if mine.relative != "manifest.json":  # its timings differ
            assert mine.content == theirs.content, mine.relative


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
