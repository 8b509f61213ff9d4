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
    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/api.py": API,
        "app/handler.py": '''from app.api import Api

API = Api()


async def handle(uid):
    user = API.user(uid)
    orders = API.orders(uid)
    return user, orders
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    [rec] = report.recommendations
    assert rec.line == 7 and "1 more call in `handle` reaches the same work through " \
        "`Api._get`, at line 8" in rec.message
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
    root = write(tmp_path / "repo", {
        "app/__init__.py": "",
        "app/api.py": API,
        "app/routes.py": '''from app.api import Api

API = Api()


async def set_model(uid):
    return API.user(uid)


async def set_model(uid):  # noqa: F811
    return API.user(uid)
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    assert sorted(r.line for r in report.recommendations) == [7, 11]
    assert all("more call" not in r.message for r in report.recommendations)
