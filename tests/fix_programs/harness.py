"""Runs the before/after programs of this folder: the local API they call, `--fix` on a
copy, each program before and after against the API, and the speed-up table.

Shared by tests/test_fix_programs.py and benchmarks/fix_speedup.py (both load this file by
path). Not a program: it is not copied with them, so never fixed.

The API (`ApiServer`) is a stdlib ThreadingHTTPServer on 127.0.0.1, port 0. Every new
connection costs CONNECT_DELAY (what TCP and TLS set-up cost on a real network; on the
loopback it is nothing, and reusing a client would save nothing) and every request
REQUEST_DELAY, slept in the request's own thread, so concurrent requests overlap as they
would against a real service. The answer is `{"path": <the request's path>}`: the
programs' output depends only on what they asked, never on timing or order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONNECT_DELAY = 0.1
REQUEST_DELAY = 0.1
RUN_TIMEOUT = 60.0
SUPPORT = ("minihttp.py", "optadvisor.toml", "stdlib_clients.toml")
"""Copied with the programs: the shared helper and the scan config (a project catalog)."""
CONFIG = "optadvisor.toml"


@dataclass(frozen=True)
class Program:
    name: str
    """File name in this folder."""
    rules: tuple[str, ...]
    """The rules whose fixes change it; a re-scan of the fixed copy finds none of them."""
    expect: tuple[str, ...]
    """Text the fixed file holds (the fix shape's signature)."""
    gone: tuple[str, ...] = ()
    """Text the fixed file no longer holds."""
    min_speedup: float = 0.0
    """Asserted (before seconds / after seconds) where the gain is structural: requests that
    ran one after the other now overlap. 0: a fix for correctness, output compared only."""
    why: str = ""


PROGRAMS: tuple[Program, ...] = (
    Program("sleep_in_async.py", ("OPT101",), ("await asyncio.sleep(BACKOFF)", "import asyncio"),
            gone=("time.sleep(",),
            why="asyncio_sleep: the back-off no longer stalls the other watchers"),
    Program("blocking_block.py", ("OPT101",),
            ("await asyncio.to_thread(_with_resp)", "rows = await asyncio.to_thread(_with_conn)"),
            min_speedup=1.3,
            why="to_thread_block: two teams' imports overlap in worker threads (2 x 3 requests)"),
    Program("blocking_block_nested.py", ("OPT101",),
            ("rows = await asyncio.to_thread(_with_conn)",), gone=("_with_resp",),
            min_speedup=1.3,
            why="to_thread_block: the connection block, with the request it holds, moves "
                "whole to one worker thread"),
    Program("blocking_call.py", ("OPT101", "OPT104"),
            ("user = await asyncio.to_thread(load_user, base, user_id)",
             "(await asyncio.to_thread(urllib.request.urlopen, "),
            min_speedup=1.5,
            why="to_thread: three reports' requests overlap (3 x 2 requests)"),
    Program("sequential_awaits.py", ("OPT102",),
            ("profile, orders, messages = await asyncio.gather(",),
            min_speedup=1.5, why="gather: three independent requests at once"),
    Program("sequential_requests.py", ("OPT209",),
            ("profile, orders, messages = (future.result() for future in futures)",
             "with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:"),
            min_speedup=1.3,
            # Three reads of one latency each become one: (start + 3L) / (start + L), about
            # 1.7x with the interpreter's start-up counted; with two of the three (as this
            # program once had) the structural gain was 1.26x and the 1.3 bound flaky.
            why="thread_pool: three independent sync reads at once"),
    Program("await_loop.py", ("OPT103",),
            ("asyncio.Semaphore(10)", "await asyncio.gather(*(_one_item(name) for name in names))"),
            gone=("for name in names:",),
            min_speedup=2.0, why="gather_loop: six requests at once"),
    Program("client_per_call.py", ("OPT201",),
            ("@functools.cache", "conn = _shared_httpconnection()"),
            gone=("conn = http.client.HTTPConnection(",),
            min_speedup=1.2,
            why="hoist_client: one kept-alive connection pays the set-up once, not 6 times"),
    Program("missing_timeout.py", ("OPT202",),
            ("urllib.request.urlopen(request, timeout=30)",
             'urllib.request.urlopen(f"{base}/version", timeout=30)'),
            why="add_timeout: a bound on a hung server; the same requests otherwise"),
)


# ----------------------------------------------------------------------------- the API

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, for the clients that reuse a connection
    # Headers and body go out in two writes: with Nagle's algorithm on, the body of every
    # answer on a kept-alive connection waits for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    @property
    def api(self) -> ApiServer:
        return self.server  # type: ignore[return-value]

    def setup(self) -> None:
        time.sleep(self.api.connect_delay)  # a new connection
        super().setup()

    def do_GET(self) -> None:
        with self.api.lock:  # counted before the answer: the client cannot be faster
            self.api.requests += 1
        time.sleep(self.api.request_delay)
        body = json.dumps({"path": self.path}, sort_keys=True).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ApiServer(ThreadingHTTPServer):
    """The API on `url`, served by a background thread from start() to stop()."""

    daemon_threads = True
    request_queue_size = 64  # await_loop opens 6 connections at once

    def __init__(self, connect_delay: float = CONNECT_DELAY,
                 request_delay: float = REQUEST_DELAY) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connect_delay = connect_delay
        self.request_delay = request_delay
        self.lock = threading.Lock()
        self.requests = 0
        """Requests answered (or being answered) so far."""
        self._thread = threading.Thread(target=self.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        host, port = self.server_address[:2]
        self.url = f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serving(connect_delay: float = CONNECT_DELAY,
            request_delay: float = REQUEST_DELAY) -> Iterator[ApiServer]:
    """`with serving() as api:` the API runs on `api.url` until the block ends."""
    server = ApiServer(connect_delay, request_delay)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------------------- fixing

def copy_programs(dest: Path, programs: tuple[Program, ...] = PROGRAMS) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*(p.name for p in programs), *SUPPORT):
        shutil.copy2(HERE / name, dest / name)
    return dest


def optadvisor_scan(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m optadvisor scan FOLDER --config FOLDER/optadvisor.toml ARGS`, no cache."""
    return subprocess.run(
        [sys.executable, "-m", "optadvisor", "scan", str(folder), "--config",
         str(folder / CONFIG), "--no-cache", "--fail-on", "never", *args],
        capture_output=True, text=True, timeout=300, check=False)


def fix(folder: Path) -> subprocess.CompletedProcess[str]:
    """What a user runs: apply the safe and the unsafe fixes in place."""
    return optadvisor_scan(folder, "--fix", "--unsafe-fixes", "-q", "--format", "json")


def findings(folder: Path) -> list[dict[str, Any]]:
    """The recommendations of a scan of folder (JSON report)."""
    done = optadvisor_scan(folder, "-q", "--format", "json")
    if done.returncode != 0:
        raise RuntimeError(f"scan failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report.get("errors"):
        raise RuntimeError(f"scan errors: {report['errors']}")
    return report["recommendations"]


# ----------------------------------------------------------------------------- running

@dataclass(frozen=True)
class Run:
    stdout: str
    stderr: str
    returncode: int
    seconds: float


def run_program(path: Path, url: str) -> Run:
    """`python PATH URL` in its folder, wall time from start to exit."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(path), url], cwd=path.parent, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    seconds = time.perf_counter() - started
    return Run(done.stdout, done.stderr, done.returncode, seconds)


def table(rows: list[tuple[str, float, float]]) -> str:
    """program, before s, after s, speed-up: one aligned line each."""
    width = max([len("program"), *(len(name) for name, _, _ in rows)])
    lines = [f"{'program':<{width}}  {'before s':>8}  {'after s':>8}  {'speedup':>7}"]
    for name, before, after in rows:
        lines.append(f"{name:<{width}}  {before:8.2f}  {after:8.2f}  {before / after:6.2f}x")
    return "\n".join(lines)
