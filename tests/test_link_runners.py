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
