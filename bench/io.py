"""Benchmark: reading and hashing a large CSV source, as ``specrun run`` does, against the floors.

On the paper's export file made 1,000× larger (``data/generate.py --size 1000``: 4,092,000 rows,
230 MB), each timed in full ``--repeats`` times, interleaved (median, min–max):

  read, types from 10,000 rows   what specrun does by default (``infer_rows: 10000``)
  read, types from every row     ``infer_rows: all`` (what specrun did before)
  read the bytes                 the floor for hashing: the file read into one buffer
  XXH3-128 (specrun)             ``specrun.data.io.file_hash``
  SHA-256                        hashlib over 1 MiB blocks (what specrun did before)

    python bench/io.py [--size 1000] [--repeats 5] [--data DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import tempfile
from pathlib import Path

from specrun.data.io import file_hash, read_source
from specrun.spec.models import SourceSpec
from timing import interleaved

ROOT = Path(__file__).resolve().parents[1]
NAME = "province_exports.csv"


def read_bytes(path: Path) -> None:
    buffer = bytearray(1 << 23)
    with path.open("rb", buffering=0) as handle:
        while handle.readinto(buffer):
            pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args()
    folder = args.data or Path(tempfile.mkdtemp(prefix="specrun-bench-io-"))
    path = folder / NAME
    if not path.exists():
        spec = importlib.util.spec_from_file_location("generate", ROOT / "data" / "generate.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.generate(folder, size=args.size)
    bounded, full = SourceSpec(path=NAME), SourceSpec(path=NAME, infer_rows="all")
    timings = interleaved(
        {
            "read, types from 10,000 rows": lambda: read_source(bounded, folder),
            "read, types from every row": lambda: read_source(full, folder),
            "read the bytes": lambda: read_bytes(path),
            "XXH3-128 (specrun)": lambda: file_hash(path),
            "SHA-256": lambda: sha256(path),
        },
        args.repeats,
    )
    size = path.stat().st_size
    print(f"{path.name}: {size / 1e6:.0f} MB; median of {args.repeats} interleaved runs (min–max)")
    for name, timing in timings.items():
        print(f"  {name:30s} {timing!s:34s} {size / timing.median / 1e9:5.2f} GB/s")
    reads = (
        timings["read, types from every row"].median
        / timings["read, types from 10,000 rows"].median
    )
    hashes = timings["XXH3-128 (specrun)"].median / timings["read the bytes"].median
    print(f"whole-file inference / bounded: {reads:.2f}x; XXH3 / reading the bytes: {hashes:.2f}x")
    print("one run on a machine shared with other work; ratios are ratios of medians")


if __name__ == "__main__":
    main()
