"""Runs inside the target's interpreter: waits at a gate until the sampler is attached,
then runs the user's script as `__main__` with the pass's instruments, and leaves what it
learned (exit, exception, in-process samples, cProfile, line and memory figures) in a JSON
file for the parent.

It is started as `python _bootstrap.py CONFIG.json`. The standard library only (the
target interpreter may be another Python); line_profiler and memory_profiler are imported
only by the passes that need them. Written for Python 3.8+.
"""

import ast
import builtins
import json
import os
import sys
import threading
import time
import types

_SELF = os.path.abspath(__file__)
_OURS = os.path.dirname(_SELF) + os.sep
"""This directory: the bootstrap and what it loads beside it (_awaits.py, _iocount/); frame
walks that look for the program's own code skip it."""
_PID = os.getpid()


def main(config_path):
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    if config.get("allow_ptrace"):
        _allow_ptrace()
    mode = _wait_at_gate(config["gate_fd"], config["mode"])
    if mode is None:
        sys.stderr.write("optadvisor: the profiler went away before the script started\n")
        return 3
    result = {"mode": mode, "errors": []}
    _write(config["result"], result)  # proof it started, should it end in os._exit
    _log_forks(config.get("forks"))
    script = config["script"]
    module_name = config.get("module") or ""
    sys.argv = [script] + list(config["args"])
    # `python -m pkg.mod` puts the working directory first on the path, `python script.py`
    # the script's directory.
    sys.path[0] = os.getcwd() if module_name else os.path.dirname(script)

    instruments = _Instruments(mode, config, result)
    try:
        code = _compile_script(script, instruments.decorations(script))
    except BaseException as exc:  # a syntax error is the script's failure, reported as such
        result["exit"] = {"kind": "exception", "code": 1, "exception": _describe(exc)}
        _write(config["result"], result)
        _hide_launcher_frames()
        raise
    missing = instruments.install()
    if missing:  # no point running the script without the pass's instrument
        result["exit"] = {"kind": "skipped", "code": 0}
        result["skipped"] = missing
        result["env"] = _environment()
        _write(config["result"], result)
        return 0
    module = types.ModuleType("__main__")
    module.__dict__.update({"__file__": script, "__builtins__": builtins, "__cached__": None,
                            "__spec__": None, "__loader__": None, "__package__": None})
    if module_name:
        # As runpy does for -m: the module's spec and package, so relative imports work.
        import importlib.util

        spec = importlib.util.find_spec(module_name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(module_name + ".__main__")
        if spec is not None:
            module.__dict__.update({"__spec__": spec, "__loader__": spec.loader,
                                    "__package__": spec.parent})
    saved_main = sys.modules["__main__"]
    sys.modules["__main__"] = module

    error = None
    started = time.perf_counter()
    try:
        instruments.start()
        try:
            exec(code, module.__dict__)
        finally:
            # Before anything of ours allocates: a collection that our bookkeeping sets
            # off (the program's garbage, collected after its last line) is not its pause.
            instruments.stop_gc()
        result["exit"] = {"kind": "return", "code": 0}
    except SystemExit as exc:
        error = exc
        code_value = exc.code
        result["exit"] = {"kind": "exit",
                          "code": code_value if isinstance(code_value, int) else
                          (0 if code_value is None else 1)}
    except KeyboardInterrupt as exc:
        error = exc
        result["exit"] = {"kind": "interrupted", "code": None}
    except BaseException as exc:
        error = exc
        result["exit"] = {"kind": "exception", "code": 1, "exception": _describe(exc)}
    finally:
        result["seconds"] = time.perf_counter() - started
        if os.getpid() == _PID:  # a forked child running on through our code writes nothing
            try:
                instruments.finish(module)
            except BaseException as exc:
                result["errors"].append("collecting results failed: " + _describe(exc))
            result["env"] = _environment()
            _write(config["result"], result)
    sys.modules["__main__"] = saved_main
    if error is not None:
        _hide_launcher_frames()
        raise error
    return 0


def _hide_launcher_frames():
    """Tracebacks the user sees start at their script, as with `python script.py`."""
    if sys.excepthook is not sys.__excepthook__:
        return

    def hook(kind, value, tb):
        while tb is not None and tb.tb_frame.f_code.co_filename == _SELF:
            tb = tb.tb_next
        if value is not None:
            value.__traceback__ = tb  # the default hook prints the exception's own traceback
        sys.__excepthook__(kind, value, tb)

    sys.excepthook = hook


def _log_forks(path):
    """Every process started from here on appends its pid to `path`, so that `profile`
    finds a daemon that left the session and emptied its environment where no child
    subreaper collects it (not Linux), even when its parent ended before any look at the
    tree: forks note themselves (the hook is inherited by forks of forks), and the pids of
    fork+exec (subprocess, multiprocessing) and posix_spawn, which run no fork hook, are
    noted by their caller. One small write per process started."""
    if not path or not hasattr(os, "register_at_fork"):
        return

    def note(pid):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, ("%d\n" % pid).encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass  # the run is over and its directory gone

    def noted(start):
        def start_and_note(*args, **kwargs):
            pid = start(*args, **kwargs)
            note(pid)
            return pid
        start_and_note.__wrapped__ = start
        return start_and_note

    os.register_at_fork(after_in_child=lambda: note(os.getpid()))
    try:
        import _posixsubprocess
        _posixsubprocess.fork_exec = noted(_posixsubprocess.fork_exec)
    except (ImportError, AttributeError):
        pass
    for name in ("posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, noted(getattr(os, name)))


def _wait_at_gate(fd, mode):
    """Block until the parent says go (one line: the mode to run, or `go`)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 256)
        if not chunk:
            return None
        data += chunk
    os.close(fd)
    word = data.decode("ascii", "replace").strip()
    return mode if word == "go" else word


def _allow_ptrace():
    """Under Yama ptrace_scope=1 only ancestors may read a process's memory; the sampler is
    our sibling, so say it may (PR_SET_PTRACER, PR_SET_PTRACER_ANY)."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as handle:
            if handle.read().strip() != "1":
                return
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(0x59616D61, ctypes.c_ulong(-1 & 0xFFFFFFFFFFFFFFFF), 0, 0, 0)
    except Exception:
        pass


def _describe(exc):
    text = str(exc)
    return type(exc).__name__ + (": " + text if text else "")


def _environment():
    """Cheap facts only: this runs inside the measured process (no sysconfig, no platform)."""
    uname = os.uname() if hasattr(os, "uname") else None
    version = "{}.{}.{}".format(*sys.version_info[:3])
    if sys.version_info.releaselevel != "final":
        version += sys.version_info.releaselevel[0] + str(sys.version_info.serial)
    return {"python": version, "implementation": sys.implementation.name,
            "executable": sys.executable,
            "platform": sys.platform + (" " + uname.release if uname else ""),
            "machine": uname.machine if uname else "", "cpu_count": os.cpu_count() or 1,
            "stdlib": os.path.dirname(os.__file__)}


def _write(path, result):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(tmp, path)


# ------------------------------------------------------------------ compiling with decorators


def _compile_script(path, decorations):
    with open(path, "rb") as handle:
        source = handle.read()
    if not decorations:
        return compile(source, path, "exec", dont_inherit=True)
    tree = compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    _decorate(tree, decorations)
    return compile(tree, path, "exec", dont_inherit=True)


def _decorate(tree, decorations):
    """Add builtin-named decorators (innermost) to the functions named by (qualname, line)."""
    by_line = {}
    for (qualname, line), names in decorations.items():
        by_line[line] = (qualname, names)

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = prefix + child.name
                wanted = by_line.get(child.lineno)
                if wanted and wanted[0].rsplit(".", 1)[-1] == child.name:
                    for name in wanted[1]:
                        deco = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), child)
                        child.decorator_list.append(deco)
                visit(child, qualname + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    ast.fix_missing_locations(tree)


class _DecoratingFinder:
    """Imports the user's other modules holding targeted functions through _decorate."""

    def __init__(self, files):
        self.files = files

    def find_spec(self, name, path, target=None):
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not spec.origin:
            return None
        origin = os.path.abspath(spec.origin)
        if origin not in self.files or not isinstance(
                spec.loader, importlib.machinery.SourceFileLoader):
            return None
        spec.loader = _DecoratingLoader(spec.loader.name, spec.loader.path, self.files[origin])
        return spec


def _loader_class():
    import importlib.machinery

    class DecoratingLoader(importlib.machinery.SourceFileLoader):
        def __init__(self, fullname, path, decorations):
            super().__init__(fullname, path)
            self.decorations = decorations

        def get_code(self, fullname):
            return _compile_script(self.path, self.decorations)

    return DecoratingLoader


def _DecoratingLoader(fullname, path, decorations):
    return _loader_class()(fullname, path, decorations)


# ------------------------------------------------------------------ instruments per mode


_GC_MODES = ("run", "sample", "trace")
"""The measuring passes: a callback per collection is cheap (measured in the README), and
the figures should come from the run whose times are reported."""


class _Instruments:
    def __init__(self, mode, config, result):
        self.mode = mode
        self.config = config
        self.result = result
        self.sampler = None
        self.cprofile = None
        self.line_profiler = None
        self.memory = None
        self.memory_lines = None
        self.calls = None
        self.io = None
        self.gc = None
        self.lag = None
        self.targets = config.get("targets") or []
        self.memory_target = config.get("memory_lines")

    def decorations(self, script):
        """{file: {(qualname, line): [builtin decorator names]}} for this pass's targets."""
        names = []
        if self.mode == "lines":
            names.append("__optadvisor_lines__")
        if self.mode == "memory":
            names.append("__optadvisor_memory__")
        if self.mode == "calls":
            names.append("__optadvisor_calls__")
        found = {}
        targets = list(self.targets) if names else []
        for target in targets:
            per_file = found.setdefault(os.path.abspath(target["file"]), {})
            per_file.setdefault((target["name"], target["line"]), []).extend(names)
        if self.mode == "memory-lines" and self.memory_target:
            target = self.memory_target
            per_file = found.setdefault(os.path.abspath(target["file"]), {})
            per_file.setdefault((target["name"], target["line"]), []).append(
                "__optadvisor_memory_lines__")
        self._by_file = found
        return found.get(os.path.abspath(script), {})

    def install(self):
        """Set up the pass's instrument; returns why it cannot run, or None."""
        script = os.path.abspath(self.config["script"])
        others = {f: d for f, d in self._by_file.items() if f != script}
        if others:
            # The finder imports importlib.machinery when asked for a module: were it not
            # imported yet, that import would ask the finder again, forever.
            import importlib.machinery  # noqa: F401

            sys.meta_path.insert(0, _DecoratingFinder(others))
        if self.mode == "lines":
            try:
                import line_profiler
            except ImportError:
                return "line_profiler is not installed in the target interpreter"
            self.line_profiler = line_profiler.LineProfiler()
            builtins.__optadvisor_lines__ = self.line_profiler
            try:
                from line_profiler import _diagnostics

                self.result["line_core"] = (
                    "legacy-trace" if _diagnostics.USE_LEGACY_TRACE else "sys.monitoring")
            except Exception:
                self.result["line_core"] = "unknown"
        if self.mode == "memory":
            self.memory = _MemoryTracker(self.config.get("memory_frames", 1))
            builtins.__optadvisor_memory__ = self.memory.wrap
        if self.mode == "calls":
            self.calls = _CallTracker(_await_book(self.targets))
            builtins.__optadvisor_calls__ = self.calls.wrap
            self.io = _io_counter()
        if self.mode == "memory-lines":
            try:
                import memory_profiler
            except ImportError:
                return "memory_profiler is not installed in the target interpreter"
            self.memory_lines = memory_profiler.LineProfiler(backend="psutil")
            builtins.__optadvisor_memory_lines__ = self.memory_lines
        return None

    def start(self):
        if self.mode in _GC_MODES:
            self.gc = _GcTracker()
            self.gc.install()
        if self.mode in _LAG_MODES:
            self.lag = _LoopLagMonitor(
                float(self.config.get("lag_interval", _LAG_INTERVAL)),
                float(self.config.get("lag_threshold", _LAG_THRESHOLD)))
            self.lag.install()
        if self.mode == "sample":
            self.sampler = _Sampler(self.config.get("rate", 100))
            self.sampler.start()
        elif self.mode == "trace":
            import cProfile

            self.cprofile = cProfile.Profile()
            self.cprofile.enable()
        elif self.mode == "memory":
            self.memory.start()

    def stop_gc(self):
        if self.gc is not None:
            self.gc.uninstall()
        if self.lag is not None:
            self.lag.stop()

    def finish(self, module):
        if self.gc is not None:
            self.result["gc"] = self.gc.finish()
        if self.lag is not None:
            self.result["loop_lag"] = self.lag.finish()
        if self.calls is not None:
            self.result["calls"] = self.calls.finish()
            if self.calls.awaits is not None:
                self.result["awaits"] = self.calls.awaits.finish()
        if self.io is not None:
            self.result["io"] = self.io.finish()
        if self.sampler is not None:
            self.result["samples"] = self.sampler.stop()
        if self.cprofile is not None:
            self.cprofile.disable()
            self.result["cprofile"] = _cprofile_rows(self.cprofile)
        if self.line_profiler is not None:
            self.result["lines"] = _line_rows(self.line_profiler)
        if self.memory is not None:
            self.result["memory"] = self.memory.finish(self._memory_spans())
        if self.memory_lines is not None:
            self.result["memory_lines"] = _memory_line_rows(self.memory_lines)

    def _memory_spans(self):
        return [(os.path.abspath(t["file"]), t["name"], t["line"],
                 t.get("first_line", t["line"]), t.get("end_line", t["line"]))
                for t in self.targets]


def _user_code(code, library, verdicts):
    """Whether a code object is the program's own (not the standard library, installed
    packages or generated code), memoized per code object in `verdicts`."""
    verdict = verdicts.get(code)
    if verdict is None:
        file = code.co_filename
        verdict = not (file.startswith("<") or file.startswith(library)
                       or "site-packages" in file or "dist-packages" in file)
        verdicts[code] = verdict
    return verdict


def _absolute(filename):
    """Real files as absolute paths; `<frozen abc>`, `<string>` as they are."""
    return filename if filename.startswith("<") else os.path.abspath(filename)


class _Sampler(threading.Thread):
    """The fallback when no external sampler can read this process: a daemon thread taking
    every thread's stack `rate` times a second (it holds the GIL briefly each time)."""

    def __init__(self, rate):
        super().__init__(name="optadvisor-sampler", daemon=True)
        self.interval = 1.0 / max(int(rate), 1)
        self.halt = threading.Event()
        self.frames = []
        self.index = {}
        self.stacks = {}
        self.ticks = 0
        self.started = time.perf_counter()
        self.elapsed = 0.0
        self.names = {}

    def run(self):
        me = threading.get_ident()
        current_frames = sys._current_frames
        deadline = time.perf_counter()
        while not self.halt.is_set():
            self.ticks += 1
            for ident, frame in current_frames().items():
                if ident == me:
                    continue
                if ident not in self.names:  # threads may be gone by the end: name them now
                    thread = threading._active.get(ident)
                    self.names[ident] = ((getattr(thread, "native_id", None) or ident,
                                          thread.name) if thread else (ident, ""))
                stack = []
                while frame is not None:
                    code = frame.f_code
                    key = (getattr(code, "co_qualname", code.co_name), code.co_filename,
                           frame.f_lineno or 0)
                    slot = self.index.get(key)
                    if slot is None:
                        slot = self.index[key] = len(self.frames)
                        self.frames.append(key)
                    stack.append(slot)
                    frame = frame.f_back
                stack.reverse()
                entry = (ident, tuple(stack))
                self.stacks[entry] = self.stacks.get(entry, 0) + 1
            deadline += self.interval
            delay = deadline - time.perf_counter()
            if delay < 0:
                deadline = time.perf_counter()
                delay = 0
            self.halt.wait(delay)

    def stop(self):
        self.elapsed = time.perf_counter() - self.started
        self.halt.set()
        self.join(1.0)
        natives = dict(self.names)
        for thread in threading.enumerate():
            natives[thread.ident] = (getattr(thread, "native_id", None) or thread.ident,
                                     thread.name)
        main_ident = threading.main_thread().ident
        stacks = []
        for (ident, stack), count in self.stacks.items():
            tid, _ = natives.get(ident, (ident, ""))
            stacks.append([tid, list(stack), count])
        return {"frames": [list(f) for f in self.frames], "stacks": stacks,
                "ticks": self.ticks, "elapsed": self.elapsed,
                "main": natives.get(main_ident, (main_ident, ""))[0],
                "names": {str(tid): name for tid, name in natives.values()}}


def _cprofile_rows(profiler):
    import pstats

    stats = pstats.Stats(profiler).stats
    rows = []
    for (file, line, name), (cc, nc, tt, ct, callers) in stats.items():
        edges = [[cfile, cline, cname, edge[3]]
                 for (cfile, cline, cname), edge in callers.items()]
        rows.append([file, line, name, nc, tt, ct, edges])
    return rows


def _line_rows(profiler):
    stats = profiler.get_stats()
    rows = []
    for (file, first_line, name), timings in stats.timings.items():
        rows.append({"file": file, "first_line": first_line, "name": name,
                     "lines": [[line, hits, time_units * stats.unit]
                               for line, hits, time_units in timings]})
    return rows


def _memory_line_rows(profiler):
    rows = []
    for filename, lines in profiler.code_map.items():
        for line, measure in lines:
            if measure:
                rows.append([filename, line, measure[0], measure[1], measure[2]])
    return rows


class _MemoryTracker:
    """tracemalloc over the run, with a per-call peak for each targeted function: at entry
    the running peak is folded into every enclosing targeted call and reset, so nested
    targets do not hide each other's peaks."""

    def __init__(self, frames):
        self.frames = max(int(frames), 1)
        self.calls = {}
        self.stack = []
        self.peak_seen = 0

    def start(self):
        import tracemalloc

        self.tracemalloc = tracemalloc
        tracemalloc.start(self.frames)

    def _fold(self):
        current, peak = self.tracemalloc.get_traced_memory()
        self.peak_seen = max(self.peak_seen, peak)
        for entry in self.stack:
            entry[2] = max(entry[2], peak)
        return current

    def _enter(self, key):
        current = self._fold() if self.tracemalloc.is_tracing() else 0
        if self.tracemalloc.is_tracing():
            self.tracemalloc.reset_peak()
        entry = [key, current, current]
        self.stack.append(entry)
        return entry

    def _exit(self, entry):
        current = self._fold() if self.tracemalloc.is_tracing() else 0
        if self.stack and self.stack[-1] is entry:
            self.stack.pop()
        record = self.calls.setdefault(entry[0], [0, 0, 0])
        record[0] += 1
        record[1] = max(record[1], entry[2] - entry[1])
        record[2] += current - entry[1]

    def wrap(self, func):
        import functools
        import inspect

        code = getattr(func, "__code__", None)
        if code is None or inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            return func
        key = (os.path.abspath(code.co_filename), code.co_firstlineno)
        tracker = self

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                entry = tracker._enter(key)
                try:
                    return await func(*args, **kwargs)
                finally:
                    tracker._exit(entry)
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            entry = tracker._enter(key)
            try:
                return func(*args, **kwargs)
            finally:
                tracker._exit(entry)
        return wrapper

    def finish(self, spans):
        tm = self.tracemalloc
        if not tm.is_tracing():
            return {}
        self._fold()
        snapshot = tm.take_snapshot()
        tm.stop()
        snapshot = snapshot.filter_traces([
            tm.Filter(False, tm.__file__), tm.Filter(False, _SELF),
            tm.Filter(False, "<frozen importlib._bootstrap>"),
            tm.Filter(False, "<frozen importlib._bootstrap_external>")])
        stats = snapshot.statistics("traceback")
        top = {}
        per_function = {}
        for stat in stats:
            frames = list(stat.traceback)  # oldest first
            if not frames:
                continue
            newest = frames[-1]
            site = (_absolute(newest.filename), newest.lineno)
            agg = top.setdefault(site, [0, 0])
            agg[0] += stat.size
            agg[1] += stat.count
            for file, _name, line, first, end in spans:
                for frame in reversed(frames):
                    # The def line itself runs in the enclosing scope (building the function).
                    if line < frame.lineno <= end and _absolute(frame.filename) == file:
                        sites = per_function.setdefault((file, line), {})
                        agg = sites.setdefault(frame.lineno, [0, 0])
                        agg[0] += stat.size
                        agg[1] += stat.count
                        break
        ranked = sorted(top.items(), key=lambda kv: -kv[1][0])[:30]
        functions = []
        for file, name, line, first, end in spans:
            record = self.calls.get((file, first)) or [0, 0, 0]
            sites = sorted(per_function.get((file, line), {}).items(), key=lambda kv: -kv[1][0])
            functions.append({"file": file, "name": name, "line": line, "calls": record[0],
                              "peak": record[1], "net": record[2] // max(record[0], 1),
                              "sites": [[file, ln, s, c] for ln, (s, c) in sites[:10]]})
        return {"peak": self.peak_seen, "frames": self.frames,
                "sites": [[f, ln, s, c] for (f, ln), (s, c) in ranked],
                "functions": functions}


# ------------------------------------------------------------------ calls pass

_RESERVOIR = 10000
"""Durations kept per function for its percentiles: a uniform sample past this many."""
_DISTINCT_CAP = 4096
"""Argument fingerprints remembered per function; past it new ones are counted, not kept."""
_RESULT_WALKS = 200
"""Results per function walked for a fingerprint and a size: the walk is the costly part."""
_REPEAT_CHECKS = 3
"""Repeated calls per argument fingerprint whose result is compared with the first one."""
_WALK_BUDGET = 2000
"""Objects one walk may visit; a bigger value is not fingerprinted (and sized partly)."""
_FAST_KEYS = (int, str, float, bool, type(None))
_NO_RESULT = object()  # the call raised
_UNSET = object()  # no result seen yet for these arguments


class _Unkeyable(Exception):
    pass


def _long_lived(value):
    """Identity-hashed objects whose id is safe as a key: they live as long as the
    program (functions, classes, modules). Any other object's id may be reused by a new
    object once it is freed, which would count as a cache hit that never was."""
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type,
                              types.ModuleType))


def _walk(value, state, seen=None):
    """A content hash of value: equal values (as lru_cache compares them) hash alike,
    dicts whatever their order. `state` is [budget, bytes]; with `seen` (a set of ids) it
    also sums sys.getsizeof of each object once. Raises _Unkeyable for what has no
    content hash, or when the budget runs out (bytes then holds what was counted)."""
    state[0] -= 1
    if state[0] < 0:
        raise _Unkeyable()
    if seen is not None and id(value) not in seen:
        seen.add(id(value))
        state[1] += sys.getsizeof(value, 0)
    kind = type(value)
    if kind in _FAST_KEYS:
        return hash(value)
    if kind is bytes:
        return hash((b"", value))  # hash(b"a") == hash("a"), yet they are different keys
    if kind is tuple or kind is list:
        return hash((kind is tuple, tuple(_walk(item, state, seen) for item in value)))
    if kind is dict:
        return hash(("dict", frozenset((_walk(k, state, seen), _walk(v, state, seen))
                                       for k, v in value.items())))
    if kind is set or kind is frozenset:
        return hash(("set", frozenset(_walk(item, state, seen) for item in value)))
    hasher = kind.__hash__
    if hasher is None or (hasher is object.__hash__ and not _long_lived(value)):
        raise _Unkeyable()
    return hash(value)


def arg_fingerprint(args, kwargs):
    """The arguments' fingerprint, or None when they have none (see _walk)."""
    try:
        items = tuple(sorted(kwargs.items())) if kwargs else ()
        for value in args:
            if type(value) not in _FAST_KEYS:
                break
        else:
            for _, value in items:
                if type(value) not in _FAST_KEYS:
                    break
            else:  # the common case: a few plain values, one C-level hash
                return hash((args, items))
        state = [_WALK_BUDGET, 0]
        return hash((_walk(args, state), _walk(items, state)))
    except Exception:  # _Unkeyable, or a user __hash__/__lt__ that raised
        return None


def result_fingerprint(value):
    """(content hash or None, bytes, complete): the bytes are a lower bound when not
    complete."""
    state = [_WALK_BUDGET, 0]
    try:
        return _walk(value, state, set()), state[1], True
    except _Unkeyable:
        return None, state[1], state[0] >= 0
    except Exception:
        return None, state[1], False


def percentile(ordered, pct):
    """Nearest rank on sorted durations: p50 <= p95 <= p99 by construction."""
    if not ordered:
        return 0.0
    rank = -(-len(ordered) * pct // 100)  # ceil without floats
    return ordered[max(int(rank), 1) - 1]


class _CallRecord:
    """Calls, durations and argument/result fingerprints of one wrapped function."""

    def __init__(self, name, file, line, is_async, seed):
        import random

        self.name, self.file, self.line, self.is_async = name, file, line, is_async
        self.lock = threading.Lock()
        self.rng = random.Random(seed)  # our own generator: the program's stays untouched
        self.calls = 0
        self.total = 0.0
        self.longest = 0.0
        self.durations = []
        self.keyed = 0
        self.seen = {}  # argument fingerprint -> [first result fingerprint, comparisons]
        self.overflow = 0
        self.walks = 0
        self.sized = 0
        self.size_total = 0
        self.partial = False
        self.compared = 0
        self.varied = 0

    def add(self, seconds, key, result):
        with self.lock:
            self.calls += 1
            self.total += seconds
            if seconds > self.longest:
                self.longest = seconds
            if len(self.durations) < _RESERVOIR:
                self.durations.append(seconds)
            else:  # reservoir sampling: each call kept with probability RESERVOIR / calls
                slot = self.rng.randrange(self.calls)
                if slot < _RESERVOIR:
                    self.durations[slot] = seconds
            if key is None:
                return
            self.keyed += 1
            entry = self.seen.get(key)
            if entry is None:
                if len(self.seen) >= _DISTINCT_CAP:
                    self.overflow += 1  # may have been seen before: distinct is an upper bound
                    return
                entry = self.seen[key] = [_UNSET, 0]
            if result is _NO_RESULT or self.walks >= _RESULT_WALKS:
                return
            first = entry[0] is _UNSET
            if not first and (entry[0] is None or entry[1] >= _REPEAT_CHECKS):
                return
        # The walk runs outside the lock (it may call the program's __hash__).
        fingerprint, size, complete = result_fingerprint(result)
        with self.lock:
            self.walks += 1
            self.sized += 1
            self.size_total += size
            self.partial = self.partial or not complete
            if first:
                if entry[0] is _UNSET:
                    entry[0] = fingerprint
            elif fingerprint is not None:
                entry[1] += 1
                self.compared += 1
                if fingerprint != entry[0]:
                    self.varied += 1

    def summary(self):
        ordered = sorted(self.durations)
        distinct = len(self.seen) + self.overflow
        return {"name": self.name, "file": self.file, "line": self.line,
                "is_async": self.is_async, "calls": self.calls, "total": self.total,
                "max": self.longest, "timed": len(ordered),
                "p50": percentile(ordered, 50), "p95": percentile(ordered, 95),
                "p99": percentile(ordered, 99), "keyed": self.keyed, "distinct": distinct,
                "capped": self.overflow > 0,
                "result_bytes": self.size_total // self.sized if self.sized else 0,
                "partial": self.partial, "compared": self.compared, "varied": self.varied}


class _CallTracker:
    """Wraps the targeted functions: per call its wall time (perf_counter around the call
    only: fingerprinting is outside the timed span) and its arguments' fingerprint.
    Generators and async generators are left unwrapped: a call only builds them."""

    def __init__(self, awaits=None):
        self.records = {}
        self.awaits = awaits  # _awaits.AwaitBook: where the wrapped coroutines wait

    def wrap(self, func):
        import functools
        import inspect

        code = getattr(func, "__code__", None)
        if code is None or inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            return func
        key = (os.path.abspath(code.co_filename), code.co_firstlineno)
        record = self.records.get(key)
        if record is None:
            record = self.records[key] = _CallRecord(
                code.co_name, key[0], key[1], inspect.iscoroutinefunction(func),
                len(self.records))
        clock = time.perf_counter

        if inspect.iscoroutinefunction(func):
            drive = self.awaits.driver(key[0], code.co_firstlineno, code.co_name) \
                if self.awaits is not None else None

            # Timed from the coroutine's first step (when it is awaited or its task starts)
            # to its return: the latency its caller sees.
            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                key = arg_fingerprint(args, kwargs)
                started = clock()
                try:
                    coro = func(*args, **kwargs)
                    result = await (drive(coro) if drive is not None else coro)
                except BaseException:
                    record.add(clock() - started, key, _NO_RESULT)
                    raise
                record.add(clock() - started, key, result)
                return result
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = arg_fingerprint(args, kwargs)
            started = clock()
            try:
                result = func(*args, **kwargs)
            except BaseException:
                record.add(clock() - started, key, _NO_RESULT)
                raise
            record.add(clock() - started, key, result)
            return result
        return wrapper

    def finish(self):
        return [record.summary() for record in self.records.values()]


def _await_book(targets):
    """_awaits.AwaitBook, loaded from beside this file under a private name (the program
    may have a module of its own called `_awaits`), or None if it cannot be."""
    try:
        return load_beside("_awaits").AwaitBook(targets)
    except Exception:
        return None


def _io_counter():
    """The calls pass's DB and HTTP call counter (the _iocount package next to this file), its
    import hooks installed; None when it cannot load (the pass runs without it)."""
    try:
        counter = load_beside("_iocount").IOCounter()
        counter.install()
        return counter
    except Exception:
        return None


def load_beside(name):
    """The module `name`.py or package `name`/ next to this file, loaded under the private
    name `_optadvisor<name>` (the program may have a module of its own of that name; this
    file's directory is not on the target's path). A package is registered in sys.modules
    before it runs, so its modules can import each other relatively."""
    import importlib.util

    private = "_optadvisor" + name
    found = sys.modules.get(private)
    if found is not None:
        return found
    base = os.path.join(os.path.dirname(_SELF), name)
    if os.path.isdir(base):
        spec = importlib.util.spec_from_file_location(
            private, os.path.join(base, "__init__.py"), submodule_search_locations=[base])
    else:
        spec = importlib.util.spec_from_file_location(private, base + ".py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[private]
        raise
    return module


# ------------------------------------------------------------------ garbage collector


class _GcTracker:
    """gc.callbacks: collections and pause time per generation, and the user function
    whose allocation set each collection off (the first frame outside the standard library,
    site-packages and this file, at most 16 frames up)."""

    def __init__(self):
        self.collections = [0, 0, 0]
        self.pause = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self.collected = [0, 0, 0]
        self.sites = {}  # code object -> [pause seconds, collections]
        self.verdicts = {}  # code object -> user code?
        self.started = 0.0
        self.code = None
        stdlib = os.path.dirname(os.__file__)
        self.library = (stdlib + os.sep, _OURS)

    def install(self):
        import gc

        gc.callbacks.append(self)

    def uninstall(self):
        import gc

        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def _user(self, code):
        return _user_code(code, self.library, self.verdicts)

    def __call__(self, phase, info):
        if phase == "start":
            frame = sys._getframe(1)
            code = None
            depth = 0
            while frame is not None and depth < 16:
                if self._user(frame.f_code):
                    code = frame.f_code
                    break
                frame = frame.f_back
                depth += 1
            self.code = code
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        generation = min(max(int(info.get("generation", 0)), 0), 2)
        self.collections[generation] += 1
        self.pause[generation] += pause
        if pause > self.longest[generation]:
            self.longest[generation] = pause
        self.collected[generation] += int(info.get("collected", 0))
        if self.code is not None:
            site = self.sites.get(self.code)
            if site is None:
                site = self.sites[self.code] = [0.0, 0]
            site[0] += pause
            site[1] += 1

    def finish(self):
        self.uninstall()
        sites = sorted(self.sites.items(), key=lambda kv: -kv[1][0])[:10]
        return {"generations": [[self.collections[g], self.pause[g], self.longest[g],
                                 self.collected[g]] for g in range(3)],
                "sites": [[os.path.abspath(code.co_filename), code.co_firstlineno,
                           code.co_name, pause, count]
                          for code, (pause, count) in sites]}


# ------------------------------------------------------------------ event-loop lag


_LAG_MODES = ("run", "sample")
"""The sampling pass only: a beat every 10 ms is a few microseconds of the loop's time."""
_LAG_INTERVAL = 0.010
_LAG_THRESHOLD = 0.050
_LAG_WORST = 20
_LAG_TIMELINE = 2000
"""Lags kept for the timeline, the first ones (when and how long; no blocker)."""
_LAG_SNAPSHOTS = 64
"""Stack snapshots kept per lag: a loop held for seconds is sampled every half threshold."""


class _LagBook:
    """The heartbeats' figures: beats, lags over the threshold, the worst few with the user
    code that held the loop, and per blocking site its lags. Pure bookkeeping (times are
    passed in), so it is tested without a loop."""

    def __init__(self, interval, threshold, worst, origin):
        self.interval = interval
        self.threshold = threshold
        self.keep = worst
        self.origin = origin
        self.beats = 0
        self.lags = 0
        self.longest = 0.0
        self.total = 0.0
        self.worst = []  # min-heap of (lag, order, start, end, site)
        self.timeline = []  # (start, lag) of the first _LAG_TIMELINE lags
        self.blockers = {}  # site -> [lags, lag seconds]
        self.order = 0
        self.lock = threading.Lock()

    def beat(self, expected, now, sites):
        """One beat that was due at `expected` and ran at `now`; `sites` are the snapshots
        the watcher took of the loop thread meanwhile ((file, first line, name, line))."""
        lag = now - expected
        with self.lock:
            self.beats += 1
            if lag <= self.threshold:
                return
            import heapq

            self.lags += 1
            self.total += lag
            if lag > self.longest:
                self.longest = lag
            site = _most_common(sites)
            if site is not None:
                entry = self.blockers.get(site)
                if entry is None:
                    entry = self.blockers[site] = [0, 0.0]
                entry[0] += 1
                entry[1] += lag
            self.order += 1
            if len(self.timeline) < _LAG_TIMELINE:
                self.timeline.append((round(expected - self.origin, 4), lag))
            item = (lag, self.order, expected - self.origin, now - self.origin, site)
            if len(self.worst) < self.keep:
                heapq.heappush(self.worst, item)
            elif lag > self.worst[0][0]:
                heapq.heapreplace(self.worst, item)

    def summary(self):
        def site_row(site):
            return list(site) if site is not None else None

        worst = sorted(self.worst, key=lambda item: -item[0])
        blockers = sorted(self.blockers.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))[:10]
        return {"beats": self.beats, "interval": self.interval, "threshold": self.threshold,
                "lags": self.lags, "max": self.longest, "total": self.total,
                "worst": [[start, end, lag, site_row(site)]
                          for lag, _order, start, end, site in worst],
                "blockers": [[list(site), count, seconds]
                             for site, (count, seconds) in blockers],
                "timeline": [[start, lag] for start, lag in self.timeline]}


def _most_common(sites):
    """The site seen most often (the first seen on a tie), or None."""
    if not sites:
        return None
    counts = {}
    for site in sites:
        counts[site] = counts.get(site, 0) + 1
    return max(sites, key=lambda site: counts[site])


class _Heartbeat:
    """One running loop's beat: `loop.call_later(interval, beat)`, re-armed by each beat."""

    def __init__(self, monitor, loop):
        self.monitor = monitor
        self.loop = loop
        self.thread = threading.get_ident()
        self.count = 0
        self.sites = []
        self.lock = threading.Lock()
        self.expected = 0.0
        self.handle = None
        self.next_look = 0.0
        self.looked_at = -1

    def arm(self):
        interval = self.monitor.book.interval
        self.expected = time.perf_counter() + interval
        self.handle = self.loop.call_later(interval, self.beat)

    def beat(self):
        now = time.perf_counter()
        try:
            with self.lock:
                self.count += 1
                sites, self.sites = self.sites, []
            self.monitor.book.beat(self.expected, now, sites)
            self.arm()
        except Exception:  # a closing loop: the beat ends, the program goes on
            pass

    def cancel(self):
        handle = self.handle
        self.handle = None
        if handle is not None:
            try:
                handle.cancel()
            except Exception:
                pass


class _LoopLagMonitor:
    """Event-loop lag: a heartbeat on every loop `BaseEventLoop.run_forever` runs (patched
    when the program imports asyncio; we never import it), and a daemon watcher thread that,
    while a beat is overdue by more than the threshold, snapshots the loop thread's stack:
    the innermost user frame is the code holding the loop. It never keeps the program alive
    (daemon thread, beats cancelled when run_forever returns) and never raises into it."""

    def __init__(self, interval=_LAG_INTERVAL, threshold=_LAG_THRESHOLD, worst=_LAG_WORST):
        self.book = _LagBook(interval, threshold, worst, time.perf_counter())
        self.active = []
        self.used = False
        self.stopped = False
        self.wake = threading.Event()
        self.watcher = None
        self.verdicts = {}
        self.library = (os.path.dirname(os.__file__) + os.sep, _OURS)

    # -- installing

    def install(self):
        base = sys.modules.get("asyncio.base_events")
        if base is not None:
            self.patch(base)
        else:
            sys.meta_path.insert(0, _AsyncioHook(self))

    def patch(self, base_events):
        try:
            cls = base_events.BaseEventLoop
            original = cls.run_forever
        except AttributeError:
            return
        monitor = self

        def run_forever(self, *args, **kwargs):
            beat = monitor.attach(self)
            try:
                return original(self, *args, **kwargs)
            finally:
                monitor.detach(beat)

        run_forever.__name__ = original.__name__
        run_forever.__qualname__ = original.__qualname__
        run_forever.__doc__ = original.__doc__
        run_forever.__wrapped__ = original
        cls.run_forever = run_forever

    def attach(self, loop):
        if self.stopped:
            return None
        try:
            beat = _Heartbeat(self, loop)
            beat.arm()
            self.active.append(beat)
            self.used = True
            if self.watcher is None:
                self.watcher = threading.Thread(target=self._watch, name="optadvisor-lag",
                                                daemon=True)
                self.watcher.start()
            self.wake.set()
            return beat
        except Exception:
            return None

    def detach(self, beat):
        if beat is None:
            return
        beat.cancel()
        try:
            self.active.remove(beat)
        except ValueError:
            pass

    # -- watching

    def _watch(self):
        threshold = self.book.threshold
        try:
            while not self.stopped:
                active = list(self.active)
                if not active:
                    self.wake.wait()
                    self.wake.clear()
                    continue
                now = time.perf_counter()
                delay = threshold
                for beat in active:
                    if beat.looked_at != beat.count:  # a new beat period
                        beat.looked_at = beat.count
                        beat.next_look = beat.expected + threshold
                    if now >= beat.next_look:
                        self._look(beat)
                        beat.next_look = now + threshold / 2
                    delay = min(delay, beat.next_look - now)
                self.wake.wait(max(delay, 0.002))
                self.wake.clear()
        except Exception:
            pass

    def _look(self, beat):
        """Snapshot the loop thread, kept only if its beat is still overdue."""
        seen = beat.count
        frame = sys._current_frames().get(beat.thread)
        site = self._blocker(frame)
        del frame
        if site is None:
            return
        with beat.lock:
            if beat.count == seen and len(beat.sites) < _LAG_SNAPSHOTS:
                beat.sites.append(site)

    def _user(self, code):
        return _user_code(code, self.library, self.verdicts)

    def _blocker(self, frame):
        """The innermost user frame the loop is running, or None when the loop itself is
        on top (waiting in select, or a library callback without user code under it)."""
        depth = 0
        while frame is not None and depth < 64:
            code = frame.f_code
            if self._user(code):
                return (_absolute(code.co_filename), code.co_firstlineno, code.co_name,
                        frame.f_lineno or 0)
            name = code.co_name
            if name in ("_run_once", "_run") and code.co_filename.endswith(
                    ("base_events.py", "events.py")):
                return None
            frame = frame.f_back
            depth += 1
        return None

    # -- ending

    def stop(self):
        self.stopped = True
        self.wake.set()

    def finish(self):
        self.stop()
        if not self.used:
            return None
        return self.book.summary()


class _AsyncioHook:
    """A meta path entry that patches asyncio.base_events right after the program imports
    it, then steps aside."""

    def __init__(self, monitor):
        self.monitor = monitor

    def find_spec(self, name, path, target=None):
        if name != "asyncio.base_events":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        try:
            import importlib.machinery

            spec = importlib.machinery.PathFinder.find_spec(name, path)
            loader = spec.loader if spec is not None else None
            execute = getattr(loader, "exec_module", None)
            if execute is None:
                return spec
            monitor = self.monitor

            def exec_module(module):
                execute(module)
                monitor.patch(module)

            loader.exec_module = exec_module
            return spec
        except Exception:
            return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
