"""The terminal formats (full, the default; concise; grouped): goldens at 80 and 120
columns, what wraps and what never does, the summary that ends the output, and text the
user wrote (paths, code, messages) printed as text."""

from __future__ import annotations

import dataclasses
import re

import pytest
from test_render_common import EVIL_CODE, check_golden, evil_report, stable_report

from optadvisor.models import Snippet
from optadvisor.render import concise, full, grouped

LOCATION = re.compile(r"^(\S+):(\d+):(\d+): (OPT\d+) \[")


def gated(report):  # type: ignore[no-untyped-def]
    """The gate the CLI would pass, and no absolute root: paths stay as the report has
    them, whatever directory the tests run from."""
    return dataclasses.replace(report, fail_on="high", root="")


@pytest.mark.parametrize("width", [80, 120])
def test_full_golden(width: int) -> None:
    check_golden(f"fixtures.full.{width}.txt",
                 full.render(gated(stable_report()), width=width, color=False))


@pytest.mark.parametrize("module,name", [(concise, "concise"), (grouped, "grouped")])
def test_concise_and_grouped_golden(module, name: str) -> None:  # type: ignore[no-untyped-def]
    check_golden(f"fixtures.{name}.80.txt",
                 module.render(gated(stable_report()), width=80, color=False))


def test_full_shows_every_finding_with_its_code_and_change_in_rank_order() -> None:
    report = gated(stable_report())
    out = full.render(report, width=80, color=False)
    headers = [m.groups() for m in map(LOCATION.match, out.splitlines()) if m]
    assert [(p, int(line), rule) for p, line, _, rule in headers] == [
        (r.path, r.line, r.rule) for r in report.recommendations]
    for rec in report.recommendations:
        first = rec.snippet.before.split("\n")[0]
        assert f"{rec.snippet.line or rec.line} | {first}" in out
        for line in rec.snippet.after.split("\n")[:3]:
            assert line in out


def test_at_80_columns_only_code_runs_past_the_edge() -> None:
    out = full.render(gated(stable_report()), width=80, color=False)
    code = set()
    for rec in stable_report().recommendations:
        code.update(line.strip() for line in rec.snippet.before.split("\n"))
        code.update(line.strip() for line in rec.snippet.after.split("\n"))
    for line in out.splitlines():
        if len(line) > 80:
            body = line.split(" | ", 1)[-1].strip()
            assert body in code or set(body) <= {"^", "|", " "}, line


def test_location_is_never_cut_even_when_longer_than_the_line() -> None:
    report = stable_report()
    long_path = "agents/" + "very_long_directory_name/" * 6 + "module.py"
    rec = dataclasses.replace(report.recommendations[0], path=long_path)
    out = concise.render(dataclasses.replace(report, recommendations=(rec,)), width=40,
                         color=False)
    assert f"{long_path}:{rec.line}:{rec.column}: {rec.rule}" in out
    out = full.render(dataclasses.replace(report, recommendations=(rec,)), width=40,
                      color=False)
    assert f"{long_path}:{rec.line}:{rec.column}:" in out


def test_summary_counts_gate_targets_quick_wins_and_fixable() -> None:
    report = gated(stable_report())
    out = full.render(report, width=120, color=False)
    tail = out[out.index("Found "):]
    assert f"Found {len(report.recommendations)} recommendation(s)" in tail
    failing = [r for r in report.recommendations if r.priority in ("critical", "high")
               and r.confidence != "low"]
    assert f"Gate: {len(failing)} at or above --fail-on high (exit 1)" in tail
    top = next(t for t in report.targets if t.kind == "file")
    assert f"  {top.path} (score {top.score}): " in tail
    wins = [r for r in report.recommendations
            if r.fix is not None and r.fix.applicability == "safe" and r.confidence != "low"]
    assert f"  {wins[0].path}:{wins[0].line} {wins[0].rule}" in tail
    assert f"[*] {len([r for r in report.recommendations if r.fix and r.fix.applicability == 'safe'])} fixable with `--fix`" in tail
    clean = dataclasses.replace(report, recommendations=(), fail_on="high")
    assert "Gate: nothing at or above --fail-on high (exit 0)." in full.render(
        clean, width=80, color=False)


def test_paths_are_shown_from_the_working_directory(tmp_path, monkeypatch) -> None:
    report = stable_report()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo" / "agents").mkdir(parents=True)
    inside = dataclasses.replace(report, root=str(tmp_path / "repo" / "agents"))
    rec = inside.recommendations[0]
    assert f"repo/agents/{rec.path}:{rec.line}:{rec.column}: " in concise.render(
        inside, width=120, color=False)
    outside = dataclasses.replace(report, root="/elsewhere/agents")
    assert concise.render(outside, width=120, color=False).startswith(
        f"{rec.path}:{rec.line}:{rec.column}: ")


def test_grouped_puts_each_file_once_with_its_findings_by_line() -> None:
    report = gated(stable_report())
    out = grouped.render(report, width=120, color=False)
    files = [line[:-1] for line in out.splitlines() if line.endswith(".py:")]
    assert len(files) == len(set(files)) == len({r.path for r in report.recommendations})


def test_user_text_is_printed_as_text_not_markup_or_terminal_controls() -> None:
    report = evil_report()
    first = report.recommendations[0]
    hostile = dataclasses.replace(
        first, message="[bold red]x[/] \x1b[2J\x1b]0;pwned\x07 done",
        snippet=Snippet(before=f"x = {EVIL_CODE}  # [link=http://e]y[/link] \x1b[31m",
                        after="x = 1", line=first.line))
    report = dataclasses.replace(report, recommendations=(hostile,), fail_on="high")
    for module in (full, concise, grouped):
        out = module.render(report, width=120, color=True)
        assert "[bold red]x[/]" in out
        assert "[link=http://e]y[/link]" in out or module is not full  # the code frame
        assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x07" not in out
        assert "\\x1b[2J" in out  # shown, escaped


def test_target_lines_say_why_with_the_measured_share_in_a_profile() -> None:
    from optadvisor.render.targets import why_of

    report = gated(stable_report())
    top = next(t for t in report.targets if t.kind == "file")
    kinds = {r.kind for r in report.recommendations if r.path == top.path}
    why = why_of(report)(top)
    assert why and all(kind in why for kind in kinds) and "measured" not in why
    profiled = dataclasses.replace(report, profile={"functions": [
        {"user": True, "path": top.path, "name": "handler", "total_pct": 41.2},
        {"user": True, "path": top.path, "name": "<module>", "total_pct": 100.0},
        {"user": False, "path": top.path, "name": "lib", "total_pct": 90.0}]})
    assert why_of(profiled)(top).endswith("; 41 % of measured time")
    assert f"(score {top.score}): " in full.render(profiled, width=200, color=False)
