"""Training and evaluation glue for attribute-based zero-shot learning (notebook 05).

Two input modes share everything after the features:

* **images** — a backbone and an attribute head trained end to end on an AwA2-format folder
  (attribute probabilities with sigmoid + BCE, the input of Lampert et al.'s direct attribute prediction, TPAMI 2014);
* **features** — a regressor trained on the features of an xlsa17 ``res101.mat`` + ``att_splits.mat``
  pair (Xian et al., TPAMI 2018), where the losses of ReZSL (Ye et al., "Rebalanced Zero-shot
  Learning", IEEE TIP 2023, arXiv 2210.07031) are compared.

Evaluation follows Xian et al.: ZSL per-class mean top-1 among unseen classes; GZSL U, S, H among
all classes with calibrated stacking (Chao et al., ECCV 2016) whose γ is chosen on a validation
split carved out of the seen classes, never on test data (the shared :mod:`utils.zsl`, as DeViSE's);
AUSUC over the γ sweep. The rule that turns predicted attributes into class scores (a distance, or DAP for
probabilities: :data:`models.attribute_head.ATTRIBUTE_RULES`) is chosen on the same validation classes
(:func:`choose_rule`).

``python -m utils.stages.attribute_zsl --profile full --dataset CUB`` runs the feature-mode loss comparison
on real xlsa17 files and prints the table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from models.attribute_head import AttributeHead, AttributeRegressor, attribute_class_scores, attribute_priors
from models.losses import REZSL_HYPERPARAMETERS, build_loss
from utils.cli import ArgumentParser, cli_entry
from utils.config import AttributeZslConfig
from utils.metrics import ausuc, per_class_accuracies, seen_unseen_curve, zsl_scores
from utils.runtime import (
    seed_everything,
)
from utils.splits.classes import choose_pseudo_unseen, hold_out_per_class, xlsa17_validation_classes
from utils.training.checkpoints import Decision, arrays_sha256, fit_or_load
from utils.training.distributed import main_process_result
from utils.training.images import ImageBatches, ImageFiles
from utils.training.loop import LossLog, predict_outputs, train_model
from utils.zsl import choose_calibration_gamma, gzsl_table_row

# ---------------------------------------------------------------------------------------------- training


def train_attribute_network(
    network: nn.Module, train_images: ImageFiles, seen_binary_attributes: torch.Tensor, config: AttributeZslConfig,
    device: torch.device | str = "cpu", log_path: Path | None = None,
) -> list[dict[str, float]]:
    """The attribute network's end-to-end training (Lampert et al., TPAMI 2014: sigmoid + BCE on the binary
    attributes) with the config's ``image_*`` settings, ``weight_decay``, ``seed`` and ``mixed_precision``.

    Args:
        network: :func:`build_attribute_network`'s backbone + attribute head, images (batch, 3, H, W) →
            (batch, n_attributes).
        train_images: the trainval images, labels indexing the rows of ``seen_binary_attributes``.
        seen_binary_attributes: (n_seen_classes, n_attributes) 0/1 targets.
        config: notebook 05's config.
        device: where to train.
        log_path: a CSV of the epochs (written if given).

    Returns:
        One ``{"epoch", "loss", "seconds"}`` row per epoch.
    """
    seed_everything(config.seed)  # batch order, flips and dropout the same whatever ran before
    loss = build_loss(family="attribute", name="bce", class_attribute_vectors=seen_binary_attributes)
    return train_model(
        network, ImageBatches(train_images, config.image_batch_size, shuffle=True, seed=config.seed, device=device),
        loss, config.image_epochs, config.image_learning_rate, config.weight_decay,
        schedule=config.image_schedule, device=device, log_path=log_path,
        mixed_precision=config.mixed_precision,
    )


def build_attribute_network(config: AttributeZslConfig, n_attributes: int) -> nn.Module:
    """The untrained attribute network (``config.backbone`` + :class:`AttributeHead`), weights drawn from ``config.seed``.

    Seeding here, not wherever a notebook happens to stand, makes the initial weights the same whatever
    ran before in the process.
    """
    from models.attribute_head import AttributeNetwork, create_attribute_backbone

    seed_everything(config.seed)
    backbone, width = create_attribute_backbone(config.backbone, pretrained=config.pretrained)
    return AttributeNetwork(backbone, AttributeHead(width, n_attributes))


class AttributeImages(NamedTuple):
    """The AwA2-format images notebook 05 works on: the first ``config.images_per_class`` of every class, split
    as xlsa17 splits (:func:`utils.splits.split_images`).

    Attributes:
        awa2: the :class:`utils.datasets.Awa2Dataset` (class names, attribute matrices).
        image_paths: the kept images.
        labels: (n_images,) their class indices.
        splits: split name → 0-based indices into ``image_paths``.
    """

    awa2: Any
    image_paths: list[Path]
    labels: np.ndarray
    splits: dict[str, np.ndarray]


def load_attribute_images(config: AttributeZslConfig) -> AttributeImages:
    """The images of ``config.awa2_dir`` that the attribute network trains and is tested on, split with
    ``config.test_seen_fraction``, ``config.n_validation_classes`` and ``config.seed``."""
    from utils.datasets import image_index, load_awa2
    from utils.splits import first_per_class, split_images

    awa2 = load_awa2(config.awa2_dir)
    all_paths, all_labels = image_index(awa2)
    kept = first_per_class(all_labels, config.images_per_class)
    image_paths, labels = [all_paths[i] for i in kept], all_labels[kept]
    splits = split_images(labels, awa2.seen_class_indices, awa2.unseen_class_indices,
                          config.test_seen_fraction, config.n_validation_classes, config.seed)
    return AttributeImages(awa2, image_paths, labels, splits)


def fit_attribute_network(
    network: nn.Module, images: AttributeImages, config: AttributeZslConfig, device: torch.device | str = "cpu",
    image_cache: Any = None,
) -> Decision:
    """Fit (or load) the attribute network on the ``trainval`` images, its checkpoint
    ``<run_dir>/attribute_network/model.pt`` (:func:`utils.training.checkpoints.fit_or_load`, run
    ``attribute_network``; prints whether it trained or loaded, and why).

    Args:
        network: :func:`build_attribute_network`'s network, trained (or loaded) in place.
        images: :func:`load_attribute_images`'s images; labels become rows of the seen classes' attribute matrix.
        config: notebook 05's config.
        device: where to train.
        image_cache: read the images through this :class:`utils.training.image_cache.ImageCache` (``None``: the
            sources).
    """
    awa2, labels, trainval = images.awa2, images.labels, images.splits["trainval"]
    seen_row = {int(c): row for row, c in enumerate(awa2.seen_class_indices)}
    train_images = ImageFiles([images.image_paths[i] for i in trainval],
                              np.array([seen_row[int(label)] for label in labels[trainval]]),
                              config.image_size, image_cache=image_cache)
    seen_binary_attributes = torch.tensor(awa2.binary_attributes[awa2.seen_class_indices], dtype=torch.float32)
    checkpoint = config.run_dir / "attribute_network" / "model.pt"
    return fit_or_load(network, checkpoint, config, "attribute_network", lambda: train_attribute_network(
        network, train_images, seen_binary_attributes, config, device, checkpoint.with_suffix(".csv")))


def export_backbone_features(
    backbone: nn.Module,
    awa2: Any,
    image_paths: Sequence[Path],
    labels: np.ndarray,
    splits: dict[str, np.ndarray],
    folder: Path,
    image_size: int,
    device: torch.device | str = "cpu",
    image_cache: Any = None,
) -> dict[str, Path]:
    """Write an AwA2-format folder's backbone features as an xlsa17 pair (+ ``binaryAtt_splits.mat``).

    Args:
        backbone: maps images (batch, 3, H, W) to features (batch, width).
        awa2: the :class:`utils.datasets.Awa2Dataset` (class names, attribute matrices).
        image_paths, labels: every image and its class, as :func:`utils.datasets.image_index` gives.
        splits: 0-based image indices from :func:`utils.splits.split_images`.
        folder: destination of ``res101.mat``, ``att_splits.mat`` and ``binaryAtt_splits.mat``.
        image_size: input side in pixels.
        device: where to run the backbone.
        image_cache: read the images through this :class:`utils.training.image_cache.ImageCache` (``None``: the
            sources); the exported file names are the sources' either way.

    Returns:
        What :func:`utils.datasets.xlsa17_export.write_xlsa17_pair` returns.
    """
    from utils.datasets.xlsa17_export import write_xlsa17_pair

    images = ImageFiles(image_paths, labels, image_size, image_cache=image_cache)
    features = predict_outputs(backbone, images, device=device).numpy()
    root = Path(awa2.root)
    image_files = [f"{root.name}//{Path(path).relative_to(root).as_posix()}" for path in image_paths]
    return write_xlsa17_pair(
        folder, features, labels, image_files, awa2.class_names, awa2.continuous_attributes,
        {key: splits[key] for key in ("trainval", "test_seen", "test_unseen", "train", "val")},
        binary_attributes=awa2.binary_attributes,
    )


def export_features_if_stale(
    network: nn.Module, images: AttributeImages, decision: Decision, config: AttributeZslConfig,
    device: torch.device | str = "cpu", image_cache: Any = None,
) -> dict[str, Path] | None:
    """Write ``config.xlsa17_dir`` from the attribute network's backbone (:func:`export_backbone_features`) when the
    config exports features and the network was just trained or the folder has no features yet.

    With several processes rank 0 alone exports; every rank returns once the files are written.

    Returns:
        What :func:`export_backbone_features` wrote, or ``None`` when nothing was.
    """

    def export() -> dict[str, Path] | None:
        if not config.export_features or (not decision.trained and (config.xlsa17_dir / "res101.mat").is_file()):
            return None
        return export_backbone_features(network.backbone, images.awa2, images.image_paths, images.labels, images.splits,
                                        config.xlsa17_dir, config.image_size, device, image_cache=image_cache)

    return main_process_result(export)


# ---------------------------------------------------------------------------------------------- features


@dataclass
class FeatureProblem:
    """An xlsa17 data set prepared for training attribute regressors (0-based class indices).

    Attributes:
        features: float32 tensor of shape (n_images, feature_dim).
        labels: int64 array of shape (n_images,).
        class_names: of length n_classes.
        attribute_matrix: ``att`` rows, of shape (n_classes, n_attributes) (L2-normalised rows):
            ReZSL's regression targets.
        binary_attribute_matrix: 0/1 rows of shape (n_classes, n_attributes): the BCE targets.
        seen_classes, unseen_classes: sorted class indices.
        splits: ``trainval``, ``test_seen``, ``test_unseen`` image indices, and for choosing γ:
            ``validation_train`` (train-class images trained on), ``validation_seen`` (held-out images
            of train classes) and ``validation_unseen`` (images of the validation classes).
        validation_classes: the seen classes used as pseudo-unseen when choosing γ.
        validation_source: where they come from (the file's ``val_loc``, xlsa17's ``valclasses1.txt`` or a seeded
            draw).
    """

    features: torch.Tensor
    labels: np.ndarray
    class_names: list[str]
    attribute_matrix: np.ndarray
    binary_attribute_matrix: np.ndarray
    seen_classes: np.ndarray
    unseen_classes: np.ndarray
    splits: dict[str, np.ndarray]
    validation_classes: np.ndarray
    validation_source: str = ""

    @property
    def validation_train_classes(self) -> np.ndarray:
        return np.setdiff1d(self.seen_classes, self.validation_classes)


def feature_problem_sha256(problem: FeatureProblem) -> str:
    """SHA-256 of everything a regressor reads from the xlsa17 files: features, labels, attributes, splits.

    The arrays are hashed rather than the ``.mat`` files, whose headers carry the time they were written: a
    re-export of the same features is reused, features that differ in any bit retrain. Computed once per
    problem.
    """
    cached = problem.__dict__.get("_sha256")
    if cached is None:
        split_names = sorted(problem.splits)
        cached = arrays_sha256(
            problem.features, problem.labels, problem.attribute_matrix, problem.binary_attribute_matrix,
            problem.seen_classes, problem.unseen_classes, problem.validation_classes,
            np.array(split_names), *(problem.splits[name] for name in split_names),
        ) + "-" + hashlib.sha256("\n".join(problem.class_names).encode()).hexdigest()[:16]
        problem.__dict__["_sha256"] = cached
    return cached


def feature_problem(
    xlsa17_dir: str | Path,
    n_validation_classes: int = 10,
    validation_seen_fraction: float = 0.2,
    seed: int = 0,
) -> FeatureProblem:
    """Read an xlsa17 folder with :func:`utils.datasets.load_xlsa17` and prepare the splits.

    Validation classes come from a clean ``train_loc``/``val_loc`` pair when the file has one (the
    classes of ``val_loc``); otherwise (the original AwA2 file, whose pair must not be used) from xlsa17's own
    ``valclasses1.txt`` beside it (:func:`utils.splits.classes.xlsa17_validation_classes`); only without either are
    ``n_validation_classes`` seen classes drawn with ``seed``. Binary BCE targets come from
    ``binaryAtt_splits.mat`` if present, else from ``original_att >= 50%`` of its scale.

    Raises:
        MissingDataError: naming the missing file and ``python -m utils.download xlsa17``.
    """
    import warnings

    from utils.datasets import load_att_splits, load_xlsa17

    folder = Path(xlsa17_dir)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the original AwA2 file's unusable train/val pair is handled below
        dataset = load_xlsa17(folder)
    att_splits = dataset.att_splits
    labels = dataset.res101.labels
    if (folder / "binaryAtt_splits.mat").is_file():
        binary = load_att_splits(folder / "binaryAtt_splits.mat").attributes
    elif att_splits.original_attributes_01 is not None:
        binary = np.nan_to_num(att_splits.original_attributes_01) >= 0.5
    else:
        binary = att_splits.attributes > np.median(att_splits.attributes)
    seen = dataset.seen_class_indices
    listed = None if att_splits.train_val_is_clean else xlsa17_validation_classes(
        folder, [att_splits.class_names[index] for index in seen])
    if att_splits.train_val_is_clean:
        validation_classes = np.unique(labels[att_splits.val_indices])
        validation_source = "the classes of att_splits.mat's val_loc"
    elif listed is not None:
        validation_classes = np.sort([att_splits.class_names.index(name) for name in listed])
        validation_source = "xlsa17's valclasses1.txt"
    else:
        validation_classes = choose_pseudo_unseen(seen, n_validation_classes, np.random.default_rng(seed))
        validation_source = f"{n_validation_classes} seen classes drawn with seed {seed}"
    trainval = att_splits.trainval_indices
    train_class_images = trainval[~np.isin(labels[trainval], validation_classes)]
    kept, held_out = hold_out_per_class(labels[train_class_images], validation_seen_fraction, seed)
    validation_train, validation_seen = np.sort(train_class_images[kept]), np.sort(train_class_images[held_out])
    splits = {
        "trainval": trainval,
        "test_seen": att_splits.test_seen_indices,
        "test_unseen": att_splits.test_unseen_indices,
        "validation_train": validation_train,
        "validation_seen": validation_seen,
        "validation_unseen": trainval[np.isin(labels[trainval], validation_classes)],
    }
    return FeatureProblem(
        features=torch.from_numpy(dataset.res101.features),
        labels=labels,
        class_names=att_splits.class_names,
        attribute_matrix=att_splits.attributes.astype(np.float32),
        binary_attribute_matrix=np.asarray(binary, dtype=np.float32),
        seen_classes=seen,
        unseen_classes=dataset.unseen_class_indices,
        splits=splits,
        validation_classes=validation_classes,
        validation_source=validation_source,
    )


def rezsl_options(config: AttributeZslConfig) -> dict[str, float]:
    """ReZSL's loss options for ``config.xlsa17_dataset``, with the config's explicit values on top."""
    defaults = REZSL_HYPERPARAMETERS.get(config.xlsa17_dataset.upper(), REZSL_HYPERPARAMETERS["AWA2"])
    return {
        "p": defaults["p"] if config.remse_p is None else config.remse_p,
        "p2": defaults["p2"] if config.remse_p2 is None else config.remse_p2,
        "lambda_regression": defaults["lambda_regression"] if config.lambda_regression is None else config.lambda_regression,
        "lambda_ce": config.lambda_ce,
        "scale": config.cosine_scale,
    }


def targets_for(loss_name: str, problem: FeatureProblem) -> np.ndarray:
    """The class × attribute targets a loss trains on: binary rows for BCE, ``att`` rows otherwise."""
    return problem.binary_attribute_matrix if loss_name == "bce" else problem.attribute_matrix


def predicted_attributes_from(loss_name: str, outputs: torch.Tensor) -> torch.Tensor:
    """Network outputs as attribute predictions: sigmoid probabilities for BCE, raw values otherwise."""
    return torch.sigmoid(outputs) if loss_name == "bce" else outputs


def candidate_rules(loss_name: str) -> tuple[str, ...]:
    """The scoring rules :func:`choose_rule` tries for a loss, the earlier one winning ties.

    BCE outputs are attribute probabilities, so every rule of :data:`models.attribute_head.ATTRIBUTE_RULES` applies
    (Euclidean first, the attribute network's rule). Regressed attributes are L2-normalised real values, for which
    Hamming's 0.5 threshold and DAP's probabilities mean nothing: cosine (ReZSL's rule) first, then Euclidean, which
    ranks unit-length class vectors as the cosine does (they differ only in the scale calibrated stacking sees).
    """
    return ("euclidean", "cosine", "hamming", "dap") if loss_name == "bce" else ("cosine", "euclidean")


def build_feature_model(problem: FeatureProblem, config: AttributeZslConfig) -> nn.Module:
    """The feature regressor: the attribute network's BN-ReLU-Dropout-Linear head when ``regressor_hidden`` is 0,
    else an MLP."""
    width, n_attributes = problem.features.shape[1], problem.attribute_matrix.shape[1]
    if not config.regressor_hidden:
        return AttributeHead(width, n_attributes)
    return AttributeRegressor(width, n_attributes, hidden=config.regressor_hidden)


def train_feature_model(
    problem: FeatureProblem,
    loss_name: str,
    config: AttributeZslConfig,
    image_split: str,
    train_classes: np.ndarray,
    checkpoint: Path,
    device: torch.device | str = "cpu",
    verbose: bool = False,
) -> nn.Module:
    """Fit (or load) a feature regressor with loss ``loss_name`` on the images of ``image_split``.

    Args:
        problem: the data.
        loss_name: a key of ``models.losses.ATTRIBUTE_LOSSES``.
        config: an :class:`utils.config.AttributeZslConfig`.
        image_split: key of ``problem.splits`` to train on.
        train_classes: the classes of those images (rows of the targets, in this order).
        checkpoint: ``.pt`` file: loaded while the settings that shape it (the fields declared to shape the
            ``feature_regressor`` run, the loss, the split, the classes and the features' content) are unchanged,
            else written after training.
        device: where to train.
        verbose: print one line per epoch.
    """
    indices = problem.splits[image_split]
    position = {int(class_index): row for row, class_index in enumerate(train_classes)}
    labels = torch.tensor([position[int(label)] for label in problem.labels[indices]])
    targets = torch.from_numpy(targets_for(loss_name, problem)[train_classes])
    seed_everything(config.seed)
    model = build_feature_model(problem, config)
    loss = build_loss(family="attribute", name=loss_name, class_attribute_vectors=targets, **rezsl_options(config))
    dataset = TensorDataset(problem.features[indices], labels)

    def train() -> None:
        seed_everything(config.seed)
        train_model(
            model, ImageBatches(dataset, config.feature_batch_size, shuffle=True, seed=config.seed, device=device), loss,
            config.feature_epochs, config.feature_learning_rate, config.weight_decay, device=device,
            log=LossLog(verbose=verbose), log_path=checkpoint.with_suffix(".csv"), threads=1,
        )

    inputs = {"loss": loss_name, "image_split": image_split, "train_classes": [int(index) for index in train_classes],
              "features_sha256": feature_problem_sha256(problem)}
    fit_or_load(model, checkpoint, config, "feature_regressor", train, inputs=inputs, name=Path(checkpoint).stem)
    return model.cpu().eval()


def candidate_scores(
    predicted_attributes: torch.Tensor, class_attribute_vectors: np.ndarray, candidates: np.ndarray, rule: str,
    trained_classes: np.ndarray,
) -> np.ndarray:
    """Scores of shape (n_images, n_candidates) of the ``candidates`` classes (columns in that order) by ``rule``;
    DAP's attribute priors come from the rows of ``trained_classes``."""
    vectors = np.asarray(class_attribute_vectors)
    priors = attribute_priors(torch.from_numpy(vectors[trained_classes])) if rule == "dap" else None
    return attribute_class_scores(predicted_attributes, torch.from_numpy(vectors[candidates]).float(), rule,
                                  priors).numpy()


def evaluate_gzsl(
    problem: FeatureProblem, outputs: torch.Tensor, loss_name: str, image_indices: np.ndarray,
    candidates: np.ndarray, seen_classes: np.ndarray, rule: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores over ``candidates`` for ``image_indices``: (scores, positional labels, seen-column mask); ``seen_classes``
    are the classes the model was trained on."""
    scores = candidate_scores(
        predicted_attributes_from(loss_name, outputs), targets_for(loss_name, problem), candidates, rule, seen_classes
    )
    position = {int(class_index): column for column, class_index in enumerate(candidates)}
    labels = np.array([position[int(label)] for label in problem.labels[image_indices]])
    return scores, labels, np.isin(candidates, seen_classes)


def choose_rule(
    problem: FeatureProblem, validation_outputs: torch.Tensor, loss_name: str, train_classes: np.ndarray
) -> tuple[str, list[dict[str, Any]]]:
    """The scoring rule of :func:`candidate_rules` with the highest ZSL T1 among the validation (pseudo-unseen)
    classes, from the model trained without them: chosen on validation data, like γ, never on test images.

    Args:
        problem: the data.
        validation_outputs: the validation model's outputs for ``problem.splits["validation_unseen"]``.
        loss_name: the loss the model was trained with.
        train_classes: the classes that model was trained on (DAP's priors).

    Returns:
        ``(rule, table)``: the rule and one ``{"rule", "validation T1"}`` row per candidate.
    """
    images = problem.splits["validation_unseen"]
    table = []
    for rule in candidate_rules(loss_name):
        scores, labels, _ = evaluate_gzsl(
            problem, validation_outputs, loss_name, images, problem.validation_classes, train_classes, rule
        )
        table.append({"rule": rule, "validation T1": zsl_scores(scores, labels)["top1"]})
    best = max(range(len(table)), key=lambda index: (table[index]["validation T1"], -index))
    return table[best]["rule"], table


def run_loss(
    problem: FeatureProblem, loss_name: str, config: AttributeZslConfig, run_dir: Path, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Train one loss twice (validation split for γ, then trainval) and evaluate it on the test splits.

    Returns:
        ``{"row": the table row, "rule_table": validation T1 of each scoring rule, "gamma_table", "curve": the test
        seen–unseen curve, "test_attributes": predicted attributes of the test_seen + test_unseen images,
        "test_labels", "unseen_class_accuracies": ZSL accuracy of each unseen class, shape (n_unseen,), whose mean
        is the row's T1 (for paired comparisons of losses: :func:`utils.comparisons.paired_bootstrap`)}``.
    """
    # 1. Rule and γ on validation: train on the train classes, score their held-out images and the validation classes.
    validation_train_classes = problem.validation_train_classes
    validation_model = train_feature_model(
        problem, loss_name, config, "validation_train", validation_train_classes,
        run_dir / "features" / f"{loss_name}_validation.pt", device,
    )
    validation_images = np.concatenate([problem.splits["validation_seen"], problem.splits["validation_unseen"]])
    validation_candidates = np.sort(np.concatenate([validation_train_classes, problem.validation_classes]))
    with torch.no_grad():
        validation_outputs = validation_model(problem.features[validation_images])
    rule, rule_table = choose_rule(
        problem, validation_outputs[len(problem.splits["validation_seen"]):], loss_name, validation_train_classes
    )
    scores, labels, mask = evaluate_gzsl(
        problem, validation_outputs, loss_name, validation_images, validation_candidates, validation_train_classes, rule
    )
    gamma, gamma_table = choose_calibration_gamma(scores, labels, mask, config.n_gammas)

    # 2. The model of record: all seen classes, trainval images.
    model = train_feature_model(
        problem, loss_name, config, "trainval", problem.seen_classes, run_dir / "features" / f"{loss_name}.pt", device
    )
    test_images = np.concatenate([problem.splits["test_seen"], problem.splits["test_unseen"]])
    with torch.no_grad():
        outputs = model(problem.features[test_images])
    all_classes = np.arange(len(problem.class_names))
    scores, labels, mask = evaluate_gzsl(problem, outputs, loss_name, test_images, all_classes, problem.seen_classes, rule)
    is_unseen_image = ~mask[labels]
    unseen_scores = scores[is_unseen_image][:, problem.unseen_classes]
    zsl = zsl_scores(unseen_scores, problem.labels[test_images][is_unseen_image], problem.unseen_classes)
    _, unseen_class_accuracies = per_class_accuracies(np.asarray(problem.unseen_classes)[unseen_scores.argmax(axis=1)],
                                                      problem.labels[test_images][is_unseen_image], problem.unseen_classes)
    row = {
        "loss": loss_name,
        "rule": rule,
        "T1": zsl["top1"],
        "per-image": zsl["per_image_accuracy"],
        **gzsl_table_row(scores, labels, mask, gamma),
        "AUSUC": ausuc(scores, labels, mask),
    }
    return {
        "row": row,
        "rule_table": rule_table,
        "gamma_table": gamma_table,
        "curve": seen_unseen_curve(scores, labels, mask),
        "test_attributes": predicted_attributes_from(loss_name, outputs),
        "test_labels": problem.labels[test_images],
        "unseen_class_accuracies": unseen_class_accuracies,
    }


def compare_losses(
    problem: FeatureProblem, config: AttributeZslConfig, run_dir: Path, device: torch.device | str = "cpu", losses: Sequence[str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Run every loss of ``config.losses`` on the same features; returns (table rows, details by loss)."""
    details = {name: run_loss(problem, name, config, run_dir, device) for name in (losses or config.losses)}
    return [detail["row"] for detail in details.values()], details


# ---------------------------------------------------------------------------------------------- analysis


def class_attribute_error_matrix(
    predicted_attributes: torch.Tensor, labels: np.ndarray, attribute_matrix: np.ndarray, n_classes: int
) -> np.ndarray:
    """Mean squared error of each class on each attribute over its images, of shape (n_classes, n_attributes).

    The imbalance ReMSE targets (Ye et al., 2023): NaN rows for classes without images.
    """
    from models.losses import class_attribute_errors

    labels_tensor = torch.as_tensor(np.asarray(labels))
    targets = torch.from_numpy(np.asarray(attribute_matrix, dtype=np.float32))[labels_tensor]
    errors, present = class_attribute_errors((predicted_attributes.float() - targets) ** 2, labels_tensor, n_classes)
    errors = errors.numpy().astype(np.float64)
    errors[~present.numpy()] = np.nan
    return errors


def imbalance_summary(errors: np.ndarray) -> dict[str, float]:
    """How unevenly the squared error spreads: over classes, over attributes, and per attribute across classes.

    Returns:
        ``mean_error``; ``class_spread`` and ``attribute_spread``, the coefficients of variation
        (std / mean) of the per-class and per-attribute mean errors; ``per_attribute_class_spread``,
        the mean over attributes of the coefficient of variation across classes.
    """
    per_class = np.nanmean(errors, axis=1)
    per_attribute = np.nanmean(errors, axis=0)
    across_classes = np.nanstd(errors, axis=0) / np.maximum(np.nanmean(errors, axis=0), 1e-12)
    return {
        "mean_error": float(np.nanmean(errors)),
        "class_spread": float(np.nanstd(per_class) / np.nanmean(per_class)),
        "attribute_spread": float(np.nanstd(per_attribute) / np.nanmean(per_attribute)),
        "per_attribute_class_spread": float(np.mean(across_classes)),
    }


def plot_seen_unseen_curves(details: dict[str, dict[str, Any]], title: str = "calibrated stacking: seen vs unseen"):
    """S against U over the γ sweep for each loss, the validation-chosen γ marked. Returns the figure."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    for name, detail in details.items():
        curve, row = detail["curve"], detail["row"]
        axis.plot(curve["unseen_accuracy"], curve["seen_accuracy"], label=f"{name} (AUSUC {row['AUSUC']:.3f})")
        axis.scatter([row["U"]], [row["S"]], marker="o", s=30)
        axis.scatter([row["U (γ=0)"]], [row["S (γ=0)"]], marker="x", s=30, color="black")
    axis.set_xlabel("U: unseen-class accuracy (per-class mean)")
    axis.set_ylabel("S: seen-class accuracy (per-class mean)")
    axis.set_title(f"{title}\n(× γ = 0, ● γ chosen on validation classes)", fontsize=9)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_attribute_spread(spreads: dict[str, np.ndarray], attribute_names: Sequence[str], title: str = ""):
    """Per-attribute coefficient of variation across classes, one line per model. Returns the figure."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(max(6, 0.18 * len(attribute_names) + 2), 3.2))
    for name, spread in spreads.items():
        axis.plot(range(len(attribute_names)), spread, marker="o", markersize=3, label=name)
    axis.set_xticks(range(len(attribute_names)), attribute_names, rotation=90, fontsize=6)
    axis.set_ylabel("std / mean of class errors")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------------------------------------- CLI


@cli_entry("python -m utils.stages.attribute_zsl")
def main(argv: Sequence[str] | None = None) -> int:
    """Feature-mode loss comparison on an xlsa17 folder; prints the table (errors: one line, :mod:`utils.cli`)."""
    from models.losses import ATTRIBUTE_LOSSES
    from utils.config import data_dir
    from utils.runtime import choose_device, seed_everything

    parser = ArgumentParser(
        prog="python -m utils.stages.attribute_zsl",
        description="MSE vs ReMSE vs BCE on xlsa17 features (ZSL T1, GZSL U/S/H, AUSUC)",
    )
    parser.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    parser.add_argument("--dataset", default="AWA2", type=str.upper, choices=sorted(REZSL_HYPERPARAMETERS),
                        help="sets ReZSL's p, p2, λ1 (default AWA2)")
    parser.add_argument("--xlsa17-dir", type=Path, default=None, help="default: $ZSL_DATA_DIR/xlsa17/data/<DATASET> in full")
    parser.add_argument("--losses", nargs="*", default=None, choices=sorted(ATTRIBUTE_LOSSES), metavar="LOSS",
                        help=f"losses compared (default: the profile's; any of {', '.join(sorted(ATTRIBUTE_LOSSES))})")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"xlsa17_dataset": args.dataset.upper()}
    config = AttributeZslConfig.for_profile(args.profile, **overrides)
    if args.xlsa17_dir is not None:
        config.xlsa17_dir = args.xlsa17_dir
    elif config.profile == "full":
        config.xlsa17_dir = data_dir() / "xlsa17" / "data" / config.xlsa17_dataset
    seed_everything(config.seed)
    device = choose_device(config.device)
    problem = feature_problem(config.xlsa17_dir, config.n_validation_classes, seed=config.seed)
    rows, _ = compare_losses(problem, config, config.run_dir / config.xlsa17_dataset, device, args.losses)
    import pandas as pd

    print(pd.DataFrame(rows).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
