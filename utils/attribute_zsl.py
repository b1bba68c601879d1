"""Training and evaluation glue for attribute-based zero-shot learning (notebook 05).

Two input modes share everything after the features:

* **images** — a backbone and an attribute head trained end to end on an AwA2-format folder
  (seed A: direct attribute prediction with sigmoid + BCE, Lampert et al., TPAMI 2014);
* **features** — a regressor trained on the features of an xlsa17 ``res101.mat`` + ``att_splits.mat``
  pair (Xian et al., TPAMI 2018), where the losses of ReZSL (Ye et al., "Rebalanced Zero-shot
  Learning", IEEE TIP 2023, arXiv 2210.07031) are compared.

Evaluation follows Xian et al.: ZSL per-class mean top-1 among unseen classes; GZSL U, S, H among
all classes with calibrated stacking (Chao et al., ECCV 2016) whose γ is chosen on a validation
split carved out of the seen classes, never on test data; AUSUC over the γ sweep.

``python -m utils.attribute_zsl --profile full --dataset CUB`` runs the feature-mode loss comparison
on real xlsa17 files and prints the table.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from models.attribute_head import AttributeHead, AttributeRegressor, nearest_class_scores
from models.losses import REZSL_HYPERPARAMETERS, build_attribute_loss
from utils.checkpoints import (
    Decision,
    arrays_sha256,
    decide,
    load_state_into,
    record,
    save_weights,
    shaping_settings,
)
from utils.cli import ArgumentParser, cli_entry
from utils.metrics import ausuc, gzsl_scores, seen_unseen_curve, select_gamma, zsl_scores
from utils.runtime import (
    data_loader_generator,
    loader_options,
    mixed_precision_enabled,
    seed_everything,
    seed_worker,
    use_channels_last,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PRELOAD_LIMIT_BYTES = 1 << 30
"""Image sets smaller than this (as uint8) are decoded once into memory; larger ones are read lazily."""


# ---------------------------------------------------------------------------------------------- splits


def split_images(
    labels: np.ndarray,
    seen_classes: Sequence[int],
    unseen_classes: Sequence[int],
    test_seen_fraction: float = 0.2,
    n_validation_classes: int = 10,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """An xlsa17-style split of an image set: trainval / test_seen / test_unseen, and train / val.

    Every image of an unseen class goes to ``test_unseen``; a seeded ``test_seen_fraction`` of each
    seen class to ``test_seen``, the rest to ``trainval``. ``n_validation_classes`` seen classes,
    chosen with the seed, are the pseudo-unseen validation classes: ``val`` holds their trainval
    images and ``train`` the trainval images of the other seen classes, so train and val partition
    trainval (as in xlsa17's clean ``att_splits_trainval_fixed_2020.mat``).

    Args:
        labels: class index of every image, of shape (n_images,).
        seen_classes: class indices trained on.
        unseen_classes: class indices never trained on.
        test_seen_fraction: share of each seen class held out for GZSL testing.
        n_validation_classes: how many seen classes become validation classes.
        seed: seed of the choice.

    Returns:
        ``{"trainval", "test_seen", "test_unseen", "train", "val"}`` → sorted 0-based image indices,
        and ``"validation_classes"`` → the sorted validation class indices.
    """
    labels = np.asarray(labels)
    generator = np.random.default_rng(seed)
    trainval, test_seen = [], []
    for class_index in seen_classes:
        images = generator.permutation(np.flatnonzero(labels == class_index))
        n_test = int(round(test_seen_fraction * images.size))
        test_seen.append(images[:n_test])
        trainval.append(images[n_test:])
    trainval_indices = np.sort(np.concatenate(trainval))
    validation_classes = np.sort(generator.choice(np.asarray(seen_classes), n_validation_classes, replace=False))
    is_val = np.isin(labels[trainval_indices], validation_classes)
    return {
        "trainval": trainval_indices,
        "test_seen": np.sort(np.concatenate(test_seen)),
        "test_unseen": np.flatnonzero(np.isin(labels, np.asarray(unseen_classes))),
        "train": trainval_indices[~is_val],
        "val": trainval_indices[is_val],
        "validation_classes": validation_classes,
    }


def first_per_class(labels: np.ndarray, images_per_class: int | None) -> np.ndarray:
    """Indices of the first ``images_per_class`` images of every class (all images if ``None``), sorted."""
    labels = np.asarray(labels)
    if images_per_class is None:
        return np.arange(labels.size)
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:images_per_class] for c in np.unique(labels)]))


def hold_out_per_class(indices: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split image ``indices`` into (kept, held_out), holding out a seeded ``fraction`` of each class."""
    generator = np.random.default_rng(seed)
    kept, held_out = [], []
    for class_index in np.unique(labels[indices]):
        members = generator.permutation(indices[labels[indices] == class_index])
        n_out = max(1, int(round(fraction * members.size))) if members.size > 1 else 0
        held_out.append(members[:n_out])
        kept.append(members[n_out:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held_out))


# ---------------------------------------------------------------------------------------------- images


def read_image(path: str | Path, side: int) -> np.ndarray:
    """An RGB image resized to (side, side), as uint8 of shape (3, side, side) (contiguous and writable)."""
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB").resize((side, side), Image.BILINEAR), dtype=np.uint8)
    return np.ascontiguousarray(array.transpose(2, 0, 1))


class ImageFiles(Dataset):
    """Images read from their paths, with labels; decoded once into memory when small enough.

    Items are ``(uint8 tensor of shape (3, side, side), label)``; :func:`to_network_input` turns a
    batch into normalised floats on the device.

    Args:
        paths: the source images (``self.paths`` keeps them, e.g. for the names of an xlsa17 export).
        labels: one label (or target row) per image.
        side: the square input side in pixels.
        image_cache: an :class:`utils.image_cache.ImageCache` (e.g. ``image_cache_for(config)``): its stale
            entries are built first, and each image is read from its cached copy where one is fresh
            (``self.read_paths``); ``None`` reads the sources.
        preload: decode everything into memory now (``None``: when it takes at most :data:`PRELOAD_LIMIT_BYTES`).
    """

    def __init__(self, paths: Sequence[str | Path], labels: np.ndarray, side: int, image_cache: Any = None,
                 preload: bool | None = None):
        self.paths, self.labels, self.side = list(paths), torch.as_tensor(np.asarray(labels)), side
        self.read_paths = list(self.paths) if image_cache is None else image_cache.paths_for(self.paths)
        self.cache: torch.Tensor | None = None
        if preload is None:
            preload = len(self.paths) * 3 * side * side <= PRELOAD_LIMIT_BYTES
        if preload:
            self.cache = torch.from_numpy(np.stack([read_image(path, side) for path in self.read_paths]))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cache is not None:
            return self.cache[index], self.labels[index]
        return torch.from_numpy(read_image(self.read_paths[index], self.side)), self.labels[index]


def to_network_input(batch: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """uint8 images (batch, 3, H, W) → ImageNet-normalised floats; float features pass through."""
    batch = batch.to(device, non_blocking=True)
    if batch.dtype != torch.uint8:
        return batch.float()
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return (batch.float() / 255.0 - mean) / std


# ---------------------------------------------------------------------------------------------- training


class ImageBatches:
    """Batches of ``(inputs, labels)``: by tensor indexing when the data sit in memory, else a DataLoader.

    Indexing whole tensors avoids the per-item collation of a DataLoader, which dominates the time
    of a small regressor on features. Images read lazily go through one DataLoader kept for every epoch, with
    :func:`utils.runtime.loader_options` for ``device``: decoding workers from the core count and pinned memory
    on CUDA, the main process on the CPU (the batches are the same either way: the order comes from ``seed``).
    """

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0,
                 device: torch.device | str = "cpu", workers: int | None = None):
        self.batch_size, self.shuffle = batch_size, shuffle
        self.options = loader_options(device)
        if workers is not None:
            self.options.update(num_workers=workers, persistent_workers=workers > 0)
            if workers == 0:
                self.options.pop("persistent_workers")
        self.loader: DataLoader | None = None
        self.generator = data_loader_generator(seed)
        self.tensors = None
        if isinstance(dataset, TensorDataset):
            self.tensors = dataset.tensors
        elif isinstance(dataset, ImageFiles) and dataset.cache is not None:
            self.tensors = (dataset.cache, dataset.labels)
        self.dataset = dataset
        self.drop_last = shuffle and len(dataset) > batch_size

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        if self.tensors is None:
            if self.loader is None:
                self.loader = DataLoader(
                    self.dataset, batch_size=self.batch_size, shuffle=self.shuffle, drop_last=self.drop_last,
                    generator=self.generator, worker_init_fn=seed_worker, **self.options,
                )
            yield from self.loader
            return
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for batch in range(len(self)):
            chosen = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            yield tuple(tensor[chosen] for tensor in self.tensors)


def train_attribute_model(
    model: nn.Module,
    dataset: Dataset,
    class_attribute_vectors: torch.Tensor,
    loss: nn.Module,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float = 0.0,
    schedule: str = "one_cycle",
    device: torch.device | str = "cpu",
    seed: int = 0,
    log_path: Path | None = None,
    verbose: bool = True,
    threads: int | None = None,
    mixed_precision: bool = False,
) -> list[dict[str, float]]:
    """Train ``model`` so that ``loss(model(x), y, class_attribute_vectors)`` falls.

    Images (uint8 items) are flipped left-right at random; features are used as they are. On CUDA images
    go ``channels_last`` and lazily read files are decoded by worker processes (:class:`ImageBatches`).

    Args:
        model: maps a batch of inputs to attribute outputs of shape (batch, n_attributes).
        dataset: items ``(input, label)``, labels indexing the rows of ``class_attribute_vectors``.
        class_attribute_vectors: targets of shape (n_train_classes, n_attributes).
        loss: an attribute loss of ``models.losses``.
        epochs, batch_size, learning_rate, weight_decay: the usual (AdamW; ``weight_decay=0`` is Adam).
        schedule: ``one_cycle`` (warm-up then cosine decay, for short runs) or ``constant`` (seed A).
        device: where to train.
        seed: seeds the batch order.
        log_path: a CSV of epoch, mean loss and seconds (written if given).
        verbose: print one line per epoch.
        threads: torch CPU threads while training (``None``: unchanged). Small models gain nothing
            from several threads, and on a shared CPU their synchronisation can stall for seconds.
        mixed_precision: the forward pass under ``torch.autocast`` float16 and a gradient scaler, on CUDA only
            (ignored on the CPU; the loss is computed in float32).

    Returns:
        One ``{"epoch", "loss", "seconds"}`` row per epoch.
    """
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _train(model, dataset, class_attribute_vectors, loss, epochs, batch_size, learning_rate,
                      weight_decay, schedule, device, seed, log_path, verbose, mixed_precision)
    finally:
        torch.set_num_threads(previous_threads)


def adamw_with_schedule(
    model: nn.Module, learning_rate: float, weight_decay: float, schedule: str, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """AdamW and, for ``schedule="one_cycle"``, a one-cycle schedule over ``total_steps`` (``None`` for ``constant``).

    Raises:
        ValueError: for another schedule name.
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    if schedule == "one_cycle":
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=total_steps)
    if schedule != "constant":
        raise ValueError(f"schedule must be 'one_cycle' or 'constant', not {schedule!r}")
    return optimizer, None


class MixedPrecision:
    """float16 autocast and a gradient scaler on CUDA; on the CPU (or when not requested) plain float32 steps.

    ``step(optimizer, loss)`` does ``backward`` and the optimizer step, scaled when enabled; ``autocast()`` is
    the context of the forward pass.
    """

    def __init__(self, requested: bool, device: torch.device | str):
        self.enabled = mixed_precision_enabled(requested, device)
        self.scaler = torch.amp.GradScaler("cuda") if self.enabled else None

    def autocast(self):
        import contextlib

        return torch.autocast("cuda", dtype=torch.float16) if self.enabled else contextlib.nullcontext()

    def step(self, optimizer: torch.optim.Optimizer, value: torch.Tensor) -> None:
        if self.scaler is None:
            value.backward()
            optimizer.step()
            return
        self.scaler.scale(value).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def prepare_for_device(model: nn.Module, device: torch.device | str) -> nn.Module:
    """``model`` on ``device``, in ``channels_last`` memory format on CUDA (:func:`utils.runtime.use_channels_last`)."""
    model.to(device)
    if use_channels_last(device):
        model.to(memory_format=torch.channels_last)
    return model


def device_batch(inputs: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """:func:`to_network_input`, then ``channels_last`` for image batches on CUDA."""
    batch = to_network_input(inputs, device)
    if batch.dim() == 4 and use_channels_last(device):
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def _train(model, dataset, class_attribute_vectors, loss, epochs, batch_size, learning_rate, weight_decay,
           schedule, device, seed, log_path, verbose, mixed_precision=False) -> list[dict[str, float]]:
    prepare_for_device(model, device).train()
    loss.to(device).train()
    targets = class_attribute_vectors.to(device).float()
    loader = ImageBatches(dataset, batch_size, shuffle=True, seed=seed, device=device)
    optimizer, scheduler = adamw_with_schedule(model, learning_rate, weight_decay, schedule, epochs * len(loader))
    precision = MixedPrecision(mixed_precision, device)
    history = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        total, count = 0.0, 0
        for inputs, labels in loader:
            is_image = inputs.dtype == torch.uint8
            inputs, labels = device_batch(inputs, device), labels.to(device)
            if is_image and torch.rand(()) < 0.5:
                inputs = inputs.flip(-1)
            with precision.autocast():
                outputs = model(inputs)
            value = loss(outputs.float(), labels, targets)
            optimizer.zero_grad(set_to_none=True)
            precision.step(optimizer, value)
            if scheduler is not None:
                scheduler.step()
            total, count = total + float(value.detach()) * len(labels), count + len(labels)
        history.append({"epoch": epoch, "loss": total / count, "seconds": round(time.perf_counter() - start, 1)})
        if verbose:
            print(f"epoch {epoch}/{epochs}: loss {total / count:.4f} ({history[-1]['seconds']:.0f} s)")
    model.eval()
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["epoch", "loss", "seconds"])
            writer.writeheader()
            writer.writerows(history)
    return history


@torch.no_grad()
def predict_outputs(
    model: nn.Module, dataset: Dataset, batch_size: int = 256, device: torch.device | str = "cpu",
    mixed_precision: bool = False,
) -> torch.Tensor:
    """The model's outputs for every item of ``dataset``, in order, of shape (n_items, n_outputs), on the CPU
    (float32; under float16 autocast on CUDA when ``mixed_precision``)."""
    prepare_for_device(model, device).eval()
    loader = ImageBatches(dataset, batch_size, shuffle=False, device=device)
    precision = MixedPrecision(mixed_precision, device)
    outputs = []
    for inputs, _ in loader:
        with precision.autocast():
            outputs.append(model(device_batch(inputs, device)).float().cpu())
    return torch.cat(outputs)


SEED_A_FIELDS = (
    "awa2_dir", "images_per_class", "test_seen_fraction", "n_validation_classes", "image_size",
    "backbone", "pretrained",
    "image_epochs", "image_batch_size", "image_learning_rate", "image_schedule", "weight_decay",
    "mixed_precision",
    "seed",
)
"""The config fields that shape seed A's end-to-end network, in groups: which images it trains on (the
folder, the cap per class, the trainval/test_seen split and its validation classes) and at what size; the
body it starts from; its training (epochs, batches, learning rate, schedule, weight decay, float16 on CUDA;
the loss is always BCE on the binary attributes); and the seed of the split, initial weights, batch order and
flips. With the image cache on, its side is added too (:func:`utils.image_cache.image_cache_settings`: the
cached pixels differ slightly from a resize of the original)."""

FEATURE_REGRESSOR_FIELDS = (
    "regressor_hidden",
    "feature_epochs", "feature_batch_size", "feature_learning_rate", "weight_decay",
    "xlsa17_dataset", "remse_p", "remse_p2", "lambda_regression", "lambda_ce", "cosine_scale",
    "seed",
)
"""The config fields that shape a feature regressor, in groups: its width; its training; the loss options
(``xlsa17_dataset`` picks ReZSL's defaults of the ``None`` ones); the seed of its weights and batch order.
The features themselves enter as :func:`feature_problem_sha256`, the loss name, image split and classes
as further inputs (:func:`train_feature_model`)."""


def seed_a_network(config: Any, n_attributes: int) -> nn.Module:
    """Seed A's untrained network (``config.backbone`` + :class:`AttributeHead`), its weights drawn from ``config.seed``.

    Seeding here, not wherever a notebook happens to stand, makes the initial weights the same whatever
    ran before in the process.
    """
    from models.attribute_head import AttributeNetwork, create_attribute_backbone

    seed_everything(config.seed)
    backbone, width = create_attribute_backbone(config.backbone, pretrained=config.pretrained)
    return AttributeNetwork(backbone, AttributeHead(width, n_attributes))


def fit_or_load(
    checkpoint: Path, model: nn.Module, train, config: Any, fields: Sequence[str] = SEED_A_FIELDS,
    name: str | None = None, **inputs: Any,
) -> Decision:
    """Load ``model``'s weights from ``checkpoint`` while the settings that shape it are unchanged, else train.

    The policy of :mod:`utils.checkpoints`: the shaping settings are ``fields`` of ``config`` (default: seed A's,
    :data:`SEED_A_FIELDS`) plus ``inputs`` (non-config inputs such as a feature file's hash); the decision is
    printed; ``config.retrain`` forces training. Training is seeded from ``config.seed`` first. After
    training, the weights are saved and then, once complete, ``<checkpoint>.json`` (fingerprint, settings,
    resolved config).

    Args:
        checkpoint: the ``.pt`` file.
        model: the network, loaded or trained in place.
        train: called without arguments to train ``model``.
        config: an :class:`utils.config.AttributeZslConfig`.
        fields: the config fields that shape ``model``.
        name: the run's name in the printed line (default: the checkpoint's folder for ``model.pt``, else its stem).
        inputs: further shaping inputs.

    Returns:
        The :class:`utils.checkpoints.Decision`; ``bool(decision)`` is True when the model was trained now.
    """
    checkpoint = Path(checkpoint)
    if "image_size" in fields:  # a network trained on images: the image cache's side shapes it too
        from utils.image_cache import image_cache_settings

        inputs = {**image_cache_settings(config), **inputs}
    settings = shaping_settings(config, fields, **inputs)
    decision = decide(checkpoint, settings, config, name=name)
    if not decision.trained:
        load_state_into(model, checkpoint)
        model.eval()
        return decision
    seed_everything(config.seed)
    train()
    save_weights(model.state_dict(), checkpoint)
    record(checkpoint, settings, config)
    return decision


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
        splits: 0-based image indices from :func:`split_images`.
        folder: destination of ``res101.mat``, ``att_splits.mat`` and ``binaryAtt_splits.mat``.
        image_size: input side in pixels.
        device: where to run the backbone.
        image_cache: read the images through this :class:`utils.image_cache.ImageCache` (``None``: the
            sources); the exported file names are the sources' either way.

    Returns:
        What :func:`utils.xlsa17_export.write_xlsa17_pair` returns.
    """
    from utils.xlsa17_export import write_xlsa17_pair

    images = ImageFiles(image_paths, labels, image_size, image_cache=image_cache)
    features = predict_outputs(backbone, images, device=device).numpy()
    root = Path(awa2.root)
    image_files = [f"{root.name}//{Path(path).relative_to(root).as_posix()}" for path in image_paths]
    return write_xlsa17_pair(
        folder, features, labels, image_files, awa2.class_names, awa2.continuous_attributes,
        {key: splits[key] for key in ("trainval", "test_seen", "test_unseen", "train", "val")},
        binary_attributes=awa2.binary_attributes,
    )


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
    classes of ``val_loc``); otherwise (the original AwA2 file, whose pair must not be used)
    ``n_validation_classes`` seen classes are drawn with ``seed``. Binary BCE targets come from
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
    if att_splits.train_val_is_clean:
        validation_classes = np.unique(labels[att_splits.val_indices])
    else:
        generator = np.random.default_rng(seed)
        validation_classes = np.sort(generator.choice(seen, n_validation_classes, replace=False))
    trainval = att_splits.trainval_indices
    train_class_images = trainval[~np.isin(labels[trainval], validation_classes)]
    validation_train, validation_seen = hold_out_per_class(train_class_images, labels, validation_seen_fraction, seed)
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
    )


def rezsl_options(config: Any) -> dict[str, float]:
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


def default_distance(loss_name: str) -> str:
    """Seed A's Euclidean distance for BCE probabilities; ReZSL's cosine for regressed attributes."""
    return "euclidean" if loss_name == "bce" else "cosine"


def build_feature_model(problem: FeatureProblem, config: Any) -> nn.Module:
    """The feature regressor: seed A's BN-ReLU-Dropout-Linear head when ``regressor_hidden`` is 0, else an MLP."""
    width, n_attributes = problem.features.shape[1], problem.attribute_matrix.shape[1]
    if not config.regressor_hidden:
        return AttributeHead(width, n_attributes)
    return AttributeRegressor(width, n_attributes, hidden=config.regressor_hidden)


def train_feature_model(
    problem: FeatureProblem,
    loss_name: str,
    config: Any,
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
        checkpoint: ``.pt`` file: loaded while the settings that shape it (:data:`FEATURE_REGRESSOR_FIELDS`,
            the loss, the split, the classes and the features' content) are unchanged, else written after training.
        device: where to train.
        verbose: print one line per epoch.
    """
    indices = problem.splits[image_split]
    position = {int(class_index): row for row, class_index in enumerate(train_classes)}
    labels = torch.tensor([position[int(label)] for label in problem.labels[indices]])
    targets = torch.from_numpy(targets_for(loss_name, problem)[train_classes])
    seed_everything(config.seed)
    model = build_feature_model(problem, config)
    loss = build_attribute_loss(loss_name, len(train_classes), targets.shape[1], **rezsl_options(config))
    dataset = TensorDataset(problem.features[indices], labels)

    def train() -> None:
        train_attribute_model(
            model, dataset, targets, loss, config.feature_epochs, config.feature_batch_size,
            config.feature_learning_rate, config.weight_decay, "one_cycle", device, config.seed,
            checkpoint.with_suffix(".csv"), verbose, threads=1,
        )

    fit_or_load(checkpoint, model, train, config, FEATURE_REGRESSOR_FIELDS,
                name=Path(checkpoint).stem, loss=loss_name, image_split=image_split,
                train_classes=[int(index) for index in train_classes], features_sha256=feature_problem_sha256(problem))
    return model.cpu().eval()


def candidate_scores(
    predicted_attributes: torch.Tensor, class_attribute_vectors: np.ndarray, candidates: np.ndarray, distance: str
) -> np.ndarray:
    """Scores of shape (n_images, n_candidates) of the ``candidates`` classes (columns in that order)."""
    vectors = torch.from_numpy(np.asarray(class_attribute_vectors)[candidates]).float()
    return nearest_class_scores(predicted_attributes, vectors, distance).numpy()


def gamma_grid(scores: np.ndarray, seen_class_mask: np.ndarray, n_gammas: int) -> np.ndarray:
    """Candidate γ: quantiles of the seen-minus-unseen margin of ``scores`` (validation data), and 0.

    Predictions only change where γ crosses an image's margin, so quantiles of the margins cover the
    whole trade-off with ``n_gammas`` values whatever the scale of the scores.
    """
    margin = scores[:, seen_class_mask].max(1) - scores[:, ~seen_class_mask].max(1)
    return np.unique(np.concatenate([[0.0], np.quantile(margin, np.linspace(0, 1, n_gammas))]))


def evaluate_gzsl(
    problem: FeatureProblem, outputs: torch.Tensor, loss_name: str, image_indices: np.ndarray,
    candidates: np.ndarray, seen_classes: np.ndarray, distance: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores over ``candidates`` for ``image_indices``: (scores, positional labels, seen-column mask)."""
    scores = candidate_scores(
        predicted_attributes_from(loss_name, outputs), targets_for(loss_name, problem), candidates, distance
    )
    position = {int(class_index): column for column, class_index in enumerate(candidates)}
    labels = np.array([position[int(label)] for label in problem.labels[image_indices]])
    return scores, labels, np.isin(candidates, seen_classes)


def run_loss(
    problem: FeatureProblem, loss_name: str, config: Any, run_dir: Path, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Train one loss twice (validation split for γ, then trainval) and evaluate it on the test splits.

    Returns:
        ``{"row": the table row, "gamma_table", "curve": the test seen–unseen curve,
        "test_attributes": predicted attributes of the test_seen + test_unseen images,
        "test_labels"}``.
    """
    distance = default_distance(loss_name)
    # 1. γ on validation: train on the train classes, score their held-out images and the validation classes.
    validation_train_classes = problem.validation_train_classes
    validation_model = train_feature_model(
        problem, loss_name, config, "validation_train", validation_train_classes,
        run_dir / "features" / f"{loss_name}_validation.pt", device,
    )
    validation_images = np.concatenate([problem.splits["validation_seen"], problem.splits["validation_unseen"]])
    validation_candidates = np.sort(np.concatenate([validation_train_classes, problem.validation_classes]))
    with torch.no_grad():
        validation_outputs = validation_model(problem.features[validation_images])
    scores, labels, mask = evaluate_gzsl(
        problem, validation_outputs, loss_name, validation_images, validation_candidates, validation_train_classes, distance
    )
    gamma, gamma_table = select_gamma(scores, labels, mask, gamma_grid(scores, mask, config.n_gammas))

    # 2. The model of record: all seen classes, trainval images.
    model = train_feature_model(
        problem, loss_name, config, "trainval", problem.seen_classes, run_dir / "features" / f"{loss_name}.pt", device
    )
    test_images = np.concatenate([problem.splits["test_seen"], problem.splits["test_unseen"]])
    with torch.no_grad():
        outputs = model(problem.features[test_images])
    all_classes = np.arange(len(problem.class_names))
    scores, labels, mask = evaluate_gzsl(problem, outputs, loss_name, test_images, all_classes, problem.seen_classes, distance)
    is_unseen_image = ~mask[labels]
    unseen_scores = scores[is_unseen_image][:, problem.unseen_classes]
    zsl = zsl_scores(unseen_scores, problem.labels[test_images][is_unseen_image], problem.unseen_classes)
    uncalibrated = gzsl_scores(scores, labels, mask, 0.0)
    calibrated = gzsl_scores(scores, labels, mask, gamma)
    row = {
        "loss": loss_name,
        "distance": distance,
        "T1": zsl["top1"],
        "per-image": zsl["per_image_accuracy"],
        "U (γ=0)": uncalibrated["unseen_accuracy"],
        "S (γ=0)": uncalibrated["seen_accuracy"],
        "H (γ=0)": uncalibrated["harmonic_mean"],
        "γ (val)": gamma,
        "U": calibrated["unseen_accuracy"],
        "S": calibrated["seen_accuracy"],
        "H": calibrated["harmonic_mean"],
        "AUSUC": ausuc(scores, labels, mask),
    }
    return {
        "row": row,
        "gamma_table": gamma_table,
        "curve": seen_unseen_curve(scores, labels, mask),
        "test_attributes": predicted_attributes_from(loss_name, outputs),
        "test_labels": problem.labels[test_images],
    }


def compare_losses(
    problem: FeatureProblem, config: Any, run_dir: Path, device: torch.device | str = "cpu", losses: Sequence[str] | None = None
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


@cli_entry("python -m utils.attribute_zsl")
def main(argv: Sequence[str] | None = None) -> int:
    """Feature-mode loss comparison on an xlsa17 folder; prints the table (errors: one line, :mod:`utils.cli`)."""
    from models.losses import ATTRIBUTE_LOSSES
    from utils.config import AttributeZslConfig, data_dir
    from utils.runtime import choose_device, seed_everything

    parser = ArgumentParser(
        prog="python -m utils.attribute_zsl",
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
