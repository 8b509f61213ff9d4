"""Where what was measured meets what the scan knows.

Every measured user function is matched to the static facts of the same function (same
file, same qualified name, or the same name defined at the line the profiler saw), so a
profile rule can say `hotspot.wait_pct >= 60 and not function.is_async`. Static
recommendations are re-ranked by the measured time of the function they sit in: advice
about code that ran hot goes up, advice about code the run never reached goes down.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from optadvisor.engine import Engine, FileInput, loader_counts
from optadvisor.inputs import read_regular
from optadvisor.models import (
    AwaitGroupTiming, FileFacts, HotFunction, HotLine, ProfileRun, Recommendation, SourceFile,
)
from optadvisor.profile.awaits import AWAIT_KINDS
from optadvisor.rules import CompiledRule
from optadvisor.scoring import measured_score
from optadvisor.subjects import (
    AwaitsView, CallsView, FunctionView, HotspotView, RunView, SourceText, io_views,
)

MAX_HOTSPOTS = 10
SOURCE_BYTES = 16 * 1024 * 1024
"""A file a (saved, possibly hand-edited) run names is read for its lines only when it is a
regular file this small: a run naming /dev/zero or a FIFO must not hang the report."""
"""Profile rules look at the ten user functions the run charged the most time to."""


def match_function(facts: FileFacts, hot: HotFunction) -> int | None:
    """Index of the static function the profiler measured, or None."""
    short = hot.name.rsplit(".", 1)[-1]
    best: tuple[int, int] | None = None
    for index, fn in enumerate(facts.functions):
        if fn.qualname == hot.name:
            return index
        if fn.name != short:
            continue
        # Older interpreters report the first decorator's line; ast the `def` line.
        distance = abs(fn.line - hot.line)
        if distance <= 2 + len(fn.decorators) and (best is None or distance < best[0]):
            best = (distance, index)
    return best[1] if best else None


def _by_file(inputs: Iterable[FileInput]) -> dict[str, FileInput]:
    return {str(item.source.path.resolve()): item for item in inputs}


def _hot_of(run: ProfileRun, inputs: Iterable[FileInput]
            ) -> dict[tuple[str, int], HotFunction]:
    """(file rel path, function index) -> its measurement, for every matched function."""
    by_file = _by_file(inputs)
    out: dict[tuple[str, int], HotFunction] = {}
    for hot in run.functions:
        if not hot.user:
            continue
        item = by_file.get(str(Path(hot.file).resolve()))
        if item is None:
            continue
        index = match_function(item.facts, hot)
        if index is not None and (item.source.rel, index) not in out:
            out[(item.source.rel, index)] = hot
    return out


def rerank(recs: list[Recommendation], run: ProfileRun, inputs: Iterable[FileInput],
           engine: Engine | None = None) -> list[Recommendation]:
    """Static recommendations scored again with the measured share of their function.
    An await finding whose awaits the calls pass timed (`profile --calls --findings`)
    carries them: measured serial, it is ranked by what gathering saves; measured already
    concurrent, it is marked so (its rule's `measured` text says why) and ranked low."""
    inputs = list(inputs)
    hot = _hot_of(run, inputs)
    qualnames = {item.source.rel: {fn.qualname: i for i, fn in enumerate(item.facts.functions)}
                 for item in inputs}
    files = {item.source.rel: _resolved(str(item.source.path)) for item in inputs}
    timings = {(_resolved(g.file), g.at_line): g for g in run.await_groups if g.calls}
    io_by_function: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in getattr(run, "io_calls", ()) or ():
        io_by_function[(row.path, row.function)].append(row)
    out = []
    for rec in recs:
        if io_by_function and N_PLUS_ONE in _kinds(rec):
            rec = _with_io_count(rec, io_by_function.get((rec.path, rec.symbol), []))
        index = qualnames.get(rec.path, {}).get(rec.symbol)
        measured = hot.get((rec.path, index)) if index is not None else None
        share = max(measured.total_pct, measured.user_self_pct) if measured else 0.0
        evidence = dict(rec.evidence)
        evidence["measured"] = (
            {"seen": True, "total_pct": measured.total_pct, "self_pct": measured.self_pct,
             "user_self_pct": measured.user_self_pct, "idle_pct": measured.idle_pct}
            if measured else {"seen": False})
        seen = measured is not None
        timing = (timings.get((files.get(rec.path, ""), rec.line))
                  if rec.kind in AWAIT_KINDS and timings else None)
        if timing is not None:
            view = AwaitsView(timing, run.script_seconds)
            evidence["awaits"] = _awaits_evidence(timing, view)
            if view.serial:  # measured: the saving is what ranks it
                share, seen = max(share, view.saving_pct), True
        rec = replace(rec, score=measured_score(rec.score, share if seen else None),
                      evidence=evidence)
        if timing is not None:
            rec = _with_awaits(rec, timing, view, engine)
        out.append(rec)
    return out


def _resolved(file: str) -> str:
    try:
        return str(Path(file).resolve())
    except (OSError, RuntimeError):
        return file


def _awaits_evidence(timing: AwaitGroupTiming, view: AwaitsView) -> dict[str, Any]:
    return {"verdict": timing.verdict, "concurrency": timing.concurrency,
            "tasks": timing.tasks, "calls": timing.calls, "items": timing.items,
            "await_ms": view.await_ms, "await_ms_per_call": view.await_ms_per_call,
            "max_ms_per_call": view.max_ms_per_call, "saving_ms": view.saving_ms,
            "saving_ms_per_call": view.saving_ms_per_call, "saving_pct": view.saving_pct}


def _with_awaits(rec: Recommendation, timing: AwaitGroupTiming, view: AwaitsView,
                 engine: Engine | None) -> Recommendation:
    """The rule's `measured` text after the message; an already concurrent group is
    ranked low, below any gate (what it would save overlaps with its other calls)."""
    text = ""
    if engine is not None:
        compiled = next((c for group in engine.by_subject.values() for c in group
                         if c.rule.id == rec.rule), None)
        if compiled is not None:
            text = engine.templates.render(compiled, "measured", {"awaits": view},
                                           f"{rec.path}:{rec.line}")
    message = f"{rec.message}; {text}" if text else rec.message
    if timing.verdict != "concurrent":
        return replace(rec, message=message)
    return replace(rec, message=message, priority="low", confidence="low",
                   score=max(1, rec.score // 3))


N_PLUS_ONE = "n-plus-one"


def _kinds(rec: Recommendation) -> set[str]:
    return {rec.kind, *(facet.get("kind", "") for facet in rec.facets)}


def _with_io_count(rec: Recommendation, rows: list[Any]) -> Recommendation:
    """A static N+1 finding with what the calls pass counted in its function: the shape
    called from the finding's line (else the function's most called one)."""
    if not rows:
        return rec
    at_line = [row for row in rows if row.call_line == rec.line]
    row = max(at_line or rows, key=lambda r: (r.calls, r.total_seconds))
    evidence = dict(rec.evidence)
    evidence["io_calls"] = {
        "calls": row.calls, "shape": row.shape, "library": row.library, "kind": row.kind,
        "total_ms": round(row.total_seconds * 1000, 3), "call_line": row.call_line,
        "shapes": len(rows)}
    measured = (f" (measured: {row.calls:,} call(s) of `{row.shape}` from "
                f"`{row.function}`, {row.total_seconds * 1000:.1f} ms)")
    return replace(rec, message=rec.message + measured, evidence=evidence)


def merge_measured(static: list[Recommendation],
                   measured: list[Recommendation]) -> list[Recommendation]:
    """One function, one N+1 finding: a measured one (OPT509) in a function where the scan
    already found the pattern becomes a facet of the static finding, which carries the
    measured count (rerank) and the fix."""
    joined = {(rec.path, rec.symbol): index for index, rec in enumerate(static)
              if N_PLUS_ONE in _kinds(rec) and "io_calls" in rec.evidence}
    out = list(static)
    for rec in measured:
        index = joined.get((rec.path, rec.symbol)) if rec.kind == N_PLUS_ONE else None
        if index is None:
            out.append(rec)
            continue
        host = out[index]
        facet = {"rule": rec.rule, "kind": rec.kind, "message": rec.message}
        out[index] = replace(host, facets=(*host.facets, facet))
    return out


def profile_recommendations(engine: Engine, run: ProfileRun, inputs: Iterable[FileInput],
                            components: Any) -> list[Recommendation]:
    """The profile rules (subjects `hotspot` and `run`) over one run."""
    hotspot_rules = engine.by_subject.get("hotspot", ())
    run_rules = engine.by_subject.get("run", ())
    io_rules = engine.by_subject.get("io", ())
    if not hotspot_rules and not run_rules and not io_rules:
        return []
    by_file = _by_file(inputs)
    run_view = RunView(run)
    lines: dict[tuple[str, str], list[HotLine]] = defaultdict(list)
    for line in run.lines:
        lines[(line.file, line.function)].append(line)
    texts: dict[str, FileInput] = {}

    def item_for(file: str, rel: str) -> FileInput:
        found = by_file.get(str(Path(file).resolve()))
        if found is not None:
            return found
        if rel not in texts:
            try:
                data = read_regular(file, SOURCE_BYTES)
            except (OSError, ValueError):
                data = b""
            source = SourceFile(path=Path(file), rel=rel, component=components.of(rel))
            texts[rel] = FileInput(source, FileFacts(path=rel, lines=0), SourceText(data=data))
        return texts[rel]

    recs: list[Recommendation] = []
    occurrences: dict[tuple[str, str, str], int] = defaultdict(int)
    loaders_of: dict[str, dict[int, int]] = {}
    ranked = run.ranked_user_functions()
    measured_calls: dict[tuple[str, Any], Any] = {}
    for stats in run.calls:  # by name, and by def line should the two name it differently
        measured_calls[(stats.file, stats.name)] = stats
        measured_calls.setdefault((stats.file, stats.line), stats)
    for rank, hot in enumerate(ranked[:MAX_HOTSPOTS], start=1):
        item = item_for(hot.file, hot.path)
        index = match_function(item.facts, hot)
        fact = item.facts.functions[index] if index is not None else None
        if item.source.rel not in loaders_of:
            loaders_of[item.source.rel] = loader_counts(item.facts)
        loaders = loaders_of[item.source.rel].get(index, 0) if index is not None else 0
        fview = FunctionView(fact, engine.catalog, loaders)
        view = HotspotView(hot, rank, lines.get((hot.file, hot.name), []), fact is not None)
        calls = CallsView(measured_calls.get((hot.file, hot.name))
                          or measured_calls.get((hot.file, hot.line)), hot.total_pct)
        env = {"hotspot": view, "function": fview, "run": run_view, "calls": calls}
        symbol = fact.qualname if fact else hot.name
        def_line = fact.line if fact else hot.line
        for compiled in hotspot_rules:
            if compiled.when(env):
                line = {"hottest-line": view.hottest_line,
                        "waiting-line": view.waiting_line}.get(compiled.rule.at, def_line)
                recs.append(_recommend(engine, compiled, env, item, line, symbol, occurrences))
    for io in io_views(run) if io_rules else ():
        item = item_for(io.top.file, io.path)
        index = match_function(item.facts, _Named(io.function, io.line))
        fact = item.facts.functions[index] if index is not None else None
        env = {"io": io, "function": FunctionView(fact, engine.catalog), "run": run_view}
        for compiled in io_rules:
            if compiled.when(env):
                line = {"call-line": io.call_line,
                        "first-call": io.first_line}.get(compiled.rule.at, io.line)
                recs.append(_recommend(engine, compiled, env, item, line,
                                       fact.qualname if fact else io.function, occurrences))
    for compiled in run_rules:
        env = {"run": run_view}
        if not compiled.when(env):
            continue
        target = _run_location(compiled, run, run_view, ranked)
        if target is None:
            continue
        file, rel, line, symbol = target
        recs.append(_recommend(engine, compiled, env, item_for(file, rel), line, symbol,
                               occurrences))
    return recs


def _run_location(compiled: CompiledRule, run: ProfileRun, view: RunView,
                  ranked: tuple[HotFunction, ...]) -> tuple[str, str, int, str] | None:
    """(file, rel path, line, symbol) a run-level finding points at."""
    at = compiled.rule.at
    memory = run.memory
    if at == "allocation" and memory is not None and memory.sites:
        site = memory.sites[0]
        return site.file, site.path, site.line, _function_at(ranked, site.path, site.line)
    gc = run.gc
    if at == "gc-function" and gc is not None and gc.function:
        return gc.file, gc.path, gc.line, gc.function
    lag = run.loop_lag
    if at == "lag-function" and lag is not None and lag.function:
        return lag.file, lag.path, lag.line, lag.function
    if at in ("allocation", "hottest-function", "gc-function", "lag-function") and ranked:
        top = ranked[0]
        return top.file, top.path, top.line, top.name
    script = Path(run.script)
    file = str(script if script.is_absolute() else Path(run.root) / script)
    rel = run.script if not script.is_absolute() else script.name
    return file, rel, 1, "<module>"


class _Named:
    """What match_function reads of a measured function: its name and def line."""

    def __init__(self, name: str, line: int) -> None:
        self.name = name
        self.line = line


def _function_at(ranked: tuple[HotFunction, ...], path: str, line: int) -> str:
    candidates = [f for f in ranked if f.path == path and f.line <= line]
    return max(candidates, key=lambda f: f.line).name if candidates else "<module>"


def _recommend(engine: Engine, compiled: CompiledRule, env: dict[str, Any], item: FileInput,
               line: int, symbol: str,
               occurrences: dict[tuple[str, str, str], int]) -> Recommendation:
    text = item.text.line(line)
    indent = len(text) - len(text.lstrip())
    span = (line, indent + 1, line, len(text) + 1)
    return engine.recommend(compiled, env, span, symbol, item, occurrences)
