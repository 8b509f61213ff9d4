"""`profile --repeat N`: what each of the N runs keeps, and which run speaks for them.

One run of a program says little about a change of a few percent: on a shared machine the
same code moves by more than that from run to run. So `--repeat N` runs the measuring pass
(and the calls pass, with `--calls`) N times and keeps every run's totals and function
times in the ProfileRun's `repeats`; `compare` tests the change of their medians
(optadvisor/significance.py). The run's other figures (stacks, lines, GC, lag, the
functions the later passes target) are those of the representative run: the one with the
median wall time, or the first that did not end normally (that is what the user must
see, and no run follows it)."""

from __future__ import annotations

from collections.abc import Sequence

from optadvisor.models import CallStats, HotFunction, RepeatCall, RepeatFunction, RepeatRun
from optadvisor.significance import median

REPEAT_FUNCTIONS = 500
"""Functions kept per run, heaviest first: far more than ever take 5 % of a run (the share
a function needs before compare tests it)."""
MAX_REPEAT = 100


def repeat_functions(functions: Sequence[HotFunction]) -> tuple[RepeatFunction, ...]:
    heaviest = sorted(functions, key=lambda f: (-f.total_seconds, f.name))[:REPEAT_FUNCTIONS]
    return tuple(RepeatFunction(name=f.name, file=f.file, path=f.path, line=f.line,
                                user=f.user, self_seconds=f.self_seconds,
                                total_seconds=f.total_seconds) for f in heaviest)


def repeat_calls(calls: Sequence[CallStats]) -> tuple[RepeatCall, ...]:
    return tuple(RepeatCall(name=c.name, file=c.file, path=c.path, line=c.line, calls=c.calls,
                            total_seconds=c.total_seconds, mean_seconds=c.mean_seconds,
                            p95_seconds=c.p95_seconds)
                 for c in calls if c.calls)


def representative(runs: Sequence[RepeatRun]) -> int:
    """The index of the run whose figures the report shows: the first that did not end
    normally, else the one with the median wall time (the lower of the two middle ones
    for an even count)."""
    for index, run in enumerate(runs):
        if run.status != "ok":
            return index
    ranked = sorted(range(len(runs)), key=lambda i: (runs[i].wall_seconds, i))
    return ranked[(len(ranked) - 1) // 2]


def median_calls(passes: Sequence[tuple[CallStats, ...]]) -> int:
    """The index of the calls pass the report shows: the one whose wrapped functions took
    the median total time."""
    totals = [sum(c.total_seconds for c in stats) for stats in passes]
    middle = median(totals) if totals else 0.0
    return min(range(len(totals)), key=lambda i: (abs(totals[i] - middle), i))
