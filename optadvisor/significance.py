"""Did a figure really change between two sets of repeated runs?

`compare` asks this of every gated total and every significant function when both
profile runs were made with `profile --repeat N`. The answer is a percentile bootstrap
interval of median(after) − median(before): each side's runs are resampled with
replacement, the difference of the resampled medians is taken RESAMPLES times, and the
middle CONFIDENCE of those differences is the interval. A change is significant when the
interval excludes zero. Medians, not means: one run slowed by a neighbour on a shared
machine moves a mean, not a median.

The resampling uses its own `random.Random(SEED)`, so the same runs always give the same
interval (a CI gate must not flip on a re-run of `compare`). With 3 runs per side the
interval excludes zero only when every run of one side is beyond every run of the other:
for identical code that happens by chance 1 time in 20 per direction (2 of the 20 ways to
split 6 runs), and the `--max-regression` threshold on the medians filters most of those.
More runs give finer decisions; fewer than MIN_RUNS are not tested at all (with 2 per
side, a chance separation is 1 in 6 per direction).

    result = test_change([0.51, 0.50, 0.53], [1.49, 1.52, 1.50])
    result.significant, result.low, result.high   # True, 0.96, 1.02
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from optadvisor.models import Significance

MIN_RUNS = 3
"""Runs each side needs before a change is tested."""
RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 11_07
"""Any fixed number: what matters is that it never changes between two calls."""


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of no values")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def test_change(before: Sequence[float], after: Sequence[float],
                digits: int = 6) -> Significance:
    """The bootstrap test of median(after) − median(before); untested (only the spreads
    filled in) when a side has fewer than MIN_RUNS values. `digits`: the interval is
    rounded to this many decimals (seconds to the microsecond by default)."""
    spreads = {
        "before_min": min(before, default=None), "before_max": max(before, default=None),
        "after_min": min(after, default=None), "after_max": max(after, default=None)}
    if min(len(before), len(after)) < MIN_RUNS:
        return Significance(runs_before=len(before), runs_after=len(after), tested=False,
                            confidence=CONFIDENCE, **spreads)
    low, high = interval(before, after)
    return Significance(runs_before=len(before), runs_after=len(after), tested=True,
                        significant=low > 0 or high < 0, low=round(low, digits),
                        high=round(high, digits), confidence=CONFIDENCE, **spreads)


# pytest would collect a module-level `test_*` function imported into a test file.
test_change.__test__ = False  # type: ignore[attr-defined]


def interval(before: Sequence[float], after: Sequence[float],
             resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
             seed: int = SEED) -> tuple[float, float]:
    """The percentile bootstrap interval of median(after) − median(before)."""
    rng = random.Random(seed)
    old, new = list(before), list(after)
    n, m = len(old), len(new)
    differences = sorted(median(rng.choices(new, k=m)) - median(rng.choices(old, k=n))
                         for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    low = differences[int(math.floor(tail * resamples))]
    high = differences[max(0, int(math.ceil((1.0 - tail) * resamples)) - 1)]
    return low, high
