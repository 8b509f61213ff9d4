"""Analysis in worker processes: the number of workers never changes results, and a worker
that dies costs exactly the file it died on (an `internal-error` record), nothing else.

Worker deaths are simulated with the test-only hook in optadvisor/workers.py:
OPTADVISOR_TEST_CRASH_ON=<substring> makes a worker `os._exit(1)` on a file whose path
contains it. Workers come from a forkserver that keeps the environment it started with, so
those scans run in a subprocess whose environment sets the variable from the start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, write

from optadvisor.api import ScanOptions, scan
from optadvisor.workers import _batches

BLOCKING = '''import requests


async def handler(url):
    return requests.get(url, timeout=5)
'''


def comparable(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    data["summary"].pop("seconds", None)
    return data


def test_jobs_1_and_2_give_identical_results():
    one = scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=1))
    two = scan(ScanOptions(paths=(FIXTURES,), use_cache=False, jobs=2))
    assert one.summary.files > 10 and one.summary.recommendations > 10
    assert comparable(one.to_dict()) == comparable(two.to_dict())


def test_jobs_identical_with_bad_files_mixed_in(tmp_path: Path):
    files = {f"agents/a{i}/run.py": BLOCKING + f"\nN = {i}\n" for i in range(8)}
    files.update({"agents/a1/broken.py": "def f(:\n", "agents/a2/nul.py": b"x\0",
                  "agents/a3/empty.py": ""})
    write(tmp_path, files)
    reports = [scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=j)).to_dict()
               for j in (1, 2)]
    assert comparable(reports[0]) == comparable(reports[1])
    assert reports[0]["summary"]["files"] == 9 and reports[0]["summary"]["errors"] == 2


def crash_scan(root: Path, needle: str, *extra: str) -> dict:
    env = {**os.environ, "OPTADVISOR_TEST_CRASH_ON": needle}
    proc = subprocess.run(
        [sys.executable, "-m", "optadvisor", "scan", str(root), "--format", "json",
         "--no-cache", "--fail-on", "never", *extra],
        check=False, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_dying_worker_costs_one_file(tmp_path: Path):
    files = {f"agents/a{i % 3}/mod{i}.py": BLOCKING + f"\nN = {i}\n" for i in range(30)}
    files["agents/a1/boom_crash.py"] = BLOCKING
    root = write(tmp_path / "repo", files)
    report = crash_scan(root, "boom_crash", "--jobs", "2")
    assert report["errors"] == [{
        "path": "agents/a1/boom_crash.py", "kind": "internal-error",
        "message": report["errors"][0]["message"]}]
    assert "died" in report["errors"][0]["message"]
    assert report["summary"]["files"] == 30
    paths = {r["path"] for r in report["recommendations"]}
    assert paths == set(files) - {"agents/a1/boom_crash.py"}
    # The other 30 files are analyzed exactly as without a crash.
    clean = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1)).to_dict()
    assert report["recommendations"] == [r for r in clean["recommendations"]
                                         if r["path"] != "agents/a1/boom_crash.py"]


def test_two_dying_workers_and_the_cache_stays_clean(tmp_path: Path):
    files = {f"pkg/mod{i}.py": BLOCKING + f"\nN = {i}\n" for i in range(10)}
    files.update({"pkg/crash_a.py": BLOCKING + "\nA = 1\n", "pkg/crash_b.py": "x = 1\n"})
    root = write(tmp_path / "repo", files)
    cache = tmp_path / "cache"
    env = {**os.environ, "OPTADVISOR_TEST_CRASH_ON": "crash_", "OPTADVISOR_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-m", "optadvisor", "scan", str(root), "--format", "json",
         "--fail-on", "never", "--jobs", "2"],
        check=False, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [(e["path"], e["kind"]) for e in report["errors"]] == [
        ("pkg/crash_a.py", "internal-error"), ("pkg/crash_b.py", "internal-error")]
    assert report["summary"]["files"] == 10
    # Crashed files are not cached as anything: a later scan without the crash analyzes them.
    warm = scan(ScanOptions(paths=(root,), cache_dir=cache, jobs=1))
    assert warm.errors == ()
    assert warm.summary.cached_files == 10 and warm.summary.files == 12


def test_crash_hook_is_inert_in_the_main_process(tmp_path: Path):
    root = write(tmp_path / "repo", {"a.py": BLOCKING, "boom_crash.py": BLOCKING})
    report = crash_scan(root, "boom_crash", "--jobs", "1")
    assert report["errors"] == [] and report["summary"]["files"] == 2


def test_batches_spread_few_files_over_the_workers():
    jobs = [(f"f{i}.py", b"x" * 100) for i in range(5)]
    assert len(_batches(jobs, 2)) == 5
    many = [(f"f{i}.py", b"x" * 100) for i in range(400)]
    batches = _batches(many, 2)
    assert sorted(rel for b in batches for rel, _ in b) == sorted(rel for rel, _ in many)
    assert max(len(b) for b in batches) <= 24 and len(batches) >= 8
