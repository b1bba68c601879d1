"""Data-parallel training over several processes, as ``torchrun``, ``accelerate launch`` or accelerate's
``notebook_launcher`` start them: one process per device, each with the whole model, each taking a share of every
batch; gradients are averaged across processes after each backward pass, so every replica takes the same step
(PyTorch ``DistributedDataParallel``: Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel
Training", VLDB 2020).

The launchers start the processes and describe them in environment variables (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); :func:`init_from_environment` joins the process group they describe
(nccl on CUDA, gloo on the CPU) and is a no-op in a single process. Everything else here asks the process group, so
in one process (no group) it is the identity: :func:`world_size` is 1, :func:`is_main_process` is True, the barriers
return at once, and the library behaves exactly as without this module.

The rules the library follows with several processes: rank 0 alone writes files (checkpoints, their settings
records, logs, results) while the others wait at a :func:`barrier`; rank 0 decides what to train and tells the others
(:func:`main_process_result`); work whose output every rank reads, such as the image cache, is done by rank 0 first
(:func:`main_process_first`), so no two processes write one file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import torch

Result = TypeVar("Result")


def _process_group():
    """``torch.distributed`` when this process has joined a process group, else ``None``.

    A process that never imported torch has no group, so the callers that need no torch (the image cache, the
    checkpoint policy's metadata) do not import it here.
    """
    if "torch.distributed" not in sys.modules:
        return None
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def world_size() -> int:
    """The number of processes training together (1 without a process group)."""
    group = _process_group()
    return 1 if group is None else group.get_world_size()


def rank() -> int:
    """This process's rank, from 0 (0 without a process group)."""
    group = _process_group()
    return 0 if group is None else group.get_rank()


def is_main_process() -> bool:
    """True in rank 0, the process that writes files and prints (and in a single process)."""
    return rank() == 0


def init_from_environment(device: torch.device | str = "cpu") -> torch.device:
    """Join the process group a launcher described in the environment, and return this process's device.

    With ``WORLD_SIZE`` above 1 (``torchrun``, ``accelerate launch``, ``notebook_launcher``): on CUDA the process
    takes the GPU ``cuda:<LOCAL_RANK>`` and the nccl backend, elsewhere gloo on the CPU; the group is joined once
    (a second call returns the device). Otherwise nothing happens and ``device`` is returned as it is.

    Args:
        device: the device the config chose (``utils.runtime.choose_device``); its type picks the backend.

    Returns:
        The device this process trains on.
    """
    import torch
    import torch.distributed as dist

    device = torch.device(device)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method="env://")
    return device


def shut_down() -> None:
    """Leave the process group (a no-op without one), after a barrier so no rank leaves while another still writes."""
    group = _process_group()
    if group is not None:
        group.barrier()
        group.destroy_process_group()


def barrier() -> None:
    """Wait until every process arrives here (a no-op in a single process)."""
    group = _process_group()
    if group is not None and group.get_world_size() > 1:
        group.barrier()


@contextmanager
def main_process_first() -> Iterator[None]:
    """Rank 0 runs the block first while the others wait; then the others run it (finding rank 0's work done).

    For work whose result is a file every rank then reads, such as building image-cache entries: only rank 0 writes,
    and the others find every entry fresh.
    """
    if not is_main_process():
        barrier()
    yield
    if is_main_process():
        barrier()


def main_process_result(function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """``function(*args, **kwargs)`` called in rank 0 alone; every rank gets its result (a picklable value).

    For decisions every rank must share, such as whether to train or load a checkpoint: rank 0 decides (and prints),
    and no rank can see a settings record that another rank is about to replace.
    """
    if world_size() == 1:
        return function(*args, **kwargs)
    holder = [function(*args, **kwargs) if is_main_process() else None]
    _process_group().broadcast_object_list(holder, src=0)
    return holder[0]


def rank_share(batch_size: int) -> slice:
    """This rank's contiguous share of a global batch of ``batch_size`` items: the ranks' shares tile it in rank order
    and differ in size by at most one item (rank ``r`` takes ``[r·n // W, (r+1)·n // W)``).

    Contiguous, not strided, so that a batch ordered by class (06's m-per-class batches) gives each rank whole
    classes, with their positives, for in-batch triplet mining.

    Raises:
        ValueError: if the batch has fewer items than there are ranks (a rank would get none).
    """
    size, index = world_size(), rank()
    if batch_size < size:
        raise ValueError(f"a batch of {batch_size} item(s) cannot be shared among {size} processes: "
                         "raise the batch size (or drop the last, smaller batch)")
    return slice(index * batch_size // size, (index + 1) * batch_size // size)


def sum_over_ranks(values: list[float]) -> list[float]:
    """The element-wise sum of ``values`` over every rank (``values`` themselves in a single process)."""
    if world_size() == 1:
        return values
    import torch

    total = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    _process_group().all_reduce(total)
    return total.tolist()


def broadcast_value(value: float) -> float:
    """Rank 0's ``value`` on every rank (``value`` itself in a single process)."""
    if world_size() == 1:
        return value
    import torch

    tensor = torch.tensor([value], dtype=torch.float64, device=_collective_device())
    _process_group().broadcast(tensor, src=0)
    return float(tensor.item())


def _collective_device() -> torch.device:
    """Where a collective's tensors must live: the current GPU for nccl, the CPU for gloo."""
    import torch

    nccl = _process_group().get_backend() == "nccl"
    return torch.device("cuda", torch.cuda.current_device()) if nccl else torch.device("cpu")
