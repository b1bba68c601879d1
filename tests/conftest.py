"""Shared fixtures: the repository root, the committed sample world, and the optional reference data."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_samples() -> Path:
    return REPO_ROOT / "data_samples"


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The real metadata files in ``../shared/reference-data`` (or ``$ZSL_REFERENCE_DATA``).

    A user's fresh clone does not have them, so tests that need them skip.
    """
    path = Path(os.environ.get("ZSL_REFERENCE_DATA", REPO_ROOT.parent / "shared" / "reference-data"))
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set ZSL_REFERENCE_DATA to its folder)")
    return path
