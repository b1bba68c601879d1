"""The one training loop of the PyTorch stages (05 the attribute network and feature regressors, 06 Siamese encoders and the
digits model, 07 SDL), and prediction.

:func:`train_model` runs epochs of batches through ``model`` and ``loss``, with small hooks for what the stages do
differently:

* ``batches`` — where the batches come from: :class:`utils.training.images.ImageBatches` (05, 07: shuffled by a
  seeded generator, a DataLoader for lazily read files) or :class:`utils.stages.siamese.MPerClassBatches` (06:
  ``m`` items of each of several classes per batch);
* ``batch_inputs`` — a batch's way onto the device, augmentation included (default :func:`flipped_image_inputs`);
* ``optimizer`` and ``schedule`` — AdamW or Adam; one-cycle, cosine annealing or constant
  (:func:`optimizer_with_schedule`);
* ``validate`` — a score after each epoch; the best epoch's weights are kept;
* ``mixed_precision`` — float16 autocast and the gradient scaler on CUDA, plain float32 steps on the CPU
  (:class:`MixedPrecision`);
* ``log`` — one row per epoch (:class:`LossLog`, or the stage's own :class:`EpochLog`), written to ``log_path``
  after every epoch;
* ``threads`` — torch's CPU threads for the call (:func:`utils.training.threads.cpu_threads`).

The loop draws random numbers only through its hooks and the model (dropout), in a fixed order per batch: the
batch (its sampler or shuffling generator), ``batch_inputs`` (augmentation), the forward pass; so one seed gives
bit-identical weights on the CPU. Notebooks 01–02 train with fastai (:mod:`utils.training.fastai_glue`).

With several processes (a process group joined by :func:`utils.training.distributed.init_from_environment`, e.g.
under ``torchrun``) the loop trains data-parallel: every rank draws the same global batches (the same seed), takes
its contiguous share of each and trains a ``DistributedDataParallel`` replica (Li et al., VLDB 2020), whose gradients
are averaged over the ranks; each share's loss is weighted by its size, so the step is that of one process on the
whole global batch for a loss that is a mean over items. What a rank sees of a batch is its share alone: BatchNorm's
batch statistics (per rank: no SyncBatchNorm, see :func:`train_model`), 06's batch-hard triplet mining and SDL's
in-batch terms. With one process nothing of this runs.
"""

from __future__ import annotations

import contextlib
import csv
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from utils.runtime import mixed_precision_enabled
from utils.training.distributed import (
    broadcast_value,
    is_main_process,
    rank_share,
    sum_over_ranks,
    world_size,
)
from utils.training.images import ImageBatches, device_batch, prepare_for_device
from utils.training.threads import cpu_threads

OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}
"""name → optimizer class: ``adamw`` decouples the weight decay from the gradient (05, 07); ``adam`` adds it to the
gradient as an L2 term (06, as the Siamese seed did)."""


def optimizer_with_schedule(
    model: nn.Module, optimizer: str, learning_rate: float, weight_decay: float, schedule: str, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """The optimizer called ``optimizer`` (:data:`OPTIMIZERS`) and its schedule over ``total_steps`` steps.

    Schedules: ``one_cycle`` (warm-up then cosine decay, for short runs), ``cosine`` (cosine annealing from
    ``learning_rate`` to zero) or ``constant`` (no scheduler: ``None``).

    Raises:
        ValueError: for another optimizer or schedule name.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, not {optimizer!r}")
    built = OPTIMIZERS[optimizer](model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    if schedule == "one_cycle":
        return built, torch.optim.lr_scheduler.OneCycleLR(built, learning_rate, total_steps=total_steps)
    if schedule == "cosine":
        return built, torch.optim.lr_scheduler.CosineAnnealingLR(built, T_max=max(1, total_steps))
    if schedule != "constant":
        raise ValueError(f"schedule must be 'one_cycle', 'cosine' or 'constant', not {schedule!r}")
    return built, None


class MixedPrecision:
    """float16 autocast and a gradient scaler on CUDA; on the CPU (or when not requested) plain float32 steps.

    ``step(optimizer, loss)`` does ``backward`` and the optimizer step, scaled when enabled; ``autocast()`` is
    the context of the forward pass.
    """

    def __init__(self, requested: bool, device: torch.device | str):
        self.enabled = mixed_precision_enabled(requested, device)
        self.scaler = torch.amp.GradScaler("cuda") if self.enabled else None

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.float16) if self.enabled else contextlib.nullcontext()

    def step(self, optimizer: torch.optim.Optimizer, value: torch.Tensor) -> None:
        if self.scaler is None:
            value.backward()
            optimizer.step()
            return
        self.scaler.scale(value).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


@dataclass(frozen=True)
class EpochEnd:
    """What the loop knows when an epoch ends, for its log.

    Attributes:
        epoch: the epoch just finished, from 1.
        epochs: the number of epochs of the run.
        score: the validation score (NaN without ``validate``).
        learning_rate: the mean learning rate of the epoch's steps (a schedule that anneals to zero made the rate
            after the last step, which no step used, read as 0.0 in the log).
        seconds: this epoch's time, validation included.
        total_seconds: the time since training started.
    """

    epoch: int
    epochs: int
    score: float
    learning_rate: float
    seconds: float
    total_seconds: float


class EpochLog(Protocol):
    """A log of :func:`train_model`: told every batch's loss, it makes one row per epoch."""

    def add_batch(self, loss: nn.Module, value: float, size: int) -> None:
        """One step's loss ``value`` on ``size`` items (``loss`` is the module, for terms it reports)."""

    def end_epoch(self, end: EpochEnd) -> dict[str, float]:
        """The epoch's row (and a printed line if the log prints); the next batch starts a new epoch."""


class LossLog:
    """The log of 05 and 07: per-item means of the loss and of the terms it reports, and seconds since the start.

    Rows are ``{"epoch", "loss", *logged_terms, "seconds"}`` (seconds rounded to 0.1); with ``verbose`` each is
    printed as ``epoch 2/5: loss 0.6876 rank 25.290 (3 s)``.

    Args:
        logged_terms: names in the loss's ``last_values`` averaged beside the loss (SDL: ``rank``, ``weight``).
        verbose: print one line per epoch.
    """

    def __init__(self, logged_terms: Sequence[str] = (), verbose: bool = True):
        self.logged_terms, self.verbose = tuple(logged_terms), verbose
        self._new_epoch()

    def _new_epoch(self) -> None:
        self.sums, self.count = dict.fromkeys(["loss", *self.logged_terms], 0.0), 0

    def add_batch(self, loss: nn.Module, value: float, size: int) -> None:
        self.sums["loss"] += value * size
        for name in self.logged_terms:
            self.sums[name] += loss.last_values[name] * size
        self.count += size

    def end_epoch(self, end: EpochEnd) -> dict[str, float]:
        row = {"epoch": end.epoch, **{name: total / self.count for name, total in self.sums.items()}}
        row["seconds"] = round(end.total_seconds, 1)
        self._new_epoch()
        if self.verbose:
            terms = "".join(f" {name} {row[name]:.3f}" for name in self.logged_terms)
            print(f"epoch {end.epoch}/{end.epochs}: loss {row['loss']:.4f}{terms} ({row['seconds']:.0f} s)")
        return row


def flipped_image_inputs(device: torch.device | str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The default ``batch_inputs`` of :func:`train_model` (05, 07): :func:`utils.training.images.device_batch`, and
    uint8 image batches flipped left-right as a whole with probability ½ (one draw of torch's global generator per
    image batch; a mirrored image keeps its class, attributes and tags); features pass as they are."""

    def inputs(batch: torch.Tensor) -> torch.Tensor:
        is_image = batch.dtype == torch.uint8
        batch = device_batch(batch, device)
        if is_image and torch.rand(()) < 0.5:
            batch = batch.flip(-1)
        return batch

    return inputs


def write_log(rows: Sequence[dict[str, float]], log_path: Path) -> None:
    """The rows as a CSV with a header (the folder made if needed)."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def data_parallel(model: nn.Module, device: torch.device | str) -> nn.Module:
    """``model`` wrapped in ``DistributedDataParallel`` on ``device`` (its GPU, or the CPU under gloo).

    BatchNorm layers stay per rank rather than becoming ``SyncBatchNorm``: gloo (the CPU backend the test runs)
    has no SyncBatchNorm, the conversion would replace the caller's modules for good (the saved model would need a
    process group to train again), and the per-GPU shares of the recipes (32 images and more) give usable batch
    statistics, as in torchvision's reference scripts, which leave ``--sync-bn`` off by default.
    """
    device = torch.device(device)
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def _reduced_over_ranks(loss: nn.Module, value: float, size: int) -> tuple[float, int]:
    """The item mean of ``value`` over every rank's share, and the global batch size; the terms the loss reports
    (``last_values``: item means; ``last_triplet_count``: a sum) become the global batch's too, for the log."""
    terms = getattr(loss, "last_values", {})
    totals = sum_over_ranks([value * size, float(size), *(term * size for term in terms.values()),
                             float(getattr(loss, "last_triplet_count", 0))])
    global_size = int(totals[1])
    loss.last_values = {name: total / global_size for name, total in zip(terms, totals[2:-1], strict=True)}
    if hasattr(loss, "last_triplet_count"):
        loss.last_triplet_count = int(totals[-1])
    return totals[0] / global_size, global_size


def train_model(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss: nn.Module,
    epochs: int,
    learning_rate: float,
    weight_decay: float = 0.0,
    *,
    optimizer: str = "adamw",
    schedule: str = "one_cycle",
    device: torch.device | str = "cpu",
    batch_inputs: Callable[[torch.Tensor], torch.Tensor] | None = None,
    channels_last: bool = True,
    validate: Callable[[nn.Module], float] | None = None,
    log: EpochLog | None = None,
    log_path: Path | None = None,
    progress: bool = False,
    threads: int | None = None,
    mixed_precision: bool = False,
) -> list[dict[str, float]]:
    """Train ``model`` so that ``loss(model(inputs), targets)`` falls; the model is left in eval mode.

    Each step: the next batch, ``batch_inputs``, the forward pass (under float16 autocast when mixed precision
    applies), the loss in float32, ``zero_grad``, backward and the optimizer step (scaled under mixed precision),
    the scheduler's step, the log's ``add_batch``. Each epoch ends with ``validate`` and the log's row.

    Args:
        model: maps a batch of inputs to outputs, e.g. (batch, n_attributes), (batch, d, M) or (batch, embedding_dim).
        batches: yields the epoch's ``(inputs, targets)`` CPU batches anew at each pass; ``len(batches)`` is the
            number of steps per epoch (for the schedule).
        loss: called as ``loss(outputs.float(), targets)`` (the loss in float32), its context (class attribute
            vectors, label word vectors, margins) fixed when built (:func:`models.losses.build_loss`); moved to
            ``device`` with the model.
        epochs, learning_rate, weight_decay: the optimisation.
        optimizer: ``adamw`` or ``adam`` (:data:`OPTIMIZERS`).
        schedule: ``one_cycle``, ``cosine`` or ``constant`` (:func:`optimizer_with_schedule`).
        device: where to train.
        batch_inputs: a CPU batch of inputs → the network's inputs on ``device``, augmentation included
            (default :func:`flipped_image_inputs`); the targets just move to ``device``.
        channels_last: the model in ``channels_last`` memory format on CUDA
            (:func:`utils.training.images.prepare_for_device`); 06's encoders keep the default layout.
        validate: scores the model after each epoch (higher is better; the model is put back in train mode
            after it). The weights of the best epoch are loaded at the end; a later epoch replaces the best
            only when its score is higher, and a NaN score counts as higher (so without a usable validation
            set the last epoch's weights stay).
        log: makes the rows (default ``LossLog()``: the loss, printed each epoch).
        log_path: a CSV of the rows, rewritten after every epoch (so it shows a run's progress).
        progress: a progress bar over each epoch's batches.
        threads: torch CPU threads while training (``None``: unchanged). Small models gain nothing from several
            threads, and on a shared CPU their synchronisation can stall for seconds.
        mixed_precision: the forward pass under ``torch.autocast`` float16 and a gradient scaler, on CUDA only.

    With several processes (:mod:`utils.training.distributed`): the model trains as a ``DistributedDataParallel``
    replica (:func:`data_parallel`) on the rank's share of each batch, its loss weighted by share / (global batch /
    ranks) so that the averaged gradient is the global batch's; the log's rows are means over the global batch
    (all-reduced); every rank validates its (identical) replica and rank 0's score picks the best epoch, so every rank
    keeps the same weights; only rank 0 writes ``log_path`` and shows a progress bar.

    Returns:
        The log's rows, one per epoch.
    """
    log = LossLog() if log is None else log
    with cpu_threads(threads):
        if channels_last:
            prepare_for_device(model, device)
        else:
            model.to(device)
        loss.to(device).train()
        if batch_inputs is None:
            batch_inputs = flipped_image_inputs(device)
        torch_optimizer, scheduler = optimizer_with_schedule(model, optimizer, learning_rate, weight_decay, schedule,
                                                             epochs * len(batches))
        precision = MixedPrecision(mixed_precision, device)
        ranks = world_size()
        trained = data_parallel(model, device) if ranks > 1 else model
        history, best_score, best_state = [], -math.inf, None
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            epoch_start = time.perf_counter()
            step_learning_rates = []
            trained.train()
            for inputs, targets in tqdm(batches, desc=f"epoch {epoch}", disable=not progress or not is_main_process(),
                                        leave=False):
                if ranks > 1:
                    share = rank_share(len(targets))
                    global_size, inputs, targets = len(targets), inputs[share], targets[share]
                inputs, targets = batch_inputs(inputs), targets.to(device)
                with precision.autocast():
                    outputs = trained(inputs)
                value = loss(outputs.float(), targets)
                torch_optimizer.zero_grad(set_to_none=True)
                if ranks > 1:
                    precision.step(torch_optimizer, value * (len(targets) * ranks / global_size))
                else:
                    precision.step(torch_optimizer, value)
                step_learning_rates.append(torch_optimizer.param_groups[0]["lr"])  # the rate this step used
                if scheduler is not None:
                    scheduler.step()
                if ranks > 1:
                    log.add_batch(loss, *_reduced_over_ranks(loss, float(value.detach()), len(targets)))
                else:
                    log.add_batch(loss, float(value.detach()), len(targets))
            score = validate(model) if validate is not None else math.nan
            if ranks > 1:
                score = broadcast_value(score)
            now = time.perf_counter()
            mean_learning_rate = sum(step_learning_rates) / max(len(step_learning_rates), 1)
            history.append(log.end_epoch(EpochEnd(epoch, epochs, score, mean_learning_rate, now - epoch_start,
                                                  now - start)))
            if validate is not None and not score <= best_score:
                best_score, best_state = score, {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
            if log_path is not None and is_main_process():
                write_log(history, log_path)
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
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
