"""Fixtures of the user-path tests: the miniature real-layout data tree and a copy of the repository without
``data_samples/`` (so a run that reads the sample world by mistake fails instead of passing silently)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from full_data_tree import build_full_data_tree  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def full_data_tree(tmp_path_factory) -> tuple[Path, dict]:
    """``(root, counts)`` of a miniature ``$ZSL_DATA_DIR`` in the exact layout of the real downloads."""
    root = tmp_path_factory.mktemp("full_data") / "data"
    return root, build_full_data_tree(root)


@pytest.fixture(scope="session")
def repo_without_samples(tmp_path_factory) -> Path:
    """The working tree's tracked and untracked (not ignored) files, without ``data_samples/``."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    copy = tmp_path_factory.mktemp("repo") / "zero-shot-vision-lab"
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if name.startswith("data_samples/") or not source.is_file():
            continue
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy / name)
    return copy


@pytest.fixture
def fresh_outputs(tmp_path, monkeypatch):
    """Empty outputs for notebooks run in smoke on the CPU (the kernels a test starts inherit the variables)."""
    monkeypatch.setenv("ZSL_OUTPUTS_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("ZSL_PROFILE", "smoke")
    monkeypatch.setenv("ZSL_DEVICE", "cpu")
    monkeypatch.delenv("ZSL_BUDGET", raising=False)
