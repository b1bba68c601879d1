"""Every notebook in ``full`` without its data stops at its first data cell with one line naming the missing path
and the command (or page) that fetches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def first_data_cell(cells: list[dict]) -> int:
    """Index of the notebook's first data cell: the first code cell that reads a data set, which starts by naming
    what it needs with ``require_data`` (the cells before it, setup and toy examples, need no data)."""
    return next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code" and "require_data(" in "".join(cell["source"]))


def test_full_without_data_names_the_path_and_the_command(repo_without_samples, tmp_path):
    empty = tmp_path / "no_data"
    empty.mkdir()
    course_dir = tmp_path / "course"
    env = {**os.environ, "ZSL_DATA_DIR": str(empty), "ZSL_OUTPUTS_DIR": str(tmp_path / "outputs"), "ZSL_DEVICE": "cpu"}
    completed = subprocess.run(
        [sys.executable, "-m", "utils.course", "--profile", "full", "--budget", "tiny", "--out", str(course_dir)],
        cwd=repo_without_samples, env=env, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 1, completed.stdout[-2000:] + completed.stderr[-2000:]
    executed = sorted(course_dir.glob("[0-9][0-9]_*.ipynb"))
    assert len(executed) == 9
    for path in executed:
        cells = json.loads(path.read_text())["cells"]
        errors = [(i, output) for i, cell in enumerate(cells) if cell["cell_type"] == "code"
                  for output in cell.get("outputs", []) if output["output_type"] == "error"]
        assert len(errors) == 1, f"{path.name}: {len(errors)} error outputs"
        index, error = errors[0]
        assert index == first_data_cell(cells), f"{path.name} stopped at cell {index}, not its first data cell"
        assert error["ename"] == "MissingDataError", f"{path.name}: {error['ename']}: {error['evalue']}"
        message = error["evalue"]
        assert "\n" not in message and str(empty) in message, f"{path.name}: {message}"
        assert "python -m utils.download" in message or "https://" in message, f"{path.name}: {message}"
        assert len(error["traceback"]) == 1, f"{path.name} shows a traceback of {len(error['traceback'])} lines"
