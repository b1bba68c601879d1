"""Same seed, same figures: the smoke course run twice from empty outputs, in fresh kernels with different hash
seeds, records bit-identical figures in every notebook (timings aside)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils.course import find_notebooks

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMING_WORDS = ("s/epoch", "images/s", "queries/s", "seconds")
"""Figures that measure speed, which no seed fixes."""


def run_smoke_course(tmp_path: Path, hash_seed: str) -> dict:
    course_dir = tmp_path / f"course_{hash_seed}"
    env = {**os.environ, "ZSL_OUTPUTS_DIR": str(tmp_path / f"outputs_{hash_seed}"), "ZSL_DEVICE": "cpu",
           "PYTHONHASHSEED": hash_seed}
    env.pop("ZSL_BUDGET", None)
    completed = subprocess.run([sys.executable, "-m", "utils.course", "--profile", "smoke", "--out", str(course_dir)],
                               cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    figures = {}
    for path in sorted((course_dir / "results").glob("*.json")):
        entry = json.loads(path.read_text())
        figures[entry["notebook"]] = {name: value for name, value in entry["figures"].items()
                                      if not any(word in name for word in TIMING_WORDS)}
    return figures


def test_smoke_course_twice_gives_identical_figures(tmp_path):
    first, second = run_smoke_course(tmp_path, "1"), run_smoke_course(tmp_path, "2")
    assert len(first) == len(find_notebooks())  # every notebook recorded its figures
    differing = {notebook: {name: (value, second[notebook].get(name)) for name, value in figures.items()
                            if second[notebook].get(name) != value}
                 for notebook, figures in first.items()}
    assert not any(differing.values()), {notebook: diff for notebook, diff in differing.items() if diff}
    # Figures are rounded to 4 digits when recorded; DeViSE's image embeddings must agree to the last bit.
    embeddings = [np.load(tmp_path / f"outputs_{seed}" / "devise" / "smoke" / "embeddings.npz") for seed in "12"]
    assert embeddings[0].files == embeddings[1].files
    for name in embeddings[0].files:
        first_array, second_array = embeddings[0][name], embeddings[1][name]
        if name == "image_paths":  # each run has its own outputs folder: compare <class>/<file>
            first_array, second_array = ([Path(path).parts[-2:] for path in array] for array in (first_array, second_array))
        assert np.array_equal(first_array, second_array), name
