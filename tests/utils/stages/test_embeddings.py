"""The embeddings file round-trips; confusion, most-confused pairs and the joint PCA compute what they say."""

import numpy as np
import pytest

from utils.stages.embeddings import (
    EmbeddingSet,
    confusion_matrix,
    most_confused_pairs,
    nearest_label_counts,
    pca_projection,
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


def test_confusion_matrix_and_most_confused_pairs_by_hand():
    true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 1, 1, 0, 1, 1, 1, 1, 2])
    confusion = confusion_matrix(true, predicted, 3)
    np.testing.assert_array_equal(confusion, [[1, 2, 0], [1, 1, 0], [0, 3, 1]])
    pairs = most_confused_pairs(confusion, ["cat", "dog", "rat"], top=5)
    assert pairs == [("rat", "dog", 3), ("cat", "dog", 2), ("dog", "cat", 1)]
    assert most_confused_pairs(np.diag([3, 4]), ["x", "y"]) == []


def test_nearest_label_counts_is_the_argmax_confusion():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    np.testing.assert_array_equal(nearest_label_counts(scores, np.array([0, 0, 1]), 2), [[1, 1], [1, 0]])


def test_pca_projection_puts_an_image_on_its_identical_label_vector():
    generator = np.random.default_rng(1)
    label_vectors = generator.normal(size=(4, 10))
    images = np.concatenate([3.0 * label_vectors, generator.normal(size=(5, 10))])
    image_points, label_points = pca_projection(images, label_vectors)
    assert image_points.shape == (9, 2) and label_points.shape == (4, 2)
    np.testing.assert_allclose(image_points[:4], label_points, atol=1e-6)
