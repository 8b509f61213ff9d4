"""Shared pieces of the renderer tests (the fixtures report, its normalized and
adversarial variants, golden-file comparison) and tests of optadvisor/render/common.py.

Other tests/test_render_*.py modules import the helpers from here.
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from pathlib import Path

import pytest
from conftest import FIXTURES

from optadvisor.api import ScanOptions, scan
from optadvisor.models import Recommendation, Report, Snippet
from optadvisor.render import FORMATS, get_renderer
from optadvisor.render.common import LEVELS, fenced, level, one_line

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("OPTADVISOR_UPDATE_GOLDEN") == "1"

EVIL_PATH = "agents/<script>alert(1)</script>.py"
EVIL_CODE = "\"</script><img src=x onerror=alert(1)>'"
EVIL_SYMBOL = "<img src=x onerror=\"window.__pwned=1\">'"
EVIL_TITLE = "Blocking <i>call</i> & \"more\""


@lru_cache(maxsize=1)
def fixtures_report() -> Report:
    """The sample monorepo scanned once per test session (no cache, one process)."""
    return scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=1))


def stable_report() -> Report:
    """The fixtures report with what varies between runs (time, version) pinned."""
    report = fixtures_report()
    return dataclasses.replace(
        report, tool_version="0.0.0-test",
        summary=dataclasses.replace(report.summary, seconds=1.25, cached_files=0))


def evil_report() -> Report:
    """The fixtures report with hostile text where user content goes: a path, a symbol,
    a component and code that try to close tags, open scripts and break quoting."""
    report = fixtures_report()
    first = report.recommendations[0]
    evil = dataclasses.replace(
        first, path=EVIL_PATH, symbol=EVIL_SYMBOL, component="x<y>&z", title=EVIL_TITLE,
        message=f"`{EVIL_CODE}` is slow & `<script>` is \"quoted\"",
        snippet=Snippet(before=f"x = {EVIL_CODE}\ny = '</script>'",
                        after=f"x = await {EVIL_CODE}"),
        evidence={**first.evidence, "call": "<script>alert(2)</script>"})
    return dataclasses.replace(
        report, recommendations=(evil, *report.recommendations[1:]))


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; OPTADVISOR_UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with OPTADVISOR_UPDATE_GOLDEN=1")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{name} differs from its golden file; if the change is intended, rerun with "
        "OPTADVISOR_UPDATE_GOLDEN=1 and review the diff")


def with_recommendations(report: Report, recs: list[Recommendation]) -> Report:
    return dataclasses.replace(report, recommendations=tuple(recs), plan=())


# --------------------------------------------------------------------------- tests


def test_every_format_is_registered_and_renders_the_fixtures():
    report = stable_report()
    for name in FORMATS:
        text = get_renderer(name)(report)
        assert isinstance(text, str) and text.strip(), name


def test_unknown_format_is_a_key_error():
    with pytest.raises(KeyError):
        get_renderer("pdf")


def test_cli_lists_the_same_formats():
    from optadvisor import cli

    assert tuple(cli.FORMATS) == FORMATS


def test_priority_levels_agree_across_formats():
    assert {p: (lv.sarif, lv.github, lv.gitlab) for p, lv in LEVELS.items()} == {
        "critical": ("error", "error", "critical"),
        "high": ("error", "error", "major"),
        "medium": ("warning", "warning", "minor"),
        "low": ("note", "notice", "info"),
    }
    assert level("unheard-of") == LEVELS["low"]


def test_fence_is_longer_than_any_backtick_run_inside():
    code = "print('```')\nx = '````'"
    block = fenced(code, "python")
    assert block.startswith("`````python\n") and block.endswith("\n`````")


def test_one_line_folds_whitespace_and_escapes_control_characters():
    assert one_line("a\n\tb\x1b[31m  c\r\n") == "a b\\x1b[31m c"
    assert one_line("bel\x07 csi\x9b2J") == "bel\\x07 csi\\x9b2J"


CONTROLS = "\x1b[2J\x1b]0;pwned\x07\x9b31m"
"""Clear the screen, set the window title (BEL-terminated), a C1 CSI."""


def hostile_report() -> Report:
    """User text holding terminal controls and rich markup where a report shows it: a
    path, a component, the message, the code, and a profile's script, functions and notes."""
    report = stable_report()
    first = report.recommendations[0]
    rec = dataclasses.replace(
        first, path=f"routes/[id]/{CONTROLS}.py", component=f"[bold]{CONTROLS}",
        message=f"[fix] {CONTROLS} `x{CONTROLS}`",
        snippet=Snippet(before=f"x = 1  # {CONTROLS}", after=f"y = 2  # {CONTROLS}",
                        line=first.line))
    profile = {"script_path": f"s{CONTROLS}.py", "notes": [f"n{CONTROLS}"],
               "outcome": {"status": "exception", "message": f"raised {CONTROLS}"},
               "user_functions": [{"name": f"f{CONTROLS}", "path": f"p{CONTROLS}.py",
                                   "line": 3, "total_pct": 50.0}]}
    return dataclasses.replace(with_recommendations(report, [rec]), profile=profile)


@pytest.mark.parametrize("name", ["table", "full", "concise", "grouped", "github",
                                  "markdown"])
def test_terminal_controls_in_user_text_are_escaped_in_every_text_format(name: str):
    """The table passed `\\x1b[2J` from a file name to the terminal, `--format github`
    passed ESC and BEL, and Markdown dropped them from code spans but passed them in code
    blocks (and the profile block of `full` and `table` passed them all)."""
    render = get_renderer(name)
    out = render(hostile_report(), width=200, color=False) \
        if name in ("table", "full", "concise", "grouped") else render(hostile_report())
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in out, (name, raw)
    assert "\\x1b[2J" in out and "\\x07" in out  # shown, escaped


def test_the_table_prints_user_text_as_it_is_never_as_rich_markup():
    """`routes/[id]/handler.py` printed as `routes//handler.py`, and a path holding `[/x]`
    crashed the table with MarkupError (no report at all)."""
    from optadvisor.render import table

    report = stable_report()
    first = report.recommendations[0]
    recs = [dataclasses.replace(first, path="routes/[id]/handler.py", component="[bold]c",
                                message="see [fix] and [[examples]]"),
            dataclasses.replace(first, path="a[/x]/b.py")]
    out = table.render(with_recommendations(report, recs), width=200, color=False)
    for text in ("routes/[id]/handler.py", "a[/x]/b.py", "[bold]c", "[fix]", "[[examples]]"):
        assert text in out
