"""What several renderers share: priority → level tables, rule metadata, the jinja
environment over `templates/`, and small text helpers. Kept here so no two renderers
hold their own copy of a mapping that must agree (an `error` in SARIF is an `error`
annotation on GitHub)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from optadvisor.models import (
    PRIORITIES, ErrorRecord, Recommendation, Report, Rule, priority_rank,
)
from optadvisor.render import safe
from optadvisor.resources import templates_dir


@dataclass(frozen=True)
class Level:
    sarif: str
    """SARIF `level`: error | warning | note."""
    github: str
    """Workflow command: error | warning | notice."""
    gitlab: str
    """Code Quality `severity`: blocker | critical | major | minor | info."""


LEVELS: Mapping[str, Level] = {
    "critical": Level(sarif="error", github="error", gitlab="critical"),
    "high": Level(sarif="error", github="error", gitlab="major"),
    "medium": Level(sarif="warning", github="warning", gitlab="minor"),
    "low": Level(sarif="note", github="notice", gitlab="info"),
}
_UNKNOWN = LEVELS["low"]


def errors_heading(errors: Iterable[ErrorRecord]) -> str:
    """What the error records are: files not analyzed, rule templates that failed (their
    findings show the rule's title), or both."""
    kinds = Counter("rule" if e.kind == "rule-error" else "file" for e in errors)
    parts = []
    if kinds["file"]:
        parts.append(f"{kinds['file']} file(s) could not be analyzed")
    if kinds["rule"]:
        parts.append(f"{kinds['rule']} rule template(s) failed to render")
    return " and ".join(parts)


_EXCLUDED_PLACES = {
    "virtual-environment": ("virtual environment", None),
    "installed-packages": ("installed-packages directory", "installed-packages directories"),
    "tool-directory": ("tool directory", "tool directories"),
    "build-copy": ("build copy of the project's packages (build/lib)",
                   "build copies of the project's packages (build/lib)"),
}


def excluded_line(report: Report) -> str | None:
    """What the default excludes left out, in words: `312 files in 2 virtual environments
    not scanned (default excludes)`; None when they left out nothing."""
    parts = []
    for reason, counts in report.summary.excluded_by_default.items():
        if reason == "shadowed-module":
            parts.append(f"{plural(counts.get('files', 0), 'module')} hidden by a package of "
                         "the same name (never imported)")
            continue
        one, many = _EXCLUDED_PLACES.get(reason, (reason, None))
        parts.append(f"{plural(counts.get('files', 0), 'file')} in "
                     f"{plural(counts.get('directories', 0), one, many)}")
    if not parts:
        return None
    return (", ".join(parts) + " not scanned (default excludes; a directory named on the "
            "command line is scanned)")


_SKIPPED_WORDS = {"test": ("test file", "--include-tests"),
                  "example": ("example file", "--include-examples")}


def tests_line(report: Report) -> str | None:
    """`rules not run in 14 test files (--include-tests) and 3 example files
    (--include-examples)`; None when none were skipped."""
    parts = []
    for context, count in report.summary.skipped_by_context.items():
        word, flag = _SKIPPED_WORDS.get(context, (f"{context} file", ""))
        parts.append(f"{plural(count, word)}" + (f" ({flag})" if flag else ""))
    if not parts:
        return None
    return "rules not run in " + " and ".join(parts)


def repo_path(report: Report, path: str) -> str:
    """A report path (relative to the scanned root) as CI systems want it: relative to the
    repository root."""
    if not report.path_prefix or path.startswith("/"):
        return path
    return f"{report.path_prefix}/{path}"


def level(priority: str) -> Level:
    """The output levels of a priority; an unknown priority is treated as `low`."""
    return LEVELS.get(priority, _UNKNOWN)


PRIORITY_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵"}


# --------------------------------------------------------------------------- rules


@lru_cache(maxsize=1)
def _shipped_rules() -> dict[str, Rule]:
    from optadvisor.rules import RuleError, load_rules

    try:
        return {compiled.rule.id: compiled.rule for compiled in load_rules()}
    except RuleError:
        # A broken rule file already failed the scan that made this report; a renderer
        # of a saved report still works from what the recommendations carry.
        return {}


def rule_metadata(report: Report) -> dict[str, Rule]:
    """The shipped rules by id, plus a stand-in built from the recommendations for any
    rule the report uses that is not shipped (user rule folders, older reports)."""
    rules = dict(_shipped_rules())
    for rec in (*report.recommendations, *report.unchanged):
        if rec.rule not in rules:
            rules[rec.rule] = stand_in_rule(rec)
    return rules


def stand_in_rule(rec: Recommendation) -> Rule:
    from pathlib import Path

    return Rule(id=rec.rule, kind=rec.kind, category=rec.category, priority=rec.priority,
                subject="", when="", title=rec.title, message="", impact=rec.impact,
                fix_after="", confidence=rec.confidence, effort=rec.effort,
                source_file=Path(""), docs={}, tags=("performance", rec.category))


# --------------------------------------------------------------------------- counting


def by_priority(recs: Iterable[Recommendation]) -> dict[str, int]:
    """Counts in priority order (critical first), only priorities that occur."""
    counts = Counter(rec.priority for rec in recs)
    return {p: counts[p] for p in sorted(counts, key=priority_rank)}


def all_priorities(counts: Mapping[str, int]) -> dict[str, int]:
    """Every known priority, zero when absent, then any unknown ones."""
    out = {p: int(counts.get(p, 0)) for p in PRIORITIES}
    out.update({p: int(n) for p, n in counts.items() if p not in out})
    return out


def by_component(recs: Iterable[Recommendation]) -> dict[str, int]:
    counts = Counter(rec.component for rec in recs)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


# --------------------------------------------------------------------------- templates


def environment(*, autoescape: bool, finalize: Callable[[Any], Any] | None = None,
                filters: Mapping[str, Callable[..., Any]] | None = None) -> jinja2.Environment:
    """A jinja environment over `templates/`. HTML templates autoescape; the Markdown one
    passes a `finalize` that escapes every expression unless a filter marked it safe."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=autoescape, undefined=jinja2.StrictUndefined, finalize=finalize,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["plural"] = plural
    env.filters.update(filters or {})
    env.globals.update(PRIORITIES=PRIORITIES, PRIORITY_ICON=PRIORITY_ICON, level=level)
    return env


def one_line(text: str) -> str:
    """Whitespace runs (newlines included) folded to one space, other control characters
    shown escaped (`\\x1b`: what the name really holds, and nothing a terminal obeys)."""
    return safe(" ".join(text.split()))


def fence_for(code: str) -> str:
    """A backtick fence longer than any backtick run in `code` (CommonMark's rule), so
    the code cannot close its own block."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def fenced(code: str, lang: str = "") -> str:
    fence = fence_for(code)
    return f"{fence}{lang}\n{code.rstrip()}\n{fence}"
