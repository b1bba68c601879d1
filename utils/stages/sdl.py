"""Training, evaluation and inference glue for multi-label zero-shot learning with SDL (notebook 07).

Semantic Diversity Learning: A. Ben-Cohen, N. Zamir, E. Ben-Baruch, I. Friedman, L. Zelnik-Manor,
"Semantic Diversity Learning for Zero-Shot Multi-label Classification", ICCV 2021, arXiv 2105.05926.
The model (``models.sdl_head``) maps an image to a (d, M) matrix; a label scores the best dot product of
its word vector with a column; the loss is ``models.losses.SemanticDiversityLoss``.

Protocol:

* **Training** sees seen labels only: the targets and the label vectors passed to the loss are the seen
  columns, so an unseen label is neither a positive nor a negative; a training image left without a
  seen label is dropped. (In the sample world no training scene shows an unseen animal; on NUS-WIDE
  the 81 unseen tags are removed from the training targets, as in the seed.)
* **ZSL**: the test images with at least one unseen label, ranking only the unseen labels.
* **GZSL**: all test images, ranking all labels.
* Figures: label-wise mAP and micro precision / recall / F1 at top-3 and top-5 (``utils.metrics``), each beside
  its value under random scores (``utils.metrics.multilabel_chance``).
* Every model trains a fixed number of epochs and the last epoch is evaluated: no test figure chooses anything.
  SDL's released training script (``train.py`` of github.com/Alibaba-MIIL/ZS_SDL, written for COCO) instead
  evaluates after every epoch on the images it reports on, keeps the checkpoint of the highest GZSL F1@3 and prints
  the highest ZSL and GZSL F1@3 over the epochs: best-epoch figures chosen on the evaluation set.

Data: the sample world's ``data_samples/scenes`` (``utils.datasets.scenes``; 40 seen / 10 unseen AwA2
animals, GloVe label vectors in the SDL format). In ``full``, NUS-WIDE (Chua et al., CIVR 2009)::

    $ZSL_DATA_DIR/nus_wide/
        images/...             the NUS-WIDE Flickr images you downloaded (any sub-folders)
        labels.csv             "image,labels,split": the image path relative to images/, its tags
                               among the 1006 separated by single spaces, and "train" or "test"
                               (NUS-WIDE's own train/test lists; drop images without any tag)
    $ZSL_DATA_DIR/ZS_SDL/data/NUS_WIDE/
        wordvec_array.pickle, classes.pickle, unseen_classes.pickle
                               from github.com/Alibaba-MIIL/ZS_SDL (data/NUS_WIDE): the 1006 label
                               names, their 300-d vectors and the 81 unseen labels

Checkpoints go to ``outputs/sdl/<run label>/<run>/model.pt`` with ``model.json`` (the settings that shape it,
their fingerprint and the resolved config: :mod:`utils.training.checkpoints`) and ``train_log.csv`` beside them; a
checkpoint is reused while those settings are unchanged, and holds the weights and everything inference needs (backbone name, image
size, label names, label vectors, unseen labels), so that::

    python -m utils.stages.sdl train [--profile sample]
    python -m utils.stages.sdl predict IMAGE [IMAGE ...] [--checkpoint PATH] [--top-k 5]

train (or load) the main model and print its figures, and print each image's top-k tags with unseen
tags marked ``*tag*``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.attribute_head import create_attribute_backbone
from models.losses import build_loss
from models.sdl_head import SdlHead, SdlModel, label_scores, principal_vector_scores
from utils.cli import ArgumentParser, CliError, cli_entry, positive_int
from utils.config import SdlConfig
from utils.datasets.nuswide import load_label_vectors
from utils.datasets.scenes import CLASSES_FILE, LABELS_FILE, load_scenes, read_labels_csv
from utils.errors import DatasetFormatError, MissingDataError, library_message
from utils.metrics import (
    expected_average_precision,
    label_wise_average_precisions,
    multilabel_chance,
    multilabel_scores,
)
from utils.runtime import seed_everything
from utils.training.checkpoints import (
    CheckpointError,
    Decision,
    apply_state,
    arrays_sha256,
    checkpoint_entry,
    fit_or_load,
    load_weights,
)
from utils.training.image_cache import image_cache_for
from utils.training.images import ImageBatches, ImageFiles, read_image, to_network_input
from utils.training.loop import LossLog, predict_outputs, train_model

NUSWIDE_HELP = (
    "NUS-WIDE for notebook 07 needs {images} (the Flickr images from "
    "https://lms.comp.nus.edu.sg/wp-content/uploads/2019/research/nuswide/NUS-WIDE.html) with "
    "{labels} ('image,labels,split' rows; see utils/stages/sdl.py), and the label vectors "
    "wordvec_array.pickle, classes.pickle, unseen_classes.pickle in {vectors} "
    "(from https://github.com/Alibaba-MIIL/ZS_SDL, data/NUS_WIDE)."
)


# ---------------------------------------------------------------------------------------------- data


@dataclass
class MultilabelProblem:
    """Images, their multi-hot labels, the label vectors and the train/test split of a multi-label ZSL task.

    Attributes:
        image_paths: every image, of length n_images.
        label_matrix: uint8 multi-hot of shape (n_images, n_labels).
        label_names: of length n_labels.
        label_word_vectors: float32 of shape (n_labels, d).
        seen_mask: bool of shape (n_labels,), True for labels trained on.
        train_indices: images trained on (each with at least one seen label).
        test_indices: images evaluated on.
    """

    image_paths: list[Path]
    label_matrix: np.ndarray
    label_names: list[str]
    label_word_vectors: np.ndarray
    seen_mask: np.ndarray
    train_indices: np.ndarray
    test_indices: np.ndarray

    @property
    def unseen_mask(self) -> np.ndarray:
        return ~self.seen_mask

    @property
    def unseen_labels(self) -> list[str]:
        return [name for name, unseen in zip(self.label_names, self.unseen_mask, strict=True) if unseen]

    @property
    def zsl_test_indices(self) -> np.ndarray:
        """Test images with at least one unseen label (the ZSL test set)."""
        return self.test_indices[self.label_matrix[self.test_indices][:, self.unseen_mask].any(axis=1)]


def _nuswide_dataset(folder: Path, label_vectors_dir: Path):
    """A scenes-like view of a NUS-WIDE folder whose labels come from an SDL label-vector folder."""
    images, labels = folder / "images", folder / LABELS_FILE
    if not images.is_dir() or not labels.is_file() or not label_vectors_dir.is_dir():
        missing = next((path for path in (images, labels, label_vectors_dir) if not path.exists()), folder)
        raise MissingDataError(missing, "nus_wide", "NUS-WIDE",
                               how=NUSWIDE_HELP.format(images=images, labels=labels, vectors=label_vectors_dir))
    vectors = load_label_vectors(label_vectors_dir)
    image_names, label_matrix, image_splits = read_labels_csv(labels, vectors.label_names)
    if image_splits is None:
        raise DatasetFormatError(labels, "needs a third column 'split' (train or test)")
    paths = [images / name for name in image_names]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise DatasetFormatError(labels, f"{len(missing)} listed images are missing, e.g. {missing[0]}")
    return paths, label_matrix, vectors.label_names, vectors.label_vectors, ~vectors.unseen_mask, np.array(image_splits)


def _first(indices: np.ndarray, cap: int | None) -> np.ndarray:
    return indices if cap is None else indices[:cap]


def load_problem(config: SdlConfig) -> MultilabelProblem:
    """The multi-label task of ``config`` (an :class:`utils.config.SdlConfig`).

    A folder with ``classes.txt`` is read as scenes (``utils.datasets.scenes``); otherwise as the NUS-WIDE
    layout of this module's docstring.

    Raises:
        MissingDataError: naming the missing NUS-WIDE files and where to download them.
        DatasetFormatError: for malformed files, or scenes without label vectors.
    """
    folder = Path(config.scenes_dir)
    if (folder / CLASSES_FILE).is_file():
        scenes = load_scenes(folder)
        vectors = scenes.label_vectors
        if config.label_vectors_dir is not None:
            vectors = load_label_vectors(config.label_vectors_dir)
            if vectors.label_names != scenes.label_names:
                raise DatasetFormatError(Path(config.label_vectors_dir), f"label names differ from {folder / CLASSES_FILE}")
        if vectors is None:
            raise DatasetFormatError(folder / "label_vectors", "not found: SDL needs the labels' word vectors")
        paths, label_matrix, names = scenes.image_paths, scenes.label_matrix, scenes.label_names
        word_vectors, seen_mask = vectors.label_vectors, scenes.seen_mask
        splits = np.array(scenes.image_splits) if scenes.image_splits is not None else None
        if splits is None:
            raise DatasetFormatError(folder / LABELS_FILE, "needs a 'split' column (train or test)")
    else:
        label_vectors_dir = Path(config.label_vectors_dir or folder / "label_vectors")
        paths, label_matrix, names, word_vectors, seen_mask, splits = _nuswide_dataset(folder, label_vectors_dir)
    has_seen = label_matrix[:, seen_mask].any(axis=1)
    train = np.flatnonzero((splits == "train") & has_seen)
    test = np.flatnonzero(splits == "test")
    return MultilabelProblem(
        image_paths=list(paths),
        label_matrix=label_matrix,
        label_names=list(names),
        label_word_vectors=np.asarray(word_vectors, dtype=np.float32),
        seen_mask=np.asarray(seen_mask, dtype=bool),
        train_indices=_first(train, config.max_train_images),
        test_indices=_first(test, config.max_test_images),
    )


# ---------------------------------------------------------------------------------------------- model


def build_model(backbone: str, embedding_dim: int, n_principal_vectors: int, pretrained: bool = False) -> SdlModel:
    """A backbone (``models.attribute_head.create_attribute_backbone``) with an SDL head."""
    body, width = create_attribute_backbone(backbone, pretrained=pretrained)
    return SdlModel(body, SdlHead(width, embedding_dim, n_principal_vectors))


def run_name(n_principal_vectors: int, use_diversity_weight: bool) -> str:
    """Folder name of one variant, e.g. ``M7_weighted`` or ``M1_unweighted``."""
    return f"M{n_principal_vectors}_{'weighted' if use_diversity_weight else 'unweighted'}"


def checkpoint_bundle(model: SdlModel, problem: MultilabelProblem, config: SdlConfig) -> dict[str, Any]:
    """What an SDL checkpoint holds: the weights plus everything :func:`load_checkpoint` needs to predict tags without
    the data set. Only tensors and plain values (str, int, lists of str), so that the file loads with
    ``weights_only=True``."""
    return {
        "state_dict": model.state_dict(),
        "backbone": str(config.backbone),
        "image_size": int(config.image_size),
        "n_principal_vectors": int(model.head.n_principal_vectors),
        "label_names": [str(name) for name in problem.label_names],
        "label_word_vectors": torch.from_numpy(np.ascontiguousarray(problem.label_word_vectors, dtype=np.float32)),
        "unseen_labels": [str(name) for name in problem.unseen_labels],
    }


def load_checkpoint(path: str | Path) -> tuple[SdlModel, dict[str, Any]]:
    """The model and metadata of a checkpoint (:func:`checkpoint_bundle`), read with ``weights_only=True``: the model
    the checkpoint describes (``python -m utils.stages.sdl predict`` has no config; training loads into the model
    the config builds instead, :func:`trained_sdl_model`).

    Raises:
        FileNotFoundError: naming the checkpoint and how to create one.
        CheckpointError: naming the checkpoint, if it is unreadable, lacks an entry, names a backbone this
            library cannot build or holds weights that do not fit the model it describes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no SDL checkpoint at {path}; train one with `python -m utils.stages.sdl train` (or run notebook 07)"
        )
    bundle = load_weights(path)
    vectors = checkpoint_entry(bundle, "label_word_vectors", path)
    backbone = checkpoint_entry(bundle, "backbone", path)
    n_principal_vectors = checkpoint_entry(bundle, "n_principal_vectors", path)
    if not (hasattr(vectors, "shape") and len(vectors.shape) == 2) or not _is_count(n_principal_vectors):
        raise CheckpointError(path, "is not an SDL checkpoint (label_word_vectors or n_principal_vectors malformed)")
    try:
        model = build_model(backbone, vectors.shape[1], n_principal_vectors)
    except (KeyError, ValueError) as error:
        raise CheckpointError(path, f"names a model this library cannot build ({library_message(error)})") from None
    apply_state(model, checkpoint_entry(bundle, "state_dict", path), path)
    return model.eval(), bundle


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def problem_sha256(problem: MultilabelProblem) -> str:
    """SHA-256 of what training reads besides the image files: the training targets, label vectors and names."""
    train_targets = problem.label_matrix[problem.train_indices][:, problem.seen_mask]
    return arrays_sha256(train_targets, problem.label_word_vectors, problem.seen_mask, np.array(problem.label_names))


def read_history(folder: Path) -> list[dict[str, float]]:
    """The ``train_log.csv`` rows of a run folder (``[]`` if none)."""
    path = Path(folder) / "train_log.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def trained_sdl_model(
    problem: MultilabelProblem,
    config: SdlConfig,
    n_principal_vectors: int | None = None,
    use_diversity_weight: bool | None = None,
    device: torch.device | str = "cpu",
) -> tuple[SdlModel, list[dict[str, float]], Decision]:
    """The SDL model of one variant: its checkpoint in ``config.run_dir`` loaded while the settings that shape it are
    unchanged, else trained now (:func:`utils.training.checkpoints.fit_or_load`).

    The shaping settings are the fields declared to shape the ``sdl`` run, the variant (``M`` and the diversity
    weight) and :func:`problem_sha256` (the training targets and label vectors); ``max_test_images``, ``top_k`` and
    ``gallery_size`` only change what is evaluated or shown. The decision is printed; ``config.retrain`` forces
    training. The model is the one the config builds, seeded from ``config.seed``: a checkpoint of another
    architecture is refused in one line naming it. ``model.json`` (fingerprint, settings, resolved config) is
    written after ``model.pt`` is complete, and ``train_log.csv`` is rewritten by every training.

    Args:
        problem: the data.
        config: an :class:`utils.config.SdlConfig`.
        n_principal_vectors, use_diversity_weight: the variant (default: the config's main model).
        device: where to train.

    Returns:
        ``(model on the CPU in eval mode, training history (the recorded one when loaded), decision)``.
    """
    n_principal_vectors = config.n_principal_vectors if n_principal_vectors is None else n_principal_vectors
    use_diversity_weight = config.use_diversity_weight if use_diversity_weight is None else use_diversity_weight
    name = run_name(n_principal_vectors, use_diversity_weight)
    folder = Path(config.run_dir) / name
    seed_everything(config.seed)
    model = build_model(config.backbone, problem.label_word_vectors.shape[1], n_principal_vectors, config.pretrained)
    history: list[dict[str, float]] = []

    def train() -> None:
        nonlocal history
        seen = problem.seen_mask
        dataset = ImageFiles(
            [problem.image_paths[i] for i in problem.train_indices],
            problem.label_matrix[problem.train_indices][:, seen].astype(np.float32),
            config.image_size,
            image_cache=image_cache_for(config),
        )
        loss = build_loss(
            family="multilabel", name="sdl", label_word_vectors=torch.from_numpy(problem.label_word_vectors[seen]),
            regularization_weight=config.regularization_weight, use_diversity_weight=use_diversity_weight,
        )
        history = train_model(
            model, ImageBatches(dataset, config.batch_size, shuffle=True, seed=config.seed, device=device), loss,
            config.epochs, config.learning_rate, config.weight_decay, schedule=config.schedule, device=device,
            log=LossLog(("rank", "weight"), verbose=config.verbose), log_path=folder / "train_log.csv",
            threads=config.cpu_threads, mixed_precision=config.mixed_precision,
        )

    inputs = {"n_principal_vectors": int(n_principal_vectors), "use_diversity_weight": bool(use_diversity_weight),
              "problem_sha256": problem_sha256(problem)}
    decision = fit_or_load(model, folder / "model.pt", config, "sdl", train, inputs=inputs, name=name,
                           saved_state=lambda: checkpoint_bundle(model, problem, config), state_key="state_dict")
    if not decision.trained:
        history = read_history(folder)
    return model.cpu().eval(), history, decision


# ---------------------------------------------------------------------------------------------- evaluation


@torch.no_grad()
def embedding_matrices(
    model: nn.Module, image_paths: Sequence[Path], image_size: int, device: torch.device | str = "cpu", batch_size: int = 128,
    image_cache: Any = None,
) -> torch.Tensor:
    """The model's embedding matrices of the images, of shape (n_images, d, M), on the CPU.

    ``image_cache``: read the images through this :class:`utils.training.image_cache.ImageCache` (e.g.
    ``image_cache_for(config)``; ``None``: the sources).
    """
    dataset = ImageFiles(list(image_paths), np.zeros(len(image_paths)), image_size, image_cache=image_cache)
    outputs = predict_outputs(model, dataset, batch_size, device)
    model.cpu()
    return outputs


SCORE_CHUNK = 4096
"""Images scored at a time: NUS-WIDE's (n_images, 1006 labels, M) per-column scores would need gigabytes at once."""


def chunked_label_scores(matrices: torch.Tensor, label_word_vectors: np.ndarray) -> np.ndarray:
    """:func:`models.sdl_head.label_scores` of many images, in chunks, as a NumPy array (n_images, n_labels)."""
    vectors = torch.from_numpy(np.asarray(label_word_vectors, dtype=np.float32))
    return torch.cat([label_scores(chunk, vectors) for chunk in matrices.split(SCORE_CHUNK)]).numpy()


def evaluate(problem: MultilabelProblem, test_matrices: torch.Tensor, ks: Sequence[int] = (3, 5)) -> dict[str, dict[str, float]]:
    """ZSL and GZSL figures of the test images' embedding matrices, each beside what random scores would get.

    Args:
        problem: the data.
        test_matrices: of shape (len(problem.test_indices), d, M), in ``test_indices`` order.
        ks: the top-k of precision / recall / F1.

    Returns:
        ``{"ZSL": {...}, "ZSL chance": {...}, "GZSL": {...}, "GZSL chance": {...}}``: ``utils.metrics.multilabel_scores``
        of the model and ``utils.metrics.multilabel_chance`` of the same targets.
    """
    scores = chunked_label_scores(test_matrices, problem.label_word_vectors)
    targets = problem.label_matrix[problem.test_indices]
    zsl_scores, zsl_targets = _zsl_part(problem, scores, targets)
    return {
        "ZSL": multilabel_scores(zsl_scores, zsl_targets, ks), "ZSL chance": multilabel_chance(zsl_targets, ks),
        "GZSL": multilabel_scores(scores, targets, ks), "GZSL chance": multilabel_chance(targets, ks),
    }


def _zsl_part(problem: MultilabelProblem, scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ZSL's share of GZSL scores and targets: the test scenes with an unseen label, the unseen labels' columns."""
    has_unseen = targets[:, problem.unseen_mask].any(axis=1)
    return scores[has_unseen][:, problem.unseen_mask], targets[has_unseen][:, problem.unseen_mask]


def unseen_label_average_precisions(problem: MultilabelProblem, test_matrices: torch.Tensor) -> np.ndarray:
    """Each unseen label's ZSL average precision: the items of a paired comparison whose mean is the ZSL mAP.

    Args:
        problem: the data.
        test_matrices: of shape (len(problem.test_indices), d, M), in ``test_indices`` order.

    Returns:
        float array of shape (n_labels,) over the unseen labels with a positive ZSL test scene (those the ZSL mAP
        averages), in ``problem.unseen_labels`` order.
    """
    scores = chunked_label_scores(test_matrices, problem.label_word_vectors)
    precisions = label_wise_average_precisions(*_zsl_part(problem, scores, problem.label_matrix[problem.test_indices]))
    return precisions[~np.isnan(precisions)]


def gzsl_map_by_label_group(problem: MultilabelProblem, test_matrices: torch.Tensor) -> dict[str, dict[str, float]]:
    """GZSL mAP over the unseen labels, over the seen labels and over all labels, each beside its chance.

    A label's average precision ranks the test scenes by that label's score alone, so the other labels' scores
    cannot change it: an unseen label has the same AP in ZSL and GZSL whenever both rank the same scenes, and the
    GZSL mAP is the label-weighted mean of the two groups' mAPs.

    Args:
        problem: the data.
        test_matrices: of shape (len(problem.test_indices), d, M), in ``test_indices`` order.

    Returns:
        ``{"unseen labels" | "seen labels" | "all labels": {"labels", "mAP", "chance mAP"}}``, over the labels
        with a positive test scene.
    """
    scores = chunked_label_scores(test_matrices, problem.label_word_vectors)
    targets = problem.label_matrix[problem.test_indices]
    precisions = label_wise_average_precisions(scores, targets)
    positives = (targets == 1).sum(axis=0)
    groups = {"unseen labels": problem.unseen_mask, "seen labels": problem.seen_mask,
              "all labels": np.ones(len(problem.label_names), dtype=bool)}
    rows = {}
    for name, mask in groups.items():
        present = mask & (positives > 0)
        rows[name] = {"labels": int(present.sum()), "mAP": float(precisions[present].mean()),
                      "chance mAP": float(np.mean([expected_average_precision(len(targets), int(p))
                                                   for p in positives[present]]))}
    return rows


def compare_variants(
    problem: MultilabelProblem, config: SdlConfig, device: torch.device | str = "cpu"
) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """Fit (or load) every M of ``config.comparison_principal_vectors`` with and without the diversity weight.

    Returns:
        ``(rows, test matrices by run name)``: one row per variant with ZSL and GZSL mAP, F1@k and the
        training seconds (``None`` when loaded).
    """
    rows, matrices = [], {}
    test_paths = [problem.image_paths[i] for i in problem.test_indices]
    for n_principal_vectors in config.comparison_principal_vectors:
        for use_weight in (False, True):
            start = time.perf_counter()
            model, _, decision = trained_sdl_model(problem, config, n_principal_vectors, use_weight, device)
            seconds = round(time.perf_counter() - start, 1) if decision.trained else None
            name = run_name(n_principal_vectors, use_weight)
            matrices[name] = embedding_matrices(model, test_paths, config.image_size, device,
                                                image_cache=image_cache_for(config))
            figures = evaluate(problem, matrices[name], config.top_k)
            row: dict[str, Any] = {"M": n_principal_vectors, "diversity weight": use_weight}
            for setting in ("ZSL", "GZSL"):
                row[f"{setting} mAP"] = figures[setting]["mAP"]
                row.update({f"{setting} F1@{k}": figures[setting][f"F1@{k}"] for k in config.top_k})
            row["train s"] = seconds
            rows.append(row)
    return rows, matrices


# ---------------------------------------------------------------------------------------------- tags


def mark_tag(name: str, unseen: bool) -> str:
    """``*name*`` for an unseen label, ``name`` otherwise (the seed's demo marks unseen tags so)."""
    return f"*{name}*" if unseen else name


def top_tags(scores: np.ndarray, label_names: Sequence[str], unseen_labels: Sequence[str], k: int = 5) -> list[list[str]]:
    """Each image's ``k`` best labels, best first, unseen ones marked ``*tag*``.

    Args:
        scores: of shape (n_images, n_labels).
        label_names: of length n_labels.
        unseen_labels: the names to mark.
        k: tags per image.
    """
    unseen = set(unseen_labels)
    order = np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :k]
    return [[mark_tag(label_names[j], label_names[j] in unseen) for j in row] for row in order]


def diversity_examples(label_names: Sequence[str], label_word_vectors: np.ndarray) -> dict[str, list[str]]:
    """Three label sets of this task that show SDL's diversity weight: its two most similar labels (cosine of
    their word vectors), its two least similar, and one label alone.

    With unit vectors the weight of a pair is ``1 + (1 - cos)``: the far pair weighs most, a single label 1.

    Args:
        label_names: the task's labels, of length n_labels.
        label_word_vectors: of shape (n_labels, d).

    Returns:
        ``{description: label names}`` in that order.
    """
    vectors = np.asarray(label_word_vectors, dtype=np.float64)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, np.nan)
    closest = np.unravel_index(np.nanargmax(similarity), similarity.shape)
    farthest = np.unravel_index(np.nanargmin(similarity), similarity.shape)
    close_pair, far_pair = ([label_names[i] for i in pair] for pair in (closest, farthest))
    return {
        f"{', '.join(close_pair)} (most similar)": close_pair,
        f"{', '.join(far_pair)} (least similar)": far_pair,
        f"{close_pair[0]} (one label)": [close_pair[0]],
    }


def principal_vector_top_labels(
    matrices: torch.Tensor, label_word_vectors: np.ndarray, label_names: Sequence[str], unseen_labels: Sequence[str], k: int = 3
) -> list[dict[str, Any]]:
    """Which labels each principal vector scores highest, averaged over images.

    Returns:
        One row per column ``m``: its ``k`` best labels by mean score over the images, and the share
        of (image, label) scores for which column ``m`` is the maximum (how often it "wins").
    """
    vectors = torch.from_numpy(np.asarray(label_word_vectors, dtype=np.float32))
    n_columns = matrices.shape[-1]
    score_sums, win_counts = torch.zeros(len(label_names), n_columns), torch.zeros(n_columns)
    for chunk in matrices.split(SCORE_CHUNK):
        per_column = principal_vector_scores(chunk, vectors)  # (chunk, n_labels, M)
        score_sums += per_column.sum(dim=0)
        win_counts += torch.bincount(per_column.argmax(dim=-1).flatten(), minlength=n_columns)
    mean_scores = (score_sums / matrices.shape[0]).numpy()  # (n_labels, M)
    wins = (win_counts / win_counts.sum()).numpy()
    rows = []
    for column in range(n_columns):
        best = top_tags(mean_scores[:, column][None, :], label_names, unseen_labels, k)[0]
        rows.append({"principal vector": column, "top labels": ", ".join(best), "wins": float(wins[column])})
    return rows


@torch.no_grad()
def predict_tags(image_paths: Sequence[str | Path], checkpoint: str | Path, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """Top-k ``(tag, score)`` of each image with the model of ``checkpoint``, unseen tags marked ``*tag*``.

    Raises:
        FileNotFoundError: naming a missing checkpoint or image.
    """
    for path in image_paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no image at {path}")
    model, bundle = load_checkpoint(checkpoint)
    names, unseen = bundle["label_names"], set(bundle["unseen_labels"])
    images = torch.from_numpy(np.stack([read_image(path, bundle["image_size"]) for path in image_paths]))
    scores = label_scores(model(to_network_input(images, "cpu")), bundle["label_word_vectors"]).numpy()
    results = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:top_k]
        results.append([(mark_tag(names[j], names[j] in unseen), float(row[j])) for j in order])
    return results


# ---------------------------------------------------------------------------------------------- CLI


def default_checkpoint(profile: str | None = None) -> Path:
    """The main model's checkpoint of ``profile`` (default ``$ZSL_PROFILE``)."""

    config = SdlConfig.for_profile(profile)
    return Path(config.run_dir) / run_name(config.n_principal_vectors, config.use_diversity_weight) / "model.pt"


@cli_entry("python -m utils.stages.sdl")
def main(argv: Sequence[str] | None = None) -> int:
    """``train``: fit (or load) the main model and print ZSL/GZSL figures; ``predict``: tag images.

    Errors (a bad option, setting or checkpoint, a missing, empty or undecodable image, missing data) are one
    line on stderr, exit 2 (:mod:`utils.cli`; ``--debug`` shows the traceback).
    """
    parser = ArgumentParser(prog="python -m utils.stages.sdl", description="Multi-label zero-shot tagging with SDL")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="fit (or load) the main model of a profile and print its figures")
    train.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    predict = commands.add_parser("predict", help="print each image's top-k tags; unseen tags as *tag*")
    predict.add_argument("images", nargs="+", type=Path)
    predict.add_argument("--checkpoint", type=Path, default=None, help="default: the profile's main model")
    predict.add_argument("--profile", default=None, help="picks the default checkpoint")
    predict.add_argument("--top-k", type=positive_int, default=5, help="tags per image, at least 1 (default 5)")
    args = parser.parse_args(argv)

    if args.command == "predict":
        checkpoint = args.checkpoint or default_checkpoint(args.profile)
        for path in args.images:
            _check_image(path)
        load_checkpoint(checkpoint)  # a missing or unreadable checkpoint: one line naming it
        try:
            results = predict_tags(args.images, checkpoint, args.top_k)
        except (RuntimeError, KeyError) as error:
            raise CliError(f"{checkpoint}: not a usable SDL checkpoint ({type(error).__name__}: {error})") from error
        for path, tags in zip(args.images, results, strict=True):
            print(f"{path}: " + "  ".join(f"{tag} ({score:.2f})" for tag, score in tags))
        return 0

    from utils.runtime import choose_device, seed_everything

    config = SdlConfig.for_profile(args.profile)
    seed_everything(config.seed)
    device = choose_device(config.device)
    problem = load_problem(config)
    start = time.perf_counter()
    model, _, _ = trained_sdl_model(problem, config, device=device)
    matrices = embedding_matrices(model, [problem.image_paths[i] for i in problem.test_indices], config.image_size, device,
                                  image_cache=image_cache_for(config))
    for setting, figures in evaluate(problem, matrices, config.top_k).items():
        print(f"{setting}: " + "  ".join(f"{key} {value:.3f}" for key, value in figures.items()))
    print(f"wall time {time.perf_counter() - start:.1f} s; checkpoint {default_checkpoint(config.profile)}")
    return 0


def _check_image(path: Path) -> None:
    """Raise :class:`~utils.cli.CliError` naming ``path`` unless it is a decodable image file."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise CliError(f"no image at {path}" if not path.exists() else f"{path}: not a file")
    if path.stat().st_size == 0:
        raise CliError(f"{path}: the image file is empty (0 bytes)")
    try:
        with Image.open(path) as image:
            image.load()
    except UnidentifiedImageError:
        raise CliError(f"{path}: not an image PIL can decode") from None
    except Image.DecompressionBombError as error:
        raise CliError(f"{path}: refused as a decompression bomb ({error})") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CliError(f"{path}: the image cannot be decoded ({type(error).__name__}: {error})") from None


if __name__ == "__main__":
    raise SystemExit(main())
