"""pytest settings shared by both test folders: ``tests/`` and the notebooks that nbmake runs (``make test``)."""

import pytest


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
