"""The frozen values every stage passes on: configuration, facts, rules, recommendations.

Everything shared lives here so the other modules import from one place and never from
each other in a cycle. Facts are plain data (ints, strings, tuples) so they survive the
trip to worker processes and the JSON cache without custom codecs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

SCHEMA_VERSION = 1

PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
"""Highest first; `--fail-on` compares against this order."""

LEVELS: tuple[str, ...] = ("high", "medium", "low")
"""For confidence; effort uses EFFORTS."""

EFFORTS: tuple[str, ...] = ("small", "medium", "large")


def priority_rank(priority: str) -> int:
    """0 for critical … 3 for low; unknown priorities sort last."""
    try:
        return PRIORITIES.index(priority)
    except ValueError:
        return len(PRIORITIES)


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class PathIgnore:
    """`per-path-ignores`: rules silenced for files matching a gitignore-style pattern."""

    pattern: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    project_root: Path
    config_file: Path | None = None
    include: tuple[str, ...] = ("*.py", "*.pyi")
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    """`extend-select`: rules added to the selection, opt-in ones (Rule.opt_in) included."""
    ignore: tuple[str, ...] = ()
    per_path_ignores: tuple[PathIgnore, ...] = ()
    component_roots: tuple[str, ...] = ()
    cache_dir: Path | None = None
    jobs: int = 0
    catalogs: tuple[Path, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    max_file_bytes: int = 5 * 1024 * 1024
    max_file_seconds: int = 60
    max_file_mib: int = 2048
    fail_on: str = "high"
    respect_gitignore: bool = True
    include_tests: bool = False
    """Evaluate the rules on test files too (`--include-tests`): by default a test file's
    facts serve cross-file linking, but nothing is reported in it."""
    include_examples: bool = False
    """The same for examples, docs, notebooks and playgrounds (`--include-examples`)."""

    def skipped_contexts(self) -> frozenset[str]:
        """File contexts where no rule runs."""
        return frozenset(ctx for ctx, shown in (("test", self.include_tests),
                                                ("example", self.include_examples))
                         if not shown)

    def analysis_key(self) -> dict[str, Any]:
        """The parts of the config that change per-file facts (and so the cache key)."""
        return {"max_file_bytes": self.max_file_bytes}


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class SourceFile:
    path: Path
    """Absolute path on disk."""
    rel: str
    """POSIX path relative to the scan root: what reports show."""
    component: str
    explicit: bool = False
    module_root: str = ""
    """The directory named on the command line this file was found under (for a file named
    itself, its directory), relative to the scan root; "" when that is the root. Module
    names start there (link.py), so a file's imports resolve the same whether its directory
    is scanned alone or beside others (whose common parent is then the scan root)."""


@dataclass(frozen=True)
class ErrorRecord:
    path: str
    kind: str
    """parse-error, decode-error, too-large, too-deep, too-slow, out-of-memory, not-found,
    unreadable, symlink-loop, internal-error, config-error, rule-error."""
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind, "message": self.message}
        if self.line is not None:
            out["line"] = self.line
        return out


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class CallFact:
    """A call site the catalog knows something about (blocking, client, network, …)."""

    name: str
    """Resolved dotted name: `requests.get`, `openai.OpenAI.chat.completions.create`."""
    line: int
    column: int
    end_line: int
    end_column: int
    function: int
    """Index of the enclosing function in FileFacts.functions; -1 for module level."""
    awaited: bool = False
    loop_depth: int = 0
    """Loops around the call inside its own function (module level counts its loops)."""
    offloaded: bool = False
    """Inside a def/lambda handed to asyncio.to_thread, run_in_executor and the like."""
    in_with: bool = False
    assigned_to: str = ""
    """`self.attr`, `global`, `local` or `` (not assigned)."""
    lazy: bool = False
    """Stored for reuse: assigned to self.x / a module global (lazy initialisation)."""
    blocking: str = ""
    """Category of blocking work (http, sleep, subprocess, file, db, cloud, llm) or ``."""
    client: str = ""
    """Kind of client the call builds (http, llm, db, cloud, cache) or ``."""
    timeout: str = ""
    """For network calls: set | missing | none | default | dynamic | chosen (no timeout under
    `if x is None:` where the function passes `timeout=x` otherwise: configured so);
    `` if not a network call."""
    replacement: str = ""
    """What the catalog suggests instead (e.g. `httpx.AsyncClient`)."""
    returned: bool = False
    """The result is returned to the caller (a factory), directly or through a local."""
    owned: bool = False
    """A direct argument of a client constructor: `OpenAI(http_client=httpx.Client())`."""
    loader: str = ""
    """Deterministic, expensive loading (config, parse, compile, model…) per the catalog."""
    shared: bool = False
    """For clients: a default for a parameter the caller may pass (`client = client or
    Client()`), or a `with` session used for a batch (a request per item in a loop)."""
    conditional: bool = False
    """Under an `if` or an `except` of its function: runs on some paths only."""
    batch: str = ""
    """For calls made once per item of a loop that have a batch form: what to call instead."""
    static_input: bool = False
    """For loaders: everything the call reads is fixed for the process (literals, module
    constants, `__file__`, locals made only from those), and nothing in the file writes
    the path it reads: the same call gives the same result every time."""
    repeats: int = 0
    """For loaders: line of an identical call earlier in the same block, with nothing
    between that changes what it reads (redundant-call); 0 if none."""
    reuse: str = ""
    """When `repeats`: the plain name the earlier call's result is assigned to."""
    item_config: bool = False
    """For clients built in a loop: the constructor reads the loop's item (a key, a base
    URL, a config per item), so each item needs its own client."""
    handoff: bool = False
    """Inside `with app.suspend():`: a terminal UI hands the terminal to this code, and
    blocking while it waits for an editor or a shell is the point."""
    ready: bool = False
    """For blocking waits: the receiver was just probed (`while not q.empty(): q.get()`,
    `if proc.poll() is not None: proc.communicate()`), so the wait returns at once."""
    handed: bool = False
    """For file opens: the handle goes straight to an awaited call or a child process
    (`file=open(p, "rb")`), which does the reading; opening it takes microseconds."""
    param_config: bool = False
    """For clients: the constructor reads the function's parameters (`OpenAI(api_key=key)`):
    made from what each caller passes, so not simply built once."""
    once: bool = False
    """For clients: built after an early return on remembered state (`if self._token:
    return self._token`): once per object or per expiry, not on every call."""
    paced: bool = False
    """In a loop that also sleeps (a poll, a timer, a rate limit; not a retry): a client
    built per iteration costs nothing next to the wait, and a quick blocking call (an
    SQLite query) once per wait adds up to nothing."""
    rare: str = ""
    """"except": in an exception handler (runs on failure); "missing": in the body of
    `if not <path>.exists():` (runs when something is not there yet: a first run); "debug":
    in the body of `if settings.DEBUG:` / `if self.verbose:` (runs when someone debugs)."""
    brief: bool = False
    """`time.sleep` of a literal of at most BRIEF_SLEEP_SECONDS (`time.sleep(0.001)` to keep
    timestamps apart): a yield, not a wait. Reported where it is written in async code (the
    fix is trivial), but a sync helper holding one is not "blocking" for its async callers."""
    covered: bool = False
    """Inside a `with open(...)` block of its function (or a later item of that `with`):
    the block's own finding moves this work with it."""
    ticks: int = 0
    """Of its loops (loop_depth), those that repeat by the clock or a fixed count, not per
    item of data: a periodic pass (`while` with a sleep: a heartbeat, a timer) and a loop
    over a literal of a few items (`for path in (stdout, stderr)`). Work there is not work
    that grows with the data."""
    block_scaled: bool = False
    """For the call a `with` block opens a file with: the block does file work per item of
    a loop (`with ZipFile(out, "w") as zf: for p in files: zf.write(p)`), which moves with
    the block's finding: file work that grows with the data."""
    session_calls: int = 0
    """For the first database call on a session a sync `with` opens: how many more blocking
    calls on that session its finding covers (its fix moves the whole block)."""
    in_session: bool = False
    """A call on a session its function opened itself (`smtp.login(...)` after `smtp =
    smtplib.SMTP(host)`): the finding at the line that opens it covers it, and its fix
    moves the whole session into one worker thread."""
    own_session: bool = False
    """A database call that opens a connection or session (`sqlite3.connect(p)`), or runs on
    one its function made itself (a local from a call, `with self._connect() as conn:`): the
    function may move to a worker thread whole, its connection with it."""
    iterated: bool = False
    """What a sync `for` loop or comprehension iterates: a project generator called here
    runs its body in this function (link.py follows it)."""
    quick_command: bool = False
    """A subprocess call whose command the catalog says returns within a fraction of a
    second (`[[blocking]] quick_commands`: `["docker", "inspect", name]`, `["pgrep", ...]`)."""
    table_scan: bool = False
    """A statement of a database the catalog calls quick (sqlite3) that reads a whole table:
    a literal SELECT with no WHERE and no LIMIT (`SELECT text, vec FROM chunks`, a vector
    store scored in Python). It takes as long as the table is big, so it is not quick. Set
    on the call that opens a session too when a statement of that session does."""
    pooled: bool = False
    """For clients: built around a connection pool or transport that outlives the call
    (`Redis(connection_pool=self.pool)`, `AsyncOpenAI(http_client=self._http)`): it opens
    no connection of its own."""
    pinned: bool = False
    """For clients: a request the function makes with it sets transport extensions of its
    own (`extensions={"sni_hostname": host}`: a URL pinned to a checked IP, the TLS name
    per request): a shared pool, keyed by that IP, could serve one host's request on a
    connection made for another."""
    unused: bool = False
    """For clients: bound to a local that the function never reads but to set its
    attributes (`s = requests.session(); s.keep_alive = False`): nothing is sent through
    it, so reusing it would save nothing."""
    foreign: bool = False
    """For clients: every request the function makes with it goes to a URL its caller
    passes (`session.get(url)`, `url` a parameter): a crawl of arbitrary sites, where a
    reused client's pooled connections (per host) would rarely serve again."""
    lambda_to: str = ""
    """Inside a lambda handed as an argument (`await run_sync(lambda: post(url, p))`): the
    resolved name of the call it is handed to. A project helper that hands that parameter
    to a worker thread runs this call there (link.py: FileLinks.offloaded)."""
    lambda_position: int = -1
    """The lambda's position among that call's arguments (-1: given by keyword)."""
    lambda_keyword: str = ""
    passed: str = ""
    """Resolved name of a blocking callable handed over uncalled as an argument
    (`self._call(client.post, url)`): the helper may run it in this thread."""
    passed_blocking: str = ""
    """Category of blocking work of `passed`."""
    passed_position: int = -1
    """Position of `passed` among the call's arguments (-1: given by keyword)."""
    passed_keyword: str = ""
    closed: bool = False
    """For clients: the function closes the local it is bound to before it returns
    (`conn.close()`, `await client.aclose()`, `pg.close_connection(conn)`): it opens and
    closes one per call, so a shared one must also stop being closed here."""
    constructs: bool = False
    """A call of a class-like name the catalog does not know, made per call of a function
    (its instance used at once, `Storage().get(k)`, or kept in a local): a project class
    whose `__init__` builds a client (link.py's wrappers) builds one per call too. Its
    client flags (returned, shared, param_config, ...) are computed as for a client."""
    fresh: bool = False
    """Of a client: returned as it is built (`return OpenAI(...)`, or a local only
    returned) and kept nowhere else (no attribute, global or container, no first-use
    guard): each call of its function hands out a new one (link.py's factories)."""
    flags: str = ""
    """`name=True` / `name=False` for the keyword arguments it passes as a literal bool,
    space-separated (`is_valid_url(url, check_reachability=False)`: link matches
    FunctionFact.exit_flag). A string, not a tuple: call rows decode without conversion."""
    exit_waits: bool = False
    """An executor a sync `with` of a coroutine enters, whose block submits work and never
    waits for it (`with ThreadPoolExecutor() as pool: pool.submit(save, row)`): leaving
    the block waits for the work, on the event loop (blocking "thread")."""
    threaded: bool = False
    """Of a client: built (outside loops) in a function its file hands to
    `threading.Thread(target=...)`: each run has a thread of its own, and the client is that
    thread's (requests' Session is not made to be shared between threads; held-out S47:
    unstructured's telemetry sends one event per short-lived thread)."""
    timed: bool = False
    """Of a client: built in a loop that times its iterations (`elapsed = time.time() -
    start`): a latency probe or a benchmark, whose cold connection is part of what it
    measures (held-out S45: kirara-ai's npm mirror speed test)."""
    early: bool = False
    """Made in a coroutine before its first await (or `async for`/`async with`/yield) and
    before it starts a task, outside loops and lambdas: in one alone on its loop until then
    (FileLinks.starts_alone) it stalls nothing, and keeps nothing it started waiting."""


@dataclass(frozen=True)
class FunctionFact:
    name: str
    qualname: str
    line: int
    end_line: int
    column: int = 1
    is_async: bool = False
    class_name: str = ""
    parent: int = -1
    decorators: tuple[str, ...] = ()
    admin: bool = False
    """Its name or a decorator as written says an operator's action (`@admin_router.post`)."""
    cached: bool = False
    """Decorated with a memoizing decorator (functools.lru_cache, cache, cached_property…)."""
    params: int = 0
    statements: int = 0
    loops: int = 0
    max_loop_depth: int = 0
    calls: int = 0
    awaits: int = 0
    yields: bool = False
    callees: tuple[str, ...] = ()
    """Distinct resolved names this function calls (for the link stage and profiling)."""
    loop_callees: tuple[str, ...] = ()
    """Of `callees`, those called inside a loop or a comprehension (run many times)."""
    lazy_callees: tuple[str, ...] = ()
    """Resolved names of the calls whose result it keeps on `self` the first time (`if
    self._models is None: self._models = await self.fetch_models()`): once per object."""
    exit_flag: str = ""
    """The first early exit a literal argument chooses (`check_reachability=False` for `if
    not check_reachability: return True`): a call passing it runs only what comes before."""
    pre_exit_callees: tuple[str, ...] = ()
    """Resolved names of the calls made before that exit."""
    dropped_callees: tuple[str, ...] = ()
    """Of a plain `def`: resolved names of the calls whose result it drops at every site (a
    statement of its own, or a local nothing reads but a test: `ok = self.check_health()`
    then `if not ok:`). A coroutine called so is never run."""
    io: bool = False
    """It calls a request the catalog knows or a method of an object named as a client
    (`self._client.get`): I/O worth overlapping with other such calls."""
    net_io: bool = False
    """Of `io`: some of it is not local files (`aiofiles.open`, the catalog's `[async_io]
    files`): a request to a server, a database, a subprocess."""
    branch_callees: tuple[str, ...] = ()
    """Of `callees`, those only called under an `if`/`except` or after an early return on
    remembered state: some runs of this function never reach them."""
    startup: bool = False
    """Registered as a startup or shutdown hook (`@app.on_event("startup")`,
    `@app.before_serving`): it runs once, before requests are served."""
    serial_awaits: int = 0
    """Of `awaits`, those on Django's async ORM or `sync_to_async(f)(...)` (thread-sensitive
    by default), or made holding a lock every call shares (`async with self._lock:`): they
    run one at a time, whatever gathers them; and those in an exception handler, which the
    normal path does not reach."""
    lazy_init: bool = False
    """Awaits under `if not self.x:` / `if self.x is None:`: a lazy connect or load on first
    use, which concurrent first calls would all run (in different tasks)."""
    shared_handle: bool = False
    """Awaits a statement on a connection, session or socket the object holds (`await
    self._session.execute(...)`, `await self.ws.send(...)`: an attribute named as one, the
    catalog's `[ordered] handle_names`, and a method of `[ordered] methods`): every call of
    it, on one object, queues on that one handle, which serves one operation at a time."""
    paces: bool = False
    """It awaits a wait for a rate limit (`await self._pace()`, `await
    self.rate_limiter.acquire()`, `await asyncio.sleep(self.rate_limit_delay - since)`;
    catalog `[ordered] pacing`): awaited once per item, it spaces the items on purpose."""
    new_loop: bool = False
    """It makes an event loop of its own (`asyncio.new_event_loop()`) to run coroutines on:
    a new loop on every call, so an asyncio client it builds for them cannot be kept."""
    code_exchange: bool = False
    """It trades an OAuth authorization code for tokens (it names the `authorization_code`
    grant): that runs once per sign-in or connected account, not per request."""
    positional_params: tuple[str, ...] = ()
    """Parameters that take a positional argument, in order (`self` included)."""
    called_params: tuple[str, ...] = ()
    """Parameters the body calls (`fn(*args)`): a callable handed over runs here."""
    thread_params: tuple[str, ...] = ()
    """Parameters the body hands to a worker thread (`await asyncio.to_thread(fn)`,
    `loop.run_in_executor(None, fn)`): a callable handed over runs off the event loop."""
    driven: tuple[str, ...] = ()
    """Resolved names of coroutine calls this function hands straight to a loop runner
    (`asyncio.run(main())`, `loop.run_until_complete(self._work())`)."""
    runner_params: tuple[int, ...] = ()
    """Positions, as its callers pass them (a method's `self` aside), of the parameters
    it hands to a loop runner (`def asyncio_run(coro): ... asyncio.run(coro)` -> (0,)):
    a coroutine passed there runs on a loop of its own."""
    run_handed: tuple[str, ...] = ()
    """`callee<TAB>position<TAB>coroutine function` (resolved names) for the calls it
    hands straight to a function named for running one (`asyncio_run(export(...))`): the
    link stage drives the coroutine when the callee is a project runner (runner_params)."""
    spawns: bool = False
    """It starts concurrent work on its loop (gather, create_task, a TaskGroup, wait)."""
    spawns_open: bool = False
    """Of spawns: work that may outlive the statement starting it (a task created, a
    TaskGroup, `wait`/`as_completed` over tasks), not only an awaited `gather`."""
    gathered: tuple[str, ...] = ()
    """Resolved names of calls made in the arguments of an awaited `gather` (its tasks,
    which run concurrently with each other)."""
    returns: str = ""
    """Its return annotation, resolved (`def build_api(self) -> BaseAPI` ->
    `mage_ai.services.spark.api.base.BaseAPI`): link.py follows `self.build_api().job` to
    that class's `job`, in whatever file defines it."""
    awaited_callees: tuple[str, ...] = ()
    """Resolved names of the calls it awaits directly (`await self._fetch(x)`; `` for a
    call with no plain name): link.py follows the project's own to tell a coroutine that
    never suspends (every await ends in a coroutine that awaits nothing) from one that does."""
    opaque_awaits: bool = False
    """It awaits something other than a call (`await task`, `async for`, `async with`): a
    suspension point whatever its callees do."""
    deprecated: bool = False
    """It, or a class or function around it, is marked `@deprecated(...)`: code its authors
    already replaced (findings in it rank one level down)."""
    sync_on_purpose: bool = False
    """A sync function whose docstring says it is synchronous on purpose (`Deliberately
    synchronous: callers warn before awaiting anything`): what it blocks on is the author's
    choice, so a coroutine calling it is not told to move it off the loop."""
    prompts: bool = False
    """It reads the terminal: calls a console prompt (`input()`, `getpass`, the catalog's
    `stdin` calls) or hands one to a thread (`run_in_executor(None, partial(input, p))`).
    Awaited one after another, such coroutines ask the person in turn (held-out S50:
    pyrogram's sign-up asks for a first and then a last name through its `ainput`)."""
    rewrites: bool = False
    """It reads a file and writes that same file (the same path expression opened for
    reading and for writing or appending, or `p.read_text()` and `p.write_text(...)`): a
    read-modify-write. On the event loop two calls take turns; moved to worker threads they
    can interleave and one's write can be lost (held-out S49: AWorld's chat history and
    session index, rewritten per request)."""

    @property
    def lines(self) -> int:
        return self.end_line - self.line + 1

    @property
    def is_method(self) -> bool:
        return bool(self.class_name)


@dataclass(frozen=True)
class LoopFact:
    line: int
    end_line: int
    kind: str
    """for | async for | while."""
    function: int
    depth: int
    awaits: int = 0
    calls: int = 0
    per_item: bool = False
    """An awaited call in the body reads the loop target: one request per item."""
    dependent: bool = False
    """Awaited calls read names the body rebinds (each iteration needs the last one), or a
    connection/session all iterations share, or a value fetched once under `if x is None`;
    or the body yields (an async generator hands out its items in order)."""
    exits: bool = False
    sleeps: bool = False
    await_line: int = 0
    await_column: int = 0
    await_end_line: int = 0
    await_end_column: int = 0
    target: str = ""
    iterable: str = ""
    retry: bool = False
    """A hand-rolled retry: it tries, leaves the loop on success, sleeps after a failure."""
    fixed_delay: bool = False
    """The retry sleeps the same time after every failure (no backoff)."""
    forever: bool = False
    """The retry is `while True` with no attempt counter."""
    delay: str = ""
    """Source of the retry's sleep argument."""
    attempts: int = 0
    """Attempts a literal `range(n)` allows the retry; 0 when not known."""
    network: bool = False
    """The loop makes a call the catalog knows goes over the network (HTTP, LLM, database,
    cloud): what a retry with backoff protects."""
    sdk_retries: bool = False
    """Every such call is one of an SDK whose client retries with exponential backoff
    itself (OpenAI's, Anthropic's: `max_retries`)."""
    await_name: str = ""
    """Resolved name of the call awaited per item (for the link stage and the rules)."""
    discarded: bool = False
    """The call awaited per item is a statement of its own: it runs for its effect."""
    typed: bool = False
    """The call awaited per item runs under `if isinstance(<item>, ...)`: only for items of
    one kind (the images among a message's parts), usually few."""
    batches: bool = False
    """The loop's iterable makes batches of one input (`for batch in self.batchify(texts,
    n)`, a stepped `range`, a list of slices): each item is already one request for many."""
    rare: str = ""
    """As CallFact.rare, for the loop statement."""
    batched: bool = False
    """The call awaited per item has a batch form (`redis.get` → `mget`): n-plus-one
    reports the loop, with the better advice than running the calls at once."""
    handed: str = ""
    """Resolved name of the callable the call awaited per item hands to a thread
    (`asyncio.to_thread(base64.b64encode, data)` -> `base64.b64encode`): the work itself."""


@dataclass(frozen=True)
class CacheFact:
    """Something that remembers results: a `functools.lru_cache`/`cache` decorator, or a
    dict at module level, on a class or on an instance that a function fills by key."""

    kind: str
    """`decorator` or `dict`."""
    name: str
    """The decorator's resolved name, or the dict as the code names it (`self._cache`)."""
    line: int
    column: int
    end_line: int
    end_column: int
    function: int
    """The decorated function, or the function that stores into the dict."""
    scope: str = ""
    """Where a dict lives: `module`, `class` or `instance`."""
    bounded: bool = False
    """A finite maxsize, or the dict is evicted from (pop, del, clear, a size check, a
    reset)."""
    on_method: bool = False
    """On an instance method (not static or class methods, not Enum members)."""
    on_async: bool = False
    key: str = ""
    """Source text of the key a dict is filled by."""
    key_unbounded: bool = False
    """The key names a user, session, request, URL, prompt… (catalog `[caches]`)."""


@dataclass(frozen=True)
class AwaitGroupFact:
    """Consecutive awaits in one block that read nothing an earlier one of them assigned
    and share no receiver: they could run concurrently. (Also the shape of a group of sync
    calls, FileFacts.call_groups.)"""

    function: int
    line: int
    """Of the first awaited call (where the recommendation points)."""
    column: int
    calls: tuple[tuple[int, int, int, int], ...]
    """Span (line, column, end_line, end_column) of each awaited call."""
    targets: tuple[str, ...]
    """What each result is assigned to (`` for a bare `await f()`)."""
    names: tuple[str, ...] = ()
    """Resolved name of each awaited call."""


@dataclass(frozen=True)
class FileFacts:
    """Everything one parse + one visit learns about one file."""

    path: str
    lines: int
    functions: tuple[FunctionFact, ...] = ()
    calls: tuple[CallFact, ...] = ()
    loops: tuple[LoopFact, ...] = ()
    await_groups: tuple[AwaitGroupFact, ...] = ()
    call_groups: tuple[AwaitGroupFact, ...] = ()
    """Slow sync reads (HTTP GETs, LLM requests) one after another in a sync function, none
    reading another's result: what a thread pool could run at once."""
    caches: tuple[CacheFact, ...] = ()
    imports: tuple[str, ...] = ()
    bindings: tuple[tuple[str, str], ...] = ()
    """(local name, dotted name it imports): `from .base import Base` -> ("Base",
    ".base.Base"). Link follows them to a name a package re-exports."""
    class_bases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(class qualname, its bases as resolved names): a method called on `self` that the
    class does not define is looked up in them (link)."""
    suppressions: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """(line, codes) pairs; codes == ("*",) silences every rule on that line."""
    positions: str = "ast"
    """Where positions came from: `ast` (matched by order) or `libcst` (fallback)."""
    handed: tuple[str, ...] = ()
    """Last names of attributes the file passes uncalled as an argument (`aupload` of
    `on_image=uploader.aupload`): a coroutine function handed over may be awaited by
    whoever receives it."""
    handed_names: tuple[str, ...] = ()
    """The same of plain names (`app.run(main)`), resolved as the file's module scope
    binds them (`web.run.main` after `from web.run import main`)."""
    module_callees: tuple[str, ...] = ()
    """Resolved names of what module-level code calls (not in a def or a lambda): run once
    per import, or per run of a script (link's runs_once)."""
    driven: tuple[str, ...] = ()
    """Resolved names of coroutines module-level code runs on a loop of its own (`if
    __name__ == "__main__": asyncio.run(main())`), as FunctionFact.driven for functions."""
    run_handed: tuple[str, ...] = ()
    """As FunctionFact.run_handed, for module-level code."""
    private_refs: tuple[str, ...] = ()
    """Private names (`_load`, `__secret`; not dunders) the file's text names more often
    than it defines functions of that name: called, handed over, imported, in a string
    (`getattr(self, "_on_" + kind)` gives `_on_`) or a comment; and, marked `*`, the ends of
    names format strings build (`f"_{kind}_setup"` gives `*_setup`). A private function no
    file names is one nothing in the project calls (link's _uncalled)."""


@dataclass(frozen=True)
class FileResult:
    """What analysis of one file yields: facts, or an error record (never an exception)."""

    source: SourceFile
    digest: str
    facts: FileFacts | None = None
    error: ErrorRecord | None = None
    cached: bool = False


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleExample:
    code: str
    triggers: int
    """How many recommendations of this rule the code must produce (0 for near misses)."""
    line: int
    """Line of the example in its rule file (for test ids and error messages)."""
    note: str = ""
    profile: bool = False
    """Run the code under `optadvisor profile` (profile rules), instead of only scanning it."""
    args: tuple[str, ...] = ()
    fixed: str | None = None
    """The code after `--fix --unsafe-fixes` with this rule alone (the same code when its
    fixes are only advice in words)."""


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    category: str
    priority: str
    subject: str
    when: str
    title: str
    message: str
    impact: str
    fix_after: str
    confidence: str
    effort: str
    source_file: Path
    docs: Mapping[str, str] = field(default_factory=dict)
    examples: tuple[RuleExample, ...] = ()
    tags: tuple[str, ...] = ()
    precision: str = "high"
    opt_in: bool = False
    """Runs only when selected by its full id (`--select OPT106`, `extend-select`) or ALL:
    correct findings that most projects do not want by default."""
    lines: Mapping[str, int] = field(default_factory=dict)
    """Line of each key in its TOML file, so errors can point at it."""
    at: str = ""
    """Profile rules: where the finding points (hotspot: function | hottest-line |
    waiting-line; run: allocation | hottest-function | gc-function | lag-function |
    script)."""
    fix_scope: str = "call"
    """`call`: fix.after replaces the flagged call in the user's line; `block`: it is the
    whole code to write (display-only fixes of rules that name no fix shape)."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Snippet:
    before: str
    after: str
    line: int = 0
    """Line of the file where `before` starts (0: unknown, reports saved before it)."""
    indent: int = 0
    """Columns of indentation taken off `before` (to place a column of the file in it)."""


@dataclass(frozen=True)
class Edit:
    """Replace the text between two 1-based (line, column) points (end exclusive; an
    insertion when both are equal)."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True)
class Fix:
    applicability: str
    """ruff's Safe / Unsafe / DisplayOnly: `safe` fixes keep the program's meaning and
    `--fix` applies them; `unsafe` ones are valid code that may change behaviour
    (`--unsafe-fixes`); `manual` ones are said in words and never applied."""
    edits: tuple[Edit, ...] = ()
    message: str = ""
    """What the change does and when it is not right (safe/unsafe), or what to do in words
    (manual)."""

    def to_dict(self) -> dict[str, Any]:
        return {"applicability": self.applicability, "message": self.message,
                "edits": [dataclasses.asdict(e) for e in self.edits]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Fix":
        return cls(applicability=data["applicability"], message=data.get("message", ""),
                   edits=tuple(Edit(**e) for e in data.get("edits", ())))


@dataclass(frozen=True)
class Recommendation:
    rule: str
    kind: str
    category: str
    priority: str
    score: int
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    symbol: str
    component: str
    title: str
    message: str
    evidence: Mapping[str, Any]
    impact: str
    confidence: str
    effort: str
    snippet: Snippet
    fingerprint: str
    baseline_state: str = ""
    """With --baseline: `new` or `unchanged`; `` without one."""
    fix: Fix | None = None
    context: str = "library"
    """library | test | example | script | migration (from the path): findings outside
    library code are ranked low and do not fail CI by default."""
    facets: tuple[Mapping[str, str], ...] = ()
    """Other rules that matched the same site ({rule, kind, message}): one site, one
    recommendation, and its fix addresses them too."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["facets"] = [dict(f) for f in self.facets]
        if not self.facets:
            del out["facets"]
        out["evidence"] = dict(self.evidence)
        if not self.baseline_state:
            del out["baseline_state"]
        if self.fix is None:
            del out["fix"]
        else:
            out["fix"] = self.fix.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Recommendation":
        """The inverse of to_dict."""
        fields = dict(data)
        fields["snippet"] = Snippet(**fields["snippet"])
        if fields.get("fix") is not None:
            fields["fix"] = Fix.from_dict(fields["fix"])
        fields["facets"] = tuple(dict(f) for f in fields.get("facets", ()))
        return cls(**fields)


@dataclass(frozen=True)
class Target:
    """A function, file or component ranked as a place worth working on."""

    kind: str
    """function | file | component."""
    path: str
    component: str
    symbol: str
    score: int
    caching: bool
    async_: bool
    profiling: bool
    optimization: bool
    recommendations: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "component": self.component,
            "symbol": self.symbol,
            "score": self.score,
            "caching": self.caching,
            "async": self.async_,
            "profiling": self.profiling,
            "optimization": self.optimization,
            "recommendations": self.recommendations,
        }

    @property
    def flags(self) -> dict[str, bool]:
        return {
            "caching": self.caching,
            "async": self.async_,
            "profiling": self.profiling,
            "optimization": self.optimization,
        }


@dataclass(frozen=True)
class PlanPhase:
    name: str
    description: str
    recommendations: tuple[int, ...]
    """Indexes into Report.recommendations."""


@dataclass(frozen=True)
class Summary:
    files: int
    lines: int
    functions: int
    components: int
    errors: int
    seconds: float
    recommendations: int
    by_priority: Mapping[str, int]
    by_kind: Mapping[str, int]
    candidates: Mapping[str, int]
    cached_files: int = 0
    suppressed: int = 0
    baseline: Mapping[str, int] = field(default_factory=dict)
    """With --baseline: counts of new, unchanged and fixed (in the baseline, gone now)."""
    by_context: Mapping[str, int] = field(default_factory=dict)
    """Recommendations per file context: library, test, example, script, migration."""
    excluded_by_default: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Files the default excludes left out, by reason (virtual-environment,
    installed-packages, tool-directory): {"files": n, "directories": n}. User excludes
    are the user's own word and not counted here."""
    skipped_by_context: Mapping[str, int] = field(default_factory=dict)
    """Files whose facts were linked but where no rule ran, by context: `test` (without
    --include-tests) and `example` (without --include-examples)."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("by_priority", "by_kind", "candidates", "baseline", "by_context",
                    "skipped_by_context"):
            out[key] = dict(out[key])
        out["excluded_by_default"] = {reason: dict(counts) for reason, counts
                                      in self.excluded_by_default.items()}
        if not self.baseline:
            del out["baseline"]
        return out


@dataclass
class EngineResult:
    """What the rules found in a set of files (engine.py), or what a warm scan kept."""

    recommendations: list[Recommendation]
    suppressed: int
    skipped: dict[str, int] = field(default_factory=dict)
    """Files whose rules were not evaluated, by context (Config.skipped_contexts)."""


@dataclass(frozen=True)
class Report:
    root: str
    summary: Summary
    recommendations: tuple[Recommendation, ...]
    targets: tuple[Target, ...]
    errors: tuple[ErrorRecord, ...]
    plan: tuple[PlanPhase, ...] = ()
    tool_version: str = ""
    unchanged: tuple[Recommendation, ...] = ()
    """With --baseline: findings the baseline already had (SARIF marks them unchanged)."""
    profile: Mapping[str, Any] | None = None
    """For `profile` reports: the run's summary (optadvisor/profile/summary.py)."""
    path_prefix: str = ""
    """The scanned root relative to the repository root (POSIX, "" when they are the same or
    no repository is known): CI formats (SARIF, GitHub, GitLab) need repo-relative paths."""
    fail_on: str = ""
    """The gate the command applies (`high`, `never`…), for the terminal summaries to say
    what fails it; not part of the JSON document."""
    shard: Mapping[str, Any] | None = None
    """For `scan --shard K/N`: what a merge needs (optadvisor/shard.py), written in the
    JSON document only."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Report":
        """The inverse of to_dict, for `optadvisor report` on a saved scan."""
        rec = Recommendation.from_dict

        def target(item: Mapping[str, Any]) -> Target:
            fields = dict(item)
            fields["async_"] = fields.pop("async")
            return Target(**fields)

        summary = dict(data["summary"])
        return cls(
            root=data.get("root", ""),
            summary=Summary(**summary),
            recommendations=tuple(rec(r) for r in data["recommendations"]),
            targets=tuple(target(t) for t in data.get("targets", ())),
            errors=tuple(ErrorRecord(**e) for e in data.get("errors", ())),
            plan=tuple(PlanPhase(p["name"], p["description"], tuple(p["recommendations"]))
                       for p in data.get("plan", ())),
            tool_version=data.get("tool", {}).get("version", ""),
            unchanged=tuple(rec(r) for r in data.get("unchanged", ())),
            path_prefix=data.get("path_prefix", ""),
            profile=data.get("profile"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "optadvisor", "version": self.tool_version},
            "root": self.root,
            "path_prefix": self.path_prefix,
            "summary": self.summary.to_dict(),
            "recommendations": [r.to_dict() for r in self.recommendations],
            "targets": [t.to_dict() for t in self.targets],
            "errors": [e.to_dict() for e in self.errors],
            **({"unchanged": [r.to_dict() for r in self.unchanged]} if self.unchanged else {}),
            **({"profile": dict(self.profile)} if self.profile is not None else {}),
            "plan": [
                {"name": p.name, "description": p.description,
                 "recommendations": list(p.recommendations)}
                for p in self.plan
            ],
            **({"shard": dict(self.shard)} if self.shard is not None else {}),
        }


# =========================================================================== profile runs
# The types of profile runs and comparisons live in run_models.py and are imported on first
# use of one of their names (PEP 562), so that a scan, which never uses them, does not
# build their dataclasses at start-up (run_models' docstring).

_RUN_MODELS = frozenset({
    "PROFILE_RUN_SCHEMA_VERSION",
    "PROFILE_RUN_KIND",
    "WAITING_WEIGHT",
    "RunOutcome",
    "RunEnvironment",
    "ThreadSamples",
    "SampleSummary",
    "HotFunction",
    "HotLine",
    "LineTiming",
    "TimedFunction",
    "Rusage",
    "MetricSample",
    "SystemMetrics",
    "AllocationSite",
    "FunctionMemory",
    "MemoryLine",
    "MemoryReport",
    "CallStats",
    "AwaitSite",
    "AwaitGroupTiming",
    "IOCallStats",
    "GcGeneration",
    "GcStats",
    "LagEvent",
    "LoopLag",
    "PassRecord",
    "RunError",
    "StackSample",
    "RepeatFunction",
    "RepeatCall",
    "RepeatRun",
    "ProfileRun",
    "COMPARISON_SCHEMA_VERSION",
    "COMPARISON_KIND",
    "ComparedFile",
    "Significance",
    "MetricDelta",
    "FunctionDelta",
    "CallDelta",
    "FindingDelta",
    "CountDelta",
    "Regression",
    "Comparison",
})


SUPER_MARK = "super:"
"""Head of a call name for `super().m()` in a method of class C, `super:C.m`: the `m` of
the first of C's bases that has one (link.ProjectIndex.resolve follows the bases)."""


@dataclass(frozen=True)
class Hop:
    """One step of a chain: a function, or the blocking call at its end."""

    name: str
    path: str
    line: int


@dataclass(frozen=True)
class Via:
    """How a call inside an async def ends up in blocking work (link.py finds them; the
    warm state stores them)."""

    chain: tuple[Hop, ...]
    """Helpers called, outermost first, ending with the blocking call itself."""
    category: str
    replacement: str
    conditional: bool = False
    """The blocking call at the end sits under an `if` or an `except` of its helper: it
    runs on some paths only (a cache miss, a fallback, a kind of input)."""
    bridge: bool = False
    """The helper called runs a coroutine on an event loop of its own and waits for it
    (`asyncio.run`, `run_until_complete`): a sync-over-async bridge, which async code
    replaces by awaiting the coroutine itself."""
    twin: str = ""
    """`helper -> aHelper`: a helper of the chain has an async twin beside it (same module
    or class: `aget_all_files` for `get_all_files`): the change is to call the twin from
    async code, not to move the chain into a thread."""
    consumed: bool = False
    """The helper called is a generator the coroutine's own `for` loop drives: its body
    runs as items are pulled, so a thread around the call would only create it."""
    entered: bool = False
    """The helper called is a `@contextmanager` generator the coroutine's `with` enters:
    its body up to `yield` runs on entry, so a thread around the call would only make it."""
    loop_bound: bool = False
    """A helper of the chain uses the running event loop (`asyncio.get_running_loop()`,
    `asyncio.create_task`), the exception being handled (`sys.exc_info()`), the caller's
    stack frames (`inspect.currentframe()`) or the main thread (`signal.signal`, pyplot):
    a worker thread has none of these, so the chain cannot move there whole (held-out L:
    cognee's `send_telemetry` schedules its request on the loop)."""
    interactive: bool = False
    """A helper of the chain also waits for a person at the terminal (`input()`, rich's
    `Prompt.ask`): a console tool's step. A worker thread blocked there cannot be stopped
    by Ctrl+C (held-out O: atomic-agents' chat client, whose session menu fetches the
    sessions and then asks the user)."""
    scaled: bool = False
    """The file work the helper reaches grows with the data, not with the call: a helper
    of the chain (or one it calls) walks a tree, copies or packs one, reads an array or a
    table file, or does file work per item of a loop (`for p in d.glob("*.json"):
    json.load(open(p))`). One small read or write takes microseconds to a millisecond: in
    held-out reads O-R, 90 of the 119 OPT105 findings judged correct but worth nothing
    were such reads and writes, and 2 of the 11 worth acting on."""
    quick: bool = False
    """The blocking call at the chain's end is one the catalog says answers within
    milliseconds (`[[blocking]] quick`), and no whole-table read (CallFact.table_scan)."""
    own_session: bool = False
    """The database call the chain ends in opens a connection or runs on one the helper that
    makes it opened itself (`sqlite3.connect(p)`, `with self._connect() as conn:
    conn.execute(...)`): the chain may move to a worker thread whole (CallFact.own_session)."""
    rewrites: bool = False
    """A helper of the chain reads a file and writes it back (FunctionFact.rewrites): on
    the event loop concurrent calls take turns; in worker threads one's write can land
    between another's read and write (held-out S49: AWorld's per-request session index)."""

    @property
    def text(self) -> str:
        return " → ".join(hop.name for hop in self.chain)


VIA_FLAGS = tuple(f.name for f in dataclasses.fields(Via))[1:]
"""Via's fields after its chain, in order (warm.links_form stores them all)."""


def __getattr__(name: str) -> Any:
    if name in _RUN_MODELS:
        from optadvisor import run_models

        return getattr(run_models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from optadvisor.run_models import (  # noqa: F401
        PROFILE_RUN_SCHEMA_VERSION,
        PROFILE_RUN_KIND,
        WAITING_WEIGHT,
        RunOutcome,
        RunEnvironment,
        ThreadSamples,
        SampleSummary,
        HotFunction,
        HotLine,
        LineTiming,
        TimedFunction,
        Rusage,
        MetricSample,
        SystemMetrics,
        AllocationSite,
        FunctionMemory,
        MemoryLine,
        MemoryReport,
        CallStats,
        AwaitSite,
        AwaitGroupTiming,
        IOCallStats,
        GcGeneration,
        GcStats,
        LagEvent,
        LoopLag,
        PassRecord,
        RunError,
        StackSample,
        RepeatFunction,
        RepeatCall,
        RepeatRun,
        ProfileRun,
        COMPARISON_SCHEMA_VERSION,
        COMPARISON_KIND,
        ComparedFile,
        Significance,
        MetricDelta,
        FunctionDelta,
        CallDelta,
        FindingDelta,
        CountDelta,
        Regression,
        Comparison,
    )
