"""Module-level instances imported by other modules (facts `bindings`): `sources_db =
DatabaseService(...)` in one file, `await sources_db.execute_query(...)` in another, is
`DatabaseService.execute_query` — the link stage follows it like an imported class. Held-out
X: awesome-llm-apps' beifong services loop over rows awaiting such a coroutine, which runs
sqlite3 and awaits nothing: nothing to run concurrently (four await-in-loop findings)."""

from __future__ import annotations

from pathlib import Path

from conftest import write

from optadvisor.api import ScanOptions, scan

DB = '''import sqlite3


class DatabaseService:
    def __init__(self, path):
        self.path = path

    async def execute_query(self, query, params=()):
        with sqlite3.connect(self.path) as conn:
            return conn.execute(query, params).fetchall()


sources_db = DatabaseService("sources.db")
'''

HTTP = '''import httpx


class Api:
    def __init__(self):
        self.client = httpx.AsyncClient(timeout=30)

    async def fetch(self, source_id):
        return (await self.client.get(f"https://api.example.com/{source_id}")).json()


api = Api()
'''

SERVICE = '''from services.db import sources_db
from services.http import api


class SourceService:
    async def categories(self, source_id):
        return await sources_db.execute_query("SELECT name FROM c WHERE id = ?", (source_id,))

    async def remote(self, source_id):
        return await api.fetch(source_id)

    async def list_sources(self, sources):
        for source in sources:
            source["categories"] = await self.categories(source["id"])
        return sources

    async def list_remote(self, sources):
        for source in sources:
            source["remote"] = await self.remote(source["id"])
        return sources
'''


def test_a_module_level_instance_imported_elsewhere_resolves_to_its_class(tmp_path: Path):
    root = write(tmp_path / "repo", {"services/__init__.py": "", "services/db.py": DB,
                                     "services/http.py": HTTP, "services/sources.py": SERVICE})
    found = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1,
                             select=("OPT103",))).recommendations
    # The loop over a coroutine that awaits nothing (sqlite3 on the loop) is not reported;
    # the one over a coroutine that awaits an HTTP client is.
    assert [(r.path, r.symbol) for r in found] == [
        ("services/sources.py", "SourceService.list_remote")]


def test_a_library_instance_imported_from_a_project_module_is_the_library_call(tmp_path: Path):
    """Held-out X miss (awesome-llm-apps' speech trainer): `coordinator_agent = Team(...)` at
    module level of one file, `coordinator_agent.run(prompt)` in an async route of another:
    agno's synchronous team run, on the event loop."""
    root = write(tmp_path / "repo", {
        "agents/__init__.py": "",
        "agents/coordinator.py": "from agno.team.team import Team\n\n"
                                 "coordinator_agent = Team(name='coordinator')\n",
        "main.py": "from agents.coordinator import coordinator_agent\n\n\n"
                   "async def analyze(prompt):\n"
                   "    response = coordinator_agent.run(prompt)\n"
                   "    return response.content\n\n\n"
                   "async def describe():\n"
                   "    return coordinator_agent.name\n",
    })
    found = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1)).recommendations
    assert [(r.rule, r.path, r.line) for r in found] == [("OPT104", "main.py", 5)]
    assert "agno.team.team.Team.run" in found[0].message
