"""How much slower a script runs under `optadvisor profile`'s default (sampling) pass.

    python benchmarks/profile_overhead.py [SCRIPT] [--runs 5]

Alternates plain runs (`python SCRIPT`, end to end) with profiled runs and prints the
medians: the script's wall time under py-spy + the monitor (ProfileRun.wall_seconds:
from the gate opening to exit, so interpreter startup is not in it) and the whole
`run_profile` call (startup, attach, parsing: what the user waits for). Not a timed test:
run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from optadvisor.profile import ProfileOptions, run_profile

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("script", nargs="?", default=str(ROOT / "fixtures/scripts/cpu_bound.py"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plain, profiled, tool = [], [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, args.script], stdout=subprocess.DEVNULL, check=True)
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        run = run_profile(ProfileOptions(script=Path(args.script), lines=False, stdout="null"))
        tool.append(time.perf_counter() - started)
        profiled.append(run.wall_seconds)
    p, q, t = (statistics.median(x) for x in (plain, profiled, tool))
    print(f"plain run (end to end)      {p:.3f} s")
    print(f"profiled script wall        {q:.3f} s   x{q / p:.3f}")
    print(f"run_profile call (all in)   {t:.3f} s   x{t / p:.3f}")


if __name__ == "__main__":
    main()
