"""Byte-stable Office files: Word and Excel files are zip packages whose members carry the time
they were written, so two runs of the same spec would differ. The members are rewritten with a
fixed time (1980-01-01, the zip format's epoch), in their original order."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping

EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_members(data: bytes) -> list[tuple[str, bytes]]:
    """The members of the zip file ``data`` as (name, uncompressed bytes), in their order."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        return [(info.filename, source.read(info.filename)) for info in source.infolist()]


def stable_zip_of(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip file of ``members`` (name, bytes) in their order, each deflated and stamped with
    the zip epoch (1980-01-01) and mode 0644, so the same members give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members:
            member = zipfile.ZipInfo(name, date_time=EPOCH)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, content)
    return out.getvalue()


def stable_zip(data: bytes) -> bytes:
    """``data`` (a zip file) with every member's timestamp set to the zip epoch."""
    return stable_zip_of(zip_members(data))


def figure_items(figures: Mapping[str, bytes]) -> list[tuple[str, bytes]]:
    """Figures in name order, so documents do not depend on the order figures were drawn."""
    return sorted(figures.items())
