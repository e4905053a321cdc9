"""Command line: ``specrun run|validate|plan|schema``. Thin: parse arguments, call the API.

Exit codes: 0 success; 1 a user error (bad spec or data), printed as file:line:col messages
without a traceback; 2 bad usage; 3 an internal error (a bug: the traceback is printed).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING

from specrun import __version__
from specrun.errors import SpecError, SpecErrors, collapse_inherited

if TYPE_CHECKING:
    from rich.console import Console

EXIT_USER, EXIT_USAGE, EXIT_BUG = 1, 2, 3


RUN_HELP = """\
Validate SPEC, load its data, run its transforms, fit every model and write the outputs:
tables/<table>.<tex|md|html>, tables.tex, figures/<name>.<png|pdf>, results.json,
manifest.json and analysis.parquet. Nothing is replaced until everything has been computed; the
folder is then swapped whole, so a failed or killed run leaves the previous outputs as they were.
"""

EXIT_HELP = """\
exit codes: 0 success; 1 a problem in the spec or the data (file:line:col: message);
2 bad usage; 3 a bug in specrun (please report it).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specrun",
        description="Run a declarative econometric model spec: one YAML file from data to tables.",
        epilog="examples:\n  specrun validate specs/paper.yaml\n  specrun run specs/paper.yaml "
        "--out out/paper\n\n" + EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"specrun {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="validate, fit every model, write tables and results",
        description=RUN_HELP,
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("spec", metavar="SPEC", help="the spec file (YAML)")
    run.add_argument(
        "--out",
        metavar="DIR",
        type=_folder,
        help="output folder (default: the spec's outputs.dir, relative to the spec's folder)",
    )
    run.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="NAME",
        help="only these models, tables or figures (and what they need); other files are kept",
    )
    run.add_argument(
        "--jobs",
        "-j",
        type=_positive,
        default=0,
        metavar="N",
        help="fit independent models in N processes, this one and N - 1 workers (at most one "
        "per CPU; 1: serial). Unset: serial, or one process per CPU (at most 4) when the data "
        "files total 64 MB or more, two threshold, mediation or GMM models or more are fitted "
        "and memory holds a copy of the panel per process",
    )
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fit models on the Dask distributed cluster at ADDRESS (tcp://host:8786); needs "
        "specrun[dask]",
    )
    cache = run.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        metavar="DIR",
        type=_folder,
        help="cache folder of plan-node results (default: .specrun-cache beside the output "
        "folder); a re-run recomputes only what changed",
    )
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write a cache")
    run.add_argument(
        "--cache-max-size",
        metavar="SIZE",
        help="evict least-recently-used cache entries beyond SIZE (e.g. 500MB, 2GB; default 2GB)",
    )
    diff = commands.add_parser(
        "diff",
        help="what changed between two output folders, and why",
        description="Compare two specrun output folders: models, coefficients and statistics, "
        "table cells, and the spec or data changes (from the manifests' hashes) that explain "
        "them. Exit 0 whether or not they differ.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("run_a", metavar="RUN_A", help="an output folder of specrun run")
    diff.add_argument("run_b", metavar="RUN_B", help="another output folder")
    diff.add_argument(
        "--tolerance",
        metavar="REL",
        type=_tolerance,
        default=1e-9,
        help="numbers whose relative difference is at most REL are the same (default 1e-9, "
        "as R's all.equal; 0 compares exactly): runs on two machines differ in the last "
        "digits",
    )
    diff.add_argument(
        "--all",
        action="store_true",
        help="list every changed specification of a multiverse (by default more than five "
        "are summed up: how many, the axis values they share, the first three)",
    )
    validate = commands.add_parser(
        "validate",
        help="check a spec and report every error",
        description="Check SPEC without fitting anything and report every error at once, "
        "each as file:line:col: path: message.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("spec", metavar="SPEC", help="the spec file (YAML)")
    plan = commands.add_parser(
        "plan",
        help="print the execution plan (a DAG of hashed steps)",
        description="Print the plan SPEC compiles to: every step, its hash and what it needs.",
    )
    plan.add_argument("spec", metavar="SPEC", help="the spec file (YAML)")
    plan.add_argument("--only", nargs="+", default=[], metavar="NAME")
    commands.add_parser(
        "schema",
        help="print the JSON Schema of spec files",
        description="Print the JSON Schema of spec files, for editors' YAML language servers.",
    )
    return parser


def _folder(text: str) -> str:
    """A folder argument; an empty one (``--cache "$CACHE"`` with the variable unset) is a
    usage error, not the current folder, which a run would fill with outputs or cache
    shards and whose files the cache's eviction would weigh."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty folder name (an unset shell variable?); write . for the current folder"
        )
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _tolerance(text: str) -> float:
    """``--tolerance``: a relative difference, a number at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    from specrun.diff import valid_tolerance

    if not valid_tolerance(value):
        raise argparse.ArgumentTypeError(f"must be a number at least 0, got {text}")
    return value


@cache
def _stderr() -> Console:
    """The console for errors, warnings and progress bars; rich is imported on first use, so a
    clean ``validate`` or ``plan`` never pays for it."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def _progress_factory() -> Callable[[str, int], Callable[[int, int], None] | None]:
    """Progress bars for long loops, shown only on a terminal and after the first second."""

    def factory(label: str, total: int) -> Callable[[int, int], None] | None:
        console = _stderr()
        if not console.is_terminal:
            return None
        from rich.progress import Progress

        started = time.perf_counter()
        state: dict[str, object] = {}

        def update(done: int, of: int) -> None:
            if "bar" not in state:
                if time.perf_counter() - started < 1.0 or done >= of:
                    return
                bar = Progress(console=console, transient=True)
                bar.start()
                state["bar"], state["task"] = bar, bar.add_task(label, total=of)
            bar = state["bar"]
            bar.update(state["task"], completed=done)  # type: ignore[attr-defined]
            if done >= of:
                bar.stop()  # type: ignore[attr-defined]

        return update

    return factory


class _NodeBar:
    """A rich progress bar of plan nodes (done, reused from the cache, running), on a terminal
    only and only once a run has lasted a second."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.bar: object | None = None
        self.task: object = None
        self.shown: bool | None = None  # stderr is a terminal (asked once: rich checks anew)

    def update(self, done: int, reused: int, running: int, total: int) -> None:
        if self.shown is None:
            self.shown = _stderr().is_terminal
        if not self.shown:
            return
        console = _stderr()
        if self.bar is None:
            if time.perf_counter() - self.started < 1.0 or done >= total:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("nodes"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                console=console,
                transient=True,
            )
            self.bar.start()  # type: ignore[attr-defined]
            self.task = self.bar.add_task("nodes", total=total, detail="")  # type: ignore[attr-defined]
        detail = f"{reused} reused, {running} running"
        self.bar.update(self.task, completed=done, detail=detail)  # type: ignore[attr-defined]
        if done >= total:
            self.stop()

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()  # type: ignore[attr-defined]
            self.bar = None


def _say(label: str, style: str, message: str) -> None:
    """``label: message`` on stderr, the label styled; user text (names, paths, values) is
    printed literally, never read as markup or emoji."""
    from rich.text import Text

    _stderr().print(Text.assemble((label, style), message))


def _collapse_specifications(warnings: Sequence[str]) -> list[str]:
    """The warnings of a run for the terminal, one line per message that several
    specifications of a multiverse share (``model 'mv[a=1,b=2]': only 8 clusters: …`` for 12
    specifications becomes one line naming the first and the count); other warnings as they
    are, in their order. ``results.json`` and ``manifest.json`` keep every warning."""
    import re

    specification = re.compile(r"model '(([^'\[]+)\[[^']*\])': (.*)", flags=re.S)
    shared: dict[tuple[str, str], list[str]] = {}  # (multiverse, message) → specifications
    order: list[str | tuple[str, str]] = []
    for warning in warnings:
        found = specification.fullmatch(warning)
        if found is None:
            order.append(warning)
            continue
        key = (found.group(2), found.group(3))
        if key not in shared:
            shared[key] = []
            order.append(key)
        shared[key].append(found.group(1))
    lines: list[str] = []
    for entry in order:
        if isinstance(entry, str):
            lines.append(entry)
            continue
        (multiverse, message), names = entry, shared[entry]
        others = (
            f" and {len(names) - 1} other specification{'s' * (len(names) > 2)} of "
            f"multiverse '{multiverse}'"
            if len(names) > 1
            else ""
        )
        lines.append(f"model '{names[0]}'{others}: {message}")
    return lines


def _collapse_cache_warnings(warnings: Sequence[str]) -> list[str]:
    """The cache's warnings for the terminal, one line per problem that several entries share
    (a cache folder overwritten with garbage made one line per plan node: 2,000 for a large
    multiverse), naming the first node and counting the others; other warnings as they are,
    in their order. ``manifest.json`` keeps every warning, with each entry's file."""
    import re

    entry = re.compile(r"cache entry of (.+?) (is corrupt \(.*\)|unreadable \(.*\))(; .*)?")
    shared: dict[str, list[str]] = {}  # what is wrong → the warnings saying it
    order: list[str] = []
    for warning in warnings:
        found = entry.fullmatch(warning)
        key = f"\0{found.group(2)}" if found is not None else warning
        if key not in shared:
            shared[key] = []
            order.append(key)
        shared[key].append(warning)
    lines = []
    for key in order:
        said = shared[key]
        if not key.startswith("\0") or len(said) == 1:
            lines.extend(said)
            continue
        first = entry.fullmatch(said[0]).group(1)  # type: ignore[union-attr]
        problem = key[1:].removeprefix("is ")
        lines.append(
            f"cache entries of {first} and {_count(len(said) - 1, 'other node')} are {problem}; "
            "recomputed (manifest.json lists them under cache.warnings)"
        )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _counts(models: int, tables: int, figures: int) -> str:
    """The run summary's counts: "1 model, 3 tables, 0 figures"."""
    return ", ".join(
        _count(n, noun) for n, noun in ((models, "model"), (tables, "table"), (figures, "figure"))
    )


def _recorded_run(args: argparse.Namespace) -> int | None:
    """Exit 0 at once, before importing anything heavy, when the cache holds the record of
    this very run and every file it read and wrote is as recorded (``specrun.record``);
    None when the run has to be done."""
    from specrun.record import check

    started = time.perf_counter()
    found = check(args.spec, args.out, args.only, args.cache)
    if found is None:
        return None
    folder, record = found
    for warning in _collapse_specifications(record.warnings):
        _say("warning", "bold yellow", f": {warning}")
    print(
        f"{_counts(record.models, record.tables, record.figures)} → {folder} "
        f"({time.perf_counter() - started:.2f} s, all {record.nodes} plan nodes reused; "
        "outputs up to date)"
    )
    return 0


def _report(errors: Sequence[SpecError]) -> None:
    for error in collapse_inherited(errors):
        _say("error", "bold red", f": {error}")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``specrun`` command: its exit code (see the module docstring)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # a Ctrl-C before the command's own handling starts (parsing the arguments, the first
        # imports) ends the run as quietly as one during it: no traceback, exit 130
        return 130


def _main(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # a console that cannot encode a character ('→', a Chinese name; PYTHONIOENCODING=ascii,
        # a legacy code page) prints an escape for it, rather than failing a finished run
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    collecting = _pause_collector()
    _skip_final_collection()
    # pydantic looks for plugins (observability hooks for an application's own models) in the
    # entry points of every installed distribution when it builds its first schema: ~25 ms of
    # validate, for spec models no plugin is meant to watch. A user's explicit setting wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        if args.command == "run" and not args.no_cache:
            done = _recorded_run(args)
            if done is not None:
                return done
        if args.command == "schema":
            from specrun.spec.schema import json_schema

            print(json.dumps(json_schema(), indent=2))
            return 0
        from specrun import api

        if args.command == "run" and not args.only:
            from specrun.drawers import prestart

            # matplotlib loads meanwhile, when the spec draws figures: forked after the
            # libraries above, which the drawer then shares rather than imports again
            prestart(args.spec)

        if args.command == "validate":
            spec = api.validate_file(args.spec)
            for warning in spec.document.warnings:
                _say("warning", "bold yellow", f": {warning}")
            for hint in spec.hints:
                _say("hint", "bold cyan", f": {hint}")
            print(
                f"{args.spec}: valid "
                f"({_counts(len(spec.models), len(spec.tables), len(spec.figures))})"
            )
            return 0
        if args.command == "plan":
            _, plan = api.plan_file(args.spec, args.only)
            print(plan.describe())
            return 0
        if args.command == "diff":
            from specrun.diff import diff_runs

            print(diff_runs(args.run_a, args.run_b, args.tolerance, every=args.all).describe())
            return 0
        started = time.perf_counter()
        bar = _NodeBar()
        if collecting:
            gc.enable()  # a run's fits make and drop cyclic garbage; api.run_file manages it
        try:
            run = api.run_file(
                args.spec,
                args.out,
                args.only,
                _progress_factory(),
                jobs=args.jobs,
                scheduler=args.scheduler,
                cache=False if args.no_cache else args.cache,
                cache_max_size=args.cache_max_size,
                node_progress=bar,
            )
        finally:
            bar.stop()
        for warning in _collapse_specifications(run.summary.warnings):
            _say("warning", "bold yellow", f": {warning}")
        for hint in run.spec.hints:  # as validate says them: most users only ever run
            _say("hint", "bold cyan", f": {hint}")
        stats = run.summary.cache
        for warning in _collapse_cache_warnings(stats.warnings if stats is not None else ()):
            _say("warning", "bold yellow", f": {warning}")
        reused = (
            f", {len(stats.reused)} of {len(run.plan.nodes)} plan nodes reused from the cache"
            if stats is not None
            else ""
        )
        print(
            f"{_counts(run.summary.models, run.summary.tables, run.summary.figures)} "
            f"→ {run.folder} "
            f"({time.perf_counter() - started:.2f} s{reused})"
        )
        return 0
    except SpecErrors as exc:
        _report(exc.errors)
        usage = all(e.code == "usage" for e in exc.errors)
        return EXIT_USAGE if usage else EXIT_USER
    except SpecError as exc:
        _report([exc])
        return EXIT_USAGE if exc.code == "usage" else EXIT_USER
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _stdout_closed():  # another pipe (a worker's): a bug, not the reader's choice
            _say("internal error", "bold red", " (a bug in specrun; report it):")
            traceback.print_exc()
            return EXIT_BUG
        # the reader closed the pipe (specrun plan SPEC | head -1): it has what it wanted.
        # stdout now points at devnull, so the interpreter's last flush cannot raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception:
        _say("internal error", "bold red", " (a bug in specrun; report it):")
        traceback.print_exc()
        return EXIT_BUG
    finally:
        if collecting:
            gc.enable()
        if args.command == "run":
            from specrun.drawers import end_prestarted

            end_prestarted()  # the run did not take it (an error before its plan)


@cache
def _skip_final_collection() -> None:
    """At exit, move every object into the collector's permanent generation (``gc.freeze``)
    before the interpreter tears its modules down: its final full collections then skip them.

    Those collections walk every object polars, pydantic and the spec made (~0.2 s of CPU, as
    much as validating the paper spec) and free nothing the operating system would not reclaim
    at once. Objects still go through their ordinary deallocation (reference counting, ``atexit``
    handlers, ``weakref.finalize``); only cyclic garbage left at exit is not collected. Registered
    once per process, so that tests calling ``main`` repeatedly add one handler."""
    atexit.register(gc.freeze)


def _pause_collector() -> bool:
    """Turn the cyclic garbage collector off for start-up; returns whether it was on.

    Start-up (polars, pydantic, the spec's option models and their schemas) allocates about
    100,000 objects that live as long as the process; the collector's ~150 passes over them
    free nothing and took ~0.1 s, a tenth of ``specrun validate``. ``main`` turns it back on
    before a run fits anything and when it returns (tests call ``main`` in one process)."""
    collecting = gc.isenabled()
    gc.disable()
    return collecting


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has closed it (the write end then polls
    as an error on Linux and the BSDs); True where ``select.poll`` is missing, as before."""
    import select

    if not hasattr(select, "poll"):
        return True
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # not a file (a captured stdout)
        return False


if __name__ == "__main__":
    sys.exit(main())
