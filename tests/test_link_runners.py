"""A coroutine handed to a project function that runs its argument on a loop of its own
(`def asyncio_run(coro): return asyncio.run(coro)` in one module, `asyncio_run(export(...))`
in another) runs alone on that loop, as under `asyncio.run(export(...))`: its blocking
work stalls nothing else (held-out S36d: marimo's export commands)."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "pkg/__init__.py": "",
    "pkg/utils.py": '''import asyncio


def asyncio_run(coro, **kwargs):
    return asyncio.run(coro, **kwargs)


def run_report(name):
    return name


class Runner:
    def run_sync(self, coro):
        loop = asyncio.new_event_loop()
        return loop.run_until_complete(coro)
''',
    "pkg/export.py": '''import shutil


async def export_html(src, dst):
    shutil.copytree(src, dst)


async def export_pdf(src, dst):
    shutil.copytree(src, dst)


async def export_md(src, dst):
    shutil.copytree(src, dst)
''',
    "pkg/commands.py": '''from pkg.export import export_html, export_md, export_pdf
from pkg.utils import Runner, asyncio_run, run_report


def html_command(src, dst):
    return asyncio_run(export_html(src, dst))


def pdf_command(src, dst):
    return run_report(export_pdf(src, dst))


def md_command(src, dst):
    return Runner().run_sync(export_md(src, dst))
''',
}


def test_a_coroutine_handed_to_a_runner_of_another_module_runs_alone(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT105",)))
    # `run_report` hands nothing to a loop: `export_pdf` may run on a loop that serves
    # others. `Runner.run_sync` is a method: `self` is not one of its callers' arguments.
    assert sorted(r.symbol for r in report.recommendations) == ["export_pdf"]


def test_the_warm_path_drives_what_a_cold_scan_drives(tmp_path):
    root = write(tmp_path / "repo", FILES)
    cache = tmp_path / "cache"
    options = ScanOptions(paths=(root,), cache_dir=cache, jobs=1, select=("OPT105",))
    assert [r.symbol for r in scan(options).recommendations] == ["export_pdf"]
    cli = root / "pkg" / "commands.py"
    cli.write_text(cli.read_text().replace("run_report(export_pdf", "asyncio_run(export_pdf"))
    assert list(scan(options).recommendations) == []
    cold = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT105",)))
    assert list(cold.recommendations) == []


FACTORY_FILES = {
    "pkg/__init__.py": "",
    "pkg/celery_tasks.py": '''import asyncio


def run_async_celery_task(coro_factory):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro_factory())
    finally:
        loop.close()
''',
    "pkg/connector_tasks.py": '''from pkg.celery_tasks import run_async_celery_task as _run_async


def run_async_celery_task(coro_factory, *, user_id=None):
    return _run_async(coro_factory)
''',
    "pkg/jobs.py": '''import shutil

from pkg import connector_tasks
from pkg.celery_tasks import run_async_celery_task


async def _index(src, dst):
    shutil.copytree(src, dst)


async def served(src, dst):
    shutil.copytree(src, dst)


def index_task(src, dst):
    return run_async_celery_task(lambda: _index(src, dst))


def cleanup_task(src, dst):
    async def _run():
        shutil.copytree(src, dst)

    return run_async_celery_task(_run)


async def _sync(src, dst):
    shutil.copytree(src, dst)


def sync_task(src, dst):
    return connector_tasks.run_async_celery_task(lambda: _sync(src, dst), user_id=1)
''',
}


def test_a_coroutine_function_handed_to_a_runner_that_calls_it_runs_alone(tmp_path):
    # Held-out S37b (SurfSense): `run_async_celery_task(coro_factory)` runs
    # `coro_factory()` on a fresh loop per Celery task; its tasks hand it `_run` or
    # `lambda: _impl(...)`, some through a wrapper that hands its factory on. Nothing else
    # runs on that loop.
    root = write(tmp_path / "repo", FACTORY_FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT105",)))
    assert sorted(r.symbol for r in report.recommendations) == ["served"]


METHOD_FILES = {
    "pkg/__init__.py": "",
    "pkg/concurrent.py": '''import asyncio


def run_async_task(func, *args, **kwargs):
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        return get_executor().submit(asyncio.run, func(*args, **kwargs)).result()
    return asyncio.run(func(*args, **kwargs))
''',
    "pkg/scheduler.py": '''import asyncio

import requests

from pkg.concurrent import run_async_task


class Scheduler:
    async def _fork_one(self, url):
        await asyncio.sleep(0)
        return url

    async def _fork_all(self, urls):
        results = await asyncio.gather(*[self._fork_one(u) for u in urls])
        for url in results:
            self._configure(url)
        return results

    async def _served(self, url):
        self._configure(url)

    def _configure(self, url):
        requests.post(url, json={}, timeout=5)

    def fork(self, urls):
        return run_async_task(self._fork_all, urls)

    def register(self, app):
        app.add_handler(self._served)
''',
}


def test_a_bound_method_handed_to_a_runner_runs_alone(tmp_path):
    # Held-out S39b (AReaL): `run_async_task(self._create_forked_workers_async, ...)` runs
    # the method's coroutine on a loop of its own; after its gather nothing else runs there.
    # A method handed to something else (a handler registry) is still reported.
    root = write(tmp_path / "repo", METHOD_FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT104",)))
    assert sorted(r.symbol for r in report.recommendations) == ["Scheduler._served"]


def test_a_coroutine_picked_by_a_conditional_callee_under_a_runner_runs_alone(tmp_path):
    """held-out S40c (inspect_ai's tool CLI): `await (_local if local else _remote)(req)`
    in a coroutine `asyncio.run` drives: both are called there, so the remote one's
    blocking work stalls nothing else; a coroutine nothing calls stays reported."""
    root = write(tmp_path / "repo", {
        "pkg/__init__.py": "",
        "pkg/export.py": '''import shutil


async def export_local(src, dst):
    return dst


async def export_remote(src, dst):
    shutil.copytree(src, dst)


async def export_other(src, dst):
    shutil.copytree(src, dst)
''',
        "pkg/commands.py": '''import asyncio

from pkg.export import export_local, export_remote


async def _exec(src, dst, local):
    return await (export_local if local else export_remote)(src, dst)


def copy_command(src, dst, local):
    return asyncio.run(_exec(src, dst, local))
'''})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT105",)))
    assert sorted(r.symbol for r in report.recommendations) == ["export_other"]


def test_an_example_running_a_package_coroutine_is_no_evidence_it_runs_alone(tmp_path):
    # Held-out S42: amazon-bedrock-agent-samples' examples run `InlineAgent.invoke` with
    # `asyncio.run(agent.invoke(...))`; the package's users await it in their own servers,
    # so its blocking boto3 calls were lost. A script of the project running its own
    # coroutine still says how the script runs it.
    write(tmp_path, {
        "agent/__init__.py": "",
        "agent/core.py": (
            "import boto3\n\n\n"
            "class Agent:\n"
            "    async def invoke(self, text):\n"
            "        runtime = boto3.client('bedrock-agent-runtime')\n"
            "        return runtime.invoke_agent(inputText=text)\n"),
        "agent/jobs.py": (
            "import requests\n\n\n"
            "async def nightly(url):\n"
            "    return requests.get(url, timeout=10)\n"),
        "examples/hello/main.py": (
            "import asyncio\nfrom agent.core import Agent\n\n"
            "asyncio.run(Agent().invoke('hi'))\n"),
        "scripts/run_nightly.py": (
            "import asyncio\nfrom agent.jobs import nightly\n\n"
            "asyncio.run(nightly('http://x'))\n"),
    })
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1, select=("OPT101",)))
    assert sorted((r.path, r.line) for r in report.recommendations) == [("agent/core.py", 7)]
