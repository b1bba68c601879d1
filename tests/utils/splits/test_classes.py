"""The one per-class hold-out and pseudo-unseen choice (utils.splits.classes), against a slow reference."""

import dataclasses

import numpy as np
import pytest

from utils.config import DeviseConfig
from utils.datasets import read_class_list
from utils.splits import choose_pseudo_unseen, hold_out_per_class
from utils.splits.classes import xlsa17_validation_classes
from utils.stages.devise import pseudo_unseen_classes


def reference_hold_out(item_classes, fraction, seed):
    """Per sorted class: permute the class's positions, hold out min(n-1, max(1, round(f n))), keep the rest."""
    generator = np.random.default_rng(seed)
    kept, held = [], []
    for value in sorted(set(item_classes)):
        members = [i for i, c in enumerate(item_classes) if c == value]
        order = generator.permutation(len(members))
        n_out = min(len(members) - 1, max(1, int(round(fraction * len(members))))) if len(members) > 1 else 0
        held += sorted(members[i] for i in order[:n_out])
        kept += sorted(members[i] for i in order[n_out:])
    return kept, held


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 3])
def test_hold_out_matches_the_reference_and_partitions_every_class(fraction, seed):
    rng = np.random.default_rng(100 + seed)
    item_classes = [str(c) for c in rng.choice(["zebra", "ox", "cat", "bat", "owl"], size=61)] + ["lone"]
    kept, held = hold_out_per_class(item_classes, fraction, seed)
    assert (list(kept), list(held)) == reference_hold_out(item_classes, fraction, seed)
    assert sorted([*kept, *held]) == list(range(len(item_classes)))
    for value in set(item_classes):
        n = item_classes.count(value)
        n_held = sum(item_classes[i] == value for i in held)
        assert (n_held, n - n_held) == ((0, 1) if n == 1 else (n_held, n - n_held)) and (n == 1 or 1 <= n_held <= n - 1)


def test_integer_classes_and_a_generator_work_alike():
    labels = np.array([2, 0, 0, 1, 2, 2, 1, 0])
    by_seed = hold_out_per_class(labels, 0.5, 7)
    by_generator = hold_out_per_class(labels, 0.5, np.random.default_rng(7))
    assert all(np.array_equal(a, b) for a, b in zip(by_seed, by_generator, strict=True))
    kept, held = by_seed
    assert list(labels[held]) == [0, 0, 1, 2, 2]  # class by class: round(1.5) = 2 of three, 1 of two
    assert list(labels[kept]) == [0, 1, 2]


def test_pseudo_unseen_classes_are_a_sorted_sample_of_the_seen_ones():
    seen = [f"class{i:02d}" for i in range(40)]
    chosen = choose_pseudo_unseen(seen, 10, np.random.default_rng(0))
    assert len(set(chosen)) == 10 and set(chosen) <= set(seen) and list(chosen) == sorted(chosen)
    assert list(chosen) == list(choose_pseudo_unseen(seen, 10, np.random.default_rng(0)))
    assert list(chosen) != list(choose_pseudo_unseen(seen, 10, np.random.default_rng(1)))


def test_xlsa17s_first_fold_names_thirteen_of_the_real_trainval_classes(reference_data):
    folder = reference_data / "xlsa17" / "AWA2"
    trainval = read_class_list(folder / "trainvalclasses.txt")
    listed = xlsa17_validation_classes(folder, trainval)
    assert len(listed) == 13 and set(listed) <= set(trainval) and "giant+panda" in listed
    assert xlsa17_validation_classes(folder / "missing", trainval) is None


def test_devise_uses_the_proposed_splits_validation_classes_and_draws_otherwise(tmp_path):
    seen = [f"class{i:02d}" for i in range(20)]
    (tmp_path / "valclasses1.txt").write_text("class07\nclass03\n")
    proposed = DeviseConfig.for_profile("smoke", awa2_split="proposed", xlsa17_dir=tmp_path)
    assert pseudo_unseen_classes(proposed, seen) == ["class03", "class07"]
    standard = dataclasses.replace(proposed, awa2_split="standard")
    drawn = pseudo_unseen_classes(standard, seen)
    assert drawn == list(choose_pseudo_unseen(seen, standard.n_validation_classes, np.random.default_rng(standard.seed)))
    (tmp_path / "valclasses1.txt").unlink()
    assert pseudo_unseen_classes(proposed, seen) == drawn
