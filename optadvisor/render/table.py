"""`--format table` (the default): a ranked rich table, the plan, and the top targets."""

from __future__ import annotations

import io
import os
import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optadvisor.models import Report, Target

PRIORITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                  "low": "cyan"}
MAX_ROWS = 200
TOP_TARGETS = 10


def render(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if width is None:
        width = _terminal_width()
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      emoji=False, soft_wrap=False)
    _header(console, report)
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
    try:
        return max(80, min(200, os.get_terminal_size(sys.stdout.fileno()).columns))
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
    c = s.candidates
    line += (f" · candidates: {c.get('caching', 0)} caching, {c.get('async', 0)} async, "
             f"{c.get('profiling', 0)} profiling, {c.get('optimization', 0)} optimization")
    console.print(line)
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
            f"{rec.path}:{rec.line}",
            Text.assemble(rec.kind, "\n", (rec.rule, "dim")),
            rec.component,
            Text(rec.message),
        )
    return table


def _plan(console: Console, report: Report) -> None:
    if not report.plan:
        return
    console.print()
    console.print(Text("Plan", style="bold"))
    for number, phase in enumerate(report.plan, start=1):
        console.print(f"  {number}. {phase.name}: {phase.description}")


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
    console.print()
    console.print(Text("Top targets", style="bold"))
    for target in files:
        console.print("  " + target_line(target), markup=False)


def _errors(console: Console, report: Report) -> None:
    if not report.errors:
        return
    console.print()
    console.print(Text(f"{len(report.errors)} file(s) could not be analyzed:", style="bold"))
    for error in report.errors[:20]:
        console.print(f"  {error.path}: {error.kind}: {error.message}", markup=False)
    if len(report.errors) > 20:
        console.print(f"  … and {len(report.errors) - 20} more (see --format json)")
