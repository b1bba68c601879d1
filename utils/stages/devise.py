"""Training glue of notebooks 01–03: a stage-1 classifier and DeViSE on top of its body, with fastai.

Stage 1 trains ``BodyHeadModel(body, ClassifierHead)`` on the 40 seen classes (``train/`` and
``valid/`` of the split scripts). Stage 2 keeps the body, replaces the softmax head with a
:class:`models.semantic_head.SemanticHead` and regresses every image onto the word vector of its
label — first with the body frozen (phase 2a), then all of it with discriminative learning rates
(phase 2b). An image is then labelled with the nearest label vector, which may be an unseen class.
Frome et al., "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.

Every ``Learner`` writes under ``config.run_dir`` (``outputs/devise/<run label>``): ``checkpoints/<run>.pth``
(``SaveModelCallback``) with ``checkpoints/<run>.json`` beside it (the shaping settings, the resolved config,
the epoch timings), and ``logs/<run>.csv`` (:class:`RunLog`: every epoch of every phase). Each training
function loads its checkpoint instead of training while the settings that shape it are unchanged
(:mod:`utils.training.checkpoints`; the fields are listed below as ``*_RUN_FIELDS``); ``config.retrain`` forces
training. Each training seeds everything from ``config.seed`` first, so on the CPU the same settings give
bit-identical weights whatever ran before in the process.

Command line (the integration test calls :func:`run_devise` the same way)::

    python -m utils.stages.devise --profile smoke [--loss hinge_rank] [--no-oracle]
"""

from __future__ import annotations

import copy
import dataclasses
import random
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from fastai.callback.channelslast import ChannelsLast
from fastai.vision.all import (
    Callback,
    CategoryBlock,
    CrossEntropyLossFlat,
    DataBlock,
    DataLoaders,
    ImageBlock,
    IndexSplitter,
    ItemGetter,
    Learner,
    Normalize,
    Resize,
    SaveModelCallback,
    accuracy,
    aug_transforms,
    error_rate,
    imagenet_stats,
)
from torch import nn

from models.backbones import BodyHeadModel, ClassifierHead, body_head_splitter, count_parameters, create_body
from models.losses import build_embedding_loss
from models.semantic_head import SemanticHead
from utils.cli import ArgumentParser, cli_entry
from utils.config import DeviseConfig
from utils.datasets import load_awa2
from utils.metrics import (
    gamma_grid,
    gzsl_table_row,
    per_class_mean_accuracy,
    select_gamma,
    zsl_scores,
)
from utils.runtime import choose_device, mixed_precision_enabled, seed_everything, use_channels_last
from utils.splits.classes import choose_pseudo_unseen, hold_out_per_class
from utils.splits.copy_awa2 import copy_awa2
from utils.splits.move_awa2 import move_awa2
from utils.splits.settings import prepare_split_folder, record_split_settings
from utils.stages.embeddings import EmbeddingSet
from utils.training.checkpoints import (
    Decision,
    arrays_sha256,
    decide,
    load_state_into,
    read_metadata,
    record,
    shaping_settings,
)
from utils.training.threads import set_cpu_threads
from utils.word_vectors import class_word_matrix

Items = list[tuple[Path, str]]
"""``(image path, class name)`` pairs."""


# --- data ------------------------------------------------------------------------------------------


def ensure_split(config: DeviseConfig) -> Path:
    """``config.split_dir`` with ``train/``, ``valid/`` and ``test/`` of the config's split settings, made by the
    split scripts when missing or recorded with other settings (:mod:`utils.splits.settings`, which says so)."""
    split_dir = Path(config.split_dir)
    state = prepare_split_folder(config)
    if not state.up_to_date:
        print(state)
        copy_awa2(Path(config.awa2_dir), split_dir, images_per_class=config.images_per_class,
                  seed=config.seed, link=config.split_link, progress=False)
        move_awa2(split_dir, valid_fraction=config.valid_fraction, seed=config.seed, progress=False)
        record_split_settings(config)
    return split_dir


def folder_items(folder: Path, classes: Sequence[str] | None = None) -> Items:
    """Every ``folder/<class>/*.jpg`` as ``(path, class)``, sorted; only ``classes`` if given."""
    wanted = None if classes is None else set(classes)
    return [
        (path, path.parent.name)
        for path in sorted(Path(folder).glob("*/*.jpg"))
        if wanted is None or path.parent.name in wanted
    ]


def split_items_per_class(items: Items, fraction: float, seed: int) -> tuple[Items, Items]:
    """A seeded ``fraction`` of each class's items (at least one when a class has two) → second list
    (:func:`utils.splits.classes.hold_out_per_class`; class by class, in their given order within a class)."""
    kept, held_out = hold_out_per_class([name for _, name in items], fraction, seed)
    return [items[i] for i in kept], [items[i] for i in held_out]


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
    from utils.runtime import loader_options
    from utils.training.image_cache import image_cache_for

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


def label_vectors(config: DeviseConfig, class_names: Sequence[str]) -> np.ndarray:
    """Unit-length word vectors of ``class_names``, of shape (n_classes, dim) (50 GloVe, 300 fastText)."""
    return class_word_matrix(config.word_vectors, list(class_names))


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
    nothing.

    Args:
        fname: the file, relative to ``learn.path``.

    Attributes:
        phases: names given to the next fits, first first (``["frozen", "unfrozen"]`` before a
            ``fine_tune``); when it runs out, the last name stays.
        phase: the name of the current fit.
        epochs_logged: rows written so far in this run.
    """

    order = 60  # after the Recorder, as fastai's CSVLogger

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
        if hasattr(self, "gather_preds") or _finding_learning_rate(self):
            return
        if self.phases:
            self.phase = self.phases.pop(0)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.epochs_logged == 0
        self.file = self.log_path.open("w" if fresh else "a")
        if fresh:
            self.file.write(",".join(["phase", *self.recorder.metric_names]) + "\n")
        self.old_logger, self.learn.logger = self.learn.logger, self._write_line

    def _write_line(self, log) -> None:
        self.file.write(",".join([self.phase, str(self.epochs_logged), *(str(value) for value in list(log)[1:])]) + "\n")
        self.file.flush()
        self.epochs_logged += 1
        self.old_logger(log)

    def after_fit(self):
        if self.file is None:
            return
        self.file.close()
        self.file = None
        self.learn.logger = self.old_logger


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


class EmbeddingSnapshots(Callback):
    """After every epoch, embed a fixed set of probe images and keep the result (for the PCA animation).

    The probe pass leaves every random generator as it found it (:func:`random_state_kept`), so the
    trained weights do not depend on which or how many images are probed.

    Args:
        probe_dl: a fastai test ``DataLoader`` of the probe images (``dls.test_dl(paths)``).

    Attributes:
        snapshots: list of float32 arrays of shape (n_probe, embedding_dim), one per epoch.
        phases: the ``phase`` label (``"2a"``, ``"2b"``) in force when each snapshot was taken.
    """

    def __init__(self, probe_dl):
        self.probe_dl = probe_dl
        self.phase = ""
        self.snapshots: list[np.ndarray] = []
        self.phases: list[str] = []

    def after_epoch(self):
        model = self.learn.model
        was_training = model.training
        model.eval()
        with torch.no_grad(), random_state_kept():
            outputs = [model(batch[0]).float().cpu() for batch in self.probe_dl]
        model.train(was_training)
        self.snapshots.append(torch.cat(outputs).numpy())
        self.phases.append(self.phase)


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


# --- which settings shape which run --------------------------------------------------------------------

DATA_FIELDS = ("awa2_dir", "split_dir", "images_per_class", "valid_fraction", "image_size", "seed")
"""Which images are trained on, at what size, and the seed of the split, data order, augmentation and initial
weights (``split_dir``: another folder may hold another split)."""
CLASSIFIER_FIELDS = ("pretrained", "batch_size", "stage1_epochs", "stage1_learning_rate", "mixed_precision")
"""Stage 1's own training: starting weights, batches, epochs, learning rate, float16 on CUDA."""
VALIDATION_FIELDS = ("n_validation_classes", "validation_holdout_fraction")
"""Which seen classes become pseudo-unseen, and which of the others' images are held out (the γ runs)."""
DEVISE_FIELDS = ("word_vectors", "head_epochs", "head_learning_rate", "unfrozen_epochs", "body_learning_rate",
                 "unfrozen_learning_rate", "loss", "margin", "semantic_hidden")
"""Stage 2: the regression targets, both phases' training, the loss and the head's width."""
ORACLE_FIELDS = ("oracle_epochs", "oracle_batch_size", "oracle_test_fraction")
"""The supervised reference: its training and which unseen images it holds out."""

STAGE1_RUN_FIELDS = DATA_FIELDS + CLASSIFIER_FIELDS
"""``stage1_<backbone>``; the backbone is the run's own (notebook 01 trains several), recorded beside them."""
VALIDATION_STAGE1_RUN_FIELDS = STAGE1_RUN_FIELDS + VALIDATION_FIELDS
"""``validation_stage1_<backbone>``: stage 1 on the γ run's classes and images."""
DEVISE_RUN_FIELDS = STAGE1_RUN_FIELDS + ("backbone",) + DEVISE_FIELDS
"""``devise``: the body of ``stage1_<config.backbone>`` and its training, then stage 2."""
VALIDATION_DEVISE_RUN_FIELDS = VALIDATION_STAGE1_RUN_FIELDS + ("backbone",) + DEVISE_FIELDS
"""``validation_devise``: stage 2 on the γ run's stage 1."""
ORACLE_RUN_FIELDS = STAGE1_RUN_FIELDS + ORACLE_FIELDS
"""``oracle_<backbone>``: starts from the stage-1 body (its fingerprint is recorded too), then its own training."""


def shaping_fields(name: str) -> tuple[str, ...]:
    """The config fields that shape run ``name``: a change to any of them makes its checkpoint stale."""
    if name.startswith("validation"):
        return VALIDATION_DEVISE_RUN_FIELDS if "devise" in name else VALIDATION_STAGE1_RUN_FIELDS
    if name.startswith("oracle"):
        return ORACLE_RUN_FIELDS
    return DEVISE_RUN_FIELDS if "devise" in name else STAGE1_RUN_FIELDS


def run_settings(config: DeviseConfig, name: str, **extra: Any) -> dict[str, Any]:
    """The shaping settings of run ``name``: its fields' values (:func:`shaping_fields`) and ``extra`` inputs,
    plus the image cache's side when the cache is on (:func:`utils.training.image_cache.image_cache_settings`)."""
    from utils.training.image_cache import image_cache_settings

    return shaping_settings(config, shaping_fields(name), **image_cache_settings(config), **extra)


def read_run_info(config: DeviseConfig, name: str) -> dict[str, Any]:
    """The metadata recorded beside run ``name``'s final checkpoint (settings, config, ``epoch_seconds``); ``{}`` if none."""
    checkpoint = checkpoint_path(config, f"{name}_2b" if "devise" in name else name)
    return read_metadata(checkpoint) or {}


def _fit(learn: Learner, fit: str, epochs: int, learning_rate: Any, callbacks: list, phase: str | None = None) -> None:
    """``fine_tune`` (logged as phases ``frozen`` + ``unfrozen``) or ``fit_one_cycle`` (logged as ``phase``)."""
    run_log = getattr(learn, "run_log", None)
    if run_log is not None:
        run_log.phases = ["frozen", "unfrozen"] if fit == "fine_tune" else [phase or fit]
    with learn.no_bar():
        if fit == "fine_tune":
            learn.fine_tune(epochs, learning_rate, cbs=callbacks)
        else:
            learn.fit_one_cycle(epochs, learning_rate, cbs=callbacks)


def _start_run(learn: Learner) -> None:
    """A fresh log and epoch timer for a run about to train."""
    learn.run_log.reset()
    learn.epoch_timer.reset()


def _decide_or_load(
    learn: Learner, config: DeviseConfig, name: str, checkpoint: Path, settings: dict[str, Any],
    device: torch.device | str,
) -> Decision:
    """Decide whether run ``name`` trains (:mod:`utils.training.checkpoints`); when it does not, load its weights into
    ``learn``. The decision's fingerprint is kept on ``learn`` as the upstream input of runs built on it."""
    decision = decide(checkpoint, settings, config, name=name)
    learn.checkpoint_fingerprint = decision.fingerprint
    if not decision.trained:
        load_state_into(learn.model, checkpoint)
        learn.model.to(device)
    return decision


# --- stage 1 ------------------------------------------------------------------------------------------


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
) -> TrainedModel:
    """Stage 1: fit (or load) a softmax classifier over ``class_names`` with one-cycle training.

    Pretrained bodies are fine-tuned the fastai way (head first, then all); bodies trained from
    scratch get ``fit_one_cycle`` on everything. The checkpoint is reused only while the settings of
    :func:`shaping_fields` (plus ``backbone`` and ``initial_fingerprint``) are unchanged
    (:mod:`utils.training.checkpoints`). Everything random is seeded from ``config.seed`` first, so the run is the same
    whatever ran before it in the process.

    Args:
        backbone: a key of ``models.backbones.BACKBONES``.
        name: checkpoint and log name (``checkpoints/<name>.pth``).
        initial_body: start from a copy of this body instead of a fresh one (the oracle does).
        epochs: overrides ``config.stage1_epochs``.
        save_best: keep the epoch with the lowest validation loss (``SaveModelCallback``); ``False``
            when the validation images are test images (the oracle), so no choice is made on them.
        initial_fingerprint: the fingerprint of ``initial_body``'s run (a shaping input of this one).
    """
    seed_everything(config.seed)
    learn = classifier_learner(config, backbone, train_items, valid_items, class_names, name, device, initial_body)
    checkpoint = checkpoint_path(config, name)
    extra: dict[str, Any] = {"backbone": backbone, "classes": list(class_names)}
    if epochs is not None:
        extra["epochs"] = epochs
    if initial_fingerprint is not None:
        extra["initial_body"] = initial_fingerprint
    settings = run_settings(config, name, **extra)
    decision = _decide_or_load(learn, config, name, checkpoint, settings, device)
    if not decision.trained:
        return TrainedModel(learn, name, False, read_metadata(checkpoint).get("epoch_seconds", []), decision)
    _start_run(learn)
    callbacks = [SaveModelCallback(monitor="valid_loss", fname=name)] if save_best else []
    fit = "fine_tune" if config.pretrained and initial_body is None else "one_cycle"
    _fit(learn, fit, epochs or config.stage1_epochs, config.stage1_learning_rate, callbacks)
    if not save_best:
        learn.save(name, with_opt=False)
    epoch_seconds = list(learn.epoch_timer.epoch_seconds)
    record(checkpoint, settings, config, epoch_seconds=epoch_seconds)
    return TrainedModel(learn, name, True, epoch_seconds, decision)


def stage1_items(config: DeviseConfig) -> tuple[Items, Items, list[str]]:
    """``(train items, valid items, seen class names)`` from the split folders (made if missing)."""
    split_dir = ensure_split(config)
    seen_classes = list(load_awa2(config.awa2_dir).seen_classes)
    return folder_items(split_dir / "train", seen_classes), folder_items(split_dir / "valid", seen_classes), seen_classes


def fit_stage1(config: DeviseConfig, backbone: str | None = None, device: torch.device | str = "cpu") -> TrainedModel:
    """The stage-1 classifier of ``backbone`` (default ``config.backbone``) on the seen classes."""
    backbone = backbone or config.backbone
    train_items, valid_items, seen_classes = stage1_items(config)
    return train_classifier(config, backbone, train_items, valid_items, seen_classes, f"stage1_{backbone}", device)


def classifier_accuracy(learn: Learner, dl=None) -> dict[str, float]:
    """Per-image accuracy, error rate and per-class mean accuracy on ``dl`` (default: the validation set)."""
    with learn.no_bar():
        predictions, targets = learn.get_preds(dl=dl)
    predicted = predictions.argmax(1).numpy()
    targets = targets.numpy()
    per_image = float((predicted == targets).mean())
    return {"accuracy": per_image, "error_rate": 1.0 - per_image,
            "per_class_mean_accuracy": per_class_mean_accuracy(predicted, targets)}


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


# --- stage 2 ------------------------------------------------------------------------------------------


def nearest_label_accuracy(image_embeddings: torch.Tensor, labels: torch.Tensor, class_word_vectors: torch.Tensor):
    """Share of images whose nearest label vector (cosine) is their own: the seen-class accuracy of DeViSE."""
    vectors = class_word_vectors.to(image_embeddings.device)
    scores = nn.functional.normalize(image_embeddings.float(), dim=1) @ vectors.T
    return (scores.argmax(1) == labels).float().mean()


def train_devise(
    config: DeviseConfig, stage1: Learner, train_items: Items, valid_items: Items, class_names: Sequence[str],
    class_word_vectors: np.ndarray, name: str = "devise", device: torch.device | str = "cpu",
    probe_paths: Sequence[Path] | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """Stage 2: the stage-1 body with a semantic head, trained onto the label vectors in two phases.

    Phase 2a trains the head alone (``learn.freeze()``: the body's weights stay, its BatchNorm layers
    adapt); phase 2b trains everything with ``slice(body_learning_rate, unfrozen_learning_rate)``, so
    the body moves ten to a hundred times less than the new head. Both phases go to one log,
    ``logs/<name>.csv``. The checkpoint ``<name>_2b.pth`` is reused only while the settings of
    :func:`shaping_fields`, the classes, their label vectors and the stage-1 run are unchanged.

    Args:
        stage1: the stage-1 learner whose body is copied.
        class_names: the classes trained on (the vocabulary); ``class_word_vectors`` has one row per name.
        class_word_vectors: array of shape (len(class_names), embedding_dim).
        name: checkpoints ``<name>_2a.pth`` and ``<name>_2b.pth``.
        probe_paths: images embedded after every epoch (the PCA animation); ``None``: none.

    Returns:
        ``(trained, snapshots)`` where ``snapshots`` holds ``embeddings`` of shape
        (n_epochs, n_probe, embedding_dim), ``phases`` and ``paths`` (saved as ``<name>_snapshots.npz``).
    """
    seed_everything(config.seed)
    set_cpu_threads(config.cpu_threads)
    n_features = feature_channels(stage1.model.body)
    dls = image_dataloaders(train_items, valid_items, class_names, config, device)
    vectors = torch.as_tensor(class_word_vectors, dtype=torch.float32)
    model = BodyHeadModel(copy.deepcopy(stage1.model.body),
                          SemanticHead(n_features, vectors.shape[1], hidden=config.semantic_hidden))
    loss = build_embedding_loss(config.loss, vectors, config.margin)
    metric = partial(nearest_label_accuracy, class_word_vectors=nn.functional.normalize(vectors, dim=1))
    learn = build_learner(dls, model, loss, [metric], config, name, device)
    snapshot_file = Path(config.run_dir) / f"{name}_snapshots.npz"
    checkpoint = checkpoint_path(config, f"{name}_2b")
    extra: dict[str, Any] = {"classes": list(class_names), "class_word_vectors_sha256": arrays_sha256(vectors)}
    upstream = getattr(stage1, "checkpoint_fingerprint", None)
    if upstream is not None:
        extra["stage1"] = upstream
    settings = run_settings(config, name, **extra)
    decision = _decide_or_load(learn, config, name, checkpoint, settings, device)
    if not decision.trained:
        snapshots = dict(np.load(snapshot_file)) if snapshot_file.exists() else {}
        return TrainedModel(learn, name, False, read_metadata(checkpoint).get("epoch_seconds", []), decision), snapshots

    _start_run(learn)
    snapshot_file.unlink(missing_ok=True)
    callbacks = []
    snapshot_callback = None
    if probe_paths:
        with random_state_kept():  # making a DataLoader draws from ``random``
            snapshot_callback = EmbeddingSnapshots(dls.test_dl(read_paths_of(dls, probe_paths)))
        callbacks.append(snapshot_callback)
    learn.freeze()
    if snapshot_callback:
        snapshot_callback.phase = "2a"
    _fit(learn, "one_cycle", config.head_epochs, config.head_learning_rate,
         [*callbacks, SaveModelCallback(monitor="valid_loss", fname=f"{name}_2a")], phase="2a")
    learn.unfreeze()
    if snapshot_callback:
        snapshot_callback.phase = "2b"
    _fit(learn, "one_cycle", config.unfrozen_epochs, slice(config.body_learning_rate, config.unfrozen_learning_rate),
         [*callbacks, SaveModelCallback(monitor="valid_loss", fname=f"{name}_2b")], phase="2b")
    epoch_seconds = list(learn.epoch_timer.epoch_seconds)
    snapshots = {}
    if snapshot_callback:
        snapshots = {"embeddings": np.stack(snapshot_callback.snapshots), "phases": np.array(snapshot_callback.phases),
                     "paths": np.array([str(path) for path in probe_paths])}
        np.savez(snapshot_file, **snapshots)
    record(checkpoint, settings, config, epoch_seconds=epoch_seconds)
    return TrainedModel(learn, name, True, epoch_seconds, decision), snapshots


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


def embedding_set(
    learn: Learner, seen_valid_items: Items, unseen_test_items: Items, class_names: Sequence[str],
    class_word_vectors: np.ndarray, seen_classes: Sequence[str],
) -> EmbeddingSet:
    """Embed held-out seen images and every unseen image into one :class:`EmbeddingSet` over all classes."""
    items = list(seen_valid_items) + list(unseen_test_items)
    index = {name: position for position, name in enumerate(class_names)}
    return EmbeddingSet(
        image_embeddings=embed_paths(learn, [path for path, _ in items]),
        image_paths=[display_path(path) for path, _ in items],
        labels=[index[name] for _, name in items],
        split=["seen_valid"] * len(seen_valid_items) + ["unseen_test"] * len(unseen_test_items),
        class_names=list(class_names),
        class_word_vectors=class_word_vectors,
        seen_class_mask=np.isin(list(class_names), list(seen_classes)),
    )


def display_path(path: Path) -> str:
    from utils.config import REPO_ROOT

    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def zero_shot_scores(embeddings: EmbeddingSet) -> dict[str, float]:
    """T1 (per-class mean top-1) and hit@5 of the unseen images among the unseen labels only."""
    unseen = embeddings.split == "unseen_test"
    unseen_classes = embeddings.unseen_classes
    scores = embeddings.subset(unseen).scores()[:, unseen_classes]
    return zsl_scores(scores, embeddings.labels[unseen], unseen_classes)


def evaluate_embeddings(embeddings: EmbeddingSet, gamma: float = 0.0) -> dict[str, float]:
    """ZSL (T1, hit@5 among the unseen labels) on the unseen images; GZSL U, S, H over all labels.

    GZSL is reported twice: uncalibrated (γ = 0) and with the calibration ``gamma`` chosen on
    validation data (:func:`choose_gamma`).
    """
    zsl = zero_shot_scores(embeddings)
    return {
        "T1": zsl["top1"], "hit@5": zsl.get("hit_at_5", float("nan")), "chance T1": 1.0 / len(embeddings.unseen_classes),
        **gzsl_table_row(embeddings.scores(), embeddings.labels, embeddings.seen_class_mask, gamma),
    }


def choose_gamma(
    config: DeviseConfig, train_items: Items, valid_items: Items, seen_classes: Sequence[str],
    class_word_vectors_by_name: dict[str, np.ndarray], device: torch.device | str = "cpu",
) -> tuple[float, list[dict[str, float]], list[str]]:
    """Calibrated-stacking γ chosen on seen classes only, never on test images (as notebook 05 does).

    ``config.n_validation_classes`` seen classes become pseudo-unseen. A whole stage 1 + stage 2 is
    trained on the other seen classes (minus a held-out share of their training images); the held-out
    images and all training images of the pseudo-unseen classes are scored over the 40 seen labels,
    and :func:`utils.metrics.select_gamma` picks the γ of highest H. The stage-1 body is retrained too:
    the body of record has seen the pseudo-unseen classes with labels, which would make them look seen.

    Returns:
        ``(gamma, table, validation_classes)``.
    """
    validation_classes = list(choose_pseudo_unseen(seen_classes, config.n_validation_classes,
                                                   np.random.default_rng(config.seed)))
    train_classes = [name for name in seen_classes if name not in validation_classes]
    fit_items, held_out = split_items_per_class(
        [item for item in train_items if item[1] in train_classes], config.validation_holdout_fraction, config.seed)
    monitor_items = [item for item in valid_items if item[1] in train_classes]
    stage1 = train_classifier(config, config.backbone, fit_items, monitor_items, train_classes,
                              f"validation_stage1_{config.backbone}", device)
    train_vectors = np.stack([class_word_vectors_by_name[name] for name in train_classes])
    devise, _ = train_devise(config, stage1.learn, fit_items, monitor_items, train_classes, train_vectors,
                             name="validation_devise", device=device)
    candidates = list(seen_classes)
    scoring_items = held_out + [item for item in train_items if item[1] in validation_classes]
    embeddings = EmbeddingSet(
        image_embeddings=embed_paths(devise.learn, [path for path, _ in scoring_items]),
        image_paths=[str(path) for path, _ in scoring_items],
        labels=[candidates.index(name) for _, name in scoring_items],
        split=["seen_valid"] * len(scoring_items),
        class_names=candidates,
        class_word_vectors=np.stack([class_word_vectors_by_name[name] for name in candidates]),
        seen_class_mask=np.isin(candidates, train_classes),
    )
    scores = embeddings.scores()
    gamma, table = select_gamma(scores, embeddings.labels, embeddings.seen_class_mask,
                                gamma_grid(scores, embeddings.seen_class_mask, config.n_gammas))
    return gamma, table, validation_classes


def train_oracle(
    config: DeviseConfig, stage1: Learner, unseen_items: Items, unseen_classes: Sequence[str],
    device: torch.device | str = "cpu",
) -> tuple[float, Items]:
    """The supervised reference: the stage-1 body fine-tuned *with* labels of the unseen classes.

    A seeded ``config.oracle_test_fraction`` of each unseen class is held out; a classifier over the
    unseen classes, started from the stage-1 body, trains on the rest. Its per-class mean accuracy on
    the held-out images is what zero-shot T1 (on the same images) could at best approach.

    Returns:
        ``(per-class mean accuracy, held-out items)``.
    """
    train_items, test_items = split_items_per_class(unseen_items, config.oracle_test_fraction, config.seed)
    config = dataclasses.replace(config, batch_size=config.oracle_batch_size)
    oracle = train_classifier(config, config.backbone, train_items, test_items, unseen_classes,
                              f"oracle_{config.backbone}", device, initial_body=stage1.model.body,
                              epochs=config.oracle_epochs, save_best=False,
                              initial_fingerprint=getattr(stage1, "checkpoint_fingerprint", None))
    return classifier_accuracy(oracle.learn)["per_class_mean_accuracy"], test_items


# --- the whole pipeline --------------------------------------------------------------------------------


EMBEDDINGS_FILE = "embeddings.npz"


def save_embeddings(embeddings: EmbeddingSet, config: DeviseConfig, devise: TrainedModel) -> Path:
    """Write ``<run_dir>/embeddings.npz`` and, beside it, the fingerprint of the DeViSE run that made it
    (``embeddings.json``, :func:`utils.training.checkpoints.record`), so notebooks 03 and 04 know whether it is current."""
    path = embeddings.save(Path(config.run_dir) / EMBEDDINGS_FILE)
    record(path, {"devise": devise.fingerprint}, config)
    return path


@dataclass
class DeviseEmbeddings:
    """What :func:`devise_embeddings` gives notebooks 02–04: the two stages and what they embed.

    Attributes:
        embeddings: the held-out seen and all unseen images' embeddings (:class:`EmbeddingSet`).
        embeddings_file: where they are saved.
        snapshots: the PCA probe images' embeddings per epoch (``embeddings`` of shape (n_epochs, n_probe, dim),
            ``phases``, ``paths``); empty if none were recorded.
        stage1, devise: the trained (or loaded) models.
        items: ``{"train", "valid", "unseen"}`` image items; vector_of: label vector of each class name.
    """

    embeddings: EmbeddingSet
    embeddings_file: Path
    snapshots: dict[str, Any]
    stage1: TrainedModel
    devise: TrainedModel
    items: dict[str, Items]
    seen_classes: list[str]
    vector_of: dict[str, np.ndarray]


def devise_embeddings(config: DeviseConfig, device: torch.device | str = "cpu") -> DeviseEmbeddings:
    """Stage 1 and stage 2 of ``config``, each loaded while its settings are unchanged (else trained, saying why),
    and the embeddings of that DeViSE model: ``embeddings.npz`` is reused only while the same model wrote it.

    Notebooks 03 and 04 call this instead of trusting whatever ``embeddings.npz`` is on disk, so a knob turned in
    their config cell takes effect there too.
    """
    seed_everything(config.seed)
    awa2 = load_awa2(config.awa2_dir)
    train_items, valid_items, seen_classes = stage1_items(config)
    unseen_items = folder_items(Path(config.split_dir) / "test", awa2.unseen_classes)
    all_vectors = label_vectors(config, awa2.class_names)
    vector_of = dict(zip(awa2.class_names, all_vectors, strict=True))
    stage1 = fit_stage1(config, device=device)
    seen_vectors = np.stack([vector_of[name] for name in seen_classes])
    probe_paths = [path for path, name in valid_items if name in config.pca_classes]
    devise, snapshots = train_devise(config, stage1.learn, train_items, valid_items, seen_classes, seen_vectors,
                                     device=device, probe_paths=probe_paths)
    embeddings_file = Path(config.run_dir) / EMBEDDINGS_FILE
    recorded = read_metadata(embeddings_file)
    if recorded is not None and recorded.get("settings", {}).get("devise") == devise.fingerprint:
        print(f"embeddings: loaded: made by this DeViSE model ({embeddings_file})")
        embeddings = EmbeddingSet.load(embeddings_file)
    else:
        print("embeddings: computing: " + ("no embeddings of this DeViSE model yet" if recorded is None
                                           else "the saved ones come from another DeViSE model"))
        embeddings = embedding_set(devise.learn, valid_items, unseen_items, awa2.class_names, all_vectors, seen_classes)
        save_embeddings(embeddings, config, devise)
    return DeviseEmbeddings(embeddings, embeddings_file, snapshots, stage1, devise,
                            {"train": train_items, "valid": valid_items, "unseen": unseen_items},
                            list(seen_classes), vector_of)


def run_devise(config: DeviseConfig, device: torch.device | str = "cpu", oracle: bool = True) -> dict[str, Any]:
    """Stage 1, stage 2, γ on validation classes, ZSL/GZSL evaluation, embeddings file, oracle.

    Returns:
        ``{"figures": {...}, "embeddings_file": Path, "stage1": TrainedModel, "devise": TrainedModel}``.
    """
    made = devise_embeddings(config, device)
    embeddings, items = made.embeddings, made.items
    gamma, _, _ = choose_gamma(config, items["train"], items["valid"], made.seen_classes, made.vector_of, device)
    figures = {"stage-1 accuracy": classifier_accuracy(made.stage1.learn)["accuracy"],
               **evaluate_embeddings(embeddings, gamma)}
    if oracle:
        unseen_classes = list(load_awa2(config.awa2_dir).unseen_classes)
        oracle_accuracy, oracle_test_items = train_oracle(config, made.stage1.learn, items["unseen"], unseen_classes, device)
        held_out = np.isin(embeddings.image_paths, [display_path(path) for path, _ in oracle_test_items])
        figures["oracle accuracy"] = oracle_accuracy
        figures["T1 (oracle's test images)"] = zero_shot_scores(embeddings.subset(held_out))["top1"]
    return {"figures": figures, "embeddings_file": made.embeddings_file, "stage1": made.stage1, "devise": made.devise}


@cli_entry("python -m utils.stages.devise")
def main(argv: Sequence[str] | None = None) -> int:
    """Train (or load) stages 1 and 2 of a profile and print the figures; errors are one line (:mod:`utils.cli`)."""
    parser = ArgumentParser(prog="python -m utils.stages.devise", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="smoke | sample | full (default: $ZSL_PROFILE)")
    parser.add_argument("--loss", default=None, choices=["cosine", "hinge_rank"], help="default: the profile's")
    parser.add_argument("--no-oracle", action="store_true", help="skip the supervised reference")
    arguments = parser.parse_args(argv)
    overrides = {"loss": arguments.loss} if arguments.loss else {}
    config = DeviseConfig.for_profile(arguments.profile, **overrides)
    result = run_devise(config, choose_device(config.device), oracle=not arguments.no_oracle)
    for key, value in result["figures"].items():
        print(f"{key:28s} {value:.4f}" if isinstance(value, float) else f"{key:28s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
