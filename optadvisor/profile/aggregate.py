"""Stack samples (from py-spy or the in-process sampler) folded into the per-function,
per-line and per-thread figures of a ProfileRun; and the calls pass's database and HTTP
call rows into IOCallStats.

A sample is idle when its thread was waiting rather than running. Neither py-spy's
record output nor an in-process sampler says so per sample, so the leaf frame decides:
a wait in the standard library (locks, select, sockets, subprocess, queues) or a source
line calling a known waiting function (`time.sleep`, `select`, `recv`, …)."""

from __future__ import annotations

import gc
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from optadvisor.models import (
    HotFunction, HotLine, IOCallStats, SampleSummary, StackSample, ThreadSamples,
)
from optadvisor.profile.sources import SourceIndex, relative

IDLE_METHOD = "leaf frame: a known waiting call (sleep, select, locks, sockets, subprocess)"

_WAITING_MODULES = {
    "threading.py", "selectors.py", "queue.py", "subprocess.py", "socket.py", "ssl.py",
    "connection.py", "popen_fork.py", "synchronize.py", "pool.py", "_base.py",
    "base_events.py", "windows_events.py", "selector_events.py", "process.py", "thread.py",
}
_WAITING_NAMES = {
    "wait", "_wait", "_try_wait", "join", "_wait_for_tstate_lock", "select", "poll", "_poll",
    "acquire", "get", "recv", "recv_into", "_recv", "_recv_bytes", "recv_bytes", "readinto",
    "accept", "communicate", "_communicate", "sleep", "result", "do_handshake", "connect",
    "create_connection", "getaddrinfo", "wait_for", "_wait_for_reader",
}
_WAITING_CALL = re.compile(
    r"(?:\b(?:sleep|select|poll|epoll_wait|waitpid|wait4|wait|acquire|recv|recv_into|recvfrom"
    r"|accept|urlopen|getaddrinfo|communicate|input)\s*\()|\bsys\.stdin\.read")

MAX_FUNCTIONS = 200
MAX_LINES = 300
MAX_STACKS = 2000
"""Distinct folded stacks a run keeps (lighter branches are merged into their callers)."""

_STDLIB_DIR = re.compile(r"/lib(?:64)?/(?:python|pypy)\d*(?:\.\d+)?t?/(.+)$", re.IGNORECASE)
_LIBRARY_MARKERS = ("/site-packages/", "/dist-packages/")


@dataclass(frozen=True)
class Frame:
    name: str
    file: str
    line: int


@dataclass
class RawProfile:
    """What a sampler hands over: interned frames and counted stacks (root first)."""

    sampler: str
    rate: int
    frames: list[Frame] = field(default_factory=list)
    stacks: Counter = field(default_factory=Counter)
    """(pid, tid, frame-index tuple) -> samples."""
    thread_names: dict[tuple[int, int], str] = field(default_factory=dict)
    main: tuple[int, int] = (0, 0)
    """(pid, tid) of the target's main thread: its samples measure wall time."""
    errors: int = 0

    def intern(self, frame: Frame, index: dict[Frame, int]) -> int:
        found = index.get(frame)
        if found is None:
            found = index[frame] = len(self.frames)
            self.frames.append(frame)
        return found


@dataclass(frozen=True)
class Aggregate:
    summary: SampleSummary
    functions: tuple[HotFunction, ...]
    lines: tuple[HotLine, ...]
    stacks: tuple[StackSample, ...] = ()


def short_path(file: str, root: str, stdlib: str = "") -> str:
    """A frame's file without the machine's absolute paths: relative to root when inside
    it, `<site-packages>/pkg/mod.py`, `<stdlib>/json/decoder.py`, else `…/dir/name.py`.
    Pseudo-files (`<frozen …>`, `<string>`) stay as they are."""
    if not file or file.startswith("<"):
        return file
    rel = relative(file, root)
    posix = rel.replace("\\", "/")
    if not (posix.startswith("/") or re.match(r"^[A-Za-z]:/", posix)):
        return posix
    for marker in _LIBRARY_MARKERS:
        if marker in posix:
            return "<site-packages>/" + posix.rsplit(marker, 1)[1]
    base = stdlib.replace("\\", "/").rstrip("/")
    if base and posix.lower().startswith(base.lower() + "/"):
        return "<stdlib>/" + posix[len(base) + 1:]
    match = _STDLIB_DIR.search(posix)
    if match:
        return "<stdlib>/" + match.group(1)
    parts = [p for p in posix.split("/") if p]
    return "…/" + "/".join(parts[-2:])


def fold_stacks(weights: Mapping[tuple[str, ...], Sequence[int]], limit: int = MAX_STACKS,
                min_samples: int = 1) -> tuple[StackSample, ...]:
    """Folded stacks ((frames), (samples, idle)) cut down to at most `limit` distinct ones,
    heaviest first. A frame with fewer than the threshold samples (min_samples, raised
    until no more than `limit` stacks remain) is merged into its caller with everything
    below it, so the totals of every kept frame stay exact."""
    return tuple(StackSample(frames, samples, idle)
                 for frames, samples, idle in _fold(weights, limit, min_samples))


def _fold(weights: Mapping[tuple, Sequence[int]], limit: int,
          min_samples: int = 1) -> list[tuple[tuple, int, int]]:
    """fold_stacks over any hashable frames, as (frames, samples, idle) triples."""
    items = [(tuple(frames), int(count), int(idle))
             for frames, (count, idle) in weights.items() if frames and count > 0]
    if min_samples <= 1 and len(items) <= limit:
        items.sort(key=lambda s: (-s[1], s[0]))
        return items
    # Hundreds of thousands of small trie nodes would make the cyclic garbage collector
    # run over and over (three times the work); none of them can form a cycle.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _fold_trie(items, limit, min_samples)
    finally:
        if enabled:
            gc.enable()


def _fold_trie(items: list[tuple[tuple, int, int]], limit: int,
               min_samples: int) -> list[tuple[tuple, int, int]]:
    """_fold's work: a trie of [total, idle, own, own idle, children], one node per
    distinct prefix, cut at the lowest threshold that leaves at most `limit` stacks."""
    root: list = [0, 0, 0, 0, {}]
    for frames, count, idle in items:
        node = root
        node[0] += count
        node[1] += idle
        for frame in frames:
            child = node[4].get(frame)
            if child is None:
                child = node[4][frame] = [0, 0, 0, 0, {}]
            child[0] += count
            child[1] += idle
            node = child
        node[2] += count
        node[3] += idle

    def walk(threshold: int, emit: list | None) -> int:
        """How many stacks remain when frames under threshold are merged into their
        callers (and, with emit, the stacks themselves)."""
        found = 0
        todo: list[tuple[list, tuple]] = [(root, ())]
        while todo:
            node, path = todo.pop()
            own, own_idle = node[2], node[3]
            for frame, child in node[4].items():
                if child[0] >= threshold:
                    todo.append((child, path + (frame,)))
                else:
                    own += child[0]
                    own_idle += child[1]
            if own and path:
                found += 1
                if emit is not None:
                    emit.append((path, own, own_idle))
        return found

    threshold = max(1, min_samples)
    if walk(threshold, None) > limit:
        totals: set[int] = set()
        todo = [root]
        while todo:
            node = todo.pop()
            for child in node[4].values():
                if child[0] > threshold:
                    totals.add(child[0])
                    todo.append(child)
        candidates = sorted(totals)
        low, high = 0, len(candidates) - 1
        best = candidates[-1] + 1 if candidates else threshold + 1
        while low <= high:
            middle = (low + high) // 2
            if walk(candidates[middle], None) <= limit:
                best, high = candidates[middle], middle - 1
            else:
                low = middle + 1
        threshold = best
    out: list[tuple[tuple, int, int]] = []
    walk(threshold, out)
    out.sort(key=lambda s: (-s[1], s[0]))
    return out[:limit]


def is_launcher(frame: Frame, launcher: str) -> bool:
    return bool(launcher) and frame.file == launcher


def _launcher_thread(frames: list[Frame], launcher: str, sources: SourceIndex) -> bool:
    """A thread the launcher started (the event-loop lag watcher): threading's bootstrap,
    then launcher frames, and no user code anywhere in it."""
    if not launcher or not frames:
        return False
    if any(is_launcher(f, launcher) for f in frames) and all(
            is_launcher(f, launcher) or os.path.basename(f.file) == "threading.py"
            for f in frames):
        return True  # however py-spy caught it (starting, waiting), nothing but ours
    if os.path.basename(frames[0].file) != "threading.py":
        return False
    rest = [f for f in frames if os.path.basename(f.file) != "threading.py"]
    return bool(rest) and is_launcher(rest[0], launcher) \
        and not any(sources.is_user(f.file) for f in rest)


def _launcher_starting_a_thread(frames: list[Frame], launcher: str) -> bool:
    """The launcher's own code (the lag monitor, entered from the program's
    `run_forever`) waiting for the thread it starts: a launcher frame followed only by
    threading's frames (`Thread.start` → `Event.wait` → `Condition.wait`). A moment of our
    bookkeeping, not the program's time (seen once in CI on a loaded runner)."""
    if not launcher:
        return False
    last = max((i for i, f in enumerate(frames) if is_launcher(f, launcher)), default=-1)
    tail = frames[last + 1:]
    return last >= 0 and bool(tail) and all(
        os.path.basename(f.file) == "threading.py" for f in tail)


def is_idle(frame: Frame, sources: SourceIndex) -> bool:
    base = os.path.basename(frame.file)
    short = frame.name.rsplit(".", 1)[-1]
    if base in _WAITING_MODULES and short in _WAITING_NAMES and not sources.is_user(frame.file):
        return True
    return bool(_WAITING_CALL.search(sources.line(frame.file, frame.line)))


class _Counts:
    __slots__ = ("idle", "pids", "self_", "self_active", "threads", "total", "user_self")

    def __init__(self) -> None:
        self.self_ = self.total = self.idle = self.self_active = self.user_self = 0
        self.threads: set[tuple[int, int]] = set()
        self.pids: set[int] = set()


def aggregate(raw: RawProfile, sources: SourceIndex, root: str, launcher: str = "",
              script: str = "") -> Aggregate:
    """Fold the samples. Stacks rooted in the launcher count only from the script's own
    frames on: samples of the launcher alone (the gate, collecting results) are dropped."""
    rate = max(raw.rate, 1)
    idle_frame: dict[int, bool] = {}
    user_file: dict[str, bool] = {}
    funcs: dict[tuple[str, str], _Counts] = defaultdict(_Counts)
    lines: dict[tuple[str, int, str], _Counts] = defaultdict(_Counts)
    per_thread: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    thread_self: dict[tuple[int, int], Counter] = defaultdict(Counter)
    folded: dict[tuple[int, ...], list[int]] = defaultdict(lambda: [0, 0])
    """Samples and idle samples per stack of frame indexes, all threads together."""
    labels: dict[int, str] = {}
    shortened: dict[str, str] = {}
    stdlib = getattr(sources, "_stdlib", "")

    def label(index: int) -> str:
        found = labels.get(index)
        if found is None:
            frame = raw.frames[index]
            where = shortened.get(frame.file)
            if where is None:
                where = shortened[frame.file] = short_path(frame.file, root, stdlib)
            found = labels[index] = (f"{frame.name} ({where}:{frame.line})" if frame.line
                                     else f"{frame.name} ({where})")
        return found

    total = idle = dropped = 0

    for (pid, tid, stack), count in raw.stacks.items():
        frames = [raw.frames[i] for i in stack]
        start = 0
        while start < len(frames) and is_launcher(frames[start], launcher):
            start += 1
        frames = frames[start:]
        if not frames or (start and script and frames[0].file != script) \
                or _launcher_thread(frames, launcher, sources) \
                or _launcher_starting_a_thread(frames, launcher):
            dropped += count
            continue
        leaf_index = stack[-1]
        waiting = idle_frame.get(leaf_index)
        if waiting is None:
            waiting = idle_frame[leaf_index] = is_idle(frames[-1], sources)
        thread = (pid, tid)
        total += count
        per_thread[thread][0] += count
        if waiting:
            idle += count
            per_thread[thread][1] += count
        weight = folded[stack[start:]]
        weight[0] += count
        weight[1] += count if waiting else 0

        leaf = frames[-1]
        seen_funcs: set[tuple[str, str]] = set()
        seen_lines: set[tuple[str, int, str]] = set()
        for frame in frames:
            fkey = (frame.file, frame.name)
            lkey = (frame.file, frame.line, frame.name)
            if fkey not in seen_funcs:
                seen_funcs.add(fkey)
                c = funcs[fkey]
                c.total += count
                c.idle += count if waiting else 0
                c.threads.add(thread)
                c.pids.add(pid)
            if lkey not in seen_lines:
                seen_lines.add(lkey)
                lc = lines[lkey]
                lc.total += count
                lc.idle += count if waiting else 0
        for frame in reversed(frames):
            is_user = user_file.get(frame.file)
            if is_user is None:
                is_user = user_file[frame.file] = sources.is_user(frame.file)
            if is_user:
                funcs[(frame.file, frame.name)].user_self += count
                break
        fc = funcs[(leaf.file, leaf.name)]
        fc.self_ += count
        lc = lines[(leaf.file, leaf.line, leaf.name)]
        lc.self_ += count
        if not waiting:
            fc.self_active += count
            lc.self_active += count
            thread_self[thread][leaf.name] += count

    main_samples = per_thread.get(raw.main, [0, 0])[0]
    ticks = max([main_samples] + [v[0] for v in per_thread.values()] + [1])
    if main_samples and main_samples >= 0.5 * ticks:
        ticks = main_samples
    active = max(total - idle, 1)

    def pct(n: int) -> float:
        return round(100.0 * n / ticks, 2)

    def sec(n: int) -> float:
        return round(n / rate, 4)

    seen_at: dict[tuple[str, str], int] = {}
    for (file, number, name) in lines:
        key = (file, name)
        if number and (key not in seen_at or number < seen_at[key]):
            seen_at[key] = number

    hot: list[HotFunction] = []
    for (file, name), c in funcs.items():
        span = sources.enclosing(file, seen_at.get((file, name), 0), name)
        line = span.line if span else (1 if name == "<module>" else 0)
        hot.append(HotFunction(
            name=name, file=file, path=relative(file, root), line=line,
            user=sources.is_user(file), self_seconds=sec(c.self_), total_seconds=sec(c.total),
            idle_seconds=sec(c.idle), self_pct=pct(c.self_), total_pct=pct(c.total),
            idle_pct=pct(c.idle), cpu_pct=round(100.0 * c.self_active / active, 2),
            user_self_seconds=sec(c.user_self), user_self_pct=pct(c.user_self),
            samples=c.total, threads=len(c.threads), processes=len(c.pids)))
    hot.sort(key=lambda f: (-f.total_seconds, -f.self_seconds, f.name))

    hot_lines: list[HotLine] = []
    for (file, number, name), c in lines.items():
        user = sources.is_user(file)
        if not c.self_ and not (user and c.total * 100 >= ticks):
            continue
        hot_lines.append(HotLine(
            file=file, path=relative(file, root), line=number, function=name, user=user,
            self_seconds=sec(c.self_), idle_seconds=sec(c.idle), self_pct=pct(c.self_),
            total_pct=pct(c.total), idle_pct=pct(c.idle), samples=c.total,
            code=sources.line(file, number)))
    hot_lines.sort(key=lambda ln: (-ln.self_seconds, -ln.total_pct, ln.path, ln.line))

    threads = tuple(
        ThreadSamples(pid=pid, tid=tid, name=raw.thread_names.get((pid, tid), ""),
                      samples=n, idle=i,
                      top=thread_self[(pid, tid)].most_common(1)[0][0]
                      if thread_self[(pid, tid)] else "")
        for (pid, tid), (n, i) in sorted(per_thread.items(), key=lambda kv: -kv[1][0]))
    summary = SampleSummary(
        sampler=raw.sampler, rate=raw.rate, total=total, idle=idle,
        ticks=ticks if total else 0, processes=len({p for p, _ in per_thread}),
        threads=threads, idle_method=IDLE_METHOD, errors=raw.errors, dropped=dropped)
    # Folded on frame indexes (cheap), labelled once cut down; frames whose labels come
    # out the same (two files shortened alike) are merged.
    stacks: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0])
    for frames, n, i in _fold(folded, MAX_STACKS):
        weight = stacks[tuple(label(index) for index in frames)]
        weight[0] += n
        weight[1] += i
    kept = sorted((StackSample(frames, n, i) for frames, (n, i) in stacks.items()),
                  key=lambda s: (-s.samples, s.frames))
    return Aggregate(summary, tuple(hot[:MAX_FUNCTIONS]), tuple(hot_lines[:MAX_LINES]),
                     tuple(kept))



SLOW_HTTP_SECONDS = 0.5
"""A call longer than this is slow (Sentry's span duration threshold for consecutive HTTP
calls: three such calls one after another are worth running concurrently)."""
MAX_IO_ROWS = 500


def io_call_stats(data: object, sources: SourceIndex, root: str) -> tuple[IOCallStats, ...]:
    """The calls pass's rows ([file, first line, name, line, kind, library, operation,
    shape, calls, total, max, [[start, end], ...], parent site or None]) per caller and
    shape, most calls first.
    Overlaps are judged per caller and kind over every kept span of its rows: a call
    overlaps when another one of them started before it ended and ended after it
    started."""
    rows = data.get("rows") if isinstance(data, Mapping) else None
    if not rows:
        return ()
    parsed: list[tuple[tuple, list[tuple[float, float]], dict]] = []
    for row in rows:
        try:
            (file, first, name, line, kind, library, operation, shape, calls, total,
             longest, spans) = row[:12]
            parent = row[12] if len(row) > 12 else None
            file = str(file)
            if not sources.is_user(file):
                continue
            span = sources.at_first_line(file, int(first), str(name))
            caller: dict[str, object] = {}
            if parent and sources.is_user(str(parent[0])):
                parent_file = str(parent[0])
                outer = sources.at_first_line(parent_file, int(parent[1]), str(parent[2]))
                caller = {"parent": outer.qualname if outer else str(parent[2]),
                          "parent_path": relative(parent_file, root),
                          "parent_line": int(parent[3])}
            fields = {
                "function": span.qualname if span else str(name), "file": file,
                "path": relative(file, root), "line": span.line if span else int(first),
                "call_line": int(line), "kind": str(kind), "library": str(library),
                "operation": str(operation), "shape": str(shape), "calls": int(calls),
                "total_seconds": round(float(total), 6),
                "mean_seconds": round(float(total) / int(calls), 9) if int(calls) else 0.0,
                "max_seconds": round(float(longest), 6), **caller}
            kept = [(float(a), float(b)) for a, b in spans or ()]
        except (TypeError, ValueError):
            continue
        parsed.append(((file, int(first), str(name), str(kind)), kept, fields))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, (group, _, _) in enumerate(parsed):
        groups[group].append(index)
    counts: dict[int, list[int]] = {}  # row index -> [overlapped, slow, sequential slow]
    for members in groups.values():
        spans = sorted((start, end, index) for index in members
                       for start, end in parsed[index][1])
        for index in members:
            counts[index] = [0, 0, 0]
        reach = float("-inf")  # the latest end among the spans started so far
        for position, (start, end, index) in enumerate(spans):
            later = spans[position + 1][0] if position + 1 < len(spans) else float("inf")
            overlapped = start < reach or end > later
            reach = max(reach, end)
            slow = end - start > SLOW_HTTP_SECONDS
            entry = counts[index]
            entry[0] += overlapped
            entry[1] += slow
            entry[2] += slow and not overlapped
    out = []
    for index, (_, kept, fields) in enumerate(parsed):
        overlapped, slow, sequential = counts[index]
        out.append(IOCallStats(**fields, slow_calls=slow, sequential_slow_calls=sequential,
                               overlapped_calls=overlapped, spans_kept=len(kept),
                               first_start_s=round(min((a for a, _ in kept), default=0.0),
                                                   6)))
    out.sort(key=lambda s: (-s.calls, s.first_start_s, s.path, s.function, s.shape))
    return tuple(out[:MAX_IO_ROWS])
