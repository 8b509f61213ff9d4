"""What the terminal formats (full, concise, grouped) share: a finding's header line, the
code frame of the user's lines with the flagged span marked, the suggested change as
`help:` lines, and the summary that ends the output.

Like ruff's: the location comes first and is never cut; messages wrap at word boundaries
to the console's width with a hanging indent; code is never wrapped or cut (a long line
runs past the edge, as it does in an editor). Everything shown comes from the report (the
snippet the scan kept), never from the source tree."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from optadvisor.models import PRIORITIES, Recommendation, Report
from optadvisor.render import safe
from optadvisor.render.common import errors_heading, excluded_line, tests_line
from optadvisor.render.table import PRIORITY_STYLE, string_console
from optadvisor.render.targets import why_of

FRAME_LINES = 8
"""Lines of a long statement shown in a code frame; the rest is elided."""
HELP_LINES = 12
"""Lines of a suggested change shown; the rest is in --diff and the JSON."""
SUMMARY_TARGETS = 5
QUICK_WINS = 5


def shown_path(report: Report, path: str) -> str:
    """A report path as the user can open it from where they ran the command (as ruff
    prints them): the scanned root joined in when it lies under the working directory."""
    root = report.root
    if not root or not os.path.isabs(root):
        return path
    try:
        relative = os.path.relpath(os.path.join(root, path))
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative.replace(os.sep, "/")


def location(rec: Recommendation, report: Report | None = None) -> str:
    path = shown_path(report, rec.path) if report is not None else rec.path
    return safe(f"{path}:{rec.line}:{rec.column}")


def header(rec: Recommendation, where: str | None = None,
           report: Report | None = None) -> Text:
    """`path:line:col: OPT101 [high] message` (`where` replaces the location)."""
    text = Text()
    text.append(location(rec, report) if where is None else where, style="bold")
    text.append(": ")
    text.append(rec.rule, style="bold red" if rec.priority in ("critical", "high") else "bold")
    text.append(" [")
    text.append(rec.priority, style=PRIORITY_STYLE.get(rec.priority, ""))
    if rec.confidence == "low" or rec.context not in ("", "library"):
        text.append(", " + ", ".join(p for p in (
            rec.context if rec.context not in ("", "library") else "",
            "low confidence" if rec.confidence == "low" else "") if p))
    text.append("] ")
    text.append(safe(" ".join(rec.message.split())))
    return text


WORD = r"\S+"
KIND_COUNT = r"\S+(?: \d+)?,?"
"""`blocking-call-in-async 37,` stays on one line."""


def print_wrapped(console: Console, text: Text, indent: int = 4, word: str = WORD) -> None:
    """Words wrap at the console's width; continuation lines get a hanging indent. A word
    longer than a line (a long path) is never cut: it gets a line of its own."""
    width = max(20, console.width)
    for number, (start, end) in enumerate(_line_spans(text.plain, width, indent, word)):
        piece = text[start:end]
        console.print(Text(" " * indent) + piece if number else piece, soft_wrap=True)


def _line_spans(plain: str, width: int, indent: int, word: str) -> list[tuple[int, int]]:
    words = [m.span() for m in re.finditer(word, plain)]
    if not words:
        return [(0, len(plain))]
    lines: list[tuple[int, int]] = []
    start, end = 0, words[0][1]  # the first line keeps its leading spaces
    for word_start, word_end in words[1:]:
        room = width - (indent if lines else 0)
        if word_end - start > room:
            lines.append((start, end))
            start = word_start
        end = word_end
    lines.append((start, end))
    return lines


def code_frame(console: Console, rec: Recommendation) -> None:
    """The user's lines with line numbers, the flagged span underlined on its first line."""
    snippet = rec.snippet
    lines = snippet.before.split("\n")
    if not snippet.before.strip():
        return
    first = snippet.line or rec.line
    shown = lines[:FRAME_LINES]
    gutter = len(str(first + len(shown) - 1))
    bar = " " * gutter + " |"
    console.print(Text(bar, style="blue"), soft_wrap=True)
    for offset, line in enumerate(shown):
        number = first + offset
        row = Text(f"{number:>{gutter}} | ", style="blue")
        row.append(safe(line))
        console.print(row, soft_wrap=True)
        if number == rec.line:
            start = max(0, rec.column - 1 - snippet.indent)
            end = rec.end_column - 1 - snippet.indent if rec.end_line == rec.line \
                else len(line)
            width = max(1, min(end, len(line)) - start)
            mark = Text(bar + " " + " " * start, style="blue")
            mark.append("^" * width, style="bold red")
            console.print(mark, soft_wrap=True)
    if len(lines) > len(shown):
        console.print(Text(f"{' ' * gutter} | … {len(lines) - len(shown)} more line(s)",
                           style="blue"), soft_wrap=True)
    console.print(Text(bar, style="blue"), soft_wrap=True)


def help_lines(console: Console, rec: Recommendation) -> None:
    """The facets of the site, then the fix: its words, and the code to write instead."""
    for facet in rec.facets:
        print_wrapped(console, Text.assemble(("  = also: ", "bold"),
                                             safe(f"{facet.get('rule', '')} "
                                                  f"{facet.get('message', '')}")),
                      indent=6)
    fix = rec.fix
    how = {"safe": "safe fix", "unsafe": "unsafe fix: --unsafe-fixes"}.get(
        fix.applicability if fix is not None else "", "")
    words = fix.message if fix is not None and fix.message else ""
    if words or how:
        label = f"  = help [{how}]: " if how else "  = help: "
        print_wrapped(console, Text.assemble((label, "bold"), safe(words)), indent=6)
    after = rec.snippet.after
    if after.strip():
        console.print(Text("    write instead:", style="bold"), soft_wrap=True)
        lines = after.split("\n")
        for line in lines[:HELP_LINES]:
            console.print(Text("      " + safe(line), style="green"), soft_wrap=True)
        if len(lines) > HELP_LINES:
            console.print(Text(f"      … {len(lines) - HELP_LINES} more line(s) (see --diff)",
                               style="dim"), soft_wrap=True)


def summary(console: Console, report: Report) -> None:
    """Counts by priority and kind, what fails the gate, the top targets with what makes
    them targets, and the first quick wins by path:line."""
    recs = report.recommendations
    s = report.summary
    console.print()
    if not recs:
        console.print(Text(f"No recommendations in {s.files} files.", style="green"))
    else:
        parts = ", ".join(f"{n} {p}" for p, n in s.by_priority.items() if n)
        where = [f"{n} in {ctx}" for ctx, n in sorted(s.by_context.items())
                 if ctx != "library"]
        line = f"Found {len(recs)} recommendation(s) in {s.files} files ({parts})"
        print_wrapped(console, Text(line + (f"; {', '.join(where)}" if where else "") + "."),
                      indent=2)
        kinds = ", ".join(f"{kind} {n}" for kind, n in
                          sorted(s.by_kind.items(), key=lambda kv: (-kv[1], kv[0])))
        print_wrapped(console, Text("By kind: " + kinds), indent=2, word=KIND_COUNT)
    for note in (excluded_line(report), tests_line(report)):
        if note:
            print_wrapped(console, Text(note[0].upper() + note[1:] + "."), indent=2)
    _gate(console, report)
    _targets(console, report)
    _quick_wins(console, report)
    _fixable(console, recs)
    if report.errors:
        console.print(Text(f"{errors_heading(report.errors)} (see --format json):",
                           style="bold"))
        for error in report.errors[:5]:
            print_wrapped(console, Text(safe(f"  {error.path}: {error.kind}: {error.message}")),
                          indent=4)


def _gate(console: Console, report: Report) -> None:
    gate = report.fail_on
    if not gate:
        return
    if gate == "never":
        console.print("Gate: --fail-on never (exit 0).", markup=False)
        return
    limit = PRIORITIES.index(gate)
    failing = [r for r in report.recommendations if r.priority in PRIORITIES
               and PRIORITIES.index(r.priority) <= limit and r.confidence != "low"]
    if failing:
        print_wrapped(console, Text.assemble(
            ("Gate: ", "bold"), (f"{len(failing)} at or above --fail-on {gate}", "bold red"),
            " (exit 1); low-confidence findings never fail it."), indent=2)
    else:
        console.print(Text.assemble(("Gate: ", "bold"),
                                    (f"nothing at or above --fail-on {gate}", "green"),
                                    " (exit 0)."))


def _targets(console: Console, report: Report) -> None:
    files = [t for t in report.targets if t.kind == "file"][:SUMMARY_TARGETS]
    if not files:
        return
    why = why_of(report)
    console.print(Text("Top targets:", style="bold"))
    for target in files:
        print_wrapped(console, Text(safe(f"  {shown_path(report, target.path)} "
                                         f"(score {target.score}): "
                                         f"{why(target)}")), indent=4)


def _quick_wins(console: Console, report: Report) -> None:
    wins = [r for r in report.recommendations if r.fix is not None and r.fix.applicability == "safe"
            and r.confidence != "low"][:QUICK_WINS]
    if not wins:
        return
    console.print(Text("Quick wins (safe fixes, `--fix`):", style="bold"))
    for rec in wins:
        print_wrapped(console, Text(safe(f"  {shown_path(report, rec.path)}:{rec.line} "
                                         f"{rec.rule} {rec.title}")),
                      indent=4)


def _fixable(console: Console, recs: tuple[Recommendation, ...]) -> None:
    safe = sum(1 for r in recs if r.fix is not None and r.fix.applicability == "safe")
    unsafe = sum(1 for r in recs if r.fix is not None and r.fix.applicability == "unsafe")
    if safe or unsafe:
        more = f" ({unsafe} more with `--unsafe-fixes`)" if unsafe else ""
        console.print(f"[*] {safe} fixable with `--fix`{more}.", markup=False)


def render_with(report: Report, body: Callable[[Console, Report], None],
                width: int | None = None, color: bool | None = None) -> str:
    console, buffer = string_console(width, color)
    body(console, report)
    summary(console, report)
    return buffer.getvalue()

