"""Price look-ups that open a new HTTP connection for every call.

`fetch_price` builds an `http.client.HTTPConnection` per call, so every look-up pays the
connection set-up again (on a real network: DNS, TCP, TLS). One connection, kept alive
and reused, pays it once. (Fix: OPT201, shape hoist_client.)

http.client is not in optadvisor's client catalog; optadvisor.toml next to this file adds
it (stdlib_clients.toml), as a project would add its own client types.

    python client_per_call.py BASE_URL
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from minihttp import base_url

API = urlsplit(base_url())
SKUS = ["A-100", "B-200", "C-300", "D-400", "E-500", "F-600"]


def fetch_price(sku: str) -> dict:
    conn = http.client.HTTPConnection(API.hostname, API.port, timeout=10)
    conn.request("GET", f"{API.path}/prices/{sku}", headers={"Accept": "application/json"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{sku}: HTTP {resp.status}")
    return json.loads(body)


def main() -> None:
    print(json.dumps([fetch_price(sku) for sku in SKUS], sort_keys=True))


if __name__ == "__main__":
    main()
