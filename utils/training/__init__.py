"""Shared training machinery: what more than one stage needs.

* :mod:`utils.training.images` — the image pipeline: :func:`read_image`, :class:`ImageFiles`, :class:`ImageBatches`,
  normalisation and ``channels_last`` on CUDA (notebooks 05, 07);
* :mod:`utils.training.loop` — the one training loop :func:`train_model`, :func:`predict_outputs`,
  :class:`MixedPrecision`, :func:`adamw_with_schedule` (05, 07);
* :mod:`utils.training.threads` — :func:`cpu_threads` / :func:`set_cpu_threads`, the one place that sets torch's
  CPU threads (every stage);
* :mod:`utils.training.fastai_glue` — fastai's DataLoaders and ``Learner`` with one log per run, fit-or-load and
  the image embeddings of a learner (notebooks 01–04);
* :mod:`utils.training.checkpoints` — the one checkpoint policy: fingerprints of the settings that shape a
  model, the decision to train or load (and why), ``weights_only`` loading (every stage);
* :mod:`utils.training.image_cache` — every image resized once (``python -m utils.training.image_cache``).
"""

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

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "ImageBatches", "ImageFiles", "MixedPrecision", "adamw_with_schedule",
    "cpu_threads", "device_batch", "predict_outputs", "prepare_for_device", "read_image", "to_network_input",
    "set_cpu_threads", "train_model",
]
