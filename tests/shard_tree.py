"""A generated project whose findings cross files: async handlers calling sync helpers in
other modules that end in `requests.get` / `time.sleep` (OPT104 chains, two hops deep),
awaits in loops of coroutines defined elsewhere (whether they reach I/O is a cross-file
fact), setup code calling helpers (runs-once), class constructors imported from another
package, and padding of varied size so the size-balanced partition scatters each chain
over different shards."""

from __future__ import annotations

import random
from pathlib import Path

HELPER = '''import time

import requests


def fetch_{i}(url):
    return requests.get(url)


def pause_{i}(seconds):
    time.sleep(seconds)


class Store{i}:
    def __init__(self, path):
        self.data = open(path).read()

    def load(self, key):
        return requests.get("https://example.invalid/" + key, timeout=5).json()
'''

MIDDLE = '''from pkg.helpers.h{j} import fetch_{j}, pause_{j}


def refresh_{i}(url):
    pause_{j}(1)
    return fetch_{j}(url)


async def remote_{i}(client, item):
    return await client.get("https://example.invalid/" + str(item))


async def idle_{i}(item):
    return item
'''

SERVICE = '''import asyncio

from pkg.helpers.h{j} import Store{j}, fetch_{j}
from pkg.middle.m{k} import idle_{k}, refresh_{k}, remote_{k}


async def handle_{i}(url):
    page = refresh_{k}(url)
    return fetch_{j}(page)


async def crawl_{i}(client, items):
    out = []
    for item in items:
        out.append(await remote_{k}(client, item))
    return out


async def cheap_{i}(items):
    out = []
    for item in items:
        out.append(await idle_{k}(item))
    return out


async def startup_{i}():
    return Store{j}("settings.json")


async def handler_{i}(store, key):
    await asyncio.sleep(0)
    return store.load(key)
'''

PADDING = '''

def padding_{i}_{n}(values):
    total = 0
    for value in values:
        total += value * {n}
    return total
'''


def generate(root: Path, files: int = 300, seed: int = 12) -> Path:
    """About `files` files: a third helpers, a third middle modules, a third services."""
    rng = random.Random(seed)
    each = max(1, files // 3)
    sources: dict[str, str] = {"pkg/__init__.py": "", "pkg/helpers/__init__.py": "",
                               "pkg/middle/__init__.py": "", "pkg/services/__init__.py": ""}
    for i in range(each):
        sources[f"pkg/helpers/h{i}.py"] = HELPER.format(i=i)
        sources[f"pkg/middle/m{i}.py"] = MIDDLE.format(i=i, j=rng.randrange(each))
        sources[f"pkg/services/s{i}.py"] = SERVICE.format(
            i=i, j=rng.randrange(each), k=rng.randrange(each))
    for number, rel in enumerate(sorted(sources)):
        if not rel.endswith("__init__.py"):
            sources[rel] += "".join(PADDING.format(i=number, n=n)
                                    for n in range(rng.randrange(0, 12)))
    for rel, text in sources.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
