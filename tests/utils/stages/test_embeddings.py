"""Notebook 03's error analysis: confusion, most-confused pairs and the joint PCA compute what they say."""

import numpy as np

from utils.stages.embeddings import (
    confusion_matrix,
    most_confused_pairs,
    nearest_label_counts,
    pca_projection,
    snapshot_classes,
)


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


def test_snapshot_classes_compare_as_sets_and_follow_the_configured_order():
    paths = ["split/valid/buffalo/1.jpg", "split/valid/buffalo/2.jpg", "split/valid/cow/3.jpg",
             "split/valid/dolphin/4.jpg", "split/valid/elephant/5.jpg"]
    configured = ("elephant", "buffalo", "cow", "dolphin")
    assert snapshot_classes(paths, configured) == (["elephant", "buffalo", "cow", "dolphin"], None)
    classes, warning = snapshot_classes(paths, ("elephant", "buffalo", "cow", "zebra"))
    assert classes == ["elephant", "buffalo", "cow", "dolphin"]
    assert warning == ("snapshots show ['elephant', 'buffalo', 'cow', 'dolphin']; set config.retrain = True in "
                       "notebook 02 to record ['elephant', 'buffalo', 'cow', 'zebra']")
