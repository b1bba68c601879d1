"""utils.zsl: the embeddings file round-trips, evaluation of an embedding set by hand, the GZSL row, the choice of γ."""

import numpy as np
import pytest

from utils.metrics import gzsl_scores, select_gamma
from utils.zsl import (
    EmbeddingSet,
    choose_calibration_gamma,
    evaluate_embeddings,
    gamma_grid,
    gzsl_table_row,
    zero_shot_scores,
)


def _embedding_set(n_images=6, dim=3):
    generator = np.random.default_rng(0)
    return EmbeddingSet(
        image_embeddings=generator.normal(size=(n_images, dim)),
        image_paths=[f"img_{i}.jpg" for i in range(n_images)],
        labels=generator.integers(0, 4, n_images),
        split=["seen_valid"] * 3 + ["unseen_test"] * (n_images - 3),
        class_names=["a", "b", "c", "d"],
        class_word_vectors=generator.normal(size=(4, dim)),
        seen_class_mask=[True, True, False, False],
    )


def test_save_load_round_trip(tmp_path):
    embeddings = _embedding_set()
    loaded = EmbeddingSet.load(embeddings.save(tmp_path / "nested" / "embeddings.npz"))
    for name in EmbeddingSet.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(embeddings, name))
    assert loaded.unseen_classes.tolist() == [2, 3]


def test_scores_are_cosines_and_subset_keeps_classes():
    embeddings = _embedding_set()
    scores = embeddings.scores()
    i, j = 4, 2
    a, b = embeddings.image_embeddings[i], embeddings.class_word_vectors[j]
    assert scores[i, j] == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-5)
    unseen = embeddings.subset(embeddings.split == "unseen_test")
    assert len(unseen.labels) == 3 and unseen.class_names.tolist() == ["a", "b", "c", "d"]


def test_mismatched_shapes_are_refused():
    embeddings = _embedding_set()
    with pytest.raises(ValueError, match="class_word_vectors"):
        EmbeddingSet(embeddings.image_embeddings, embeddings.image_paths, embeddings.labels, embeddings.split,
                     embeddings.class_names, embeddings.class_word_vectors[:, :2], embeddings.seen_class_mask)


def _embeddings_on_their_labels(noise: float = 0.0) -> EmbeddingSet:
    generator = np.random.default_rng(0)
    class_word_vectors = np.linalg.qr(generator.normal(size=(8, 6)))[0].T  # 6 orthonormal label vectors, 8-d
    labels = np.repeat(np.arange(6), 3)
    embeddings = class_word_vectors[labels] + noise * generator.normal(size=(18, 8))
    return EmbeddingSet(embeddings, [f"{i}.jpg" for i in range(18)], labels,
                        np.where(labels < 3, "seen_valid", "unseen_test"), list("abcdef"), class_word_vectors,
                        np.arange(6) < 3)


def test_embeddings_on_their_label_vectors_score_perfectly():
    figures = evaluate_embeddings(_embeddings_on_their_labels(), gamma=0.0)
    assert figures["T1"] == figures["U"] == figures["S"] == figures["H"] == 1.0
    assert figures["chance T1"] == pytest.approx(1 / 3)
    assert np.isnan(figures["hit@5"]) and "chance hit@5" not in figures  # 5 guesses among 3 labels: not reported
    assert figures["chance U"] == figures["chance S"] == figures["chance H"] == pytest.approx(1 / 6)


def test_a_huge_gamma_sends_every_image_to_an_unseen_label():
    figures = evaluate_embeddings(_embeddings_on_their_labels(noise=0.1), gamma=10.0)
    assert figures["S"] == 0.0 and figures["H"] == 0.0
    assert figures["U"] == zero_shot_scores(_embeddings_on_their_labels(noise=0.1))["top1"]


def test_the_gzsl_table_row_is_gzsl_scores_at_zero_and_at_the_chosen_gamma():
    # Two seen columns, one unseen; the unseen image loses to a seen score by 0.2 unless γ lifts it.
    scores = np.array([[0.9, 0.1, 0.3], [0.2, 0.8, 0.1], [0.5, 0.1, 0.3]])
    labels, seen = np.array([0, 1, 2]), np.array([True, True, False])
    row = gzsl_table_row(scores, labels, seen, 0.25)
    assert (row["U (γ=0)"], row["S (γ=0)"], row["H (γ=0)"]) == (0.0, 1.0, 0.0)
    assert (row["U"], row["S"], row["γ (validation)"]) == (1.0, 1.0, 0.25) and row["H"] == 1.0
    assert row["U"] == gzsl_scores(scores, labels, seen, 0.25)["unseen_accuracy"]


def test_gamma_is_chosen_among_margin_quantiles_and_zero_and_undoes_a_seen_bias():
    generator = np.random.default_rng(0)
    labels = generator.integers(0, 8, 300)
    scores = generator.normal(size=(300, 8))
    scores[np.arange(300), labels] += 1.0
    seen = np.arange(8) < 5
    scores[:, seen] += 0.7  # the bias calibrated stacking removes
    candidates = gamma_grid(scores, seen, 11)
    margin = scores[:, seen].max(1) - scores[:, ~seen].max(1)
    assert 0.0 in candidates and candidates.min() == margin.min() and candidates.max() == margin.max()
    gamma, table = choose_calibration_gamma(scores, labels, seen, 11)
    assert (gamma, table) == select_gamma(scores, labels, seen, candidates)
    assert gamma > 0 and len(table) == len(candidates)
    assert gzsl_scores(scores, labels, seen, gamma)["harmonic_mean"] > gzsl_scores(scores, labels, seen, 0.0)["harmonic_mean"]
