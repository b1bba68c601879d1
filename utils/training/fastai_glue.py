"""fastai glue shared by notebooks 01–04: DataLoaders, the Learner, its callbacks, and the runs built on them.

The stages build their learners here: notebook 01's softmax classifier (:mod:`utils.stages.classifier`) and
notebook 02's DeViSE (:mod:`utils.stages.devise`), which trains that classifier again for its γ run and oracle.

Every ``Learner`` writes under ``config.run_dir`` (``outputs/devise/<run label>``): ``checkpoints/<run>.pth``
(:class:`BestModelCheckpoint`: fastai's ``SaveModelCallback`` through the one atomic save) with
``checkpoints/<run>.json`` beside it (the shaping settings, the resolved config, the epoch timings), and
``logs/<run>.csv`` (:class:`RunLog`: every epoch of every phase). A training function
loads its checkpoint instead of training while the settings that shape it are unchanged
(:mod:`utils.training.checkpoints`, :func:`decide_or_load`; what shapes each run is declared on ``DeviseConfig``'s
fields); ``config.retrain`` forces training. Each training seeds everything from ``config.seed`` first, so on the CPU
the same settings give bit-identical weights whatever ran before in the process.

With several processes on CUDA (:mod:`utils.training.distributed`, under ``torchrun`` or ``accelerate launch``) every
fit runs inside fastai's own ``learn.distrib_ctx`` (:func:`fit_phases`: fastai.distributed, built on accelerate:
``DistributedDataParallel`` and each rank's share of every batch); rank 0 alone writes the checkpoints
(:func:`utils.training.checkpoints.save_weights`) and the log (:class:`RunLog`). fastai's distributed batches broadcast
their order with CUDA tensors, so this path needs GPUs (nccl); the 2-process CPU test covers the PyTorch loop.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastai.callback.channelslast import ChannelsLast
from fastai.torch_core import get_model
from fastai.vision.all import (
    Callback,
    CategoryBlock,
    DataBlock,
    DataLoaders,
    ImageBlock,
    IndexSplitter,
    ItemGetter,
    Learner,
    Normalize,
    Resize,
    SaveModelCallback,
    aug_transforms,
    imagenet_stats,
)
from torch import nn

from models.backbones import body_head_splitter
from utils.config import DeviseConfig
from utils.runtime import loader_options, mixed_precision_enabled, use_channels_last
from utils.splits.folders import Items
from utils.training.checkpoints import Decision, decide, load_state_into, run_settings, save_weights
from utils.training.distributed import is_main_process, world_size
from utils.training.image_cache import image_cache_for

# --- data ------------------------------------------------------------------------------------------


def image_dataloaders(
    train_items: Items, valid_items: Items, class_names: Sequence[str], config: DeviseConfig,
    device: torch.device | str = "cpu", augment: bool = True,
) -> DataLoaders:
    """fastai DataLoaders: resize, flips/rotations/zoom/lighting on the batch, ImageNet normalisation.

    Labels are indices into ``class_names`` (the vocabulary), so column ``j`` of a classifier — and
    row ``j`` of the label vectors given to a DeViSE loss — is ``class_names[j]``. With ``config.image_cache``
    the images are read from the image cache (:func:`utils.training.image_cache.cached_image_paths`; stale entries are
    built first) and ``dls.image_cache`` keeps it for :func:`embed_paths`. Worker processes, pinned memory and
    persistent workers come from :func:`utils.runtime.loader_options` (none on the CPU).
    """
    items = list(train_items) + list(valid_items)
    image_cache = image_cache_for(config)
    if image_cache is not None:
        read_paths = image_cache.paths_for([path for path, _ in items])
        items = [(path, label) for path, (_, label) in zip(read_paths, items, strict=True)]
    augmentations = aug_transforms(size=config.image_size, min_scale=0.75, max_rotate=10.0) if augment else []
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=list(class_names), sort=False)),
        get_x=ItemGetter(0),
        get_y=ItemGetter(1),
        splitter=IndexSplitter(list(range(len(train_items), len(items)))),
        item_tfms=Resize(config.image_size),
        batch_tfms=[*augmentations, Normalize.from_stats(*imagenet_stats)],
    )
    dls = block.dataloaders(items, bs=config.batch_size, device=torch.device(device), **loader_options(device))
    dls.image_cache = image_cache
    return dls


def read_paths_of(dls: DataLoaders, paths: Sequence[Path]) -> list[Path]:
    """The files to read for ``paths``: their image-cache copies when ``dls`` reads a cache, else ``paths``."""
    image_cache = getattr(dls, "image_cache", None)
    return list(paths) if image_cache is None else image_cache.paths_for(list(paths))


# --- fastai plumbing ---------------------------------------------------------------------------------


def _finding_learning_rate(callback: Callback) -> bool:
    """True while ``learn.lr_find`` runs: its mock fit is no epoch of the run."""
    return hasattr(callback.learn, "lr_finder")


class EpochTimer(Callback):
    """Records the seconds of each epoch's training phase (validation excluded) in ``epoch_seconds``.

    The list holds every epoch of every ``fit`` of the learner, so a ``fine_tune`` (a frozen fit, then an
    unfrozen one) or DeViSE's phases 2a and 2b are all there; :meth:`reset` starts a new run.
    """

    def __init__(self):
        self.epoch_seconds: list[float] = []

    def reset(self) -> None:
        self.epoch_seconds = []

    def before_train(self):
        self.started = None if _finding_learning_rate(self) else time.perf_counter()

    def after_train(self):
        if getattr(self, "started", None) is not None:
            self.epoch_seconds.append(time.perf_counter() - self.started)


class RunLog(Callback):
    """One CSV per run with every epoch of every ``fit``: a ``phase`` column and a running ``epoch`` number.

    fastai's ``CSVLogger`` rewrites its file at each ``fit``, so the frozen epoch of ``fine_tune`` and
    DeViSE's phase 2a were lost. Here the first ``fit`` of the learner (or the first after :meth:`reset`)
    starts a fresh file with one header, and later fits append to it; ``lr_find`` and ``get_preds`` write
    nothing, nor does any rank but 0 with several processes.

    Args:
        fname: the file, relative to ``learn.path``.

    Attributes:
        phases: names given to the next fits, first first (``["frozen", "unfrozen"]`` before a
            ``fine_tune``); when it runs out, the last name stays.
        phase: the name of the current fit.
        epochs_logged: rows written so far in this run.
    """

    order = 61  # after the Recorder, which completes each epoch's log, and the ProgressCallback's table (60)

    def __init__(self, fname: str | Path):
        self.fname = Path(fname)
        self.phases: list[str] = []
        self.phase = "train"
        self.epochs_logged = 0
        self.file = None

    def reset(self, phases: Sequence[str] = ()) -> None:
        """Start a new run: the next ``fit`` rewrites the file; ``phases`` names the coming fits."""
        self.epochs_logged = 0
        self.phases = list(phases)

    @property
    def log_path(self) -> Path:
        return Path(self.learn.path) / self.fname

    def before_fit(self):
        if hasattr(self, "gather_preds") or _finding_learning_rate(self) or not is_main_process():
            return
        if self.phases:
            self.phase = self.phases.pop(0)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.epochs_logged == 0
        self.file = self.log_path.open("w" if fresh else "a")
        if fresh:
            self.file.write(",".join(["phase", *self.recorder.metric_names]) + "\n")

    def after_epoch(self):
        # The Recorder's own log of the epoch (epoch, losses, metrics, time), read rather than intercepted: fastai's
        # progress table replaces the learner's logger without passing lines on.
        if self.file is None:
            return
        values = list(self.recorder.log)[1:]
        self.file.write(",".join([self.phase, str(self.epochs_logged), *(str(value) for value in values)]) + "\n")
        self.file.flush()
        self.epochs_logged += 1

    def after_fit(self):
        if self.file is None:
            return
        self.file.close()
        self.file = None


class PlainTensorBatches(Callback):
    """Hand training batches to the model as plain ``torch.Tensor`` instead of fastai's ``TensorImage``.

    fastai's tensor subclasses route every operation of the forward and backward pass through
    ``__torch_function__``; on the CPU that costs a noticeable share of an epoch (see
    ``benchmarks/fastai_vs_pytorch.py``). Only training batches are cast: ``get_preds``, ``show_results``
    and ``ClassificationInterpretation`` still see the typed tensors they decode with.
    """

    order = 1  # after the device transfer, before the model

    def before_batch(self):
        if self.training:
            self.learn.xb = tuple(x.as_subclass(torch.Tensor) for x in self.xb)
            self.learn.yb = tuple(y.as_subclass(torch.Tensor) for y in self.yb)


class BestModelCheckpoint(SaveModelCallback):
    """fastai's ``SaveModelCallback`` (keep the epoch of lowest validation loss, load it when training ends) through
    the one checkpoint policy: each save is atomic (:func:`utils.training.checkpoints.save_weights`, so an
    interrupted run never leaves half a file) and the best epoch is read back with ``weights_only=True``
    (:func:`utils.training.checkpoints.load_state_into`) instead of fastai's ``weights_only=False``. With several
    processes the saved weights are those of the model inside ``DistributedDataParallel``, written by rank 0 alone."""

    def checkpoint(self, name: str) -> Path:
        """``<learn.path>/<learn.model_dir>/<name>.pth``, where ``learn.save`` would write."""
        return Path(self.learn.path) / self.learn.model_dir / f"{name}.pth"

    def _save(self, name: str) -> None:
        self.last_saved_path = save_weights(get_model(self.learn.model).state_dict(), self.checkpoint(name))

    def after_fit(self, **kwargs) -> None:
        if self.at_end:
            self._save(self.fname)
        elif not self.every_epoch:
            load_state_into(get_model(self.learn.model), self.checkpoint(self.fname))


def save_learner(learn: Learner, checkpoint: Path) -> Path:
    """The learner's weights as they are now, through the one atomic save (a run that keeps its last epoch, where
    choosing the best epoch would choose on test images: notebook 02's oracle)."""
    return save_weights(learn.model.state_dict(), checkpoint)


@contextmanager
def random_state_kept():
    """Restore the state of ``random``, NumPy and torch (CPU) on exit.

    Iterating a fastai ``DataLoader`` draws from them even without augmentation (its own generator is
    re-seeded from ``random``, and every ``RandTransform`` draws before it checks the split), so probing the
    model between epochs would otherwise change the batches and augmentations of the epochs after it.
    """
    states = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.random.set_rng_state(states[2])


def build_learner(
    dls: DataLoaders, model: nn.Module, loss_func: nn.Module, metrics: list, config: DeviseConfig,
    name: str, device: torch.device | str = "cpu",
) -> Learner:
    """A ``Learner`` writing under ``config.run_dir`` (``checkpoints/<name>.pth``, ``logs/<name>.csv``)."""
    (Path(config.run_dir) / "logs").mkdir(parents=True, exist_ok=True)
    learn = Learner(
        dls, model, loss_func=loss_func, metrics=metrics, splitter=body_head_splitter,
        path=Path(config.run_dir), model_dir="checkpoints",
        cbs=[RunLog(f"logs/{name}.csv"), EpochTimer(), PlainTensorBatches()],
    )
    if mixed_precision_enabled(config.mixed_precision, device):
        learn.to_fp16()
    if use_channels_last(device):  # NHWC feeds the tensor cores; the weights and batches follow (fastai callback)
        learn.add_cb(ChannelsLast())
    return learn


def checkpoint_path(config: DeviseConfig, name: str) -> Path:
    return Path(config.run_dir) / "checkpoints" / f"{name}.pth"


@contextmanager
def progress_display(learn: Learner) -> Iterator[None]:
    """fastai's table of epochs with progress bars in a notebook; elsewhere (a command, a test) one line per epoch.

    Without the progress callback fastai's Recorder prints each epoch as a raw list (``[0, 3.90, 7.03, 0.025, …]``);
    the line here names each value instead: ``epoch 0: train_loss 3.9, valid_loss 7.03, accuracy 0.025, … time 00:01``.
    """
    from fastprogress.core import IN_NOTEBOOK

    if IN_NOTEBOOK:
        yield
        return

    def print_epoch(log) -> None:
        names = list(learn.recorder.metric_names)
        values = [f"{value:.4g}" if isinstance(value, float) else str(value) for value in log]
        print(f"{names[0]} {values[0]}: " + ", ".join(f"{name} {value}" for name, value in zip(names[1:], values[1:],
                                                                                                strict=False)))

    with learn.no_bar():
        logger, learn.logger = learn.logger, print_epoch
        try:
            yield
        finally:
            learn.logger = logger


def fit_phases(learn: Learner, fit: str, epochs: int, learning_rate: Any, callbacks: list, phase: str | None = None) -> None:
    """``fine_tune`` (logged as phases ``frozen`` + ``unfrozen``) or ``fit_one_cycle`` (logged as ``phase``).

    With several processes the fit runs data-parallel inside fastai's ``learn.distrib_ctx`` (fastai.distributed, on
    accelerate), with BatchNorm statistics per rank (``sync_bn=False``, as the PyTorch loop:
    :func:`utils.training.loop.data_parallel` says why).
    """
    run_log = getattr(learn, "run_log", None)
    if run_log is not None:
        run_log.phases = ["frozen", "unfrozen"] if fit == "fine_tune" else [phase or fit]
    distributed = contextlib.nullcontext()
    if world_size() > 1:
        import fastai.distributed  # noqa: F401  (adds Learner.distrib_ctx; imports accelerate)

        distributed = learn.distrib_ctx(sync_bn=False)
    with progress_display(learn), distributed:
        if fit == "fine_tune":
            learn.fine_tune(epochs, learning_rate, cbs=callbacks)
        else:
            learn.fit_one_cycle(epochs, learning_rate, cbs=callbacks)


def start_run(learn: Learner) -> None:
    """A fresh log and epoch timer for a run about to train."""
    learn.run_log.reset()
    learn.epoch_timer.reset()


def decide_or_load(
    learn: Learner, config: DeviseConfig, run: str, name: str, checkpoint: Path, inputs: dict[str, Any],
    device: torch.device | str,
) -> Decision:
    """Decide whether run ``name`` trains (:mod:`utils.training.checkpoints`); when it does not, load its weights into
    ``learn``. The decision's fingerprint is kept on ``learn`` as the upstream input of runs built on it.

    Args:
        run: the kind of run (a key of ``DeviseConfig.runs``), which picks the config fields that shape it.
        name: the run's checkpoint and log name (``stage1_resnet34``, ``devise``, ...).
        inputs: the run's own shaping inputs that are not config fields (its backbone, classes, upstream run).

    Returns:
        The decision; ``decision.settings`` is what :func:`utils.training.checkpoints.record` writes after training.
    """
    decision = decide(checkpoint, run_settings(config, run, **inputs), config, name=name)
    learn.checkpoint_fingerprint = decision.fingerprint
    if not decision.trained:
        load_state_into(learn.model, checkpoint)
        learn.model.to(device)
    return decision


@dataclass
class TrainedModel:
    """A fastai ``Learner`` and what its training took.

    Attributes:
        epoch_seconds: every epoch of every phase, as recorded when it was trained (also when loaded).
        decision: why it was trained or loaded (:class:`utils.training.checkpoints.Decision`).
    """

    learn: Learner
    name: str
    trained: bool
    epoch_seconds: list[float] = field(default_factory=list)
    decision: Decision | None = None

    @property
    def fingerprint(self) -> str | None:
        return None if self.decision is None else self.decision.fingerprint


# --- embedding images ------------------------------------------------------------------------------


def feature_channels(body: nn.Module) -> int:
    """Channels of the body's feature maps, found by running one tiny image through it."""
    was_training = body.training
    body.eval()
    with torch.no_grad():
        parameter = next(body.parameters())
        channels = body(torch.zeros(1, 3, 64, 64, device=parameter.device, dtype=parameter.dtype)).shape[1]
    body.train(was_training)
    return int(channels)


def embed_paths(learn: Learner, paths: Sequence[Path]) -> np.ndarray:
    """The model's outputs for ``paths`` (validation transforms: no augmentation), float32 (n, dim)."""
    dl = learn.dls.test_dl(read_paths_of(learn.dls, paths))
    with learn.no_bar():
        outputs, _ = learn.get_preds(dl=dl)
    return outputs.float().numpy()

