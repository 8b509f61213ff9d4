"""The profiled program as our own child: started behind a gate (so a sampler can attach
before its first line runs), waited for with wait4 (exit status, signal and its own
resource usage), and stopped with its whole process tree when it overruns or leaves
processes behind. Every process it starts carries a marker in its environment, so even
daemons that left its process group are found and stopped."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import psutil

from optadvisor.lifetime import kernel_ties
from optadvisor.models import RunOutcome, Rusage
from optadvisor.profile.guard import FORK_LOG, Guard, is_helper, logged_forks

BOOTSTRAP = str(Path(__file__).with_name("_bootstrap.py").resolve())
MARKER = "OPTADVISOR_PROFILE_RUN"
INTERRUPT_GRACE = 1.0
"""Seconds a timed-out target gets after SIGINT to unwind before SIGKILL."""
STOPPED_GRACE = 2.0
"""Seconds a target may stay stopped (SIGSTOP, SIGTSTP) before it is taken as hung."""


class TargetError(Exception):
    """The target could not be started at all (bad interpreter, unreadable script)."""


@dataclass
class Exit:
    returncode: int | None
    """Exit code, or None when a signal ended it."""
    signal: int = 0
    timed_out: bool = False
    stopped: bool = False
    """It stopped itself (SIGSTOP) and stayed stopped: taken down instead of waited for."""
    rusage: Rusage | None = None
    wall_seconds: float = 0.0


@dataclass
class Target:
    """A started (gated) target; `release` lets it run, `wait` sees it end."""

    process: subprocess.Popen
    gate: int
    result_path: Path
    workdir: Path
    run_id: str
    guard: Guard | None = None
    started_at: float = 0.0
    """psutil's create_time of the target: its orphans are younger."""
    helpers: set[int] = field(default_factory=set)
    """Our own processes around it (py-spy): never taken for its leftovers."""
    released_at: float = 0.0
    tracked: Callable[[], list[psutil.Process]] | None = None
    """Every process of its tree seen while it ran (the monitor's view): its daemons,
    stopped with it even where they are nobody's children any more."""
    _done: threading.Event = field(default_factory=threading.Event)
    _status: tuple[int, Any] | None = None
    _ended_at: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self, mode: str = "go") -> None:
        self.released_at = time.perf_counter()
        try:
            os.write(self.gate, (mode + "\n").encode("ascii"))
        except OSError:
            pass  # it already died; wait() will tell
        finally:
            self._close_gate()

    def _close_gate(self) -> None:
        if self.gate >= 0:
            try:
                os.close(self.gate)
            except OSError:
                pass
            self.gate = -1

    def _reap(self) -> None:
        if hasattr(os, "wait4"):
            while True:
                try:
                    _, status, usage = os.wait4(self.pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    status, usage = 0, None
                    break
            self._status = (status, usage)
            # Tell Popen, so it never polls (and misreads) a pid we already reaped.
            self.process.returncode = _exit_code(status)
        else:  # pragma: no cover - no wait4 (Windows)
            self.process.wait()
            self._status = (None, None)
        self._ended_at = time.perf_counter()
        self._done.set()

    def start_reaper(self) -> None:
        threading.Thread(target=self._reap, name="optadvisor-reaper", daemon=True).start()

    def wait(self, timeout: float | None) -> Exit:
        """Wait for the target; past `timeout` seconds stop its whole tree (SIGINT, then
        SIGKILL after a grace period)."""
        timed_out, stopped = self._wait_running(timeout)
        if stopped:
            self.signal_tree(signal.SIGKILL)
            self._done.wait(5.0)
        elif timed_out:
            self.signal_tree(signal.SIGINT)
            if not self._done.wait(INTERRUPT_GRACE):
                self.signal_tree(signal.SIGKILL)
                self._done.wait(5.0)
        status, usage = self._status if self._status else (None, None)
        wall = (self._ended_at or time.perf_counter()) - (self.released_at or time.perf_counter())
        if status is None:
            code = self.process.returncode
            return Exit(returncode=code, timed_out=timed_out, stopped=stopped,
                        wall_seconds=wall)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        code = None if sig else os.WEXITSTATUS(status)
        return Exit(returncode=code, signal=sig, timed_out=timed_out, stopped=stopped,
                    rusage=_rusage(usage), wall_seconds=max(wall, 0.0))

    def _wait_running(self, timeout: float | None) -> tuple[bool, bool]:
        """(timed out, stayed stopped): wait for the end, looking every half second
        whether the target has stopped itself; a stopped process never ends by itself, and
        without --timeout `profile` waited for it forever."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        stopped_since = 0.0
        while True:
            step = 0.5 if deadline is None else min(0.5, deadline - time.perf_counter())
            if step <= 0:
                return True, False
            if self._done.wait(step):
                return False, False
            if _is_stopped(self.pid):
                stopped_since = stopped_since or time.perf_counter()
                if time.perf_counter() - stopped_since >= STOPPED_GRACE:
                    return False, True
            else:
                stopped_since = 0.0

    def signal_tree(self, sig: int) -> None:
        """The target's process group, then any process carrying our marker."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        for proc in marked_processes(self.run_id):
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass

    def stop_leftovers(self, extra: list[psutil.Process] | None = None) -> tuple[int, tuple[int, ...]]:
        """Stop whatever the target left running. Returns (stopped, still alive)."""
        found = {p.pid: p for p in marked_processes(self.run_id)}
        for proc in self._orphans():
            found.setdefault(proc.pid, proc)
        for proc in logged_forks(self.workdir, self.started_at):
            found.setdefault(proc.pid, proc)
        for proc in (*(extra or ()), *(self.tracked() if self.tracked else ())):
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    found.setdefault(proc.pid, proc)
            except psutil.Error:
                pass
        found.pop(os.getpid(), None)
        if not found:
            return 0, ()
        procs = list(found.values())
        for proc in procs:
            try:
                proc.kill()
            except psutil.Error:
                pass
        # Not psutil.wait_procs: orphans whose new parent never reaps them stay zombies
        # (a container's pid 1 often does not), and a zombie is as good as gone.
        deadline = time.perf_counter() + 3.0
        alive = procs
        while alive and time.perf_counter() < deadline:
            time.sleep(0.02)
            alive = [p for p in alive if _really_alive(p)]
        return len(procs), tuple(p.pid for p in alive)

    def _orphans(self) -> list[psutil.Process]:
        """Our children younger than the target that are not our own helpers: with this
        process a child subreaper, that is where the target's orphans land, even those
        that left its process group and emptied their environment (no marker)."""
        found = []
        try:
            children = psutil.Process().children()
        except psutil.Error:
            return found
        for child in children:
            try:
                if child.pid in self.helpers or child.create_time() < self.started_at or \
                        (self.guard is not None and child.pid == self.guard.pid) or \
                        is_helper(child):
                    continue
                if _really_alive(child):
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def helper(self, pid: int) -> None:
        """A process of ours that works on the target (py-spy): not one of its leftovers,
        but stopped with it if optadvisor dies."""
        self.helpers.add(pid)
        if self.guard is not None:
            self.guard.tell("pid", pid)

    def abort(self) -> None:
        """If we are leaving early (an error of ours, Ctrl-C), take the whole tree down."""
        if not self._done.is_set():
            self._close_gate()
            # Its tree as it is now, before killing the target orphans the children that
            # left its group (no subreaper takes them in, off Linux).
            tree = self.descendants()
            self.signal_tree(signal.SIGKILL)
            self._done.wait(5.0)
            self.stop_leftovers(tree)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            return []

    def read_result(self) -> dict[str, Any]:
        try:
            return json.loads(self.result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def cleanup(self) -> None:
        self._close_gate()
        for path in self.workdir.glob("*"):
            try:
                path.unlink()
            except OSError:
                pass
        try:
            self.workdir.rmdir()
        except OSError:
            pass
        if self.guard is not None:
            self.guard.done()
            self.guard = None


def spawn(python: str, script: Path, args: tuple[str, ...], mode: str, cwd: Path,
          stdin: str = "inherit", stdout: str = "inherit", extra: dict[str, Any] | None = None,
          allow_ptrace: bool = False) -> Target:
    """Start the target behind the gate; raises TargetError when it cannot start."""
    workdir = Path(tempfile.mkdtemp(prefix="optadvisor-run-"))
    read_fd, write_fd = os.pipe()
    # The launching process's pid first: whoever checks for leftovers (the tests) can tell
    # its own runs from other profiles running on the same machine.
    run_id = f"{os.getpid()}-{uuid.uuid4().hex}"
    config = {"script": str(script), "args": list(args), "gate_fd": read_fd,
              "result": str(workdir / "result.json"), "mode": mode,
              "allow_ptrace": allow_ptrace, "forks": str(workdir / FORK_LOG)}
    config.update(extra or {})
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = dict(os.environ)
    env[MARKER] = run_id
    out = {"inherit": None, "null": subprocess.DEVNULL,
           "stderr": sys.stderr.fileno() if _has_fileno(sys.stderr) else None}[stdout]
    try:
        process = subprocess.Popen(
            [python, BOOTSTRAP, str(config_path)], cwd=str(cwd), env=env,
            stdin=subprocess.DEVNULL if stdin == "null" else None, stdout=out,
            pass_fds=(read_fd,), start_new_session=True)
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise TargetError(f"cannot start {python}: {exc.strerror or exc}") from None
    os.close(read_fd)
    guard = Guard(run_id, MARKER)
    guard.tell("group", process.pid)
    guard.tell("dir", workdir)
    try:
        started = psutil.Process(process.pid).create_time()
    except psutil.Error:
        started = 0.0
    target = Target(process=process, gate=write_fd, result_path=workdir / "result.json",
                    workdir=workdir, run_id=run_id, guard=guard, started_at=started)
    target.start_reaper()
    return target


def become_subreaper(on: bool = True) -> None:
    """Orphans of the profiled tree (double forks, daemons) are re-parented to this
    process instead of init, where _orphans() finds them (Linux; elsewhere the process
    group, the marker in their environment, the program's fork log and the monitor's view
    of its tree are what is left: optadvisor/lifetime.py). Switched off after the
    run: a process that uses optadvisor as a library should not stay one."""
    if kernel_ties():
        try:
            ctypes.CDLL(None, use_errno=True).prctl(36, int(on))  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass


def marked_processes(run_id: str) -> list[psutil.Process]:
    """Live processes whose environment carries this run's marker."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(MARKER) == run_id and _really_alive(proc):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def describe(exit: Exit, result: dict[str, Any], timeout: float | None,
             stopped: int, leftover: tuple[int, ...]) -> RunOutcome:
    """One RunOutcome from the wait status and what the bootstrap wrote."""
    ended = result.get("exit") or {}
    exception = ended.get("exception", "")
    sig_name = _signal_name(exit.signal)
    if exit.stopped:
        status = "stopped"
        message = (f"stopped itself (SIGSTOP or SIGTSTP) and stayed stopped for "
                   f"{STOPPED_GRACE:g} s; taken down")
    elif exit.timed_out:
        status = "timeout"
        message = f"stopped after the {timeout:g} s timeout"
        if sig_name:
            message += f" ({sig_name})"
    elif exit.signal:
        status = "signal"
        message = f"killed by {sig_name}"
    elif exit.returncode and exception:
        status = "exception"
        message = f"raised {exception}"
    elif exit.returncode:
        status = "exit-nonzero"
        message = f"exited with status {exit.returncode}"
    else:
        status = "ok"
        message = "exited normally"
    if stopped:
        message += f"; stopped {stopped} process{'es' if stopped != 1 else ''} it left running"
    if leftover:
        message += f"; could not stop pids {', '.join(map(str, leftover))}"
    return RunOutcome(status=status, returncode=exit.returncode, signal=sig_name,
                      exception=exception, timed_out=exit.timed_out, killed=stopped,
                      leftover=leftover, message=message)


def _signal_name(sig: int) -> str:
    if not sig:
        return ""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _rusage(usage: Any) -> Rusage | None:
    if usage is None:
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return Rusage(user_seconds=round(usage.ru_utime, 4), system_seconds=round(usage.ru_stime, 4),
                  max_rss_bytes=int(usage.ru_maxrss) * scale,
                  voluntary_switches=int(usage.ru_nvcsw),
                  involuntary_switches=int(usage.ru_nivcsw),
                  minor_faults=int(usage.ru_minflt), major_faults=int(usage.ru_majflt),
                  block_in=int(usage.ru_inblock), block_out=int(usage.ru_oublock))


def _is_stopped(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_STOPPED
    except psutil.Error:
        return False


def _really_alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False
