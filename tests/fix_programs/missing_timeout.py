"""Exchange rates fetched with `urllib.request.urlopen` and no timeout.

Without a timeout, a server that accepts the connection and never answers hangs the
caller forever. (Fix: OPT202, shape add_timeout; a correctness fix, not a speed-up.)

    python missing_timeout.py BASE_URL
"""

from __future__ import annotations

import json
import urllib.request

from minihttp import base_url


def fetch_rates(base: str, currencies: list[str]) -> dict:
    rates = {}
    for currency in currencies:
        request = urllib.request.Request(f"{base}/rates/{currency}",
                                         headers={"Accept": "application/json"})
        with urllib.request.urlopen(request) as resp:
            rates[currency] = json.load(resp)
    return rates


def server_version(base: str) -> str:
    return json.loads(urllib.request.urlopen(f"{base}/version").read())["path"]


def main() -> None:
    base = base_url()
    print(json.dumps({"version": server_version(base),
                      "rates": fetch_rates(base, ["EUR", "JPY"])}, sort_keys=True))


if __name__ == "__main__":
    main()
