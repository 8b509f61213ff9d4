"""Runs inside the target (the calls pass): where the wrapped coroutines wait.

The bootstrap's coroutine wrapper hands each call's coroutine to `AwaitBook.driver`, which
steps it itself — send, throw, close, as `await` would — and reads, at each suspension,
the line the coroutine stopped at (`cr_frame.f_lineno`) and the object it awaits
(`cr_await`). That works on every Python from 3.8 on (sys.monitoring is 3.12+), costs a
few microseconds per suspension, and sees only the coroutines it is given: those of the
flagged await groups and the hot ones (the calls pass's targets marked `awaits`).

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
import types

_COROUTINE = types.CoroutineType
_COMPREHENSIONS = ("<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>")
"""Before 3.12 an async comprehension is a coroutine of its own, awaited once: the awaits
per item are one level further down."""
_TASK_COUNTS = 32
"""Awaits per coroutine whose pending tasks are all counted; past that one in _TASK_EVERY
is (asyncio.all_tasks walks every task, ~10 µs with a few: more than the rest of the
driver's work per await)."""
_TASK_EVERY = 64
_FLUSH = 64
"""Awaits of one call between merges of its figures (a call may run all program long)."""
_PENDING = 256
"""Merged calls queued before they are folded into the function's figures."""


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

    __slots__ = ("awaited", "by_line", "file", "first_line", "groups", "name", "pending",
                 "running", "sites")

    def __init__(self, file, first_line, name, groups):
        self.file, self.first_line, self.name = file, first_line, name
        self.sites = {}  # line -> [awaits, suspensions, total, longest, tasks, counted,
        #                           running]
        self.groups = groups
        self.by_line = {}  # line -> ((group position, which await, loop?), ...)
        for position, group in enumerate(groups):
            for line, which in group.index.items():
                self.by_line[line] = self.by_line.get(line, ()) + (
                    (position, which, group.loop),)
        self.running = 0
        self.awaited = 0
        self.pending = []  # (per-line figures, group items) of calls not folded in yet


class AwaitBook:
    """Every wrapped coroutine's await figures. `targets` are the config's: those with
    `groups` ({"rule", "kind": "loop" | "sequence", "line", "spans": [[first, last], ...]},
    one span per await of the group, the loop's first await first) have them measured."""

    def __init__(self, targets=None):
        self.lock = threading.Lock()
        self.functions = []
        # None: every coroutine handed to `driver` (in-process use); else only the targets
        # marked `awaits` (the flagged groups' and the hot ones): stepping a coroutine
        # costs a few microseconds per suspension, paid again by each driven caller.
        self.targets = None if targets is None else [
            dict(t, file=os.path.abspath(str(t.get("file", ""))))
            for t in targets if t.get("awaits")]

    def _target(self, file, first_line, name):
        """The innermost wanted target around a code object's first line, or None."""
        best = None
        for target in self.targets:
            if target.get("file") != file or str(target.get("name", "")).rsplit(
                    ".", 1)[-1] != name:
                continue
            low = int(target.get("first_line", 0))
            high = int(target.get("end_line", 0))
            if low <= first_line <= high and (best is None or high - low < best[0]):
                best = (high - low, target)
        return best[1] if best is not None else None

    def driver(self, file, first_line, name):
        """A function from one call's coroutine to an awaitable that runs it, measured;
        None when this coroutine is not one to step."""
        groups = ()
        if self.targets is not None:
            target = self._target(file, first_line, name)
            if target is None:
                return None
            groups = tuple(_Group(spec) for spec in target.get("groups") or ())
        function = _Function(file, first_line, name, groups)
        with self.lock:
            self.functions.append(function)
        book = self

        def drive(coro):
            if type(coro) is not _COROUTINE:  # not a native coroutine: leave it alone
                return coro
            return _drive(coro, book, function)

        return drive

    # -- what the calls contribute

    def merge(self, function, local, items=None):
        """A call's per-line figures (and, at its end, its groups' items): queued with
        one append (atomic under the GIL), folded into the function's under the lock
        once enough have queued, so a call costs no lock."""
        pending = function.pending
        pending.append((local, items))
        if len(pending) >= _PENDING:
            self._fold(function)

    def _fold(self, function):
        with self.lock:
            pending = function.pending
            taken = pending[:]
            del pending[:len(taken)]
            sites = function.sites
            for local, items in taken:
                for line, row in local.items():
                    site = sites.get(line)
                    if site is None:
                        sites[line] = list(row)
                        continue
                    for index in (0, 1, 2, 4, 5, 6):
                        site[index] += row[index]
                    if row[3] > site[3]:
                        site[3] = row[3]
                for group, acc in zip(function.groups, items or ()):
                    times, awaits, tasks, counted, running = acc
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

    def finish(self):
        sites = []
        groups = []
        for function in list(self.functions):
            self._fold(function)
        with self.lock:
            for function in self.functions:
                where = [function.file, function.first_line, function.name]
                for line, site in sorted(function.sites.items()):
                    sites.append(where + [line] + site)
                for group in function.groups:
                    groups.append({
                        "file": function.file, "first_line": function.first_line,
                        "name": function.name, "rule": group.rule, "kind": group.kind,
                        "line": group.line, "calls": group.calls, "items": group.items,
                        "awaits": group.awaits, "sum": group.sum, "max": group.max,
                        "saving": group.saving, "best": group.best, "tasks": group.tasks,
                        "counted": group.counted, "running": group.running})
        return {"sites": sites, "groups": groups}


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


def _settle(local, items, function, line, seconds, suspensions, tasks, counted, running):
    """One await of the call ended (at `line`, suspended `suspensions` times over
    `seconds`): into the call's own figures, no lock."""
    row = local.get(line)
    if row is None:
        row = local[line] = [0, 0, 0.0, 0.0, 0, 0, 0]
    row[0] += 1
    row[1] += suspensions
    row[2] += seconds
    if seconds > row[3]:
        row[3] = seconds
    if counted:
        row[4] += tasks
        row[5] += 1
    row[6] += running
    for position, which, loop in function.by_line.get(line, ()):
        acc = items[position]
        times = acc[0]
        if loop:
            # An iteration starts at the loop's first await; the others in the body add
            # to the same item.
            if which == 0 or not times:
                times.append(0.0)
            times[-1] += seconds
        else:
            while len(times) <= which:
                times.append(0.0)
            times[which] += seconds
        acc[1] += 1
        if counted:
            acc[2] += tasks
            acc[3] += 1
        acc[4] += running


@types.coroutine
def _drive(coro, book, function):
    """`yield from coro`, written out (PEP 380's expansion) so each suspension can be
    looked at (a generator-based coroutine: `await` accepts it as it is): the coroutine's line and awaited object when it yields, the clock when it
    is resumed. Consecutive suspensions on the same awaited object at the same line are
    one await."""
    clock = time.perf_counter
    local = {}
    # per group: its items' times, awaits, tasks, tasks counted, calls running
    items = [[[], 0, 0, 0, 0] for _ in function.groups] if function.groups else ()
    function.running += 1
    line = 0
    awaited = None  # held only until the next suspension: `is` must not meet a reused id
    first = last = 0.0
    settled = suspensions = tasks = running = 0
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
            target = coro.cr_await
            if type(target) is _COROUTINE and target.cr_code.co_name in _COMPREHENSIONS:
                target = _innermost(target)
            if suspensions and (here != line or target is not awaited):
                _settle(local, items, function, line, last - first, suspensions, tasks,
                        counted, running)
                suspensions = 0
                settled += 1
                if settled % _FLUSH == 0:  # a coroutine that runs for the whole program
                    book.merge(function, local)
                    local = {}
            if not suspensions:
                line, awaited, first = here, target, now
                running = function.running
                function.awaited += 1
                seen = function.awaited
                counted = seen < _TASK_COUNTS or seen % _TASK_EVERY == 0
                tasks = _count_tasks() if counted else 0
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
                _settle(local, items, function, line, end - first, suspensions, tasks,
                        counted, running)
            function.running -= 1
            if local or items:  # a call that never waited has nothing to add
                book.merge(function, local, items)
        except Exception:
            pass
        awaited = None
        # A no-op once it returned or raised; when we are closed mid-await, the coroutine
        # is closed too before GeneratorExit goes on (PEP 380).
        coro.close()
