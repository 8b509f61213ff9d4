"""A coroutine that every project call hands straight to a loop runner (`asyncio.run(
_main(...))`) is alone on that loop until its first await, even when it starts tasks later:
a task created is only started at an await, so a blocking call made before the first one
stalls nothing (held-out S44b: unmute's load-test client fetches its voice with requests
before it connects and starts its emit and receive tasks). After that await, or in a
coroutine some other coroutine awaits, the same call is still reported."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

HELPER = '''import requests


def get_voice(url):
    return requests.get(url + "/voices", timeout=10).json()[0]
'''

ROOT = '''import asyncio
import requests
from pkg.voices import get_voice


async def emit(ws, voice):
    await ws.send(voice)


async def receive(ws):
    return await ws.recv()


async def _main(url, ws):
    voice = get_voice(url)
    listing = requests.get(url + "/list", timeout=10)
    emit_task = asyncio.create_task(emit(ws, voice))
    receive_task = asyncio.create_task(receive(ws))
    await asyncio.gather(emit_task, receive_task)
    return listing


def main_one_worker(url, ws):
    return asyncio.run(_main(url, ws))
'''


def _found(tmp_path, files):
    write(tmp_path, files)
    report = scan(ScanOptions(paths=[tmp_path], use_cache=False))
    return {(r.rule, r.path, r.line) for r in report.recommendations
            if r.rule in ("OPT101", "OPT104")}


def test_blocking_calls_before_the_first_await_of_a_root_coroutine_are_not_reported(
        tmp_path):
    found = _found(tmp_path, {"pkg/__init__.py": "", "pkg/voices.py": HELPER,
                              "pkg/load.py": ROOT})
    assert found == set()


def test_the_same_calls_after_an_await_are_reported(tmp_path):
    late = ROOT.replace("    voice = get_voice(url)\n",
                        "    await ws.send('hello')\n    voice = get_voice(url)\n")
    found = _found(tmp_path, {"pkg/__init__.py": "", "pkg/voices.py": HELPER,
                              "pkg/load.py": late})
    assert found == {("OPT104", "pkg/load.py", 16), ("OPT101", "pkg/load.py", 17)}


def test_an_await_inside_the_call_s_arguments_comes_first(tmp_path):
    # `requests.get(await ...)`: the await runs before the call does.
    inner = ROOT.replace('requests.get(url + "/list", timeout=10)',
                         'requests.get(await ws.recv(), timeout=10)')
    found = _found(tmp_path, {"pkg/__init__.py": "", "pkg/voices.py": HELPER,
                              "pkg/load.py": inner})
    assert found == {("OPT101", "pkg/load.py", 16)}


def test_a_call_in_a_loop_before_the_first_await_is_still_reported(tmp_path):
    # Conservative: a loop's later iterations may follow an await of its own body.
    looped = ROOT.replace("    voice = get_voice(url)\n",
                          "    for u in [url, url]:\n        voice = get_voice(u)\n")
    found = _found(tmp_path, {"pkg/__init__.py": "", "pkg/voices.py": HELPER,
                              "pkg/load.py": looped})
    assert ("OPT104", "pkg/load.py", 16) in found


def test_a_root_coroutine_another_coroutine_also_awaits_is_reported(tmp_path):
    # Awaited by `serve`, `_main` runs on a loop that serves other tasks too.
    shared = ROOT + '''

async def serve(url, ws):
    return await _main(url, ws)
'''
    found = _found(tmp_path, {"pkg/__init__.py": "", "pkg/voices.py": HELPER,
                              "pkg/load.py": shared})
    assert found == {("OPT104", "pkg/load.py", 15), ("OPT101", "pkg/load.py", 16)}


def test_a_call_after_a_task_is_created_is_reported(tmp_path):
    # The task created waits for the loop: the blocking call keeps it from running.
    started = ROOT.replace(
        "    listing = requests.get(url + \"/list\", timeout=10)\n"
        "    emit_task = asyncio.create_task(emit(ws, voice))\n",
        "    emit_task = asyncio.create_task(emit(ws, voice))\n"
        "    listing = requests.get(url + \"/list\", timeout=10)\n")
    assert started != ROOT
    found = _found(tmp_path, {"pkg/__init__.py": "", "pkg/voices.py": HELPER,
                              "pkg/load.py": started})
    assert found == {("OPT101", "pkg/load.py", 17)}
