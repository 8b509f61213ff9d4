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
import json
import sqlite3
import urllib.request

from minihttp import base_url


async def import_team(base: str, team: str, user_ids: list[int]) -> list[list]:
    users = []
    for user_id in user_ids:
        with urllib.request.urlopen(f"{base}/teams/{team}/users/{user_id}", timeout=10) as resp:
            users.append(json.load(resp))
    conn = sqlite3.connect(":memory:")
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
