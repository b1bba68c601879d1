"""Notebook 01: the stage-1 softmax classifier (fastai), SqueezeNet 1.1 against the ResNet34 baseline, compared by
size and speed.

:func:`fit_stage1` trains (or loads) the classifier of one backbone on the seen classes with the fastai machinery of
:mod:`utils.training.fastai_glue`; :func:`train_classifier` is the same training over any classes, which notebook 02
(:mod:`utils.stages.devise`, a later stage) reuses for its γ run and its oracle. :func:`backbone_row` is one row of
notebook 01's comparison table (accuracy, parameters, checkpoint size, seconds per epoch, CPU throughput).
Iandola et al., "SqueezeNet", 2016; He et al., "Deep Residual Learning", CVPR 2016.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from fastai.vision.all import CrossEntropyLossFlat, Learner, accuracy, error_rate
from torch import nn

from models.backbones import BodyHeadModel, ClassifierHead, count_parameters, create_body
from utils.config import DeviseConfig
from utils.metrics import per_class_accuracies, per_class_mean_accuracy
from utils.runtime import seed_everything
from utils.splits.folders import Items, seen_class_items
from utils.training.checkpoints import read_metadata, record
from utils.training.fastai_glue import (
    BestModelCheckpoint,
    TrainedModel,
    build_learner,
    checkpoint_path,
    decide_or_load,
    fit_phases,
    image_dataloaders,
    save_learner,
    start_run,
)
from utils.training.threads import set_cpu_threads

# --- the classifier ---------------------------------------------------------------------------------------


def classifier_learner(
    config: DeviseConfig, backbone: str, train_items: Items, valid_items: Items, class_names: Sequence[str],
    name: str, device: torch.device | str = "cpu", initial_body: nn.Module | None = None,
) -> Learner:
    """An untrained stage-1 ``Learner``: body + :class:`ClassifierHead`, cross-entropy, accuracy and error rate."""
    set_cpu_threads(config.cpu_threads)
    body, n_features = create_body(backbone, pretrained=config.pretrained and initial_body is None)
    if initial_body is not None:
        body = copy.deepcopy(initial_body)
    dls = image_dataloaders(train_items, valid_items, class_names, config, device)
    model = BodyHeadModel(body, ClassifierHead(n_features, len(class_names)))
    return build_learner(dls, model, CrossEntropyLossFlat(), [accuracy, error_rate], config, name, device)


def train_classifier(
    config: DeviseConfig, backbone: str, train_items: Items, valid_items: Items, class_names: Sequence[str],
    name: str, device: torch.device | str = "cpu", initial_body: nn.Module | None = None,
    epochs: int | None = None, save_best: bool = True, initial_fingerprint: str | None = None,
    run: str = "stage1",
) -> TrainedModel:
    """Fit (or load) a softmax classifier over ``class_names`` with one-cycle training (stage 1, and DeViSE's γ run
    and oracle).

    Pretrained bodies are fine-tuned the fastai way (head first, then all); bodies trained from
    scratch get ``fit_one_cycle`` on everything. The checkpoint is reused only while the config fields that shape
    ``run`` (plus ``backbone``, the classes, ``epochs`` and ``initial_fingerprint``) are unchanged
    (:mod:`utils.training.checkpoints`). Everything random is seeded from ``config.seed`` first, so the run is the same
    whatever ran before it in the process.

    Args:
        backbone: a key of ``models.backbones.BACKBONES``.
        name: checkpoint and log name (``checkpoints/<name>.pth``).
        initial_body: start from a copy of this body instead of a fresh one (the oracle does).
        epochs: overrides ``config.stage1_epochs``.
        save_best: keep the epoch with the lowest validation loss (``BestModelCheckpoint``); ``False``
            when the validation images are test images (the oracle), so no choice is made on them.
        initial_fingerprint: the fingerprint of ``initial_body``'s run (a shaping input of this one).
        run: the kind of run (a key of ``DeviseConfig.runs``: ``stage1``, ``validation_stage1``, ``oracle``), which
            picks the config fields that shape it.
    """
    seed_everything(config.seed)
    learn = classifier_learner(config, backbone, train_items, valid_items, class_names, name, device, initial_body)
    checkpoint = checkpoint_path(config, name)
    extra: dict[str, Any] = {"backbone": backbone, "classes": list(class_names)}
    if epochs is not None:
        extra["epochs"] = epochs
    if initial_fingerprint is not None:
        extra["initial_body"] = initial_fingerprint
    decision = decide_or_load(learn, config, run, name, checkpoint, extra, device)
    if not decision.trained:
        return TrainedModel(learn, name, False, read_metadata(checkpoint).get("epoch_seconds", []), decision)
    start_run(learn)
    callbacks = [BestModelCheckpoint(monitor="valid_loss", fname=name)] if save_best else []
    fit = "fine_tune" if config.pretrained and initial_body is None else "one_cycle"
    fit_phases(learn, fit, epochs or config.stage1_epochs, config.stage1_learning_rate, callbacks)
    if not save_best:
        save_learner(learn, checkpoint)
    epoch_seconds = list(learn.epoch_timer.epoch_seconds)
    record(checkpoint, decision.settings, config, epoch_seconds=epoch_seconds)
    return TrainedModel(learn, name, True, epoch_seconds, decision)


def fit_stage1(config: DeviseConfig, backbone: str | None = None, device: torch.device | str = "cpu") -> TrainedModel:
    """The stage-1 classifier of ``backbone`` (default ``config.backbone``) on the seen classes (run
    ``stage1_<backbone>``): notebook 01 trains it, DeViSE starts from its body."""
    backbone = backbone or config.backbone
    train_items, valid_items, seen_classes = seen_class_items(config)
    return train_classifier(config, backbone, train_items, valid_items, seen_classes, f"stage1_{backbone}", device)


def _predicted_and_true(learn: Learner, dl=None) -> tuple[np.ndarray, np.ndarray]:
    """``(predicted labels, true labels)`` of ``dl`` (default: the validation set), each of shape (n_images,)."""
    with learn.no_bar():
        predictions, targets = learn.get_preds(dl=dl)
    return predictions.argmax(1).numpy(), targets.numpy()


def classifier_accuracy(learn: Learner, dl=None) -> dict[str, float]:
    """Per-image accuracy, error rate and per-class mean accuracy on ``dl`` (default: the validation set)."""
    predicted, targets = _predicted_and_true(learn, dl)
    per_image = float((predicted == targets).mean())
    return {"accuracy": per_image, "error_rate": 1.0 - per_image,
            "per_class_mean_accuracy": per_class_mean_accuracy(predicted, targets)}


def class_accuracies(learn: Learner, dl=None) -> np.ndarray:
    """Top-1 accuracy of each class on ``dl`` (default: the validation set): the items of a paired comparison.

    Returns:
        float array of shape (n_classes_present,), in class-index order; its mean is ``classifier_accuracy``'s
        per-class mean accuracy.
    """
    return per_class_accuracies(*_predicted_and_true(learn, dl))[1]


# --- notebook 01's comparison -----------------------------------------------------------------------------


def inference_images_per_second(model: nn.Module, image_size: int, n_images: int = 256, batch_size: int = 64) -> float:
    """CPU throughput of ``model`` on random images of ``image_size`` (after one warm-up batch)."""
    model = copy.deepcopy(model).float().cpu().eval()
    batch = torch.randn(min(batch_size, n_images), 3, image_size, image_size)
    with torch.no_grad():
        model(batch)
        started, done = time.perf_counter(), 0
        while done < n_images:
            model(batch)
            done += len(batch)
    return done / (time.perf_counter() - started)


def backbone_row(config: DeviseConfig, trained: TrainedModel) -> dict[str, Any]:
    """One row of notebook 01's comparison table for a trained stage-1 classifier."""
    learn = trained.learn
    checkpoint = checkpoint_path(config, trained.name)
    figures = classifier_accuracy(learn)
    return {
        "backbone": trained.name.removeprefix("stage1_"),
        "parameters": count_parameters(learn.model),
        "checkpoint MB": checkpoint.stat().st_size / 2**20 if checkpoint.exists() else float("nan"),
        "accuracy": figures["accuracy"],
        "error rate": figures["error_rate"],
        "s / epoch (train)": float(np.mean(trained.epoch_seconds)) if trained.epoch_seconds else float("nan"),
        "CPU images/s": inference_images_per_second(learn.model, config.image_size, config.inference_images),
    }

