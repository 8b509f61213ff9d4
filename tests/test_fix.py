"""Fix shapes on the cases that broke users' programs before (each a before string, an
after string and one assertion, as libcst codemods are tested), and `scan --fix/--diff`."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from optadvisor.api import scan_source
from optadvisor.cli import app
from optadvisor.fix.apply import fix_pass, fix_source


def fixed(code: str, select: tuple[str, ...] = ()) -> str:
    out, _ = fix_source(textwrap.dedent(code), select=select)
    compile(out, "t.py", "exec", dont_inherit=True)
    return out


def fix_of(code: str, rule: str, select: tuple[str, ...] = ()):
    recs, error = scan_source(textwrap.dedent(code), select=select or (rule,))
    assert error is None
    (rec,) = [r for r in recs if r.rule == rule]
    return rec


def test_sleep_becomes_asyncio_sleep_and_is_safe():
    rec = fix_of("""
        import time
        async def f():
            time.sleep(2)
    """, "OPT101")
    assert rec.fix.applicability == "safe"
    assert "await asyncio.sleep(2)" in rec.snippet.after
    assert "to_thread" not in rec.snippet.after


def test_blocking_call_without_timeout_is_one_site_with_both_fixes():
    rec = fix_of("""
        import requests
        async def f(url):
            return requests.get(url)
    """, "OPT101", ("OPT",))
    assert [f["rule"] for f in rec.facets] == ["OPT202"]
    assert "await asyncio.to_thread(requests.get, url, timeout=30)" in rec.snippet.after


def test_a_name_the_call_already_reads_is_not_one_the_change_adds():
    # Held-out S45c: hugchat's `get_conversation_info(self, conversation=None)` reads
    # `conversation.id` in the request it makes, and the module binds `conversation =
    # Conversation` too; adding a timeout was held back as an UnboundLocalError.
    rec = fix_of("""
        import requests
        conversation = dict
        def info(conversation=None):
            if conversation is None:
                conversation = current()
            return requests.get(f"https://example.com/{conversation.id}", headers=conversation.headers)
    """, "OPT202")
    assert "UnboundLocalError" not in rec.fix.message
    assert rec.fix.edits
    assert "timeout=" in rec.snippet.after


def test_a_module_the_function_also_imports_itself_is_not_used_by_the_change():
    # Held-out S36: UFO's device service does `import asyncio` under `if auto_connect:`
    # below the blocking call; `asyncio` is then local to the whole function and the
    # offered `await asyncio.to_thread(...)` above it raised UnboundLocalError. An
    # import in a nested def binds nothing here.
    rec = fix_of("""
        import asyncio
        import time
        async def f(auto):
            time.sleep(2)
            if auto:
                import asyncio
                asyncio.get_running_loop()
    """, "OPT101")
    assert rec.fix.applicability == "manual"
    assert "UnboundLocalError" in rec.fix.message
    rec = fix_of("""
        import time
        async def f(auto):
            time.sleep(2)
            def later():
                import asyncio
                return asyncio.get_running_loop()
            return later
    """, "OPT101")
    assert rec.fix.applicability == "safe"
    assert "await asyncio.sleep(2)" in rec.snippet.after


def test_a_body_read_after_the_call_keeps_the_call_on_the_loop_in_words():
    # Held-out S36: llama-stack's S3 files moved `get_object` to a thread and left
    # `response["Body"].read()` (the download itself) on the loop. A response read only
    # for its fields still moves.
    rec = fix_of("""
        import boto3
        s3 = boto3.client("s3")
        async def get(key):
            response = s3.get_object(Bucket="b", Key=key)
            return response["Body"].read()
    """, "OPT101")
    assert rec.fix.applicability == "manual"
    assert '["Body"].read()' in rec.fix.message
    rec = fix_of("""
        import boto3
        s3 = boto3.client("s3")
        async def size(key):
            response = s3.head_object(Bucket="b", Key=key)
            return response["ContentLength"]
    """, "OPT101")
    assert "await asyncio.to_thread(s3.head_object" in rec.snippet.after


def test_the_queries_on_a_session_handed_in_are_one_finding_with_words_for_it():
    # Held-out S36: potpie's routes take `db: Session = Depends(get_db)` and got one
    # finding per query, each told the session "is made elsewhere in the coroutine".
    recs, error = scan_source(textwrap.dedent("""
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session
        router = APIRouter()

        @router.get("/c")
        async def connections(uid: str, db: Session = Depends(get_db)):
            gh = db.query(A).filter(A.u == uid).first()
            rows = db.query(B).filter(B.u == uid).all()
            db.commit()
            await notify(uid)
            return gh, rows
    """), select=("OPT101",))
    assert error is None
    (rec,) = recs
    assert rec.line == 8 and "2 more call(s) on the same session" in rec.message
    assert rec.fix.applicability == "manual"
    assert "`db` is handed in (a parameter)" in rec.fix.message


def test_a_context_manager_that_opens_a_connection_gets_words_for_the_whole_block():
    # Held-out S36b: workflows-py's sqlite journal was told to make `_connect` an async
    # context manager; the statements in the `with` block would still block.
    rec = fix_of("""
        import sqlite3
        from contextlib import contextmanager

        class C:
            @contextmanager
            def _connect(self):
                conn = sqlite3.connect(self._p)
                try:
                    yield conn
                finally:
                    conn.close()

            async def insert(self, x):
                with self._connect() as conn:
                    conn.execute("INSERT INTO t VALUES (?)", (x,))
                    conn.commit()
    """, "OPT104")
    assert rec.fix.applicability == "manual"
    assert "Move the whole `with` block" in rec.fix.message


def test_a_post_to_a_local_server_set_in_init_gets_the_long_read_timeout():
    # Held-out S36f: opencompass's LightLLM `_get_ppl` posts to `self.url`, set in
    # `__init__` from `url = 'http://localhost:8080/generate'`; it got 30 s while the
    # generation of the same server gets 600 s. A remote default keeps 30 s.
    recs, error = scan_source(textwrap.dedent("""
        import requests

        class LightllmAPI:
            def __init__(self, path, url: str = 'http://localhost:8080/generate'):
                self.url = url

            def get_ppl(self, text):
                return requests.post(self.url, json={"inputs": text}).json()

        class Remote:
            def __init__(self, url: str = 'https://api.example.com/v1/score'):
                self.url = url

            def score(self, text):
                return requests.post(self.url, json={"inputs": text}).json()
    """), select=("OPT202",))
    assert error is None
    after = {r.symbol: r.snippet.after for r in recs}
    assert "timeout=(10, 600)" in after["LightllmAPI.get_ppl"]
    assert "timeout=30" in after["Remote.score"]


def test_awaited_call_is_never_blocking():
    # An annotation (or a catalog wildcard) says sync redis, but the call is awaited: the
    # object is an async client whatever its annotation says; before, this was flagged.
    recs, _ = scan_source(textwrap.dedent("""
        import redis
        async def f(r: redis.Redis):
            await r.get("k")
    """), select=("OPT101",))
    assert recs == []


def test_call_in_decorator_or_default_is_not_in_the_coroutine():
    recs, _ = scan_source(textwrap.dedent("""
        import requests, pytest
        def up():
            return requests.get("http://x", timeout=1).ok
        @pytest.mark.skipif(not up(), reason="down")
        async def test_x(page=requests.get("http://y", timeout=1)):
            pass
    """), select=("OPT10",))
    assert recs == []


def test_lambda_and_generator_expression_get_words_not_await():
    rec = fix_of("""
        import requests
        async def f(urls):
            return list(requests.get(u, timeout=5) for u in urls)
    """, "OPT101")
    assert rec.fix.applicability == "manual" and rec.snippet.after == ""
    assert "await" not in "".join(e.content for e in rec.fix.edits)


def test_sqlite_connection_moves_whole_into_one_thread():
    out = fixed("""
        import sqlite3
        async def count(db):
            conn = sqlite3.connect(db)
            n = conn.execute("select count(*) from t").fetchone()[0]
            conn.close()
            return n
    """, ("OPT101",))
    assert "def _with_conn():" in out and "n = await asyncio.to_thread(_with_conn)" in out
    assert "return n" in out.split("_with_conn():")[1]



def test_a_file_handle_bound_by_an_earlier_block_is_not_returned():
    # Held-out O: the second of two `with open(...) as f:` blocks returned `f` (closed,
    # never read again) beside the data, because the first block read an `f` of its own.
    recs, error = scan_source(textwrap.dedent("""
        import json
        async def load(pairs):
            for a, b in pairs:
                with open(a) as f:
                    first = json.load(f)
                with open(b) as f:
                    second = json.load(f)
                yield first, second
    """), select=("OPT105",))
    assert error is None
    (rec,) = [r for r in recs if r.line == 7]
    after = rec.snippet.after or ""
    assert "return second" in after and "second = await asyncio.to_thread(" in after, after
    assert "return f" not in after and "f, second" not in after, after


def test_a_block_inside_a_block_moves_with_the_outer_one():
    # The inner `with` block ranks first (a network call scores higher than the sqlite3
    # calls); offloaded alone it would leave an await in the connection block, which could
    # then not move at all.
    code = textwrap.dedent("""
        import sqlite3, urllib.request
        async def store(db, urls):
            conn = sqlite3.connect(db)
            for url in urls:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    body = resp.read()
                conn.execute("insert into t values (?)", (body,))
            conn.commit()
            conn.close()
    """)
    recs, _ = scan_source(code, select=("OPT101",))
    ranked = sorted(recs, key=lambda r: -r.score)
    # One finding: the connection block's change moves the urlopen block with it, so the
    # urlopen is a facet of it, ranked as the urlopen (the higher of the two) was.
    assert [(r.line, [f["message"].split(":")[0] for f in r.facets]) for r in ranked] == [
        (4, ["line 6"])]
    without_db = "\n".join(line for line in code.splitlines() if "conn" not in line)
    (urlopen,) = scan_source(without_db, select=("OPT101",))[0]
    assert "urlopen" in urlopen.message and ranked[0].score == urlopen.score > 0
    out = fix_pass(code, ranked, unsafe=True).text
    assert out.count("asyncio.to_thread(") == 1, out
    assert "await asyncio.to_thread(_with_conn)" in out
    assert "def _with_resp" not in out
    helper = out.split("def _with_conn():")[1]
    assert "urlopen(url" in helper and "conn.commit()" in helper


def test_a_list_a_remote_call_returned_is_not_taken_for_a_stream():
    # Re-scan after the review (parlant's Qdrant adapter, agent-squad's Lex agent): a list
    # of search hits iterated by a comprehension, parsed JSON iterated after a call with
    # **kwargs: both read whole by the call, so it may move to a thread.
    recs, error = scan_source(textwrap.dedent("""
        import boto3
        import requests
        from qdrant_client import QdrantClient

        CLIENT = QdrantClient(url="http://qdrant:6333")
        AGENTS = boto3.client("bedrock-agent-runtime")


        async def point_ids(name):
            points = CLIENT.search(collection_name=name, query_vector=[0.0], limit=100)
            return [p.id for p in points]


        async def names(url, **options):
            response = requests.get(url, timeout=10, **options)
            return [item["name"] for item in response.json()]


        async def ask(text):
            response = AGENTS.invoke_agent(agentId="a", agentAliasId="b", inputText=text)
            return [event["chunk"] for event in response["completion"]]
    """), select=("OPT101",))
    assert error is None
    # A Bedrock agent's answer is an event stream whatever its key is called.
    assert [(r.line, r.fix.applicability) for r in recs] == [
        (11, "unsafe"), (16, "unsafe"), (21, "manual")]


def test_a_name_reused_for_another_request_is_not_taken_for_its_stream():
    # Held-out U: AIOS downloads into `response` and streams it, then uploads and binds
    # `response` again; the upload's parsed JSON iterated later is no stream.
    recs, error = scan_source(textwrap.dedent("""
        import requests

        async def setup(url, path, server):
            response = requests.get(url, stream=True, timeout=30)
            with open(path, "wb") as f:
                for chunk in response.iter_content(chunk_size=8192):
                    f.write(chunk)
            response = requests.post(server + "/upload", data=open(path, "rb"), timeout=30)
            for item in response.json()["files"]:
                print(item)
    """), select=("OPT101",))
    assert error is None
    assert [(r.line, r.fix.applicability) for r in recs] == [(5, "manual"), (9, "unsafe")]


STORE = """
import sqlite3


class Store:
    def __init__(self, path):
        self.path = path
        self.conn = sqlite3.connect(path)

{connect}
    def get(self, key):
        with self._connect() as conn:
            return conn.execute("select v from t where k = ?", (key,)).fetchone()

    def peek(self, key):
        return self.conn.execute("select v from t where k = ?", (key,)).fetchone()


class Service:
    def __init__(self, store: Store):
        self.store = store

    async def lookup(self, key):
        return self.store.get(key), self.store.peek(key)
"""


@pytest.mark.parametrize("connect", [
    # The factory's return is not known: the chain ends in `sqlite3.connect`.
    ("    def _connect(self):\n        conn = sqlite3.connect(self.path, timeout=30)\n"
     "        conn.row_factory = sqlite3.Row\n        return conn\n"),
    # It is: the chain ends in a statement on the helper's own local (Via.own_session).
    "    def _connect(self):\n        return sqlite3.connect(self.path, timeout=30)\n",
])
def test_a_helper_that_opens_its_own_connection_moves_to_a_thread_whole(connect):
    # Held-out T: xinference's router stores open a fresh SQLite connection in every
    # method (`with self._connect() as conn`): the helper may run in a worker thread. One
    # that uses the connection stored on the object may not.
    recs, error = scan_source(STORE.format(connect=connect), select=("OPT104",))
    assert error is None
    by_column = {r.column: r for r in recs}
    assert "asyncio.to_thread(self.store.get, key)" in (by_column[16].snippet.after or "")
    assert by_column[37].fix.applicability == "manual"
    assert "made elsewhere" in by_column[37].fix.message


def test_sqlite_connection_made_elsewhere_is_words():
    rec = fix_of("""
        import sqlite3
        CONN = sqlite3.connect("x")
        async def f():
            CONN.execute("select 1")
    """, "OPT101")
    assert rec.fix.applicability == "manual" and "made elsewhere" in rec.fix.message
    rec = fix_of("""
        import sqlite3
        class Store:
            def __init__(self):
                self.conn = sqlite3.connect("x")
            async def search(self):
                return self.conn.execute("select 1").fetchall()
    """, "OPT101")
    assert rec.fix.applicability == "manual" and "made elsewhere" in rec.fix.message


def test_an_offloaded_thread_wait_says_the_loop_now_runs_what_it_held_back():
    # Held-out S30c (RealtimeSTT): `recorder_ready.wait()` was the server's start-up
    # barrier; in a thread, handlers ran before the recorder existed. Still an edit, but
    # its message says what else now runs first.
    rec = fix_of("""
        import threading
        ready = threading.Event()
        async def main():
            ready.wait()
    """, "OPT101")
    assert rec.fix.applicability == "unsafe"
    assert "await asyncio.to_thread(ready.wait)" in rec.fix.edits[0].content
    assert "asyncio.Event" in rec.fix.message and "relied on this wait" in rec.fix.message
    rec = fix_of("""
        import requests
        async def main():
            requests.get("https://x", timeout=5)
    """, "OPT101")
    assert "relied on this wait" not in rec.fix.message


def test_a_sqlite_connection_opened_elsewhere_never_moves_to_a_thread():
    # Held-out S31b: oasis's shutdown moved `self.db.backup(dst)` into a worker thread with
    # the block that opens `dst`; dataline's upload handed the coroutine's own sqlite3
    # connection to a parser run in a thread. sqlite3 refuses a connection outside the
    # thread that opened it (ProgrammingError).
    code = textwrap.dedent("""
        import sqlite3
        import pandas as pd

        def parse(f, conn, name):
            pd.read_excel(f).to_sql(name, conn)

        class Platform:
            def __init__(self):
                self.db = sqlite3.connect("x.db")

            async def running(self):
                dst = sqlite3.connect("mock.db")
                with dst:
                    self.db.backup(dst)

            async def upload(self, file, name, path):
                conn = sqlite3.connect(path)
                parse(file, conn, name)
                conn.commit()
                conn.close()

            async def upload2(self, file, name):
                parse(file, self.db, name)
    """)
    recs, error = scan_source(code, select=("OPT101", "OPT105"))
    assert error is None
    by_line = {r.line: r for r in recs}
    assert sorted(by_line) == [13, 15, 18, 24]
    assert by_line[13].fix.applicability == "manual" and \
        "`self.db`, a sqlite3 connection opened elsewhere" in by_line[13].fix.message
    assert by_line[24].fix.applicability == "manual" and \
        "`self.db` is a sqlite3 connection opened elsewhere" in by_line[24].fix.message
    # The parse (OPT105) moves with the connection it is handed: one finding, one block.
    upload = by_line[18]
    assert upload.rule == "OPT101" and upload.fix.applicability == "unsafe"
    assert [f["rule"] for f in upload.facets] == ["OPT105"]
    (block,) = [e for e in upload.fix.edits if e.end_line > e.line]
    assert "parse(file, conn, name)" in block.content and "def _with_conn" in block.content
    out = fix_pass(code, recs, unsafe=True).text
    assert out.count("asyncio.to_thread(") == 1 and "backup" in out


def test_a_sqlite_connection_of_another_function_is_not_this_ones():
    # A local `conn` another function opens with sqlite3 says nothing of the `conn` this
    # coroutine is handed (a psycopg connection, say): the call moves to a thread as usual.
    rec = fix_of("""
        import sqlite3, time

        def open_db():
            conn = sqlite3.connect("x.db")
            return conn

        def slow(conn):
            time.sleep(1)
            return conn

        async def handler(conn):
            return slow(conn)
    """, "OPT104")
    assert rec.fix.applicability == "unsafe"
    assert "await asyncio.to_thread(slow, conn)" in rec.fix.edits[0].content


def test_a_queue_get_right_after_waiting_for_an_item_does_not_block():
    # Held-out S31b FP (fastagency's NATS adapter): `while self.queue.empty(): await
    # asyncio.sleep(0.1)` and then `self.queue.get()`: an item is there and nothing ran
    # since. An await between the two lets another task take it.
    recs, error = scan_source(textwrap.dedent("""
        import asyncio, queue

        class Adapter:
            def __init__(self):
                self.queue = queue.Queue()

            async def wait(self):
                while self.queue.empty():
                    await asyncio.sleep(0.1)
                return self.queue.get()

            async def wait_then_yield(self):
                while self.queue.empty():
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1)
                return self.queue.get()
    """), select=("OPT101",))
    assert error is None
    assert [r.symbol for r in recs] == ["Adapter.wait_then_yield"]


def test_timeout_with_kwargs_is_words():
    # **kwargs may already carry a timeout (adding one could raise "multiple values").
    rec = fix_of("""
        import requests
        def f(url, **kw):
            return requests.get(url, timeout=None, **kw)
    """, "OPT202")
    assert rec.fix.applicability == "manual" and "**kwargs" in rec.fix.message
    recs, _ = scan_source("import requests\ndef f(u, *a):\n    requests.get(u, *a)\n",
                          select=("OPT202",))
    assert recs == []  # *args may carry the timeout: not flagged at all


def test_a_facet_refines_the_lead_only_when_it_is_reported():
    code = """
        import requests
        async def f(url):
            return requests.get(url){comment}
    """
    both = fix_of(code.format(comment=""), "OPT101", ("OPT",))
    assert "to_thread(requests.get, url, timeout=30)" in both.snippet.after
    alone = fix_of(code.format(comment=""), "OPT101")  # OPT202 not selected
    assert "to_thread(requests.get, url)" in alone.snippet.after
    silenced = fix_of(code.format(comment="  # noqa: OPT202"), "OPT101", ("OPT",))
    assert silenced.facets == () and "timeout" not in silenced.snippet.after


def test_when_the_lead_has_no_change_the_facets_change_still_applies():
    rec = fix_of("""
        import requests
        async def f(urls):
            return list(requests.get(u) for u in urls)
    """, "OPT101", ("OPT",))
    assert [f["rule"] for f in rec.facets] == ["OPT202"]
    assert rec.fix.applicability == "safe"
    assert "requests.get(u, timeout=30) for u in urls" in rec.snippet.after
    assert "generator expression" in rec.fix.message  # the lead's advice, in words


def test_timeout_keeps_a_multi_line_call_layout():
    out = fixed("""
        import requests
        def f(url):
            return requests.post(
                url,
                json={"a": 1},  # payload
            )
    """, ("OPT202",))
    assert '        json={"a": 1},  # payload\n        timeout=30,\n    )' in out


def test_gather_keeps_one_target_per_call_and_statements_between():
    out = fixed("""
        async def f(a, b, c):
            x = await a.fetch_user()
            log = "between"
            y = await b.fetch()
            z = await c.ping()
            return x, y, z, log
    """, ("OPT102",))
    assert "x, y, z = await asyncio.gather(" in out
    assert out.index('log = "between"') < out.index("asyncio.gather(")


def test_loop_with_tuple_target_unpacks_inside_the_coroutine():
    out = fixed("""
        async def f(items, client):
            for key, (a, b) in items:
                if not a:
                    continue
                await client.upload(key, a + b)
    """, ("OPT103",))
    assert "async def _one_item(item):" in out and "key, (a, b) = item" in out
    assert "return\n" in out  # continue became return


def test_loop_that_leaves_a_variable_or_accumulates_is_words():
    for body, why in (("total += await client.fetch(x)", "+="),
                      ("last = await client.fetch(x)", "`last`")):
        code = f"""
            async def f(client, xs):
                total = 0
                last = None
                for x in xs:
                    {body}
                return total, last
        """
        rec = fix_of(code, "OPT103")
        assert rec.fix.applicability == "manual" and why in rec.fix.message, body


def test_client_in_async_with_or_from_locals_is_words():
    rec = fix_of("""
        import httpx
        async def f(url):
            async with httpx.AsyncClient() as c:
                return await c.get(url)
    """, "OPT201")
    assert rec.fix.applicability == "manual" and "close" in rec.fix.message
    rec = fix_of("""
        import os
        from openai import OpenAI
        def f(q):
            api_key = os.environ["OPENAI_KEY"]
            client = OpenAI(api_key=api_key)
            return client.chat.completions.create(model="m", messages=[q])
    """, "OPT201")
    assert rec.fix.applicability == "manual" and "api_key" in rec.fix.message


def test_crlf_file_keeps_its_line_endings():
    code = "import time\r\n\r\nasync def f():\r\n    time.sleep(1)\r\n"
    out, n = fix_source(code, select=("OPT101",))
    assert n == 1 and "\r\n" in out and "\n" not in out.replace("\r\n", "")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


SAMPLE = {"app/a.py": """
    import time, requests

    async def poll(url):
        time.sleep(1)
        return requests.get(url)
"""}


def test_diff_writes_nothing_and_exits_1(tmp_path: Path):
    write(tmp_path, SAMPLE)
    before = (tmp_path / "app/a.py").read_text()
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--diff", "--no-cache"])
    assert result.exit_code == 1
    assert "+    await asyncio.sleep(1)" in result.stdout
    assert "to_thread" not in result.stdout  # unsafe: only with --unsafe-fixes
    assert (tmp_path / "app/a.py").read_text() == before


def test_fix_applies_safe_then_unsafe_and_converges(tmp_path: Path):
    write(tmp_path, SAMPLE)
    runner = CliRunner()
    runner.invoke(app, ["scan", str(tmp_path), "--fix", "--no-cache", "--fail-on", "never"])
    text = (tmp_path / "app/a.py").read_text()
    assert "await asyncio.sleep(1)" in text and "requests.get(url)" in text
    runner.invoke(app, ["scan", str(tmp_path), "--fix", "--unsafe-fixes", "--no-cache",
                        "--fail-on", "never"])
    text = (tmp_path / "app/a.py").read_text()
    assert "await asyncio.to_thread(requests.get, url, timeout=30)" in text
    assert text.count("import asyncio") == 1
    again = runner.invoke(app, ["scan", str(tmp_path), "--diff", "--unsafe-fixes",
                                "--no-cache"])
    assert again.exit_code == 0 and again.stdout == ""


def test_fix_skips_files_it_cannot_re_encode(tmp_path: Path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nimport time\nasync def f():\n"
                     b"    time.sleep(1)  # caf\xe9\n")
    found = CliRunner().invoke(app, ["scan", str(tmp_path), "--fix", "--no-cache",
                                     "--format", "json"])
    assert '"OPT101"' in found.stdout  # found, with a safe fix, and left alone
    assert path.read_bytes().endswith(b"caf\xe9\n")


def test_every_fixture_file_compiles_after_all_fixes_and_a_second_run_is_a_no_op(
        tmp_path: Path):
    import shutil

    root = tmp_path / "agents"
    shutil.copytree(FIXTURES, root)
    runner = CliRunner()
    runner.invoke(app, ["scan", str(root), "--fix", "--unsafe-fixes", "--no-cache",
                        "--fail-on", "never", "-q"])
    changed = 0
    for path in root.rglob("*.py"):
        text = path.read_text()
        compile(text, str(path), "exec", dont_inherit=True)
        changed += text != (FIXTURES / path.relative_to(root)).read_text()
    assert changed >= 20
    again = runner.invoke(app, ["scan", str(root), "--diff", "--unsafe-fixes", "--no-cache"])
    assert again.exit_code == 0, again.stdout


def test_fix_explicit_files_in_different_directories(tmp_path: Path):
    write(tmp_path, {"svc/sub/a.py": SAMPLE["app/a.py"], "b.py": SAMPLE["app/a.py"]})
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "svc/sub/a.py"),
                                      str(tmp_path / "b.py"), "--fix", "--no-cache",
                                      "--fail-on", "never"])
    assert result.exit_code == 0
    for rel in ("svc/sub/a.py", "b.py"):
        assert "await asyncio.sleep(1)" in (tmp_path / rel).read_text()


def test_gather_indents_a_moved_multi_line_call():
    out = fixed("""
        async def f(c, m):
            refs = await api.resolve(
                c,
                timeout_s=3,
            )
            envs = await m.environment_client.resolve()
            return refs, envs
    """, ("OPT102",))
    assert "        api.resolve(\n            c,\n            timeout_s=3,\n        ),\n" in out


@pytest.mark.parametrize("between", ['logger.info("step 2")', "took = time.time() - t0"])
def test_an_effect_or_a_clock_read_between_awaits_keeps_them_apart(between: str):
    # Seen on camel's browser toolkit: a snapshot, its timing and a log line, then the
    # tabs of the same browser: the statement between marks an order. (There both were
    # reached from `self`, which now keeps them apart by itself: here two objects.)
    code = """
        import time
        class Toolkit:
            async def back(self, session, browser_api, logger, t0):
                snap = await session.get_snapshot()
                {between}
                tabs = await browser_api.get_tab_info()
                return snap, tabs
    """
    grouped, _ = scan_source(textwrap.dedent(code.format(between="x = 1")), select=("OPT102",))
    assert len(grouped) == 1  # a plain assignment between does not separate them
    recs, _ = scan_source(textwrap.dedent(code.format(between=between)), select=("OPT102",))
    assert recs == []


def test_gather_keeps_each_statements_trailing_comment():
    out = fixed("""
        async def f(a, b):
            x = await a.fetch_one()  # pyright: ignore
            y = await b.fetch_two()  # type: ignore[attr-defined]
            return x, y
    """, ("OPT102",))
    assert "        a.fetch_one(),  # pyright: ignore\n" in out
    assert "        b.fetch_two(),  # type: ignore[attr-defined]\n    )" in out


def test_two_new_helpers_never_share_a_name():
    # Both fixes are built on the same text and both pick `_load_data`: made in one pass,
    # the second def would replace the first and `a` would read B's file.
    out = fixed("""
        import json
        from pathlib import Path

        A = Path("a.json")
        B = Path("b.json")

        def first(items):
            for item in items:
                data = json.loads(A.read_text())
                print(item, data)

        def second(items):
            for item in items:
                data = json.loads(B.read_text())
                print(item, data)
    """, ("OPT203",))
    helpers = re.findall(r"^def (_load_\w+)\(\):\n    return (.*)$", out, re.MULTILINE)
    assert len(helpers) == 2 and len({name for name, _ in helpers}) == 2, out
    by_name = dict(helpers)
    first = out.split("def first")[1].split("def second")[0]
    second = out.split("def second")[1]
    used_first = re.search(r"data = (_load_\w+)\(\)", first).group(1)
    used_second = re.search(r"data = (_load_\w+)\(\)", second).group(1)
    assert "A.read_text()" in by_name[used_first] and "B.read_text()" in by_name[used_second]


def test_a_timeout_that_may_break_normal_use_is_an_unsafe_fix():
    """Evaluated on griptape and letta: `timeout=30` labelled safe on an SSE stream (the read
    timeout applies between events), on a helper whose URL its callers pass (local LLM
    generations), and over a `timeout=None` written out on a streaming proxy."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        def events(url):
            with requests.get(url, stream=True) as response:
                return list(response.iter_lines())

        def post_json(uri, payload):
            return requests.post(uri, json=payload)

        def status():
            return requests.get("https://api.example.com/status", timeout=None)

        def health():
            return requests.get("https://api.example.com/health")

        def run_tool(port, name, args):
            # eval F (camel's DockerRuntime): a local server that runs the tool itself
            return requests.post(f"http://localhost:{port}/{name}", json=args)
    """), select=("OPT202",))
    by_line = {r.line: r for r in recs}
    assert {line: by_line[line].fix.applicability for line in (5, 9, 12, 15, 19)} == {
        5: "unsafe", 9: "unsafe", 12: "unsafe", 15: "safe", 19: "unsafe"}
    assert "streamed" in by_line[5].fix.message and "caller" in by_line[9].fix.message
    assert "on this machine" in by_line[19].fix.message


def test_offloads_that_would_break_or_do_nothing_are_advice_in_words():
    """Held-out evaluation (autogen, camel, crewAI): a block moved to a worker thread that
    calls asyncio.create_task raised "no running event loop"; to_thread(as_completed, fs)
    only built the iterator (the loop still stalled 0.5 s); a client whose module is
    imported inside the function was advised "one client per distinct `boto3`"."""
    recs, _ = scan_source(textwrap.dedent("""
        import asyncio
        from concurrent.futures import ThreadPoolExecutor, as_completed

        async def scenario(paths):
            for path in paths:
                with open(path, "w") as logfile:
                    task = asyncio.create_task(asyncio.sleep(0))
                    logfile.write("started")
                await task

        async def collect(jobs):
            with ThreadPoolExecutor() as pool:
                futures = [pool.submit(j) for j in jobs]
                return [f.result() for f in as_completed(futures)]

        def upload(data):
            import boto3
            boto3.client("s3").put_object(Bucket="b", Key="k", Body=data)
    """), select=("OPT101", "OPT105", "OPT201"))
    by_rule = {r.rule: r for r in recs}
    assert by_rule["OPT105"].fix.applicability == "manual"
    assert "create_task" in by_rule["OPT105"].fix.message
    assert by_rule["OPT101"].fix.applicability == "manual"
    assert "iterator" in by_rule["OPT101"].fix.message
    assert by_rule["OPT201"].fix.applicability == "manual"
    assert "imported inside the function" in by_rule["OPT201"].fix.message
    # Not "import it at module level": a local import may be an optional dependency
    # (held-out S45: agentlego's openai); a cached factory that imports it works either way.
    assert "import it at module level" not in by_rule["OPT201"].fix.message
    assert "factory that does the same import" in by_rule["OPT201"].fix.message


def test_starting_a_process_is_not_waiting_for_it():
    recs, _ = scan_source(textwrap.dedent("""
        import subprocess

        async def start(cmd):
            proc = subprocess.Popen(cmd)
            return proc.pid

        async def run(cmd):
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
            out, _ = proc.communicate()
            return out
    """), select=("OPT101",))
    assert [r.line for r in recs] == [10]


def test_a_file_iterated_where_it_is_opened_is_advice_in_words():
    """gpt-researcher: `{json.loads(l)["id"] for l in open(path)}` in a coroutine became
    `... in await asyncio.to_thread(open, path)`: the lines were still read on the loop."""
    recs, _ = scan_source(textwrap.dedent("""
        import json

        async def done(paths):
            return [{json.loads(line)["id"] for line in open(p, encoding="utf-8")} for p in paths]

        async def count(paths):
            n = 0
            for path in paths:
                for _ in open(path):
                    n += 1
            return n
    """), select=("OPT105",))
    assert len(recs) == 2
    assert all(r.fix.applicability == "manual" and "line by line" in r.fix.message for r in recs)


def test_a_file_read_by_a_method_chained_on_its_open_is_advice_in_words():
    """Held-out K (vocode): `open(path, "rb").read()` became `(await asyncio.to_thread(open,
    path, "rb")).read()`: the open in a thread, the read still on the event loop."""
    recs, _ = scan_source(textwrap.dedent("""
        async def filler(paths):
            return [open(path, "rb").read() for path in paths]

        async def lines(paths):
            return [open(path).readlines() for path in paths]
    """), select=("OPT105",))
    assert [r.line for r in recs] == [3, 6]
    for rec in recs:
        assert rec.fix.applicability == "manual" and not rec.fix.edits
        assert "chained on the open" in rec.fix.message
        assert "to_thread(open" not in (rec.snippet.after or "")


def test_an_open_file_kept_for_an_upload_is_advice_in_words():
    """Held-out S32c (llama_cloud_services): `open_files.append(open(f, "rb"))` then
    `await client.post(files=...)`: the upload reads the handle, so a thread for the open
    alone changed nothing, and "read by open_files.append" was wrong."""
    recs, _ = scan_source(textwrap.dedent("""
        import httpx
        import json

        async def upload(client: httpx.AsyncClient, paths):
            handles = []
            for p in paths:
                handles.append(open(p, "rb"))
            return await client.post("/files", files=[("f", h) for h in handles])

        async def each(client: httpx.AsyncClient, paths):
            for p in paths:
                files = {"file": open(p, "rb")}
                await client.post("/files", files=files)

        async def read_all(paths):
            return [json.load(open(p)) for p in paths]
    """), select=("OPT105",))
    by_line = {r.line: r for r in recs}
    assert sorted(by_line) == [8, 13, 17]
    for line in (8, 13):
        fix = by_line[line].fix
        assert fix.applicability == "manual" and not fix.edits
        assert "stored here" in fix.message and "append" not in fix.message
    assert "json.load" in by_line[17].fix.message


def test_a_url_constant_of_the_module_says_the_request_is_a_generation():
    """Held-out K: ragflow's Discord bot posts to `URL = ".../completion_aibotk"`: a 30 s
    read timeout would cut the answer."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests
        URL = "http://rag.local/v1/api/completion_aibotk"
        STATUS = "http://rag.local/v1/health"

        def ask(payload):
            return requests.post(URL, json=payload)

        def ping():
            return requests.get(STATUS)
    """), select=("OPT202",))
    after = {r.line: r.snippet.after for r in recs}
    assert "timeout=(10, 600)" in after[7]
    assert "timeout=30" in after[10]


def test_a_retry_decorator_that_retries_on_the_timeout_handles_a_slow_generation():
    """Held-out S42: code-act's Claude agents post generations under
    `@backoff.on_exception(backoff.expo, requests.exceptions.RequestException)`: a read
    timeout is a RequestException, retried; the fix said nothing would catch it. A backoff
    on HTTPError only, or tenacity narrowed to ConnectionError, does not retry it."""
    recs, _ = scan_source(textwrap.dedent("""
        import backoff
        import requests
        from tenacity import retry, retry_if_exception_type, stop_after_attempt
        URL = "http://llm.local/v1/generate"

        @backoff.on_exception(backoff.expo, requests.exceptions.RequestException, max_tries=5)
        def ask(payload):
            return requests.post(URL, json=payload)

        @retry(stop=stop_after_attempt(3))
        def ask_again(payload):
            return requests.post(URL, json=payload)

        @backoff.on_exception(backoff.expo, requests.exceptions.HTTPError)
        def ask_once(payload):
            return requests.post(URL, json=payload)

        @retry(retry=retry_if_exception_type(ConnectionError))
        def ask_connected(payload):
            return requests.post(URL, json=payload)
    """), select=("OPT202",))
    fixes = {r.line: r.fix for r in recs}
    assert sorted(fixes) == [9, 13, 17, 21]
    for line in (9, 13):
        assert fixes[line].applicability == "safe", line
        assert "nothing around the call catches" not in fixes[line].message
    for line in (17, 21):
        assert fixes[line].applicability == "unsafe", line
        assert "nothing around the call catches" in fixes[line].message


def test_a_function_that_knows_a_timeout_gets_words_not_a_fixed_number():
    """Held-out K: deer-flow's InfoQuest client asks the server for a user-configured crawl
    timeout (`self.fetch_timeout`); `timeout=30` could cut it short. An exception class
    named for timeouts is no configured value."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        class Reader:
            def fetch(self, url):
                data = {"url": url, "timeout": self.fetch_timeout}
                return requests.post("https://reader.example.com", json=data)

            def probe(self, url):
                try:
                    return requests.get(url)
                except requests.Timeout:
                    return None

            def call(self, url):
                try:
                    return requests.get(url)
                except Exception:
                    return StatusCode.TIMEOUT_ERROR
    """), select=("OPT202",))
    by_line = {r.line: r for r in recs}
    assert by_line[17].fix.applicability != "manual"
    assert by_line[7].fix.applicability == "manual" and not by_line[7].fix.edits
    assert "`self.fetch_timeout`" in by_line[7].fix.message
    assert by_line[11].fix.applicability != "manual"
    assert "timeout=30" in by_line[11].snippet.after


def test_ui_code_is_not_moved_to_a_worker_thread():
    """Held-out evaluation C (a Textual app): a block that updated widgets was moved into
    `asyncio.to_thread`; Textual's widgets belong to the app's thread. Plain blocking work
    with plain values still gets the rewrite."""
    recs, _ = scan_source(textwrap.dedent("""
        import time
        import requests
        from textual.app import App

        class Viewer(App):
            def _refresh(self):
                time.sleep(0.1)
                self.query_one("#log").update("done")

            async def on_mount(self):
                for path in self.log_paths:
                    with open(path) as f:
                        self.query_one("#log").update(f.read())
                self._refresh()
                requests.get("https://example.com", timeout=5)
    """), select=("OPT101", "OPT104", "OPT105"))
    by_rule = {r.rule: r for r in recs}
    assert by_rule["OPT105"].fix.applicability == "manual"
    assert "textual UI" in by_rule["OPT105"].fix.message
    assert by_rule["OPT104"].fix.applicability == "manual"
    assert "call_from_thread" in by_rule["OPT104"].fix.message
    assert by_rule["OPT101"].fix.applicability != "manual"


def test_an_autogen_function_tool_gets_no_module_level_helper():
    """Held-out evaluation C (autogen): AutoGen's FunctionTool keeps the function's source,
    which a serialized component runs without the module, so a cached factory added at
    module level would be a NameError there. Other functions of the file keep the fix."""
    recs, _ = scan_source(textwrap.dedent("""
        from autogen_core.tools import FunctionTool
        from openai import OpenAI

        def moderate(text: str) -> str:
            client = OpenAI()
            return client.moderations.create(input=text).id

        def other(text):
            client = OpenAI()
            return client.moderations.create(input=text).id

        tools = [FunctionTool(func=moderate, description="m")]
    """), select=("OPT201",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[6].applicability == "manual" and "AutoGen FunctionTool" in by_line[6].message
    assert by_line[10].applicability == "unsafe"


def test_a_query_posted_to_a_rag_service_gets_the_long_timeout_and_a_search_read_not():
    """Held-out S32c: graphrag-accelerator's UI posts a question to `/query/global` (a
    search with an LLM behind it) and got a 30 s read; a GET that searches only reads."""
    code = textwrap.dedent("""
        import requests

        def query_index(api_url, index_name, question):
            request = {"index_name": index_name, "query": question}
            return requests.post(f"{api_url}/query/global", json=request).json()

        def search(api_url, q):
            return requests.get(f"{api_url}/search", params={"query": q}).json()

        def undraft(token, node_id):
            url = "https://api.github.com/graphql"
            body = {"query": "mutation { markReadyForReview }", "variables": {"id": node_id}}
            return requests.post(url, json=body, headers={"Authorization": token}).json()
    """)
    recs, _ = scan_source(code, select=("OPT202",))
    # A GraphQL request's payload says `query` too: only the URL's words count there.
    assert {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs} == {
        6: "(10, 600))", 9: "30)", 14: "30)"}


def test_a_language_model_wrapper_gets_the_long_timeout():
    """Held-out evaluation G (langchain-community): `Beam(LLM)._call`, `llms/*.py` and
    `chat_models/*.py` posts got a 30 s read timeout, which fails every long generation."""
    code = textwrap.dedent("""
        import requests
        from langchain_core.language_models.llms import LLM

        class Beam(LLM):
            def _call(self, text):
                return requests.post(self.url, json={"input": text}).json()

        def _request(url, payload):
            return requests.post(url + "/answer", json=payload).json()

        class Weather:
            def get(self, city):
                return requests.get("https://w.example.com", params={"q": city}).json()
    """)
    def timeouts(rel):
        recs, _ = scan_source(code, rel=rel, select=("OPT202",))
        return {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
                if r.fix.edits}
    assert timeouts("svc/beam.py") == {7: "(10, 600))", 10: "30)", 14: "30)"}
    # Every post of a module under llms/ is a generation (a helper of it, too); a read
    # (GET) there lists or checks, and keeps the short timeout.
    assert timeouts("llms/beam.py") == {7: "(10, 600))", 10: "(10, 600))", 14: "30)"}
    # A package named from a model stem names the project, not the module's calls.
    assert timeouts("llmware/beam.py") == {7: "(10, 600))", 10: "30)", 14: "30)"}
    assert timeouts("openai_server/tools/beam.py") == {7: "(10, 600))", 10: "30)", 14: "30)"}
    assert timeouts("providers/openai/beam.py")[10] == "(10, 600))"


def test_status_checks_and_hosts_say_nothing_of_a_long_answer():
    """Held-out X: JARVIS's `GET /status/{model}` in `model_inference` (every task), Ollama's
    `GET /api/tags` in an `OllamaClient`, and OpenAgents plugins on `chat-…` hosts or Cloud
    Run's `….run.app` were given a 600 s read; a chat post to such a host keeps the long one."""
    code = textwrap.dedent("""
        import requests

        class OllamaClient:
            def list_models(self):
                return requests.get(f"{self.api_url}/tags").json()

            def generate(self, payload):
                return requests.post(f"{self.api_url}/generate", json=payload).json()

        def model_inference(model_id):
            return requests.get(f"{SERVER}/status/{model_id}").json()

        def convert_currency(params):
            return requests.get("https://converter-chat-gpt-plugin.vercel.app/convert", params=params)

        def search(params):
            return requests.post("https://plugin-3c56b9d4c8a6-uc.a.run.app/search", json=params)

        def ask(params):
            return requests.post("https://api.example.com/v1/chat/completions", json=params)
    """)
    recs, _ = scan_source(code, rel="svc/clients.py", select=("OPT202",))
    got = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
           if r.fix.edits}
    assert got == {6: "30)", 9: "(10, 600))", 12: "30)", 15: "30)", 18: "30)",
                   21: "(10, 600))"}


def test_a_class_named_for_a_model_vendor_gets_the_long_timeout():
    """Held-out M (chatgpt-on-wechat): `ClaudeAPIBot._handle_sync_response` posts a request
    built by its caller to `/messages`; 30 s would cut every long answer. A class named for
    something else keeps the short timeout."""
    code = textwrap.dedent("""
        import requests

        class ClaudeAPIBot:
            def _handle_sync_response(self, request_params):
                return requests.post(f"{self.api_base}/messages", json=request_params).json()

        class Feed:
            def fetch(self, params):
                return requests.post(f"{self.base}/items", json=params).json()

        class ModelscopePipelineTool(BaseTool):
            def _remote_call(self, data, headers):
                return requests.request("POST", self.api_url, headers=headers, data=data)
    """)
    recs, _ = scan_source(code, rel="models/bot.py", select=("OPT202",))
    got = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
           if r.fix.edits}
    assert got == {6: "(10, 600))", 10: "30)", 14: "(10, 600))"}
    # A project named so is no evidence: its quick tools keep the short timeout.
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        class Translate:
            def call(self, params):
                return requests.get("https://translate.example.com/v2", params=params)
    """), rel="modelscope_agent/tools/translate.py", select=("OPT202",))
    assert [r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs] == ["30)"]


def test_an_uploaded_file_the_server_processes_gets_the_long_timeout():
    """Held-out N (cognita): a whole document posted to unstructured.io for partitioning
    got a 30 s read timeout; the server answers when the document is done."""
    code = textwrap.dedent("""
        import requests

        class Parser:
            def parse(self, path, url):
                with open(path, "rb") as f:
                    return requests.post(url, files={"files": f}, data={"strategy": "auto"})

            def status(self, url):
                return requests.get(url + "/status")
    """)
    recs, _ = scan_source(code, rel="parsers/io.py", select=("OPT202",))
    got = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
           if r.fix.edits}
    assert got == {7: "(10, 600))", 10: "30)"}


def test_a_status_check_named_by_its_url_variable_keeps_the_short_timeout():
    """Held-out S29c (JARVIS): `requests.get(localStatusUrl)` in `model_inference` got the
    600 s read the function's name asks for; the URL's own name says it is a status check."""
    code = textwrap.dedent("""
        import requests

        def model_inference(host, model_id, payload):
            localStatusUrl = f"{host}/status/{model_id}"
            r = requests.get(localStatusUrl)
            inferenceUrl = f"{host}/models/{model_id}"
            return r, requests.post(inferenceUrl, json=payload)
    """)
    recs, _ = scan_source(code, rel="chat/server.py", select=("OPT202",))
    got = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
           if r.fix.edits}
    assert got == {6: "30)", 8: "(10, 600))"}


def test_a_file_encoded_into_the_payload_gets_the_long_timeout():
    """Held-out S29b (bisheng): a document's bytes base64-encoded into the JSON posted for
    partitioning got a 30 s read timeout. A base64 of credentials (a Basic auth header) says
    nothing of the work."""
    code = textwrap.dedent("""
        import base64
        import requests

        def partition(path, url):
            b64_data = base64.b64encode(open(path, "rb").read()).decode()
            return requests.post(url, json={"b64_data": [b64_data], "mode": "partition"})

        def profile(url, user, password):
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            return requests.get(url, headers={"Authorization": f"Basic {token}"})
    """)
    recs, _ = scan_source(code, rel="loaders/elem.py", select=("OPT202",))
    got = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
           if r.fix.edits}
    assert got == {7: "(10, 600))", 11: "30)"}


def test_a_raw_file_body_gets_the_long_timeout():
    """Held-out S41 (Auto-GPT in MLAgentBench): audio bytes posted as the body to a speech
    model got a safe 30 s read timeout. A body read from a file counts too; a form dict
    does not."""
    code = textwrap.dedent("""
        import requests

        def read_audio(audio: bytes, url):
            return requests.post(url, headers={"A": "b"}, data=audio)

        def send_file(path, url):
            with open(path, "rb") as f:
                payload = f.read()
            return requests.post(url, data=payload)

        def send_form(url, form: dict):
            return requests.post(url, data=form)
    """)
    recs, _ = scan_source(code, rel="commands/audio.py", select=("OPT202",))
    got = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs
           if r.fix.edits}
    assert got == {5: "(10, 600))", 10: "(10, 600))", 13: "30)"}


def test_a_streamed_response_is_not_half_moved_to_a_thread():
    """Held-out evaluation G (PaiEas): `requests.post(..., stream=True)` moved to a thread
    left its `iter_lines()` reading on the loop: advice in words instead."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        async def astream(url, payload):
            response = requests.post(url, json=payload, stream=True, timeout=30)
            for line in response.iter_lines():
                yield line

        async def plain(url):
            response = requests.get(url, timeout=30)
            return response.json()
    """), select=("OPT101",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[5].applicability == "manual" and "streamed" in by_line[5].message
    assert by_line[10].applicability == "unsafe"


def test_a_generation_payload_built_above_the_call_gets_the_long_timeout():
    """Held-out evaluation G (TaskWeaver): `VisionPlanner` posts a chat payload built a few
    lines above the call, from a class whose name says nothing of a model: 30 s would fail
    every slow answer. A payload without generation keys keeps the short timeout."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        class VisionPlanner:
            def reply(self, text):
                payload = {"model": self.model, "messages": [text], "max_tokens": 300}
                return requests.post(self.url, json=payload).json()

            def lookup(self, city):
                payload = {"q": city, "units": "metric"}
                return requests.post(self.url, json=payload).json()
    """), select=("OPT202",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[7].edits[0].content.endswith("timeout=(10, 600))")
    assert "`messages`" in by_line[7].message
    assert by_line[11].edits[0].content.endswith("timeout=30)")


def test_a_retried_generation_is_no_status_poll():
    """Held-out evaluation G (langchain-community `Beam._call`): a prompt re-posted in a loop
    that sleeps between attempts is a retry of a generation, which needs the long timeout; a
    status read in a loop that sleeps is a poll, which keeps the short one."""
    recs, _ = scan_source(textwrap.dedent("""
        import time
        import requests

        def generate(url, prompt):
            for _ in range(3):
                r = requests.post(url, json={"prompt": prompt})
                if r.status_code == 200:
                    return r.json()["text"]
                time.sleep(1)

        def wait_for_generation(url):
            while True:
                r = requests.get(url + "/status")
                if r.json()["done"]:
                    return r.json()
                time.sleep(1)
    """), select=("OPT202",))
    by_line = {r.line: r.fix.edits[0].content for r in recs}
    assert by_line[7].endswith("timeout=(10, 600))")
    assert by_line[14].endswith("timeout=30)")


def test_a_streamed_response_returned_by_a_helper_is_not_half_moved_to_a_thread():
    """The PaiEas shape through a helper (OPT104): `response = self._post(...)` moved to a
    thread while `response.iter_lines()` stays on the loop would still block it: words."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        class PaiEas:
            def _post(self, prompt):
                return requests.post(self.url, json={"p": prompt}, stream=True, timeout=30)

            async def astream(self, prompt):
                response = self._post(prompt)
                for line in response.iter_lines():
                    yield line

            async def ask(self, prompt):
                response = self._post(prompt)
                return response.json()
    """), select=("OPT104",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[9].applicability == "manual" and "streamed" in by_line[9].message
    assert by_line[14].applicability == "unsafe"


def test_a_client_patched_after_it_is_built_is_not_shared():
    """Held-out evaluation C (Fix-6): a client whose attributes the function sets per run
    (a base URL, a traced method) hoisted into one shared client would carry one call's
    patch into every other call: advice in words. An untouched client is still hoisted."""
    recs, _ = scan_source(textwrap.dedent("""
        import openai

        def ask(prompt):
            client = openai.OpenAI()
            client.chat.completions.create = traced(client.chat.completions.create)
            return client.chat.completions.create(model="m", messages=[prompt])

        def plain(prompt):
            client = openai.OpenAI()
            return client.chat.completions.create(model="m", messages=[prompt])
    """), select=("OPT201",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[5].applicability == "manual"
    assert "`client.chat.completions.create = ...`" in by_line[5].message
    assert by_line[10].applicability == "unsafe"


def test_a_word_inside_a_longer_name_or_a_download_does_not_make_a_generation():
    """Held-out evaluation I: `check_agentops_update` (agentops, not agent) and an image
    download (`create_image_from_url`) got a 10-minute read timeout; a tool run keeps it."""
    recs, _ = scan_source(textwrap.dedent("""
        import requests

        def check_agentops_update():
            return requests.get("https://pypi.org/pypi/agentops/json").json()

        def create_image_from_url(url):
            return requests.get(url).content

        def run_agent_tool(url, args):
            return requests.post(url, json=args).json()
    """), select=("OPT202",))
    timeouts = {r.line: r.fix.edits[0].content.rsplit("timeout=", 1)[-1] for r in recs}
    assert timeouts == {5: "30)", 8: "30)", 11: "(10, 600))"}


def test_a_timeout_disabled_on_purpose_for_a_stream_is_advised_in_words():
    """Held-out evaluation I (llama_deploy's proxy): `httpx.AsyncClient(timeout=None)` for a
    relayed stream became `timeout=30`, which cuts every stream longer than that."""
    recs, _ = scan_source(textwrap.dedent("""
        import httpx

        async def proxy(request, url):
            client = httpx.AsyncClient(timeout=None)
            upstream = await client.send(client.build_request("GET", url), stream=True)
            return upstream

        async def fetch(url):
            async with httpx.AsyncClient(timeout=None) as client:
                return (await client.get(url)).text
    """), select=("OPT202",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[5].applicability == "manual" and "connect=10.0" in by_line[5].message
    assert by_line[10].applicability == "unsafe"


def test_a_loop_that_fills_two_lists_in_step_is_not_gathered():
    """Held-out evaluation H (R2R `_multi_search`): the body appends to two lists that are
    later fused pairwise; a gather rewrite returned the last append's value (item order) but
    left the first append inside the task (finishing order): the lists fell out of step.
    Advice in words; one list filled last is still rewritten."""
    recs, _ = scan_source(textwrap.dedent("""
        import httpx

        async def search_all(client: httpx.AsyncClient, queries):
            chunks, graphs = [], []
            for q in queries:
                r = await client.get("https://api.example.com/search", params={"q": q})
                chunks.append(r.json()["chunks"])
                graphs.append(r.json()["graph"])
            return list(zip(chunks, graphs))

        async def fetch_all(client: httpx.AsyncClient, queries):
            pages = []
            for q in queries:
                r = await client.get("https://api.example.com/search", params={"q": q})
                pages.append(r.json())
            return pages
    """), select=("OPT103",))
    by_line = {r.line: r.fix for r in recs}
    assert by_line[6].applicability == "manual" and "item order" in by_line[6].message
    assert by_line[14].applicability != "manual"


def test_an_anyio_module_gets_words_not_asyncio():
    """Held-out N (the MCP SDK, which runs on anyio and is tested under trio): a fix that
    brings in `asyncio.to_thread` or `asyncio.gather` would fail under trio. Words that
    name anyio's own API instead; a module that imports asyncio keeps its fix."""
    code = textwrap.dedent("""
        import anyio
        import requests

        async def fetch(url):
            return requests.get(url, timeout=5)
    """)
    recs, _ = scan_source(code, select=("OPT101",))
    assert recs[0].fix.applicability == "manual"
    assert "anyio.to_thread.run_sync" in recs[0].fix.message
    both, _ = scan_source("import asyncio\n" + code, select=("OPT101",))
    assert both[0].fix.applicability == "unsafe"


def test_a_call_spread_over_lines_of_a_crlf_file_keeps_crlf():
    # held-out S28: Fay's schedule server got `\n` lines inside its CRLF file.
    code = ('import requests\r\n\r\n\r\nasync def add(arguments):\r\n'
            '    return requests.post(\r\n        "http://x/a",\r\n'
            '        json={"t": arguments["title"]},\r\n        timeout=5,\r\n    )\r\n')
    out, _ = fix_source(code, select=("OPT101",), unsafe=True)
    assert "asyncio.to_thread(\r\n        requests.post,\r\n" in out
    assert "\n" not in out.replace("\r\n", "")


def test_a_helper_added_to_a_crlf_file_keeps_crlf():
    # The shapes write `\n`; build.py gives every change the file's own line breaks.
    code = ('import jinja2\r\n\r\nGREETING = "Hello {{ name }}"\r\n\r\n'
            'async def answer(question, llm):\r\n'
            '    template = jinja2.Template(GREETING)\r\n'
            '    return await llm(template.render(name="you"), question)\r\n')
    out, count = fix_source(code, select=("OPT203",), unsafe=True)
    assert count == 1 and "@functools.cache\r\ndef _load_template():\r\n" in out
    assert "\n" not in out.replace("\r\n", "")


def test_a_generated_file_gets_advice_in_words_not_edits():
    # held-out S34d: qdrant-client's async local client says it is autogenerated
    code = """
        # This file is autogenerated. Do not edit it manually.
        import shutil

        async def delete_collection(path):
            shutil.rmtree(path)
    """
    rec = fix_of(code, "OPT105")
    assert rec.fix.applicability == "manual"
    assert not rec.fix.edits
    assert "says it is generated — `This file is autogenerated`" in rec.fix.message
    assert fixed(code) == textwrap.dedent(code)
    plain = fix_of(code.replace("# This file is autogenerated. Do not edit it manually.",
                                "# Helpers."), "OPT105")
    assert plain.fix.edits  # the same site in a file of its authors' gets the change


def test_a_token_request_of_a_model_client_says_nothing_of_a_long_timeout():
    """Held-out S35c (ChuanhuChatGPT's ERNIE client): the token request of a class named for
    a model keeps 30 s, and its message must not claim the long read timeout it did not
    write."""
    rec = fix_of("""
        import json
        import requests

        class ERNIE_Client:
            def get_access_token(self):
                url = "https://aip.baidubce.com/oauth/2.0/token?grant_type=client_credentials"
                response = requests.request("POST", url, headers={}, data=json.dumps(""))
                return response.json()["access_token"]
    """, "OPT202")
    assert rec.fix.edits[0].content.endswith("timeout=30)")
    assert "long read timeout" not in rec.fix.message


def test_a_post_through_a_session_that_retries_posts_gets_an_unsafe_timeout():
    """Held-out S35d (trl's vLLM client): the module mounts `Retry(read=5,
    allowed_methods=["POST", "GET"])`; a read timeout on a generation would send it again
    five times. The fix is still offered, as a choice to review; a GET keeps it safe."""
    code = """
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        class Client:
            def __init__(self, url):
                self.url = url
                self.session = requests.Session()
                retries = Retry(total=5, read=5, allowed_methods=["POST", "GET"])
                self.session.mount("http://", HTTPAdapter(max_retries=retries))

            def generate(self, prompts):
                return self.session.post(f"{self.url}/generate/", json={"prompts": prompts}).json()

            def world_size(self):
                return self.session.get(f"{self.url}/get_world_size/").json()
    """
    recs, _ = scan_source(textwrap.dedent(code), select=("OPT202",))
    got = {r.line: r.fix.applicability for r in recs}
    assert got == {14: "unsafe", 17: "safe"}
    assert all(("retry POSTs" in r.fix.message) == (r.line == 14) for r in recs)
    # Without POST among the retried methods (urllib3's default), the post is not retried;
    # it stays unsafe only because its long value (a generation) is a guess nothing
    # around the call handles (held-out S40c).
    recs, _ = scan_source(textwrap.dedent(code.replace('allowed_methods=["POST", "GET"]',
                                                       'allowed_methods=["GET"]')),
                          select=("OPT202",))
    assert {r.line: r.fix.applicability for r in recs} == {14: "unsafe", 17: "safe"}
    assert not any("retry POSTs" in r.fix.message for r in recs)
    assert "slowest legitimate one" in next(r.fix.message for r in recs if r.line == 14)


def test_a_long_timeout_is_unsafe_unless_a_handler_around_the_call_catches_it():
    """held-out S40c (evalscope's LongBench-Write client): `timeout=(10, 600)` on a
    generation of up to 32k tokens was marked safe; nothing caught the timeout, and one
    slow answer would have ended the run. Inside a retry that catches it, it stays safe."""
    code = textwrap.dedent("""
        import requests

        def generate(url, prompt):
            return requests.post(url + "/v1/completions", json={"prompt": prompt}).json()

        def generate_retrying(url, prompt):
            for _ in range(3):
                try:
                    return requests.post(url + "/v1/completions", json={"prompt": prompt}).json()
                except Exception:
                    continue
            return None
    """)
    recs, _ = scan_source(code, select=("OPT202",))
    got = {r.line: r.fix.applicability for r in recs}
    assert got == {5: "unsafe", 10: "safe"}
    assert all("(10, 600)" in r.fix.edits[0].content for r in recs)
    assert "slowest legitimate one" in next(r.fix.message for r in recs if r.line == 5)


def test_a_helper_returning_a_sqlite_connection_is_not_moved_to_a_thread_alone():
    """Held-out S42: generative-ai's memory agent, `db = get_db()` (a helper returning
    `sqlite3.connect(...)`) then `db.execute(...)` on the loop: `await asyncio.to_thread(
    get_db)` opens the connection in a worker thread and the next `execute` raises
    ProgrammingError. A helper that opens, queries and closes returns rows: a thread is
    right for it. And a quick connect once per wait of a timer loop is no finding."""
    recs, _ = scan_source(textwrap.dedent("""
        import asyncio
        import sqlite3

        def get_db():
            db = sqlite3.connect("memory.db")
            return db

        def count_rows():
            db = sqlite3.connect("memory.db")
            try:
                return db.execute("SELECT id FROM memories WHERE id = 1").fetchall()
            finally:
                db.close()

        async def watch(agent, files):
            db = get_db()
            for name in files:
                await agent.ingest(name)
                db.execute("INSERT INTO seen VALUES (?)", (name,))

        async def status(request):
            rows = count_rows()
            return rows

        async def timer(agent):
            while True:
                await asyncio.sleep(1800)
                db = get_db()
                await agent.consolidate()
                db.close()
    """), rel="pkg/agent.py", select=("OPT104",))
    fixes = {r.line: r.fix for r in recs}
    assert sorted(fixes) == [17, 23]
    assert fixes[17].applicability == "manual" and not fixes[17].edits
    assert "sqlite3.ProgrammingError" in fixes[17].message
    assert fixes[23].applicability == "unsafe" and fixes[23].edits


def test_a_thread_between_a_lookup_and_a_store_of_shared_state_is_words():
    """Held-out S42: dstack's `ServiceConnectionPool.get_or_add` looks the replica up in
    `self.connections`, builds the connection (blocking work) and stores it, with no lock
    and no await in between; an `await asyncio.to_thread(...)` there lets a second request
    miss too and build a second tunnel. Under `async with self._lock:` the thread is fine."""
    recs, _ = scan_source(textwrap.dedent("""
        import asyncio
        import requests

        class Connection:
            def __init__(self, replica):
                self.info = requests.get(replica.url, timeout=10).json()

        class Pool:
            def __init__(self):
                self.connections = {}
                self._lock = asyncio.Lock()

            async def get_or_add(self, replica):
                connection = self.connections.get(replica.id)
                if connection is not None:
                    return connection
                connection = Connection(replica)
                self.connections[replica.id] = connection
                return connection

            async def locked(self, replica):
                async with self._lock:
                    connection = self.connections.get(replica.id)
                    if connection is None:
                        connection = Connection(replica)
                        self.connections[replica.id] = connection
                return connection
    """), rel="pkg/pool.py", select=("OPT104",))
    fixes = {r.symbol: r.fix for r in recs}
    assert sorted(fixes) == ["Pool.get_or_add", "Pool.locked"]
    assert fixes["Pool.get_or_add"].applicability == "manual"
    assert "`self.connections`" in fixes["Pool.get_or_add"].message
    assert fixes["Pool.locked"].applicability == "unsafe" and fixes["Pool.locked"].edits


def test_a_module_of_queries_is_not_what_holds_the_session(tmp_path):
    # held-out S43c: cohere-toolkit's async routes call `conversation_crud.get(session,
    # ...)`; the advice said the module "was made elsewhere and holds a database connection".
    from conftest import scan_tree, write

    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/crud.py": "from sqlalchemy.orm import Session\n\n\n"
                       "def get_conversation(session: Session, cid):\n"
                       "    return session.query(dict).filter_by(id=cid).first()\n",
        "app/routes.py": "from sqlalchemy.orm import Session\n\n"
                         "from app import crud as conversation_crud\n\n\n"
                         "async def get_conversation(session: Session, cid: str):\n"
                         "    return conversation_crud.get_conversation(session, cid)\n",
    })
    (rec,) = scan_tree(root, "OPT104")
    assert rec.fix is not None and rec.fix.applicability == "manual"
    assert "The session it is given (`session`)" in rec.fix.message
    assert "`conversation_crud` was made elsewhere" not in rec.fix.message


def test_a_query_string_in_one_word_runs_no_query():
    # Held-out S46: reliableGPT posts telemetry with `params=querystring`; the stem
    # `quer*` read it as a query run and gave the post a 600 s read.
    rec = fix_of("""
        import requests
        def log_event(url, event):
            querystring = {"event": event}
            return requests.post(url, params=querystring)
    """, "OPT202")
    assert "timeout=30" in rec.snippet.after
    rec = fix_of("""
        import requests
        def run_query(url, sql):
            return requests.post(url + "/query", json={"sql": sql})
    """, "OPT202")
    assert "timeout=(10, 600)" in rec.snippet.after


def test_a_relay_posting_to_the_url_it_was_handed_gets_a_long_read_timeout():
    # Held-out S48: ChainForge's `makeFetchCall` forwards its front end's calls, Anthropic
    # completions among them; 30 s cut those.
    rec = fix_of("""
        import requests
        from flask import Flask, request

        app = Flask(__name__)

        @app.route("/app/makeFetchCall", methods=["POST"])
        def make_fetch_call():
            data = request.get_json()
            url = data["url"]
            body = data["body"]
            return requests.post(url, headers=data["headers"], json=body).json()
    """, "OPT202")
    assert rec.fix.applicability == "unsafe"
    assert "timeout=(10, 600)" in rec.snippet.after
    assert "a relay forwards whatever its client asks for" in rec.fix.message


def test_an_except_name_is_no_value_a_gathered_loop_leaves_behind():
    # Held-out S48: Openaibot's upload loops catch `as e`, and the function catches `as e`
    # again later: the handler unbinds `e`, so the loop leaves nothing; what it does leave
    # (the list it appends to) is what the advice is about.
    rec = fix_of("""
        import httpx

        client = httpx.AsyncClient(timeout=10)

        async def upload(item):
            return await client.post("https://example.com/upload", content=item)

        async def create_task(items, log):
            files = []
            for item in items:
                try:
                    files.append(await upload(item))
                except Exception as e:
                    log(e)
            try:
                return files
            except Exception as e:
                log(e)
    """, "OPT103")
    assert "`e`" not in rec.fix.message
    assert "builds a sequence in item order" in rec.fix.message
