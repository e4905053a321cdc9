"""Figures drawn in forked drawer processes (``specrun.drawers``): the same files as
drawn here, the fallbacks when a drawer dies, every error located, no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from specrun import drawers as drawers_module
from specrun.drawers import Drawers
from specrun.executors import usable_cpus

forks = pytest.mark.skipif(
    sys.platform != "linux" or usable_cpus() < 2, reason="forks on Linux with two CPUs"
)


def _reaped(pid: int | None) -> bool:
    assert pid is not None  # a drawer was started
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie left to an init that does not reap has ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _lines(path) -> list[str]:
    return path.read_text().split() if path.exists() else []


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


# and a second coefplot: one for each drawer on two CPUs
TWO_FIGURES = WORD_AND_FIGURE.replace(
    "outputs:", "  capital: {kind: coefplot, models: [pooled, fe], variable: capital}\noutputs:"
)


def _recording_drawers(monkeypatch) -> list[tuple[Drawers | None, int | None]]:
    """The drawers each run took (``Drawers.take``), in order, with the drawer's process id."""
    started: list[tuple[Drawers | None, int | None]] = []
    real = Drawers.take.__func__

    def take(cls, figures):
        drawers = real(cls, figures)
        started.append((drawers, drawers.pid if drawers is not None else None))
        return drawers

    monkeypatch.setattr(Drawers, "take", classmethod(take))
    return started


def _noting_drawer_processes(monkeypatch, tmp_path):
    """Have ``draw_figures`` note, in a file, which process drew which figures."""
    from specrun.figures import files

    real = files.draw_figures
    notes = tmp_path / "drawn by"

    def draw_figures(figures):
        with notes.open("a") as handle:
            handle.write("".join(f"{os.getpid()} {f.name}\n" for f in figures))
        return real(figures)

    monkeypatch.setattr(files, "draw_figures", draw_figures)
    return notes


@forks
@pytest.mark.parametrize("embedded", [False, True])
def test_a_run_renders_the_same_files_with_and_without_drawers(tmp_path, monkeypatch, embedded):
    # two coefplots and Word tables: the drawers draw both figures, this process none, and
    # every file is byte-identical to a run that draws them here, in the same order;
    # tables.docx embedding the PNGs is rendered once they are back
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file

    path = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + TWO_FIGURES + ("  docx: {figures: true}\n" if embedded else ""),
    )
    started = _recording_drawers(monkeypatch)
    notes = _noting_drawer_processes(monkeypatch, tmp_path)
    drawn = run_file(path, out=tmp_path / "drawn", cache=False).files
    assert started and started[0][0] is not None and _reaped(started[0][1])
    lines = notes.read_text().splitlines()
    assert sorted(line.split()[1] for line in lines) == ["capital", "value"]
    assert str(os.getpid()) not in {line.split()[0] for line in lines}
    monkeypatch.setattr(drawers_module, "usable_cpus", lambda: 1)
    here = run_file(path, out=tmp_path / "here", cache=False).files
    assert started[1] == (None, None)  # one CPU: drawn here
    assert notes.read_text().splitlines()[-1].split()[0] == str(os.getpid())
    names = [f.relative for f in drawn]
    assert "figures/value.pdf" in names and "tables/main.docx" in names
    assert names == [f.relative for f in here]
    for a, b in zip(drawn, here, strict=True):
        if a.relative != "manifest.json":  # its timings differ
            assert a.content == b.content, a.relative


@forks
def test_figures_sent_at_once_are_drawn_by_the_helpers_side_by_side(tmp_path, monkeypatch):
    # both figures sent before the drawer has loaded matplotlib: each goes to a helper of
    # its own (one per usable CPU), and both come back whole
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import plan_file
    from specrun.execute import execute

    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + TWO_FIGURES)
    figures = list(execute(*plan_file(path)).figures.values())
    notes = _noting_drawer_processes(monkeypatch, tmp_path)
    drawers = Drawers.start()
    assert drawers is not None
    drawer = drawers.pid
    with drawers:
        drawers.finish(figures)
        drawn = drawers.result()
    assert sorted(drawn) == ["capital", "value"]
    assert all(isinstance(v, tuple) and v[0].startswith(b"\x89PNG") for v in drawn.values())
    processes = {line.split()[0] for line in notes.read_text().splitlines()}
    assert len(processes) == 2 and str(os.getpid()) not in processes
    assert str(drawer) not in processes  # the drawer only hands them out


@forks
def test_a_figure_is_sent_to_the_drawers_as_soon_as_its_models_are_fitted(tmp_path, monkeypatch):
    # the coefplot reads the first two models: it is sent while the third is still to fit
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun import execute as execute_module
    from specrun.api import plan_file

    text = WORD_AND_FIGURE.replace(
        "tables:", "  late: {estimator: ols, y: inv, x: [capital]}\ntables:"
    )
    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    events: list[str] = []
    real = execute_module.fit_node

    def fit_node(spec, panel, node, *args, **kwargs):
        events.append(node.name)
        return real(spec, panel, node, *args, **kwargs)

    monkeypatch.setattr(execute_module, "fit_node", fit_node)  # the runner imports it late
    run = execute_module.execute(
        *plan_file(path), on_figure=lambda figure: events.append(f"figure {figure.name}")
    )
    assert events == ["pooled", "fe", "figure value", "late"]
    assert list(run.figures) == ["value"]


@forks
def test_figures_a_killed_drawer_did_not_return_are_drawn_here_alike(tmp_path, monkeypatch):
    # a drawer killed mid-figure (the OOM killer, a kill -9 of that process): its figures
    # are drawn in this process, with the same bytes, and nothing is left running
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file
    from specrun.figures import files

    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + TWO_FIGURES)
    expected = run_file(path, out=tmp_path / "expected", cache=False).files
    parent = os.getpid()
    real = files.draw_figures

    def dies_in_a_drawer(figures):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(figures)

    started = _recording_drawers(monkeypatch)
    monkeypatch.setattr(files, "draw_figures", dies_in_a_drawer)
    again = run_file(path, out=tmp_path / "again", cache=False).files
    assert started[0][0] is not None and _reaped(started[0][1])
    for a, b in zip(again, expected, strict=True):
        if a.relative != "manifest.json":
            assert a.content == b.content, a.relative


@forks
def test_ctrl_c_while_waiting_for_the_figures_ends_the_drawers_at_once(tmp_path, monkeypatch):
    # Ctrl-C while this process waited for the figures: the drawers, which leave SIGINT to
    # this process, drew on until every figure was done (1.4 s more for six coefplots)
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import plan_file
    from specrun.execute import execute
    from specrun.figures import files

    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + TWO_FIGURES)
    figures = list(execute(*plan_file(path)).figures.values())
    parent = os.getpid()
    notes = tmp_path / "drawing"

    def slow(figures):  # a figure that takes a minute to draw, in a drawer
        if os.getpid() != parent:
            with notes.open("a") as handle:
                handle.write(f"{os.getpid()}\n")
            time.sleep(60)
        return {}

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "draw_figures", slow)
    previous = signal.signal(signal.SIGALRM, interrupt)
    drawers = Drawers.start()
    assert drawers is not None
    drawer = drawers.pid
    try:
        with drawers:
            drawers.finish(figures)
            deadline = time.monotonic() + 30  # the drawer loads matplotlib first
            while time.monotonic() < deadline and len(_lines(notes)) < 2:
                time.sleep(0.05)
            started = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(KeyboardInterrupt):
                drawers.result()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    assert drawers.pid is None and _reaped(drawer)
    helpers = [int(pid) for pid in _lines(notes)]
    assert len(helpers) == 2  # interrupted while both drew
    deadline = time.monotonic() + 10
    while any(map(_running, helpers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, helpers))


@forks
def test_drawers_end_with_their_parent_killed_by_sigkill():
    # kill -9 of a run while its drawer waits for the figures (or draws them) left it running,
    # orphaned; it is ended with its parent
    script = (
        "import os, signal\n"
        "from specrun.drawers import Drawers\n"
        "drawers = Drawers.start()\n"
        "print(drawers.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == -9, done.stderr
    drawer = int(done.stdout)
    deadline = time.monotonic() + 10
    while _running(drawer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(drawer)


@forks
def test_drawers_not_wanted_are_ended_and_reaped():
    drawers = Drawers.start()
    assert drawers is not None and drawers.processes == usable_cpus()
    pid = drawers.pid
    with drawers:
        pass  # leaving the block before ``result``: an error in the fits
    assert drawers.pid is None and _reaped(pid)
    drawers.cancel()  # a second call does nothing


def test_no_drawer_without_two_cpus_or_a_figure(monkeypatch):
    assert Drawers.take(0) is None
    monkeypatch.setattr(drawers_module, "usable_cpus", lambda: 1)
    assert Drawers.start() is None and Drawers.take(3) is None


@forks
@pytest.mark.parametrize(
    ("figures", "valid", "prestarted"),
    [(True, True, True), (False, True, False), (True, False, True)],
    ids=["taken", "no figures key", "spec error"],
)
def test_specrun_run_forks_the_drawer_before_validating_when_the_spec_names_figures(
    tmp_path, monkeypatch, capsys, figures, valid, prestarted
):
    # the drawer loads matplotlib while the spec is validated and the models fitted; a spec
    # without a figures: key starts none before its plan, and one that fails to validate
    # ends the one it started (no process left behind)
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.cli import main

    text = WORD_AND_FIGURE if figures else WORD_AND_FIGURE.split("figures:")[0] + "outputs:\n"
    text += "" if figures else "  formats: [markdown]\n"
    if not valid:
        text = text.replace("estimator: ols", "estimator: olss")
    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    forked: list[int | None] = []
    real = Drawers.start.__func__

    def start(cls):
        drawers = real(cls)
        forked.append(drawers.pid if drawers is not None else None)
        return drawers

    monkeypatch.setattr(Drawers, "start", classmethod(start))
    taken = _recording_drawers(monkeypatch)
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-cache"])
    assert code == (0 if valid else 1), capsys.readouterr().err
    assert bool(forked) == prestarted
    if valid:
        assert taken[0][1] == (forked[0] if prestarted else None)
    for pid in forked:
        assert _reaped(pid)
    assert drawers_module._started is None


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
    from specrun.figures.files import figure_bytes, fix_layout

    unfixed = _constrained_figure()
    png_first = figure_bytes(unfixed, "png")
    fixed = _constrained_figure()
    fix_layout(fixed)
    assert fixed.get_layout_engine() is None  # lays out nothing, and no draw before saving
    pdf = figure_bytes(fixed, "pdf")
    png = figure_bytes(fixed, "png")
    assert png == png_first  # laid out as the PNG's own save lays it out
    assert figure_bytes(fixed, "pdf") == pdf and figure_bytes(fixed, "png") == png


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

    from specrun.figures.files import figure_bytes, fix_layout

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
    before = {fmt: figure_bytes(kept, fmt) for fmt in ("png", "pdf")}
    fixed = drawn()
    fix_layout(fixed)
    assert fixed.get_layout_engine() is None
    draws = _draws(fixed, monkeypatch)
    after = {fmt: figure_bytes(fixed, fmt) for fmt in ("png", "pdf")}
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
def test_a_word_document_error_is_located_with_the_figures_errors_and_nothing_is_written(
    tmp_path, monkeypatch
):
    # tables.docx cannot be rendered (an outputs option the tables cannot honour) while the
    # drawers draw a figure that cannot be drawn (Chinese text, no CJK font): both errors are
    # reported at once, each at its spec line, with no drawer left and no output folder
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file
    from specrun.errors import SpecError, SpecErrors
    from specrun.figures import fonts
    from specrun.render import FORMATS

    text = WORD_AND_FIGURE.replace("variable: value}", "variable: value, title: 价值}")
    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + text + "  docx: {cjk_font: SimSun}\n")

    def refuses(tables, *, title, options):
        raise SpecError("no such font", code="schema", path="outputs.docx.cjk_font")

    started = _recording_drawers(monkeypatch)
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)  # the drawers inherit it
    # the registry's entry resolves the module's function once (``Lazy``): replace that
    monkeypatch.setattr(FORMATS.get("docx").document, "_target", refuses)
    with pytest.raises(SpecErrors) as caught:
        run_file(path, out=tmp_path / "out", cache=False)
    errors = caught.value.errors
    assert [(e.path, e.line, e.col) for e in errors] == [
        ("figures.value", 12, 10),
        ("outputs.docx.cjk_font", 15, 20),
    ]
    assert errors[1].message == "no such font"
    assert started and started[0][0] is not None and _reaped(started[0][1])
    assert not (tmp_path / "out").exists()


@forks
def test_figures_that_fail_in_any_drawer_are_all_reported_located_and_nothing_is_written(
    tmp_path, monkeypatch
):
    # Chinese titles and no CJK font: the figures drawn by the two drawers are both reported,
    # each at its spec line, with no drawer left and no output folder
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.api import run_file
    from specrun.errors import SpecErrors
    from specrun.figures import fonts

    text = TWO_FIGURES.replace("variable: value}", "variable: value, title: 价值}")
    text = text.replace("variable: capital}", "variable: capital, title: 资本}")
    path = grunfeld_project(tmp_path, GRUNFELD_HEAD + text)
    started = _recording_drawers(monkeypatch)
    notes = _noting_drawer_processes(monkeypatch, tmp_path)
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)  # the drawers inherit it
    with pytest.raises(SpecErrors) as caught:
        run_file(path, out=tmp_path / "out", cache=False)
    errors = caught.value.errors
    assert [(e.path, e.line, e.col) for e in errors] == [
        ("figures.value", 12, 10),
        ("figures.capital", 13, 12),
    ]
    assert errors[0].message == "figure 'value' has Chinese text, but no CJK font is installed"
    assert len({line.split()[0] for line in notes.read_text().splitlines()}) == 2
    assert started and started[0][0] is not None and _reaped(started[0][1])
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


def test_a_spec_read_from_a_pipe_is_read_by_the_run_alone(tmp_path, capsys):
    # ``cat spec.yaml | specrun run /dev/stdin`` or ``specrun run <(...)``: a pipe can be read
    # once; the drawer's guess read it all and the run then said "the spec is empty"
    from specfiles import GRUNFELD_HEAD, grunfeld_project
    from specrun.cli import main

    spec = grunfeld_project(tmp_path, GRUNFELD_HEAD + WORD_AND_FIGURE)
    text = spec.read_text(encoding="utf-8").replace("grunfeld.csv", str(tmp_path / "grunfeld.csv"))
    read, write = os.pipe()
    with os.fdopen(write, "w", encoding="utf-8") as handle:
        handle.write(text)  # well under the pipe's 64 KiB: no writer thread needed
    try:
        code = main(["run", f"/dev/fd/{read}", "--out", str(tmp_path / "out"), "--no-cache"])
    finally:
        os.close(read)
    err = capsys.readouterr().err
    assert code == 0, err
    assert (tmp_path / "out" / "figures" / "value.png").is_file()
    assert drawers_module._started is None


def test_a_spec_larger_than_the_loader_reads_forks_no_drawer(tmp_path, monkeypatch, capsys):
    # a data file given as the spec (gigabytes): the drawer's figures: guess read it all into
    # memory before the loader refused it by its size
    from specrun.cli import main
    from specrun.spec.load import MAX_SPEC_BYTES

    path = tmp_path / "big.yaml"
    with open(path, "wb") as handle:
        handle.write(b"figures: {}\n")
        handle.truncate(MAX_SPEC_BYTES + 1)  # sparse: no disk written
    forked: list[object] = []
    monkeypatch.setattr(Drawers, "start", classmethod(lambda cls: forked.append(cls)))
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-cache"])
    assert (code, capsys.readouterr().err.strip()) == (
        1,
        f"error: {path}:1:1: the spec is {MAX_SPEC_BYTES + 1:,} bytes; specrun reads specs "
        f"up to {MAX_SPEC_BYTES:,}",
    )
    assert forked == []
