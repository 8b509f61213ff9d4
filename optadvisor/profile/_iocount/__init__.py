"""Runs inside the target's interpreter in the calls pass: counts the program's database
and HTTP calls per calling user function, with each call's normalised shape (SQL with its
literals as `?`, URLs with their ids as `{id}`), its wall time and, per call, when it
started and ended (so the parent can tell calls one after another from overlapping ones).

Loaded by _bootstrap.py from this directory as a package of a private name (not imported
as part of optadvisor: the target interpreter may be another Python), so its modules
import each other relatively; the standard library only, Python 3.8+. A library is
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

Modules: `shapes` (statements and URLs as the same query for any item), `counter` (the
caller walk and the rows), `hook` (which import sets off which patch, and the meta path
hook that waits for it), `wrapping` (replacing a library's method in place), `databases`
and `http_clients` (the per-library patches).
"""

from .counter import IOCounter
from .shapes import sql_operation, sql_shape, url_shape

__all__ = ["IOCounter", "sql_operation", "sql_shape", "url_shape"]
