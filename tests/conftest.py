"""Shared test helpers: where the project and the reference data sets are."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_ROOT = PROJECT_ROOT.parent / "shared" / "reference"


def reference_file(*parts: str) -> Path:
    """A reference data file beside the project, or skip the test saying which one is missing."""
    path = REFERENCE_ROOT.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"reference data ../shared/reference/{'/'.join(parts)} is not beside the project "
            "(reference data are read where they are, not copied into the project)"
        )
    return path


@pytest.fixture
def reference():
    """``reference("grunfeld", "Grunfeld_plm.csv")``: a reference file's path, or a skip."""
    return reference_file
