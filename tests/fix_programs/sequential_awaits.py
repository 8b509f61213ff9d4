"""A dashboard built from three independent API calls, awaited one after another.

None of the three reads another's result, so the page waits for the sum of the three
latencies instead of the slowest one. (Fix: OPT102, shape gather.)

    python sequential_awaits.py BASE_URL
"""

from __future__ import annotations

import asyncio
import json

from minihttp import base_url, get_json


async def dashboard(base: str, user_id: int) -> dict:
    profile = await get_json(f"{base}/users/{user_id}/profile")
    orders = await get_json(f"{base}/users/{user_id}/orders")
    messages = await get_json(f"{base}/users/{user_id}/messages")
    return {"profile": profile, "orders": orders, "messages": messages}


async def main() -> None:
    print(json.dumps(await dashboard(base_url(), 42), sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
