"""A blocking call in a coroutine → `await asyncio.to_thread(func, *args, **kwargs)`: the
same call, run in a worker thread while the event loop goes on.

Not for objects bound to the thread that made them (a sqlite3 connection or cursor, and
by extension any connection or open file made in the coroutine): their whole block moves
to one worker-thread function instead (to_thread_block), or the advice is in words."""

from __future__ import annotations

import ast

import libcst as cst

from optadvisor.fix import to_thread_block
from optadvisor.fix.calls import (
    awaited,
    call_site,
    dotted_expr,
    first_arg_comma,
    local_roots,
    parameters,
    receiver_root,
)
from optadvisor.fix.context import FixContext, NotHere, code_of
from optadvisor.fix.source import FixSource, called_name
from optadvisor.models import Fix

# Categories whose objects carry a connection or a file position: a call on one of them
# is moved with the code that made the object, never alone.
_BOUND_CATEGORIES = ("db", "file", "network")


def _in_finally(source: FixSource, node: ast.AST) -> bool:
    """`node` sits in a `finally:` clause of its own function (held-out S32c: langsmith's
    Claude agent client got `await asyncio.to_thread(...)` first in an async generator's
    `finally`, where a cancellation skips the flush and unregister after it)."""
    child = node
    for outer in source.ancestors(node):
        if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return False
        if isinstance(outer, (ast.Try, getattr(ast, "TryStar", ast.Try))) and \
                child in outer.finalbody:
            return True
        child = outer
    return False


_LAZY_WALKS = frozenset({"walk", "scandir", "iglob", "iterdir", "glob", "rglob"})
"""Directory listings that return a lazy iterator (`os.walk`, `Path.rglob`, `Path.glob`;
`glob.glob` returns a list, which a thread can build)."""

_ITERATORS = frozenset({"as_completed", "imap", "imap_unordered"})
"""Blocking calls that return an iterator: the wait happens while it is consumed."""


_THREAD_BOUND_MAKERS = {"sqlite3.connect": "sqlite3 connection"}
"""Calls whose result works only in the thread that made it (sqlite3's check_same_thread)."""

_CONNECTION_METHODS = frozenset({"execute", "executemany", "executescript", "cursor", "commit",
                                 "rollback", "close", "create_function", "backup"})


def _thread_bound_result(call: object, statement: ast.stmt | None, scope: ast.AST | None
                         ) -> str:
    """The helper's chain ends in making a thread-bound object (`sqlite3.connect`), the
    call's result is bound to a name, and the function then uses that name as such an
    object (`db.execute(...)`): the helper returns it (held-out S42: generative-ai's memory
    agent, `db = get_db()` moved to a thread, then `db.execute` on the loop)."""
    via = getattr(call, "via_chain", None)
    if via is None or not isinstance(statement, ast.Assign) or scope is None:
        return ""
    made = _THREAD_BOUND_MAKERS.get(via.chain[-1].name, "")
    names = {t.id for t in statement.targets if isinstance(t, ast.Name)}
    if not made or not names:
        return ""
    for node in ast.walk(scope):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in _CONNECTION_METHODS and \
                isinstance(node.func.value, ast.Name) and node.func.value.id in names:
            return made
    return ""


def _splits_check_and_store(statement: ast.stmt | None, scope: ast.AST | None) -> str:
    """`self.X` read before the statement and stored into (`self.X[k] = ...`) after it
    (`conn = self.pool.get(k)`, `if conn: return conn`, then the call, then
    `self.pool[k] = conn`), no await before the call since the read and no lock held: on
    the loop the lookup and the store are one step; an await between them is a race
    (held-out S42: dstack's `ServiceConnectionPool.get_or_add`, the pool without a lock,
    would build two tunnels for one replica). Returns the state's name, or ""."""
    if statement is None or not isinstance(scope, ast.AsyncFunctionDef):
        return ""
    line = statement.lineno
    before: dict[str, int] = {}  # `self.X` -> the last line reading it above the call
    stored: set[str] = set()
    awaited = 0  # the last line above the call with an await
    for node in ast.walk(scope):
        if isinstance(node, ast.AsyncWith) and node.lineno < line <= (node.end_lineno or 0):
            return ""  # `async with self._lock:` (or any async context) around it
        if isinstance(node, ast.Await) and node.lineno < line:
            awaited = max(awaited, node.lineno)
        target = node.value if isinstance(node, ast.Subscript) else node
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                and target.value.id == "self"):
            continue
        name = f"self.{target.attr}"
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
                node.lineno > (statement.end_lineno or line):
            stored.add(name)
        elif isinstance(target.ctx, ast.Load) and node.lineno < line:
            before[name] = max(before.get(name, 0), node.lineno)
    for name in sorted(stored):
        if before.get(name, 0) > awaited:
            return name
    return ""


def build(ctx: FixContext) -> Fix:
    site = call_site(ctx, awaiting=True)
    node = site.node
    if _in_finally(ctx.source, node):
        raise NotHere("The call is in a `finally:` clause: an `await` there is where a "
                      "cancellation of the task lands, and the rest of the clause would not "
                      "run. Move the call last in the clause (after the cleanup that must "
                      "run) and then `await asyncio.to_thread(...)` it, or hand it to a "
                      "worker thread without waiting for it (`asyncio.get_running_loop()."
                      "run_in_executor(None, ...)`, not awaited).", instead=True)
    statement = ctx.source.statement_of(node)
    if isinstance(statement, ast.With) and any(
            item.context_expr is node for item in statement.items):
        return to_thread_block.build_block(ctx, [statement])
    if isinstance(statement, ast.AsyncWith):
        raise NotHere("")
    call = ctx.env.get("call")
    # The callee itself, when it is a method of self (`self._save()`): it may touch the UI.
    # Arguments read from self (`requests.get(self.url)`) are plain values.
    why = to_thread_block.ui_bound(ctx, [node.func]) if isinstance(node.func, ast.Attribute) \
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "self" else ""
    if why:
        raise NotHere(why)
    if call is not None and getattr(call, "via_loop_bound", False):
        raise NotHere(f"`{call.func_source}` reaches code that needs what only this thread "
                      "has — the running event loop (`asyncio.get_running_loop()`, "
                      "`create_task`), the exception being handled (`sys.exc_info()`), the "
                      "caller's stack frames (`inspect.currentframe()`) or the main thread "
                      "(`signal.signal`, matplotlib's pyplot): a worker thread has none of "
                      "these, so it cannot move there whole. Move "
                      "only the blocking "
                      f"part it reaches ({call.via}) into `asyncio.to_thread` inside it, or "
                      "do that part once and keep the result.", instead=True)
    shared = _splits_check_and_store(statement, ctx.source.scope_of(node))
    if shared:
        raise NotHere(f"The coroutine looks `{shared}` up before this call and stores into it "
                      "after, with no await in between: the check and the store happen as one "
                      "step. An `await asyncio.to_thread(...)` here would let another task "
                      "run between them, miss the same entry and build a second one that "
                      "overwrites the first. Hold an `asyncio.Lock` around the lookup, the "
                      "call and the store (then run the call in a thread), or keep it on the "
                      "loop.", instead=True)
    made = _thread_bound_result(call, statement, ctx.source.scope_of(node))
    if made:
        raise NotHere(f"`{call.func_source}()` returns the {made} it opens ({call.via}), "
                      "which works only in the thread that opened it: made in a worker "
                      "thread, its use here on the loop raises `sqlite3.ProgrammingError`. "
                      "Run the helper and the statements that use what it returns in one "
                      "sync function under `asyncio.to_thread`, or use an async driver "
                      "(aiosqlite).", instead=True)
    if call is not None and getattr(call, "via_consumed", False):
        raise NotHere(f"`{call.func_source}` is a generator: its body runs as this loop pulls "
                      "items, on the event loop, so a thread around the call would only "
                      "create it. Give it an async twin (an `async def` generator that "
                      "awaits an async client or `asyncio.to_thread` per step), or, when it "
                      "is short, collect it in a worker thread: `items = await "
                      f"asyncio.to_thread(list, {call.func_source}(...))`.", instead=True)
    if call is not None and call.name.rsplit(".", 1)[-1] in _LAZY_WALKS and \
            call.name != "glob.glob":
        raise NotHere(f"`{call.func_source}` returns an iterator that reads the directories "
                      "as it is consumed, so a worker thread would only create it: collect it "
                      "there whole (`entries = await asyncio.to_thread(lambda: "
                      f"list({call.func_source}(...)))`), or run the whole loop over it in "
                      "`asyncio.to_thread`.", instead=True)
    if call is not None and call.quick and call.in_loop:
        raise NotHere(f"One `{call.func_source}` answers in microseconds; it is the number of "
                      "them that adds up, and a thread hop per item would cost more than the "
                      "call. Run the whole loop in one worker thread: move it into a sync "
                      "function and `await asyncio.to_thread(that_function, ...)`.", instead=True)
    if call is not None and call.name.rsplit(".", 1)[-1] in _ITERATORS:
        raise NotHere(f"`{call.name.rsplit('.', 1)[-1]}` returns an iterator that blocks as it "
                      "is consumed, so a worker thread would only build it: await the futures "
                      "on the loop instead (`for f in asyncio.as_completed([asyncio."
                      "wrap_future(x) for x in futures]): await f`), or run the whole loop "
                      "over it in `asyncio.to_thread`.")
    if isinstance(statement, ast.Assign) and _streamed(
            node, statement, ctx.source.scope_of(node),
            remote=call is not None and call.blocking_category in _REMOTE,
            may_stream=call is not None and (
                call.blocking_category == "llm" and any(kw.arg is None for kw in node.keywords)
                or call.blocking_method in _EVENT_STREAMS)):
        # eval G (PaiEas): the POST moved to a thread, its `iter_lines()` left on the loop;
        # the same when a helper makes the streamed request and returns the response.
        raise NotHere("The response is streamed: reading it (a loop over it, `iter_lines`, "
                      "a read of its body such as boto3's `[\"Body\"].read()`) blocks as much "
                      "as the request, so moving only the call to a thread leaves the reading "
                      "on the loop. Run the request and the whole reading in one "
                      "`asyncio.to_thread` function, or use an async client's stream "
                      "(`httpx.AsyncClient.stream`, aiohttp, aioboto3).", instead=True)
    if call is not None and ("stream" in call.name.rsplit(".", 1)[-1].lower() or any(
            kw.arg == "stream" and isinstance(kw.value, ast.Constant) and kw.value.value
            for kw in node.keywords)):
        # Held-out O (vanna): `for chunk in client.models.generate_content_stream(...)` in
        # a thread only made the stream; each chunk still arrived on the loop.
        raise NotHere(f"`{call.func_source}` returns a stream whose chunks arrive as it is "
                      "iterated, so a worker thread would only open it. Use the SDK's async "
                      "client and `async for` over its stream (google-genai's `client.aio`, "
                      "`AsyncOpenAI`, `AsyncAnthropic`), or run the request and the whole "
                      "loop over it in one `asyncio.to_thread` function.", instead=True)
    reader = _reader_of(statement, node) if call is not None and \
        call.name.rsplit(".", 1)[-1] in ("open", "fdopen") else None
    if call is not None and call.name.rsplit(".", 1)[-1] in ("open", "fdopen") and \
            _iterated(ctx.source.parent(node), node):
        # `for line in open(path)`, `{json.loads(l) for l in open(path)}`: the lines are
        # read as the loop runs, on the event loop, whatever opened the file.
        raise NotHere("The file is read line by line where it is opened: read it whole in a "
                      "worker thread (`text = await asyncio.to_thread(Path(path).read_text)`, "
                      "then loop over `text.splitlines()`).")
    if call is not None and call.name.rsplit(".", 1)[-1] in ("open", "fdopen") and \
            _chained(ctx.source.parent(node), node):
        # held-out K (vocode): `open(path, "rb").read()` became `(await asyncio.to_thread(
        # open, path, "rb")).read()`: the open in a thread, the read still on the loop.
        raise NotHere("The file is read by a method chained on the open: run the whole "
                      "expression in a worker thread (`data = await asyncio.to_thread("
                      "Path(path).read_bytes)`, or `read_text` for text), which also closes "
                      "the file.", instead=True)
    if call is not None and call.name.rsplit(".", 1)[-1] in ("open", "fdopen") and \
            _stored(ctx.source.parent(node), reader):
        # held-out S32c (llama_cloud): `open_files.append(open(f, "rb"))`, then
        # `await client.post(files=...)`: nothing reads the file here; the awaited upload
        # reads the handle on the loop, so a thread for the open alone changes nothing.
        raise NotHere("The handle is stored here and read later by whatever receives it "
                      "(an upload's multipart body is read on the event loop by the awaited "
                      "call itself): read the bytes in a worker thread (`data = await "
                      "asyncio.to_thread(Path(path).read_bytes)`) and pass the bytes instead "
                      "of the open file.")
    if reader is not None:
        # `json.load(open(path))`: offloading the open alone leaves the read on the loop.
        raise NotHere(f"The file is read by `{ast.unparse(reader.func)}(...)` right where "
                      "it is opened: run that whole call in a worker thread "
                      "(`await asyncio.to_thread(...)` around it).")
    if call is not None and call.blocking_category in _BOUND_CATEGORIES:
        bound = _bound_name(call.name, statement, node)
        scope = ctx.source.scope_of(node)
        made_here = bound not in (None, "self", "cls") and bound in local_roots(scope)
        if made_here and call.indirect and call.blocking_category == "db" and \
                not call.via_own_session and bound in parameters(scope):
            made_here = False  # a project object handed in that holds a connection
        if made_here:
            return to_thread_block.build_for_name(ctx, node, bound)  # type: ignore[arg-type]
        # A helper whose chain opens its own connection (`store.get()` -> `self._connect()`
        # -> `sqlite3.connect`, or a statement on a local it made) may move whole
        # (held-out T: xinference's router stores).
        if bound is not None and call.blocking_category == "db" and not (
                call.indirect and call.via_own_session):
            # Not only sqlite3's thread rule: one call moved leaves the others on the
            # session on the loop (held-out S36: potpie's SQLAlchemy sessions on Postgres
            # were told sqlite3's reason).
            receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) \
                else ""
            what = f"`{receiver}`" if receiver and len(receiver) <= 40 and \
                "(" not in receiver else "The connection or session"
            if receiver and receiver.split(".", 1)[0] in ctx.source.import_bound:
                # `conversation_crud.get_conversation(session, ...)`: a module of functions;
                # what holds the connection is the session handed to it (held-out S43c:
                # cohere-toolkit's routes, told their CRUD modules held one).
                given = [a.id for a in node.args if isinstance(a, ast.Name)
                         and a.id in parameters(scope)]
                what = f"The session it is given (`{given[0]}`)" if given else \
                    "The connection or session it uses"
            if call.indirect:
                # A project object that holds the connection (`manager.save()` -> a store):
                # whether another thread may use it is the store's choice (held-out S37:
                # aisuite's stores open sqlite3 with check_same_thread=False and a lock).
                raise NotHere(f"{what} was made elsewhere and holds a database connection or "
                              "session: in a worker thread the helper would use it from "
                              "another thread, which a pooled engine, or a sqlite3 "
                              "connection opened with `check_same_thread=False` behind a "
                              "lock, allows and a default sqlite3 connection refuses. If it "
                              "allows it, `await asyncio.to_thread(...)` around the call is "
                              "enough; otherwise move all the work on it in this function "
                              "into one sync function run by `asyncio.to_thread`, or use an "
                              "async driver (aiosqlite, SQLAlchemy's AsyncSession, asyncpg).")
            # A Redis or MongoDB client is told of its own async client, not of sqlite3's
            # thread rule and SQL drivers (held-out GRP2: AWorld's Redis store).
            sql = not call.name.startswith(("redis.", "pymongo."))
            raise NotHere(f"{what} was made elsewhere: move all the work on it in this "
                          "function into one sync function run by `asyncio.to_thread` (one "
                          "call moved alone leaves the others on the loop"
                          + (", and a sqlite3 connection refuses any thread but the one "
                             "that opened it), or use an async driver or session "
                             "(SQLAlchemy's AsyncSession, asyncpg, psycopg 3)." if sql else
                             ")."))
    handed = _sqlite_argument(ctx.source.tree, ctx.source.scope_of(node), node)
    if handed:
        # Held-out S31b (dataline): `parse(file, conn, name)` with `conn = sqlite3.connect(
        # ...)` above: in a worker thread sqlite3 refuses the connection. Move the code
        # from the connect to its last use instead, or say so for one opened elsewhere.
        if handed in local_roots(ctx.source.scope_of(node)):
            return to_thread_block.build_for_name(ctx, node, handed)
        raise NotHere(f"`{handed}` is a sqlite3 connection opened elsewhere, handed to the "
                      "call: sqlite3 refuses it in any thread but the one that opened it. "
                      "Open a connection in the worker thread for this work, or use "
                      "aiosqlite.")
    original = ctx.refine(site.cst_call)
    new_args = [cst.Arg(value=original.func, comma=first_arg_comma(original)
                        if original.args else cst.MaybeSentinel.DEFAULT),
                *original.args]
    new = original.with_changes(func=dotted_expr("asyncio.to_thread"), args=new_args)
    if _scheduled(ctx.source.parent(node), node):
        # `asyncio.create_task(self.run(task))` with a sync `run`: the task wants the
        # coroutine, not its result (held-out X: swarms' `run_async` was given
        # `create_task(await asyncio.to_thread(...))`, a TypeError at once).
        return ctx.change(
            "unsafe", ctx.replace_node(ctx.span, code_of(new)), ctx.source.import_edit("asyncio"),
            message="The task runs the same call in a worker thread; unsafe because the "
                    "callee must be thread-safe.")
    message = ("Runs the same call in a worker thread; unsafe because the callee must be "
               "thread-safe and its exceptions now surface at the await.")
    if call is not None and call.blocking_category == "thread":
        # Held-out S30c (RealtimeSTT): `recorder_ready.wait()` in the server's main was
        # also its start-up barrier; offloaded, the loop served data handlers that used
        # the recorder before it existed.
        message += (" While it waits, the loop now runs the other tasks and handlers: "
                    "any that relied on this wait having finished (a start-up barrier, a "
                    "result it waits for) must wait for it themselves, on an "
                    "`asyncio.Event` set when it is done.")
    return ctx.change(
        "unsafe", ctx.replace_node(ctx.span, awaited(new, site.needs_parens)),
        ctx.source.import_edit("asyncio"), message=message)


def _sqlite_argument(tree: ast.AST | None, scope: ast.AST | None, node: ast.Call) -> str:
    """An argument of the call that is a sqlite3 connection (to_thread_block's
    sqlite_connections): its text."""
    arguments = [*node.args, *(kw.value for kw in node.keywords)]
    if not any(isinstance(a, (ast.Name, ast.Attribute)) for a in arguments):
        return ""
    opened = to_thread_block.sqlite_connections(tree, scope)
    return next((ast.unparse(a) for a in arguments if isinstance(a, (ast.Name, ast.Attribute))
                 and ast.unparse(a) in opened), "")


_SCHEDULERS = frozenset({"create_task", "ensure_future", "gather", "wait_for", "shield",
                         "run_coroutine_threadsafe", "start_soon"})
"""Calls that take an awaitable and run it (as a task, or awaited by them)."""


def _scheduled(parent: ast.AST | None, node: ast.AST) -> bool:
    """The call is handed to one that takes an awaitable (`asyncio.create_task(f(x))`,
    `asyncio.gather(a(), b())`): the coroutine `asyncio.to_thread` returns goes there."""
    if not isinstance(parent, ast.Call) or not any(arg is node for arg in parent.args):
        return False
    return called_name(parent) in _SCHEDULERS


_STREAM_READS = frozenset({"iter_lines", "iter_content", "iter_bytes", "iter_text",
                           "iter_raw", "iter_any", "iter_chunked"})


def _streamed(node: ast.Call, statement: ast.Assign, scope: ast.AST | None,
              remote: bool, may_stream: bool) -> bool:
    """The call's answer is a stream read after it: `stream=True`, or the name it is
    assigned to is read as a stream later in the function (`response.iter_lines()`), or —
    for a remote answer that may be one (`may_stream`: an LLM call passing `**kwargs` that
    may ask for a stream, Bedrock's event-stream APIs) or a part of it named for one
    (`response["responseStream"]`) — iterated (held-out S: agent-squad's
    `create(**request_options)` then `for chunk in stream`, `invoke_flow`'s event
    stream). A list a call returned (`points = client.scroll(...)`, then `[p.id for p in
    points]`; Lex's `recognize_text(**params)` messages) is no stream. Later means after
    the assignment and before the name is bound again (held-out U: AIOS's upload
    `response = requests.post(...)` below a download's `response` streamed)."""
    if any(kw.arg == "stream" and isinstance(kw.value, ast.Constant) and kw.value.value
           for kw in node.keywords):
        return True
    names = {target.id for target in statement.targets if isinstance(target, ast.Name)}
    if scope is None or not names:
        return False
    start = statement.end_lineno or statement.lineno
    rebound = min((sub.lineno for sub in ast.walk(scope)
                   if isinstance(sub, ast.Assign) and sub.lineno > start
                   and any(isinstance(t, ast.Name) and t.id in names for t in sub.targets)),
                  default=None)

    def stream_of_name(expr: ast.AST) -> bool:
        """`stream` (when the call may answer with one), `response["responseStream"]`,
        `response.get("stream")`, `response.stream` of one of `names`."""
        streamy = may_stream
        while isinstance(expr, (ast.Subscript, ast.Attribute, ast.Call)):
            if isinstance(expr, ast.Call):
                if not (isinstance(expr.func, ast.Attribute) and expr.func.attr == "get"):
                    return False  # `response.json()`: parsed, not a stream
                key = expr.args[0] if expr.args else None
                expr = expr.func.value
            elif isinstance(expr, ast.Subscript):
                key, expr = expr.slice, expr.value
            else:
                key, expr = ast.Constant(expr.attr), expr.value
            streamy |= isinstance(key, ast.Constant) and "stream" in str(key.value).lower()
        return streamy and isinstance(expr, ast.Name) and expr.id in names

    for sub in ast.walk(scope):
        if isinstance(sub, ast.comprehension):  # no line of its own: its iterable's
            line = sub.iter.lineno
        else:
            line = getattr(sub, "lineno", 0)
        if line <= start or rebound is not None and line >= rebound:
            continue
        if isinstance(sub, ast.Attribute) and sub.attr in _STREAM_READS and \
                isinstance(sub.value, ast.Name) and sub.value.id in names:
            return True
        if remote and isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)) and \
                stream_of_name(sub.iter):
            return True
        if remote and isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                sub.func.attr in _BODY_READS and _body_of(sub.func.value, names):
            return True
    return False


_BODY_READS = frozenset({"read", "readlines", "iter_chunks", "iter_lines", "readinto"})
"""Reads of a response's body stream: they block on the network as the bytes arrive."""


def _body_of(expr: ast.AST, names: set[str]) -> bool:
    """`response["Body"]`, `response.get("Body")`, `response.raw`, `resp.body` of one of
    `names`: the body of a remote answer left unread, a stream (boto3's `get_object` gives
    a StreamingBody; held-out S36: llama-stack's S3 files read it on the loop after the
    call moved to a thread)."""
    if isinstance(expr, ast.Subscript):
        key, base = expr.slice, expr.value
    elif isinstance(expr, ast.Attribute):
        key, base = ast.Constant(expr.attr), expr.value
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and \
            expr.func.attr == "get" and expr.args:
        key, base = expr.args[0], expr.func.value
    else:
        return False
    return isinstance(key, ast.Constant) and isinstance(key.value, str) and \
        key.value.lower() in ("body", "raw", "stream", "payload") and \
        isinstance(base, ast.Name) and base.id in names


_EVENT_STREAMS = frozenset({"invoke_agent", "invoke_inline_agent", "invoke_flow",
                            "invoke_model_with_response_stream", "converse_stream",
                            "retrieve_and_generate_stream"})
"""Bedrock runtime calls whose answer holds an event stream (`response["completion"]`,
`response["body"]`) read as it is iterated."""

_REMOTE = frozenset({"http", "llm", "cloud", "grpc", "network"})
"""Blocking categories whose answer may be a stream read as it is iterated (not a list of
rows a database already returned, nor a file, which have advice of their own)."""


def _iterated(parent: ast.AST | None, node: ast.Call) -> bool:
    """The call is what a `for` loop or a comprehension iterates."""
    return (isinstance(parent, (ast.For, ast.AsyncFor)) and parent.iter is node) or (
        isinstance(parent, ast.comprehension) and parent.iter is node)


def _chained(parent: ast.AST | None, node: ast.Call) -> bool:
    """The call's result is the receiver of a method call (`open(path).read()`)."""
    return isinstance(parent, ast.Attribute) and parent.value is node


_STORE_METHODS = frozenset(("append", "extend", "add", "insert", "appendleft",
                            "put_nowait", "setdefault"))
"""Methods that keep an object in a container without reading it."""


def _stored(parent: ast.AST | None, reader: ast.Call | None) -> bool:
    """The opened file is put in a container (`{"file": open(p)}`, `(name, open(p), mime)`,
    `handles.append(open(p))`) rather than read where it is opened."""
    if isinstance(parent, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
        return True
    if reader is None:
        return False
    func = reader.func
    return (isinstance(func, ast.Attribute) and func.attr in _STORE_METHODS) or (
        isinstance(func, ast.Name) and func.id in ("list", "tuple", "dict", "set"))


def _reader_of(statement: ast.stmt | None, node: ast.Call) -> ast.Call | None:
    """The call `node` is passed to as an argument, if any (`json.load` of
    `json.load(open(p))`)."""
    if statement is None:
        return None
    for sub in ast.walk(statement):
        if isinstance(sub, ast.Call) and (
                any(arg is node for arg in sub.args)
                or any(kw.value is node for kw in sub.keywords)):
            return sub
    return None


def _bound_name(name: str, statement: ast.stmt | None, node: ast.Call) -> str | None:
    """The local a thread-bound object lives in: the name a connection, cursor or open file
    is assigned to (`conn = sqlite3.connect(db)`), or the receiver a call works on
    (`conn` of `conn.execute(...)`, `cur` of `cur.fetchall()`)."""
    last = name.rsplit(".", 1)[-1]
    makes_object = last in ("open", "fdopen", "connect", "cursor", "Connection", "SMTP",
                            "SMTP_SSL", "FTP", "FTP_TLS", "IMAP4", "IMAP4_SSL", "POP3",
                            "POP3_SSL", "create_connection") or \
        name.endswith("cursor()")
    if makes_object and isinstance(statement, ast.Assign) and statement.value is node and \
            len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    return receiver_root(func.value)
