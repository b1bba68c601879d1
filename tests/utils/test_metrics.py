"""utils.metrics against slow loop implementations and hand-computed cases."""

import numpy as np
import pytest
import torch

from utils.metrics import (
    ausuc,
    calibrated_stacking,
    gzsl_scores,
    harmonic_mean,
    per_class_accuracies,
    per_class_mean_accuracy,
    per_image_accuracy,
    seen_unseen_curve,
    select_gamma,
    top_k_hits,
    zero_shot_chance,
    zsl_scores,
)


def loop_per_class_mean(predicted, true):
    accuracies = []
    for label in sorted(set(true.tolist())):
        images = [i for i in range(len(true)) if true[i] == label]
        accuracies.append(sum(predicted[i] == label for i in images) / len(images))
    return sum(accuracies) / len(accuracies)


def loop_gzsl(scores, true, seen_mask, gamma):
    predicted = []
    for row in scores:
        calibrated = [value - gamma if seen_mask[j] else value for j, value in enumerate(row)]
        predicted.append(int(np.argmax(calibrated)))
    predicted = np.array(predicted)
    seen_images = seen_mask[true]
    unseen = loop_per_class_mean(predicted[~seen_images], true[~seen_images])
    seen = loop_per_class_mean(predicted[seen_images], true[seen_images])
    return unseen, seen


@pytest.fixture
def problem():
    generator = np.random.default_rng(0)
    n_classes, n_images = 8, 300
    true = generator.integers(0, n_classes, n_images)
    scores = generator.normal(size=(n_images, n_classes))
    scores[np.arange(n_images), true] += 1.0
    seen_mask = np.zeros(n_classes, dtype=bool)
    seen_mask[:5] = True
    scores[:, seen_mask] += 0.7  # the bias calibrated stacking removes
    return scores, true, seen_mask


def test_per_class_mean_matches_loop_and_differs_from_per_image():
    true = np.array([0, 0, 0, 0, 1, 2, 2])
    predicted = np.array([0, 0, 0, 0, 2, 2, 0])
    assert per_class_mean_accuracy(predicted, true) == pytest.approx((1 + 0 + 0.5) / 3)
    assert per_image_accuracy(predicted, true) == pytest.approx(5 / 7)
    generator = np.random.default_rng(1)
    true, predicted = generator.integers(0, 20, 500), generator.integers(0, 20, 500)
    assert per_class_mean_accuracy(predicted, true) == pytest.approx(loop_per_class_mean(predicted, true))


def test_per_class_mean_restricted_to_given_classes_and_accepts_tensors():
    true = torch.tensor([5, 5, 7, 9])
    predicted = torch.tensor([5, 1, 7, 7])
    assert per_class_mean_accuracy(predicted, true, classes=[5, 7]) == pytest.approx(0.75)
    classes, accuracies = per_class_accuracies(predicted, true, classes=[5, 7, 11])
    assert classes.tolist() == [5, 7] and accuracies.tolist() == [0.5, 1.0]
    with pytest.raises(ValueError):
        per_class_mean_accuracy(predicted, true, classes=[11])


def test_top_k_hits_by_hand_and_against_loop():
    scores = np.array([[0.9, 0.5, 0.1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    true = np.array([1, 0, 2])
    assert top_k_hits(scores, true, 1) == 0.0
    assert top_k_hits(scores, true, 2) == pytest.approx(1 / 3)
    assert top_k_hits(scores, true, 3) == 1.0
    generator = np.random.default_rng(2)
    scores, true = generator.normal(size=(200, 10)), generator.integers(0, 10, 200)
    predicted_top1 = scores.argmax(1)
    assert top_k_hits(scores, true, 1) == pytest.approx(per_class_mean_accuracy(predicted_top1, true))
    hits = np.array([true[i] in np.argsort(-scores[i])[:4] for i in range(200)])
    expected = np.mean([hits[true == c].mean() for c in np.unique(true)])
    assert top_k_hits(scores, true, 4) == pytest.approx(expected)


def test_column_classes_map_columns_to_labels():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.4]])
    true = np.array([42, 17, 17])
    result = zsl_scores(scores, true, unseen_classes=[17, 42])
    assert result["top1"] == pytest.approx((1.0 + 0.5) / 2)
    assert result["per_image_accuracy"] == pytest.approx(2 / 3)
    assert "hit_at_5" not in result


def test_calibrated_stacking_subtracts_from_seen_columns_only():
    scores = np.array([[1.0, 2.0, 3.0]])
    calibrated = calibrated_stacking(scores, np.array([True, False, True]), 0.5)
    assert calibrated.tolist() == [[0.5, 2.0, 2.5]]
    assert scores.tolist() == [[1.0, 2.0, 3.0]]


def test_harmonic_mean_is_zero_when_one_side_is_zero():
    assert harmonic_mean(0.0, 0.9) == 0.0 and harmonic_mean(0.9, 0.0) == 0.0
    assert harmonic_mean(0.5, 0.5) == pytest.approx(0.5)
    scores = np.array([[5.0, 0.0], [5.0, 0.0]])  # everything goes to seen class 0
    result = gzsl_scores(scores, np.array([0, 1]), np.array([True, False]))
    assert result["seen_accuracy"] == 1.0 and result["unseen_accuracy"] == 0.0 and result["harmonic_mean"] == 0.0


def test_gzsl_matches_loop_gamma_zero_changes_nothing_and_large_gamma_goes_unseen(problem):
    scores, true, seen_mask = problem
    for gamma in (0.0, 0.3, 1.0):
        unseen, seen = loop_gzsl(scores, true, seen_mask, gamma)
        result = gzsl_scores(scores, true, seen_mask, gamma)
        assert result["unseen_accuracy"] == pytest.approx(unseen)
        assert result["seen_accuracy"] == pytest.approx(seen)
        assert result["harmonic_mean"] == pytest.approx(2 * unseen * seen / (unseen + seen))
    plain = np.array([loop_per_class_mean(scores.argmax(1)[seen_mask[true]], true[seen_mask[true]])])
    assert gzsl_scores(scores, true, seen_mask, 0.0)["seen_accuracy"] == pytest.approx(plain[0])
    flooded = gzsl_scores(scores, true, seen_mask, 1e6)
    assert flooded["seen_accuracy"] == 0.0 and flooded["harmonic_mean"] == 0.0
    unseen_only = scores[:, ~seen_mask].argmax(1) + seen_mask.sum()
    unseen_images = ~seen_mask[true]
    assert flooded["unseen_accuracy"] == pytest.approx(
        loop_per_class_mean(unseen_only[unseen_images], true[unseen_images])
    )


def test_curve_matches_loop_at_every_gamma(problem):
    scores, true, seen_mask = problem
    gammas = np.linspace(-3, 3, 25)
    curve = seen_unseen_curve(scores, true, seen_mask, gammas)
    for gamma, unseen, seen in zip(curve["gamma"], curve["unseen_accuracy"], curve["seen_accuracy"], strict=True):
        expected_unseen, expected_seen = loop_gzsl(scores, true, seen_mask, gamma)
        assert unseen == pytest.approx(expected_unseen) and seen == pytest.approx(expected_seen)
    exact = seen_unseen_curve(scores, true, seen_mask)
    assert np.all(np.diff(exact["unseen_accuracy"]) >= -1e-12) and np.all(np.diff(exact["seen_accuracy"]) <= 1e-12)
    assert exact["unseen_accuracy"][0] == 0.0 and exact["seen_accuracy"][-1] == 0.0


def test_select_gamma_maximises_h_over_the_candidates(problem):
    scores, true, seen_mask = problem
    gammas = np.linspace(-1, 2, 31)
    best_gamma, table = select_gamma(scores, true, seen_mask, gammas)
    assert len(table) == 31 and [row["gamma"] for row in table] == pytest.approx(gammas.tolist())
    best_h = max(row["harmonic_mean"] for row in table)
    assert gzsl_scores(scores, true, seen_mask, best_gamma)["harmonic_mean"] == pytest.approx(best_h)
    assert best_h >= gzsl_scores(scores, true, seen_mask, 0.0)["harmonic_mean"]
    assert best_gamma > 0  # the seen-class bias of the fixture is removed by a positive gamma


def test_ausuc_of_perfect_and_of_hopeless_classifiers():
    true = np.array([0, 1, 2, 3, 0, 2])
    seen_mask = np.array([True, True, False, False])
    perfect = np.eye(4)[true] * 10
    assert ausuc(perfect, true, seen_mask) == pytest.approx(1.0)
    assert ausuc(perfect, true, seen_mask, gammas=np.linspace(-20, 20, 41)) == pytest.approx(1.0)
    wrong = np.eye(4)[(true + 1) % 2 + 2 * (true < 2)]  # seen images score an unseen class, and back
    assert ausuc(wrong, true, seen_mask) == pytest.approx(0.0)


def test_ausuc_matches_a_dense_loop_sweep(problem):
    scores, true, seen_mask = problem
    gammas = np.linspace(-8, 8, 1601)
    points = [loop_gzsl(scores, true, seen_mask, gamma) for gamma in gammas]
    unseen = np.array([0.0] + [point[0] for point in points] + [points[-1][0]])
    seen = np.array([points[0][1]] + [point[1] for point in points] + [0.0])
    dense = float(np.sum(np.diff(unseen) * (seen[1:] + seen[:-1]) / 2))
    assert ausuc(scores, true, seen_mask) == pytest.approx(dense, abs=2e-3)
    assert 0.0 < ausuc(scores, true, seen_mask) < 1.0


def test_zero_shot_chance_matches_random_scores():
    """Chance is what random scores get: measured on many random score tables, against the closed forms."""
    generator = np.random.default_rng(0)
    n_seen, n_unseen, per_class = 4, 6, 400
    labels = np.repeat(np.arange(n_seen + n_unseen), per_class)
    scores = generator.uniform(size=(len(labels), n_seen + n_unseen))
    seen_mask = np.arange(n_seen + n_unseen) < n_seen
    chance = zero_shot_chance(n_seen, n_unseen, ks=(5, 7))
    unseen_images = labels >= n_seen
    zsl = zsl_scores(scores[unseen_images][:, ~seen_mask], labels[unseen_images], np.flatnonzero(~seen_mask))
    assert zsl["top1"] == pytest.approx(chance["T1"], abs=0.02)
    assert zsl["hit_at_5"] == pytest.approx(chance["hit@5"], abs=0.03)
    assert "hit@7" not in chance
    gzsl = gzsl_scores(scores, labels, seen_mask)
    assert gzsl["unseen_accuracy"] == pytest.approx(chance["U"], abs=0.02)
    assert gzsl["seen_accuracy"] == pytest.approx(chance["S"], abs=0.02)
    assert ausuc(scores, labels, seen_mask) == pytest.approx(chance["AUSUC"], rel=0.15)
    assert zero_shot_chance(40, 10)["hit@5"] == 0.5


def test_gzsl_needs_both_kinds_of_images_and_classes():
    scores = np.zeros((2, 3))
    with pytest.raises(ValueError):
        gzsl_scores(scores, np.array([0, 1]), np.array([True, True, False]))
    with pytest.raises(ValueError):
        gzsl_scores(scores, np.array([0, 2]), np.array([True, True, True]))
