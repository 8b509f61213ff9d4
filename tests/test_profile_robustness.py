"""Whatever the target does (fails, raises, is killed, forks, outlives its timeout, leaves
daemons, reads stdin, floods stdout), the run ends, nothing is left running, and the
report says what happened and keeps what was measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from profile_support import SCRIPTS, py_spy_problem

from optadvisor.models import ProfileRun
from optadvisor.profile import ProfileOptions, ProfileUsageError, run_profile
from optadvisor.profile.target import MARKER

needs_py_spy = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")


def profile(tmp_path: Path, code: str, **options) -> ProfileRun:
    script = tmp_path / "target.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    options.setdefault("lines", False)
    options.setdefault("stdin", "null")
    options.setdefault("stdout", "null")
    return run_profile(ProfileOptions(script=script, **options))


def survivors() -> list[psutil.Process]:
    """Any process still carrying the marker of a profile run this test process started
    (run ids begin with the launcher's pid; other profiles on the machine are not ours)."""
    mine = f"{os.getpid()}-"
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER, "").startswith(mine) and \
                    proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.fixture(autouse=True)
def _nothing_left_running():
    yield
    left = survivors()
    for proc in left:
        proc.kill()
    assert not left, f"left running: {[p.pid for p in left]}"


def test_exit_status_is_reported(tmp_path: Path):
    run = profile(tmp_path, """
        import sys, time
        time.sleep(0.2)
        sys.exit(3)
        """)
    assert run.outcome.status == "exit-nonzero" and run.outcome.returncode == 3
    assert any(e.kind == "target-failed" for e in run.errors)
    assert run.samples and run.samples.total > 0  # measured up to the end


def test_exception_is_reported_with_what_was_measured(tmp_path: Path):
    run = profile(tmp_path, """
        def work():
            total = 0
            for i in range(2_000_000):
                total += i
            raise ValueError("bad input")
        work()
        """)
    assert run.outcome.status == "exception"
    assert run.outcome.exception == "ValueError: bad input"
    assert run.outcome.returncode == 1
    assert any(f.name == "work" for f in run.user_functions())


def test_killed_by_a_signal(tmp_path: Path):
    run = profile(tmp_path, """
        import os, signal, time
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGKILL)
        """)
    assert run.outcome.status == "signal" and run.outcome.signal == "SIGKILL"
    assert run.outcome.returncode is None
    assert run.environment.python  # filled in even though the target wrote nothing


def test_timeout_stops_the_whole_tree(tmp_path: Path):
    started = time.perf_counter()
    run = profile(tmp_path, """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        def spin():
            while True:
                time.sleep(0.01)
        spin()
        """, timeout=1.0)
    assert time.perf_counter() - started < 15
    assert run.outcome.status == "timeout" and run.outcome.timed_out
    assert "1 s timeout" in run.outcome.message
    assert any(e.kind == "timeout" for e in run.errors)
    assert any(f.name == "spin" for f in run.user_functions())
    assert run.outcome.leftover == ()


def test_timeout_when_sigint_is_ignored(tmp_path: Path):
    run = profile(tmp_path, """
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            time.sleep(0.05)
        """, timeout=0.5)
    assert run.outcome.status == "timeout" and run.outcome.signal == "SIGKILL"


def test_forked_and_daemon_children_are_stopped(tmp_path: Path):
    run = profile(tmp_path, """
        import os, subprocess, sys, time
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                         start_new_session=True)
        time.sleep(0.3)
        """)
    assert run.outcome.status == "ok"
    assert run.outcome.killed == 2
    assert "stopped 2 processes it left running" in run.outcome.message


def test_stdin_and_a_flood_of_output(tmp_path: Path):
    run = profile(tmp_path, """
        import sys
        data = sys.stdin.read()
        for i in range(60_000):
            sys.stdout.write("x" * 60 + "\\n")
        """)
    assert run.outcome.status == "ok"


def test_syntax_error_is_the_scripts_failure(tmp_path: Path):
    run = profile(tmp_path, "def broken(:\n    pass\n")
    assert run.outcome.status == "exception"
    assert run.outcome.exception.startswith("SyntaxError")


def test_missing_script_or_interpreter_is_a_usage_error(tmp_path: Path):
    with pytest.raises(ProfileUsageError, match="no such script"):
        run_profile(ProfileOptions(script=tmp_path / "missing.py"))
    with pytest.raises(ProfileUsageError, match="not a file"):
        run_profile(ProfileOptions(script=tmp_path))
    script = tmp_path / "ok.py"
    script.write_text("pass\n", encoding="utf-8")
    with pytest.raises(ProfileUsageError, match="no such interpreter"):
        run_profile(ProfileOptions(script=script, python=str(tmp_path / "python9")))
    with pytest.raises(ProfileUsageError, match="before running the script"):
        run_profile(ProfileOptions(script=script, python="/bin/true"))
    with pytest.raises(ProfileUsageError, match="stdout must be one of"):
        run_profile(ProfileOptions(script=script, stdout="file"))
    with pytest.raises(ProfileUsageError, match="unknown mode"):
        run_profile(ProfileOptions(script=script, mode="magic"))


def test_falls_back_to_the_in_process_sampler_and_says_why(tmp_path: Path):
    run = profile(tmp_path, """
        def crunch():
            return sum(i * i for i in range(3_000_000))
        crunch()
        """, py_spy=str(tmp_path / "no-py-spy"))
    assert run.environment.sampler == "in-process sampler"
    assert any(e.kind == "sampler-unavailable" for e in run.errors)
    assert any("sampled in process instead" in n for n in run.notes)
    assert run.samples.sampler == "in-process" and run.samples.total > 0
    assert any(f.name.startswith("crunch") for f in run.user_functions())


@needs_py_spy
def test_attach_failure_falls_back(tmp_path: Path):
    fake = tmp_path / "py-spy"
    fake.write_text("#!/bin/sh\necho 'Error: Permission denied (os error 13)' >&2\nexit 1\n")
    fake.chmod(0o755)
    run = profile(tmp_path, "import time\ntime.sleep(0.3)\n", py_spy=str(fake))
    error = next(e for e in run.errors if e.kind == "attach-failed")
    assert "ptrace" in error.message
    assert run.samples.sampler == "in-process" and run.samples.idle > 0


def test_trace_mode_counts_calls():
    run = run_profile(ProfileOptions(script=SCRIPTS / "io_wait.py", args=("--items", "6"),
                                     mode="trace", lines=False, stdout="null"))
    assert run.environment.sampler == "cProfile"
    fetch = next(f for f in run.user_functions() if f.name == "fetch")
    assert fetch.calls == 6 and fetch.user_self_seconds > 0.2
    assert any("trace mode" in n for n in run.notes)


def test_attaching_without_permission_is_refused_saying_how_to_allow_it(tmp_path: Path):
    # py-spy as it answers without ptrace permission (the tests run as root, so the real
    # refusal cannot happen here); the running process is left alone.
    fake = tmp_path / "py-spy"
    fake.write_text("#!/bin/sh\necho 'Error: Permission denied (os error 13)' >&2\nexit 1\n")
    fake.chmod(0o755)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(ProfileUsageError) as refused:
            run_profile(ProfileOptions(script=Path(), pid=child.pid, duration=1,
                                       py_spy=str(fake)))
        message = str(refused.value)
        assert f"cannot attach to pid {child.pid}" in message
        assert "ptrace" in message and "ptrace_scope=0" in message and "SYS_PTRACE" in message
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_a_program_that_stops_itself_is_taken_down(tmp_path: Path):
    # No --timeout: a stopped process never ends by itself, and `profile` waited forever.
    started = time.perf_counter()
    run = profile(tmp_path, """
        import os, signal, time
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGSTOP)
        """)
    assert time.perf_counter() - started < 30
    assert run.outcome.status == "stopped", run.outcome
    assert "stopped itself" in run.outcome.message


@pytest.fixture(params=["linux", "portable"])
def ties(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of tying the program's tree to the run: Linux's child subreaper, and what
    other systems have (process groups, the marker, the fork log, the monitor's view),
    chosen in-process by the test-only OPTADVISOR_TEST_PORTABLE."""
    if request.param == "portable":
        monkeypatch.setenv("OPTADVISOR_TEST_PORTABLE", "1")
    elif not sys.platform.startswith("linux"):
        pytest.skip("a child subreaper is Linux's")
    return request.param


def test_a_daemon_that_empties_its_environment_is_stopped_too(tmp_path: Path, ties: str):
    pid_file = tmp_path / "daemon.pid"
    run = profile(tmp_path, f"""
        import subprocess, sys
        daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                  env={{}}, start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(daemon.pid))
        """)
    assert run.outcome.status == "ok"
    pid = int(pid_file.read_text())
    gone, alive = psutil.wait_procs([p for p in [_process(pid)] if p], timeout=5)
    assert alive == [], "the daemon without the marker outlived the run"
    assert run.outcome.killed >= 1


def test_a_double_forked_daemon_without_the_environment_is_stopped_too(tmp_path: Path,
                                                                       ties: str):
    # The classic daemon: fork, setsid, fork again, the middle process exits (the
    # grandchild is nobody's child any more), and it execs with an empty environment.
    pid_file = tmp_path / "daemon.pid"
    run = profile(tmp_path, f"""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                open({str(pid_file)!r}, "w").write(str(os.getpid()))
                os.execve(sys.executable, [sys.executable, "-c",
                                           "import time; time.sleep(60)"], {{}})
            os._exit(0)
        while not os.path.exists({str(pid_file)!r}):
            time.sleep(0.01)
        time.sleep(0.3)
        """)
    assert run.outcome.status == "ok"
    pid = int(pid_file.read_text())
    gone, alive = psutil.wait_procs([p for p in [_process(pid)] if p], timeout=5)
    assert alive == [], "the double-forked daemon outlived the run"
    assert run.outcome.killed >= 1


def _process(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc
    except psutil.Error:
        return None


SLOW_TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                          env={}, start_new_session=True)
open(sys.argv[1], "w").write(f"{child.pid} {daemon.pid}")
while True:
    time.sleep(0.05)
"""


@needs_py_spy
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGHUP])
def test_nothing_outlives_a_killed_profile(tmp_path: Path, signum: int):
    # What `timeout`, CI runners and `docker stop` send. The program, its children, a
    # daemon without the marker, py-spy and the temp dir must all be gone 5 s later.
    kill_profile_midrun(tmp_path, SLOW_TREE, signum)


PORTABLE_TREE = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                          env={}, start_new_session=True)
# The classic daemon: fork, setsid, fork again, the middle one exits at once, and the
# grandchild execs with an empty environment: no group, no marker, nobody's child.
forked = sys.argv[1] + ".forked"
middle = os.fork()
if middle == 0:
    os.setsid()
    if os.fork() == 0:
        with open(forked, "w") as handle:
            handle.write(str(os.getpid()))
        os.execve(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)"], {})
    os._exit(0)
os.waitpid(middle, 0)
while not os.path.exists(forked) or not open(forked).read():
    time.sleep(0.01)
open(sys.argv[1], "w").write(f"{child.pid} {daemon.pid} {open(forked).read()}")
while True:
    time.sleep(0.05)
"""


@needs_py_spy
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_nothing_outlives_a_killed_profile_without_linux_ties(tmp_path: Path, signum: int):
    # What other systems have (no child subreaper): process groups, the marker, the
    # program's fork log and psutil's view of its tree, run here for real.
    pids = kill_profile_midrun(tmp_path, PORTABLE_TREE, signum, portable=True)
    assert len(pids) == 3


def kill_profile_midrun(tmp_path: Path, program: str, signum: int,
                        portable: bool = False) -> list[int]:
    """Profile `program` (which writes its pids to argv[1], then runs on), send `signum`
    to `profile`, and check that nothing of the run is alive 5 s later and its temp dir
    is gone. Returns the program's pids."""
    script = tmp_path / "slow_tree.py"
    script.write_text(program, encoding="utf-8")
    pids = tmp_path / "pids.txt"
    temp = tmp_path / "tmp"
    temp.mkdir()
    tag = f"{os.getpid()}-{signum}-{time.monotonic_ns()}"
    env = {**os.environ, "TMPDIR": str(temp), "OPTADVISOR_TEST_TAG": tag}
    if portable:
        env["OPTADVISOR_TEST_PORTABLE"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "optadvisor", "profile", str(script), "--timeout", "120",
         "--quiet", "--", str(pids)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (pids.exists() and pids.read_text()):
        time.sleep(0.1)
    assert pids.exists(), "the program never started"
    time.sleep(1.0)  # the watchman has seen the daemon by now
    program_pids = [int(pid) for pid in pids.read_text().split()]
    if portable:  # no subreaper: the orphaned daemon is not profile's child
        assert psutil.Process(program_pids[-1]).ppid() != proc.pid
    tree = [p for p in psutil.Process(proc.pid).children(recursive=True)]
    proc.send_signal(signum)
    proc.wait(timeout=60)
    if signum != signal.SIGKILL:
        assert proc.returncode == 128 + signum, proc.stderr.read()
    watched = tree + [p for p in map(_process, program_pids) if p]
    gone, alive = psutil.wait_procs(watched, timeout=5)
    alive = [p for p in alive if _process(p.pid) is not None]
    assert alive == [], f"left running: {[(p.pid, p.cmdline()) for p in alive]}"
    # Over the whole process table too: everything started with the run's environment
    # (the daemons that emptied their own are checked by pid above).
    table = [p for p in psutil.process_iter() if _tagged(p, tag)]
    assert table == [], f"left running: {table}"
    assert list(temp.glob("optadvisor-run-*")) == []
    return program_pids


def _tagged(proc: psutil.Process, tag: str) -> bool:
    try:
        return proc.environ().get("OPTADVISOR_TEST_TAG") == tag and \
            proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
