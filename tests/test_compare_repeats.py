"""`compare` of runs made with `profile --repeat N`: medians, the significance test, the
gate on significant regressions only, what one run per side still does, old run files,
and every output format showing (and escaping) the verdicts. Synthetic runs built from
the dataclasses; tests/test_profile_repeat.py makes real ones."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from optadvisor.compare import compare_files, compare_runs, render_comparison
from optadvisor.models import (
    CallStats,
    Comparison,
    HotFunction,
    ProfileRun,
    RepeatCall,
    RepeatFunction,
    RepeatRun,
    RunEnvironment,
    RunOutcome,
    SampleSummary,
)
from optadvisor.profile import save_run
from optadvisor.profile.repeat import representative
from optadvisor.profile.store import load_run
from optadvisor.render import compare_table

MIB = 1024 * 1024
EVIL = "<script>alert(1)</script>"
ESC = "\x1b]0;pwned\x07"


def repeated(walls: list[float], *, hot: str = "score", share: float = 0.8,
             status: str = "ok", calls: list[float] | None = None) -> ProfileRun:
    """A run of `profile --repeat len(walls)`: `hot` takes `share` of each run's wall time,
    `main` all of it; the body is the representative run, as run_profile makes it."""
    runs = tuple(
        RepeatRun(wall_seconds=w, cpu_seconds=round(w * 0.9, 4), script_seconds=w,
                  rss_peak=100 * MIB,
                  functions=(RepeatFunction("main", "/src/app.py", "app.py", 1, True, 0.01, w),
                             RepeatFunction(hot, "/src/app.py", "app.py", 5, True,
                                            w * share, w * share)),
                  calls=() if calls is None else (
                      RepeatCall(hot, "/src/app.py", "app.py", 5, 10, calls[i] * 10, calls[i]),))
        for i, w in enumerate(walls))
    runs = tuple(dataclasses.replace(r, status=status) if i == len(runs) - 1 else r
                 for i, r in enumerate(runs))
    body = runs[representative(runs)]
    environment = RunEnvironment(python="3.11.7", implementation="CPython",
                                 executable="/usr/bin/python3", platform="linux",
                                 machine="x86_64", cpu_count=2, sampler="py-spy 0.4.3",
                                 stdlib="/usr/lib/python3.11")
    return ProfileRun(
        command=("python", "app.py"), script="app.py", args=(), cwd="/src", root="/src",
        mode="sample", environment=environment, outcome=RunOutcome(status=status),
        wall_seconds=body.wall_seconds, cpu_seconds=body.cpu_seconds,
        script_seconds=body.script_seconds,
        samples=SampleSummary(sampler="py-spy", rate=100, total=100, idle=0, ticks=100),
        functions=tuple(HotFunction(name=f.name, file=f.file, path=f.path, line=f.line,
                                    user=True, self_seconds=f.self_seconds,
                                    total_seconds=f.total_seconds) for f in body.functions),
        calls=() if calls is None else (
            CallStats(hot, "/src/app.py", "app.py", 5, calls=10,
                      total_seconds=body.calls[0].total_seconds,
                      mean_seconds=body.calls[0].mean_seconds),),
        repeats=runs if len(runs) > 1 else ())


def single(wall: float, **kwargs) -> ProfileRun:
    return repeated([wall], **kwargs)


def total(c: Comparison, name: str):
    return next(m for m in c.totals if m.name == name)


def row(c: Comparison, name: str):
    return next(f for f in c.functions if f.name == name)


SLOW = [1.50, 1.46, 1.55]
BASE = [0.50, 0.52, 0.49]
SAME = [0.51, 0.48, 0.53]


def test_a_significant_regression_fails_the_gate():
    c = compare_runs(repeated(BASE), repeated(SLOW), 0.10)
    wall = total(c, "wall_seconds")
    assert (wall.before, wall.after) == (0.50, 1.50)  # the medians, not the bodies' figures
    assert wall.significance is not None and wall.significance.tested
    assert wall.significance.significant and wall.regression
    assert wall.significance.low is not None and wall.significance.low > 0.9
    score = row(c, "score")
    assert score.significance is not None and score.significance.significant
    assert score.regression and c.exit_code == 1
    assert (c.before.runs, c.after.runs) == (3, 3)
    assert any("medians of 3 and 3 runs" in r.message and "95% interval" in r.message
               for r in c.regressions if r.rule == "wall-time")
    assert any("bootstrap interval" in rule for rule in c.criteria)
    assert not any("not tested" in note for note in c.notes)


def test_no_significant_change_passes_even_beyond_the_threshold():
    # The medians differ by 10.6% (> 5%), but the runs overlap: noise, not a change.
    before, after = [0.47, 0.60, 0.50], [0.53, 0.45, 0.58]
    c = compare_runs(repeated(before), repeated(after), 0.05)
    wall = total(c, "wall_seconds")
    assert wall.delta_pct is not None and wall.delta_pct > 5
    assert wall.significance is not None and wall.significance.tested
    assert not wall.significance.significant and not wall.regression
    assert c.exit_code == 0 and not c.regressions
    text = compare_table.render(c, width=120, color=False)
    # The median, its Δ and the verdict; under them the runs' range and the interval.
    assert re.search(r"wall time +0\.500 s +0\.530 s +\+0\.030 s +\+6\.0% +no significant *"
                     r"\n +0\.470–0\.600 +0\.450–0\.580 +-0\.150…\+0\.110 +change", text)


def test_a_significant_change_within_the_threshold_passes():
    c = compare_runs(repeated([1.00, 1.01, 1.02]), repeated([1.04, 1.05, 1.06]), 0.10)
    wall = total(c, "wall_seconds")
    assert wall.significance is not None and wall.significance.significant
    assert not wall.regression and c.exit_code == 0


def test_improvements_are_significant_and_never_fail():
    c = compare_runs(repeated(SLOW), repeated(BASE), 0.10)
    assert total(c, "wall_seconds").significance.high < 0
    assert c.exit_code == 0
    assert "faster" in render_comparison(c, "table")


def test_one_run_per_side_keeps_the_old_rule_and_says_it_is_untested():
    c = compare_runs(single(0.50), single(0.60), 0.10)
    assert total(c, "wall_seconds").significance is None
    assert total(c, "wall_seconds").regression and c.exit_code == 1
    note = next(n for n in c.notes if "not tested for significance" in n)
    assert "--repeat" in note
    for fmt in ("table", "markdown", "html"):
        assert "not tested for significance" in render_comparison(c, fmt)


def test_too_few_runs_on_one_side_are_medians_but_untested():
    c = compare_runs(repeated([0.50, 0.52]), repeated(SLOW), 0.10)
    wall = total(c, "wall_seconds")
    assert wall.before == 0.51 and wall.significance is not None
    assert not wall.significance.tested and wall.regression  # the untested rule applies
    assert any("2 and 3 runs" in n for n in c.notes)
    assert re.search(r"wall time ✗ .* not tested *\n.* \(2 and 3 runs\)",
                     compare_table.render(c, width=100, color=False))


def test_runs_that_did_not_end_normally_are_left_out_of_the_distribution():
    failed = repeated([0.50, 0.52, 0.49, 9.0], status="timeout")
    assert failed.outcome.status == "timeout" and failed.wall_seconds == 9.0  # the body
    c = compare_runs(failed, repeated(SAME), 0.10)
    assert c.before.runs == 3
    assert total(c, "wall_seconds").before == 0.50


def test_calls_pass_timings_are_tested_with_findings():
    from optadvisor.compare import with_findings
    from optadvisor.models import Recommendation, Report, Snippet, Summary

    rec = Recommendation(
        rule="OPT103", kind="await-in-loop", category="async", priority="high", score=70,
        path="app.py", line=5, column=1, end_line=5, end_column=2, symbol="score",
        component="x", title="t", message="m", evidence={}, impact="", confidence="high",
        effort="small", snippet=Snippet("", ""), fingerprint="f")
    scan = Report(root="/src", summary=Summary(
        files=1, lines=1, functions=1, components=1, errors=0, seconds=0.1, recommendations=1,
        by_priority={}, by_kind={}, candidates={}), recommendations=(rec,), targets=(),
        errors=())
    before = repeated(BASE, calls=[0.030, 0.031, 0.029])
    after = repeated(BASE, calls=[0.010, 0.011, 0.009])
    c = with_findings(compare_runs(before, after, 0.1), scan, "scan.json", (before, after))
    note = c.notes[-1]
    assert "Timed by the calls pass" in note and "significant (95% interval" in note
    # The sampled function with the finding carries its own test (equal work: no change).
    assert re.search(r"Functions with findings in scan\.json: 1, .*score \(OPT103\): "
                     r"0\.400 s → 0\.400 s \(\+0\.0%\), no significant change", note)
    same = repeated(BASE, calls=[0.030, 0.028, 0.032])
    c = with_findings(compare_runs(before, same, 0.1), scan, "scan.json", (before, same))
    assert "no significant change (95% interval" in c.notes[-1]


def test_every_format_shows_the_test_and_json_round_trips():
    c = compare_runs(repeated(BASE), repeated(SLOW), 0.10)
    table = compare_table.render(c, width=80, color=False)
    assert "medians of 3 runs" in table and max(map(len, table.splitlines())) <= 80
    assert re.search(r"wall time ✗ .* \+1\.000 s +\+200\.0% +significant *\n.*"
                     r"\+0\.940…\+1\.060", table)
    assert re.search(r"score .* regression *\n.*\+0\.752…\+0\.848", table)
    md = render_comparison(c, "markdown")
    assert "→ `after` (app.py) · medians of 3 and 3 runs" in md
    assert re.search(r"\| wall time ❌ \| 0\.500 s \| 1\.500 s \| .* \| 0\.490–0\.520 s → "
                     r"1\.460–1\.550 s \| \+0\.940 s … \+1\.060 s \| significant \|", md)
    assert re.search(r"\| `score` \|.*\| \+0\.752 s … \+0\.848 s \| ❌ regression \|", md)
    page = render_comparison(c, "html")
    assert "medians of 3 runs" in page
    assert re.search(r'significant · 95% interval \+0\.940 s … \+1\.060 s', page)
    assert '<span class="interval">+0.752 s … +0.848 s</span>' in page
    data = json.loads(render_comparison(c, "json"))
    wall = next(m for m in data["totals"] if m["name"] == "wall_seconds")
    assert wall["significance"]["significant"] is True
    assert data["before"]["runs"] == 3
    assert Comparison.from_dict(data) == c


def test_formats_escape_what_they_show():
    before = repeated(BASE, hot=EVIL + ESC)
    after = repeated(SLOW, hot=EVIL + ESC)
    c = compare_runs(before, after, 0.10, before_file=f"{EVIL}.json", after_file=ESC)
    table = render_comparison(c, "table")
    assert "\x1b" not in table and "\\x1b" in table
    page = render_comparison(c, "html")
    assert EVIL not in page and "&lt;script&gt;" in page
    md = render_comparison(c, "markdown")
    outside_code = re.sub(r"`[^`\n]*`", "", md)
    assert not re.search(r"(?<!\\)<(?!/?sub>)", outside_code)
    assert "\x1b" not in md


def test_runs_saved_before_repeats_existed_still_load(tmp_path: Path):
    new = repeated(BASE)
    saved = tmp_path / "new.json"
    save_run(new, saved)
    assert load_run(saved) == new
    old = json.loads(saved.read_text())
    del old["repeats"]  # what an older optadvisor wrote
    old_file = tmp_path / "old.json"
    old_file.write_text(json.dumps(old))
    loaded = load_run(old_file)
    assert loaded.repeats == ()
    c = compare_files(old_file, saved, 0.10)
    assert (c.before.runs, c.after.runs) == (1, 3)
    assert any("1 and 3 runs" in n for n in c.notes)


# --------------------------------------------------------------------------- profile reports


def profile_report(run: ProfileRun):
    from optadvisor.models import Report, Summary
    from optadvisor.profile.summary import profile_summary

    summary = Summary(files=1, lines=10, functions=2, components=1, errors=0, seconds=0.1,
                      recommendations=0, by_priority={}, by_kind={},
                      candidates={"caching": 0, "async": 0, "profiling": 0, "optimization": 0})
    return Report(root="/src", summary=summary, recommendations=(), targets=(), errors=(),
                  tool_version="0.1.0", profile=profile_summary(run, "run.json"))


def test_profile_reports_show_the_median_and_spread_of_the_runs():
    import jsonschema

    from optadvisor.render import get_renderer

    report = profile_report(repeated([0.50, 0.62, 0.47], calls=[0.030, 0.028, 0.033]))
    repeats = report.profile["repeats"]
    assert (repeats["runs"], repeats["ok"]) == (3, 3)
    assert repeats["wall_seconds"] == {"median": 0.5, "min": 0.47, "max": 0.62}
    score = next(f for f in repeats["functions"] if f["name"] == "score")
    assert score["total_seconds"]["median"] == 0.4
    assert repeats["calls"][0]["mean_ms"] == {"median": 30.0, "min": 28.0, "max": 33.0}
    line = "3 runs (--repeat): wall median 0.50 s (0.47 s–0.62 s)"
    table = get_renderer("table")(report)
    assert line in table and re.search(r"score +app\.py:5 +total +0\.40 s +0\.38 s–0\.50 s", table)
    assert re.search(r"score +app\.py:5 +per call +30\.00 ms +28\.00 ms–33\.00 ms", table)
    assert line in get_renderer("full")(report)
    md = get_renderer("markdown")(report)
    assert "Repeated runs: " + line in md
    assert "| `score` | `app.py:5` | per call | 30.00 ms | 28.00 ms–33.00 ms |  |" in md
    page = get_renderer("html")(report)
    assert 'id="profile-repeats"' in page and line in page
    document = json.loads(get_renderer("json")(report))
    schema = json.loads((Path(__file__).resolve().parent.parent / "optadvisor"
                         / "report.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["profile"]["repeats"]["functions"][0]["name"] == "main"
    one = profile_report(single(0.5))
    assert one.profile["repeats"] is None
    assert "--repeat" not in get_renderer("table")(one)
    jsonschema.validate(json.loads(get_renderer("json")(one)), schema)


def test_profile_reports_escape_the_repeated_functions_names():
    from optadvisor.render import get_renderer

    report = profile_report(repeated(BASE, hot=EVIL + ESC, calls=[0.03, 0.03, 0.03]))
    for name in ("table", "full"):
        text = get_renderer(name)(report)
        assert "\x1b" not in text and "\\x1b" in text
    page = get_renderer("html")(report)
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = get_renderer("markdown")(report)
    assert "\x1b" not in md and f"`{EVIL}\\x1b" in md


def test_a_function_missing_from_the_median_run_is_still_compared():
    before = repeated(BASE)
    # `score` in the before runs but the representative (median wall) one: it is not new.
    body = representative(before.repeats)
    runs = tuple(dataclasses.replace(r, functions=r.functions[:1]) if i == body else r
                 for i, r in enumerate(before.repeats))
    before = dataclasses.replace(before, repeats=runs,
                                 functions=tuple(f for f in before.functions if f.name != "score"))
    c = compare_runs(before, repeated(SLOW), 0.10)
    score = row(c, "score")
    assert score.status == "changed" and score.before_total == 0.392  # median of 0, .392, .416
    assert score.significance is not None and score.significance.significant
    assert score.regression


def _covered(run: ProfileRun, fraction: float) -> ProfileRun:
    """The same run as if the sampler had covered only `fraction` of each repeat's wall
    time (it attached late): every function's time scaled down."""
    def scaled(functions):
        return tuple(dataclasses.replace(f, self_seconds=round(f.self_seconds * fraction, 4),
                                         total_seconds=round(f.total_seconds * fraction, 4))
                     for f in functions)
    repeats = tuple(dataclasses.replace(r, functions=scaled(r.functions)) for r in run.repeats)
    return dataclasses.replace(run, repeats=repeats, functions=scaled(run.functions))


def test_time_the_samples_gain_by_covering_more_of_the_run_is_no_regression():
    # CI on 2 cores: py-spy attached late in the before runs (0.09 s of a 0.16 s script
    # sampled), on time in the after runs: `<module>` read +78% at the same wall time.
    before = _covered(repeated([0.158, 0.159, 0.157], share=0.9, hot="<module>"), 0.57)
    after = repeated([0.165, 0.164, 0.166], share=0.9, hot="<module>")
    c = compare_runs(before, after, 0.5)
    assert row(c, "main").delta_pct > 50
    assert not c.regressions, [r.message for r in c.regressions]
    # Three times the work is still a regression whatever the coverage.
    slower = repeated([0.48, 0.47, 0.49], share=0.9, hot="<module>")
    assert {r.subject for r in compare_runs(before, slower, 0.5).regressions} >= {"main"}
    # Without a root frame to measure coverage by, nothing is discounted.
    plain = compare_runs(_covered(repeated([0.158, 0.159, 0.157]), 0.57),
                         repeated([0.165, 0.164, 0.166]), 0.5)
    assert {r.subject for r in plain.regressions} >= {"main"}
