"""`--format table`: a ranked rich table, the plan, and the top targets.

User text (paths, messages, names, notes) reaches the console only as `Text` made with
`safe()`: never parsed as rich markup (`routes/[id]/handler.py` printed as
`routes//handler.py`, and a path holding `[/x]` crashed the table with MarkupError), and
never carrying a terminal control character (`\\x1b[2J` in a file name cleared the screen).
"""

from __future__ import annotations

import io
import math
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optadvisor.models import Report, Target
from optadvisor.render import safe
from optadvisor.render.common import errors_heading, excluded_line, tests_line
from optadvisor.render.targets import why_of

PRIORITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                  "low": "cyan"}
MAX_ROWS = 200
TOP_TARGETS = 10
PROFILE_TOP = 5


def string_console(width: int | None, color: bool | None) -> tuple[Console, io.StringIO]:
    """A console that renders into a string: colour only for a terminal without NO_COLOR
    (unless told), the terminal's width (unless told)."""
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if width is None:
        width = _terminal_width()
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      emoji=False, soft_wrap=False)
    return console, buffer


def render(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    console, buffer = string_console(width, color)
    _header(console, report)
    profile_block(console, report)
    if report.recommendations:
        console.print(_recommendations(report))
        hidden = len(report.recommendations) - MAX_ROWS
        if hidden > 0:
            console.print(f"… and {hidden} more (use --format json or markdown for all)")
    else:
        console.print(Text("No recommendations.", style="green"))
    _plan(console, report)
    _targets(console, report)
    _errors(console, report)
    return buffer.getvalue()


def _terminal_width() -> int:
    """$COLUMNS when set (as rich and shutil read it), else the terminal's width; 120 when
    the output is not a terminal. Kept within 40..200."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return max(40, min(200, int(columns)))
    try:
        return max(40, min(200, os.get_terminal_size(sys.stdout.fileno()).columns))
    except (OSError, ValueError):
        return 120


def _header(console: Console, report: Report) -> None:
    s = report.summary
    cached = f", {s.cached_files} from cache" if s.cached_files else ""
    console.print(Text(f"optadvisor {report.tool_version}", style="bold"),
                  f"— {s.files} files, {s.lines:,} lines, {s.functions:,} functions, "
                  f"{s.components} components in {s.seconds:.2f}s{cached}")
    parts = [f"{n} {p}" for p, n in s.by_priority.items()]
    line = f"{s.recommendations} recommendations" + (f" ({', '.join(parts)})" if parts else "")
    if s.baseline:
        line = (f"{s.baseline.get('new', 0)} new recommendations"
                + (f" ({', '.join(parts)})" if parts else "")
                + f", {s.baseline.get('unchanged', 0)} unchanged since the baseline, "
                f"{s.baseline.get('fixed', 0)} fixed")
    if s.suppressed:
        line += f", {s.suppressed} suppressed"
    if len(s.by_context) > 1:
        line += " · " + ", ".join(f"{n} in {ctx}" for ctx, n in sorted(s.by_context.items()))
    c = s.candidates
    line += (f" · candidates: {c.get('caching', 0)} caching, {c.get('async', 0)} async, "
             f"{c.get('profiling', 0)} profiling, {c.get('optimization', 0)} optimization")
    console.print(line)
    for note in (excluded_line(report), tests_line(report)):
        if note:
            console.print(Text(note[0].upper() + note[1:] + "."))
    console.print()


def _recommendations(report: Report) -> Table:
    table = Table(show_lines=False, header_style="bold", expand=True, pad_edge=False,
                  box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("priority", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("location", overflow="fold", max_width=40)
    table.add_column("kind", no_wrap=True)
    table.add_column("agent", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("message", overflow="fold", ratio=1, min_width=30)
    for index, rec in enumerate(report.recommendations[:MAX_ROWS], start=1):
        table.add_row(
            str(index),
            Text(rec.priority, style=PRIORITY_STYLE.get(rec.priority, "")),
            str(rec.score),
            Text(safe(f"{rec.path}:{rec.line}")),
            Text.assemble(safe(rec.kind), "\n", (safe(rec.rule), "dim")),
            Text(safe(rec.component)),
            Text(safe(rec.message)),
        )
    return table


def _plan(console: Console, report: Report) -> None:
    if not report.plan:
        return
    console.print()
    console.print(Text("Plan", style="bold"))
    for number, phase in enumerate(report.plan, start=1):
        console.print(Text(safe(f"  {number}. {phase.name}: {phase.description}")))


def _flag(name: str, on: bool) -> str:
    return f"{name} ✓" if on else ""


def target_line(target: Target) -> str:
    where = target.path if target.kind == "file" else (
        f"{target.path}::{target.symbol}" if target.kind == "function" else target.component)
    flags = "  ".join(f for f in (
        _flag("caching", target.caching), _flag("async", target.async_),
        _flag("profiling", target.profiling), _flag("optimization", target.optimization)) if f)
    return f"{where}  score {target.score}  {flags}".rstrip()


def _targets(console: Console, report: Report) -> None:
    files = [t for t in report.targets if t.kind == "file"][:TOP_TARGETS]
    if not files:
        return
    why = why_of(report)
    console.print()
    console.print(Text("Top targets", style="bold"))
    for target in files:
        console.print(Text(safe("  " + target_line(target))))
        console.print(Text(safe("    " + why(target)), style="dim"))


# --------------------------------------------------------------------------- profile
# The short "Profile" block of a profile report; the formatting helpers below are shared
# with the markdown and HTML renderers.


def number(value: Any, default: float = 0.0) -> float:
    """A finite float from whatever a (possibly hand-edited) report holds."""
    try:
        found = float(value)
    except (TypeError, ValueError):
        return default
    return found if math.isfinite(found) else default


def fmt_seconds(value: Any) -> str:
    seconds = number(value)
    if seconds >= 120:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)} min {rest:.0f} s"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 0.1 or seconds == 0:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms"


def fmt_bytes(value: Any) -> str:
    size = number(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover


def outcome_details(outcome: Mapping[str, Any]) -> list[str]:
    """What the outcome's message does not already say: exit code, signal, timeout,
    exception."""
    message = str(outcome.get("message") or "")
    details = []
    returncode = outcome.get("returncode")
    if returncode not in (None, 0) and f"status {returncode}" not in message:
        details.append(f"exit code {returncode}")
    signal = str(outcome.get("signal") or "")
    if signal and signal not in message:
        details.append(f"signal {signal}")
    if outcome.get("timed_out") and "timeout" not in message:
        details.append("timed out")
    exception = str(outcome.get("exception") or "")
    if exception and exception not in message:
        details.append(exception)
    return details


def outcome_line(profile: Mapping[str, Any]) -> str:
    """`ok: the script exited normally`, `exception: the script raised ValueError: x (exit
    code 1)`."""
    outcome = profile.get("outcome") or {}
    status = str(outcome.get("status") or "unknown")
    line = f"{status}: the script {outcome.get('message') or status}"
    details = outcome_details(outcome)
    return line + (f" ({', '.join(details)})" if details else "")


def timing_line(profile: Mapping[str, Any]) -> str:
    samples = profile.get("samples") or {}
    line = (f"wall {fmt_seconds(profile.get('wall_seconds'))} · CPU "
            f"{fmt_seconds(profile.get('cpu_seconds'))} ({number(profile.get('cpu_pct')):.0f} %"
            f" of one core) · {int(number(samples.get('total'))):,} samples")
    if samples.get("total"):
        line += f" ({int(number(samples.get('idle'))):,} idle)"
    return line


SECTION_HEADERS = ("Section", "Calls", "Avg (ms)", "Total (ms)", "p95", "p99", "hit rate")
"""The calls pass's table, as the seeds name its columns (p95/p99 in ms)."""


def section_rows(profile: Mapping[str, Any], count: int = 20) -> list[dict[str, str]]:
    """The calls pass's functions formatted for a table: every value a string. The hit
    rate is what an lru_cache would have answered; `varies` when the same arguments gave
    different results (no cache candidate), `–` when no call could be fingerprinted."""
    rows = []
    for item in profile.get("calls") or ():
        if not isinstance(item, Mapping):
            continue
        rate = item.get("hit_rate")
        if item.get("varies"):
            hit = "varies"
        elif isinstance(rate, (int, float)) and not isinstance(rate, bool):
            hit = f"{100 * rate:.1f}%"
        else:
            hit = "–"
        line = item.get("line")
        rows.append({
            "name": str(item.get("name", "")) + (" (async)" if item.get("is_async") else ""),
            "where": f"{item.get('path', '')}:{line}" if line else str(item.get("path", "")),
            "calls": f"{int(number(item.get('calls'))):,}",
            "avg": _ms(item.get("mean_ms")), "total": _ms(item.get("total_ms")),
            "p95": _ms(item.get("p95_ms")), "p99": _ms(item.get("p99_ms")), "hit": hit})
        if len(rows) >= count:
            break
    return rows


AWAIT_HEADERS = ("Await", "Awaits", "Suspended", "Total (ms)", "Avg (ms)", "Max (ms)",
                 "Concurrency", "Tasks")
"""The calls pass's per-await view: where the wrapped coroutines waited."""


def await_rows(profile: Mapping[str, Any], count: int = 20) -> list[dict[str, str]]:
    """The awaited call sites of the calls pass formatted for a table (strings).
    Concurrency is the calls of the coroutine in flight when it waited there (1: one at a
    time); tasks, the program's asyncio tasks not done then."""
    rows = []
    for item in profile.get("awaits") or ():
        if not isinstance(item, Mapping):
            continue
        rows.append({
            "name": str(item.get("function", "")),
            "where": f"{item.get('path', '')}:{item.get('await_line', '')}",
            "code": str(item.get("code") or ""),
            "awaits": f"{int(number(item.get('awaits'))):,}",
            "suspended": f"{int(number(item.get('suspensions'))):,}",
            "total": _ms(item.get("total_ms")), "avg": _ms(item.get("mean_ms")),
            "max": _ms(item.get("max_ms")),
            "concurrency": f"{number(item.get('concurrency')):.2f}",
            "tasks": f"{number(item.get('tasks')):.1f}" if number(item.get("tasks")) else "–"})
        if len(rows) >= count:
            break
    return rows


IO_HEADERS = ("I/O calls by function", "Library", "Shape", "Calls", "Total (ms)", "Avg (ms)",
              "overlapped")
"""The calls pass's database and HTTP calls per calling function and shape."""
SHAPE_WIDTH = 80


def io_rows(profile: Mapping[str, Any], count: int = 20) -> list[dict[str, str]]:
    """The calls pass's I/O rows formatted for a table: every value a string; `where` is
    the line that made most of the calls, `overlapped` how many of them ran while another
    call of the same function was under way (0 of N: one after another)."""
    rows = []
    for item in profile.get("io_calls") or ():
        if not isinstance(item, Mapping):
            continue
        line = item.get("call_line") or item.get("line")
        shape = str(item.get("shape", ""))
        if len(shape) > SHAPE_WIDTH:
            shape = shape[:SHAPE_WIDTH - 1] + "…"
        calls = int(number(item.get("calls")))
        rows.append({
            "function": str(item.get("function", "")),
            "where": f"{item.get('path', '')}:{line}" if line else str(item.get("path", "")),
            "library": f"{item.get('library', '')} {item.get('operation', '')}".strip(),
            "shape": shape, "calls": f"{calls:,}",
            "total": _ms(item.get("total_ms")), "avg": _ms(item.get("mean_ms")),
            "overlapped": f"{int(number(item.get('overlapped_calls'))):,} of {calls:,}"})
        if len(rows) >= count:
            break
    return rows


def await_group_lines(profile: Mapping[str, Any], count: int = 20) -> list[str]:
    """One sentence per flagged await group the calls pass timed: per call, the sum of its
    awaits, the longest, and what gathering would save — or why it would not."""
    lines = []
    for item in profile.get("await_groups") or ():
        if not isinstance(item, Mapping):
            continue
        calls = int(number(item.get("calls")))
        head = (f"{item.get('function', '')} ({item.get('rule', '')}, "
                f"{'loop' if item.get('kind') == 'loop' else 'awaits'} at "
                f"{item.get('path', '')}:{item.get('at_line', '')})")
        if not calls:
            lines.append(f"{head}: never awaited in this run")
            continue
        per = max(calls, 1)
        text = (f"{head}: {int(number(item.get('items'))):,} awaits in {calls:,} call(s), "
                f"{_ms(number(item.get('sum_ms')) / per)} ms waiting per call, the longest "
                f"{_ms(number(item.get('max_ms')) / per)} ms; concurrency "
                f"{number(item.get('concurrency')):.2f}")
        if item.get("verdict") == "concurrent":
            text += ": already concurrent (calls overlapped), gathering saves little"
        else:
            text += f": gathered, about {_ms(number(item.get('saving_ms')) / per)} ms less per call"
        lines.append(text)
        if len(lines) >= count:
            break
    return lines


def _ms(value: Any) -> str:
    ms = number(value)
    return f"{ms:,.0f}" if ms >= 1000 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def gc_line(profile: Mapping[str, Any]) -> str:
    """One line on the garbage collector, or "" when the run has no figures."""
    gc = profile.get("gc")
    if not isinstance(gc, Mapping) or not gc.get("collections"):
        return ""
    generations = [g for g in gc.get("generations") or () if isinstance(g, Mapping)]
    per = " · ".join(f"gen{int(number(g.get('generation')))} {int(number(g.get('collections'))):,}"
                     f" ({_ms(g.get('pause_ms'))} ms)" for g in generations)
    line = (f"{int(number(gc.get('collections'))):,} collections, {_ms(gc.get('pause_ms'))} ms "
            f"paused ({number(gc.get('pause_pct')):.1f}% of the script)")
    if per:
        line += f": {per}"
    if gc.get("function"):
        line += f"; most set off in {gc.get('function')}"
    return line


def _median_range(item: Any, fmt: Callable[[Any], str]) -> tuple[str, str]:
    """(`median`, `min–max`) of a summary's {"median", "min", "max"}."""
    if not isinstance(item, Mapping):
        return "–", "–"
    return fmt(item.get("median")), f"{fmt(item.get('min'))}–{fmt(item.get('max'))}"


def repeat_line(profile: Mapping[str, Any]) -> str:
    """`5 runs (--repeat): wall median 0.51 s (0.50 s–0.53 s) · …`, or "" for one run."""
    repeats = profile.get("repeats")
    if not isinstance(repeats, Mapping) or not repeats.get("runs"):
        return ""
    runs, ok = int(number(repeats.get("runs"))), int(number(repeats.get("ok")))
    parts = []
    for key, label, fmt in (("wall_seconds", "wall", fmt_seconds),
                            ("cpu_seconds", "CPU", fmt_seconds),
                            ("rss_peak", "peak RSS", fmt_bytes)):
        if isinstance(repeats.get(key), Mapping):
            middle, spread = _median_range(repeats[key], fmt)
            parts.append(f"{label} median {middle} ({spread})")
    line = f"{runs} runs (--repeat): " + (" · ".join(parts) or "none ended normally")
    if ok < runs:
        line += f"; {runs - ok} that did not end normally left out"
    return line


def repeat_rows(profile: Mapping[str, Any], count: int = 20) -> list[dict[str, str]]:
    """The heaviest user functions over the repeated runs: median and range of their total
    time, median self time; then the calls pass's time per call (`kind` says which)."""
    repeats = profile.get("repeats")
    if not isinstance(repeats, Mapping):
        return []
    rows = []
    for item in (repeats.get("functions") or ())[:count]:
        if not isinstance(item, Mapping):
            continue
        total, spread = _median_range(item.get("total_seconds"), fmt_seconds)
        own, _ = _median_range(item.get("self_seconds"), fmt_seconds)
        rows.append({"kind": "total", "name": str(item.get("name", "")),
                     "where": _where(item), "median": total, "range": spread, "self": own})
    for item in (repeats.get("calls") or ())[:count]:
        if not isinstance(item, Mapping):
            continue
        mean, spread = _median_range(item.get("mean_ms"), lambda v: _ms(v) + " ms")
        rows.append({"kind": "per call", "name": str(item.get("name", "")),
                     "where": _where(item), "median": mean, "range": spread, "self": ""})
    return rows


def _where(item: Mapping[str, Any]) -> str:
    line = item.get("line")
    return f"{item.get('path', '')}:{line}" if line else str(item.get("path", ""))


LAG_WORST = 5
"""The worst lags a report lists."""


def lag_line(profile: Mapping[str, Any]) -> str:
    """One line on the event-loop heartbeat, or "" when the program ran no loop."""
    lag = profile.get("loop_lag")
    if not isinstance(lag, Mapping):
        return ""
    threshold = _whole_ms(lag.get("threshold_ms"))
    beats = (f"{int(number(lag.get('beats'))):,} beats every "
             f"{_whole_ms(lag.get('interval_ms'))} ms")
    if not lag.get("lags"):
        return f"no lag over {threshold} ms ({beats})"
    line = (f"max {_whole_ms(lag.get('max_lag_ms'))} ms, {int(number(lag.get('lags'))):,} lags over "
            f"{threshold} ms ({_whole_ms(lag.get('total_lag_ms'))} ms in all, {beats})")
    if lag.get("function"):
        line += (f"; most held by {lag.get('function')} "
                 f"({int(number(lag.get('blocker_lags'))):,} lags)")
    return line


def lag_rows(profile: Mapping[str, Any], count: int = LAG_WORST) -> list[dict[str, str]]:
    """The worst lags formatted for a table (when, how long, what held the loop)."""
    lag = profile.get("loop_lag")
    if not isinstance(lag, Mapping):
        return []
    rows = []
    for event in lag.get("worst") or ():
        if not isinstance(event, Mapping):
            continue
        line = event.get("line")
        rows.append({
            "at": f"{number(event.get('start_s')):.2f} s",
            "lag": _whole_ms(event.get("lag_ms")),
            "blocker": str(event.get("function") or "–"),
            "where": (f"{event.get('path', '')}:{line}" if line and event.get("path")
                      else str(event.get("path") or ""))})
        if len(rows) >= count:
            break
    return rows


def _whole_ms(value: Any) -> str:
    return f"{number(value):,.0f}"


def top_user_functions(profile: Mapping[str, Any], count: int) -> list[Mapping[str, Any]]:
    """The user functions a summary ranks first (older summaries: the user functions of
    its list by total time, `<module>` aside)."""
    ranked = profile.get("user_functions")
    if ranked is None:
        ranked = [f for f in profile.get("functions") or ()
                  if f.get("user") and f.get("name") != "<module>"]
    return [f for f in ranked if isinstance(f, Mapping)][:count]


def _rows_table(console: Console, headers: tuple[str, ...], rows: list[dict[str, str]],
                name_key: str, keys: tuple[str, ...], where_width: int = 50,
                text: Mapping[str, bool] | None = None) -> None:
    """One of the profile's figure tables: a name, its location, then one column per key —
    right-aligned figures, or text (`text[key]`: True folds it over a wide column, False
    keeps it on one line). Every cell is a Text: user strings are never rich markup."""
    if not rows:
        return
    text = text or {}
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold",
                  padding=(0, 1, 0, 0))
    table.add_column("  " + headers[0], overflow="fold", ratio=1)
    table.add_column("location", overflow="fold", max_width=where_width)
    for header, key in zip(headers[1:], keys):
        if key not in text:
            table.add_column(header, justify="right", no_wrap=True)
        elif text[key]:
            table.add_column(header, overflow="fold", ratio=2)
        else:
            table.add_column(header, no_wrap=True)
    for row in rows:
        table.add_row(Text(safe("  " + row[name_key])), Text(safe(row["where"])),
                      *(Text(safe(row[key])) for key in keys))
    console.print(table)


def profile_block(console: Console, report: Report) -> None:
    profile = report.profile
    if not profile:
        return
    outcome = profile.get("outcome") or {}
    ok = outcome.get("status") == "ok"
    samples = profile.get("samples") or {}
    sampler = str(profile.get("sampler") or "")
    how = f"{profile.get('mode') or 'sample'} mode" + (
        f", {sampler}" + (f" at {int(number(samples.get('rate')))} Hz"
                          if samples.get("rate") else "") if sampler else "")
    script = safe(str(profile.get("script_path") or profile.get("script") or ""))
    console.print(Text.assemble(("Profile", "bold"), safe(f"  {script} · {how}") if script
                                else safe(f"  {how}")))
    console.print(Text.assemble("  outcome  ", (safe(outcome_line(profile)),
                                                "green" if ok else "bold red")))
    console.print("  time     " + timing_line(profile), markup=False)
    top = top_user_functions(profile, PROFILE_TOP)
    if top:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold",
                      padding=(0, 1, 0, 0))
        table.add_column("  top user functions", overflow="fold", ratio=1)
        table.add_column("location", overflow="fold", max_width=50)
        for name in ("own+lib %", "self %", "total %", "idle %"):
            table.add_column(name, justify="right", no_wrap=True)
        for f in top:
            line = f.get("line")
            # Text, not str: a name like `[bold]` must not be read as rich markup.
            table.add_row(Text(safe("  " + str(f.get("name", "")))),
                          Text(safe(f"{f.get('path', '')}:{line}" if line
                                    else str(f.get("path", "")))),
                          *(f"{number(f.get(key)):.1f}" for key in (
                              "user_self_pct", "self_pct", "total_pct", "idle_pct")))
        console.print(table)
    else:
        console.print("  no user function was sampled", style="dim")
    _rows_table(console, SECTION_HEADERS, section_rows(profile, PROFILE_TOP), "name",
                ("calls", "avg", "total", "p95", "p99", "hit"))
    _repeats(console, profile)
    _rows_table(console, AWAIT_HEADERS, await_rows(profile, PROFILE_TOP), "name",
                ("awaits", "suspended", "total", "avg", "max", "concurrency", "tasks"))
    for line in await_group_lines(profile, PROFILE_TOP):
        console.print(Text(safe("  awaits   " + line)))
    _rows_table(console, IO_HEADERS, io_rows(profile, PROFILE_TOP), "function",
                ("library", "shape", "calls", "total", "avg", "overlapped"),
                where_width=40, text={"library": False, "shape": True})
    gc = gc_line(profile)
    if gc:
        console.print(Text(safe("  gc       " + gc)))
    lag = lag_line(profile)
    if lag:
        console.print(Text(safe("  loop lag " + lag)))
        for row in lag_rows(profile):
            console.print(Text(safe(f"    at {row['at']:>8}  {row['lag']:>8} ms  "
                                    f"{row['blocker']}  {row['where']}".rstrip())))
    for note in (profile.get("notes") or ())[:10]:
        # Notes say what the run did beyond sampling (it ran twice) or left out.
        console.print(Text(safe("  note  " + str(note)), style="dim"))
    console.print()


def _repeats(console: Console, profile: Mapping[str, Any]) -> None:
    line = repeat_line(profile)
    if not line:
        return
    console.print(Text(safe("  repeats  " + line)))
    rows = repeat_rows(profile, PROFILE_TOP)
    if not rows:
        return
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold",
                  padding=(0, 1, 0, 0))
    table.add_column("  over the runs", overflow="fold", ratio=1)
    table.add_column("location", overflow="fold", max_width=50)
    table.add_column("", no_wrap=True)
    for name in ("median", "min–max", "self"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(Text(safe("  " + row["name"])), Text(safe(row["where"])), row["kind"],
                      row["median"], row["range"], row["self"])
    console.print(table)


def _errors(console: Console, report: Report) -> None:
    if not report.errors:
        return
    console.print()
    console.print(Text(f"{errors_heading(report.errors)}:", style="bold"))
    for error in report.errors[:20]:
        console.print(Text(safe(f"  {error.path}: {error.kind}: {error.message}")))
    if len(report.errors) > 20:
        console.print(f"  … and {len(report.errors) - 20} more (see --format json)")
