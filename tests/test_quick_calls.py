"""Blocking calls the catalog says answer within milliseconds (`[[blocking]] quick`: an
in-process SQLite statement, a Docker lookup) are reported one level down, and the message
says why; not a literal SELECT with no WHERE and no LIMIT, which reads the whole table (held-out S36-S37: of 32 SQLite calls and chains on the loop read at `high`, 27
were of little value). The advice for a helper holding a connection made elsewhere says
when one `asyncio.to_thread` is enough."""

from __future__ import annotations

from conftest import write

from optadvisor.api import ScanOptions, scan

FILES = {
    "pkg/__init__.py": "",
    "pkg/store.py": '''import sqlite3

import psycopg2


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, check_same_thread=False)

    def save(self, key, value):
        self.conn.execute("INSERT INTO kv VALUES (?, ?)", (key, value))
        self.conn.commit()

    def dump(self):
        return self.conn.execute("SELECT key, value FROM kv").fetchall()


class Remote:
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)

    def save(self, key, value):
        self.conn.cursor().execute("INSERT INTO kv VALUES (%s, %s)", (key, value))
''',
    "pkg/app.py": '''import sqlite3

from pkg.store import Remote, Store


async def handle(store: Store, remote: Remote, key, value):
    store.save(key, value)
    remote.save(key, value)


async def export(store: Store):
    return store.dump()


async def scan_all(path):
    conn = sqlite3.connect(path, check_same_thread=False)
    return conn.execute("SELECT text, vec FROM chunks").fetchall()


async def direct(path):
    conn = sqlite3.connect(path)
    return conn.execute("SELECT 1").fetchall()
''',
}


def test_sqlite_work_on_the_loop_is_ranked_one_level_down_and_says_why(tmp_path):
    root = write(tmp_path / "repo", FILES)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1,
                              select=("OPT101", "OPT104")))
    found = {(r.rule, r.snippet.before): r for r in report.recommendations}
    local = found[("OPT104", "store.save(key, value)")]
    remote = found[("OPT104", "remote.save(key, value)")]
    direct = found[("OPT101", "conn = sqlite3.connect(path)")]
    assert (local.priority, remote.priority, direct.priority) == ("medium", "high", "medium")
    assert "a quick call" in local.message and "a quick call" in direct.message
    assert "a quick call" not in remote.message
    # A SELECT with no WHERE and no LIMIT reads the whole table: as long as it is big.
    whole = found[("OPT104", "return store.dump()")]
    assert whole.priority == "high" and "a quick call" not in whole.message
    session = found[("OPT101", "conn = sqlite3.connect(path, check_same_thread=False)")]
    assert session.priority == "high" and "a quick call" not in session.message
    # `store` holds a connection made elsewhere: whether a thread may use it is the store's
    # choice, and the advice says so instead of saying sqlite3 always refuses.
    assert local.fix is not None and "check_same_thread=False" in local.fix.message


COMMANDS = {
    "pkg/__init__.py": "",
    "pkg/bins.py": '''def docker_bin():
    return "docker"
''',
    "pkg/runtime.py": '''import subprocess

from pkg.bins import docker_bin


def container_state(name):
    return subprocess.check_output([docker_bin(), "inspect", "-f", "{{.State.Status}}", name])


def stop_container(name):
    subprocess.run([docker_bin(), "stop", name], check=True)


class Runtime:
    async def suspend(self, name):
        subprocess.run([docker_bin(), "pause", name], capture_output=True)

    async def alive(self, name):
        return subprocess.run(["/usr/bin/pgrep", "-f", name]).returncode == 0

    async def status(self, name):
        return container_state(name)

    async def stop(self, name):
        stop_container(name)

    async def start(self, image):
        subprocess.run(f"docker run -d {image}", shell=True, check=True)
''',
}


def test_quick_commands_are_ranked_one_level_down_and_say_why(tmp_path):
    # Held-out S38 (cua's sandbox runtimes): `docker pause`, `docker inspect`, `pgrep` on
    # the loop were ranked with `docker run` and `docker stop`; 30 were read as too high.
    root = write(tmp_path / "repo", COMMANDS)
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1,
                              select=("OPT101", "OPT104")))
    found = {r.symbol: r for r in report.recommendations}
    assert {name: r.priority for name, r in found.items()} == {
        "Runtime.suspend": "medium", "Runtime.alive": "medium", "Runtime.status": "medium",
        "Runtime.stop": "high", "Runtime.start": "high"}
    for name in ("Runtime.suspend", "Runtime.alive", "Runtime.status"):
        assert "a quick command" in found[name].message
    assert "quick" not in found["Runtime.stop"].message


def test_git_questions_are_quick_and_a_diff_is_not(tmp_path):
    # Held-out S49 (AWorld's slash commands): `git status --short` and the branch name,
    # read before a prompt is built, return at once; a diff is as long as the change.
    root = write(tmp_path / "repo", {"cmd.py": '''import subprocess


async def prompt(cwd):
    status = subprocess.run(["git", "status", "--short"], cwd=cwd, capture_output=True)
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=cwd, capture_output=True)
    diff = subprocess.run(["git", "diff", "HEAD"], cwd=cwd, capture_output=True)
    return status.stdout, branch.stdout, diff.stdout
'''})
    report = scan(ScanOptions(paths=(root,), use_cache=False, jobs=1, select=("OPT101",)))
    assert sorted((r.line, r.priority) for r in report.recommendations) == [
        (5, "medium"), (6, "medium"), (7, "high")]
