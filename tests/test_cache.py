"""The content-hash cache of per-file facts: warm scans are served from it with identical
results; corrupt or foreign entries are ignored and rewritten; concurrent scans never
corrupt it; an unwritable cache dir costs speed, never results; what facts depend on
(optadvisor version, analyzer, catalogs, analysis config) invalidates it, and what they do
not depend on (rules) does not."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, write
from typer.testing import CliRunner

import optadvisor.api
from optadvisor.api import ScanOptions, scan
from optadvisor.cache import decode_facts, encode_facts
from optadvisor.cli import app
from optadvisor.warm import FORMAT

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

FILES = {
    "agents/web/fetch.py": '''import requests


async def fetch(url):
    return requests.get(url)
''',
    "agents/web/client.py": '''import httpx


def post(url, data):
    with httpx.Client() as client:
        return client.post(url, json=data)
''',
    "agents/db/store.py": '''import sqlite3
import time


async def save(path, row):
    conn = sqlite3.connect(path)
    time.sleep(0.1)
    conn.execute("insert into t values (?)", row)
''',
    "agents/db/clean.py": "def add(a, b):\n    return a + b\n",
    "agents/db/noqa.py": '''import requests


async def get(url):
    return requests.get(url, timeout=3)  # noqa: OPT101
''',
}


def comparable(report) -> dict:
    """A report as data, without what legitimately differs between two runs."""
    data = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    data = json.loads(json.dumps(data))
    for key in ("seconds", "cached_files"):
        data["summary"].pop(key, None)
    return data


def entries(cache_dir: Path, kind: str = "facts") -> list[Path]:
    return sorted(p for p in (cache_dir / f"{kind}-v1").rglob("*") if p.is_file())


def forget_results(cache_dir: Path) -> None:
    """Removes the projects' warm states (warm.py): with them, a scan where nothing changed
    reads no fact entry at all, and the fact cache is what these tests are about."""
    for path in (cache_dir / f"projects-v{FORMAT}").glob("*"):
        path.unlink()


def assert_all_valid(cache_dir: Path) -> None:
    """Every file in the cache dir is a complete entry whose stored key matches its name."""
    for path in entries(cache_dir):
        assert path.suffix == ".json" and not path.name.startswith(".tmp"), path
        data = json.loads(path.read_bytes())
        digest, context = data["key"]
        assert path.name == f"{digest}-{context}.json"
        decode_facts(data["facts"])


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return write(tmp_path / "repo", FILES)


@pytest.fixture()
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def run(tree: Path, cache_dir: Path | None, **kwargs):
    return scan(ScanOptions(paths=(tree,), cache_dir=cache_dir, use_cache=cache_dir is not None,
                            jobs=kwargs.pop("jobs", 1), **kwargs))


def test_warm_scan_is_served_from_cache_with_identical_results(tree: Path, cache_dir: Path):
    cold = run(tree, cache_dir)
    assert cold.summary.cached_files == 0
    assert cold.summary.recommendations >= 4
    assert len(entries(cache_dir)) == len(FILES)
    with_fix = [r for r in cold.recommendations if r.fix is not None and r.fix.edits]
    assert with_fix and len(entries(cache_dir, "fixes")) == cold.summary.recommendations
    warm = run(tree, cache_dir)
    assert warm.summary.cached_files == len(FILES)
    assert comparable(warm) == comparable(cold)
    assert comparable(run(tree, None)) == comparable(cold)  # and the same as no cache


def test_warm_scan_builds_no_fix_and_loads_no_libcst(tree: Path, cache_dir: Path):
    """Fixes come from the cache too: a warm scan parses nothing, not even to show them.
    Nor does a scan where nothing changed load the stages it skips (the link stage, the
    rule engine, the rules' templates): their import was a tenth of a warm scan."""
    import subprocess
    import sys

    run(tree, cache_dir)
    probe = (
        "import sys; from pathlib import Path; from optadvisor.api import ScanOptions, scan; "
        f"r = scan(ScanOptions(paths=(Path({str(tree)!r}),), cache_dir=Path({str(cache_dir)!r}),"
        " jobs=1)); "
        "print(sum(1 for x in r.recommendations if x.fix and x.fix.edits), "
        "'libcst' in sys.modules, "
        "sorted(m for m in ('optadvisor.link', 'optadvisor.engine', 'optadvisor.rules', "
        "'optadvisor.subjects', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split(None, 2)
    assert int(out[0]) >= 1 and out[1] == "False", out
    assert out[2].strip() == "[]", out


def test_a_warm_scan_of_awaited_project_coroutines_loads_no_link_stage(tmp_path: Path):
    """The links a file keeps include what link knows of the project coroutines its loops
    await (link.Awaited): every field must pass the stored state's check, or every warm scan
    quietly links the whole project again (a field added to Awaited without the check:
    warm 7.8x ruff on the standard library instead of 1x)."""
    import subprocess
    import sys

    tree = write(tmp_path / "repo", {"app/jobs.py": '''import asyncio
import httpx


class Bongo:
    async def _pace(self):
        await asyncio.sleep(0.5)

    async def _post(self, client, item):
        await self._pace()
        return await client.post("https://api.example.com/items", json=item)

    async def create_all(self, items):
        async with httpx.AsyncClient(timeout=10) as client:
            for item in items:
                await self._post(client, item)


async def fetch(client, url):
    return await client.get(url)


async def fetch_all(client, urls):
    return [await fetch(client, u) for u in urls]
'''})
    cache = tmp_path / "cache"
    cold = run(tree, cache)
    probe = (
        "import sys; from pathlib import Path; from optadvisor.api import ScanOptions, scan; "
        f"r = scan(ScanOptions(paths=(Path({str(tree)!r}),), cache_dir=Path({str(cache)!r}),"
        " jobs=1)); "
        "print(len(r.recommendations), sorted(m for m in ('optadvisor.link', "
        "'optadvisor.engine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split(None, 1)
    assert int(out[0]) == cold.summary.recommendations >= 1, out
    assert out[1].strip() == "[]", out


def test_a_corrupt_fix_entry_is_built_again(tree: Path, cache_dir: Path):
    cold = run(tree, cache_dir)
    for path in entries(cache_dir, "fixes"):
        path.write_text('{"key": [1, 2], "fix": "truncat')
    assert comparable(run(tree, cache_dir)) == comparable(cold)


def test_facts_round_trip_through_the_cache_format_exactly():
    """Every field of every fact survives encode -> JSON -> decode (catches a new fact
    field the cache forgets to store)."""
    from optadvisor.analyze import analyze_bytes, run_with_deep_stack
    from optadvisor.analyze.catalog import load_catalog

    catalog = load_catalog()
    checked = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        data = path.read_bytes()
        facts = run_with_deep_stack(
            lambda data=data: analyze_bytes("x.py", data, catalog, 5 * 1024 * 1024))
        assert not hasattr(facts, "kind"), facts  # not an ErrorRecord
        stored = json.loads(json.dumps(encode_facts(facts)))
        assert set(stored) == {f.name for f in dataclasses.fields(facts)}
        assert decode_facts(stored) == facts
        checked += bool(facts.calls)
    assert checked >= 5


def test_renamed_or_copied_file_is_a_hit_and_changed_file_a_miss(tree: Path, cache_dir: Path):
    run(tree, cache_dir)
    (tree / "agents/web/fetch.py").rename(tree / "agents/web/fetch2.py")
    (tree / "agents/db/copy.py").write_text(FILES["agents/db/store.py"])
    (tree / "agents/db/clean.py").write_text("import time\n\n\nasync def f():\n"
                                             "    time.sleep(1)\n")
    warm = run(tree, cache_dir)
    assert warm.summary.cached_files == len(FILES)  # the edited file is the only miss
    assert comparable(warm) == comparable(run(tree, None))
    paths = {r.path for r in warm.recommendations}
    assert {"agents/web/fetch2.py", "agents/db/copy.py", "agents/db/clean.py"} <= paths


CORRUPTIONS = {
    "garbage-bytes": lambda raw, data: b"\x00\xff\xfe garbage \x80",
    "empty": lambda raw, data: b"",
    "truncated-json": lambda raw, data: raw[: len(raw) // 2],
    "another-key": lambda raw, data: json.dumps({**data, "key": ["0" * 40, "x"]}).encode(),
    "json-list": lambda raw, data: b"[1, 2, 3]",
    "no-facts": lambda raw, data: json.dumps({"key": data["key"]}).encode(),
    "facts-wrong-type": lambda raw, data: json.dumps(
        {**data, "facts": {**data["facts"], "lines": "many"}}).encode(),
    "row-too-short": lambda raw, data: json.dumps(
        {**data, "facts": {**data["facts"],
                           "calls": [c[:-2] for c in data["facts"]["calls"]] or [[1]]}}).encode(),
    "row-wrong-type": lambda raw, data: json.dumps(
        {**data, "facts": {**data["facts"],
                           "functions": [["f"] * 30] + data["facts"]["functions"]}}).encode(),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_or_foreign_entries_are_ignored_and_rewritten(tree: Path, cache_dir: Path,
                                                              corrupt):
    cold = run(tree, cache_dir)
    forget_results(cache_dir)
    for path in entries(cache_dir):
        raw = path.read_bytes()
        path.write_bytes(corrupt(raw, json.loads(raw)))
    again = run(tree, cache_dir)
    assert again.summary.cached_files == 0
    assert comparable(again) == comparable(cold)
    assert_all_valid(cache_dir)
    forget_results(cache_dir)
    assert run(tree, cache_dir).summary.cached_files == len(FILES)


def test_hostile_entries_are_rebuilt_and_never_fail_or_hang_a_scan(tree: Path, cache_dir: Path):
    """A FIFO, a symlink to /dev/zero, an entry over the size cap, deeply nested JSON under
    the right key, garbage and an empty directory, in place of fact and fix entries: each is a miss, rebuilt,
    and the next scan is served from the cache. Before, a FIFO hung every scan, /dev/zero
    ate memory (9.8 GiB in 25 s), and the deep entry failed this and every later scan with
    RecursionError until the cache was cleared. The scans run in a subprocess with a
    timeout and a memory limit: what hung fails the test instead."""
    import resource

    from optadvisor.inputs import CACHE_ENTRY_BYTES

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    def scan_json() -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "optadvisor", "scan", str(tree), "--cache-dir",
             str(cache_dir), "--format", "json", "-q"],
            capture_output=True, text=True, timeout=120, preexec_fn=limit, check=False)
        assert proc.returncode == 1 and not proc.stderr, proc.stderr
        return json.loads(proc.stdout)

    cold = scan_json()
    forget_results(cache_dir)
    stored = [*entries(cache_dir), *entries(cache_dir, "fixes")]
    assert len(stored) > len(FILES)
    deep = "[" * 50_000 + "]" * 50_000
    for index, path in enumerate(stored):
        key = json.dumps(json.loads(path.read_bytes())["key"])
        path.unlink()
        kind = ("fifo", "dev-zero", "huge", "deep", "garbage", "directory")[index % 6]
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dev-zero":
            path.symlink_to("/dev/zero")
        elif kind == "huge":
            with open(path, "wb") as handle:  # sparse: no disk used
                handle.write(f'{{"key": {key}, "facts": '.encode())
                handle.truncate(CACHE_ENTRY_BYTES + 1)
        elif kind == "deep":
            path.write_text(f'{{"key": {key}, "facts": {deep}, "fix": {deep}}}')
        elif kind == "directory":  # it used to make the whole cache unwritable for the run
            path.mkdir()
        else:
            path.write_bytes(b"\x00\xff{[garbage")
    again = scan_json()
    assert again["summary"]["cached_files"] == 0
    assert comparable(again) == comparable(cold)
    assert [*entries(cache_dir), *entries(cache_dir, "fixes")] == stored  # all regular again
    assert_all_valid(cache_dir)
    forget_results(cache_dir)
    assert scan_json()["summary"]["cached_files"] == len(FILES)


def test_stray_files_in_the_cache_dir_do_no_harm(tree: Path, cache_dir: Path):
    cold = run(tree, cache_dir)
    write(cache_dir, {"facts-v1/zz/not-an-entry.json": "{}", "README": "hello",
                      "facts-v1/.tmp-half.json": "{\"key\":"})
    warm = run(tree, cache_dir)
    assert warm.summary.cached_files == len(FILES)
    assert comparable(warm) == comparable(cold)


def test_two_concurrent_scans_never_corrupt_the_cache(tmp_path: Path):
    # Enough files that both processes write entries at the same time.
    files = {f"pkg{i % 4}/mod{i}.py": FILES["agents/db/store.py"] + f"\nVALUE = {i}\n"
             for i in range(30)}
    files.update(FILES)
    tree = write(tmp_path / "repo", files)
    cache_dir = tmp_path / "shared-cache"
    env = {**os.environ, "OPTADVISOR_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "optadvisor", "scan", str(tree), "--format", "json",
               "--fail-on", "never", "--jobs", "1"]

    def start(*extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen([*command, *extra], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def finish(proc: subprocess.Popen[str]) -> dict:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return json.loads(out)

    expected = comparable(finish(start("--no-cache")))
    for round_ in range(3):
        forget_results(cache_dir)
        if round_ < 2:  # two cold rounds (both write everything), then a warm/cold mix
            for path in entries(cache_dir):
                path.unlink()
        else:
            for path in entries(cache_dir)[::2]:
                path.unlink()
        for got in [finish(proc) for proc in [start(), start()]]:
            assert comparable(got) == expected
        assert_all_valid(cache_dir)
        assert len(entries(cache_dir)) == len(files), f"round {round_}"
    warm = finish(start())
    assert warm["summary"]["cached_files"] == len(files)
    assert comparable(warm) == expected


def test_unwritable_cache_dir_degrades_to_no_cache(tree: Path, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    expected = comparable(run(tree, None))
    for cache_dir in (blocker / "cache", blocker):  # below a file; is a file
        report = run(tree, cache_dir)
        assert comparable(report) == expected
        assert report.summary.cached_files == 0
    # Through the CLI too: no error, normal exit code.
    result = CliRunner().invoke(app, ["scan", str(tree), "--cache-dir", str(blocker / "cache"),
                                      "--fail-on", "never", "-q", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.skipif(IS_ROOT, reason="root writes to read-only dirs; running as root")
def test_read_only_cache_dir_serves_hits_and_writes_nothing(tree: Path, cache_dir: Path):
    cold = run(tree, cache_dir)
    (tree / "agents/db/clean.py").write_text("x = 2\n")
    before = entries(cache_dir)
    for folder in [cache_dir, *[p for p in cache_dir.rglob("*") if p.is_dir()]]:
        folder.chmod(0o555)
    try:
        report = run(tree, cache_dir)
    finally:
        for folder in [cache_dir, *[p for p in cache_dir.rglob("*") if p.is_dir()]]:
            folder.chmod(0o755)
    assert report.summary.cached_files == len(FILES) - 1
    assert entries(cache_dir) == before
    assert comparable(report)["recommendations"] == comparable(cold)["recommendations"]


def test_no_cache_reads_and_writes_nothing(tree: Path, cache_dir: Path, monkeypatch):
    monkeypatch.setenv("OPTADVISOR_CACHE_DIR", str(cache_dir))
    report = run(tree, None)
    assert report.summary.cached_files == 0
    assert entries(cache_dir) == []
    run(tree, cache_dir)
    assert run(tree, None).summary.cached_files == 0


def test_optadvisor_version_change_invalidates(tree: Path, cache_dir: Path, monkeypatch):
    run(tree, cache_dir)
    assert run(tree, cache_dir).summary.cached_files == len(FILES)
    monkeypatch.setattr(optadvisor.api, "__version__", "999.0.0")
    assert run(tree, cache_dir).summary.cached_files == 0
    assert run(tree, cache_dir).summary.cached_files == len(FILES)


def test_analyzer_version_change_invalidates(tree: Path, cache_dir: Path, monkeypatch):
    run(tree, cache_dir)
    monkeypatch.setattr(optadvisor.api, "ANALYZER_VERSION", "test-bump")
    assert run(tree, cache_dir).summary.cached_files == 0


def test_analysis_config_change_invalidates(tree: Path, cache_dir: Path):
    run(tree, cache_dir)
    (tree / "pyproject.toml").write_text("[tool.optadvisor]\nmax-file-bytes = 1000000\n")
    assert run(tree, cache_dir).summary.cached_files == 0
    # Keys that do not change facts keep the cache.
    (tree / "pyproject.toml").write_text(
        '[tool.optadvisor]\nmax-file-bytes = 1000000\nignore = ["OPT2"]\nfail-on = "low"\n')
    assert run(tree, cache_dir).summary.cached_files == len(FILES)


CUSTOM_CODE = '''import mylib


async def refresh():
    return mylib.fetch_all()
'''


def test_catalog_change_invalidates(tmp_path: Path, cache_dir: Path):
    tree = write(tmp_path / "repo", {
        "pyproject.toml": '[tool.optadvisor]\ncatalogs = ["apis.toml"]\n',
        "apis.toml": '[[blocking]]\ncategory = "http"\nnames = ["mylib.other"]\n',
        "app/refresh.py": CUSTOM_CODE,
    })
    first = run(tree, cache_dir)
    assert first.recommendations == ()
    assert run(tree, cache_dir).summary.cached_files == 1
    (tree / "apis.toml").write_text(
        '[[blocking]]\ncategory = "http"\nnames = ["mylib.other", "mylib.fetch_all"]\n')
    second = run(tree, cache_dir)
    assert second.summary.cached_files == 0
    assert [(r.rule, r.path, r.line) for r in second.recommendations] == [
        ("OPT101", "app/refresh.py", 5)]
    assert comparable(second) == comparable(run(tree, None))


RULE = '''id = "OPT901"
kind = "custom-check"
category = "network"
priority = "{priority}"
subject = "call"
when = "{when}"
title = "Custom check"
message = "custom: {{{{ call.name }}}}"
'''


def test_editing_a_rule_changes_results_without_reanalysis(tree: Path, cache_dir: Path):
    write(tree, {
        "pyproject.toml": '[tool.optadvisor]\nrule-dirs = ["my-rules"]\n',
        "my-rules/OPT901.toml": RULE.format(priority="low", when="call.in_async"),
    })
    first = run(tree, cache_dir, select=("OPT9",))
    assert first.summary.cached_files == 0
    got = {(r.path, r.line, r.priority) for r in first.recommendations}
    assert got == {("agents/web/fetch.py", 5, "low"), ("agents/db/store.py", 6, "low"),
                   ("agents/db/store.py", 7, "low"), ("agents/db/store.py", 8, "low"),
                   ("agents/db/noqa.py", 5, "low")}
    (tree / "my-rules/OPT901.toml").write_text(
        RULE.format(priority="medium", when="not call.in_async"))
    second = run(tree, cache_dir, select=("OPT9",))
    assert second.summary.cached_files == len(FILES)  # no re-analysis
    got = {(r.path, r.line, r.priority) for r in second.recommendations}
    assert got == {("agents/web/client.py", 5, "medium"), ("agents/web/client.py", 6, "medium")}
    assert comparable(second) == comparable(run(tree, None, select=("OPT9",)))


def test_files_that_fail_are_cached_too(tmp_path):
    """A file that does not parse is analyzed once: later scans take its error record from
    the cache (and start no worker pool for it)."""
    from optadvisor.api import ScanOptions, scan

    (tmp_path / "bad.py").write_text("def broken(:\n")
    (tmp_path / "good.py").write_text("x = 1\n")
    cache_dir = tmp_path / "cache"
    options = ScanOptions(paths=(tmp_path,), cache_dir=cache_dir, jobs=1)
    first = scan(options)
    import optadvisor.workers as workers  # api imports it when it analyzes

    calls = []
    original = workers.analyze_all
    workers.analyze_all = lambda jobs, *a, **k: calls.append(jobs) or original(jobs, *a, **k)
    try:
        second = scan(options)
    finally:
        workers.analyze_all = original
    assert calls == []
    assert [e.to_dict() for e in second.errors] == [e.to_dict() for e in first.errors]
    assert second.errors[0].path == "bad.py" and second.errors[0].kind == "parse-error"


def test_gc_paused_turns_the_collector_off_inside_and_back_on_after_even_on_error():
    import gc

    from optadvisor.cache import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: leaves it off, and does not turn it on early
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    try:
        with gc_paused():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # one the caller turned off stays off
    finally:
        gc.enable()
