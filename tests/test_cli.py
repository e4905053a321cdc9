"""End-to-end: the CLI on the shipped Grunfeld spec, exit codes, outputs kept on failure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xxhash

from specfiles import GRUNFELD_HEAD, assert_latex_compiles, grunfeld_project
from specrun.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]
GRUNFELD = PROJECT_ROOT / "specs" / "grunfeld.yaml"


@pytest.fixture(scope="module")
def grunfeld_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grunfeld")
    assert main(["run", str(GRUNFELD), "--out", str(out)]) == 0
    return out


def test_run_writes_every_output(grunfeld_run: Path):
    expected = {
        "tables/table_fe.tex",
        "tables/table_fe.md",
        "tables/table_fe.html",
        "tables/summary.tex",
        "tables.tex",
        "results.json",
        "manifest.json",
        "analysis.parquet",
    }
    written = {str(p.relative_to(grunfeld_run)) for p in grunfeld_run.rglob("*") if p.is_file()}
    assert expected <= written


def test_results_json_contract(grunfeld_run: Path):
    results = json.loads((grunfeld_run / "results.json").read_text())
    assert set(results) == {"specrun_version", "spec", "models"}
    twoway = results["models"]["fe_twoway"]
    assert twoway["estimator"] == "panel_fe"
    assert twoway["dependent"] == "inv"
    assert twoway["nobs"] == 200
    assert twoway["effects"] == ["entity", "time"]
    assert twoway["se"] == {"type": "clustered by entity", "convention": "stata"}
    # R plm 2.6.2 twoways within estimate of value (see test_estimators_linear.py)
    assert twoway["coefficients"]["value"]["estimate"] == pytest.approx(0.1177158550826)
    assert set(twoway["coefficients"]["value"]) == {"estimate", "std_error", "stat", "p_value"}
    assert twoway["stats"]["r2_lsdv"] == pytest.approx(0.9516933996812)


def test_manifest_names_data_hash_and_rows(grunfeld_run: Path):
    manifest = json.loads((grunfeld_run / "manifest.json").read_text())
    data = PROJECT_ROOT / "data" / "grunfeld.csv"
    # XXH3-128 of the whole file, as the xxhash package's reference implementation computes it
    assert (
        manifest["data"]["grunfeld"]["xxh3_128"] == xxhash.xxh3_128(data.read_bytes()).hexdigest()
    )
    assert manifest["rows"]["fe_firm"] == {"sample": 200, "used": 200, "dropped_incomplete": 0}
    assert "linearmodels" in manifest["packages"]


def test_rerun_is_byte_identical(grunfeld_run: Path, tmp_path: Path):
    assert main(["run", str(GRUNFELD), "--out", str(tmp_path)]) == 0
    for name in ("results.json", "tables/table_fe.tex", "tables.tex", "analysis.parquet"):
        assert (tmp_path / name).read_bytes() == (grunfeld_run / name).read_bytes()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_tables_tex_compiles(grunfeld_run: Path, tmp_path: Path):
    assert_latex_compiles(grunfeld_run / "tables.tex", tmp_path)


def test_plan_and_validate_commands(capsys: pytest.CaptureFixture[str]):
    assert main(["validate", str(GRUNFELD)]) == 0
    assert main(["plan", str(GRUNFELD)]) == 0
    out = capsys.readouterr().out
    assert "fit:fe_twoway  panel_fe ← load:grunfeld" in out
    assert "table:table_fe  regression ← fit:fe_firm, fit:fe_twoway, fit:pooled" in out


def test_schema_command(capsys: pytest.CaptureFixture[str]):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "models" in schema["properties"]
    assert "panel_fe" in json.dumps(schema)


def test_bad_spec_exits_1_without_traceback(tmp_path: Path):
    spec = grunfeld_project(
        tmp_path,
        "spec_version: 1\n"
        "data:\n"
        "  sources: {g: {path: grunfeld.csv}}\n"
        "  panel: {source: g, entity: firm, time: year}\n"
        "models:\n"
        "  fe: {estimator: panel_fe, y: inv, x: [valeu], effects: firm}\n"
        "  fe: {estimator: ols, y: inv, x: [value]}\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "specrun.cli", "validate", str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{spec}:6:41: models.fe.x[0]: unknown variable 'valeu'" in done.stderr
    assert f"{spec}:6:58: models.fe.effects: input should be a valid list" in done.stderr
    assert f"{spec}:7:3: models.fe: duplicate key 'fe' (first defined at line 6)" in done.stderr


def test_output_piped_into_head_exits_0_without_traceback():
    """``specrun schema | head -1``: the schema (200 kB) outgrows the pipe's buffer, so the
    reader closes the pipe while specrun still writes; that is the reader's choice, not a bug."""
    process = subprocess.Popen(
        [sys.executable, "-m", "specrun", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"{\n"
    process.stdout.close()
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == b""


def test_failed_run_leaves_previous_outputs(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("previous")
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD + "transforms:\n"
        "  - derive: {size: firm * 2}\n"
        "models:\n"
        "  fe: {estimator: panel_fe, y: inv, x: [value, size]}\n",
    )
    assert main(["run", str(spec), "--out", str(out)]) == 1
    assert (out / "results.json").read_text() == "previous"


def test_only_runs_what_is_named(tmp_path: Path):
    assert main(["run", str(GRUNFELD), "--out", str(tmp_path), "--only", "table_fe"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["models"]) == {"pooled", "fe_firm", "fe_twoway"}
    assert main(["run", str(GRUNFELD), "--out", str(tmp_path), "--only", "tabel_fe"]) == 2


@pytest.mark.parametrize(
    "name", ["paper.yaml", "grunfeld.yaml", "abond.yaml", "hansen1999.yaml", "wang2015.yaml"]
)
def test_shipped_specs_satisfy_the_json_schema(name: str, capsys: pytest.CaptureFixture[str]):
    # what a YAML language server would check, with the schema `specrun schema` prints
    import jsonschema
    import yaml

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    document = yaml.safe_load((PROJECT_ROOT / "specs" / name).read_text())
    jsonschema.validate(document, schema)


@pytest.mark.parametrize("option", ["--out", "--cache"])
def test_an_empty_folder_argument_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, option: str
):
    """``--cache "$CACHE"`` with the variable unset: '' was the current folder, which the run
    filled with its outputs or cache shards (and whose files eviction would weigh)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(GRUNFELD), option, ""])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"specrun run: error: argument {option}: an empty folder name (an unset shell "
        "variable?); write . for the current folder"
    )
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_folder_is_a_usage_error(tmp_path: Path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    assert main(["run", str(GRUNFELD), "--out", str(blocker)]) == 2


def test_text_in_a_numeric_variable_names_the_cell(tmp_path: Path, capsys):
    data = (PROJECT_ROOT / "data" / "grunfeld.csv").read_text().splitlines()
    data = [
        ",".join(["3", "1940", "n.a.", *r.split(",")[3:]]) if r.startswith("3,1940,") else r
        for r in data
    ]
    spec = grunfeld_project(
        tmp_path, GRUNFELD_HEAD + "models:\n  fe: {estimator: panel_fe, y: inv, x: [value]}\n"
    )
    (tmp_path / "grunfeld.csv").write_text("\n".join(data) + "\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    assert (
        f"{spec}:7:32: models.fe.y: variable 'inv' of model 'fe' is String, not numeric; "
        "first non-number 'n.a.' at firm 3, year 1940 (if 'n.a.' marks a missing value, add it "
        'to the source\'s missing-value codes: null_values: ["", "NA", ".", "..", "-", '
        '"—", "–", "--", "n.a."])'
    ) in capsys.readouterr().err.replace("\n", "")


def test_derive_refuses_nan_and_infinity(tmp_path: Path, capsys):
    spec = grunfeld_project(
        tmp_path,
        GRUNFELD_HEAD
        + "transforms:\n  - derive: {big: exp(inv)}\n"
        + "models:\n  fe: {estimator: panel_fe, y: big, x: [value]}\n",
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.replace("\n", "")
    assert f"{spec}:7:13: transforms[0].derive: derive big: 'exp(inv)' is NaN or infinite" in err


def test_jobs_help_names_the_workers_it_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    # the help once said "worker processes" while --jobs started threads (executors.make_runner)
    from specrun import executors
    from specrun.executors import ProcessRunner, make_runner

    # spawned when made: a process whose polars pool has not started yet (this test alone)
    # would fork them later, in ``prepare``, and hold none here
    monkeypatch.setattr(executors, "_fork_safe", lambda: False)

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "in N processes, this one and N - 1 workers" in help_text
    runner = make_runner(2)
    assert isinstance(runner, ProcessRunner) and len(runner.workers) == 1
    runner.close()
    assert not runner.workers


def test_warnings_shared_by_specifications_of_a_multiverse_print_once():
    # a 24-specification multiverse clustered by 8 industries printed the same warning 8 times
    from specrun.cli import _collapse_specifications

    few = "only 8 clusters: clustered standard errors are unreliable"
    warnings = [
        f"model 'twfe': {few}",
        f"model 'mv[se=ind,win=none]': {few}",
        "model 'mv[se=ind,win=p1]': the coefficient of 'k' prints as zero",
        f"model 'mv[se=ind,win=p1]': {few}",
        f"model 'rob[se=ind]': {few}",
        "table 't': a note",
    ]
    assert _collapse_specifications(warnings) == [
        f"model 'twfe': {few}",
        f"model 'mv[se=ind,win=none]' and 1 other specification of multiverse 'mv': {few}",
        "model 'mv[se=ind,win=p1]': the coefficient of 'k' prints as zero",
        f"model 'rob[se=ind]': {few}",
        "table 't': a note",
    ]


def test_a_console_that_cannot_encode_the_output_gets_escapes(tmp_path, monkeypatch):
    """PYTHONIOENCODING=ascii (or a legacy code page): the summary line's '→' ended a finished
    run with exit 3 and a UnicodeEncodeError traceback; a Chinese model name in an error too."""
    import io
    import sys

    from specfiles import GRUNFELD_HEAD, grunfeld_project

    spec = grunfeld_project(
        tmp_path, GRUNFELD_HEAD + "models:\n  模型: {estimator: ols, y: inv, x: [value]}\n"
    )
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii", write_through=True)
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="ascii", write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 0
    printed = stdout.buffer.getvalue().decode("ascii")
    assert printed.startswith(f"1 model, 0 tables, 0 figures \\u2192 {out} (")
    spec.write_text(spec.read_text(encoding="utf-8").replace("x: [value]", "x: [valu]"))
    assert main(["validate", str(spec)]) == 1
    assert stderr.buffer.getvalue().decode("ascii") == (
        f"error: {spec}:7:36: models.\\u6a21\\u578b.x[0]: unknown variable 'valu' (did you mean "
        "'value'?)\n"
    )


def test_a_broken_pipe_other_than_stdout_is_not_a_silent_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """A BrokenPipeError from any pipe but stdout (a --jobs worker's, once) is a bug reported
    as one (exit 3), not the ``| head -1`` case, which exits 0 in silence."""
    from specrun import api

    spec = grunfeld_project(
        tmp_path, GRUNFELD_HEAD + "models:\n  ols: {estimator: ols, y: inv, x: [value]}\n"
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(api, "run_file", broken)
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("internal error (a bug in specrun; report it):\nTraceback")
    assert err.endswith("BrokenPipeError: [Errno 32] Broken pipe\n")


def test_ctrl_c_while_the_arguments_are_parsed_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """A Ctrl-C in the first tenth of a second (before the command's own error handling) printed
    a KeyboardInterrupt traceback; it now ends the run as one later does: exit 130, silent."""
    import specrun.cli as cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_parser", interrupted)
    assert main(["validate", str(GRUNFELD)]) == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
