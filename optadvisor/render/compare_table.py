"""`compare --format table` (the terminal): the verdict, regressions, totals, then the
functions whose time moved most or the recommendations that came and went."""

from __future__ import annotations


from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from optadvisor.compare import (
    SIGNIFICANT_SHARE_PCT,
    format_delta,
    format_value,
    bounds_text,
    headline,
    is_noise,
    location,
    signed_pct,
    short_verdict,
    spread_text,
)
from optadvisor.models import (
    CallDelta, Comparison, ComparedFile, CountDelta, FindingDelta, FunctionDelta, MetricDelta,
    Significance,
)
from optadvisor.render import safe
from optadvisor.render.table import PRIORITY_STYLE, string_console

TOP_FUNCTIONS = 40
MAX_FINDINGS = 100


def render(comparison: Comparison, *, width: int | None = None,
           color: bool | None = None) -> str:
    console, buffer = string_console(width, color)
    _header(console, comparison)
    console.print(_totals(comparison.totals))
    if comparison.kind == "profile-run":
        _functions(console, comparison.functions)
        if comparison.calls:
            console.print()
            _calls(console, comparison.calls)
    else:
        _findings(console, comparison)
    return buffer.getvalue()


def _side(label: str, side: ComparedFile) -> Text:
    line = Text.assemble((f"{label:<7}", "bold"), safe(side.file), " ",
                         (f"({safe(side.label)})", "dim"))
    if side.runs > 1:
        line.append(f" · medians of {side.runs} runs", style="dim")
    if side.status not in ("", "ok"):
        line.append(f"  [{safe(side.status)}]", style="bold red")
    return line


def _header(console: Console, c: Comparison) -> None:
    what = "profile runs" if c.kind == "profile-run" else "scan reports"
    console.print(Text(f"optadvisor compare: {what}", style="bold"))
    console.print(_side("before", c.before))
    console.print(_side("after", c.after))
    console.print()
    style = "yellow" if c.max_regression is None else ("bold red" if c.regressions
                                                       else "bold green")
    mark = "✗ " if c.regressions and c.max_regression is not None else ""
    console.print(Text(mark + headline(c), style=style))
    for regression in c.regressions:
        where = f"  ({location(regression.path, regression.line)})" if regression.path else ""
        console.print(Text.assemble("  ", (regression.rule, "red"), ": ",
                                    safe(regression.message), (safe(where), "dim")))
    for note in c.notes:
        console.print(Text(safe(f"! {note}"), style="yellow"))
    console.print(Text("Fails when:", style="dim"))
    for rule in c.criteria:
        console.print(Text(f"  · {rule}", style="dim"))
    console.print()


def _change_style(delta: float | None, regression: bool,
                  significance: Significance | None = None) -> str:
    if regression:
        return "bold red"
    if not delta or is_noise(significance):
        return "dim" if delta else ""
    return "red" if delta > 0 else "green"


def _totals(totals: tuple[MetricDelta, ...]) -> Table:
    repeated = any(m.significance is not None for m in totals)
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, title_justify="left",
                  title="Totals" + (" (medians of the runs)" if repeated else ""),
                  title_style="bold",
                  # Two-line cells and a verdict: one space between columns fits 80.
                  padding=(0, 1, 0, 0) if repeated else (0, 1))
    table.add_column("", no_wrap=repeated)
    for name in ("before", "after", "Δ", "Δ %"):
        table.add_column(name, justify="right", no_wrap=True)
    if repeated:
        table.add_column("", no_wrap=True)
    for m in totals:
        style = _change_style(m.delta, m.regression, m.significance)
        sig = m.significance
        cells = [Text(m.label + (" ✗" if m.regression else ""), style=style),
                 _with_spread(format_value(m.before, m.unit), sig, m.unit, "before"),
                 _with_spread(format_value(m.after, m.unit), sig, m.unit, "after"),
                 _with_interval(format_delta(m.delta, m.unit), sig, m.unit, style),
                 Text(signed_pct(m.delta_pct), style=style)]
        if repeated:
            # Two short lines, so the verdict fits beside the figures on 80 columns.
            cells.append(Text(short_verdict(sig).replace("significant change",
                                                         "significant\nchange")
                              .replace(" (", "\n("), style=style))
        table.add_row(*cells)
    if repeated:
        table.caption = ("under each median: the range of the runs; under each Δ: the 95% "
                         "interval of the difference of the medians")
        table.caption_justify = "left"
        table.caption_style = "dim"
    return table


def _with_interval(delta: str, sig: Significance | None, unit: str, style: str) -> Text:
    """A change with the interval of the test under it (dim), when it was tested."""
    if sig is None or sig.low is None or sig.high is None:
        return Text(delta, style=style)
    if unit == "s":  # the column says seconds already
        bounds = f"{sig.low:+.3f}…{sig.high:+.3f}"
    else:
        bounds = bounds_text(sig, unit).replace(" … ", "…")
    return Text.assemble((delta, style), "\n", (bounds, "dim"))


def _with_spread(value: str, sig: Significance | None, unit: str, side: str) -> Text:
    """A median with the range of its runs under it (dim)."""
    if sig is None:
        return Text(value)
    low, high = ((sig.before_min, sig.before_max) if side == "before"
                 else (sig.after_min, sig.after_max))
    # Without the unit: the median above has it.
    spread = spread_text(low, high, unit).rsplit(" ", 1)[0]
    return Text.assemble(value, "\n", (spread, "dim"))


def _mark(f: FunctionDelta) -> Text:
    if f.regression:
        return Text("regression", style="bold red")
    if f.status != "changed":
        return Text(f.status, style="cyan")
    if is_noise(f.significance):
        return Text("no significant\nchange", style="dim")
    if f.significance is not None and f.significance.significant:
        slower = f.delta_seconds > 0
        return Text("slower" if slower else "faster", style="red" if slower else "green")
    return Text("" if f.significant else "small", style="dim")


def _functions(console: Console, functions: tuple[FunctionDelta, ...]) -> None:
    if not functions:
        console.print("No functions were measured in either run.")
        return
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, expand=True,
                  title="Functions: total time, your code first, by change",
                  title_justify="left", title_style="bold")
    tested = any(f.significance is not None for f in functions)
    # A tested Δ carries its interval under it: the name gives way so the verdict shows.
    table.add_column("function", overflow="fold", ratio=1, min_width=14 if tested else 24)
    for name in ("before s", "after s", "Δ s", "Δ %"):
        table.add_column(name, justify="right", no_wrap=True)
    if not tested:  # medians of self time are in the other formats; the verdict must fit
        table.add_column("self s", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for f in functions[:TOP_FUNCTIONS]:
        style = _change_style(f.delta_seconds, f.regression, f.significance)
        cells = [Text.assemble((safe(f.name), "" if f.user else "dim"), "\n",
                               (safe(location(f.path, f.line)), "dim")),
                 f"{f.before_total:.3f}", f"{f.after_total:.3f}",
                 _with_interval(f"{f.delta_seconds:+.3f}", f.significance, "s", style),
                 Text(signed_pct(f.delta_pct), style=style)]
        if not tested:
            cells.append(Text(f"{f.before_self:.3f} → {f.after_self:.3f}"))
        table.add_row(*cells, _mark(f))
    console.print(table)
    hidden = len(functions) - TOP_FUNCTIONS
    if hidden > 0:
        console.print(f"… and {hidden} more functions (use --format html or json for all)")
    console.print(Text(f"Functions under {SIGNIFICANT_SHARE_PCT:g}% of both runs' wall time "
                       "are marked small and never fail.", style="dim"))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds else "–"


def _per_call(before: float, after: float, pct: float | None,
              sig: Significance | None) -> Text:
    """`30.0 → 10.0` ms, the change and the test's verdict under it."""
    style = _change_style(after - before if before and after else 0.0, False, sig)
    verdict = short_verdict(sig).replace("no significant change", "no sig. change")
    return Text.assemble(f"{_ms(before)} → {_ms(after)}", "\n",
                         (signed_pct(pct) if pct is not None else "", style),
                         (f" {verdict}" if verdict else "", "dim" if is_noise(sig) else style))


def _calls(console: Console, calls: tuple[CallDelta, ...]) -> None:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, expand=True,
                  title="Calls pass: wall time per call (ms), by change of total time",
                  title_justify="left", title_style="bold")
    table.add_column("function", overflow="fold", ratio=1, min_width=14)
    table.add_column("calls", justify="right", no_wrap=True)
    table.add_column("mean", justify="right", no_wrap=True)
    table.add_column("p95", justify="right", no_wrap=True)
    for d in calls[:TOP_FUNCTIONS]:
        calls_text = (str(d.after_calls) if d.before_calls == d.after_calls
                      else f"{d.before_calls} → {d.after_calls}")
        name = Text.assemble(safe(d.name), "\n", (safe(location(d.path, d.line)), "dim"))
        if d.status != "changed":
            name.append(f" {d.status}", style="cyan")
        table.add_row(name, calls_text,
                      _per_call(d.before_mean, d.after_mean, d.mean_delta_pct,
                                d.mean_significance),
                      _per_call(d.before_p95, d.after_p95, d.p95_delta_pct,
                                d.p95_significance))
    console.print(table)
    if len(calls) > TOP_FUNCTIONS:
        console.print(f"… and {len(calls) - TOP_FUNCTIONS} more timed functions "
                      "(use --format html or json for all)")
    console.print(Text("Times per call are shown, never gated.", style="dim"))


def _counts(title: str, counts: list[CountDelta]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, title=title,
                  title_justify="left", title_style="bold")
    table.add_column("")
    for name in ("before", "after", "Δ"):
        table.add_column(name, justify="right", no_wrap=True)
    for n in counts:
        style = "red" if n.delta > 0 else ("green" if n.delta < 0 else "")
        table.add_row(Text(n.name, style=PRIORITY_STYLE.get(n.name, "")), str(n.before),
                      str(n.after), Text(f"{n.delta:+d}", style=style))
    return table


def _finding_table(title: str, findings: list[FindingDelta]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, expand=True,
                  title=title, title_justify="left", title_style="bold")
    table.add_column("priority", no_wrap=True)
    table.add_column("location", overflow="fold", max_width=40)
    table.add_column("rule", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1, min_width=30)
    for f in findings[:MAX_FINDINGS]:
        table.add_row(Text(f.priority, style=PRIORITY_STYLE.get(f.priority, "")),
                      safe(location(f.path, f.line)),
                      Text.assemble(safe(f.rule), "\n", (safe(f.kind), "dim")),
                      Text(safe(f.message)))
    return table


def _findings(console: Console, c: Comparison) -> None:
    new = [f for f in c.findings if f.status == "new"]
    fixed = [f for f in c.findings if f.status == "fixed"]
    console.print(f"{len(new)} new · {len(fixed)} fixed · {c.unchanged} unchanged "
                  "recommendations")
    console.print(_counts("By priority", [n for n in c.counts if n.group == "priority"]))
    kinds = [n for n in c.counts if n.group == "kind"]
    if kinds:
        console.print(_counts("By kind", kinds))
    for title, items in ((f"New ({len(new)})", new), (f"Fixed ({len(fixed)})", fixed)):
        if items:
            console.print(_finding_table(title, items))
            if len(items) > MAX_FINDINGS:
                console.print(f"… and {len(items) - MAX_FINDINGS} more (use --format json)")
