"""The `profile` object of a report: what a reader of any format needs from a run, small
enough to embed (the full ProfileRun is what --save-run writes)."""

from __future__ import annotations

import re
from typing import Any

from optadvisor.models import ProfileRun

TOP = 20
TIMELINE_POINTS = 300

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


def profile_summary(run: ProfileRun, saved_as: str = "") -> dict[str, Any]:
    metrics = run.metrics
    memory = run.memory
    samples = run.samples
    timeline: list[list[float]] = []
    if metrics is not None and metrics.samples:
        step = max(1, len(metrics.samples) // TIMELINE_POINTS)
        timeline = [[round(s.t, 3), round(s.cpu_pct, 1), s.rss]
                    for s in metrics.samples[::step]]
    return {
        "script": run.script,
        "command": list(run.command),
        "mode": run.mode,
        "sampler": samples.sampler if samples else run.environment.sampler,
        "saved_as": saved_as,
        "outcome": {"status": run.outcome.status, "returncode": run.outcome.returncode,
                    "signal": run.outcome.signal, "message": run.outcome.message,
                    "timed_out": run.outcome.timed_out},
        "wall_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "cpu_pct": round(100 * run.cpu_seconds / run.wall_seconds, 1) if run.wall_seconds else 0,
        "samples": {"total": samples.total if samples else 0,
                    "idle": samples.idle if samples else 0,
                    "rate": samples.rate if samples else 0,
                    "processes": samples.processes if samples else 0,
                    "threads": len(samples.threads) if samples else 0},
        "asyncio": uses_asyncio(run),
        "serialization_pct": serialization_pct(run),
        "functions": [
            {"name": f.name, "path": f.path, "line": f.line, "user": f.user,
             "self_pct": f.self_pct, "total_pct": f.total_pct, "idle_pct": f.idle_pct,
             "user_self_pct": f.user_self_pct, "samples": f.samples}
            for f in run.functions[:TOP]
        ],
        "lines": [
            {"path": ln.path, "line": ln.line, "function": ln.function, "user": ln.user,
             "self_pct": ln.self_pct, "idle_pct": ln.idle_pct, "code": ln.code}
            for ln in run.lines[:TOP]
        ],
        "timeline": timeline,
        "memory": None if memory is None else {
            "rss_start": memory.rss_start, "rss_peak": memory.rss_peak,
            "rss_end": memory.rss_end, "rss_slope": memory.rss_slope,
            "rss_r2": memory.rss_r2, "leak_suspected": memory.leak_suspected,
            "tracemalloc_peak": memory.peak_bytes,
            "sites": [{"path": s.path, "line": s.line, "size_bytes": s.size_bytes,
                       "count": s.count, "code": s.code} for s in memory.sites[:10]],
        },
        "passes": [{"name": p.name, "status": p.status, "wall_seconds": p.wall_seconds,
                    "overhead": p.overhead, "note": p.note} for p in run.passes],
        "errors": [{"kind": e.kind, "message": e.message, "pass": e.pass_name}
                   for e in run.errors],
        "notes": list(run.notes),
    }
