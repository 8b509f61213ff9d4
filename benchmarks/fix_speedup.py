"""What the fixes buy: each before/after program of tests/fix_programs/, timed against a
local API.

    python benchmarks/fix_speedup.py                    # each program once before, once after
    python benchmarks/fix_speedup.py --repeat 5 --json out.json
    python benchmarks/fix_speedup.py --keep /tmp/fixed  # keep the fixed copies to read

Run it with the interpreter optadvisor is installed in (it runs `sys.executable -m
optadvisor`). Exit status 0 when every check passes, 1 otherwise.

Steps:

  fix      The programs are copied twice into a temporary folder; `optadvisor scan COPY
           --fix --unsafe-fixes --config COPY/optadvisor.toml --no-cache` rewrites one copy.
           Nothing "after" is written by hand. Every program must have changed and hold
           its fix shape's text (the expectations in tests/fix_programs/harness.py).
  API      A stdlib ThreadingHTTPServer on 127.0.0.1 (port 0): every new connection
           costs --connect-delay (TCP and TLS set-up on a real network), every request
           --request-delay, slept in the request's thread (concurrent requests overlap).
           The answer is the request's path as JSON, so output never depends on timing.
  runs     `python PROGRAM URL`, wall time from start to exit (interpreter start-up
           included, on both sides). Each repeat runs every program before and after,
           the order of the pair flipping every repeat; the table shows medians.

Checks (a failure prints PROBLEM or FAIL and exits 1): every run exits 0, the fixed
program prints exactly what the original prints, and the speed-up (median before / median
after) reaches the program's floor where the gain is structural (requests that ran one
after another now overlap; the same floors as tests/test_fix_programs.py). The sleep and
timeout fixes are about correctness: their speed-up is shown, not checked.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HARNESS_FILE = ROOT / "tests" / "fix_programs" / "harness.py"


def load_harness() -> Any:
    spec = importlib.util.spec_from_file_location("fix_programs_harness", HARNESS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # before exec: dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def check_fixed(harness: Any, before: Path, after: Path) -> list[str]:
    """Problems with the fixed copy: a program unchanged, or without its shape's text."""
    problems = []
    for program in harness.PROGRAMS:
        original = (before / program.name).read_text(encoding="utf-8")
        fixed = (after / program.name).read_text(encoding="utf-8")
        if fixed == original:
            problems.append(f"{program.name}: --fix changed nothing")
            continue
        problems += [f"{program.name}: {text!r} not in the fixed file"
                     for text in program.expect if text not in fixed]
        problems += [f"{program.name}: {text!r} still in the fixed file"
                     for text in program.gone if text in fixed]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side (default 1)")
    parser.add_argument("--connect-delay", type=float, default=None,
                        help="seconds per new connection (default: the harness's, 0.1)")
    parser.add_argument("--request-delay", type=float, default=None,
                        help="seconds per request (default: the harness's, 0.1)")
    parser.add_argument("--json", dest="json_out", type=Path, help="write every figure here")
    parser.add_argument("--keep", type=Path, help="copy the before/after folders here")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    harness = load_harness()
    connect = harness.CONNECT_DELAY if args.connect_delay is None else args.connect_delay
    request = harness.REQUEST_DELAY if args.request_delay is None else args.request_delay
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load "
          f"{_load()}; API delays: {connect:.2f} s per connection, {request:.2f} s per "
          f"request; {args.repeat} run(s) per side")

    with tempfile.TemporaryDirectory(prefix="optadvisor-fix-speedup-") as tmp:
        before = harness.copy_programs(Path(tmp) / "before")
        after = harness.copy_programs(Path(tmp) / "after")
        done = harness.fix(after)
        if done.returncode != 0:
            print(f"PROBLEM: optadvisor --fix exited {done.returncode}:\n{done.stderr[-3000:]}")
            return 1
        problems = check_fixed(harness, before, after)
        if args.keep is not None:
            for side in (before, after):
                shutil.copytree(side, args.keep / side.name, dirs_exist_ok=True)
            print(f"copies kept in {args.keep}")
        samples: dict[str, dict[str, list[float]]] = {
            p.name: {"before": [], "after": []} for p in harness.PROGRAMS}
        with harness.serving(connect, request) as api:
            for repeat in range(args.repeat):
                for program in harness.PROGRAMS:
                    sides = ("before", "after") if repeat % 2 == 0 else ("after", "before")
                    outputs = {}
                    for side in sides:
                        folder = before if side == "before" else after
                        run = harness.run_program(folder / program.name, api.url)
                        if run.returncode != 0:
                            problems.append(f"{program.name} ({side}) exited {run.returncode}: "
                                            f"{run.stderr.strip()[-500:]}")
                        outputs[side] = run.stdout
                        samples[program.name][side].append(run.seconds)
                    if outputs["before"] != outputs["after"]:
                        problems.append(f"{program.name}: the output changed\n  before: "
                                        f"{outputs['before'][:300]}\n  after:  "
                                        f"{outputs['after'][:300]}")

    rows, results = [], []
    for program in harness.PROGRAMS:
        b = statistics.median(samples[program.name]["before"])
        a = statistics.median(samples[program.name]["after"])
        speedup = b / a
        verdict = ("PASS" if speedup >= program.min_speedup else "FAIL") \
            if program.min_speedup else "-"
        rows.append((program.name, b, a))
        results.append({"program": program.name, "rules": list(program.rules),
                        "before_s": samples[program.name]["before"],
                        "after_s": samples[program.name]["after"],
                        "median_before_s": b, "median_after_s": a, "speedup": speedup,
                        "min_speedup": program.min_speedup, "verdict": verdict,
                        "why": program.why})
    lines = harness.table(rows).splitlines()
    print()
    print(f"{lines[0]}  {'floor':>5}  verdict")
    for line, result in zip(lines[1:], results):
        floor = f"{result['min_speedup']:.1f}x" if result["min_speedup"] else "-"
        print(f"{line}  {floor:>5}  {result['verdict']}")
    print()
    for result in results:
        print(f"  {result['program']}: {result['why']}")
    failed = [r["program"] for r in results if r["verdict"] == "FAIL"]
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if failed:
        print(f"FAIL: below the speed-up floor: {', '.join(failed)}")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps({
            "python": platform.python_version(), "cores": os.cpu_count(),
            "connect_delay": connect, "request_delay": request, "repeat": args.repeat,
            "results": results, "problems": problems, "load_after": _load(),
        }, indent=2) + "\n", encoding="utf-8")
    return 1 if problems or failed else 0


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


if __name__ == "__main__":
    sys.exit(main())
