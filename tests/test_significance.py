"""The significance test behind `compare` of repeated runs (optadvisor/significance.py):
synthetic samples whose truth is known — clearly different, drawn from one distribution,
too few — and the determinism a CI gate needs."""

from __future__ import annotations

import random

import pytest

from optadvisor.significance import MIN_RUNS, interval, median, test_change


def noisy(centre: float, count: int, rng: random.Random, spread: float = 0.05) -> list[float]:
    """`count` run times around `centre`, ±`spread` relative (a loaded machine's noise)."""
    return [centre * (1 + rng.uniform(-spread, spread)) for _ in range(count)]


def test_median():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    with pytest.raises(ValueError):
        median([])


@pytest.mark.parametrize("runs", [3, 5, 10])
def test_clearly_different_samples_are_significant(runs: int):
    rng = random.Random(runs)
    before, after = noisy(0.5, runs, rng), noisy(1.5, runs, rng)
    result = test_change(before, after)
    assert result.tested and result.significant
    assert result.low is not None and result.high is not None
    # The interval holds the true difference (1.0 s) within the samples' spread, and it is
    # the difference after − before: positive for a slowdown.
    assert 0 < result.low <= result.high
    assert result.low <= median(after) - median(before) <= result.high
    assert result.low > 0.8 and result.high < 1.2
    backwards = test_change(after, before)
    assert backwards.significant and backwards.high is not None and backwards.high < 0


def test_samples_of_one_distribution_are_rarely_significant():
    """Identical code: the gate must not cry wolf. With 5 runs per side, drawn from one
    distribution 200 times, the 95% interval excludes zero in only a few percent of
    the comparisons (the test's false-alarm rate), never in most."""
    rng = random.Random(7)
    alarms = sum(test_change(noisy(1.0, 5, rng, 0.2), noisy(1.0, 5, rng, 0.2)).significant
                 for _ in range(200))
    assert alarms <= 20  # ≤ 10 %: two-sided 5 % nominal, the bootstrap is a bit liberal


def test_overlapping_runs_are_no_significant_change():
    before, after = [0.51, 0.50, 0.53], [0.52, 0.49, 0.55]
    result = test_change(before, after)
    assert result.tested and not result.significant
    assert result.low is not None and result.high is not None
    assert result.low < 0 < result.high
    assert (result.before_min, result.before_max) == (0.50, 0.53)
    assert (result.after_min, result.after_max) == (0.49, 0.55)


@pytest.mark.parametrize("before, after", [
    ([1.0], [3.0]), ([1.0, 1.1], [3.0, 3.1]), ([1.0, 1.1, 1.05], [3.0, 3.1]), ([], [1.0] * 5),
])
def test_too_few_runs_are_not_tested(before: list[float], after: list[float]):
    assert MIN_RUNS == 3
    result = test_change(before, after)
    assert not result.tested and not result.significant
    assert result.low is None and result.high is None
    assert (result.runs_before, result.runs_after) == (len(before), len(after))


def test_equal_runs_are_no_change_and_a_constant_shift_is_one():
    assert not test_change([0.2] * 4, [0.2] * 4).significant
    shifted = test_change([0.2] * 4, [0.3] * 4)
    assert shifted.significant and shifted.low == shifted.high == pytest.approx(0.1)


def test_the_interval_is_deterministic():
    before, after = [0.5, 0.7, 0.6, 0.9], [0.8, 0.6, 1.0, 0.7]
    assert interval(before, after) == interval(list(before), list(after))
    assert test_change(before, after) == test_change(before, after)
    # Another seed resamples differently: the fixed one is what makes it repeatable.
    assert {interval(before, after, seed=seed) for seed in range(20)} != {interval(before, after)}
