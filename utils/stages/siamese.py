"""Training glue for notebook 06: data, triplet training (through :func:`utils.training.loop.train_model`),
fit-or-load, evaluation, the split sweep.

One run = one class split + one :class:`~utils.config.SiameseConfig`. It lives in
``<checkpoint_dir>/<run label>/<split>/`` with ``model.pt`` (the best epoch by validation triplet
accuracy), ``model.json`` (the settings that shape it, their fingerprint and the resolved config),
``split.json`` (the class lists) and ``log.csv`` (one row per epoch). :func:`trained_encoder` loads
``model.pt`` while those settings are unchanged, else trains (:mod:`utils.training.checkpoints`).

Batches hold ``m_per_class`` images of each of ``batch_size / m_per_class`` classes, drawn by
pytorch-metric-learning's ``MPerClassSampler`` (Musgrave et al., 2020), so every batch has the
positives and negatives that triplet mining (Schroff et al., CVPR 2015) needs. Optimisation is Adam
with the seed's learning rate 1e-3, annealed to zero along a cosine over the run.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from pytorch_metric_learning.samplers import MPerClassSampler
from torch import nn

from models.losses import build_loss
from models.siamese import build_siamese_encoder
from utils.config import DATA_SAMPLES_DIR, SiameseConfig
from utils.datasets.cifar100 import load_cifar100
from utils.errors import MissingDataError, fetch_hint
from utils.metrics import (
    best_threshold,
    binary_accuracy,
    episode_accuracy,
    n_way_one_shot_accuracy,
    one_shot_chance,
    pair_distances,
    triplet_accuracy,
)
from utils.runtime import seed_everything
from utils.stages.episodes import (
    ClassSplit,
    EpisodeSampler,
    LabelledImages,
    OneShotData,
    build_one_shot_data,
    file_class_split,
    one_shot_supports,
    ratio_class_split,
    sample_pairs,
    sample_triplets,
)
from utils.training.checkpoints import Decision, fit_or_load
from utils.training.distributed import is_main_process
from utils.training.loop import EpochEnd, train_model
from utils.training.threads import set_cpu_threads

CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)

ORIGINAL_PROJECT_RESULTS = pd.DataFrame(
    {
        "split": ["10-90", "30-70", "50-50", "70-30", "90-10", "100-0"],
        "triplet acc": [86.90, 85.11, 86.79, 88.58, 88.34, 89.09],
        "binary acc": [78.82, 79.13, 78.26, 81.24, 80.95, 82.41],
        "mean few-shot acc": [45.32, 67.23, 76.77, 76.51, 83.06, float("nan")],
    }
).set_index("split")
"""The figures of the university project notebook 06 reproduces (its *seed*; %, ResNet-56, cosine distance,
150 epochs) on real CIFAR-100."""



# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def resolve_cifar100_dir(config: SiameseConfig) -> Path:
    """The CIFAR-100 folder a config reads, generating the larger sample variant on first use.

    Raises:
        MissingDataError: naming the folder and ``python -m utils.download cifar100`` if real data is missing.
    """
    if config.cifar100_dir is not None:
        folder = Path(config.cifar100_dir)
        if not any((candidate / "meta").is_file() for candidate in (folder, folder / "cifar-100-python")):
            raise MissingDataError(folder, "cifar100", "CIFAR-100 folder", how=fetch_hint("cifar100")
                                   + ", or point config.cifar100_dir at a cifar-100-python folder")
        return folder
    if config.sample_train_per_class is None:
        return DATA_SAMPLES_DIR / "cifar100"
    return generated_sample_cifar100(config.sample_train_per_class, config.sample_test_per_class,
                                     Path(config.outputs) / "sample_world")


def generated_sample_cifar100(train_per_class: int, test_per_class: int, folder: Path) -> Path:
    """A sample-world CIFAR-100 with more images per class, generated once into ``folder`` (the config's
    ``<outputs>/sample_world``, shared by every profile: the sizes name the folder).

    Takes about 1–3 ms per image (``python -m utils.sample_world --parts cifar100 ...``).
    """
    from utils.sample_world.generator import SampleWorldSpec, generate

    root = Path(folder) / f"cifar100_{train_per_class}x{test_per_class}"
    folder = root / "cifar100"
    if not (folder / "cifar-100-python" / "test").is_file():
        print(f"generating the sample world's CIFAR-100 with {train_per_class}+{test_per_class} images per class "
              f"into {root} (once)...")
        staging = root.with_name(root.name + f".tmp{os.getpid()}")
        spec = SampleWorldSpec(cifar_train_per_class=train_per_class, cifar_test_per_class=test_per_class)
        generate(staging, spec, parts=["cifar100"])
        if root.exists():
            shutil.rmtree(staging)  # another process finished first; its files are identical
        else:
            staging.rename(root)
    return folder


@lru_cache(maxsize=2)
def _load_cifar100_files(folder: str) -> tuple[Any, Any]:
    return load_cifar100(folder, "train"), load_cifar100(folder, "test")


def class_split_for(config: SiameseConfig, train_fraction: float | None = None) -> ClassSplit:
    """The split to study: ``train_fraction`` if given, else the CIFAR-FS lists if configured, else ``config.train_fraction``."""
    if train_fraction is None and config.class_split_dir is not None:
        return file_class_split(config.class_split_dir)
    folder = str(resolve_cifar100_dir(config))
    class_names = _load_cifar100_files(folder)[0].fine_label_names
    return ratio_class_split(class_names, config.train_fraction if train_fraction is None else train_fraction, config.seed)


def load_one_shot_data(config: SiameseConfig, split: ClassSplit) -> OneShotData:
    """Read the configured CIFAR-100 files and arrange them for ``split`` (:func:`build_one_shot_data`)."""
    train_files, test_files = _load_cifar100_files(str(resolve_cifar100_dir(config)))
    return build_one_shot_data(
        train_files.images, train_files.fine_labels, test_files.images, test_files.fine_labels,
        train_files.fine_label_names, split, config.validation_fraction, config.max_images_per_class, config.seed,
    )


def images_to_tensor(
    images: np.ndarray, mean: tuple[float, ...] = CIFAR100_MEAN, std: tuple[float, ...] = CIFAR100_STD
) -> torch.Tensor:
    """uint8 images of shape (n, H, W, C) → normalised float tensor of shape (n, C, H, W)."""
    tensor = torch.as_tensor(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)
    mean_tensor = torch.tensor(mean).view(1, -1, 1, 1)
    std_tensor = torch.tensor(std).view(1, -1, 1, 1)
    return (tensor - mean_tensor) / std_tensor


def augment_batch(
    images: torch.Tensor, generator: torch.Generator, padding: int = 4, flip: bool = True, fill: float = 0.0
) -> torch.Tensor:
    """Random crops after padding, and random horizontal flips (the standard CIFAR augmentation).

    Args:
        images: tensor of shape (batch, C, H, W).
        generator: a CPU ``torch.Generator`` for the offsets and flips.
        padding: pixels of padding on each side before cropping back to H × W.
        flip: also flip half of the images left–right (not for digits).
        fill: the value of the padding.

    Returns:
        Tensor of shape (batch, C, H, W) on the device of ``images``.
    """
    batch, _, height, width = images.shape
    padded = nn.functional.pad(images, (padding,) * 4, value=fill)
    row_offsets = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(images.device)
    column_offsets = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(images.device)
    flips = (torch.rand(batch, generator=generator) < (0.5 if flip else 0.0)).to(images.device)
    rows = row_offsets[:, None] + torch.arange(height, device=images.device)
    columns = column_offsets[:, None] + torch.arange(width, device=images.device)
    columns = torch.where(flips[:, None], columns.flip(1), columns)
    batch_index = torch.arange(batch, device=images.device)[:, None, None]
    cropped = padded.permute(0, 2, 3, 1)[batch_index, rows[:, :, None], columns[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()


def m_per_class_batch_size(batch_size: int, m_per_class: int, n_classes: int) -> tuple[int, int]:
    """A ``(batch_size, m_per_class)`` that ``MPerClassSampler`` accepts for ``n_classes`` classes.

    The sampler needs ``m_per_class`` to divide the batch and ``m_per_class × n_classes ≥ batch``;
    with few classes (a 10-90 split) each class then gets more images per batch instead.
    """
    if m_per_class * n_classes < batch_size:
        m_per_class = -(-batch_size // n_classes)
    classes_per_batch = max(2, min(n_classes, batch_size // m_per_class))
    return classes_per_batch * m_per_class, m_per_class


class MPerClassBatches:
    """Batches of ``(inputs, labels)`` holding ``m_per_class`` items of each of ``batch_size / m_per_class`` classes.

    Each pass draws a new order from pytorch-metric-learning's ``MPerClassSampler``, which draws from NumPy's
    global generator (seed it first), and cuts it into batches by tensor indexing.

    Args:
        inputs: tensor of shape (n, ...).
        labels: the n class labels.
        batch_size, m_per_class: as the sampler takes them (:func:`m_per_class_batch_size` gives a pair it accepts).
        length: items per pass (the sampler cuts it to a multiple of ``batch_size``).
    """

    def __init__(self, inputs: torch.Tensor, labels: np.ndarray, batch_size: int, m_per_class: int, length: int):
        self.inputs, self.labels, self.batch_size = inputs, torch.as_tensor(labels), batch_size
        self.sampler = MPerClassSampler(labels, m_per_class, batch_size=batch_size, length_before_new_iter=length)

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size

    def __iter__(self):
        order = torch.as_tensor(list(iter(self.sampler)))
        for indices in order.split(self.batch_size):
            yield self.inputs[indices], self.labels[indices]


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

VALIDATION_TRIPLETS = 5_000
"""At most this many validation triplets score each epoch (:func:`_validation_accuracy`)."""


def run_dir(config: SiameseConfig, split: ClassSplit) -> Path:
    """``<config.run_dir>/<split name>``: one folder per split; the settings' fingerprint decides reuse."""
    return Path(config.run_dir) / split.name


def new_encoder(config: SiameseConfig, in_channels: int = 3) -> nn.Module:
    """The encoder the config names (:func:`models.siamese.build_siamese_encoder`)."""
    return build_siamese_encoder(config.backbone, config.embedding_dim, in_channels)


@torch.no_grad()
def embed_images(
    encoder: nn.Module, images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu",
    batch_size: int = 512, mixed_precision: bool = False,
) -> torch.Tensor:
    """Embeddings of shape (n_images, embedding_dim), on the CPU.

    Args:
        encoder: the Siamese encoder (put in eval mode here).
        images: uint8 array of shape (n, H, W, C), or an already normalised tensor of shape (n, C, H, W).
        device: where to run the encoder.
        batch_size: images per forward pass.
        mixed_precision: use ``torch.autocast`` float16 (CUDA only).
    """
    device = torch.device(device)
    tensor = images if isinstance(images, torch.Tensor) else images_to_tensor(images)
    encoder.eval().to(device)
    use_autocast = mixed_precision and device.type == "cuda"
    chunks = []
    for start in range(0, len(tensor), batch_size):
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_autocast):
            chunks.append(encoder(tensor[start : start + batch_size].to(device)).float().cpu())
    return torch.cat(chunks) if chunks else torch.zeros(0, getattr(encoder, "embedding_dim", 0))


class TripletLog:
    """The Siamese log (:class:`utils.training.loop.EpochLog`): per-batch means of the loss and of the mined
    triplets (0 for a loss that mines none), the validation triplet accuracy, the learning rate, the epoch's seconds."""

    def __init__(self):
        self.losses: list[float] = []
        self.mined: list[int] = []

    def add_batch(self, loss: nn.Module, value: float, size: int) -> None:
        self.losses.append(value)
        self.mined.append(getattr(loss, "last_triplet_count", 0))

    def end_epoch(self, end: EpochEnd) -> dict[str, float]:
        row = {"epoch": end.epoch, "train_loss": float(np.mean(self.losses)), "mined_triplets": float(np.mean(self.mined)),
               "validation_triplet_accuracy": end.score, "learning_rate": end.learning_rate, "seconds": end.seconds}
        self.losses, self.mined = [], []
        return row


def train_encoder(
    encoder: nn.Module,
    train: LabelledImages,
    validation: LabelledImages,
    config: SiameseConfig,
    device: torch.device | str = "cpu",
    folder: Path | None = None,
) -> pd.DataFrame:
    """Train ``encoder`` with the configured pair loss; keep the epoch with the best validation triplet accuracy.

    The loop is :func:`utils.training.loop.train_model` with :class:`MPerClassBatches`, Adam and a cosine
    schedule, the configured augmentation (:func:`augment_batch`) and a :class:`TripletLog`.

    Args:
        encoder: the Siamese encoder, trained in place (the best epoch's weights are loaded at the end).
        train: training images and labels.
        validation: validation images (their classes may be the train classes); for the best epoch.
        config: the run's settings (epochs, learning rate, loss, ...).
        device: where to train.
        folder: if given, ``log.csv`` (one row per epoch, rewritten after each) is written here (the weights are
            saved by :func:`trained_encoder`, through the one checkpoint policy).

    Returns:
        The log: one row per epoch with ``epoch``, ``train_loss``, ``mined_triplets`` (mean per batch),
        ``validation_triplet_accuracy``, ``learning_rate`` and ``seconds``.

    Raises:
        ValueError: if ``config.epochs`` is below 1.
    """
    if config.epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {config.epochs}")
    seed_everything(config.seed)  # PML's sampler draws from NumPy's global generator
    device = torch.device(device)
    batch_size, m_per_class = m_per_class_batch_size(config.batch_size, config.m_per_class, len(train.classes))
    batches = MPerClassBatches(images_to_tensor(train.images), train.labels, batch_size, m_per_class,
                               length=max(len(train), batch_size))
    generator = torch.Generator().manual_seed(config.seed)

    def batch_inputs(images: torch.Tensor) -> torch.Tensor:
        images = images.to(device, non_blocking=True)
        return augment_batch(images, generator) if config.augment else images

    rows = train_model(
        encoder, batches,
        build_loss(family="pair", name=config.loss, margin=config.margin, distance=config.distance, mining=config.mining),
        config.epochs,
        config.learning_rate, config.weight_decay, optimizer="adam", schedule="cosine", device=device,
        batch_inputs=batch_inputs, channels_last=False,
        validate=lambda model: _validation_accuracy(model, validation, config, device), log=TripletLog(),
        log_path=None if folder is None else Path(folder) / "log.csv", progress=config.progress,
        mixed_precision=config.mixed_precision,
    )
    return pd.DataFrame(rows)


def _validation_accuracy(encoder: nn.Module, validation: LabelledImages, config: SiameseConfig, device) -> float:
    """Triplet accuracy on the validation images (the same seeded triplets every epoch); NaN without two classes."""
    if len(validation.classes) < 2:
        return float("nan")
    embeddings = embed_images(encoder, validation.images, device, mixed_precision=config.mixed_precision)
    triplets = sample_triplets(validation.labels, min(config.n_triplets, VALIDATION_TRIPLETS), config.seed)
    return triplet_accuracy(embeddings, *triplets, config.distance)


def trained_encoder(
    config: SiameseConfig, data: OneShotData, device: torch.device | str = "cpu"
) -> tuple[nn.Module, pd.DataFrame, Path, Decision]:
    """The encoder of the run of ``data.split``: its ``model.pt`` loaded while the settings that shape it are
    unchanged, else trained now and saved (:func:`utils.training.checkpoints.fit_or_load`).

    The shaping settings are the fields declared to shape the ``siamese`` run and the class split; the decision is
    printed; ``config.retrain`` forces training. The encoder's weights are drawn from ``config.seed`` here, so they do
    not depend on what ran before. Also applies ``config.cpu_threads`` (:func:`utils.training.threads.set_cpu_threads`).

    Returns:
        ``(encoder in eval mode, the epoch log, the run folder, the decision)``.
    """
    set_cpu_threads(config.cpu_threads)
    folder = run_dir(config, data.split)
    checkpoint = folder / "model.pt"
    seed_everything(config.seed)
    encoder = new_encoder(config)
    history = pd.DataFrame()

    def train() -> None:
        nonlocal history
        if is_main_process():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "split.json").write_text(json.dumps(asdict(data.split), indent=1) + "\n")
        history = train_encoder(encoder, data.train, data.validation, config, device, folder)

    decision = fit_or_load(encoder, checkpoint, config, "siamese", train, inputs={"split": asdict(data.split)},
                           name=f"siamese_{data.split.name}")
    if decision.trained:
        print(f"trained {data.split.name} for {config.epochs} epoch(s) in {history['seconds'].sum():.0f} s → {checkpoint}")
    else:
        log_path = folder / "log.csv"
        history = pd.read_csv(log_path) if log_path.is_file() else pd.DataFrame()
    return encoder.to(device).eval(), history, folder, decision


# ---------------------------------------------------------------------------------------------
# Evaluation and the split sweep
# ---------------------------------------------------------------------------------------------


def evaluate_one_shot(
    encoder: nn.Module, data: OneShotData, config: SiameseConfig, device: torch.device | str = "cpu"
) -> dict[str, float]:
    """Every one-shot figure of a trained encoder on one split (fractions in [0, 1]).

    Returns:
        ``triplet_acc_seen`` / ``binary_acc_seen`` (test images of the train classes, as the seed
        reported), ``triplet_acc_held_out`` / ``binary_acc_held_out`` (held-out classes),
        ``threshold`` (chosen on validation pairs), ``n_way`` (held-out classes) with ``n_way_1_shot``, its ``_ci``
        and its ``_chance`` (``1 / n_way``), and ``5_way_1_shot`` / ``5_way_5_shot`` with their ``_ci`` (95%
        half-widths). Chance of the others: :func:`utils.metrics.one_shot_chance`.
    """
    set_cpu_threads(config.cpu_threads)

    def embed(images: np.ndarray) -> torch.Tensor:
        return embed_images(encoder, images, device, mixed_precision=config.mixed_precision)

    validation, seen_test, held_out = embed(data.validation.images), embed(data.seen_test.images), embed(data.held_out.images)
    first, second, same = sample_pairs(data.validation.labels, config.n_pairs, seed=config.seed)
    threshold = best_threshold(pair_distances(validation, first, second, config.distance), same)
    metrics: dict[str, float] = {"threshold": threshold}
    for name, embeddings, labels in (("seen", seen_test, data.seen_test.labels), ("held_out", held_out, data.held_out.labels)):
        if len(np.unique(labels)) < 2:
            continue
        triplets = sample_triplets(labels, config.n_triplets, config.seed)
        metrics[f"triplet_acc_{name}"] = triplet_accuracy(embeddings, *triplets, config.distance)
        first, second, same = sample_pairs(labels, config.n_pairs, seed=config.seed + 1)
        metrics[f"binary_acc_{name}"] = binary_accuracy(pair_distances(embeddings, first, second, config.distance), same, threshold)
    if len(np.unique(data.held_out.labels)) >= 2:
        metrics["n_way"] = len(np.unique(data.held_out.labels))
        metrics["n_way_1_shot_chance"] = one_shot_chance(metrics["n_way"])["n_way"]
        supports = one_shot_supports(data.held_out.labels, config.n_support_draws, config.seed)
        metrics["n_way_1_shot"], metrics["n_way_1_shot_ci"] = n_way_one_shot_accuracy(
            held_out, data.held_out.labels, supports, config.distance)
        for n_shot in (1, 5):
            episodes = EpisodeSampler(data.held_out.labels, 5, n_shot, config.n_query, config.n_episodes, config.seed)
            metrics[f"5_way_{n_shot}_shot"], metrics[f"5_way_{n_shot}_shot_ci"] = episode_accuracy(
                held_out, episodes, config.distance)
    return metrics


def run_split(config: SiameseConfig, train_fraction: float | None = None, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Fit or load the encoder of one split and evaluate it.

    Returns:
        ``{"split", "train_classes", "held_out_classes", "train_images", "train_seconds", **metrics,
        "encoder", "data", "history", "folder", "decision"}``.
    """
    data = load_one_shot_data(config, class_split_for(config, train_fraction))
    encoder, history, folder, decision = trained_encoder(config, data, device)
    return {
        "split": data.split.name,
        "train_classes": len(data.split.train_classes),
        "held_out_classes": len(data.split.held_out_classes),
        "train_images": len(data.train),
        "train_seconds": float(history["seconds"].sum()) if "seconds" in history else float("nan"),
        **evaluate_one_shot(encoder, data, config, device),
        "encoder": encoder, "data": data, "history": history, "folder": folder, "decision": decision,
    }


def sweep_splits(config: SiameseConfig, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Fit-or-load and evaluate one encoder per split of ``config.sweep_fractions``; one row per split."""
    rows = []
    for fraction in config.sweep_fractions:
        result = run_split(config, fraction, device)
        rows.append({key: value for key, value in result.items()
                     if key not in ("encoder", "data", "history", "folder", "decision")})
    return pd.DataFrame(rows).set_index("split")


def compare_with_original_project(sweep: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Our sweep beside the seed's table, in percent, on the splits and figures both have (no empty cells).

    Outside ``full`` our data set is the sample world: the columns compare trends, not numbers. The seed's "mean
    few-shot acc" sits under ``N-way 1-shot``, which is what it measured; it reported no 5-way episodes.

    Returns:
        One row per split that both ran; columns ``(figure, "ours (<data set>)" | "seed (CIFAR-100)")``.
    """
    ours_label = "ours (CIFAR-100)" if profile == "full" else "ours (sample world)"
    original_label = "seed (CIFAR-100)"
    columns = {
        ("triplet acc", ours_label): 100 * sweep["triplet_acc_seen"],
        ("triplet acc", original_label): ORIGINAL_PROJECT_RESULTS["triplet acc"],
        ("binary acc", ours_label): 100 * sweep["binary_acc_seen"],
        ("binary acc", original_label): ORIGINAL_PROJECT_RESULTS["binary acc"],
        ("N-way 1-shot", ours_label): 100 * sweep["n_way_1_shot"],
        ("N-way 1-shot", original_label): ORIGINAL_PROJECT_RESULTS["mean few-shot acc"],
    }
    table = pd.concat(columns, axis=1, join="inner")
    table = table.loc[sorted(table.index, key=lambda name: int(name.split("-")[0]))]
    table.index.name = "split"
    return table.round(2)


SWEEP_ROWS = {
    "triplet_acc_seen": "triplet acc, seen classes",
    "binary_acc_seen": "binary acc, seen classes",
    "triplet_acc_held_out": "triplet acc, held-out classes",
    "binary_acc_held_out": "binary acc, held-out classes",
    "n_way_1_shot": "N-way 1-shot (N = held-out classes)",
    "n_way_1_shot_chance": "N-way 1-shot chance (1/N)",
    "5_way_1_shot": "5-way 1-shot",
    "5_way_5_shot": "5-way 5-shot",
}
"""The sweep's figures as :func:`sweep_table` shows them, in this order."""


def sweep_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """The split sweep as a page-wide table: one row per figure (:data:`SWEEP_ROWS`), one column per split, in
    percent, each episode figure with its 95% interval (``"74.0 ± 1.0"``).

    Args:
        sweep: :func:`sweep_splits`'s table (one row per split, fractions in [0, 1], ``<figure>_ci`` half-widths).
    """
    rows = {}
    for column, label in SWEEP_ROWS.items():
        interval = sweep.get(f"{column}_ci")
        rows[label] = [f"{100 * value:.1f}" + ("" if interval is None else f" ± {100 * interval[split]:.1f}")
                       for split, value in sweep[column].items()]
    table = pd.DataFrame(rows, index=list(sweep.index)).T
    table.columns.name = "split (training-held out classes)"
    return table


def plot_split_sweep(sweep: pd.DataFrame, title: str = "one-shot figures per class split"):
    """Grouped bars per split, like the seed's histogram: triplet, binary, N-way 1-shot, 5-way 1- and 5-shot (%).

    Each bar carries a black tick at its chance level (:func:`utils.metrics.one_shot_chance`): 50% for triplet and
    binary accuracy, 1/N for N-way 1-shot (N held-out classes, so it moves with the split), 20% for 5-way.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    columns = {"triplet_acc_seen": "triplet acc", "binary_acc_seen": "binary acc", "n_way_1_shot": "N-way 1-shot",
               "5_way_1_shot": "5-way 1-shot", "5_way_5_shot": "5-way 5-shot"}
    figure, axes = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(columns)
    positions = np.arange(len(sweep))
    chances = [one_shot_chance(n_way) for n_way in sweep["n_way"]]
    chance_of = {"triplet_acc_seen": [chance["triplet"] for chance in chances],
                 "binary_acc_seen": [chance["binary"] for chance in chances],
                 "n_way_1_shot": [chance["n_way"] for chance in chances],
                 "5_way_1_shot": [one_shot_chance(5)["n_way"]] * len(sweep),
                 "5_way_5_shot": [one_shot_chance(5)["n_way"]] * len(sweep)}
    for offset, (column, label) in enumerate(columns.items()):
        errors = 100 * sweep[f"{column}_ci"] if f"{column}_ci" in sweep else None
        axes.bar(positions + offset * width, 100 * sweep[column], width, yerr=errors, label=label, capsize=2)
        axes.hlines(100 * np.array(chance_of[column]), positions + (offset - 0.45) * width,
                    positions + (offset + 0.45) * width, colors="black", linewidth=1.5,
                    label="chance" if offset == 0 else None)
    axes.set_xticks(positions + 0.4 - width / 2, sweep.index)
    axes.set_xlabel("split (percent of classes trained on − held out)")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 100)
    axes.set_title(title)
    axes.legend(ncol=6, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    figure.tight_layout()
    return figure
