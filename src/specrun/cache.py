"""A content-addressed cache of plan-node results, kept in a folder beside the outputs.

An entry is one file, ``<key[:2]>/<key>.entry``, named by the node's key (the node's plan hash,
which covers its spec fragment, its inputs' hashes and the data files' XXH3 digests, plus the
specrun version, a digest of specrun's own source files (``record.code_digest``) and the entry
format: an edited or upgraded specrun never reads results an older one stored). A file holds a
header line (magic, format, the SHA-256 and length of the body, the lengths of its parts, the
blobs' names and sizes) and a body: an index (plain JSON the writer chose, parsed without any
decoding hook) and named raw parts it describes (what a run needs of most entries: a fit's
``results.json`` texts and the numbers of its models' curve rows, ``execute.fit_index``), a
JSON tree of the whole value (decoded only when it is read), then binary blobs (numpy arrays as
raw bytes or ``.npy`` read with ``allow_pickle=False``, polars frames as Parquet). Nothing in a
cache folder is unpickled: the
folder may be shared or tampered with, so an entry can at worst decode to wrong *values* of
specrun's own record types, and a checksum mismatch (a torn, truncated or edited entry) makes
it a miss that is recomputed, with a warning.

A re-run of thousands of fit nodes would open and check thousands of small entries for their
indexes alone; a run therefore also writes a *pack* (``packs/<name>.pack``, named by the
caller: one per spec file): every fit entry's index and raw parts it used, in one checksummed
file, each with its key and its entry's size and modification time. The next run reads the pack
once and takes an entry's index from it when the entry's file still has that size and time (one
``stat``); otherwise (an entry edited, truncated, evicted or refreshed since) it reads the entry
as above. An entry served from the pack is opened, and its checksum checked, only when its
value is decoded. A pack that fails its checksum is ignored.

Writes go to a temporary file in the cache folder that is then renamed over the entry
(``os.replace``, atomic on POSIX), so concurrent runs and runs killed at any moment never leave
a half-written entry under a key; leftovers of killed writers are swept on open. The folder is
bounded: after a run, least-recently-used entries (by modification time, refreshed on every
hit, to within ten minutes) are removed until the total is under ``max_size``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import io
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specrun import __version__
from specrun.errors import SpecError
from specrun.record import RECORD_FOLDER, code_digest

MAGIC = b"SPECRUN-CACHE"
FORMAT = 6  # 2: arrays as raw bytes with dtype and shape (np.load's header parse was slow);
# 3: runs of floats as raw doubles, decoded while the JSON is parsed; 4: a plain-JSON index
# before the tree, so that a run reads what it needs of an entry without decoding the value;
# 5: plan hashes of spec models written by pydantic's serializer (``plan.compile._fragment``);
# 6: a model's coefficients may name their own reference distributions (``ModelCore``)
DEFAULT_MAX_SIZE = 2 * 1024**3  # bytes; a 2,000-model run takes a few tens of MB
DEFAULT_FOLDER = ".specrun-cache"
_STALE_TEMP_SECONDS = 3600.0
# an entry used again within this many seconds of its last use keeps that time: eviction's
# order is that coarse, and re-runs of thousands of nodes skip a metadata write per entry
_TOUCH_AFTER = 600.0
_FLOAT_RUN = 8  # shorter lists of floats stay JSON: a blob costs its header entry
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
PACK_MAGIC = b"SPECRUN-PACK"
PACK_FOLDER = "packs"  # inside the cache folder


class Uncacheable(TypeError):
    """A value the structured codec cannot store (the node is then computed every run)."""


class CorruptEntry(ValueError):
    """An entry whose header, length or checksum does not hold."""


def parse_size(text: str | int) -> int:
    """Bytes from ``500MB``, ``2G``, ``1.5 GiB`` or a plain number of bytes.

    Raises ``SpecError`` (code ``usage``) for anything else or a size below 1 MiB."""
    if isinstance(text, int):
        size = text
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
        if match is None:
            raise SpecError(
                f"cache size '{text}' is not a size such as 500MB or 2GB",
                code="usage",
                path="--cache-max-size",
            )
        size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size < 1024**2:
        raise SpecError(
            f"cache size {size} bytes is below 1 MiB", code="usage", path="--cache-max-size"
        )
    return size


# ---------------------------------------------------------------------------------------------
# the structured codec: JSON with tags, numpy arrays and polars frames as blobs


def encode(value: Any) -> tuple[Any, dict[str, bytes]]:
    """``value`` as a JSON tree and named blobs; raises ``Uncacheable`` for a type it does not
    know (anything but JSON scalars, lists, tuples, mappings, numpy scalars and arrays of
    non-object dtype, polars frames, and dataclasses defined in specrun)."""
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> str:
        name = str(len(blobs))
        blobs[name] = data
        return name

    def walk(v: Any) -> Any:
        if v is None or isinstance(v, bool | str):
            return v
        if isinstance(v, int) and not isinstance(v, np.integer):
            return v
        if isinstance(v, float) and not isinstance(v, np.floating):
            # JSON round-trips every finite double (repr); NaN and ±inf are tagged
            return v if math.isfinite(v) else {"$f": repr(v)}
        if isinstance(v, np.generic):
            if v.dtype.kind not in "biuf":
                raise Uncacheable(f"numpy scalar of dtype {v.dtype}")
            return {"$np": v.dtype.str, "v": walk(v.item())}
        if isinstance(v, np.ndarray):
            if v.dtype.hasobject:
                raise Uncacheable("a numpy array of Python objects")
            if v.dtype.fields is not None:  # structured dtypes: np.save's header keeps them
                buffer = io.BytesIO()
                np.save(buffer, v, allow_pickle=False)
                return {"$nd": blob(buffer.getvalue())}
            return {"$a": [v.dtype.str, list(v.shape), blob(np.ascontiguousarray(v).tobytes())]}
        if isinstance(v, list | tuple):
            if len(v) >= _FLOAT_RUN and all(type(x) is float for x in v):
                # percentiles, grids, draws: raw doubles parse ~10x faster than their decimals
                tag = "$lf" if isinstance(v, list) else "$tf"
                return {tag: blob(np.asarray(v, dtype="<f8").tobytes())}
            items = [walk(x) for x in v]
            return items if isinstance(v, list) else {"$t": items}
        if isinstance(v, Mapping):
            return {"$m": [[walk(k), walk(x)] for k, x in v.items()]}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            cls = type(v)
            if not cls.__module__.startswith("specrun."):
                raise Uncacheable(f"dataclass {cls.__module__}.{cls.__qualname__}")
            fields = {f.name: walk(getattr(v, f.name)) for f in dataclasses.fields(v)}
            return {"$dc": f"{cls.__module__}:{cls.__qualname__}", "f": fields}
        if type(v).__name__ == "DataFrame" and type(v).__module__.startswith("polars"):
            buffer = io.BytesIO()
            v.write_parquet(buffer, statistics=False)
            return {"$pl": blob(buffer.getvalue())}
        raise Uncacheable(f"{type(v).__module__}.{type(v).__qualname__}")

    return walk(value), blobs


def decode(tree: Any, blobs: Mapping[str, bytes]) -> Any:
    """The value ``encode`` was given, from its JSON tree; raises ``CorruptEntry`` on a
    malformed tree. (Entries are decoded while their JSON is parsed, by the same hook.)"""
    hook = _object_hook(blobs)

    def walk(v: Any) -> Any:
        if type(v) is list:
            return [walk(x) for x in v]
        if type(v) is dict:
            return hook({k: walk(x) for k, x in v.items()})
        return v

    return _decoding(lambda: walk(tree))


def _decoding(parse: Callable[[], Any]) -> Any:
    """``parse()``, any failure of a malformed tree raised as ``CorruptEntry``."""
    try:
        return parse()
    except CorruptEntry:
        raise
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        ImportError,
        OSError,
        RecursionError,
    ) as exc:
        raise CorruptEntry(f"undecodable entry: {exc}") from None


def _object_hook(blobs: Mapping[str, bytes]) -> Callable[[dict[str, Any]], Any]:
    """A ``json.loads`` object hook that turns each tagged object ``encode`` wrote into its
    value. JSON objects are decoded innermost first, so a tag's contents are already values.
    An untagged object (a dataclass's fields) is returned as it is."""

    def array(v: dict[str, Any]) -> Any:
        dtype, shape, name = v["$a"]
        kind = np.dtype(dtype)
        if kind.hasobject:
            raise CorruptEntry("an array of Python objects")
        return np.frombuffer(blobs[name], dtype=kind).reshape(shape).copy()

    def frame(v: dict[str, Any]) -> Any:
        import polars as pl

        return pl.read_parquet(io.BytesIO(blobs[v["$pl"]]))

    def mapping(v: dict[str, Any]) -> dict[Any, Any]:
        return {k: x for k, x in v["$m"]}

    handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
        "$f": lambda v: float(v["$f"]),
        "$np": lambda v: np.dtype(v["$np"]).type(v["v"]),
        "$a": array,
        "$nd": lambda v: np.load(io.BytesIO(blobs[v["$nd"]]), allow_pickle=False),
        "$t": lambda v: tuple(v["$t"]),
        "$lf": lambda v: np.frombuffer(blobs[v["$lf"]], dtype="<f8").tolist(),
        "$tf": lambda v: tuple(np.frombuffer(blobs[v["$tf"]], dtype="<f8").tolist()),
        "$m": mapping,
        "$pl": frame,
        "$dc": lambda v: _dataclass(v["$dc"], v["f"]),
    }

    def hook(v: dict[str, Any]) -> Any:
        for tag in v:  # encode writes the tag first
            handler = handlers.get(tag)
            return v if handler is None else handler(v)
        return v

    return hook


def _dataclass(name: str, fields: dict[str, Any]) -> Any:
    """An instance of a specrun dataclass, its fields set without running ``__init__`` (as
    ``copy`` does), so no code of the entry's choosing runs."""
    cls, known = _CLASSES.get(name) or _dataclass_class(name)
    if type(fields) is not dict or fields.keys() != known:
        raise CorruptEntry(f"{name} fields differ from the entry's")
    obj = object.__new__(cls)
    if hasattr(obj, "__dict__"):  # a frozen dataclass refuses setattr, not its __dict__
        obj.__dict__.update(fields)
    else:
        for key, value in fields.items():
            object.__setattr__(obj, key, value)
    return obj


# looked up once per run: an entry holds thousands of dataclass instances of a few classes
_CLASSES: dict[str, tuple[type, set[str]]] = {}


def _dataclass_class(name: str) -> tuple[type, set[str]]:
    module, _, qualname = name.partition(":")
    if not module.startswith("specrun."):
        raise CorruptEntry(f"class {name} is not specrun's")
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise CorruptEntry(f"{name} is not a dataclass")
    _CLASSES[name] = (cls, {f.name for f in dataclasses.fields(cls)})
    return _CLASSES[name]


# ---------------------------------------------------------------------------------------------
# the store


@dataclass
class CacheStats:
    """What a run did with the cache: node ids reused, computed and stored, and warnings."""

    reused: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    uncacheable: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evicted: int = 0
    reused_figures: list[str] = field(default_factory=list)  # drawings taken from the cache


class NodeCache:
    """Entries under ``folder``, at most ``max_size`` bytes after ``evict()``.

    ``key(node_hash)`` adds the specrun version and entry format to a plan hash; ``get``
    returns the decoded value or None (a miss, or a corrupt entry, which is removed and
    reported in ``stats.warnings``); ``put`` stores a value atomically and returns False when
    the codec cannot store it.
    """

    def __init__(
        self, folder: Path, max_size: int = DEFAULT_MAX_SIZE, *, sweep: bool = True
    ) -> None:
        self.folder = folder
        self.max_size = max_size
        self.stats = CacheStats()
        self._root = os.fspath(folder)
        self._pack_name: str | None = None
        self._packed: dict[str, _Packed] = {}  # the pack this run read (``open_pack``)
        self._used: dict[str, _Packed] = {}  # what the pack this run writes will hold
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpecError(
                f"cannot create the cache folder '{folder}': {exc.strerror}",
                code="usage",
                path="--cache",
            ) from None
        if sweep:  # (a worker process writing for the run that swept it does not)
            self._sweep_temporaries()

    @staticmethod
    def key(node_hash: str) -> str:
        text = f"{node_hash}\0specrun {__version__} {code_digest()}\0format {FORMAT}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # a string, not a Path: a re-run builds thousands of these
        return os.path.join(self._root, key[:2], f"{key}.entry")

    def get(self, key: str, label: str) -> Any | None:
        """The value stored under ``key``, decoded; None for a miss or a corrupt entry."""
        entry = self.get_entry(key, label)
        if entry is None:
            return None
        try:
            return entry.value()
        except CorruptEntry as exc:
            self.discard(key, label, exc)
            return None

    def get_entry(self, key: str, label: str) -> StoredEntry | None:
        """The entry under ``key`` with its checksum checked and its index parsed, its value not
        yet decoded (``StoredEntry.value``); None for a miss or a corrupt entry. An entry whose
        index the run's pack holds (``open_pack``) is taken from the pack while its file keeps
        the size and time the pack recorded; its checksum is checked when its value is read."""
        path = self._file(key)
        packed = self._packed.get(key)
        if packed is not None:
            from_pack = self._from_pack(key, path, packed)
            if from_pack is not None:
                return from_pack
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                raw = handle.read()
        except (FileNotFoundError, NotADirectoryError):
            return None  # a file where the shard folder belongs: put() says so, once
        except OSError as exc:
            self.stats.warnings.append(f"cache entry of {label} unreadable ({exc.strerror})")
            return None
        try:
            entry = _unpack(raw, key)
        except CorruptEntry as exc:
            self.discard(key, label, exc)
            return None
        stat = self._touch(path, stat)
        if entry.index is not None:
            self._used[key] = _Packed(entry.index_bytes, entry.raw, stat.st_size, stat.st_mtime_ns)
        return entry

    def _from_pack(self, key: str, path: str, packed: _Packed) -> StoredEntry | None:
        """The entry under ``key`` with its index from the pack; None when its file is gone or
        has changed since the pack was written (it is then read as any other)."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        if stat.st_size != packed.size or stat.st_mtime_ns != packed.mtime_ns:
            return None
        try:
            index = json.loads(packed.index)
        except (ValueError, RecursionError):
            return None
        stat = self._touch(path, stat)
        self._used[key] = (
            packed
            if stat.st_mtime_ns == packed.mtime_ns
            else _Packed(packed.index, packed.raw, stat.st_size, stat.st_mtime_ns)
        )

        def whole() -> StoredEntry:
            try:
                with open(path, "rb") as handle:
                    return _unpack(handle.read(), key)
            except OSError as exc:
                raise CorruptEntry(f"unreadable ({exc.strerror})") from None

        return StoredEntry(index, packed.raw, b"", {}, packed.index, whole)

    @staticmethod
    def _touch(path: str, stat: os.stat_result) -> os.stat_result:
        """Refresh an entry used now but last used long ago (eviction goes by the time), and
        return its status as it is then."""
        if time.time() - stat.st_mtime <= _TOUCH_AFTER:
            return stat
        try:
            os.utime(path)  # recently used: last in line for eviction
            return os.stat(path)
        except OSError:
            return stat

    def open_pack(self, name: str) -> None:
        """Read the pack ``name`` (written by ``write_pack``; see the module's notes) so that
        ``get_entry`` takes indexes from it; a missing or corrupt pack is no pack."""
        self._pack_name = name
        try:
            with open(self._pack_file(name), "rb") as handle:
                data = handle.read()
        except OSError:
            return
        try:
            self._packed = _read_pack(data)
        except CorruptEntry:
            self._packed = {}

    def note_stored(self, key: str, index: Any, raw: Mapping[str, bytes]) -> None:
        """Count in this run's pack an entry another process (a worker) stored."""
        try:
            stat = os.stat(self._file(key))
        except OSError:
            return
        text = json.dumps(index, separators=(",", ":")).encode()
        self._used[key] = _Packed(text, dict(raw), stat.st_size, stat.st_mtime_ns)

    def write_pack(self) -> bool:
        """Write the pack ``open_pack`` named: the indexes of the entries this run read or
        stored with one, unless it would hold just what the pack read holds. Returns whether
        a pack was written (a failure costs the next run time, never results)."""
        used, packed = self._used, self._packed
        if self._pack_name is None or not used:
            return False
        if len(used) == len(packed) and all(packed.get(k) is v for k, v in used.items()):
            return False
        path = self._pack_file(self._pack_name)
        folder = os.path.dirname(path)
        temporary = os.path.join(folder, f".tmp-{os.getpid()}-{secrets.token_hex(6)}")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(temporary, "wb") as handle:
                handle.write(_pack_bytes(used))
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return False
        return True

    def _pack_file(self, name: str) -> str:
        return os.path.join(self._root, PACK_FOLDER, f"{name}.pack")

    def discard(self, key: str, label: str, exc: CorruptEntry) -> None:
        """Remove the corrupt entry under ``key`` (found so by ``exc``) with a warning: the
        node is recomputed."""
        path = self._path(key)
        self.stats.warnings.append(
            f"cache entry of {label} is corrupt ({exc}); recomputed: {path.name}"
        )
        with contextlib.suppress(OSError):  # a read-only cache keeps it; it stays a miss
            path.unlink(missing_ok=True)

    def put(
        self, key: str, value: Any, index: Any = None, raw: Mapping[str, bytes] | None = None
    ) -> bool:
        """Store ``value`` under ``key``, with ``index`` (plain JSON: str, int, float, bool,
        None, lists and str-keyed dicts of them) and ``raw`` (named bytes the index describes,
        such as texts and runs of doubles: read without parsing); False when the codec cannot
        store the value or the folder is not writable (a warning, once)."""
        try:
            data = pack(key, value, index, raw)
        except Uncacheable:
            return False
        path = self._path(key)
        temporary = path.parent / f".tmp-{os.getpid()}-{secrets.token_hex(6)}"
        try:
            # inside the try: an unwritable folder, or a file where the shard folder belongs,
            # costs the entry, not the run
            path.parent.mkdir(exist_ok=True)
            # no fsync: the rename is atomic for every process, and an entry a power cut
            # leaves torn fails its checksum and is recomputed (fsync was 5 ms an entry)
            with temporary.open("wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
            if index is not None:  # indexed entries go in the run's pack (``write_pack``)
                stat = os.stat(path)
                text = json.dumps(index, separators=(",", ":")).encode()
                self._used[key] = _Packed(text, dict(raw or {}), stat.st_size, stat.st_mtime_ns)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            warning = f"cache entries not stored in '{self.folder}' ({exc.strerror})"
            if warning not in self.stats.warnings:  # once, not once per node
                self.stats.warnings.append(warning)
            return False
        return True

    def evict(self) -> int:
        """Remove least-recently-used entries until the folder holds at most ``max_size``
        bytes; returns how many were removed."""
        entries = []
        # os.scandir, not Path.glob: a run of thousands of nodes evicts after every run
        for path in self._files():
            try:
                stat = os.stat(path)
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries, key=lambda e: (e[0], e[2])):
            if total <= self.max_size:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass  # another run removed it
            except OSError:  # not ours to remove (a folder named *.entry, a read-only file)
                continue
            total -= size
            removed += 1
        self.stats.evicted += removed
        return removed

    def _files(self) -> list[str]:
        """The paths of the entries (``*/*.entry``), run records (``runs/*.record``) and packs
        (``packs/*.pack``) in the folder, hidden names left out as ``glob`` leaves them."""
        out = []
        try:
            shards = [e for e in os.scandir(self._root) if not e.name.startswith(".")]
        except OSError:
            return []
        for shard in shards:
            suffixes = [".entry"]
            if shard.name == RECORD_FOLDER:
                suffixes.append(".record")
            elif shard.name == PACK_FOLDER:
                suffixes.append(".pack")
            try:
                if not shard.is_dir():
                    continue
                names = [e.name for e in os.scandir(shard.path)]
            except OSError:
                continue
            for name in names:
                if not name.startswith(".") and name.endswith(tuple(suffixes)):
                    out.append(os.path.join(shard.path, name))
        return out

    def _sweep_temporaries(self) -> None:
        """Remove the temporary files of writers killed mid-write (older than an hour, or left
        by a process that no longer exists)."""
        now = time.time()
        for path in self.folder.glob("*/.tmp-*"):
            try:
                pid = int(path.name.split("-")[1])
                alive = pid_alive(pid)
                if not alive or now - path.stat().st_mtime > _STALE_TEMP_SECONDS:
                    path.unlink(missing_ok=True)
            except (ValueError, IndexError, OverflowError, OSError):
                continue  # not a pid os.kill takes (.tmp-99999999999999999999): not ours


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine): the owner of a temporary file or
    staging folder named after it may still be writing."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class StoredEntry:
    """An entry whose header and checksum hold: ``index`` is its plain-JSON index, parsed, and
    ``raw`` its named bytes; ``value()`` decodes the value (raises ``CorruptEntry`` for a tree
    ``encode`` cannot have written: a checksum is no signature). An entry served from a pack
    has no tree yet: ``whole`` reads and checks its file when its value is asked for."""

    index: Any
    raw: dict[str, bytes]
    tree: bytes
    blobs: dict[str, bytes]
    index_bytes: bytes = field(default=b"", repr=False)
    whole: Callable[[], StoredEntry] | None = field(default=None, repr=False, compare=False)

    def value(self) -> Any:
        if self.whole is not None:
            return self.whole().value()
        # decoded as it is parsed: one pass, the walk over the tree in C
        hook = _object_hook(self.blobs)
        return _decoding(lambda: json.loads(self.tree, object_hook=hook))


@dataclass(frozen=True)
class _Packed:
    """One entry as a pack holds it: its index (JSON text), its raw parts, and the size and
    modification time (ns) of its file when the pack was written."""

    index: bytes
    raw: dict[str, bytes]
    size: int
    mtime_ns: int


def _pack_bytes(items: Mapping[str, _Packed]) -> bytes:
    """A pack: a header line (magic, format, SHA-256 of the body, and per entry its key, file
    size and time, and the lengths of its index and raw parts), then those parts."""
    rows = []
    parts: list[bytes] = []
    for key, item in items.items():
        raw = [[name, len(data)] for name, data in item.raw.items()]
        rows.append([key, item.size, item.mtime_ns, len(item.index), raw])
        parts.append(item.index)
        parts.extend(item.raw.values())
    body = b"".join(parts)
    header = {"format": FORMAT, "sha256": hashlib.sha256(body).hexdigest(), "entries": rows}
    return PACK_MAGIC + b" " + json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def _read_pack(data: bytes) -> dict[str, _Packed]:
    """The entries of a pack ``_pack_bytes`` wrote; raises ``CorruptEntry`` for any other."""
    line, newline, body = data.partition(b"\n")
    if not newline or not line.startswith(PACK_MAGIC + b" "):
        raise CorruptEntry("no pack header")
    try:
        header = json.loads(line[len(PACK_MAGIC) + 1 :])
        if header["format"] != FORMAT:
            raise CorruptEntry("a pack of another format")
        if hashlib.sha256(body).hexdigest() != header["sha256"]:
            raise CorruptEntry("pack checksum mismatch")
        out: dict[str, _Packed] = {}
        at = 0
        for key, size, mtime_ns, indexed, raw in header["entries"]:
            if not (type(key) is str and type(size) is int and type(mtime_ns) is int):
                raise CorruptEntry("a pack row of other types")
            index = body[at : at + indexed]
            at += indexed
            parts = {}
            for name, length in raw:
                parts[str(name)] = body[at : at + length]
                at += length
            out[key] = _Packed(index, parts, size, mtime_ns)
        if at != len(body) or min((len(p.index) for p in out.values()), default=1) < 1:
            raise CorruptEntry("pack parts differ from its header")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CorruptEntry(f"bad pack: {exc}") from None
    return out


def pack(key: str, value: Any, index: Any = None, raw: Mapping[str, bytes] | None = None) -> bytes:
    """The bytes of the entry ``NodeCache.put`` writes; raises ``Uncacheable``."""
    tree, blobs = encode(value)
    raw = dict(raw or {})
    index_json = json.dumps(index, separators=(",", ":")).encode()
    body_json = json.dumps(tree, separators=(",", ":"), allow_nan=False).encode()
    body = index_json + b"".join(raw.values()) + body_json + b"".join(blobs.values())
    header = {
        "format": FORMAT,
        "key": key,
        "sha256": hashlib.sha256(body).hexdigest(),
        "index": len(index_json),
        "raw": [[name, len(data)] for name, data in raw.items()],
        "json": len(body_json),
        "blobs": [[name, len(data)] for name, data in blobs.items()],
    }
    return MAGIC + b" " + json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def _unpack(raw: bytes, key: str) -> StoredEntry:
    line, newline, body = raw.partition(b"\n")
    if not newline or not line.startswith(MAGIC + b" "):
        raise CorruptEntry("no header")
    try:
        header = json.loads(line[len(MAGIC) + 1 :])
        indexed, parsed = int(header["index"]), int(header["json"])
        named = [(str(name), int(size)) for name, size in header["raw"]]
        sizes = [(str(name), int(size)) for name, size in header["blobs"]]
        parts = [indexed, parsed, *(size for _, size in named), *(size for _, size in sizes)]
        digest = header["sha256"]
        if header["format"] != FORMAT or header["key"] != key:
            raise CorruptEntry("written for another key or format")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CorruptEntry(f"bad header: {exc}") from None
    if len(body) != sum(parts) or min(parts) < 0:
        raise CorruptEntry(f"{len(body)} bytes where the header says {sum(parts)}")
    if hashlib.sha256(body).hexdigest() != digest:
        raise CorruptEntry("checksum mismatch")
    index = _decoding(lambda: json.loads(body[:indexed]))

    def cut(items: list[tuple[str, int]], offset: int) -> tuple[dict[str, bytes], int]:
        out = {}
        for name, size in items:
            out[name] = body[offset : offset + size]
            offset += size
        return out, offset

    named_bytes, offset = cut(named, indexed)
    blobs, _ = cut(sizes, offset + parsed)
    return StoredEntry(index, named_bytes, body[offset : offset + parsed], blobs, body[:indexed])
