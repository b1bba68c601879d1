"""The copy/move split scripts on a fake AwA2 tree: placement, re-runs, conflicts, dry runs, crashes."""

import hashlib
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.utils._fileops_crash import CRASH_EXIT_CODE
from tests.utils.splits._fake_awa2 import make_fake_awa2, snapshot
from tests.utils.splits._split_cli import run_cli
from utils import fileops
from utils.config import AWA2_UNSEEN_CLASSES
from utils.datasets import read_class_list
from utils.splits import copy_awa2 as copy_module
from utils.splits import move_awa2 as move_module
from utils.splits.copy_awa2 import copy_awa2
from utils.splits.move_awa2 import choose_valid_names, held_out_count, move_awa2

SEEN_CLASSES = ["antelope", "grizzly+bear", "killer+whale", "beaver"]
UNSEEN_CLASSES = ["chimpanzee", "giant+panda"]
IMAGES_PER_CLASS = 10


def content_counts(*folders: Path) -> Counter:
    """How many times each file content occurs under the folders."""
    return Counter(
        hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file()
    )


def names_in(folder: Path) -> set[str]:
    return {path.name for path in folder.rglob("*") if path.is_file()}


def partial_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if fileops.is_partial(path)]


@pytest.fixture
def awa2_root(tmp_path):
    return make_fake_awa2(tmp_path / "AwA2", SEEN_CLASSES, UNSEEN_CLASSES)


@pytest.fixture
def copied_root(tmp_path, awa2_root):
    destination = tmp_path / "split"
    copy_awa2(awa2_root, destination, progress=False)
    return destination


def test_copy_puts_seen_classes_in_train_and_unseen_in_test(tmp_path, awa2_root):
    source_before = snapshot(awa2_root)
    destination = tmp_path / "split"

    summary = copy_awa2(awa2_root, destination, progress=False)

    assert sorted(path.name for path in (destination / "train").iterdir()) == sorted(SEEN_CLASSES)
    assert sorted(path.name for path in (destination / "test").iterdir()) == sorted(UNSEEN_CLASSES)
    for class_name in SEEN_CLASSES:
        source_folder = awa2_root / "JPEGImages" / class_name
        assert snapshot(destination / "train" / class_name) == snapshot(source_folder)
    assert summary.split_transfers["train"].copied == len(SEEN_CLASSES) * IMAGES_PER_CLASS
    assert summary.split_transfers["test"].copied == len(UNSEEN_CLASSES) * IMAGES_PER_CLASS
    assert summary.split_classes == {"train": SEEN_CLASSES, "test": UNSEEN_CLASSES}
    assert summary.ok and not summary.notes
    assert snapshot(awa2_root) == source_before
    assert not partial_files(destination)


def test_copy_rerun_copies_nothing(tmp_path, awa2_root, copied_root):
    before = snapshot(copied_root)

    summary = copy_awa2(awa2_root, copied_root, progress=False)

    assert sum(transfer.copied for transfer in summary.split_transfers.values()) == 0
    assert summary.split_transfers["train"].skipped_identical == len(SEEN_CLASSES) * IMAGES_PER_CLASS
    assert summary.split_transfers["test"].skipped_identical == len(UNSEEN_CLASSES) * IMAGES_PER_CLASS
    assert snapshot(copied_root) == before
    assert "already present" in summary.to_text()


def test_copy_reports_conflicts_and_overwrites_nothing(tmp_path, awa2_root, capsys):
    destination = tmp_path / "split"
    clash = destination / "train" / "antelope" / "antelope_10001.jpg"
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"a different antelope")

    status = copy_module.main([str(awa2_root), str(destination), "--quiet"])

    assert status == 1
    assert clash.read_bytes() == b"a different antelope"
    assert (awa2_root / "JPEGImages" / "antelope" / "antelope_10001.jpg").read_bytes() != clash.read_bytes()
    output = capsys.readouterr().out
    assert f"conflict: {clash}" in output
    # Everything else was still copied.
    assert len(names_in(destination / "train")) == len(SEEN_CLASSES) * IMAGES_PER_CLASS


def test_copy_dry_run_touches_nothing(tmp_path, awa2_root, capsys):
    before = snapshot(tmp_path)

    status = copy_module.main([str(awa2_root), str(tmp_path / "split"), "--dry-run", "--quiet"])

    assert status == 0
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "split").exists()
    output = capsys.readouterr().out
    assert "would copy" in output and "dry run" in output


def test_copy_dry_run_does_not_remove_leftover_partials(tmp_path, awa2_root):
    destination = tmp_path / "split"
    leftover = destination / "train" / "beaver" / ".beaver_10001.jpg.partial"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half")

    summary = copy_awa2(awa2_root, destination, dry_run=True, progress=False)

    assert leftover.exists()
    assert summary.split_transfers["train"].removed_partials == 1


def test_images_per_class_is_a_seeded_deterministic_subset(tmp_path, awa2_root):
    first = copy_awa2(awa2_root, tmp_path / "first", images_per_class=3, seed=7, progress=False)
    again = copy_awa2(awa2_root, tmp_path / "again", images_per_class=3, seed=7, progress=False)
    other = copy_awa2(awa2_root, tmp_path / "other", images_per_class=3, seed=8, progress=False)

    assert first.split_transfers["train"].copied == 3 * len(SEEN_CLASSES)
    assert snapshot(tmp_path / "first") == snapshot(tmp_path / "again")
    assert snapshot(tmp_path / "first") != snapshot(tmp_path / "other")
    assert again.ok and other.ok


def test_class_lists_can_be_given_explicitly(tmp_path, awa2_root):
    seen_file, unseen_file = tmp_path / "seen.txt", tmp_path / "unseen.txt"
    seen_file.write_text("antelope\nbeaver\n")
    unseen_file.write_text("1\tgiant+panda\n\n")

    summary = copy_awa2(
        awa2_root,
        tmp_path / "split",
        progress=False,
        seen_classes_file=seen_file,
        unseen_classes_file=unseen_file,
    )

    assert summary.split_classes == {"train": ["antelope", "beaver"], "test": ["giant+panda"]}
    assert any("neither list" in note for note in summary.notes)
    assert not (tmp_path / "split" / "train" / "killer+whale").exists()
    assert read_class_list(unseen_file) == ["giant+panda"]


def test_without_split_files_the_standard_unseen_classes_are_used(tmp_path):
    root = make_fake_awa2(
        tmp_path / "AwA2", ["antelope", "zebra"], AWA2_UNSEEN_CLASSES, images_per_class=2, split_files=False
    )

    summary = copy_awa2(root, tmp_path / "split", progress=False)

    assert summary.split_classes["test"] == list(AWA2_UNSEEN_CLASSES)
    assert summary.split_classes["train"] == ["antelope", "zebra"]
    assert len(summary.notes) == 2 and "AWA2_UNSEEN_CLASSES" in summary.to_text()


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (lambda root: shutil.rmtree(root), "AwA2 folder not found"),
        (lambda root: shutil.rmtree(root / "JPEGImages"), "JPEGImages"),
        (lambda root: shutil.rmtree(root / "JPEGImages" / "beaver"), "beaver"),
    ],
    ids=["missing-source", "no-jpegimages", "listed-class-without-folder"],
)
def test_copy_errors_exit_2_with_one_line_naming_the_path(tmp_path, awa2_root, capsys, prepare, expected):
    prepare(awa2_root)

    status = copy_module.main([str(awa2_root), str(tmp_path / "split"), "--quiet"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and error.startswith("error: ")
    assert expected in error and str(awa2_root) in error
    assert not (tmp_path / "split").exists()


def test_copy_cli_error_prints_no_traceback(tmp_path, repo_root):
    finished = run_cli("utils.splits.copy_awa2", [tmp_path / "missing", tmp_path / "split"], repo_root)

    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [f"error: AwA2 folder not found: {tmp_path / 'missing'}"]


@pytest.mark.parametrize("crash_stage", ["complete", "partial"])
def test_copy_killed_half_way_then_rerun_completes(tmp_path, awa2_root, repo_root, crash_stage):
    destination = tmp_path / "split"
    total = (len(SEEN_CLASSES) + len(UNSEEN_CLASSES)) * IMAGES_PER_CLASS

    killed = run_cli(
        "utils.splits.copy_awa2", [awa2_root, destination], repo_root, crash_after=17, crash_stage=crash_stage
    )

    assert killed.returncode == CRASH_EXIT_CODE
    assert len([path for path in destination.rglob("*.jpg") if not fileops.is_partial(path)]) == 17
    assert bool(partial_files(destination)) == (crash_stage == "partial")

    finished = run_cli("utils.splits.copy_awa2", [awa2_root, destination, "--quiet"], repo_root)

    assert finished.returncode == 0, finished.stderr
    assert content_counts(destination) == content_counts(awa2_root / "JPEGImages")
    assert set(content_counts(destination).values()) == {1}
    assert not partial_files(destination)
    rows = [line.split() for line in finished.stdout.splitlines()[1:3]]
    assert [row[0] for row in rows] == ["train", "test"]
    assert sum(int(row[2]) for row in rows) == total - 17
    assert sum(int(row[3]) for row in rows) == 17
    assert ("removed 1 leftover .partial" in finished.stdout) == (crash_stage == "partial")


def test_held_out_count_rounding():
    assert held_out_count(0, 0.1) == 0
    assert held_out_count(1, 0.5) == 0
    assert held_out_count(2, 0.1) == 1
    assert held_out_count(10, 0.1) == 1
    assert held_out_count(15, 0.1) == 2
    assert held_out_count(25, 0.1) == 3
    assert held_out_count(10, 0.0) == 0
    assert held_out_count(3, 0.9) == 2


def test_move_sends_the_fraction_to_valid(copied_root):
    summary = move_awa2(copied_root, valid_fraction=0.3, seed=0, progress=False)

    for class_name in SEEN_CLASSES:
        assert len(names_in(copied_root / "valid" / class_name)) == 3
        assert len(names_in(copied_root / "train" / class_name)) == 7
    assert summary.to_valid.moved == 3 * len(SEEN_CLASSES)
    assert summary.valid_images == 3 * len(SEEN_CLASSES) and summary.images == IMAGES_PER_CLASS * len(
        SEEN_CLASSES
    )
    assert not (copied_root / "valid" / "chimpanzee").exists()
    assert summary.ok


def test_move_choice_depends_on_the_seed_only(tmp_path, awa2_root):
    chosen = {}
    for label, seed in [("first", 0), ("again", 0), ("other", 1)]:
        destination = tmp_path / label
        copy_awa2(awa2_root, destination, progress=False)
        move_awa2(destination, valid_fraction=0.3, seed=seed, progress=False)
        chosen[label] = names_in(destination / "valid")

    assert chosen["first"] == chosen["again"]
    assert chosen["first"] != chosen["other"]
    assert choose_valid_names(["c", "a", "b", "d"], 0.5, 3, "x") == choose_valid_names(
        ["d", "b", "a", "c"], 0.5, 3, "x"
    )


def test_move_rerun_moves_nothing(copied_root):
    move_awa2(copied_root, valid_fraction=0.2, seed=0, progress=False)
    before = snapshot(copied_root)

    summary = move_awa2(copied_root, valid_fraction=0.2, seed=0, progress=False)

    assert summary.to_valid.moved == 0 and summary.to_train.moved == 0
    assert summary.already_in_valid == 2 * len(SEEN_CLASSES)
    assert snapshot(copied_root) == before


def test_copy_after_move_does_not_bring_valid_images_back_into_train(awa2_root, copied_root):
    move_awa2(copied_root, valid_fraction=0.2, seed=0, progress=False)
    before = snapshot(copied_root)

    summary = copy_awa2(awa2_root, copied_root, progress=False)

    assert summary.split_transfers["train"].copied == 0
    assert summary.split_transfers["train"].skipped_identical == len(SEEN_CLASSES) * IMAGES_PER_CLASS
    assert snapshot(copied_root) == before
    counts = content_counts(copied_root / "train", copied_root / "valid")
    assert set(counts.values()) == {1}, "an image is in both train/ and valid/"


def test_copy_reports_a_different_file_in_valid_as_a_conflict(awa2_root, copied_root):
    move_awa2(copied_root, valid_fraction=0.2, seed=0, progress=False)
    moved = next((copied_root / "valid").rglob("*.jpg"))
    moved.write_bytes(b"edited by hand")

    summary = copy_awa2(awa2_root, copied_root, progress=False)

    assert [destination for _, destination in summary.conflicts] == [moved]
    assert moved.read_bytes() == b"edited by hand"
    assert not (copied_root / "train" / moved.parent.name / moved.name).exists()


def test_move_with_another_seed_converges_to_that_seeds_split(tmp_path, awa2_root, copied_root):
    contents = content_counts(copied_root / "train")
    move_awa2(copied_root, valid_fraction=0.2, seed=0, progress=False)

    summary = move_awa2(copied_root, valid_fraction=0.2, seed=5, progress=False)

    reference = tmp_path / "reference"
    copy_awa2(awa2_root, reference, progress=False)
    move_awa2(reference, valid_fraction=0.2, seed=5, progress=False)
    assert snapshot(copied_root) == snapshot(reference)
    assert content_counts(copied_root / "train", copied_root / "valid") == contents
    assert summary.to_train.moved == summary.to_valid.moved > 0


def test_move_dry_run_touches_nothing(copied_root, capsys):
    before = snapshot(copied_root)

    status = move_module.main([str(copied_root), "--valid", "0.3", "--dry-run", "--quiet"])

    assert status == 0
    assert snapshot(copied_root) == before
    assert not (copied_root / "valid").exists()
    assert "would move train -> valid: 12" in capsys.readouterr().out


def test_move_reports_conflicts_and_keeps_both_files(copied_root, capsys):
    expected_valid = choose_valid_names(names_in(copied_root / "train" / "beaver"), 0.3, 0, "beaver")
    clash = copied_root / "valid" / "beaver" / expected_valid[0]
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"not the same beaver")

    status = move_module.main([str(copied_root), "--valid", "0.3", "--quiet"])

    assert status == 1
    assert clash.read_bytes() == b"not the same beaver"
    assert (copied_root / "train" / "beaver" / expected_valid[0]).exists()
    assert "conflicts: 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["{root}/missing"], "folder not found: {root}/missing"),
        (["{root}/AwA2"], "no train/ folder"),
        (["{root}/split", "--valid", "1.5"], "--valid must be a fraction"),
    ],
    ids=["missing-destination", "no-train-folder", "bad-fraction"],
)
def test_move_errors_exit_2_with_one_line(tmp_path, copied_root, capsys, arguments, expected):
    status = move_module.main([argument.format(root=tmp_path) for argument in arguments] + ["--quiet"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and expected.format(root=tmp_path) in error


@pytest.mark.parametrize("crash_stage", ["complete", "partial", "before-delete"])
def test_move_killed_half_way_then_rerun_completes(tmp_path, awa2_root, copied_root, repo_root, crash_stage):
    contents = content_counts(copied_root / "train")
    arguments = [copied_root, "--valid", "0.3", "--seed", "4"]

    killed = run_cli("utils.splits.move_awa2", arguments, repo_root, crash_after=5, crash_stage=crash_stage)

    assert killed.returncode == CRASH_EXIT_CODE
    in_both = names_in(copied_root / "train") & names_in(copied_root / "valid")
    assert bool(in_both) == (crash_stage == "before-delete")
    assert bool(partial_files(copied_root)) == (crash_stage == "partial")

    finished = run_cli("utils.splits.move_awa2", [*arguments, "--quiet"], repo_root)

    assert finished.returncode == 0, finished.stderr
    assert content_counts(copied_root / "train", copied_root / "valid") == contents
    assert not names_in(copied_root / "train") & names_in(copied_root / "valid")
    assert not partial_files(copied_root)
    reference = tmp_path / "reference"
    copy_awa2(awa2_root, reference, progress=False)
    move_awa2(reference, valid_fraction=0.3, seed=4, progress=False)
    assert snapshot(copied_root) == snapshot(reference)
