"""Await time and concurrency in the calls pass (`profile --calls --findings`): where the
timed coroutines waited, how many of their calls were in flight meanwhile, and for each
sequential-awaits / await-in-loop finding what gathering would save (sum - longest) —
or that its calls overlapped already.

The driver's bookkeeping is tested in process first (asyncio, no subprocess): counts and
lines are exact, times only get bounds the awaited sleeps fix from below. Then real runs
(py-spy sampling, then the calls pass) of fixtures/scripts/async_sequential.py (twelve
requests one at a time) and fixtures/scripts/async_gathered.py (the same loop, three
users' loads under gather)."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import shutil
import textwrap
import types
from pathlib import Path

import jsonschema
import pytest
from profile_support import SCRIPTS, py_spy_problem

from optadvisor.api import ScanOptions, flagged_awaits, flagged_functions, profile, scan
from optadvisor.models import ProfileRun, Report, RunEnvironment, RunOutcome, Summary
from optadvisor.profile import ProfileOptions, _awaits, _bootstrap, load_run
from optadvisor.profile.awaits import figures, group_specs
from optadvisor.profile.sources import SourceIndex
from optadvisor.render import html, markdown, table

HOSTILE = "<script>window.__pwned=1</script>|[bold]x"
STEP = 0.01

# --------------------------------------------------------------------------- in process


async def fetch(i):
    await asyncio.sleep(STEP * (i + 1))
    return i


async def load_all(n):
    out = []
    for i in range(n):
        out.append(await fetch(i))
    return out


async def pair():
    first = await fetch(0)
    second = await fetch(3)
    return first, second


async def comprehension(n):
    return [await fetch(i) for i in range(n)]


def _line_of(func, text: str) -> int:
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


def _target(func, groups):
    lines, start = inspect.getsourcelines(func)
    return {"file": inspect.getsourcefile(func), "name": func.__name__, "line": start,
            "first_line": start, "end_line": start + len(lines) - 1, "groups": groups,
            "awaits": True}


def _book():
    loop_line = _line_of(load_all, "await fetch")
    comp_line = _line_of(comprehension, "await fetch")
    targets = [
        _target(load_all, [{"rule": "OPT103", "kind": "loop",
                            "line": _line_of(load_all, "for i"),
                            "spans": [[loop_line, loop_line]]}]),
        _target(pair, [{"rule": "OPT102", "kind": "sequence",
                        "line": _line_of(pair, "first ="),
                        "spans": [[_line_of(pair, "first ="), _line_of(pair, "first =")],
                                  [_line_of(pair, "second ="),
                                   _line_of(pair, "second =")]]}]),
        _target(comprehension, [{"rule": "OPT103", "kind": "loop", "line": comp_line,
                                 "spans": [[comp_line, comp_line]]}]),
    ]
    tracker = _bootstrap._CallTracker(_awaits.AwaitBook(targets))
    return tracker, {f.__name__: tracker.wrap(f) for f in (load_all, pair, comprehension)}


def _group(data, name):
    return next(g for g in data["groups"] if g["name"] == name)


def _site(data, name):
    [site] = [s for s in data["sites"] if s[2] == name]
    return dict(zip(("file", "first", "name", "line", "awaits", "suspensions", "total",
                     "longest", "tasks", "counted", "running"), site))


def test_serial_loop_awaits_are_counted_per_line_with_concurrency_one():
    tracker, wrapped = _book()
    assert asyncio.run(wrapped["load_all"](4)) == [0, 1, 2, 3]
    data = tracker.awaits.finish()
    site = _site(data, "load_all")
    assert site["line"] == _line_of(load_all, "await fetch")
    assert site["awaits"] == 4 and site["suspensions"] == 4
    assert site["running"] == 4  # one call in flight at each of its four awaits
    assert site["tasks"] == 4 and site["counted"] == 4  # asyncio.run's one task
    # The sleeps (10, 20, 30, 40 ms) bound the waits from below.
    assert site["total"] >= STEP * 10 and site["longest"] >= STEP * 4
    group = _group(data, "load_all")
    assert (group["calls"], group["items"], group["awaits"]) == (1, 4, 4)
    assert group["sum"] == pytest.approx(site["total"])
    assert group["max"] == pytest.approx(site["longest"])
    assert group["saving"] == pytest.approx(group["sum"] - group["max"])
    assert group["running"] == group["awaits"]  # concurrency exactly 1


def test_calls_under_gather_are_measured_concurrent():
    tracker, wrapped = _book()

    async def main():
        return await asyncio.gather(*(wrapped["load_all"](3) for _ in range(3)))

    asyncio.run(main())
    group = _group(tracker.awaits.finish(), "load_all")
    assert (group["calls"], group["items"]) == (3, 9)
    # The three calls start before any ends: their first awaits see 1, 2, 3 in flight,
    # the later ones 3 (a little less as they end).
    assert group["running"] / group["awaits"] > 1.5
    assert group["tasks"] / group["counted"] > 1.5


def test_sequence_items_are_the_groups_awaits():
    tracker, wrapped = _book()
    assert asyncio.run(wrapped["pair"]()) == (0, 3)
    group = _group(tracker.awaits.finish(), "pair")
    assert (group["calls"], group["items"]) == (1, 2)
    assert group["max"] >= STEP * 4  # fetch(3) sleeps 40 ms, fetch(0) 10
    assert group["sum"] - group["max"] < group["max"]
    assert group["saving"] == pytest.approx(group["sum"] - group["max"])


def test_a_comprehension_counts_one_item_per_element():
    """Before 3.12 an async comprehension is a coroutine of its own, awaited once: the
    driver looks through it, so each element's await is an item."""
    tracker, wrapped = _book()
    assert asyncio.run(wrapped["comprehension"](3)) == [0, 1, 2]
    group = _group(tracker.awaits.finish(), "comprehension")
    assert (group["calls"], group["items"]) == (1, 3)


def test_the_driver_is_transparent_to_errors_cancellation_and_close():
    book = _awaits.AwaitBook()
    finished = []

    async def failing():
        await asyncio.sleep(0)
        raise KeyError("boom")

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            finished.append("cancelled")
            raise

    async def caught():
        try:
            await asyncio.wait_for(asyncio.sleep(10), 0.01)
        except asyncio.TimeoutError:
            return "timed out"

    drive = {f.__name__: book.driver(inspect.getsourcefile(f), f.__code__.co_firstlineno,
                                     f.__name__) for f in (failing, slow, caught)}

    async def main():
        with pytest.raises(KeyError):
            await drive["failing"](failing())
        task = asyncio.ensure_future(drive["slow"](slow()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await drive["caught"](caught())

    assert asyncio.run(main()) == "timed out"
    assert finished == ["cancelled"]
    # Closing the awaitable mid-await closes the coroutine (its finally runs).
    closed = []

    @types.coroutine
    def pause():
        yield "paused"

    async def holder():
        try:
            await pause()
        finally:
            closed.append(True)

    awaiting = drive["slow"](holder())  # a generator-based coroutine
    assert next(awaiting) == "paused"
    awaiting.close()
    assert closed == [True]
    assert all(f.running == 0 for f in book.functions)


def test_group_specs_read_the_awaits_of_a_finding_from_the_source(tmp_path: Path):
    source = tmp_path / "app.py"
    source.write_text(textwrap.dedent('''\
        async def handle(client, ids):
            profile = await client.get("/me")
            orders = await client.get(
                "/orders")
            for item in await client.list():
                row = await client.get(item)
                await client.save(row)
            return [await client.get(i) for i in ids]
        '''))
    file = str(source)
    [span] = SourceIndex().spans(file)
    specs = group_specs(file, span, [
        (file, "handle", "OPT102", "sequential-awaits", 2, 4),
        (file, "handle", "OPT103", "await-in-loop", 5, 5),
        (file, "handle", "OPT103", "await-in-loop", 8, 8)])
    assert specs == [
        {"rule": "OPT102", "kind": "sequence", "line": 2, "spans": [[2, 2], [3, 4]]},
        # the header's `await client.list()` runs once: not an item
        {"rule": "OPT103", "kind": "loop", "line": 5, "spans": [[6, 6], [7, 7]]},
        {"rule": "OPT103", "kind": "loop", "line": 8, "spans": [[8, 8]]}]


def test_figures_judge_serial_and_concurrent_groups_and_old_runs_still_load(tmp_path):
    row = {"file": str(tmp_path / "a.py"), "first_line": 1, "name": "f", "rule": "OPT103",
           "kind": "loop", "line": 2, "calls": 2, "items": 8, "awaits": 8, "sum": 0.8,
           "max": 0.2, "saving": 0.6, "best": 0.3, "tasks": 8, "counted": 8}
    sites, groups = figures({"sites": [], "groups": [
        {**row, "running": 8}, {**row, "running": 24, "line": 5},
        {**row, "calls": 0, "awaits": 0, "running": 0, "line": 9}]}, SourceIndex(),
        str(tmp_path))
    assert [g.verdict for g in sorted(groups, key=lambda g: g.at_line)] == [
        "serial", "concurrent", "not-run"]
    serial = next(g for g in groups if g.at_line == 2)
    assert serial.saving_per_call_seconds == pytest.approx(0.3)
    assert serial.concurrency == 1.0 and sites == ()
    run = ProfileRun(
        command=("python", "a.py"), script="a.py", args=(), cwd="/src", root="/src",
        mode="sample", environment=RunEnvironment("3.11.7", "CPython", "python", "linux",
                                                  "x86_64", 2, "py-spy"),
        outcome=RunOutcome(status="ok"), wall_seconds=1.0, await_groups=groups)
    data = run.to_dict()
    assert data["await_groups"][0]["verdict"] in ("serial", "concurrent", "not-run")
    assert ProfileRun.from_dict(data).await_groups == groups
    del data["await_groups"], data["await_sites"]  # a run saved before they existed
    old = ProfileRun.from_dict(data)
    assert old.await_groups == () and old.await_sites == ()


# --------------------------------------------------------------------------- real runs


def _profiled(tmp_path: Path, script: str, *args: str) -> tuple[ProfileRun, Report, dict]:
    """scan → findings JSON → profile --calls --findings (the README's commands)."""
    shutil.copy(SCRIPTS / script, tmp_path / script)
    findings = tmp_path / "findings.json"
    findings.write_text(json.dumps(
        scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1)).to_dict()))
    report = profile(ProfileOptions(
        script=tmp_path / script, args=args, calls=True, lines=False,
        flagged=flagged_functions(findings), flagged_awaits=flagged_awaits(findings),
        stdout="null", stdin="null", timeout=120, root=tmp_path),
        ScanOptions(paths=(tmp_path,)), saved_as=str(tmp_path / "run.json"))
    [rec] = [r.to_dict() for r in report.recommendations if r.kind == "await-in-loop"]
    return load_run(tmp_path / "run.json"), report, rec


@pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")
def test_serial_awaits_are_measured_and_the_finding_carries_the_saving(tmp_path: Path):
    run, report, rec = _profiled(tmp_path, "async_sequential.py")
    [group] = run.await_groups
    assert (group.function, group.rule, group.kind, group.at_line) == (
        "load_all", "OPT103", "loop", 44)
    assert (group.calls, group.items, group.verdict) == (1, 12, "serial")
    assert group.concurrency == pytest.approx(1.0, abs=0.05)
    # Twelve round trips to a service that answers after 80 ms: each item waits at least
    # that; gathered they would take about the longest one.
    assert group.sum_seconds >= 12 * 0.08
    assert 0.08 <= group.max_seconds < group.sum_seconds / 4
    assert group.saving_seconds == pytest.approx(
        group.sum_seconds - group.max_seconds, abs=2e-6)
    # The call's own wall time holds its waits (and decode's CPU between them).
    [timed] = [c for c in run.calls if c.name == "load_all"]
    assert group.sum_seconds <= timed.total_seconds
    site = next(s for s in run.await_sites if s.function == "load_all")
    assert (site.await_line, site.awaits) == (45, 12)
    assert site.suspensions >= 12  # connect, drain, read: each round trip suspends more
    assert "await fetch(user_id)" in site.code
    # The finding carries the figures (JSON) and ranks by them.
    awaits = rec["evidence"]["awaits"]
    assert awaits["verdict"] == "serial" and awaits["concurrency"] == group.concurrency
    assert awaits["saving_ms"] == pytest.approx(group.saving_seconds * 1000, abs=0.1)
    assert awaits["await_ms_per_call"] == pytest.approx(group.sum_seconds * 1000, abs=0.1)
    assert rec["priority"] == "high"
    assert "measured: 12 awaits per call ran one at a time" in rec["message"]
    jsonschema.validate(report.to_dict(), json.loads(
        (Path(__file__).parent.parent / "optadvisor" / "report.schema.json").read_text()))
    profile_data = report.to_dict()["profile"]
    assert profile_data["await_groups"][0]["verdict"] == "serial"
    assert profile_data["awaits"][0]["await_line"] == 45


@pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")
def test_awaits_already_run_under_gather_are_marked_concurrent(tmp_path: Path):
    run, _, rec = _profiled(tmp_path, "async_gathered.py")
    [group] = run.await_groups
    assert (group.function, group.calls, group.items) == ("load_user", 3, 24)
    assert group.verdict == "concurrent" and group.concurrency > 1.5
    assert rec["evidence"]["awaits"]["verdict"] == "concurrent"
    assert (rec["priority"], rec["confidence"]) == ("low", "low")
    assert "measured: already concurrent" in rec["message"]
    # The same loop run for one user is serial: the verdict comes from the run.
    one = tmp_path / "one"
    one.mkdir()
    serial, _, rec = _profiled(one, "async_gathered.py", "--users", "1")
    [group] = serial.await_groups
    assert group.verdict == "serial" and group.concurrency == pytest.approx(1.0, abs=0.05)
    assert rec["priority"] == "high"


def test_the_await_view_is_escaped_in_every_format(tmp_path: Path):
    profile_data = {
        "script": "app.py", "mode": "sample", "outcome": {"status": "ok"},
        "awaits": [{"function": HOSTILE, "path": f"{HOSTILE}.py", "line": 1,
                    "await_line": 2, "code": HOSTILE, "awaits": 3, "suspensions": 3,
                    "total_ms": 30.0, "mean_ms": 10.0, "max_ms": 12.0, "concurrency": 1.0,
                    "tasks": 1.0}],
        "await_groups": [{"function": HOSTILE, "path": f"{HOSTILE}.py", "line": 1,
                          "rule": "OPT103", "kind": "loop", "at_line": 2, "calls": 1,
                          "items": 3, "sum_ms": 30.0, "max_ms": 12.0, "saving_ms": 18.0,
                          "concurrency": 1.0, "tasks": 1.0, "verdict": "serial"}]}
    summary = Summary(files=1, lines=10, functions=1, components=1, errors=0, seconds=0.1,
                      recommendations=0, by_priority={}, by_kind={}, candidates={})
    report = Report(root=str(tmp_path), summary=summary, recommendations=(), targets=(),
                    errors=(), profile=profile_data)
    page = html.render(report)
    assert "<script>window.__pwned" not in page
    assert page.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 2
    assert 'id="profile-awaits"' in page
    md = markdown.render(report)
    assert "<script>" not in re.sub(r"`[^`]*`", "", md)  # only inside code spans
    assert "about 18.00 ms less per call" in md
    text = table.render(report, width=220, color=False)
    assert "[bold]x" in text and "about 18.00 ms less per call" in text
