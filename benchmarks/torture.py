"""Torture run: scan the interpreter's whole lib directory (standard library, its test data
with broken files on purpose, and site-packages) and check what a hostile tree must not
break.

    python benchmarks/torture.py [ROOT] [--jobs N] [--budget SECONDS] [--site-packages]

By default the lib directory is scanned as a user would scan it: site-packages is
discovered and left out as installed packages, and must show up among the exclusions the
summary reports (on Python 3.11 here: 19,215 files, 1,791 analyzed, 17,424 reported).
`--site-packages` analyzes it too (a config `exclude = ["!site-packages/", ...]` takes it
back from the default excludes): ten times the files, an hour or more on 2 loaded cores.

Checks, printed as PASS/FAIL lines (this is a benchmark, not a test: it takes minutes):
- the scan ends with exit 0 or 1 (never a crash, never a hang past --timeout);
- every file discovered is accounted for: analyzed + error records + the default
  excludes the summary reports (`excluded_by_default`) == the .py/.pyi files on disk;
- no process of the run is alive 5 s after it ended;
- peak RSS of the whole process tree (sampled every 50 ms with psutil).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil


def files_on_disk(root: Path) -> int:
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (Path(folder, d).is_symlink())]
        count += sum(1 for name in files if name.endswith((".py", ".pyi")))
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=sysconfig.get_paths()["stdlib"],
                        help="tree to scan (default: this interpreter's lib directory, "
                             "site-packages included)")
    parser.add_argument("--jobs", "-j", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds before the run counts as hung")
    parser.add_argument("--budget", type=int, default=0,
                        help="max-file-seconds for the run (default: the config's)")
    parser.add_argument("--site-packages", action="store_true",
                        help="analyze site-packages too instead of leaving it out as a scan "
                             "does by default (then counted among the reported exclusions)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    with tempfile.TemporaryDirectory(prefix="optadvisor-torture-") as tmp:
        out = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "optadvisor", "scan", str(root), "--format",
                   "json", "-o", str(out), "--no-cache", "--fail-on", "never", "--quiet"]
        if args.jobs:
            command += ["--jobs", str(args.jobs)]
        env = dict(os.environ)
        lines = ["[tool.optadvisor]"]
        if args.budget:
            lines.append(f"max-file-seconds = {args.budget}")
        if args.site_packages:
            lines.append('exclude = ["!site-packages/", "!dist-packages/"]')
        config = Path(tmp) / "torture.toml"
        config.write_text("\n".join(lines) + "\n")
        command += ["--config", str(config)]
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=tmp)
        parent = psutil.Process(proc.pid)
        seen: dict[int, psutil.Process] = {}
        peak = 0
        while proc.poll() is None and time.perf_counter() - started < args.timeout:
            tree = [parent]
            try:
                tree += parent.children(recursive=True)
            except psutil.Error:
                pass
            rss = 0
            for member in tree:
                try:
                    rss += member.memory_info().rss
                    seen.setdefault(member.pid, member)
                except psutil.Error:
                    continue
            peak = max(peak, rss)
            time.sleep(0.05)
        hung = proc.poll() is None
        if hung:
            proc.kill()
        code = proc.wait()
        seconds = time.perf_counter() - started
        time.sleep(5)
        alive = [p for p in seen.values()
                 if p.pid != proc.pid and p.is_running()
                 and p.status() != psutil.STATUS_ZOMBIE]
        report = json.loads(out.read_text()) if out.exists() else None

    on_disk = files_on_disk(root)
    print(f"root: {root}")
    print(f"scan: {seconds:.1f} s, exit {code}, peak RSS of the tree "
          f"{peak / 2**30:.2f} GiB over {len(seen)} processes")
    checks: list[tuple[str, bool, str]] = []
    checks.append(("ended (no crash, no hang)", not hung and code in (0, 1),
                   f"exit {code}" + (" (hung)" if hung else "")))
    if report is not None:
        summary = report["summary"]
        errors = report["errors"]
        excluded = sum(v.get("files", 0) for v in summary.get("excluded_by_default", {}).values())
        accounted = summary["files"] + len([e for e in errors if e.get("path")]) + excluded
        kinds = Counter(e["kind"] for e in errors)
        by_kind = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        reasons = ", ".join(f"{k} {v.get('files', 0)}"
                            for k, v in summary.get("excluded_by_default", {}).items())
        print(f"files: {on_disk:,} on disk; {summary['files']:,} analyzed, {len(errors):,} "
              f"error records ({by_kind}), {excluded:,} excluded by default ({reasons})")
        checks.append(("every file accounted for", accounted == on_disk,
                       f"{accounted:,} accounted vs {on_disk:,} on disk"))
        checks.append(("no internal errors", kinds.get("internal-error", 0) == 0,
                       f"{kinds.get('internal-error', 0)} internal-error records"))
    else:
        checks.append(("a report was written", False, "no report"))
    checks.append(("no process left", not alive, f"{len(alive)} alive 5 s later"))
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
