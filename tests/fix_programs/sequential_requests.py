"""A sync report built from three independent API reads, made one after another.

None of the three reads another's result, so the report waits for the sum of the three
latencies instead of the slowest one. (Fix: OPT209, shape thread_pool.)

    python sequential_requests.py BASE_URL
"""

from __future__ import annotations

import json
import urllib.request

from minihttp import base_url


def report(base: str, user_id: int) -> dict:
    profile = urllib.request.urlopen(f"{base}/users/{user_id}/profile", timeout=10).read()
    orders = urllib.request.urlopen(f"{base}/users/{user_id}/orders", timeout=10).read()
    messages = urllib.request.urlopen(f"{base}/users/{user_id}/messages", timeout=10).read()
    return {"profile": json.loads(profile), "orders": json.loads(orders),
            "messages": json.loads(messages)}


def main() -> None:
    print(json.dumps(report(base_url(), 42), sort_keys=True))


if __name__ == "__main__":
    main()
