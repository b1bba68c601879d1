"""Metrics as the literature defines them: zero-shot (ZSL top-1, hit@k, GZSL U/S/H, calibrated stacking, AUSUC),
multi-label (mAP, precision/recall/F1 at top-K) and one-shot (triplet, same/different, N-way K-shot episodes).

Plain maths on arrays: the zero-shot protocol built on them (the embedding set, the γ chosen on pseudo-unseen
classes, the report row) is :mod:`utils.zsl`.

Conventions (every function):

* ``scores`` is an array of shape (n_images, n_classes): higher means more likely. Column ``j`` is
  the class with label ``j`` unless a function takes ``column_classes`` naming the label of each
  column (e.g. scores over the unseen classes only).
* ``true_labels`` and ``predicted_labels`` are integer arrays of shape (n_images,).
* NumPy arrays, lists and (CPU or GPU) torch tensors are all accepted; results are plain floats or
  NumPy arrays.

Protocol (Y. Xian, C. H. Lampert, B. Schiele, Z. Akata, "Zero-Shot Learning — A Comprehensive
Evaluation of the Good, the Bad and the Ugly", TPAMI 2018):

* **ZSL** — predict among the unseen classes only; report the *per-class mean* top-1 ("T1"), which
  does not let large classes dominate, beside the per-image accuracy.
* **GZSL** — predict among *all* classes; ``U`` is the per-class mean top-1 over test images of
  unseen classes, ``S`` the same over test images of seen classes, and ``H = 2US / (U + S)``.

Calibrated stacking (W.-L. Chao, S. Changpinyo, B. Gong, F. Sha, "An Empirical Study and Analysis of
Generalized Zero-Shot Learning for Object Recognition in the Wild", ECCV 2016) subtracts a constant
``gamma`` from every seen-class score, because models trained on seen classes over-score them.
``gamma`` is a hyper-parameter: :func:`select_gamma` picks it on **validation** data, never on test
data. Sweeping ``gamma`` from -inf to +inf traces the seen–unseen accuracy curve; the area under it,
:func:`ausuc`, summarises the trade-off independently of any one ``gamma`` (same paper).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from models.losses import pairwise_distances


def _as_numpy(values: Any) -> np.ndarray:
    """A NumPy view of ``values`` (torch tensors are detached and moved to the CPU first)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _labels(values: Any, name: str) -> np.ndarray:
    labels = _as_numpy(values)
    if labels.ndim != 1:
        raise ValueError(f"{name} must have shape (n_images,), not {labels.shape}")
    return labels.astype(np.int64)


def _scores(values: Any, n_images: int) -> np.ndarray:
    scores = _as_numpy(values).astype(np.float64)
    if scores.ndim != 2 or scores.shape[0] != n_images:
        raise ValueError(f"scores must have shape ({n_images}, n_classes), not {scores.shape}")
    return scores


def per_image_accuracy(predicted_labels: Any, true_labels: Any) -> float:
    """The share of images whose predicted label is the true one.

    Args:
        predicted_labels: integer labels of shape (n_images,).
        true_labels: integer labels of shape (n_images,).

    Returns:
        The accuracy in [0, 1].

    Raises:
        ValueError: if the arrays differ in shape or are empty.
    """
    predicted, true = _labels(predicted_labels, "predicted_labels"), _labels(true_labels, "true_labels")
    if predicted.shape != true.shape or true.size == 0:
        raise ValueError(f"need two non-empty label arrays of one shape, got {predicted.shape} and {true.shape}")
    return float(np.mean(predicted == true))


def _per_class_means(
    values: np.ndarray, true: np.ndarray, classes: Sequence[int] | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` (shape (n_images,)) over the images of each class; see :func:`per_class_accuracies`."""
    wanted = np.unique(true) if classes is None else np.unique(_labels(np.asarray(classes), "classes"))
    in_scope = np.isin(true, wanted)
    present, position = np.unique(true[in_scope], return_inverse=True)
    # bincount rather than a loop over classes: xlsa17's SUN has 717 of them.
    totals = np.bincount(position, minlength=present.size)
    sums = np.bincount(position, weights=values[in_scope].astype(np.float64), minlength=present.size)
    return present, sums / np.maximum(totals, 1)


def per_class_accuracies(
    predicted_labels: Any, true_labels: Any, classes: Sequence[int] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 accuracy of each class, over the images of that class.

    Args:
        predicted_labels: integer labels of shape (n_images,).
        true_labels: integer labels of shape (n_images,).
        classes: the classes to report (default: those present in ``true_labels``). Images of other
            classes are ignored; a listed class without images is left out.

    Returns:
        ``(classes, accuracies)``: the classes that have images, int64 of shape (n_reported,), sorted,
        and their accuracies, float64 of shape (n_reported,).
    """
    predicted, true = _labels(predicted_labels, "predicted_labels"), _labels(true_labels, "true_labels")
    if predicted.shape != true.shape:
        raise ValueError(f"predicted_labels {predicted.shape} and true_labels {true.shape} differ in shape")
    return _per_class_means(predicted == true, true, classes)


def per_class_mean_accuracy(
    predicted_labels: Any, true_labels: Any, classes: Sequence[int] | np.ndarray | None = None
) -> float:
    """Per-class mean top-1, the xlsa17 "T1" (Xian et al., TPAMI 2018, eq. 3).

    The mean over classes of the share of each class's images predicted correctly, so every class
    counts once however many images it has.

    Args:
        predicted_labels: integer labels of shape (n_images,).
        true_labels: integer labels of shape (n_images,).
        classes: average over these classes (default: the classes present in ``true_labels``);
            images of other classes are ignored and listed classes without images are skipped.

    Returns:
        The mean accuracy in [0, 1].

    Raises:
        ValueError: if no image belongs to the classes averaged over.
    """
    present, accuracies = per_class_accuracies(predicted_labels, true_labels, classes)
    if present.size == 0:
        raise ValueError("no image belongs to the classes to average over")
    return float(accuracies.mean())


def _column_classes(column_classes: Any, n_columns: int) -> np.ndarray:
    if column_classes is None:
        return np.arange(n_columns)
    classes = _labels(np.asarray(column_classes), "column_classes")
    if classes.size != n_columns:
        raise ValueError(f"column_classes has {classes.size} entries for {n_columns} score columns")
    return classes


def predict_labels(scores: Any, column_classes: Any = None) -> np.ndarray:
    """The label of the highest-scoring column of each row.

    Args:
        scores: array of shape (n_images, n_classes).
        column_classes: the label of each column, of shape (n_classes,) (default: ``0..n_classes-1``).

    Returns:
        int64 labels of shape (n_images,).
    """
    scores = _as_numpy(scores)
    return _column_classes(column_classes, scores.shape[1])[np.argmax(scores, axis=1)]


def top_k_hits(scores: Any, true_labels: Any, k: int, column_classes: Any = None) -> float:
    """hit@k: the per-class mean share of images whose true class is among the ``k`` best-scored.

    Averaged per class, like T1, so ``top_k_hits(scores, labels, 1)`` equals
    :func:`per_class_mean_accuracy` of the argmax (up to ties).

    Args:
        scores: array of shape (n_images, n_classes).
        true_labels: integer labels of shape (n_images,).
        k: how many best-scored classes count as a hit (``1 <= k <= n_classes``).
        column_classes: the label of each column, of shape (n_classes,) (default: ``0..n_classes-1``).

    Returns:
        hit@k in [0, 1].
    """
    true = _labels(true_labels, "true_labels")
    scores = _scores(scores, true.size)
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k={k} must lie in 1..{scores.shape[1]} (the number of classes)")
    classes = _column_classes(column_classes, scores.shape[1])
    top_columns = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    hit = (classes[top_columns] == true[:, None]).any(axis=1)
    return float(_per_class_means(hit, true, None)[1].mean())


def calibrated_stacking(scores: Any, seen_class_mask: Any, gamma: float) -> np.ndarray:
    """Subtract ``gamma`` from the score of every seen class (Chao et al., ECCV 2016).

    Args:
        scores: array of shape (n_images, n_classes) over *all* classes.
        seen_class_mask: bool array of shape (n_classes,), True for the seen (training) classes.
        gamma: the calibration; 0 changes nothing, a large value sends every image to an unseen class.

    Returns:
        The calibrated scores, float64 of shape (n_images, n_classes) (the input is not modified).
    """
    scores = _as_numpy(scores).astype(np.float64)
    mask = _as_numpy(seen_class_mask).astype(bool)
    if scores.ndim != 2 or mask.shape != (scores.shape[1],):
        raise ValueError(f"scores {scores.shape} and seen_class_mask {mask.shape} do not match")
    return scores - gamma * mask


def _split_mask(seen_class_mask: Any, n_classes: int) -> np.ndarray:
    mask = _as_numpy(seen_class_mask).astype(bool)
    if mask.shape != (n_classes,):
        raise ValueError(f"seen_class_mask has shape {mask.shape}, expected ({n_classes},)")
    if mask.all() or not mask.any():
        raise ValueError("seen_class_mask must mark at least one seen and one unseen class")
    return mask


def harmonic_mean(unseen_accuracy: float, seen_accuracy: float) -> float:
    """``H = 2US / (U + S)``, and 0 when U or S is 0."""
    if unseen_accuracy <= 0.0 or seen_accuracy <= 0.0:
        return 0.0
    return 2.0 * unseen_accuracy * seen_accuracy / (unseen_accuracy + seen_accuracy)


def gzsl_scores(scores: Any, true_labels: Any, seen_class_mask: Any, gamma: float = 0.0) -> dict[str, float]:
    """Generalised zero-shot accuracies U, S and H (Xian et al., TPAMI 2018), after calibrated stacking.

    Every image is classified among *all* classes; U averages per class over the images of unseen
    classes, S over the images of seen classes.

    Args:
        scores: array of shape (n_images, n_classes) over all classes; column ``j`` is label ``j``.
        true_labels: integer labels of shape (n_images,), holding images of seen and unseen classes.
        seen_class_mask: bool array of shape (n_classes,), True for seen classes.
        gamma: calibrated-stacking constant subtracted from seen-class scores.

    Returns:
        ``{"unseen_accuracy": U, "seen_accuracy": S, "harmonic_mean": H, "gamma": gamma}``.

    Raises:
        ValueError: if there are no images of seen or of unseen classes.
    """
    true = _labels(true_labels, "true_labels")
    scores = _scores(scores, true.size)
    mask = _split_mask(seen_class_mask, scores.shape[1])
    predicted = predict_labels(calibrated_stacking(scores, mask, gamma))
    is_seen_image = mask[true]
    if is_seen_image.all() or not is_seen_image.any():
        raise ValueError("GZSL needs images of both seen and unseen classes")
    unseen = per_class_mean_accuracy(predicted[~is_seen_image], true[~is_seen_image])
    seen = per_class_mean_accuracy(predicted[is_seen_image], true[is_seen_image])
    return {
        "unseen_accuracy": unseen,
        "seen_accuracy": seen,
        "harmonic_mean": harmonic_mean(unseen, seen),
        "gamma": float(gamma),
    }


def seen_unseen_curve(
    scores: Any, true_labels: Any, seen_class_mask: Any, gammas: Any = None
) -> dict[str, np.ndarray]:
    """U and S for every calibration ``gamma`` of a sweep, exactly and in O(n log n).

    With ``gamma`` subtracted from seen-class scores, an image is given its best seen class when
    ``best_seen_score - best_unseen_score >= gamma`` and its best unseen class otherwise. As
    ``gamma`` grows, images flip one by one from their seen to their unseen guess, so U never falls
    and S never rises; sorting the images by that margin gives every point of the curve at once.

    Args:
        scores: array of shape (n_images, n_classes) over all classes.
        true_labels: integer labels of shape (n_images,).
        seen_class_mask: bool array of shape (n_classes,), True for seen classes.
        gammas: the values to evaluate, any order (default: every value at which a prediction
            changes, plus -inf and +inf: the exact curve).

    Returns:
        ``{"gamma", "unseen_accuracy", "seen_accuracy", "harmonic_mean"}``, arrays of shape
        (n_gammas,) sorted by increasing gamma.
    """
    true = _labels(true_labels, "true_labels")
    scores = _scores(scores, true.size)
    mask = _split_mask(seen_class_mask, scores.shape[1])
    seen_columns, unseen_columns = np.flatnonzero(mask), np.flatnonzero(~mask)
    seen_block, unseen_block = scores[:, seen_columns], scores[:, unseen_columns]
    seen_guess = seen_columns[seen_block.argmax(1)]
    unseen_guess = unseen_columns[unseen_block.argmax(1)]
    margin = seen_block.max(1) - unseen_block.max(1)

    is_seen_image = mask[true]
    if is_seen_image.all() or not is_seen_image.any():
        raise ValueError("the curve needs images of both seen and unseen classes")
    class_sizes = np.bincount(true, minlength=scores.shape[1]).astype(np.float64)
    n_seen_classes = np.count_nonzero(class_sizes[seen_columns])
    n_unseen_classes = np.count_nonzero(class_sizes[unseen_columns])
    weight = 1.0 / class_sizes[true]
    # What each image adds to U, or takes from S, when it flips from its seen to its unseen guess.
    unseen_gain = np.where(~is_seen_image & (unseen_guess == true), weight / n_unseen_classes, 0.0)
    seen_loss = np.where(is_seen_image & (seen_guess == true), weight / n_seen_classes, 0.0)

    order = np.argsort(margin, kind="stable")
    sorted_margin = margin[order]
    unseen_cumulative = np.concatenate([[0.0], np.cumsum(unseen_gain[order])])
    seen_cumulative = np.concatenate([[0.0], np.cumsum(seen_loss[order])])
    seen_at_minus_infinity = seen_cumulative[-1]

    if gammas is None:
        gammas = np.concatenate([[-np.inf], np.unique(sorted_margin), [np.inf]])
    gammas = np.sort(_as_numpy(gammas).astype(np.float64).ravel())
    # Images with margin < gamma take their unseen guess.
    flipped = np.searchsorted(sorted_margin, gammas, side="left")
    unseen = unseen_cumulative[flipped]
    seen = seen_at_minus_infinity - seen_cumulative[flipped]
    seen = np.clip(seen, 0.0, 1.0)
    both = (unseen > 0) & (seen > 0)
    harmonic = np.where(both, 2 * unseen * seen / np.where(both, unseen + seen, 1.0), 0.0)
    return {"gamma": gammas, "unseen_accuracy": unseen, "seen_accuracy": seen, "harmonic_mean": harmonic}


def select_gamma(
    scores: Any, true_labels: Any, seen_class_mask: Any, gammas: Any
) -> tuple[float, list[dict[str, float]]]:
    """The calibrated-stacking ``gamma`` that maximises H on **validation** data (Chao et al., ECCV 2016).

    Choosing ``gamma`` on the test images would leak test labels into a hyper-parameter (the ReZSL
    code does this; we do not). The caller builds a validation problem from the seen classes alone:
    it carves some seen classes out as *pseudo-unseen* validation classes, trains on the remaining
    seen classes, scores held-out images of both over those classes, and passes a mask that is True
    for the remaining seen classes and False for the validation classes. The ``gamma`` found is then
    applied unchanged to the model trained on all seen classes and evaluated on the test sets.

    Args:
        scores: validation scores of shape (n_images, n_classes).
        true_labels: validation labels of shape (n_images,).
        seen_class_mask: bool array of shape (n_classes,), True for the classes trained on, False for
            the pseudo-unseen validation classes.
        gammas: candidate values, any iterable of floats.

    Returns:
        ``(best_gamma, table)``: the best value (the first in ``gammas`` order among ties) and one row
        per candidate, ``{"gamma", "unseen_accuracy", "seen_accuracy", "harmonic_mean"}``, in
        ``gammas`` order (``pandas.DataFrame(table)`` shows it).
    """
    candidates = [float(gamma) for gamma in _as_numpy(gammas).ravel()]
    if not candidates:
        raise ValueError("gammas is empty")
    table = []
    for gamma in candidates:
        row = gzsl_scores(scores, true_labels, seen_class_mask, gamma)
        table.append({key: row[key] for key in ("gamma", "unseen_accuracy", "seen_accuracy", "harmonic_mean")})
    best = max(range(len(table)), key=lambda index: (table[index]["harmonic_mean"], -index))
    return table[best]["gamma"], table


def ausuc(scores: Any, true_labels: Any, seen_class_mask: Any, gammas: Any = None) -> float:
    """Area Under the Seen-Unseen accuracy Curve (Chao et al., ECCV 2016).

    The curve plots S against U as the calibration ``gamma`` sweeps from -inf (everything goes to a
    seen class: U = 0) to +inf (everything goes to an unseen class: S = 0); the area is found by the
    trapezoid rule. A perfect classifier scores 1.

    Args:
        scores: array of shape (n_images, n_classes) over all classes.
        true_labels: integer labels of shape (n_images,).
        seen_class_mask: bool array of shape (n_classes,), True for seen classes.
        gammas: sweep values (default: the exact curve, every value where a prediction changes); the
            end points -inf and +inf are always added.

    Returns:
        The area in [0, 1].
    """
    if gammas is not None:
        gammas = np.concatenate([[-np.inf], _as_numpy(gammas).astype(np.float64).ravel(), [np.inf]])
    curve = seen_unseen_curve(scores, true_labels, seen_class_mask, gammas)
    unseen, seen = curve["unseen_accuracy"], curve["seen_accuracy"]
    return float(np.sum(np.diff(unseen) * (seen[1:] + seen[:-1]) / 2.0))


def zsl_scores(scores_over_unseen: Any, true_labels: Any, unseen_classes: Any = None) -> dict[str, float]:
    """Conventional zero-shot accuracies: every image is classified among the unseen classes only.

    Args:
        scores_over_unseen: array of shape (n_images, n_unseen).
        true_labels: integer labels of shape (n_images,): column indices of ``scores_over_unseen``,
            or, if ``unseen_classes`` is given, labels from it.
        unseen_classes: the label of each column, of shape (n_unseen,) (default: ``0..n_unseen-1``).

    Returns:
        ``{"top1": per-class mean top-1 (T1), "per_image_accuracy": ..., "hit_at_5": ...}``;
        ``hit_at_5`` (per-class mean) only when there are at least 5 classes.
    """
    true = _labels(true_labels, "true_labels")
    scores = _scores(scores_over_unseen, true.size)
    predicted = predict_labels(scores, unseen_classes)
    results = {
        "top1": per_class_mean_accuracy(predicted, true),
        "per_image_accuracy": per_image_accuracy(predicted, true),
    }
    if scores.shape[1] >= 5:
        results["hit_at_5"] = top_k_hits(scores, true, 5, unseen_classes)
    return results


def zero_shot_chance(n_seen_classes: int, n_unseen_classes: int, ks: Sequence[int] = (5,)) -> dict[str, float]:
    """What a classifier with random scores gets on each zero-shot figure: the chance line of every table.

    With independent, identically distributed scores every class is equally likely to come first:

    * ZSL among the unseen classes: ``T1`` = ``per-image`` = 1 / n_unseen, ``hit@k`` = k / n_unseen (e.g. hit@5
      over 10 unseen classes is 0.5, not 0.1);
    * GZSL among all classes: ``U`` = ``S`` = ``H`` = 1 / (n_seen + n_unseen) without calibration;
    * ``AUSUC``: calibrated stacking only moves a share p of the images to unseen classes, so U = p / n_unseen and
      S = (1 − p) / n_seen trace a straight line and the area is 1 / (2 · n_seen · n_unseen).

    Args:
        n_seen_classes: classes trained on (GZSL candidates besides the unseen ones).
        n_unseen_classes: the ZSL candidates.
        ks: the k of each hit@k reported (those above ``n_unseen_classes`` are left out, as :func:`zsl_scores`
            does).

    Returns:
        ``{"T1", "per-image", "hit@k"..., "U", "S", "H", "AUSUC"}`` → the chance value.
    """
    if n_seen_classes < 1 or n_unseen_classes < 1:
        raise ValueError(f"need at least one seen and one unseen class, got {n_seen_classes} and {n_unseen_classes}")
    gzsl = 1.0 / (n_seen_classes + n_unseen_classes)
    return {
        "T1": 1.0 / n_unseen_classes, "per-image": 1.0 / n_unseen_classes,
        **{f"hit@{k}": k / n_unseen_classes for k in ks if k <= n_unseen_classes},
        "U": gzsl, "S": gzsl, "H": gzsl, "AUSUC": 1.0 / (2 * n_seen_classes * n_unseen_classes),
    }


# ---------------------------------------------------------------------------------------------- multi-label
# Multi-label zero-shot protocol of Semantic Diversity Learning (Ben-Cohen et al., ICCV 2021, arXiv
# 2105.05926), following Zhang et al., "Fast Zero-Shot Image Tagging", CVPR 2016: ``targets`` is a
# multi-hot array of shape (n_images, n_labels) aligned with ``scores``. ZSL ranks only the unseen
# labels (pass their columns), GZSL ranks all labels.


def _targets(values: Any, scores: np.ndarray) -> np.ndarray:
    targets = _as_numpy(values)
    if targets.shape != scores.shape:
        raise ValueError(f"targets have shape {targets.shape}, scores {scores.shape}")
    return targets == 1


def average_precision(scores: Any, targets: Any) -> float:
    """Average precision of one label: the mean, over its positive images, of the precision at their rank.

    Images are ranked by decreasing score (ties in their given order).

    Args:
        scores: of shape (n_images,).
        targets: 0/1 of shape (n_images,), at least one 1.

    Raises:
        ValueError: if there is no positive image.
    """
    scores, targets = _as_numpy(scores).astype(np.float64), _as_numpy(targets) == 1
    if not targets.any():
        raise ValueError("average precision needs at least one positive image")
    order = np.argsort(-scores, kind="stable")
    hits = targets[order]
    precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
    return float(precision_at_hits.mean())


def label_wise_average_precisions(scores: Any, targets: Any) -> np.ndarray:
    """Average precision of every label (column), NaN for labels without a positive image.

    Args:
        scores: of shape (n_images, n_labels).
        targets: multi-hot of shape (n_images, n_labels).

    Returns:
        float array of shape (n_labels,).
    """
    scores = _as_numpy(scores).astype(np.float64)
    targets = _targets(targets, scores)
    return np.array(
        [average_precision(scores[:, j], targets[:, j]) if targets[:, j].any() else np.nan for j in range(scores.shape[1])]
    )


def mean_average_precision(scores: Any, targets: Any) -> float:
    """Label-wise mAP: the mean of :func:`label_wise_average_precisions` over labels with a positive image."""
    precisions = label_wise_average_precisions(scores, targets)
    if np.all(np.isnan(precisions)):
        raise ValueError("no label has a positive image")
    return float(np.nanmean(precisions))


def precision_recall_f1_at_k(scores: Any, targets: Any, k: int) -> dict[str, float]:
    """Micro precision, recall and F1 when each image is tagged with its ``k`` top-scoring labels.

    ``precision = TP / (n_images · k)``, ``recall = TP / (number of positive image-label pairs)``,
    ``F1 = 2PR / (P + R)`` (0 when both are 0), counting over all images at once (micro).

    Args:
        scores: of shape (n_images, n_labels).
        targets: multi-hot of shape (n_images, n_labels).
        k: tags per image (at most n_labels).

    Returns:
        ``{"precision", "recall", "f1"}``.
    """
    scores = _as_numpy(scores).astype(np.float64)
    targets = _targets(targets, scores)
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must lie in 1..{scores.shape[1]}, got {k}")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    true_positives = int(np.take_along_axis(targets, top, axis=1).sum())
    precision = true_positives / (scores.shape[0] * k)
    n_positive = int(targets.sum())
    recall = true_positives / n_positive if n_positive else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def multilabel_scores(scores: Any, targets: Any, ks: Sequence[int] = (3, 5)) -> dict[str, float]:
    """mAP and precision/recall/F1 at each ``k`` of ``ks``: the figures SDL reports for ZSL and GZSL.

    Returns:
        ``{"mAP", "P@3", "R@3", "F1@3", "P@5", ...}``.
    """
    figures = {"mAP": mean_average_precision(scores, targets)}
    for k in ks:
        at_k = precision_recall_f1_at_k(scores, targets, k)
        figures.update({f"P@{k}": at_k["precision"], f"R@{k}": at_k["recall"], f"F1@{k}": at_k["f1"]})
    return figures


def expected_average_precision(n_images: int, n_positives: int) -> float:
    """Expected :func:`average_precision` of one label when the images are ranked in a uniformly random order.

    A positive at rank ``r`` has precision ``(1 + X) / r``, where the other positives above it number
    ``E[X | r] = (r − 1)(p − 1)/(n − 1)``; averaging over ``r`` uniform on ``1..n`` (``E[1/r] = H_n / n``) gives
    ``(p − 1)/(n − 1) + (n − p)/(n − 1) · H_n / n``. It exceeds the label's frequency ``p / n``, the usual shortcut,
    by about ``(1 − p/n) · H_n / n``: 0.02 on 200 images.

    Args:
        n_images: images ranked (n ≥ 1).
        n_positives: positive images among them (1 ≤ p ≤ n).
    """
    if not 1 <= n_positives <= n_images:
        raise ValueError(f"need 1 <= n_positives <= n_images, got {n_positives} of {n_images}")
    if n_images == 1:
        return 1.0
    harmonic_number = float(np.sum(1.0 / np.arange(1, n_images + 1)))
    return ((n_positives - 1) + (n_images - n_positives) * harmonic_number / n_images) / (n_images - 1)


def multilabel_chance(targets: Any, ks: Sequence[int] = (3, 5)) -> dict[str, float]:
    """Expected :func:`multilabel_scores` of random scores (every ranking equally likely), in closed form.

    mAP: :func:`expected_average_precision` of each label with a positive image, averaged. At top-k each image's
    ``k`` tags are a random k-subset of the ``L`` labels, so the expected true positives are ``k · n_pos / L``
    (``n_pos`` positive image-label pairs): ``P@k = n_pos / (n_images · L)``, ``R@k = k / L``, and, since micro
    ``F1 = 2·TP / (n_images · k + n_pos)`` is linear in TP, ``F1@k = 2k · n_pos / (L · (n_images · k + n_pos))``.

    Args:
        targets: multi-hot of shape (n_images, n_labels), as given to :func:`multilabel_scores`.
        ks: the top-k values.

    Returns:
        The keys of :func:`multilabel_scores`: ``{"mAP", "P@3", "R@3", "F1@3", ...}``.
    """
    targets = _as_numpy(targets) == 1
    n_images, n_labels = targets.shape
    positives_per_label = targets.sum(axis=0)
    if not positives_per_label.any():
        raise ValueError("no label has a positive image")
    chance = {"mAP": float(np.mean([expected_average_precision(n_images, int(p)) for p in positives_per_label if p]))}
    n_positive = int(targets.sum())
    for k in ks:
        if not 1 <= k <= n_labels:
            raise ValueError(f"k must lie in 1..{n_labels}, got {k}")
        chance.update({f"P@{k}": n_positive / (n_images * n_labels), f"R@{k}": k / n_labels,
                       f"F1@{k}": 2 * k * n_positive / (n_labels * (n_images * k + n_positive))})
    return chance


# ---------------------------------------------------------------------------------------------- one-shot
# One-shot figures of a Siamese encoder's embeddings (notebook 06) on given samples: triplet accuracy, binary
# same/different accuracy with a threshold chosen on validation pairs, N-way 1-shot accuracy over all classes
# (Koch et al., "Siamese Neural Networks for One-shot Image Recognition", 2015) and N-way K-shot episode
# accuracy with a 95% confidence interval (nearest prototype, Snell et al., "Prototypical Networks for Few-shot
# Learning", NeurIPS 2017). Which images form the triplets, pairs, supports and episodes is the stage's data
# handling (:mod:`utils.stages.episodes`).


def _row_distances(first: torch.Tensor, second: torch.Tensor, distance: str) -> torch.Tensor:
    """Distance between row i of ``first`` and row i of ``second``, shape (n,)."""
    if distance == "cosine":
        return 1.0 - torch.nn.functional.cosine_similarity(first, second, dim=1)
    if distance == "euclidean":
        return (first - second).norm(dim=1)
    raise ValueError(f"unknown distance {distance!r}")


def pair_distances(embeddings: torch.Tensor, first: np.ndarray, second: np.ndarray, distance: str = "cosine") -> np.ndarray:
    """Distances of the pairs ``(first[i], second[i])``, a float array of shape (n_pairs,)."""
    return _row_distances(embeddings[torch.as_tensor(first)], embeddings[torch.as_tensor(second)], distance).numpy()


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold that maximises the accuracy of "same iff distance ≤ threshold" on these pairs.

    Tries a threshold between every two consecutive sorted distances (and below/above all);
    choose it on validation pairs and apply it to test pairs with :func:`binary_accuracy`.

    Args:
        distances: float array of shape (n_pairs,).
        same: bool array of shape (n_pairs,).
    """
    order = np.argsort(distances, kind="stable")
    sorted_distances = np.asarray(distances, dtype=np.float64)[order]
    sorted_same = np.asarray(same, dtype=bool)[order]
    # Correct answers when the first k sorted pairs are called "same": same pairs among them + different pairs after.
    same_below = np.concatenate([[0], np.cumsum(sorted_same)])
    different_above = (~sorted_same).sum() - np.concatenate([[0], np.cumsum(~sorted_same)])
    correct = same_below + different_above
    n_pairs = len(sorted_distances)
    # A cut can only fall between two distinct values.
    valid = np.ones(n_pairs + 1, dtype=bool)
    valid[1:n_pairs] = sorted_distances[1:] > sorted_distances[:-1]
    n_called_same = int(np.argmax(np.where(valid, correct, -1)))
    if n_called_same == 0:
        return float(np.nextafter(sorted_distances[0], -np.inf))
    if n_called_same == n_pairs:
        return float(sorted_distances[-1])
    return float((sorted_distances[n_called_same - 1] + sorted_distances[n_called_same]) / 2)


def binary_accuracy(distances: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Accuracy of "same class iff distance ≤ threshold" on pairs of shape (n_pairs,)."""
    return float(np.mean((np.asarray(distances) <= threshold) == np.asarray(same, dtype=bool)))


def triplet_accuracy(
    embeddings: torch.Tensor, anchors: np.ndarray, positives: np.ndarray, negatives: np.ndarray,
    distance: str = "cosine",
) -> float:
    """Share of triplets with ``d(anchor, positive) < d(anchor, negative)``.

    Args:
        embeddings: tensor of shape (n_images, embedding_dim).
        anchors, positives, negatives: image indices of shape (n_triplets,), e.g. from
            :func:`utils.stages.episodes.sample_triplets`.
        distance: ``"cosine"`` or ``"euclidean"``.
    """
    anchors, positives, negatives = (torch.as_tensor(i) for i in (anchors, positives, negatives))
    positive_distances = _row_distances(embeddings[anchors], embeddings[positives], distance)
    negative_distances = _row_distances(embeddings[anchors], embeddings[negatives], distance)
    return float((positive_distances < negative_distances).float().mean())


def one_shot_chance(n_way: int) -> dict[str, float]:
    """What an encoder that has learned nothing scores on each one-shot figure, for ``n_way`` classes to choose from.

    Random embeddings put the positive nearer than the negative in half the triplets; on the balanced pairs of
    :func:`utils.stages.episodes.sample_pairs` every threshold is right half the time; a query takes one of
    ``n_way`` supports (or prototypes, whatever the number of shots) with probability ``1 / n_way``.

    Returns:
        ``{"triplet": 0.5, "binary": 0.5, "n_way": 1 / n_way}``.
    """
    if n_way < 1:
        raise ValueError(f"n_way must be at least 1, got {n_way}")
    return {"triplet": 0.5, "binary": 0.5, "n_way": 1.0 / n_way}


def mean_confidence_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval, ``1.96 × std / √n`` (normal approximation)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), 0.0
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))


def nearest_prototype(
    support_embeddings: torch.Tensor, query_embeddings: torch.Tensor, distance: str = "cosine"
) -> torch.Tensor:
    """Index of the nearest class prototype for each query (Snell et al., NeurIPS 2017).

    Args:
        support_embeddings: tensor of shape (n_way, n_shot, embedding_dim); the prototype of a class
            is the mean of its ``n_shot`` support embeddings (with ``n_shot = 1``, the support itself).
        query_embeddings: tensor of shape (n_query_total, embedding_dim).
        distance: ``"cosine"`` or ``"euclidean"``.

    Returns:
        Long tensor of shape (n_query_total,) with values in ``0 .. n_way - 1``.
    """
    prototypes = support_embeddings.mean(dim=1)
    return pairwise_distances(query_embeddings, prototypes, distance).argmin(dim=1)


def n_way_one_shot_accuracy(
    embeddings: torch.Tensor, labels: Any, support_draws: np.ndarray, distance: str = "cosine"
) -> tuple[float, float]:
    """N-way 1-shot accuracy over *all* classes present: one support per class, every other image a query.

    In each draw every query is assigned the class of its nearest support; the accuracy of a draw is the share of
    queries classified correctly.

    Args:
        embeddings: tensor of shape (n_images, embedding_dim), e.g. of the held-out images.
        labels: int array of shape (n_images,).
        support_draws: image indices of shape (n_draws, n_classes), one support image of each class per draw
            (:func:`utils.stages.episodes.one_shot_supports`).
        distance: ``"cosine"`` or ``"euclidean"``.

    Returns:
        ``(mean accuracy over draws, 95% confidence half-width over draws)``.
    """
    labels = _as_numpy(labels)
    accuracies = []
    for support_indices in support_draws:
        query_mask = np.ones(len(labels), dtype=bool)
        query_mask[support_indices] = False
        support_embeddings = embeddings[torch.as_tensor(support_indices)][:, None, :]
        predicted = nearest_prototype(support_embeddings, embeddings[torch.as_tensor(query_mask)], distance)
        accuracies.append(float(np.mean(labels[support_indices][predicted.numpy()] == labels[query_mask])))
    return mean_confidence_interval(accuracies)


def episode_accuracy(embeddings: torch.Tensor, episodes: Iterable, distance: str = "cosine") -> tuple[float, float]:
    """Mean N-way K-shot episode accuracy and its 95% confidence half-width (nearest prototype).

    Args:
        embeddings: tensor of shape (n_images, embedding_dim), e.g. of the held-out images.
        episodes: N-way K-shot tasks over those images, each with ``support_indices`` of shape (n_way, n_shot),
            ``query_indices`` of shape (n_way, n_query) (row i of both: the episode's class i) and
            ``query_labels`` of shape (n_way * n_query,) (:class:`utils.stages.episodes.EpisodeSampler`).
        distance: ``"cosine"`` or ``"euclidean"``.

    Returns:
        ``(mean accuracy, 95% half-width)``, both fractions in [0, 1].
    """
    accuracies = []
    for episode in episodes:
        support_embeddings = embeddings[torch.as_tensor(episode.support_indices)]
        query_embeddings = embeddings[torch.as_tensor(episode.query_indices.reshape(-1))]
        predicted = nearest_prototype(support_embeddings, query_embeddings, distance).numpy()
        accuracies.append(float(np.mean(predicted == episode.query_labels)))
    return mean_confidence_interval(accuracies)
