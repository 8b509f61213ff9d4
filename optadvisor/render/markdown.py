"""`--format markdown`: a report for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

The template is `templates/report.md.j2`. Every `{{ expression }}` in it is escaped for
Markdown unless a filter here returned `Md` (already safe): text keeps its `code spans`
and has HTML and emphasis characters neutralised outside them, user strings such as
paths go into code spans, code goes into fences longer than any backtick run it holds;
control characters anywhere are shown escaped (`\\x1b`), as in the terminal formats.

The output stays under `limit` bytes (1 MiB, GitHub's cap for a step summary): when the
whole report would not fit, the lowest-ranked recommendations are left out and counted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import escape

from optadvisor.models import PRIORITIES, Recommendation, Report, Target, priority_rank
from optadvisor.render import safe
from optadvisor.render.common import (
    all_priorities,
    environment,
    fence_for,
    one_line,
    plural,
)
from optadvisor.render.table import (
    await_group_lines,
    await_rows,
    fmt_bytes,
    gc_line,
    io_rows,
    lag_line,
    lag_rows,
    outcome_details,
    repeat_line,
    repeat_rows,
    section_rows,
    timing_line,
    top_user_functions,
)
from optadvisor.render.table import number as _num
from optadvisor.render.targets import why_of

LIMIT_BYTES = 1024 * 1024
"""GitHub's limit for one step's `$GITHUB_STEP_SUMMARY`."""
COMMENT_LIMIT_CHARS = 65_536
"""GitHub's limit for an issue or pull-request comment body (pass it as `limit`)."""
TOP_COMPONENTS = 20
TOP_PER_COMPONENT = 3
MAX_ERRORS = 20
PROFILE_TOP = 10
TEMPLATE = "report.md.j2"


class Md(str):
    """Markdown that is safe to emit as it is."""


_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def text(value: Any) -> Md:
    """Inline text: its code spans are kept, everything else is escaped, so `_init_`
    stays literal and `<script>` or `![x](http://…)` is shown rather than obeyed."""
    if isinstance(value, Md):
        return value
    source = one_line(str(value))
    out: list[str] = []
    last = 0
    for match in _SPAN.finditer(source):
        out.append(_escape_plain(source[last:match.start()]))
        out.append(match.group(0).replace("|", "\\|"))
        last = match.end()
    out.append(_escape_plain(source[last:]))
    return Md("".join(out))


def _escape_plain(fragment: str) -> str:
    return _SPECIAL.sub(r"\\\1", fragment.replace("&", "&amp;"))


def code(value: Any) -> Md:
    """A user string (path, symbol, name) as an inline code span; `|` escaped so it is
    safe in a table cell too (GFM unescapes it there)."""
    source = one_line(str(value))
    if not source:
        return Md("")
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if source.startswith("`") or source.endswith("`") else ""
    return Md(f"{ticks}{pad}{source.replace('|', chr(92) + '|')}{pad}{ticks}")


def diff(before: str, after: str) -> Md:
    """Before/after as a fenced `diff` block: GitHub colours removed and added lines."""
    lines = [f"- {safe(line)}" if line else "-" for line in before.rstrip().splitlines()]
    lines += [f"+ {safe(line)}" if line else "+" for line in after.rstrip().splitlines()]
    body = "\n".join(lines)
    fence = fence_for(body)
    return Md(f"{fence}diff\n{body}\n{fence}")


def code_block(source: str) -> Md:
    """The user's code, fenced (when there is no change to show as a diff)."""
    body = "\n".join(safe(line) for line in source.rstrip().split("\n"))
    fence = fence_for(body)
    return Md(f"{fence}python\n{body}\n{fence}")


def html(value: Any) -> Md:
    """Text for a raw-HTML context (`<summary>`), where Markdown escapes do not apply."""
    return Md(str(escape(one_line(str(value)))))


def number(value: float) -> Md:
    return Md(f"{value:,}")


def finalize(value: Any) -> Any:
    """Every `{{ }}` of a markdown template is markdown-escaped unless already Md."""
    if value is None:
        return ""
    if isinstance(value, Md):
        return value
    if isinstance(value, bool):
        return Md(str(value).lower())
    if isinstance(value, (int, float)):
        return Md(str(value))
    return text(value)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return environment(autoescape=False, finalize=finalize, filters={
        "text": text, "code": code, "diff": diff, "number": number, "html": html,
        "code_block": code_block})


@dataclass(frozen=True)
class Shown:
    """One recommendation as the template lists it: its rank (1-based) and itself."""

    rank: int
    rec: Recommendation


def render(report: Report, *, limit: int = LIMIT_BYTES) -> str:
    template = _environment().get_template(TEMPLATE)
    base = _context(report)
    recs = report.recommendations

    def build(count: int) -> str:
        return template.render(**base, **_shown(recs, count))

    full = build(len(recs))
    if _size(full) < limit:
        return full
    # The text grows with the number of recommendations shown: find the most that fit.
    low, high = 0, len(recs) - 1
    best = build(0)
    while low <= high:
        middle = (low + high) // 2
        candidate = build(middle)
        if _size(candidate) < limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    if _size(best) >= limit:
        # Even the summary alone is too big (a tiny limit): cut it at a line boundary.
        best = _cut(best, limit)
    return best


def _size(value: str) -> int:
    # Undecodable file names arrive as lone surrogates; the CLI writes them escaped.
    return len(value.encode("utf-8", "backslashreplace"))


def _cut(value: str, limit: int) -> str:
    note = "\n\n_… the rest of this report was cut to fit the size limit._\n"
    room = max(0, limit - _size(note) - 1)
    head = value.encode("utf-8", "backslashreplace")[:room].decode("utf-8", "ignore")
    return head[:head.rfind("\n") + 1 if "\n" in head else len(head)] + note


def _shown(recs: tuple[Recommendation, ...], count: int) -> dict[str, Any]:
    shown = [Shown(rank, rec) for rank, rec in enumerate(recs[:count], start=1)]
    groups = [(p, [s for s in shown if s.rec.priority == p])
              for p in sorted({s.rec.priority for s in shown}, key=priority_rank)]
    omitted = recs[count:]
    left = Counter(rec.priority for rec in omitted)
    left_text = ", ".join(f"{left[p]} {p}" for p in sorted(left, key=priority_rank))
    return {"groups": groups, "omitted": len(omitted), "omitted_by_priority": left_text}


def _context(report: Report) -> dict[str, Any]:
    s = report.summary
    priorities = all_priorities(s.by_priority)
    return {
        "report": report,
        "summary": s,
        "priorities": priorities,
        "known_priorities": [p for p in priorities if p in PRIORITIES or priorities[p]],
        "by_kind": sorted(s.by_kind.items(), key=lambda item: (-item[1], item[0])),
        "components": _component_targets(report.targets),
        "errors": report.errors[:MAX_ERRORS],
        "errors_left": max(0, len(report.errors) - MAX_ERRORS),
        "plan": [(phase, len(phase.recommendations)) for phase in report.plan],
        "flags": _flags,
        "target_name": _target_name,
        "why": why_of(report),
        "plural": plural,
        "profile": _profile(report),
    }


def _profile(report: Report) -> dict[str, Any] | None:
    """The profile section's figures, formatted (None for a scan)."""
    profile = report.profile
    if not profile:
        return None
    outcome = profile.get("outcome") or {}
    status = str(outcome.get("status") or "unknown")
    memory = profile.get("memory") or {}
    peak = _num(profile.get("rss_peak")) or _num(memory.get("rss_peak"))
    samples = profile.get("samples") or {}
    pct = "{:.1f}".format

    def where(item: Any) -> str:
        line = item.get("line")
        return f"{item.get('path', '')}:{line}" if line else str(item.get("path", ""))

    return {
        "ok": status == "ok",
        "status": status,
        "message": str(outcome.get("message") or status),
        "details": ", ".join(outcome_details(outcome)),
        "script": str(profile.get("script_path") or profile.get("script") or ""),
        "how": f"{profile.get('mode') or 'sample'} mode"
               + (f", {profile['sampler']}" if profile.get("sampler") else "")
               + (f" at {int(_num(samples.get('rate')))} Hz" if samples.get("rate") else ""),
        "timing": timing_line(profile) + (f" · peak RSS {fmt_bytes(peak)}" if peak else ""),
        "functions": [
            {"name": str(f.get("name", "")), "where": where(f),
             "charged": pct(_num(f.get("user_self_pct"))), "self": pct(_num(f.get("self_pct"))),
             "total": pct(_num(f.get("total_pct"))), "idle": pct(_num(f.get("idle_pct")))}
            for f in top_user_functions(profile, PROFILE_TOP)],
        "lines": [
            {"where": where(ln), "function": str(ln.get("function", "")),
             "self": pct(_num(ln.get("self_pct"))), "idle": pct(_num(ln.get("idle_pct"))),
             "code": str(ln.get("code") or "")}
            for ln in (profile.get("lines") or ())[:PROFILE_TOP] if isinstance(ln, dict)],
        "sections": section_rows(profile, PROFILE_TOP),
        "awaits": await_rows(profile, PROFILE_TOP),
        "await_groups": await_group_lines(profile, PROFILE_TOP),
        "io": io_rows(profile, PROFILE_TOP),
        "gc": gc_line(profile),
        "repeats": repeat_line(profile),
        "repeat_rows": repeat_rows(profile, PROFILE_TOP),
        "lag": lag_line(profile),
        "lag_rows": lag_rows(profile),
        "leak": bool(memory.get("leak_suspected")),
        "errors": len(profile.get("errors") or ()),
    }


def _component_targets(targets: tuple[Target, ...]) -> list[tuple[Target, list[Target]]]:
    """The highest-ranked components, each with its top functions (files when none)."""
    components = [t for t in targets if t.kind == "component"][:TOP_COMPONENTS]
    out = []
    for component in components:
        inside = [t for t in targets if t.kind == "function"
                  and t.component == component.component]
        if not inside:
            inside = [t for t in targets if t.kind == "file"
                      and t.component == component.component]
        out.append((component, inside[:TOP_PER_COMPONENT]))
    return out


def _flags(target: Target) -> str:
    return ", ".join(name for name, on in target.flags.items() if on) or "–"


def _target_name(target: Target) -> str:
    if target.kind == "function":
        return f"{target.path}::{target.symbol}"
    return target.path or target.component
