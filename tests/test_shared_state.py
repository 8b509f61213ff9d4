"""State that ties calls together, or makes work rare, seen through what the code keeps:
a memo on a module dict, a lock held around a loop, a coroutine that calls the one awaited
before it, a client the object already keeps, one SMTP session, a single-pass "retry".
Each case comes from the held-out read K (code nobody here wrote)."""

from __future__ import annotations

import textwrap

from optadvisor.api import scan_source


def _lines(code: str, *rules: str, rel: str = "example.py") -> dict[int, str]:
    recs, error = scan_source(textwrap.dedent(code), rel=rel, select=rules)
    assert error is None
    return {r.line: r.rule for r in recs}


def test_a_helper_memoized_on_a_module_dict_reads_its_file_once():
    # ragflow's `load_prompt`: `if name in _loaded: return _loaded[name]`. A membership
    # test that returns something else is no memo.
    assert _lines("""
        import os
        _loaded = {}
        ALLOWED = {"a"}

        def load_prompt(name):
            if name in _loaded:
                return _loaded[name]
            path = os.path.join("/p", f"{name}.md")
            if not os.path.isfile(path):
                raise FileNotFoundError(path)
            with open(path, "r", encoding="utf-8") as f:
                content = f.read().strip()
                _loaded[name] = content
                return content

        def pick(name):
            if name in ALLOWED:
                return "default"
            with open(os.path.join("/p", name)) as f:
                return f.read()

        async def handler(names):
            prompts = [load_prompt(name) for name in names]
            return prompts + [pick(name) for name in names]
    """, "OPT105") == {25: "OPT105"}


def test_a_loop_under_a_lock_is_serialized_on_purpose():
    # skyvern runs the Bitwarden CLI one command at a time under `_cli_session_lock`.
    assert _lines("""
        import asyncio, httpx
        _client = httpx.AsyncClient()

        class Vault:
            _cli_session_lock = asyncio.Lock()

            async def under_lock(self, ids):
                out = []
                async with Vault._cli_session_lock:
                    for i in ids:
                        out.append(await _client.get(f"http://x/{i}"))
                return out

            async def free(self, ids):
                out = []
                for i in ids:
                    out.append(await _client.get(f"http://x/{i}"))
                return out
    """, "OPT103") == {17: "OPT103"}


def test_awaits_are_not_independent_when_one_callee_calls_the_other():
    # deer-flow: `_channels` itself awaits `_conn_config` (both fill `app.state`).
    assert _lines("""
        import httpx
        _client = httpx.AsyncClient()

        async def _conn_config(request):
            request.app.state.cfg = (await _client.get("http://cfg/")).json()
            return request.app.state.cfg

        async def _channels(request):
            cfg = await _conn_config(request)
            return (await _client.get("http://channels/", params=cfg)).json()

        async def _users(request):
            return (await _client.get("http://users/")).json()

        async def providers(request):
            config = await _conn_config(request)
            channels = await _channels(request)
            return config, channels

        async def both(request):
            users = await _users(request)
            config = await _conn_config(request)
            return users, config
    """, "OPT102") == {22: "OPT102"}


def test_a_client_built_only_when_the_object_keeps_none_is_a_fallback():
    # ragflow's GeminiCV: `self.client if hasattr(self, "client") else genai.Client(...)`.
    assert _lines("""
        import httpx

        class Vision:
            def describe(self, url):
                client = self.client if hasattr(self, "client") else httpx.Client(timeout=5)
                return client.get(url)

            def fetch(self, url):
                client = self._client or httpx.Client(timeout=5)
                return client.get(url)

            def fresh(self, url):
                client = httpx.Client(timeout=5)
                return client.get(url)
    """, "OPT201") == {14: "OPT201"}


def test_a_retry_counts_its_literal_attempts():
    # Held-out K: ragflow's storage connectors loop `for _ in range(1)` (no retry at all:
    # 3 wrong findings), its agent tools retry a handful of times (the message says so;
    # the rule ranks low since held-out S36e, so both are low).
    retry = textwrap.dedent("""
        def {name}(url):
            for _ in range({attempts}):
                try:
                    return requests.get(url, timeout=5)
                except Exception:
                    time.sleep(1)
    """)
    code = "import time, requests\n" + "".join(
        retry.format(name=name, attempts=attempts)
        for name, attempts in (("once", 1), ("few", 3), ("many", 10)))
    recs, error = scan_source(code, select=("OPT207",))
    assert error is None
    assert {r.symbol: r.priority for r in recs} == {"few": "low", "many": "low"}
    by_symbol = {r.symbol: r.message for r in recs}
    assert "at most 3 attempts" in by_symbol["few"]
    assert "attempts" not in by_symbol["many"]


def test_one_smtp_session_is_one_finding_whose_fix_moves_the_session():
    # skyvern's e-mail block had five findings, one per SMTP command.
    recs, error = scan_source(textwrap.dedent("""
        import smtplib

        async def send(msg, host, user, pw):
            smtp = smtplib.SMTP(host, 587)
            smtp.starttls()
            smtp.login(user, pw)
            smtp.send_message(msg)
            smtp.quit()

        async def send_ssl(msg, host, user, pw):
            with smtplib.SMTP_SSL(host, 465) as server:
                server.login(user, pw)
                server.send_message(msg)
    """), select=("OPT101",))
    assert error is None
    assert [r.line for r in recs] == [5, 12]
    first = recs[0]
    assert "network work" in first.message
    after = first.snippet.after or ""
    assert "await asyncio.to_thread(_with_smtp)" in after
    for command in ("smtp.starttls()", "smtp.login(user, pw)", "smtp.quit()"):
        assert command in after
    compile(after.replace("await ", ""), "<fix>", "exec")


def test_a_chain_through_a_helper_that_uses_the_running_loop_gets_words():
    # Held-out L: cognee's `send_telemetry` schedules its request with
    # `asyncio.get_running_loop().create_task(...)`; moved into a worker thread it finds
    # no loop and silently drops every event.
    recs, error = scan_source(textwrap.dedent("""
        import asyncio
        from pathlib import Path

        def persistent_id():
            return Path("/var/lib/app/.pid").read_text()

        async def _send(payload):
            pass

        def send_telemetry(event):
            payload = {"id": persistent_id(), "event": event}
            asyncio.get_running_loop().create_task(_send(payload))

        def save(event):
            Path("/tmp/events").write_text(event)

        async def add(events):
            for event in events:
                send_telemetry(event)
                save(event)
    """), select=("OPT105",))
    assert error is None
    by_line = {r.line: r for r in recs}
    assert by_line[20].fix.applicability == "manual" and not by_line[20].fix.edits
    assert "the running event loop" in by_line[20].fix.message
    assert "asyncio.to_thread(save" in (by_line[21].snippet.after or "")


def test_a_loop_that_set_up_code_starts_as_a_task_is_not_set_up():
    # Held-out L: agixt's e-mail bot polls for ever in a task its `start` creates; only
    # the one-off ping in `start` runs once.
    recs, error = scan_source(textwrap.dedent("""
        import asyncio, requests

        class Bot:
            async def _poll_loop(self):
                while True:
                    requests.get("http://mail/unread", timeout=5)
                    await asyncio.sleep(30)

            async def _ping(self):
                requests.get("http://mail/ping", timeout=5)

            async def start(self):
                await self._ping()
                self._task = asyncio.create_task(self._poll_loop())
    """), select=("OPT101",))
    assert error is None
    assert {r.line: r.priority for r in recs} == {7: "high", 11: "medium"}


def test_one_database_session_a_with_block_opens_is_one_finding():
    # Held-out L: adk's session service had 16 findings, one per call on five sessions;
    # each finding's fix already moved the whole `with` block.
    recs, error = scan_source(textwrap.dedent("""
        from sqlalchemy.orm import sessionmaker

        class Service:
            def __init__(self, engine):
                self.factory = sessionmaker(engine)

            async def create(self, app, user):
                with self.factory() as session:
                    state = session.get(AppState, app)
                    user_state = session.get(UserState, (app, user))
                    session.commit()
                return state, user_state

            async def one(self, app):
                with self.factory() as session:
                    state = session.get(AppState, app)
                return state
    """), select=("OPT101",))
    assert error is None
    assert [r.line for r in recs] == [10, 17]
    assert "2 more call(s) on the same session" in recs[0].message
    assert "more call(s)" not in recs[1].message
    after = recs[0].snippet.after or ""
    assert "session.commit()" in after and "await asyncio.to_thread(_with_session)" in after


def test_the_statements_on_a_connection_a_coroutine_opens_are_one_finding():
    # Held-out O: vanna's SQLite runner had seven findings, one per statement, one for
    # `conn.cursor()` (no I/O) and one per close. One finding, at the line that opens it.
    recs, error = scan_source(textwrap.dedent("""
        import sqlite3

        async def run_sql(path, sql):
            conn = sqlite3.connect(path)
            cursor = conn.cursor()
            try:
                cursor.execute(sql)
                rows = cursor.fetchall()
                conn.commit()
                return rows
            finally:
                cursor.close()
                conn.close()
    """), select=("OPT101",))
    assert error is None
    assert [r.line for r in recs] == [5]
    assert "4 more call(s) on the same session" in recs[0].message


def test_a_cursor_on_a_connection_opened_elsewhere_is_not_moved_to_a_thread():
    # sqlite3 refuses a connection in any thread but the one that opened it: the block
    # from `cur = self.conn.cursor()` on cannot move alone (it was moved before).
    recs, error = scan_source(textwrap.dedent("""
        import sqlite3

        class Store:
            def __init__(self, path):
                self.conn = sqlite3.connect(path)

            async def rows(self, sql):
                cur = self.conn.cursor()
                cur.execute(sql)
                rows = cur.fetchall()
                cur.close()
                return rows
    """), select=("OPT101",))
    assert error is None
    assert [r.line for r in recs] == [10]
    assert "1 more call(s) on the same session" in recs[0].message
    assert recs[0].fix is not None and recs[0].fix.applicability == "manual"
    assert "opened elsewhere" in recs[0].fix.message


def test_an_await_whose_url_path_refreshes_keeps_its_place():
    # Held-out S41 (FastChat, in evalchemy): the model list is read right after the
    # controller is asked to refresh it, both through one project helper that posts to a
    # URL: run at once, the read may see the stale list. Two reads still group.
    code = textwrap.dedent("""
        import aiohttp

        async def fetch_remote(url, payload=None, name=None):
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
                async with s.post(url, json=payload) as response:
                    data = await response.json()
            return data[name] if name else data

        async def models(base):
            ret = await fetch_remote(base + "/refresh_all_workers")
            models = await fetch_remote(base + "/list_models", None, "models")
            return sorted(models)

        async def details(base, model):
            a = await fetch_remote(base + "/model_details", {"model": model})
            b = await fetch_remote(base + "/count_token", {"model": model})
            return a, b
    """)
    assert list(_lines(code, "OPT102", rel="pkg/serve.py")) == [16]


def test_a_request_behind_a_key_its_dict_lacks_never_runs():
    # Held-out S41: AgentLite's weather tools read `URLS["zipcode"]`, an entry commented out
    # of the module's dict: KeyError before the request. A dict some function fills, or
    # that is read with `.get`, is not judged by its display.
    code = textwrap.dedent("""
        import requests

        URLS = {"geocoding": "https://geo.example.com/v1/search"}
        FILLED = {"geocoding": "https://geo.example.com/v1/search"}

        def configure(base):
            FILLED["zipcode"] = base + "/{zipcode}"

        def dead(zipcode):
            return requests.get(URLS["zipcode"].format(zipcode=zipcode)).json()

        def filled(zipcode):
            return requests.get(FILLED["zipcode"].format(zipcode=zipcode)).json()

        def known(name):
            return requests.get(URLS["geocoding"], params={"name": name}).json()
    """)
    assert list(_lines(code, "OPT202", rel="tools/weather.py")) == [14, 17]


def test_a_helper_called_past_a_memo_hit_runs_on_a_miss_only():
    # Held-out S41 (open-notebook): the version check returns its module-level cache for a
    # day and only then calls the helper that builds an HTTP client per fetch. A helper the
    # same way called by a plain route builds one per request.
    code = textwrap.dedent("""
        import time
        import httpx

        _cache = {"version": None, "timestamp": 0}

        async def fetch_version(url):
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(url)
            return response.text

        async def fetch_notes(url):
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(url)
            return response.text

        async def latest_version():
            if _cache["timestamp"] > time.time() - 86400:
                return _cache["version"]
            version = await fetch_version("https://example.com/version")
            _cache["version"] = version
            _cache["timestamp"] = time.time()
            return version

        async def notes():
            return await fetch_notes("https://example.com/notes")
    """)
    assert list(_lines(code, "OPT201", rel="app/version.py")) == [13]


def test_a_loop_over_runs_that_are_concurrent_themselves_is_not_gathered():
    # Held-out S41 (NeMo Agent Toolkit): a multi-evaluation runner awaits one evaluation
    # run per config; each run gathers its own requests at its own concurrency, and the
    # runs measure latency one concurrency level at a time. A loop over plain requests is
    # still reported.
    code = textwrap.dedent("""
        import asyncio
        import httpx

        client = httpx.AsyncClient(timeout=30)

        class Runner:
            def __init__(self, configs):
                self.configs = configs
                self.outputs = {}

            async def run_one(self, config):
                first = await client.get(config.url)
                rest = await asyncio.gather(*(client.get(url) for url in config.urls))
                return first, rest

            async def fetch(self, url):
                return await client.get(url)

            async def run_all(self):
                for key, config in self.configs.items():
                    output = await self.run_one(config)
                    self.outputs[key] = output
                return self.outputs

            async def fetch_all(self, urls):
                pages = {}
                for url in urls:
                    page = await self.fetch(url)
                    pages[url] = page
                return pages
    """)
    assert list(_lines(code, "OPT103", rel="eval/runner.py")) == [28]


def test_a_chain_through_a_lazily_made_singleton_reads_its_file_once():
    # Held-out S41 (deepagents): TUI handlers reach a config file through a settings
    # singleton made on first use (`if _settings is None: _settings = load()`, or kept in
    # `globals()` behind `if cached is not None: return cached`): once per process. A
    # helper that reads the file on every call is still reported, and so is a memo its
    # caller can skip (`if not refresh and cached is not None`).
    code = textwrap.dedent("""
        import json
        import os

        _settings = None

        def load():
            out = []
            for name in os.listdir("conf.d"):
                with open(os.path.join("conf.d", name)) as f:
                    out.append(json.load(f))
            return out

        def get_settings():
            global _settings
            if _settings is None:
                _settings = load()
            return _settings

        def get_theme():
            cached = globals().get("theme")
            if cached is not None:
                return cached
            theme = load()[0]
            globals()["theme"] = theme
            return theme

        def get_policy(refresh=False):
            cached = globals().get("policy")
            if not refresh and cached is not None:
                return cached
            return load()[1]

        async def on_key(event):
            a = get_settings()
            b = get_theme()
            c = get_policy(refresh=True)
            return load(), a, b, c
    """)
    # Not the singletons' first calls; `get_policy(refresh=True)` and the plain `load()`
    # both read the folder, one finding at the first naming the other (same helper).
    recs, error = scan_source(code, rel="app/tui.py", select=("OPT104", "OPT105"))
    assert error is None
    assert [(r.line, "1 more call" in r.message and "at line 38" in r.message)
            for r in recs] == [(37, True)]


def test_an_rpc_call_named_for_a_send_keeps_its_order():
    # Held-out S41 (deepagents' Telegram channel): one reply is sent chunk by chunk
    # through a generic `call("sendMessage", ...)`: gathered, the parts may arrive out of
    # order. Reads through the same call (`"getChat"`) may run at once.
    code = textwrap.dedent("""
        import httpx

        class Transport:
            def __init__(self):
                self.client = httpx.AsyncClient(timeout=30)

            async def call(self, method, **params):
                response = await self.client.post("https://api.example.com/" + method, json=params)
                return response.json()

        class Channel:
            def __init__(self):
                self._transport = Transport()

            async def send_message(self, chat_id, chunks):
                for chunk in chunks:
                    payload = await self._transport.call("sendMessage", chat_id=chat_id, text=chunk)
                return payload

            async def chats(self, chat_ids):
                found = []
                for chat_id in chat_ids:
                    found.append(await self._transport.call("getChat", chat_id=chat_id))
                return found
    """)
    assert list(_lines(code, "OPT103", rel="channels/telegram.py")) == [23]


def test_a_client_built_after_a_fresh_cache_entry_returns_is_built_on_a_miss():
    # Held-out S41b (NeMo Agent Toolkit): the JWKS fetch returns its cached entry while it
    # is fresh (`if entry: if now < entry["expires"]: return entry["keys"]`), and only then
    # builds a client to fetch again. Without the cache it builds one per call.
    code = textwrap.dedent("""
        import time
        import httpx

        class Validator:
            def __init__(self):
                self._cache = {}

            async def fetch_jwks(self, uri):
                entry = self._cache.get(uri)
                if entry:
                    if time.time() < entry["expires"]:
                        return entry["keys"]
                    del self._cache[uri]
                async with httpx.AsyncClient(timeout=10) as client:
                    keys = (await client.get(uri)).json()
                self._cache[uri] = {"keys": keys, "expires": time.time() + 900}
                return keys

            async def fetch_plain(self, uri):
                async with httpx.AsyncClient(timeout=10) as client:
                    return (await client.get(uri)).json()
    """)
    assert list(_lines(code, "OPT201", rel="auth/validator.py")) == [21]
