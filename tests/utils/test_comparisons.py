"""Paired comparisons: known answers, a slow reference, and the degenerate cases."""

import numpy as np
import pytest

from utils.comparisons import claim_over_seeds, paired_bootstrap


def test_a_constant_gap_has_a_point_interval_and_a_clear_verdict():
    b = np.linspace(0.1, 0.9, 12)
    result = paired_bootstrap(b + 0.05, b)
    assert result.mean_difference == pytest.approx(0.05)
    assert result.low == pytest.approx(0.05) and result.high == pytest.approx(0.05)
    assert (result.a_wins, result.b_wins, result.ties, result.verdict) == (12, 0, 0, "A higher")
    assert paired_bootstrap(b, b + 0.05).verdict == "B higher"


def test_pairing_finds_a_small_consistent_gap_that_unpaired_spread_would_hide():
    rng = np.random.default_rng(1)
    class_difficulty = rng.uniform(0.1, 0.9, 40)  # the items' shared part: large
    a = class_difficulty + 0.02 + rng.normal(0, 0.005, 40)
    b = class_difficulty
    assert a.std() > 10 * 0.02  # the methods' own spreads dwarf the gap ...
    assert paired_bootstrap(a, b).verdict == "A higher"  # ... the paired differences do not


def test_a_symmetric_difference_is_within_noise():
    differences = np.array([0.1, -0.1, 0.2, -0.2, 0.05, -0.05, 0.3, -0.3])
    result = paired_bootstrap(differences, np.zeros_like(differences))
    assert result.mean_difference == pytest.approx(0.0) and result.low < 0 < result.high
    assert result.verdict == "within noise" and (result.a_wins, result.b_wins) == (4, 4)


def test_the_interval_is_the_quantiles_of_a_slow_resampling_loop_with_the_same_draws():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(size=9), rng.uniform(size=9)
    result = paired_bootstrap(a, b, n_resamples=500, seed=7)
    draws = np.random.default_rng(7).integers(0, 9, size=(500, 9))
    means = [np.mean([a[index] - b[index] for index in row]) for row in draws]
    assert (result.low, result.high) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap([], [])
    with pytest.raises(ValueError, match="one figure of each method per seed"):
        claim_over_seeds([0.1], [])


def test_a_claim_over_seeds_is_held_mixed_or_not_held():
    assert claim_over_seeds([0.72, 0.70, 0.71], [0.61, 0.63, 0.60]) == "held"
    assert claim_over_seeds([0.72, 0.60, 0.71], [0.61, 0.63, 0.60]) == "mixed"
    assert claim_over_seeds([0.5, 0.5], [0.5, 0.6]) == "not held"  # a tie is not "higher"
