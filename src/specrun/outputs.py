"""Write a run's outputs: tables in every format, tables.tex, figures, results/manifest JSON.

Everything is rendered in memory first; then every file is written under a temporary name and,
only once all of them are written, each is renamed over its target. A run that fails leaves the
previous outputs as they were.
"""

from __future__ import annotations

import io
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from specrun import __version__
from specrun.data.io import HASH_NAME, file_hash
from specrun.errors import SpecError
from specrun.execute import RunOutput
from specrun.plan.nodes import Plan
from specrun.spec.validate import Spec

PACKAGES = (
    "numpy",
    "scipy",
    "polars",
    "pandas",
    "linearmodels",
    "pydantic",
    "jinja2",
    "matplotlib",
)


@dataclass(frozen=True)
class OutputFile:
    relative: str
    content: bytes


def _staged(folder: Path, files: list[OutputFile]) -> list[tuple[Path, Path]]:
    """Write every file under a temporary name beside its target; (temporary, target) pairs."""
    staged: list[tuple[Path, Path]] = []
    try:
        for item in files:
            target = folder / item.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((Path(temp), target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(item.content)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    return staged


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()


def results_json(spec: Spec, run: RunOutput) -> dict[str, Any]:
    return {
        "specrun_version": __version__,
        "spec": spec.document.file,
        "models": {name: r.to_json() for name, r in run.results.models.items()},
    }


def manifest_json(spec: Spec, plan: Plan, run: RunOutput) -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    seeds = {
        name: model.spec.seed
        for name, model in spec.models.items()
        if getattr(model.spec, "seed", None) is not None
    }
    return {
        "specrun_version": __version__,
        "spec": spec.document.file,
        f"spec_{HASH_NAME}": file_hash(Path(spec.document.file)),
        "data": {
            name: {"path": source.path, HASH_NAME: plan.data_hashes[name]}
            for name, source in spec.data.sources.items()
        },
        "python": platform.python_version(),
        "packages": versions,
        "seeds": seeds,
        "plan": {n.id: n.hash for n in plan.nodes},
        "rows": run.model_rows,
        # the only run-to-run difference between two runs' outputs: seconds per plan step
        "timings": {node: round(seconds, 4) for node, seconds in run.timings.items()},
        "notes": run.notes,
        "warnings": run.warnings,
    }


def _figure_bytes(figure: Any, fmt: str) -> bytes:
    buffer = io.BytesIO()
    metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
    figure.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
    return buffer.getvalue()


def _parquet(frame: Any) -> bytes:
    """Parquet bytes with no writer timestamp, so reruns give the same file (zstd, statistics)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def render_outputs(spec: Spec, plan: Plan, run: RunOutput) -> list[OutputFile]:
    """Every output file's bytes; only ``manifest.json`` (its timings) differs between reruns."""
    from specrun.render import FORMATS, render_document, render_table

    files: list[OutputFile] = []
    tables = list(run.tables.values())
    for fmt in spec.outputs.formats:
        extension = FORMATS.get(fmt).extension
        for table in tables:
            files.append(
                OutputFile(f"tables/{table.name}.{extension}", render_table(table, fmt).encode())
            )
    if tables and "latex" in spec.outputs.formats:
        files.append(
            OutputFile(
                "tables.tex",
                render_document(
                    tables, "latex", title=spec.title or Path(spec.document.file).stem
                ).encode(),
            )
        )
    for name, figure in run.figures.items():
        for fmt in ("png", "pdf"):
            files.append(OutputFile(f"figures/{name}.{fmt}", _figure_bytes(figure, fmt)))
    files.append(OutputFile("results.json", _json(results_json(spec, run))))
    files.append(OutputFile("manifest.json", _json(manifest_json(spec, plan, run))))
    if spec.outputs.analysis == "parquet":
        files.append(OutputFile("analysis.parquet", _parquet(run.analysis)))
    elif spec.outputs.analysis == "csv":
        csv = run.analysis.write_csv(float_precision=None)
        files.append(OutputFile("analysis.csv", csv.encode()))
    return files


def write_outputs(folder: Path, files: list[OutputFile]) -> None:
    """Stage every file first (a full disk or a bad folder fails before anything is replaced),
    then rename each over its target, which is atomic per file."""
    try:
        staged = _staged(folder, files)
    except OSError as exc:
        where = exc.filename or folder
        raise SpecError(f"cannot write to '{where}': {exc.strerror or exc}", code="data") from None
    for temp, target in staged:
        os.replace(temp, target)
