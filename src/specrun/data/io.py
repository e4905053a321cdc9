"""Read a data source (CSV/TSV, Parquet, Excel, Stata, whitespace text) into a polars frame."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specrun.errors import SpecError, did_you_mean
from specrun.record import HASH_NAME as HASH_NAME
from specrun.record import hash_file
from specrun.spec.models import GeneratedIndex, SourceSpec

if TYPE_CHECKING:  # reading a file imports polars: validating a spec reads CSV headers without it
    import polars as pl

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
    """The format a source is read as: ``format:``, else its extension's. A ``separator:`` on
    a .txt or .dat file (whitespace-separated numbers by default) makes it delimited text with
    a header: TSV for a tab, CSV otherwise. Raises ``SpecError`` for an unknown extension."""
    if spec.format:
        return spec.format
    suffix = Path(spec.path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise SpecError(
            f"cannot tell the format of '{spec.path}' from its extension",
            code="data",
            hint="add format: csv | tsv | parquet | excel | stata | whitespace",
        )
    if _EXTENSIONS[suffix] == "whitespace" and spec.separator is not None:
        return "tsv" if spec.separator == "\t" else "csv"
    return _EXTENSIONS[suffix]


def field_separator(spec: SourceSpec, fmt: str) -> str:
    """The character separating a CSV/TSV source's fields: its ``separator:``, else ',' for
    CSV and a tab for TSV."""
    if spec.separator is not None:
        return spec.separator
    return "," if fmt == "csv" else "\t"


def resolve(spec: SourceSpec, folder: Path) -> Path:
    path = Path(spec.path)
    return path if path.is_absolute() else folder / path


def _not_found(spec: SourceSpec, path: Path, folder: Path) -> SpecError:
    """Where the path was looked for, and what is there instead."""
    where = (
        f"'{spec.path}' not found"
        if Path(spec.path).is_absolute()
        else f"'{spec.path}' not found (relative paths are read from the spec's folder "
        f"'{folder}', so this is '{os.path.normpath(path)}')"
    )
    parent = path.parent
    hint = None
    if parent.is_dir():
        names = sorted(p.name for p in parent.iterdir() if p.is_file())
        hint = did_you_mean(path.name, names)
        if hint is None and names:
            shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
            hint = f"that folder holds: {shown}"
    else:
        hint = f"the folder '{os.path.normpath(parent)}' does not exist"
    return SpecError(f"data file {where}", code="data", hint=hint)


def clean_header(name: str) -> str:
    """A column name as users mean it: full-width letters, digits and brackets folded to
    ASCII (NFKC: ``ＧＤＰ（亿元）`` → ``GDP(亿元)``), surrounding spaces (also U+3000) dropped."""
    return unicodedata.normalize("NFKC", name).strip()


# what a file's first bytes say it is, whatever its name: a workbook saved as .csv was told to
# add encoding: gb18030, a CSV named .xlsx got calamine's "Cannot detect file format"
_MAGIC = (
    (b"PK\x03\x04", "excel", "an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0", "excel", "an old Excel workbook (.xls)"),
    (b"PAR1", "parquet", "a Parquet file"),
    (b"<stata_dta>", "stata", "a Stata dataset (.dta)"),
    (b"\x1f\x8b", "gzip", "a gzip archive"),
)
_FORMAT_WORDS = {
    "csv": "CSV text",
    "tsv": "TSV text",
    "whitespace": "text",
    "excel": "an Excel workbook",
    "parquet": "a Parquet file",
    "stata": "a Stata dataset",
}
_TEXT_FORMATS = ("csv", "tsv", "whitespace")
_DELIMITED = (("csv", b","), ("tsv", b"\t"))
_RIGHT_EXTENSION = {"excel": ".xlsx", "parquet": ".parquet", "stata": ".dta", "csv": ".csv"}


def sniffed_format(path: Path) -> tuple[str, str] | None:
    """The format (and its description) that ``path``'s first bytes show, or None when they
    show none: a workbook, Parquet or Stata file by its signature; text (read as CSV) when its
    first kilobytes hold no NUL byte. Never raises."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    for magic, fmt, words in _MAGIC:
        if head.startswith(magic):
            return fmt, words
    if head[:1] in (b"\x71", b"\x72", b"\x73") and head[1:2] in (b"\x01", b"\x02"):
        return "stata", "a Stata dataset (.dta)"  # formats 113–115: version, byte order
    if head and b"\x00" not in head:
        return "csv", "a text file"
    return None


def _delimited_hint(path: Path) -> str | None:
    """For a .txt or .dat file read as whitespace-separated numbers: the format to set when
    its first line is comma- or tab-separated (a CSV file with a header), else None."""
    try:
        with path.open("rb") as handle:
            first = handle.read(4096).split(b"\n", 1)[0]
    except OSError:
        return None
    return next((f"set format: {f} on the source" for f, sep in _DELIMITED if sep in first), None)


def mismatched_format(spec: SourceSpec, path: Path, fmt: str) -> SpecError | None:
    """The error for a file whose bytes are another format than the one it is read as (its
    extension's, or ``format:``'s), or None."""
    found = sniffed_format(path)
    if found is None or found[0] == fmt or (found[0] == "csv" and fmt in _TEXT_FORMATS):
        return None
    said = "format:" if spec.format else "extension"
    hint = (
        "unpack it (gunzip) and name the file inside"
        if found[0] == "gzip"
        else f"set format: {found[0]} on the source, or name the file {_RIGHT_EXTENSION[found[0]]}"
    )
    return SpecError(
        f"'{path}' is {found[1]}, not {_FORMAT_WORDS[fmt]} as its {said} says",
        code="data",
        hint=hint,
    )


def _decode(raw: bytes, spec: SourceSpec, path: Path) -> str:
    """A text file's contents: in its declared encoding, else UTF-8 (a BOM is dropped); an
    undecodable file names the encodings it most likely is."""
    encoding = spec.encoding or "utf-8-sig"
    if encoding == "utf-8":
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        other = mismatched_format(spec, path, "csv")
        if other is not None:
            raise other from None
        line = raw[: exc.start].count(b"\n") + 1
        guesses = _likely_encodings(raw)
        hint = (
            "add encoding: "
            + guesses[0]
            + " to the source"
            + (f" (or try {', '.join(guesses[1:])})" if len(guesses) > 1 else "")
            if guesses
            else "add encoding: to the source (e.g. gb18030, gbk, big5, latin-1)"
        )
        declared = spec.encoding or "UTF-8"
        raise SpecError(
            f"'{path}' is not {declared} text (byte 0x{raw[exc.start]:02x} on line {line})",
            code="data",
            hint=hint,
        ) from None


def _likely_encodings(raw: bytes) -> list[str]:
    from charset_normalizer import from_bytes

    found = []
    for match in from_bytes(raw[: 1 << 20]):
        for name in (match.encoding, *match.could_be_from_charset):
            if name not in found and name not in ("utf_8", "ascii"):
                found.append(name)
    found = [name for name in found if _decodes(raw, name)]
    # a single-byte code page decodes any bytes: once a multi-byte East Asian encoding reads
    # the file too, it is that, and a Central European code page would only mislead
    if any(name in _EAST_ASIAN for name in found):
        found = [name for name in found if name in _EAST_ASIAN]
    # GB18030 is a superset of GBK and GB2312: the safe choice for Chinese files, whose
    # bytes often also read (wrongly) as a Japanese or Korean encoding
    if any(name in ("gbk", "gb2312", "gb18030") for name in found):
        found = ["gb18030", *[n for n in found if n in _CHINESE and n != "gb18030"]]
    return found[:4]


_CHINESE = frozenset(("gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950"))
_EAST_ASIAN = _CHINESE | {
    *("euc_jp", "shift_jis", "cp932", "euc_jis_2004", "shift_jis_2004", "iso2022_jp"),
    *("euc_kr", "cp949", "johab"),
}


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _csv_header(text: str, separator: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=separator), [])
    return [clean_header(name) for name in first]


def _check_header(names: list[str], path: Path, line: int = 1, *, blanks: bool = False) -> None:
    """Header names are distinct and not blank; ``line`` is the header's line in the file.
    With ``blanks``, blank names pass: the caller drops their columns if they hold no data
    (``_without_blank_columns``)."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if not name and blanks:
            continue
        if name in seen:
            raise SpecError(
                f"'{path}' has two columns named '{name}' (columns {seen[name]} and {i} of line "
                f"{line})",
                code="data",
                hint="rename one of them in the file",
            )
        seen[name] = i
        if not name:
            raise SpecError(
                f"'{path}': column {i} of line {line} has no name",
                code="data",
                hint="name it"
                + ("" if line > 1 else ", or name the header's row with header_row:"),
            )


def _skip_lines(data: bytes, count: int, path: Path) -> bytes:
    """The file from its line ``count + 1`` on: the lines above a header (``header_row:``)."""
    for _ in range(count):
        cut = data.find(b"\n")
        if cut < 0:
            raise SpecError(
                f"'{path}' has fewer than {count + 1} lines, so no header on line {count + 1}",
                code="data",
                hint="correct header_row: on the source",
            )
        data = data[cut + 1 :]
    return data


def _utf8(raw: bytes, spec: SourceSpec, path: Path) -> bytes:
    """The file's bytes as UTF-8 for polars. A UTF-8 file is only checked (ASCII needs no
    decoding at all) and handed over as it is, byte-order mark included (polars drops it);
    another declared encoding is decoded and re-encoded, since polars reads UTF-8 only.
    Raises the located ``SpecError`` of ``_decode`` when the bytes are not in the encoding."""
    if (spec.encoding or "utf-8") in ("utf-8", "utf-8-sig"):
        if not raw.isascii():
            _decode(raw, spec, path)
        return raw
    return _decode(raw, spec, path).encode()


_ROW_BLOCK = 1 << 24  # 16 MiB of the file per numpy pass: bounded memory on large files


def _separator_counts_agree(data: bytes, separator: str, width: int) -> bool:
    """Whether every non-blank line after the header holds exactly ``width - 1`` separators
    outside double quotes, counted by numpy (a separator, quote or line-end byte never occurs
    inside a multi-byte UTF-8 character). A line with an odd number of quotes (a quoted line
    break, or a stray quote) gives False, as does a ragged row: False asks the caller to
    count fields as the csv module does."""
    import numpy as np

    buffer = np.frombuffer(data, dtype=np.uint8)
    start, size, mark = data.find(b"\n") + 1, len(data), ord(separator)
    if start == 0:
        return True  # the header alone
    while start < size:
        stop = size
        if start + _ROW_BLOCK < size:
            cut = data.rfind(b"\n", start, start + _ROW_BLOCK)
            stop = cut + 1 if cut >= 0 else (data.find(b"\n", start + _ROW_BLOCK) + 1 or size)
        block = buffer[start:stop]
        ends = np.flatnonzero(block == 10)
        if ends.size == 0 or ends[-1] != block.size - 1:
            ends = np.append(ends, block.size)  # a last line without a line end
        marks = np.flatnonzero(block == mark)
        quotes = np.flatnonzero(block == ord('"'))
        if quotes.size:
            if np.any(np.diff(np.searchsorted(quotes, ends), prepend=0) % 2):
                return False
            # every line opens and closes its quotes, so an odd number of quotes before a
            # separator in the block means it lies inside a quoted field
            marks = marks[np.searchsorted(quotes, marks) % 2 == 0]
        counts = np.diff(np.searchsorted(marks, ends), prepend=0)
        lengths = np.diff(ends, prepend=-1) - 1
        last = block[np.clip(ends - 1, 0, max(block.size - 1, 0))]
        blank = (lengths == 0) | ((lengths == 1) & (last == 13))
        if np.any((counts != width - 1) & ~blank):
            return False
        start = stop
    return True


def _check_row_lengths(data: bytes, separator: str, width: int, path: Path) -> None:
    """Every row has as many fields as the header: a short row would otherwise be read with
    its last cells silently missing, a long one with cells shifted. Separators are counted
    per line in numpy; only a file where some count differs is read by Python's csv module,
    which counts fields as CSV defines them (quotes) and names the first ragged row."""
    if not width or _separator_counts_agree(data, separator, width):
        return
    text = data.decode("utf-8-sig")
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=separator)):
        if row and len(row) != width and number:
            raise SpecError(
                f"{path}: row {number} has {len(row)} fields, the header {width} (rows count "
                "data rows from 1, after the header)",
                code="data",
                hint="a separator inside a value needs quotes around the value",
            )


def _read_text_table(path: Path, spec: SourceSpec, fmt: str) -> pl.DataFrame:
    """A CSV/TSV file in its declared encoding, headers folded (``clean_header``), every row
    checked for the header's width, and column types from the first ``spec.infer_rows`` rows.

    Inferring from the whole file costs a second pass (2.8 s against 0.23 s at 2M rows), so
    the types are guessed from a prefix, as polars, pandas and Stata's ``import delimited`` do.
    A later cell that does not fit its column's guessed type is located (file, line, column)
    by re-reading that column as text, and reported with the option that reads more rows.
    Raises ``SpecError`` (code ``data``) for undecodable bytes, a bad header, a ragged row or
    such a cell.
    """
    import polars as pl

    separator = field_separator(spec, fmt)
    data = _utf8(path.read_bytes(), spec, path)
    if b"\r" in data and b"\n" not in data:  # classic Mac line ends: CR only
        data = data.replace(b"\r", b"\n")
    data = _skip_lines(data, spec.header_row - 1, path)
    cut = data.find(b"\n")
    names = _csv_header(data[: cut if cut >= 0 else len(data)].decode("utf-8-sig"), separator)
    _check_header(names, path, spec.header_row, blanks=True)
    rows = None if spec.infer_rows == "all" else spec.infer_rows
    # with a decimal comma every column is read as text and typed by ``destring``, which reads
    # a cell with a '.' as no number: polars' decimal_comma types from the first rows alone
    # and then reads a later '1.234' as 1.234 (a '.' in the prefix keeps the column text),
    # where a file written with decimal commas means 1234 or nothing (polars 2.1)
    comma = spec.decimal == ","
    codes = {} if comma else _leading_zero_codes(data, separator, spec, rows)
    try:
        frame = pl.read_csv(
            data,
            separator=separator,
            null_values=spec.null_values,
            infer_schema_length=rows,
            infer_schema=not comma,
            schema_overrides=codes or None,
        )
    except pl.exceptions.PolarsError as exc:
        # polars refuses a row with more fields than the header: name it first
        _check_row_lengths(data, separator, len(names), path)
        if rows is None or not isinstance(exc, pl.exceptions.ComputeError):
            raise
        broken = _type_break(data, path, names, spec, separator, rows, str(exc))
        if broken is None:
            raise
        raise broken from None
    # polars fills a row with fewer fields than the header with nulls, so only a file whose
    # last column has a missing cell can hold a short row: the others skip counting every
    # line's separators (a pass over the whole file, 2 s of a 4M-row file's 6 s)
    if frame.width and frame[:, -1].null_count():
        _check_row_lengths(data, separator, len(names), path)
    return _without_blank_columns(frame, names, path, spec.header_row)


def _without_blank_columns(
    frame: pl.DataFrame, names: list[str], path: Path, line: int
) -> pl.DataFrame:
    """``frame`` with its columns named ``names``, but those without a name and without data
    dropped: the empty columns a spreadsheet's CSV export adds after the last one (a trailing
    comma on every line), as the Excel reader drops them. A blank-named column holding data
    is an error naming it (``_check_header``)."""
    keep = []
    for i, name in enumerate(names):
        if name:
            keep.append(i)
        elif frame[:, i].null_count() < frame.height:
            _check_header(names, path, line)  # raises: column i + 1 has no name
    frame = frame.select(frame.columns[i] for i in keep)
    return frame.rename(dict(zip(frame.columns, [names[i] for i in keep], strict=True)))


def _leading_zero_codes(
    data: bytes, separator: str, spec: SourceSpec, rows: int | None
) -> dict[str, pl.DataType]:
    """Columns to be read as text: codes written with leading zeros (stock codes 000001,
    region codes 0101), and numbers written with full-width digits (``destring`` folds them);
    codes are read as text, as an Excel or Stata text column of such codes is: read as integers,
    000001 would become 1, printed so and matching no '000001' of another source or of a
    sample's ``exclude:``. A column is such codes when, in the rows that decide its type, every
    cell is digits and one starts with 0 followed by a digit. Keyed by the file's own header
    names (``schema_overrides`` of the read)."""
    import polars as pl

    try:
        prefix = pl.read_csv(
            data,
            separator=separator,
            null_values=spec.null_values,
            infer_schema=False,
            n_rows=min(rows or 10_000, 10_000),
        )
    except pl.exceptions.PolarsError:
        return {}  # a ragged row: the full read names it
    codes: dict[str, pl.DataType] = {}
    for name in prefix.columns:
        column = prefix[name].drop_nulls().str.strip_chars()
        if (
            column.len()
            and column.str.contains(r"^0[0-9]").any()
            and column.str.contains(r"^[0-9]+$").all()
        ) or column.str.contains(FULL_WIDTH_DIGIT).any():
            # full-width digits: polars takes them for a number's and then cannot parse them
            # (the whole file unreadable); read as text, ``destring`` folds them
            codes[name] = pl.String()
    return codes


def _type_break(
    data: bytes,
    path: Path,
    names: list[str],
    spec: SourceSpec,
    separator: str,
    rows: int,
    message: str,
) -> SpecError | None:
    """The first cell after the inferred prefix that its column's type cannot hold, as an error
    at its line (header = line 1) and column; None when no such cell is found. ``names`` are
    the folded header names, in the file's column order."""
    import polars as pl

    guessed = pl.scan_csv(
        data, separator=separator, null_values=spec.null_values, infer_schema_length=rows
    ).collect_schema()
    named = re.search(r"at column '(.+?)'", message)
    suspects = [named.group(1)] if named and named.group(1) in guessed else list(guessed)
    suspects = [c for c in suspects if guessed[c] != pl.String]
    if not suspects:
        return None
    text = pl.read_csv(
        data,
        separator=separator,
        null_values=spec.null_values,
        infer_schema=False,
        columns=suspects,
    )
    first: tuple[int, str, str] | None = None
    for name in suspects:
        column = text[name]
        bad = column.is_not_null() & column.cast(guessed[name], strict=False).is_null()
        found = bad.arg_true()
        if found.len() and (first is None or found[0] < first[0]):
            first = (int(found[0]), name, str(column[int(found[0])]))
    if first is None:
        return None
    row, name, value = first
    col = list(guessed).index(name)
    return SpecError(
        f"column '{names[col]}' holds '{value}' in data row {row + 1}, which is not "
        f"{guessed[name]} as its first {rows} rows suggested",
        code="data",
        file=str(path),
        line=row + 1 + spec.header_row,
        col=col + 1,
        hint="add 'infer_rows: all' (or a larger number) to the source, or correct the cell",
    )


def read_source(spec: SourceSpec, folder: Path) -> pl.DataFrame:
    """The whole source as a frame; missing files and unreadable contents are data errors."""
    import polars as pl
    import polars.selectors as cs

    frame, exact = _read(spec, folder)
    names = [clean_header(str(name)) for name in frame.columns]
    if names != frame.columns:
        _check_header(names, resolve(spec, folder), spec.header_row)
        renamed = dict(zip(frame.columns, names, strict=True))
        frame = frame.rename(renamed)
        if exact is not None:
            exact = exact.rename({name: renamed[name] for name in exact.columns})
    frame = destring(frame, spec, exact)
    # a NaN cell ("NaN" in a CSV, a float NaN in parquet) is a missing value, as pandas, R and
    # Stata read it; left a NaN it passes the complete-case filter and poisons every fit
    frame = frame.with_columns(cs.float().fill_nan(None))
    # a column without any value has no type to infer, and the readers call it text: it is a
    # numeric column of missing values, as Stata's import and pandas read it (as text it was
    # "String, not numeric" wherever a model or transform read it)
    empty = [c for c, t in frame.schema.items() if t in (pl.String, pl.Null)]
    empty = [c for c in empty if frame[c].null_count() == frame.height]
    if empty and frame.height:
        frame = frame.with_columns(pl.col(empty).cast(pl.Float64))
    return _with_index(frame, spec.index, spec.path) if spec.index else frame


# a full-width digit (U+FF10–FF19), as a Chinese input method types it
FULL_WIDTH_DIGIT = "[\uff10-\uff19]"


def destring(
    frame: pl.DataFrame, spec: SourceSpec, exact: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Text columns that hold numbers, read as numbers, as Stata's ``destring`` does.

    A text cell equal to one of ``spec.null_values`` (spaces around it ignored) becomes missing
    in every format (the CSV reader matches the codes only as written, so a CSV cell of spaces
    or ``' NA '`` reaches here as text). A text
    column is then read as numbers when every cell left is a number once the ``thousands:``
    separator and the ``ignore:`` texts (``年``) are removed and, with ``percent: true``, a
    trailing ``%`` read as 1/100; a column of codes with a leading zero (``'001'``, stock codes)
    stays text unless such a missing-value code, separator, ignored text or ``%`` was there.
    ``exact`` holds, for an Excel sheet, the same columns read as numbers (null where a cell is
    text): a number cell in a column that also holds text reaches ``frame`` as text with at most
    9 decimals (1e-20 as '0'), so its value is taken from ``exact``. Integers stay Int64;
    anything else is Float64. Returns the frame with such columns replaced; never raises.
    """
    import polars as pl

    # the CSV reader matched the missing-value codes exactly and typed every column of
    # numbers; a text column left is read here as Excel's are: codes and numbers with spaces
    # around them (' 12.5', '   ' for missing) are what a spreadsheet's export writes
    nulls = list(spec.null_values)
    text_file = source_format(spec) in ("csv", "tsv")
    plain = spec.thousands is None and not spec.percent and not spec.ignore and spec.decimal == "."
    replaced = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        raw = frame[name]
        text = raw.str.strip_chars()
        if text_file and plain and _names_as_read(raw, text) and not _full_width_number(text):
            continue
        # numbers typed with a Chinese input method's full-width digits (１２.５) read as
        # numbers, as full-width header names are folded (NFKC); looked for only in the
        # columns read on, not in names and labels (a scan of every cell)
        folded = bool(raw.str.contains(FULL_WIDTH_DIGIT).any())
        if folded:
            raw = raw.str.normalize("NFKC")
            text = raw.str.strip_chars()
        column = text.set(text.is_in(nulls), None) if nulls else raw
        changed = folded or column.null_count() > frame[name].null_count()
        numbers = column
        if spec.thousands is not None:
            numbers = numbers.str.replace_all(spec.thousands, "", literal=True)
        for text_ in spec.ignore:  # destring, ignore("年")
            numbers = numbers.str.replace_all(text_, "", literal=True)
        if spec.decimal == ",":
            numbers = decimal_point(numbers)
        scale = None
        if spec.percent:
            share = numbers.str.ends_with("%")
            numbers = numbers.str.strip_suffix("%").str.strip_chars()
            scale = share.fill_null(False)
        changed = changed or (numbers.str.strip_chars() != column.str.strip_chars()).any()
        codes = column.str.contains(r"^[-+]?0[0-9]").any()
        parsed = numbers.str.strip_chars().cast(pl.Float64, strict=False)
        if scale is not None:  # divided, not times 0.01: '12.5%' is 0.125 exactly
            parsed = pl.select(pl.when(scale).then(parsed / 100).otherwise(parsed)).to_series()
        if exact is not None and name in exact.columns:
            parsed = exact[name].cast(pl.Float64).fill_null(parsed).set(column.is_null(), None)
        if (changed or not codes) and parsed.null_count() == column.null_count() and column.len():
            integral = parsed.drop_nulls()
            if scale is None and integral.len() and (integral == integral.round()).all():
                # digits read as integers directly: through a float, an 18-digit identifier
                # (read as text under decimal: ',') would lose its last digits
                whole = numbers.str.strip_chars().cast(pl.Int64, strict=False)
                exact_digits = exact is None and whole.null_count() == column.null_count()
                parsed = whole if exact_digits else parsed.cast(pl.Int64)
            replaced.append(parsed.alias(name))
        elif nulls and column.null_count() > frame[name].null_count():
            replaced.append(column.alias(name))
    return frame.with_columns(replaced) if replaced else frame


def decimal_point(numbers: pl.Series) -> pl.Series:
    """Text numbers written with a decimal comma ('3,14', thousands separators already
    removed), rewritten with a decimal point for a cast to read: a cell that holds a '.' is
    made no number ('3.14' under decimal: ',' could be 3.14 or 314), as polars' decimal_comma
    reads it while it infers a column's type (though not after). Never raises."""
    return numbers.str.replace_all(".", "x", literal=True).str.replace(",", ".", literal=True)


def _full_width_number(stripped: pl.Series) -> bool:
    """Whether a text column's first cell is a number typed with full-width digits (``１２.５``,
    a number once folded as NFKC folds it): such a column is read on as numbers, where a first
    cell of other text marks a column of names."""
    first = stripped.drop_nulls().head(1).to_list()
    if not first or re.search(FULL_WIDTH_DIGIT, first[0]) is None:
        return False
    try:
        float(unicodedata.normalize("NFKC", first[0]))
    except ValueError:
        return False
    return True


def _names_as_read(column: pl.Series, stripped: pl.Series) -> bool:
    """Whether a CSV text column stays as the reader left it: no cell padded with spaces (the
    reader matched the missing-value codes exactly) and a first cell that is no number (so
    not every cell is one). Names and labels, most text columns, skip the rest of
    ``destring``: 8M cells of an export table's keys at 4M rows."""
    import polars as pl

    if not (stripped == column).all():
        return False
    first = stripped.drop_nulls().head(1)
    return bool(first.len()) and first.cast(pl.Float64, strict=False).null_count() == 1


def _with_index(frame: pl.DataFrame, index: GeneratedIndex, path: str) -> pl.DataFrame:
    import polars as pl

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
    """Years stored as dates arrive as 1 January datetimes (Stata %ty through pandas; an Excel
    column of years typed as dates): give them back as integers."""
    import polars as pl

    for name, dtype in frame.schema.items():
        if dtype.is_temporal() and isinstance(dtype, pl.Datetime | pl.Date):
            column = frame[name]
            if ((column.dt.month() == 1) & (column.dt.day() == 1)).all():
                frame = frame.with_columns(column.dt.year().cast(pl.Int64).alias(name))
    return frame


def _read(spec: SourceSpec, folder: Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The source as read, and for an Excel sheet its text columns read as numbers
    (``destring``'s ``exact``)."""
    import polars as pl

    path = resolve(spec, folder)
    if not path.is_file():
        raise _not_found(spec, path, folder)
    fmt = source_format(spec)
    try:
        if fmt in ("csv", "tsv"):
            return _read_text_table(path, spec, fmt), None
        if fmt == "parquet":
            return pl.read_parquet(path), None
        if fmt == "whitespace":
            return _read_whitespace(path, spec), None
        if fmt == "stata":
            import pandas as pd

            frame = pl.from_pandas(pd.read_stata(path, convert_categoricals=False))
            return _stata_years(_stata_text(frame, path, spec)), None
        return _read_excel(path, spec)
    except SpecError:
        raise
    except ImportError as exc:
        raise SpecError(f"reading '{path}' needs an optional package: {exc}", code="data") from None
    except Exception as exc:  # every reader's parse failure is the user's file, not a bug
        other = mismatched_format(spec, path, fmt)
        if other is not None:
            raise other from None
        # a reader's first line says what failed; the rest is its own context ("Context: 0:
        # Could not open workbook at …")
        detail = str(exc).strip().split("\n", 1)[0]
        hint = _delimited_hint(path) if fmt == "whitespace" else None
        raise SpecError(
            f"cannot read '{path}' as {fmt}: {detail}", code="data", hint=hint
        ) from None


# Stata 14 (format 118) and later write text as UTF-8; older formats keep the encoding of the
# computer that wrote them, which pandas reads as latin-1 (one character per byte)
STATA_UTF8_FORMAT = 118


def stata_format(path: Path) -> int:
    """A Stata file's format number: ``<release>118</release>`` in the header of formats 117
    and later, the first byte in older ones (113 for Stata 8/9, 114 for 10/11, 115 for 12)."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"<stata_dta>"):
        found = re.search(rb"<release>(\d+)</release>", head)
        return int(found.group(1)) if found else 0
    return head[0] if head else 0


def _recoded(text: str, encoding: str) -> str:
    """Text pandas read as latin-1 from a file written in ``encoding``: the same bytes, read
    again (latin-1 maps every byte to one character, so nothing is lost on the way)."""
    return text.encode("latin-1").decode(encoding)


def _stata_text(frame: pl.DataFrame, path: Path, spec: SourceSpec) -> pl.DataFrame:
    """A Stata file's text columns in their encoding.

    A file of Stata 13 or older (format below 118) holds its text in the encoding of the
    computer that wrote it (GBK on Chinese Windows), which the file does not record: with
    ``encoding:`` the text is read in it, as Stata 14's ``unicode translate`` does once
    ``unicode encoding set`` names it; without, text that looks like an East Asian encoding
    read as latin-1 ('¶«²¿' for 东部) is an error naming the encoding (as a CSV file's is),
    other text is read as latin-1 (Western European files). A Stata 14 or later file is UTF-8:
    ``encoding:`` on it is an error. Raises ``SpecError`` (code ``data``)."""
    import polars as pl

    version = stata_format(path)
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if version >= STATA_UTF8_FORMAT:
        if spec.encoding is not None:
            raise SpecError(
                f"'{path}' is a Stata 14 or later file (format {version}), whose text is UTF-8: "
                "encoding: is for files of Stata 13 and older",
                code="data",
                hint="remove encoding: from the source",
            )
        return frame
    values = {
        name: [
            v
            for v in frame[name].unique(maintain_order=True).drop_nulls().to_list()
            if not v.isascii()
        ]
        for name in texts
    }
    values = {name: found for name, found in values.items() if found}
    if not values:
        return frame
    if spec.encoding is None:
        raw = "\n".join(v for found in values.values() for v in found).encode("latin-1")
        guesses = _likely_encodings(raw)
        if guesses and guesses[0] in _EAST_ASIAN:
            sample = next(iter(values.values()))[0]
            raise SpecError(
                f"'{path}' is a file of Stata 13 or older (format {version}), whose text is in "
                f"the encoding of the computer that wrote it: read as latin-1 it is "
                f"'{sample[:12]}', read as {guesses[0]} '{_recoded(sample, guesses[0])[:12]}'",
                code="data",
                hint=f"add encoding: {guesses[0]} to the source",
            )
        return frame
    replaced = []
    for name, found in values.items():
        try:
            mapping = {v: _recoded(v, spec.encoding) for v in found}
        except UnicodeDecodeError:
            raise SpecError(
                f"the text of column '{name}' in '{path}' is not {spec.encoding}",
                code="data",
                hint="add the encoding that wrote the file (e.g. gb18030, big5, cp1252)",
            ) from None
        replaced.append(pl.col(name).replace(mapping))
    return frame.with_columns(replaced)


@dataclass(frozen=True)
class DataLabels:
    """The labels a data file carries for its columns: a Stata file's variable labels
    (``label variable gdppc "GDP per capita"``) and, for each numeric column with a value-label
    set (``label values regcode region``), its codes' labels.

    ``variables`` maps a column (its name as read, ``clean_header``) to its label; ``values``
    maps a column to ``{code: label}``, the code written as a factor level is (``"2"``: the
    integer's digits, ``specrun.data.design``). Codes the set leaves unlabelled are absent.
    Empty for every format but Stata's."""

    variables: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def read_labels(spec: SourceSpec, folder: Path, frame: pl.DataFrame) -> DataLabels:
    """A source's variable and value labels (``DataLabels``), read with pandas' public Stata
    API: ``StataReader.variable_labels()`` for the former; for the latter the file is read a
    second time with ``convert_categoricals=True`` (only when it defines a value-label set) and
    each labelled column's codes, taken from ``frame`` (the source as ``read_source`` gave it),
    are paired with the categories pandas gives them, a code the set leaves unlabelled coming
    back as itself (pandas 3.1). A column whose set gives two codes one label (which pandas
    cannot read as a category) keeps its codes. Stata attaches value labels to numeric
    variables only (``label values`` refuses a string). Never raises: ``read_source`` has
    reported an unreadable file, and a label pandas cannot read costs the labels only."""
    import polars as pl

    if source_format(spec) != "stata":
        return DataLabels()
    import pandas as pd

    path = resolve(spec, folder)
    try:
        with pd.io.stata.StataReader(path) as reader:
            named = reader.variable_labels()
            has_sets = bool(reader.value_labels())
    except (OSError, ValueError):  # read_source read the file: a label oddity costs the labels
        return DataLabels()
    recode = _label_recoder(spec, path)
    variables = {clean_header(k): recode(v) for k, v in named.items() if v}
    columns = []
    if has_sets:
        try:
            columns = [pd.read_stata(path, convert_categoricals=True)]
        except ValueError:  # a set with a repeated label: the numeric columns one by one
            for name in named:
                if frame.schema.get(clean_header(name), pl.String).is_numeric():
                    try:
                        columns.append(pd.read_stata(path, columns=[name]))
                    except ValueError:
                        continue
    values: dict[str, dict[str, str]] = {}
    for labelled in columns:
        for name in labelled.columns:
            column = clean_header(str(name))
            if isinstance(labelled[name].dtype, pd.CategoricalDtype) and column in frame.columns:
                found = _code_labels(frame[column], labelled[name])
                values[column] = {code: recode(text) for code, text in found.items()}
    return DataLabels(variables, {k: v for k, v in values.items() if v})


def _label_recoder(spec: SourceSpec, path: Path) -> Callable[[str], str]:
    """How a Stata file's labels are read: in the source's ``encoding:`` for a file of Stata
    13 or older (whose text pandas reads as latin-1), as pandas read them otherwise; a label
    that is not text of that encoding is kept as read (``read_source`` has checked the
    file's text columns)."""
    if spec.encoding is None or stata_format(path) >= STATA_UTF8_FORMAT:
        return lambda text: text
    encoding = spec.encoding

    def recode(text: str) -> str:
        try:
            return _recoded(text, encoding)
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text

    return recode


def _code_labels(codes: pl.Series, labelled: Any) -> dict[str, str]:
    """``{code: label}`` from a column's codes and the same column as pandas' categories:
    one row per category (a pass over the column in polars, not in Python)."""
    import polars as pl

    at = pl.Series("at", labelled.cat.codes.to_numpy())  # -1: missing
    pairs = pl.DataFrame([codes.alias("code"), at]).filter(pl.col("at") >= 0)
    pairs = pairs.unique("at", keep="first", maintain_order=True)
    categories = labelled.cat.categories
    found = {
        str(int(code)): categories[at]
        for code, at in zip(pairs["code"].to_list(), pairs["at"].to_list(), strict=True)
        if isinstance(categories[at], str) and float(code).is_integer()
    }
    return dict(sorted(found.items(), key=lambda item: int(item[0])))


def excel_sheets(path: Path) -> list[str]:
    """The sheet names of the workbook at ``path``, in their order. Raises what the Excel
    reader raises for a file it cannot open."""
    import fastexcel

    return list(fastexcel.read_excel(path).sheet_names)


def missing_sheet(spec: SourceSpec, folder: Path) -> SpecError | None:
    """The error for an Excel source whose ``sheet:`` names no sheet of its workbook (listing
    the sheets it has), or None: the reader's own words ("no matching sheet found when
    `sheet_name` is 'Data'") named neither. None too for a file that cannot be opened: that
    is said where the file is read."""
    if spec.sheet is None or source_format(spec) != "excel":
        return None
    return _missing_sheet_in(spec, resolve(spec, folder))


def _missing_sheet_in(spec: SourceSpec, path: Path) -> SpecError | None:
    if spec.sheet is None:  # the first sheet: every workbook has one
        return None
    try:
        names = excel_sheets(path)
    except Exception:  # a missing or broken file is reported where it is read
        return None
    listed = ", ".join(repr(name) for name in names)
    if isinstance(spec.sheet, str):
        if spec.sheet in names:
            return None
        return SpecError(
            f"'{spec.path}' has no sheet '{spec.sheet}'; its sheets: {listed}",
            code="data",
            hint=did_you_mean(spec.sheet, names),
        )
    if spec.sheet <= len(names):
        return None
    return SpecError(
        f"'{spec.path}' has no sheet {spec.sheet}: it has {len(names)} "
        f"({listed}; sheet: counts from 1)",
        code="data",
    )


def sheet_with_columns(spec: SourceSpec, folder: Path, wanted: list[str]) -> tuple[str, str] | None:
    """The sheet an Excel source reads and another of its workbook whose header
    (``header_row``) holds every name in ``wanted`` when the sheet read does not, or None: a
    workbook whose first sheet is notes or
    a cover page gives no column the spec names, and each would otherwise be reported
    missing. Never raises; an unreadable file gives None."""
    if not wanted or source_format(spec) != "excel":
        return None
    import polars as pl

    path = resolve(spec, folder)
    try:
        names = excel_sheets(path)
        read = spec.sheet if isinstance(spec.sheet, str) else names[(spec.sheet or 1) - 1]
        for name in names:
            if name == read:
                continue
            frame = pl.read_excel(
                path,
                sheet_name=name,
                has_header=False,
                read_options={"n_rows": spec.header_row, "header_row": None},
            )
            if frame.height < spec.header_row:
                continue
            header = {clean_header(str(c)) for c in frame.row(spec.header_row - 1) if c}
            if all(column in header for column in wanted):
                return read, name
    except Exception:  # only a hint: the reader's own error comes when the file is read
        return None
    return None


def _read_excel(path: Path, spec: SourceSpec) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """An Excel sheet from its ``header_row`` on, without its blank rows; and its text columns
    read again as numbers (null where a cell is text), since a number cell in a column that
    also holds text is read as text rounded to 9 decimals."""
    import polars as pl

    missing = _missing_sheet_in(spec, path)
    if missing is not None:
        raise missing
    options: dict[str, Any] = {
        "sheet_name": spec.sheet if isinstance(spec.sheet, str) else None,
        "sheet_id": spec.sheet if isinstance(spec.sheet, int) else None,
        "read_options": {"header_row": spec.header_row - 1},
        "drop_empty_rows": False,  # dropped below, from both reads alike
    }
    frame = pl.read_excel(path, drop_empty_cols=False, **options)
    texts = [i for i, dtype in enumerate(frame.dtypes) if dtype == pl.String]
    exact = None
    if texts:
        import fastexcel

        sheet = fastexcel.read_excel(path).load_sheet(
            spec.sheet if isinstance(spec.sheet, str) else (spec.sheet or 1) - 1,
            header_row=spec.header_row - 1,
            dtypes={i: "float" for i in texts},
        )
        numbers = sheet.to_polars()
        if numbers.shape == frame.shape:  # else (never seen) the text alone is read
            exact = numbers.select(numbers.columns[i] for i in texts)
            exact.columns = [frame.columns[i] for i in texts]
    # polars' own rule (drop_empty_cols): a column without a name and without data goes
    unnamed = [
        name
        for name in frame.columns
        if name.startswith("__UNNAMED__") and frame[name].null_count() == frame.height
    ]
    if unnamed:
        frame = frame.drop(unnamed)
        exact = (
            exact.drop([n for n in unnamed if n in exact.columns]) if exact is not None else None
        )
    if frame.width:
        filled = ~frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
        if not filled.all():
            frame = frame.filter(filled)
            exact = exact.filter(filled) if exact is not None else None
    return _stata_years(frame), exact


def _read_whitespace(path: Path, spec: SourceSpec) -> pl.DataFrame:
    import numpy as np
    import polars as pl

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
    if fmt in ("csv", "tsv"):
        if not path.is_file():
            raise _not_found(spec, path, folder)
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        if spec.encoding is None and not _valid_utf8_prefix(head):
            _decode(path.read_bytes(), spec, path)  # raises, naming likely encodings
        text = _decode_prefix(head, spec)
        if "\r" in text and "\n" not in text:
            text = text.replace("\r", "\n")
        skip = spec.header_row - 1
        parts = text.split("\n", skip)
        text = parts[skip] if len(parts) > skip else ""
        names = _csv_header(text, field_separator(spec, fmt))
        _check_header(names, path, spec.header_row, blanks=True)
        if not all(names):  # kept only if empty: known once the file is read
            return read_source(spec, folder).columns
        return [*index, *names]
    return read_source(spec, folder).columns


def encoding_with_columns(spec: SourceSpec, folder: Path, wanted: list[str]) -> str | None:
    """Another encoding under which the header of a CSV/TSV source with a declared
    ``encoding:`` holds every column in ``wanted``, or None: a wrong encoding that decodes
    without error (GBK bytes read as big5 or latin-1) gives mojibake headers, and every name
    the spec uses would otherwise be reported missing."""
    fmt = source_format(spec)
    if spec.encoding is None or fmt not in ("csv", "tsv") or not wanted:
        return None
    try:
        with resolve(spec, folder).open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return None
    declared = codecs.lookup(spec.encoding).name
    for encoding in ("utf-8", "gb18030", *_likely_encodings(head)):
        if codecs.lookup(encoding).name == declared:
            continue
        text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
        names = _csv_header(text.replace("\r\n", "\n"), field_separator(spec, fmt))
        if all(name in names for name in wanted):
            return encoding
    return None


def separator_with_columns(spec: SourceSpec, folder: Path, wanted: list[str]) -> str | None:
    """The separator (``;``, ``|``, tab or ``,``) under which the header of a CSV/TSV source
    holds every name in ``wanted`` when the format's own separator does not, or None: a file
    saved with ``;`` (spreadsheets in locales whose decimal mark is a comma) reads as one
    column, and every name the spec uses would otherwise be reported missing. Never raises."""
    try:
        fmt = source_format(spec)
        if fmt not in ("csv", "tsv") or not wanted:
            return None
        with resolve(spec, folder).open("rb") as handle:
            text = _decode_prefix(handle.read(1 << 16), spec).replace("\r\n", "\n")
    except (OSError, SpecError):
        return None
    lines = text.split("\n", spec.header_row)
    header = lines[spec.header_row - 1] if len(lines) >= spec.header_row else ""
    own = field_separator(spec, fmt)
    for separator in (";", "|", "\t", ","):
        if separator != own and all(n in _csv_header(header, separator) for n in wanted):
            return separator
    return None


SEPARATOR_NAMES = {"\t": "tabs", ";": "';'", "|": "'|'", ",": "commas"}


def separator_yaml(separator: str) -> str:
    """``separator:`` as a spec writes it: ';' quoted, a tab as "\\t" (YAML's escape)."""
    return 'separator: "\\t"' if separator == "\t" else f"separator: '{separator}'"


def other_separator(spec: SourceSpec, folder: Path) -> tuple[str, str, bool] | None:
    """For a CSV/TSV source whose header reads as one column under its own separator while
    another separator (``;``, ``|``, tab, ``,``) splits it into several names: that separator,
    the header line as written (its first 60 characters), and whether the rows below hold
    numbers with a decimal comma ('3,14' between ';' separators), which then need
    ``decimal: ','`` too. None otherwise, and for a file that cannot be read (its reader says
    why). A spreadsheet saved where the decimal mark is a comma writes ';'; read with ',' it
    is one column, and every name the spec uses would be reported missing. Never raises."""
    try:
        fmt = source_format(spec)
        path = resolve(spec, folder)
        # a workbook or Parquet file named .csv is said by its reader, not as one column
        if fmt not in ("csv", "tsv") or (sniffed_format(path) or ("",))[0] != "csv":
            return None
        with path.open("rb") as handle:
            text = _decode_prefix(handle.read(1 << 16), spec)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        lines = lines[spec.header_row - 1 : spec.header_row + 20]
        own = field_separator(spec, fmt)
        if not lines or len(_csv_header(lines[0], own)) != 1:
            return None
        for separator in (";", "|", "\t", ","):
            if separator != own and len([n for n in _csv_header(lines[0], separator) if n]) > 1:
                rows = csv.reader(lines[1:], delimiter=separator)
                cells = [cell.strip() for row in rows for cell in row]
                comma = separator != "," and any(
                    re.fullmatch(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?%?", c) for c in cells
                )
                # a tab shown as \t: a terminal would print it as spaces
                line = lines[0].strip().lstrip("\ufeff").replace("\t", "\\t")
                shown = line if len(line) <= 60 else line[:59] + "…"
                return separator, shown, comma and spec.decimal != ","
    except (OSError, SpecError, csv.Error):
        return None
    return None


def header_row_with_columns(spec: SourceSpec, folder: Path, wanted: list[str]) -> int | None:
    """The row (counting from 1, among the first 30) holding every name in ``wanted`` when
    the source's ``header_row`` does not, or None: an Excel sheet or CSV file with a title or
    unit line above its header gives no column the spec names, and each would otherwise be
    reported missing. Never raises; an unreadable file gives None."""
    try:
        fmt = source_format(spec)
    except SpecError:  # reported where the source is read
        return None
    if fmt not in ("csv", "tsv", "excel") or not wanted:
        return None
    path = resolve(spec, folder)
    rows: list[list[str]]
    try:
        if fmt == "excel":
            import polars as pl

            frame = pl.read_excel(
                path,
                sheet_name=spec.sheet if isinstance(spec.sheet, str) else None,
                sheet_id=spec.sheet if isinstance(spec.sheet, int) else None,
                has_header=False,
                read_options={"n_rows": 30},
            )
            rows = [["" if c is None else str(c) for c in row] for row in frame.rows()]
        else:
            with path.open("rb") as handle:
                text = _decode_prefix(handle.read(1 << 16), spec).replace("\r\n", "\n")
            lines = text.split("\n")[:30]
            rows = list(csv.reader(lines, delimiter=field_separator(spec, fmt)))
    except Exception:  # only a hint: the reader's own error comes when the file is read
        return None
    for number, row in enumerate(rows, start=1):
        names = {clean_header(cell) for cell in row}
        if number != spec.header_row and all(name in names for name in wanted):
            return number
    return None


def _valid_utf8_prefix(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the prefix
    return True


def _decode_prefix(head: bytes, spec: SourceSpec) -> str:
    encoding = spec.encoding or "utf-8-sig"
    return head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")


def file_hash(path: Path) -> str:
    """The file's XXH3-128 digest (32 hex digits), every byte read on every call (nothing is
    skipped on size or mtime); the read is noted for the run's record
    (``specrun.record.hash_file``). Raises ``OSError`` when the file cannot be read."""
    return hash_file(path)
