"""A small async agent, run for real against a local API (tests/io_agent/api.py): for each
task it asks an "LLM" (httpx.AsyncClient POST /v1/chat) which items to look at, runs its
tool on them — one aiohttp GET /items/{id} per item, awaited one after another, and a
SQLite memory read (SELECT) per item plus a write (INSERT) per item it has not seen — and
reports the task done through a synchronous webhook (urllib POST, in a worker thread).
That is the N+1 shape an agent's tool loop takes: a request and a query per item.

Hand-instrumented: every database and HTTP call is counted and timed next to the call,
per function and library (HAND), and at the end one JSON line is appended to --counts:
the counts, and whether optadvisor's I/O counter was loaded in this run (its calls pass).
tests/test_io_agent.py compares those counts with what `optadvisor profile --calls` counted.

    python agent.py --base http://127.0.0.1:PORT --tasks 4 --items 8 --counts counts.jsonl
"""

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
import urllib.request

import aiohttp
import httpx

HAND = {}
"""(function, library, operation) -> [calls, seconds], counted next to each call."""


def noted(function, library, operation, started):
    entry = HAND.setdefault((function, library, operation), [0, 0.0])
    entry[0] += 1
    entry[1] += time.perf_counter() - started


class Memory:
    """What the agent remembers between tasks: one SQLite table of the items it fetched."""

    def __init__(self, path):
        self.conn = sqlite3.connect(path)
        started = time.perf_counter()
        self.conn.execute("CREATE TABLE IF NOT EXISTS memory (id INTEGER PRIMARY KEY, body TEXT)")
        noted("Memory.__init__", "sqlite3", "CREATE", started)

    def recall(self, item_id):
        started = time.perf_counter()
        row = self.conn.execute("SELECT body FROM memory WHERE id = ?", (item_id,)).fetchone()
        noted("Memory.recall", "sqlite3", "SELECT", started)
        return json.loads(row[0]) if row else None

    def remember(self, item):
        started = time.perf_counter()
        self.conn.execute("INSERT INTO memory (id, body) VALUES (?, ?)",
                          (item["id"], json.dumps(item)))
        noted("Memory.remember", "sqlite3", "INSERT", started)


async def plan(client, base, task):
    """The model's turn: which items the tool should look at."""
    started = time.perf_counter()
    response = await client.post(f"{base}/v1/chat", json={
        "messages": [{"role": "user", "content": f"task {task}"}]})
    noted("plan", "httpx", "POST", started)
    return response.json()["tool_call"]["ids"]


async def fetch_item(session, base, item_id):
    started = time.perf_counter()
    async with session.get(f"{base}/items/{item_id}") as response:
        body = await response.json()
    noted("fetch_item", "aiohttp", "GET", started)
    return body


async def run_tool(session, memory, base, ids):
    items = []
    for item_id in ids:  # one request and one query per item, one after another
        item = await fetch_item(session, base, item_id)
        if memory.recall(item_id) is None:
            memory.remember(item)
        items.append(item)
    return items


def report_done(base, task, count):
    started = time.perf_counter()
    request = urllib.request.Request(f"{base}/hooks/done?task={task}&count={count}",
                                     data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
    noted("report_done", "urllib", "POST", started)


async def main(base, tasks, counts):
    workdir = tempfile.mkdtemp(prefix="agent-memory-")
    path = os.path.join(workdir, "memory.db")
    memory = Memory(path)
    seen = 0
    async with httpx.AsyncClient(timeout=10) as client, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for task in range(tasks):
            ids = await plan(client, base, task)
            items = await run_tool(session, memory, base, ids)
            seen += len(items)
            await asyncio.to_thread(report_done, base, task, len(items))
    memory.conn.close()
    os.unlink(path)
    os.rmdir(workdir)
    line = {"instrumented": "_optadvisor_iocount" in sys.modules,
            "calls": [[f, lib, op, n, round(s, 6)]
                      for (f, lib, op), (n, s) in sorted(HAND.items())]}
    with open(counts, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    return seen


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--counts", required=True)
    options = parser.parse_args()
    print(asyncio.run(main(options.base, options.tasks, options.counts)))
