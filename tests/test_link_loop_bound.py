"""A chain that needs its thread's event loop below its blocking helper: the thread fix
would raise there. Held-out S31: uAgents' tool `_run` builds an `Agent`, whose `__init__`
calls `asyncio.get_event_loop_policy().get_event_loop()` (RuntimeError in a worker thread),
and sleeps; `_arun` calls `_run` on the loop. The chain's own helpers never touch the loop:
the constructor they call does."""

from __future__ import annotations

from pathlib import Path

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "pkg/__init__.py": "",
    "pkg/agent.py": '''import asyncio


class Agent:
    def __init__(self, name, loop=None):
        self.name = name
        self._loop = loop or asyncio.get_event_loop_policy().get_event_loop()


def register(name):
    return Agent(name)
''',
    "pkg/tools.py": '''import time

from pkg.agent import Agent, register


class Tool:
    def _run(self, name):
        agent = Agent(name)
        time.sleep(2)
        return agent

    def _deep(self, name):
        agent = register(name)
        time.sleep(2)
        return agent

    def _plain(self, name):
        time.sleep(2)
        return name

    async def _arun(self, name):
        return self._run(name)

    async def _adeep(self, name):
        return self._deep(name)

    async def _aplain(self, name):
        return self._plain(name)
''',
}


def test_a_helper_whose_constructor_needs_the_loop_gets_words_not_a_thread(tmp_path: Path):
    root = write(tmp_path, FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    fixes = {r.symbol: r.fix for r in report.recommendations}
    assert set(fixes) == {"Tool._arun", "Tool._adeep", "Tool._aplain"}
    for symbol in ("Tool._arun", "Tool._adeep"):
        fix = fixes[symbol]
        assert fix is not None and fix.applicability == "manual" and \
            "the running event loop" in fix.message, (symbol, fix)
    plain = fixes["Tool._aplain"]
    assert plain is not None and plain.applicability == "unsafe" and \
        "asyncio.to_thread(self._plain" in plain.edits[0].content
