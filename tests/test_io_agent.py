"""The calls pass's database and HTTP counts on a real async agent (tests/io_agent/agent.py)
with real libraries — httpx.AsyncClient for its model, aiohttp for its tool's requests,
sqlite3 for its memory, urllib for a webhook in a worker thread — against a local API on
127.0.0.1 (tests/io_agent/api.py), checked three ways:

* against the program's own hand-instrumented counts (a counter next to every call, in the
  same run): every (function, library, operation) the agent counted is counted by
  optadvisor with the same number of calls, and nothing else of the agent's is;
* against the server's own count of requests it served, over every run of the program;
* for time: the hand timer encloses the counted window (the library's call), so the
  counted time can be no longer; and each counted GET waited at least the delay the
  server sleeps before it answers.

The N+1 loops are OPT509 recommendations naming the loop's function as the caller."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from profile_support import py_spy_problem

pytest.importorskip("httpx")
pytest.importorskip("aiohttp")

from io_agent.api import LocalAPI, chat_ids  # noqa: E402

from optadvisor.api import ScanOptions, profile  # noqa: E402
from optadvisor.profile import ProfileOptions, load_run  # noqa: E402

AGENT = Path(__file__).resolve().parent / "io_agent" / "agent.py"
TASKS, ITEMS, DELAY = 4, 8, 0.005

pytestmark = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")


def test_agent_io_counts_match_the_hand_instrumented_run(tmp_path: Path):
    counts = tmp_path / "counts.jsonl"
    saved = tmp_path / "run.json"
    with LocalAPI(items=ITEMS, delay=DELAY) as api:
        report = profile(
            ProfileOptions(script=AGENT, args=("--base", api.base, "--tasks", str(TASKS),
                                               "--counts", str(counts)),
                           root=AGENT.parent, cwd=AGENT.parent, calls=True, stdout="null",
                           stdin="null", timeout=300),
            ScanOptions(paths=(AGENT,), use_cache=False, jobs=1), saved_as=str(saved))
        served = api.requests
    run = load_run(saved)
    assert run.outcome.status == "ok" and run.errors == ()
    lines = [json.loads(line) for line in counts.read_text().splitlines()]
    assert [line["instrumented"] for line in lines] == [False, True]  # sampled, then counted
    hand = {(f, lib, op): (n, seconds) for f, lib, op, n, seconds in lines[1]["calls"]}

    # What the agent is built to do, so the hand count itself is checked.
    distinct = len({i for task in range(TASKS) for i in chat_ids(task, ITEMS)})
    assert {key: n for key, (n, _) in hand.items()} == {
        ("Memory.__init__", "sqlite3", "CREATE"): 1,
        ("Memory.recall", "sqlite3", "SELECT"): TASKS * ITEMS,
        ("Memory.remember", "sqlite3", "INSERT"): distinct,
        ("fetch_item", "aiohttp", "GET"): TASKS * ITEMS,
        ("plan", "httpx", "POST"): TASKS,
        ("report_done", "urllib", "POST"): TASKS}
    # The server saw every request of both runs.
    assert served == {("POST", "/v1/chat"): 2 * TASKS, ("GET", "/items/{id}"): 2 * TASKS * ITEMS,
                      ("POST", "/hooks/done"): 2 * TASKS}

    counted = {(c.function, c.library, c.operation): c for c in run.io_calls
               if c.path == "agent.py"}
    assert {key: c.calls for key, c in counted.items()} == {
        key: n for key, (n, _) in hand.items()}
    for key, (_, seconds) in hand.items():
        assert counted[key].total_seconds <= seconds * 1.05 + 0.002, key
    assert counted[("fetch_item", "aiohttp", "GET")].total_seconds >= TASKS * ITEMS * DELAY
    shapes = {c.function: c.shape for c in counted.values()}
    assert shapes["fetch_item"] == f"{api.base}/items/{{id}}"
    assert shapes["Memory.recall"] == "SELECT body FROM memory WHERE id = ?"
    assert shapes["report_done"] == f"{api.base}/hooks/done?count&task"

    # The loop is the parent (not a frame of optadvisor's own await driver).
    assert counted[("fetch_item", "aiohttp", "GET")].parent == "run_tool"
    assert counted[("Memory.recall", "sqlite3", "SELECT")].parent == "run_tool"
    assert counted[("report_done", "urllib", "POST")].parent == ""  # a worker thread's call
    n_plus_one = {r.symbol: r for r in report.recommendations if r.rule == "OPT509"}
    assert set(n_plus_one) == {"fetch_item", "Memory.recall", "Memory.remember"}
    assert "made 32 HTTP calls of one shape" in n_plus_one["fetch_item"].message
    assert "called from `run_tool`" in n_plus_one["Memory.recall"].message
