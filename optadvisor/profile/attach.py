"""`profile --pid PID --duration S`: py-spy attached to a process that is already running
(a service, a worker) for a window of time, as `py-spy record --pid` does. Nothing is
started, stopped or re-run: the report covers the sampled window, system metrics come from
psutil for the same window, and the static join uses the files under the process's working
directory. Only sampling: the line and memory passes need to start the program."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import psutil

from optadvisor import __version__
from optadvisor.models import PassRecord, ProfileRun, RunEnvironment, RunError, RunOutcome
from optadvisor.profile.aggregate import aggregate
from optadvisor.profile.monitor import Monitor
from optadvisor.profile.run import ProfileOptions, ProfileUsageError
from optadvisor.profile.sampling import (
    Recorder,
    SamplerUnavailable,
    find_py_spy,
    py_spy_version,
)
from optadvisor.profile.sources import SourceIndex

DEFAULT_DURATION = 10.0


def process_root(pid: int) -> Path:
    """What the report's paths are relative to and what the static scan reads: the
    process's working directory when its script lies inside it, else the script's own
    directory (a service started from `/` must not make the scan read the whole disk)."""
    cmdline, cwd, _ = _inspect(pid)
    script = _script(cmdline, cwd)
    base = Path(cwd).resolve()
    if script:
        path = Path(script).resolve()
        if base == Path(base.anchor) or base not in path.parents:
            return path.parent
    return base


def attach_profile(options: ProfileOptions) -> ProfileRun:
    pid = int(options.pid or 0)
    duration = options.duration or DEFAULT_DURATION
    if duration <= 0:
        raise ProfileUsageError("--duration must be a positive number of seconds")
    cmdline, cwd, exe = _inspect(pid)
    binary = find_py_spy(options.py_spy)
    if binary is None:
        raise ProfileUsageError("attaching to a running process needs py-spy (pip install "
                                "py-spy), which was not found")
    root = (options.root or Path(cwd)).resolve()
    stdlib = _stdlib_of(exe)
    sources = SourceIndex(stdlib=stdlib)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    errors: list[RunError] = []
    workdir = Path(tempfile.mkdtemp(prefix="optadvisor-attach-"))
    monitor = Monitor(pid, options.monitor_interval)
    cpu_before = _cpu_seconds(pid)
    started = time.perf_counter()
    raw = None
    try:
        try:
            recorder = Recorder.attach(binary, pid, workdir, options.rate, subprocesses=True,
                                       duration=duration)
        except SamplerUnavailable as exc:
            raise ProfileUsageError(f"cannot attach to pid {pid}: {exc}") from None
        monitor.start()
        try:
            raw = recorder.finish(pid, within=duration + 15)
        except SamplerUnavailable as exc:
            errors.append(RunError(exc.kind, str(exc), "sample"))
        except ValueError as exc:
            errors.append(RunError("parse-error", f"py-spy output: {exc}", "sample"))
        finally:
            recorder.kill()
            monitor.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    wall = time.perf_counter() - started
    cpu_after = _cpu_seconds(pid)
    alive = psutil.pid_exists(pid)
    outcome = RunOutcome(
        status="ok", message=(f"was sampled for {wall:.1f} s while it ran (pid {pid})" if alive
                              else f"ended during the {wall:.1f} s window (pid {pid})"))
    script = _script(cmdline, cwd)
    run = ProfileRun(
        command=tuple(cmdline), script=script, args=(), cwd=cwd, root=str(root),
        mode="sample",
        environment=RunEnvironment(
            python="", implementation="", executable=exe, platform="", machine="",
            cpu_count=os.cpu_count() or 1, sampler=py_spy_version(binary),
            tool_version=__version__, stdlib=stdlib),
        outcome=outcome, wall_seconds=round(wall, 4),
        cpu_seconds=round(max(0.0, cpu_after - cpu_before), 4) if cpu_after else 0.0,
        created=created, metrics=monitor.metrics(None), tool_version=__version__,
        notes=(f"attached to the running process {pid} for {duration:g} s: the report "
               "covers that window only (no line or memory pass: they start the program)",),
        errors=tuple(errors),
        passes=(PassRecord("sample", "ok" if raw is not None else "failed", round(wall, 4),
                           0.0, "py-spy attached to a running process"),))
    if raw is None:
        return run
    found = aggregate(raw, sources, str(root), script=script)
    return replace(run, samples=found.summary, functions=found.functions, lines=found.lines,
                   stacks=found.stacks)


def _inspect(pid: int) -> tuple[list[str], str, str]:
    """(command line, working directory, executable) of a running process, or a usage
    error that says what is wrong."""
    if pid <= 0:
        raise ProfileUsageError(f"--pid wants a process id, not {pid}")
    try:
        process = psutil.Process(pid)
        return process.cmdline(), process.cwd(), process.exe()
    except psutil.NoSuchProcess:
        raise ProfileUsageError(f"no running process with pid {pid}") from None
    except psutil.AccessDenied:
        raise ProfileUsageError(
            f"may not inspect pid {pid}: permission denied (run as the process's user or "
            "root; in a container add the SYS_PTRACE capability)") from None


def _script(cmdline: list[str], cwd: str) -> str:
    """The script a `python [options] script.py …` command runs, absolute; `-m module` and
    `-c` commands have none (the report then shows the command)."""
    for word in cmdline[1:]:
        if word in ("-m", "-c"):
            return ""
        if word.startswith("-"):
            continue
        path = word if os.path.isabs(word) else os.path.join(cwd, word)
        return path if path.endswith(".py") else ""
    return ""


def _stdlib_of(exe: str) -> str:
    """The target interpreter's stdlib directory: frames there are not user code."""
    try:
        found = subprocess.run(
            [exe, "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
            capture_output=True, text=True, timeout=30)
        return found.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
