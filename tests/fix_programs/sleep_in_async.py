"""Three watchers poll a job API and back off between polls with `time.sleep`.

`time.sleep` inside a coroutine holds the whole event loop: while one watcher backs off,
the others cannot even read their answers. (Fix: OPT101, shape asyncio_sleep.)

    python sleep_in_async.py BASE_URL
"""

# ruff flags the blocking call too: in a coroutine, it is what this program is about.
# ruff: noqa: ASYNC251

from __future__ import annotations

import asyncio
import json
import time

from minihttp import base_url, get_json

BACKOFF = 0.15


async def watch(base: str, job: str, polls: int) -> dict:
    seen = []
    for step in range(polls):
        status = await get_json(f"{base}/jobs/{job}/status?poll={step}")
        seen.append(status["path"])
        time.sleep(BACKOFF)  # give the job time to progress before the next poll
    return {"job": job, "polls": seen}


async def main() -> None:
    base = base_url()
    watched = await asyncio.gather(*(watch(base, job, 2) for job in ("build", "test", "lint")))
    print(json.dumps(watched, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
