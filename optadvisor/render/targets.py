"""What makes a target one, in words every format can show: the kinds of the findings
inside it (`2 await-in-loop, 1 missing-timeout`), from the report alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from optadvisor.models import Report, Target


def reasons(report: Report) -> dict[tuple[str, str, str], str]:
    """(kind, path or component, symbol) of each target -> the counts of its findings by
    kind, most first; a target with no findings (code to measure) says so."""
    counts: dict[tuple[str, str, str], Counter[str]] = {}
    for rec in report.recommendations:
        for key in (("function", rec.path, rec.symbol), ("file", rec.path, ""),
                    ("component", rec.component, "")):
            counts.setdefault(key, Counter())[rec.kind] += 1
    measured = _measured(report)
    out = {}
    for target in report.targets:
        key = _key(target)
        found = counts.get(key)
        text = ", ".join(f"{n} {kind}" for kind, n in found.most_common()) if found \
            else "no finding yet: code to measure (" + ", ".join(
                name for name, on in target.flags.items() if on) + ")"
        share = measured.get(key[1:]) or measured.get((key[1], ""))
        if share and target.kind != "component":
            text += f"; {share:.0f} % of measured time"
        out[key] = text
    return out


def _measured(report: Report) -> dict[tuple[str, str], float]:
    """In a profile report: (path, function) and (path, "") -> the largest total share of
    the run a user function there took."""
    out: dict[tuple[str, str], float] = {}
    for function in (report.profile or {}).get("functions") or ():
        if not isinstance(function, dict) or not function.get("user"):
            continue
        path, name = str(function.get("path", "")), str(function.get("name", ""))
        try:
            share = float(function.get("total_pct") or 0.0)
        except (TypeError, ValueError):
            continue
        if name == "<module>":
            continue  # the whole script, not a place to work on
        for key in ((path, name), (path, "")):
            out[key] = max(out.get(key, 0.0), share)
    return out


def why_of(report: Report) -> Callable[[Target], str]:
    """target -> what makes it one (computed once per report)."""
    table = reasons(report)
    return lambda target: table.get(_key(target), "")


def _key(target: Target) -> tuple[str, str, str]:
    if target.kind == "component":
        return ("component", target.component, "")
    return (target.kind, target.path, target.symbol if target.kind == "function" else "")
