"""A project coroutine that awaits a statement on a session, connection or socket its
object holds (`await self._session.execute(...)`), itself or a few awaits down, queues on
that one handle: awaited per item of a loop, or twice in a group, through one object, the
calls cannot run at once (an AsyncSession refuses a second operation; held-out S37b:
SurfSense's Dropbox folder walk, 2 read as wrong, and a gather that would have marked
healthy accounts as expired). Through the loop's item itself, each has its own."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "pkg/__init__.py": "",
    "pkg/client.py": '''import httpx
from sqlalchemy.ext.asyncio import AsyncSession


class DropboxClient:
    def __init__(self, session: AsyncSession):
        self._session = session
        self._http = httpx.AsyncClient(timeout=30)

    async def _token(self):
        row = await self._session.execute("SELECT token FROM connectors")
        return row.scalar()

    async def list_folder(self, path):
        token = await self._token()
        return await self._http.post("https://api.dropbox.com/list", json={"path": path},
                                     headers={"Authorization": token})


class Fetcher:
    def __init__(self):
        self._http = httpx.AsyncClient(timeout=30)

    async def fetch(self, url):
        return await self._http.get(url)
''',
    "pkg/walk.py": '''from pkg.client import DropboxClient, Fetcher


async def walk(client: DropboxClient, paths):
    found = []
    for path in paths:
        found.append(await client.list_folder(path))
    return found


async def fetch_all(fetcher: Fetcher, urls):
    pages = []
    for url in urls:
        pages.append(await fetcher.fetch(url))
    return pages


async def refresh_all(clients: list[DropboxClient]):
    out = []
    for client in clients:
        out.append(await client.list_folder("/"))
    return out
''',
}


def test_awaits_that_queue_on_a_session_the_object_holds_are_not_gathered(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT103",)))
    # `walk` queues on `client`'s one session; `fetch_all` reads through a pooled client;
    # `refresh_all` awaits each item's own client.
    assert sorted(r.symbol for r in report.recommendations) == ["fetch_all", "refresh_all"]
