"""Run records: an unchanged re-run stops before importing polars, numpy or pydantic, and any
change to what the run read or wrote (a data file, the spec, a template, a command-line
option, an output file) makes it run again and write the right outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from specfiles import GRUNFELD_HEAD, grunfeld_project, output_files
from specrun.cli import main
from specrun.record import RECORD_FOLDER, read_record

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SPEC = (
    GRUNFELD_HEAD
    + """\
models:
  ols: {estimator: ols, y: inv, x: [value, capital], se: {type: HC1}}
  fe: {estimator: panel_fe, y: inv, x: [value, capital], effects: [entity, time],
       se: {cluster: entity}}
tables:
  main: {kind: regression, columns: [ols, fe], stats: [nobs, r2]}
outputs: {dir: out, formats: [markdown]}
"""
)
UP_TO_DATE = "outputs up to date"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return grunfeld_project(tmp_path, SPEC)


def run(spec: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """``specrun run`` into ``out`` beside the spec with the cache beside it; its stdout."""
    code = main(["run", str(spec), "--out", str(spec.parent / "out"), *extra])
    assert code == 0
    return capsys.readouterr().out


def uncached(spec: Path) -> dict[str, bytes]:
    """The outputs of a run without any cache, in a folder of their own."""
    folder = spec.parent / "reference"
    shutil.rmtree(folder, ignore_errors=True)
    assert main(["run", str(spec), "--out", str(folder), "--no-cache"]) == 0
    return output_files(folder)


def records(spec: Path) -> list[Path]:
    return sorted((spec.parent / ".specrun-cache" / RECORD_FOLDER).glob("*.record"))


def test_unchanged_rerun_stops_before_importing_polars_numpy_or_pydantic(project: Path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    probe = (
        "import sys\n"
        "from specrun.cli import main\n"
        f"code = main(['run', {str(project)!r}, '--out', {str(project.parent / 'out')!r}])\n"
        "heavy = ['polars', 'numpy', 'pydantic', 'jinja2', 'matplotlib', 'scipy', 'yaml']\n"
        "print(code, [m for m in heavy if m in sys.modules])\n"
    )
    first = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("0 ['polars', 'numpy', 'pydantic'")
    before = output_files(project.parent / "out")
    again = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    # --out is given, so not even the YAML parser is needed
    assert lines[-1] == "0 []"
    assert "2 models, 1 table, 0 figures" in lines[0]
    assert "all 5 plan nodes reused; outputs up to date" in lines[0]
    assert output_files(project.parent / "out") == before


def test_the_spec_outputs_dir_is_found_without_pydantic(project: Path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    command = [sys.executable, "-X", "importtime", "-m", "specrun", "run", str(project)]
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode == 0
    assert f"→ {project.parent / 'out'} (" in again.stdout and UP_TO_DATE in again.stdout
    imported = {line.split("|")[-1].strip() for line in again.stderr.splitlines()}
    assert "yaml" in imported and not {"pydantic", "polars", "numpy"} & imported


def test_a_changed_data_file_runs_again(project: Path, capsys):
    run(project, capsys)
    assert UP_TO_DATE in run(project, capsys)
    data = project.parent / "grunfeld.csv"
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    header, first = lines[0], lines[1].split(",")
    column = header.replace('"', "").split(",").index("inv")
    first[column] = str(float(first[column]) + 100.0)
    lines[1] = ",".join(first)
    data.write_text("".join(lines), encoding="utf-8")
    assert UP_TO_DATE not in run(project, capsys)
    assert output_files(project.parent / "out") == uncached(project)
    assert UP_TO_DATE in run(project, capsys)


def test_a_changed_spec_runs_again(project: Path, capsys):
    run(project, capsys)
    project.write_text(SPEC.replace("stats: [nobs, r2]", "stats: [nobs]"), encoding="utf-8")
    assert UP_TO_DATE not in run(project, capsys)
    table = (project.parent / "out" / "tables" / "main.md").read_text(encoding="utf-8")
    assert "R²" not in table and "R2" not in table
    assert output_files(project.parent / "out") == uncached(project)


def test_a_changed_option_runs_again(project: Path, capsys):
    run(project, capsys)
    only = run(project, capsys, "--only", "ols")
    assert UP_TO_DATE not in only
    assert UP_TO_DATE in run(project, capsys, "--only", "ols")
    # back to the whole run: the --only run rewrote the manifest, so the full record's
    # outputs no longer match
    assert UP_TO_DATE not in run(project, capsys)
    assert UP_TO_DATE in run(project, capsys)
    assert output_files(project.parent / "out") == uncached(project)
    # another output folder is another run
    code = main(["run", str(project), "--out", str(project.parent / "other")])
    assert code == 0 and UP_TO_DATE not in capsys.readouterr().out


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_an_edited_or_deleted_output_is_written_again(project: Path, capsys, change: str):
    run(project, capsys)
    expected = output_files(project.parent / "out")
    table = project.parent / "out" / "tables" / "main.md"
    if change == "edit":
        table.write_text("edited by hand\n", encoding="utf-8")
    else:
        table.unlink()
    assert UP_TO_DATE not in run(project, capsys)
    assert output_files(project.parent / "out") == expected


def test_a_changed_template_runs_again(project: Path):
    """The templates a run read are among its inputs: an edit renders the tables again."""
    templates = project.parent / "templates"
    shutil.copytree(PROJECT_ROOT / "templates", templates)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    # the source tree's template folder, moved to the test's folder
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "import specrun.render.environment as environment\n"
        f"environment.SOURCE_TEMPLATES = Path({str(templates)!r})\n"
        "environment.installed_templates = lambda: None\n"
        "from specrun.cli import main\n"
        f"sys.exit(main(['run', {str(project)!r}, '--out', {str(project.parent / 'out')!r}]))\n"
    )

    def specrun() -> str:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.decode()

    specrun()
    assert UP_TO_DATE in specrun()
    record = read_record(project.parent / ".specrun-cache", records(project)[0].stem)
    assert record is not None
    assert str(templates / "markdown" / "table.md.j2") in record.inputs
    template = templates / "markdown" / "table.md.j2"
    template.write_text("EDITED TEMPLATE\n" + template.read_text(encoding="utf-8"), "utf-8")
    assert UP_TO_DATE not in specrun()
    table = (project.parent / "out" / "tables" / "main.md").read_text(encoding="utf-8")
    assert table.startswith("EDITED TEMPLATE")
    assert UP_TO_DATE in specrun()


def test_the_record_lists_what_the_run_read_and_wrote(project: Path, capsys):
    run(project, capsys)
    (path,) = records(project)
    record = read_record(path.parent.parent, path.stem)
    assert record is not None
    assert str(project) in record.inputs and str(project.parent / "grunfeld.csv") in record.inputs
    written = set(json.loads((project.parent / "out" / "manifest.json").read_text())["files"])
    assert set(record.outputs) == written
    assert (record.nodes, record.models, record.tables, record.figures) == (5, 2, 1, 0)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "wrong_key"])
def test_a_corrupt_record_is_recomputed_and_replaced(project: Path, capsys, damage: str):
    run(project, capsys)
    (path,) = records(project)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":  # edited in place: the checksum no longer holds
        assert b'"nodes": 5' in raw
        path.write_bytes(raw.replace(b'"nodes": 5', b'"nodes": 6'))
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    else:  # another run's intact record copied under this key
        header, body = raw.split(b"\n", 1)
        parts = header.split(b" ")
        parts[2] = b"0" * 64
        path.write_bytes(b" ".join(parts) + b"\n" + body)
    assert UP_TO_DATE not in run(project, capsys)
    # replaced by the recomputed run's record (its manifest, with new timings, is another)
    replaced = read_record(path.parent.parent, path.stem)
    assert replaced is not None and replaced.nodes == 5 and path.read_bytes() != raw
    assert UP_TO_DATE in run(project, capsys)


def test_no_cache_ignores_the_record(project: Path, capsys):
    run(project, capsys)
    assert UP_TO_DATE in run(project, capsys)
    out = run(project, capsys, "--no-cache")
    assert UP_TO_DATE not in out and "reused" not in out
    manifest = json.loads((project.parent / "out" / "manifest.json").read_text())
    assert manifest["cache"] == {"used": False}
    # and writes none: the cached run's record no longer matches the manifest just written
    assert UP_TO_DATE not in run(project, capsys)


def test_a_record_in_an_unwritable_cache_costs_nothing(project: Path, capsys):
    cache = project.parent / "cache"
    cache.mkdir()
    (cache / RECORD_FOLDER).write_text("a file where the records' folder belongs")
    assert UP_TO_DATE not in run(project, capsys, "--cache", str(cache))
    assert UP_TO_DATE not in run(project, capsys, "--cache", str(cache))
    assert output_files(project.parent / "out") == uncached(project)


def test_package_versions_from_folder_names_are_the_metadata_versions(tmp_path: Path, monkeypatch):
    """The versions in run keys and manifest.json, read from the metadata folders' names, are
    the ones ``importlib.metadata`` reads from the metadata files; a folder named without a
    version, or a package not installed, falls back to the metadata (or empty)."""
    from importlib.metadata import PackageNotFoundError, version

    from specrun import record

    def expected(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return ""

    found = dict(item.split("=", 1) for item in record.package_versions()[1:])
    assert found == {name: expected(name) for name in record.PACKAGES}
    # an earlier folder on the path wins, as in imports; versionless and egg-info names
    (tmp_path / "numpy-0.0.1.dist-info").mkdir()
    (tmp_path / "Py_YAML.egg-info").mkdir()
    (tmp_path / "Jinja2-9.9-py3.11.egg-info").mkdir()
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    listed = record._listed_versions()
    assert listed["numpy"] == "0.0.1" and listed["jinja2"] == "9.9"
    assert "py-yaml" not in listed
