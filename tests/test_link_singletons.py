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


def test_a_sync_helper_of_a_module_named_for_an_api_is_no_evidence_of_awaited_io(
        tmp_path: Path):
    """Held-out S45: Red-DiscordBot's playlist converter awaits the three scopes one after
    another through `get_all_playlist_converter`, whose only awaited call is a project
    coroutine that runs sqlite3 on the loop; its sync call of `.api_utils.
    prepare_config_scope` (a module named for an API, not a client) read as I/O, and
    gathering the three was advised. Only what a coroutine awaits says it awaits I/O."""
    root = write(tmp_path / "repo", {
        "audio/__init__.py": "",
        "audio/api_utils.py": "def prepare_scope(scope):\n    return scope.upper()\n",
        "audio/wrapper.py": "import asyncio\nimport sqlite3\n\n\nclass PlaylistWrapper:\n"
                            "    async def fetch_all(self, scope):\n"
                            "        rows = sqlite3.connect('p.db').execute('SELECT 1').fetchall()\n"
                            "        await asyncio.sleep(0)  # gives the loop away: it suspends\n"
                            "        return rows\n",
        "audio/iface.py": "from .api_utils import prepare_scope\n"
                          "from .wrapper import PlaylistWrapper\n\n\n"
                          "async def get_all(scope, playlist_api: PlaylistWrapper):\n"
                          "    scope = prepare_scope(scope)\n"
                          "    return await playlist_api.fetch_all(scope)\n",
        "audio/convert.py": "from .iface import get_all\n\n\n"
                            "async def convert(api):\n"
                            "    found = await get_all('global', api)\n"
                            "    guild = await get_all('guild', api)\n"
                            "    user = await get_all('user', api)\n"
                            "    return found + guild + user\n",
    })
    found = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1,
                             select=("OPT102",))).recommendations
    assert not found
    # The same helper awaiting an HTTP client is I/O worth overlapping.
    write(root, {"audio/iface.py": "import httpx\nfrom .api_utils import prepare_scope\n\n\n"
                                   "async def get_all(scope, client: httpx.AsyncClient):\n"
                                   "    scope = prepare_scope(scope)\n"
                                   "    return await client.get(f'https://x.test/{scope}')\n"})
    found = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1,
                             select=("OPT102",))).recommendations
    assert [(r.path, r.line) for r in found] == [("audio/convert.py", 5)]
