"""Shared training machinery: what more than one stage needs (the stages import it, never each other).

* :mod:`utils.training.images` — the image pipeline: :func:`read_image`, :class:`ImageFiles`, :class:`ImageBatches`,
  normalisation and ``channels_last`` on CUDA (notebooks 05, 07);
* :mod:`utils.training.loop` — the one training loop :func:`train_model`, :func:`predict_outputs`,
  :class:`MixedPrecision`, :func:`adamw_with_schedule` (05, 07);
* :mod:`utils.training.threads` — :func:`cpu_threads` / :func:`set_cpu_threads`, the one place that sets torch's
  CPU threads (every stage);
* :mod:`utils.training.fastai_glue` — fastai's DataLoaders and ``Learner`` with one log per run, and the softmax
  classifier (:func:`~utils.training.fastai_glue.fit_stage1`) that notebook 01 trains and 02 builds on;
* :mod:`utils.training.checkpoints` — the one checkpoint policy: fingerprints of the settings that shape a
  model, the decision to train or load (and why), ``weights_only`` loading (every stage);
* :mod:`utils.training.image_cache` — every image resized once (``python -m utils.training.image_cache``).

The fastai glue and the image cache are imported on first use (:func:`__getattr__`): fastai is slow to import and
only notebooks 01–04 need it, and ``python -m utils.training.image_cache`` must find its module not yet imported
when it runs it.
"""

import importlib

from utils.training.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageBatches,
    ImageFiles,
    device_batch,
    prepare_for_device,
    read_image,
    to_network_input,
)
from utils.training.loop import MixedPrecision, adamw_with_schedule, predict_outputs, train_model
from utils.training.threads import cpu_threads, set_cpu_threads

_LAZY_MODULES = {
    **dict.fromkeys(
        ("TrainedModel", "classifier_accuracy", "classifier_learner", "feature_channels", "fit_stage1",
         "image_dataloaders"),
        "utils.training.fastai_glue",
    ),
    **dict.fromkeys(("ImageCache", "image_cache_for", "image_cache_settings"), "utils.training.image_cache"),
}

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "ImageBatches", "ImageCache", "ImageFiles", "MixedPrecision", "TrainedModel",
    "adamw_with_schedule", "classifier_accuracy", "classifier_learner", "cpu_threads", "device_batch",
    "feature_channels", "fit_stage1", "image_cache_for", "image_cache_settings", "image_dataloaders",
    "predict_outputs", "prepare_for_device", "read_image", "to_network_input", "set_cpu_threads", "train_model",
]


def __getattr__(name: str):
    """The names of :mod:`utils.training.fastai_glue` and :mod:`utils.training.image_cache`, imported when first
    asked for."""
    if name in _LAZY_MODULES:
        return getattr(importlib.import_module(_LAZY_MODULES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
