"""Run records: what a whole run read and wrote, so an unchanged re-run can stop at once.

A record is to a run what a depfile is to a ``make`` or ``ninja`` target. After a successful
cached run, ``specrun run`` stores one in the cache folder, named by a key of what the run was
given (specrun's code digest, the Python and package versions that shape outputs, the spec
file's path and bytes, the output folder and ``--only``). It lists every file the run read with
its XXH3-128 digest (the spec, the data sources, the table templates: each noted by the code
that reads it, through :func:`note_read`), the plan's node count, and every output file with
its digest. The next ``specrun run`` with the same key re-hashes those files (all their bytes:
size and modification time are never trusted) and, if every input and every output is as
recorded, reports the run as done without importing polars, numpy, pydantic, jinja2 or
matplotlib. Any difference, a missing or unreadable file, or a record that fails its checksum
falls through to the ordinary run, which then stores a fresh record.

This module imports only the standard library, and ``xxhash`` when it first hashes: it runs
before everything else (``specrun validate`` hashes nothing).
Records are written to a temporary file that is then renamed over the record, so concurrent
runs and runs killed at any moment leave either the old record, the new one, or none; a torn
or edited record fails its SHA-256 and is ignored.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from specrun import __version__

RECORD_MAGIC = b"SPECRUN-RUN-RECORD"
RECORD_FORMAT = 1
RECORD_FOLDER = "runs"  # inside the cache folder
DEFAULT_CACHE_FOLDER = ".specrun-cache"
HASH_NAME = "xxh3_128"
_BLOCK = 1 << 23  # 8 MiB: large enough that the hash, not Python, sets the pace

# the packages whose versions a run's outputs record (manifest.json) and depend on
# every installed distribution whose version can change a number or a byte of the outputs
PACKAGES = (
    "numpy",
    "scipy",
    "polars",
    "pandas",
    "linearmodels",
    "pydantic",
    "jinja2",
    "matplotlib",
    "python-docx",
    "xlsxwriter",
    "pyarrow",
    "fastexcel",
    "charset-normalizer",
    "PyYAML",
)


# ---------------------------------------------------------------------------------------------
# hashing, and noting what a run reads


def digest_bytes(data: bytes) -> str:
    """XXH3-128 of ``data`` (32 hex digits), as :func:`hash_file` gives for a file holding it."""
    import xxhash

    return xxhash.xxh3_128(data).hexdigest()


def hash_file(path: Path | str) -> str:
    """The file's XXH3-128 digest (32 hex digits), read whole in 8 MiB blocks into one buffer,
    and noted as read by the current run (:func:`note_read`).

    XXH3 (the ``xxhash`` package, bindings of Collet's reference C library) hashes at memory
    bandwidth, so hashing costs what reading the file costs; it identifies data against
    accidents, not against an adversary. Raises ``OSError`` when the file cannot be read.
    """
    import xxhash

    digest = xxhash.xxh3_128()
    buffer = bytearray(_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    text = digest.hexdigest()
    note_read(path, text)
    return text


_CHANGED = "changed during the run"
_reads: dict[str, str] | None = None
_reads_lock = threading.Lock()


def note_read_bytes(path: Path | str, data: bytes) -> None:
    """:func:`note_read` of a file whose bytes ``data`` were read whole; hashed only inside
    :func:`recording`."""
    if _reads is not None:
        note_read(path, digest_bytes(data))


def note_read(path: Path | str, digest: str) -> None:
    """Note that the current run read ``path`` with content ``digest`` (a no-op outside
    :func:`recording`). A file read twice with different contents is noted as changed, so the
    run's record never matches it."""
    if _reads is None:
        return
    key = os.path.abspath(path)
    with _reads_lock:
        if _reads is None:
            return
        previous = _reads.setdefault(key, digest)
        if previous != digest:
            _reads[key] = _CHANGED


@contextlib.contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Collect the files read inside the block: absolute path → digest (the dict yielded is
    filled as the run reads). Nested blocks share nothing; the outer one resumes after."""
    global _reads
    with _reads_lock:
        outer, _reads = _reads, {}
        reads = _reads
    try:
        yield reads
    finally:
        with _reads_lock:
            _reads = outer


# ---------------------------------------------------------------------------------------------
# the key


@functools.cache
def code_digest() -> str:
    """XXH3-128 of every source file of the installed specrun package (names and bytes, in
    sorted order): a development checkout whose code changed under the same version number
    gets new keys. About 2 MB read once per process."""
    import xxhash

    root = Path(__file__).resolve().parent
    digest = xxhash.xxh3_128()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def package_versions() -> tuple[str, ...]:
    """``name=version`` of Python and each of ``PACKAGES`` (empty when not installed), read
    without importing them: from the names of the installed distributions' metadata folders
    (:func:`_listed_versions`), and from their metadata files (``importlib.metadata``) for a
    package whose folder name carries no version. Parsing the metadata files of all of them
    was two thirds of an unchanged re-run (~0.1 s)."""
    listed = _listed_versions()
    found = [f"python={sys.version}"]
    for package in PACKAGES:
        version = listed.get(_normalized(package))
        if version is None:
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as metadata_version

            try:
                version = metadata_version(package)
            except PackageNotFoundError:
                version = ""
        found.append(f"{package}={version}")
    return tuple(found)


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (runs of ``-_.`` as one ``-``, lower case)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _listed_versions() -> dict[str, str]:
    """Normalized name → version of each distribution on ``sys.path``, from its metadata
    folder's name: ``{name}-{version}.dist-info`` (the wheel spec, PEP 427/PEP 376: the name's
    ``-`` written ``_``, the version normalized) or ``{name}-{version}[-pyX.Y].egg-info``. The
    first entry of ``sys.path`` that has a distribution wins, as in ``importlib.metadata`` and
    in imports. Folders named without a version are left to the caller."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # not a folder (a zip file), or unreadable: nothing listed from it
            continue
        for folder in names:
            stem, _, suffix = folder.rpartition(".")
            if suffix not in ("dist-info", "egg-info"):
                continue
            name, dash, version = stem.partition("-")
            if dash and version:
                found.setdefault(_normalized(name), version.split("-")[0])
    return found


def run_key(spec_path: str, spec_digest: str, folder: Path | str, only: Sequence[str]) -> str:
    """The key of a run's record: SHA-256 of the record format, specrun's version and code
    digest, the Python and package versions, the spec's path as given (``results.json``
    names it) and as an absolute path, the digest of its bytes, the absolute output folder and
    ``--only``. The cache folder, ``--jobs`` and ``--scheduler`` change no output and are not
    in it."""
    parts = [
        f"run record {RECORD_FORMAT}",
        f"specrun {__version__} {code_digest()}",
        *package_versions(),
        spec_path,
        os.path.abspath(spec_path),
        spec_digest,
        os.path.abspath(folder),
        "only",
        *only,
    ]
    import hashlib

    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def output_folder(spec_path: str, spec_text: str, out: str | None) -> Path | None:
    """The folder a run writes to, as ``api.run_file`` chooses it: ``out``, else the spec's
    ``outputs.dir`` (default ``out``) beside the spec; None when the spec cannot be read
    cheaply (then the ordinary run decides, and reports any problem)."""
    if out is not None:
        return Path(out)
    try:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        tree = yaml.load(spec_text, Loader=loader)  # a safe loader: no objects built
    except Exception:  # any YAML problem: the ordinary run reports it, located
        return None
    outputs = tree.get("outputs") if isinstance(tree, dict) else None
    if outputs is not None and not isinstance(outputs, dict):
        return None
    written = outputs.get("dir", "out") if outputs is not None else "out"
    if not isinstance(written, str):
        return None
    return Path(os.path.normpath(Path(spec_path).parent / written))


def cache_folder(folder: Path, cache: str | None) -> Path:
    """The cache folder: ``--cache DIR``, else ``.specrun-cache`` beside the output folder."""
    if cache is not None:
        return Path(cache)
    return Path(os.path.abspath(folder)).parent / DEFAULT_CACHE_FOLDER


# ---------------------------------------------------------------------------------------------
# the record


@dataclass(frozen=True)
class RunRecord:
    """A finished run: the files it read (absolute path → digest), the output files it wrote
    (path relative to the output folder → digest), its plan's node count, what the command
    line printed (counts of models, tables, figures and the warnings)."""

    inputs: dict[str, str]
    outputs: dict[str, str]
    nodes: int
    models: int
    tables: int
    figures: int
    warnings: list[str]

    def to_json(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "outputs": self.outputs,
            "nodes": self.nodes,
            "models": self.models,
            "tables": self.tables,
            "figures": self.figures,
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, tree: object) -> RunRecord:
        """Raises ``ValueError`` for anything but what ``to_json`` writes."""
        if not isinstance(tree, dict):
            raise ValueError("not an object")
        inputs, outputs = tree["inputs"], tree["outputs"]
        counts = [tree[name] for name in ("nodes", "models", "tables", "figures")]
        warnings = tree["warnings"]
        text_maps = all(
            isinstance(m, dict) and all(isinstance(v, str) for v in (*m, *m.values()))
            for m in (inputs, outputs)
        )
        if not text_maps or not all(type(c) is int for c in counts):
            raise ValueError("malformed fields")
        if not (isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)):
            raise ValueError("malformed warnings")
        return cls(inputs, outputs, *counts, warnings)


def record_path(cache: Path, key: str) -> Path:
    return cache / RECORD_FOLDER / f"{key}.record"


def read_record(cache: Path, key: str) -> RunRecord | None:
    """The record stored under ``key``, or None when there is none or it is not intact (a
    wrong header, length or checksum, written for another key, or malformed)."""
    import hashlib

    try:
        raw = record_path(cache, key).read_bytes()
    except OSError:
        return None
    line, newline, body = raw.partition(b"\n")
    try:
        magic, fmt, stored_key, digest, length = line.split(b" ")
        if not newline or magic != RECORD_MAGIC or int(fmt) != RECORD_FORMAT:
            return None
        if stored_key.decode() != key or int(length) != len(body):
            return None
        if hashlib.sha256(body).hexdigest() != digest.decode():
            return None
        return RunRecord.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError, RecursionError, UnicodeDecodeError):
        return None


def write_record(cache: Path, key: str, record: RunRecord) -> bool:
    """Store ``record`` under ``key`` atomically (temporary file, fsync, rename); False when
    the cache folder cannot be written (the run stands; its next re-run is a full check)."""
    import hashlib
    import secrets

    body = json.dumps(record.to_json(), ensure_ascii=False, sort_keys=True).encode()
    header = b" ".join(
        [
            RECORD_MAGIC,
            str(RECORD_FORMAT).encode(),
            key.encode(),
            hashlib.sha256(body).hexdigest().encode(),
            str(len(body)).encode(),
        ]
    )
    path = record_path(cache, key)
    temporary = path.parent / f".tmp-{os.getpid()}-{secrets.token_hex(6)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as handle:
            handle.write(header + b"\n" + body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        return False
    return True


def up_to_date(record: RunRecord, folder: Path) -> bool:
    """Whether every input the record lists still has its digest and every output file in
    ``folder`` is present with the digest the run wrote (each file hashed whole)."""
    files = [(Path(path), digest) for path, digest in record.inputs.items()]
    files += [(folder / relative, digest) for relative, digest in record.outputs.items()]
    for path, digest in files:
        try:
            if hash_file(path) != digest:
                return False
        except OSError:
            return False
    return True


def check(
    spec_path: str, out: str | None, only: Sequence[str], cache: str | None
) -> tuple[Path, RunRecord] | None:
    """The output folder and record of a run that is already done: the same key (code, spec
    bytes, output folder, ``--only``), every input and output file as recorded. None
    otherwise, or on any problem reading them (the ordinary run then looks closer)."""
    try:
        raw = Path(spec_path).read_bytes()
        text = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    folder = output_folder(spec_path, text, out)
    if folder is None:
        return None
    key = run_key(spec_path, digest_bytes(raw), folder, only)
    cache_at = cache_folder(folder, cache)
    record = read_record(cache_at, key)
    if record is None or not up_to_date(record, folder):
        return None
    with contextlib.suppress(OSError):
        os.utime(record_path(cache_at, key))  # recently used: last in line for eviction
    return folder, record


__all__ = [
    "HASH_NAME",
    "PACKAGES",
    "RunRecord",
    "check",
    "code_digest",
    "digest_bytes",
    "hash_file",
    "note_read",
    "package_versions",
    "read_record",
    "recording",
    "run_key",
    "write_record",
]
