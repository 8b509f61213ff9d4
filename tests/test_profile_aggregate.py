"""Folding samples into functions, lines and threads; the speedscope reader; the monitor;
cProfile rows. Synthetic inputs, no profiler runs: fast."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from optadvisor.models import MetricSample
from optadvisor.profile.aggregate import Frame, RawProfile, aggregate
from optadvisor.profile.fallback import functions_from_cprofile, raw_from_samples
from optadvisor.profile.monitor import Monitor, rss_trend
from optadvisor.profile.passes import rss_report
from optadvisor.profile.sampling import parse_speedscope
from optadvisor.profile.sources import SourceIndex, function_spans

APP = textwrap.dedent("""\
    import json
    import time


    class Loader:
        @staticmethod
        def read(path):
            return json.loads(path)


    def wait():
        time.sleep(1)


    def main():
        Loader.read("{}")
        wait()
        return [x for x in range(3)]
    """)


def write_app(tmp_path: Path) -> str:
    path = tmp_path / "app.py"
    path.write_text(APP, encoding="utf-8")
    return str(path)


def test_function_spans_have_qualified_names_and_def_lines():
    spans = {s.qualname: s for s in function_spans(APP)}
    assert spans["Loader.read"].line == 7
    assert spans["Loader.read"].first_line == 6  # the decorator
    assert spans["main"].line == 15 and spans["main"].end_line == 18


def speedscope(app: str, stdlib_json: str) -> dict:
    frames = [
        {"name": 'process 10:"python app.py"', "file": "", "line": 0},
        {"name": "thread (10)", "file": "", "line": 0},
        {"name": "<module>", "file": "/opt/optadvisor/_bootstrap.py", "line": 500},
        {"name": "main", "file": "/opt/optadvisor/_bootstrap.py", "line": 57},
        {"name": "<module>", "file": app, "line": 20},
        {"name": "main", "file": app, "line": 16},
        {"name": "Loader.read", "file": app, "line": 8},
        {"name": "loads", "file": stdlib_json, "line": 346},
        {"name": "main", "file": app, "line": 17},
        {"name": "wait", "file": app, "line": 12},
        {"name": "_environment", "file": "/opt/optadvisor/_bootstrap.py", "line": 90},
    ]
    busy = [0, 1, 2, 3, 4, 5, 6, 7]
    idle = [0, 1, 2, 3, 4, 8, 9]
    gate = [0, 1, 2, 3]
    after = [0, 1, 2, 3, 10]
    return {"shared": {"frames": frames}, "profiles": [
        {"type": "sampled", "name": 'Process 10 Thread 10 ""',
         "samples": [busy] * 30 + [idle] * 70 + [gate] * 2 + [after] * 3},
        {"type": "sampled", "name": 'Process 10 Thread 11 "worker"',
         "samples": [[0, 9]] * 50},
    ]}


def test_speedscope_folds_into_functions_lines_and_threads(tmp_path: Path):
    app = write_app(tmp_path)
    stdlib = str(Path(os.__file__).parent)
    raw = parse_speedscope(speedscope(app, stdlib + "/json/__init__.py"), 100, main_pid=10)
    assert raw.main == (10, 10)
    assert raw.thread_names[(10, 11)] == "worker"
    assert not any(f.name.startswith(("process ", "thread (")) for f in raw.frames)

    found = aggregate(raw, SourceIndex(stdlib=stdlib), str(tmp_path),
                      launcher="/opt/optadvisor/_bootstrap.py", script=app)
    summary = found.summary
    assert summary.dropped == 5  # the gate and the result collection are not the script's
    assert summary.total == 150 and summary.ticks == 100
    funcs = {(f.name, f.user): f for f in found.functions}
    read = funcs[("Loader.read", True)]
    assert read.line == 7 and read.path == "app.py"
    assert read.self_pct == 0.0 and read.total_pct == 30.0
    assert read.user_self_pct == 30.0  # json.loads is charged to the user code calling it
    loads = funcs[("loads", False)]
    assert loads.cpu_pct == 100.0 and loads.user_self_pct == 0.0
    wait = funcs[("wait", True)]
    assert wait.idle_pct == 120.0  # 70 main-thread + 50 worker samples over 100 ticks
    assert wait.threads == 2
    main = funcs[("main", True)]
    assert main.total_pct == 100.0 and main.idle_pct == 70.0 and main.line == 15
    assert summary.idle == 120
    lines = {(ln.function, ln.line): ln for ln in found.lines}
    assert lines[("wait", 12)].code == "time.sleep(1)"
    assert lines[("wait", 12)].idle_pct == 120.0
    threads = {t.tid: t for t in summary.threads}
    assert threads[10].name == "MainThread" and threads[10].top == "loads"
    assert threads[11].idle == 50


def test_idle_needs_a_waiting_leaf(tmp_path: Path):
    app = tmp_path / "busy.py"
    app.write_text("def spin():\n    return sum(range(10))\n", encoding="utf-8")
    raw = RawProfile(sampler="test", rate=10)
    index: dict[Frame, int] = {}
    leaf = raw.intern(Frame("spin", str(app), 2), index)
    raw.stacks[(1, 1, (leaf,))] = 10
    raw.main = (1, 1)
    found = aggregate(raw, SourceIndex(), str(tmp_path))
    assert found.summary.idle == 0
    assert found.functions[0].self_seconds == 1.0 and found.functions[0].cpu_pct == 100.0


def test_in_process_samples_use_their_real_rate(tmp_path: Path):
    app = write_app(tmp_path)
    data = {"frames": [["main", app, 16], ["wait", app, 12]], "ticks": 50, "elapsed": 1.0,
            "stacks": [[77, [0, 1], 50]], "main": 77, "names": {"77": "MainThread"}}
    raw = raw_from_samples(data, pid=5, rate=100)
    assert raw.rate == 50 and raw.main == (5, 77)
    found = aggregate(raw, SourceIndex(), str(tmp_path))
    wait = next(f for f in found.functions if f.name == "wait")
    assert wait.idle_seconds == 1.0 and wait.idle_pct == 100.0


def test_cprofile_rows_charge_library_time_to_the_caller(tmp_path: Path):
    app = write_app(tmp_path)
    rows = [
        [app, 15, "main", 1, 0.01, 1.0, []],
        [app, 11, "wait", 1, 0.0, 0.9, [[app, 15, "main", 0.9]]],
        ["~", 0, "<built-in method time.sleep>", 1, 0.9, 0.9, [[app, 11, "wait", 0.9]]],
    ]
    funcs = {f.name: f for f in functions_from_cprofile(rows, SourceIndex(), str(tmp_path), 1.0)}
    assert set(funcs) == {"main", "wait"}
    assert funcs["wait"].user_self_seconds == 0.9 and funcs["wait"].line == 11
    assert funcs["main"].total_pct == 100.0 and funcs["main"].calls == 1


def test_rss_trend_and_leak_suspicion():
    steady = tuple(MetricSample(t=i * 0.1, cpu_pct=0, rss=10_000_000 + i * 4_000_000,
                                threads=1, processes=1) for i in range(20))
    slope, r2 = rss_trend(steady)
    assert abs(slope - 40_000_000) < 1 and r2 > 0.999

    from optadvisor.models import SystemMetrics

    grows = SystemMetrics(0.1, steady, rss_start=10_000_000)
    assert rss_report(grows).leak_suspected
    flat = tuple(MetricSample(t=i * 0.1, cpu_pct=0, rss=10_000_000 + (i % 2) * 30_000_000,
                              threads=1, processes=1) for i in range(20))
    assert not rss_report(SystemMetrics(0.1, flat, rss_start=10_000_000)).leak_suspected
    short = SystemMetrics(0.1, steady[:4], rss_start=10_000_000)
    assert not rss_report(short).leak_suspected


def test_monitor_sees_the_tree_and_survives_vanishing_children():
    code = ("import subprocess, sys, time\n"
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(0.15)'])\n"
            "x = 0\n"
            "end = time.time() + 0.6\n"
            "while time.time() < end: x += 1\n"
            "c.wait()\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    monitor = Monitor(proc.pid, interval=0.05)
    monitor.start()
    proc.wait()
    time.sleep(0.1)
    monitor.stop()
    metrics = monitor.metrics()
    assert len(metrics.samples) >= 5
    assert metrics.processes_max == 2
    assert metrics.cpu_max_pct > 30
    assert metrics.rss_peak > 1_000_000
    assert metrics.samples[0].cpu_pct == 0.0  # the first tick only sets baselines
    switches = [s.ctx_switches for s in metrics.samples]
    assert switches == sorted(switches)  # cumulative counters never go backwards


def test_the_launcher_waiting_for_a_thread_it_starts_is_not_the_program(tmp_path: Path):
    """The lag monitor starts its watcher from the program's run_forever: for a moment the
    main thread waits in Thread.start under a launcher frame. Those samples are ours (a CI
    run once listed `Condition.wait` among the program's functions)."""
    app = tmp_path / "app.py"
    app.write_text("def main():\n    run()\n", encoding="utf-8")
    launcher = str(tmp_path / "_bootstrap.py")
    threading_py = "/usr/lib/python3.11/threading.py"
    raw = RawProfile(sampler="test", rate=10)
    index: dict[Frame, int] = {}
    user = raw.intern(Frame("main", str(app), 2), index)
    patched = raw.intern(Frame("run_forever", launcher, 300), index)
    start = raw.intern(Frame("Thread.start", threading_py, 957), index)
    wait = raw.intern(Frame("Condition.wait", threading_py, 320), index)
    raw.stacks[(1, 1, (user, patched, start, wait))] = 3
    raw.stacks[(1, 1, (user,))] = 7
    raw.main = (1, 1)
    found = aggregate(raw, SourceIndex(), str(tmp_path), launcher=launcher, script=str(app))
    assert [f.name for f in found.functions] == ["main"]
    assert found.functions[0].self_seconds == 0.7
