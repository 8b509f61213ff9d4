"""What sharding a scan costs and saves: one scan against N shards run as N parallel
processes, and what the merge (`optadvisor report SHARD...`) costs as the tree grows.

    python benchmarks/shard_scale.py                      # the running interpreter's stdlib
    python benchmarks/shard_scale.py PATH --shards 2,4 --repeat 3
    python benchmarks/shard_scale.py --generate 3000      # a generated tree (tests/shard_tree.py)

The files optadvisor discovers under the root are copied into a private temporary tree
(nothing is written where the benchmark points). Then, with --jobs J cores in all:

  one scan     `scan TREE --format json --jobs J` with an empty cache dir (cold).
  N shards     `scan TREE --shard K/N --format json --jobs max(1, J/N)` for K = 1..N, started
               together, each with its own empty cache dir (cold): wall time until the last
               ends, and each shard's CPU time (its process tree's, from wait4) — on a CI
               matrix each shard has a runner of its own, so the largest shard CPU time is
               the critical path there, and the sum is what the matrix pays.
  merge        `report shard-*.json --format json` (median of --repeat), checked to give
               exactly the one scan's recommendations (rule, path, line, fingerprint, order).
  growth       the merge of N shards of the first 1/4, 1/2 and all of the files (sorted by
               path), with warm shards: seconds, seconds per 1,000 files, and the shard
               documents' size. The merge decodes facts, links and runs the rules; it parses
               nothing (a fix the shards could not see is built, rarely).

Machines are shared and noisy: the merge is reported as a fraction of the cold scan timed
in the same run, not in absolute seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", type=Path, default=None,
                        help="tree to scan (default: this interpreter's standard library)")
    parser.add_argument("--generate", type=int, default=0, metavar="FILES",
                        help="scan a generated tree of about FILES files instead")
    parser.add_argument("--shards", default="2,4", help="shard counts, comma-separated")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="cores in all (default: this machine's)")
    parser.add_argument("--repeat", type=int, default=3, help="merge timings (median)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep-tmp", action="store_true")
    return parser.parse_args(argv)


def workspace(args: argparse.Namespace, workdir: Path) -> tuple[Path, list[str]]:
    """A private copy of the file set; returns the tree and its relative paths, sorted."""
    tree = workdir / "tree"
    if args.generate:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from shard_tree import generate

        generate(tree, files=args.generate)
        return tree, sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.py"))
    from optadvisor.config import load_config
    from optadvisor.discover import discover

    root = (args.root or Path(sysconfig.get_paths()["stdlib"])).resolve()
    found = discover([root], load_config([root]))
    if not found.files:
        raise SystemExit(f"error: optadvisor discovers no files under {root}")
    for source in found.files:
        target = tree / source.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.path, target)
    return tree, sorted(s.rel for s in found.files)


def subset(tree: Path, rels: list[str], fraction: float, dest: Path) -> Path:
    """The first `fraction` of the files, by path (whole packages, mostly)."""
    if fraction >= 1:
        return tree
    for rel in rels[: max(1, int(len(rels) * fraction))]:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / rel, target)
    return dest


def optadvisor(*args: str) -> list[str]:
    return [sys.executable, "-m", "optadvisor", *args]


def run_parallel(commands: list[list[str]]) -> dict[str, Any]:
    """Start every command at once; wall time until the last ends, and each one's CPU
    seconds (user + system of it and the children it waited for, from wait4)."""
    started = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for cmd in commands]
    cpu: dict[int, float] = {}
    ends: dict[int, float] = {}
    pending = {p.pid: p for p in procs}
    while pending:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in pending:
            continue
        proc = pending.pop(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu[pid] = usage.ru_utime + usage.ru_stime
        ends[pid] = time.perf_counter() - started
        if proc.returncode not in (0, 1):
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"error: {' '.join(proc.args[2:6])} ... exited "
                             f"{proc.returncode}:\n{err[-3000:]}")
    return {"wall": time.perf_counter() - started,
            "cpu": [cpu[p.pid] for p in procs], "ends": [ends[p.pid] for p in procs]}


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"error: {' '.join(cmd[2:6])} ... exited {proc.returncode}:\n"
                         f"{proc.stderr.decode(errors='replace')[-3000:]}")
    return time.perf_counter() - started


def keys(path: Path) -> list[tuple[str, str, int, str]]:
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    return [(r["rule"], r["path"], r["line"], r["fingerprint"])
            for r in report["recommendations"]]


def fixes_built(docs: list[Path]) -> tuple[int, int]:
    """(fixes the merge had to build, recommendations): the sites only the whole view
    finds (chains across shards), whose files the merge parses to build their fix."""
    from optadvisor import shard
    from optadvisor.api import load_reports

    built = []
    put = shard.KnownFixes.put
    shard.KnownFixes.put = lambda self, key, fix, snippet: (  # type: ignore[method-assign]
        built.append(key), put(self, key, fix, snippet))[1]
    try:
        report = load_reports(docs)
    finally:
        shard.KnownFixes.put = put  # type: ignore[method-assign]
    return len(built), len(report.recommendations)


def shard_commands(tree: Path, count: int, jobs: int, out: Path, caches: Path | None,
                   shared_cache: Path | None = None) -> list[list[str]]:
    commands = []
    for k in range(1, count + 1):
        cache = shared_cache or (caches / f"shard-{k}" if caches else None)
        commands.append(optadvisor(
            "scan", str(tree), "--shard", f"{k}/{count}", "--format", "json", "-o",
            str(out / f"shard-{k}.json"), "-q", "--fail-on", "never",
            "--jobs", str(max(1, jobs // count)), "--cache-dir", str(cache)))
    return commands


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = [int(n) for n in args.shards.split(",") if n.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="optadvisor-shards-"))
    figures: dict[str, Any] = {"jobs": args.jobs, "shards": {}, "growth": {}}
    ok = True
    try:
        tree, rels = workspace(args, workdir)
        lines = sum((tree / rel).read_bytes().count(b"\n") for rel in rels)
        figures.update(files=len(rels), lines=lines)
        log(f"{len(rels):,} files, {lines:,} lines in {tree}")

        whole = workdir / "whole.json"
        log("one scan (cold) ...")
        one = run_parallel([optadvisor("scan", str(tree), "--format", "json", "-o", str(whole),
                                       "-q", "--fail-on", "never", "--jobs", str(args.jobs),
                                       "--cache-dir", str(workdir / "cache-whole"))])
        figures["one_scan"] = {"wall": one["wall"], "cpu": one["cpu"][0]}
        expected = keys(whole)
        print(f"files {len(rels):,}, lines {lines:,}, {len(expected):,} recommendations, "
              f"--jobs {args.jobs} in all")
        print(f"one scan (cold):           wall {one['wall']:7.2f} s   cpu {one['cpu'][0]:7.2f} s")

        for count in counts:
            out = workdir / f"n{count}"
            out.mkdir()
            log(f"{count} shards (cold, in parallel) ...")
            run = run_parallel(shard_commands(tree, count, args.jobs, out, workdir / f"c{count}"))
            docs = [out / f"shard-{k}.json" for k in range(1, count + 1)]
            merge_cmd = optadvisor("report", *map(str, docs), "--format", "json", "-o",
                                   str(out / "merged.json"))
            merges = [timed(merge_cmd) for _ in range(args.repeat)]
            same = keys(out / "merged.json") == expected
            ok &= same
            merge = statistics.median(merges)
            size = sum(d.stat().st_size for d in docs)
            figures["shards"][count] = {
                "wall": run["wall"], "cpu": run["cpu"], "merge": merges, "same": same,
                "document_bytes": size}
            print(f"{count} shards in parallel:     wall {run['wall']:7.2f} s   cpu per shard "
                  + " ".join(f"{c:.1f}" for c in run["cpu"])
                  + f" s (max {max(run['cpu']):.1f} = {max(run['cpu']) / one['cpu'][0]:.2f}x "
                  f"the one scan's cpu, sum {sum(run['cpu']):.1f})")
            built, total = fixes_built(docs)
            figures["shards"][count]["fixes_built"] = built
            print(f"  merge of {count}:              {merge:7.2f} s = "
                  f"{merge / one['wall']:.1%} of the one scan's wall; documents "
                  f"{size / 2**20:.1f} MiB; recommendations "
                  f"{'IDENTICAL to' if same else 'DIFFER from'} the one scan; "
                  f"{built} of {total} fixes built at the merge (sites across shards)")

        count = max(counts)
        shared = workdir / "cache-whole"  # holds every file's facts: growth shards are warm
        print(f"merge of {count} warm shards as the tree grows:")
        print("  files     lines   docs MiB   merge s   s/1k files   of one cold scan")
        for fraction in (0.25, 0.5, 1.0):
            part = subset(tree, rels, fraction, workdir / f"part-{fraction}")
            part_rels = rels[: max(1, int(len(rels) * fraction))]
            part_lines = sum((part / rel).read_bytes().count(b"\n") for rel in part_rels)
            out = workdir / f"g{fraction}"
            out.mkdir()
            for cmd in shard_commands(part, count, args.jobs, out, None, shared):
                timed(cmd)
            docs = [out / f"shard-{k}.json" for k in range(1, count + 1)]
            cmd = optadvisor("report", *map(str, docs), "--format", "json", "-o",
                             str(out / "merged.json"))
            merge = statistics.median(timed(cmd) for _ in range(args.repeat))
            size = sum(d.stat().st_size for d in docs)
            figures["growth"][fraction] = {"files": len(part_rels), "lines": part_lines,
                                           "merge": merge, "document_bytes": size}
            print(f"  {len(part_rels):5,} {part_lines:9,} {size / 2**20:10.1f} {merge:9.2f} "
                  f"{merge / len(part_rels) * 1000:12.3f} {merge / one['wall']:17.1%}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print("merged == one scan for every N" if ok else "MISMATCH: see above")
        return 0 if ok else 1
    finally:
        if args.keep_tmp:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
