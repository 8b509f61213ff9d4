"""The `profile` object of a report: what a reader of any format needs from a run, small
enough to embed (the full ProfileRun is what --save-run writes)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from optadvisor.models import ProfileRun
from optadvisor.profile.aggregate import fold_stacks, short_path
from optadvisor.significance import median

TOP = 20
TIMELINE_POINTS = 300
STACKS = 500
"""Folded stacks a report embeds (for its flamegraph), at most."""
STACK_MIN_SHARE = 0.005
"""Frames with less than this share of the samples are merged into their callers."""

_SERIALIZATION = re.compile(
    r"(^|[/\\])(json|pickle|copyreg|marshal|yaml|simplejson|orjson|msgspec|_pickle)([/\\.]|$)")
_EVENT_LOOP = re.compile(r"asyncio[/\\](base_events|selector_events|events|runners)\.py$")


def is_serialization(file: str) -> bool:
    return bool(_SERIALIZATION.search(file))


def serialization_pct(run: ProfileRun) -> float:
    """Share of wall time spent inside json/pickle/yaml code (self time of their frames)."""
    return round(sum(f.self_pct for f in run.functions
                     if not f.user and is_serialization(f.file)), 2)


def uses_asyncio(run: ProfileRun) -> bool:
    return any(_EVENT_LOOP.search(f.file) for f in run.functions)


def summary_stacks(run: ProfileRun, limit: int = STACKS,
                   min_share: float = STACK_MIN_SHARE) -> list[dict[str, Any]]:
    """The run's folded stacks trimmed for a report: frames under min_share of the samples
    merged into their callers, at most `limit` stacks, heaviest first."""
    if not run.stacks:
        return []
    total = sum(s.samples for s in run.stacks)
    weights = {s.frames: (s.samples, s.idle) for s in run.stacks}
    kept = fold_stacks(weights, limit, max(1, math.ceil(total * min_share)))
    return [{"frames": list(s.frames), "samples": s.samples, "idle": s.idle} for s in kept]


def _spread(values: list[float], digits: int = 4) -> dict[str, float]:
    return {"median": round(median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def repeats_summary(run: ProfileRun, where: Callable[[str, str], str]
                    ) -> dict[str, Any] | None:
    """`profile --repeat N`: the median and range of each total over the runs that ended
    normally, and of the heaviest user functions' times and the calls pass's time per
    call; None with one run."""
    if len(run.repeats) < 2:
        return None
    runs = run.ok_repeats()
    out: dict[str, Any] = {"runs": len(run.repeats), "ok": len(runs)}
    if not runs:
        return {**out, "functions": [], "calls": []}
    for name, values in (("wall_seconds", [r.wall_seconds for r in runs]),
                         ("cpu_seconds", [r.cpu_seconds for r in runs]),
                         ("script_seconds", [r.script_seconds for r in runs]),
                         ("rss_peak", [float(r.rss_peak) for r in runs])):
        out[name] = _spread(values, 0 if name == "rss_peak" else 4)
    totals: dict[tuple[str, str], list[float]] = {}
    selfs: dict[tuple[str, str], list[float]] = {}
    seen: dict[tuple[str, str], Any] = {}
    for index, repeated in enumerate(runs):
        for f in repeated.functions:
            if not f.user or f.name.startswith("<"):
                continue
            key = (f.file, f.name)
            seen.setdefault(key, f)
            # A run a function is missing from gave it no measurable time.
            totals.setdefault(key, [0.0] * len(runs))[index] = f.total_seconds
            selfs.setdefault(key, [0.0] * len(runs))[index] = f.self_seconds
    heaviest = sorted(totals, key=lambda k: (-median(totals[k]), k[1]))[:TOP]
    out["functions"] = [
        {"name": k[1], "path": where(seen[k].file, seen[k].path), "line": seen[k].line,
         "total_seconds": _spread(totals[k]), "self_seconds": _spread(selfs[k])}
        for k in heaviest]
    means: dict[tuple[str, str], list[float]] = {}
    called: dict[tuple[str, str], Any] = {}
    for repeated in runs:
        for c in repeated.calls:
            means.setdefault((c.file, c.name), []).append(c.mean_seconds * 1000)
            called.setdefault((c.file, c.name), c)
    out["calls"] = [
        {"name": k[1], "path": where(called[k].file, called[k].path), "line": called[k].line,
         "runs": len(means[k]), "mean_ms": _spread(means[k], 3)}
        for k in sorted(means, key=lambda k: (-median(means[k]), k[1]))[:TOP]]
    return out


def profile_summary(run: ProfileRun, saved_as: str = "") -> dict[str, Any]:
    metrics = run.metrics
    memory = run.memory
    samples = run.samples
    timeline: list[list[float]] = []
    if metrics is not None and metrics.samples:
        step = max(1, len(metrics.samples) // TIMELINE_POINTS)
        timeline = [[round(s.t, 3), round(s.cpu_pct, 1), s.rss]
                    for s in metrics.samples[::step]]
    stdlib = run.environment.stdlib
    shortened: dict[str, str] = {}

    def where(file: str, path: str) -> str:
        """Reported paths without the machine's directories (`<stdlib>/…`, `…/dir/x.py`)."""
        if not file:
            return path
        if file not in shortened:
            shortened[file] = short_path(file, run.root, stdlib)
        return shortened[file]

    def function(f: Any) -> dict[str, Any]:
        return {"name": f.name, "path": where(f.file, f.path), "line": f.line, "user": f.user,
                "self_pct": f.self_pct, "total_pct": f.total_pct, "idle_pct": f.idle_pct,
                "user_self_pct": f.user_self_pct, "samples": f.samples}

    return {
        "script": run.script,
        "script_path": where(run.script, run.script),
        "args": list(run.args),
        "command": list(run.command),
        "mode": run.mode,
        "sampler": samples.sampler if samples else run.environment.sampler,
        "saved_as": saved_as,
        "outcome": {"status": run.outcome.status, "returncode": run.outcome.returncode,
                    "signal": run.outcome.signal, "message": run.outcome.message,
                    "exception": run.outcome.exception, "timed_out": run.outcome.timed_out,
                    "killed": run.outcome.killed},
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "script_seconds": run.script_seconds,
        "cpu_pct": round(100 * run.cpu_seconds / run.wall_seconds, 1) if run.wall_seconds else 0,
        "samples": {"total": samples.total if samples else 0,
                    "idle": samples.idle if samples else 0,
                    "rate": samples.rate if samples else 0,
                    "processes": samples.processes if samples else 0,
                    "threads": len(samples.threads) if samples else 0},
        "asyncio": uses_asyncio(run),
        "serialization_pct": serialization_pct(run),
        "functions": [function(f) for f in run.functions[:TOP]],
        "user_functions": [function(f) for f in run.ranked_user_functions()[:TOP]],
        "lines": [
            {"path": where(ln.file, ln.path), "line": ln.line, "function": ln.function,
             "user": ln.user, "self_pct": ln.self_pct, "total_pct": ln.total_pct,
             "idle_pct": ln.idle_pct, "samples": ln.samples, "code": ln.code}
            for ln in run.lines[:TOP]
        ],
        "timeline": timeline,
        "stacks": summary_stacks(run),
        "rss_peak": metrics.rss_peak if metrics is not None else 0,
        "threads_max": metrics.threads_max if metrics is not None else 0,
        "processes_max": metrics.processes_max if metrics is not None else 0,
        "memory": None if memory is None else {
            "rss_start": memory.rss_start, "rss_peak": memory.rss_peak,
            "rss_end": memory.rss_end, "rss_slope": memory.rss_slope,
            "rss_r2": memory.rss_r2, "leak_suspected": memory.leak_suspected,
            "tracemalloc_peak": memory.peak_bytes,
            "sites": [{"path": where(s.file, s.path), "line": s.line,
                       "size_bytes": s.size_bytes, "count": s.count, "code": s.code}
                      for s in memory.sites[:10]],
        },
        "calls": [
            {"name": c.name, "path": where(c.file, c.path), "line": c.line,
             "is_async": c.is_async, "calls": c.calls,
             "total_ms": round(c.total_seconds * 1000, 3),
             "mean_ms": round(c.mean_seconds * 1000, 3),
             "p50_ms": round(c.p50_seconds * 1000, 3), "p95_ms": round(c.p95_seconds * 1000, 3),
             "p99_ms": round(c.p99_seconds * 1000, 3), "keyed_calls": c.keyed_calls,
             "distinct_args": c.distinct_args,
             # None, not 0: no call could be fingerprinted, so nothing is known.
             "hit_rate": c.hit_rate if c.keyed_calls else None,
             "varies": c.varies, "result_bytes": c.result_bytes}
            for c in run.calls[:TOP]],
        "awaits": [
            {"function": a.function, "path": where(a.file, a.path), "line": a.line,
             "await_line": a.await_line, "code": a.code, "awaits": a.awaits,
             "suspensions": a.suspensions, "total_ms": round(a.total_seconds * 1000, 3),
             "mean_ms": round(a.mean_seconds * 1000, 3),
             "max_ms": round(a.max_seconds * 1000, 3), "concurrency": a.concurrency,
             "tasks": a.tasks}
            for a in run.await_sites[:TOP]],
        "await_groups": [
            {"function": g.function, "path": where(g.file, g.path), "line": g.line,
             "rule": g.rule, "kind": g.kind, "at_line": g.at_line, "calls": g.calls,
             "items": g.items, "sum_ms": round(g.sum_seconds * 1000, 3),
             "max_ms": round(g.max_seconds * 1000, 3),
             "saving_ms": round(g.saving_seconds * 1000, 3),
             "concurrency": g.concurrency, "tasks": g.tasks, "verdict": g.verdict}
            for g in run.await_groups[:TOP]],
        # getattr: summaries of runs built by older code (tests build runs by hand too).
        "io_calls": [
            {"function": c.function, "path": where(c.file, c.path), "line": c.line,
             "call_line": c.call_line, "kind": c.kind, "library": c.library,
             "operation": c.operation, "shape": c.shape, "calls": c.calls,
             "total_ms": round(c.total_seconds * 1000, 3),
             "mean_ms": round(c.mean_seconds * 1000, 3),
             "max_ms": round(c.max_seconds * 1000, 3), "slow_calls": c.slow_calls,
             "sequential_slow_calls": c.sequential_slow_calls,
             "overlapped_calls": c.overlapped_calls, "parent": c.parent,
             "parent_line": c.parent_line}
            for c in getattr(run, "io_calls", ())[:TOP]],
        "gc": None if run.gc is None else {
            "collections": run.gc.collections,
            "pause_ms": round(run.gc.pause_seconds * 1000, 3), "pause_pct": run.gc.pause_pct,
            "generations": [{"generation": g.generation, "collections": g.collections,
                             "pause_ms": round(g.pause_seconds * 1000, 3),
                             "max_pause_ms": round(g.max_pause_seconds * 1000, 3)}
                            for g in run.gc.generations],
            "function": run.gc.function,
            "path": where(run.gc.file, run.gc.path) if run.gc.function else "",
            "line": run.gc.line},
        "loop_lag": None if run.loop_lag is None else {
            "beats": run.loop_lag.beats, "interval_ms": run.loop_lag.interval_ms,
            "threshold_ms": run.loop_lag.threshold_ms, "lags": run.loop_lag.lags,
            "max_lag_ms": run.loop_lag.max_lag_ms, "total_lag_ms": run.loop_lag.total_lag_ms,
            "worst": [{"start_s": e.start_s, "end_s": e.end_s, "lag_ms": e.lag_ms,
                       "function": e.function,
                       "path": where(e.file, e.path) if e.function else "", "line": e.line}
                      for e in run.loop_lag.worst],
            "function": run.loop_lag.function,
            "path": where(run.loop_lag.file, run.loop_lag.path) if run.loop_lag.function else "",
            "line": run.loop_lag.line, "blocker_lags": run.loop_lag.blocker_lags,
            "blocker_lag_ms": run.loop_lag.blocker_lag_ms,
            "timeline": [list(point) for point in run.loop_lag.timeline]},
        "repeats": repeats_summary(run, where),
        "passes": [{"name": p.name, "status": p.status, "wall_seconds": p.wall_seconds,
                    "overhead": p.overhead, "note": p.note} for p in run.passes],
        "errors": [{"kind": e.kind, "message": e.message, "pass": e.pass_name}
                   for e in run.errors],
        "notes": list(run.notes),
    }
