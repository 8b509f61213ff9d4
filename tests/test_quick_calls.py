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
