"""Benchmark target for benchmarks/profile_overhead.py: four user functions with distinct,
stable costs, 1.5-2 s in all, deterministic (no randomness, fixed inputs).

    cpu_loop    pure-Python arithmetic               0.5-0.7 s  (CPU)
    wait_io     time.sleep, standing in for I/O      0.5 s      (idle)
    parse_json  json.loads of a fixed document       0.3-0.45 s (CPU in the json C code)
    build_list  builds a list of 150,000 tuples      0.23-0.35 s (CPU, allocations)

`main` calls each of them in turn, ROUNDS times, so every function's time is spread over
the whole run. (The CPU costs depend on the machine and its load; wait_io's does not.)

Environment (read by the benchmark, unset in normal use):

    OPTADVISOR_BENCH_BODY=FILE     append one JSON line to FILE when the script ends:
                                   {"body": seconds from the first line to the last}
    OPTADVISOR_BENCH_TIMINGS=1     also wrap each function in a perf_counter accumulator
                                   (inclusive time) and add {"functions": {name: seconds}}
"""

import time

_T0 = time.perf_counter()

import json
import os

ROUNDS = 5
CPU_N = 800_000
SLEEP_S = 0.1
JSON_REPEAT = 5
LIST_N = 150_000
DOCUMENT = json.dumps([{"id": i, "name": f"item-{i}", "tags": ["a", "b", "c"], "score": i * 0.5,
                        "nested": {"x": i % 7, "y": [i, i + 1, i + 2]}}
                       for i in range(6000)])


def cpu_loop(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i * i) % 1_000_003
        if total & 1:
            total ^= i
    return total


def wait_io(seconds):
    time.sleep(seconds)


def parse_json(text, repeat):
    count = 0
    for _ in range(repeat):
        count += len(json.loads(text))
    return count


def build_list(n):
    rows = []
    for i in range(n):
        rows.append((i, i * 2, str(i)))
    return len(rows)


def main():
    checksum = 0
    for _ in range(ROUNDS):
        checksum += cpu_loop(CPU_N)
        wait_io(SLEEP_S)
        checksum += parse_json(DOCUMENT, JSON_REPEAT)
        checksum += build_list(LIST_N)
    return checksum


_TIMINGS = {}


def _timed(function):
    name = function.__qualname__
    _TIMINGS[name] = 0.0
    clock = time.perf_counter

    def wrapper(*args, **kwargs):
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            _TIMINGS[name] += clock() - started

    return wrapper


if os.environ.get("OPTADVISOR_BENCH_TIMINGS"):
    cpu_loop = _timed(cpu_loop)
    wait_io = _timed(wait_io)
    parse_json = _timed(parse_json)
    build_list = _timed(build_list)
    main = _timed(main)

print(main())

_BODY = time.perf_counter() - _T0
if os.environ.get("OPTADVISOR_BENCH_BODY"):
    _line = {"body": _BODY}
    if _TIMINGS:
        _line["functions"] = _TIMINGS
    with open(os.environ["OPTADVISOR_BENCH_BODY"], "a", encoding="utf-8") as _handle:
        _handle.write(json.dumps(_line) + "\n")
