"""Each fixture script's documented hotspot (fixtures/scripts/README.md), found by real
py-spy runs of the default sampling pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from profile_support import SCRIPTS, by_name, py_spy_problem, top_user

from optadvisor.models import ProfileRun
from optadvisor.profile import ProfileOptions, load_run, run_profile, save_run

pytestmark = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")

_RUNS: dict[tuple[str, tuple[str, ...]], ProfileRun] = {}


CPU_BOUND_ARGS = ("--n", "4000")
"""About 2 s instead of the script's default 1 s: on a loaded 2-core runner py-spy has
taken no samples of a 1 s run (it attaches, then falls behind); twice as long a run leaves
it time to catch up."""


def profiled(script: str, *args: str) -> ProfileRun:
    """One sampling run per script for the whole module (the runs are the slow part)."""
    key = (script, args)
    if key not in _RUNS:
        _RUNS[key] = run_profile(ProfileOptions(
            script=SCRIPTS / script, args=args, lines=False, stdout="null", stdin="null",
            timeout=60))
    run = _RUNS[key]
    assert run.outcome.status == "ok", run.outcome
    assert run.environment.sampler.startswith("py-spy"), run.notes
    assert run.errors == ()
    return run


def test_cpu_bound_top_is_score():
    run = profiled("cpu_bound.py", *CPU_BOUND_ARGS)
    top = top_user(run)
    assert top.name == "score" and top.path.endswith("cpu_bound.py") and top.line == 15
    assert top.cpu_pct > 50
    assert run.samples.idle < 0.2 * run.samples.total


def test_io_wait_top_is_fetch_and_it_waits():
    run = profiled("io_wait.py")
    top = top_user(run)
    assert top.name == "fetch"
    assert top.idle_pct > 60
    assert run.samples.idle > 0.6 * run.samples.total
    line = next(ln for ln in run.lines if ln.function == "fetch" and ln.user)
    assert "time.sleep" in line.code and line.idle_pct > 60
    assert run.cpu_seconds < 0.6 * run.wall_seconds


def test_async_sequential_waits_in_the_event_loop():
    run = profiled("async_sequential.py")
    assert run.samples.idle > 0.5 * run.samples.total
    waiting = max(run.functions, key=lambda f: f.idle_pct - f.total_pct + f.self_pct)
    assert waiting.name.endswith("select") and waiting.path.endswith("selectors.py")
    assert not waiting.user
    busiest = max((f for f in run.user_functions() if f.name != "<module>"),
                  key=lambda f: f.cpu_pct)
    assert busiest.name == "decode"


def test_async_gathered_top_is_checksum():
    run = profiled("async_gathered.py")
    assert top_user(run).name == "checksum"
    assert run.loop_lag is not None  # an asyncio program


def test_memory_growth_top_is_build_record_and_rss_grows_steadily():
    run = profiled("memory_growth.py")
    busiest = max(run.user_functions(), key=lambda f: f.cpu_pct)
    assert busiest.name == "build_record"
    memory = run.memory
    assert memory is not None and memory.leak_suspected
    assert memory.rss_r2 > 0.8 and memory.rss_slope > 10 * 1024 * 1024
    assert run.metrics.rss_peak - run.metrics.rss_start > 40 * 1024 * 1024


def test_subprocess_workers_top_is_simulate_in_two_processes():
    run = profiled("subprocess_workers.py")
    top = top_user(run)
    assert top.name == "simulate"
    assert top.processes == 2
    assert run.samples.processes == 3
    wait = by_name(run, "Popen.wait", user=False)
    assert wait.idle_pct > 50
    assert run.metrics.processes_max >= 2


def test_slow_pipeline_top_is_load_config(tmp_path: Path):
    run = profiled("slow_pipeline.py", "--items", "200")
    top = top_user(run)
    assert top.name == "load_config" and top.line == 22
    assert top.self_pct < top.user_self_pct  # the json parsing is charged to it
    assert run.command[-2:] == ("--items", "200")
    # A real run survives the trip through --save-run.
    path = tmp_path / "run.json"
    save_run(run, path)
    assert load_run(path) == run
    assert json.loads(path.read_text())["kind"] == "profile-run"


def test_monitor_timeline_and_resource_usage_are_recorded():
    run = profiled("cpu_bound.py", *CPU_BOUND_ARGS)
    metrics = run.metrics
    assert metrics is not None and len(metrics.samples) >= 3
    assert metrics.cpu_max_pct > 20  # loose: other jobs share the machine
    assert metrics.rusage is not None and metrics.rusage.user_seconds > 0.1
    assert run.cpu_seconds > 0.1
    assert [p.name for p in run.passes] == ["sample"]
