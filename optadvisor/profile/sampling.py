"""py-spy, out of process: attached to the gated target before it runs (`record --pid`,
speedscope output, `--idle` so waiting is sampled too, `--threads`, `--full-filenames` so
frames map to files, `--nonblocking` so the target is never paused, `--subprocesses`),
then its speedscope file read back as stack samples.

We start the target ourselves rather than as py-spy's child so that its exit status,
signal and resource usage are ours to read; the bootstrap's gate makes up for the attach
delay, so no startup time goes unsampled."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from optadvisor.profile.aggregate import Frame, RawProfile

ATTACH_TIMEOUT = 15.0
"""Seconds py-spy may take to attach before we give up and sample in process."""
FINISH_TIMEOUT = 10.0
"""Seconds py-spy may take to write its file once the target has ended."""

_PROFILE_NAME = re.compile(r'^(?:Process (\d+) )?Thread (\d+)(?: "(.*)")?$')
_PSEUDO_FRAME = re.compile(r'^(?:process \d+:|thread \()')


class SamplerUnavailable(Exception):
    """py-spy is missing or cannot read the target; the message says why, for the report."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def find_py_spy(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    beside = Path(sys.executable).with_name("py-spy")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("py-spy")


def py_spy_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10,
                             check=False)
        return out.stdout.strip() or "py-spy"
    except (OSError, subprocess.SubprocessError):
        return "py-spy"


@dataclass
class Recorder:
    """A running `py-spy record --pid`."""

    process: subprocess.Popen
    output: Path
    log: Path
    errors_log: Path
    rate: int

    @classmethod
    def attach(cls, binary: str, pid: int, workdir: Path, rate: int,
               subprocesses: bool, duration: float | None = None) -> Recorder:
        """Start py-spy on pid and wait until it samples; SamplerUnavailable if it cannot.
        `duration`: py-spy stops by itself after that many seconds (a running service)."""
        output = workdir / "py-spy.json"
        log = workdir / "py-spy.out"
        errors_log = workdir / "py-spy.err"
        command = [binary, "record", "--pid", str(pid), "--output", str(output),
                   "--format", "speedscope", "--rate", str(rate), "--idle", "--threads",
                   "--full-filenames", "--nonblocking"]
        if subprocesses:
            command.append("--subprocesses")
        if duration is not None:
            command += ["--duration", str(max(1, round(duration)))]
        with open(log, "wb") as out, open(errors_log, "wb") as err:
            try:
                process = subprocess.Popen(command, stdout=out, stderr=err,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                raise SamplerUnavailable(
                    "sampler-unavailable", f"cannot run py-spy: {exc.strerror or exc}") from None
        recorder = cls(process, output, log, errors_log, rate)
        recorder._wait_attached()
        return recorder

    def _wait_attached(self) -> None:
        deadline = time.perf_counter() + ATTACH_TIMEOUT
        while time.perf_counter() < deadline:
            if b"Sampling process" in _read(self.log):
                return
            if self.process.poll() is not None:
                raise SamplerUnavailable("attach-failed", _attach_reason(
                    _read(self.errors_log) + _read(self.log)))
            time.sleep(0.005)
        self.kill()
        raise SamplerUnavailable("attach-failed",
                                 f"py-spy did not attach within {ATTACH_TIMEOUT:g} s")

    def finish(self, main_pid: int, within: float = FINISH_TIMEOUT) -> RawProfile:
        """Once the target has ended (or py-spy's --duration is near its end): let py-spy
        write its file, then read it."""
        try:
            self.process.wait(within)
        except subprocess.TimeoutExpired:
            # Still sampling leftovers of the tree: SIGINT makes it stop and write.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(FINISH_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self.output.is_file():
            detail = (_read(self.errors_log) or _read(self.log)).decode("utf-8", "replace")
            raise SamplerUnavailable("sampler-failed", "py-spy wrote no profile"
                                     + (f": {_last_line(detail)}" if detail.strip() else ""))
        raw = parse_speedscope(json.loads(self.output.read_text(encoding="utf-8")), self.rate,
                               main_pid)
        raw.errors = _reported_errors(_read(self.log).decode("utf-8", "replace"))
        return raw

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def parse_speedscope(data: dict, rate: int, main_pid: int = 0) -> RawProfile:
    """py-spy's speedscope document (one `sampled` profile per thread) as stack samples.
    The `process …` and `thread (…)` pseudo-frames that --subprocesses/--threads add are
    dropped: the profile's name carries the pid and thread id."""
    raw = RawProfile(sampler="py-spy", rate=rate)
    shared = data.get("shared", {}).get("frames", [])
    index: dict[Frame, int] = {}
    remap: dict[int, int | None] = {}
    for i, frame in enumerate(shared):
        name = str(frame.get("name", ""))
        file = str(frame.get("file") or "")
        if not file and _PSEUDO_FRAME.match(name):
            remap[i] = None
        else:
            remap[i] = raw.intern(Frame(name, file, int(frame.get("line") or 0)), index)
    first_pid = 0
    for profile in data.get("profiles", []):
        match = _PROFILE_NAME.match(str(profile.get("name", "")))
        pid = int(match.group(1)) if match and match.group(1) else main_pid
        tid = int(match.group(2)) if match else 0
        name = match.group(3) if match and match.group(3) else ""
        first_pid = first_pid or pid
        if name:
            raw.thread_names[(pid, tid)] = name
        elif tid and tid == pid:
            raw.thread_names[(pid, tid)] = "MainThread"
        for stack in profile.get("samples", []):
            frames = tuple(m for m in (remap.get(i) for i in stack) if m is not None)
            raw.stacks[(pid, tid, frames)] += 1
    root = main_pid or first_pid
    raw.main = (root, root)
    return raw


def _attach_reason(output: bytes) -> str:
    text = output.decode("utf-8", "replace")
    lowered = text.lower()
    if "permission denied" in lowered or "operation not permitted" in lowered:
        return ("py-spy may not read the target's memory (no ptrace permission: run as "
                "root, set kernel.yama.ptrace_scope=0, or give the container SYS_PTRACE; "
                "on macOS py-spy needs sudo)")
    if "unsupported version" in lowered or "failed to find python version" in lowered:
        return f"py-spy does not support this interpreter: {_last_line(text)}"
    return "py-spy could not attach" + (f": {_last_line(text)}" if text.strip() else "")


def _reported_errors(log: str) -> int:
    match = re.search(r"Errors: (\d+)", log)
    return int(match.group(1)) if match else 0


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
