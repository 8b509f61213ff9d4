"""Runs inside the target (the calls pass): where the wrapped coroutines wait.

The bootstrap's coroutine wrapper hands each call's coroutine to `AwaitBook.driver`, which
steps it itself — send, throw, close, as `await` would — and reads, at each suspension,
the line the coroutine stopped at (`cr_frame.f_lineno`) and the object it awaits
(`cr_await`). That works on every Python from 3.8 on (sys.monitoring is 3.12+), costs a
few attribute reads per suspension, and sees only the wrapped coroutines.

Per awaited call site (the coroutine's line) it records the awaits that suspended there,
their suspensions, the wall time from an await's first suspension to its last resumption
(the callee's CPU before its first suspension and after its last is not waiting, and would
not overlap under gather either), the program's asyncio tasks not done at that moment and
how many calls of the same coroutine were running. For the await groups a scan flagged
(`profile --calls --findings`: sequential awaits, an await per loop iteration) it sums per
call the group's await times and keeps the longest item: gathered, the group would take
about the longest, so sum - max is the saving.

Standard library only, Python 3.8+, never raises into the program.
"""

import os
import sys
import threading
import time

_COMPREHENSIONS = ("<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>")
"""Before 3.12 an async comprehension is a coroutine of its own, awaited once: the awaits
per item are one level further down."""
_TASK_COUNTS = 256
"""Awaits per site whose pending tasks are all counted; past that one in _TASK_EVERY is
(asyncio.all_tasks walks every task: a program with thousands must not pay it per await)."""
_TASK_EVERY = 16


def _count_tasks():
    """The running loop's tasks that are not done (the current one included), or 0 when
    no asyncio loop runs in this thread (trio, a hand-driven coroutine)."""
    aio = sys.modules.get("asyncio")
    if aio is None:
        return 0
    try:
        return len(aio.all_tasks(aio.get_running_loop()))
    except Exception:
        return 0


class _Site:
    __slots__ = ("awaits", "counted", "longest", "running", "suspensions", "tasks", "total")

    def __init__(self):
        self.awaits = self.suspensions = self.counted = 0
        self.total = self.longest = 0.0
        self.tasks = self.running = 0


class _Group:
    """One flagged group's totals over the calls of its coroutine."""

    __slots__ = ("awaits", "best", "calls", "counted", "index", "items", "kind", "line",
                 "loop", "max", "rule", "running", "saving", "sum", "tasks")

    def __init__(self, spec):
        self.rule = str(spec.get("rule", ""))
        self.kind = str(spec.get("kind", ""))
        self.line = int(spec.get("line", 0))
        self.loop = self.kind == "loop"
        self.index = {}  # line -> which await of the group (spans may cover several lines)
        for number, (first, last) in enumerate(spec.get("spans") or ()):
            for line in range(int(first), int(last) + 1):
                self.index.setdefault(line, number)
        self.calls = self.items = self.awaits = self.counted = 0
        self.sum = self.max = self.saving = self.best = 0.0
        self.tasks = self.running = 0


class _Function:
    """A wrapped coroutine function: its sites, its groups, its calls running now."""

    __slots__ = ("file", "first_line", "groups", "name", "running", "sites")

    def __init__(self, file, first_line, name, groups):
        self.file, self.first_line, self.name = file, first_line, name
        self.sites = {}
        self.groups = groups
        self.running = 0


class AwaitBook:
    """Every wrapped coroutine's await figures. `targets` are the config's: those with
    `groups` ({"rule", "kind": "loop" | "sequence", "line", "spans": [[first, last], ...]},
    one span per await of the group, the loop's first await first) have them measured."""

    def __init__(self, targets=()):
        self.lock = threading.Lock()
        self.functions = []
        self.targets = [dict(t, file=os.path.abspath(str(t.get("file", ""))))
                        for t in targets if t.get("groups")]

    def _groups_for(self, file, first_line, name):
        """The groups of the innermost target around a code object's first line."""
        best = None
        for target in self.targets:
            if target.get("file") != file or str(target.get("name", "")).rsplit(
                    ".", 1)[-1] != name:
                continue
            low = int(target.get("first_line", 0))
            high = int(target.get("end_line", 0))
            if low <= first_line <= high and (best is None or high - low < best[0]):
                best = (high - low, target)
        if best is None:
            return ()
        return tuple(_Group(spec) for spec in best[1].get("groups") or ())

    def driver(self, file, first_line, name):
        """A function from one call's coroutine to an awaitable that runs it, measured."""
        function = _Function(file, first_line, name, self._groups_for(file, first_line, name))
        with self.lock:
            self.functions.append(function)
        book = self

        def drive(coro):
            if not hasattr(coro, "cr_frame"):  # not a native coroutine: leave it alone
                return coro
            return _Driven(coro, book, function)

        return drive

    # -- what one await contributes

    def settle(self, function, line, seconds, suspensions, tasks, counted, items):
        """One await of `function` at `line` ended: it suspended `suspensions` times over
        `seconds`. `items` is the call's per-group accumulator (see _drive)."""
        with self.lock:
            site = function.sites.get(line)
            if site is None:
                site = function.sites[line] = _Site()
            site.awaits += 1
            site.suspensions += suspensions
            site.total += seconds
            site.longest = max(site.longest, seconds)
            if counted:
                site.tasks += tasks
                site.counted += 1
            site.running += function.running
        for position, group in enumerate(function.groups):
            which = group.index.get(line)
            if which is None:
                continue
            acc = items[position]
            if group.loop:
                # An iteration starts at the loop's first await; the others in the body
                # add to the same item.
                if which == 0 or not acc[0]:
                    acc[0].append(0.0)
                acc[0][-1] += seconds
            else:
                while len(acc[0]) <= which:
                    acc[0].append(0.0)
                acc[0][which] += seconds
            acc[1] += 1
            if counted:
                acc[2] += tasks
                acc[3] += 1
            acc[4] += function.running

    def close_call(self, function, items):
        """A call ended: per group, its items' sum and longest."""
        with self.lock:
            for group, (times, awaits, tasks, counted, running) in zip(function.groups, items):
                if not times:
                    continue
                total = sum(times)
                longest = max(times)
                group.calls += 1
                group.items += len(times)
                group.sum += total
                group.max += longest
                group.saving += total - longest
                group.best = max(group.best, total - longest)
                group.awaits += awaits
                group.tasks += tasks
                group.counted += counted
                group.running += running

    def count_tasks(self, site_awaits):
        if site_awaits < _TASK_COUNTS or site_awaits % _TASK_EVERY == 0:
            return _count_tasks(), True
        return 0, False

    def finish(self):
        sites = []
        groups = []
        with self.lock:
            for function in self.functions:
                where = [function.file, function.first_line, function.name]
                for line, site in sorted(function.sites.items()):
                    sites.append(where + [line, site.awaits, site.suspensions, site.total,
                                          site.longest, site.tasks, site.counted,
                                          site.running])
                for group in function.groups:
                    groups.append({
                        "file": function.file, "first_line": function.first_line,
                        "name": function.name, "rule": group.rule, "kind": group.kind,
                        "line": group.line, "calls": group.calls, "items": group.items,
                        "awaits": group.awaits, "sum": group.sum, "max": group.max,
                        "saving": group.saving, "best": group.best, "tasks": group.tasks,
                        "counted": group.counted, "running": group.running})
        return {"sites": sites, "groups": groups}


class _Driven:
    """The awaitable `drive` returns: `await` on it runs the coroutine under _drive."""

    __slots__ = ("book", "coro", "function")

    def __init__(self, coro, book, function):
        self.coro, self.book, self.function = coro, book, function

    def __await__(self):
        return _drive(self.coro, self.book, self.function)


def _innermost(awaited):
    """What the coroutine really waits on: through a comprehension's own coroutine."""
    depth = 0
    while awaited is not None and depth < 4:
        code = getattr(awaited, "cr_code", None)
        if code is None or code.co_name not in _COMPREHENSIONS:
            break
        awaited = awaited.cr_await
        depth += 1
    return awaited


def _drive(coro, book, function):
    """`yield from coro`, written out (PEP 380's expansion) so each suspension can be
    looked at: the coroutine's line and awaited object when it yields, the clock when it
    is resumed. Consecutive suspensions on the same awaited object at the same line are
    one await."""
    clock = time.perf_counter
    items = [[[], 0, 0, 0, 0] for _ in function.groups]  # per group: times, awaits, tasks…
    function.running += 1
    line = 0
    awaited = None  # held only until the next suspension: `is` must not meet a reused id
    first = last = 0.0
    suspensions = tasks = 0
    counted = waiting = False
    value = None
    error = None
    try:
        while True:
            try:
                if error is None:
                    yielded = coro.send(value)
                else:
                    raised, error = error, None
                    yielded = coro.throw(raised)
            except StopIteration as stop:
                return stop.value
            now = clock()
            frame = coro.cr_frame
            here = frame.f_lineno if frame is not None else 0
            target = _innermost(coro.cr_await)
            if suspensions and (here != line or target is not awaited):
                book.settle(function, line, last - first, suspensions, tasks, counted, items)
                suspensions = 0
            if not suspensions:
                line, awaited, first = here, target, now
                site = function.sites.get(here)
                tasks, counted = book.count_tasks(site.awaits if site is not None else 0)
            suspensions += 1
            waiting = True
            try:
                value = yield yielded
            except GeneratorExit:
                raise
            except BaseException as exc:  # cancellation and the like: into the coroutine
                error, value = exc, None
            waiting = False
            last = clock()
    finally:
        try:
            if suspensions:
                end = clock() if waiting else last
                book.settle(function, line, end - first, suspensions, tasks, counted, items)
            function.running -= 1
            if function.groups:
                book.close_call(function, items)
        except Exception:
            pass
        awaited = None
        # A no-op once it returned or raised; when we are closed mid-await, the coroutine
        # is closed too before GeneratorExit goes on (PEP 380).
        coro.close()
