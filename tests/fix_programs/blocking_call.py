"""An async report handler that reaches the API through sync calls.

`urlopen(...).read()` in the coroutine and the sync helper `load_user` both block the event
loop, so the per-user reports that `main` gathers run one after the other.
(Fix: OPT101 and OPT104, shape to_thread.)

    python blocking_call.py BASE_URL
"""

# ruff flags the blocking call too: in a coroutine, it is what this program is about.
# ruff: noqa: ASYNC210

from __future__ import annotations

import asyncio
import json
import urllib.request

from minihttp import base_url


def load_user(base: str, user_id: int) -> dict:
    with urllib.request.urlopen(f"{base}/users/{user_id}", timeout=10) as resp:
        return json.load(resp)


async def report(base: str, user_id: int) -> dict:
    user = load_user(base, user_id)
    body = urllib.request.urlopen(f"{base}/users/{user_id}/quota", timeout=10).read()
    return {"user": user, "quota": json.loads(body)}


async def main() -> None:
    base = base_url()
    reports = await asyncio.gather(*(report(base, user_id) for user_id in (1, 2, 3)))
    print(json.dumps(reports, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
