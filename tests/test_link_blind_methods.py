"""Calls the link stage could not pin to one class still count. `super().m()` in a method
of C is the `m` of C's first base that has one (facts name it `super:C.m`), so a chain
through it is followed. And a method called on an object of unknown type (`bot =
create_bot(kind)` ... `bot.reply_stream(q)`) may be any project method of that name: one
runs alone on a loop of its own only when every such call sits in a coroutine that does
(held-out S47: bot-on-anything's model classes, whose streamed replies only a per-event
`asyncio.run` drives, through a bridge and a `super()` call)."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "app/__init__.py": "",
    "app/models.py": '''import time

import requests


class ChatModel:
    async def reply_stream(self, query):
        yield requests.post("https://example.com/chat", json={"q": query}, timeout=60).text


class EchoModel:
    async def reply_stream(self, query):
        time.sleep(1)
        yield query


def create_bot(kind):
    return ChatModel() if kind == "chat" else EchoModel()
''',
    "app/bridge.py": '''from app.models import create_bot


class Bridge:
    async def fetch_reply_stream(self, query, kind):
        bot = create_bot(kind)
        async for part in bot.reply_stream(query):
            yield part
''',
    "app/channel.py": '''from app.bridge import Bridge


class Channel:
    async def build_reply_stream(self, query, kind):
        async for part in Bridge().fetch_reply_stream(query, kind):
            yield part
''',
    "app/http_channel.py": '''import asyncio

from app.channel import Channel


class HttpChannel(Channel):
    async def handle_stream(self, data):
        async for part in super().build_reply_stream(data["msg"], data["kind"]):
            yield part


async def return_stream(data, emit):
    async for part in HttpChannel().handle_stream(data):
        emit(part)


def on_message(data, emit):
    asyncio.run(return_stream(data, emit))
''',
}

SHARED = '''from app.models import create_bot


async def serve_one(query, kind):
    bot = create_bot(kind)
    return [part async for part in bot.reply_stream(query)]
'''


def _found(root):
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    return sorted((r.path, r.symbol) for r in report.recommendations)


def test_methods_reached_only_from_a_loop_of_their_own_are_not_reported(tmp_path):
    assert _found(write(tmp_path / "repo", FILES)) == []


def test_one_blind_call_from_a_shared_loop_keeps_them_reported(tmp_path):
    # `serve_one` is awaited by whoever imports it: `bot.reply_stream` there may run on a
    # loop that serves others, so both implementations are reported again.
    files = dict(FILES, **{"app/server.py": SHARED})
    assert _found(write(tmp_path / "repo", files)) == [
        ("app/models.py", "ChatModel.reply_stream"), ("app/models.py", "EchoModel.reply_stream")]


def test_super_calls_resolve_to_the_base_method(tmp_path):
    root = write(tmp_path / "repo", {
        "svc/__init__.py": "",
        "svc/base.py": '''import requests


class Base:
    def load(self, url):
        return requests.get(url, timeout=5).json()
''',
        "svc/child.py": '''from svc.base import Base


class Child(Base):
    def load(self, url):
        return super().load(url)

    async def handle(self, url):
        return self.load(url)
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    found = [(r.path, r.symbol, r.message) for r in report.recommendations]
    assert len(found) == 1
    path, symbol, message = found[0]
    assert (path, symbol) == ("svc/child.py", "Child.handle")
    assert "Child.load → Base.load → requests.get" in message


def test_a_super_call_from_one_override_is_no_call_of_its_siblings(tmp_path):
    # Held-out S43 rescan: mage-ai's sources. The base's `main` calls `self.sync()` once per
    # run, and one source's `sync` extends the base's with `super().sync()`: that call runs
    # the base as part of that source's sync, it never reaches another source's `sync`,
    # whose client is still built once per run.
    root = write(tmp_path / "repo", {
        "taps/__init__.py": "",
        "taps/base.py": '''class Source:
    def main(self):
        self.sync()

    def sync(self):
        return None
''',
        "taps/stripe.py": '''from taps.base import Source


class Stripe(Source):
    def sync(self):
        super().sync()
''',
        "taps/github.py": '''import requests

from taps.base import Source


class Github(Source):
    def sync(self):
        session = requests.Session()
        return session.get("https://api.github.com/repos", timeout=10).json()
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT201",)))
    assert [(r.path, r.line) for r in report.recommendations] == []


def test_a_library_call_of_the_same_name_is_no_blind_call(tmp_path):
    # `subprocess.run(...)` in a service coroutine names a library's function, not any
    # project method `run`: the worker's `run`, which only `asyncio.run` drives, stays alone.
    root = write(tmp_path / "repo", {
        "svc/__init__.py": "",
        "svc/worker.py": '''import asyncio
import time


class Worker:
    async def run(self):
        time.sleep(1)


def main():
    asyncio.run(Worker().run())
''',
        "svc/api.py": '''import subprocess


async def build(cmd):
    return subprocess.run(cmd, check=True, timeout=60)
''',
    })
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    assert [(r.path, r.symbol) for r in report.recommendations] == [("svc/api.py", "build")]
