"""ProfileRun as a saved document: versioned, marked, round-trips through JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optadvisor.models import (
    PROFILE_RUN_KIND, PROFILE_RUN_SCHEMA_VERSION, AllocationSite, FunctionMemory, HotFunction,
    HotLine, LineTiming, MemoryLine, MemoryReport, MetricSample, PassRecord, ProfileRun,
    RunEnvironment, RunError, RunOutcome, Rusage, SampleSummary, SystemMetrics, ThreadSamples,
    TimedFunction,
)
from optadvisor.profile import ProfileRunError, load_run, save_run
from optadvisor.profile.store import is_profile_run


def sample_run() -> ProfileRun:
    site = AllocationSite("/p/app.py", "app.py", 7, 1024, 3, "x = [0] * 100")
    return ProfileRun(
        command=("python", "/p/app.py", "--items", "3"), script="/p/app.py",
        args=("--items", "3"), cwd="/p", root="/p", mode="sample",
        environment=RunEnvironment("3.11.7", "cpython", "/usr/bin/python", "linux",
                                   "x86_64", 2, "py-spy 0.4.3", "0.1.0", "/usr/lib/python3.11"),
        outcome=RunOutcome("exception", 1, exception="ValueError: bad", message="raised"),
        wall_seconds=1.25, cpu_seconds=0.5, created="2024-01-01T00:00:00+00:00",
        samples=SampleSummary("py-spy", 100, 120, 20, 110, 1,
                              (ThreadSamples(1, 1, "MainThread", 120, 20, "work"),),
                              "leaf frame", 0, 3),
        functions=(HotFunction("work", "/p/app.py", "app.py", 5, True, 0.8, 1.0, 0.1, 72.7,
                               90.9, 9.1, 80.0, 0.9, 81.8, 100, 0, 1, 1),),
        lines=(HotLine("/p/app.py", "app.py", 7, "work", True, 0.8, 0.0, 72.7, 72.7, 0.0, 80,
                       "x = [0] * 100"),),
        line_timings=(TimedFunction("work", "/p/app.py", "app.py", 5, 0.9,
                                    (LineTiming(7, 1000, 0.9, 100.0, "x = [0] * 100"),)),),
        metrics=SystemMetrics(0.1, (MetricSample(0.1, 99.5, 10_000_000, 1, 1, 5, 0, 0),),
                              99.5, 99.5, 10_000_000, 10_000_000, 10_000_000, 1, 1, 5, 1, 0,
                              0, True, Rusage(0.4, 0.1, 20_000_000, 3, 4)),
        memory=MemoryReport(4096, (site,), (FunctionMemory("work", "/p/app.py", "app.py", 5, 3,
                                                          2048, 1024, (site,)),),
                            line_function="work",
                            line_report=(MemoryLine(7, 20.5, 0.8, 3, "x = [0] * 100"),)),
        passes=(PassRecord("sample", "ok", 1.25, 1.0, "py-spy 0.4.3"),),
        errors=(RunError("target-failed", "the script raised", "sample"),),
        notes=("a note",), tool_version="0.1.0")


def test_round_trip_through_json_is_lossless():
    run = sample_run()
    text = json.dumps(run.to_dict())
    assert ProfileRun.from_dict(json.loads(text)) == run


def test_document_is_versioned_and_marked():
    data = sample_run().to_dict()
    assert data["schema_version"] == PROFILE_RUN_SCHEMA_VERSION
    assert data["kind"] == PROFILE_RUN_KIND == "profile-run"
    assert is_profile_run(data)
    assert not is_profile_run({"schema_version": 1, "summary": {}})


def test_save_and_load(tmp_path: Path):
    run = sample_run()
    path = tmp_path / "runs" / "run.json"
    save_run(run, path)
    assert load_run(path) == run
    assert not list(path.parent.glob("*.tmp"))


def test_unknown_keys_are_ignored_and_missing_ones_defaulted():
    data = sample_run().to_dict()
    data["future_field"] = {"x": 1}
    data["functions"][0]["future"] = 3
    del data["notes"]
    del data["functions"][0]["user_self_pct"]
    run = ProfileRun.from_dict(data)
    assert run.notes == ()
    assert run.functions[0].user_self_pct == 0.0


@pytest.mark.parametrize("change, message", [
    ({"kind": "scan"}, "not an optadvisor profile run"),
    ({"schema_version": 99}, "schema_version 99"),
    ({"schema_version": "1"}, "schema_version '1'"),
    ({"outcome": "ok"}, "malformed RunOutcome"),
])
def test_refuses_what_it_cannot_read(tmp_path: Path, change, message):
    data = sample_run().to_dict()
    data.update(change)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileRunError, match=message):
        load_run(path)


def test_load_errors_name_the_file(tmp_path: Path):
    with pytest.raises(ProfileRunError, match="cannot read"):
        load_run(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileRunError, match="bad.json is not JSON"):
        load_run(bad)
