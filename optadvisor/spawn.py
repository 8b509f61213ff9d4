"""Starting an analysis worker process, with nothing but the standard library imported.

The console entry starts one worker before the command line loads (prespawn): the worker's
own start-up (an interpreter, libcst, the analyzer) takes ~0.3 s, and a scan where one file
changed waits for it. Importing optadvisor.workers first (the models, the catalog) cost
the prespawn ~0.1 s of that head start, so what starts the process lives here, and
optadvisor.workers adopts the started process when it needs a worker.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
from typing import IO


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def start() -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """A worker process that serves optadvisor.workers' protocol, and the unnamed file
    its stderr goes to (unlinked at once: nothing is left on disk however the scan ends)."""
    root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    # sys.path[0] is the working directory under -c: the scanned tree, which must never
    # shadow optadvisor's own modules.
    code = (f"import sys; sys.path[0] = {root!r}; "
            "from optadvisor.workers import serve; serve()")
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the worker owns it (closed by its kill)
    try:
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=stderr, bufsize=0,
                                close_fds=True)
    except BaseException:
        stderr.close()
        raise
    return proc, stderr


STARTED: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
"""Workers started ahead of need, not yet adopted by optadvisor.workers."""


def prespawn() -> None:
    """Start one worker now, before the scan knows whether it will need one: its start-up
    is then spent on another core while the command line loads, discovers files and reads
    the warm state. A scan that needs no worker kills it at exit. Not on a single core,
    where the start-up would compete with the scan itself."""
    if STARTED or default_jobs() < 2:
        return
    try:
        STARTED.append(start())
    except OSError:
        pass  # cannot start a process now: the scan starts its own when it needs one, or fails clearly


@atexit.register
def _kill_started() -> None:
    while STARTED:
        proc, stderr = STARTED.pop()
        if proc.poll() is None:
            proc.kill()  # maybe mid-import: no need to let it finish
        proc.wait()
        for stream in (proc.stdin, proc.stdout, stderr):
            if stream is not None:
                stream.close()
