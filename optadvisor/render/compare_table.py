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
    headline,
    location,
    signed_pct,
)
from optadvisor.models import Comparison, CountDelta, FindingDelta, FunctionDelta, MetricDelta
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
    else:
        _findings(console, comparison)
    return buffer.getvalue()


def _side(label: str, file: str, what: str, status: str) -> Text:
    line = Text.assemble((f"{label:<7}", "bold"), file, " ", (f"({what})", "dim"))
    if status not in ("", "ok"):
        line.append(f"  [{status}]", style="bold red")
    return line


def _header(console: Console, c: Comparison) -> None:
    what = "profile runs" if c.kind == "profile-run" else "scan reports"
    console.print(Text(f"optadvisor compare: {what}", style="bold"))
    console.print(_side("before", c.before.file, c.before.label, c.before.status))
    console.print(_side("after", c.after.file, c.after.label, c.after.status))
    console.print()
    style = "yellow" if c.max_regression is None else ("bold red" if c.regressions
                                                       else "bold green")
    mark = "✗ " if c.regressions and c.max_regression is not None else ""
    console.print(Text(mark + headline(c), style=style))
    for regression in c.regressions:
        where = f"  ({location(regression.path, regression.line)})" if regression.path else ""
        console.print(Text.assemble("  ", (regression.rule, "red"), ": ",
                                    regression.message, (where, "dim")))
    for note in c.notes:
        console.print(Text(f"! {note}", style="yellow"))
    console.print(Text("Fails when:", style="dim"))
    for rule in c.criteria:
        console.print(Text(f"  · {rule}", style="dim"))
    console.print()


def _change_style(delta: float | None, regression: bool) -> str:
    if regression:
        return "bold red"
    if not delta:
        return ""
    return "red" if delta > 0 else "green"


def _totals(totals: tuple[MetricDelta, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, title_justify="left",
                  title="Totals", title_style="bold")
    table.add_column("")
    for name in ("before", "after", "Δ", "Δ %"):
        table.add_column(name, justify="right", no_wrap=True)
    for m in totals:
        style = _change_style(m.delta, m.regression)
        table.add_row(Text(m.label + (" ✗" if m.regression else ""), style=style),
                      format_value(m.before, m.unit), format_value(m.after, m.unit),
                      Text(format_delta(m.delta, m.unit), style=style),
                      Text(signed_pct(m.delta_pct), style=style))
    return table


def _mark(f: FunctionDelta) -> Text:
    if f.regression:
        return Text("regression", style="bold red")
    if f.status != "changed":
        return Text(f.status, style="cyan")
    return Text("" if f.significant else "small", style="dim")


def _functions(console: Console, functions: tuple[FunctionDelta, ...]) -> None:
    if not functions:
        console.print("No functions were measured in either run.")
        return
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, expand=True,
                  title="Functions: total time, your code first, by change",
                  title_justify="left", title_style="bold")
    table.add_column("function", overflow="fold", ratio=1, min_width=24)
    for name in ("before s", "after s", "Δ s", "Δ %", "self s"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for f in functions[:TOP_FUNCTIONS]:
        style = _change_style(f.delta_seconds, f.regression)
        table.add_row(Text.assemble((f.name, "" if f.user else "dim"), "\n",
                                    (location(f.path, f.line), "dim")),
                      f"{f.before_total:.3f}", f"{f.after_total:.3f}",
                      Text(f"{f.delta_seconds:+.3f}", style=style),
                      Text(signed_pct(f.delta_pct), style=style),
                      f"{f.before_self:.3f} → {f.after_self:.3f}", _mark(f))
    console.print(table)
    hidden = len(functions) - TOP_FUNCTIONS
    if hidden > 0:
        console.print(f"… and {hidden} more functions (use --format html or json for all)")
    console.print(Text(f"Functions under {SIGNIFICANT_SHARE_PCT:g}% of both runs' wall time "
                       "are marked small and never fail.", style="dim"))


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
                      location(f.path, f.line), Text.assemble(f.rule, "\n", (f.kind, "dim")),
                      Text(f.message))
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
