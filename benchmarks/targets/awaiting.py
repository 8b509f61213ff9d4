"""Benchmark target for benchmarks/await_overhead.py: an asyncio client that awaits a
local service one request at a time (`load_all`, an await-in-loop), with a little JSON
work per answer. About 1 s, deterministic inputs.

    --mode service   (default) ROUNDS x REQUESTS round trips over one connection to a
                     local echo service started by the script: real socket waits
    --mode tight     the worst case for the await driver: awaits that never wait
                     (`asyncio.sleep(0)`), nothing else per item

OPTADVISOR_BENCH_BODY=FILE appends {"body": seconds from the first line to the last}.
"""

import time

_T0 = time.perf_counter()

import argparse
import asyncio
import json
import os

ROUNDS = 6
REQUESTS = 400
TIGHT = 40_000
PAYLOAD = json.dumps({"items": [{"id": i, "tags": ["a", "b"]} for i in range(40)]})


async def echo(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def fetch(reader, writer, item):
    writer.write(PAYLOAD.encode() + b"\n")
    await writer.drain()
    answer = json.loads(await reader.readline())
    return len(answer["items"]) + item


async def load_all(reader, writer, count):
    results = []
    for item in range(count):
        results.append(await fetch(reader, writer, item))
    return results


async def step(item):
    await asyncio.sleep(0)
    return item


async def tight(count):
    results = []
    for item in range(count):
        results.append(await step(item))
    return results


async def main(mode):
    if mode == "tight":
        return len(await tight(TIGHT))
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    total = 0
    async with server:
        for _ in range(ROUNDS):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            total += len(await load_all(reader, writer, REQUESTS))
            writer.close()
            await writer.wait_closed()
        await asyncio.sleep(0.01)  # the service's handlers see the end of their streams
    return total


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("service", "tight"), default="service")
    print(asyncio.run(main(parser.parse_args().mode)))
    body_file = os.environ.get("OPTADVISOR_BENCH_BODY")
    if body_file:
        with open(body_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"body": time.perf_counter() - _T0}) + "\n")
