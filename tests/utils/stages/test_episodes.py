"""Class splits never leak held-out classes; episodes have the right shapes and labels; metrics equal loops."""

import itertools

import numpy as np
import pytest
import torch

from utils.datasets.cifar100 import load_cifar100
from utils.stages.episodes import (
    ClassSplit,
    EpisodeSampler,
    best_threshold,
    binary_accuracy,
    build_one_shot_data,
    class_split_name,
    episode_accuracy,
    file_class_split,
    mean_confidence_interval,
    n_way_one_shot_accuracy,
    nearest_prototype,
    ratio_class_split,
    sample_pairs,
    sample_triplets,
    triplet_accuracy,
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


def _embeddings(seed=0, n_classes=6, per_class=10, dim=5, noise=1.0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), per_class)
    centres = rng.normal(size=(n_classes, dim)) * 2
    return torch.tensor(centres[labels] + noise * rng.normal(size=(len(labels), dim)), dtype=torch.float32), labels


def _cos_distance(a, b):
    return 1 - float(torch.dot(a, b) / (a.norm() * b.norm()))


def test_triplet_accuracy_equals_loop():
    embeddings, labels = _embeddings()
    anchors, positives, negatives = sample_triplets(labels, 500, seed=4)
    assert (labels[anchors] == labels[positives]).all() and (labels[anchors] != labels[negatives]).all()
    assert (anchors != positives).all()
    expected = np.mean([_cos_distance(embeddings[a], embeddings[p]) < _cos_distance(embeddings[a], embeddings[n])
                        for a, p, n in zip(anchors, positives, negatives, strict=True)])
    assert triplet_accuracy(embeddings, labels, 500, "cosine", seed=4) == pytest.approx(expected)


def test_pairs_are_balanced_and_labelled():
    _, labels = _embeddings()
    first, second, same = sample_pairs(labels, 400, seed=1)
    assert same.sum() == 200
    assert ((labels[first] == labels[second]) == same).all()


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(1, 30))
        distances = np.round(rng.random(n), 1)  # ties on purpose
        same = rng.random(n) < 0.5
        threshold = best_threshold(distances, same)
        candidates = np.concatenate([[-1.0], distances, [2.0]])
        brute = max(binary_accuracy(distances, same, candidate) for candidate in candidates)
        assert binary_accuracy(distances, same, threshold) == pytest.approx(brute), trial


def test_nearest_prototype_equals_loop():
    embeddings, _ = _embeddings(n_classes=4, per_class=6)
    support = embeddings[:12].reshape(4, 3, -1)
    queries = embeddings[12:]
    prototypes = support.mean(1)
    expected = [int(np.argmin([_cos_distance(q, p) for p in prototypes])) for q in queries]
    assert nearest_prototype(support, queries, "cosine").tolist() == expected


def test_n_way_one_shot_and_episodes_are_perfect_on_separated_classes_and_near_chance_on_noise():
    separated, labels = _embeddings(n_classes=8, per_class=20, dim=16, noise=0.01)
    assert n_way_one_shot_accuracy(separated, labels, n_draws=3)[0] == 1.0
    assert episode_accuracy(separated, labels, 5, 1, 5, 50)[0] == 1.0
    noise = torch.randn(len(labels), 16, generator=torch.Generator().manual_seed(0))
    accuracy, half_width = episode_accuracy(noise, labels, 5, 5, 10, 300, seed=1)
    assert abs(accuracy - 0.2) < 0.05 and 0 < half_width < 0.03
    assert abs(n_way_one_shot_accuracy(noise, labels, n_draws=5)[0] - 1 / 8) < 0.06


def test_n_way_one_shot_counts_every_other_image_as_a_query():
    embeddings, labels = _embeddings(n_classes=3, per_class=4, noise=0.01)
    # With one support per class and perfect separation, every one of the 9 queries is right.
    assert n_way_one_shot_accuracy(embeddings, labels, n_draws=1)[0] == 1.0


def test_mean_confidence_interval_is_196_standard_errors():
    values = [0.5, 0.7, 0.6, 0.8]
    mean, half_width = mean_confidence_interval(values)
    assert mean == pytest.approx(0.65)
    assert half_width == pytest.approx(1.96 * np.std(values, ddof=1) / 2)


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
