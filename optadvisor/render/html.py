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
import json
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

from optadvisor.models import Recommendation, Report, Rule, Target, priority_rank
from optadvisor.render.common import (
    all_priorities,
    by_component,
    environment,
    rule_metadata,
)
from optadvisor.resources import templates_dir

TEMPLATE = "report.html.j2"
SCRIPT = "report.js"
STYLE = "report.css"
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
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
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
        errors=report.errors[:MAX_ERRORS],
        errors_left=max(0, len(report.errors) - MAX_ERRORS),
        # A profile report (later) passes its ProfileRun here; a scan has none.
        profile=getattr(report, "profile", None),
        data=_json_for_script(_table_data(report)),
        csp=csp,
        script=Markup(script),
        style=Markup(_read_asset(STYLE) + "\n" + _code_css()),
    )


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return environment(autoescape=True, filters={"inline_code": inline_code})


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
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
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
            if not path.is_relative_to(self.root) or not path.is_file():
                return None
            if path.stat().st_size > MAX_SOURCE_BYTES:
                return None
            return path.read_text(encoding="utf-8", errors="replace").splitlines()
        except (OSError, ValueError):
            return None


def _flags(target: Target) -> Mapping[str, bool]:
    return target.flags
