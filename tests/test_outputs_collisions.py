"""A user's own file or folder where a run writes one of its outputs: the run stops with a
message naming it, and nothing in the output folder is moved, merged or deleted."""

from __future__ import annotations

from pathlib import Path

from specrun.cli import main

SPEC = """\
spec_version: 1
data:
  sources:
    p: {path: p.csv}
  panel: {source: p, entity: firm, time: year}
models:
  m: {estimator: panel_fe, y: y, x: [x], absorb: [entity]}
tables:
  t: {kind: regression, columns: [m]}
outputs: {formats: [markdown]}
"""


def project(tmp_path: Path) -> Path:
    rows = "\n".join(
        f"F{i},{t},{(i * 7 + t) % 5},{(i * 3 + t * t) % 7}" for i in range(4) for t in range(5)
    )
    (tmp_path / "p.csv").write_text("firm,year,x,y\n" + rows + "\n", encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    return spec


def listing(folder: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def test_a_file_where_a_run_writes_a_folder(tmp_path, capsys):
    spec, out = project(tmp_path), tmp_path / "out"
    out.mkdir()
    (out / "tables").write_bytes(b"my notes")
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 2
    assert capsys.readouterr().err == (
        f"error: --out: '{out / 'tables'}' is a file, where this run writes the folder 'tables/' "
        "(rename or move that file)\n"
    )
    assert listing(out) == {"tables": b"my notes"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_where_a_run_writes_a_file(tmp_path, capsys):
    spec, out = project(tmp_path), tmp_path / "out"
    (out / "results.json").mkdir(parents=True)
    (out / "results.json" / "keep.txt").write_bytes(b"mine")
    assert main(["run", str(spec), "--out", str(out), "--no-cache"]) == 2
    assert capsys.readouterr().err == (
        f"error: --out: '{out / 'results.json'}' is a folder, where this run writes the file "
        "'results.json' (rename or move that folder)\n"
    )
    assert listing(out) == {"results.json": None, "results.json/keep.txt": b"mine"}


def test_the_spec_outputs_dir_is_located_in_the_spec(tmp_path, capsys):
    spec = project(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "tables").write_bytes(b"my notes")
    assert main(["run", str(spec), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:10:10: outputs.dir: '{tmp_path / 'out' / 'tables'}' is a file, where "
        "this run writes the folder 'tables/' (rename or move that file)\n"
    )


def test_names_differing_only_in_case_are_one_file_elsewhere(tmp_path, capsys):
    """Tables 'T1' and 't1' wrote tables/T1.tex and tables/t1.tex: on macOS and Windows one
    overwrote the other and a table was silently lost. Said at the later name, by validate
    and run alike; nothing is written."""
    spec = project(tmp_path)
    spec.write_text(
        SPEC.replace(
            "  t: {kind: regression, columns: [m]}\n",
            "  T1: {kind: regression, columns: [m]}\n  t1: {kind: regression, columns: [m]}\n",
        ),
        encoding="utf-8",
    )
    message = (
        f"error: {spec}:10:3: tables.t1: table 't1' and table 'T1' (line 9) differ only in "
        "case: on macOS and Windows, whose file names ignore case, tables/t1.* and tables/T1.* "
        "are one file (rename one of them)\n"
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == message
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert capsys.readouterr().err == message
    assert not (tmp_path / "out").exists()


def test_a_windows_device_name_is_no_file_name(tmp_path, capsys):
    """A table named 'aux' (an auxiliary regression) wrote tables/aux.tex, which Windows
    opens as the AUX device whatever the extension; so do con, nul, com1 … lpt9."""
    spec = project(tmp_path)
    spec.write_text(
        SPEC.replace("  t: {kind", "  aux: {kind")
        + "figures:\n  Com1: {kind: coefplot, models: [m], variable: x}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:9:3: tables.aux: table name 'aux' is a device name on Windows: its files "
        "(tables/aux.*) cannot be written there (choose another name, such as 'aux_table')\n"
        f"error: {spec}:12:3: figures.Com1: figure name 'Com1' is a device name on Windows: its "
        "files (figures/Com1.*) cannot be written there (choose another name, such as "
        "'Com1_figure')\n"
    )
