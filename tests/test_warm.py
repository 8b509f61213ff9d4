"""The warm path (warm.py): a scan served from the project's warm state, one that re-does
only the changed files, and one that re-links and re-evaluates what a change reaches, all
give exactly the report of a scan without any cache — cross-file findings included, in
files that did not change; and a bad state file is ignored, never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write

import optadvisor.api
import optadvisor.cache
import optadvisor.engine
import optadvisor.warm
from optadvisor.api import ScanOptions, scan

FILES = {
    "app/helpers.py": '''import json


def load(path):
    return parse(path)


def parse(path):
    with open(path) as handle:
        return json.load(handle)


def compute(values):
    return sum(values)
''',
    "app/service.py": '''from app.helpers import compute, load


async def handler(path):
    data = load(path)
    return compute(data)


async def other():
    return compute([1, 2])
''',
    "app/api.py": '''import requests


async def fetch(url):
    return requests.get(url)


def unrelated():
    return 1
''',
    "app/tests/test_service.py": "def test_nothing():\n    assert True\n",
}


def comparable(report) -> dict:
    data = json.loads(json.dumps(report.to_dict()))
    for key in ("seconds", "cached_files"):
        data["summary"].pop(key, None)
    return data


def run(tree: Path, cache_dir: Path | None, **kwargs) -> object:
    return scan(ScanOptions(paths=(tree,), cache_dir=cache_dir,
                            use_cache=cache_dir is not None, jobs=1, **kwargs))


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return write(tmp_path / "repo", FILES)


@pytest.fixture()
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


class Counts:
    """How many fact entries a scan decoded and how many files the engine evaluated."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.decoded: list[str] = []
        self.evaluated: list[str] = []
        get, run_file = optadvisor.cache.FactCache.get, optadvisor.engine.Engine.run_file
        counts = self

        def counted_get(cache, digest):  # type: ignore[no-untyped-def]
            counts.decoded.append(digest)
            return get(cache, digest)

        def counted_run_file(engine, item):  # type: ignore[no-untyped-def]
            counts.evaluated.append(item.source.rel)
            return run_file(engine, item)

        monkeypatch.setattr(optadvisor.cache.FactCache, "get", counted_get)
        monkeypatch.setattr(optadvisor.engine.Engine, "run_file", counted_run_file)

    def reset(self) -> None:
        self.decoded.clear()
        self.evaluated.clear()


def check_same_as_cold(tree: Path, cache_dir: Path, counts: Counts | None = None,
                       **kwargs) -> object:
    """The cached scan and a scan without cache agree; returns the cached scan's report.
    `counts` is left with what the cached scan did."""
    warm = run(tree, cache_dir, **kwargs)
    seen = (list(counts.decoded), list(counts.evaluated)) if counts else None
    assert comparable(warm) == comparable(run(tree, None, **kwargs))
    if counts and seen:
        counts.decoded[:], counts.evaluated[:] = seen
    return warm


def findings(report) -> set[tuple[str, str, int]]:
    return {(r.rule, r.path, r.line) for r in report.recommendations}


def test_nothing_changed_decodes_no_fact_and_evaluates_nothing(tree, cache_dir, monkeypatch):
    counts = Counts(monkeypatch)
    cold = run(tree, cache_dir)
    assert counts.evaluated and cold.summary.cached_files == 0
    assert ("OPT101", "app/api.py", 5) in findings(cold)
    counts.reset()
    warm = run(tree, cache_dir)
    assert counts.decoded == [] and counts.evaluated == []
    assert warm.summary.cached_files == warm.summary.files == len(FILES)
    assert comparable(warm) == comparable(cold) == comparable(run(tree, None))


def test_a_helper_that_starts_blocking_gives_its_caller_a_finding(tree, cache_dir,
                                                                  monkeypatch):
    """The change is in helpers.py; the new finding is in service.py, which did not change
    and whose own facts say nothing of it."""
    run(tree, cache_dir)
    assert ("OPT104", "app/service.py", 5) not in findings(run(tree, cache_dir))
    counts = Counts(monkeypatch)
    (tree / "app/helpers.py").write_text(FILES["app/helpers.py"].replace(
        "import json\n", "import json\nimport time\n").replace(
        "def parse(path):\n", "def parse(path):\n    time.sleep(1)\n"))
    changed = check_same_as_cold(tree, cache_dir, counts)
    assert ("OPT104", "app/service.py", 5) in findings(changed)
    assert changed.summary.cached_files == changed.summary.files - 1
    # Linked again, evaluated again: the changed file and the caller it reaches only.
    assert counts.evaluated == ["app/helpers.py", "app/service.py"]
    # And back: the finding goes away again.
    (tree / "app/helpers.py").write_text(FILES["app/helpers.py"])
    back = check_same_as_cold(tree, cache_dir)
    assert ("OPT104", "app/service.py", 5) not in findings(back)


def test_a_change_links_do_not_see_reads_only_the_changed_file(tree, cache_dir, monkeypatch):
    """A comment and a new string in a function body: no file's links change, so only the
    changed file's facts are read (its old and new entries) and only it is evaluated."""
    run(tree, cache_dir)
    counts = Counts(monkeypatch)
    (tree / "app/api.py").write_text(FILES["app/api.py"].replace(
        "    return 1\n", "    return 1  # one\n") + "# trailing comment\n")
    changed = check_same_as_cold(tree, cache_dir, counts)
    assert counts.evaluated == ["app/api.py"]
    # Its old entry only: its new bytes have no entry, and were analyzed from the moment
    # the scan saw they changed (api._Early), with no lookup.
    assert len(counts.decoded) == 1
    assert changed.summary.cached_files == changed.summary.files - 1


def test_a_moved_call_reaches_the_findings_that_name_its_line(tree, cache_dir, monkeypatch):
    """Lines added above the blocking call move it: the caller's finding names the new
    line of the chain's hops, as a scan without cache does. Nothing else moved, so only
    the helper and the caller whose chain runs through it are evaluated again."""
    (tree / "app/helpers.py").write_text(FILES["app/helpers.py"].replace(
        "def parse(path):\n", "def parse(path):\n    import time\n    time.sleep(1)\n"))
    first = check_same_as_cold(tree, cache_dir)
    counts = Counts(monkeypatch)
    (tree / "app/helpers.py").write_text("# a header\n# of two lines\n" +
                                         (tree / "app/helpers.py").read_text())
    moved = check_same_as_cold(tree, cache_dir, counts)
    assert counts.evaluated == ["app/helpers.py", "app/service.py"]
    # The helper's old entry and the caller's (the helper's new bytes have no entry: they
    # were analyzed from the moment the scan saw they changed, api._Early).
    assert len(counts.decoded) == 2
    via = [r.evidence.get("via") for r in moved.recommendations if r.rule == "OPT104"]
    before = [r.evidence.get("via") for r in first.recommendations if r.rule == "OPT104"]
    assert via and before and [hop["line"] for hop in via[0]] == \
        [hop["line"] + 2 for hop in before[0]]
    # A line split in two inside the chain's helper: linked again, still the same.
    (tree / "app/helpers.py").write_text((tree / "app/helpers.py").read_text().replace(
        "    time.sleep(1)\n", "    time.sleep(\n        1)\n"))
    check_same_as_cold(tree, cache_dir)


def test_kept_links_keep_the_bridge_and_the_async_twin(tmp_path, cache_dir, monkeypatch):
    """A comment in the caller re-evaluates it from its kept links: the chain's bridge
    (advice in words), async twin, driven generator, entered context manager and terminal
    prompt must come back with them, as a cold scan has them (every flag of link.Via: the
    stored form once left the last two out and shifted one into another's place)."""
    code = (
        "import asyncio\nimport contextlib\nimport requests\nfrom concurrent.futures import ThreadPoolExecutor\n\n"
        "EXECUTOR = ThreadPoolExecutor()\n\n\n"
        "def call_sync(corofn):\n    def run():\n        return asyncio.run(corofn())\n"
        "    return EXECUTOR.submit(run).result()\n\n\n"
        "def get_files(uid):\n    return requests.get(uid, timeout=5)\n\n\n"
        "async def aget_files(uid):\n    return None\n\n\n"
        "async def connect():\n    await asyncio.sleep(0)\n\n\n"
        "async def start(uid):\n    call_sync(connect)\n    return get_files(uid)\n\n\n"
        "def lines(url):\n    yield from requests.get(url, timeout=5).iter_lines()\n\n\n"
        "async def relay(url):\n    for line in lines(url):\n        print(line)\n\n\n"
        "@contextlib.contextmanager\ndef opened(url):\n    requests.get(url, timeout=5)\n"
        "    yield\n\n\n"
        "async def enter(url):\n    with opened(url):\n        print(url)\n\n\n"
        "def fetch_then_ask(url):\n    requests.get(url, timeout=5)\n    return input('more? ')\n\n\n"
        "async def chat(url):\n    return fetch_then_ask(url)\n")
    # other.py: evaluated again only if the kept state were not read back.
    root = write(tmp_path / "repo", {"app/run.py": code, "app/other.py": "X = 1\n"})
    first = check_same_as_cold(root, cache_dir)
    manual = {r.line: r.fix.applicability for r in first.recommendations if r.rule == "OPT104"}
    # 37: a generator the coroutine's loop drives; 48: a context manager the coroutine
    # enters; 58: a helper that also prompts (advice in words, kept with the link).
    assert manual == {28: "manual", 29: "manual", 37: "manual", 48: "manual", 58: "manual"}
    counts = Counts(monkeypatch)
    (root / "app/run.py").write_text(code.replace("    call_sync(connect)\n",
                                                  "    call_sync(connect)  # bridge\n"))
    again = check_same_as_cold(root, cache_dir, counts)
    assert counts.evaluated == ["app/run.py"]
    assert {r.line: r.fix.applicability for r in again.recommendations
            if r.rule == "OPT104"} == manual


def test_deleted_and_added_files(tree, cache_dir):
    run(tree, cache_dir)
    (tree / "app/api.py").unlink()
    gone = check_same_as_cold(tree, cache_dir)
    assert not any(r.path == "app/api.py" for r in gone.recommendations)
    (tree / "app/more.py").write_text("import requests\n\n\nasync def f():\n"
                                      "    requests.post('u')\n")
    added = check_same_as_cold(tree, cache_dir)
    assert ("OPT101", "app/more.py", 5) in findings(added)
    # The helper deleted: its caller's chain is gone (the link is to a missing module).
    (tree / "app/helpers.py").write_text(FILES["app/helpers.py"].replace(
        "def parse(path):\n", "def parse(path):\n    import time\n    time.sleep(1)\n"))
    assert ("OPT104", "app/service.py", 5) in findings(check_same_as_cold(tree, cache_dir))
    (tree / "app/helpers.py").unlink()
    assert not any(r.rule == "OPT104" for r in check_same_as_cold(tree, cache_dir)
                   .recommendations)


def test_functions_added_and_removed(tree, cache_dir, monkeypatch):
    """A function added to a file (its callers elsewhere may now resolve to it) and
    removed again: the project is linked again, and the report is a cold scan's."""
    run(tree, cache_dir)
    added = FILES["app/helpers.py"] + "\n\ndef fetch_all(paths):\n" \
        "    return [load(p) for p in paths]\n"
    (tree / "app/helpers.py").write_text(added)
    (tree / "app/service.py").write_text(FILES["app/service.py"].replace(
        "import compute, load", "import compute, fetch_all, load") +
        "\n\nasync def many(paths):\n    return fetch_all(paths)\n")
    with_it = check_same_as_cold(tree, cache_dir)
    (tree / "app/helpers.py").write_text(FILES["app/helpers.py"])
    without = check_same_as_cold(tree, cache_dir)
    assert findings(with_it) != findings(without) or with_it.summary.functions != \
        without.summary.functions


@pytest.fixture()
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are seconds old at most, so no scan would keep their stats
    (warm.RACY_NS): here the margin is 0, as if they had been written long ago."""
    monkeypatch.setattr(optadvisor.warm, "RACY_NS", 0)


class Reads:
    """Which files a scan read from disk."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        read = optadvisor.api._read

        def counted(source, errors):  # type: ignore[no-untyped-def]
            self.paths.append(source.rel)
            return read(source, errors)

        monkeypatch.setattr(optadvisor.api, "_read", counted)


def test_files_whose_stat_is_unchanged_are_not_read_again(tree, cache_dir, monkeypatch,
                                                          settled):
    reads = Reads(monkeypatch)
    cold = run(tree, cache_dir)
    assert sorted(reads.paths) == sorted(FILES)
    reads.paths.clear()
    assert comparable(run(tree, cache_dir)) == comparable(cold)
    assert reads.paths == []
    # An edit that keeps the size and puts the mtime back (`cp -p`, `touch -r`): the
    # ctime moved, so the file is read, and the report is a cold scan's.
    path = tree / "app/api.py"
    before = path.stat()
    path.write_text(FILES["app/api.py"].replace("requests.get(url)", "requests.put(url)"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    changed = check_same_as_cold(tree, cache_dir)
    assert "app/api.py" in reads.paths
    assert any(r.path == "app/api.py" and "put" in r.message for r in changed.recommendations)


def test_a_file_just_written_keeps_no_stat(tree, cache_dir, monkeypatch):
    """An edit within the same timestamp tick as the scan's stat would not move it: a file
    changed less than warm.RACY_NS before the scan is hashed again next time."""
    run(tree, cache_dir)  # every file written just now
    [path] = state_files(cache_dir)
    assert all(row[7] is None for row in json.loads(path.read_bytes())["files"].values())
    reads = Reads(monkeypatch)
    run(tree, cache_dir)
    assert sorted(reads.paths) == sorted(FILES)


def test_a_stat_that_lies_is_caught_when_the_bytes_are_read(tree, cache_dir, monkeypatch,
                                                             settled):
    """The one case the stat check cannot see (here forged: the state's stat of a file
    replaced by the stat of other bytes): when a stage reads those bytes, their digest is
    not the kept one, and the scan starts over hashing every file."""
    helper = FILES["app/helpers.py"].replace(
        "def parse(path):\n", "def parse(path):\n    import time\n    time.sleep(1)\n")
    (tree / "app/helpers.py").write_text(helper)
    run(tree, cache_dir)
    service = tree / "app/service.py"
    service.write_text(FILES["app/service.py"].replace("data = load(path)",
                                                       "data = load(path)  "))
    [state] = state_files(cache_dir)
    data = json.loads(state.read_bytes())
    st = service.stat()
    data["files"]["app/service.py"][7] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                          st.st_ino]
    state.write_text(json.dumps(data))
    # A line moved in the helper: the caller whose chain runs through it is read.
    (tree / "app/helpers.py").write_text("# moved\n" + helper)
    trusted = []
    analyze = optadvisor.api._analyze

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        trusted.append(kwargs.get("trust_stats", True))
        return analyze(*args, **kwargs)

    monkeypatch.setattr(optadvisor.api, "_analyze", recorded)
    assert comparable(run(tree, cache_dir)) == comparable(run(tree, None))
    assert trusted[:2] == [True, False]  # caught, and done again hashing every file


RULE = '''id = "OPT901"
kind = "custom-check"
category = "network"
priority = "{priority}"
subject = "call"
when = "{when}"
title = "Custom check"
message = "custom: {{{{ call.name }}}}"
'''


def test_rule_and_config_changes_invalidate_the_kept_results(tree, cache_dir, monkeypatch):
    write(tree, {"pyproject.toml": '[tool.optadvisor]\nrule-dirs = ["my-rules"]\n',
                 "my-rules/OPT901.toml": RULE.format(priority="low", when="call.in_async")})
    first = check_same_as_cold(tree, cache_dir)
    assert any(r.rule == "OPT901" for r in first.recommendations)
    counts = Counts(monkeypatch)
    (tree / "my-rules/OPT901.toml").write_text(
        RULE.format(priority="medium", when="not call.in_async and call.name == 'open'"))
    edited = check_same_as_cold(tree, cache_dir, counts)
    assert {(r.path, r.line, r.priority) for r in edited.recommendations
            if r.rule == "OPT901"} == {("app/helpers.py", 9, "medium")}
    assert edited.summary.cached_files == edited.summary.files  # facts still cached
    assert len(counts.evaluated) == 3  # every library file evaluated again
    (tree / "pyproject.toml").write_text(
        '[tool.optadvisor]\nrule-dirs = ["my-rules"]\nignore = ["OPT9"]\n')
    ignored = check_same_as_cold(tree, cache_dir)
    assert not any(r.rule == "OPT901" for r in ignored.recommendations)
    # --select on the command line: another selection, other results, same agreement.
    only = check_same_as_cold(tree, cache_dir, select=("OPT101",))
    assert {r.rule for r in only.recommendations} == {"OPT101"}
    assert comparable(run(tree, cache_dir)) == comparable(ignored)


def test_optadvisor_code_change_invalidates_the_kept_results(tree, cache_dir, monkeypatch):
    import optadvisor.warm

    run(tree, cache_dir)
    counts = Counts(monkeypatch)
    monkeypatch.setattr(optadvisor.warm, "code_digest", lambda: "another build")
    check_same_as_cold(tree, cache_dir, counts)
    assert counts.evaluated == ["app/api.py", "app/helpers.py", "app/service.py"]


def state_files(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / f"projects-v{optadvisor.warm.FORMAT}").glob("*.json"))


def corrupt_row(raw: bytes) -> bytes:
    data = json.loads(raw)
    rel = next(iter(data["files"]))
    data["files"][rel][5] = [{"rule": 5}]
    return json.dumps(data).encode()


def wrong_type(raw: bytes) -> bytes:
    data = json.loads(raw)
    for row in data["files"].values():
        row[2] = "many"
    return json.dumps(data).encode()


def moved_finding(raw: bytes) -> bytes:
    data = json.loads(raw)
    for row in data["files"].values():
        for rec in row[5]:
            rec["path"] = "elsewhere.py"
    return json.dumps(data).encode()


STATE_CORRUPTIONS = {
    "garbage": lambda raw: b"\x00\xff garbage",
    "empty": lambda raw: b"",
    "truncated": lambda raw: raw[: len(raw) // 2],
    "list": lambda raw: b"[1, 2]",
    "deep": lambda raw: b"[" * 50_000 + b"]" * 50_000,
    "bad-recommendation": corrupt_row,
    "wrong-type": wrong_type,
    "finding-of-another-file": moved_finding,
}


@pytest.mark.parametrize("corrupt", STATE_CORRUPTIONS.values(), ids=STATE_CORRUPTIONS.keys())
def test_a_bad_state_is_ignored_and_written_again(tree, cache_dir, corrupt):
    cold = run(tree, cache_dir)
    [path] = state_files(cache_dir)
    path.write_bytes(corrupt(path.read_bytes()))
    again = run(tree, cache_dir)
    assert comparable(again) == comparable(cold)
    assert json.loads(path.read_bytes())["format"] == optadvisor.warm.FORMAT  # written again
    assert comparable(run(tree, cache_dir)) == comparable(cold)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_hostile_state_never_hangs_or_fails_a_scan(tree, cache_dir):
    """A FIFO, a symlink to /dev/zero and a directory in place of the state: the scan
    (a subprocess with a timeout, so a hang fails the test) ignores it."""
    def scan_json() -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "optadvisor", "scan", str(tree), "--cache-dir",
             str(cache_dir), "--format", "json", "-q", "--fail-on", "never"],
            capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
        return json.loads(proc.stdout)

    def same(data: dict) -> dict:
        data["summary"].pop("seconds")
        data["summary"].pop("cached_files")
        return data

    cold = same(scan_json())
    [path] = state_files(cache_dir)
    for make in (os.mkfifo, lambda p: p.symlink_to("/dev/zero"), os.mkdir):
        path.unlink()
        make(path)
        assert same(scan_json()) == cold
        assert path.is_file() and not path.is_symlink()  # written again in its place
    assert same(scan_json()) == cold
