"""nmslib's CPU notice stays out of ``make course``'s output, and nothing else written to stderr is lost."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _stderr_of(code: str) -> str:
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return completed.stderr


def test_creating_an_index_prints_no_cpu_notice_but_passes_other_lines_on():
    raw = _stderr_of("import nmslib; nmslib.init(method='hnsw', space='cosinesimil')")
    if "Your CPU supports instructions" not in raw:
        pytest.skip("this nmslib build prints no CPU notice on this CPU")
    quiet = _stderr_of(
        "import os\n"
        "from utils.search.nmslib_index import NmslibIndex, _without_cpu_notice\n"
        "NmslibIndex(dimension=4); NmslibIndex(dimension=4)\n"
        "with _without_cpu_notice():\n"
        "    os.write(2, b'a real error\\n')\n"
    )
    assert "Your CPU supports instructions" not in quiet and "install NMSLIB" not in quiet
    assert quiet.splitlines() == ["a real error"]
