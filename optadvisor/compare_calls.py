"""`compare` of two runs' calls passes (`profile --calls`): per timed function, its calls
and its wall time per call (mean and 95th percentile) before → after.

The sampled function times of a comparison say where CPU went; a coroutine waiting on
I/O is rarely on the sampled stack, so the calls pass is where a change of latency shows.
With `profile --calls --repeat N` on both sides every figure is the median over the runs
and each change of the mean and of the p95 is tested like the totals
(optadvisor/significance.py). These rows are reported, never gated: a per-call time is the
least stable figure of a run, and the totals and sampled functions already gate.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from optadvisor.models import CallDelta, CallStats, ProfileRun, RepeatCall, Significance
from optadvisor.significance import median, test_change


def user_path(run: ProfileRun, file: str, path: str) -> str:
    """The path a user function is matched by: relative to the profiled script's own
    directory, so two runs of one script started from different directories, or from two
    checkouts, name its files alike."""
    script = os.path.join(run.cwd, run.script) if run.cwd else run.script
    if os.path.isabs(file) and os.path.isabs(script):
        return os.path.relpath(file, os.path.dirname(script)).replace(os.sep, "/")
    return path


def call_deltas(before: ProfileRun, after: ProfileRun) -> tuple[CallDelta, ...]:
    """Empty unless both runs have a calls pass."""
    if not before.calls or not after.calls:
        return ()
    old, new = _side(before), _side(after)
    tested = bool(before.repeats or after.repeats)
    rows = [_delta(old.get(key), new.get(key), tested) for key in set(old) | set(new)]
    rows.sort(key=lambda d: (d.status != "changed",
                             -abs(d.after_total - d.before_total), d.path, d.name))
    return tuple(rows)


def calls_note(before: ProfileRun, after: ProfileRun) -> Iterable[str]:
    """Says why no per-call rows are shown when only one side has them."""
    if bool(before.calls) != bool(after.calls):
        which = "before" if before.calls else "after"
        yield (f"only the {which} run has a calls pass (`profile --calls`): times per call "
               "are not compared")


class _Figures:
    """One side's figures of one function: its calls-pass row (the representative run's)
    and, with repeats, what each normally ended run measured."""

    def __init__(self, run: ProfileRun, stats: CallStats) -> None:
        self.stats = stats
        self.path = user_path(run, stats.file, stats.path)
        self.runs: list[RepeatCall] = []

    def values(self, attribute: str) -> list[float]:
        """The figure in each repeated run (0 = not kept by that run), else the one pass's."""
        if self.runs:
            return [v for v in (getattr(r, attribute) for r in self.runs) if v > 0]
        single = getattr(self.stats, attribute)
        return [single] if single > 0 else []

    def figure(self, attribute: str) -> float:
        values = self.values(attribute)
        return round(median(values), 9) if values else 0.0

    def calls(self) -> int:
        if self.runs:
            return int(round(median([r.calls for r in self.runs])))
        return self.stats.calls


def _side(run: ProfileRun) -> dict[tuple[str, str], _Figures]:
    found: dict[tuple[str, str], _Figures] = {}
    for stats in run.calls:
        if not stats.calls:
            continue
        figures = _Figures(run, stats)
        key = (figures.path, stats.name)
        if key not in found or stats.total_seconds > found[key].stats.total_seconds:
            found[key] = figures
    by_file = {(os.path.abspath(f.stats.file), f.stats.line): f for f in found.values()}
    for repeated in run.ok_repeats():
        for call in repeated.calls:
            figures = by_file.get((os.path.abspath(call.file), call.line))
            if figures is not None and call.calls:
                figures.runs.append(call)
    return found


def _delta(old: _Figures | None, new: _Figures | None, tested: bool) -> CallDelta:
    known = new or old
    assert known is not None
    status = "changed" if old and new else ("new" if new else "gone")
    fields: dict[str, float | int] = {}
    for side, figures in (("before", old), ("after", new)):
        fields[f"{side}_calls"] = figures.calls() if figures else 0
        for name, attribute in (("mean", "mean_seconds"), ("p95", "p95_seconds"),
                                ("total", "total_seconds")):
            fields[f"{side}_{name}"] = figures.figure(attribute) if figures else 0.0
    return CallDelta(
        name=known.stats.name, path=known.path, line=known.stats.line, status=status,
        is_async=known.stats.is_async, **fields,  # type: ignore[arg-type]
        mean_delta_pct=_pct(fields["before_mean"], fields["after_mean"]),
        p95_delta_pct=_pct(fields["before_p95"], fields["after_p95"]),
        mean_significance=_test(old, new, "mean_seconds") if tested else None,
        p95_significance=_test(old, new, "p95_seconds") if tested else None)


def _test(old: _Figures | None, new: _Figures | None, attribute: str) -> Significance | None:
    if old is None or new is None:
        return None
    before, after = old.values(attribute), new.values(attribute)
    if not before or not after:  # p95 not kept by runs saved before it was
        return None
    return test_change(before, after, digits=9)


def _pct(before: float, after: float) -> float | None:
    return round((after - before) / before * 100, 2) if before > 0 else None
