"""Overhead of the calls pass on an asyncio program whose awaits it times (issue 11:
await time and concurrency), against plain runs in the same session.

    python benchmarks/await_overhead.py                  # 7 rounds per mode
    python benchmarks/await_overhead.py --runs 3 --json out.json

Target: benchmarks/targets/awaiting.py, which writes its own body wall time (its first
line to its last) to the file named by OPTADVISOR_BENCH_BODY. A plain `python
awaiting.py` is compared with the same body in the calls pass of `run_profile(calls=True,
flagged=..., flagged_awaits=...)` — what `profile --calls --findings` runs: `load_all` and
`fetch` are wrapped (timer, argument fingerprint) and stepped by the await driver, and
`load_all`'s loop is timed per call as an await-in-loop group. Each round alternates a
plain and a profiled run (the order flips every round); the medians are compared.

Two modes of the target: `service` (round trips to a local echo service over a socket, a
little JSON per answer: target calls pass / plain <= 1.3, issue 11) and `tight` (awaits of
`asyncio.sleep(0)`, which never wait: the driver's worst case, its cost per suspension
with nothing to hide it; reported, no target). Not a timed test: the machine is shared and
noisy, hence ratios of medians from alternated runs. Exit status 0 when the target holds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from optadvisor.profile import ProfileOptions, run_profile
from optadvisor.profile import target as profile_target

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "benchmarks" / "targets" / "awaiting.py"
BODY_ENV = "OPTADVISOR_BENCH_BODY"
TARGETS = {"service": 1.3}
PRIVATE_MARKER = "OPTADVISOR_BENCH_PROFILE_RUN"
"""As in profile_overhead.py: tests elsewhere on a shared machine kill every process that
carries optadvisor's usual marker."""


def _body(path: Path) -> list[float]:
    if not path.is_file():
        return []
    return [json.loads(line)["body"] for line in path.read_text().splitlines() if line]


def _flagged() -> tuple[tuple, tuple]:
    lines = TARGET.read_text().splitlines()
    first, second = [i for i, line in enumerate(lines, 1) if "for item in range(count)" in line]
    file = TARGET.resolve().as_posix()
    functions = ((file, "load_all"), (file, "fetch"), (file, "tight"), (file, "step"))
    groups = ((file, "load_all", "OPT103", "await-in-loop", first, first),
              (file, "tight", "OPT103", "await-in-loop", second, second))
    return functions, groups


def plain(mode: str, workdir: Path) -> float:
    handle, name = tempfile.mkstemp(dir=workdir, suffix=".jsonl")
    os.close(handle)
    done = subprocess.run([sys.executable, str(TARGET), "--mode", mode],
                          env={**os.environ, BODY_ENV: name}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    bodies = _body(Path(name))
    if done.returncode != 0 or len(bodies) != 1:
        raise SystemExit(f"plain run failed: {done.stderr[-400:]}")
    return bodies[0]


def profiled(mode: str, workdir: Path) -> tuple[float, dict[str, Any]]:
    handle, name = tempfile.mkstemp(dir=workdir, suffix=".jsonl")
    os.close(handle)
    functions, groups = _flagged()
    os.environ[BODY_ENV] = name
    try:
        run = run_profile(ProfileOptions(
            script=TARGET, args=("--mode", mode), calls=True, lines=False,
            flagged=functions, flagged_awaits=groups, stdout="null", stdin="null",
            root=ROOT, timeout=600))
    finally:
        os.environ.pop(BODY_ENV, None)
    bodies = _body(Path(name))
    calls = next((p for p in run.passes if p.name == "calls"), None)
    if run.errors or len(bodies) != 2 or calls is None or calls.status != "ok":
        raise SystemExit(f"profile failed: {[e.message for e in run.errors]} "
                         f"({len(bodies)} bodies)")
    measured = {"sites": len(run.await_sites),
                "awaits": sum(s.awaits for s in run.await_sites),
                "suspensions": sum(s.suspensions for s in run.await_sites),
                "groups": [(g.function, g.verdict, g.items, round(g.saving_seconds, 3))
                           for g in run.await_groups]}
    return bodies[-1], measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    profile_target.MARKER = PRIVATE_MARKER
    out: dict[str, Any] = {"python": sys.version.split()[0], "runs": args.runs, "modes": {}}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for mode in ("service", "tight"):
            plains: list[float] = []
            bodies: list[float] = []
            measured: dict[str, Any] = {}
            for index in range(args.runs):
                if index % 2 == 0:
                    plains.append(plain(mode, workdir))
                    body, measured = profiled(mode, workdir)
                else:
                    body, measured = profiled(mode, workdir)
                    plains.append(plain(mode, workdir))
                bodies.append(body)
                print(f"  {mode:7} round {index + 1}/{args.runs}: plain {plains[-1]:.3f} s, "
                      f"calls pass {body:.3f} s (x{body / plains[-1]:.2f})", flush=True)
            ratio = statistics.median(bodies) / statistics.median(plains)
            row = {"plain_median": statistics.median(plains),
                   "calls_pass_median": statistics.median(bodies), "ratio": ratio,
                   "pairs": [b / p for b, p in zip(bodies, plains)], "measured": measured}
            if mode in TARGETS:
                row["target"] = TARGETS[mode]
                row["verdict"] = "PASS" if ratio <= TARGETS[mode] else "FAIL"
                ok = ok and ratio <= TARGETS[mode]
            per = measured.get("suspensions") or 0
            if mode == "tight" and per:
                row["driver_us_per_suspension"] = 1e6 * (
                    statistics.median(bodies) - statistics.median(plains)) / per
            out["modes"][mode] = row
            print(f"{mode}: plain {row['plain_median']:.3f} s, calls pass "
                  f"{row['calls_pass_median']:.3f} s: x{ratio:.2f}"
                  + (f" (target {TARGETS[mode]}: {row['verdict']})" if mode in TARGETS else
                     f" (no target; {row.get('driver_us_per_suspension', 0):.1f} µs per "
                     "suspension)")
                  + f"; measured {measured}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    started = time.perf_counter()
    status = main()
    print(f"({time.perf_counter() - started:.0f} s)")
    sys.exit(status)
