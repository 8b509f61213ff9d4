"""Event-loop lag (issue 11, item 4): the sampling pass's heartbeat on each asyncio loop,
its bookkeeping in process, a real run of fixtures/scripts/loop_blocker.py (three
time.sleep(0.3) calls in `refresh_cache`), OPT508, the report sections and the round trip.

Bounds are loose where timing is involved (a loaded 2-core CI machine): the script sleeps
300 ms, so each lag is at least ~250 ms and far below 2 s."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import jsonschema
from profile_support import SCRIPTS

from optadvisor.api import ScanOptions, profile
from optadvisor.models import LagEvent, LoopLag, ProfileRun, Report, RunEnvironment, RunOutcome
from optadvisor.profile import ProfileOptions, _bootstrap, load_run, save_run
from optadvisor.render import html, markdown, table
from optadvisor.render import json as json_renderer

HOSTILE = "<script>window.__pwned=1</script>|[bold]x"

# --------------------------------------------------------------------------- in process


def test_lag_book_counts_lags_over_the_threshold_and_keeps_the_worst():
    book = _bootstrap._LagBook(0.01, 0.05, 2, origin=100.0)
    site_a = ("/p/app.py", 10, "refresh", 12)
    site_b = ("/p/app.py", 20, "parse", 22)
    book.beat(100.1, 100.101, [])  # on time
    book.beat(100.2, 100.249, [site_a])  # late, but under the threshold
    book.beat(100.3, 100.6, [site_a, site_b, site_a])
    book.beat(101.0, 101.1, [site_b])
    book.beat(102.0, 102.2, [site_a])
    book.beat(103.0, 103.08, [])  # a lag without a user frame under it
    data = book.summary()
    assert data["beats"] == 6 and data["lags"] == 4
    assert abs(data["max"] - 0.3) < 1e-9
    assert abs(data["total"] - (0.3 + 0.1 + 0.2 + 0.08)) < 1e-9
    # The two worst, longest first, with when they were due and ran (from the origin).
    [(start, end, lag, site), second] = data["worst"]
    assert (round(start, 3), round(end, 3), round(lag, 3), site) == (0.3, 0.6, 0.3,
                                                                        list(site_a))
    assert round(second[2], 3) == 0.2
    # Per site: lags held (most common snapshot of each lag), then lag time.
    assert data["blockers"][0][0] == list(site_a) and data["blockers"][0][1] == 2
    assert data["blockers"][1][0] == list(site_b) and data["blockers"][1][1] == 1


def test_heartbeat_on_a_real_loop_names_the_coroutine_that_blocked_it():
    import asyncio
    from asyncio import base_events

    monitor = _bootstrap._LoopLagMonitor()
    loop = asyncio.new_event_loop()
    original = base_events.BaseEventLoop.run_forever
    try:
        monitor.patch(base_events)

        async def blocker():
            await asyncio.sleep(0.03)
            time.sleep(0.2)  # noqa: ASYNC251 - the block being measured
            await asyncio.sleep(0.03)

        loop.run_until_complete(blocker())
    finally:
        base_events.BaseEventLoop.run_forever = original
        loop.close()
    data = monitor.finish()
    assert monitor.active == [] and monitor.stopped
    assert data["beats"] >= 3 and data["lags"] >= 1
    assert 0.15 <= data["max"] < 2.0
    [site, count, _seconds] = data["blockers"][0]
    assert site[0] == __file__ and site[2] == "blocker" and count >= 1


def test_no_loop_no_figures():
    monitor = _bootstrap._LoopLagMonitor()
    assert monitor.finish() is None


def test_loop_lag_round_trip_and_old_runs_still_load(tmp_path: Path):
    lag = LoopLag(beats=40, interval_ms=10.0, threshold_ms=50.0, lags=3, max_lag_ms=298.5,
                  total_lag_ms=890.0,
                  worst=(LagEvent(0.58, 0.88, 298.5, "refresh", "/p/app.py", "app.py", 21),),
                  function="refresh", file="/p/app.py", path="app.py", line=18,
                  blocker_lags=3, blocker_lag_ms=890.0)
    run = ProfileRun(command=("python", "app.py"), script="app.py", args=(), cwd="/p",
                     root="/p", mode="sample",
                     environment=RunEnvironment("3.11", "cpython", "python", "linux", "x86",
                                                2, "py-spy"),
                     outcome=RunOutcome("ok"), wall_seconds=1.0, loop_lag=lag)
    save_run(run, tmp_path / "run.json")
    assert load_run(tmp_path / "run.json") == run
    data = json.loads((tmp_path / "run.json").read_text())
    del data["loop_lag"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert load_run(tmp_path / "old.json").loop_lag is None


# --------------------------------------------------------------------------- real runs

_WORK = tempfile.TemporaryDirectory(prefix="optadvisor-lag-")
SAVED = Path(_WORK.name) / "run.json"


@lru_cache(maxsize=1)
def blocker_report() -> Report:
    root = SCRIPTS
    return profile(
        ProfileOptions(script=root / "loop_blocker.py", root=root, cwd=root,
                       stdout="null", stdin="null", timeout=300),
        ScanOptions(paths=(root / "loop_blocker.py",), use_cache=False, jobs=1),
        saved_as=str(SAVED))


def blocker_run() -> ProfileRun:
    blocker_report()
    return load_run(SAVED)


def test_loop_blocker_lags_are_measured_and_attributed():
    run = blocker_run()
    assert run.outcome.status == "ok"
    lag = run.loop_lag
    assert lag is not None
    assert lag.lags >= 3 and 250 <= lag.max_lag_ms < 2000
    assert lag.interval_ms == 10.0 and lag.threshold_ms == 50.0 and lag.beats > lag.lags
    assert lag.function == "refresh_cache" and lag.path == "loop_blocker.py"
    assert lag.line == 18 and lag.blocker_lags >= 3
    three = lag.worst[:3]
    assert all(e.function == "refresh_cache" and e.line == 21 for e in three)
    assert all(250 <= e.lag_ms < 2000 and e.end_s > e.start_s >= 0 for e in three)
    # The watcher thread is ours: it is not in the program's samples.
    assert not any("_watch" in f.name or f.name == "Condition.wait" for f in run.functions)
    assert all(t.name != "optadvisor-lag" for t in run.samples.threads)
    starts = sorted(e.start_s for e in three)  # three distinct sleeps, one after another
    assert starts[1] - starts[0] >= 0.25 and starts[2] - starts[1] >= 0.25


def test_opt508_points_at_the_blocking_coroutine():
    report = blocker_report()
    [rec] = [r for r in report.recommendations if r.rule == "OPT508"]
    assert rec.symbol == "refresh_cache" and rec.line == 18
    assert "`refresh_cache`" in rec.message and "ms" in rec.message
    assert rec.evidence["loop_lag"]["lags"] >= 3


def test_a_script_without_an_event_loop_has_no_loop_lag(tmp_path: Path):
    script = tmp_path / "plain.py"
    script.write_text("import time\ntotal = sum(range(10**6))\ntime.sleep(0.2)\n")
    report = profile(
        ProfileOptions(script=script, root=tmp_path, cwd=tmp_path, stdout="null",
                       stdin="null", timeout=120),
        ScanOptions(paths=(script,), use_cache=False, jobs=1),
        saved_as=str(tmp_path / "run.json"))
    assert load_run(tmp_path / "run.json").loop_lag is None
    assert report.profile["loop_lag"] is None
    assert not [r for r in report.recommendations if r.rule == "OPT508"]
    assert "loop lag" not in table.render(report, width=200, color=False)


def test_loop_lag_in_every_format():
    report = blocker_report()
    text = table.render(report, width=200, color=False)
    assert re.search(r"loop lag max \d+ ms, \d+ lags over 50 ms", text)
    assert "most held by refresh_cache" in text
    md = markdown.render(report)
    assert "Event-loop lag: max" in md and "| `refresh_cache` | `loop_blocker.py:21` |" in md
    page = html.render(report)
    assert 'id="profile-loop-lag"' in page and "<code>refresh_cache</code>" in page
    document = json.loads(json_renderer.render(report))
    schema = json.loads((Path(__file__).resolve().parent.parent / "optadvisor"
                         / "report.schema.json").read_text())
    jsonschema.validate(document, schema)
    assert document["profile"]["loop_lag"]["lags"] >= 3
    assert document["profile"]["loop_lag"]["worst"][0]["function"] == "refresh_cache"


def test_loop_lag_escapes_the_programs_names():
    report = blocker_report()
    data = json.loads(json.dumps(report.profile))
    lag = data["loop_lag"]
    lag["function"] = HOSTILE
    lag["worst"] = [{**e, "function": HOSTILE, "path": f"{HOSTILE}.py"} for e in lag["worst"]]
    hostile = dataclasses.replace(report, profile=data)
    page = html.render(hostile)
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    md = markdown.render(hostile)
    assert "<script>" not in re.sub(r"`[^`]*`", "", md)
    text = table.render(hostile, width=200, color=False)
    assert "[bold]x" in text


# --------------------------------------------------------------------------- the timeline


def test_lag_book_keeps_every_lag_for_the_timeline_in_order():
    book = _bootstrap._LagBook(0.01, 0.05, 1, origin=10.0)  # keeps only 1 worst lag
    book.beat(10.5, 10.6, [])
    book.beat(11.0, 11.02, [])  # under the threshold: no point
    book.beat(12.0, 12.3, [])
    timeline = book.summary()["timeline"]
    assert [(start, round(lag, 3)) for start, lag in timeline] == [(0.5, 0.1), (2.0, 0.3)]
    assert len(book.summary()["worst"]) == 1


def test_the_real_run_keeps_its_lags_over_time():
    lag = blocker_run().loop_lag
    assert len(lag.timeline) == lag.lags >= 3
    starts = [start for start, _ in lag.timeline]
    assert starts == sorted(starts)
    # The worst lags are among the timeline's points (same start, same length).
    points = {(round(s, 3), round(ms)) for s, ms in lag.timeline}
    assert all((round(e.start_s, 3), round(e.lag_ms)) in points for e in lag.worst)
    assert blocker_report().profile["loop_lag"]["timeline"] == [list(p) for p in lag.timeline]


def lag_svg(page: str) -> str:
    [svg] = re.findall(r'<svg class="timeline lag-timeline".*?</svg>', page, re.S)
    return svg


def test_html_draws_one_bar_per_lag_at_its_time():
    report = blocker_report()
    lag = report.profile["loop_lag"]
    svg = lag_svg(html.render(report))
    bars = re.findall(r'<rect class="lag-bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" '
                      r'height="([\d.]+)"><title>([^<]*)</title>', svg)
    assert len(bars) == lag["lags"] == int(re.search(r'data-lags="(\d+)"', svg).group(1))
    xs = [float(x) for x, _, _, _ in bars]
    assert xs == sorted(xs)
    # Wider and taller for longer lags: each bar spans the time the loop was held.
    (x0, w0, h0, _), *_ = bars
    longest = max(bars, key=lambda b: float(b[2]))
    assert float(longest[1]) >= float(w0) - 0.1 and float(longest[2]) >= float(h0)
    for (_, _, _, tip), (start, ms) in zip(bars, sorted(lag["timeline"])):
        assert tip.startswith(f"{start:.2f} s: the loop ran {ms:.0f} ms late")
    assert "held by refresh_cache (loop_blocker.py:21)" in svg
    assert "threshold 50 ms" in svg and "style=" not in svg


def test_html_lag_timeline_from_a_run_saved_before_it_existed_uses_the_worst_lags():
    report = blocker_report()
    data = json.loads(json.dumps(report.profile))
    del data["loop_lag"]["timeline"]
    svg = lag_svg(html.render(dataclasses.replace(report, profile=data)))
    assert svg.count('class="lag-bar"') == len(data["loop_lag"]["worst"])
    data["loop_lag"] = {**data["loop_lag"], "lags": 0, "worst": [], "timeline": []}
    page = html.render(dataclasses.replace(report, profile=data))
    assert "<svg class=\"timeline lag-timeline\"" not in page
    assert 'id="profile-loop-lag"' in page


def test_html_lag_timeline_escapes_the_blockers_names():
    report = blocker_report()
    data = json.loads(json.dumps(report.profile))
    lag = data["loop_lag"]
    lag["worst"] = [{**e, "function": HOSTILE, "path": f"{HOSTILE}.py"} for e in lag["worst"]]
    svg = lag_svg(html.render(dataclasses.replace(report, profile=data)))
    assert "<script>" not in svg and "held by &lt;script&gt;window.__pwned=1" in svg
