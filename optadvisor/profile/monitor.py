"""A psutil view of the target's process tree, about ten times a second: CPU, RSS, threads,
context switches and I/O where the OS reports it. It runs in a thread of our own process,
so the target pays nothing for it; each tick costs a few psutil reads per live process.

Races are part of the job: a process seen for the first time has no previous CPU reading
(its CPU since creation counts once, except on the very first tick, which only sets
baselines); a process that vanishes between listing and reading is skipped; cumulative
counters of vanished processes keep their last value so totals never go backwards."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil

from optadvisor.models import MetricSample, Rusage, SystemMetrics

DEFAULT_INTERVAL = 0.1
MAX_TIMELINE = 1200


@dataclass
class _Seen:
    proc: psutil.Process
    cpu: float = 0.0
    switches: int = 0
    voluntary: int = 0
    involuntary: int = 0
    read_bytes: int = 0
    write_bytes: int = 0


class Monitor:
    """Samples the tree rooted at `pid` until `stop()`; `metrics()` summarizes."""

    def __init__(self, pid: int, interval: float = DEFAULT_INTERVAL) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[MetricSample] = []
        self.seen: dict[tuple[int, float], _Seen] = {}
        self.io_available = False
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._root: psutil.Process | None = None
        self._started = 0.0
        self._last_tick = 0.0
        self._ticks = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._started = time.perf_counter()
        try:
            self._root = psutil.Process(self.pid)
        except psutil.Error:
            self._root = None
        self._thread = threading.Thread(target=self._run, name="optadvisor-monitor",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def processes(self) -> list[psutil.Process]:
        """Every process of the tree seen so far (for cleanup; pid reuse is guarded by
        psutil's creation-time check)."""
        return [s.proc for s in self.seen.values()]

    def _run(self) -> None:
        deadline = time.perf_counter()
        while not self._halt.is_set():
            try:
                self.tick()
            except Exception:  # never let a psutil surprise kill the monitor thread
                pass
            deadline += self.interval
            delay = deadline - time.perf_counter()
            if delay < 0:
                deadline = time.perf_counter()
                delay = 0.0
            self._halt.wait(delay)

    # ---------------------------------------------------------------- one tick

    def tick(self) -> MetricSample | None:
        root = self._root
        if root is None:
            return None
        now = time.perf_counter()
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            procs = [root]
        first = self._ticks == 0
        self._ticks += 1
        cpu_delta = 0.0
        rss = threads = alive = 0
        for proc in procs:
            try:
                with proc.oneshot():
                    if proc.status() == psutil.STATUS_ZOMBIE:  # ended, not yet reaped
                        continue
                    times = proc.cpu_times()
                    memory = proc.memory_info()
                    n_threads = proc.num_threads()
                    switches = proc.num_ctx_switches()
                    io = self._io(proc)
                    key = (proc.pid, proc.create_time())
            except psutil.Error:  # vanished, zombie, or not ours to read
                continue
            cpu = times.user + times.system
            entry = self.seen.get(key)
            if entry is None:
                entry = self.seen[key] = _Seen(proc=proc)
                if not first:
                    cpu_delta += cpu  # born during the last interval
            else:
                cpu_delta += max(cpu - entry.cpu, 0.0)
            entry.cpu = cpu
            entry.voluntary, entry.involuntary = switches.voluntary, switches.involuntary
            entry.switches = switches.voluntary + switches.involuntary
            if io is not None:
                entry.read_bytes, entry.write_bytes = io
            rss += memory.rss
            threads += n_threads
            alive += 1
        if not alive:
            return None
        elapsed = now - self._last_tick if self._last_tick else 0.0
        self._last_tick = now
        sample = MetricSample(
            t=round(now - self._started, 3),
            cpu_pct=round(100.0 * cpu_delta / elapsed, 1) if elapsed > 0 and not first else 0.0,
            rss=rss, threads=threads, processes=alive,
            ctx_switches=sum(s.switches for s in self.seen.values()),
            read_bytes=sum(s.read_bytes for s in self.seen.values()),
            write_bytes=sum(s.write_bytes for s in self.seen.values()))
        self.samples.append(sample)
        return sample

    def _io(self, proc: psutil.Process) -> tuple[int, int] | None:
        if not hasattr(proc, "io_counters"):  # macOS has none
            return None
        try:
            counters = proc.io_counters()
        except (psutil.AccessDenied, NotImplementedError):
            return None
        self.io_available = True
        return counters.read_bytes, counters.write_bytes

    # ---------------------------------------------------------------- summary

    def metrics(self, rusage: Rusage | None = None) -> SystemMetrics:
        """Summary figures over every sample; the timeline kept is thinned to at most
        MAX_TIMELINE points (evenly, the last one always kept) so long runs stay small."""
        samples = tuple(self.samples)
        cpu = [s.cpu_pct for s in samples[1:]]
        rss = [s.rss for s in samples]
        timeline = samples
        if len(samples) > MAX_TIMELINE:
            stride = -(-len(samples) // MAX_TIMELINE)
            timeline = samples[::stride]
            if timeline[-1] is not samples[-1]:
                timeline += (samples[-1],)
        return SystemMetrics(
            interval=round(self.interval * (len(samples) / max(len(timeline), 1)), 3),
            samples=timeline,
            cpu_mean_pct=round(sum(cpu) / len(cpu), 1) if cpu else 0.0,
            cpu_max_pct=max(cpu, default=0.0),
            rss_start=rss[0] if rss else 0, rss_peak=max(rss, default=0),
            rss_end=rss[-1] if rss else 0,
            threads_max=max((s.threads for s in samples), default=0),
            processes_max=max((s.processes for s in samples), default=0),
            voluntary_switches=sum(s.voluntary for s in self.seen.values()),
            involuntary_switches=sum(s.involuntary for s in self.seen.values()),
            read_bytes=sum(s.read_bytes for s in self.seen.values()),
            write_bytes=sum(s.write_bytes for s in self.seen.values()),
            io_available=self.io_available, rusage=rusage)


def rss_trend(samples: tuple[MetricSample, ...]) -> tuple[float, float]:
    """Least-squares slope of RSS (bytes/second) and r² (how steady the growth is)."""
    points = [(s.t, float(s.rss)) for s in samples if s.rss]
    n = len(points)
    if n < 3:
        return 0.0, 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    var_r = sum((r - mean_r) ** 2 for _, r in points)
    if var_t <= 0:
        return 0.0, 0.0
    cov = sum((t - mean_t) * (r - mean_r) for t, r in points)
    slope = cov / var_t
    r2 = (cov * cov) / (var_t * var_r) if var_r > 0 else 0.0
    return slope, r2
