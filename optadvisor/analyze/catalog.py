"""The API catalog (rules/data/apis.toml plus user catalogs) compiled into fast lookups.

A name is looked up once per call site, so matching must cost a few dict probes: exact
names in one dict, `prefix.*` patterns in another probed with each dotted prefix of the
name, `*.last` patterns by the name's last part, and `prefix.**.last` patterns (a builder
chain of any length that a last method sends) by the last part, then the prefix.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Iterable, Sequence, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from optadvisor.inputs import InputError, load_data_toml
from optadvisor.resources import rules_dir

T = TypeVar("T")

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def name_words(name: str) -> list[str]:
    """`_get_or_create_table` -> get, or, create, table; `userId` -> user, id (lower case):
    what the catalog's word lists (`[effects]`, `[caches]`) are matched against."""
    return [word.lower() for word in _WORDS.findall(name)]


SDK_RESOURCES = frozenset({
    "completions", "messages", "embeddings", "responses", "images", "speech",
    "transcriptions", "translations", "moderations", "chat", "models"})
"""Resources of LLM SDK clients (`client.chat.completions.create`): a call on one is one
request that computes an answer, whatever its verb says (`create` here changes nothing)."""


DJANGO_ASYNC = frozenset({
    "aget", "afirst", "alast", "acount", "aexists", "acreate", "aupdate", "adelete",
    "aget_or_create", "aupdate_or_create", "abulk_create", "abulk_update", "ain_bulk",
    "aearliest", "alatest", "acontains", "aaggregate", "aiterator", "aexplain"})
DJANGO_INSTANCE = frozenset({"asave", "adelete", "arefresh_from_db"})
"""Django's async ORM (queryset methods after `objects`, model instance methods): each call
runs through sync_to_async(thread_sensitive=True), one at a time on one thread."""


def django_orm(parts: Sequence[str]) -> bool:
    """The parts of a call's name (`Model`, `objects`, `filter()`, `afirst()`) name a Django
    async ORM call: a queryset method after `objects`, or a model instance's `asave`…"""
    names = [part.rstrip("()") for part in parts]
    return bool(names) and (names[-1] in DJANGO_INSTANCE or (
        names[-1] in DJANGO_ASYNC and "objects" in names[:-1]))


class CatalogError(Exception):
    """A catalog file that cannot be used; names the file."""


@dataclass
class NameTable(Generic[T]):
    exact: dict[str, T] = field(default_factory=dict)
    prefix: dict[str, T] = field(default_factory=dict)
    suffix: dict[str, T] = field(default_factory=dict)
    chains: dict[str, list[tuple[str, T]]] = field(default_factory=dict)
    """`prefix.**.last`, by last part: a query builder's chain (`supabase.Client.table().**.
    execute`: `.table("t").select("*").eq("id", 1).execute()`) sends only at its last
    method, whatever builder calls come between."""

    def add(self, pattern: str, value: T) -> None:
        self._tails = None
        if ".**." in pattern:
            head, last = pattern.split(".**.", 1)
            self.chains.setdefault(last, []).append((head + ".", value))
        elif pattern.endswith(".*"):
            self.prefix[pattern[:-2]] = value
        elif pattern.startswith("*."):
            self.suffix[pattern[2:]] = value
        else:
            self.exact[pattern] = value

    _tails: frozenset[str] | None = field(default=None, init=False, repr=False,
                                          compare=False)

    def may_end(self, last: str) -> bool:
        """Whether some pattern can match a name whose last part is `last`: a set lookup
        that spares most calls the join and lookups of `get` (always True with a
        `prefix.*` pattern, which any last part may follow)."""
        if self.prefix:
            return True
        if self._tails is None:
            self._tails = frozenset([*(name.rsplit(".", 1)[-1] for name in self.exact),
                                     *self.suffix, *self.chains])
        return last in self._tails

    def get(self, name: str, suffixes: bool = True) -> T | None:
        """`suffixes=False` leaves out the `*.tail` patterns, which only hold for calls whose
        receiver is unknown (a bare `.execute` on something): a name resolved to a project
        object (`Agent.execute`) must not take them."""
        if not name:
            return None
        hit = self.exact.get(name)
        if hit is not None:
            return hit
        if self.chains:
            dot = name.rfind(".")
            for head, value in self.chains.get(name[dot + 1:], ()):
                if name.startswith(head) and len(head) <= dot:
                    return value
        if self.prefix:
            # A prefix never reaches past a call on an instance: `requests.Session.*` is
            # every Session method, not `requests.Session.get().json` (see names.py).
            floor = name.rfind("()") + 1
            cut = name.rfind(".")
            while cut > floor:
                hit = self.prefix.get(name[:cut])
                if hit is not None:
                    return hit
                cut = name.rfind(".", 0, cut)
        if self.suffix and suffixes:
            return self.suffix.get(name[name.rfind(".") + 1:])
        return None


@dataclass(frozen=True)
class Blocking:
    category: str
    instead: str
    quick: frozenset[str] = frozenset()
    """Last names of its calls that answer in milliseconds (`quick = [...]`: a Docker
    lookup, not a pull): blocking, but ranked one level down."""
    bulk: frozenset[str] = frozenset()
    """Last names of its calls whose work grows with the data, not with the call (`bulk =
    [...]`: a directory walk, a tree copied or removed, an archive, an array or a table
    file read whole): the file work worth a thread even when it runs once."""
    lazy: frozenset[str] = frozenset()
    """Last names of its calls that only build what a later method sends (`lazy =
    ["query"]`: SQLAlchemy's `session.query(M)` runs no SQL until `.all()`): in the receiver
    chain of a method handed to a thread, they send nothing on the loop."""
    quick_commands: frozenset[str] = frozenset()
    """Commands a subprocess call of this entry runs that return within a fraction of a
    second (`quick_commands = ["pgrep", "docker inspect"]`: a program, or a program and
    its subcommand): blocking, but ranked one level down (held-out S38: cua's sandbox
    runtimes, 30 `docker pause`/`inspect`/`ps`, `pgrep`, `pkill` read as ranked too high)."""


@dataclass(frozen=True)
class Batch:
    instead: str
    sql: bool
    """The call runs a SQL statement: only a literal INSERT/UPDATE/DELETE (executemany) or a
    SELECT by one key (`IN (...)`) has a batch form the advice can name."""


@dataclass(frozen=True)
class Timeout:
    default: str  # "none" | "finite"
    param: str
    position: int | None


@dataclass
class Catalog:
    blocking: NameTable[Blocking] = field(default_factory=NameTable)
    clients: NameTable[str] = field(default_factory=NameTable)
    timeouts: NameTable[Timeout] = field(default_factory=NameTable)
    offload: NameTable[bool] = field(default_factory=NameTable)
    gil_bound: NameTable[bool] = field(default_factory=NameTable)
    """Callables that hold the GIL while they work (`base64.b64encode`): handed to threads
    one per item, they run one at a time all the same."""
    memoize: NameTable[bool] = field(default_factory=NameTable)
    loaders: NameTable[str] = field(default_factory=NameTable)
    loader_needs: NameTable[str] = field(default_factory=NameTable)
    """A keyword a loader loads nothing without (`jinja2.Environment`: `loader=`; without
    one, building it costs microseconds and caching it saves nothing)."""
    batch: NameTable[Batch] = field(default_factory=NameTable)
    """Calls with a batch form (`embeddings.create(input=[...])`, `mget`, `executemany`)."""
    batch_tails: frozenset[str] = frozenset()
    not_blocking: NameTable[bool] = field(default_factory=NameTable)
    async_io: NameTable[bool] = field(default_factory=NameTable)
    """Async I/O entry points that are no client method (`aiosqlite.connect`,
    `aiofiles.open`): a coroutine that calls one does I/O worth overlapping."""
    async_files: NameTable[bool] = field(default_factory=NameTable)
    """`[async_io] files`: async entry points to local files (`aiofiles.open`): I/O, but a
    disk answers in microseconds to a millisecond, so overlapping them gains little."""
    io_words: frozenset[str] = frozenset()
    """Words of a method name that say it goes out for data (`search`, `fetch`, `embed`):
    evidence of I/O for a call through an object the project cannot resolve."""
    """Calls a blocking wildcard would match that do no I/O worth moving off the loop
    (`client.close()`, `client.with_options(...)`)."""
    setup_functions: frozenset[str] = frozenset()
    keeper_functions: frozenset[str] = frozenset()
    """`[handles] keepers`: functions that keep the client they are handed for the whole
    process (`agents.set_default_openai_client(client)`), by full or last name."""
    config_reads: frozenset[str] = frozenset()
    """`[handles] config_reads`: attributes and methods of a client object that only read
    local configuration (`boto3.Session().region_name`, `.get_credentials()`): a client
    used for nothing else sends nothing."""
    client_makers: frozenset[str] = frozenset()
    """`[handles] makers`: methods of a session that make the client that sends
    (`session.client("s3")`): a session used only for them sends nothing itself."""
    handle_methods: frozenset[str] = frozenset()
    """`[handles] methods`: methods of a client that return an object keeping that client
    (`storage_client.get_bucket(name)`, `mongo.get_database(name)`): a function that
    returns one hands the client out with it."""
    teardown_functions: frozenset[str] = frozenset()
    """`[setup] teardown`: names of functions that end an object's or the process's life
    (`shutdown`, `aclose`, `__aexit__`): they run once per object, as it ends."""
    connections: frozenset[str] = frozenset()
    """Calls whose result is a connection, session or transaction that runs one operation
    at a time (`acquire`, `begin`, `cursor`, `mcp.ClientSession`): by the called name's
    last part, or the full name of a class called bare."""
    guard_words: frozenset[str] = frozenset()
    """First words of the names of checks that raise to stop what follows them (`check`,
    `verify`, `ensure`, `judge`): the awaits after one wait for it."""
    handle_names: frozenset[str] = frozenset()
    """Words of a local's name that, bound by a `with` item, say the object is a connection,
    session or transaction (`async with self._db.read() as session`)."""
    setup_words: frozenset[str] = frozenset()
    """First words of function names that run once per object or session
    (`_setup_stream`, `start_call`, `connect`): not per request."""
    setup_checks: frozenset[str] = frozenset()
    """Of those, the verbs of a check (`check`, `validate`, ...): once only when what they
    check is a credential or an endpoint (`setup_checked`), not a report's status."""
    setup_checked: frozenset[str] = frozenset()
    """Second words that make a check one of a credential or an endpoint (`check_api_key`,
    `verify_token`, `test_connection`)."""
    long_call_words: frozenset[str] = frozenset()
    """`[long_calls] words`: words of a client method that takes seconds (`images.generate`,
    `chat.completions.create`, `invoke_agent`): a client built for one such call costs
    little next to it."""
    debug_words: frozenset[str] = frozenset()
    """`[setup] debug`: words of a flag whose `if` body runs only when someone debugs
    (`if settings.DEBUG:`, `if self.verbose:`): work there is rare (CallFact.rare)."""
    once_caller_words: frozenset[str] = frozenset()
    """`[setup] once_callers`: first words of the names of functions that start or end an
    object's, a connection's or the process's life (`connect`, `start`, `close`): what only
    they call runs once per object (link.py's runs_once)."""
    loop_handlers: frozenset[str] = frozenset()
    """`[async_io] loop_handlers`: web handler classes whose plain `def` methods (of
    `loop_handler_methods`) the framework runs on its event loop's thread (Tornado)."""
    loop_handler_methods: frozenset[str] = frozenset()
    """`[async_io] loop_handler_methods`: the methods of a loop handler the framework calls
    per request or message (`get`, `post`, `on_message`, `prepare`)."""
    loop_decorators: frozenset[str] = frozenset()
    """`[async_io] loop_decorators`: decorators that register a plain `def` the framework
    calls on its event loop's thread (the MCP SDK's `FastMCP.tool`)."""
    plain_receivers: frozenset[str] = frozenset()
    """`[async_io] plain_receivers`: receiver names whose methods the `[async_io] words` do
    not make requests of (`ctx.request_info`, `state.query`)."""
    once_caller_verbs: frozenset[str] = frozenset()
    """`[setup] once_caller_verbs`: of once_callers, verbs that also start or end one unit
    of work (`start_security_scan`, `stop_job`): they say a life begins or ends only alone
    (`start`) or before one of `lifecycle_objects` (`start_server`, `stop_worker`)."""
    lifecycle_objects: frozenset[str] = frozenset()
    """`[setup] lifecycle_objects`: what lives as long as the process or an object (a
    server, a worker, a client, a pool)."""
    setup_decorators: frozenset[str] = frozenset()
    """Last names of decorators whose function runs once per object (pydantic's
    `model_validator`, `root_validator`): a client it builds is stored, not per call."""
    memo_words: frozenset[str] = frozenset()
    """Last names of decorators that memoize whatever module defines them (`@cached`, a
    project's own per-loop client cache; `@cache.memoize()`)."""
    login_modules: frozenset[str] = frozenset()
    """Words of module names whose functions serve a login flow (`oauth.py`,
    `login_claims_capture.py`, `oidc_multi.py`)."""
    request_checks: frozenset[str] = frozenset()
    """Words of a function's name that say it checks each request's credential or retries a
    request after renewing it (`verify`, `validate`, `introspect`, `retry`): per request
    even in a login module or with `auth` in the name."""
    admin_words: frozenset[str] = frozenset()
    """Words of a function's name or decorators that make it an operator's action
    (`@admin_router.post`): it runs when an admin changes a setting, not per user request."""
    login_words: frozenset[str] = frozenset()
    """Words of function names that run once per user login or account link (`auth`,
    `oauth`, `login`, `signin`: `notion_auth_callback`), routes included."""
    renewed_words: frozenset[str] = frozenset()
    """What a `refresh_*` function renews once per its lifetime, not per request (`token`,
    `credentials`: `refresh_dropbox_token`): a login path too."""
    setup_classes: frozenset[str] = frozenset()
    """Parts of class names (lower case) whose methods run once per login or session
    (`GitHubOAuthProvider.get_token`): not per request."""
    ordered_methods: frozenset[str] = frozenset()
    """Methods whose calls on one shared object keep their order (`add_message`, `put`,
    `send`, `execute`): awaited once per item, they tie the iterations together."""
    teardown_methods: frozenset[str] = frozenset()
    """Methods that end an object's life (`aclose`, `cleanup`, `disconnect`): awaited once
    per item, they run at teardown, in an order and a task that may matter."""
    pacing_words: frozenset[str] = frozenset()
    """`[ordered] pacing`: words (or phrases, words joined by spaces) of a call's or its
    receiver's name that say it waits for a rate limit (`_pace`, `rate_limiter.acquire`)."""
    loader_tails: frozenset[str] = frozenset()
    """Last parts of loader names (`read_text`, `safe_load`): the visitor records what a
    call reads only for calls that may be loaders."""
    unbounded_keys: frozenset[str] = frozenset()
    """Name parts that mark a cache key as unbounded (`session`, `user`, `prompt`, `sql`)."""
    effect_verbs: frozenset[str] = frozenset()
    """Words in a callee's name that say it changes state (`create`, `save`, `connect`):
    such calls keep their order, so they are not gathered."""
    bounded_keys: frozenset[str] = frozenset()
    """Name parts that mark a key as one of a few (`model`, `cls`, `server`, `agent`)."""
    concurrent_reads: frozenset[str] = frozenset()
    """Methods (the part after the client class: `get`, `chat.completions.create`) that one
    HTTP or LLM client serves concurrently, each an independent request."""
    digest: str = ""

    def once_caller(self, name: str) -> bool:
        """A function whose name says it starts or ends the life of an object, a connection
        or the process (`connect`, `close`, `start_worker`; not `start_security_scan`:
        held-out Y, awslabs/mcp's scans taken for start-up code)."""
        words = name_words(name)
        if not words or words[0] not in self.once_caller_words:
            return False
        if words[0] not in self.once_caller_verbs:
            return True
        rest = [w for w in words[1:] if w not in _FILLERS]
        return not rest or rest[0] in self.lifecycle_objects

    _roots: frozenset[str] | None = field(default=None, init=False, repr=False,
                                          compare=False)

    def module_roots(self) -> frozenset[str]:
        """Top-level module names the catalog's blocking calls, clients and timeouts live
        under (`requests`, `httpx`, `boto3`), and the standard library's; not builtins."""
        if self._roots is None:
            names = [*self.blocking.exact, *self.blocking.prefix, *self.clients.exact,
                     *self.clients.prefix, *self.timeouts.exact, *self.timeouts.prefix,
                     *(head for heads in self.blocking.chains.values() for head, _ in heads)]
            # Builtins (`open`, `input`) are bound in every module.
            self._roots = frozenset({name.split(".", 1)[0] for name in names} |
                                    set(sys.stdlib_module_names)) - set(dir(builtins))
        return self._roots

    def tears_down(self, method: str) -> bool:
        """`cleanup`, `aclose`, `close_session`, `__aexit__`: a call that ends an object's
        life, by the first word of its name (`[ordered] teardown`)."""
        words = name_words(method.rstrip("()"))
        return bool(words) and words[0] in self.teardown_methods

    def sends_nothing(self, name: str) -> bool:
        """A call a blocking wildcard matches (`mistralai.Mistral.*`) that makes no request
        of its own: one the catalog lists as local (`[not_blocking]`: `client.close()`,
        `get_paginator`), or the async twin a sync SDK client carries under an `_async`
        name (`client.files.upload_async(...)`, Speakeasy-generated SDKs: mistralai,
        unstructured-client): it returns a coroutine, awaited wherever it goes (held-out
        S39: airweave hands `lambda: client.ocr.process_async(...)` to a retry helper that
        awaits it)."""
        if self.not_blocking.get(name) is not None:
            return True
        last = name.rsplit(".", 1)[-1].rstrip("()")
        return last.endswith("_async") or last.startswith("async_")

    def paces(self, chain: Sequence[str]) -> bool:
        """`await self._pace()`, `await self._respect_rate_limit()`, `await
        self.rate_limiter.acquire()`: the call, or the object it is made on, is named for
        waiting out a rate limit (`[ordered] pacing`), by its last two names."""
        for part in chain[-2:]:
            words = name_words(part.rstrip("()"))
            if not words:
                continue
            joined = " " + " ".join(words) + " "
            if any(" " + phrase + " " in joined for phrase in self.pacing_words):
                return True
        return False

    def guards(self, method: str) -> bool:
        """`ajudge_qa_knowledge_view`, `check_permission`, `ensure_owner`: a check that
        raises to stop what follows it, by the first word of its name (`a` before a verb
        of the list reads as the async twin's prefix; `[ordered] guards`)."""
        words = name_words(method.rstrip("()"))
        return bool(words) and (words[0] in self.guard_words or (
            words[0].startswith("a") and words[0][1:] in self.guard_words))

    def once_named(self, words: list[str]) -> bool:
        """A function whose name's words say it runs once per object or session. A leading
        `async`/`sync` names the flavour, not the work (`_async_initialize`; held-out
        S29b: bisheng's OpenFGA start-up hook)."""
        if len(words) > 1 and words[0] in ("async", "sync"):
            words = words[1:]
        if not words or words[0] not in self.setup_words:
            return False
        if words[0] not in self.setup_checks:
            return True
        what = [w for w in words[1:] if w not in _FILLERS]  # `check_for_update`
        return bool(what) and what[0] in self.setup_checked


def default_catalog_files() -> list[Path]:
    return sorted((rules_dir() / "data").glob("*.toml"))


def load_catalog(extra: tuple[Path, ...] | list[Path] = ()) -> Catalog:
    files = [*default_catalog_files(), *extra]
    catalog = Catalog()
    words: dict[str, set[str]] = {attr: set() for _, _, attr in _WORD_LISTS}
    aliases: dict[str, str] = {}
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        try:
            raw, data = load_data_toml(path)
        except InputError as exc:
            where = f"{path}:{exc.line}" if exc.line else str(path)
            raise CatalogError(f"{where}: cannot read catalog: {exc.detail}") from None
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{path}: invalid TOML: {exc}") from exc
        digest.update(raw)
        _merge(catalog, data, path, words)
        aliases.update(_aliases(data, path))
    for attr, values in words.items():
        setattr(catalog, attr, frozenset(values))
    _alias_modules(catalog, aliases)
    loaders = [*catalog.loaders.exact, *catalog.loaders.prefix, *catalog.loaders.suffix]
    catalog.loader_tails = frozenset(name.rsplit(".", 1)[-1] for name in loaders)
    batched = [*catalog.batch.exact, *catalog.batch.prefix, *catalog.batch.suffix]
    catalog.batch_tails = frozenset(name.rsplit(".", 1)[-1] for name in batched)
    catalog.digest = digest.hexdigest()
    return catalog


def _names(entry: Any, path: Path, section: str) -> list[str]:
    names = entry.get("names") if isinstance(entry, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise CatalogError(f"{path}: every [[{section}]] needs names = [\"dotted.name\", ...]")
    return names


_FILLERS = frozenset({"for", "if", "is", "the", "a", "an", "that", "whether", "all"})

# Lists of plain words or names: (section, key in the TOML, Catalog field they fill). Every
# catalog file adds to them.
_WORD_LISTS = (
    ("setup", "functions", "setup_functions"), ("setup", "teardown", "teardown_functions"),
    ("setup", "words", "setup_words"), ("handles", "methods", "handle_methods"),
    ("handles", "keepers", "keeper_functions"), ("handles", "config_reads", "config_reads"),
    ("handles", "makers", "client_makers"),
    ("setup", "checks", "setup_checks"), ("setup", "checked", "setup_checked"),
    ("setup", "classes", "setup_classes"), ("long_calls", "words", "long_call_words"),
    ("setup", "decorators", "setup_decorators"), ("setup", "login", "login_words"),
    ("setup", "login_modules", "login_modules"), ("setup", "renewed", "renewed_words"),
    ("setup", "admin", "admin_words"),
    ("setup", "request_checks", "request_checks"),
    ("setup", "once_callers", "once_caller_words"), ("setup", "debug", "debug_words"),
    ("setup", "once_caller_verbs", "once_caller_verbs"),
    ("setup", "lifecycle_objects", "lifecycle_objects"),
    ("ordered", "methods", "ordered_methods"), ("ordered", "connections", "connections"),
    ("ordered", "handle_names", "handle_names"), ("ordered", "guards", "guard_words"),
    ("ordered", "teardown", "teardown_methods"), ("ordered", "pacing", "pacing_words"),
    ("async_io", "words", "io_words"), ("caches", "unbounded_keys", "unbounded_keys"),
    ("async_io", "plain_receivers", "plain_receivers"),
    ("async_io", "loop_handlers", "loop_handlers"),
    ("async_io", "loop_handler_methods", "loop_handler_methods"),
    ("async_io", "loop_decorators", "loop_decorators"),
    ("caches", "bounded_keys", "bounded_keys"), ("effects", "verbs", "effect_verbs"),
    ("ordered", "concurrent_reads", "concurrent_reads"), ("memoize", "words", "memo_words"),
)


def _merge(catalog: Catalog, data: dict[str, Any], path: Path,
           words: dict[str, set[str]]) -> None:
    known = {"blocking", "clients", "timeouts", "offload", "memoize", "setup", "loaders",
             "ordered", "caches", "effects", "not_blocking", "batch", "async_io", "aliases",
             "long_calls", "handles"}
    unknown = set(data) - known
    if unknown:
        raise CatalogError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(sorted(known))}")
    for entry in data.get("blocking", []):
        kinds = []
        for key in ("quick", "bulk", "lazy"):
            names = entry.get(key, [])
            if not isinstance(names, list) or not all(isinstance(q, str) for q in names):
                raise CatalogError(f"{path}: [[blocking]] {key} must be a list of method names")
            kinds.append(frozenset(names))
        commands = entry.get("quick_commands", [])
        if not isinstance(commands, list) or not all(isinstance(c, str) and c.strip()
                                                     for c in commands):
            raise CatalogError(f"{path}: [[blocking]] quick_commands must be a list of "
                               "commands (\"pgrep\", \"docker inspect\")")
        value = Blocking(str(entry.get("category", "blocking")), str(entry.get("instead", "")),
                         *kinds, quick_commands=frozenset(" ".join(c.split()) for c in commands))
        for name in _names(entry, path, "blocking"):
            catalog.blocking.add(name, value)
    for entry in data.get("clients", []):
        kind = str(entry.get("kind", "client"))
        for name in _names(entry, path, "clients"):
            catalog.clients.add(name, kind)
    for entry in data.get("timeouts", []):
        default = entry.get("default", "none")
        if default not in ("none", "finite"):
            raise CatalogError(f"{path}: [[timeouts]] default must be \"none\" or \"finite\"")
        position = entry.get("position")
        if position is not None and not isinstance(position, int):
            raise CatalogError(f"{path}: [[timeouts]] position must be an integer")
        value = Timeout(default, str(entry.get("param", "timeout")), position)
        for name in _names(entry, path, "timeouts"):
            catalog.timeouts.add(name, value)
    for entry in data.get("batch", []):
        value = Batch(str(entry.get("instead", "")), bool(entry.get("sql", False)))
        for name in _names(entry, path, "batch"):
            catalog.batch.add(name, value)
    for entry in data.get("loaders", []):
        kind = str(entry.get("kind", "load"))
        needs = entry.get("needs", "")
        if not isinstance(needs, str):
            raise CatalogError(f"{path}: [[loaders]] needs must be a keyword name")
        for name in _names(entry, path, "loaders"):
            catalog.loaders.add(name, kind)
            if needs:
                catalog.loader_needs.add(name, needs)
    for section, table in (("offload", catalog.offload), ("memoize", catalog.memoize),
                           ("not_blocking", catalog.not_blocking),
                           ("async_io", catalog.async_io)):
        if section in data:
            for name in _names(data[section], path, section):
                table.add(name, True)
    gil_bound = data.get("offload", {}).get("gil_bound", [])
    if not isinstance(gil_bound, list) or not all(isinstance(n, str) and n for n in gil_bound):
        raise CatalogError(f"{path}: [offload] gil_bound must be a list of dotted names")
    for name in gil_bound:
        catalog.gil_bound.add(name, True)
    files = data.get("async_io", {}).get("files", [])
    if not isinstance(files, list) or not all(isinstance(n, str) and n for n in files):
        raise CatalogError(f"{path}: [async_io] files must be a list of dotted names")
    for name in files:
        catalog.async_files.add(name, True)
    for section, key, attr in _WORD_LISTS:
        if section in data:
            values = data[section].get(key, [])
            if not isinstance(values, list):
                raise CatalogError(f"{path}: [{section}] {key} must be a list of names")
            words[attr].update(str(v) for v in values)


def _aliases(data: dict[str, Any], path: Path) -> dict[str, str]:
    """`[aliases] modules = { httpx2 = "httpx" }`: a module with the API of another."""
    table = data.get("aliases", {}).get("modules", {})
    if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in table.items()):
        raise CatalogError(f"{path}: [aliases] modules must map module names to module names")
    return table


def _alias_modules(catalog: Catalog, aliases: dict[str, str]) -> None:
    """Every entry under an aliased module's name holds under the alias too."""
    tables = (catalog.blocking, catalog.clients, catalog.timeouts, catalog.batch,
              catalog.loaders, catalog.loader_needs, catalog.offload, catalog.memoize,
              catalog.not_blocking, catalog.async_io, catalog.async_files)
    for alias, module in aliases.items():
        for table in tables:
            for patterns in (table.exact, table.prefix):
                for name, value in list(patterns.items()):
                    if name == module or name.startswith(module + "."):
                        patterns.setdefault(alias + name[len(module):], value)


_ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options",
                            "route", "api_route", "websocket",
                            # An MCP server's tools (`@mcp.tool()`, `@server.call_tool()`):
                            # run per tool call (held-out Y: awslabs/mcp).
                            "tool", "call_tool",
                            # A chat app's message handlers (`@cl.on_message`, telebot's
                            # `@bot.message_handler(...)`): run per message, whatever the
                            # function is called (held-out S30b: Chainlit apps' `main`).
                            "on_message", "message_handler", "action_callback"})


def is_route(decorators: Iterable[str]) -> bool:
    """`@app.post("/x")`, `@router.get(...)`, `@bp.route(...)` (dotted decorator names): a
    web framework's route, run once per request whatever its name says."""
    for name in decorators:
        parts = name.split(".")
        if len(parts) >= 2 and parts[-1].rstrip("()") in _ROUTE_METHODS:
            return True
    return False


def flask_view(decorators: Iterable[str]) -> bool:
    """A route of a Flask app or blueprint (`flask.Blueprint.route`, as facts resolve
    decorator names). Flask runs an `async def` view with asgiref's `async_to_sync`: on an
    event loop of its own, made for that request in the request's thread. Not Quart's (its
    views share one loop)."""
    return is_route(decorators) and any(name.split(".", 1)[0] == "flask"
                                        for name in decorators)


_THREADPOOL_FRAMEWORKS = frozenset({"fastapi", "starlette"})
"""Web frameworks that run a plain `def` route function in a thread pool (and a coroutine
on the event loop): a route that awaits nothing is better declared plain."""


def threadpool_route(decorators: Iterable[str]) -> bool:
    """A route (`@router.get(...)`) of a framework that runs plain route functions in its
    thread pool (decorator names as facts resolve them: `fastapi.APIRouter.get`). Not
    aiohttp's: its handlers must be coroutines."""
    return is_route(decorators) and any(
        name.split(".", 1)[0] in _THREADPOOL_FRAMEWORKS for name in decorators)


def is_context_manager(decorators: Iterable[str]) -> bool:
    """`@contextmanager` / `@asynccontextmanager`: a generator whose body up to `yield`
    runs when a `with` enters it, and the rest when the block ends."""
    return any(name.rsplit(".", 1)[-1] in ("contextmanager", "asynccontextmanager")
               for name in decorators)


CONCURRENT_CLIENT_KINDS = frozenset({"http", "llm"})


def serves_concurrently(name: str, catalog: Catalog) -> bool:
    """`httpx.AsyncClient.get`, `openai.AsyncOpenAI.chat.completions.create`: a read the
    catalog lists (`[ordered] concurrent_reads`) on an HTTP or LLM client it knows, so two
    such awaits on one client may run together (its pool serves both). A write (`post`)
    may be what a later read depends on, and a database session serves one operation at a
    time: neither qualifies."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        kind = catalog.clients.get(".".join(parts[:cut]))
        if kind is not None:
            return kind in CONCURRENT_CLIENT_KINDS and \
                ".".join(parts[cut:]) in catalog.concurrent_reads
    return False


FILE_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
"""Methods of a path object that read or write the whole file (`path.read_text` handed to
a thread, where the path's type is not known)."""


def file_work(name: str, catalog: Catalog) -> bool:
    """A callable that reads or writes local files: the catalog's file work, or a path
    object's whole-file method (`path.read_text` handed to `asyncio.to_thread`)."""
    entry = catalog.blocking.get(name)
    return entry is not None and entry.category == "file" or \
        name.rsplit(".", 1)[-1] in FILE_METHODS


def is_request(name: str, catalog: Catalog) -> bool:
    """A call the catalog knows as one request (HTTP, LLM, database, cloud) or as work
    handed to a thread (`asyncio.to_thread`): independent of its neighbours' order. Anything
    else awaited only for its effect (`await self._execute("keyDown", key)`, a drag's
    `moveTo` per point) may be the order itself."""
    if not name:
        return False
    parts = name.split(".")
    return (catalog.timeouts.get(name) is not None or catalog.blocking.get(name) is not None
            or catalog.offload.get(name) is not None or catalog.async_io.get(name) is not None
            or catalog.async_files.get(name) is not None
            or (len(parts) >= 2 and parts[-2].rstrip("()") in SDK_RESOURCES))


_CLIENT_WORDS = frozenset({"client", "session", "http", "api"})


def quick_call(catalog: Catalog, name: str) -> bool:
    """The blocking call `name` is one its catalog entry says answers in milliseconds
    (`[[blocking]] quick`: a Docker lookup, a single stat), by its last name."""
    entry = catalog.blocking.get(name)
    return entry is not None and _last_name(name) in entry.quick


def bulk_call(catalog: Catalog, name: str) -> bool:
    """The blocking call `name` is one its catalog entry says does work that grows with
    the data (`[[blocking]] bulk`: a walk, a tree copy, an archive), by its last name."""
    entry = catalog.blocking.get(name)
    return entry is not None and _last_name(name) in entry.bulk


def lazy_call(catalog: Catalog, name: str) -> bool:
    """The blocking call `name` only builds what a later call sends (`[[blocking]] lazy`)."""
    entry = catalog.blocking.get(name)
    return entry is not None and _last_name(name) in entry.lazy


def _last_name(name: str) -> str:
    return name.rsplit(".", 1)[-1].rstrip("()")


def client_call(name: str, catalog: Catalog, words: bool = True) -> bool:
    """`self.http_client.post`, `client.index`, `self.memory.search(q)`: a call through an
    object named as a client, or a method whose name says it goes out for data (the
    catalog's `[async_io] words`; `words=False`: not by that alone — awaited, `transcribe`
    is a request, called in a thread it is as often a local model's), whose requests do
    not depend on each other's order (not `session.execute` or `conn.commit`: the catalog's
    ordered methods)."""
    func = name.split("(", 1)[0]
    if "." not in func:
        return False
    receiver, method = func.rsplit(".", 1)
    if method in catalog.ordered_methods:
        return False
    last = receiver.rsplit(".", 1)[-1]
    if any(word in _CLIENT_WORDS for word in name_words(last)):
        return True
    # By the method's words alone: not on a receiver whose type is not known (`?.x`, its
    # source form names it) nor on a context or state object.
    return words and last != "?" and last.lstrip("_") not in catalog.plain_receivers and \
        any(word in catalog.io_words for word in name_words(method))
