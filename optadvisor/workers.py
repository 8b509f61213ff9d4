"""Analysis of many files in worker processes, surviving workers that die.

Files go out in batches (largest first, so one big file does not finish last); a worker
loads the catalog once and analyzes its batch in a deep-stack thread. If a worker process
dies (a crash in a native parser, the OOM killer), the pool is rebuilt and the files of the
lost batches are retried one per task, so the one file that kills a worker is pinned down
and recorded as an error while every other file is still analyzed.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from optadvisor.analyze import analyze_bytes, run_with_deep_stack
from optadvisor.analyze.catalog import Catalog, load_catalog
from optadvisor.models import ErrorRecord, FileFacts

Job = tuple[str, bytes]
Outcome = FileFacts | ErrorRecord
Progress = Callable[[int], None]

_WORKER_CATALOG: tuple[tuple[str, ...], Catalog] | None = None
BATCH_BYTES = 192 * 1024
BATCH_FILES = 24


def _catalog_for(paths: tuple[str, ...]) -> Catalog:
    global _WORKER_CATALOG
    if _WORKER_CATALOG is None or _WORKER_CATALOG[0] != paths:
        _WORKER_CATALOG = (paths, load_catalog([Path(p) for p in paths]))
    return _WORKER_CATALOG[1]


def _analyze_batch(batch: list[Job], catalog_paths: tuple[str, ...],
                   max_bytes: int) -> list[Outcome]:
    _test_crash_hook(batch)
    catalog = _catalog_for(catalog_paths)
    return run_with_deep_stack(
        lambda: [analyze_bytes(rel, data, catalog, max_bytes) for rel, data in batch])


def _test_crash_hook(batch: list[Job]) -> None:
    """TEST-ONLY: `OPTADVISOR_TEST_CRASH_ON=<substring>` makes a worker process die
    (`os._exit(1)`, as a native crash or the OOM killer would) on a file whose rel path
    contains the substring, so tests can prove one dying worker costs one file. Only in
    worker processes, never in the main one (inline runs are not protected by design)."""
    needle = os.environ.get("OPTADVISOR_TEST_CRASH_ON")
    if (needle and multiprocessing.parent_process() is not None
            and any(needle in rel for rel, _ in batch)):
        os._exit(1)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _batches(jobs: list[Job], processes: int = 1) -> list[list[Job]]:
    # At most a quarter of each worker's fair share per batch: with few files, batching by
    # bytes alone put every file in one batch on one worker (five small but pathological
    # files, e.g. 5,000-deep expressions libcst needs seconds for, ran one after another
    # while the other cores idled).
    per_batch = min(BATCH_FILES, max(1, -(-len(jobs) // (max(1, processes) * 4))))
    ordered = sorted(jobs, key=lambda j: len(j[1]), reverse=True)
    out: list[list[Job]] = []
    current: list[Job] = []
    size = 0
    for job in ordered:
        if current and (size + len(job[1]) > BATCH_BYTES or len(current) >= per_batch):
            out.append(current)
            current, size = [], 0
        current.append(job)
        size += len(job[1])
    if current:
        out.append(current)
    return out


def _context() -> multiprocessing.context.BaseContext:
    # forkserver: cheap workers without forking a process that may hold threads (the
    # progress bar's); spawn where forkserver does not exist.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def analyze_all(jobs: list[Job], catalog: Catalog, catalog_paths: tuple[str, ...],
                max_bytes: int, processes: int, progress: Progress | None = None
                ) -> dict[str, Outcome]:
    results: dict[str, Outcome] = {}
    if not jobs:
        return results
    if processes <= 1 or len(jobs) <= 2:
        def inline() -> None:
            for rel, data in jobs:
                results[rel] = analyze_bytes(rel, data, catalog, max_bytes)
                if progress:
                    progress(1)
        run_with_deep_stack(inline)
        return results

    retry: list[Job] = []
    with ProcessPoolExecutor(max_workers=processes, mp_context=_context()) as pool:
        futures: dict[Future[list[Outcome]], list[Job]] = {
            pool.submit(_analyze_batch, batch, catalog_paths, max_bytes): batch
            for batch in _batches(jobs, processes)
        }
        for future in as_completed(futures):
            batch = futures[future]
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                retry.extend(batch)
                continue
            for (rel, _), outcome in zip(batch, outcomes):
                results[rel] = outcome
            if progress:
                progress(len(batch))
    _retry(retry, catalog_paths, max_bytes, results, progress)
    return results


def _retry(lost: list[Job], catalog_paths: tuple[str, ...], max_bytes: int,
           results: dict[str, Outcome], progress: Progress | None) -> None:
    """Re-analyze the files of batches lost with a dead worker, pinning down the culprit.

    One worker, one file per task, in order: when that worker dies, every file before the
    first failed task is done, and the first failed task is the suspect; it is confirmed
    in a process of its own and the rest goes to a fresh worker. Before, every lost file
    got a new pool of its own (about half a second each: 30 lost files cost 15 s); now
    each death costs one restart.
    """
    pending = list(lost)
    while pending:
        failed_at = len(pending)
        with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
            futures = [pool.submit(_analyze_batch, [job], catalog_paths, max_bytes)
                       for job in pending]
            for index, ((rel, _), future) in enumerate(zip(pending, futures)):
                try:
                    results[rel] = future.result()[0]
                except BrokenProcessPool:
                    failed_at = index
                    break
                if progress:
                    progress(1)
        if failed_at == len(pending):
            return
        rel, data = pending[failed_at]
        results[rel] = _isolated(rel, data, catalog_paths, max_bytes)
        if progress:
            progress(1)
        pending = pending[failed_at + 1:]


def _isolated(rel: str, data: bytes, catalog_paths: tuple[str, ...], max_bytes: int) -> Outcome:
    """One file in a process of its own: if that process dies, the file is the culprit."""
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
            return pool.submit(_analyze_batch, [(rel, data)], catalog_paths, max_bytes) \
                .result()[0]
    except BrokenProcessPool:
        return ErrorRecord(rel, "internal-error",
                           "the analyzer process died on this file (crash or out of memory)")
