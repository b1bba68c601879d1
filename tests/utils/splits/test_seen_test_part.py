"""The seen test part of a split (``test_seen/``) and the class split it is made under (standard or proposed).

``test_seen/`` holds the seen images GZSL's S is measured on: they must never be in ``train/`` or ``valid/``, the same
seed must pick the same ones, a re-run (also after a crash) must finish the job without duplicating anything, and a
folder split with another share must be refused before anything is written.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from tests.utils._fileops_crash import CRASH_EXIT_CODE
from tests.utils.splits._fake_awa2 import make_fake_awa2, snapshot
from tests.utils.splits._split_cli import run_cli
from tests.utils.splits.test_copy_move_awa2 import content_counts, names_in
from utils.config import DeviseConfig
from utils.datasets import load_awa2
from utils.errors import DatasetFormatError, MissingDataError
from utils.splits import Awa2ClassSplit, awa2_class_split
from utils.splits.copy_awa2 import CopyError, copy_awa2
from utils.splits.move_awa2 import move_awa2

SEEN_CLASSES = ["antelope", "grizzly+bear", "killer+whale", "beaver"]
UNSEEN_CLASSES = ["chimpanzee", "giant+panda"]


@pytest.fixture
def awa2_root(tmp_path):
    return make_fake_awa2(tmp_path / "AwA2", SEEN_CLASSES, UNSEEN_CLASSES)


def test_a_seeded_share_of_each_seen_class_goes_to_test_seen_and_nowhere_else(tmp_path, awa2_root):
    source_before = snapshot(awa2_root)

    summary = copy_awa2(awa2_root, tmp_path / "split", test_seen_fraction=0.2, seed=3, progress=False)
    again = copy_awa2(awa2_root, tmp_path / "again", test_seen_fraction=0.2, seed=3, progress=False)
    other = copy_awa2(awa2_root, tmp_path / "other", test_seen_fraction=0.2, seed=4, progress=False)

    split = tmp_path / "split"
    assert summary.ok and again.ok and other.ok
    assert sorted(path.name for path in (split / "test_seen").iterdir()) == sorted(SEEN_CLASSES)
    for name in SEEN_CLASSES:
        test_names, train_names = names_in(split / "test_seen" / name), names_in(split / "train" / name)
        assert len(test_names) == 2 and len(train_names) == 8 and not test_names & train_names
    assert snapshot(tmp_path / "again") == snapshot(split)
    assert names_in(tmp_path / "other" / "test_seen") != names_in(split / "test_seen")
    assert content_counts(split) == content_counts(awa2_root / "JPEGImages")  # every image once
    assert snapshot(awa2_root) == source_before
    assert "test_seen" in summary.to_text()


def test_without_a_share_there_is_no_test_seen_folder(tmp_path, awa2_root):
    summary = copy_awa2(awa2_root, tmp_path / "split", progress=False)
    assert list(summary.split_transfers) == ["train", "test"]
    assert not (tmp_path / "split" / "test_seen").exists()


def test_a_rerun_and_a_move_leave_test_seen_alone(tmp_path, awa2_root):
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, test_seen_fraction=0.2, progress=False)
    held_out = snapshot(split / "test_seen")

    move_awa2(split, valid_fraction=0.3, progress=False)
    again = copy_awa2(awa2_root, split, test_seen_fraction=0.2, progress=False)

    assert again.ok and sum(transfer.copied for transfer in again.split_transfers.values()) == 0
    assert snapshot(split / "test_seen") == held_out
    for name in SEEN_CLASSES:
        training = names_in(split / "train" / name) | names_in(split / "valid" / name)
        assert not training & names_in(split / "test_seen" / name)
    assert content_counts(split) == content_counts(awa2_root / "JPEGImages")


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_folder_split_with_another_share_is_refused_before_anything_is_written(tmp_path, awa2_root, dry_run):
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, test_seen_fraction=0.2, progress=False)
    move_awa2(split, valid_fraction=0.2, progress=False)
    before = snapshot(split)

    for fraction, seed in ((0.4, 0), (0.2, 1), (0.0, 0)):
        with pytest.raises(CopyError, match="another --test-seen, --seed or class split"):
            copy_awa2(awa2_root, split, test_seen_fraction=fraction, seed=seed, dry_run=dry_run, progress=False)
    assert snapshot(split) == before


def test_the_refusal_and_a_bad_share_are_one_line_exit_2(tmp_path, awa2_root, repo_root):
    split = tmp_path / "split"
    assert run_cli("utils.splits.copy_awa2", [awa2_root, split, "--test-seen", "0.2", "--quiet"], repo_root).returncode == 0

    refused = run_cli("utils.splits.copy_awa2", [awa2_root, split, "--test-seen", "0.5", "--quiet"], repo_root)
    bad = run_cli("utils.splits.copy_awa2", [awa2_root, tmp_path / "new", "--test-seen", "1.5", "--quiet"], repo_root)

    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "another --test-seen, --seed or class split" in refused.stderr and str(split) in refused.stderr
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --test-seen must be a fraction in [0, 1), not 1.5"]
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("crash_stage", ["complete", "partial"])
def test_killed_half_way_then_rerun_completes_the_same_split(tmp_path, awa2_root, repo_root, crash_stage):
    arguments = ["--test-seen", "0.2", "--seed", "2", "--quiet"]
    reference = tmp_path / "reference"
    assert run_cli("utils.splits.copy_awa2", [awa2_root, reference, *arguments], repo_root).returncode == 0

    split = tmp_path / "split"
    killed = run_cli("utils.splits.copy_awa2", [awa2_root, split, *arguments], repo_root, crash_after=13,
                     crash_stage=crash_stage)
    finished = run_cli("utils.splits.copy_awa2", [awa2_root, split, *arguments], repo_root)

    assert killed.returncode == CRASH_EXIT_CODE
    assert finished.returncode == 0, finished.stderr
    assert snapshot(split) == snapshot(reference)


def test_a_folder_split_under_another_class_split_is_refused(tmp_path, awa2_root):
    split = tmp_path / "split"
    copy_awa2(awa2_root, split, test_seen_fraction=0.2, progress=False)
    before = snapshot(split)
    swapped = Awa2ClassSplit("other", ["chimpanzee", "giant+panda", "killer+whale", "beaver"],
                             ["antelope", "grizzly+bear"], tmp_path / "lists")

    with pytest.raises(CopyError, match="chimpanzee"):
        copy_awa2(awa2_root, split, test_seen_fraction=0.2, class_split=swapped, progress=False)
    assert snapshot(split) == before


def test_a_class_split_given_from_python_replaces_the_list_files(tmp_path, awa2_root):
    given = Awa2ClassSplit("proposed", ["antelope", "beaver", "chimpanzee", "giant+panda"],
                           ["grizzly+bear", "killer+whale"], tmp_path / "att_splits.mat")

    summary = copy_awa2(awa2_root, tmp_path / "split", class_split=given, progress=False)

    assert summary.split_classes == {"train": given.seen_classes, "test": given.unseen_classes}
    assert any("class split: proposed" in note for note in summary.notes)


# --- the class split a config names ----------------------------------------------------------------------------


def _write_proposed_split(folder, class_names, unseen, images_per_class=3):
    """An xlsa17 ``att_splits.mat`` + ``res101.mat`` pair whose ``test_unseen_loc`` images are of ``unseen``."""
    folder.mkdir(parents=True)
    labels = np.repeat(np.arange(len(class_names)), images_per_class)
    is_unseen = np.isin(labels, [class_names.index(name) for name in unseen])
    seen_images = np.flatnonzero(~is_unseen)
    names = np.empty((len(class_names), 1), dtype=object)
    for index, name in enumerate(class_names):
        names[index, 0] = np.array([name])
    column = lambda indices: (np.asarray(indices) + 1).reshape(-1, 1).astype(np.float64)  # noqa: E731
    scipy.io.savemat(folder / "att_splits.mat", {
        "att": np.ones((4, len(class_names))), "allclasses_names": names,
        "trainval_loc": column(seen_images[::2]), "test_seen_loc": column(seen_images[1::2]),
        "test_unseen_loc": column(np.flatnonzero(is_unseen)),
    })
    scipy.io.savemat(folder / "res101.mat", {"features": np.ones((8, labels.size)),
                                             "labels": (labels + 1).reshape(-1, 1).astype(np.float64)})


def test_the_standard_split_is_the_awa2_folders_and_the_proposed_one_xlsa17s(tmp_path):
    standard = DeviseConfig.for_profile("smoke", outputs=tmp_path)
    classes = awa2_class_split(standard)
    assert classes.name == "standard" and "leopard" in classes.unseen_classes and len(classes.seen_classes) == 40

    all_classes = classes.seen_classes + classes.unseen_classes
    class_names = load_awa2(standard.awa2_dir).class_names
    proposed_unseen = ["sheep", "dolphin", "bat", "seal", "blue+whale", "rat", "horse", "walrus", "giraffe", "bobcat"]
    _write_proposed_split(tmp_path / "xlsa17" / "AWA2", class_names, proposed_unseen)
    proposed = awa2_class_split(DeviseConfig.for_profile("smoke", outputs=tmp_path, awa2_split="proposed",
                                                         xlsa17_dir=tmp_path / "xlsa17" / "AWA2"))

    assert proposed.name == "proposed" and proposed.source == tmp_path / "xlsa17" / "AWA2" / "att_splits.mat"
    assert sorted(proposed.unseen_classes) == sorted(proposed_unseen)
    assert sorted(proposed.seen_classes) == sorted(set(all_classes) - set(proposed_unseen))


def test_a_missing_proposed_split_is_one_line_naming_the_file(tmp_path):
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, awa2_split="proposed", xlsa17_dir=tmp_path / "none")
    with pytest.raises(MissingDataError) as raised:
        awa2_class_split(config)
    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert str(tmp_path / "none" / "att_splits.mat") in message and "python -m utils.download xlsa17" in message


def test_a_proposed_split_naming_a_stranger_class_names_the_file(tmp_path):
    folder = tmp_path / "xlsa17" / "AWA2"
    _write_proposed_split(folder, ["antelope", "unicorn", "beaver"], ["unicorn"])
    config = DeviseConfig.for_profile("smoke", outputs=tmp_path, awa2_split="proposed", xlsa17_dir=folder)
    with pytest.raises(DatasetFormatError, match="unicorn") as raised:
        awa2_class_split(config)
    assert str(folder / "att_splits.mat") in str(raised.value)
