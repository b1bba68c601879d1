"""Class splits never leak held-out classes; triplets, pairs, supports and episodes are drawn as they say."""

import itertools

import numpy as np
import pytest

from utils.datasets.cifar100 import load_cifar100
from utils.stages.episodes import (
    ClassSplit,
    EpisodeSampler,
    build_one_shot_data,
    class_split_name,
    file_class_split,
    one_shot_supports,
    ratio_class_split,
    sample_pairs,
    sample_triplets,
)

SWEEP = (0.1, 0.3, 0.5, 0.7, 0.9)


@pytest.fixture(scope="module")
def sample_cifar(data_samples):
    return load_cifar100(data_samples / "cifar100", "train"), load_cifar100(data_samples / "cifar100", "test")


def _one_shot(sample_cifar, split, **kwargs):
    train, test = sample_cifar
    return build_one_shot_data(train.images, train.fine_labels, test.images, test.fine_labels,
                               train.fine_label_names, split, **kwargs)


@pytest.mark.parametrize("fraction", SWEEP)
def test_ratio_split_never_leaks_held_out_classes(sample_cifar, fraction):
    names = sample_cifar[0].fine_label_names
    split = ratio_class_split(names, fraction, seed=3)
    assert split.name == class_split_name(fraction) and len(split.train_classes) == round(100 * fraction)
    data = _one_shot(sample_cifar, split, validation_fraction=0.2, seed=3)
    held_out = {names.index(name) for name in split.held_out_classes}
    assert held_out.isdisjoint(data.train.labels) and held_out.isdisjoint(data.validation.labels)
    assert held_out.isdisjoint(data.seen_test.labels)
    assert set(data.held_out.labels) == held_out
    # Every held-out image of both files is kept for evaluation: 20 train + 10 test per class.
    assert len(data.held_out) == 30 * len(held_out)
    assert set(data.train.labels) == set(data.validation.labels) == {names.index(n) for n in split.train_classes}
    assert len(data.train) + len(data.validation) == 20 * len(split.train_classes)


def test_ratio_split_is_seeded():
    names = [f"class{index}" for index in range(100)]
    assert ratio_class_split(names, 0.3, seed=1) == ratio_class_split(names, 0.3, seed=1)
    assert ratio_class_split(names, 0.3, seed=1) != ratio_class_split(names, 0.3, seed=2)


def test_file_split_keeps_validation_and_test_classes_out_of_training(tmp_path, sample_cifar):
    names = sample_cifar[0].fine_label_names
    for split_file, chosen in (("train", names[:64]), ("val", names[64:80]), ("test", names[80:])):
        (tmp_path / f"{split_file}.txt").write_text("\n".join(chosen) + "\n")
    split = file_class_split(tmp_path)
    assert (len(split.train_classes), len(split.validation_classes), len(split.held_out_classes)) == (64, 16, 20)
    data = _one_shot(sample_cifar, split)
    assert set(data.train.labels) == set(range(64))
    assert set(data.validation.labels) == set(range(80))
    assert set(data.held_out.labels) == set(range(80, 100))


def test_a_class_in_two_groups_is_refused():
    with pytest.raises(ValueError):
        ClassSplit("bad", ("a", "b"), ("b", "c"))


def test_episode_sampler_shapes_labels_and_seed():
    labels = np.repeat(np.arange(12), 25)
    labels = np.concatenate([labels, [99] * 3])  # too few images for any episode: never drawn
    sampler = EpisodeSampler(labels, n_way=5, n_shot=2, n_query=4, n_episodes=30, seed=7)
    episodes = list(sampler)
    assert len(episodes) == len(sampler) == 30
    for episode in episodes:
        assert episode.support_indices.shape == (5, 2) and episode.query_indices.shape == (5, 4)
        assert len(set(episode.classes)) == 5 and 99 not in episode.classes
        for row, label in enumerate(episode.classes):
            assert (labels[episode.support_indices[row]] == label).all()
            assert (labels[episode.query_indices[row]] == label).all()
        assert set(episode.support_indices.ravel()).isdisjoint(episode.query_indices.ravel())
        assert list(episode.query_labels) == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    again = list(EpisodeSampler(labels, 5, 2, 4, 30, seed=7))
    assert all((a.query_indices == b.query_indices).all() for a, b in zip(episodes, again, strict=True))


def test_episode_sampler_refuses_too_few_classes():
    with pytest.raises(ValueError, match="5-way"):
        EpisodeSampler(np.repeat(np.arange(4), 30), n_way=5)


def test_triplets_pair_an_anchor_with_another_image_of_its_class_and_one_of_another_class():
    labels = np.repeat(np.arange(6), 10)
    anchors, positives, negatives = sample_triplets(labels, 500, seed=4)
    assert (labels[anchors] == labels[positives]).all() and (labels[anchors] != labels[negatives]).all()
    assert (anchors != positives).all()


def test_pairs_are_balanced_and_labelled():
    labels = np.repeat(np.arange(6), 10)
    first, second, same = sample_pairs(labels, 400, seed=1)
    assert same.sum() == 200
    assert ((labels[first] == labels[second]) == same).all()


def test_one_shot_supports_draw_one_image_of_every_class_per_draw():
    labels = np.repeat([3, 1, 7], 5)
    supports = one_shot_supports(labels, n_draws=4, seed=2)
    assert supports.shape == (4, 3) and (labels[supports] == [1, 3, 7]).all()
    assert (supports == one_shot_supports(labels, n_draws=4, seed=2)).all()


def test_every_pair_of_sweep_splits_trains_on_nested_class_counts(sample_cifar):
    names = sample_cifar[0].fine_label_names
    sizes = [len(ratio_class_split(names, f).train_classes) for f in SWEEP]
    assert sizes == [10, 30, 50, 70, 90]
    for a, b in itertools.combinations(SWEEP, 2):
        assert class_split_name(a) != class_split_name(b)


def test_max_images_per_class_caps_each_file(sample_cifar):
    split = ratio_class_split(sample_cifar[0].fine_label_names, 0.5)
    data = _one_shot(sample_cifar, split, max_images_per_class=5, validation_fraction=0.2)
    assert np.bincount(data.held_out.labels)[data.held_out.classes].tolist() == [10] * 50
    assert np.bincount(data.seen_test.labels)[data.seen_test.classes].tolist() == [5] * 50
    assert len(data.train) + len(data.validation) == 5 * 50
