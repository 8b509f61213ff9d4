"""One request per catalog item, each awaited before the next one starts.

Nothing ties one iteration to the next, so the loop takes the sum of all the waits.
(Fix: OPT103, shape gather_loop.)

    python await_loop.py BASE_URL
"""

from __future__ import annotations

import asyncio
import json

from minihttp import base_url, get_json

ITEMS = ["anvil", "bolt", "cog", "drill", "edge", "file"]


async def load_items(base: str, names: list[str]) -> list[dict]:
    items = []
    for name in names:
        items.append(await get_json(f"{base}/items/{name}"))
    return items


async def main() -> None:
    print(json.dumps(await load_items(base_url(), ITEMS), sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
