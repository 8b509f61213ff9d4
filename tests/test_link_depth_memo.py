"""What link.IoReach says of a coroutine does not depend on which coroutine was asked
first. Its walk stops DEPTH awaits down; a walk that reached a coroutine near that limit
once answered for every later walk from it, so a coroutine asked first from the top of a
longer chain made the one below it look idle. Which was asked first followed the order of
a set of names: the finding came and went with PYTHONHASHSEED (fast-agent's capability
checks, I/O in one run of four)."""

from __future__ import annotations

import os
import subprocess
import sys

from optadvisor.api import scan_source

CHAIN = '''import httpx


class Chain:
    def __init__(self, client: httpx.AsyncClient):
        self.client = client

    async def a_top(self, item):
        return await self.b_first(item)

    async def b_first(self, item):
        return await self.c_second(item)

    async def c_second(self, item):
        return await self.d_third(item)

    async def d_third(self, item):
        return await self.e_leaf(item)

    async def e_leaf(self, item):
        return await self.client.get(f"https://api.example.com/{item}")

    async def from_top(self, items):
        out = []
        for item in items:
            out.append(await self.a_top(item))
        return out

    async def from_first(self, items):
        out = []
        for item in items:
            out.append(await self.b_first(item))
        return out
'''


def test_a_coroutine_walked_near_the_depth_limit_still_reaches_io_from_the_top():
    recs, error = scan_source(CHAIN, select=("OPT103",))
    assert error is None
    # b_first reaches the request three awaits down; a_top four down, past the limit.
    assert [r.symbol for r in recs] == ["Chain.from_first"]


def test_the_link_stage_gives_the_same_findings_whatever_the_hash_seed(tmp_path):
    (tmp_path / "chain.py").write_text(CHAIN)
    script = ("import sys; from pathlib import Path; from optadvisor.api import scan_source; "
              "recs, _ = scan_source(Path(sys.argv[1]).read_text(), select=('OPT103',)); "
              "print([r.symbol for r in recs])")
    seen = set()
    for seed in ("1", "2", "3", "4", "5"):
        out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "chain.py")],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        seen.add(out.stdout.strip())
    assert seen == {"['Chain.from_first']"}
