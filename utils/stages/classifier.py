"""Notebook 01: the stage-1 classifier, SqueezeNet 1.1 against the ResNet34 baseline (fastai), compared by size and speed.

The classifier itself — its DataLoaders, ``Learner``, training and checkpoint — is :mod:`utils.training.fastai_glue`
(:func:`~utils.training.fastai_glue.fit_stage1`), because notebook 02 trains the same classifier for its γ run and
its oracle and a stage never imports another. What only notebook 01 does is here: one row per backbone of the
comparison table (accuracy, parameters, checkpoint size, seconds per epoch, CPU throughput). Iandola et al.,
"SqueezeNet", 2016; He et al., "Deep Residual Learning", CVPR 2016.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from models.backbones import count_parameters
from utils.config import DeviseConfig
from utils.training.fastai_glue import TrainedModel, checkpoint_path, classifier_accuracy


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

