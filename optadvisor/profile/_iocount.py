"""Runs inside the target's interpreter in the calls pass: counts the program's database
and HTTP calls per calling user function, with each call's normalised shape (SQL with its
literals as `?`, URLs with their ids as `{id}`), its wall time and, per call, when it
started and ended (so the parent can tell calls one after another from overlapping ones).

Loaded by _bootstrap.py from this file (not imported as part of optadvisor: the target
interpreter may be another Python); the standard library only, Python 3.8+. A library is
patched only when the program imports it (a meta path hook waits for it): we never import
one the program does not use. Nothing here raises into the program: a failure to patch
leaves that library uncounted. The caller of an async call is found when its coroutine
is made (a task may run it when no user frame is left under it); a call with no user
function under it (made by a library's own task) is not counted.

What is counted, per library:
  sqlite3   Cursor.execute/executemany/executescript and Connection.execute/executemany/
            executescript (C types: `sqlite3.connect` is wrapped to pass a counting
            Connection subclass as its `factory`, which hands out counting cursors)
  psycopg2  cursor.execute/executemany (`psycopg2.connect` gets a counting
            connection_factory whose cursors come from a counting cursor_factory)
  asyncpg   Connection.execute/executemany/fetch/fetchrow/fetchval
  urllib    urllib.request's OpenerDirector.open (urlopen): until the response headers
            arrive; the body is read by the caller afterwards
  requests  Session.request (every requests.get/post/... goes through it)
  httpx     Client.send and AsyncClient.send (AsyncClient's request/get/post/... note
            their caller for the send their task makes later)
  aiohttp   ClientSession._request (until the response headers arrive)
"""

import os
import re
import sys
import threading
import time

_SELF = os.path.abspath(__file__)
_BOOTSTRAP = os.path.join(os.path.dirname(_SELF), "_bootstrap.py")
_MAX_ROWS = 4000
"""(caller, shape) rows kept; past it new shapes are counted in `dropped`, not kept."""
_MAX_SPANS = 2000
"""Per row, the (start, end) of this many calls are kept (the first ones)."""
_SHAPE_CACHE = 4096
"""Raw statements/URLs whose shape is memoized (a loop repeats the same text)."""
_SHAPE_CHARS = 300
_FRAMES_UP = 64
_COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")
_LIBRARY, _USER, _INNER, _LOOP = 0, 1, 2, 3
"""What a frame is to the caller walk."""


# ------------------------------------------------------------------ shapes

_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_SQL_NUMBER = re.compile(r"(?<![\w.$])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")
_SQL_PARAM = re.compile(r"%\([^)]*\)s|%s|\$\d+|(?<![:\w]):[A-Za-z_]\w*|\?\d*")
_SQL_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_SQL_VALUES = re.compile(r"\bVALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)(?:\s*,\s*\(\s*\?(?:\s*,\s*\?)*"
                         r"\s*\))*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
    r"|(?=[^/]*\d)[0-9a-fA-F]{8,})$")


def sql_shape(statement):
    """A statement with its literals, numbers and parameters as `?`, `IN (...)` lists and
    VALUES rows as one `?` each, spaces collapsed: the same query for any item."""
    if isinstance(statement, bytes):
        statement = statement.decode("utf-8", "replace")
    text = str(statement)
    text = _SQL_STRING.sub("?", text)
    text = _SQL_PARAM.sub("?", text)
    text = _SQL_NUMBER.sub("?", text)
    text = _SQL_IN_LIST.sub("IN (?)", text)
    text = _SQL_VALUES.sub("VALUES (?)", text)
    text = _SPACE.sub(" ", text).strip().rstrip(";").strip()
    return text[:_SHAPE_CHARS]


def sql_operation(shape):
    word = shape.split(" ", 1)[0].upper() if shape else ""
    return word if word.isalpha() else "SQL"


def url_shape(url):
    """scheme://host[:port]/path with numeric, uuid and hex path segments as `{id}` and the
    query's values dropped (its keys kept, sorted)."""
    from urllib.parse import urlsplit

    if isinstance(url, bytes):
        url = url.decode("utf-8", "replace")
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("?", 1)[0][:_SHAPE_CHARS]
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in parts.path.split("/")]
    out = (parts.scheme + "://" if parts.scheme else "") + parts.netloc + "/".join(segments)
    if parts.query:
        keys = sorted({item.split("=", 1)[0] for item in parts.query.split("&") if item})
        out += "?" + "&".join(keys)
    return out[:_SHAPE_CHARS]


# ------------------------------------------------------------------ the counter


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
        self.library = (stdlib, _SELF, _BOOTSTRAP)
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
        waiting = {}
        for name, patch in _PATCHES.items():
            module = sys.modules.get(name)
            if module is not None:
                self._patch(name, patch, module)
            else:
                waiting[name] = patch
        if waiting:
            sys.meta_path.insert(0, _ImportHook(self, waiting))

    def _patch(self, name, patch, module):
        try:
            library = patch(self, module)
        except Exception:
            return
        if library and library not in self.patched:
            self.patched.append(library)


class _ImportHook:
    """A meta path entry that patches each watched module right after the program imports
    it, and steps aside once all are patched."""

    def __init__(self, counter, waiting):
        self.counter = counter
        self.waiting = dict(waiting)

    def find_spec(self, name, path, target=None):
        patch = self.waiting.get(name)
        if patch is None:
            return None
        del self.waiting[name]
        if not self.waiting:
            try:
                sys.meta_path.remove(self)
            except ValueError:
                pass
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            loader = spec.loader if spec is not None else None
            execute = getattr(loader, "exec_module", None)
            if execute is None:
                return spec
            counter = self.counter

            def exec_module(module):
                execute(module)
                counter._patch(name, patch, module)

            loader.exec_module = exec_module
            return spec
        except Exception:
            return None


def _wraps(wrapper, original):
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attribute, getattr(original, attribute))
        except (AttributeError, TypeError):
            pass
    wrapper.__wrapped__ = original
    return wrapper


def _replace(owner, name, make):
    """`owner.name = make(original)`, named like the original and marked, so a second
    install (the hook seeing the module again) leaves it alone."""
    original = getattr(owner, name, None)
    if original is None or getattr(original, "__optadvisor__", False):
        return
    wrapper = _wraps(make(original), original)
    wrapper.__optadvisor__ = True
    setattr(owner, name, wrapper)


# ------------------------------------------------------------------ databases


def _statement(args, kwargs, name="sql"):
    if args:
        return args[0]
    for key in (name, "query", "operation", "sql_script", "command"):
        if key in kwargs:
            return kwargs[key]
    return ""


def _counting_cursor_methods(counter, library, methods):
    """namespace(base) -> the methods of a counting subclass of base: each counted as one
    call of its statement's shape."""
    def namespace(base):
        out = {}
        for method in methods:
            if callable(getattr(base, method, None)):
                out[method] = _counted_method(counter, library, base, method)
        return out
    return namespace


def _counted_method(counter, library, base, method):
    original = getattr(base, method)

    many = " many" if method == "executemany" else ""

    def counted(self, *args, **kwargs):
        return counter.timed("db", library, many, _statement(args, kwargs),
                             lambda: original(self, *args, **kwargs))
    counted.__name__ = method
    return counted


def _subclass(base, namespace, cache):
    """A subclass of base with namespace(base)'s methods (one per base, kept in cache)."""
    found = cache.get(base)
    if found is None:
        found = cache[base] = type(base.__name__, (base,), namespace(base))
        found.__module__ = base.__module__
    return found


def _patch_sqlite3(counter, module):
    dbapi2 = sys.modules.get("sqlite3.dbapi2")
    original = module.connect
    if getattr(original, "__optadvisor__", False):
        return "sqlite3"
    base_connection = module.Connection
    methods = ("execute", "executemany", "executescript")
    cursor_methods = _counting_cursor_methods(counter, "sqlite3", methods)
    cursors = {}
    connections = {}

    def connection_methods(base):
        base_cursor = base.cursor

        def cursor(self, *args, **kwargs):
            if args:
                factory, args = args[0], args[1:]
            else:
                factory = kwargs.pop("factory", module.Cursor)
            try:
                if isinstance(factory, type) and issubclass(factory, module.Cursor):
                    factory = _subclass(factory, cursor_methods, cursors)
            except Exception:  # uncounted, never broken
                pass
            return base_cursor(self, factory, *args, **kwargs)

        def through_cursor(method):
            # Connection.execute runs the statement in C without calling Cursor.execute:
            # go through a counting cursor instead (what Connection.execute does).
            def counted(self, *args, **kwargs):
                found = self.cursor()
                getattr(found, method)(*args, **kwargs)
                return found
            counted.__name__ = method
            return counted

        out = {"cursor": cursor}
        out.update({m: through_cursor(m) for m in methods})
        return out

    def connect(*args, **kwargs):
        try:
            if "factory" in kwargs:
                factory = kwargs["factory"]
            elif len(args) >= 6:
                factory = args[5]
            else:
                factory = base_connection
            if isinstance(factory, type) and issubclass(factory, base_connection):
                counted = _subclass(factory, connection_methods, connections)
                if len(args) >= 6:
                    args = args[:5] + (counted,) + args[6:]
                else:
                    kwargs["factory"] = counted
        except Exception:
            pass
        return original(*args, **kwargs)

    _wraps(connect, original)
    connect.__optadvisor__ = True
    module.connect = connect
    if dbapi2 is not None and getattr(dbapi2, "connect", None) is original:
        dbapi2.connect = connect
    return "sqlite3"


def _patch_psycopg2(counter, module):
    original = module.connect
    if getattr(original, "__optadvisor__", False):
        return "psycopg2"
    extensions = sys.modules["psycopg2.extensions"]  # psycopg2/__init__ imports it
    cursor_methods = _counting_cursor_methods(counter, "psycopg2", ("execute", "executemany"))
    cursors = {}
    connections = {}

    def connection_methods(base):
        base_cursor = base.cursor

        def cursor(self, *args, **kwargs):
            try:
                factory = kwargs.get("cursor_factory") or self.cursor_factory \
                    or extensions.cursor
                if isinstance(factory, type) and issubclass(factory, extensions.cursor):
                    kwargs["cursor_factory"] = _subclass(factory, cursor_methods, cursors)
            except Exception:  # uncounted, never broken
                pass
            return base_cursor(self, *args, **kwargs)

        return {"cursor": cursor}

    def connect(*args, **kwargs):
        try:
            factory = kwargs.get("connection_factory") or extensions.connection
            if isinstance(factory, type) and issubclass(factory, extensions.connection):
                kwargs["connection_factory"] = _subclass(factory, connection_methods,
                                                         connections)
        except Exception:
            pass
        return original(*args, **kwargs)

    _wraps(connect, original)
    connect.__optadvisor__ = True
    module.connect = connect
    return "psycopg2"


def _patch_asyncpg(counter, module):
    cls = module.Connection
    for method in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        original = getattr(cls, method, None)
        if original is None or getattr(original, "__optadvisor__", False):
            continue

        def make(original, method):
            many = " many" if method == "executemany" else ""

            def counted(self, *args, **kwargs):
                site = counter.caller_outside()
                return counter.timed_async("db", "asyncpg", many,
                                           _statement(args, kwargs, "query"),
                                           original(self, *args, **kwargs), site)
            _wraps(counted, original)
            counted.__optadvisor__ = True
            return counted

        setattr(cls, method, make(original, method))
    return "asyncpg"


# ------------------------------------------------------------------ HTTP


def _patch_urllib(counter, module):
    def make(original):
        def open(self, fullurl, *args, **kwargs):
            try:
                if isinstance(fullurl, str):
                    url = fullurl
                    method = "POST" if (args and args[0] is not None) or \
                        kwargs.get("data") is not None else "GET"
                else:
                    url = fullurl.full_url
                    method = fullurl.get_method()
            except Exception:
                url, method = str(fullurl), "GET"
            return counter.timed("http", "urllib", method, url,
                                 lambda: original(self, fullurl, *args, **kwargs))
        return open

    _replace(module.OpenerDirector, "open", make)
    return "urllib"


def _patch_requests(counter, module):
    def make(original):
        def request(self, method, url, *args, **kwargs):
            return counter.timed("http", "requests", str(method).upper(), url,
                                 lambda: original(self, method, url, *args, **kwargs))
        return request

    _replace(module.Session, "request", make)
    return "requests"


def _patch_httpx(counter, module):
    sync_cls = getattr(module, "Client", None)
    async_cls = getattr(module, "AsyncClient", None)
    def make_send(original):
        def send(self, request, *args, **kwargs):
            return counter.timed("http", "httpx", str(request.method).upper(),
                                 str(request.url),
                                 lambda: original(self, request, *args, **kwargs))
        return send

    if sync_cls is not None:
        _replace(sync_cls, "send", make_send)
    if async_cls is not None and not getattr(async_cls.send, "__optadvisor__", False):
        import contextvars

        original_async = async_cls.send
        # `client.get(url)` handed to asyncio.gather reaches send only once its task
        # runs, with no user frame left under it: the entry points note their caller
        # in a context variable that send reads (the task runs in that context).
        made_by = contextvars.ContextVar("optadvisor_httpx_caller", default=None)

        def send_async(self, request, *args, **kwargs):
            return counter.timed_async(
                "http", "httpx", str(request.method).upper(), str(request.url),
                original_async(self, request, *args, **kwargs),
                counter.caller_outside() or made_by.get())

        async def noted(coroutine, site):
            token = made_by.set(site)
            try:
                return await coroutine
            finally:
                made_by.reset(token)

        def entry(original):
            def method(self, *args, **kwargs):
                return noted(original(self, *args, **kwargs), counter.caller_outside())
            return _wraps(method, original)

        _wraps(send_async, original_async)
        send_async.__optadvisor__ = True
        async_cls.send = send_async
        for name in ("request", "get", "post", "put", "patch", "delete", "head", "options"):
            found = async_cls.__dict__.get(name)
            if found is not None and callable(found):
                setattr(async_cls, name, entry(found))
    return "httpx"


def _patch_aiohttp(counter, module):
    def make(original):
        def _request(self, method, str_or_url, *args, **kwargs):
            return counter.timed_async(
                "http", "aiohttp", str(method).upper(), str(str_or_url),
                original(self, method, str_or_url, *args, **kwargs), counter.caller_outside())
        return _request

    _replace(module.ClientSession, "_request", make)
    return "aiohttp"


_PATCHES = {
    "sqlite3": _patch_sqlite3,
    "psycopg2": _patch_psycopg2,
    "asyncpg.connection": _patch_asyncpg,
    "urllib.request": _patch_urllib,
    "requests.sessions": _patch_requests,
    "httpx._client": _patch_httpx,
    "aiohttp.client": _patch_aiohttp,
}
"""The module whose import sets off each patch (where the patched class is defined)."""
