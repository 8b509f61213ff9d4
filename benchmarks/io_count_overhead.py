"""What the calls pass's I/O counter (optadvisor/profile/_iocount/) costs per counted
call: N `SELECT ... WHERE id = ?` on an in-memory SQLite database (CPU time) — the cheapest query
there is, so the worst case for the counter's share — timed plainly and with the counter
installed, each in a fresh interpreter, alternated. Prints the medians, the ratio and the
cost per call in microseconds.

    python benchmarks/io_count_overhead.py [--calls 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BOOTSTRAP = Path(__file__).resolve().parent.parent / "optadvisor" / "profile" / "_bootstrap.py"

PROGRAM = """
import importlib.util, sys, time
if {counted}:
    spec = importlib.util.spec_from_file_location("_boot", {bootstrap!r})
    boot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boot)
    counter = boot._io_counter()  # loaded as the calls pass loads it
import sqlite3

def load_users(conn, ids):
    return [conn.execute("SELECT name FROM users WHERE id = ?", (i,)).fetchone() for i in ids]

conn = sqlite3.connect(":memory:")
conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
conn.executemany("INSERT INTO users VALUES (?, ?)", [(i, str(i)) for i in range(1000)])
ids = [i % 1000 for i in range({calls})]
started = time.process_time()  # CPU time: a shared machine stretches wall time
load_users(conn, ids)
print(time.process_time() - started)
if {counted}:
    rows = counter.finish()["rows"]
    assert sum(r[8] for r in rows if r[2] == "load_users") == {calls}, rows
"""


def timed(counted: bool, calls: int, work: Path) -> float:
    # A real file: the counter charges calls to user code, and `-c` code is `<string>`.
    script = work / "program.py"
    script.write_text(PROGRAM.format(counted=counted, bootstrap=str(BOOTSTRAP), calls=calls))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plain, counted = [], []
    with tempfile.TemporaryDirectory(prefix="optadvisor-io-bench-") as tmp:
        for _ in range(args.runs):
            plain.append(timed(False, args.calls, Path(tmp)))
            counted.append(timed(True, args.calls, Path(tmp)))
    p, c = statistics.median(plain), statistics.median(counted)
    print(f"{args.calls:,} SELECTs by id, in-memory SQLite, median of {args.runs} runs")
    print(f"  plain    {p * 1000:8.1f} ms  ({p / args.calls * 1e6:.2f} µs per call)")
    print(f"  counted  {c * 1000:8.1f} ms  ({c / args.calls * 1e6:.2f} µs per call)")
    print(f"  ratio    {c / p:.2f}x; the counter costs {(c - p) / args.calls * 1e6:.2f} µs "
          "per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
