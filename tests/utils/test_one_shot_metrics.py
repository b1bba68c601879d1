"""The one-shot metrics of utils.metrics against loops, brute force and degenerate embeddings."""

import numpy as np
import pytest
import torch

from utils.metrics import (
    best_threshold,
    binary_accuracy,
    episode_accuracy,
    mean_confidence_interval,
    n_way_one_shot_accuracy,
    nearest_prototype,
    one_shot_chance,
    pair_distances,
    triplet_accuracy,
)
from utils.stages.episodes import EpisodeSampler, one_shot_supports, sample_pairs, sample_triplets


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
    expected = np.mean([_cos_distance(embeddings[a], embeddings[p]) < _cos_distance(embeddings[a], embeddings[n])
                        for a, p, n in zip(anchors, positives, negatives, strict=True)])
    assert triplet_accuracy(embeddings, anchors, positives, negatives, "cosine") == pytest.approx(expected)


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
    assert n_way_one_shot_accuracy(separated, labels, one_shot_supports(labels, n_draws=3))[0] == 1.0
    assert episode_accuracy(separated, EpisodeSampler(labels, 5, 1, 5, 50))[0] == 1.0
    noise = torch.randn(len(labels), 16, generator=torch.Generator().manual_seed(0))
    accuracy, half_width = episode_accuracy(noise, EpisodeSampler(labels, 5, 5, 10, 300, seed=1))
    assert abs(accuracy - 0.2) < 0.05 and 0 < half_width < 0.03
    assert abs(n_way_one_shot_accuracy(noise, labels, one_shot_supports(labels, n_draws=5))[0] - 1 / 8) < 0.06


def test_n_way_one_shot_counts_every_other_image_as_a_query():
    embeddings, labels = _embeddings(n_classes=3, per_class=4, noise=0.01)
    # With one support per class and perfect separation, every one of the 9 queries is right.
    assert n_way_one_shot_accuracy(embeddings, labels, one_shot_supports(labels, n_draws=1))[0] == 1.0


def test_mean_confidence_interval_is_196_standard_errors():
    values = [0.5, 0.7, 0.6, 0.8]
    mean, half_width = mean_confidence_interval(values)
    assert mean == pytest.approx(0.65)
    assert half_width == pytest.approx(1.96 * np.std(values, ddof=1) / 2)


def test_one_shot_chance_is_what_random_embeddings_score():
    _, labels = _embeddings(n_classes=8, per_class=50)
    noise = torch.randn(len(labels), 16, generator=torch.Generator().manual_seed(3))
    chance = one_shot_chance(8)
    assert chance == {"triplet": 0.5, "binary": 0.5, "n_way": 1 / 8}
    assert triplet_accuracy(noise, *sample_triplets(labels, 20_000, seed=1)) == pytest.approx(chance["triplet"], abs=0.02)
    first, second, same = sample_pairs(labels, 20_000, seed=2)
    distances = pair_distances(noise, first, second)
    assert binary_accuracy(distances, same, float(np.median(distances))) == pytest.approx(chance["binary"], abs=0.02)
    with pytest.raises(ValueError):
        one_shot_chance(0)
