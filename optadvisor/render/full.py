"""`--format full` (the default): each finding as ruff shows one — `path:line:col: CODE
[priority] message`, the user's lines with the span marked, and the suggested change as
help lines — highest priority first, then the summary."""

from __future__ import annotations

from rich.console import Console

from optadvisor.models import Report
from optadvisor.render.table import profile_block
from optadvisor.render.terminal import code_frame, header, help_lines, print_wrapped, render_with


def _body(console: Console, report: Report) -> None:
    profile_block(console, report)  # a profile report: what ran and where the time went
    for rec in report.recommendations:
        print_wrapped(console, header(rec, report=report))
        code_frame(console, rec)
        help_lines(console, rec)
        console.print()


def render(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    return render_with(report, _body, width, color)
