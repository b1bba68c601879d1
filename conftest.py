"""pytest settings shared by both test folders: ``tests/`` and the notebooks that nbmake runs (``make test``)."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent


def pytest_configure(config):
    """Each pytest process (each xdist worker) writes what a config's default ``outputs`` holds into a folder of its own,
    ``outputs/tests/<worker>``, unless ``ZSL_OUTPUTS_DIR`` names one: the notebooks (one worker) and the tests of
    another worker that build smoke configs never share a split folder or a checkpoint (two processes making one
    split folder at once each removed the other's half-written files). The kernels and commands a test starts
    inherit it."""
    if "ZSL_OUTPUTS_DIR" not in os.environ:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        os.environ["ZSL_OUTPUTS_DIR"] = str(REPO_ROOT / "outputs" / "tests" / worker)


def pytest_collection_modifyitems(config, items):
    """Group the tests for pytest-xdist (``make test`` runs ``-n auto --dist loadgroup``).

    Each test file stays on one worker, so its module-scoped fixtures (the tiny models several tests share) are
    trained once; every notebook runs on one worker, one after another, because in the smoke profile they share
    ``outputs/*/smoke`` (notebooks 01–04 the split folder and the stage-1 checkpoints). Without xdist the marks change
    nothing.
    """
    for item in items:
        group = "notebooks" if item.path.suffix == ".ipynb" else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))
