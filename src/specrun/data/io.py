"""Read a data source (CSV/TSV, Parquet, Excel, Stata, whitespace text) into a polars frame."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from specrun.errors import SpecError
from specrun.spec.models import SourceSpec

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "whitespace",
    ".dat": "whitespace",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
    ".dta": "stata",
}


def source_format(spec: SourceSpec) -> str:
    if spec.format:
        return spec.format
    suffix = Path(spec.path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise SpecError(
            f"cannot tell the format of '{spec.path}' from its extension",
            code="data",
            hint="add format: csv | tsv | parquet | excel | stata | whitespace",
        )
    return _EXTENSIONS[suffix]


def resolve(spec: SourceSpec, folder: Path) -> Path:
    path = Path(spec.path)
    return path if path.is_absolute() else folder / path


def read_source(spec: SourceSpec, folder: Path) -> pl.DataFrame:
    """The whole source as a frame; missing files and unreadable contents are data errors."""
    path = resolve(spec, folder)
    if not path.exists():
        raise SpecError(f"data file '{path}' not found", code="data")
    fmt = source_format(spec)
    try:
        if fmt in ("csv", "tsv"):
            return pl.read_csv(
                path,
                separator="," if fmt == "csv" else "\t",
                null_values=spec.null_values,
                infer_schema_length=None,
            )
        if fmt == "parquet":
            return pl.read_parquet(path)
        if fmt == "whitespace":
            return _read_whitespace(path, spec)
        if fmt == "stata":
            import pandas as pd

            return pl.from_pandas(pd.read_stata(path, convert_categoricals=False))
        return pl.read_excel(
            path,
            sheet_name=spec.sheet if isinstance(spec.sheet, str) else None,
            sheet_id=spec.sheet if isinstance(spec.sheet, int) else None,
        )
    except SpecError:
        raise
    except ImportError as exc:
        raise SpecError(f"reading '{path}' needs an optional package: {exc}", code="data") from None
    except Exception as exc:  # every reader's parse failure is the user's file, not a bug
        raise SpecError(f"cannot read '{path}' as {fmt}: {exc}", code="data") from None


def _read_whitespace(path: Path, spec: SourceSpec) -> pl.DataFrame:
    import numpy as np

    values = np.loadtxt(path, ndmin=2)
    names = spec.columns or [f"column_{i + 1}" for i in range(values.shape[1])]
    if len(names) != values.shape[1]:
        raise SpecError(
            f"'{path}' has {values.shape[1]} columns but the spec names {len(names)}", code="data"
        )
    return pl.DataFrame({name: values[:, i] for i, name in enumerate(names)})


def read_columns(spec: SourceSpec, folder: Path) -> list[str]:
    """A source's column names, reading as little as the format allows."""
    fmt = source_format(spec)
    path = resolve(spec, folder)
    if fmt == "whitespace" and spec.columns:
        return list(spec.columns)
    if fmt in ("csv", "tsv") and path.exists():
        try:
            return pl.read_csv(path, n_rows=0, separator="," if fmt == "csv" else "\t").columns
        except Exception as exc:
            raise SpecError(f"cannot read '{path}' as {fmt}: {exc}", code="data") from None
    return read_source(spec, folder).columns


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
