"""The figures a notebook reports, collected by the course runner into ``results.md``.

A notebook ends with ``record_results("00_data_and_splits", {"seen classes": 40, ...})``; the file
goes to ``$ZSL_RESULTS_DIR`` (the course runner sets it) or ``outputs/results/<run label>/``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from utils.config import current_budget, current_profile, current_seed, outputs_dir, run_label


def results_dir() -> Path:
    """``$ZSL_RESULTS_DIR``, else ``outputs/results/<run label>`` of ``$ZSL_PROFILE``, ``$ZSL_BUDGET`` and
    ``$ZSL_SEED``."""
    label = run_label(current_profile(), current_budget(), current_seed())
    return Path(os.environ.get("ZSL_RESULTS_DIR", outputs_dir() / "results" / label))


def _plain(value: Any) -> Any:
    """NumPy scalars and paths as plain JSON values; floats rounded for reading."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, Path):
        return str(value)
    return value


def record_results(notebook: str, figures: dict[str, Any]) -> Path:
    """Save ``figures`` (name → number or short text) of ``notebook`` as JSON; returns the file.

    Raises:
        TypeError: if a value cannot be written as JSON.
    """
    payload = {
        "notebook": notebook,
        "profile": current_profile(),
        "seed": current_seed(),
        "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "figures": {name: _plain(value) for name, value in figures.items()},
    }
    path = results_dir() / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_results(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every results file in ``folder`` (default :func:`results_dir`), sorted by notebook name."""
    folder = Path(folder or results_dir())
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
