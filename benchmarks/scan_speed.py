"""How fast is `optadvisor scan`, against references measured in the same run.

    python benchmarks/scan_speed.py                 # the running interpreter's stdlib
    python benchmarks/scan_speed.py --quick         # only email/, json/, asyncio/ of it
    python benchmarks/scan_speed.py PATH --jobs 2 --repeat 3 --json out.json

Every figure that gets a PASS/FAIL is a ratio against a reference timed in the same run on
the same files (machines are shared and noisy), except the peak memory, whose target is
absolute.

The file set is fixed once: the files `optadvisor.discover.discover` finds under the root,
minus the ones libcst cannot parse at all (counted and listed). Those files are copied into
a private temporary tree and every measurement runs on that copy, so the benchmark never
writes into the tree it was pointed at, every tool sees byte-identical files, and the
one-file-changed step can edit a file. Before timing anything, optadvisor's discovery on the
copy is checked to return exactly that file set.

Measurements (each one the median of --repeat runs; the runs are interleaved):

  bare parse   `libcst.parse_module` of every file in a forkserver process pool of --jobs
               processes (the start method optadvisor's workers use), largest file first;
               wall time from creating the pool to its shutdown, so worker start-up and the
               libcst import are included, as they are in a scan.
  cold         `optadvisor scan TREE --format json --no-cache -q --fail-on never --jobs N`
               as a subprocess: wall time, and peak memory of its process tree.
  cold+cache   the same with `--cache-dir EMPTY_DIR` instead of --no-cache (cost of writing
               the cache); each repeat gets a new empty cache dir.
  warm         the same command again with that cache, nothing changed.
  one changed  a comment line appended to one file (--changed-file, default: the file of
               median size), the same command again; the file is restored afterwards
               (nothing moves: the other files' links cannot change).
  one moved    a comment line inserted at the top of that file (every line of it moves, and
               with them the hops of chains through it), the same command again; restored.
  one relinked a function that calls another appended to that file (its calls change:
               the whole project is linked again), the same command; restored.
  ruff         `ruff check --isolated --no-cache --exit-zero -q --output-format concise
               --select ASYNC,PERF -- FILES...` over the same file list (--ruff-select: other
               rules; `default`: ruff's default rule set), with RAYON_NUM_THREADS=--jobs so
               that it gets as many cores as optadvisor. ASYNC and PERF are ruff's rules for
               what optadvisor looks for (blocking calls in async code, performance
               anti-patterns). `--select ALL` and ruff's default rules are timed as well, for
               information. `--output-format full` (ruff's default) prints a code frame
               per diagnostic: 7 million lines for ALL on the stdlib, 5x the time of the
               check itself, so it is not the default reference here (--ruff-format).

Peak memory: psutil samples the RSS of the scan process and all of its descendants (the
forkserver and the workers) every 50 ms and keeps the largest sum. A sum of RSS counts
pages shared between processes more than once, so it is an upper bound.

Targets: cold / bare parse <= 2.0, warm / ruff <= 1.0, one file changed (each of the three
ways) / ruff <= 1.5, peak RSS of the cold scan <= 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

QUICK_SUBSET = ("email", "json", "asyncio")
GIB = 1024 ** 3
MIB = 1024 ** 2
TARGETS = {
    "cold_over_bare": 2.0,
    "warm_over_ruff": 1.0,
    "one_changed_over_ruff": 1.5,
    "one_moved_over_ruff": 1.5,
    "one_relinked_over_ruff": 1.5,
    "peak_rss_gib": 1.0,
}


# --------------------------------------------------------------------------- bare parse
# Module-level and import-light: these run in the pool's worker processes.


def _import_libcst() -> None:
    import libcst  # noqa: F401


def _parse_one(path: str) -> tuple[str, float, str | None]:
    """Parse one file with libcst: (path, seconds spent in parse_module, error or None)."""
    import libcst

    data = Path(path).read_bytes()
    started = time.perf_counter()
    try:
        libcst.parse_module(data)
    except Exception as exc:  # noqa: BLE001 - any refusal means "skip this file"
        return path, time.perf_counter() - started, f"{type(exc).__name__}: {_first_line(exc)}"
    return path, time.perf_counter() - started, None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def bare_parse(paths: list[Path], jobs: int) -> dict[str, Any]:
    """Wall time of parsing every path with libcst in a pool of `jobs` processes."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    ordered = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    failures: dict[str, str] = {}
    parse_seconds = 0.0  # wall time inside parse_module, summed over files
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                             initializer=_import_libcst) as pool:
        for path, seconds, error in pool.map(_parse_one, [str(p) for p in ordered],
                                             chunksize=2):
            parse_seconds += seconds
            if error is not None:
                failures[path] = error
    wall = time.perf_counter() - started
    return {"seconds": wall, "parse_seconds_summed": parse_seconds, "failures": failures}


# --------------------------------------------------------------------------- the file set


@contextmanager
def _without_git_listing() -> Iterator[None]:
    """Discovery as it runs outside a git work tree: the .gitignore-aware walk."""
    import optadvisor.discover as discover_module

    saved = discover_module._git_files
    discover_module._git_files = lambda directory: None
    try:
        yield
    finally:
        discover_module._git_files = saved


def _git_ignores(path: Path) -> str | None:
    """The git work tree that ignores `path`, or None."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        top = subprocess.run([git, "rev-parse", "--show-toplevel"], cwd=path,
                             capture_output=True, text=True, check=False, timeout=30)
        if top.returncode != 0:
            return None
        ignored = subprocess.run([git, "check-ignore", "-q", "."], cwd=path,
                                 capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return top.stdout.strip() if ignored.returncode == 0 else None


def discover_files(root: Path, subset: tuple[str, ...], config_file: Path | None
                   ) -> tuple[list[Any], Any, list[str]]:
    """optadvisor's own file list for the scan of `root` (or of `root/<subset dir>`...)."""
    from optadvisor.config import load_config
    from optadvisor.discover import discover

    paths = [root / name for name in subset] if subset else [root]
    for path in paths:
        if not path.is_dir():
            raise SystemExit(f"error: {path} is not a directory")
    config = load_config(paths, config_file)
    found = discover(paths, config)
    notes: list[str] = []
    if not found.files:
        top = _git_ignores(paths[0])
        if top is not None:
            notes.append(
                f"optadvisor discovered 0 files: {paths[0]} lies inside the git work tree "
                f"{top}, which ignores it, and discovery lists files with `git ls-files "
                "--exclude-standard`, which drops every ignored file even under a directory "
                "named on the command line (an optadvisor discovery bug). The file set is "
                "taken from optadvisor's non-git walk instead (same include/exclude and "
                ".gitignore handling, as for a tree outside git).")
            with _without_git_listing():
                found = discover(paths, config)
    return list(found.files), config, notes


def make_workspace(files: list[Any], root: Path, workdir: Path) -> Path:
    """Copy the files to workdir/tree/<root name>/<rel>; return that tree."""
    tree = workdir / "tree" / (root.name or "root")
    for source in files:
        target = tree / source.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.path, target)
    return tree


# --------------------------------------------------------------------------- subprocesses


class TreeMemory:
    """Peak of the summed RSS of a process and its descendants, sampled every `interval`."""

    def __init__(self, pid: int, interval: float = 0.05, refresh: float = 0.25) -> None:
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.refresh = refresh
        self.peak_sum = 0
        self.peak_single = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        psutil = self.psutil
        procs: dict[int, Any] = {}
        listed = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - listed >= self.refresh:  # walking /proc for children costs more
                listed = now
                try:
                    for child in [self.root, *self.root.children(recursive=True)]:
                        procs.setdefault(child.pid, child)
                except psutil.Error:
                    pass
            total = 0
            alive = 0
            for pid, proc in list(procs.items()):
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    del procs[pid]
                    continue
                total += rss
                alive += 1
                self.peak_single = max(self.peak_single, rss)
            self.peak_sum = max(self.peak_sum, total)
            self.peak_processes = max(self.peak_processes, alive)
            self.samples += 1
            self._stop.wait(self.interval)


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
              stdout_path: Path | None = None, memory: bool = True) -> dict[str, Any]:
    """Wall time (and peak tree memory) of one command; its stdout goes to a file or away."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE)
        if memory:
            mem = TreeMemory(proc.pid)
            with mem:
                _, err = proc.communicate()
        else:
            mem = None
            _, err = proc.communicate()
        seconds = time.perf_counter() - started
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd[:6])} ... exited {proc.returncode}:\n"
                         f"{err.decode(errors='replace')[-3000:]}")
    result: dict[str, Any] = {"seconds": seconds}
    if mem is not None:
        result.update(peak_rss_sum=mem.peak_sum, peak_rss_single=mem.peak_single,
                      peak_processes=mem.peak_processes, samples=mem.samples)
    return result


def scan_summary(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    summary = report["summary"]
    summary["error_kinds"] = sorted({e["kind"] for e in report.get("errors", [])})
    return summary


def find_ruff() -> str | None:
    here = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    if here.is_file():
        return str(here)
    return shutil.which("ruff")


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _version_of(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False,
                              timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


# --------------------------------------------------------------------------- the run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    default_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1)
    parser = argparse.ArgumentParser(
        description="Time optadvisor scan against a bare libcst parse and ruff.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", type=Path,
                        default=Path(sysconfig.get_paths()["stdlib"]),
                        help="tree to scan (default: this interpreter's standard library)")
    parser.add_argument("--jobs", "-j", type=int, default=default_jobs,
                        help=f"processes for the scan and the bare parse (default: cores, "
                        f"{default_jobs} here)")
    parser.add_argument("--repeat", "-n", type=int, default=1,
                        help="runs of each measurement; the median is reported (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help=f"only the {', '.join(QUICK_SUBSET)} packages under the root")
    parser.add_argument("--subset", default="",
                        help="comma-separated directories under the root to use instead of "
                        "all of it (what --quick sets)")
    parser.add_argument("--changed-file", default=None,
                        help="file (relative to the root) edited for the one-file-changed "
                        "step (default: the file of median size)")
    parser.add_argument("--ruff-select", default="ASYNC,PERF",
                        help="rules for ruff (default ASYNC,PERF, what optadvisor looks for), "
                        "or 'default' for ruff's defaults")
    parser.add_argument("--ruff-format", default="concise",
                        help="ruff's --output-format (default concise: one line per "
                        "diagnostic; 'full' prints a code frame for each, which with "
                        "--select ALL on the stdlib is most of ruff's time)")
    parser.add_argument("--config", type=Path, default=None,
                        help="optadvisor config file, passed to discovery and every scan")
    parser.add_argument("--json", type=Path, default=None, dest="json_out",
                        help="also write every sample and result to this JSON file")
    parser.add_argument("--no-snapshot", dest="snapshot", action="store_false",
                        help="time the optadvisor package in place instead of a private copy "
                        "of it taken at the start (the copy keeps edits made to the source "
                        "during the run out of the measurements)")
    parser.add_argument("--keep-tmp", action="store_true",
                        help="keep the temporary copy and caches (path is printed)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.repeat < 1:
        parser.error("--jobs and --repeat must be at least 1")
    args.subset = tuple(s for s in args.subset.split(",") if s) or \
        (QUICK_SUBSET if args.quick else ())
    args.root = args.root.absolute()
    return args


def snapshot_code(dest: Path) -> tuple[Path, str]:
    """Copy the optadvisor package that would be imported (and its rules/ and templates/,
    when they sit next to it in a checkout) to dest, so that the code under test cannot
    change in the middle of a run (an edit between the cold and the warm scan, say);
    return the copy's import root and a digest of the copied files."""
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("optadvisor")
    if spec is None or spec.origin is None:
        raise SystemExit("error: optadvisor is not importable from this interpreter")
    package = Path(spec.origin).parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(package, dest / "optadvisor", ignore=ignore)
    for name in ("rules", "templates"):
        if (package.parent / name).is_dir() and not (package / "_data" / name).is_dir():
            shutil.copytree(package.parent / name, dest / name, ignore=ignore)
    digest = hashlib.sha256()
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        digest.update(path.relative_to(dest).as_posix().encode() + b"\0" + path.read_bytes())
    _compile(dest / "optadvisor")
    return package, digest.hexdigest()[:12]


def _compile(package: Path) -> None:
    """Write the copy's bytecode, as pip does when it installs a package. Without it, a
    run under PYTHONDONTWRITEBYTECODE=1 (set on this project's machines) compiled every
    optadvisor module from source in every timed scan and in every worker: ~0.1-0.2 s a
    scan that no installed copy pays."""
    import compileall

    if not compileall.compile_dir(package, quiet=1, workers=1):
        raise SystemExit(f"error: cannot compile the snapshot in {package}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="optadvisor-bench-"))
    try:
        env = dict(os.environ)
        code = {"snapshot": False}
        if args.snapshot:
            snap = workdir / "code"
            origin, digest = snapshot_code(snap)
            sys.path.insert(0, str(snap))  # this process's discovery uses the copy too
            env["PYTHONPATH"] = os.pathsep.join(
                [str(snap), *filter(None, [os.environ.get("PYTHONPATH")])])
            code = {"snapshot": True, "origin": str(origin), "digest": digest}
        import optadvisor

        code["imported_from"] = str(Path(optadvisor.__file__).parent)
        files, config, notes = discover_files(args.root, args.subset, args.config)
        for note in notes:
            log(f"NOTE: {note}")
        if not files:
            raise SystemExit(f"error: optadvisor discovers no files under {args.root}")
        config_args = ["--config", str(config.config_file)] if config.config_file else []
        return _measure(args, files, config, config_args, notes, workdir, env, code,
                        libcst_version=_dist_version("libcst"),
                        optadvisor_version=optadvisor.__version__)
    finally:
        if args.keep_tmp:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _measure(args: argparse.Namespace, files: list[Any], config: Any, config_args: list[str],
             notes: list[str], workdir: Path, env: dict[str, str], code: dict[str, Any],
             libcst_version: str, optadvisor_version: str) -> int:
    from optadvisor.config import load_config
    from optadvisor.discover import discover

    log(f"copying {len(files)} files to {workdir} ...")
    tree = make_workspace(files, args.root, workdir)
    paths = [tree / f.rel for f in files]

    # Which files libcst refuses: a first pool pass over everything. If it refuses none,
    # this pass is the first bare-parse sample; otherwise those files are dropped from the
    # copy (so the scans skip them too) and the bare parse is timed without them.
    log(f"bare libcst parse of {len(paths)} files with {args.jobs} processes (pass 1) ...")
    first = bare_parse(paths, args.jobs)
    skipped = {Path(p).relative_to(tree).as_posix(): why for p, why in first["failures"].items()}
    bare_samples: list[dict[str, Any]] = []
    if skipped:
        for rel in skipped:
            (tree / rel).unlink()
        paths = [p for p in paths if p.relative_to(tree).as_posix() not in skipped]
    else:
        bare_samples.append(first)
    rels = sorted(p.relative_to(tree).as_posix() for p in paths)

    # The copy must give optadvisor exactly this file set.
    copy_found = discover([tree], load_config([tree], config.config_file))
    copy_rels = sorted(f.rel for f in copy_found.files)
    if copy_rels != rels:
        extra = sorted(set(copy_rels) - set(rels))[:5]
        missing = sorted(set(rels) - set(copy_rels))[:5]
        raise SystemExit(f"error: optadvisor discovers a different file set in the copy "
                         f"(extra {extra}, missing {missing})")
    total_bytes = sum(p.stat().st_size for p in paths)

    if args.changed_file:
        changed_rel = args.changed_file
        if changed_rel not in rels:
            raise SystemExit(f"error: --changed-file {changed_rel} is not in the file set")
    else:
        by_size = sorted(rels, key=lambda r: ((tree / r).stat().st_size, r))
        changed_rel = by_size[len(by_size) // 2]
    changed = tree / changed_rel
    original = changed.read_bytes()

    ruff = find_ruff()
    ruff_cmd = ruff_default_cmd = ruff_all_cmd = None
    if ruff:
        base = [ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q",
                "--output-format", args.ruff_format]
        if args.ruff_select.lower() != "default":
            ruff_cmd = [*base, "--select", args.ruff_select, "--", *rels]
            ruff_default_cmd = [*base, "--", *rels]  # for information only
        else:
            ruff_cmd = [*base, "--", *rels]
        if args.ruff_select.upper() != "ALL":
            ruff_all_cmd = [*base, "--select", "ALL", "--", *rels]  # for information only
    ruff_env = {**os.environ, "RAYON_NUM_THREADS": str(args.jobs)}
    scan_env = {k: v for k, v in env.items() if not k.startswith("OPTADVISOR_")}

    scan = [sys.executable, "-m", "optadvisor", "scan", str(tree), "--format", "json", "-q",
            "--fail-on", "never", "--jobs", str(args.jobs), *config_args]
    samples: dict[str, list[dict[str, Any]]] = {
        "cold": [], "cold_cache": [], "warm": [], "one_changed": [], "one_moved": [],
        "one_relinked": [], "ruff": [], "ruff_default": [], "ruff_all": []}
    summaries: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()
    out = workdir / "report.json"

    for i in range(args.repeat):
        tag = f"[{i + 1}/{args.repeat}]"
        if len(bare_samples) <= i:
            log(f"{tag} bare libcst parse ...")
            bare_samples.append(bare_parse(paths, args.jobs))
        log(f"{tag} cold scan --no-cache ...")
        samples["cold"].append(run_timed([*scan, "--no-cache"], workdir, scan_env, out))
        summaries["cold"] = scan_summary(out)

        cache = workdir / f"cache-{i}"
        log(f"{tag} cold scan, empty cache ...")
        samples["cold_cache"].append(
            run_timed([*scan, "--cache-dir", str(cache)], workdir, scan_env, out))
        summaries["cold_cache"] = scan_summary(out)
        log(f"{tag} warm scan ...")
        samples["warm"].append(
            run_timed([*scan, "--cache-dir", str(cache)], workdir, scan_env, out))
        summaries["warm"] = scan_summary(out)

        log(f"{tag} one file changed ({changed_rel}) ...")
        changed.write_bytes(original + f"\n# optadvisor benchmark edit {i}\n".encode())
        try:
            samples["one_changed"].append(
                run_timed([*scan, "--cache-dir", str(cache)], workdir, scan_env, out))
        finally:
            changed.write_bytes(original)
        summaries["one_changed"] = scan_summary(out)

        log(f"{tag} one file changed, its lines moved ({changed_rel}) ...")
        changed.write_bytes(f"# optadvisor benchmark edit {i}\n".encode() + original)
        try:
            samples["one_moved"].append(
                run_timed([*scan, "--cache-dir", str(cache)], workdir, scan_env, out))
        finally:
            changed.write_bytes(original)
        summaries["one_moved"] = scan_summary(out)

        log(f"{tag} one file changed, a function added ({changed_rel}) ...")
        changed.write_bytes(original + f"\n\ndef _optadvisor_benchmark_{i}(values):\n"
                            f"    return sorted(values)\n".encode())
        try:
            samples["one_relinked"].append(
                run_timed([*scan, "--cache-dir", str(cache)], workdir, scan_env, out))
        finally:
            changed.write_bytes(original)
        summaries["one_relinked"] = scan_summary(out)

        if ruff_cmd:
            log(f"{tag} ruff ...")
            samples["ruff"].append(run_timed(ruff_cmd, tree, env=ruff_env, memory=False))
        if ruff_default_cmd:
            log(f"{tag} ruff, default rules ...")
            samples["ruff_default"].append(
                run_timed(ruff_default_cmd, tree, env=ruff_env, memory=False))
        if ruff_all_cmd:
            log(f"{tag} ruff --select ALL ...")
            samples["ruff_all"].append(
                run_timed(ruff_all_cmd, tree, env=ruff_env, memory=False))
    load_after = os.getloadavg()

    # Sanity: every scan saw every file, the cache did what it should.
    n = len(rels)
    problems = []
    for name, summary in summaries.items():
        seen = summary["files"] + summary["errors"]
        if seen < n:
            problems.append(f"{name} scan reports {summary['files']} files + "
                            f"{summary['errors']} errors for {n} files")
    if summaries["cold_cache"]["cached_files"] != 0:
        problems.append("the first scan with an empty cache reports cache hits")
    if summaries["warm"]["cached_files"] != summaries["warm"]["files"]:
        problems.append(f"warm scan: only {summaries['warm']['cached_files']} of "
                        f"{summaries['warm']['files']} files came from the cache")
    for name in ("one_changed", "one_moved", "one_relinked"):
        if summaries[name]["cached_files"] != summaries[name]["files"] - 1:
            problems.append(f"{name} scan: {summaries[name]['cached_files']} of "
                            f"{summaries[name]['files']} files from the cache "
                            "(expected all but one)")

    def med(values: list[dict[str, Any]], key: str = "seconds") -> float | None:
        return statistics.median(v[key] for v in values) if values else None

    bare = med(bare_samples)
    cold = med(samples["cold"])
    warm = med(samples["warm"])
    ruff_s = med(samples["ruff"])
    one = med(samples["one_changed"])
    moved = med(samples["one_moved"])
    relinked = med(samples["one_relinked"])
    peak = med(samples["cold"], "peak_rss_sum")
    results = {
        "cold_over_bare": cold / bare if bare else None,
        "warm_over_ruff": warm / ruff_s if ruff_s else None,
        "one_changed_over_ruff": one / ruff_s if ruff_s and one is not None else None,
        "one_moved_over_ruff": moved / ruff_s if ruff_s and moved is not None else None,
        "one_relinked_over_ruff": relinked / ruff_s if ruff_s and relinked is not None
        else None,
        "peak_rss_gib": peak / GIB if peak is not None else None,
    }
    verdicts = {k: (None if v is None else v <= TARGETS[k]) for k, v in results.items()}
    # The same ratios within each repeat (runs next to each other see similar load): a
    # check on how much of a ratio of medians is noise.
    paired = {
        "cold_over_bare": [c["seconds"] / b["seconds"]
                           for c, b in zip(samples["cold"], bare_samples)],
        "warm_over_ruff": [w["seconds"] / r["seconds"]
                           for w, r in zip(samples["warm"], samples["ruff"])],
        "one_changed_over_ruff": [w["seconds"] / r["seconds"]
                                  for w, r in zip(samples["one_changed"], samples["ruff"])],
        "one_moved_over_ruff": [w["seconds"] / r["seconds"]
                                for w, r in zip(samples["one_moved"], samples["ruff"])],
        "one_relinked_over_ruff": [w["seconds"] / r["seconds"]
                                   for w, r in zip(samples["one_relinked"], samples["ruff"])],
    }

    ruff_label = (f"ruff --select {args.ruff_select}" if ruff_default_cmd
                  else "ruff, default rules") + f" ({args.ruff_format})"
    rows = [
        (f"bare libcst parse ({args.jobs} processes)", bare_samples),
        ("cold scan --no-cache", samples["cold"]),
        ("cold scan, empty cache (writes it)", samples["cold_cache"]),
        ("warm scan (all cached)", samples["warm"]),
        (f"one file changed ({len(original):,} B file)", samples["one_changed"]),
        ("one file changed, its lines moved", samples["one_moved"]),
        ("one file changed, a function added", samples["one_relinked"]),
        (ruff_label if ruff else "ruff: not found", samples["ruff"]),
    ]
    if ruff_default_cmd:
        rows.append((f"ruff, default rules ({args.ruff_format}; info only)",
                     samples["ruff_default"]))
    if ruff_all_cmd:
        rows.append((f"ruff --select ALL ({args.ruff_format}; info only)",
                     samples["ruff_all"]))
    print()
    print("optadvisor scan speed")
    print(f"  root        {args.root}" + (f"  (subset: {', '.join(args.subset)})"
                                          if args.subset else ""))
    print(f"  files       {n:,} ({total_bytes / MIB:.1f} MiB); {len(skipped)} more skipped "
          "because libcst cannot parse them")
    print(f"  changed     {changed_rel}")
    print(f"  jobs        {args.jobs}   repeat {args.repeat} (medians)   "
          f"load avg {load_before[0]:.2f} -> {load_after[0]:.2f}")
    print(f"  versions    python {platform.python_version()}, libcst {libcst_version}, "
          f"optadvisor {optadvisor_version}" + (f", {_version_of([ruff, '--version'])}"
                                                 if ruff else ""))
    if code["snapshot"]:
        print(f"  code        copy of {code['origin']} taken at start (digest "
              f"{code['digest']})")
    else:
        print(f"  code        {code['imported_from']} in place")
    for note in notes:
        print(textwrap.fill(note, 92, initial_indent="  NOTE        ",
                            subsequent_indent=" " * 14))
    print()
    print(f"  {'measurement':<44} {'seconds':>9}   runs")
    for label, runs in rows:
        value = med(runs)
        shown = f"{value:9.2f}" if value is not None else f"{'-':>9}"
        each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        print(f"  {label:<44} {shown}   {each}")
    cold0 = samples["cold"]
    print(f"  {'peak RSS, cold scan tree (sum, psutil 50 ms)':<44} "
          f"{peak / MIB:7.0f} MiB   largest process {med(cold0, 'peak_rss_single') / MIB:.0f} "
          f"MiB, {max(r['peak_processes'] for r in cold0)} processes")
    print(f"  {'bare parse: time in parse_module, summed':<44} "
          f"{med(bare_samples, 'parse_seconds_summed'):9.2f}")
    print()
    print(f"  {'check':<28} {'value':>10} {'target':>10}   result")
    for key, label, unit in (("cold_over_bare", "cold / bare parse", "x"),
                             ("warm_over_ruff", "warm / ruff", "x"),
                             ("one_changed_over_ruff", "one file changed / ruff", "x"),
                             ("one_moved_over_ruff", "one moved / ruff", "x"),
                             ("one_relinked_over_ruff", "one relinked / ruff", "x"),
                             ("peak_rss_gib", "peak RSS (cold scan)", " GiB")):
        value = results[key]
        shown = f"{value:.2f}{unit}" if value is not None else "n/a"
        verdict = {True: "PASS", False: "FAIL", None: "SKIP"}[verdicts[key]]
        each = ""
        if len(paired.get(key, ())) > 1:
            each = "   per repeat: " + ", ".join(f"{r:.2f}" for r in paired[key])
        print(f"  {label:<28} {shown:>10} {'<= ' + str(TARGETS[key]) + unit:>10}   {verdict}"
              f"{each}")
    if skipped:
        print()
        print(f"  skipped (libcst cannot parse): {len(skipped)}")
        for rel, why in sorted(skipped.items()):
            print(f"    {rel}: {why}")
    errs = summaries["cold"]
    if errs["errors"]:
        print(f"\n  the cold scan reported {errs['errors']} error record(s) "
              f"({', '.join(errs['error_kinds'])})")
    for problem in problems:
        print(f"  PROBLEM: {problem}")

    if args.json_out:
        document = {
            "root": str(args.root), "subset": list(args.subset), "files": n,
            "bytes": total_bytes, "skipped": skipped, "changed_file": changed_rel,
            "jobs": args.jobs, "repeat": args.repeat, "notes": notes, "code": code,
            "ruff_command": ruff_cmd[:ruff_cmd.index("--")] + ["--", "FILES..."]
            if ruff_cmd else None,
            "ruff_default_command": ruff_default_cmd[:ruff_default_cmd.index("--")]
            + ["--", "FILES..."] if ruff_default_cmd else None,
            "scan_command": [*scan[:4], "TREE", *scan[5:]],
            "versions": {"python": platform.python_version(), "libcst": libcst_version,
                         "optadvisor": optadvisor_version,
                         "ruff": _version_of([ruff, "--version"]) if ruff else None},
            "loadavg": {"before": load_before, "after": load_after},
            "samples": {"bare_parse": [{k: v for k, v in s.items() if k != "failures"}
                                       for s in bare_samples], **samples},
            "medians": {"bare_parse": bare, "cold": cold, "cold_cache": med(
                samples["cold_cache"]), "warm": warm, "one_changed": one, "ruff": ruff_s,
                "ruff_default": med(samples["ruff_default"]),
                "ruff_all": med(samples["ruff_all"]), "one_moved": moved,
                "one_relinked": relinked,
                "peak_rss_bytes": peak},
            "results": results, "paired_ratios": paired, "targets": TARGETS,
            "pass": verdicts,
            "scan_summaries": summaries, "problems": problems,
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json_out}")
    failed = any(v is False for v in verdicts.values()) or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
