"""The database patches: sqlite3, psycopg2 and asyncpg, each call counted as one of its
statement's shape. sqlite3's and psycopg2's cursors are C types, so their connections are
made through counting subclasses instead of patching the types."""

import sys

from .wrapping import wraps


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


def patch_sqlite3(counter, module):
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

    wraps(connect, original)
    connect.__optadvisor__ = True
    module.connect = connect
    if dbapi2 is not None and getattr(dbapi2, "connect", None) is original:
        dbapi2.connect = connect
    return "sqlite3"


def patch_psycopg2(counter, module):
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

    wraps(connect, original)
    connect.__optadvisor__ = True
    module.connect = connect
    return "psycopg2"


def patch_asyncpg(counter, module):
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
            wraps(counted, original)
            counted.__optadvisor__ = True
            return counted

        setattr(cls, method, make(original, method))
    return "asyncpg"
