"""``make`` on an interpreter older than the project supports stops with one line naming it, before any venv."""

import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.check_python import problem

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_supported_versions_pass_and_older_ones_get_one_line_naming_the_interpreter():
    assert problem((3, 11, 0), "/usr/bin/python3") is None
    assert problem((3, 13, 1), "/usr/bin/python3") is None
    line = problem((3, 10, 12), "/usr/bin/python3.10")
    assert line.startswith("error: /usr/bin/python3.10 is Python 3.10.12; Zero-Shot Vision Lab needs Python 3.11")
    assert "\n" not in line and "make PYTHON=python3.12" in line
    assert problem(sys.version_info, sys.executable) is None  # the interpreter running the tests


def _old_interpreter() -> str | None:
    """A Python older than 3.11 that really runs (pyenv's shims exist for versions they cannot start)."""
    candidates = [shutil.which(name) for name in ("python3.10", "python3.9", "python3.8")]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.*/bin/python3")))
    for candidate in filter(None, candidates):
        try:
            answer = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] < (3, 11))"],
                                    capture_output=True, text=True, timeout=20)
        except OSError:
            continue
        if answer.returncode == 0 and answer.stdout.strip() == "True":
            return candidate
    return None


def test_make_stops_before_creating_the_venv_on_an_old_interpreter(tmp_path):
    old = _old_interpreter()
    if old is None or shutil.which("make") is None:
        pytest.skip("no Python older than 3.11 (or no make) on this machine")
    venv = tmp_path / "venv"
    completed = subprocess.run(["make", f"PYTHON={old}", f"VENV={venv}", "course"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode != 0 and not venv.exists()
    ours = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1 and "needs Python 3.11 or newer" in ours[0] and old in ours[0]
