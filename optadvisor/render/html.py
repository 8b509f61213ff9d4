"""`--format html`: one self-contained page that works offline.

Nothing is loaded from anywhere: styles, script, data and highlighted code are inline,
and a Content-Security-Policy allows only the one script whose hash it names, so even
markup that slipped past escaping could not run. Every value reaches the page through
jinja's autoescape (`templates/report.html.j2`) or as JSON with `<`, `>` and `&`
written as `\\u003c`… inside `<script type="application/json">`.

Each recommendation expands to an excerpt of its source, read from the scanned tree
when the file is still there and unchanged at that line (the snippet in the report
otherwise), highlighted by pygments with the flagged lines marked, and the code to
write instead.
"""

from __future__ import annotations

import base64
import hashlib
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from optadvisor.inputs import read_regular
from optadvisor.models import Recommendation, Report, Rule, Target, priority_rank
from optadvisor.render import json_text
from optadvisor.render.charts import lag_timeline, resource_timeline
from optadvisor.render.common import (
    all_priorities,
    by_component,
    environment,
    rule_metadata,
)
from optadvisor.render.table import (
    AWAIT_HEADERS, IO_HEADERS, SECTION_HEADERS, await_group_lines, await_rows, fmt_bytes,
    fmt_seconds, gc_line, io_rows, lag_line, lag_rows, outcome_details, repeat_line, repeat_rows,
    section_rows,
)
from optadvisor.render.table import number as _num
from optadvisor.render.targets import why_of
from optadvisor.resources import templates_dir

TEMPLATE = "report.html.j2"
SCRIPT = "report.js"
STYLE = "report.css"
PROFILE_SCRIPT = "report.profile.js"
"""The flamegraph's script (profile reports only)."""
PROFILE_STYLE = "report.profile.css"
CODE_STYLE = "github-dark"
CONTEXT_LINES = 3
MAX_SOURCE_BYTES = 2 * 1024 * 1024
TOP_FUNCTIONS = 15
MAX_HIGHLIGHTED = 1000
"""Rows past this rank show their code plain (same layout, no colours): pygments costs
about a millisecond per excerpt, and a report of 10,000 findings should still render in
seconds."""
MAX_ERRORS = 200


@dataclass(frozen=True)
class Row:
    """One recommendation as the page shows it."""

    rank: int
    rec: Recommendation
    source: Markup
    """Highlighted excerpt with line numbers and the flagged lines marked."""
    source_from_file: bool
    after: Markup
    rule: Rule | None
    references: tuple[str, ...]


def render(report: Report, *, read_sources: bool = True) -> str:
    """`read_sources=False` keeps the page a pure function of the report (excerpts come
    from the snippets the report carries)."""
    root = Path(report.root) if read_sources and report.root else None
    sources = _Sources(root)
    rules = rule_metadata(report)
    rows = [_row(rank, rec, sources, rules.get(rec.rule), colour=rank <= MAX_HIGHLIGHTED)
            for rank, rec in enumerate(report.recommendations, start=1)]
    script = _read_asset(SCRIPT)
    sources_csp = f"'sha256-{_digest(script)}'"
    style = _read_asset(STYLE) + "\n" + _code_css()
    view = _profile_view(report) if report.profile else None
    profile_script = ""
    if view is not None:
        # A second script, only on profile pages: scan reports stay byte for byte as they
        # were, and each script is allowed by its own hash.
        profile_script = _read_asset(PROFILE_SCRIPT)
        sources_csp += f" 'sha256-{_digest(profile_script)}'"
        style += "\n" + _read_asset(PROFILE_STYLE)
    csp = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src {sources_csp}; base-uri 'none'; form-action 'none'")
    return _environment().get_template(TEMPLATE).render(
        report=report,
        summary=report.summary,
        rows=rows,
        priorities=all_priorities(report.summary.by_priority),
        kinds=sorted(report.summary.by_kind.items(), key=lambda item: (-item[1], item[0])),
        components=by_component(report.recommendations),
        component_targets=[t for t in report.targets if t.kind == "component"],
        function_targets=[t for t in report.targets if t.kind == "function"][:TOP_FUNCTIONS],
        flags=_flags,
        why=why_of(report),
        errors=report.errors[:MAX_ERRORS],
        errors_left=max(0, len(report.errors) - MAX_ERRORS),
        # A profile report passes what its run measured; a scan has none.
        profile=view,
        data=_json_for_script(_table_data(report)),
        csp=csp,
        script=Markup(script),
        profile_script=Markup(profile_script),
        style=Markup(style),
    )


def _digest(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return environment(autoescape=True, filters={"inline_code": inline_code,
                                                 "path_breaks": path_breaks})


def path_breaks(text: str) -> Markup:
    """An escaped path that may wrap after each `/` (a <wbr> there), so a long path breaks
    between directory names, not inside one."""
    return Markup("/<wbr>").join(Markup.escape(part) for part in str(text).split("/"))


def inline_code(text: str) -> Markup:
    """Escaped text whose `backtick spans` (as rule messages write code) become <code>."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as it is
        return Markup.escape(text)
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if odd else Markup.escape(part)
        for odd, part in ((i % 2 == 1, part) for i, part in enumerate(parts)))


# --------------------------------------------------------------------------- assets


def _read_asset(name: str) -> str:
    text = (templates_dir() / name).read_text(encoding="utf-8")
    # Inlined as raw text inside <script>/<style>: it must not be able to end the element.
    if "</" in text:
        raise ValueError(f"templates/{name} must not contain '</'")
    return text


def _code_css() -> str:
    return HtmlFormatter(style=CODE_STYLE).get_style_defs(".hl")


def _json_for_script(value: Any) -> Markup:
    """JSON that is inert inside <script type="application/json">: `</script>`, `<!--`
    and entities cannot occur in it, and U+2028/9 are escaped for older parsers."""
    text = json_text(value)  # controls and U+2028/9 escaped
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return Markup(text)


def _table_data(report: Report) -> dict[str, Any]:
    """What the table script sorts and filters on, one entry per row (rank order)."""
    return {"recommendations": [
        {"rank": rank, "rule": rec.rule, "kind": rec.kind, "category": rec.category,
         "priority": rec.priority, "priorityRank": priority_rank(rec.priority),
         "score": rec.score, "path": rec.path, "line": rec.line, "symbol": rec.symbol,
         "component": rec.component, "message": rec.message, "title": rec.title}
        for rank, rec in enumerate(report.recommendations, start=1)
    ]}


# --------------------------------------------------------------------------- rows


def _row(rank: int, rec: Recommendation, sources: _Sources, rule: Rule | None, *,
         colour: bool = True) -> Row:
    code, start, marked, from_file = _excerpt(rec, sources.lines(rec.path))
    show = _highlight if colour else _plain
    source = show(code, linenostart=start, hl_lines=marked)
    after = show(textwrap.dedent(rec.snippet.after)) if rec.snippet.after.strip() \
        else Markup("")
    references: tuple[str, ...] = ()
    if rule is not None:
        references = tuple(word for word in rule.docs.get("references", "").split()
                           if word.startswith(("https://", "http://")))
    return Row(rank, rec, source, from_file, after, rule, references)


def _excerpt(rec: Recommendation, lines: list[str] | None
             ) -> tuple[str, int, list[int], bool]:
    """(code, its first line number, lines to mark relative to it, read from the file)."""
    before = rec.snippet.before
    if lines and 1 <= rec.line <= len(lines):
        flagged = lines[rec.line - 1].strip()
        # The file may have changed since the scan: use it only if the flagged line is
        # still the code the report quotes.
        if not before.strip() or (flagged and flagged in before):
            end = min(max(rec.end_line, rec.line), len(lines))
            start = max(1, rec.line - CONTEXT_LINES)
            stop = min(len(lines), end + CONTEXT_LINES)
            code = textwrap.dedent("\n".join(lines[start - 1:stop]))
            return code, start, list(range(rec.line - start + 1, end - start + 2)), True
    count = max(1, len(before.splitlines()))
    return before, max(1, rec.line), list(range(1, count + 1)), False


def _highlight(code: str, *, linenostart: int | None = None,
               hl_lines: list[int] | None = None) -> Markup:
    formatter = _formatter(numbered=linenostart is not None)
    # Building an HtmlFormatter compiles its style each time; thousands of rows reuse
    # two and set the per-excerpt options pygments reads when formatting.
    formatter.linenostart = linenostart or 1
    formatter.hl_lines = set(hl_lines or ())
    return Markup(highlight(code, _lexer(), formatter))


def _plain(code: str, *, linenostart: int | None = None,
           hl_lines: list[int] | None = None) -> Markup:
    """The markup `_highlight` makes, without the colours."""
    marked = set(hl_lines or ())
    lines = code.splitlines() or [""]
    width = len(str((linenostart or 1) + len(lines) - 1))
    out = []
    for number, line in enumerate(lines, start=1):
        text = Markup.escape(line) + "\n"
        if linenostart is not None:
            label = str(linenostart + number - 1).rjust(width)
            text = Markup('<span class="linenos">{}</span>').format(label) + text
        if number in marked:
            text = Markup('<span class="hll">{}</span>').format(text)
        out.append(text)
    return Markup('<div class="hl"><pre><span></span><code>{}</code></pre></div>\n').format(
        Markup("").join(out))


@lru_cache(maxsize=2)
def _formatter(*, numbered: bool) -> HtmlFormatter:
    return HtmlFormatter(cssclass="hl", wrapcode=True, linenos="inline" if numbered else False)


@lru_cache(maxsize=1)
def _lexer() -> PythonLexer:
    # stripnl=False keeps leading blank lines, so line numbers stay right.
    return PythonLexer(stripnl=False)


class _Sources:
    """Reads files of the scanned tree, once each, and never outside it."""

    def __init__(self, root: Path | None) -> None:
        self.root = root.resolve() if root is not None and root.is_dir() else None
        self.cache: dict[str, list[str] | None] = {}

    def lines(self, rel: str) -> list[str] | None:
        if self.root is None or not rel:
            return None
        if rel not in self.cache:
            self.cache[rel] = self._read(rel)
        return self.cache[rel]

    def _read(self, rel: str) -> list[str] | None:
        assert self.root is not None
        try:
            path = (self.root / rel).resolve()
            if not path.is_relative_to(self.root):
                return None
            data = read_regular(path, MAX_SOURCE_BYTES)  # a FIFO or device: ValueError
            return data.decode("utf-8", errors="replace").splitlines()
        except (OSError, ValueError):
            return None


def _flags(target: Target) -> Mapping[str, bool]:
    return target.flags


# --------------------------------------------------------------------------- profile
# What `optadvisor profile` measured (Report.profile, built by profile/summary.py), made
# ready for the template: numbers formatted, code highlighted, the timeline drawn as SVG
# here (no chart library), the folded stacks handed to report.profile.js as inert JSON.
# No absolute path of the machine reaches the page: paths are relative to the run's root
# or shortened (`<stdlib>/…`), and free text (notes, errors) is scrubbed the same way.

PROFILE_TOP = 20
MAX_NOTES = 50

_DIRS = r"(?:[A-Za-z]:)?[/\\][^\s'\"<>:;,()\[\]]*?[/\\]"
"""The start of an absolute path, up to the directory a pattern below names."""
_SITE_DIR = re.compile(_DIRS + r"(?:site|dist)-packages[/\\]")
_STDLIB_DIR = re.compile(_DIRS + r"lib(?:64)?[/\\](?:python|pypy)\d*(?:\.\d+)?t?[/\\]",
                         re.IGNORECASE)


class _Scrub:
    """Free text with the run's root and the interpreter's directories taken out."""

    def __init__(self, root: str) -> None:
        root = root.rstrip("/\\") if root else ""
        self.root = root if root and (root.startswith("/") or re.match(r"^[A-Za-z]:", root)) \
            else ""

    def __call__(self, value: Any) -> str:
        text = str(value if value is not None else "")
        if self.root:
            text = text.replace(self.root + "/", "").replace(self.root + "\\", "")
            text = text.replace(self.root, ".")
        text = _SITE_DIR.sub("<site-packages>/", text)
        return _STDLIB_DIR.sub("<stdlib>/", text)

    def path(self, value: Any) -> str:
        """A path: scrubbed, and a remaining absolute one cut to its last two parts."""
        text = self(value)
        if text.startswith("/") or re.match(r"^[A-Za-z]:[/\\]", text):
            parts = [p for p in re.split(r"[/\\]", text) if p]
            text = "…/" + "/".join(parts[-2:])
        return text


def fmt_pct(value: Any) -> str:
    number = _num(value)
    return f"{number:.1f}" if number < 1000 else f"{number:,.0f}"


def _highlight_inline(code: str) -> Markup:
    """One line of Python as highlighted spans inside <code class="hl">."""
    if not code:
        return Markup("")
    spans = highlight(code, _lexer(), _inline_formatter()).rstrip("\n")
    return Markup('<code class="hl inline-code">{}</code>').format(Markup(spans))


@lru_cache(maxsize=1)
def _inline_formatter() -> HtmlFormatter:
    return HtmlFormatter(nowrap=True)


def _items(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list from a report (hand-edited ones may hold anything)."""
    return [item for item in value if isinstance(item, Mapping)] \
        if isinstance(value, (list, tuple)) else []


def _profile_view(report: Report) -> dict[str, Any]:
    profile: Mapping[str, Any] = report.profile or {}
    scrub = _Scrub(report.root)
    outcome = profile.get("outcome") or {}
    status = str(outcome.get("status") or "unknown")
    message = scrub(outcome.get("message") or status)
    details = [scrub(detail) for detail in outcome_details(outcome)]

    samples = profile.get("samples") or {}
    memory = profile.get("memory") if isinstance(profile.get("memory"), Mapping) else None
    rss_peak = _num(profile.get("rss_peak")) or _num((memory or {}).get("rss_peak"))
    command = [str(part) for part in profile.get("command") or ()]
    script = scrub.path(profile.get("script_path") or profile.get("script") or "")
    args = [str(a) for a in profile.get("args") or command[2:]]
    interpreter = re.split(r"[/\\]", command[0])[-1] if command else "python"
    cards = [
        ("Wall time", fmt_seconds(profile.get("wall_seconds")),
         f"script alone {fmt_seconds(profile.get('script_seconds'))}"
         if profile.get("script_seconds") else "start to exit"),
        ("CPU time", fmt_seconds(profile.get("cpu_seconds")), "user + system, all processes"),
        ("CPU use", f"{fmt_pct(profile.get('cpu_pct'))} %", "of one core, over the run"),
        ("Samples", f"{int(_num(samples.get('total'))):,}",
         f"{int(_num(samples.get('idle'))):,} idle · {int(_num(samples.get('rate')))} Hz"),
        ("Procs / threads",
         f"{int(_num(samples.get('processes')))} / {int(_num(samples.get('threads')))}",
         "sampled" + (f" · up to {int(_num(profile.get('processes_max')))} / "
                      f"{int(_num(profile.get('threads_max')))} running"
                      if profile.get("processes_max") else "")),
        ("Peak RSS", fmt_bytes(rss_peak) if rss_peak else "–",
         f"start {fmt_bytes(memory.get('rss_start'))} · end {fmt_bytes(memory.get('rss_end'))}"
         if memory and memory.get("rss_start") else "resident memory, whole tree"),
    ]

    def location(path: Any, line: Any) -> str:
        where = scrub.path(path)
        return f"{where}:{line}" if line else where

    functions = [
        {"name": str(f.get("name", "")), "where": location(f.get("path"), f.get("line")),
         "user": bool(f.get("user")), "self": _num(f.get("self_pct")),
         "total": _num(f.get("total_pct")), "idle": _num(f.get("idle_pct")),
         "samples": int(_num(f.get("samples")))}
        for f in _items(profile.get("functions"))[:PROFILE_TOP]]
    lines = [
        {"where": location(ln.get("path"), ln.get("line")),
         "function": str(ln.get("function", "")), "user": bool(ln.get("user")),
         "self": _num(ln.get("self_pct")), "total": _num(ln.get("total_pct")),
         "idle": _num(ln.get("idle_pct")), "code": _highlight_inline(str(ln.get("code") or ""))}
        for ln in _items(profile.get("lines"))[:PROFILE_TOP]]
    memory_view = None
    if memory:
        memory_view = {
            "rss": [("start", fmt_bytes(memory.get("rss_start"))),
                    ("peak", fmt_bytes(memory.get("rss_peak"))),
                    ("end", fmt_bytes(memory.get("rss_end")))],
            "slope": f"{fmt_bytes(memory.get('rss_slope'))}/s",
            "r2": f"{_num(memory.get('rss_r2')):.2f}",
            "leak": bool(memory.get("leak_suspected")),
            "tracemalloc": fmt_bytes(memory.get("tracemalloc_peak"))
            if memory.get("tracemalloc_peak") else "",
            "sites": [{"where": location(s.get("path"), s.get("line")),
                       "size": fmt_bytes(s.get("size_bytes")), "count": int(_num(s.get("count"))),
                       "code": _highlight_inline(str(s.get("code") or ""))}
                      for s in _items(memory.get("sites"))[:10]],
        }
    passes = [
        {"name": str(p.get("name", "")), "status": str(p.get("status", "")),
         "wall": fmt_seconds(p.get("wall_seconds")) if p.get("wall_seconds") else "–",
         "overhead": f"×{_num(p.get('overhead')):.2f}" if p.get("overhead") else "–",
         "note": scrub(p.get("note", ""))}
        for p in _items(profile.get("passes"))]
    stacks = [s for s in _items(profile.get("stacks"))
              if s.get("frames") and _num(s.get("samples")) > 0]
    return {
        "status": status,
        "ok": status == "ok",
        "message": message,
        "details": details,
        "script": script,
        "command": " ".join([interpreter, script, *args]),
        "mode": str(profile.get("mode", "")),
        "sampler": str(profile.get("sampler", "")),
        "rate": int(_num(samples.get("rate"))),
        "saved_as": re.split(r"[/\\]", str(profile.get("saved_as") or ""))[-1],
        "cards": cards,
        "functions": functions,
        "lines": lines,
        "sections": [{**row, "name": str(row["name"]), "where": scrub.path(row["where"])}
                     for row in section_rows(profile, PROFILE_TOP)],
        "section_headers": SECTION_HEADERS,
        "awaits": [{**row, "where": scrub.path(row["where"])}
                   for row in await_rows(profile, PROFILE_TOP)],
        "await_headers": AWAIT_HEADERS,
        "await_groups": [scrub(line) for line in await_group_lines(profile, PROFILE_TOP)],
        "io": [{**row, "function": scrub(row["function"]), "where": scrub.path(row["where"]),
                "library": scrub(row["library"]), "shape": scrub(row["shape"])}
               for row in io_rows(profile, PROFILE_TOP)],
        "io_headers": IO_HEADERS,
        "gc": scrub(gc_line(profile)),
        "repeats": scrub(repeat_line(profile)),
        "repeat_rows": [{**row, "where": scrub.path(row["where"])}
                        for row in repeat_rows(profile, PROFILE_TOP)],
        "lag": scrub(lag_line(profile)),
        "lag_rows": [{**row, "where": scrub.path(row["where"])} for row in lag_rows(profile)],
        "timeline": resource_timeline(profile.get("timeline") or ()),
        "lag_timeline": lag_timeline(profile.get("loop_lag"), _num(profile.get("script_seconds"))),
        "timeline_points": len(profile.get("timeline") or ()),
        "memory": memory_view,
        "passes": passes,
        "errors": [{"kind": str(e.get("kind", "")), "message": scrub(e.get("message", "")),
                    "pass": str(e.get("pass", ""))}
                   for e in _items(profile.get("errors"))[:MAX_NOTES]],
        "notes": [scrub(n) for n in (profile.get("notes") or ())[:MAX_NOTES]],
        "asyncio": bool(profile.get("asyncio")),
        "serialization_pct": _num(profile.get("serialization_pct")),
        "has_stacks": bool(stacks),
        "stack_count": len(stacks),
        "flame_data": _json_for_script({
            "stacks": [{"frames": [str(f) for f in s.get("frames") or ()],
                        "samples": int(_num(s.get("samples"))),
                        "idle": int(_num(s.get("idle")))} for s in stacks],
            "total": int(_num(samples.get("total")))}),
    }
