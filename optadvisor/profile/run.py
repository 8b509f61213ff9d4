"""`run_profile`: the passes over one target, in order, into one ProfileRun.

1. the measuring pass: py-spy out of process (or, when it cannot attach, the in-process
   sampler; or cProfile with mode="trace"), with the psutil monitor alongside;
2. the targeted line pass (line-profiler on the top user functions), only when asked;
3. the calls pass (calls, latency percentiles and argument fingerprints of the top user
   functions; database and HTTP calls per calling function), only when asked;
4. the memory pass (tracemalloc per targeted function) and, on request, memory-profiler's
   line report for one function.

Each pass runs the target afresh. Failures become RunErrors in the run; only a missing
script, an interpreter that cannot start it, or a bad option raises (ProfileUsageError:
exit 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from optadvisor import __version__
from optadvisor.models import (
    CallStats, GcStats, HotFunction, IOCallStats, LoopLag, PassRecord, ProfileRun, RepeatRun,
    RunEnvironment, RunError, RunOutcome, SampleSummary, SystemMetrics,
)
from optadvisor.profile import passes, repeat
from optadvisor.profile.aggregate import aggregate
from optadvisor.profile.fallback import IN_PROCESS, functions_from_cprofile, raw_from_samples
from optadvisor.profile.monitor import DEFAULT_INTERVAL, Monitor
from optadvisor.profile.sampling import (
    Recorder, SamplerUnavailable, find_py_spy, py_spy_version,
)
from optadvisor.profile.sources import SourceIndex
from optadvisor.profile.target import (
    BOOTSTRAP, Exit, TargetError, become_subreaper, describe, spawn,
)

MODES = ("sample", "trace")


class ProfileUsageError(Exception):
    """Nothing could be run: a missing script or interpreter, a bad option (exit 2)."""


@dataclass(frozen=True)
class ProfileOptions:
    script: Path
    args: tuple[str, ...] = ()
    module: str = ""
    """`profile -m MODULE`: run it as `python -m MODULE` does (`script` is then ignored)."""
    pid: int | None = None
    """`profile --pid PID`: attach to this running process instead of starting one."""
    duration: float | None = None
    """With `pid`: seconds to sample (default 10)."""
    timeout: float | None = None
    """Seconds each pass may run before its whole process tree is stopped."""
    mode: str = "sample"
    """sample (py-spy, out of process) | trace (cProfile, in process: exact calls, slower)."""
    lines: bool | None = None
    """Line pass (a second run of the program under line-profiler): only when True."""
    calls: bool | None = None
    """Calls pass (one more run with the top user functions wrapped): only when True."""
    flagged: tuple[tuple[str, str], ...] = ()
    """(absolute file, qualified name) of functions a scan had findings in
    (`profile --findings`): the calls pass wraps them too, hot or not — a coroutine waiting
    on I/O is rarely on the sampled stack, yet its wall time is what an async fix changes."""
    flagged_awaits: tuple[tuple[str, str, str, str, int, int], ...] = ()
    """(absolute file, qualified name, rule, kind, line, end_line) of the scan's
    sequential-awaits and await-in-loop findings: the calls pass times those groups'
    awaits per call (profile.awaits)."""
    memory: bool = False
    memory_lines: str | None = None
    """Name of one function for memory-profiler's (slow) line-by-line report."""
    rate: int = 100
    subprocesses: bool = True
    python: str | None = None
    """Interpreter for the target (default: the one running optadvisor)."""
    top: int = 5
    """How many user functions the line and memory passes target."""
    cwd: Path | None = None
    root: Path | None = None
    """What reported paths are relative to (default: cwd)."""
    stdin: str = "inherit"
    """inherit | null."""
    stdout: str = "inherit"
    """inherit | stderr | null: where the target's standard output goes."""
    sampler: str = "auto"
    """auto | py-spy | in-process (auto: py-spy, else in process, with the reason noted)."""
    py_spy: str | None = None
    monitor_interval: float = DEFAULT_INTERVAL
    repeat: int = 1
    """Run the measuring pass (and the calls pass) this many times, keeping every run's
    totals and function times (ProfileRun.repeats) for `compare`'s significance test."""
    baseline: bool = False
    """Run the script once plainly first, so every pass's overhead is measured against it
    (costs one more run; without it the line and memory passes are compared with the
    sampling pass, which py-spy barely slows)."""


Progress = Callable[[str], None]


@dataclass
class _Collected:
    errors: list[RunError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passes: list[PassRecord] = field(default_factory=list)
    await_sites: tuple = ()
    await_groups: tuple = ()
    """The calls pass's await figures (AwaitSite, AwaitGroupTiming)."""


def run_profile(options: ProfileOptions, progress: Progress | None = None) -> ProfileRun:
    say = progress or (lambda message: None)
    if options.pid is not None:
        from optadvisor.profile.attach import attach_profile

        if options.repeat != 1:
            raise ProfileUsageError("--repeat runs a program several times; with --pid "
                                    "there is one running process to sample")

        say(f"sampling pid {options.pid}")
        return attach_profile(options)
    python, script, cwd, root = _validate(options)
    become_subreaper()
    try:
        return _profile(options, python, script, cwd, root, say)
    finally:
        become_subreaper(False)


def _profile(options: ProfileOptions, python: str, script: Path, cwd: Path, root: Path,
             say: Callable[[str], None]) -> ProfileRun:
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    collected = _Collected()
    sources = SourceIndex(excluded=(BOOTSTRAP,))

    plain = 0.0
    if options.baseline:
        say("plain run")
        plain = passes.baseline_pass(options, python, script, cwd, collected)
    measured: list[_First] = []
    for index in range(options.repeat):
        verb = "measuring" if options.mode == "sample" else "tracing"
        say(verb if options.repeat == 1 else f"{verb}, run {index + 1} of {options.repeat}")
        measured.append(_measure(options, python, script, cwd, root, sources, collected,
                                 plain))
        if measured[-1].outcome.status != "ok":
            break
    repeats = tuple(_repeat_run(m) for m in measured)
    first = measured[repeat.representative(repeats)]
    if options.repeat > 1:
        _note_repeats(options.repeat, repeats, collected,
                      "sampler" if options.mode == "sample" else "tracer")
    functions = first.functions
    run = ProfileRun(
        command=(python, *(("-m", options.module) if options.module else (str(script),)),
                 *options.args), script=str(script), args=options.args,
        cwd=str(cwd), root=str(root), mode=options.mode, environment=first.environment,
        outcome=first.outcome, wall_seconds=round(first.exit.wall_seconds, 4),
        cpu_seconds=_cpu(first.exit), script_seconds=round(first.script_seconds, 4),
        created=created, samples=first.summary,
        functions=functions, lines=first.lines, metrics=first.metrics,
        tool_version=__version__, stacks=first.stacks, gc=first.gc, loop_lag=first.loop_lag,
        repeats=repeats if options.repeat > 1 else ())

    baseline = plain or first.exit.wall_seconds
    if _want_lines(options, first, collected):
        say("timing lines")
        run = replace(run, line_timings=passes.line_pass(
            options, python, script, cwd, root, functions, sources, baseline, collected))
    if _want_calls(options, first, collected):
        run = _calls_passes(options, python, script, cwd, root, sources, baseline, collected,
                            run, say)
        run = replace(run, await_sites=collected.await_sites,
                      await_groups=collected.await_groups)
    memory = passes.rss_report(first.metrics, first.script_seconds)
    _note_memory_once(options, collected)
    if options.memory:
        say("tracing memory")
        memory = passes.memory_pass(options, python, script, cwd, root, functions, sources,
                                    baseline, collected, memory)
    if options.memory_lines:
        say("memory by line")
        memory = passes.memory_lines_pass(options, python, script, cwd, root, functions,
                                          sources, baseline, collected, memory)
    # Repeated runs fail alike: one error or note per kind and message, not one per run.
    return replace(run, memory=memory, passes=tuple(collected.passes),
                   errors=tuple(dict.fromkeys(collected.errors)),
                   notes=tuple(dict.fromkeys(collected.notes)))


def _repeat_run(first: _First) -> RepeatRun:
    return RepeatRun(wall_seconds=round(first.exit.wall_seconds, 4), cpu_seconds=_cpu(first.exit),
                     script_seconds=round(first.script_seconds, 4),
                     rss_peak=first.metrics.rss_peak if first.metrics else 0,
                     status=first.outcome.status,
                     functions=repeat.repeat_functions(first.functions))


def _note_repeats(wanted: int, runs: tuple[RepeatRun, ...], collected: _Collected,
                  what: str) -> None:
    if len(runs) < wanted:
        collected.notes.append(
            f"--repeat {wanted}: run {len(runs)} did not end normally "
            f"({runs[-1].status}), so no further run was made; its figures are the report's")
        return
    collected.notes.append(
        f"the program ran {wanted} times under the {what} "
        f"(--repeat {wanted}): the report's figures are the run with the median wall time; "
        "every run's totals and function times are saved for `compare`")


def _calls_passes(options: ProfileOptions, python: str, script: Path, cwd: Path, root: Path,
                  sources: SourceIndex, baseline: float, collected: _Collected,
                  run: ProfileRun, say: Callable[[str], None]) -> ProfileRun:
    """The calls pass, once per repeated run (`--repeat`): each run's per-call times are
    kept beside its sampled figures; the report shows the median pass."""
    count = len(run.repeats) or 1
    done: list[tuple[CallStats, ...]] = []
    ios: list[tuple[IOCallStats, ...]] = []
    for index in range(count):
        say("counting calls" if count == 1 else f"counting calls, run {index + 1} of {count}")
        stats, io = passes.calls_pass(options, python, script, cwd, root, run.functions,
                                      sources, baseline, collected)
        done.append(stats)
        ios.append(io)
    if not run.repeats:
        return replace(run, calls=done[0], io_calls=ios[0])
    repeats = tuple(replace(r, calls=repeat.repeat_calls(stats))
                    for r, stats in zip(run.repeats, done))
    median = repeat.median_calls(done)
    return replace(run, calls=done[median], repeats=repeats, io_calls=ios[median])


# ---------------------------------------------------------------- the measuring pass


@dataclass
class _First:
    exit: Exit
    outcome: RunOutcome
    environment: RunEnvironment
    summary: SampleSummary | None = None
    functions: tuple[HotFunction, ...] = ()
    lines: tuple = ()
    metrics: SystemMetrics | None = None
    script_seconds: float = 0.0
    stacks: tuple = ()
    gc: GcStats | None = None
    loop_lag: LoopLag | None = None


def _measure(options: ProfileOptions, python: str, script: Path, cwd: Path, root: Path,
             sources: SourceIndex, collected: _Collected, plain: float = 0.0) -> _First:
    pass_name = "sample" if options.mode == "sample" else "trace"
    gate_mode = "run" if options.mode == "sample" else "trace"
    try:
        target = spawn(python, script, options.args, gate_mode, cwd, options.stdin,
                       options.stdout, {"rate": options.rate, "module": options.module},
                       allow_ptrace=True)
    except TargetError as exc:
        raise ProfileUsageError(str(exc)) from None
    recorder: Recorder | None = None
    sampler_name = "cProfile"
    try:
        if options.mode == "sample":
            recorder, sampler_name, gate_mode = _attach(options, target, collected)
        monitor = Monitor(target.pid, options.monitor_interval)
        target.tracked = monitor.processes
        monitor.start()
        target.release(gate_mode)
        exit = target.wait(options.timeout)
        monitor.stop()
        stopped, leftover = target.stop_leftovers()  # with what the monitor saw (tracked)
        result = target.read_result()
        raw = None
        if recorder is not None:
            try:
                raw = recorder.finish(target.pid)
            except SamplerUnavailable as exc:
                collected.errors.append(RunError(exc.kind, str(exc), pass_name))
            except ValueError as exc:
                collected.errors.append(RunError("parse-error", f"py-spy output: {exc}",
                                                 pass_name))
        elif result.get("samples"):
            raw = raw_from_samples(result["samples"], target.pid, options.rate)
    finally:
        if recorder is not None:
            recorder.kill()
        target.abort()
        target.cleanup()

    env_data = result.get("env") or {}
    _use_stdlib(sources, env_data, python)
    outcome = describe(exit, result, options.timeout, stopped, leftover)
    if result.get("mode") is None and not exit.timed_out:
        ended = (f"was killed by {outcome.signal}" if outcome.signal
                 else f"exited with status {exit.returncode}")
        raise ProfileUsageError(f"{python} {ended} before running the script: is it "
                                "Python 3.8 or newer?")
    _note_outcome(outcome, pass_name, collected)
    for message in result.get("errors") or ():
        collected.errors.append(RunError("target-failed", str(message), pass_name))
    first = _First(exit=exit, outcome=outcome,
                   environment=_environment(env_data, python, sampler_name),
                   metrics=monitor.metrics(exit.rusage),
                   script_seconds=float(result.get("seconds") or 0.0))
    first.gc = passes.gc_stats(result.get("gc") or {}, sources, str(root), first.script_seconds)
    first.loop_lag = passes.loop_lag(result.get("loop_lag"), sources, str(root))
    if raw is not None:
        found = aggregate(raw, sources, str(root), launcher=BOOTSTRAP, script=str(script))
        first.summary, first.functions, first.lines = found.summary, found.functions, found.lines
        first.stacks = found.stacks
        if found.summary.total == 0:
            collected.errors.append(RunError(
                "no-samples", "the sampler took no samples of the script (it ended too soon?)",
                pass_name))
    elif options.mode == "trace":
        rows = result.get("cprofile") or []
        first.functions = functions_from_cprofile(rows, sources, str(root), exit.wall_seconds,
                                                  launcher=BOOTSTRAP)
        first.summary = SampleSummary(sampler="cprofile", rate=0, total=0, idle=0, ticks=0)
        if not rows:
            collected.errors.append(RunError("no-samples", "cProfile recorded nothing",
                                             pass_name))
        collected.notes.append("trace mode: cProfile counts every call, so times are inflated "
                               "for call-heavy code, only the main thread is seen, and idle "
                               "time is not separated")
    ok = raw is not None or options.mode == "trace"
    note = sampler_name
    if recorder is not None:
        note += ", out of process, never pausing the target"
    collected.passes.append(PassRecord(
        pass_name, "ok" if ok else "failed", round(exit.wall_seconds, 4),
        round(exit.wall_seconds / plain, 3) if plain > 0 else 0.0, note))
    return first


def _attach(options: ProfileOptions, target: Any,
            collected: _Collected) -> tuple[Recorder | None, str, str]:
    """py-spy on the gated target, or the in-process sampler with the reason recorded."""
    if options.sampler == "in-process":
        collected.notes.append("sampled in process (as requested): the sampler thread shares "
                               "the GIL with the target, expect a few percent overhead")
        return None, IN_PROCESS + " sampler", "sample"
    binary = find_py_spy(options.py_spy)
    reason: SamplerUnavailable
    if binary is None:
        reason = SamplerUnavailable("sampler-unavailable", "py-spy is not installed or not on "
                                    "PATH")
    else:
        try:
            recorder = Recorder.attach(binary, target.pid, target.workdir, options.rate,
                                       options.subprocesses)
            target.helper(recorder.process.pid)
            return recorder, py_spy_version(binary), "go"
        except SamplerUnavailable as exc:
            reason = exc
    if options.sampler == "py-spy":
        collected.errors.append(RunError(reason.kind, str(reason), "sample"))
        return None, "none", "go"
    collected.errors.append(RunError(reason.kind, str(reason), "sample"))
    collected.notes.append(f"py-spy unavailable ({reason}); sampled in process instead: "
                           "subprocesses are not seen and the sampler shares the GIL")
    return None, IN_PROCESS + " sampler", "sample"


def _note_outcome(outcome: RunOutcome, pass_name: str, collected: _Collected) -> None:
    if outcome.status == "timeout":
        collected.errors.append(RunError("timeout", outcome.message, pass_name))
    elif outcome.status not in ("ok",):
        collected.errors.append(RunError("target-failed", f"the script {outcome.message}",
                                         pass_name))
    if outcome.leftover:
        collected.errors.append(RunError("leftover-process", outcome.message, pass_name))


def _want_lines(options: ProfileOptions, first: _First, collected: _Collected) -> bool:
    """Only when asked: the line pass runs the program a second time, with its output and
    its side effects (files written, requests sent) twice. When it runs, the run says so."""
    if options.lines:
        if options.repeat == 1:
            collected.notes.append("the program ran twice: sampled once, then again under "
                                   "the line timer (--lines)")
        else:
            collected.notes.append(_once(options.repeat, "under the line timer (--lines)",
                                         "line timings"))
    return bool(options.lines)


def _note_memory_once(options: ProfileOptions, collected: _Collected) -> None:
    """The memory passes are detail views of where memory goes, not figures to test: with
    `--repeat` they run once, and the run says so."""
    if options.repeat > 1 and (options.memory or options.memory_lines):
        flags = " and ".join(f for f, on in (("--memory", options.memory),
                                               ("--memory-lines", options.memory_lines)) if on)
        collected.notes.append(_once(options.repeat, f"under the memory tracer ({flags})",
                                     "memory allocation figures"))


def _once(repeat: int, how: str, what: str) -> str:
    """Why a detail pass ran once although the measuring pass ran `repeat` times: it
    multiplies a run's cost (the line timer and the memory tracer slow the program several
    times over) and `compare` does not test its figures."""
    return (f"--repeat {repeat}: the program ran once more {how}, after the {repeat} "
            f"measured runs, for the functions of the run with the median wall time; its "
            f"{what} are that one run's, not medians, and `compare` does not use them")


def _want_calls(options: ProfileOptions, first: _First, collected: _Collected) -> bool:
    """Only when asked, for the line pass's reason: one more run of the program, with its
    output and side effects."""
    if options.calls:
        more = "once more" if options.repeat == 1 else f"{options.repeat} more times"
        collected.notes.append(f"the program ran {more} with its top functions wrapped "
                               "(--calls): calls, latency and argument fingerprints")
    return bool(options.calls)


# ---------------------------------------------------------------- small helpers


def _validate(options: ProfileOptions) -> tuple[str, Path, Path, Path]:
    if options.mode not in MODES:
        raise ProfileUsageError(f"unknown mode {options.mode!r}; choose sample or trace")
    if options.rate < 1 or options.rate > 10_000:
        raise ProfileUsageError(f"rate {options.rate} is out of range (1-10000)")
    if not 1 <= options.repeat <= repeat.MAX_REPEAT:
        raise ProfileUsageError(f"--repeat {options.repeat} is out of range "
                                f"(1-{repeat.MAX_REPEAT})")
    if options.timeout is not None and options.timeout <= 0:
        raise ProfileUsageError("timeout must be a positive number of seconds")
    for name, value, allowed in (("stdin", options.stdin, ("inherit", "null")),
                                 ("stdout", options.stdout, ("inherit", "stderr", "null")),
                                 ("sampler", options.sampler, ("auto", "py-spy", "in-process"))):
        if value not in allowed:
            raise ProfileUsageError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    cwd = (options.cwd or Path.cwd()).resolve()
    python = options.python or sys.executable
    resolved = shutil.which(python) if os.sep not in python else python
    if not resolved or not os.path.isfile(resolved) or not os.access(resolved, os.X_OK):
        raise ProfileUsageError(f"no such interpreter: {python}")
    if options.module:
        script = module_file(resolved, options.module, cwd)
    else:
        script = Path(options.script)
        script = (script if script.is_absolute() else cwd / script).resolve()
        if not script.exists():
            raise ProfileUsageError(f"no such script: {options.script}")
        if not script.is_file():
            raise ProfileUsageError(f"not a file: {options.script}")
    root = (options.root or cwd).resolve()
    return resolved, script, cwd, root


_FIND_MODULE = """
import importlib.util, sys
sys.path.insert(0, "")
try:
    spec = importlib.util.find_spec(sys.argv[1])
    if spec is not None and spec.submodule_search_locations is not None:
        spec = importlib.util.find_spec(sys.argv[1] + ".__main__")
except (ImportError, ValueError):
    spec = None
print(spec.origin if spec is not None and spec.origin else "")
"""


def module_file(python: str, module: str, cwd: Path) -> Path:
    """The file `python -m MODULE` runs (a package's `__main__.py`), found by the target
    interpreter itself in the working directory: its path, not ours, decides."""
    try:
        found = subprocess.run([python, "-c", _FIND_MODULE, module], cwd=str(cwd),
                               capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProfileUsageError(f"cannot look up module {module!r} with {python}: {exc}") \
            from None
    origin = found.stdout.strip().splitlines()[-1] if found.stdout.strip() else ""
    if not origin:
        raise ProfileUsageError(f"no module named {module!r} (looked up by {python} in {cwd})")
    path = Path(origin)
    if not path.is_file() or path.suffix != ".py":
        raise ProfileUsageError(f"module {module!r} is not Python source ({origin}): "
                                "only modules with a .py file can be profiled")
    return path.resolve()


def _use_stdlib(sources: SourceIndex, env: dict[str, Any], python: str) -> None:
    stdlib = str(env.get("stdlib") or "")
    if not stdlib and os.path.realpath(python) == os.path.realpath(sys.executable):
        import sysconfig

        stdlib = sysconfig.get_paths().get("stdlib", "")
    sources.use_stdlib(stdlib)


def _environment(env: dict[str, Any], python: str, sampler: str) -> RunEnvironment:
    if not env and os.path.realpath(python) == os.path.realpath(sys.executable):
        import platform
        import sysconfig

        env = {"python": platform.python_version(),
               "implementation": sys.implementation.name,
               "executable": sys.executable, "platform": platform.platform(),
               "machine": platform.machine(), "cpu_count": os.cpu_count() or 1,
               "stdlib": sysconfig.get_paths().get("stdlib", "")}
    return RunEnvironment(
        python=str(env.get("python", "")), implementation=str(env.get("implementation", "")),
        executable=str(env.get("executable", python)), platform=str(env.get("platform", "")),
        machine=str(env.get("machine", "")), cpu_count=int(env.get("cpu_count") or 0),
        sampler=sampler, tool_version=__version__, stdlib=str(env.get("stdlib", "")))


def _cpu(exit: Exit) -> float:
    if exit.rusage is None:
        return 0.0
    return round(exit.rusage.user_seconds + exit.rusage.system_seconds, 4)
