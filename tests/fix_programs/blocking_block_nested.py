"""blocking_block.py with the request inside the database block: each user is stored as
soon as it is fetched.

The connection block (connect .. close) holds the `with urlopen(...)` block. The outer
block's fix goes first and takes the request along to the same worker thread; the inner
block alone would leave an `await` in the outer one, which could then no longer move.
(Fix: OPT101, shape to_thread_block.)

    python blocking_block_nested.py BASE_URL
"""

# ruff flags the blocking call too: in a coroutine, it is what this program is about.
# ruff: noqa: ASYNC210

from __future__ import annotations

import asyncio
import atexit
import json
import shutil
import sqlite3
import tempfile
import urllib.request

from minihttp import base_url

# A database file per run: one in memory (`:memory:`) does no I/O, and moving it off the
# loop would gain nothing.
DB_DIR = tempfile.mkdtemp()
atexit.register(shutil.rmtree, DB_DIR, True)


async def import_team(base: str, team: str, user_ids: list[int]) -> list[list]:
    conn = sqlite3.connect(f"{DB_DIR}/{team}.db")
    cur = conn.cursor()
    cur.execute("create table users (id integer primary key, team text, source text)")
    for user_id in user_ids:
        with urllib.request.urlopen(f"{base}/teams/{team}/users/{user_id}", timeout=10) as resp:
            user = json.load(resp)
        cur.execute("insert into users values (?, ?, ?)", (user_id, team, user["path"]))
    conn.commit()
    rows = cur.execute("select id, team, source from users order by id").fetchall()
    conn.close()
    return [list(row) for row in rows]


async def main() -> None:
    base = base_url()
    teams = await asyncio.gather(import_team(base, "red", [1, 2, 3]),
                                 import_team(base, "blue", [4, 5, 6]))
    print(json.dumps(teams, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
