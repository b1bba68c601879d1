"""Run a split script as a shell runs it, optionally killed half-way (:mod:`tests.utils._fileops_crash`)."""

import os
import subprocess
import sys
from pathlib import Path


def run_cli(module: str, arguments, repo_root: Path, crash_after=None, crash_stage=None):
    """``python -m module arguments`` in ``repo_root``; with ``crash_after`` it dies (exit 137) after that many
    file operations, at ``crash_stage`` (:data:`tests.utils._fileops_crash.CRASH_STAGES`)."""
    command = [sys.executable, "-m", module]
    if crash_after is not None:
        command = [sys.executable, "-m", "tests.utils._fileops_crash", str(crash_after), crash_stage or "complete", module]
    return subprocess.run(
        [*command, *map(str, arguments)],
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
