"""A coroutine that never suspends (every await ends in a project coroutine that awaits
nothing) runs start to end in one go: gathering several runs them one after another all
the same, so a loop awaiting one per item is no await-in-loop finding (held-out S43:
mage-ai's Spark API, `await self.__build_request(...)`, a coroutine that returns what a
sync `requests` call gives, awaited per job, per stage and per SQL query). A wait on a
queue just found non-empty is no blocking helper either, and a project decorator named
for a cache memoizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import scan_tree, write

from optadvisor.analyze.catalog import load_catalog
from optadvisor.analyze.facts import _memoizing

SPARK = '''import httpx
import requests


class BaseAPI:
    def __init__(self, endpoint):
        self.endpoint = endpoint

    def __request_sync(self, method, url, **kwargs):
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=100))
        return getattr(session, method)(url, timeout=12, **kwargs)

    async def __request(self, *args, **kwargs):
        return self.__request_sync(*args, **kwargs)

    def ready_for_requests(self):
        return bool(self.endpoint)

    async def get(self, path):
        if not self.ready_for_requests():
            return {}
        response = await self.__request("get", f"{self.endpoint}{path}")
        return response.json()


class LocalAPI(BaseAPI):
    async def stages(self, ids):
        out = []
        for stage_id in ids:
            out.append(await self.get(f"/stages/{stage_id}"))
        return out


class RemoteAPI:
    def __init__(self):
        self.client = httpx.AsyncClient(timeout=30)

    async def _request(self, url):
        return await self.client.get(url)

    async def get(self, path):
        response = await self._request(path)
        return response.json()

    async def stages(self, ids):
        out = []
        for stage_id in ids:
            out.append(await self.get(f"/stages/{stage_id}"))
        return out
'''


def _found(root: Path, select: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(r.rule, r.symbol) for r in scan_tree(root, *select)]


def test_a_loop_over_a_coroutine_that_never_suspends_is_not_await_in_loop(tmp_path: Path):
    root = write(tmp_path / "repo", {"spark/__init__.py": "", "spark/api.py": SPARK})
    # Both loops await per item a coroutine that awaits another; only the one whose chain
    # ends in an awaited client request gives the loop away.
    assert _found(root, ("OPT103",)) == [("OPT103", "RemoteAPI.stages")]


def test_the_chain_may_cross_files(tmp_path: Path):
    base = SPARK.split("class LocalAPI")[0]
    local = ("from spark.base import BaseAPI\n\n\n"
             "class LocalAPI(BaseAPI):\n"
             "    async def jobs(self, ids):\n"
             "        return [await self.get(f'/jobs/{i}') for i in ids]\n")
    root = write(tmp_path / "repo", {"spark/__init__.py": "", "spark/base.py": base,
                                     "spark/local.py": local})
    assert _found(root, ("OPT103",)) == []


def test_a_wait_on_a_queue_just_found_non_empty_is_no_blocking_helper(tmp_path: Path):
    code = """from queue import Queue


class Block:
    def __init__(self, upstream):
        self.upstream = upstream
        self.jobs = Queue()

    def all_upstream(self):
        queue = Queue()
        seen = set()
        queue.put(self)
        while not queue.empty():
            current = queue.get()
            for block in current.upstream:
                if block not in seen:
                    seen.add(block)
                    queue.put(block)
        return seen

    def next_job(self):
        return self.jobs.get()

    async def to_dict(self):
        return {"upstream": len(self.all_upstream())}

    async def take(self):
        return self.next_job()
"""
    root = write(tmp_path / "repo", {"block.py": code})
    # The graph walk's `get` answers at once (the queue was just found non-empty); the
    # wait on the shared job queue blocks the loop until a producer puts something.
    assert _found(root, ("OPT104",)) == [("OPT104", "Block.take")]


@pytest.mark.parametrize("name,memoizes", [
    ("mage_ai.shared.utils.async_ttl_cache", True),
    ("utils.ttl_cache", True),
    ("helpers.redis_cache", True),
    ("functools.lru_cache", True),
    ("app.cached", True),
    ("django.views.decorators.cache.never_cache", False),
    ("app.invalidate_cache", False),
    ("app.clear_cache", False),
    ("app.cache", False),
    ("app.cache_control", False),
    ("app.cachedir", False),
])
def test_a_decorator_named_for_a_cache_memoizes(name: str, memoizes: bool):
    assert _memoizing(name, load_catalog()) is memoizes


def test_a_session_built_under_a_ttl_cache_is_no_client_per_call(tmp_path: Path):
    code = """import aiohttp

from app.utils import async_ttl_cache


@async_ttl_cache(maxsize=1, ttl=600)
async def latest_version():
    async with aiohttp.ClientSession() as session:
        async with session.get("https://pypi.org/pypi/x/json", timeout=3) as response:
            return (await response.json())["info"]["version"]


async def uncached_version():
    async with aiohttp.ClientSession() as session:
        async with session.get("https://pypi.org/pypi/x/json", timeout=3) as response:
            return (await response.json())["info"]["version"]
"""
    root = write(tmp_path / "repo", {"app/__init__.py": "", "app/versions.py": code})
    assert _found(root, ("OPT201",)) == [("OPT201", "uncached_version")]


def test_a_local_bound_to_several_project_classes_calls_none_of_them_for_sure(tmp_path: Path):
    code = """import shutil

from openai import AzureOpenAI, OpenAI


class ChartCode:
    def load(self):
        return {"rows": []}


class SystemMetrics:
    def load(self):
        shutil.copytree("/var/log/metrics", "/tmp/metrics")


class Only:
    def load(self):
        shutil.copytree("/var/log/only", "/tmp/only")


async def chart(kind):
    if kind == "code":
        source = ChartCode()
        data = source.load()
    else:
        source = SystemMetrics()
        data = source.load()
    return data


async def single():
    source = Only()
    return source.load()


async def answer(prompt, azure):
    if azure:
        llm = AzureOpenAI()
    else:
        llm = OpenAI()
    return llm.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
"""
    root = write(tmp_path / "repo", {"charts.py": code})
    found = scan_tree(root)
    # `source` is ChartCode in one branch and SystemMetrics in the other: each call runs
    # the `load` of the class bound just before it, so only the second branch's is file
    # work; a local bound to one of two catalog clients is a client call either way.
    assert sorted((r.rule, r.symbol, r.line) for r in found if r.rule != "OPT202") == [
        ("OPT101", "answer", 41), ("OPT105", "chart", 27), ("OPT105", "single", 33)]


def test_a_method_of_what_a_project_method_returns_is_followed_by_its_annotation(
        tmp_path: Path):
    # held-out S43: mage-ai's Spark resources await `self.build_api().job(...)` per job id;
    # `build_api` (a mixin of another file) is annotated `-> BaseAPI`, whose one
    # implementation of `job` never suspends (a sync request under `async def`).
    base = '''from abc import ABC, abstractmethod

import requests


class BaseAPI(ABC):
    @abstractmethod
    async def job(self, job_id):
        ...


class LocalAPI(BaseAPI):
    def _get(self, url):
        return requests.get(url, timeout=12).json()

    async def job(self, job_id):
        return self._get(f"http://localhost:4040/api/v1/jobs/{job_id}")
'''
    mixin = '''from spark.api import BaseAPI, LocalAPI


class SparkChild:
    def build_api(self) -> BaseAPI:
        return LocalAPI()
'''
    resource = '''from spark.mixin import SparkChild


class JobsResource(SparkChild):
    async def jobs(self, ids):
        out = []
        for job_id in ids:
            out.append(await self.build_api().job(job_id))
        return out
'''
    root = write(tmp_path / "repo", {"spark/__init__.py": "", "spark/api.py": base,
                                     "spark/mixin.py": mixin, "spark/resource.py": resource})
    assert _found(root, ("OPT103",)) == []


MIXINS = {
    "cog/__init__.py": "",
    "cog/abc.py": '''from abc import ABC, abstractmethod


class MixinMeta(ABC):
    @abstractmethod
    async def _build_search_page(self, ctx, tracks, page):
        raise NotImplementedError()

    @abstractmethod
    async def _fetch_page(self, ctx, page):
        raise NotImplementedError()
''',
    "cog/formatting.py": '''import asyncio

from .abc import MixinMeta


class Formatting(MixinMeta):
    async def _build_search_page(self, ctx, tracks, page):
        text = ""
        for track in tracks[page * 5:page * 5 + 5]:
            await asyncio.sleep(0)
            text += str(track)
        return text
''',
    "cog/fetching.py": '''from .abc import MixinMeta


class Fetching(MixinMeta):
    async def _fetch_page(self, ctx, page):
        return await self.http_client.get(f"https://example.com/{page}")
''',
    "cog/commands.py": '''from .abc import MixinMeta


class Commands(MixinMeta):
    async def pages(self, ctx, tracks):
        found = []
        for page in range(len(tracks) // 5 + 1):
            found.append(await self._build_search_page(ctx, tracks, page))
        return found

    async def remote(self, ctx, tracks):
        found = []
        for page in range(len(tracks) // 5 + 1):
            found.append(await self._fetch_page(ctx, page))
        return found
''',
}


def test_an_abstract_coroutine_whose_implementations_reach_no_io_is_no_await_in_loop(
        tmp_path: Path):
    # held-out S45: Red-DiscordBot's cogs are mixins; `self._build_search_page` resolves to
    # MixinMeta's abstract method, whose one implementation formats text (it suspends at
    # `async for` over AsyncIter, and reaches no I/O): gathering the pages overlaps nothing.
    # The abstract `_fetch_page`, implemented with an HTTP client, is reported.
    root = write(tmp_path / "repo", MIXINS)
    found = [(r.rule, r.path, r.symbol) for r in scan_tree(root, "OPT103")]
    assert found == [("OPT103", "cog/commands.py", "Commands.remote")]
