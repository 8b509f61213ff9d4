"""`compare --format markdown`: a comparison sized for a pull-request comment.

Regressions come first, then the totals, then the functions whose time moved most (user
code first) or the recommendations that came and went. The template is
`templates/compare.md.j2`; as in the Markdown report (render/markdown.py), every
`{{ expression }}` is escaped for Markdown unless a filter already made it safe, so a
function called `<script>` or `*boom*` is shown as it is and never obeyed.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from optadvisor.compare import (
    bounds_text,
    format_delta,
    format_value,
    headline,
    is_noise,
    location,
    milliseconds,
    percent,
    short_verdict,
    signed_pct,
    spread_text,
)
from optadvisor.models import Comparison, FunctionDelta, MetricDelta
from optadvisor.render.common import environment, plural
from optadvisor.render.markdown import Md, code, finalize, html, number, text

TEMPLATE = "compare.md.j2"
TOP_FUNCTIONS = 30
TOP_CALLS = 20
MAX_REGRESSIONS = 30
MAX_FINDINGS = 50


def render(comparison: Comparison) -> str:
    functions = list(comparison.functions)
    regressions = list(comparison.regressions)
    new = [f for f in comparison.findings if f.status == "new"]
    fixed = [f for f in comparison.findings if f.status == "fixed"]
    return _environment().get_template(TEMPLATE).render(
        c=comparison,
        headline=headline(comparison),
        icon=_icon(comparison),
        regressions=regressions[:MAX_REGRESSIONS],
        regressions_left=max(0, len(regressions) - MAX_REGRESSIONS),
        functions=functions[:TOP_FUNCTIONS],
        functions_left=max(0, len(functions) - TOP_FUNCTIONS),
        calls=comparison.calls[:TOP_CALLS],
        calls_left=max(0, len(comparison.calls) - TOP_CALLS),
        calls_tested=any(d.mean_significance is not None for d in comparison.calls),
        new=new[:MAX_FINDINGS], new_left=max(0, len(new) - MAX_FINDINGS), new_count=len(new),
        fixed=fixed[:MAX_FINDINGS], fixed_left=max(0, len(fixed) - MAX_FINDINGS),
        fixed_count=len(fixed),
        priorities=[c for c in comparison.counts if c.group == "priority"],
        kinds=[c for c in comparison.counts if c.group == "kind"],
        mark=_mark, plural=plural,
        repeated=any(m.significance is not None for m in comparison.totals),
        tested=any(f.significance is not None and f.significance.tested for f in functions),
        runs=_runs, spread=_spread,
    )


def _runs(comparison: Comparison) -> str:
    """`medians of 5 and 3 runs`; "" when neither side was repeated."""
    before, after = comparison.before.runs, comparison.after.runs
    if max(before, after) <= 1:
        return ""
    return f"medians of {before} and {after} runs"


def _spread(metric: MetricDelta) -> str:
    sig = metric.significance
    if sig is None:
        return ""
    return (f"{spread_text(sig.before_min, sig.before_max, metric.unit)} → "
            f"{spread_text(sig.after_min, sig.after_max, metric.unit)}")


def _icon(comparison: Comparison) -> str:
    if comparison.max_regression is None:
        return "📊"
    return "❌" if comparison.regressions else "✅"


def _mark(function: FunctionDelta) -> Md:
    if function.regression:
        return Md("❌ regression")
    if function.status != "changed":
        return Md(function.status)
    if is_noise(function.significance):
        return Md("no significant change")
    if function.significance is not None and function.significance.significant:
        return Md("slower" if function.delta_seconds > 0 else "faster")
    return Md("") if function.significant else Md("small")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return environment(autoescape=False, finalize=finalize, filters={
        "text": text, "code": code, "number": number, "html": html,
        "value": format_value, "delta": format_delta, "pct": signed_pct, "percent": percent,
        "location": location, "bounds": bounds_text, "verdict": short_verdict,
        "ms": milliseconds})
