"""The calls pass's database and HTTP counts (optadvisor/profile/_iocount/): shapes,
the import hook that patches a library only when the program imports it, the overlap
figures, OPT509 (measured N+1) and OPT510 (slow HTTP calls one after another), the join
with the static OPT208, and the "I/O calls by function" table in every format.

Real py-spy runs of fixtures/scripts/n_plus_one.py and http_sequential.py check the counts
the scripts are built to make (50 SELECTs from `load_users`; 3 slow requests from
`load_dashboard`, 12 from `load_items`); times get loose bounds only (a loaded machine)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tempfile
import textwrap
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
from profile_support import SCRIPTS, py_spy_problem

from optadvisor.api import ScanOptions, profile
from optadvisor.models import Report
from optadvisor.profile import ProfileOptions, _iocount, load_run, save_run
from optadvisor.profile.aggregate import io_call_stats
from optadvisor.profile.sources import SourceIndex
from optadvisor.render import html, json as json_renderer, markdown, table

HOSTILE = "<script>window.__pwned=1</script>|[bold]x"
BOOTSTRAP = Path(_iocount.__file__).resolve().parent.parent / "_bootstrap.py"

# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("statement,shape", [
    ("SELECT name FROM users WHERE id = ?", "SELECT name FROM users WHERE id = ?"),
    ("SELECT name FROM users WHERE id = 42", "SELECT name FROM users WHERE id = ?"),
    ("select * from t where name = 'it''s' and x = -1.5e3",
     "select * from t where name = ? and x = ?"),
    ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"),
    ("SELECT * FROM t WHERE id IN (%s, %s)", "SELECT * FROM t WHERE id IN (?)"),
    ("SELECT * FROM t WHERE a = :a AND b = $1 AND c = %(c)s",
     "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?"),
    ("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y');", "INSERT INTO t (a, b) VALUES (?)"),
    ("SELECT  col1\n  FROM   t2", "SELECT col1 FROM t2"),  # names keep their digits
])
def test_sql_shapes_are_the_same_query_for_any_item(statement: str, shape: str):
    assert _iocount.sql_shape(statement) == shape


@pytest.mark.parametrize("url,shape", [
    ("http://api/users/42", "http://api/users/{id}"),
    ("https://h:8443/v1/items/3fa85f64-5717-4562-b3fc-2c963f66afa6/parts/deadbeef99",
     "https://h:8443/v1/items/{id}/parts/{id}"),
    ("http://h/search?q=cats&page=2", "http://h/search?page&q"),
    ("http://h/v2/users", "http://h/v2/users"),  # `v2` is no id
    ("http://h/files/readme", "http://h/files/readme"),  # nor a word of hex letters
])
def test_url_shapes_drop_ids_and_query_values(url: str, shape: str):
    assert _iocount.url_shape(url) == shape


# --------------------------------------------------------------------------- in a child


def run_counted(tmp_path: Path, program: str) -> dict:
    """Run `program` with the counter installed by the bootstrap's own loader (which
    loads the _iocount package by path, under a private name); its result."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(program))
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""
        import importlib.util, json, runpy, sys
        spec = importlib.util.spec_from_file_location("_boot", {str(BOOTSTRAP)!r})
        boot = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(boot)
        counter = boot._io_counter()
        assert counter is not None, "the counter did not load"
        assert "optadvisor" not in sys.modules  # loaded by path, not from the package
        before = set(sys.modules)
        sys.path[:0] = [{str(tmp_path)!r}, {str(tmp_path / "site-packages")!r}]
        runpy.run_path({str(script)!r}, run_name="__main__")
        result = counter.finish()
        result["imported"] = sorted(set(sys.modules) - before)
        print(json.dumps(result))
    """))
    done = subprocess.run([sys.executable, str(driver)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows_by(result: dict) -> dict[tuple[str, str], list]:
    return {(row[2], row[7]): row for row in result["rows"]}


def test_a_library_the_program_does_not_import_is_never_imported(tmp_path: Path):
    result = run_counted(tmp_path, "print(sum(range(10)))\n")
    assert result["rows"] == [] and result["libraries"] == []
    for name in ("sqlite3", "urllib.request", "requests", "httpx", "aiohttp", "asyncpg",
                 "psycopg2"):
        assert name not in result["imported"]


def test_sqlite3_calls_are_counted_per_caller_and_shape(tmp_path: Path):
    result = run_counted(tmp_path, """
        import sqlite3

        class Mine(sqlite3.Connection):  # the program's own factory keeps working
            marked = True

        def load(conn, ids):
            out = []
            for i in ids:
                out.append(conn.execute("SELECT v FROM t WHERE id = ?", (i,)).fetchone())
            cur = conn.cursor()
            cur.execute("SELECT v FROM t WHERE id = " + str(ids[0]))
            return out

        def save(conn):
            conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(20)])

        conn = sqlite3.connect(":memory:", factory=Mine)
        assert conn.marked and isinstance(conn, Mine)
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        save(conn)
        assert load(conn, [1, 2, 3, 4, 5]) == [(i,) for i in range(1, 6)]
    """)
    rows = rows_by(result)
    assert result["libraries"] == ["sqlite3"]
    select = rows[("load", "SELECT v FROM t WHERE id = ?")]
    # 5 from the loop (Connection.execute) + 1 through a cursor with the id inlined
    assert select[4:7] == ["db", "sqlite3", "SELECT"] and select[8] == 6
    assert select[3] == 10  # the loop's line made most of them
    assert rows[("save", "INSERT INTO t VALUES (?)")][6:9] == ["INSERT many", "INSERT INTO t VALUES (?)", 1]
    assert rows[("<module>", "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")][8] == 1
    assert len(select[11]) == 6 and all(end >= start for start, end in select[11])


FAKE_REQUESTS = '''
import time

class Session:
    def request(self, method, url, **kwargs):
        time.sleep(0.001)
        return (method, url)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

def get(url, **kwargs):
    return Session().get(url, **kwargs)
'''


def test_a_library_is_patched_when_the_program_imports_it(tmp_path: Path):
    """A stand-in `requests` package (the real one is not a dependency), installed as a
    library is: the hook patches requests.sessions.Session.request right after the
    program imports it, and the call is charged to the program's function."""
    package = tmp_path / "site-packages" / "requests"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from requests.sessions import Session, get\n")
    (package / "sessions.py").write_text(FAKE_REQUESTS)
    result = run_counted(tmp_path, """
        import requests

        def fetch_all(ids):
            return [requests.get(f"https://api.example/users/{i}?token=s3cret") for i in ids]

        fetch_all(range(12))
    """)
    [row] = result["rows"]
    assert row[2] == "fetch_all" and row[4:9] == [
        "http", "requests", "GET", "https://api.example/users/{id}?token", 12]
    assert "s3cret" not in json.dumps(result)  # query values are dropped
    assert result["libraries"] == ["requests"]


# --------------------------------------------------------------------------- overlaps


def test_overlaps_are_judged_per_caller_and_kind(tmp_path: Path):
    script = tmp_path / "app.py"
    script.write_text("def serial():\n    pass\n\ndef pooled():\n    pass\n")
    file = str(script)

    def row(name, first, shape, spans, kind="http"):
        total = sum(b - a for a, b in spans)
        return [file, first, name, first + 1, kind, "urllib", "GET", shape, len(spans), total,
                max(b - a for a, b in spans), spans, None]

    data = {"rows": [
        row("serial", 1, "a", [[0.0, 0.6], [1.4, 2.0]]),
        row("serial", 1, "b", [[0.6, 1.3]]),  # touching is not overlapping
        row("serial", 1, "c", [[2.1, 2.2]], kind="db"),
        row("pooled", 4, "a", [[0.0, 0.6], [0.1, 0.7], [0.65, 0.7], [3.0, 3.6]]),
    ]}
    stats = {(s.function, s.shape): s for s in io_call_stats(data, SourceIndex(), str(tmp_path))}
    a, b = stats[("serial", "a")], stats[("serial", "b")]
    assert (a.slow_calls, a.sequential_slow_calls, a.overlapped_calls) == (2, 2, 0)
    assert (b.slow_calls, b.sequential_slow_calls, b.overlapped_calls) == (1, 1, 0)
    pooled = stats[("pooled", "a")]
    assert (pooled.calls, pooled.slow_calls, pooled.overlapped_calls,
            pooled.sequential_slow_calls) == (4, 3, 3, 1)
    assert a.path == "app.py" and a.line == 1 and a.call_line == 2


# --------------------------------------------------------------------------- real runs

needs_py_spy = pytest.mark.skipif(bool(py_spy_problem()), reason=py_spy_problem() or "ok")


_WORK = tempfile.TemporaryDirectory(prefix="optadvisor-io-")


def saved(script: str, *args: str) -> Path:
    return Path(_WORK.name) / ("-".join((script, *args)) + ".json")


@lru_cache(maxsize=None)
def fixture_report(script: str, *args: str) -> Report:
    root = SCRIPTS
    return profile(
        ProfileOptions(script=root / script, args=args, root=root, cwd=root, calls=True,
                       stdout="null", stdin="null", timeout=300),
        ScanOptions(paths=(root,), use_cache=False, jobs=1),
        saved_as=str(saved(script, *args)))


def io_of(report: Report) -> list[dict]:
    return report.profile["io_calls"]


def found(report: Report, rule: str) -> list:
    return [r for r in report.recommendations if r.rule == rule]


def line_of(script: str, text: str) -> int:
    lines = (SCRIPTS / script).read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


@needs_py_spy
def test_n_plus_one_fixture_counts_fifty_selects_from_load_users():
    report = fixture_report("n_plus_one.py")
    assert report.profile["outcome"]["status"] == "ok"
    rows = [r for r in io_of(report) if r["function"] == "load_users"]
    assert [(r["shape"], r["calls"], r["library"], r["kind"]) for r in rows] == [
        ("SELECT id, name, team FROM users WHERE id = ?", 50, "sqlite3", "db")]
    assert rows[0]["call_line"] == line_of("n_plus_one.py", 'conn.execute("SELECT id')
    assert rows[0]["parent"] == "main" and rows[0]["total_ms"] > 0
    [rec] = found(report, "OPT509")
    assert rec.symbol == "load_users" and rec.line == rows[0]["call_line"]
    assert rec.kind == "n-plus-one"
    assert "made 50 DB calls of one shape" in rec.message
    assert "1 distinct shape(s)" in rec.message and "WHERE id IN (...)" in rec.message
    assert rec.evidence["io_calls"]["top_calls"] == 50
    assert rec.evidence["io_calls"]["shapes"] == 1


@needs_py_spy
def test_batched_n_plus_one_fixture_makes_one_query_and_no_finding():
    report = fixture_report("n_plus_one.py", "--batched")
    rows = [r for r in io_of(report) if r["function"] == "load_users_batched"]
    assert [(r["calls"], r["shape"]) for r in rows] == [
        (1, "SELECT id, name, team FROM users WHERE id IN (?)")]
    assert not any(r["function"] == "load_users" for r in io_of(report))
    assert found(report, "OPT509") == []


@needs_py_spy
def test_sequential_http_fixture():
    report = fixture_report("http_sequential.py")
    rows = io_of(report)
    dashboard = [r for r in rows if r["function"] == "load_dashboard"]
    assert sorted(r["shape"].split("/", 3)[3] for r in dashboard) == [
        "orders?user", "profile/{id}", "recommendations/{id}"]
    for row in dashboard:
        assert (row["calls"], row["slow_calls"], row["sequential_slow_calls"],
                row["overlapped_calls"], row["library"]) == (1, 1, 1, 0, "urllib")
        assert 500 < row["total_ms"] < 5000
    [items] = [r for r in rows if r["function"] == "load_items"]
    assert items["calls"] == 12 and items["shape"].endswith("/items/{id}")
    assert items["overlapped_calls"] == 0 and items["slow_calls"] == 0
    [sequential] = found(report, "OPT510")
    assert sequential.symbol == "load_dashboard"
    assert sequential.line == line_of("http_sequential.py", "profile = json.loads(urlopen")
    assert "waited for 3 HTTP calls of over 500 ms one after another" in sequential.message
    assert sequential.evidence["io_calls"]["saving_ms"] > 900  # ~1.1 s: 3 × 0.55 − 0.55
    [n_plus_one] = found(report, "OPT509")
    assert n_plus_one.symbol == "load_items" and "made 12 HTTP calls" in n_plus_one.message


@needs_py_spy
def test_concurrent_http_fixture_gets_no_finding():
    report = fixture_report("http_sequential.py", "--concurrent")
    fetched = [r for r in io_of(report) if r["function"] == "fetch_json"]
    slow = [r for r in fetched if r["slow_calls"]]
    assert len(slow) == 3 and all(r["overlapped_calls"] == 1 for r in slow)
    assert sum(r["calls"] for r in fetched) == 4  # 3 at once, then one bulk request
    assert found(report, "OPT510") == [] and found(report, "OPT509") == []


@needs_py_spy
def test_io_table_in_every_format():
    report = fixture_report("n_plus_one.py")
    text = table.render(report, width=200, color=False)
    assert "I/O calls by function" in text
    assert any("load_users" in ln and " 50 " in ln and "sqlite3 SELECT" in ln
               for ln in text.splitlines())
    md = markdown.render(report)
    assert ("| `load_users` | `n_plus_one.py:" in md
            and "| sqlite3 SELECT | `SELECT id, name, team FROM users WHERE id = ?` | 50 |" in md)
    page = html.render(report)
    assert 'id="profile-io"' in page and "SELECT id, name, team FROM users WHERE id = ?" in page
    document = json.loads(json_renderer.render(report))
    validator = jsonschema.Draft202012Validator(json_renderer.schema())
    assert [e.message for e in validator.iter_errors(document)] == []
    assert document["profile"]["io_calls"][0]["calls"] == 50


@needs_py_spy
def test_io_table_escapes_what_the_program_sent():
    report = fixture_report("n_plus_one.py")
    data = json.loads(json.dumps(report.profile))
    data["io_calls"][0] = {**data["io_calls"][0], "function": HOSTILE,
                           "shape": f"SELECT '{HOSTILE}'", "library": HOSTILE}
    hostile = dataclasses.replace(report, profile=data)
    page = html.render(hostile)
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    md = markdown.render(hostile)
    assert "<script>" not in re.sub(r"`[^`]*`", "", md)
    assert "\\|[bold]x` |" in md
    text = table.render(hostile, width=250, color=False)
    assert "[bold]x" in text


@needs_py_spy
def test_saved_run_keeps_the_io_counts_and_old_runs_still_load(tmp_path: Path):
    fixture_report("n_plus_one.py")
    run = load_run(saved("n_plus_one.py"))
    assert any(c.function == "load_users" and c.calls == 50 and c.path == "n_plus_one.py"
               for c in run.io_calls)
    save_run(run, tmp_path / "again.json")
    assert load_run(tmp_path / "again.json").io_calls == run.io_calls
    data = json.loads(saved("n_plus_one.py").read_text())
    del data["io_calls"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert load_run(tmp_path / "old.json").io_calls == ()


# --------------------------------------------------------------------------- static join

FAKE_PSYCOPG2 = {
    "__init__.py": '''
from psycopg2 import extensions


def connect(dsn=None, connection_factory=None, cursor_factory=None, **kwargs):
    conn = (connection_factory or extensions.connection)(dsn)
    if cursor_factory is not None:
        conn.cursor_factory = cursor_factory
    return conn
''',
    "extensions.py": '''
import time


class cursor:
    def __init__(self, conn):
        self.conn = conn

    def execute(self, query, vars=None):
        time.sleep(0.0005)
        self.conn.log.append((query, vars))


class connection:
    cursor_factory = None

    def __init__(self, dsn):
        self.log = []

    def cursor(self, name=None, cursor_factory=None):
        return (cursor_factory or self.cursor_factory or cursor)(self)
''',
}

APP = '''
import psycopg2

conn = psycopg2.connect("dbname=app")


def save(rows):
    cur = conn.cursor()
    for row in rows:
        cur.execute("INSERT INTO events (id, body) VALUES (%s, %s)", (row[0], row[1]))


def main():
    for _ in range(3):
        save([(i, "x") for i in range(40)])
    assert len(conn.log) == 120


main()
'''


@needs_py_spy
def test_static_n_plus_one_carries_the_measured_count(tmp_path: Path):
    """A program using psycopg2's API (a stand-in package next to it: psycopg2 is not a
    dependency) makes an INSERT per row: the scan's OPT208 finds the loop, the calls pass
    counts the INSERTs through the psycopg2 patch, and the static finding carries the
    count, with the measured OPT509 as its facet instead of a second finding."""
    package = tmp_path / "psycopg2"
    package.mkdir()
    for name, text in FAKE_PSYCOPG2.items():
        (package / name).write_text(text)
    (tmp_path / "app.py").write_text(APP)
    report = profile(
        ProfileOptions(script=tmp_path / "app.py", root=tmp_path, cwd=tmp_path, calls=True,
                       stdout="null", stdin="null", timeout=300),
        ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert report.profile["outcome"]["status"] == "ok"
    rows = [r for r in io_of(report) if r["function"] == "save"]
    assert [(r["calls"], r["library"], r["shape"]) for r in rows] == [
        (120, "psycopg2", "INSERT INTO events (id, body) VALUES (?)")]
    [static] = [r for r in report.recommendations if r.kind == "n-plus-one"]
    assert static.rule == "OPT208" and static.symbol == "save"
    assert static.evidence["io_calls"]["calls"] == 120
    assert "measured: 120 call(s)" in static.message
    assert [f["rule"] for f in static.facets] == ["OPT509"]
    assert found(report, "OPT509") == []


FAKE_ASYNC = {
    "aiohttp/__init__.py": "from aiohttp.client import ClientSession\n",
    "aiohttp/client.py": '''
import asyncio


class ClientSession:
    async def _request(self, method, str_or_url, **kwargs):
        await asyncio.sleep(0.05)
        return (method, str_or_url)

    def get(self, url, **kwargs):
        return self._request("GET", url, **kwargs)
''',
    "httpx/__init__.py": "from httpx._client import AsyncClient, Client, Request\n",
    "httpx/_client.py": '''
import asyncio


class Request:
    def __init__(self, method, url):
        self.method, self.url = method, url


class Client:
    def send(self, request, **kwargs):
        return request.url

    def get(self, url):
        return self.send(Request("GET", url))


class AsyncClient:
    async def send(self, request, **kwargs):
        await asyncio.sleep(0.05)
        return request.url

    async def get(self, url):
        return await self.send(Request("GET", url))
''',
    "asyncpg/__init__.py": "from asyncpg.connection import Connection\n",
    "asyncpg/connection.py": '''
import asyncio


class Connection:
    async def fetchrow(self, query, *args, timeout=None):
        await asyncio.sleep(0)
        return (query, args)
''',
}


def test_async_clients_are_counted_across_awaits(tmp_path: Path):
    """Stand-ins for aiohttp, httpx and asyncpg (none is a dependency), installed as
    libraries are: a coroutine's calls are charged to it across its awaits, and calls
    gathered together overlap."""
    for name, text in FAKE_ASYNC.items():
        path = tmp_path / "site-packages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = run_counted(tmp_path, """
        import asyncio
        import aiohttp, asyncpg, httpx

        async def gathered(session):
            return await asyncio.gather(*(session.get(f"http://svc/a/{i}") for i in range(3)))

        async def one_by_one(client):
            return [await client.get(f"http://svc/b/{i}") for i in range(3)]

        async def all_at_once(client):
            return await asyncio.gather(*[client.get(f"http://svc/d/{i}") for i in range(2)])

        async def users(conn):
            return [await conn.fetchrow("SELECT * FROM u WHERE id = $1", i) for i in range(4)]

        def sync_get():
            return httpx.Client().get("http://svc/c/1")

        async def main():
            await gathered(aiohttp.ClientSession())
            await one_by_one(httpx.AsyncClient())
            await all_at_once(httpx.AsyncClient())
            await users(asyncpg.Connection())
            sync_get()

        asyncio.run(main())
    """)
    rows = rows_by(result)
    assert sorted(result["libraries"]) == ["aiohttp", "asyncpg", "httpx"]
    gathered = rows[("gathered", "http://svc/a/{id}")]
    assert gathered[5:9] == ["aiohttp", "GET", "http://svc/a/{id}", 3]
    starts = sorted(start for start, _ in gathered[11])
    assert starts[-1] < min(end for _, end in gathered[11])  # all three were in flight
    serial = rows[("one_by_one", "http://svc/b/{id}")]
    assert serial[5] == "httpx" and serial[8] == 3
    spans = sorted(serial[11])
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # one after another
    assert rows[("users", "SELECT * FROM u WHERE id = ?")][5:9] == [
        "asyncpg", "SELECT", "SELECT * FROM u WHERE id = ?", 4]
    assert rows[("sync_get", "http://svc/c/{id}")][5] == "httpx"
    # httpx's get reaches send inside the task gather made: charged to who called get
    assert rows[("all_at_once", "http://svc/d/{id}")][8] == 2
