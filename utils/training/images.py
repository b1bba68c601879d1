"""The image pipeline of the PyTorch stages (05, 07): files → uint8 tensors → normalised batches on the device.

* :func:`read_image` — one RGB image resized to a square, uint8 (3, side, side);
* :class:`ImageFiles` — images with labels, decoded once into memory when small, read through the image cache
  (:mod:`utils.training.image_cache`) when one is given;
* :class:`ImageBatches` — batches by tensor indexing when the data sit in memory, else one DataLoader (workers and
  pinned memory on CUDA, :func:`utils.runtime.loader_options`);
* :func:`to_network_input`, :func:`device_batch`, :func:`prepare_for_device` — ImageNet normalisation and
  ``channels_last`` on CUDA.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from utils.errors import PathError, library_message
from utils.runtime import data_loader_generator, loader_options, seed_worker, use_channels_last

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PRELOAD_LIMIT_BYTES = 1 << 30
"""Image sets smaller than this (as uint8) are decoded once into memory; larger ones are read lazily."""


def read_image(path: str | Path, side: int) -> np.ndarray:
    """An RGB image resized to (side, side), as uint8 of shape (3, side, side) (contiguous and writable).

    Raises:
        PathError: naming ``path`` (a source, or the image cache's copy of one) and Pillow's clue, if it cannot be
            opened or decoded (truncated, not an image, unreadable): Pillow's own message names no file.
    """
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB").resize((side, side), Image.BILINEAR), dtype=np.uint8)
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError) as error:  # Pillow's decoders raise all three
        raise PathError(path, f"cannot be decoded as an image ({library_message(error)})") from None
    return np.ascontiguousarray(array.transpose(2, 0, 1))


class ImageFiles(Dataset):
    """Images read from their paths, with labels; decoded once into memory when small enough.

    Items are ``(uint8 tensor of shape (3, side, side), label)``; :func:`to_network_input` turns a
    batch into normalised floats on the device.

    Args:
        paths: the source images (``self.paths`` keeps them, e.g. for the names of an xlsa17 export).
        labels: one label (or target row) per image.
        side: the square input side in pixels.
        image_cache: an :class:`utils.training.image_cache.ImageCache` (e.g. ``image_cache_for(config)``): its stale
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
