"""The calls one coroutine makes into the methods of one sync helper class that all block
are one finding (engine._one_per_helper): the change belongs in that class. Calls ranked
alike, and alike in whether their own fix makes the change, are one finding at the first
of them, naming the others' lines. Its fix makes every call's change when those fit
together and parse; otherwise it is said in words (a worker thread around one call would
leave the others on the loop). Calls through two different helpers, or in two coroutines,
stay apart; so does a call ranked apart (a whole-table read among quick lookups)."""

from __future__ import annotations

import ast

from conftest import write

from optadvisor.api import ScanOptions, scan
from optadvisor.fix.edits import apply_edits

FILES = {
    "bot/__init__.py": "",
    "bot/store.py": '''import sqlite3


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def agent_of(self, user):
        return self.conn.execute("SELECT agent FROM users WHERE name = ?", (user,)).fetchone()

    def key_of(self, user):
        return self.conn.execute("SELECT key FROM users WHERE name = ?", (user,)).fetchone()

    def everything(self):
        return self.conn.execute("SELECT * FROM users").fetchall()
''',
    "bot/web.py": '''import requests


class Api:
    def profile(self, user):
        return requests.get(f"https://example.com/u/{user}", timeout=5).json()
''',
    "bot/handler.py": '''from bot.store import Store
from bot.web import Api


class Bot:
    def __init__(self):
        self.store = Store("bot.db")
        self.api = Api()

    async def on_message(self, user, text):
        agent = self.store.agent_of(user)
        key = self.store.key_of(user)
        rows = self.store.everything()
        profile = self.api.profile(user)
        return agent, key, rows, profile

    async def on_join(self, user):
        return self.store.agent_of(user)
''',
}


API = '''import requests

BASE = "https://example.com"


class Api:
    def _get(self, path):
        return requests.get(BASE + path, timeout=5).json()

    def user(self, uid):
        return self._get(f"/u/{uid}")

    def orders(self, uid):
        return self._get(f"/o/{uid}")
'''
"""A helper class whose methods all block through one request helper."""


def _with_api(tmp_path, name: str, body: str):
    """A project of API and a module `name` whose code, after `API = Api()`, is `body`;
    scanned for OPT104. The project root and the report."""
    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/api.py": API,
        f"app/{name}.py": "from app.api import Api\n\nAPI = Api()\n\n\n" + body,
    })
    return root, scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))


def test_calls_through_one_helper_class_are_one_finding(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    found = sorted((r.symbol, r.line) for r in report.recommendations)
    # on_message: one for the two quick lookups through Store; the whole-table read, ranked
    # higher, keeps its own; one for Api; on_join: its own.
    assert found == [("Bot.on_join", 18), ("Bot.on_message", 11), ("Bot.on_message", 13),
                     ("Bot.on_message", 14)]
    lead = next(r for r in report.recommendations if r.line == 11)
    assert "1 more call in `Bot.on_message` reaches the same work through `Store`, at " \
        "line 12" in lead.message
    assert lead.priority == "medium"
    assert lead.fix is not None and lead.fix.applicability == "manual"
    assert "lines 11, 12 all reach" in lead.fix.message and "Store" in lead.fix.message
    scan_all = next(r for r in report.recommendations if r.line == 13)
    assert scan_all.priority == "high" and "more call" not in scan_all.message
    api = next(r for r in report.recommendations if r.line == 14)
    assert "more call" not in api.message
    alone = next(r for r in report.recommendations if r.symbol == "Bot.on_join")
    assert "more call" not in alone.message


def test_the_calls_fixes_are_made_together_when_they_fit(tmp_path):
    # Two calls reach one helper method; each fix moves its call to a worker thread, and
    # both fixes (with one shared `import asyncio`) make one fix of the lead, which parses.
    root, report = _with_api(tmp_path, "handler", '''async def handle(uid):
    user = API.user(uid)
    orders = API.orders(uid)
    return user, orders
''')
    [rec] = report.recommendations
    # Two methods of the class the coroutine calls: named by that class.
    assert rec.line == 7 and "1 more call in `handle` reaches the same work through " \
        "`Api`, at line 8" in rec.message
    assert rec.fix is not None and rec.fix.applicability == "unsafe"
    text = (root / "app/handler.py").read_text()
    fixed = apply_edits(text, rec.fix.edits)
    ast.parse(fixed)
    assert "user = await asyncio.to_thread(API.user, uid)" in fixed
    assert "orders = await asyncio.to_thread(API.orders, uid)" in fixed
    assert fixed.count("import asyncio") == 1


def test_two_functions_of_one_name_are_two_groups(tmp_path):
    # Held-out review of the grouping: GPT-SoVITS defines its GET and POST `set_model`
    # routes under one name; a call in each is no pair of calls in one function.
    _, report = _with_api(tmp_path, "routes", '''async def set_model(uid):
    return API.user(uid)


async def set_model(uid):  # noqa: F811
    return API.user(uid)
''')
    assert sorted(r.line for r in report.recommendations) == [7, 11]
    assert all("more call" not in r.message for r in report.recommendations)


def test_calls_that_meet_deep_down_are_two_groups(tmp_path):
    # Held-out read of the grouping (GRP): mage-ai's cache warm-up calls a path builder and
    # its own `self.set`, both ending five levels down in one lookup; grouped by that
    # lookup they were "one change there serves both", which served neither. Long chains
    # group by what the coroutine calls: a module function, and a method of its own
    # class, are each a helper of their own; the same function called twice is one.
    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/net.py": '''import requests


def fetch(path):
    return requests.get("https://example.com" + path, timeout=5).json()


def _settings():
    return fetch("/settings")


def _roots():
    return _settings()["roots"]


def roots():
    return _roots()
''',
        "app/warm.py": '''from app.net import _settings, roots


class Cache:
    def _store(self):
        return _settings()

    def refresh(self):
        return self._store()

    async def warm(self):
        a = roots()
        b = self.refresh()
        c = roots()
        return a, b, c
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    found = {r.line: r.message for r in report.recommendations}
    assert sorted(found) == [12, 13]
    assert "1 more call in `Cache.warm` reaches the same work through `roots`, at line 14" \
        in found[12]
    assert "more call" not in found[13]


STORE = '''import sqlite3


class Store:
    def __init__(self, path):
        self.path = path

    async def put(self, key, value):
        conn = sqlite3.connect(self.path)
        conn.execute("INSERT INTO kv VALUES (?, ?)", (key, value))
        conn.commit()
        conn.close()

    async def get(self, key):
        conn = sqlite3.connect(self.path)
        row = conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        conn.close()
        return row

    async def delete(self, key):
        conn = sqlite3.connect(self.path)
        conn.execute("DELETE FROM kv WHERE k = ?", (key,))
        conn.commit()
        conn.close()


class Pair:
    async def first(self, p):
        return sqlite3.connect(p).execute("SELECT 1").fetchone()

    async def second(self, p):
        return sqlite3.connect(p).execute("SELECT 2").fetchone()
'''


def test_async_methods_of_one_class_making_one_call_are_one_finding(tmp_path):
    # Held-out S49: AWorld's SQLiteChunkStore opens sqlite3 in each of its 11 async
    # methods, read as 11 findings of one design choice. Three methods or more of one
    # class are one finding; its fix makes each method's change; two stay two.
    root = write(tmp_path / "repo", {"store.py": STORE})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    found = sorted((r.symbol, r.line) for r in report.recommendations)
    assert found == [("Pair.first", 29), ("Pair.second", 32), ("Store.put", 9)]
    lead = next(r for r in report.recommendations if r.symbol == "Store.put")
    assert "2 more async methods of `Store` make the same call on the loop: `get` " \
        "(line 15), `delete` (line 21)" in lead.message
    assert lead.fix is not None and lead.fix.applicability == "unsafe"
    fixed = apply_edits(STORE, lead.fix.edits)
    ast.parse(fixed)
    assert fixed.count("await asyncio.to_thread(_with_conn)") == 3
    assert fixed.count("import asyncio") == 1


def test_calls_of_the_coroutines_own_methods_are_one_group(tmp_path):
    # Held-out read of the grouping (GRP): chatgpt-telegram-bot's Spotify plugin, whose
    # `execute` calls four of its own methods that each ask spotipy, read as one finding
    # (S49: AWorld's skills table, six of the console's methods). The methods of the
    # coroutine's own class group as another class's do; one of them that makes the same
    # request as a function the coroutine also calls goes with that function.
    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/plugins.py": '''import requests


def list_plugins():
    return requests.get("https://example.com/plugins", timeout=5).json()


def fetch_other():
    return requests.get("https://example.com/other", timeout=5).json()
''',
        "app/console.py": '''from app.plugins import fetch_other, list_plugins


class Console:
    def _aliases(self):
        return {p: p for p in list_plugins()}

    def _commands(self):
        return sorted(list_plugins())

    def _other(self):
        return fetch_other()

    async def render(self):
        a = self._aliases()
        b = self._commands()
        c = self._other()
        d = fetch_other()
        return a, b, c, d
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    found = {r.line: r.message for r in report.recommendations}
    assert sorted(found) == [15, 17]
    assert "1 more call in `Console.render` reaches the same work through `Console`, " \
        "at line 16" in found[15]
    assert "1 more call in `Console.render` reaches the same work through `fetch_other`, " \
        "at line 18" in found[17]
