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


def test_lines_and_memory_run_once_with_repeat_and_say_so():
    # The detail passes multiply a run's cost and compare does not test their figures: with
    # --repeat they run once, after the measured runs, and their counts are one run's.
    run = run_profile(ProfileOptions(script=SCRIPTS / "memory_growth.py", args=("--steps", "3"),
                                     repeat=3, lines=True, memory=True, stdout="null"))
    assert [p.name for p in run.passes] == ["sample"] * 3 + ["lines", "memory"]
    assert len(run.repeats) == 3
    once = [n for n in run.notes if "the program ran once more" in n]
    assert len(once) == 2 and "--lines" in once[0] and "--memory" in once[1]
    assert all("not medians" in n and "`compare` does not use them" in n for n in once)
    assert not any("ran twice" in note for note in run.notes)  # it ran 5 times
    build = next(t for t in run.line_timings if t.name == "build_record")
    assert max(line.hits for line in build.lines) == 3000  # one run's calls, not 3 × 3000
    assert next(f for f in run.memory.functions if f.name == "build_record").calls == 3000
