"""A watchman for one profiled run, in a process of its own: if `optadvisor profile` dies
before it has cleaned up (SIGKILL, the OOM killer, a crash), the watchman stops the run's
processes and removes its temporary directory.

`profile` cleans up by itself whenever it can (timeout, Ctrl-C, SIGTERM, an error of
ours): it then tells the watchman `done` and the watchman leaves. Only when the pipe from
`profile` closes without that word does it act, on everything it was told of (the target's
process group, py-spy, the work directory), on every process carrying the run's marker in
its environment, and on every process it saw below `profile` while the run lasted — which,
with `profile` a child subreaper, includes daemons that left the process group and emptied
their environment.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil

_POLL_SECONDS = 0.5
_HELPER_MARKS = ("optadvisor.workers import serve", "optadvisor.profile.guard import watch")


FORK_LOG = "forks"
"""The file in a run's work directory where the program's forks note their pids
(_bootstrap._log_forks)."""
_FORK_LOG_BYTES = 4 * 1024 * 1024


def logged_forks(workdir: Path | str, since: float) -> list[psutil.Process]:
    """Live processes the program forked, from its fork log: found whatever group, session
    or environment they moved to, and whoever their parent now is. Only those created at or
    after `since` (a create_time taken before the program could fork) by this user: a
    logged pid reused since by another process is then older than the run or not ours."""
    from optadvisor.inputs import InputError, read_regular

    try:
        text = read_regular(Path(workdir) / FORK_LOG, _FORK_LOG_BYTES).decode("ascii")
    except (OSError, InputError, UnicodeDecodeError):
        return []
    found = []
    for pid in {int(word) for word in text.split() if word.isdigit()}:
        try:
            proc = psutil.Process(pid)
            if proc.create_time() >= since and proc.status() != psutil.STATUS_ZOMBIE and \
                    (not hasattr(os, "getuid") or proc.uids().real == os.getuid()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def is_helper(proc: psutil.Process) -> bool:
    """One of optadvisor's own processes (an analysis worker, a watchman), never the
    profiled program's: neither is stopped as a leftover of the run."""
    return any(mark in " ".join(proc.cmdline()) for mark in _HELPER_MARKS)


class Guard:
    """The launching side: start the watchman, tell it what to clean, dismiss it."""

    def __init__(self, run_id: str, marker: str) -> None:
        root = str(Path(__file__).resolve().parents[2])
        code = (f"import sys; sys.path[0] = {root!r}; "
                "from optadvisor.profile.guard import watch; watch()")
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, run_id, marker, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def tell(self, word: str, value: object = "") -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(f"{word} {value}\n".encode())
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass  # it is gone: nothing to tell

    def done(self) -> None:
        """Everything is cleaned up: the watchman leaves without acting."""
        self.tell("done")
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()


def watch() -> None:
    run_id, marker, parent_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    groups: set[int] = set()
    pids: set[int] = set()
    dirs: list[str] = []
    seen: dict[int, float] = {}
    me = os.getpid()
    buffer = b""
    while True:
        ready, _, _ = select.select([0], [], [], _POLL_SECONDS)
        _remember_descendants(parent_pid, me, seen)
        if not ready:
            continue
        chunk = os.read(0, 4096)
        if not chunk:
            break  # the pipe closed: `profile` is gone
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            word, _, value = line.decode().partition(" ")
            if word == "done":
                return
            if word == "group":
                groups.add(int(value))
            elif word == "pid":
                pids.add(int(value))
            elif word == "dir":
                dirs.append(value)
    # Our own start is before the program could fork (it waits at a gate until then).
    since = psutil.Process(me).create_time()
    for folder in dirs:
        for proc in logged_forks(folder, since):
            seen.setdefault(proc.pid, proc.create_time())
    _stop_everything(run_id, marker, groups, pids, seen)
    for folder in dirs:
        shutil.rmtree(folder, ignore_errors=True)


def _remember_descendants(parent_pid: int, me: int, seen: dict[int, float]) -> None:
    try:
        children = psutil.Process(parent_pid).children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        if child.pid == me or child.pid in seen:
            continue  # known ones: their command line is not read again every half second
        try:
            if not is_helper(child):
                seen[child.pid] = child.create_time()
        except psutil.Error:
            continue


def _stop_everything(run_id: str, marker: str, groups: set[int], pids: set[int],
                     seen: dict[int, float]) -> None:
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid, created in seen.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == created:  # not a new process that reused the pid
                proc.kill()
        except psutil.Error:
            pass
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(marker) == run_id:
                proc.kill()
        except psutil.Error:
            continue
