"""Two teams' users are fetched from the API and loaded into SQLite, "concurrently".

Inside the coroutine, `urllib.request.urlopen` and every sqlite3 call block the event
loop, so the two teams are imported one after the other. Each block moves to a worker
thread whole: the `with urlopen(...)` block, and the connection with its cursor and every
use of them (sqlite3 objects work only in the thread that made them).
(Fix: OPT101, shape to_thread_block.)

    python blocking_block.py BASE_URL
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
    users = []
    for user_id in user_ids:
        with urllib.request.urlopen(f"{base}/teams/{team}/users/{user_id}", timeout=10) as resp:
            users.append(json.load(resp))
    conn = sqlite3.connect(f"{DB_DIR}/{team}.db")
    cur = conn.cursor()
    cur.execute("create table users (id integer primary key, team text, source text)")
    cur.executemany("insert into users values (?, ?, ?)",
                    [(user_id, team, user["path"]) for user_id, user in zip(user_ids, users)])
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
