"""Multi-label metrics (SDL protocol): loops, hand cases, degenerate cases."""

from __future__ import annotations

import numpy as np
import pytest

from utils.metrics import (
    average_precision,
    expected_average_precision,
    label_wise_average_precisions,
    mean_average_precision,
    multilabel_chance,
    multilabel_scores,
    precision_recall_f1_at_k,
)


def _loop_average_precision(scores, targets):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    hits, precisions = 0, []
    for rank, index in enumerate(order, start=1):
        if targets[index]:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / len(precisions)


def test_average_precision_hand_case_and_perfect_ranking() -> None:
    # Ranked positives at ranks 1 and 3: (1/1 + 2/3) / 2.
    assert average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([0.1, 0.9, 0.8], [0, 1, 1]) == 1.0
    with pytest.raises(ValueError):
        average_precision([0.1, 0.2], [0, 0])


def test_mean_average_precision_matches_loop_and_skips_labels_without_positives() -> None:
    generator = np.random.default_rng(0)
    scores = generator.normal(size=(40, 7))
    targets = (generator.random((40, 7)) < 0.3).astype(int)
    targets[:, 4] = 0
    precisions = label_wise_average_precisions(scores, targets)
    assert np.isnan(precisions[4])
    expected = [_loop_average_precision(scores[:, j], targets[:, j]) for j in range(7) if j != 4]
    np.testing.assert_allclose(precisions[~np.isnan(precisions)], expected)
    assert mean_average_precision(scores, targets) == pytest.approx(np.mean(expected))
    # A perfect ranking: every positive scored above every negative.
    assert mean_average_precision(targets + 0.01 * generator.random(targets.shape), targets) == 1.0


def test_random_scores_give_map_near_label_frequency() -> None:
    generator = np.random.default_rng(1)
    targets = (generator.random((4000, 5)) < 0.2).astype(int)
    assert mean_average_precision(generator.random((4000, 5)), targets) == pytest.approx(0.2, abs=0.02)


def test_expected_average_precision_enumerates_small_cases_and_tends_to_the_frequency() -> None:
    # n = 3, p = 1: the positive at rank 1, 2 or 3 → AP 1, 1/2, 1/3.
    assert expected_average_precision(3, 1) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    # n = 3, p = 2: rankings of the negative at rank 1, 2, 3 → AP (1/2 + 2/3)/2, (1 + 2/3)/2, 1.
    assert expected_average_precision(3, 2) == pytest.approx(((1 / 2 + 2 / 3) / 2 + (1 + 2 / 3) / 2 + 1) / 3)
    assert expected_average_precision(1, 1) == expected_average_precision(5, 5) == 1.0
    assert expected_average_precision(100_000, 20_000) == pytest.approx(0.2, abs=1e-3)
    with pytest.raises(ValueError):
        expected_average_precision(3, 0)


def test_multilabel_chance_matches_a_seeded_simulation_of_random_scores() -> None:
    generator = np.random.default_rng(2)
    targets = (generator.random((60, 7)) < [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.0]).astype(int)
    chance = multilabel_chance(targets, ks=(1, 3))
    draws = [multilabel_scores(generator.random(targets.shape), targets, ks=(1, 3)) for _ in range(3000)]
    assert set(chance) == set(draws[0])
    for key, value in chance.items():
        simulated = np.array([draw[key] for draw in draws])
        standard_error = simulated.std() / np.sqrt(len(draws))
        assert value == pytest.approx(simulated.mean(), abs=4 * standard_error + 1e-12), key
    # Label frequency, the usual shortcut, underestimates chance mAP on 60 images.
    frequencies = targets.mean(axis=0)
    assert chance["mAP"] > frequencies[frequencies > 0].mean() + 0.03


def test_precision_recall_f1_at_k_hand_case() -> None:
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]])
    targets = np.array([[1, 0, 1, 0], [0, 0, 0, 1]])
    # top-2: image 0 → labels 0, 1 (1 hit); image 1 → labels 3, 2 (1 hit). TP 2 of 4 predicted, 3 positives.
    figures = precision_recall_f1_at_k(scores, targets, 2)
    assert figures["precision"] == pytest.approx(0.5) and figures["recall"] == pytest.approx(2 / 3)
    assert figures["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert precision_recall_f1_at_k(-scores * 0 + np.arange(4), np.zeros((2, 4)), 1)["f1"] == 0.0
    with pytest.raises(ValueError):
        precision_recall_f1_at_k(scores, targets, 5)


def test_precision_at_k_matches_loop() -> None:
    generator = np.random.default_rng(2)
    scores, targets = generator.normal(size=(30, 9)), (generator.random((30, 9)) < 0.3).astype(int)
    for k in (1, 3, 5):
        hits = sum(targets[i, j] for i in range(30) for j in np.argsort(-scores[i])[:k])
        figures = precision_recall_f1_at_k(scores, targets, k)
        assert figures["precision"] == pytest.approx(hits / (30 * k))
        assert figures["recall"] == pytest.approx(hits / targets.sum())


def test_multilabel_scores_keys() -> None:
    targets = np.eye(6, dtype=int)
    figures = multilabel_scores(targets.astype(float), targets)
    assert set(figures) == {"mAP", "P@3", "R@3", "F1@3", "P@5", "R@5", "F1@5"}
    assert figures["mAP"] == 1.0 and figures["R@3"] == 1.0 and figures["P@3"] == pytest.approx(1 / 3)
