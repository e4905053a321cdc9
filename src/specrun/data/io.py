"""Read a data source (CSV/TSV, Parquet, Excel, Stata, whitespace text) into a polars frame."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from specrun.errors import SpecError
from specrun.spec.models import GeneratedIndex, SourceSpec

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
    frame = _read(spec, folder)
    return _with_index(frame, spec.index, spec.path) if spec.index else frame


def _with_index(frame: pl.DataFrame, index: GeneratedIndex, path: str) -> pl.DataFrame:
    if frame.height % index.periods:
        raise SpecError(
            f"'{path}' has {frame.height} rows, not a multiple of {index.periods} periods",
            code="data",
        )
    rows = pl.int_range(0, pl.len(), dtype=pl.Int64)
    return frame.select(
        (rows // index.periods + 1).alias(index.entity),
        (rows % index.periods + index.start).alias(index.time),
        pl.all(),
    )


def _stata_years(frame: pl.DataFrame) -> pl.DataFrame:
    """Stata %ty years arrive from pandas as 1 January datetimes: give them back as integers."""
    for name, dtype in frame.schema.items():
        if dtype.is_temporal() and isinstance(dtype, pl.Datetime | pl.Date):
            column = frame[name]
            if ((column.dt.month() == 1) & (column.dt.day() == 1)).all():
                frame = frame.with_columns(column.dt.year().cast(pl.Int64).alias(name))
    return frame


def _read(spec: SourceSpec, folder: Path) -> pl.DataFrame:
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

            return _stata_years(pl.from_pandas(pd.read_stata(path, convert_categoricals=False)))
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
    index = [spec.index.entity, spec.index.time] if spec.index else []
    if fmt == "whitespace" and spec.columns:
        return [*index, *spec.columns]
    if fmt in ("csv", "tsv") and path.exists():
        try:
            header = pl.read_csv(path, n_rows=0, separator="," if fmt == "csv" else "\t")
            return [*index, *header.columns]
        except Exception as exc:
            raise SpecError(f"cannot read '{path}' as {fmt}: {exc}", code="data") from None
    return read_source(spec, folder).columns


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
