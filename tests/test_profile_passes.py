"""The targeted passes: line-profiler timings, tracemalloc per function, memory-profiler's
line report for one function, and when the line pass runs by default."""

from __future__ import annotations

import pytest
from profile_support import SCRIPTS, py_spy_problem

from optadvisor.profile import ProfileOptions, run_profile

pytestmark = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")


def test_line_pass_times_the_lines_of_the_top_functions():
    run = run_profile(ProfileOptions(script=SCRIPTS / "slow_pipeline.py",
                                     args=("--items", "60"), lines=True, stdout="null"))
    assert [p.name for p in run.passes] == ["sample", "lines"]
    assert any("ran twice" in note for note in run.notes)
    timed = {t.name: t for t in run.line_timings}
    assert "load_config" in timed
    load = timed["load_config"]
    assert load.line == 22 and load.path.endswith("slow_pipeline.py")
    heaviest = max(load.lines, key=lambda ln: ln.seconds)
    assert heaviest.code == "return json.load(handle)"
    assert heaviest.hits == 60 and heaviest.pct > 50
    lines_pass = run.passes[1]
    assert lines_pass.status == "ok" and lines_pass.overhead > 0


def test_memory_pass_peaks_sites_and_line_report():
    run = run_profile(ProfileOptions(script=SCRIPTS / "memory_growth.py", args=("--steps", "3"),
                                     lines=False, memory=True, memory_lines="remember",
                                     stdout="null"))
    assert [p.name for p in run.passes] == ["sample", "memory", "memory-lines"]
    memory = run.memory
    assert memory.peak_bytes > 15 * 1024 * 1024
    build = next(f for f in memory.functions if f.name == "build_record")
    assert build.calls == 3000
    assert 7_000 < build.net_bytes < 9_000  # each call returns a ~7 KB record
    assert build.sites and build.sites[0].line == 15
    assert memory.sites[0].path.endswith("memory_growth.py") and memory.sites[0].line == 15
    assert memory.line_function == "remember"
    lines = {ln.line: ln for ln in memory.line_report}
    assert lines[19].occurrences == 3000 and "_CACHE[i]" in lines[19].code
    assert run.errors == ()


def test_memory_lines_for_an_unknown_function_is_an_error_not_a_crash():
    run = run_profile(ProfileOptions(script=SCRIPTS / "cpu_bound.py", args=("--n", "50"),
                                     lines=False, memory_lines="no_such_function",
                                     stdout="null"))
    assert run.outcome.status == "ok"
    error = next(e for e in run.errors if e.pass_name == "memory-lines")
    assert "no_such_function" in error.message


def test_line_pass_runs_only_when_asked():
    # It runs the program a second time (output and side effects twice): never by default.
    run = run_profile(ProfileOptions(script=SCRIPTS / "cpu_bound.py", args=("--n", "50"),
                                     stdout="null"))
    assert run.line_timings == () and [p.name for p in run.passes] == ["sample"]
    assert not any("ran twice" in note for note in run.notes)


def test_line_pass_can_be_turned_off():
    run = run_profile(ProfileOptions(script=SCRIPTS / "cpu_bound.py", args=("--n", "50"),
                                     lines=False, stdout="null"))
    assert run.line_timings == () and [p.name for p in run.passes] == ["sample"]
