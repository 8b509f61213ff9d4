"""The frozen values every stage passes on: configuration, facts, rules, recommendations.

Everything shared lives here so the other modules import from one place and never from
each other in a cycle. Facts are plain data (ints, strings, tuples) so they survive the
trip to worker processes and the JSON cache without custom codecs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

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
    """For clients built in a loop: the loop also sleeps (a poll, a rate limit), so a
    client per iteration costs nothing next to the wait."""
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
    run one at a time, whatever gathers them."""
    lazy_init: bool = False
    """Awaits under `if not self.x:` / `if self.x is None:`: a lazy connect or load on first
    use, which concurrent first calls would all run (in different tasks)."""
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
    deprecated: bool = False
    """It, or a class or function around it, is marked `@deprecated(...)`: code its authors
    already replaced (findings in it rank one level down)."""

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
    (`getattr(self, "_on_" + kind)` gives `_on_`) or a comment. A private function no file
    names is one nothing in the project calls (link's _uncalled)."""


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
# What `optadvisor profile` measured, as one saved, reloadable value (like pyinstrument's
# Session): renderers, `report` and `compare` work from it without profiling again.
# Percentages of time are of the run's wall time (sampling ticks of its main thread), so
# a function busy in four worker processes at once can show 400.

PROFILE_RUN_SCHEMA_VERSION = 1
PROFILE_RUN_KIND = "profile-run"
WAITING_WEIGHT = 0.5
"""How much a sampled second spent waiting counts against a busy one when ranking user
functions (ProfileRun.ranked_user_functions)."""


@dataclass(frozen=True)
class RunOutcome:
    """How the target ended, and whether anything had to be stopped."""

    status: str
    """ok | exit-nonzero | exception | signal | timeout | stopped."""
    returncode: int | None = None
    """Exit code; None when a signal ended it or it never started."""
    signal: str = ""
    """SIGKILL, SIGSEGV, … when a signal ended it."""
    exception: str = ""
    """`ValueError: bad input` when the script raised."""
    timed_out: bool = False
    killed: int = 0
    """Processes of the target's tree that we had to stop (timeout, leftovers)."""
    leftover: tuple[int, ...] = ()
    """Pids still alive after cleanup: should always be empty."""
    message: str = ""


@dataclass(frozen=True)
class RunEnvironment:
    python: str
    implementation: str
    executable: str
    platform: str
    machine: str
    cpu_count: int
    sampler: str
    """What measured time: `py-spy 0.4.3`, `in-process sampler`, `cProfile`."""
    tool_version: str = ""
    stdlib: str = ""
    """The target interpreter's stdlib directory (frames there are not user code)."""


@dataclass(frozen=True)
class ThreadSamples:
    pid: int
    tid: int
    name: str
    samples: int
    idle: int
    top: str = ""
    """The function with the most active (non-idle) self samples on this thread."""


@dataclass(frozen=True)
class SampleSummary:
    sampler: str
    """py-spy | in-process | cprofile."""
    rate: int
    total: int
    """Samples over every thread of every process, idle ones included."""
    idle: int
    ticks: int
    """Sampling intervals of the main thread: the wall time percentages divide by."""
    processes: int = 1
    threads: tuple[ThreadSamples, ...] = ()
    idle_method: str = ""
    errors: int = 0
    """Samples the sampler failed to take."""
    dropped: int = 0
    """Samples with no frame of the target (its launcher), left out of every figure."""

    @property
    def active(self) -> int:
        return self.total - self.idle


@dataclass(frozen=True)
class HotFunction:
    name: str
    """Qualified name: `Pipeline.run`, `outer.<locals>.inner`, `<module>`."""
    file: str
    """Absolute path as the interpreter saw it."""
    path: str
    """POSIX path relative to ProfileRun.root, or `file` when outside it."""
    line: int
    """The `def` line (0 when the source could not be read)."""
    user: bool
    """User code: not the standard library, site-packages or frozen modules."""
    self_seconds: float
    total_seconds: float
    idle_seconds: float = 0.0
    """Inclusive time while the thread was waiting (sleep, I/O, locks, select)."""
    self_pct: float = 0.0
    total_pct: float = 0.0
    idle_pct: float = 0.0
    cpu_pct: float = 0.0
    """Share of all active samples where this function was running its own code."""
    user_self_seconds: float = 0.0
    user_self_pct: float = 0.0
    """Time this was the innermost user function on the stack: its own time plus the
    library and stdlib time it called into (json parsing, sleeping). Zero for non-user
    code. The best single figure for "which of my functions costs the most"."""
    samples: int = 0
    """Samples with the function on the stack (0 in trace mode)."""
    calls: int = 0
    """Calls counted (trace mode only)."""
    threads: int = 1
    processes: int = 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.file, self.name)


@dataclass(frozen=True)
class HotLine:
    file: str
    path: str
    line: int
    function: str
    user: bool
    self_seconds: float
    idle_seconds: float = 0.0
    self_pct: float = 0.0
    total_pct: float = 0.0
    idle_pct: float = 0.0
    samples: int = 0
    code: str = ""
    """The source line, stripped (empty when the file could not be read)."""


@dataclass(frozen=True)
class LineTiming:
    line: int
    hits: int
    seconds: float
    pct: float
    """Share of the function's measured time."""
    code: str = ""


@dataclass(frozen=True)
class TimedFunction:
    """One function of the targeted line pass (line-profiler)."""

    name: str
    file: str
    path: str
    line: int
    seconds: float
    lines: tuple[LineTiming, ...] = ()


@dataclass(frozen=True)
class Rusage:
    """The target's own resource usage from wait4 (it and its waited-for descendants)."""

    user_seconds: float
    system_seconds: float
    max_rss_bytes: int
    voluntary_switches: int = 0
    involuntary_switches: int = 0
    minor_faults: int = 0
    major_faults: int = 0
    block_in: int = 0
    block_out: int = 0


@dataclass(frozen=True)
class MetricSample:
    """The target's process tree at one moment (sums over its live processes)."""

    t: float
    """Seconds since the target started."""
    cpu_pct: float
    """CPU over the last interval; 100 is one core."""
    rss: int
    threads: int
    processes: int
    ctx_switches: int = 0
    """Cumulative voluntary + involuntary switches (vanished processes keep their last)."""
    read_bytes: int = 0
    write_bytes: int = 0


@dataclass(frozen=True)
class SystemMetrics:
    interval: float
    samples: tuple[MetricSample, ...] = ()
    cpu_mean_pct: float = 0.0
    cpu_max_pct: float = 0.0
    rss_start: int = 0
    rss_peak: int = 0
    rss_end: int = 0
    threads_max: int = 0
    processes_max: int = 0
    voluntary_switches: int = 0
    involuntary_switches: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    io_available: bool = False
    rusage: Rusage | None = None


@dataclass(frozen=True)
class AllocationSite:
    file: str
    path: str
    line: int
    size_bytes: int
    count: int
    code: str = ""


@dataclass(frozen=True)
class FunctionMemory:
    """tracemalloc figures for one targeted function, per call."""

    name: str
    file: str
    path: str
    line: int
    calls: int
    peak_bytes: int
    """Largest per-call peak (reset_peak at each entry)."""
    net_bytes: int
    """Bytes a call leaves allocated when it returns (its result included), averaged over
    calls; what stays alive to the end is in `sites`."""
    sites: tuple[AllocationSite, ...] = ()
    """Lines of the function whose allocations are still alive when the run ends."""


@dataclass(frozen=True)
class MemoryLine:
    """One line of memory-profiler's report for the `--memory-lines` function."""

    line: int
    mem_mib: float
    increment_mib: float
    occurrences: int
    code: str = ""


@dataclass(frozen=True)
class MemoryReport:
    peak_bytes: int = 0
    """tracemalloc peak of the whole run (Python allocations only)."""
    sites: tuple[AllocationSite, ...] = ()
    """Top allocation sites still alive when the run ends (user code first)."""
    functions: tuple[FunctionMemory, ...] = ()
    rss_start: int = 0
    rss_peak: int = 0
    rss_end: int = 0
    rss_slope: float = 0.0
    """Bytes per second, least squares over the monitor's samples."""
    rss_r2: float = 0.0
    """How straight the growth is (1.0: perfectly steady)."""
    leak_suspected: bool = False
    """Only when growth is steady (high r2), large and lasts most of the run."""
    line_function: str = ""
    line_report: tuple[MemoryLine, ...] = ()


@dataclass(frozen=True)
class CallStats:
    """One function of the calls pass: how often it ran, how long each call took (wall,
    inclusive of what it calls; a coroutine from its first step to its return), and what
    an `lru_cache` on it would have done with the arguments it was given."""

    name: str
    file: str
    path: str
    line: int
    is_async: bool = False
    calls: int = 0
    total_seconds: float = 0.0
    mean_seconds: float = 0.0
    p50_seconds: float = 0.0
    p95_seconds: float = 0.0
    p99_seconds: float = 0.0
    max_seconds: float = 0.0
    timed: int = 0
    """Durations the percentiles are computed from: every call, or a uniform reservoir of
    10,000 when there were more."""
    keyed_calls: int = 0
    """Calls whose arguments could be fingerprinted (hashable by value, or small JSON-like
    containers); the others (identity-hashed objects, big or opaque values) are left out
    of the hit rate."""
    distinct_args: int = 0
    """Distinct argument fingerprints among keyed_calls (an upper bound when
    `distinct_capped`: past the cap every untracked fingerprint counts as new, so the hit
    rate is then a lower bound)."""
    distinct_capped: bool = False
    hit_rate: float = 0.0
    """1 - distinct_args / keyed_calls: the share of calls an unbounded lru_cache would
    have answered without running the function (0 when no call was keyed)."""
    saving_seconds: float = 0.0
    """What those hits cost: hit_rate x total_seconds (the mean call as the price of a
    hit; the first call per argument, the miss, is paid either way)."""
    result_bytes: int = 0
    """Mean size of a result, following containers (sys.getsizeof of each object, shared
    ones once) up to 2,000 objects; `result_bytes_partial` when a result was larger (the
    figure is then a lower bound)."""
    result_bytes_partial: bool = False
    results_compared: int = 0
    """Repeated calls whose result was compared with the first result for the same
    arguments (a bounded sample)."""
    varies: bool = False
    """Some arguments gave different results on different calls (it reads something that
    changes, the time, a counter, random values): a cache would return stale answers."""


@dataclass(frozen=True)
class AwaitSite:
    """One awaited call site of a coroutine the calls pass wrapped: how often the
    coroutine suspended there and for how long, and what else was in flight meanwhile."""

    function: str
    file: str
    path: str
    line: int
    """The coroutine's def line."""
    await_line: int
    """The line the coroutine was suspended at (its `await`)."""
    code: str = ""
    awaits: int = 0
    """Awaits at this line that suspended (an await that completes at once never waits)."""
    suspensions: int = 0
    """Times the coroutine was suspended there (an await can suspend several times)."""
    total_seconds: float = 0.0
    """Wall time from each await's first suspension to its last resumption, summed."""
    mean_seconds: float = 0.0
    max_seconds: float = 0.0
    concurrency: float = 0.0
    """Mean number of calls of this coroutine in flight when it suspended here: 1.0 means
    its awaits ran one call at a time; more means calls overlapped (a caller gathers them)."""
    tasks: float = 0.0
    """Mean number of the program's asyncio tasks not done at those moments (this one
    included; 0 when no asyncio loop ran): other work that overlapped, such as a server's
    handlers or a background ticker."""


@dataclass(frozen=True)
class AwaitGroupTiming:
    """A group of awaits a scan flagged (sequential-awaits, await-in-loop), measured per
    call of its coroutine: gathered, the group would take about its longest item, so the
    saving is the sum of the items' await times minus the longest."""

    function: str
    file: str
    path: str
    line: int
    """The coroutine's def line."""
    rule: str
    """The static finding's rule (OPT102, OPT103)."""
    kind: str
    """sequence (consecutive awaits: an item is one await) | loop (an item is one
    iteration's awaits)."""
    at_line: int
    """Where the finding points: the first await of a sequence, the loop header."""
    calls: int = 0
    """Calls of the coroutine in which the group awaited at least once."""
    items: int = 0
    awaits: int = 0
    sum_seconds: float = 0.0
    """Sum over those calls of the items' await times."""
    max_seconds: float = 0.0
    """Sum over those calls of the longest item's await time."""
    saving_seconds: float = 0.0
    """sum_seconds - max_seconds: what gathering each call's items would save, at most."""
    saving_per_call_seconds: float = 0.0
    max_saving_seconds: float = 0.0
    """The largest saving in one call."""
    concurrency: float = 0.0
    """As AwaitSite.concurrency, over the group's awaits."""
    tasks: float = 0.0
    verdict: str = ""
    """serial (concurrency about 1: gathering saves `saving_seconds`) | concurrent (the
    calls already overlapped: gathering inside each saves little of the program's time) |
    not-run (the group never awaited)."""


@dataclass(frozen=True)
class IOCallStats:
    """Database or HTTP calls of one shape made from one user function, counted in the
    calls pass (`profile --calls`): the innermost user frame under the library's call is
    the caller. Shapes are normalised (SQL literals, numbers, parameters and IN lists as
    `?`; URL path segments that are numbers, uuids or hex ids as `{id}`, query values
    dropped), so one statement per item is one shape with many calls."""

    function: str
    """The calling user function's qualified name."""
    file: str
    path: str
    line: int
    """The calling function's def line."""
    call_line: int
    """The line of the caller that made most of these calls."""
    kind: str
    """db | http."""
    library: str
    """sqlite3, psycopg2, asyncpg, urllib, requests, httpx, aiohttp."""
    operation: str
    """The statement's first keyword (SELECT, INSERT many for executemany) or the HTTP
    method."""
    shape: str
    calls: int = 0
    total_seconds: float = 0.0
    """Wall time inside the library's call (a cursor's execute, an HTTP request until its
    response headers for urllib and aiohttp)."""
    mean_seconds: float = 0.0
    max_seconds: float = 0.0
    slow_calls: int = 0
    """Calls longer than SLOW_HTTP_SECONDS (0.5 s, Sentry's threshold for consecutive
    HTTP calls)."""
    sequential_slow_calls: int = 0
    """Of slow_calls, those that overlapped no other call of the same kind from the same
    function: waited for one after another."""
    overlapped_calls: int = 0
    """Calls that overlapped in time another call of the same kind from the same function
    (they ran concurrently: threads, asyncio tasks)."""
    spans_kept: int = 0
    """Calls whose start and end were kept for the overlap figures (the first 2,000)."""
    first_start_s: float = 0.0
    """When the first of these calls started, seconds from the pass's start."""
    parent: str = ""
    """The user function that called `function` for most of these calls (empty when it
    was called from no user code), with the line of that call: where a loop around a
    helper that makes one call per invocation is."""
    parent_path: str = ""
    parent_line: int = 0


@dataclass(frozen=True)
class GcGeneration:
    generation: int
    collections: int = 0
    pause_seconds: float = 0.0
    max_pause_seconds: float = 0.0
    collected: int = 0
    """Objects the collections of this generation freed."""


@dataclass(frozen=True)
class GcStats:
    """The cyclic garbage collector during the measuring pass (gc.callbacks)."""

    collections: int = 0
    pause_seconds: float = 0.0
    pause_pct: float = 0.0
    """pause_seconds over the script's own run time, in percent."""
    generations: tuple[GcGeneration, ...] = ()
    function: str = ""
    """The user function running when the most pause time started (its allocations set
    the collections off), with its file and line; empty when none was seen."""
    file: str = ""
    path: str = ""
    line: int = 0
    function_pause_seconds: float = 0.0


@dataclass(frozen=True)
class LagEvent:
    """One lag of the event loop over the threshold: a heartbeat that ran late."""

    start_s: float
    """When the beat was due, seconds from the script's start (perf_counter)."""
    end_s: float
    """When it ran."""
    lag_ms: float
    function: str = ""
    """The user function the loop thread was in while the beat waited (empty when no
    user frame was seen: the loop itself, a library, or a descheduled process)."""
    file: str = ""
    path: str = ""
    line: int = 0
    """The line it was running (not its def line)."""


@dataclass(frozen=True)
class LoopLag:
    """Event-loop lag measured in the sampling pass: a heartbeat every `interval_ms` on
    each running asyncio loop; a beat later than `threshold_ms` is a lag."""

    beats: int = 0
    interval_ms: float = 0.0
    threshold_ms: float = 0.0
    lags: int = 0
    """Beats later than the threshold."""
    max_lag_ms: float = 0.0
    total_lag_ms: float = 0.0
    """Sum of the lags over the threshold."""
    worst: tuple[LagEvent, ...] = ()
    """The longest lags (at most 20), longest first."""
    function: str = ""
    """The user function that held the loop in the most lags (then the most lag time),
    with its def line; empty when no lag was attributed."""
    file: str = ""
    path: str = ""
    line: int = 0
    blocker_lags: int = 0
    blocker_lag_ms: float = 0.0
    timeline: tuple[tuple[float, float], ...] = ()
    """(start_s, lag_ms) of every lag over the threshold in the order they happened (the
    first 2,000): the HTML report's lag timeline. Empty in runs saved before it was kept."""


@dataclass(frozen=True)
class PassRecord:
    name: str
    """sample | trace | lines | calls | memory | memory-lines."""
    status: str
    """ok | failed | skipped."""
    wall_seconds: float = 0.0
    overhead: float = 0.0
    """This pass's wall time over the plain run's (0 when there is no baseline)."""
    note: str = ""


@dataclass(frozen=True)
class RunError:
    kind: str
    """sampler-unavailable, attach-failed, sampler-failed, parse-error, target-failed,
    timeout, leftover-process, pass-failed, …"""
    message: str
    pass_name: str = ""


@dataclass(frozen=True)
class StackSample:
    """One folded call stack of the sampling pass (a flamegraph's input), root first."""

    frames: tuple[str, ...]
    """`name (path:line)` per frame; paths relative to the run's root, library code as
    `<stdlib>/json/decoder.py` or `<site-packages>/pkg/mod.py`: no absolute paths."""
    samples: int
    idle: int = 0
    """Of `samples`, those taken while the thread was waiting."""


@dataclass(frozen=True)
class RepeatFunction:
    """One function's time in one run of `profile --repeat` (sampled or traced)."""

    name: str
    file: str
    path: str
    line: int
    user: bool
    self_seconds: float
    total_seconds: float


@dataclass(frozen=True)
class RepeatCall:
    """One function's figures in one calls pass of `profile --calls --repeat`."""

    name: str
    file: str
    path: str
    line: int
    calls: int
    total_seconds: float
    mean_seconds: float
    """Wall time per call, inclusive: what compare tests across runs."""
    p95_seconds: float = 0.0
    """0 in runs saved before it was kept (compare then tests the mean alone)."""


@dataclass(frozen=True)
class RepeatRun:
    """What one of the N runs of `profile --repeat N` measured: the figures `compare`
    tests for significance (the run's full detail is kept only for the representative
    run, the one with the median wall time)."""

    wall_seconds: float
    cpu_seconds: float = 0.0
    script_seconds: float = 0.0
    rss_peak: int = 0
    status: str = "ok"
    """The run's outcome status; only `ok` runs enter the distributions."""
    functions: tuple[RepeatFunction, ...] = ()
    """Every function sampled in this run (at most REPEAT_FUNCTIONS, heaviest first); one
    missing from a run took no measurable time in it."""
    calls: tuple[RepeatCall, ...] = ()
    """This run's calls pass (`--calls`), empty without it."""


@dataclass(frozen=True)
class ProfileRun:
    command: tuple[str, ...]
    """argv the target ran with: interpreter, script, arguments."""
    script: str
    args: tuple[str, ...]
    cwd: str
    root: str
    """What `path` fields are relative to."""
    mode: str
    """sample | trace."""
    environment: RunEnvironment
    outcome: RunOutcome
    wall_seconds: float
    """From the script's release to the process's exit (interpreter shutdown included)."""
    cpu_seconds: float = 0.0
    """User + system CPU of the target and its waited-for children (wait4)."""
    script_seconds: float = 0.0
    """The script alone: its first line to its last (0 when it was killed)."""
    created: str = ""
    """ISO 8601 UTC time the run started."""
    samples: SampleSummary | None = None
    functions: tuple[HotFunction, ...] = ()
    """Ranked by total time, heaviest first."""
    lines: tuple[HotLine, ...] = ()
    """Ranked by self time, heaviest first."""
    line_timings: tuple[TimedFunction, ...] = ()
    metrics: SystemMetrics | None = None
    memory: MemoryReport | None = None
    passes: tuple[PassRecord, ...] = ()
    errors: tuple[RunError, ...] = ()
    notes: tuple[str, ...] = ()
    tool_version: str = ""
    stacks: tuple[StackSample, ...] = ()
    """The heaviest folded stacks (at most 2,000; lighter branches merged into their
    callers), heaviest first; empty in trace mode and in runs saved before they existed."""
    calls: tuple[CallStats, ...] = ()
    """The calls pass (`--calls`): per targeted function, heaviest total first; empty
    when it did not run and in runs saved before it existed."""
    gc: GcStats | None = None
    """Garbage collection during the measuring pass (None in runs saved before it was
    measured, and when the target gave no figures)."""
    loop_lag: LoopLag | None = None
    """Event-loop lag in the sampling pass: None when the program ran no asyncio loop
    (or in trace mode, and in runs saved before it was measured)."""
    repeats: tuple[RepeatRun, ...] = ()
    """`profile --repeat N` (N ≥ 2): each run's totals and function times, in the order
    they ran; the rest of the run is the representative run's. Empty with one run and in
    runs saved before it existed."""

    await_sites: tuple[AwaitSite, ...] = ()
    """The calls pass: where the wrapped coroutines were suspended, heaviest first (empty
    without coroutines, and in runs saved before it was measured)."""
    await_groups: tuple[AwaitGroupTiming, ...] = ()
    """The calls pass with `--findings`: the flagged await groups measured per call."""

    io_calls: tuple[IOCallStats, ...] = ()
    """The calls pass's database and HTTP calls per (calling user function, shape), most
    calls first; empty when the pass did not run, the program made none, and in runs
    saved before they were counted."""

    def ok_repeats(self) -> tuple[RepeatRun, ...]:
        """The repeated runs that ended normally: the ones a distribution is made of."""
        return tuple(r for r in self.repeats if r.status == "ok")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema_version": PROFILE_RUN_SCHEMA_VERSION,
                               "kind": PROFILE_RUN_KIND}
        out.update(_plain(self))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileRun:
        """Raises ValueError for a document that is not a profile run this code can read."""
        if not isinstance(data, Mapping) or data.get("kind") != PROFILE_RUN_KIND:
            raise ValueError("not an optadvisor profile run (kind is not 'profile-run')")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > PROFILE_RUN_SCHEMA_VERSION:
            raise ValueError(f"profile run schema_version {version!r} is not supported "
                             f"(this optadvisor reads up to {PROFILE_RUN_SCHEMA_VERSION})")
        return _build(cls, data)

    def user_functions(self) -> tuple[HotFunction, ...]:
        return tuple(f for f in self.functions if f.user)

    def ranked_user_functions(self) -> tuple[HotFunction, ...]:
        """User functions by the time charged to them (own + library time they call),
        heaviest first, `<module>` left out: "which of my functions costs the most". Waiting
        counts half as much as busy time: a parent idle in `Popen.wait` for the whole run is
        charged all of it, yet the work is in the children it waits for (waiting has its
        own rule, io-wait) — but one busy sample in a helper must not outrank a function
        that waits for nearly the whole run (a loaded machine gives such strays)."""
        found = [f for f in self.functions if f.user and f.name != "<module>"]

        def charged(f: HotFunction) -> float:
            return f.user_self_pct or f.self_pct

        def weight(f: HotFunction) -> float:
            waiting = min(charged(f), f.idle_pct)
            return charged(f) - waiting + WAITING_WEIGHT * waiting

        found.sort(key=lambda f: (-weight(f), -charged(f), -f.total_pct, f.name))
        return tuple(found)


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    """The inverse of _plain for the profile dataclasses: unknown keys are ignored (newer
    writers), missing ones take their defaults (older writers)."""
    import typing

    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"malformed {cls.__name__}: {exc}") from None


def _convert(tp: Any, value: Any) -> Any:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner[0], value)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v) for v in value or ())
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ValueError(f"malformed {tp.__name__}: expected an object")
        return _build(tp, value)
    if tp is float and isinstance(value, int):
        return float(value)
    return value


# =========================================================================== comparisons
# What `optadvisor compare` found between two saved results: two ProfileRuns or two scan
# reports. Per-function and total deltas, findings that came or went, and the regressions
# that make the comparison fail in CI. `*_pct` fields are percent (12.5 is +12.5 %);
# `max_regression` is a fraction (0.1 for 10 %), as `--max-regression 10%` parses.

COMPARISON_SCHEMA_VERSION = 1
COMPARISON_KIND = "comparison"


@dataclass(frozen=True)
class ComparedFile:
    """One side of a comparison: the file it came from and what that file held."""

    file: str
    kind: str
    """profile-run | scan."""
    label: str
    """A run's command (script and arguments); a scan's root."""
    created: str = ""
    tool_version: str = ""
    status: str = ""
    """A run's outcome status (ok, exit-nonzero, exception, signal, timeout, stopped); `` for a scan."""
    problem: str = ""
    """Why a run did not end normally, in words; `` when it did."""
    runs: int = 1
    """A run's repeated runs that ended normally (`profile --repeat N`); 1 without
    repeats, 0 for a scan."""

    @property
    def ok(self) -> bool:
        return self.status in ("", "ok")


@dataclass(frozen=True)
class Significance:
    """Whether one figure really changed between two sets of repeated runs: a bootstrap
    interval of median(after) − median(before) (optadvisor/significance.py). `before`
    and `after` of the delta it belongs to are then the medians."""

    runs_before: int
    runs_after: int
    tested: bool = False
    """Both sides had enough runs (significance.MIN_RUNS) for a test."""
    significant: bool = False
    """The interval excludes zero: the change is real at `confidence`."""
    low: float | None = None
    """The interval of the difference of medians, in the figure's unit (None untested)."""
    high: float | None = None
    confidence: float = 0.95
    before_min: float | None = None
    """The spread of each side's runs."""
    before_max: float | None = None
    after_min: float | None = None
    after_max: float | None = None


@dataclass(frozen=True)
class MetricDelta:
    """One total: wall/CPU/script seconds and peak RSS of runs; files, lines, functions,
    recommendations and errors of scans."""

    name: str
    label: str
    unit: str
    """s | bytes | count."""
    before: float | None
    """None when that side did not measure it (no monitor, killed before the end)."""
    after: float | None
    delta: float | None = None
    delta_pct: float | None = None
    """Relative change in percent; None unless `before` is a non-zero figure."""
    gated: bool = False
    """Can fail the comparison (wall, CPU, peak RSS; the number of recommendations)."""
    regression: bool = False
    significance: Significance | None = None
    """With repeated runs on either side (`profile --repeat`): the test of this change."""


@dataclass(frozen=True)
class FunctionDelta:
    """One function of two runs, matched by (path, name)."""

    name: str
    path: str
    """As the runs report it; library code as `<stdlib>/json/decoder.py` or
    `<site-packages>/pkg/mod.py`, so runs made by different interpreters still match."""
    line: int
    user: bool
    status: str
    """new | gone | changed (in both runs, whether or not its time moved)."""
    before_self: float = 0.0
    after_self: float = 0.0
    before_total: float = 0.0
    after_total: float = 0.0
    delta_seconds: float = 0.0
    """after_total - before_total."""
    delta_pct: float | None = None
    """Of before_total; None when the function had no time before."""
    before_share: float = 0.0
    """before_total as a percentage of the before run's wall time."""
    after_share: float = 0.0
    significant: bool = False
    """Takes at least the significance share (5 %) of either run's wall time: only
    significant functions can fail a comparison, so noise on tiny ones never does."""
    findings: tuple[str, ...] = ()
    """Rules a scan found in this function (`compare --findings SCAN.json`, the scan made
    before `scan --fix`): the functions whose measured delta is the fix's effect."""
    regression: bool = False
    significance: Significance | None = None
    """With repeated runs (`profile --repeat`): the test of its total time's change, for
    significant (≥ 5 %) functions; the totals are then medians."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.name)

    @property
    def self_delta(self) -> float:
        return self.after_self - self.before_self


@dataclass(frozen=True)
class CallDelta:
    """One function of both runs' calls passes (`profile --calls`), matched by path and
    name: how often it ran and its wall time per call (inclusive: what its callers wait).
    With repeated runs the figures are medians over the runs; report only, never a
    regression (a per-call time is the least stable figure of a run)."""

    name: str
    path: str
    line: int
    status: str
    """new | gone | changed (timed in both runs, whether or not its time moved)."""
    is_async: bool = False
    before_calls: int = 0
    after_calls: int = 0
    before_mean: float = 0.0
    """Seconds per call."""
    after_mean: float = 0.0
    before_p95: float = 0.0
    after_p95: float = 0.0
    before_total: float = 0.0
    after_total: float = 0.0
    mean_delta_pct: float | None = None
    """Of before_mean; None when it was not timed before."""
    p95_delta_pct: float | None = None
    mean_significance: Significance | None = None
    """With repeated runs on either side: the test of the change of the mean per call."""
    p95_significance: Significance | None = None
    """The same for the 95th percentile (None also when a side's runs did not keep it)."""


@dataclass(frozen=True)
class FindingDelta:
    """A recommendation of one scan without a match (by fingerprint) in the other."""

    status: str
    """new (only in the after scan) | fixed (only in the before scan)."""
    rule: str
    kind: str
    priority: str
    score: int
    path: str
    line: int
    symbol: str
    component: str
    message: str
    fingerprint: str


@dataclass(frozen=True)
class CountDelta:
    group: str
    """priority | kind."""
    name: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class Regression:
    """Why a comparison fails: one rule broken by one subject."""

    rule: str
    """wall-time | cpu-time | peak-rss | function-time | recommendation-growth |
    severe-recommendation."""
    subject: str
    """`wall time`, a function name, a rule id and location."""
    message: str
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class Comparison:
    kind: str
    """profile-run | scan: what both files are."""
    before: ComparedFile
    after: ComparedFile
    max_regression: float | None = None
    """A fraction; None reports the deltas and never fails."""
    totals: tuple[MetricDelta, ...] = ()
    functions: tuple[FunctionDelta, ...] = ()
    """User functions first, each group by |delta_seconds|, largest first."""
    calls: tuple[CallDelta, ...] = ()
    """Two runs with a calls pass each: per timed function, by the change of its total
    time, largest first; empty otherwise."""
    findings: tuple[FindingDelta, ...] = ()
    """New ones, then fixed ones, each by priority."""
    unchanged: int = 0
    """Recommendations present in both scans."""
    counts: tuple[CountDelta, ...] = ()
    criteria: tuple[str, ...] = ()
    """What counts as a regression in this comparison, in words (renderers print them)."""
    regressions: tuple[Regression, ...] = ()
    notes: tuple[str, ...] = ()
    """Things the reader must know: a run that did not finish, different scripts, …"""
    tool_version: str = ""

    @property
    def exit_code(self) -> int:
        """1 when a regression goes beyond max_regression, else 0."""
        return int(self.max_regression is not None and bool(self.regressions))

    def to_dict(self) -> dict[str, Any]:
        # `kind` names the document, as in a saved profile run; what is compared is
        # `comparing`.
        fields = _plain(self)
        fields["comparing"] = fields.pop("kind")
        return {"schema_version": COMPARISON_SCHEMA_VERSION, "kind": COMPARISON_KIND,
                **fields, "exit_code": self.exit_code}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """Raises ValueError for a document that is not a comparison this code can read."""
        if not isinstance(data, Mapping) or data.get("kind") != COMPARISON_KIND:
            raise ValueError("not an optadvisor comparison (kind is not 'comparison')")
        version = data.get("schema_version")
        if not isinstance(version, int) or version > COMPARISON_SCHEMA_VERSION:
            raise ValueError(f"comparison schema_version {version!r} is not supported "
                             f"(this optadvisor reads up to {COMPARISON_SCHEMA_VERSION})")
        fields = dict(data)
        fields["kind"] = fields.pop("comparing", "")
        return _build(cls, fields)
