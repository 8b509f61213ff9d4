"""The counter: finds the user function behind each counted call (the caller walk) and
keeps one row per (calling code, kind, library, operation, shape); `finish` hands the
rows to the parent as plain lists."""

import os
import sys
import threading
import time

from . import hook
from .shapes import sql_operation, sql_shape, url_shape

_OURS = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""optadvisor/profile/: the bootstrap and what it loads beside it (this package, the await
driver of _awaits.py, whose frames sit between a stepped coroutine and its caller)."""
_MAX_ROWS = 4000
"""(caller, shape) rows kept; past it new shapes are counted in `dropped`, not kept."""
_MAX_SPANS = 2000
"""Per row, the (start, end) of this many calls are kept (the first ones)."""
_SHAPE_CACHE = 4096
"""Raw statements/URLs whose shape is memoized (a loop repeats the same text)."""
_FRAMES_UP = 64
_COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")
_LIBRARY, _USER, _INNER, _LOOP = 0, 1, 2, 3
"""What a frame is to the caller walk."""


class IOCounter:
    """The rows: (id of the calling user code, kind, library, operation, shape) ->
    [calls, total seconds, longest, {caller line: calls}, [(start, end), ...],
    {(id of its caller's code, line): [(code, line), calls]}, code, kind, library,
    operation, shape]; `finish` turns them into plain lists for the parent."""

    def __init__(self):
        self.rows = {}
        self.lock = threading.Lock()
        self.origin = time.perf_counter()
        self.dropped = 0
        self.shapes = {}
        self.verdicts = {}
        stdlib = os.path.dirname(os.__file__) + os.sep
        self.library = (stdlib, _OURS)
        self.patched = []
        self.local = threading.local()

    # -- where the call came from

    def _judge(self, code):
        """What a frame running `code` is to the caller walk (memoized per code object)."""
        file = code.co_filename
        if code.co_name == "_run" and file.endswith("events.py"):
            verdict = _LOOP  # an event loop callback: what runs the loop made no call
        elif file.startswith("<") or file.startswith(self.library) \
                or "site-packages" in file or "dist-packages" in file:
            verdict = _LIBRARY
        elif code.co_name in _COMPREHENSIONS:
            verdict = _INNER
        else:
            verdict = _USER
        self.verdicts[code] = verdict
        return verdict

    def caller(self):
        """((code, line) of the innermost user frame, the same of the user frame that
        called it or None), or None without a user frame. Before 3.12 a comprehension is a
        function of its own: its calls are charged to the enclosing function, at the
        comprehension's line. The hot path of the counter: one dict lookup per frame."""
        frame = sys._getframe(2)
        verdicts = self.verdicts
        found = None
        line = 0
        depth = 0
        while frame is not None and depth < _FRAMES_UP:
            code = frame.f_code
            verdict = verdicts.get(code)
            if verdict is None:
                verdict = self._judge(code)
            if verdict:
                if verdict == _LOOP:
                    break
                if verdict == _INNER:
                    line = line or frame.f_lineno or 0
                else:
                    site = (code, line or frame.f_lineno or 0)
                    if found is not None:
                        return found, site
                    found = site
                    line = 0
            frame = frame.f_back
            depth += 1
        return (found, None) if found is not None else None

    # -- shapes, memoized

    def shape(self, kind, text):
        """(shape, operation) of a statement or URL; the operation of an HTTP call is its
        method, given by the caller."""
        key = (kind, text)
        found = self.shapes.get(key)
        if found is None:
            try:
                if kind == "db":
                    shape = sql_shape(text)
                    found = (shape, sql_operation(shape))
                else:
                    found = (url_shape(text), "")
            except Exception:
                found = ("?", "")
            if len(self.shapes) < _SHAPE_CACHE:
                self.shapes[key] = found
        return found

    # -- recording

    def add(self, site, kind, library, operation, text, started, ended):
        if site is None:
            return
        shape, statement = self.shape(kind, text)
        if kind == "db":
            operation = statement + operation  # `SELECT` + ` many` for executemany
        (code, line), parent = site
        # Code objects are keyed by id and kept in the row, so an id is never reused.
        key = (id(code), kind, library, operation, shape)
        with self.lock:
            row = self.rows.get(key)
            if row is None:
                if len(self.rows) >= _MAX_ROWS:
                    self.dropped += 1
                    return
                row = self.rows[key] = [0, 0.0, 0.0, {}, [], {}, code, kind, library,
                                        operation, shape]
            seconds = ended - started
            row[0] += 1
            row[1] += seconds
            if seconds > row[2]:
                row[2] = seconds
            row[3][line] = row[3].get(line, 0) + 1
            if len(row[4]) < _MAX_SPANS:
                row[4].append((started - self.origin, ended - self.origin))
            if parent is not None:
                parents = row[5]
                entry = parents.get((id(parent[0]), parent[1]))
                if entry is not None:
                    entry[1] += 1
                elif len(parents) < 64:
                    parents[(id(parent[0]), parent[1])] = [parent, 1]

    def timed(self, kind, library, operation, text, call):
        """Run call() and count it, unless an outer counted call of this thread is under
        way (urllib's redirects re-enter OpenerDirector.open)."""
        local = self.local
        if getattr(local, "busy", False):
            return call()
        site = self.caller_outside()
        local.busy = True
        started = time.perf_counter()
        try:
            return call()
        finally:
            ended = time.perf_counter()
            local.busy = False
            try:
                self.add(site, kind, library, operation, text, started, ended)
            except Exception:
                pass

    def caller_outside(self):
        try:
            return self.caller()
        except Exception:
            return None

    async def timed_async(self, kind, library, operation, text, awaitable, site):
        """Await and count; `site` is found when the coroutine is made (the caller may be
        gone by the time a task first runs it)."""
        started = time.perf_counter()
        try:
            return await awaitable
        finally:
            ended = time.perf_counter()
            try:
                self.add(site, kind, library, operation, text, started, ended)
            except Exception:
                pass

    def finish(self):
        rows = []
        with self.lock:
            for row in self.rows.values():
                calls, total, longest, lines, spans, parents, code, kind, library, \
                    operation, shape = row
                line = max(lines, key=lambda n: (lines[n], -n)) if lines else 0
                parent = None
                if parents:  # the caller that made most of the calls, and its line
                    (outer, outer_line), _ = max(parents.values(),
                                                 key=lambda e: (e[1], -e[0][1]))
                    parent = [os.path.abspath(outer.co_filename), outer.co_firstlineno,
                              outer.co_name, outer_line]
                rows.append([os.path.abspath(code.co_filename), code.co_firstlineno,
                             code.co_name, line or code.co_firstlineno, kind, library,
                             operation, shape, calls, total, longest,
                             [[round(a, 6), round(b, 6)] for a, b in spans], parent])
        return {"rows": rows, "dropped": self.dropped, "libraries": list(self.patched)}

    # -- installing

    def install(self):
        """Patch the libraries already imported; hook the import of the others."""
        hook.install(self)
