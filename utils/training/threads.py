"""The one place that sets torch's CPU threads: for a block (:func:`cpu_threads`, restored after it) or for the rest
of a stage (:func:`set_cpu_threads`, where a stage's learner keeps training after the call that configured it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def set_cpu_threads(threads: int | None) -> int:
    """Set torch's intra-op CPU threads when ``threads`` is given (``None`` or 0: unchanged); return the number in use.

    Small convolutions gain little from several threads, and on a machine whose cores other jobs also use,
    threads that wait for each other can make training many times slower.
    """
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[int]:
    """Run the block with ``threads`` torch CPU threads (:func:`set_cpu_threads`); yields the number in use.

    The previous number is restored when the block ends, also on an error.
    """
    previous = torch.get_num_threads()
    try:
        yield set_cpu_threads(threads)
    finally:
        torch.set_num_threads(previous)
