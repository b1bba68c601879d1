"""Safe file copies and moves: copy to a temporary name, verify, then rename into place.

Every operation here follows the same contract, so a run that is killed at any instant can be
re-run and finishes the job without losing or duplicating a file:

* **Copy**: the bytes go to ``.<name>.partial`` in the destination folder, are flushed and
  ``fsync``-ed, the temporary file is verified against the source (size and SHA-256 of what was
  read), and only then renamed to the final name with :func:`os.replace` (atomic on one file
  system). A final name therefore always holds a complete, verified copy.
* **Never overwrite**: if the destination already exists and has the same bytes, the copy counts
  as already done; if it differs, it is a *conflict*: both files are left untouched and reported.
* **Move**: a verified copy, then the source is deleted, only once the copy is in place. If a run
  dies between the two steps, both files exist with the same bytes; the next run sees the identical
  destination and just deletes the source.
* **Leftovers**: ``.partial`` files of a killed run are removed and redone on the next run.

Test hook (for the kill-half-way tests, never needed in normal use): the environment variable
``ZSL_FILEOPS_CRASH_AFTER=K`` makes the process die abruptly with ``os._exit(137)`` (what
``SIGKILL`` looks like) once ``K`` copies/moves have completed. ``ZSL_FILEOPS_CRASH_STAGE`` picks
where the next operation dies instead:

* ``complete`` (default): right after the ``K``-th operation completed;
* ``partial``: half-way through writing the ``(K+1)``-th temporary file;
* ``before-delete``: in the ``(K+1)``-th move, after the verified copy is in place and before the
  source is deleted (the file then exists in both places).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CRASH_AFTER_ENV = "ZSL_FILEOPS_CRASH_AFTER"
CRASH_STAGE_ENV = "ZSL_FILEOPS_CRASH_STAGE"
CRASH_STAGES = ("complete", "partial", "before-delete")
CRASH_EXIT_CODE = 137

PARTIAL_SUFFIX = ".partial"
CHUNK_SIZE = 1024 * 1024

COPIED = "copied"
MOVED = "moved"
IDENTICAL = "identical"
CONFLICT = "conflict"

_completed_operations = 0


class VerificationError(OSError):
    """A temporary copy did not match its source (size or SHA-256); nothing was renamed."""


@dataclass
class TransferSummary:
    """What a batch of copies or moves did (or, in a dry run, would do).

    Attributes:
        copied: files copied to a new destination.
        skipped_identical: destinations that already held the same bytes (nothing to do).
        conflicts: ``(source, destination)`` pairs whose destination exists with other bytes;
            both files were left untouched.
        moved: files moved (verified copy in place, then the source deleted), including moves an
            earlier, interrupted run had copied but not yet deleted.
        removed_partials: leftover ``.partial`` files of an interrupted run that were removed.
        dry_run: ``True`` when the counts describe what would happen and nothing was touched.
    """

    copied: int = 0
    skipped_identical: int = 0
    conflicts: list[tuple[Path, Path]] = field(default_factory=list)
    moved: int = 0
    removed_partials: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """``True`` when there was no conflict."""
        return not self.conflicts

    def merge(self, other: TransferSummary) -> TransferSummary:
        """Add ``other``'s counts and conflicts into this summary and return it."""
        self.copied += other.copied
        self.skipped_identical += other.skipped_identical
        self.conflicts.extend(other.conflicts)
        self.moved += other.moved
        self.removed_partials += other.removed_partials
        self.dry_run = self.dry_run or other.dry_run
        return self

    def record(self, outcome: str, source: Path, destination: Path) -> None:
        """Count one outcome returned by :func:`safe_copy` or :func:`safe_move`."""
        if outcome == COPIED:
            self.copied += 1
        elif outcome == MOVED:
            self.moved += 1
        elif outcome == IDENTICAL:
            self.skipped_identical += 1
        elif outcome == CONFLICT:
            self.conflicts.append((Path(source), Path(destination)))
        else:
            raise ValueError(f"unknown outcome {outcome!r}")


def partial_path(destination: Path) -> Path:
    """The temporary name a copy to ``destination`` is written under: ``.<name>.partial``."""
    destination = Path(destination)
    return destination.with_name(f".{destination.name}{PARTIAL_SUFFIX}")


def is_partial(path: Path) -> bool:
    """``True`` for a temporary file named by :func:`partial_path`."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def files_identical(first: Path, second: Path) -> bool:
    """``True`` when two files have the same size and the same bytes (compared chunk by chunk)."""
    first, second = Path(first), Path(second)
    if first.stat().st_size != second.stat().st_size:
        return False
    with open(first, "rb") as first_file, open(second, "rb") as second_file:
        while True:
            first_chunk = first_file.read(CHUNK_SIZE)
            if first_chunk != second_file.read(CHUNK_SIZE):
                return False
            if not first_chunk:
                return True


def remove_partials(folder: Path, dry_run: bool = False) -> int:
    """Remove the ``.partial`` leftovers of an interrupted run anywhere under ``folder``.

    Args:
        folder: the folder to clean (a missing folder has nothing to clean).
        dry_run: count them without removing anything.

    Returns:
        The number of leftovers found (and, unless ``dry_run``, removed).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    leftovers = [path for path in folder.rglob(f".*{PARTIAL_SUFFIX}") if path.is_file()]
    if not dry_run:
        for path in leftovers:
            path.unlink(missing_ok=True)
    return len(leftovers)


def safe_copy(
    source: Path, destination: Path, summary: TransferSummary | None = None, dry_run: bool = False
) -> str:
    """Copy ``source`` to ``destination`` through a verified temporary file; never overwrite.

    Args:
        source: an existing file.
        destination: the final path; its folder is created if needed.
        summary: if given, the outcome is counted in it.
        dry_run: only decide the outcome (reading files to compare them); write nothing.

    Returns:
        ``"copied"``, ``"identical"`` (the destination already held the same bytes) or
        ``"conflict"`` (the destination exists with other bytes; both files left untouched).

    Raises:
        VerificationError: if the temporary copy does not match the source (it is removed).
        OSError: if reading or writing fails.
    """
    source, destination = Path(source), Path(destination)
    outcome = _existing_outcome(source, destination)
    if outcome is None:
        outcome = COPIED
        if not dry_run:
            removed = _copy_verified(source, destination)
            if summary is not None:
                summary.removed_partials += removed
            _operation_completed()
    if summary is not None:
        summary.record(outcome, source, destination)
    return outcome


def safe_move(
    source: Path, destination: Path, summary: TransferSummary | None = None, dry_run: bool = False
) -> str:
    """Move ``source`` to ``destination``: a verified copy, then the source is deleted.

    When the destination already holds the same bytes (an earlier run was killed between its copy
    and its delete), only the source is deleted, which completes that move.

    Args:
        source: an existing file.
        destination: the final path; its folder is created if needed.
        summary: if given, the outcome is counted in it.
        dry_run: only decide the outcome; touch nothing.

    Returns:
        ``"moved"`` or ``"conflict"`` (the destination exists with other bytes; both left untouched).

    Raises:
        VerificationError: if the temporary copy does not match the source (it is removed, the
            source is kept).
        OSError: if reading, writing or deleting fails.
    """
    source, destination = Path(source), Path(destination)
    outcome = _existing_outcome(source, destination)
    if outcome == CONFLICT:
        if summary is not None:
            summary.record(CONFLICT, source, destination)
        return CONFLICT
    if not dry_run:
        if outcome is None:
            removed = _copy_verified(source, destination)
            if summary is not None:
                summary.removed_partials += removed
            # The new name must survive a power loss before the old one may disappear.
            _fsync_folder(destination.parent)
            _maybe_crash("before-delete")
        source.unlink()
        _operation_completed()
    if summary is not None:
        summary.record(MOVED, source, destination)
    return MOVED


def progress_disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable`` for ``progress``: ``True`` shows the bar, ``False`` hides it, ``None`` shows it
    only when stderr is a terminal (what the command lines use, so logs stay clean)."""
    return None if progress is None else not progress


def describe_os_error(error: OSError) -> str:
    """One line naming what went wrong and the file it happened to."""
    if error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return str(error)


def _existing_outcome(source: Path, destination: Path) -> str | None:
    if not destination.exists():
        return None
    return IDENTICAL if files_identical(source, destination) else CONFLICT


def _copy_verified(source: Path, destination: Path) -> int:
    """Write ``source`` to the temporary name, verify it, rename it; return leftovers removed."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = partial_path(destination)
    removed = 0
    if temporary.exists():
        temporary.unlink()
        removed = 1
    source_size = source.stat().st_size
    source_digest = hashlib.sha256()
    try:
        with open(source, "rb") as source_file, open(temporary, "xb") as temporary_file:
            written = 0
            while chunk := source_file.read(CHUNK_SIZE):
                source_digest.update(chunk)
                if _crash_stage_is("partial") and written + len(chunk) >= source_size / 2:
                    temporary_file.write(chunk[: max(1, len(chunk) // 2)])
                    temporary_file.flush()
                    os._exit(CRASH_EXIT_CODE)
                temporary_file.write(chunk)
                written += len(chunk)
            temporary_file.flush()
            os.fsync(temporary_file.fileno())
        if temporary.stat().st_size != source_size or sha256_of(temporary) != source_digest.hexdigest():
            raise VerificationError(f"copy of {source} to {temporary} does not match the source")
        shutil.copystat(source, temporary)
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make a rename or delete in ``folder`` durable (POSIX only; a no-op elsewhere)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _crash_after() -> int | None:
    value = os.environ.get(CRASH_AFTER_ENV)
    return int(value) if value not in (None, "") else None


def _crash_stage_is(stage: str) -> bool:
    limit = _crash_after()
    chosen = os.environ.get(CRASH_STAGE_ENV, "complete") or "complete"
    return limit is not None and chosen == stage and _completed_operations == limit


def _maybe_crash(stage: str) -> None:
    if _crash_stage_is(stage):
        os._exit(CRASH_EXIT_CODE)


def _operation_completed() -> None:
    global _completed_operations
    _completed_operations += 1
    limit = _crash_after()
    chosen = os.environ.get(CRASH_STAGE_ENV, "complete") or "complete"
    if limit is not None and chosen == "complete" and _completed_operations >= limit:
        os._exit(CRASH_EXIT_CODE)
