"""The one training loop of the PyTorch stages (05 attribute networks and regressors, 07 SDL), and prediction.

:func:`train_model` trains any ``model`` whose loss reads ``loss(outputs, batch_targets)`` — built with the class
attribute vectors of notebook 05, the seen label word vectors of notebook 07 — with AdamW (one-cycle or constant),
random left-right flips of image batches, float16 autocast on CUDA (:class:`MixedPrecision`), torch's CPU threads
scoped to the call (:func:`utils.training.threads.cpu_threads`), one log row per epoch.
"""

from __future__ import annotations

import contextlib
import csv
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from utils.runtime import mixed_precision_enabled
from utils.training.images import ImageBatches, device_batch, prepare_for_device
from utils.training.threads import cpu_threads


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
        return torch.autocast("cuda", dtype=torch.float16) if self.enabled else contextlib.nullcontext()

    def step(self, optimizer: torch.optim.Optimizer, value: torch.Tensor) -> None:
        if self.scaler is None:
            value.backward()
            optimizer.step()
            return
        self.scaler.scale(value).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def train_model(
    model: nn.Module,
    dataset: Dataset,
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
    logged_terms: Sequence[str] = (),
) -> list[dict[str, float]]:
    """Train ``model`` so that ``loss(model(x), y)`` falls; the model is left in eval mode.

    Image batches (uint8 items) are flipped left-right at random (a mirrored image keeps its class, attributes
    and tags); features are used as they are. On CUDA images go ``channels_last`` and lazily read files are
    decoded by worker processes (:class:`utils.training.images.ImageBatches`).

    Args:
        model: maps a batch of inputs to outputs, e.g. (batch, n_attributes) or (batch, d, M).
        dataset: items ``(input, target)``: a class index, or a multi-hot row.
        loss: called as ``loss(outputs.float(), targets)`` (the loss is computed in float32), e.g. from
            :func:`models.losses.build_loss`.
        epochs, batch_size, learning_rate, weight_decay: AdamW training (``weight_decay=0`` is Adam).
        schedule: ``one_cycle`` (warm-up then cosine decay, for short runs) or ``constant``.
        device: where to train.
        seed: seeds the batch order.
        log_path: a CSV of the rows (written if given).
        verbose: print one line per epoch.
        threads: torch CPU threads while training (``None``: unchanged). Small models gain nothing from several
            threads, and on a shared CPU their synchronisation can stall for seconds.
        mixed_precision: the forward pass under ``torch.autocast`` float16 and a gradient scaler, on CUDA only.
        logged_terms: names in ``loss.last_values`` averaged into each row beside the loss (SDL: rank, weight).

    Returns:
        One ``{"epoch", "loss", *logged_terms, "seconds"}`` row per epoch (means over the epoch's items).
    """
    with cpu_threads(threads):
        prepare_for_device(model, device).train()
        loss.to(device).train()
        loader = ImageBatches(dataset, batch_size, shuffle=True, seed=seed, device=device)
        optimizer, scheduler = adamw_with_schedule(model, learning_rate, weight_decay, schedule, epochs * len(loader))
        precision = MixedPrecision(mixed_precision, device)
        history, start = [], time.perf_counter()
        for epoch in range(1, epochs + 1):
            sums, count = dict.fromkeys(["loss", *logged_terms], 0.0), 0
            for inputs, targets in loader:
                is_image = inputs.dtype == torch.uint8
                inputs, targets = device_batch(inputs, device), targets.to(device)
                if is_image and torch.rand(()) < 0.5:
                    inputs = inputs.flip(-1)
                with precision.autocast():
                    outputs = model(inputs)
                value = loss(outputs.float(), targets)
                optimizer.zero_grad(set_to_none=True)
                precision.step(optimizer, value)
                if scheduler is not None:
                    scheduler.step()
                size = len(targets)
                sums["loss"] += float(value.detach()) * size
                for name in logged_terms:
                    sums[name] += loss.last_values[name] * size
                count += size
            row = {"epoch": epoch, **{name: total / count for name, total in sums.items()}}
            row["seconds"] = round(time.perf_counter() - start, 1)
            history.append(row)
            if verbose:
                terms = "".join(f" {name} {row[name]:.3f}" for name in logged_terms)
                print(f"epoch {epoch}/{epochs}: loss {row['loss']:.4f}{terms} ({row['seconds']:.0f} s)")
        model.eval()
    if log_path is not None:
        log_path = Path(log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(history[0]) if history else ["epoch", "loss", "seconds"])
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
