"""What the bootstrap measured in process, turned into the same shapes py-spy's samples
take: the in-process sampler's stacks (when py-spy cannot attach) and cProfile's table
(`--mode trace`)."""

from __future__ import annotations

from typing import Any

from optadvisor.models import HotFunction
from optadvisor.profile.aggregate import Frame, RawProfile
from optadvisor.profile.sources import SourceIndex, relative

IN_PROCESS = "in-process"


def raw_from_samples(data: dict[str, Any], pid: int, rate: int) -> RawProfile:
    """The bootstrap's sampler output; its real rate (ticks over elapsed seconds) replaces
    the requested one, since a busy GIL can delay the sampling thread."""
    ticks = int(data.get("ticks") or 0)
    elapsed = float(data.get("elapsed") or 0.0)
    effective = round(ticks / elapsed) if ticks and elapsed > 0 else rate
    raw = RawProfile(sampler=IN_PROCESS, rate=max(int(effective), 1))
    frames = data.get("frames") or []
    index: dict[Frame, int] = {}
    remap = [raw.intern(Frame(str(name), str(file), int(line or 0)), index)
             for name, file, line in frames]
    for tid, stack, count in data.get("stacks") or []:
        raw.stacks[(pid, int(tid), tuple(remap[i] for i in stack))] += int(count)
    for tid, name in (data.get("names") or {}).items():
        raw.thread_names[(pid, int(tid))] = str(name)
    raw.main = (pid, int(data.get("main") or 0))
    return raw


def functions_from_cprofile(rows: list[list[Any]], sources: SourceIndex, root: str,
                            wall: float, launcher: str = "") -> tuple[HotFunction, ...]:
    """cProfile rows (file, first line, name, calls, own seconds, cumulative seconds, callers),
    built-ins (`~`) left out; time shares are of the wall time, like the sampled figures.
    A user function is charged its own time plus the cumulative time of the non-user
    functions it called (the caller edges say how much came from where)."""
    out: list[HotFunction] = []
    total_own = sum(float(r[4]) for r in rows if r[0] != launcher) or 1.0
    wall = wall or total_own
    charged: dict[tuple[str, int, str], float] = {}
    for row in rows:
        file, first_line, name, _calls, own = row[:5]
        if sources.is_user(str(file)):
            key = (str(file), int(first_line), str(name))
            charged[key] = charged.get(key, 0.0) + float(own)
    for row in rows:
        if sources.is_user(str(row[0])):
            continue
        for cfile, cline, cname, cumulative in (row[6] if len(row) > 6 else ()):
            key = (str(cfile), int(cline), str(cname))
            if key in charged:
                charged[key] += float(cumulative)
    for row in rows:
        file, first_line, name, calls, own, cumulative = row[:6]
        file = str(file)
        if file == "~" or not file or file == launcher:
            continue
        user_self = charged.get((file, int(first_line), str(name)), 0.0)
        span = sources.at_first_line(file, int(first_line), str(name))
        qualname = span.qualname if span else str(name)
        out.append(HotFunction(
            name=qualname, file=file, path=relative(file, root),
            line=span.line if span else int(first_line), user=sources.is_user(file),
            self_seconds=round(float(own), 6), total_seconds=round(float(cumulative), 6),
            self_pct=round(100.0 * float(own) / wall, 2),
            total_pct=round(100.0 * float(cumulative) / wall, 2),
            cpu_pct=round(100.0 * float(own) / total_own, 2),
            user_self_seconds=round(user_self, 6), user_self_pct=round(100.0 * user_self / wall, 2),
            calls=int(calls)))
    out.sort(key=lambda f: (-f.total_seconds, -f.self_seconds, f.name))
    return tuple(out[:200])
