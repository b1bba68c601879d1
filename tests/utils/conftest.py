"""Fixtures shared by the file-operation tests of utils/ and utils/splits/."""

import pytest


@pytest.fixture
def source_file(tmp_path):
    path = tmp_path / "source" / "zebra_10001.jpg"
    path.parent.mkdir()
    path.write_bytes(bytes(range(256)) * 40)
    return path
