"""Safe file copies, links and moves: copy to a temporary name, verify, then rename into place.

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
* **Link** (:func:`safe_link`, the split scripts' ``--link``): the destination becomes a hard link of
  the source with one :func:`os.link` call, which is atomic and never replaces an existing name
  (it fails on one, which is then judged identical or a conflict exactly as for a copy), so there is
  no temporary name and no half-made link. A link costs no disk space and shares the source's
  bytes: editing it edits the source. When links are impossible (another file system, ``EXDEV``;
  ``EPERM``, ``EMLINK``, ``ENOTSUP``: file systems without hard links, protected links, too many
  links) the file gets a verified copy instead, and :class:`LinkFallback` remembers it so that a
  run reports the fallback once, not once per file.
* **Moving a hard link**: a source with other names (a split made with ``--link``) is moved with
  one :func:`os.rename` when the destination is on the same file system, so it stays a link of the
  data set and exists under exactly one of its two split names at every instant; across file
  systems it is a verified copy, then only that name is unlinked (the data set's own name is never
  touched).
* **Leftovers**: ``.partial`` files of a killed run are removed and redone on the next run.
* **Same file**: a copy or move whose destination *is* its source (the same path through a
  symlinked folder, a symlink to the source, a hard link to it: :func:`os.path.samefile`, or a
  destination whose resolved path is the source's) raises :class:`SameFileError` before anything is
  read or written, also in a dry run. Such a "move" would otherwise find the destination
  "identical" and delete the only copy.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from utils.errors import ProjectError

PARTIAL_SUFFIX = ".partial"
CHUNK_SIZE = 1024 * 1024
IMAGE_SUFFIXES = frozenset({".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
"""What counts as an image file (its ending, in any case): for the data set loaders, the split scripts and the image
cache alike, so that what a split copies is what the loaders read and the cache resizes."""

COPIED = "copied"
LINKED = "linked"
MOVED = "moved"
IDENTICAL = "identical"
CONFLICT = "conflict"

LINK_IMPOSSIBLE_REASONS = {
    errno.EXDEV: "cross-device",
    errno.EPERM: "not permitted: no hard links on this file system, or protected links",
    errno.EMLINK: "too many links to one file",
    errno.ENOTSUP: "not supported by the file system",
    errno.EOPNOTSUPP: "not supported by the file system",
}
"""``errno`` of an :func:`os.link` failure that makes :func:`safe_link` copy instead -> the reason shown."""


class VerificationError(ProjectError, OSError):
    """A temporary copy did not match its source (size or SHA-256); nothing was renamed."""


class SameFileError(ProjectError, shutil.SameFileError):
    """Source and destination of a copy or move are one file; nothing was touched.

    An :class:`OSError` (through :class:`shutil.SameFileError`) whose message is one line naming
    both paths.
    """


@dataclass
class TransferSummary:
    """What a batch of copies or moves did (or, in a dry run, would do).

    Attributes:
        copied: files copied to a new destination (in link mode: where a link was impossible).
        linked: files hard-linked to a new destination (:func:`safe_link`).
        skipped_identical: destinations that already held the same bytes (nothing to do).
        conflicts: ``(source, destination)`` pairs whose destination exists with other bytes;
            both files were left untouched.
        moved: files moved (verified copy in place, then the source deleted), including moves an
            earlier, interrupted run had copied but not yet deleted.
        removed_partials: leftover ``.partial`` files of an interrupted run that were removed.
        dry_run: ``True`` when the counts describe what would happen and nothing was touched.
    """

    copied: int = 0
    linked: int = 0
    skipped_identical: int = 0
    conflicts: list[tuple[Path, Path]] = field(default_factory=list)
    moved: int = 0
    removed_partials: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """``True`` when there was no conflict."""
        return not self.conflicts

    def record(self, outcome: str, source: Path, destination: Path) -> None:
        """Count one outcome returned by :func:`safe_copy`, :func:`safe_link` or :func:`safe_move`."""
        if outcome == COPIED:
            self.copied += 1
        elif outcome == LINKED:
            self.linked += 1
        elif outcome == MOVED:
            self.moved += 1
        elif outcome == IDENTICAL:
            self.skipped_identical += 1
        elif outcome == CONFLICT:
            self.conflicts.append((Path(source), Path(destination)))
        else:
            raise ValueError(f"unknown outcome {outcome!r}")


@dataclass
class LinkFallback:
    """The pairs of file systems on which hard links turned out impossible during one run.

    :func:`safe_link` consults it before each link and records a failure in it, so that after the
    first failure between two file systems the remaining files are copied without another attempt,
    and the run can report the fallback once (:meth:`messages`), not once per file.

    Attributes:
        blocked: ``{(source device, destination device): (reason, source, destination)}``: why links
            failed between the two file systems, and the first file pair it happened to.
    """

    blocked: dict[tuple[int, int], tuple[str, Path, Path]] = field(default_factory=dict)

    def reason_for(self, source: Path, destination: Path) -> str | None:
        """Why a link from ``source`` to ``destination`` cannot be made, if already known or plain from
        the devices (another file system: ``"cross-device"``); ``None`` when it is worth trying."""
        devices = _devices(source, destination)
        if devices in self.blocked:
            return self.blocked[devices][0]
        if devices[0] != devices[1]:
            self.block(source, destination, LINK_IMPOSSIBLE_REASONS[errno.EXDEV])
            return LINK_IMPOSSIBLE_REASONS[errno.EXDEV]
        return None

    def block(self, source: Path, destination: Path, reason: str) -> None:
        """Remember that links from ``source``'s file system to ``destination``'s failed (first pair kept)."""
        self.blocked.setdefault(_devices(source, destination), (reason, Path(source), Path(destination)))

    def messages(self, source_root: Path | None = None, destination_root: Path | None = None) -> list[str]:
        """One line per distinct fallback, e.g. ``hard links not possible from SRC to DST (cross-device):
        copying instead``; the roots default to the first files it happened to."""
        lines: list[str] = []
        for reason, source, destination in self.blocked.values():
            line = (
                f"hard links not possible from {source_root or source} to {destination_root or destination} "
                f"({reason}): copying instead"
            )
            if line not in lines:
                lines.append(line)
        return lines


def link_impossible_reason(error: OSError) -> str | None:
    """The reason shown when ``error`` (from :func:`os.link`) means links cannot be made there, else ``None``."""
    return LINK_IMPOSSIBLE_REASONS.get(error.errno)


def _devices(source: Path, destination: Path) -> tuple[int, int]:
    """``st_dev`` of ``source`` and of ``destination``'s nearest existing folder."""
    folder = Path(destination).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.stat(source).st_dev, os.stat(folder).st_dev


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


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    """The image files in ``folder`` (endings in :data:`IMAGE_SUFFIXES`), sorted.

    Hidden names are skipped, and everything inside hidden folders: macOS's ``._name.jpg`` forks are not images,
    and a killed copy's ``.name.jpg.partial`` is not one yet.

    Args:
        folder: the folder to list.
        recursive: also list the images in its subfolders, at any depth.

    Returns:
        The image paths, sorted.
    """
    folder = Path(folder)
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        path
        for path in candidates
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )


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
    leftovers = [path for path in folder.rglob("*") if is_partial(path) and path.is_file()]
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
        ``"copied"``, ``"identical"`` (the destination already held the same bytes, or is a hard link
        of the source under another name) or
        ``"conflict"`` (the destination exists with other bytes; both files left untouched).

    Raises:
        SameFileError: if ``destination`` is ``source`` itself (see :func:`refuse_same_file`);
            nothing is touched.
        VerificationError: if the temporary copy does not match the source (it is removed).
        OSError: if reading or writing fails.
    """
    source, destination = Path(source), Path(destination)
    if is_hard_link_of(source, destination):
        outcome = IDENTICAL  # the destination already holds the source's bytes (a link): nothing to write or lose
    else:
        refuse_same_file(source, destination, "copy")
        outcome = _existing_outcome(source, destination)
    if outcome is None:
        outcome = COPIED
        if not dry_run:
            removed = _copy_verified(source, destination)
            if summary is not None:
                summary.removed_partials += removed
    if summary is not None:
        summary.record(outcome, source, destination)
    return outcome


def safe_link(
    source: Path,
    destination: Path,
    summary: TransferSummary | None = None,
    dry_run: bool = False,
    fallback: LinkFallback | None = None,
) -> str:
    """Make ``destination`` a hard link of ``source`` (no bytes copied); copy where links are impossible.

    The link is made with one :func:`os.link`, atomic and never replacing an existing name. An
    existing destination is judged as in :func:`safe_copy`: a hard link of the source or the same
    bytes is ``"identical"``, other bytes a ``"conflict"`` (both left untouched). The link shares the
    source's bytes: writing to one writes to the other (the split scripts never write to images).

    Args:
        source: an existing file.
        destination: the final path; its folder is created if needed.
        summary: if given, the outcome is counted in it.
        dry_run: only decide the outcome (a link to another file system counts as a copy); write nothing.
        fallback: the run's :class:`LinkFallback`; pass the same one to every call of a run so that a
            fallback is tried and reported once (``None``: a fresh one, tried for this file only).

    Returns:
        ``"linked"``, ``"copied"`` (links impossible between the two file systems, see
        :data:`LINK_IMPOSSIBLE_REASONS`; recorded in ``fallback``), ``"identical"`` or ``"conflict"``.

    Raises:
        SameFileError: if ``destination`` is ``source`` itself (a symlink to it, the same path through a
            symlinked folder); nothing is touched.
        VerificationError: if a fallback copy does not match the source (it is removed).
        OSError: if linking fails for another reason, or reading or writing a fallback copy fails.
    """
    source, destination = Path(source), Path(destination)
    fallback = LinkFallback() if fallback is None else fallback
    if is_hard_link_of(source, destination):
        outcome = IDENTICAL
    else:
        refuse_same_file(source, destination, "link")
        outcome = _existing_outcome(source, destination)
    if outcome is None:
        outcome = COPIED if fallback.reason_for(source, destination) else LINKED
        if not dry_run:
            if outcome == LINKED:
                outcome = _link(source, destination, fallback)
            if outcome == COPIED:
                removed = _copy_verified(source, destination)
                if summary is not None:
                    summary.removed_partials += removed
    if summary is not None:
        summary.record(outcome, source, destination)
    return outcome


def _link(source: Path, destination: Path, fallback: LinkFallback) -> str:
    """:func:`os.link` ``source`` to ``destination``: ``"linked"``, ``"copied"`` (to do: links impossible,
    recorded in ``fallback``), or the existing outcome of a destination that appeared meanwhile."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except FileExistsError:
        return _existing_outcome(source, destination) or CONFLICT
    except OSError as error:
        reason = link_impossible_reason(error)
        if reason is None:
            raise
        fallback.block(source, destination, reason)
        return COPIED
    return LINKED


def safe_move(
    source: Path, destination: Path, summary: TransferSummary | None = None, dry_run: bool = False
) -> str:
    """Move ``source`` to ``destination``: a verified copy, then the source is deleted.

    When the destination already holds the same bytes (an earlier run was killed between its copy
    and its delete), only the source is deleted, which completes that move.

    A source that is a hard link (other names share its file, as in a split made with ``--link``) is
    moved by one :func:`os.rename` when the destination folder is on the same file system: it stays a
    link, costs no copy, and is under exactly one of the two names at every instant. Across file
    systems it is copied and verified like any file, then only the ``source`` name is unlinked; the
    file's other names (the data set's own) are never touched.

    Args:
        source: an existing file.
        destination: the final path; its folder is created if needed.
        summary: if given, the outcome is counted in it.
        dry_run: only decide the outcome; touch nothing.

    Returns:
        ``"moved"`` or ``"conflict"`` (the destination exists with other bytes; both left untouched).

    Raises:
        SameFileError: if ``destination`` is ``source`` itself (a symlink, a hard link, the same
            path through a symlinked folder); the source is never deleted then.
        VerificationError: if the temporary copy does not match the source (it is removed, the
            source is kept).
        OSError: if reading, writing or deleting fails.
    """
    source, destination = Path(source), Path(destination)
    refuse_same_file(source, destination, "move")
    outcome = _existing_outcome(source, destination)
    if outcome == CONFLICT:
        if summary is not None:
            summary.record(CONFLICT, source, destination)
        return CONFLICT
    if not dry_run:
        if outcome is None and _rename_hard_link(source, destination):
            pass  # one name moved; the file and its other names are untouched
        else:
            if outcome is None:
                removed = _copy_verified(source, destination)
                if summary is not None:
                    summary.removed_partials += removed
                # The new name must survive a power loss before the old one may disappear.
                _fsync_folder(destination.parent)
            source.unlink()
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


def resolve_path(path: Path) -> Path:
    """``path`` made absolute with every symlink followed (missing tail parts are kept as given).

    Raises:
        OSError: on a symlink loop (one line naming the path).
    """
    try:
        return Path(path).resolve()
    except RuntimeError as error:  # Python < 3.13 reports a symlink loop as RuntimeError
        raise OSError(f"symlink loop: {path}") from error


def path_within(inner: Path, outer: Path) -> bool:
    """``True`` when ``inner`` is the folder ``outer`` or lies anywhere inside it, symlinks followed.

    Compares resolved paths and, for ``inner`` and each of its existing resolved parents, the
    device and inode with ``outer`` (:func:`os.path.samefile`), so a bind mount or another path to
    the same folder counts too.
    """
    inner_resolved, outer_resolved = resolve_path(inner), resolve_path(outer)
    if inner_resolved == outer_resolved or outer_resolved in inner_resolved.parents:
        return True
    try:
        outer_stat = os.stat(outer_resolved)
    except OSError:
        return False
    for candidate in (inner_resolved, *inner_resolved.parents):
        try:
            if os.path.samestat(os.stat(candidate), outer_stat):
                return True
        except OSError:
            continue
    return False


def same_file_reason(first: Path, second: Path) -> str | None:
    """Why ``first`` and ``second`` are one file or folder, or ``None`` when they are not.

    The reason is a short phrase for an error message: ``"a symlink to it"``, ``"hard links to one
    file"``, ``"the same path once symlinks are followed"``, ...
    """
    first, second = Path(first), Path(second)
    first_resolved, second_resolved = resolve_path(first), resolve_path(second)
    try:
        same = os.path.samefile(first, second)
    except OSError:  # one of them is missing or a dangling symlink
        same = False
    if not same and first_resolved != second_resolved:
        return None
    if second.is_symlink() and resolve_path(second) == first_resolved:
        return "a symlink to it"
    if first.is_symlink() and resolve_path(first) == second_resolved:
        return f"{first} is a symlink to it"
    if first_resolved == second_resolved:
        return f"both resolve to {first_resolved}"
    if first_resolved.is_dir():
        return "one folder under two names"
    return "hard links to one file"


def is_hard_link_of(source: Path, destination: Path) -> bool:
    """True when ``destination`` is another name (not a symlink, another resolved path) of ``source``'s file.

    A copy onto such a destination has nothing to do; a *move* onto it would unlink the only data, so
    :func:`safe_move` refuses it (:func:`refuse_same_file`).
    """
    source, destination = Path(source), Path(destination)
    if destination.is_symlink() or not destination.is_file():
        return False
    if resolve_path(destination.parent) / destination.name == resolve_path(source):
        return False
    return os.path.samefile(source, destination)


def refuse_same_file(source: Path, destination: Path, verb: str = "move") -> None:
    """Raise :class:`SameFileError` when ``destination`` is ``source`` itself.

    Checked with :func:`os.path.samefile` (symlinks followed, hard links included) and by comparing
    the resolved paths (the destination's folder resolving into the source's own folder).
    """
    source, destination = Path(source), Path(destination)
    reason = same_file_reason(source, destination)
    if reason is None:
        # The destination's folder may resolve to the source's folder even when the name is new.
        if resolve_path(destination.parent) / destination.name != resolve_path(source):
            return
        reason = f"{destination.parent} resolves to {source.parent}"
    raise SameFileError(
        f"{destination} is the same file as {source} ({reason}); refusing to {verb} a file onto itself"
    )


def _rename_hard_link(source: Path, destination: Path) -> bool:
    """Move a hard-linked ``source`` with :func:`os.rename` if ``destination`` is free and on its file system.

    Returns ``False`` (nothing done) for a file without other names, a destination on another file
    system or one that exists in any form (a dangling symlink included): the caller then copies.
    """
    if os.lstat(source).st_nlink < 2 or os.path.lexists(destination):
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    if os.stat(destination.parent).st_dev != os.lstat(source).st_dev:
        return False
    try:
        os.rename(source, destination)
    except OSError as error:
        if error.errno == errno.EXDEV:  # another mount of the same device
            return False
        raise
    _fsync_folder(destination.parent)
    _fsync_folder(source.parent)
    return True


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
            while chunk := source_file.read(CHUNK_SIZE):
                source_digest.update(chunk)
                temporary_file.write(chunk)
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

