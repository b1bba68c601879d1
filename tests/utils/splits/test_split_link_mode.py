"""Link mode of the split scripts (``copy_awa2 --link``): hard links, fallback to copies, the split guarantees.

Every test checks what matters to a user's data set: each source image keeps its path and its SHA-256, and
nothing is ever duplicated inside the split (an image is in ``train/`` or ``valid/``, never both).
"""

import errno
import os
from pathlib import Path

import pytest

from tests.utils._fileops_crash import CRASH_EXIT_CODE
from tests.utils.splits._fake_awa2 import make_fake_awa2, snapshot
from tests.utils.splits._split_cli import run_cli
from utils import fileops
from utils.config import DataConfig
from utils.fileops import (
    CONFLICT,
    COPIED,
    IDENTICAL,
    LINKED,
    MOVED,
    LinkFallback,
    SameFileError,
    TransferSummary,
    safe_link,
    safe_move,
)
from utils.splits import copy_awa2 as copy_module
from utils.splits.copy_awa2 import copy_awa2
from utils.splits.move_awa2 import move_awa2
from utils.splits.settings import prepare_split_folder, record_split_settings

SEEN_CLASSES = ["antelope", "beaver", "killer+whale"]
UNSEEN_CLASSES = ["chimpanzee", "giant+panda"]
IMAGES_PER_CLASS = 6
TOTAL_IMAGES = (len(SEEN_CLASSES) + len(UNSEEN_CLASSES)) * IMAGES_PER_CLASS


def split_images(split: Path, *splits: str) -> list[Path]:
    return sorted(
        path
        for name in splits or ("train", "valid", "test")
        for path in (split / name).rglob("*.jpg")
        if not fileops.is_partial(path)
    )


def source_of(awa2_root: Path, image: Path) -> Path:
    return awa2_root / "JPEGImages" / image.parent.name / image.name


def assert_every_image_linked_once(awa2_root: Path, split: Path) -> None:
    """Every data-set image is in the split exactly once, as a hard link of the data set's file."""
    images = split_images(split)
    assert sorted(f"{path.parent.name}/{path.name}" for path in images) == sorted(
        f"{path.parent.name}/{path.name}" for path in (awa2_root / "JPEGImages").rglob("*.jpg")
    )
    for image in images:
        source = source_of(awa2_root, image)
        assert image.stat().st_ino == source.stat().st_ino, image
        assert source.stat().st_nlink == 2, source


@pytest.fixture
def awa2_root(tmp_path):
    """A fake AwA2 whose images are read-only, as link mode wants them (writable ones are copied, not linked)."""
    root = make_fake_awa2(tmp_path / "AwA2", SEEN_CLASSES, UNSEEN_CLASSES, IMAGES_PER_CLASS)
    for image in (root / "JPEGImages").rglob("*.jpg"):
        image.chmod(0o444)
    return root


def failing_link(error_number: int, calls: list):
    def link(source, destination, *args, **kwargs):
        calls.append((source, destination))
        raise OSError(error_number, os.strerror(error_number), str(source), None, str(destination))

    return link


# --- copy_awa2 --link: hard links, no extra disk -------------------------------------------------


def test_link_mode_makes_hard_links_that_cost_no_disk(tmp_path, awa2_root):
    before = snapshot(awa2_root)
    split = tmp_path / "split"

    summary = copy_awa2(awa2_root, split, link=True, progress=False)

    assert summary.ok and summary.link
    assert {name: transfer.linked for name, transfer in summary.split_transfers.items()} == {
        "train": len(SEEN_CLASSES) * IMAGES_PER_CLASS,
        "test": len(UNSEEN_CLASSES) * IMAGES_PER_CLASS,
    }
    assert sum(transfer.copied for transfer in summary.split_transfers.values()) == 0
    assert_every_image_linked_once(awa2_root, split)
    # No extra disk: the distinct files (inodes) under the data set and the split are the data set's own.
    inodes = {path.stat().st_ino: path.stat().st_size for path in [*awa2_root.rglob("*.jpg"), *split.rglob("*.jpg")]}
    assert sum(inodes.values()) == sum(path.stat().st_size for path in awa2_root.rglob("*.jpg"))
    assert snapshot(awa2_root) == before
    header = summary.to_text().splitlines()[0].split()
    assert header[:4] == ["split", "classes", "linked", "copied"]


def test_link_mode_rerun_is_a_no_op(tmp_path, awa2_root):
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, link=True, progress=False)
    inodes = {path: path.stat().st_ino for path in split_images(split)}

    again = copy_awa2(awa2_root, split, link=True, progress=False)
    plain_copy_again = copy_awa2(awa2_root, split, progress=False)

    for summary in (again, plain_copy_again):
        assert summary.ok
        assert sum(t.linked + t.copied for t in summary.split_transfers.values()) == 0
        assert sum(t.skipped_identical for t in summary.split_transfers.values()) == TOTAL_IMAGES
    assert {path: path.stat().st_ino for path in split_images(split)} == inodes
    assert_every_image_linked_once(awa2_root, split)


def test_link_mode_dry_run_says_what_it_would_link_and_writes_nothing(tmp_path, awa2_root, capsys):
    before = snapshot(awa2_root)

    status = copy_module.main([str(awa2_root), str(tmp_path / "split"), "--link", "--dry-run", "--quiet"])

    assert status == 0
    assert not (tmp_path / "split").exists()
    assert snapshot(awa2_root) == before
    output = capsys.readouterr().out
    assert "as hard links ->" in output and "would link" in output and "dry run" in output
    table = [line.split() for line in output.splitlines() if line.startswith(("train ", "test "))]
    assert {row[0]: int(row[2]) for row in table} == {
        "train": len(SEEN_CLASSES) * IMAGES_PER_CLASS,
        "test": len(UNSEEN_CLASSES) * IMAGES_PER_CLASS,
    }


def test_link_mode_conflicting_destination_is_refused_and_nothing_changes(tmp_path, awa2_root, repo_root):
    split = tmp_path / "split"
    clash = split / "train" / "beaver" / "beaver_10003.jpg"
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"someone else's file")
    before = snapshot(awa2_root)

    finished = run_cli("utils.splits.copy_awa2", [awa2_root, split, "--link", "--quiet"], repo_root)

    assert finished.returncode == 1, finished.stderr
    assert f"conflict: {clash} exists and differs" in finished.stdout
    assert clash.read_bytes() == b"someone else's file"
    assert source_of(awa2_root, clash).stat().st_nlink == 1
    assert snapshot(awa2_root) == before
    # Everything else was linked.
    assert len(split_images(split)) == TOTAL_IMAGES
    assert sum(image.stat().st_nlink == 2 for image in split_images(split)) == TOTAL_IMAGES - 1


def test_safe_link_outcomes(tmp_path, source_file):
    destination = tmp_path / "split" / source_file.name
    summary = TransferSummary()

    assert safe_link(source_file, destination, summary=summary) == LINKED
    assert safe_link(source_file, destination, summary=summary) == IDENTICAL
    other = tmp_path / "split" / "other.jpg"
    other.write_bytes(b"different")
    assert safe_link(source_file, other, summary=summary) == CONFLICT
    assert other.read_bytes() == b"different"
    assert (summary.linked, summary.skipped_identical, len(summary.conflicts)) == (1, 1, 1)
    assert destination.stat().st_ino == source_file.stat().st_ino and source_file.stat().st_nlink == 2


def test_safe_link_refuses_a_destination_that_is_the_source(tmp_path, source_file):
    content = source_file.read_bytes()
    symlink = tmp_path / "link.jpg"
    symlink.symlink_to(source_file)

    for destination in (source_file, symlink):
        with pytest.raises(SameFileError, match="refusing to link a file onto itself"):
            safe_link(source_file, destination)

    assert source_file.read_bytes() == content and source_file.stat().st_nlink == 1


# --- fallback: links impossible -> verified copies, reported once ----------------------------------


@pytest.mark.parametrize(
    ("error_number", "reason"),
    [(errno.EXDEV, "cross-device"), (errno.EPERM, "not permitted"), (errno.EMLINK, "too many links"),
     (errno.ENOTSUP, "not supported")],
    ids=["EXDEV", "EPERM", "EMLINK", "ENOTSUP"],
)
def test_fallback_to_copies_is_reported_once(tmp_path, awa2_root, monkeypatch, error_number, reason):
    before = snapshot(awa2_root)
    split = tmp_path / "split"
    calls: list = []
    monkeypatch.setattr(os, "link", failing_link(error_number, calls))

    summary = copy_awa2(awa2_root, split, link=True, progress=False)

    assert summary.ok
    assert len(calls) == 1  # tried once, then copied without trying again
    assert sum(t.copied for t in summary.split_transfers.values()) == TOTAL_IMAGES
    assert sum(t.linked for t in summary.split_transfers.values()) == 0
    messages = [note for note in summary.notes if "hard links not possible" in note]
    assert len(messages) == 1
    assert messages[0].startswith(f"hard links not possible from {awa2_root} to {split} ({reason}")
    assert messages[0].endswith("copying instead")
    assert summary.to_text().count("hard links not possible") == 1
    for image in split_images(split):
        source = source_of(awa2_root, image)
        assert image.read_bytes() == source.read_bytes()
        assert image.stat().st_ino != source.stat().st_ino and source.stat().st_nlink == 1
    assert not [path for path in split.rglob("*") if fileops.is_partial(path)]
    assert snapshot(awa2_root) == before


def test_fallback_message_is_printed_once_by_the_command_line(tmp_path, awa2_root, monkeypatch, capsys):
    monkeypatch.setattr(os, "link", failing_link(errno.EXDEV, []))

    status = copy_module.main([str(awa2_root), str(tmp_path / "split"), "--link", "--quiet"])

    output = capsys.readouterr().out
    assert status == 0
    assert output.count(f"hard links not possible from {awa2_root} to {tmp_path / 'split'} (cross-device)") == 1


def test_another_file_system_is_copied_without_trying_a_link(tmp_path, source_file, monkeypatch):
    # A destination whose folder is on another device (st_dev) is known cross-device before any attempt.
    calls: list = []
    monkeypatch.setattr(os, "link", failing_link(errno.EXDEV, calls))
    monkeypatch.setattr(fileops, "_devices", lambda source, destination: (1, 2))
    fallback = LinkFallback()
    destination = tmp_path / "other_disk" / source_file.name

    assert safe_link(source_file, destination, dry_run=True, fallback=fallback) == COPIED
    assert not destination.exists()
    assert safe_link(source_file, destination, fallback=fallback) == COPIED

    assert calls == [] and destination.read_bytes() == source_file.read_bytes()
    assert fallback.messages() == [
        f"hard links not possible from {source_file} to {destination} (cross-device): copying instead"
    ]


def test_an_unrelated_link_error_is_raised_not_hidden(tmp_path, source_file, monkeypatch):
    monkeypatch.setattr(os, "link", failing_link(errno.EACCES, []))
    destination = tmp_path / "split" / source_file.name

    with pytest.raises(PermissionError):
        safe_link(source_file, destination)

    assert not destination.exists() and source_file.stat().st_nlink == 1


# --- kill -9 in link mode ------------------------------------------------------------------------


@pytest.mark.parametrize("crash_stage", ["complete", "partial"])
def test_link_mode_killed_half_way_keeps_every_source_and_rerun_completes(
    tmp_path, awa2_root, repo_root, crash_stage
):
    before = snapshot(awa2_root)
    split = tmp_path / "split"

    killed = run_cli(
        "utils.splits.copy_awa2", [awa2_root, split, "--link"], repo_root, crash_after=7, crash_stage=crash_stage
    )

    assert killed.returncode == CRASH_EXIT_CODE
    assert snapshot(awa2_root) == before
    assert len(split_images(split)) == 7
    assert not [path for path in split.rglob("*") if fileops.is_partial(path)]

    finished = run_cli("utils.splits.copy_awa2", [awa2_root, split, "--link", "--quiet"], repo_root)

    assert finished.returncode == 0, finished.stderr
    rows = [line.split() for line in finished.stdout.splitlines()[1:3]]
    assert sum(int(row[2]) for row in rows) == TOTAL_IMAGES - 7  # linked now
    assert sum(int(row[4]) for row in rows) == 7  # already present
    assert_every_image_linked_once(awa2_root, split)
    assert snapshot(awa2_root) == before


def test_a_leftover_partial_in_link_mode_is_removed_without_touching_the_source(tmp_path, awa2_root):
    # A .partial left by a killed plain copy may be a hard link of the source; removing it only drops that name.
    split = tmp_path / "split"
    image = awa2_root / "JPEGImages" / "beaver" / "beaver_10001.jpg"
    leftover = fileops.partial_path(split / "train" / "beaver" / image.name)
    leftover.parent.mkdir(parents=True)
    os.link(image, leftover)
    before = snapshot(awa2_root)

    summary = copy_awa2(awa2_root, split, link=True, progress=False)

    assert summary.split_transfers["train"].removed_partials == 1
    assert not leftover.exists()
    assert snapshot(awa2_root) == before
    assert_every_image_linked_once(awa2_root, split)


# --- copy --link, then move_awa2 -----------------------------------------------------------------


def test_copy_link_then_move_via_the_command_lines(tmp_path, awa2_root, repo_root):
    before = snapshot(awa2_root)
    split = tmp_path / "split"

    copied = run_cli("utils.splits.copy_awa2", [awa2_root, split, "--link", "--quiet"], repo_root)
    moved = run_cli("utils.splits.move_awa2", [split, "--valid", "0.34", "--seed", "3", "--quiet"], repo_root)

    assert copied.returncode == 0, copied.stderr
    assert moved.returncode == 0, moved.stderr
    valid = split_images(split, "valid")
    assert len(valid) == 2 * len(SEEN_CLASSES)
    train_names = {(path.parent.name, path.name) for path in split_images(split, "train")}
    assert not train_names & {(path.parent.name, path.name) for path in valid}
    assert_every_image_linked_once(awa2_root, split)  # the moved images are still links of the data set
    assert snapshot(awa2_root) == before

    # The same split as a plain copy and move: link mode changes no file's place or bytes.
    reference = tmp_path / "reference"
    copy_awa2(awa2_root, reference, progress=False)
    move_awa2(reference, valid_fraction=0.34, seed=3, progress=False)
    assert {str(p.relative_to(split)): p.read_bytes() for p in split_images(split)} == {
        str(p.relative_to(reference)): p.read_bytes() for p in split_images(reference)
    }

    # Re-running both does nothing; another seed moves linked images back and forth, still links.
    assert run_cli("utils.splits.copy_awa2", [awa2_root, split, "--link", "--quiet"], repo_root).returncode == 0
    again = run_cli("utils.splits.move_awa2", [split, "--valid", "0.34", "--seed", "3", "--quiet"], repo_root)
    assert "moved train -> valid: 0" in again.stdout
    assert run_cli("utils.splits.move_awa2", [split, "--valid", "0.5", "--seed", "8", "--quiet"], repo_root).returncode == 0
    assert_every_image_linked_once(awa2_root, split)
    assert snapshot(awa2_root) == before


@pytest.mark.parametrize("crash_stage", ["complete", "partial", "before-delete"])
def test_move_of_a_linked_split_killed_half_way_then_rerun_completes(tmp_path, awa2_root, repo_root, crash_stage):
    before = snapshot(awa2_root)
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, link=True, progress=False)
    arguments = [split, "--valid", "0.5", "--seed", "1"]

    killed = run_cli("utils.splits.move_awa2", arguments, repo_root, crash_after=4, crash_stage=crash_stage)

    assert killed.returncode == CRASH_EXIT_CODE
    assert snapshot(awa2_root) == before
    train_names = {(p.parent.name, p.name) for p in split_images(split, "train")}
    valid_names = {(p.parent.name, p.name) for p in split_images(split, "valid")}
    assert len(valid_names) == 4 and not train_names & valid_names  # a rename: never in both, never lost
    assert_every_image_linked_once(awa2_root, split)

    finished = run_cli("utils.splits.move_awa2", [*arguments, "--quiet"], repo_root)

    assert finished.returncode == 0, finished.stderr
    assert len(split_images(split, "valid")) == len(SEEN_CLASSES) * IMAGES_PER_CLASS // 2
    assert_every_image_linked_once(awa2_root, split)
    assert snapshot(awa2_root) == before


def test_cross_device_move_of_a_link_copies_then_unlinks_only_the_link(tmp_path, awa2_root, monkeypatch):
    before = snapshot(awa2_root)
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, link=True, progress=False)
    train_image = split / "train" / "beaver" / "beaver_10002.jpg"
    valid_image = split / "valid" / "beaver" / "beaver_10002.jpg"
    source = source_of(awa2_root, train_image)

    def no_rename(source_path, destination_path):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source_path), None, str(destination_path))

    monkeypatch.setattr(os, "rename", no_rename)
    summary = TransferSummary()

    assert safe_move(train_image, valid_image, summary=summary) == MOVED

    assert summary.moved == 1 and not train_image.exists()
    assert valid_image.read_bytes() == source.read_bytes()
    assert valid_image.stat().st_ino != source.stat().st_ino and source.stat().st_nlink == 1
    assert snapshot(awa2_root) == before


def test_move_of_a_linked_image_is_a_rename_that_keeps_the_link(tmp_path, source_file):
    train_image = tmp_path / "split" / "train" / source_file.name
    valid_image = tmp_path / "split" / "valid" / source_file.name
    safe_link(source_file, train_image)

    assert safe_move(train_image, valid_image) == MOVED

    assert not train_image.exists()
    assert valid_image.stat().st_ino == source_file.stat().st_ino and source_file.stat().st_nlink == 2


def test_data_loss_cases_stay_refused_on_a_linked_split(tmp_path, awa2_root, repo_root):
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, link=True, progress=False)
    before = snapshot(awa2_root)

    # An image in both splits as one file (train, valid and the data set: three names of one file).
    image = split / "train" / "beaver" / "beaver_10001.jpg"
    twin = split / "valid" / "beaver" / image.name
    twin.parent.mkdir(parents=True)
    os.link(image, twin)
    finished = run_cli("utils.splits.move_awa2", [split, "--valid", "0.5", "--quiet"], repo_root)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        f"error: {twin} is the same file as {image} (hard links to one file); refusing to move anything"
    ]
    assert image.exists() and twin.exists()
    twin.unlink()
    twin.parent.rmdir()

    # valid/ a symlink to train/.
    (split / "valid").rmdir()
    (split / "valid").symlink_to("train")
    finished = run_cli("utils.splits.move_awa2", [split, "--valid", "0.5", "--quiet"], repo_root)
    assert finished.returncode == 2 and "is the same folder as" in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1
    (split / "valid").unlink()
    assert_every_image_linked_once(awa2_root, split)
    assert snapshot(awa2_root) == before


# --- the config of notebook 00 -------------------------------------------------------------------


def test_full_profile_splits_with_links_and_the_others_copy():
    assert DataConfig.for_profile("full").split_link is True
    assert DataConfig.for_profile("full", budget="tiny").split_link is True
    assert DataConfig.for_profile("sample").split_link is False
    assert DataConfig.for_profile("smoke").split_link is False


def test_link_choice_is_not_part_of_the_split_fingerprint(tmp_path):
    # Links and copies hold the same files, so switching split_link does not remake a split.
    copied = DataConfig.for_profile("smoke", outputs=tmp_path, split_link=False)
    Path(copied.split_dir).mkdir(parents=True)
    record_split_settings(copied)

    assert prepare_split_folder(DataConfig.for_profile("smoke", outputs=tmp_path, split_link=True)).up_to_date
