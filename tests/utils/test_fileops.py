"""Verified copies and moves: never overwrite, verify before renaming, clean up after a crash."""

import os
import subprocess
import sys

import pytest

from tests.utils._fileops_crash import CRASH_EXIT_CODE
from utils import fileops
from utils.fileops import (
    CONFLICT,
    COPIED,
    IDENTICAL,
    MOVED,
    SameFileError,
    TransferSummary,
    VerificationError,
    files_identical,
    is_partial,
    list_images,
    partial_path,
    remove_partials,
    safe_copy,
    safe_move,
)


def test_copy_writes_a_verified_copy_and_keeps_the_source(tmp_path, source_file):
    destination = tmp_path / "destination" / "zebra" / source_file.name
    summary = TransferSummary()

    assert safe_copy(source_file, destination, summary=summary) == COPIED

    assert destination.read_bytes() == source_file.read_bytes()
    assert source_file.exists()
    assert not partial_path(destination).exists()
    assert summary.copied == 1 and summary.ok
    assert destination.stat().st_mtime == pytest.approx(source_file.stat().st_mtime)


def test_copy_onto_identical_file_does_nothing(tmp_path, source_file):
    destination = tmp_path / source_file.name
    destination.write_bytes(source_file.read_bytes())
    os.utime(destination, (1_000_000, 1_000_000))
    summary = TransferSummary()

    assert safe_copy(source_file, destination, summary=summary) == IDENTICAL

    assert destination.stat().st_mtime == 1_000_000
    assert summary.skipped_identical == 1 and summary.copied == 0


def test_copy_onto_different_file_is_a_conflict_and_overwrites_nothing(tmp_path, source_file):
    destination = tmp_path / source_file.name
    destination.write_bytes(b"someone else's image")
    summary = TransferSummary()

    assert safe_copy(source_file, destination, summary=summary) == CONFLICT

    assert destination.read_bytes() == b"someone else's image"
    assert source_file.read_bytes() == bytes(range(256)) * 40
    assert summary.conflicts == [(source_file, destination)] and not summary.ok


def test_copy_replaces_a_leftover_partial_file(tmp_path, source_file):
    destination = tmp_path / source_file.name
    partial_path(destination).write_bytes(b"half of a")
    summary = TransferSummary()

    assert safe_copy(source_file, destination, summary=summary) == COPIED

    assert destination.read_bytes() == source_file.read_bytes()
    assert not partial_path(destination).exists()
    assert summary.removed_partials == 1


def test_failed_verification_leaves_no_destination_and_no_partial(tmp_path, source_file, monkeypatch):
    destination = tmp_path / source_file.name
    monkeypatch.setattr(fileops, "sha256_of", lambda path: "0" * 64)

    with pytest.raises(VerificationError):
        safe_copy(source_file, destination)

    assert not destination.exists()
    assert not partial_path(destination).exists()
    assert source_file.exists()


def test_move_deletes_the_source_only_after_the_copy(tmp_path, source_file):
    original = source_file.read_bytes()
    destination = tmp_path / "valid" / source_file.name
    summary = TransferSummary()

    assert safe_move(source_file, destination, summary=summary) == MOVED

    assert destination.read_bytes() == original
    assert not source_file.exists()
    assert summary.moved == 1


def test_move_onto_identical_file_completes_an_interrupted_move(tmp_path, source_file):
    destination = tmp_path / source_file.name
    destination.write_bytes(source_file.read_bytes())

    assert safe_move(source_file, destination) == MOVED

    assert not source_file.exists()
    assert destination.exists()


def test_move_onto_different_file_keeps_both(tmp_path, source_file):
    destination = tmp_path / source_file.name
    destination.write_bytes(b"other bytes")
    summary = TransferSummary()

    assert safe_move(source_file, destination, summary=summary) == CONFLICT

    assert source_file.exists() and destination.read_bytes() == b"other bytes"
    assert len(summary.conflicts) == 1 and summary.moved == 0


def test_dry_run_decides_but_touches_nothing(tmp_path, source_file):
    destination = tmp_path / "new" / source_file.name
    summary = TransferSummary(dry_run=True)

    assert safe_copy(source_file, destination, summary=summary, dry_run=True) == COPIED
    assert safe_move(source_file, destination, summary=summary, dry_run=True) == MOVED

    assert not destination.parent.exists()
    assert source_file.exists()
    assert (summary.copied, summary.moved) == (1, 1)


def test_files_identical_compares_bytes_not_only_sizes(tmp_path):
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.write_bytes(b"abcd")
    second.write_bytes(b"abce")
    third.write_bytes(b"abcd")

    assert not files_identical(first, second)
    assert files_identical(first, third)


def test_remove_partials_removes_only_leftovers(tmp_path):
    (tmp_path / "lion").mkdir()
    leftover = tmp_path / "lion" / ".lion_1.jpg.partial"
    leftover.write_bytes(b"x")
    keep = [tmp_path / "lion" / "lion_1.jpg", tmp_path / "lion" / ".hidden", tmp_path / "notes.partial"]
    for path in keep:
        path.write_bytes(b"y")

    assert remove_partials(tmp_path, dry_run=True) == 1
    assert leftover.exists()
    assert remove_partials(tmp_path) == 1
    assert not leftover.exists()
    assert all(path.exists() for path in keep)
    assert is_partial(leftover) and not is_partial(keep[2])
    assert remove_partials(tmp_path / "missing") == 0


def test_list_images_takes_every_image_ending_in_any_case_and_skips_hidden_names(tmp_path):
    for name in ["b.JPG", "a.png", "notes.txt", ".a.jpg.partial", "._a.jpg", "sub/c.tiff", ".hidden/d.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()

    assert list_images(tmp_path) == [tmp_path / "a.png", tmp_path / "b.JPG"]
    assert list_images(tmp_path, recursive=True) == [tmp_path / "a.png", tmp_path / "b.JPG", tmp_path / "sub" / "c.tiff"]


def test_a_copy_killed_half_way_leaves_a_partial_that_the_next_copy_replaces(tmp_path, source_file, repo_root):
    """A process killed half-way through its first copy (:mod:`tests.utils._fileops_crash`)."""
    destination = tmp_path / "out" / source_file.name
    script = (
        "import sys; from tests.utils._fileops_crash import arm; arm(0, 'partial'); "
        "from utils.fileops import safe_copy; safe_copy(sys.argv[1], sys.argv[2])"
    )
    environment = {**os.environ, "PYTHONPATH": str(repo_root)}

    finished = subprocess.run(
        [sys.executable, "-c", script, str(source_file), str(destination)],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        timeout=60,
    )

    assert finished.returncode == CRASH_EXIT_CODE
    assert not destination.exists()
    assert 0 < partial_path(destination).stat().st_size < source_file.stat().st_size
    summary = TransferSummary()
    assert safe_copy(source_file, destination, summary=summary) == COPIED
    assert destination.read_bytes() == source_file.read_bytes()
    assert summary.removed_partials == 1


# --- same file: a "move" onto itself must never delete the source ---------------------------------


def _assert_untouched(source_file, content, inode):
    assert source_file.read_bytes() == content
    assert source_file.stat().st_ino == inode


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
def test_hard_linked_copy_counts_as_identical(tmp_path, source_file, dry_run):
    # A copy whose destination is already a hard link of the source has nothing to do and loses nothing.
    content, inode = source_file.read_bytes(), source_file.stat().st_ino
    destination = tmp_path / "valid" / source_file.name
    destination.parent.mkdir()
    os.link(source_file, destination)
    assert safe_copy(source_file, destination, dry_run=dry_run) == "identical"
    _assert_untouched(source_file, content, inode)
    assert destination.stat().st_ino == inode and destination.stat().st_nlink == 2


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("operation", [safe_move], ids=["move"])
def test_hard_linked_pair_is_refused_and_both_names_kept(tmp_path, source_file, operation, dry_run):
    content, inode = source_file.read_bytes(), source_file.stat().st_ino
    destination = tmp_path / "valid" / source_file.name
    destination.parent.mkdir()
    os.link(source_file, destination)
    summary = TransferSummary()

    with pytest.raises(SameFileError, match="hard links to one file") as raised:
        operation(source_file, destination, summary=summary, dry_run=dry_run)

    assert str(source_file) in str(raised.value) and str(destination) in str(raised.value)
    assert "\n" not in str(raised.value)
    _assert_untouched(source_file, content, inode)
    assert destination.stat().st_ino == inode and destination.stat().st_nlink == 2
    assert summary == TransferSummary()


@pytest.mark.parametrize("operation", [safe_move, safe_copy], ids=["move", "copy"])
def test_destination_through_a_symlinked_folder_is_refused(tmp_path, source_file, operation):
    content, inode = source_file.read_bytes(), source_file.stat().st_ino
    (tmp_path / "valid").symlink_to(source_file.parent.name)
    destination = tmp_path / "valid" / source_file.name

    with pytest.raises(SameFileError, match="is the same file as"):
        operation(source_file, destination)

    _assert_untouched(source_file, content, inode)
    assert sorted(path.name for path in source_file.parent.iterdir()) == [source_file.name]


def test_destination_symlink_to_the_source_is_refused(tmp_path, source_file):
    content, inode = source_file.read_bytes(), source_file.stat().st_ino
    destination = tmp_path / "link.jpg"
    destination.symlink_to(source_file)

    with pytest.raises(SameFileError, match="a symlink to it"):
        safe_move(source_file, destination)

    _assert_untouched(source_file, content, inode)


def test_source_as_its_own_destination_is_refused(tmp_path, source_file):
    content, inode = source_file.read_bytes(), source_file.stat().st_ino

    with pytest.raises(SameFileError):
        safe_move(source_file, source_file.parent / ".." / source_file.parent.name / source_file.name)

    _assert_untouched(source_file, content, inode)


def test_same_file_error_is_an_os_error_with_a_one_line_description(tmp_path, source_file):
    with pytest.raises(OSError) as raised:
        safe_move(source_file, source_file)
    assert isinstance(raised.value, SameFileError)
    assert fileops.describe_os_error(raised.value) == str(raised.value)
    assert "\n" not in str(raised.value)
