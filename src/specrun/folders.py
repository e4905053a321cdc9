"""Whether a run can write its output folder, asked before it fits anything: light (the
standard library only), so that ``specrun validate`` asks it too."""

from __future__ import annotations

import os
from pathlib import Path

from specrun.errors import SpecError


def check_writable(folder: Path, *, permissions: bool = True) -> None:
    """A run can put its output folder at ``folder``: ``folder`` is a folder or does not exist,
    the nearest existing folder above it is a folder (not a file in the way of the path) where
    this user may create files (the staging folder is made beside ``folder``), and an existing
    ``folder`` is one whose files this user may replace. Raises ``SpecError`` (code ``data``)
    saying which path is wrong and how; checked before a run fits anything, so nothing is
    written (``OSError``'s "File exists" for ``--out file/sub`` said neither).
    ``permissions=False`` checks the path alone (``specrun validate``: whoever runs the spec
    may have the rights its validator lacks)."""
    target = Path(os.path.abspath(folder))
    if target.is_symlink() and not target.exists():
        # writing through it would make the folder it names, wherever that is
        raise SpecError(f"'{folder}' is a broken symbolic link", code="data")
    if target.exists() and not target.is_dir():
        raise SpecError(f"'{folder}' is a file, not a folder", code="data")
    above = target.parent
    while not above.exists() and not above.is_symlink() and above.parent != above:
        above = above.parent
    if above.is_symlink() and not above.exists():
        raise SpecError(f"'{above}' is a broken symbolic link", code="data")
    if not above.is_dir():
        raise SpecError(f"'{above}' is a file, not a folder", code="data")
    if not permissions:
        return
    for where in (above, target) if target.is_dir() else (above,):
        if os.access(where, os.W_OK | os.X_OK):
            continue
        if os.statvfs(where).f_flag & os.ST_RDONLY:
            raise SpecError(f"'{where}' is on a read-only file system", code="data")
        raise SpecError(f"no permission to write in '{where}'", code="data")
