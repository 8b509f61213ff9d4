"""`--format grouped`: findings under their file (files in the order of their first
finding, so the highest priority leads), `line:col: CODE [priority] message` each, then
the summary."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from optadvisor.models import Recommendation, Report
from optadvisor.render.terminal import header, print_wrapped, render_with, safe, shown_path


def _body(console: Console, report: Report) -> None:
    files: dict[str, list[Recommendation]] = {}
    for rec in report.recommendations:
        files.setdefault(rec.path, []).append(rec)
    for path, recs in files.items():
        console.print(Text(f"{safe(shown_path(report, path))}:", style="bold underline"),
                      soft_wrap=True)
        for rec in sorted(recs, key=lambda r: (r.line, r.column)):
            print_wrapped(console, Text("  ") + header(rec, f"{rec.line}:{rec.column}"),
                          indent=6)
        console.print()


def render(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    return render_with(report, _body, width, color)
