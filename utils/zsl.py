"""Zero-shot evaluation shared by the stages: the embedding set, ZSL T1/hit@k, the GZSL U/S/H row, and the choice of
the calibrated-stacking γ on pseudo-unseen classes.

Every zero-shot stage ends the same way (Xian et al., TPAMI 2018): scores of test images over classes, ZSL among the
unseen classes only, GZSL among all of them with calibrated stacking (Chao et al., ECCV 2016), whose γ is chosen on
a validation problem carved out of the seen classes, never on test images. DeViSE (notebook 02) scores an
:class:`EmbeddingSet` (cosines of image embeddings to label vectors, also what notebooks 03 and 04 analyse and
search); attribute ZSL (notebook 05) scores predicted attributes against class attribute vectors; both choose γ with
:func:`choose_calibration_gamma` and report :func:`gzsl_table_row`.

The formulas themselves — per-class mean top-1, hit@k, calibrated stacking, U/S/H, the seen–unseen curve, AUSUC,
the H-maximising γ among candidates — are plain maths on arrays in :mod:`utils.metrics`; this module is the
protocol built on them. The embeddings file is a NumPy ``.npz`` (``outputs/devise/<profile>/embeddings.npz``)
written and read by :class:`EmbeddingSet`::

    embeddings = EmbeddingSet.load(config.run_dir / "embeddings.npz")
    scores = embeddings.scores()                   # (n_images, n_classes) cosine similarities
    zsl = embeddings.subset(embeddings.split == "unseen_test")
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from utils.datasets.errors import require_file
from utils.errors import DatasetFormatError, library_message
from utils.metrics import gzsl_scores, select_gamma, zero_shot_chance, zsl_scores
from utils.word_vectors import l2_normalize

# ---------------------------------------------------------------------------------------------- embeddings

SPLITS = ("seen_valid", "seen_test", "unseen_test")
"""``split`` values: held-out images of seen classes that choose something (γ), seen test images that choose nothing
(``test_seen/``, GZSL's S) and images of unseen classes (``test/``)."""


@dataclass
class EmbeddingSet:
    """Per-image embeddings with everything needed to interpret them.

    Attributes:
        image_embeddings: float32 array of shape (n_images, embedding_dim), as the network outputs them
            (not normalised).
        image_paths: the image files, of shape (n_images,) (strings, relative to the repository root when
            they lie inside it).
        labels: class index of each image into ``class_names``, int64 of shape (n_images,).
        split: ``"seen_valid"``, ``"seen_test"`` or ``"unseen_test"`` per image (:data:`SPLITS`), of shape (n_images,).
        class_names: all class names, of shape (n_classes,), in the data set's order.
        class_word_vectors: label vectors, float32 of shape (n_classes, embedding_dim) (L2-normalised).
        seen_class_mask: bool of shape (n_classes,), True for the classes trained on.
    """

    image_embeddings: np.ndarray
    image_paths: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    class_names: np.ndarray
    class_word_vectors: np.ndarray
    seen_class_mask: np.ndarray

    def __post_init__(self) -> None:
        self.image_embeddings = np.asarray(self.image_embeddings, dtype=np.float32)
        self.image_paths = np.asarray(self.image_paths, dtype=str)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.split = np.asarray(self.split, dtype=str)
        self.class_names = np.asarray(self.class_names, dtype=str)
        self.class_word_vectors = np.asarray(self.class_word_vectors, dtype=np.float32)
        self.seen_class_mask = np.asarray(self.seen_class_mask, dtype=bool)
        n_images, n_classes = len(self.image_embeddings), len(self.class_names)
        if not (len(self.image_paths) == len(self.labels) == len(self.split) == n_images):
            raise ValueError("image_embeddings, image_paths, labels and split must have one row per image")
        if self.class_word_vectors.shape != (n_classes, self.image_embeddings.shape[1]):
            raise ValueError(
                f"class_word_vectors {self.class_word_vectors.shape} must be (n_classes={n_classes}, "
                f"embedding_dim={self.image_embeddings.shape[1]})"
            )
        if self.seen_class_mask.shape != (n_classes,):
            raise ValueError(f"seen_class_mask must have shape ({n_classes},)")

    @property
    def unseen_classes(self) -> np.ndarray:
        return np.flatnonzero(~self.seen_class_mask)

    @property
    def seen_classes(self) -> np.ndarray:
        return np.flatnonzero(self.seen_class_mask)

    def normalized_embeddings(self) -> np.ndarray:
        """Unit-length image embeddings, of shape (n_images, embedding_dim)."""
        return l2_normalize(self.image_embeddings)

    def scores(self) -> np.ndarray:
        """Cosine similarity of every image to every label vector, of shape (n_images, n_classes)."""
        return self.normalized_embeddings() @ l2_normalize(self.class_word_vectors).T

    def subset(self, keep: np.ndarray) -> EmbeddingSet:
        """The images selected by a boolean mask or index array, with the same classes."""
        return EmbeddingSet(
            self.image_embeddings[keep], self.image_paths[keep], self.labels[keep], self.split[keep],
            self.class_names, self.class_word_vectors, self.seen_class_mask,
        )

    def save(self, path: str | Path) -> Path:
        """Write an uncompressed ``.npz`` with one array per field."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{name: getattr(self, name) for name in self.__dataclass_fields__})
        return path

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingSet:
        """Read a file written by :meth:`save` (never unpickling anything).

        Raises:
            DatasetFormatError: one line naming the file, if it is missing, empty, truncated, not an
                ``.npz``, lacks a field, holds an object array, or its arrays do not fit together.
        """
        path = require_file(path, "embeddings file")
        size = path.stat().st_size
        if size == 0:
            raise DatasetFormatError(path, "empty file (0 bytes); rerun the notebook that saves the embeddings")
        try:
            arrays = np.load(path, allow_pickle=False)
            if not isinstance(arrays, np.lib.npyio.NpzFile):
                raise DatasetFormatError(path, "holds a single array, not the .npz of an EmbeddingSet")
            with arrays:
                missing = [name for name in cls.__dataclass_fields__ if name not in arrays.files]
                if missing:
                    raise DatasetFormatError(path, f"lacks the array(s) {', '.join(missing)}")
                fields = {name: arrays[name] for name in cls.__dataclass_fields__}
        except DatasetFormatError:
            raise
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, MemoryError) as error:
            raise DatasetFormatError(
                path, f"not a readable .npz of embeddings ({size} bytes; truncated or corrupt?): {library_message(error)}"
            ) from error
        try:
            return cls(**fields)
        except (ValueError, TypeError, IndexError) as error:
            raise DatasetFormatError(path, f"arrays do not fit together: {library_message(error)}") from error


# ---------------------------------------------------------------------------------------------- evaluation


def zero_shot_scores(embeddings: EmbeddingSet) -> dict[str, float]:
    """T1 (per-class mean top-1) and hit@5 of the unseen images among the unseen labels only."""
    unseen = embeddings.split == "unseen_test"
    unseen_classes = embeddings.unseen_classes
    scores = embeddings.subset(unseen).scores()[:, unseen_classes]
    return zsl_scores(scores, embeddings.labels[unseen], unseen_classes)


def evaluate_embeddings(embeddings: EmbeddingSet, gamma: float = 0.0) -> dict[str, float]:
    """ZSL (T1, hit@5 among the unseen labels) on the unseen images; GZSL U, S, H over all labels; chance of each.

    GZSL is reported twice: uncalibrated (γ = 0) and with the calibration ``gamma`` chosen on
    validation data (:func:`choose_calibration_gamma`). The chance figures (``chance T1``, ``chance hit@5``,
    ``chance U``, ...) are those of random scores (:func:`utils.metrics.zero_shot_chance`).
    """
    zsl = zero_shot_scores(embeddings)
    every_chance = zero_shot_chance(len(embeddings.seen_classes), len(embeddings.unseen_classes))
    chance = {name: every_chance[name] for name in ("T1", "hit@5", "U", "S", "H") if name in every_chance}
    return {
        "T1": zsl["top1"], "hit@5": zsl.get("hit_at_5", float("nan")),
        **gzsl_table_row(embeddings.scores(), embeddings.labels, embeddings.seen_class_mask, gamma),
        **{f"chance {name}": value for name, value in chance.items()},
    }


def gzsl_table_row(scores: Any, labels: Any, seen_class_mask: Any, gamma: float) -> dict[str, float]:
    """The GZSL figures of one model, as every notebook reports them: U, S, H uncalibrated (γ = 0), the γ chosen on
    validation data, and U, S, H with calibrated stacking at that γ (Chao et al., ECCV 2016;
    :func:`utils.metrics.gzsl_scores`).

    Args:
        scores: (n_images, n_classes) scores over every class, seen and unseen.
        labels: (n_images,) column of each image's class.
        seen_class_mask: (n_classes,) True for the columns of seen classes.
        gamma: the calibration chosen on validation data (:func:`choose_calibration_gamma`).

    Returns:
        ``{"U (γ=0)", "S (γ=0)", "H (γ=0)", "γ (validation)", "U", "S", "H"}`` → fractions (and γ).
    """
    raw = gzsl_scores(scores, labels, seen_class_mask, 0.0)
    calibrated = gzsl_scores(scores, labels, seen_class_mask, gamma)
    return {
        "U (γ=0)": raw["unseen_accuracy"], "S (γ=0)": raw["seen_accuracy"], "H (γ=0)": raw["harmonic_mean"],
        "γ (validation)": gamma,
        "U": calibrated["unseen_accuracy"], "S": calibrated["seen_accuracy"], "H": calibrated["harmonic_mean"],
    }


def gamma_grid(scores: np.ndarray, seen_class_mask: np.ndarray, n_gammas: int) -> np.ndarray:
    """Candidate γ: quantiles of the seen-minus-unseen margin of ``scores`` (validation data), and 0.

    Predictions only change where γ crosses an image's margin, so quantiles of the margins cover the
    whole trade-off with ``n_gammas`` values whatever the scale of the scores.
    """
    margin = scores[:, seen_class_mask].max(1) - scores[:, ~seen_class_mask].max(1)
    return np.unique(np.concatenate([[0.0], np.quantile(margin, np.linspace(0, 1, n_gammas))]))


def choose_calibration_gamma(
    validation_scores: np.ndarray, true_labels: np.ndarray, seen_class_mask: np.ndarray, n_gammas: int
) -> tuple[float, list[dict[str, float]]]:
    """The calibrated-stacking γ of highest H on validation data with pseudo-unseen classes (Chao et al., 2016).

    The caller carves some seen classes out as pseudo-unseen, trains on the other seen classes, and scores held-out
    images of both over all of them; ``seen_class_mask`` is True for the classes trained on. The γ found is then
    applied unchanged to the model trained on every seen class (:func:`gzsl_table_row`). Candidates:
    :func:`gamma_grid`; choice: :func:`utils.metrics.select_gamma`.

    Args:
        validation_scores: (n_images, n_classes) scores of the validation images over the validation classes.
        true_labels: (n_images,) column of each image's class.
        seen_class_mask: (n_classes,) True for the classes trained on, False for the pseudo-unseen ones.
        n_gammas: how many margin quantiles to try (besides 0).

    Returns:
        ``(gamma, table)``: the best γ and one row per candidate (``gamma``, ``unseen_accuracy``,
        ``seen_accuracy``, ``harmonic_mean``).
    """
    return select_gamma(validation_scores, true_labels, seen_class_mask,
                        gamma_grid(validation_scores, seen_class_mask, n_gammas))
