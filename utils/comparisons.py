"""Is a gap between two methods real? Paired comparisons on the same items, and a claim checked over seeds.

A course that says "ReMSE beats MSE" or "M = 1 beats M = 7" on one run of one seed states noise as often as not: the
same seed on another machine, or another seed, moves such figures by as much as the gap. Two views guard against it:

* :func:`paired_bootstrap` — one run, two methods scored on the same items (classes, labels, episodes): the mean of
  the per-item differences with a percentile bootstrap interval over the items (Efron & Tibshirani, "An Introduction
  to the Bootstrap", 1993), and how many items each method wins. Pairing removes what the items share (an easy class
  is easy for both), so a gap can be real even when the two methods' own intervals overlap.
* :func:`claim_over_seeds` — several runs (``python -m utils.course --seeds 0 1 2``): a claim "A > B" *holds* when
  every seed agrees, is *not held* when no seed does, and is *mixed* otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedComparison:
    """Method A against method B on the same items.

    Attributes:
        mean_difference: the mean over items of A − B.
        low, high: the bootstrap interval of ``mean_difference`` (``level``, e.g. 95 %).
        a_wins, b_wins, ties: items where A is higher, B is higher, both equal.
        verdict: ``"A higher"`` when the interval lies above 0, ``"B higher"`` when below, else ``"within noise"``.
    """

    mean_difference: float
    low: float
    high: float
    a_wins: int
    b_wins: int
    ties: int
    verdict: str

    def __str__(self) -> str:
        return (f"mean difference {self.mean_difference:+.3f} (95% bootstrap interval {self.low:+.3f} to "
                f"{self.high:+.3f}); wins {self.a_wins}–{self.b_wins}, {self.ties} ties: {self.verdict}")


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> PairedComparison:
    """Compare two methods scored on the same ``n`` items (e.g. per-class accuracies of shape (n,)).

    The items are resampled with replacement ``n_resamples`` times (one seeded generator); the interval is the
    ``(1 − level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled mean differences.

    Raises:
        ValueError: if ``a`` and ``b`` differ in length or are empty.
    """
    first, second = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 1 or len(first) == 0:
        raise ValueError(f"need two equal-length, non-empty sequences of scores, got shapes {first.shape} and {second.shape}")
    differences = first - second
    draws = np.random.default_rng(seed).integers(0, len(differences), size=(n_resamples, len(differences)))
    resampled = differences[draws].mean(axis=1)
    low, high = np.quantile(resampled, [(1 - level) / 2, (1 + level) / 2])
    verdict = "A higher" if low > 0 else "B higher" if high < 0 else "within noise"
    return PairedComparison(float(differences.mean()), float(low), float(high), int((differences > 0).sum()),
                            int((differences < 0).sum()), int((differences == 0).sum()), verdict)


def claim_over_seeds(a: Sequence[float], b: Sequence[float]) -> str:
    """The claim "A is higher than B" over seeds, given each seed's figure of A and of B (same order):
    ``"held"`` (every seed), ``"not held"`` (no seed) or ``"mixed"``.

    Raises:
        ValueError: if the sequences differ in length or are empty.
    """
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"need one figure of each method per seed, got {len(a)} and {len(b)}")
    higher = [first > second for first, second in zip(a, b, strict=True)]
    return "held" if all(higher) else "not held" if not any(higher) else "mixed"
