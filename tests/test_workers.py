"""Analysis in worker processes: the number of workers never changes results, and a worker
that dies costs exactly the file it died on (an `internal-error` record), nothing else.

Worker deaths and hangs are simulated with the test-only hooks in optadvisor/workers.py:
OPTADVISOR_TEST_CRASH_ON=<substring> makes a worker `os._exit(1)` on a file whose path
contains it, OPTADVISOR_TEST_HANG_ON makes it wait forever (only the parent's budget ends
it). Those scans run in a subprocess whose environment sets the variable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import FIXTURES, write

from optadvisor.api import ScanOptions, scan
from optadvisor.workers import _death, default_jobs, worker_count

BLOCKING = '''import requests


async def handler(url):
    return requests.get(url, timeout=5)
'''


def comparable(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    data["summary"].pop("seconds", None)
    return data


def test_jobs_1_and_2_give_identical_results():
    one = scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=1))
    two = scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=2))
    assert one.summary.files > 10 and one.summary.recommendations > 10
    assert comparable(one.to_dict()) == comparable(two.to_dict())


def test_jobs_identical_with_bad_files_mixed_in(tmp_path: Path):
    files = {f"agents/a{i}/run.py": BLOCKING + f"\nN = {i}\n" for i in range(8)}
    files.update({"agents/a1/broken.py": "def f(:\n", "agents/a2/nul.py": b"x\0",
                  "agents/a3/empty.py": ""})
    write(tmp_path, files)
    reports = [scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=j)).to_dict()
               for j in (1, 2)]
    assert comparable(reports[0]) == comparable(reports[1])
    assert reports[0]["summary"]["files"] == 9 and reports[0]["summary"]["errors"] == 2


def cli_scan(root: Path, *args: str, env: dict[str, str] | None = None,
             timeout: int = 180) -> tuple[dict, str]:
    """`optadvisor scan ROOT --format json --fail-on never ARGS` in a child process with
    these environment variables added: its JSON report and its stderr (it must exit 0)."""
    proc = subprocess.run(
        [sys.executable, "-m", "optadvisor", "scan", str(root), "--format", "json",
         "--fail-on", "never", *args],
        check=False, capture_output=True, text=True, env={**os.environ, **(env or {})},
        timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def crash_scan(root: Path, needle: str, *extra: str) -> dict:
    return cli_scan(root, "--no-cache", *extra, env={"OPTADVISOR_TEST_CRASH_ON": needle})[0]


def test_a_dying_worker_costs_one_file(tmp_path: Path):
    files = {f"agents/a{i % 3}/mod{i}.py": BLOCKING + f"\nN = {i}\n" for i in range(30)}
    files["agents/a1/boom_crash.py"] = BLOCKING
    root = write(tmp_path / "repo", files)
    report = crash_scan(root, "boom_crash", "--jobs", "2")
    assert report["errors"] == [{
        "path": "agents/a1/boom_crash.py", "kind": "internal-error",
        "message": report["errors"][0]["message"]}]
    # How it died is said (the hook's os._exit(1)), with nothing that blames memory.
    assert "died on this file (exit code 1)" in report["errors"][0]["message"]
    assert report["summary"]["files"] == 30
    paths = {r["path"] for r in report["recommendations"]}
    assert paths == set(files) - {"agents/a1/boom_crash.py"}
    # The other 30 files are analyzed exactly as without a crash.
    clean = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1)).to_dict()
    assert report["recommendations"] == [r for r in clean["recommendations"]
                                         if r["path"] != "agents/a1/boom_crash.py"]


def test_two_dying_workers_and_the_cache_stays_clean(tmp_path: Path):
    files = {f"pkg/mod{i}.py": BLOCKING + f"\nN = {i}\n" for i in range(10)}
    files.update({"pkg/crash_a.py": BLOCKING + "\nA = 1\n", "pkg/crash_b.py": "x = 1\n"})
    root = write(tmp_path / "repo", files)
    cache = tmp_path / "cache"
    report, _ = cli_scan(root, "--jobs", "2", env={
        "OPTADVISOR_TEST_CRASH_ON": "crash_", "OPTADVISOR_CACHE_DIR": str(cache)})
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [
        ("pkg/crash_a.py", "internal-error"), ("pkg/crash_b.py", "internal-error")]
    assert report["summary"]["files"] == 10
    # Crashed files are not cached as anything: a later scan without the crash analyzes them.
    warm = scan(ScanOptions(paths=(root,), cache_dir=cache, jobs=1))
    assert warm.errors == ()
    assert warm.summary.cached_files == 10 and warm.summary.files == 12


def test_one_file_with_jobs_1_is_analyzed_in_a_worker_too(tmp_path: Path):
    # A native crash on the only file costs that file, never the whole scan.
    root = write(tmp_path / "repo", {"a.py": BLOCKING, "boom_crash.py": BLOCKING})
    report = crash_scan(root, "boom_crash", "--jobs", "1")
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [
        ("boom_crash.py", "internal-error")]
    assert report["summary"]["files"] == 1


def test_a_file_that_hangs_its_worker_costs_that_file(tmp_path: Path):
    files = {f"pkg/mod{i}.py": BLOCKING + f"\nN = {i}\n" for i in range(6)}
    files["pkg/stuck_here.py"] = BLOCKING
    files["pyproject.toml"] = "[tool.optadvisor]\nmax-file-seconds = 2\n"
    root = write(tmp_path / "repo", files)
    report, _ = cli_scan(root, "--no-cache", "--jobs", "2",
                         env={"OPTADVISOR_TEST_HANG_ON": "stuck_here"}, timeout=120)
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [
        ("pkg/stuck_here.py", "too-slow")]
    assert "max-file-seconds" in report["errors"][0]["message"]
    assert report["summary"]["files"] == 6
    assert {r["path"] for r in report["recommendations"]} == {
        f"pkg/mod{i}.py" for i in range(6)}


def test_a_slow_file_is_stopped_at_the_budget_and_not_cached(tmp_path: Path):
    # Real slowness, no hook: CPython 3.11's parser needs seconds for an f-string with
    # 40,000 placeholders (quadratic), far over a one-second budget.
    slow = 'x = f"' + "{a}b" * 40_000 + '"\n'
    root = write(tmp_path / "repo", {
        "slow.py": slow, "fine.py": BLOCKING,
        "pyproject.toml": "[tool.optadvisor]\nmax-file-seconds = 1\n"})
    cache = tmp_path / "cache"
    report = scan(ScanOptions(paths=(root,), cache_dir=cache, jobs=2))
    assert [(e.path, e.kind) for e in report.errors] == [("slow.py", "too-slow")]
    assert report.summary.files == 1 and report.summary.recommendations >= 1
    # A busy machine may have caused it: the next scan tries the file again.
    again = scan(ScanOptions(paths=(root,), cache_dir=cache, jobs=2))
    assert again.summary.cached_files == 1 and [e.kind for e in again.errors] == ["too-slow"]


def test_a_150000_term_expression_is_a_record_not_a_segfault(tmp_path: Path):
    # The analysis thread must really get its big stack: it used to get the default one
    # (the size was restored before start()), and CPython's parser overflowed it.
    source = tmp_path / "long.py"
    source.write_text("b = 1\nx = " + " + ".join(["b"] * 150_000) + "\n")
    code = ("import sys; from pathlib import Path; "
            "from optadvisor.analyze import analyze_bytes, run_with_deep_stack; "
            "from optadvisor.analyze.catalog import load_catalog; "
            "data = Path(sys.argv[1]).read_bytes(); "
            "r = run_with_deep_stack(lambda: analyze_bytes('long.py', data, load_catalog([]), 0)); "
            "print(r.kind)")
    proc = subprocess.run([sys.executable, "-c", code, str(source)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-500:])
    assert proc.stdout.strip() == "too-deep"


def test_jobs_are_clamped_to_files_and_cores():
    assert worker_count(10_000, 60) == min(60, default_jobs() * 2)
    assert worker_count(4, 1) == 1
    assert worker_count(0, 5) == 1


def test_jobs_10000_starts_at_most_twice_the_cores_and_says_so(tmp_path: Path):
    # `--jobs 10000` on 60 files started 64 processes (2.7 GiB). The files hang their
    # workers, so every worker the scan starts is alive when counted.
    files = {f"pkg/stuck_{i}.py": BLOCKING for i in range(3 * default_jobs() + 1)}
    root = write(tmp_path / "repo", files)
    env = {**os.environ, "OPTADVISOR_TEST_HANG_ON": "stuck_"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "optadvisor", "scan", str(root), "--no-cache", "--jobs",
         "10000", "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    parent = psutil.Process(proc.pid)
    expected = default_jobs() * 2
    most = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            most = max(most, len(parent.children()))
            if most >= expected:
                time.sleep(1.0)  # and a second more for any extra one to show up
                most = max(most, len(parent.children()))
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert most == expected
    assert f"jobs = 10,000 is more than twice the {default_jobs()} core(s): at most " \
        f"{expected} worker processes" in err


@pytest.mark.parametrize("signum, portable", [
    (signal.SIGTERM, False), (signal.SIGKILL, False), (signal.SIGHUP, False),
    # What other systems have (no parent-death signal): the worker's watch on its parent.
    (signal.SIGKILL, True), (signal.SIGTERM, True)])
def test_no_worker_outlives_a_killed_scan(tmp_path: Path, signum: int, portable: bool):
    # What CI runners, `timeout` and `docker stop` send: the workers must go with the scan
    # (they used to stay, reparented to init, with the forkserver and resource tracker).
    files = {f"pkg/stuck_{i}.py": BLOCKING for i in range(4)}
    root = write(tmp_path / "repo", files)
    tag = f"{os.getpid()}-{signum}-{time.monotonic_ns()}"
    env = {**os.environ, "OPTADVISOR_TEST_HANG_ON": "stuck_", "OPTADVISOR_TEST_TAG": tag}
    if portable:
        env["OPTADVISOR_TEST_PORTABLE"] = "1"
    notes = tmp_path / "stuck"
    notes.mkdir()
    env["OPTADVISOR_TEST_HANG_NOTES"] = str(notes)
    proc = subprocess.Popen(
        [sys.executable, "-m", "optadvisor", "scan", str(root), "--no-cache", "--jobs", "2",
         "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and len(list(notes.iterdir())) < 2:
        time.sleep(0.1)
    workers = parent.children(recursive=True)
    # Killed while each worker is stuck on a file (not between files, when the end of
    # its pipe alone would end it).
    assert len(list(notes.iterdir())) >= 2, "the workers never got their files"
    proc.send_signal(signum)
    proc.wait(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=5)
    # A zombie is dead (it waits for its new parent to reap it: a subreaper that never
    # does, when a profile run earlier in this process made pytest one).
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left behind: {alive}"
    # And over the whole process table: anything the scan started, however late, carries
    # the tag in its environment.
    assert tagged(tag) == [], "a process of the killed scan is still running"


def tagged(tag: str) -> list[psutil.Process]:
    """Live processes whose environment carries OPTADVISOR_TEST_TAG=tag."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("OPTADVISOR_TEST_TAG") == tag and \
                    proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_memory_grabbed_between_two_polls_is_stopped_at_the_budget(tmp_path: Path):
    # The parent weighs its workers' resident memory every quarter second: what a file
    # allocates and lets go between two looks went unseen. The ceiling inside the worker
    # stops the allocation itself (the hook's 768 MiB are never written, so only it can).
    files = {f"pkg/mod{i}.py": BLOCKING + f"\nN = {i}\n" for i in range(6)}
    files["pkg/spike_here.py"] = BLOCKING
    files["pyproject.toml"] = "[tool.optadvisor]\nmax-file-mib = 128\n"
    root = write(tmp_path / "repo", files)
    report, _ = cli_scan(root, "--no-cache", "--jobs", "2", env={
        "OPTADVISOR_TEST_SPIKE_ON": "spike_here", "OPTADVISOR_TEST_SPIKE_MIB": "768"})
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [
        ("pkg/spike_here.py", "out-of-memory")]
    assert "max-file-mib" in report["errors"][0]["message"]
    # The worker that hit its ceiling is replaced; every other file is analyzed.
    assert report["summary"]["files"] == 6
    assert {r["path"] for r in report["recommendations"]} == {
        f"pkg/mod{i}.py" for i in range(6)}


# 2,000 lines of `xN = f(a, b)[c].d` (40 KB): libcst's native (Rust) parser needs more than
# 64 MiB for its memo tables, CPython's about 10 MiB. 20,000 lines (430 KB): CPython's
# parser itself runs out of 64 MiB.
def _lines(count: int) -> str:
    return "".join(f"x{i} = f(a, b)[c].d\n" for i in range(count))


def memory_scan(root: Path) -> tuple[dict, str]:
    # RUST_BACKTRACE=1: the parser's 40-line backtrace must not reach the user either way.
    return cli_scan(root, "--no-cache", "--jobs", "1", env={"RUST_BACKTRACE": "1"})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the ceiling is Linux's")
@pytest.mark.parametrize("lines", [2_000, 20_000])
def test_a_parser_past_the_memory_ceiling_is_an_out_of_memory_record(tmp_path: Path,
                                                                      lines: int):
    # libcst's parser does not raise MemoryError past the ceiling: Rust aborts the worker
    # ("memory allocation of N bytes failed", SIGABRT), which was recorded as an
    # internal error ("died"). CPython's parser raises a bare MemoryError, which was read
    # as "nests too deeply". Both are a file too big for its memory budget.
    root = write(tmp_path / "repo", {
        "pkg/big.py": _lines(lines), "pkg/fine.py": BLOCKING,
        "pyproject.toml": "[tool.optadvisor]\nmax-file-mib = 64\n"})
    report, stderr = memory_scan(root)
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [
        ("pkg/big.py", "out-of-memory")]
    assert "more than 64 MiB" in report["errors"][0]["message"]
    assert "max-file-mib" in report["errors"][0]["message"]
    assert report["summary"]["files"] == 1
    assert [r["path"] for r in report["recommendations"]] == ["pkg/fine.py"]
    assert "memory allocation" not in stderr and "backtrace" not in stderr
    # With room enough, the same file is analyzed.
    (root / "pyproject.toml").write_text("[tool.optadvisor]\nmax-file-mib = 1024\n")
    report, _ = memory_scan(root)
    assert report["errors"] == [] and report["summary"]["files"] == 2


def test_a_death_is_out_of_memory_only_when_its_last_words_say_an_allocation_failed():
    rust = "memory allocation of 540688 bytes failed\nstack backtrace:\n   0: rust_oom\n"
    assert _death("a.py", -signal.SIGABRT, rust, 64).kind == "out-of-memory"
    assert _death("a.py", 1, "Traceback ...\nMemoryError\n", 64).kind == "out-of-memory"
    assert _death("a.py", -signal.SIGABRT, rust, 0).message == \
        "ran out of memory analyzing this file"
    crash = _death("a.py", -signal.SIGSEGV, "Fatal Python error: Segmentation fault\n", 64)
    assert crash.kind == "internal-error"
    assert "(killed by SIGSEGV; its last words: Fatal Python error: Segmentation fault)" \
        in crash.message
    assert "(killed by SIGABRT)" in _death("a.py", -signal.SIGABRT, "", 64).message


def test_a_prespawned_worker_serves_the_first_job(tmp_path: Path):
    # The command line starts one worker before the scan knows it needs one (the libcst
    # import then overlaps discovery and the warm state): the first analysis takes it.
    from optadvisor import spawn, workers
    from optadvisor.analyze.catalog import load_catalog

    if default_jobs() < 2:
        pytest.skip("no prespawn on a single core")
    workers._close_idle()
    spawn.prespawn()
    assert len(spawn.STARTED) == 1
    started = spawn.STARTED[0][0].pid
    out = workers.analyze_all([("a.py", BLOCKING.encode())], load_catalog(), 10**6, 1)
    assert spawn.STARTED == []
    assert [w.proc.pid for w in workers._IDLE] == [started]  # it did the work, kept idle
    assert [c.name for c in out["a.py"].calls if c.blocking] == ["requests.get"]
    workers._close_idle()


def test_a_command_line_scan_leaves_no_worker_behind(tmp_path: Path):
    # A warm scan with nothing changed needs no worker: the one started ahead of need is
    # killed at exit. One changed file is analyzed (by it) with the same result as cold.
    root = write(tmp_path / "repo", {"pkg/a.py": BLOCKING, "pkg/b.py": "x = 1\n"})
    cmd = [sys.executable, "-m", "optadvisor", "scan", str(root), "--cache-dir",
           str(tmp_path / "cache"), "--format", "json", "--fail-on", "never", "--quiet"]
    cold = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    seen: set[int] = set()
    for change in ("", "# changed\n"):
        if change:
            (root / "pkg" / "b.py").write_text("x = 1\n" + change)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        parent = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                seen |= {child.pid for child in parent.children(recursive=True)}
            except psutil.NoSuchProcess:
                break
            time.sleep(0.005)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert comparable(json.loads(out))["recommendations"] == \
            comparable(cold)["recommendations"]
    assert seen, "no worker was seen: nothing to check"
    deadline = time.monotonic() + 10
    alive = {pid for pid in seen if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE}
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = {pid for pid in alive if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE}
    assert not alive
