"""Run a split script as a shell runs it, optionally with the crash hook of :mod:`utils.fileops` armed."""

import os
import subprocess
import sys
from pathlib import Path

from utils import fileops


def run_cli(module: str, arguments, repo_root: Path, crash_after=None, crash_stage=None):
    """``python -m module arguments`` in ``repo_root``; with ``crash_after`` it dies (exit 137) after that many
    file operations, at ``crash_stage`` (:data:`utils.fileops.CRASH_STAGES`)."""
    environment = {**os.environ, "PYTHONPATH": str(repo_root)}
    environment.pop(fileops.CRASH_AFTER_ENV, None)
    environment.pop(fileops.CRASH_STAGE_ENV, None)
    if crash_after is not None:
        environment[fileops.CRASH_AFTER_ENV] = str(crash_after)
        environment[fileops.CRASH_STAGE_ENV] = crash_stage or "complete"
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, arguments)],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
