"""`optadvisor compare`: deltas and regressions of two profile runs or two scans, the
significance rule that keeps noise on tiny functions out of CI, the renderers, and the
errors. Synthetic runs are built from the dataclasses (fast); one real pair of runs of
fixtures/scripts/slow_pipeline.py and real scans of a copy of fixtures/agents check the
whole path."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from conftest import FIXTURES
from profile_support import SCRIPTS, py_spy_problem

from optadvisor.api import ScanOptions, scan
from optadvisor.compare import (
    SIGNIFICANT_SHARE_PCT,
    compare_files,
    compare_reports,
    compare_runs,
    parse_regression,
    render_comparison,
)
from optadvisor.config import ConfigError
from optadvisor.models import (
    Comparison,
    HotFunction,
    MemoryReport,
    ProfileRun,
    Recommendation,
    Report,
    RunEnvironment,
    RunOutcome,
    SampleSummary,
    Snippet,
    Summary,
    SystemMetrics,
)
from optadvisor.profile import ProfileOptions, run_profile, save_run
from optadvisor.render import compare_markdown, compare_table, get_renderer
from optadvisor.render.markdown import COMMENT_LIMIT_CHARS

MIB = 1024 * 1024
STDLIB = "/usr/lib/python3.11"
EVIL = "<script>alert(1)</script>"
EVIL_SCRIPT = "<img src=x onerror=alert(1)>.py"


# --------------------------------------------------------------------------- builders


def fn(name: str, total: float, own: float | None = None, *, path: str = "app.py",
       user: bool = True, file: str | None = None, line: int = 1) -> HotFunction:
    return HotFunction(name=name, file=file or f"/src/{path}", path=path, line=line,
                       user=user, self_seconds=total if own is None else own,
                       total_seconds=total)


def run(*functions: HotFunction, wall: float = 10.0, cpu: float = 8.0, rss: int = 100 * MIB,
        status: str = "ok", stdlib: str = STDLIB, mode: str = "sample",
        script: str = "app.py", memory_rss: int = 0) -> ProfileRun:
    environment = RunEnvironment(python="3.11.7", implementation="CPython",
                                 executable="/usr/bin/python3", platform="linux",
                                 machine="x86_64", cpu_count=4, sampler="py-spy 0.4.3",
                                 stdlib=stdlib)
    outcome = RunOutcome(status=status, returncode=0 if status == "ok" else None,
                         timed_out=status == "timeout",
                         message="stopped after 60 s" if status == "timeout" else "")
    return ProfileRun(
        command=("python", script), script=script, args=(), cwd="/src", root="/src",
        mode=mode, environment=environment, outcome=outcome, wall_seconds=wall,
        cpu_seconds=cpu, script_seconds=wall * 0.9, created="2026-01-01T00:00:00+00:00",
        samples=SampleSummary(sampler="py-spy", rate=100, total=1000, idle=0, ticks=1000),
        functions=functions, metrics=SystemMetrics(interval=0.1, rss_peak=rss) if rss else None,
        memory=MemoryReport(rss_peak=memory_rss) if memory_rss else None)


def rec(path: str, line: int, priority: str = "medium", rule: str = "OPT201",
        kind: str = "client-per-call", fingerprint: str | None = None,
        message: str = "a client per call") -> Recommendation:
    return Recommendation(
        rule=rule, kind=kind, category="async", priority=priority, score=50, path=path,
        line=line, column=1, end_line=line, end_column=10, symbol="f", component="x",
        title="t", message=message, evidence={}, impact="", confidence="high",
        effort="small", snippet=Snippet("", ""),
        fingerprint=fingerprint or f"{rule}:{path}:{line}")


def report(*recs: Recommendation, files: int = 10) -> Report:
    summary = Summary(files=files, lines=1000, functions=50, components=1, errors=0,
                      seconds=0.1, recommendations=len(recs), by_priority={}, by_kind={},
                      candidates={})
    return Report(root="/src", summary=summary, recommendations=recs, targets=(), errors=(),
                  tool_version="0.1.0")


def row(comparison: Comparison, name: str):
    return next(f for f in comparison.functions if f.name == name)


def total(comparison: Comparison, name: str):
    return next(m for m in comparison.totals if m.name == name)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("text, value", [
    ("10%", 0.10), ("0.1", 0.10), (" 12.5 % ", 0.125), ("0%", 0.0), ("0", 0.0),
    ("150%", 1.5), (".05", 0.05),
])
def test_parse_regression(text: str, value: float):
    assert parse_regression(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "-5%", "10", "1", "1e3", "nan", "10%%", "%"])
def test_parse_regression_refuses_junk_and_ambiguous_numbers(text: str):
    with pytest.raises(ConfigError, match="max-regression"):
        parse_regression(text)


# --------------------------------------------------------------------------- runs


def test_a_significant_function_that_slows_down_is_a_regression():
    before = run(fn("main", 9.0, 0.1), fn("parse", 2.0), fn("tiny", 0.1))
    after = run(fn("main", 9.5, 0.1), fn("parse", 3.0), fn("tiny", 0.3))
    c = compare_runs(before, after, 0.10)
    parse = row(c, "parse")
    assert (parse.status, parse.before_total, parse.after_total) == ("changed", 2.0, 3.0)
    assert parse.delta_seconds == pytest.approx(1.0) and parse.delta_pct == 50.0
    assert parse.significant and parse.regression
    assert not row(c, "main").regression  # +5.6 % is within 10 %
    tiny = row(c, "tiny")  # tripled, but 3 % of wall time: noise, never a failure
    assert tiny.delta_pct == 200.0 and not tiny.significant and not tiny.regression
    assert [(r.rule, r.subject) for r in c.regressions] == [("function-time", "parse")]
    assert c.exit_code == 1
    assert any(f"{SIGNIFICANT_SHARE_PCT:g}% of either run's wall time" in rule
               for rule in c.criteria)


def test_improvements_pass_and_show_negative_deltas():
    before = run(fn("parse", 4.0), wall=10.0, cpu=9.0, rss=200 * MIB)
    after = run(fn("parse", 1.0), wall=7.0, cpu=6.0, rss=150 * MIB)
    c = compare_runs(before, after, 0.10)
    assert c.exit_code == 0 and c.regressions == ()
    assert row(c, "parse").delta_pct == -75.0
    assert total(c, "wall_seconds").delta == pytest.approx(-3.0)
    assert total(c, "rss_peak_bytes").delta_pct == -25.0


def test_new_and_gone_functions_are_shown_and_never_fail():
    before = run(fn("old_path", 5.0), fn("shared", 1.0))
    after = run(fn("new_path", 5.0), fn("shared", 1.0))
    c = compare_runs(before, after, 0.0)
    assert row(c, "old_path").status == "gone" and row(c, "new_path").status == "new"
    assert row(c, "new_path").delta_pct is None and row(c, "new_path").significant
    assert row(c, "shared").status == "changed" and row(c, "shared").delta_seconds == 0
    assert c.regressions == () and c.exit_code == 0


@pytest.mark.parametrize("share, fails", [(4.0, False), (5.0, True), (6.0, True)])
def test_significance_threshold(share: float, fails: bool):
    seconds = share / 100 * 10.0  # of a 10 s run
    # +50 %, in an after run so long that only the before share can make it significant.
    c = compare_runs(run(fn("f", seconds), wall=10.0),
                     run(fn("f", seconds * 1.5), wall=150.0), 0.10)
    f = row(c, "f")
    assert f.before_share == pytest.approx(share)
    assert f.after_share < SIGNIFICANT_SHARE_PCT
    assert f.significant is fails and f.regression is fails


def test_growth_within_the_sampling_floor_does_not_fail():
    # 10 % of a 0.2 s run: 2 samples → 3 samples is +50 % but one sample more.
    before = run(fn("f", 0.02), wall=0.2, cpu=0.2)
    after = run(fn("f", 0.03), wall=0.2, cpu=0.2)
    assert not row(compare_runs(before, after, 0.10), "f").regression
    traced = compare_runs(dataclasses.replace(before, mode="trace", samples=None),
                          dataclasses.replace(after, mode="trace", samples=None), 0.10)
    assert row(traced, "f").regression  # exact timings have no floor


def test_exactly_at_the_threshold_is_not_a_regression():
    c = compare_runs(run(fn("f", 5.0), wall=10.0), run(fn("f", 5.5), wall=11.0), 0.10)
    assert c.regressions == () and c.exit_code == 0


def test_wall_cpu_and_peak_rss_regressions():
    before = run(wall=10.0, cpu=5.0, rss=100 * MIB)
    after = run(wall=10.5, cpu=6.0, rss=0, memory_rss=130 * MIB)  # RSS from the memory pass
    c = compare_runs(before, after, 0.10)
    assert [r.rule for r in c.regressions] == ["cpu-time", "peak-rss"]
    assert total(c, "rss_peak_bytes").after == 130 * MIB
    assert total(c, "script_seconds").gated is False


def test_a_missing_figure_is_shown_not_failed():
    c = compare_runs(run(rss=0), run(rss=500 * MIB), 0.10)
    rss = total(c, "rss_peak_bytes")
    assert rss.before is None and rss.delta is None and not rss.regression
    assert c.exit_code == 0


def test_no_threshold_reports_only():
    c = compare_runs(run(fn("f", 2.0), wall=1.0), run(fn("f", 9.0), wall=9.0), None)
    assert c.exit_code == 0 and c.regressions == ()
    assert "nothing fails" in c.criteria[0]
    assert "report only" in render_comparison(c, "markdown").splitlines()[0]


def test_a_run_that_did_not_finish_is_flagged():
    c = compare_runs(run(fn("f", 2.0)), run(fn("f", 1.0), status="timeout"), 0.10)
    assert not c.after.ok and c.after.problem == "stopped after 60 s"
    assert any("after run did not finish normally (timeout" in note for note in c.notes)
    for fmt in ("markdown", "html", "table"):
        assert "timeout" in render_comparison(c, fmt)


def test_user_functions_come_first_then_by_size_of_change():
    before = run(fn("lib", 1.0, path="<stdlib>/x.py", user=False), fn("a", 1.0), fn("b", 1.0))
    after = run(fn("lib", 5.0, path="<stdlib>/x.py", user=False), fn("a", 1.2), fn("b", 0.5))
    assert [f.name for f in compare_runs(before, after, 0.1).functions] == ["b", "a", "lib"]


def test_library_functions_match_across_interpreters():
    def library(stdlib: str) -> HotFunction:
        return fn("loads", 2.0, user=False, path=f"{stdlib}/json/__init__.py",
                  file=f"{stdlib}/json/__init__.py")

    c = compare_runs(run(library("/usr/lib/python3.11"), stdlib="/usr/lib/python3.11"),
                     run(library("/opt/py/lib/python3.11"), stdlib="/opt/py/lib/python3.11"),
                     0.1)
    assert [(f.path, f.status) for f in c.functions] == [("<stdlib>/json/__init__.py",
                                                         "changed")]


def test_one_script_profiled_from_two_directories_matches_its_functions():
    # From the project root: root /repo, paths app/main.py; from inside app/: root
    # /repo/app, paths main.py. Relative to the script's directory both are main.py.
    from_root = dataclasses.replace(
        run(fn("handle", 4.0, path="app/main.py", file="/repo/app/main.py"),
            fn("helper", 1.0, path="app/lib/util.py", file="/repo/app/lib/util.py")),
        script="app/main.py", cwd="/repo", root="/repo")
    from_app = dataclasses.replace(
        run(fn("handle", 2.0, path="main.py", file="/repo/app/main.py"),
            fn("helper", 1.0, path="lib/util.py", file="/repo/app/lib/util.py")),
        script="main.py", cwd="/repo/app", root="/repo/app")
    c = compare_runs(from_root, from_app, 0.1)
    assert [(f.name, f.status, f.path) for f in c.functions] == [
        ("handle", "changed", "main.py"), ("helper", "changed", "lib/util.py")]
    # Two checkouts of one project (before/after a fix) match the same way.
    other = dataclasses.replace(
        run(fn("handle", 1.0, path="app/main.py", file="/tmp/after/app/main.py")),
        script="app/main.py", cwd="/tmp/after", root="/tmp/after")
    assert [f.status for f in compare_runs(from_root, other, 0.1).functions
            if f.name == "handle"] == ["changed"]


# --------------------------------------------------------------------------- scans


def test_scan_findings_matched_by_fingerprint():
    kept, gone = rec("a.py", 1), rec("b.py", 2)
    moved = dataclasses.replace(kept, line=40)  # same fingerprint, new line: unchanged
    new = rec("c.py", 3, priority="low")
    c = compare_reports(report(kept, gone), report(moved, new), 0.5)
    assert [(f.status, f.path) for f in c.findings] == [("new", "c.py"), ("fixed", "b.py")]
    assert c.unchanged == 1
    medium = next(n for n in c.counts if n.group == "priority" and n.name == "medium")
    assert (medium.before, medium.after, medium.delta) == (2, 1, -1)
    assert c.exit_code == 0  # 2 → 2 recommendations, the new one is low


def test_scan_growth_beyond_the_threshold_fails():
    before = report(*(rec("a.py", i) for i in range(10)))
    after = report(*(rec("a.py", i) for i in range(12)))
    assert compare_reports(before, after, 0.25).exit_code == 0  # +20 %
    c = compare_reports(before, after, 0.10)
    assert [r.rule for r in c.regressions] == ["recommendation-growth"]
    assert "grew from 10 to 12 (+20.0%)" in c.regressions[0].message
    assert compare_reports(report(), report(rec("a.py", 1)), 5.0).exit_code == 1  # from none


def test_a_new_high_recommendation_fails_whatever_the_threshold():
    before = report(*(rec("a.py", i) for i in range(10)))
    after = report(*(rec("a.py", i) for i in range(9)), rec("z.py", 1, priority="high"))
    c = compare_reports(before, after, 10.0)
    assert [r.rule for r in c.regressions] == ["severe-recommendation"]
    assert c.regressions[0].path == "z.py" and c.exit_code == 1
    assert compare_reports(before, after, None).exit_code == 0


def test_scans_made_with_a_baseline_compare_everything_they_found():
    old = rec("a.py", 1)
    with_baseline = dataclasses.replace(report(rec("b.py", 2)), unchanged=(old,))
    c = compare_reports(report(old), with_baseline, 0.0)
    assert [(f.status, f.path) for f in c.findings] == [("new", "b.py")]
    assert c.unchanged == 1


# --------------------------------------------------------------------------- renderers


def hostile() -> Comparison:
    evil_path = f"agents/{EVIL}.py"
    before = run(fn(EVIL, 3.0, path=evil_path), fn("ok", 1.0), script=EVIL_SCRIPT)
    after = run(fn(EVIL, 6.0, path=evil_path), fn("ok", 1.0), fn("*bold* | pipe", 0.1),
                script=EVIL_SCRIPT)
    return compare_runs(before, after, 0.10, before_file=f"{EVIL}.json", after_file="b.json")


def test_html_is_self_contained_and_escapes_hostile_names():
    page = render_comparison(hostile(), "html")
    assert EVIL not in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp and "default-src 'none'" in unescape(csp.group(1))
    assert "script-src 'none'" in unescape(csp.group(1))
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<link rel=\"stylesheet\"" not in page and "@import" not in page


def test_html_of_a_scan_comparison():
    c = compare_reports(report(rec("a.py", 1)),
                        report(rec("a.py", 1), rec(EVIL, 2, priority="high", message=EVIL)),
                        0.1)
    page = render_comparison(c, "html")
    assert EVIL not in page and "New <span" in page and "severe-recommendation" in page


def test_markdown_calls_out_regressions_first_and_escapes():
    text = render_comparison(hostile(), "markdown")
    assert text.startswith("## ❌ optadvisor compare: 1 regression (--max-regression 10%)")
    assert text.index("### Regressions") < text.index("### Totals") < text.index("### Functions")
    assert f"`{EVIL}`" in text  # inside a code span: shown, not obeyed
    outside_code = re.sub(r"`[^`\n]*`", "", text)
    assert "\\<img src=x onerror=alert(1)\\>.py" in outside_code  # the script, as text
    assert not re.search(r"(?<!\\)<(?!/?sub>)", outside_code)  # no raw tag but the footer
    assert "`*bold* \\| pipe`" in text  # a | in a table cell is escaped even in code
    assert "at least 5% of a run's wall time" in text


def test_markdown_fits_a_pr_comment():
    before = run(*(fn(f"f{i}", 0.1 + i / 100) for i in range(300)), wall=100.0)
    after = run(*(fn(f"f{i}", 0.1 + i / 50) for i in range(300)), wall=100.0)
    text = compare_markdown.render(compare_runs(before, after, 0.10))
    rows = [line for line in text.splitlines() if line.startswith("| `f")]
    assert len(rows) == compare_markdown.TOP_FUNCTIONS
    assert rows[0].startswith("| `f299`")  # the largest change first
    assert "… and 270 more functions" in text
    assert len(text) < COMMENT_LIMIT_CHARS


def test_table_renders_to_a_fixed_width_string():
    out = compare_table.render(hostile(), width=120, color=False)
    assert "1 regression (--max-regression 10%)" in out and EVIL in out
    assert "\x1b[" not in out
    assert max(len(line) for line in out.splitlines()) <= 120
    assert "\x1b[" in compare_table.render(hostile(), width=120, color=True)


def test_json_round_trips():
    for c in (hostile(), compare_reports(report(rec("a.py", 1)),
                                         report(rec("b.py", 1, priority="critical")), None)):
        data = json.loads(render_comparison(c, "json"))
        assert data["kind"] == "comparison" and data["schema_version"] == 1
        assert data["exit_code"] == c.exit_code
        assert Comparison.from_dict(data) == c
    with pytest.raises(ValueError, match="not an optadvisor comparison"):
        Comparison.from_dict({"kind": "profile-run"})


def test_unknown_format():
    with pytest.raises(ConfigError, match="unknown compare format"):
        render_comparison(hostile(), "sarif")


# --------------------------------------------------------------------------- files


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_compare_files_reads_saved_runs(tmp_path: Path):
    save_run(run(fn("f", 1.0)), tmp_path / "a.json")
    save_run(run(fn("f", 2.0)), tmp_path / "b.json")
    c = compare_files(tmp_path / "a.json", tmp_path / "b.json", 0.1)
    assert c.kind == "profile-run" and c.exit_code == 1
    assert (c.before.file, c.after.file) == (str(tmp_path / "a.json"), str(tmp_path / "b.json"))


def test_errors_name_the_file(tmp_path: Path):
    save_run(run(), tmp_path / "run.json")
    scan_json = tmp_path / "scan.json"
    scan_json.write_text(get_renderer("json")(report(rec("a.py", 1))), encoding="utf-8")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    other = write_json(tmp_path / "other.json", {"kind": "comparison", "schema_version": 1})
    listing = write_json(tmp_path / "list.json", [1, 2])
    future = write_json(tmp_path / "future.json", {**run().to_dict(), "schema_version": 99})
    cases = [
        (tmp_path / "missing.json", "missing.json: no such file"),
        (junk, "junk.json: not JSON"),
        (other, "other.json: not a profile run .* found kind 'comparison'"),
        (listing, "list.json: not a profile run .* found list"),
        (future, "future.json: profile run schema_version 99"),
        (tmp_path, "is a directory"),
    ]
    for path, message in cases:
        with pytest.raises(ConfigError, match=message):
            compare_files(path, tmp_path / "run.json", 0.1)
    with pytest.raises(ConfigError, match=r"run\.json \(a profile run\) with .*scan\.json "
                                          r"\(a scan report\)"):
        compare_files(tmp_path / "run.json", scan_json, 0.1)


# --------------------------------------------------------------------------- real runs


@pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")
def test_real_runs_of_slow_pipeline(tmp_path: Path):
    paths = []
    for items in ("50", "400"):
        profiled = run_profile(ProfileOptions(
            script=SCRIPTS / "slow_pipeline.py", args=("--items", items), lines=False,
            stdout="null", stdin="null", timeout=60))
        assert profiled.outcome.status == "ok", profiled.outcome
        paths.append(tmp_path / f"items-{items}.json")
        save_run(profiled, paths[-1])

    c = compare_files(paths[0], paths[1], parse_regression("10%"))
    assert c.exit_code == 1
    load_config = next(f for f in c.functions if f.name == "load_config" and f.user)
    assert load_config.path.endswith("slow_pipeline.py") and load_config.status == "changed"
    assert load_config.significant and load_config.regression
    # Eight times the items; sampled at 100 Hz a 50-item run holds only ~20 samples of
    # load_config, so the bound leaves room for sampling noise (seen: +55% at 4x).
    assert load_config.delta_pct > 100
    assert "load_config" in {r.subject for r in c.regressions if r.rule == "function-time"}
    assert total(c, "wall_seconds").regression
    assert "`load_config`" in render_comparison(c, "markdown")

    back = compare_files(paths[1], paths[0], 0.10)
    assert row(back, "load_config").delta_seconds < 0 and not row(back, "load_config").regression


def test_real_scans_of_the_fixtures(tmp_path: Path):
    tree = tmp_path / "agents"
    shutil.copytree(FIXTURES, tree)

    def scanned(name: str) -> Path:
        out = tmp_path / f"{name}.json"
        out.write_text(get_renderer("json")(scan(ScanOptions(paths=(tree,), jobs=1))),
                       encoding="utf-8")
        return out

    first = scanned("first")
    # A client built per item of a loop: a medium recommendation.
    (tree / "research" / "clients.py").write_text(
        "import httpx\n\n\ndef pages(paths):\n    out = []\n    for path in paths:\n"
        "        client = httpx.Client(timeout=5)\n"
        "        out.append(client.get('https://api.example.com/' + path).text)\n"
        "    return out\n", encoding="utf-8")
    second = scanned("second")
    c = compare_files(first, second, 0.10)
    assert [(f.status, f.path, f.priority) for f in c.findings] == [
        ("new", "research/clients.py", "medium")]
    assert c.exit_code == 0 and c.unchanged == total(c, "recommendations").before
    assert compare_files(first, second, 0.0).regressions[0].rule == "recommendation-growth"

    # A blocking call inside async def: high, so it fails at any threshold.
    (tree / "research" / "slow.py").write_text(
        "import requests\n\n\nasync def refresh(url):\n"
        "    return requests.get(url, timeout=5).text\n", encoding="utf-8")
    third = scanned("third")
    c = compare_files(second, third, 0.10)
    assert c.exit_code == 1
    assert [(r.rule, r.path) for r in c.regressions] == [
        ("severe-recommendation", "research/slow.py")]
    fixed = compare_files(third, first, 0.10)
    assert {f.status for f in fixed.findings} == {"fixed"} and fixed.exit_code == 0
    assert "research/slow.py" in render_comparison(c, "markdown")


def test_findings_mark_the_fixed_functions_and_sum_up_their_delta(tmp_path):
    from optadvisor.compare import compare_files
    before = run(fn("handle", 4.0), fn("parse", 1.0), fn("Agent.step", 2.0, path="agent.py"))
    after = run(fn("handle", 1.0), fn("parse", 1.1), fn("Agent.step", 0.5, path="agent.py"))
    scan = report(dataclasses.replace(rec("app.py", 3, rule="OPT103"), symbol="handle"),
                  dataclasses.replace(rec("agent.py", 9, rule="OPT101"), symbol="Agent.step"),
                  dataclasses.replace(rec("agent.py", 12, rule="OPT202"), symbol="Agent.step"))
    paths = {}
    for name, value in (("before", before), ("after", after), ("scan", scan)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(value.to_dict()))
    comparison = compare_files(paths["before"], paths["after"], None, paths["scan"])
    assert row(comparison, "handle").findings == ("OPT103",)
    assert row(comparison, "Agent.step").findings == ("OPT101", "OPT202")
    assert row(comparison, "parse").findings == ()
    note = comparison.notes[-1]
    assert "Functions with findings" in note and ": 2," in note and "-75" in note
    for fmt in ("table", "markdown", "html", "json"):
        assert "Functions with findings" in render_comparison(comparison, fmt)
    with pytest.raises(ConfigError):
        compare_files(paths["scan"], paths["scan"], None, paths["scan"])


def test_findings_that_match_no_profiled_function_point_at_the_totals(tmp_path):
    from optadvisor.compare import compare_files

    paths = {}
    scan = report(dataclasses.replace(rec("app.py", 3, rule="OPT103"), symbol="gather_all"))
    for name, value in (("before", run(fn("<module>", 9.0), wall=10.0)),
                        ("after", run(fn("<module>", 2.0), wall=2.5)), ("scan", scan)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(value.to_dict()))
    note = compare_files(paths["before"], paths["after"], None, paths["scan"]).notes[-1]
    assert note.startswith("No profiled function has a finding") and "-75" in note
