"""`--format github`: workflow commands that GitHub Actions turns into annotations.

    ::error file=agents/x.py,line=12,endLine=12,col=5,endColumn=30,title=OPT101 …::message

GitHub shows at most 10 annotations of each level per step, so the highest-ranked 10 of
each level are emitted and a summary notice, first, gives the totals. Values are escaped
as the workflow-command spec (actions/toolkit `command.ts`) does: `%`, CR and LF
everywhere, and also `:` and `,` inside properties. Other control characters of user text
(ESC, BEL in a file name or a line of code) are shown as `\\x1b`: the runner's log is a
terminal too.
"""

from __future__ import annotations

from collections import Counter

from optadvisor.models import Recommendation, Report
from optadvisor.render import safe
from optadvisor.render.common import repo_path, level, plural

PER_LEVEL = 10
"""GitHub's cap on annotations of one level (error, warning, notice) in one step."""
LEVEL_ORDER = ("error", "warning", "notice")


def escape_data(text: str) -> str:
    # The spec's escapes first (line breaks stay line breaks), then every other control.
    return safe(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render(report: Report) -> str:
    totals = Counter(level(rec.priority).github for rec in report.recommendations)
    # The summary is itself a notice, so one notice slot goes to it.
    budget = {"error": PER_LEVEL, "warning": PER_LEVEL, "notice": PER_LEVEL - 1}
    shown: list[Recommendation] = []
    for rec in report.recommendations:
        name = level(rec.priority).github
        if budget[name] > 0:
            budget[name] -= 1
            shown.append(rec)
    annotated = Counter(level(rec.priority).github for rec in shown)
    lines = [command("notice", _summary(report, totals, annotated), title="optadvisor")]
    lines += [_annotation(rec, repo_path(report, rec.path)) for rec in shown]
    return "\n".join(lines) + "\n"


def _summary(report: Report, totals: Counter[str], annotated: Counter[str]) -> str:
    s = report.summary
    head = (f"{plural(len(report.recommendations), 'recommendation')} in "
            f"{plural(s.files, 'file')} ({plural(s.components, 'component')})")
    if not report.recommendations:
        head += ": nothing to change"
    else:
        counts = ", ".join(f"{totals[name]} {name}" for name in LEVEL_ORDER if totals[name])
        head += f": {counts}"
        left = {name: totals[name] - annotated[name] for name in LEVEL_ORDER}
        if any(left.values()):
            skipped = ", ".join(f"{n} {name}" for name, n in left.items() if n)
            head += (f". Annotated the top {PER_LEVEL} of each level; not annotated: "
                     f"{skipped} (see the markdown, HTML or SARIF report for all)")
    rule_errors = sum(1 for e in report.errors if e.kind == "rule-error")
    if s.errors > rule_errors:
        head += f". {plural(s.errors - rule_errors, 'file')} could not be analyzed"
    if rule_errors:
        head += f". {plural(rule_errors, 'rule template')} failed to render"
    return head + "."


def _annotation(rec: Recommendation, path: str) -> str:
    after = rec.snippet.after.strip()
    message = rec.message
    if after:
        message += ("\nInstead: " + after) if "\n" not in after else ("\nInstead:\n" + after)
    elif rec.fix is not None and rec.fix.message:
        message += "\nInstead: " + rec.fix.message
    single_line = rec.end_line == rec.line
    return command(
        level(rec.priority).github, message,
        file=path, line=rec.line,
        endLine=rec.end_line if rec.end_line >= rec.line else None,
        col=rec.column if single_line and rec.column >= 1 else None,
        endColumn=rec.end_column if single_line and rec.end_column > rec.column else None,
        title=f"{rec.rule} {rec.title} (score {rec.score})",
    )
