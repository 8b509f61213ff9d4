"""The frozen values of `optadvisor profile` and `compare`: what a run measured
(ProfileRun and its parts) and what a comparison of two found (Comparison).

They are models.py's, reached through it (`from optadvisor.models import ProfileRun`): the
module is imported on first use of one of its names (models.__getattr__), so a scan never
builds these dataclasses (about 40 of them: ~40 ms of every start-up on Python 3.11, a
tenth of a warm scan).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

# =========================================================================== profile runs
# What `optadvisor profile` measured, as one saved, reloadable value (like pyinstrument's
# Session): renderers, `report` and `compare` work from it without profiling again.
# Percentages of time are of the run's wall time (sampling ticks of its main thread), so
# a function busy in four worker processes at once can show 400.

PROFILE_RUN_SCHEMA_VERSION = 1
PROFILE_RUN_KIND = "profile-run"
WAITING_WEIGHT = 0.5
"""How much a sampled second spent waiting counts against a busy one when ranking user
functions (ProfileRun.ranked_user_functions)."""


@dataclass(frozen=True)
class RunOutcome:
    """How the target ended, and whether anything had to be stopped."""

    status: str
    """ok | exit-nonzero | exception | signal | timeout | stopped."""
    returncode: int | None = None
    """Exit code; None when a signal ended it or it never started."""
    signal: str = ""
    """SIGKILL, SIGSEGV, … when a signal ended it."""
    exception: str = ""
    """`ValueError: bad input` when the script raised."""
    timed_out: bool = False
    killed: int = 0
    """Processes of the target's tree that we had to stop (timeout, leftovers)."""
    leftover: tuple[int, ...] = ()
    """Pids still alive after cleanup: should always be empty."""
    message: str = ""


@dataclass(frozen=True)
class RunEnvironment:
    python: str
    implementation: str
    executable: str
    platform: str
    machine: str
    cpu_count: int
    sampler: str
    """What measured time: `py-spy 0.4.3`, `in-process sampler`, `cProfile`."""
    tool_version: str = ""
    stdlib: str = ""
    """The target interpreter's stdlib directory (frames there are not user code)."""


@dataclass(frozen=True)
class ThreadSamples:
    pid: int
    tid: int
    name: str
    samples: int
    idle: int
    top: str = ""
    """The function with the most active (non-idle) self samples on this thread."""


@dataclass(frozen=True)
class SampleSummary:
    sampler: str
    """py-spy | in-process | cprofile."""
    rate: int
    total: int
    """Samples over every thread of every process, idle ones included."""
    idle: int
    ticks: int
    """Sampling intervals of the main thread: the wall time percentages divide by."""
    processes: int = 1
    threads: tuple[ThreadSamples, ...] = ()
    idle_method: str = ""
    errors: int = 0
    """Samples the sampler failed to take."""
    dropped: int = 0
    """Samples with no frame of the target (its launcher), left out of every figure."""

    @property
    def active(self) -> int:
        return self.total - self.idle


@dataclass(frozen=True)
class HotFunction:
    name: str
    """Qualified name: `Pipeline.run`, `outer.<locals>.inner`, `<module>`."""
    file: str
    """Absolute path as the interpreter saw it."""
    path: str
    """POSIX path relative to ProfileRun.root, or `file` when outside it."""
    line: int
    """The `def` line (0 when the source could not be read)."""
    user: bool
    """User code: not the standard library, site-packages or frozen modules."""
    self_seconds: float
    total_seconds: float
    idle_seconds: float = 0.0
    """Inclusive time while the thread was waiting (sleep, I/O, locks, select)."""
    self_pct: float = 0.0
    total_pct: float = 0.0
    idle_pct: float = 0.0
    cpu_pct: float = 0.0
    """Share of all active samples where this function was running its own code."""
    user_self_seconds: float = 0.0
    user_self_pct: float = 0.0
    """Time this was the innermost user function on the stack: its own time plus the
    library and stdlib time it called into (json parsing, sleeping). Zero for non-user
    code. The best single figure for "which of my functions costs the most"."""
    samples: int = 0
    """Samples with the function on the stack (0 in trace mode)."""
    calls: int = 0
    """Calls counted (trace mode only)."""
    threads: int = 1
    processes: int = 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.file, self.name)


@dataclass(frozen=True)
class HotLine:
    file: str
    path: str
    line: int
    function: str
    user: bool
    self_seconds: float
    idle_seconds: float = 0.0
    self_pct: float = 0.0
    total_pct: float = 0.0
    idle_pct: float = 0.0
    samples: int = 0
    code: str = ""
    """The source line, stripped (empty when the file could not be read)."""


@dataclass(frozen=True)
class LineTiming:
    line: int
    hits: int
    seconds: float
    pct: float
    """Share of the function's measured time."""
    code: str = ""


@dataclass(frozen=True)
class TimedFunction:
    """One function of the targeted line pass (line-profiler)."""

    name: str
    file: str
    path: str
    line: int
    seconds: float
    lines: tuple[LineTiming, ...] = ()


@dataclass(frozen=True)
class Rusage:
    """The target's own resource usage from wait4 (it and its waited-for descendants)."""

    user_seconds: float
    system_seconds: float
    max_rss_bytes: int
    voluntary_switches: int = 0
    involuntary_switches: int = 0
    minor_faults: int = 0
    major_faults: int = 0
    block_in: int = 0
    block_out: int = 0


@dataclass(frozen=True)
class MetricSample:
    """The target's process tree at one moment (sums over its live processes)."""

    t: float
    """Seconds since the target started."""
    cpu_pct: float
    """CPU over the last interval; 100 is one core."""
    rss: int
    threads: int
    processes: int
    ctx_switches: int = 0
    """Cumulative voluntary + involuntary switches (vanished processes keep their last)."""
    read_bytes: int = 0
    write_bytes: int = 0


@dataclass(frozen=True)
class SystemMetrics:
    interval: float
    samples: tuple[MetricSample, ...] = ()
    cpu_mean_pct: float = 0.0
    cpu_max_pct: float = 0.0
    rss_start: int = 0
    rss_peak: int = 0
    rss_end: int = 0
    threads_max: int = 0
    processes_max: int = 0
    voluntary_switches: int = 0
    involuntary_switches: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    io_available: bool = False
    rusage: Rusage | None = None


@dataclass(frozen=True)
class AllocationSite:
    file: str
    path: str
    line: int
    size_bytes: int
    count: int
    code: str = ""


@dataclass(frozen=True)
class FunctionMemory:
    """tracemalloc figures for one targeted function, per call."""

    name: str
    file: str
    path: str
    line: int
    calls: int
    peak_bytes: int
    """Largest per-call peak (reset_peak at each entry)."""
    net_bytes: int
    """Bytes a call leaves allocated when it returns (its result included), averaged over
    calls; what stays alive to the end is in `sites`."""
    sites: tuple[AllocationSite, ...] = ()
    """Lines of the function whose allocations are still alive when the run ends."""


@dataclass(frozen=True)
class MemoryLine:
    """One line of memory-profiler's report for the `--memory-lines` function."""

    line: int
    mem_mib: float
    increment_mib: float
    occurrences: int
    code: str = ""


@dataclass(frozen=True)
class MemoryReport:
    peak_bytes: int = 0
    """tracemalloc peak of the whole run (Python allocations only)."""
    sites: tuple[AllocationSite, ...] = ()
    """Top allocation sites still alive when the run ends (user code first)."""
    functions: tuple[FunctionMemory, ...] = ()
    rss_start: int = 0
    rss_peak: int = 0
    rss_end: int = 0
    rss_slope: float = 0.0
    """Bytes per second, least squares over the monitor's samples."""
    rss_r2: float = 0.0
    """How straight the growth is (1.0: perfectly steady)."""
    leak_suspected: bool = False
    """Only when growth is steady (high r2), large and lasts most of the run."""
    line_function: str = ""
    line_report: tuple[MemoryLine, ...] = ()


@dataclass(frozen=True)
class CallStats:
    """One function of the calls pass: how often it ran, how long each call took (wall,
    inclusive of what it calls; a coroutine from its first step to its return), and what
    an `lru_cache` on it would have done with the arguments it was given."""

    name: str
    file: str
    path: str
    line: int
    is_async: bool = False
    calls: int = 0
    total_seconds: float = 0.0
    mean_seconds: float = 0.0
    p50_seconds: float = 0.0
    p95_seconds: float = 0.0
    p99_seconds: float = 0.0
    max_seconds: float = 0.0
    timed: int = 0
    """Durations the percentiles are computed from: every call, or a uniform reservoir of
    10,000 when there were more."""
    keyed_calls: int = 0
    """Calls whose arguments could be fingerprinted (hashable by value, or small JSON-like
    containers); the others (identity-hashed objects, big or opaque values) are left out
    of the hit rate."""
    distinct_args: int = 0
    """Distinct argument fingerprints among keyed_calls (an upper bound when
    `distinct_capped`: past the cap every untracked fingerprint counts as new, so the hit
    rate is then a lower bound)."""
    distinct_capped: bool = False
    hit_rate: float = 0.0
    """1 - distinct_args / keyed_calls: the share of calls an unbounded lru_cache would
    have answered without running the function (0 when no call was keyed)."""
    saving_seconds: float = 0.0
    """What those hits cost: hit_rate x total_seconds (the mean call as the price of a
    hit; the first call per argument, the miss, is paid either way)."""
    result_bytes: int = 0
    """Mean size of a result, following containers (sys.getsizeof of each object, shared
    ones once) up to 2,000 objects; `result_bytes_partial` when a result was larger (the
    figure is then a lower bound)."""
    result_bytes_partial: bool = False
    results_compared: int = 0
    """Repeated calls whose result was compared with the first result for the same
    arguments (a bounded sample)."""
    varies: bool = False
    """Some arguments gave different results on different calls (it reads something that
    changes, the time, a counter, random values): a cache would return stale answers."""


@dataclass(frozen=True)
class AwaitSite:
    """One awaited call site of a coroutine the calls pass wrapped: how often the
    coroutine suspended there and for how long, and what else was in flight meanwhile."""

    function: str
    file: str
    path: str
    line: int
    """The coroutine's def line."""
    await_line: int
    """The line the coroutine was suspended at (its `await`)."""
    code: str = ""
    awaits: int = 0
    """Awaits at this line that suspended (an await that completes at once never waits)."""
    suspensions: int = 0
    """Times the coroutine was suspended there (an await can suspend several times)."""
    total_seconds: float = 0.0
    """Wall time from each await's first suspension to its last resumption, summed."""
    mean_seconds: float = 0.0
    max_seconds: float = 0.0
    concurrency: float = 0.0
    """Mean number of calls of this coroutine in flight when it suspended here: 1.0 means
    its awaits ran one call at a time; more means calls overlapped (a caller gathers them)."""
    tasks: float = 0.0
    """Mean number of the program's asyncio tasks not done at those moments (this one
    included; 0 when no asyncio loop ran): other work that overlapped, such as a server's
    handlers or a background ticker."""


@dataclass(frozen=True)
class AwaitGroupTiming:
    """A group of awaits a scan flagged (sequential-awaits, await-in-loop), measured per
    call of its coroutine: gathered, the group would take about its longest item, so the
    saving is the sum of the items' await times minus the longest."""

    function: str
    file: str
    path: str
    line: int
    """The coroutine's def line."""
    rule: str
    """The static finding's rule (OPT102, OPT103)."""
    kind: str
    """sequence (consecutive awaits: an item is one await) | loop (an item is one
    iteration's awaits)."""
    at_line: int
    """Where the finding points: the first await of a sequence, the loop header."""
    calls: int = 0
    """Calls of the coroutine in which the group awaited at least once."""
    items: int = 0
    awaits: int = 0
    sum_seconds: float = 0.0
    """Sum over those calls of the items' await times."""
    max_seconds: float = 0.0
    """Sum over those calls of the longest item's await time."""
    saving_seconds: float = 0.0
    """sum_seconds - max_seconds: what gathering each call's items would save, at most."""
    saving_per_call_seconds: float = 0.0
    max_saving_seconds: float = 0.0
    """The largest saving in one call."""
    concurrency: float = 0.0
    """As AwaitSite.concurrency, over the group's awaits."""
    tasks: float = 0.0
    verdict: str = ""
    """serial (concurrency about 1: gathering saves `saving_seconds`) | concurrent (the
    calls already overlapped: gathering inside each saves little of the program's time) |
    not-run (the group never awaited)."""


@dataclass(frozen=True)
class IOCallStats:
    """Database or HTTP calls of one shape made from one user function, counted in the
    calls pass (`profile --calls`): the innermost user frame under the library's call is
    the caller. Shapes are normalised (SQL literals, numbers, parameters and IN lists as
    `?`; URL path segments that are numbers, uuids or hex ids as `{id}`, query values
    dropped), so one statement per item is one shape with many calls."""

    function: str
    """The calling user function's qualified name."""
    file: str
    path: str
    line: int
    """The calling function's def line."""
    call_line: int
    """The line of the caller that made most of these calls."""
    kind: str
    """db | http."""
    library: str
    """sqlite3, psycopg2, asyncpg, urllib, requests, httpx, aiohttp."""
    operation: str
    """The statement's first keyword (SELECT, INSERT many for executemany) or the HTTP
    method."""
    shape: str
    calls: int = 0
    total_seconds: float = 0.0
    """Wall time inside the library's call (a cursor's execute, an HTTP request until its
    response headers for urllib and aiohttp)."""
    mean_seconds: float = 0.0
    max_seconds: float = 0.0
    slow_calls: int = 0
    """Calls longer than SLOW_HTTP_SECONDS (0.5 s, Sentry's threshold for consecutive
    HTTP calls)."""
    sequential_slow_calls: int = 0
    """Of slow_calls, those that overlapped no other call of the same kind from the same
    function: waited for one after another."""
    overlapped_calls: int = 0
    """Calls that overlapped in time another call of the same kind from the same function
    (they ran concurrently: threads, asyncio tasks)."""
    spans_kept: int = 0
    """Calls whose start and end were kept for the overlap figures (the first 2,000)."""
    first_start_s: float = 0.0
    """When the first of these calls started, seconds from the pass's start."""
    parent: str = ""
    """The user function that called `function` for most of these calls (empty when it
    was called from no user code), with the line of that call: where a loop around a
    helper that makes one call per invocation is."""
    parent_path: str = ""
    parent_line: int = 0


@dataclass(frozen=True)
class GcGeneration:
    generation: int
    collections: int = 0
    pause_seconds: float = 0.0
    max_pause_seconds: float = 0.0
    collected: int = 0
    """Objects the collections of this generation freed."""


@dataclass(frozen=True)
class GcStats:
    """The cyclic garbage collector during the measuring pass (gc.callbacks)."""

    collections: int = 0
    pause_seconds: float = 0.0
    pause_pct: float = 0.0
    """pause_seconds over the script's own run time, in percent."""
    generations: tuple[GcGeneration, ...] = ()
    function: str = ""
    """The user function running when the most pause time started (its allocations set
    the collections off), with its file and line; empty when none was seen."""
    file: str = ""
    path: str = ""
    line: int = 0
    function_pause_seconds: float = 0.0


@dataclass(frozen=True)
class LagEvent:
    """One lag of the event loop over the threshold: a heartbeat that ran late."""

    start_s: float
    """When the beat was due, seconds from the script's start (perf_counter)."""
    end_s: float
    """When it ran."""
    lag_ms: float
    function: str = ""
    """The user function the loop thread was in while the beat waited (empty when no
    user frame was seen: the loop itself, a library, or a descheduled process)."""
    file: str = ""
    path: str = ""
    line: int = 0
    """The line it was running (not its def line)."""


@dataclass(frozen=True)
class LoopLag:
    """Event-loop lag measured in the sampling pass: a heartbeat every `interval_ms` on
    each running asyncio loop; a beat later than `threshold_ms` is a lag."""

    beats: int = 0
    interval_ms: float = 0.0
    threshold_ms: float = 0.0
    lags: int = 0
    """Beats later than the threshold."""
    max_lag_ms: float = 0.0
    total_lag_ms: float = 0.0
    """Sum of the lags over the threshold."""
    worst: tuple[LagEvent, ...] = ()
    """The longest lags (at most 20), longest first."""
    function: str = ""
    """The user function that held the loop in the most lags (then the most lag time),
    with its def line; empty when no lag was attributed."""
    file: str = ""
    path: str = ""
    line: int = 0
    blocker_lags: int = 0
    blocker_lag_ms: float = 0.0
    timeline: tuple[tuple[float, float], ...] = ()
    """(start_s, lag_ms) of every lag over the threshold in the order they happened (the
    first 2,000): the HTML report's lag timeline. Empty in runs saved before it was kept."""


@dataclass(frozen=True)
class PassRecord:
    name: str
    """sample | trace | lines | calls | memory | memory-lines."""
    status: str
    """ok | failed | skipped."""
    wall_seconds: float = 0.0
    overhead: float = 0.0
    """This pass's wall time over the plain run's (0 when there is no baseline)."""
    note: str = ""


@dataclass(frozen=True)
class RunError:
    kind: str
    """sampler-unavailable, attach-failed, sampler-failed, parse-error, target-failed,
    timeout, leftover-process, pass-failed, …"""
    message: str
    pass_name: str = ""


@dataclass(frozen=True)
class StackSample:
    """One folded call stack of the sampling pass (a flamegraph's input), root first."""

    frames: tuple[str, ...]
    """`name (path:line)` per frame; paths relative to the run's root, library code as
    `<stdlib>/json/decoder.py` or `<site-packages>/pkg/mod.py`: no absolute paths."""
    samples: int
    idle: int = 0
    """Of `samples`, those taken while the thread was waiting."""


@dataclass(frozen=True)
class RepeatFunction:
    """One function's time in one run of `profile --repeat` (sampled or traced)."""

    name: str
    file: str
    path: str
    line: int
    user: bool
    self_seconds: float
    total_seconds: float


@dataclass(frozen=True)
class RepeatCall:
    """One function's figures in one calls pass of `profile --calls --repeat`."""

    name: str
    file: str
    path: str
    line: int
    calls: int
    total_seconds: float
    mean_seconds: float
    """Wall time per call, inclusive: what compare tests across runs."""
    p95_seconds: float = 0.0
    """0 in runs saved before it was kept (compare then tests the mean alone)."""


@dataclass(frozen=True)
class RepeatRun:
    """What one of the N runs of `profile --repeat N` measured: the figures `compare`
    tests for significance (the run's full detail is kept only for the representative
    run, the one with the median wall time)."""

    wall_seconds: float
    cpu_seconds: float = 0.0
    script_seconds: float = 0.0
    rss_peak: int = 0
    status: str = "ok"
    """The run's outcome status; only `ok` runs enter the distributions."""
    functions: tuple[RepeatFunction, ...] = ()
    """Every function sampled in this run (at most REPEAT_FUNCTIONS, heaviest first); one
    missing from a run took no measurable time in it."""
    calls: tuple[RepeatCall, ...] = ()
    """This run's calls pass (`--calls`), empty without it."""


@dataclass(frozen=True)
class ProfileRun:
    command: tuple[str, ...]
    """argv the target ran with: interpreter, script, arguments."""
    script: str
    args: tuple[str, ...]
    cwd: str
    root: str
    """What `path` fields are relative to."""
    mode: str
    """sample | trace."""
    environment: RunEnvironment
    outcome: RunOutcome
    wall_seconds: float
    """From the script's release to the process's exit (interpreter shutdown included)."""
    cpu_seconds: float = 0.0
    """User + system CPU of the target and its waited-for children (wait4)."""
    script_seconds: float = 0.0
    """The script alone: its first line to its last (0 when it was killed)."""
    created: str = ""
    """ISO 8601 UTC time the run started."""
    samples: SampleSummary | None = None
    functions: tuple[HotFunction, ...] = ()
    """Ranked by total time, heaviest first."""
    lines: tuple[HotLine, ...] = ()
    """Ranked by self time, heaviest first."""
    line_timings: tuple[TimedFunction, ...] = ()
    metrics: SystemMetrics | None = None
    memory: MemoryReport | None = None
    passes: tuple[PassRecord, ...] = ()
    errors: tuple[RunError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    stacks: tuple[StackSample, ...] = ()
    """The heaviest folded stacks (at most 2,000; lighter branches merged into their
    callers), heaviest first; empty in trace mode and in runs saved before they existed."""
    calls: tuple[CallStats, ...] = ()
    """The calls pass (`--calls`): per targeted function, heaviest total first; empty
    when it did not run and in runs saved before it existed."""
    gc: GcStats | None = None
    """Garbage collection during the measuring pass (None in runs saved before it was
    measured, and when the target gave no figures)."""
    loop_lag: LoopLag | None = None
    """Event-loop lag in the sampling pass: None when the program ran no asyncio loop
    (or in trace mode, and in runs saved before it was measured)."""
    repeats: tuple[RepeatRun, ...] = ()
    """`profile --repeat N` (N ≥ 2): each run's totals and function times, in the order
    they ran; the rest of the run is the representative run's. Empty with one run and in
    runs saved before it existed."""

    await_sites: tuple[AwaitSite, ...] = ()
    """The calls pass: where the wrapped coroutines were suspended, heaviest first (empty
    without coroutines, and in runs saved before it was measured)."""
    await_groups: tuple[AwaitGroupTiming, ...] = ()
    """The calls pass with `--findings`: the flagged await groups measured per call."""

    io_calls: tuple[IOCallStats, ...] = ()
    """The calls pass's database and HTTP calls per (calling user function, shape), most
    calls first; empty when the pass did not run, the program made none, and in runs
    saved before they were counted."""

    def ok_repeats(self) -> tuple[RepeatRun, ...]:
        """The repeated runs that ended normally: the ones a distribution is made of."""
        return tuple(r for r in self.repeats if r.status == "ok")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema_version": PROFILE_RUN_SCHEMA_VERSION,
                               "kind": PROFILE_RUN_KIND}
        out.update(_plain(self))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileRun:
        """Raises ValueError for a document that is not a profile run this code can read."""
        if not isinstance(data, Mapping) or data.get("kind") != PROFILE_RUN_KIND:
            raise ValueError("not an optadvisor profile run (kind is not 'profile-run')")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > PROFILE_RUN_SCHEMA_VERSION:
            raise ValueError(f"profile run schema_version {version!r} is not supported "
                             f"(this optadvisor reads up to {PROFILE_RUN_SCHEMA_VERSION})")
        return _build(cls, data)

    def user_functions(self) -> tuple[HotFunction, ...]:
        return tuple(f for f in self.functions if f.user)

    def ranked_user_functions(self) -> tuple[HotFunction, ...]:
        """User functions by the time charged to them (own + library time they call),
        heaviest first, `<module>` left out: "which of my functions costs the most". Waiting
        counts half as much as busy time: a parent idle in `Popen.wait` for the whole run is
        charged all of it, yet the work is in the children it waits for (waiting has its
        own rule, io-wait) — but one busy sample in a helper must not outrank a function
        that waits for nearly the whole run (a loaded machine gives such strays)."""
        found = [f for f in self.functions if f.user and f.name != "<module>"]

        def charged(f: HotFunction) -> float:
            return f.user_self_pct or f.self_pct

        def weight(f: HotFunction) -> float:
            waiting = min(charged(f), f.idle_pct)
            return charged(f) - waiting + WAITING_WEIGHT * waiting

        found.sort(key=lambda f: (-weight(f), -charged(f), -f.total_pct, f.name))
        return tuple(found)


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    """The inverse of _plain for the profile dataclasses: unknown keys are ignored (newer
    writers), missing ones take their defaults (older writers)."""
    import typing

    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"malformed {cls.__name__}: {exc}") from None


def _convert(tp: Any, value: Any) -> Any:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner[0], value)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v) for v in value or ())
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"malformed {tp.__name__}: expected an object")
        return _build(tp, value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


# =========================================================================== comparisons
# What `optadvisor compare` found between two saved results: two ProfileRuns or two scan
# reports. Per-function and total deltas, findings that came or went, and the regressions
# that make the comparison fail in CI. `*_pct` fields are percent (12.5 is +12.5 %);
# `max_regression` is a fraction (0.1 for 10 %), as `--max-regression 10%` parses.

COMPARISON_SCHEMA_VERSION = 1
COMPARISON_KIND = "comparison"


@dataclass(frozen=True)
class ComparedFile:
    """One side of a comparison: the file it came from and what that file held."""

    file: str
    kind: str
    """profile-run | scan."""
    label: str
    """A run's command (script and arguments); a scan's root."""
    created: str = ""
    tool_version: str = ""
    status: str = ""
    """A run's outcome status (ok, exit-nonzero, exception, signal, timeout, stopped); `` for a scan."""
    problem: str = ""
    """Why a run did not end normally, in words; `` when it did."""
    runs: int = 1
    """A run's repeated runs that ended normally (`profile --repeat N`); 1 without
    repeats, 0 for a scan."""

    @property
    def ok(self) -> bool:
        return self.status in ("", "ok")


@dataclass(frozen=True)
class Significance:
    """Whether one figure really changed between two sets of repeated runs: a bootstrap
    interval of median(after) − median(before) (optadvisor/significance.py). `before`
    and `after` of the delta it belongs to are then the medians."""

    runs_before: int
    runs_after: int
    tested: bool = False
    """Both sides had enough runs (significance.MIN_RUNS) for a test."""
    significant: bool = False
    """The interval excludes zero: the change is real at `confidence`."""
    low: float | None = None
    """The interval of the difference of medians, in the figure's unit (None untested)."""
    high: float | None = None
    confidence: float = 0.95
    before_min: float | None = None
    """The spread of each side's runs."""
    before_max: float | None = None
    after_min: float | None = None
    after_max: float | None = None


@dataclass(frozen=True)
class MetricDelta:
    """One total: wall/CPU/script seconds and peak RSS of runs; files, lines, functions,
    recommendations and errors of scans."""

    name: str
    label: str
    unit: str
    """s | bytes | count."""
    before: float | None
    """None when that side did not measure it (no monitor, killed before the end)."""
    after: float | None
    delta: float | None = None
    delta_pct: float | None = None
    """Relative change in percent; None unless `before` is a non-zero figure."""
    gated: bool = False
    """Can fail the comparison (wall, CPU, peak RSS; the number of recommendations)."""
    regression: bool = False
    significance: Significance | None = None
    """With repeated runs on either side (`profile --repeat`): the test of this change."""


@dataclass(frozen=True)
class FunctionDelta:
    """One function of two runs, matched by (path, name)."""

    name: str
    path: str
    """As the runs report it; library code as `<stdlib>/json/decoder.py` or
    `<site-packages>/pkg/mod.py`, so runs made by different interpreters still match."""
    line: int
    user: bool
    status: str
    """new | gone | changed (in both runs, whether or not its time moved)."""
    before_self: float = 0.0
    after_self: float = 0.0
    before_total: float = 0.0
    after_total: float = 0.0
    delta_seconds: float = 0.0
    """after_total - before_total."""
    delta_pct: float | None = None
    """Of before_total; None when the function had no time before."""
    before_share: float = 0.0
    """before_total as a percentage of the before run's wall time."""
    after_share: float = 0.0
    significant: bool = False
    """Takes at least the significance share (5 %) of either run's wall time: only
    significant functions can fail a comparison, so noise on tiny ones never does."""
    findings: tuple[str, ...] = ()
    """Rules a scan found in this function (`compare --findings SCAN.json`, the scan made
    before `scan --fix`): the functions whose measured delta is the fix's effect."""
    regression: bool = False
    significance: Significance | None = None
    """With repeated runs (`profile --repeat`): the test of its total time's change, for
    significant (≥ 5 %) functions; the totals are then medians."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.name)

    @property
    def self_delta(self) -> float:
        return self.after_self - self.before_self


@dataclass(frozen=True)
class CallDelta:
    """One function of both runs' calls passes (`profile --calls`), matched by path and
    name: how often it ran and its wall time per call (inclusive: what its callers wait).
    With repeated runs the figures are medians over the runs; report only, never a
    regression (a per-call time is the least stable figure of a run)."""

    name: str
    path: str
    line: int
    status: str
    """new | gone | changed (timed in both runs, whether or not its time moved)."""
    is_async: bool = False
    before_calls: int = 0
    after_calls: int = 0
    before_mean: float = 0.0
    """Seconds per call."""
    after_mean: float = 0.0
    before_p95: float = 0.0
    after_p95: float = 0.0
    before_total: float = 0.0
    after_total: float = 0.0
    mean_delta_pct: float | None = None
    """Of before_mean; None when it was not timed before."""
    p95_delta_pct: float | None = None
    mean_significance: Significance | None = None
    """With repeated runs on either side: the test of the change of the mean per call."""
    p95_significance: Significance | None = None
    """The same for the 95th percentile (None also when a side's runs did not keep it)."""


@dataclass(frozen=True)
class FindingDelta:
    """A recommendation of one scan without a match (by fingerprint) in the other."""

    status: str
    """new (only in the after scan) | fixed (only in the before scan)."""
    rule: str
    kind: str
    priority: str
    score: int
    path: str
    line: int
    symbol: str
    component: str
    message: str
    fingerprint: str


@dataclass(frozen=True)
class CountDelta:
    group: str
    """priority | kind."""
    name: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class Regression:
    """Why a comparison fails: one rule broken by one subject."""

    rule: str
    """wall-time | cpu-time | peak-rss | function-time | recommendation-growth |
    severe-recommendation."""
    subject: str
    """`wall time`, a function name, a rule id and location."""
    message: str
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class Comparison:
    kind: str
    """profile-run | scan: what both files are."""
    before: ComparedFile
    after: ComparedFile
    max_regression: float | None = None
    """A fraction; None reports the deltas and never fails."""
    totals: tuple[MetricDelta, ...] = ()
    functions: tuple[FunctionDelta, ...] = ()
    """User functions first, each group by |delta_seconds|, largest first."""
    calls: tuple[CallDelta, ...] = ()
    """Two runs with a calls pass each: per timed function, by the change of its total
    time, largest first; empty otherwise."""
    findings: tuple[FindingDelta, ...] = ()
    """New ones, then fixed ones, each by priority."""
    unchanged: int = 0
    """Recommendations present in both scans."""
    counts: tuple[CountDelta, ...] = ()
    criteria: tuple[str, ...] = ()
    """What counts as a regression in this comparison, in words (renderers print them)."""
    regressions: tuple[Regression, ...] = ()
    notes: tuple[str, ...] = ()
    """Things the reader must know: a run that did not finish, different scripts, …"""
    tool_version: str = ""

    @property
    def exit_code(self) -> int:
        """1 when a regression goes beyond max_regression, else 0."""
        return int(self.max_regression is not None and bool(self.regressions))

    def to_dict(self) -> dict[str, Any]:
        # `kind` names the document, as in a saved profile run; what is compared is
        # `comparing`.
        fields = _plain(self)
        fields["comparing"] = fields.pop("kind")
        return {"schema_version": COMPARISON_SCHEMA_VERSION, "kind": COMPARISON_KIND,
                **fields, "exit_code": self.exit_code}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """Raises ValueError for a document that is not a comparison this code can read."""
        if not isinstance(data, Mapping) or data.get("kind") != COMPARISON_KIND:
            raise ValueError("not an optadvisor comparison (kind is not 'comparison')")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > COMPARISON_SCHEMA_VERSION:
            raise ValueError(f"comparison schema_version {version!r} is not supported "
                             f"(this optadvisor reads up to {COMPARISON_SCHEMA_VERSION})")
        fields = dict(data)
        fields["kind"] = fields.pop("comparing", "")
        return _build(cls, fields)
