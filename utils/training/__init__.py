"""Shared training machinery: what more than one stage needs.

* :mod:`utils.training.images` — the image pipeline: :func:`read_image`, :class:`ImageFiles`, :class:`ImageBatches`,
  normalisation and ``channels_last`` on CUDA (notebooks 05, 07);
* :mod:`utils.training.loop` — the one training loop :func:`train_model` and its hooks (:class:`LossLog`,
  :class:`MixedPrecision`, :func:`optimizer_with_schedule`, ...), :func:`predict_outputs` (05, 06, 07);
* :mod:`utils.training.threads` — :func:`cpu_threads` / :func:`set_cpu_threads`, the one place that sets torch's
  CPU threads (every stage);
* :mod:`utils.training.fastai_glue` — fastai's DataLoaders and ``Learner`` with one log per run, fit-or-load and
  the image embeddings of a learner (notebooks 01–04);
* :mod:`utils.training.checkpoints` — the one checkpoint policy: the decision to train or load (and why) from the
  settings the config declares as shaping the run, :func:`fit_or_load`, the one atomic save, ``weights_only``
  loading that refuses weights which do not fit the model (every stage);
* :mod:`utils.training.image_cache` — every image resized once (``python -m utils.training.image_cache``);
* :mod:`utils.training.distributed` — several processes (``torchrun``, ``accelerate launch``): the process group, the
  ranks' shares of a batch, rank 0 first or alone (``python -m utils.stages.train`` launches a notebook's training).

The fastai glue and the image cache are imported on first use (:func:`__getattr__`): fastai is slow to import and
only notebooks 01–04 need it, and ``python -m utils.training.image_cache`` must find its module not yet imported
when it runs it.
"""

import importlib

from utils.training.checkpoints import fit_or_load
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
from utils.training.loop import (
    EpochEnd,
    EpochLog,
    LossLog,
    MixedPrecision,
    flipped_image_inputs,
    optimizer_with_schedule,
    predict_outputs,
    train_model,
)
from utils.training.threads import cpu_threads, set_cpu_threads

_LAZY_MODULES = {
    **dict.fromkeys(("TrainedModel", "feature_channels", "image_dataloaders"), "utils.training.fastai_glue"),
    **dict.fromkeys(("ImageCache", "image_cache_for"), "utils.training.image_cache"),
}

__all__ = [
    "EpochEnd", "EpochLog", "IMAGENET_MEAN", "IMAGENET_STD", "ImageBatches", "ImageCache", "ImageFiles", "LossLog",
    "MixedPrecision", "TrainedModel", "cpu_threads", "device_batch", "feature_channels", "fit_or_load",
    "flipped_image_inputs", "image_cache_for", "image_dataloaders", "optimizer_with_schedule", "predict_outputs",
    "prepare_for_device", "read_image", "to_network_input", "set_cpu_threads", "train_model",
]


def __getattr__(name: str):
    """The names of :mod:`utils.training.fastai_glue` and :mod:`utils.training.image_cache`, imported when first
    asked for."""
    if name in _LAZY_MODULES:
        return getattr(importlib.import_module(_LAZY_MODULES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
