"""`compare --format html`: one self-contained page for a comparison.

Like the HTML report (render/html.py) it loads nothing: the stylesheet is inline and the
page has no script at all, so its Content-Security-Policy allows none. Every value goes
through jinja's autoescape (`templates/compare.html.j2`); function names such as
`<script>` are text.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2
from markupsafe import Markup

from optadvisor.compare import (
    SIGNIFICANT_SHARE_PCT,
    bounds_text,
    format_delta,
    format_value,
    headline,
    is_noise,
    location,
    milliseconds,
    milliseconds_bounds,
    percent,
    short_verdict,
    signed_pct,
    spread_text,
)
from optadvisor.models import Comparison, FunctionDelta
from optadvisor.render.common import environment
from optadvisor.render.html import inline_code
from optadvisor.resources import templates_dir

TEMPLATE = "compare.html.j2"
STYLE = "compare.css"
MAX_FUNCTIONS = 1000
MAX_FINDINGS = 1000
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; "
       "base-uri 'none'; form-action 'none'")


def render(comparison: Comparison) -> str:
    functions = comparison.functions[:MAX_FUNCTIONS]
    new = [f for f in comparison.findings if f.status == "new"]
    fixed = [f for f in comparison.findings if f.status == "fixed"]
    widest = max((abs(f.delta_seconds) for f in functions), default=0.0) or 1.0
    return _environment().get_template(TEMPLATE).render(
        c=comparison,
        headline=headline(comparison),
        verdict=_verdict(comparison),
        functions=functions,
        functions_left=len(comparison.functions) - len(functions),
        calls=comparison.calls[:MAX_FUNCTIONS],
        calls_left=len(comparison.calls) - min(len(comparison.calls), MAX_FUNCTIONS),
        calls_tested=any(d.mean_significance is not None for d in comparison.calls),
        widest=widest,
        new=new[:MAX_FINDINGS], new_count=len(new),
        fixed=fixed[:MAX_FINDINGS], fixed_count=len(fixed),
        priorities=[c for c in comparison.counts if c.group == "priority"],
        kinds=[c for c in comparison.counts if c.group == "kind"],
        significant_pct=SIGNIFICANT_SHARE_PCT,
        mark=_mark,
        repeated=any(m.significance is not None for m in comparison.totals),
        tested=any(f.significance is not None and f.significance.tested for f in functions),
        csp=CSP,
        style=Markup(_style()),
    )


def _verdict(comparison: Comparison) -> str:
    """A CSS class: fail | pass | info."""
    if comparison.max_regression is None:
        return "info"
    return "fail" if comparison.regressions else "pass"


def _mark(function: FunctionDelta) -> str:
    """A word that is also a CSS class (`no significant change`: three classes, none
    styled but `noise`'s look comes from the row's own dim text)."""
    if function.regression:
        return "regression"
    if function.status != "changed":
        return function.status
    if is_noise(function.significance):
        return "no significant change"
    if function.significance is not None and function.significance.significant:
        return "slower" if function.delta_seconds > 0 else "faster"
    return "" if function.significant else "small"


@lru_cache(maxsize=1)
def _style() -> str:
    text = (templates_dir() / STYLE).read_text(encoding="utf-8")
    # Inlined as raw text inside <style>: it must not be able to end the element.
    if "</" in text:
        raise ValueError(f"templates/{STYLE} must not contain '</'")
    return text


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return environment(autoescape=True, filters={
        "inline_code": inline_code, "value": format_value, "delta": format_delta,
        "pct": signed_pct, "percent": percent, "location": location,
        "bounds": bounds_text, "verdict": short_verdict, "spread": spread_text,
        "ms": milliseconds, "ms_bounds": milliseconds_bounds})
