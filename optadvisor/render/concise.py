"""`--format concise`: one line per finding (`path:line:col: CODE [priority] message`, not
wrapped: one finding, one line for grep), then the summary."""

from __future__ import annotations

from rich.console import Console

from optadvisor.models import Report
from optadvisor.render.terminal import header, render_with


def _body(console: Console, report: Report) -> None:
    for rec in report.recommendations:
        console.print(header(rec, report=report), soft_wrap=True)


def render(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    return render_with(report, _body, width, color)
