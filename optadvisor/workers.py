"""Analysis of files in worker processes that can neither crash, stall nor outlive a scan.

Every file read from disk is analyzed in a worker: a plain child interpreter that takes one
file at a time over a pipe and answers with its FileFacts or ErrorRecord. The parent keeps
the budget. A worker that is silent on one file for longer than `max_file_seconds`, or
grows past `max_file_mib` of memory, is killed: that file becomes a `too-slow` /
`out-of-memory` record and a fresh worker takes the rest. A worker that dies (a crash in a
native parser, the OOM killer) costs exactly the file it was on. This cannot be done in
the scanning process itself: libcst's native parser holds the GIL, so no thread of ours
would even run while it stalls.

On Linux the memory budget is also a ceiling inside the worker (RLIMIT_DATA, set once
the worker is ready, at its size then plus `max_file_mib`): the parent looks at a worker's
memory only every `_POLL_SECONDS`, and a file whose analysis allocates gigabytes within
that time would have had them. Past the ceiling an allocation fails, the file becomes an
`out-of-memory` record and the worker is replaced. Not every allocator raises there:
libcst's native (Rust) parser aborts the worker ("memory allocation of N bytes failed",
SIGABRT). A worker's stderr goes to a file of its own, read back only when it dies: its
last words tell a file too big for its budget (an `out-of-memory` record) from a crash (an
`internal-error` naming the signal), and a native parser's backtrace never reaches the
user's terminal.

Workers die with the scan: on Linux the kernel kills them when their parent does
(PR_SET_PDEATHSIG); elsewhere a thread of theirs sees their parent pid change; and
everywhere they exit when their pipe from the parent closes.
Idle workers are kept for the next scan of the same process (tests, the library API),
and closed at exit.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Callable

from optadvisor.analyze.catalog import Catalog
from optadvisor.lifetime import kernel_ties
from optadvisor.models import ErrorRecord, FileFacts
from optadvisor.spawn import STARTED, default_jobs, start

Job = tuple[str, bytes]
Outcome = FileFacts | ErrorRecord
Progress = Callable[[int], None]

_HEADER = struct.Struct("!Q")
# A worker's first answer: started, imports done. A file's time budget starts here, not at
# the worker's start: a loaded machine took longer than a 2 s budget to start a worker and
# import libcst, and every file a fresh worker got became `too-slow`.
_READY = "ready"
# How long a worker may take to start before its file counts as lost.
_START_SECONDS = 120.0
# How often the parent looks at the workers' memory while they are quiet.
_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Budget:
    """What one file may cost a worker: seconds of silence and resident memory."""
    seconds: float = 60.0
    mib: int = 2048




def worker_count(requested: int, files: int) -> int:
    """No more workers than files, nor than twice the cores: `--jobs 10000` on 60 files
    started 64 processes (2.7 GiB) before this clamp."""
    return max(1, min(requested, files, default_jobs() * 2))


# --------------------------------------------------------------------------- the worker


def serve() -> None:
    """The worker's loop: an init message, then (rel, bytes) in, outcome out, until EOF."""
    _die_with_parent()
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print must not corrupt the protocol
    inp = os.fdopen(0, "rb", buffering=0)
    from optadvisor.analyze import analyze_bytes, run_with_deep_stack

    # Before the init message: a worker started ahead of need (prespawn) imports libcst
    # while its scan is still finding out what to analyze.
    _warm_up()
    with inp, out:
        init = _read_frame(inp)
        if init is None:
            return
        catalog, max_bytes, mib = pickle.loads(init[0]), init[1], init[2]  # type: ignore[index]

        def loop() -> None:
            # Measured here, in the deep-stack thread: its stack is part of the baseline.
            _limit_memory(mib)
            _write_frame(out, _READY)
            while True:
                job = _read_frame(inp)
                if job is None:
                    return
                rel, data = job
                try:
                    _test_crash_hook(rel)
                    outcome = analyze_bytes(rel, data, catalog, max_bytes)
                except MemoryError:
                    outcome = _out_of_memory(rel, mib)
                spent = isinstance(outcome, ErrorRecord) and outcome.kind == "out-of-memory"
                if spent:
                    outcome = _out_of_memory(rel, mib)  # the budget's words, not the parser's
                _write_frame(out, outcome)
                if spent:
                    return  # a failed allocation may have left anything half-built

        # One deep-stack thread for the worker's whole life, not one per file.
        run_with_deep_stack(loop)


def _die_with_parent() -> None:
    parent = os.getppid()
    if kernel_ties():
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass
    else:
        # Elsewhere the end of the pipe from the parent is seen only between files: a
        # worker stuck on one outlived a killed scan. A thread watches for the parent's
        # death instead (an orphan gets a new parent pid). It needs the GIL to act, so a
        # native parser that holds it still finishes its file first.
        threading.Thread(target=_watch_parent, args=(parent,), name="optadvisor-parent",
                         daemon=True).start()
    if parent == 1 or os.getppid() != parent:  # the parent died before we could ask
        os._exit(0)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(0)


def _warm_up() -> None:
    """Import what analysis needs before saying ready, so no file pays for it."""
    import libcst  # noqa: F401

    import optadvisor.analyze.facts  # noqa: F401
    import optadvisor.analyze.positions  # noqa: F401
    import optadvisor.analyze.visitor  # noqa: F401


def _limit_memory(mib: int) -> None:
    """Cap what this worker may allocate from now on at `mib` more than it holds (Linux:
    RLIMIT_DATA counts heap and private mappings, not the address space reserved but
    never written, as RLIMIT_AS would). Elsewhere only the parent's poll applies."""
    if not mib or not sys.platform.startswith("linux"):
        return
    import psutil  # here, not at the top: a scan that analyzes nothing never needs it

    try:
        import resource

        now = psutil.Process().memory_info().data
        ceiling = now + mib * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            ceiling = min(ceiling, hard)
        if soft == resource.RLIM_INFINITY or ceiling < soft:
            resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    except (ImportError, OSError, ValueError, psutil.Error):  # pragma: no cover
        pass


def _out_of_memory(rel: str, mib: int) -> ErrorRecord:
    if not mib:  # no budget: the machine's memory ran out
        return ErrorRecord(rel, "out-of-memory", "ran out of memory analyzing this file")
    return ErrorRecord(rel, "out-of-memory", (
        f"analysis needed more than {mib:,} MiB and was stopped "
        "(raise max-file-mib in [tool.optadvisor] to allow more)"))


def _test_crash_hook(rel: str) -> None:
    """TEST-ONLY: `OPTADVISOR_TEST_CRASH_ON=<substring>` makes a worker die (`os._exit(1)`,
    as a native crash or the OOM killer would) on a file whose rel path contains it;
    `OPTADVISOR_TEST_HANG_ON` makes it hang (nothing in the worker ever interrupts the
    wait), so tests can prove what one bad file costs. Not SIGSTOP: a stopped process in
    an orphaned process group gets SIGCONT from the kernel (with SIGHUP, which a job runner
    may ignore), and the "hung" worker then finished the file (seen in 1 run of 8)."""
    crash = os.environ.get("OPTADVISOR_TEST_CRASH_ON")
    if crash and crash in rel:
        os._exit(1)
    hang = os.environ.get("OPTADVISOR_TEST_HANG_ON")
    if hang and hang in rel:
        # OPTADVISOR_TEST_HANG_NOTES=<dir>: say so first (a file named by the pid), so a
        # test can act when the worker is really stuck on its file.
        notes = os.environ.get("OPTADVISOR_TEST_HANG_NOTES")
        if notes:
            Path(notes, str(os.getpid())).touch()
        time.sleep(10**6)
    spike = os.environ.get("OPTADVISOR_TEST_SPIKE_ON")
    if spike and spike in rel:
        # An allocation past the budget, let go before the parent looks (it is never
        # written, so it is never resident: no poll can see it, only the ceiling).
        size = int(os.environ.get("OPTADVISOR_TEST_SPIKE_MIB", "1024")) * 1024 * 1024
        blob = bytes(size)  # calloc: fresh zero pages, never touched
        del blob


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: BinaryIO) -> object | None:
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(stream, _HEADER.unpack(header)[0])
    return None if body is None else pickle.loads(body)


def _write_frame(stream: BinaryIO, value: object) -> None:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(body)) + body)


# --------------------------------------------------------------------------- the parent


class _Worker:
    def __init__(self, init: tuple[bytes, int, int] | None,
                 started: tuple[subprocess.Popen[bytes], IO[bytes]] | None = None) -> None:
        """`started`: a process spawn.prespawn started, adopted as this worker."""
        self.proc, self.stderr = started if started is not None else start()
        self.init = init
        self.job: Job | None = None
        self.since = 0.0
        self.ready = False
        # Resident memory when ready: the budget is what a file adds to it, as the ceiling.
        self.baseline_mib = 0.0
        # Where the current file's words start in the stderr file.
        self.said = 0
        if init is not None:
            _write_frame(self.stdin, init)

    def bind(self, init: tuple[bytes, int, int]) -> bool:
        """Give a worker started without one (prespawn) its init message."""
        self.init = init
        try:
            _write_frame(self.stdin, init)
        except (BrokenPipeError, OSError):
            return False
        return True

    @property
    def stdin(self) -> BinaryIO:
        return self.proc.stdin  # type: ignore[return-value]

    @property
    def stdout(self) -> BinaryIO:
        return self.proc.stdout  # type: ignore[return-value]

    def send(self, job: Job) -> bool:
        # Until the worker is ready, `since` times its start (see _READY).
        self.job, self.since = job, time.monotonic()
        self.said = os.fstat(self.stderr.fileno()).st_size
        try:
            _write_frame(self.stdin, job)
        except (BrokenPipeError, OSError):
            return False
        return True

    def resident_mib(self) -> float:
        import psutil

        try:
            return psutil.Process(self.proc.pid).memory_info().rss / (1024 * 1024)
        except Exception:  # noqa: BLE001 - a worker that is gone uses nothing
            return 0.0

    def obituary(self, rel: str, mib: int) -> ErrorRecord:
        """The record of the file this worker died on, from how it ended and what it said
        while on that file."""
        try:
            code = self.proc.wait(timeout=5)  # its pipe is closed: it is on its way out
        except subprocess.TimeoutExpired:
            code = None
        self.stderr.seek(max(self.said, os.fstat(self.stderr.fileno()).st_size - 8192))
        words = self.stderr.read().decode("utf-8", "replace")
        return _death(rel, code, words, mib)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.stderr):
            if stream is not None:
                stream.close()


_IDLE: list[_Worker] = []


@atexit.register
def _close_idle() -> None:
    while _IDLE:
        worker = _IDLE.pop()
        try:
            worker.stdin.close()  # EOF: the worker returns from serve()
            worker.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        worker.kill()


def _take(init: tuple[bytes, int, int]) -> _Worker:
    while _IDLE:
        worker = _IDLE.pop()
        if worker.init == init and worker.proc.poll() is None:
            return worker
        worker.kill()
    while STARTED:
        worker = _Worker(None, STARTED.pop())
        if worker.proc.poll() is None and worker.bind(init):
            return worker
        worker.kill()
    return _Worker(init)


def analyze_all(jobs: list[Job], catalog: Catalog, max_bytes: int,
                processes: int, progress: Progress | None = None,
                budget: Budget = Budget()) -> dict[str, Outcome]:
    """Analyze every job in worker processes; every job gets an outcome, whatever happens
    to the workers."""
    results: dict[str, Outcome] = {}
    if not jobs:
        return results
    # The catalog goes to the workers as loaded here, pickled: a worker kept from an earlier
    # scan is reused only for the very same catalog (its files may have changed since).
    init = (pickle.dumps(catalog), max_bytes, budget.mib)
    # Largest first, so one big file does not finish last.
    pending = sorted(jobs, key=lambda j: len(j[1]))
    busy: dict[int, _Worker] = {}
    selector = selectors.DefaultSelector()
    spare = worker_count(processes, len(jobs))
    looked = time.monotonic()
    try:
        while pending or busy:
            while pending and spare:
                worker = _take(init)
                spare -= 1
                job = pending.pop()
                if worker.send(job):
                    busy[worker.stdout.fileno()] = worker
                    selector.register(worker.stdout, selectors.EVENT_READ)
                else:
                    results[job[0]] = worker.obituary(job[0], budget.mib)
                    worker.kill()
                    spare += 1
            for key, _ in selector.select(timeout=_POLL_SECONDS):
                worker = busy[key.fd]
                assert worker.job is not None
                rel = worker.job[0]
                try:
                    outcome = _read_frame(worker.stdout)
                except (OSError, pickle.UnpicklingError, EOFError):
                    outcome = None
                if outcome == _READY and not worker.ready:
                    worker.ready, worker.since = True, time.monotonic()
                    worker.baseline_mib = worker.resident_mib()
                    continue
                if outcome is None:
                    results[rel] = worker.obituary(rel, budget.mib)
                    _retire(worker, busy, selector, keep=False)
                else:
                    results[rel] = outcome  # type: ignore[assignment]
                    # A worker that hit its memory ceiling has ended itself.
                    spent = isinstance(outcome, ErrorRecord) and outcome.kind == "out-of-memory"
                    _retire(worker, busy, selector, keep=not spent)
                spare += 1
                if progress:
                    progress(1)
            now = time.monotonic()
            weigh = now - looked >= _POLL_SECONDS
            if weigh:
                looked = now
            for worker in list(busy.values()):
                assert worker.job is not None
                rel = worker.job[0]
                verdict = None
                if not worker.ready:
                    if now - worker.since > max(budget.seconds, _START_SECONDS):
                        verdict = ErrorRecord(rel, "internal-error", (
                            "the analyzer process did not start within "
                            f"{max(budget.seconds, _START_SECONDS):g} s"))
                elif now - worker.since > budget.seconds:
                    verdict = ErrorRecord(rel, "too-slow", (
                        f"analysis took longer than {budget.seconds:g} s and was stopped "
                        "(raise max-file-seconds in [tool.optadvisor] to allow more)"))
                elif weigh and budget.mib and \
                        worker.resident_mib() - worker.baseline_mib > budget.mib:
                    verdict = _out_of_memory(rel, budget.mib)
                if verdict is not None:
                    results[rel] = verdict
                    _retire(worker, busy, selector, keep=False)
                    spare += 1
                    if progress:
                        progress(1)
    finally:
        for worker in busy.values():  # interrupted: nothing half-done survives us
            worker.kill()
        selector.close()
    return results


def _retire(worker: _Worker, busy: dict[int, _Worker], selector: selectors.BaseSelector,
            keep: bool) -> None:
    selector.unregister(worker.stdout)
    del busy[worker.stdout.fileno()]
    worker.job = None
    if keep and len(_IDLE) < default_jobs() * 2:
        _IDLE.append(worker)
    else:
        worker.kill()


# What a process says as it dies of a failed allocation: Rust's alloc error handler
# (libcst's native parser), CPython's fatal errors and tracebacks, C++ and the C library.
_ALLOCATION_FAILED = re.compile(
    r"memory allocation of \d+ bytes failed|\bMemoryError\b|out of memory|"
    r"Cannot allocate memory|std::bad_alloc", re.IGNORECASE)


def _death(rel: str, code: int | None, words: str, mib: int) -> ErrorRecord:
    """A worker died on `rel`: out of memory if its last words say an allocation failed
    (with the ceiling in effect that is the file's budget), else a crash named by its
    signal or exit code and its last line."""
    if _ALLOCATION_FAILED.search(words):
        return _out_of_memory(rel, mib)
    if code is None:
        how = "it stopped answering"
    elif code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    lines = [line.strip() for line in words.splitlines() if line.strip()]
    if lines:
        last = lines[-1] if len(lines[-1]) <= 160 else lines[-1][:157] + "..."
        how += f"; its last words: {last}"
    return ErrorRecord(rel, "internal-error",
                       f"the analyzer process died on this file ({how}); please report it")
