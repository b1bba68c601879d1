"""Kill a process half-way through its file operations, as ``SIGKILL`` would: the kill-and-rerun tests' injection.

:func:`arm` wraps :mod:`utils.fileops` in this process so that it dies with ``os._exit(137)`` (no clean-up, no
``finally``, no flush: what ``SIGKILL`` looks like) once ``crash_after`` operations (copies, links, moves) have
completed. ``stage`` picks where the next operation dies instead:

* ``complete``: right after the ``crash_after``-th operation completed;
* ``partial``: half-way through writing the next temporary file; for a link, just before :func:`os.link` (a link
  is made whole or not at all); for a move by rename, just before the rename;
* ``before-delete``: in the next move, after the verified copy is in place and before the source is deleted (the
  file then exists in both places); for a move by rename, just before the rename (the file is then still only at
  its old name).

As a script it runs a command line in a process armed that way::

    python -m tests.utils._fileops_crash CRASH_AFTER STAGE MODULE [ARGUMENTS...]

runs ``python -m MODULE ARGUMENTS...`` after :func:`arm`, so the library itself carries no test hook.
"""

from __future__ import annotations

import inspect
import os
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

from utils import fileops

CRASH_EXIT_CODE = 137
CRASH_STAGES = ("complete", "partial", "before-delete")
_WORK_DONE = {"safe_copy": (fileops.COPIED,), "safe_link": (fileops.LINKED, fileops.COPIED),
              "safe_move": (fileops.MOVED,)}
"""The outcomes of each operation that count as one completed operation (when not a dry run)."""


def arm(crash_after: int, stage: str = "complete") -> None:
    """Make this process die at ``stage`` of file operation number ``crash_after + 1`` (see the module docstring).

    Call it before the code under test imports names from :mod:`utils.fileops`.
    """
    if stage not in CRASH_STAGES:
        raise ValueError(f"stage {stage!r} is not one of {', '.join(CRASH_STAGES)}")
    state = SimpleNamespace(completed=0, in_move=False)

    def armed(at_stage: str) -> bool:
        return stage == at_stage and state.completed == crash_after

    def counted(name: str):
        operation = getattr(fileops, name)
        signature = inspect.signature(operation)

        def run(*args, **kwargs):
            state.in_move = name == "safe_move"
            try:
                outcome = operation(*args, **kwargs)
            finally:
                state.in_move = False
            if outcome in _WORK_DONE[name] and not signature.bind(*args, **kwargs).arguments.get("dry_run"):
                state.completed += 1
                if stage == "complete" and state.completed >= crash_after:
                    os._exit(CRASH_EXIT_CODE)
            return outcome

        return run

    copy_verified = fileops._copy_verified

    def copy_verified_or_die(source: Path, destination: Path) -> int:
        if armed("partial") and Path(source).stat().st_size > 0:
            data = Path(source).read_bytes()
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
            fileops.partial_path(destination).write_bytes(data[: max(1, len(data) // 2)])
            os._exit(CRASH_EXIT_CODE)
        removed = copy_verified(source, destination)
        if armed("before-delete") and state.in_move:
            os._exit(CRASH_EXIT_CODE)
        return removed

    class OsDyingBeforeLinkOrRename:
        """:mod:`os` for :mod:`utils.fileops`, except that ``link`` and ``rename`` die first when armed."""

        def __getattr__(self, name: str):
            return getattr(os, name)

        def link(self, *args, **kwargs):
            if armed("partial"):
                os._exit(CRASH_EXIT_CODE)
            return os.link(*args, **kwargs)

        def rename(self, *args, **kwargs):
            if armed("partial") or armed("before-delete"):
                os._exit(CRASH_EXIT_CODE)
            return os.rename(*args, **kwargs)

    for name in _WORK_DONE:
        setattr(fileops, name, counted(name))
    fileops._copy_verified = copy_verified_or_die
    fileops.os = OsDyingBeforeLinkOrRename()


if __name__ == "__main__":
    crash_after, crash_stage, module, *arguments = sys.argv[1:]
    arm(int(crash_after), crash_stage)
    sys.argv = [sys.argv[0], *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
