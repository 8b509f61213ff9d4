"""The targeted passes that re-run the script with instruments on a few functions only:
line-profiler timings per line, calls with their latency and argument fingerprints,
tracemalloc peaks and allocation sites per call, and memory-profiler's line report for
one named function. Plus the RSS trend, which needs no
extra run: the monitor's samples of the measuring pass already hold it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from optadvisor.models import (
    AllocationSite, CallStats, FunctionMemory, GcGeneration, GcStats, HotFunction, IOCallStats,
    LagEvent,
    LineTiming, LoopLag, MemoryLine, MemoryReport, PassRecord, RunError, SystemMetrics, TimedFunction,
)
from optadvisor.profile import awaits
from optadvisor.profile.aggregate import io_call_stats
from optadvisor.profile.monitor import rss_trend
from optadvisor.profile.sources import FunctionSpan, SourceIndex, relative
from optadvisor.profile.target import TargetError, describe, spawn

if TYPE_CHECKING:
    from optadvisor.profile.run import ProfileOptions, _Collected

MIB = 1024 * 1024
LEAK_MIN_GROWTH = 16 * MIB
LEAK_MIN_R2 = 0.8
LEAK_MIN_SAMPLES = 10


def select_targets(functions: tuple[HotFunction, ...], sources: SourceIndex,
                   top: int) -> list[dict[str, Any]]:
    """The top user functions by the time charged to them (their own, and the library time
    they call into: the json.load or sleep on their line), as the bootstrap's decoration
    targets. Frames it cannot decorate (<module>, comprehensions, unreadable files) are
    left out."""
    chosen: list[dict[str, Any]] = []
    ranked = sorted((f for f in functions if f.user and not f.name.startswith("<")
                     and f.line > 0 and not f.name.endswith(">")),
                    key=lambda f: (-(f.user_self_seconds or f.self_seconds), -f.total_seconds))
    for function in ranked:
        if len(chosen) >= top:
            break
        if max(function.user_self_pct, function.self_pct) < 1.0 and function.calls == 0:
            continue
        span = next((s for s in sources.spans(function.file)
                     if s.line == function.line and s.qualname == function.name), None)
        if span is None:
            span = next((s for s in sources.spans(function.file) if s.line == function.line),
                        None)
        if span is None:
            continue
        chosen.append(target(function.file, span))
    return chosen


def target(file: str, span: FunctionSpan) -> dict[str, Any]:
    """One function for the bootstrap to decorate (its config's `targets`)."""
    return {"file": file, "name": span.qualname, "line": span.line,
            "first_line": span.first_line, "end_line": span.end_line}


def line_pass(options: ProfileOptions, python: str, script: Path, cwd: Path, root: Path,
              functions: tuple[HotFunction, ...], sources: SourceIndex, baseline: float,
              collected: _Collected) -> tuple[TimedFunction, ...]:
    targets = select_targets(functions, sources, options.top)
    if not targets:
        collected.passes.append(PassRecord("lines", "skipped",
                                           note="no user function took measurable time"))
        return ()
    result, wall = _run_pass("lines", options, python, script, cwd, {"targets": targets},
                             collected)
    if result is None:
        return ()
    timed: list[TimedFunction] = []
    for row in result.get("lines") or ():
        file = str(row["file"])
        span = sources.at_first_line(file, int(row["first_line"]), str(row["name"]))
        total = sum(float(seconds) for _, _, seconds in row["lines"]) or 0.0
        lines = tuple(
            LineTiming(line=int(line), hits=int(hits), seconds=round(float(seconds), 6),
                       pct=round(100.0 * float(seconds) / total, 2) if total else 0.0,
                       code=sources.line(file, int(line)))
            for line, hits, seconds in sorted(row["lines"]))
        timed.append(TimedFunction(
            name=span.qualname if span else str(row["name"]), file=file,
            path=relative(file, str(root)),
            line=span.line if span else int(row["first_line"]),
            seconds=round(total, 6), lines=lines))
    timed.sort(key=lambda t: -t.seconds)
    core = result.get("line_core", "")
    note = f"{len(targets)} functions"
    if core == "sys.monitoring":
        note += "; sys.monitoring line events on the targeted functions only"
    elif core:
        note += "; legacy trace hook (Python < 3.12: callees of targeted functions pay too)"
    _record("lines", wall, baseline, note, collected)
    return tuple(timed)


def calls_pass(options: ProfileOptions, python: str, script: Path, cwd: Path, root: Path,
               functions: tuple[HotFunction, ...], sources: SourceIndex, baseline: float,
               collected: _Collected
               ) -> tuple[tuple[CallStats, ...], tuple[IOCallStats, ...]]:
    """The program once more with the top user functions wrapped: calls, wall time per
    call, and what an lru_cache would have made of their arguments (the bootstrap's
    _CallTracker); and its database and HTTP calls per calling function (the _iocount package)."""
    targets = select_targets(functions, sources, options.top)
    for hot in targets:  # the hot coroutines' awaits are timed too (profile.awaits)
        hot["awaits"] = True
    chosen = {(t["file"], t["name"]) for t in targets}
    for file, qualname in options.flagged:
        span = next((s for s in sources.spans(file) if s.qualname == qualname), None)
        if span is not None and (file, qualname) not in chosen:
            chosen.add((file, qualname))
            targets.append(target(file, span))
    awaits.add_groups(targets, options.flagged_awaits, sources, target)
    # With no function to wrap the pass still counts the program's I/O calls.
    result, wall = _run_pass("calls", options, python, script, cwd, {"targets": targets},
                             collected)
    if result is None:
        return (), ()
    stats = [call_stats(row, sources, str(root)) for row in result.get("calls") or ()]
    collected.await_sites, collected.await_groups = awaits.figures(
        result.get("awaits"), sources, str(root))
    stats.sort(key=lambda c: (-c.total_seconds, c.name))
    wrapped = sum(1 for c in stats if c.calls)
    stepped = len({(a.file, a.line) for a in collected.await_sites})
    io = io_call_stats(result.get("io"), sources, str(root))
    libraries = (result.get("io") or {}).get("libraries") or []
    _record("calls", wall, baseline,
            f"{len(targets)} functions wrapped ({wrapped} called): wall time per call, "
            f"argument fingerprints; {sum(c.calls for c in io):,} database/HTTP calls counted"
            + (f" ({', '.join(str(name) for name in libraries)})" if libraries else "")
            + (f"; the awaits of {stepped} coroutine(s) timed" if stepped else ""), collected)
    return tuple(stats), io


def call_stats(row: dict[str, Any], sources: SourceIndex, root: str) -> CallStats:
    """One function's figures from the bootstrap's summary row."""
    file = str(row["file"])
    span = sources.at_first_line(file, int(row["line"]), str(row["name"]))
    calls = int(row.get("calls") or 0)
    total = float(row.get("total") or 0.0)
    keyed = int(row.get("keyed") or 0)
    distinct = min(int(row.get("distinct") or 0), keyed)
    hit_rate = 1.0 - distinct / keyed if keyed else 0.0
    return CallStats(
        name=span.qualname if span else str(row["name"]), file=file,
        path=relative(file, root), line=span.line if span else int(row["line"]),
        is_async=bool(row.get("is_async")), calls=calls, total_seconds=round(total, 6),
        mean_seconds=round(total / calls, 9) if calls else 0.0,
        p50_seconds=round(float(row.get("p50") or 0.0), 9),
        p95_seconds=round(float(row.get("p95") or 0.0), 9),
        p99_seconds=round(float(row.get("p99") or 0.0), 9),
        max_seconds=round(float(row.get("max") or 0.0), 9), timed=int(row.get("timed") or 0),
        keyed_calls=keyed, distinct_args=distinct, distinct_capped=bool(row.get("capped")),
        hit_rate=round(hit_rate, 4), saving_seconds=round(hit_rate * total, 6),
        result_bytes=int(row.get("result_bytes") or 0),
        result_bytes_partial=bool(row.get("partial")),
        results_compared=int(row.get("compared") or 0),
        varies=int(row.get("varied") or 0) > 0)


def gc_stats(data: dict[str, Any], sources: SourceIndex, root: str,
             script_seconds: float) -> GcStats | None:
    """The bootstrap's gc.callbacks figures of the measuring pass, or None without any."""
    rows = data.get("generations") if isinstance(data, dict) else None
    if not rows:
        return None
    generations = tuple(
        GcGeneration(generation=index, collections=int(row[0]),
                     pause_seconds=round(float(row[1]), 6),
                     max_pause_seconds=round(float(row[2]), 6), collected=int(row[3]))
        for index, row in enumerate(rows[:3]))
    pause = sum(g.pause_seconds for g in generations)
    where: dict[str, Any] = {}
    for file, first_line, name, seconds, _count in data.get("sites") or ():
        file = str(file)
        if not sources.is_user(file):
            continue
        span = sources.at_first_line(file, int(first_line), str(name))
        where = {"function": span.qualname if span else str(name), "file": file,
                 "path": relative(file, root), "line": span.line if span else int(first_line),
                 "function_pause_seconds": round(float(seconds), 6)}
        break
    return GcStats(collections=sum(g.collections for g in generations),
                   pause_seconds=round(pause, 6),
                   pause_pct=round(100.0 * pause / script_seconds, 2) if script_seconds else 0.0,
                   generations=generations, **where)


def loop_lag(data: Any, sources: SourceIndex, root: str) -> LoopLag | None:
    """The bootstrap's heartbeat figures, or None when the program ran no event loop."""
    if not isinstance(data, dict) or "beats" not in data:
        return None
    ms = 1000.0

    def blocker(site: Any, def_line: bool) -> dict[str, Any]:
        if not site or not sources.is_user(str(site[0])):
            return {}
        file, first, name, line = str(site[0]), int(site[1]), str(site[2]), int(site[3])
        span = sources.at_first_line(file, first, name)
        return {"function": span.qualname if span else name, "file": file,
                "path": relative(file, root),
                "line": (span.line if span else first) if def_line else line}

    worst = tuple(
        LagEvent(start_s=round(float(start), 4), end_s=round(float(end), 4),
                 lag_ms=round(float(lag) * ms, 2), **blocker(site, False))
        for start, end, lag, site in data.get("worst") or ())
    per_function: dict[tuple, list] = {}  # the bootstrap counts per line; we per function
    for site, count, seconds in data.get("blockers") or ():
        if site and sources.is_user(str(site[0])):
            entry = per_function.setdefault(tuple(site[:3]), [list(site), 0, 0.0])
            entry[1] += int(count)
            entry[2] += float(seconds)
    top: dict[str, Any] = {}
    if per_function:
        site, count, seconds = max(per_function.values(), key=lambda e: (e[1], e[2]))
        top = blocker(site, True)
        top.update(blocker_lags=count, blocker_lag_ms=round(seconds * ms, 2))
    return LoopLag(beats=int(data.get("beats") or 0),
                   interval_ms=round(float(data.get("interval") or 0) * ms, 3),
                   threshold_ms=round(float(data.get("threshold") or 0) * ms, 3),
                   lags=int(data.get("lags") or 0),
                   max_lag_ms=round(float(data.get("max") or 0) * ms, 2),
                   total_lag_ms=round(float(data.get("total") or 0) * ms, 2),
                   worst=worst, timeline=_lag_timeline(data.get("timeline")), **top)


def _lag_timeline(points: Any) -> tuple[tuple[float, float], ...]:
    """(start s, lag ms) of each lag the bootstrap kept, in the order they happened."""
    out = []
    for point in points or ():
        try:
            out.append((round(float(point[0]), 4), round(float(point[1]) * 1000.0, 2)))
        except (TypeError, ValueError, IndexError):
            continue
    return tuple(out)


def memory_pass(options: ProfileOptions, python: str, script: Path, cwd: Path, root: Path,
                functions: tuple[HotFunction, ...], sources: SourceIndex, baseline: float,
                collected: _Collected, memory: MemoryReport) -> MemoryReport:
    targets = select_targets(functions, sources, options.top)
    result, wall = _run_pass("memory", options, python, script, cwd, {"targets": targets},
                             collected)
    data = (result or {}).get("memory") or {}
    if result is None or not data:
        if result is not None:
            collected.errors.append(RunError("pass-failed", "tracemalloc recorded nothing",
                                             "memory"))
        return memory
    root_s = str(root)

    def site(row: list[Any]) -> AllocationSite:
        file, line, size, count = str(row[0]), int(row[1]), int(row[2]), int(row[3])
        return AllocationSite(file=file, path=relative(file, root_s), line=line,
                              size_bytes=size, count=count, code=sources.line(file, line))

    per_function = tuple(
        FunctionMemory(name=str(f["name"]), file=str(f["file"]),
                       path=relative(str(f["file"]), root_s), line=int(f["line"]),
                       calls=int(f["calls"]), peak_bytes=int(f["peak"]),
                       net_bytes=int(f["net"]), sites=tuple(site(s) for s in f["sites"]))
        for f in data.get("functions") or ())
    _record("memory", wall, baseline,
            f"tracemalloc, {data.get('frames', 1)} frames per allocation; "
            f"{len(targets)} functions", collected)
    return MemoryReport(
        peak_bytes=int(data.get("peak") or 0),
        sites=tuple(site(s) for s in data.get("sites") or () if sources.is_user(str(s[0])))[:15]
        or tuple(site(s) for s in data.get("sites") or ())[:15],
        functions=per_function, rss_start=memory.rss_start, rss_peak=memory.rss_peak,
        rss_end=memory.rss_end, rss_slope=memory.rss_slope, rss_r2=memory.rss_r2,
        leak_suspected=memory.leak_suspected, line_function=memory.line_function,
        line_report=memory.line_report)


def memory_lines_pass(options: ProfileOptions, python: str, script: Path, cwd: Path,
                      root: Path, functions: tuple[HotFunction, ...], sources: SourceIndex,
                      baseline: float, collected: _Collected,
                      memory: MemoryReport) -> MemoryReport:
    from dataclasses import replace

    wanted = str(options.memory_lines)
    target = find_function(wanted, script, functions, sources)
    if target is None:
        collected.errors.append(RunError(
            "pass-failed", f"no function named {wanted!r} in the script or in the functions "
            "the sampler saw", "memory-lines"))
        collected.passes.append(PassRecord("memory-lines", "failed", note="function not found"))
        return memory
    result, wall = _run_pass("memory-lines", options, python, script, cwd,
                             {"memory_lines": target}, collected)
    if result is None:
        return memory
    file = target["file"]
    rows = [r for r in result.get("memory_lines") or ()
            if str(r[0]) == file and target["first_line"] <= int(r[1]) <= target["end_line"]]
    report = tuple(
        MemoryLine(line=int(line), mem_mib=round(float(mem), 3),
                   increment_mib=round(float(inc), 3), occurrences=int(occ),
                   code=sources.line(file, int(line)))
        for _, line, inc, mem, occ in sorted(rows, key=lambda r: int(r[1])))
    if not report:
        collected.errors.append(RunError("pass-failed", f"{target['name']} never ran under "
                                         "memory-profiler", "memory-lines"))
    _record("memory-lines", wall, baseline,
            "memory-profiler (slow: it reads RSS at every line)", collected)
    return replace(memory, line_function=target["name"], line_report=report)


def find_function(wanted: str, script: Path, functions: tuple[HotFunction, ...],
                  sources: SourceIndex) -> dict[str, Any] | None:
    """A function by qualified or short name: among the sampled ones first, then the
    script's own definitions."""
    files = [f.file for f in functions if f.user and f.name == wanted]
    files += [f.file for f in functions if f.user and f.name.rsplit(".", 1)[-1] == wanted]
    files += [str(script)]
    for file in files:
        for span in sources.spans(file):
            if span.qualname == wanted or span.qualname.rsplit(".", 1)[-1] == wanted:
                return {"file": file, "name": span.qualname, "line": span.line,
                        "first_line": span.first_line, "end_line": span.end_line}
    return None


def rss_report(metrics: SystemMetrics | None, script_seconds: float = 0.0) -> MemoryReport:
    """RSS over the run from the monitor: slope, straightness, and a leak suspicion only
    when the growth is steady (r² high), large, and sampled long enough to tell. Samples
    after the script's last line are left out: interpreter shutdown frees everything."""
    if metrics is None or not metrics.samples:
        return MemoryReport()
    running = tuple(s for s in metrics.samples
                    if s.rss and (not script_seconds or s.t <= script_seconds))
    slope, r2 = rss_trend(running)
    samples = list(running)
    span = samples[-1].t - samples[0].t if len(samples) > 1 else 0.0
    growth = slope * span
    leak = (len(samples) >= LEAK_MIN_SAMPLES and r2 >= LEAK_MIN_R2
            and growth >= max(LEAK_MIN_GROWTH, 0.25 * metrics.rss_start))
    return MemoryReport(rss_start=metrics.rss_start, rss_peak=metrics.rss_peak,
                        rss_end=samples[-1].rss if samples else metrics.rss_end,
                        rss_slope=round(slope, 1),
                        rss_r2=round(r2, 3), leak_suspected=leak)


def baseline_pass(options: ProfileOptions, python: str, script: Path, cwd: Path,
                  collected: _Collected) -> float:
    """The script once with no instrument at all: the wall time the others compare with."""
    result, wall = _run_pass("baseline", options, python, script, cwd, {}, collected)
    if result is None:
        return 0.0
    collected.passes.append(PassRecord("baseline", "ok", round(wall, 4), 1.0, "plain run"))
    return wall


def _run_pass(name: str, options: ProfileOptions, python: str, script: Path, cwd: Path,
              extra: dict[str, Any], collected: _Collected) -> tuple[dict[str, Any] | None, float]:
    """Run the script once more under the bootstrap in `name` mode."""
    try:
        target = spawn(python, script, options.args, name, cwd, options.stdin,
                       options.stdout, {**extra, "module": options.module})
    except TargetError as exc:
        collected.errors.append(RunError("pass-failed", str(exc), name))
        collected.passes.append(PassRecord(name, "failed", note=str(exc)))
        return None, 0.0
    try:
        target.release()
        exit = target.wait(options.timeout)
        stopped, leftover = target.stop_leftovers()
        result = target.read_result()
    finally:
        target.abort()
        target.cleanup()
    if result.get("skipped"):
        collected.errors.append(RunError("pass-skipped", str(result["skipped"]), name))
        collected.passes.append(PassRecord(name, "skipped", note=str(result["skipped"])))
        return None, 0.0
    outcome = describe(exit, result, options.timeout, stopped, leftover)
    for message in result.get("errors") or ():
        collected.errors.append(RunError("pass-failed", str(message), name))
    if outcome.status != "ok":
        collected.errors.append(RunError("target-failed", f"the script {outcome.message}", name))
    if not result:
        collected.passes.append(PassRecord(name, "failed", round(exit.wall_seconds, 4),
                                           note=outcome.message))
        return None, exit.wall_seconds
    return result, exit.wall_seconds


def _record(name: str, wall: float, baseline: float, note: str, collected: _Collected) -> None:
    collected.passes.append(PassRecord(
        name, "ok", round(wall, 4), round(wall / baseline, 2) if baseline > 0 else 0.0, note))
