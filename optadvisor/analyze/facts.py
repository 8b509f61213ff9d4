"""From what the visitor collected to frozen FileFacts: names resolved, catalog applied,
positions attached."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from optadvisor.analyze.caching import (bound_in, cache_facts, local_bindings,
                                        reads_written_file, static_input)
from optadvisor.analyze.catalog import (
    SDK_RESOURCES, Batch, Blocking, Catalog, client_call, file_work, is_request, is_route,
    lazy_call, name_words, quick_call, serves_concurrently,
)
from optadvisor.analyze.names import (
    HTTP_READS, LLM_CALLS, MAYBE_WORK, SUPER, UNKNOWN, Chain, chain_of, descendants, names_read,
)
from optadvisor.analyze.positions import Positions
from optadvisor.analyze.visitor import (
    MODULE, CallBuild, FactCollector, FuncBuild, LoopBuild, in_memory_archive,
)
if TYPE_CHECKING:
    import libcst as cst

from optadvisor.models import AwaitGroupFact, CallFact, FileFacts, FunctionFact, LoopFact

_MAX_TYPE_DEPTH = 8
_NETWORK = frozenset({"http", "llm", "db", "cloud", "network"})
_SESSIONS = frozenset({"network"})
_PROBES = frozenset({"ping", "health", "healthcheck", "health_check", "is_ready",
                     "readiness", "liveness"})
"""Requests that only ask whether a server is up: a loop retrying them waits for it."""
_SELF_RETRYING = ("openai.", "anthropic.")
"""SDKs whose clients retry failed requests with exponential backoff themselves."""
"""Blocking categories whose objects hold one connection for a session of exchanges
(`smtp = smtplib.SMTP(host)`, then `starttls`, `login`, `send_message`, `quit`)."""
_DB_OPENERS = frozenset({"connect", "Connection", "getconn", "get_conn", "get_connection",
                         "raw_connection", "Session"})
"""Calls that open a database connection a function may keep in a local (`conn =
sqlite3.connect(path)`, `conn = pool.getconn()`): the statements on it (and on its
cursors) are one session."""


def _opens_session(fact: CallFact) -> bool:
    if fact.blocking in _SESSIONS:
        return True
    return fact.blocking == "db" and fact.name.rsplit(".", 1)[-1].rstrip("()") in _DB_OPENERS


def _once_loops(cb: CallBuild) -> set[int]:
    """The loops around the call that do not repeat it per item."""
    once = set(cb.left_loops)  # a return, raise or break follows it in its block
    once |= cb.picked  # `if kind == "planner":` in a loop over kinds
    if cb.target and cb.target in cb.none_tested:
        # `if manager is None: manager = OAuthManager(config)` in a loop: made on the first
        # item that needs it, then reused (held-out S28: kimi-cli's model sync).
        once.update(loop.index for loop in cb.enclosing)
    if cb.loop is not None and (cb.loop.retry is not None or cb.loop.fallback):
        # A retry loop leaves on success: what it does runs once per call when all goes
        # well, not once per item (held-out W: QAnything writes a fetched page inside
        # its three attempts).
        once.add(cb.loop.index)
    # Only loops whose body holds the call count (a call in a loop's header is already
    # counted outside it).
    return once & {loop.index for loop in cb.enclosing}


def _tick_loops(cb: CallBuild) -> set[int]:
    """The loops around the call that repeat it by the clock or a fixed count, not per item
    of data (CallFact.ticks): `for path in (stdout, stderr):` opens two files whatever the
    data (held-out S27: fast-agent's shell executor); `while True: ...; await
    asyncio.sleep(60)` does its work once per tick (held-out S28: kimi-cli's worker
    heartbeat, MaiBot's emoji check every few minutes). They stay loops for the other
    rules: two awaits of a pair still overlap, a blocking call in a heartbeat still stalls
    the loop at every beat."""
    ticks = {loop.index for loop in cb.enclosing
             if loop.kind == "while" and loop.sleeps_at_all}
    if cb.enclosing and cb.enclosing[-1].fixed:
        ticks.add(cb.enclosing[-1].index)
    return ticks


def _block_scaled(by_index: dict[int, tuple[CallBuild, CallFact]], catalog: Catalog) -> None:
    """A `with` opening a file whose block does file work per item of a loop (not a stat)
    is file work that grows with the data (held-out P: GPTCache zips a whole cache folder
    into `zipfile.ZipFile(...)` per download request, one `zf.write` per file walked)."""
    scaled = [index for index, (cb, fact) in by_index.items()
              if cb.block_loops and fact.blocking == "file" and any(
                  inner[1].blocking == "file" and not inner[1].brief
                  and not quick_call(catalog, inner[1].name)
                  for inner in map(by_index.get, cb.block_loops) if inner is not None)]
    for index in scaled:
        cb, fact = by_index[index]
        by_index[index] = (cb, replace(fact, block_scaled=True))


def _own_sessions(by_index: dict[int, tuple[CallBuild, CallFact]],
                  collector: FactCollector) -> None:
    """Database calls on a local the function made with a call of its own (`conn =
    self._connect()`, `with self._connect() as conn:`, `conn = sqlite3.connect(p)`): its
    own connection, which may move to a worker thread with it (held-out T: xinference's
    stores open one per method), or the call that opens it (`sqlite3.connect(p)`). Not one
    stored on the object or handed in, nor a cursor made from one of those (`cursor =
    self.conn.cursor()`: the connection is the object's, and a default sqlite3 connection
    refuses any other thread; held-out S40b re-read)."""
    made: set[tuple[int, str]] = set()
    for cb in sorted(collector.calls, key=lambda cb: cb.index):
        if not cb.target or not (cb.assigned_to == "local" or cb.in_with) or \
                cb.function == MODULE:
            continue
        fb = collector.functions[cb.function]
        root = cb.chain[0].removesuffix("()") if cb.chain else ""
        if len(cb.chain) == 1 or (cb.function, root) in made or (
                root in ("self", "cls") and len(cb.chain) == 2) or (
                root not in ("self", "cls") and root not in fb.param_names
                and root not in fb.local_names):
            made.add((cb.function, cb.target))
    for index, (cb, fact) in by_index.items():
        if _opens_session(fact) or fact.blocking == "db" and len(cb.chain) > 1 and \
                (cb.function, cb.chain[0]) in made:
            by_index[index] = (cb, replace(fact, own_session=True))


def _session_covered(by_index: dict[int, tuple[CallBuild, CallFact]],
                     collector: FactCollector) -> None:
    """The calls on a session a function opens itself (`smtp = smtplib.SMTP(host)`,
    `conn = sqlite3.connect(path)`, and the cursors made from it) are covered by the
    finding on the line that opens it, whose fix moves the whole session into one worker
    thread (held-out K: skyvern's e-mail block had five findings, one per SMTP command;
    held-out O: vanna's SQLite runner seven, one per statement, cursor and close). So are
    the database calls on a session a sync `with` opens (`with self.Session() as s:`)
    after the first one: its fix already moves the whole block (held-out L: adk's session
    service had 16 findings, one per call, on five sessions). And the database calls of a
    function on one session made elsewhere (`db.session.query(...)` ... `db.session.commit()`,
    fastapi-sqlalchemy's request session; held-out V: SuperAGI's upload route): one finding,
    advice in words, for the session. A parameter is such a session too (`db: Session =
    Depends(get_db)`; held-out S36: potpie's routes had a finding per query)."""
    opened = {(cb.function, cb.target): fact.name for cb, fact in by_index.values()
              if cb.target and _opens_session(fact)
              and (cb.assigned_to == "local" or cb.in_with)}
    with_bound = {(cb.function, cb.target) for cb, _ in by_index.values()
                  if cb.in_with and not cb.in_async_with and cb.target}
    for cb, fact in by_index.values():
        if cb.target and cb.assigned_to == "local" and fact.name.endswith(".cursor"):
            if opened.get((cb.function, cb.chain[0] if cb.chain else "")):
                # On a connection this function opened: that session's.
                opened[(cb.function, cb.target)] = fact.name
            else:  # on one made elsewhere: its statements are one session of their own
                with_bound.add((cb.function, cb.target))
    covered = set()
    heads: dict[int, int] = {}  # id of a session's finding -> how many calls it covers
    scans: set[int] = set()  # ids of findings whose session reads a whole table
    first: dict[tuple[int, str], int] = {}  # (function, session name) -> id of its finding
    for cb, fact in sorted(by_index.values(), key=lambda entry: (entry[1].line,
                                                                 entry[1].column)):
        key = (cb.function, cb.chain[0] if cb.chain else "")
        ctor = opened.get(key)
        if ctor and fact.blocking in _SESSIONS | {"db"} and \
                fact.name.startswith((ctor + ".", ctor + "().")) and not fact.offloaded:
            covered.add(id(fact))
            head = first.get(key)
            if head is not None:
                heads[head] = heads.get(head, 0) + 1
                if fact.table_scan:
                    scans.add(head)
            if cb.target and cb.assigned_to == "local" and head is not None:
                first[(cb.function, cb.target)] = head  # a cursor: its calls count there
        elif fact.blocking == "db" and not fact.offloaded and (
                key in with_bound or (_receiver(cb.chain) or _param_receiver(cb, collector))
                and key not in opened):
            if key not in with_bound:
                # not a local's name
                key = (cb.function, "." + (_receiver(cb.chain) or cb.chain[0]))
            if key in first:
                covered.add(id(fact))
                heads[first[key]] = heads.get(first[key], 0) + 1
                if fact.table_scan:
                    scans.add(first[key])
            else:
                first[key] = id(fact)
        if cb.target and (cb.function, cb.target) in opened and id(fact) not in covered:
            if fact.name.endswith(".cursor") and key in first:
                first[(cb.function, cb.target)] = first[key]  # a cursor on that connection
            else:
                first[(cb.function, cb.target)] = id(fact)  # the line that opens a session
    for index, (cb, fact) in by_index.items():
        if id(fact) in covered:
            by_index[index] = (cb, replace(fact, in_session=True))
        elif id(fact) in heads:
            # The session's finding is as slow as its slowest statement.
            by_index[index] = (cb, replace(fact, session_calls=heads[id(fact)],
                                           table_scan=fact.table_scan or id(fact) in scans))


def _param_receiver(cb: CallBuild, collector: FactCollector) -> bool:
    """`db.query(...)` with `db` a parameter of the call's function (not `self`): a session
    the caller hands in."""
    return len(cb.chain) == 2 and cb.function != MODULE and \
        cb.chain[0] in collector.functions[cb.function].param_names - {"self", "cls"}


def _receiver(chain: tuple[str, ...]) -> str:
    """`db.session` of `db.session.query`: what a method is called on, when it is a plain
    name or attribute path (no call in it), of two parts or more; "" otherwise."""
    head = chain[:-1]
    if len(head) < 2 or any(part.endswith("()") for part in head):
        return ""
    return ".".join(head)


def _slow_read(build: CallBuild, fact: CallFact, posts: set[int]) -> bool:
    """A sync request that only reads and takes a while: an HTTP GET/HEAD, or one LLM SDK
    request (a completion, an embedding, an image) — not a stream being opened, not an
    upload or a resource created. Several of them in a row may run on threads at once; a
    database call may not (one connection serves one statement at a time)."""
    if fact.awaited or fact.offloaded or fact.loop_depth or "stream" in build.kwargs:
        return False
    parts = fact.name.split(".")
    tail = parts[-1].rstrip("()")
    if fact.blocking == "http":
        if tail == "urlopen":
            # urlopen(url, data) and urlopen(Request(url, data=...)) send a POST.
            return build.positional == 1 and "data" not in build.kwargs and \
                build.index not in posts
        return tail in HTTP_READS
    if fact.blocking == "llm" and tail in LLM_CALLS:
        return tail != "create" or (len(parts) >= 2 and parts[-2].rstrip("()") in SDK_RESOURCES)
    return False


class Resolver:
    """Resolves a name chain in the scope of a function, following the types the file
    assigned (flow-insensitive: the last binding of a name in a scope wins)."""

    def __init__(self, collector: FactCollector) -> None:
        self.c = collector
        self._memo: dict[tuple[Chain, int], str] = {}

    def name(self, chain: Chain, scope: int, depth: int = 0) -> str:
        key = (chain, scope)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._resolve(chain, scope, depth)
            self._memo[key] = hit
        return hit

    def callee(self, chain: Chain, scope: int) -> str:
        """The name of what a call with this func chain calls. A name bound to what a call
        returned and called in turn (`cls = Loader.find(name); cls(config)`, `c =
        httpx.Client(); c(req)`) calls that result, not the function or class that made
        it: `Loader.find()` (held-out S34: gerev's data-source constructor was taken for
        the loader's directory walk). Other chains resolve as `name` does."""
        name = self.name(chain, scope)
        if name and not name.endswith("()") and self._holds_result(chain, scope):
            return name + "()"
        return name

    def bound_callee(self, chain: Chain, scope: int, bound: Chain) -> str:
        """`callee`, for a call whose first name is a local bound to `bound` where the
        walk met the call: a local bound to several types (FuncBuild.retyped) calls what
        its binding before the call made (held-out S43: mage-ai's chart sources, one
        class per branch, each branch calling `data_source.load_data`)."""
        fb = self.c.functions[scope]
        head = chain[0]
        kept = fb.retyped.get(head)
        if kept is None or fb.types.get(head) is None:
            return self.callee(chain, scope)
        latest, memo = fb.types[head], self._memo
        del fb.retyped[head]
        fb.types[head] = bound
        # A memo of its own: the shared one is keyed by chain and scope, and a type chain
        # that starts with the same local (`node = node.parent()`) resolves differently
        # under this binding.
        self._memo = {}
        try:
            name = self._resolve(chain, scope, 0)
            if name and not name.endswith("()") and self._holds_result(chain, scope):
                name += "()"
            return name
        finally:
            fb.types[head] = latest
            fb.retyped[head] = kept
            self._memo = memo

    def _holds_result(self, chain: Chain, scope: int) -> bool:
        """`chain` (not called itself) is a local, module name or `self` attribute whose
        binding is a call's result."""
        c = self.c
        head = chain[0]
        if head.endswith("()") or any(part.endswith("()") for part in chain[1:]):
            return False
        f = scope
        while f != MODULE:
            fb = c.functions[f]
            if fb.self_name and head == fb.self_name:
                if len(chain) != 2:
                    return False
                typed = c.class_types.get(fb.class_name, {}).get(chain[1])
                return typed is not None and bool(typed[0]) and typed[0][-1].endswith("()")
            if len(chain) != 1:
                return False
            if head in fb.types:
                return fb.types[head][-1].endswith("()")
            if head in fb.local_names:
                return False
            f = fb.parent
        if len(chain) != 1:
            return False
        bound = c.module_types.get(head)
        return bound is not None and bool(bound[0]) and bound[0][-1].endswith("()")

    def _type(self, chain: Chain, scope: int, depth: int = 0) -> str:
        if depth >= _MAX_TYPE_DEPTH:
            return UNKNOWN
        return self.name(chain, scope, depth + 1)

    def _resolve(self, chain: Chain, scope: int, depth: int) -> str:
        head, rest = chain[0], chain[1:]
        called = head.endswith("()")
        bare = head[:-2] if called else head
        mark = "()" if called else ""
        c = self.c
        f = scope
        if called and bare == "super" and rest and scope != MODULE and \
                c.functions[scope].self_name and c.functions[scope].class_name:
            # `super().build_reply_stream(...)` in a method of `HttpChannel`: that method of
            # the first base that has it (link.ProjectIndex.resolve reads the mark).
            return _constructed(SUPER + c.functions[scope].class_name, rest)
        while f != MODULE:
            fb = c.functions[f]
            if fb.self_name and bare == fb.self_name:
                if rest:
                    attr = rest[0]
                    typed = c.class_types.get(fb.class_name, {}).get(attr)
                    if typed is None and attr.endswith("()"):
                        typed = c.class_returns.get(fb.class_name, {}).get(attr[:-2])
                        stored = c.class_types.get(fb.class_name, {}).get(attr[:-2])
                        if typed is None and stored is not None:
                            # `self.session_factory()`: the stored factory, called.
                            return _join(self._type(*stored, depth) + "()", rest[1:])
                    if typed is not None:
                        return _join(self._type(*typed, depth), rest[1:])
                return _constructed(fb.class_name, rest)
            if bare in fb.types:
                if bare in fb.retyped and not self._clients(fb.retyped[bare], f, depth):
                    # Bound to several types, and the last binding is not the one every
                    # call sees (the scope is flow-insensitive): which one a call reaches
                    # is not known (held-out S43: mage-ai's chart sources, one class per
                    # branch, all taken for the last branch's system metrics).
                    return _join(UNKNOWN + mark, rest)
                return _join(self._type(fb.types[bare], f, depth) + mark, rest)
            if bare in fb.local_names:
                return _join(UNKNOWN + mark, rest)
            f = fb.parent
        if bare in c.module_types:
            typ, where = c.module_types[bare]
            return _join(self._type(typ, where, depth) + mark, rest)
        if called and bare in c.module_returns:
            typ, where = c.module_returns[bare]
            return _join(self._type(typ, where, depth), rest)
        imported = c.imports.get(bare)
        if imported is None and self._never_bound(bare):
            return _join(UNKNOWN + mark, rest)
        return _constructed((imported if imported is not None else bare) + mark, rest)

    def _clients(self, chains: set[Chain], scope: int, depth: int) -> bool:
        """Every chain a retyped local was bound to makes a client the catalog knows
        (`llm = AzureOpenAI(...)` in one branch, `llm = OpenAI(...)` in the other): what a
        call through it does is the same whichever it is."""
        return all(self.c.catalog.clients.get(self._type(chain, scope, depth)) is not None
                   for chain in chains)

    def _never_bound(self, name: str) -> bool:
        """A library's module name (`requests`, `time`) that the file neither imports nor
        binds: the code raises NameError before any call through it is made (held-out S34:
        two FinGPT scrapers call `requests.post` with only `requests_url` imported; the
        timeout fix added to them changed nothing)."""
        c = self.c  # (module-level defs are in module_names; top-level classes key class_bases)
        return name in c.catalog.module_roots() and not c.star_imported and \
            name not in c.module_names and name not in c.module_types and \
            name not in c.class_bases and name not in c.imported_modules


def _constructed(root: str, rest: Chain) -> str:
    """A chain rooted in an imported or module-level name: its first call is a constructor
    or factory, so the instance it returns carries the callee's own name."""
    parts = [root, *rest]
    for i, part in enumerate(parts):
        if part.endswith("()"):
            parts[i] = part[:-2]
            break
    return ".".join(parts)


def _join(base: str, rest: Chain) -> str:
    return ".".join((base, *rest)) if rest else base


def build_facts(rel: str, text: str, collector: FactCollector, positions: Positions,
                catalog: Catalog) -> FileFacts:
    resolver = Resolver(collector)
    funcs = collector.functions
    offloaded = _offloaded_functions(collector)
    # Functions that await I/O (or enter an async context on it): a sync blocking call in a
    # coroutine is I/O too, but running two such coroutines together overlaps nothing.
    io_functions: set[int] = set()
    net_functions: set[int] = set()
    for cb in collector.calls:
        if not (cb.awaited or cb.in_async_with):
            continue
        name = resolver.callee(cb.chain, cb.function)
        if client_call(".".join(part.rstrip("()") for part in cb.chain), catalog):
            io_functions.add(cb.function)
            net_functions.add(cb.function)
        elif is_request(name, catalog):
            io_functions.add(cb.function)
            if catalog.async_files.get(name) is None and \
                    not _file_offload(cb, name, resolver, catalog):
                net_functions.add(cb.function)

    _hand_to_runners(collector, resolver)
    functions = []
    resolved_decorators = []
    dropped = _dropped_callees(collector, resolver)
    awaited_names: dict[int, set[str]] = {}
    awaited_count: dict[int, int] = {}
    awaited_on: dict[int, set[tuple[str, ...]]] = {}
    mixed: dict[int, set[tuple[str, ...]]] = {}
    for cb in collector.calls:
        if cb.awaited and cb.function != MODULE:
            awaited_count[cb.function] = awaited_count.get(cb.function, 0) + 1
            if len(cb.chain) >= 2 and cb.chain[:-1] not in (("self",), ("cls",)):
                awaited_on.setdefault(cb.function, set()).add(cb.chain[:-1])
                if _async_twin_name(cb.chain[-1].rstrip("()")):
                    # `await llm.ainvoke(x)` beside `llm.invoke(y)`: one object with both
                    # kinds of method, whose sync ones do block.
                    mixed.setdefault(cb.function, set()).add(cb.chain[:-1])
            awaited_names.setdefault(cb.function, set()).add(
                resolver.callee(cb.chain, cb.function) if cb.chain else "")
    rewriting = _rewriting(collector)
    prompting = _prompting(collector, resolver, catalog)
    for i, fb in enumerate(funcs):
        line, col, end_line, _ = positions.functions[i]
        decorators = tuple(resolver.name(d, fb.parent) for d in fb.decorators)
        resolved_decorators.append(decorators)
        callees = sorted({resolver.callee(ch, i) for ch in fb.call_chains})
        io = i in io_functions
        loop_callees = sorted({resolver.callee(ch, i) for ch in fb.loop_call_chains})
        sure = {resolver.callee(ch, i) for ch in fb.sure_call_chains}
        branch_callees = [name for name in callees if name not in sure]
        functions.append(FunctionFact(
            name=fb.name, qualname=fb.qualname, line=line, end_line=end_line, column=col,
            is_async=fb.is_async, class_name=fb.class_name, parent=fb.parent,
            decorators=decorators, admin=_admin(fb, catalog),
            cached=any(_memoizing(d, catalog) for d in decorators),
            params=fb.params, statements=fb.statements, loops=fb.loops,
            max_loop_depth=fb.max_loop_depth, calls=fb.calls, awaits=fb.awaits,
            yields=fb.yields, callees=tuple(callees), loop_callees=tuple(loop_callees),
            lazy_callees=tuple(sorted({resolver.callee(ch, i) for ch in fb.lazy_call_chains
                                       if ch})),
            dropped_callees=dropped.get(i, ()), exit_flag=fb.exit_flag,
            pre_exit_callees=tuple(sorted({resolver.callee(ch, i) for ch in fb.pre_exit_chains
                                           if ch})) if fb.exit_flag else (),
            branch_callees=tuple(branch_callees), io=io, net_io=i in net_functions,
            startup=fb.startup, serial_awaits=fb.serial_awaits, lazy_init=fb.lazy_init,
            shared_handle=fb.shared_handle, code_exchange=fb.code_exchange,
            new_loop=fb.new_loop, paces=fb.paces,
            positional_params=tuple(fb.positional_params),
            called_params=tuple(sorted(fb.called_params)),
            thread_params=tuple(sorted(fb.offloaded_names & fb.param_names)),
            driven=tuple(sorted({_driven_name(collector, resolver, ch, i)
                                 for ch in fb.driven_chains})),
            runner_params=_runner_params(fb),
            run_handed=_run_handed(fb.run_handed, collector, resolver, i),
            deprecated=fb.deprecated, sync_on_purpose=fb.sync_on_purpose,
            spawns=fb.spawns, spawns_open=fb.spawns_open,
            gathered=tuple(sorted({resolver.callee(ch, i) for ch in fb.gathered_chains})),
            returns=resolver.name(fb.returns, fb.parent) if fb.returns else "",
            awaited_callees=tuple(sorted(awaited_names.get(i, ()))),
            opaque_awaits=fb.awaits > awaited_count.get(i, 0),
            rewrites=i in rewriting, prompts=i in prompting,
        ))

    by_index: dict[int, tuple[CallBuild, CallFact]] = {}
    """The facts of the file's calls, in the walk's order (FileFacts.calls)."""
    repeated_lines: set[tuple[int, int]] = set()
    names = {cb.index: resolver.callee(cb.chain, cb.function) if cb.head_type is None else
             resolver.bound_callee(cb.chain, cb.function, cb.head_type)
             for cb in collector.calls}
    # An `async with` item is entered by awaiting it: a file handed to it (`async with
    # trio.wrap_file(open(p))`) is read by the async wrapper, as by an awaited call.
    awaited_calls = {cb.index for cb in collector.calls if cb.awaited or cb.in_async_with}
    in_memory: set[tuple[int, str]] = set()
    memory_dbs: set[tuple[int, str]] = set()
    receivers = _instance_receivers(collector)
    file_sessions = _file_sessions(collector)
    builds = {cb.index: cb for cb in collector.calls}
    # Functions handed to a thread that runs them (`threading.Thread(target=self._deliver)`).
    thread_bodies = {chain[-1] for cb in collector.calls
                     if names.get(cb.index) == "threading.Thread"
                     for _, keyword, chain in cb.passes if keyword == "target" and chain}
    # A plain `def get(self)` of a class with bases may be a Tornado handler's, and a plain
    # `def` under `@<x>.tool()` an MCP FastMCP tool, run on the event loop (link.py decides,
    # from the bases and what `<x>` is across the project): their calls are kept as an
    # async def's are.
    registrars = {d.rsplit(".", 1)[-1] for d in catalog.loop_decorators}
    handler_methods = {i for i, fb in enumerate(funcs)
                       if not fb.is_async and (
                           fb.name in catalog.loop_handler_methods
                           and collector.class_base_chains.get(fb.class_name)
                           or any(d and d[-1].rstrip("()") in registrars
                                  for d in fb.decorators))}
    for cb in collector.calls:
        if cb.dead or _switched_off(cb, collector) or _missing_key(cb, collector):
            continue  # `if False:`: switched off (held-out T: 01's `time.sleep(10)`)
        name = names[cb.index]
        # Calls the catalog knows are kept everywhere. Inside an async def every other
        # plain (not awaited, not offloaded) call is kept too: the link stage may find that
        # it reaches blocking work through sync helpers, and needs its position to say so.
        in_async = cb.function != MODULE and (funcs[cb.function].is_async
                                              or cb.function in handler_methods)
        keep_untagged = in_async and not cb.awaited and not cb.offloaded
        # `Storage().get(key)`, `helper = Storage()`: an instance made per call of the
        # function; the link stage knows whether the class builds a client.
        construct = cb.function != MODULE and not cb.awaited and (
            _class_like(cb.chain) or _factory_like(cb.chain)) and (
            cb.assigned_to == "local" or cb.in_with or cb.index in receivers)
        fact = _classify(cb, name, catalog, offloaded, positions, keep_untagged or construct)
        if fact is not None and construct and not (
                fact.client or fact.blocking or fact.timeout or fact.loader or fact.batch):
            fact = replace(fact, constructs=True)
        if fact is not None and (fact.client or fact.constructs):
            fact = _escape(fact, cb, collector, builds, names, catalog, receivers)
        if fact is not None and fact.loader and static_input(collector, cb.reads, cb.function) \
                and not _picked_per_iteration(collector, cb) \
                and not _inside_loader(cb, names, catalog) \
                and not reads_written_file(collector.call_nodes[cb.index],
                                           collector.cache_uses.written_paths):
            fact = replace(fact, static_input=True)
        if fact is not None and (fact.client or fact.constructs) and cb.per_item and \
                not fact.batch:
            fact = replace(fact, item_config=True)
        if fact is not None and fact.loop_depth:
            once = _once_loops(cb)
            fact = replace(fact, loop_depth=max(0, fact.loop_depth - len(once)),
                           ticks=len(_tick_loops(cb) - once))
        if fact is not None and cb.handoff:
            fact = replace(fact, handoff=True)
        if fact is not None and cb.rare:
            fact = replace(fact, rare=cb.rare)
        if fact is not None and fact.blocking and cb.ready:
            fact = replace(fact, ready=True)
        if fact is not None and cb.early:
            fact = replace(fact, early=True)
        if fact is not None and cb.exit_waits and not fact.blocking:
            fact = replace(fact, blocking="thread", exit_waits=True, replacement=(
                "`await asyncio.to_thread(fn, *args)` for the work submitted (or `await "
                "asyncio.get_running_loop().run_in_executor(pool, fn, *args)`): leaving the "
                "`with` block waits for it on the event loop"))
        if fact is not None and (fact.client or fact.constructs) and cb.loop is not None \
                and cb.loop.timed:
            fact = replace(fact, timed=True)
        if fact is not None and fact.client and cb.loop is None and cb.function != MODULE \
                and funcs[cb.function].name in thread_bodies:
            fact = replace(fact, threaded=True)
        node = collector.call_nodes[cb.index]
        if fact is not None and (fact.client or fact.timeout) and (
                _in_process(node) or name in _URL_OPENERS and _inline_url(
                    node, collector.func_nodes[cb.function] if cb.function != MODULE
                    else None)
                or (cb.function, cb.target) in file_sessions
                or (cb.function, ".".join(cb.chain[:-1])) in file_sessions):
            # No server: a store in this process (`QdrantClient(location=":memory:")`,
            # `create_engine("sqlite:///:memory:")`), or a session that only reads
            # `file://` URLs (`s.mount("file://", FileAdapter())`): nothing to share a
            # connection of, nothing to wait for (held-out X: h2ogpt's URL reader, an
            # OpenAgents table serialised through a throw-away SQLite). Nor is a `data:`
            # or `file:` URL urlopen decodes or reads here (held-out S47: hikari's data
            # URI parser, which refuses any other URL first).
            fact = replace(fact, client="", timeout="")
            if name in _URL_OPENERS and fact.blocking != "file":
                fact = replace(fact, blocking="", replacement="")
            if not (fact.blocking or fact.loader or fact.batch or keep_untagged):
                continue
        if fact is not None and fact.blocking == "db" and _in_process(node):
            # `sqlite3.connect(":memory:")`: a database in this process's memory, made in
            # microseconds; so are the statements on it (held-out S50: pyrogram's
            # in-memory session storage).
            fact = replace(fact, blocking="", replacement="")
            if cb.target:
                memory_dbs.add((cb.function, cb.target))
            elif cb.function != MODULE:
                memory_dbs.update((cb.function, kept) for kept in _kept_in_self(
                    node, collector.func_nodes[cb.function]))
            if not (fact.client or fact.timeout or fact.loader or fact.batch or keep_untagged):
                continue
        if fact is not None and (
                fact.blocking == "file" and (
                    _in_memory(node, funcs[cb.function].types if cb.function != MODULE
                               else {}, name) or (cb.function, cb.chain[0]) in in_memory
                    and name.rsplit(".", 1)[-1] not in _ARCHIVE_DISK_WORK
                    or name in ("tarfile.open", "zipfile.ZipFile") and cb.function != MODULE
                    and in_memory_archive(node, funcs[cb.function].types))
                or fact.blocking == "thread" and _nonblocking(node)
                or name in _CHILD_WAITS and _no_hang(node)
                or fact.blocking == "db" and _on_memory_db(cb, memory_dbs)):
            # Not blocking after all. `zipfile.ZipFile(io.BytesIO(payload))`, `ZipFile(buf)`
            # with `buf = io.BytesIO()`: an archive in memory, and so is what is read from
            # or written to it (`archive.read(name)`, `zf.writestr(...)`; held-out Q FP).
            # `q.get(block=False)`, `lock.acquire(False)`: they return or raise at once;
            # so does `os.waitpid(-1, os.WNOHANG)` (held-out S35e: MLServer's SIGCHLD handler).
            if fact.blocking == "file" and cb.target:
                in_memory.add((cb.function, cb.target))
            fact = replace(fact, blocking="", replacement="")
            if not (fact.client or fact.timeout or fact.loader or fact.batch or keep_untagged):
                continue
        if fact is not None and fact.blocking and not cb.awaited and len(cb.chain) >= 2 and \
                cb.chain[:-1] in awaited_on.get(cb.function, ()) and \
                cb.chain[:-1] not in mixed.get(cb.function, ()):
            # The function awaits other methods of the same object (`await pipe.hset(...)`
            # then `pipe.execute()`): the code treats it as an async client, whatever the
            # names resolved to. Either it is one (made elsewhere than the resolver saw) or
            # the code fails at the first await before reaching this call (held-out S49:
            # AWorld's Redis store awaits a sync pipeline's commands).
            fact = replace(fact, blocking="", replacement="")
            if not (fact.client or fact.timeout or fact.loader or fact.batch or keep_untagged):
                continue
        if fact is not None and fact.blocking == "subprocess" and cb.function != MODULE and \
                _opens_editor(node, collector.func_nodes[cb.function]):
            # The command is the user's text editor or pager: it waits for a person at the
            # terminal, as `input()` does (held-out S49: AWorld's `/memory edit` runs
            # `$EDITOR` on the workspace file; a worker thread would let background output
            # print over the editor).
            stdin = catalog.blocking.get("input")
            fact = replace(fact, blocking="stdin",
                           replacement=stdin.instead if stdin else fact.replacement)
        if fact is not None and fact.blocking == "file" and (cb.arg_of >= 0 or cb.returned) \
                and _handed_over(cb, name, names.get(cb.arg_of, ""), awaited_calls):
            fact = replace(fact, handed=True)
        if fact is not None and (fact.client or fact.constructs) and cb.function != MODULE \
                and _from_params(
                collector.call_nodes[cb.index], collector.functions[cb.function].param_names
                | collector.functions[cb.function].param_derived):
            fact = replace(fact, param_config=True)
        # A loop that sleeps paces a poll; a retry loop (it leaves on success) runs once
        # when all goes well, so a client built in it is still one per call (eval J miss:
        # lagent's aiohttp session per chat request, inside its retry loop).
        paced = cb.loop is not None and (cb.loop.sleeps_at_all or cb.loop.waits) and \
            cb.loop.retry is None
        if fact is not None and paced:
            fact = replace(fact, paced=True)
        if fact is not None and (fact.client or fact.constructs) and cb.once:
            fact = replace(fact, once=True)
        if fact is not None and (fact.client or fact.constructs) and cb.target and \
                cb.function != MODULE and _closes(collector.func_nodes[cb.function], cb.target):
            fact = replace(fact, closed=True)
        if fact is not None and fact.client and not fact.paced and \
                _long_timeout(collector.call_nodes[cb.index]) and not (
                cb.function != MODULE
                and _route_handler(collector.functions[cb.function].decorators)):
            # `httpx.AsyncClient(timeout=1800)`: made for calls that take many minutes (a
            # sandbox run streamed back); the handshake saved by reuse is noise next to them.
            # Not in a route: a proxy pays the handshake on every request it serves.
            fact = replace(fact, paced=True)
        if fact is not None and fact.client and cb.target and cb.function != MODULE and \
                _foreign_hosts(cb, collector):
            fact = replace(fact, foreign=True)
        if fact is not None and fact.client and any(
                keyword in _POOL_KEYWORDS and _outlives(ref, cb, collector)
                for _, keyword, ref in cb.passes):
            # Held-out S29: agenta's broker acks through `Redis(connection_pool=self.pool)`.
            fact = replace(fact, pooled=True)
        if fact is not None and fact.client and _pinned(cb, collector):
            fact = replace(fact, pinned=True)
        if fact is not None and fact.client and _unused(cb, collector, catalog, fact.name):
            fact = replace(fact, unused=True)
        if fact is not None and cb.handed_chain and fact.blocking and \
                lazy_call(catalog, name):
            # `await asyncio.to_thread(db.query(M).filter(c).all)`: the query is built here
            # and sent by `.all` in the thread.
            fact = replace(fact, offloaded=True)
        if fact is not None and cb.iterated and in_async:
            fact = replace(fact, iterated=True)
        if fact is not None and cb.covered:
            fact = replace(fact, covered=True)
        if fact is not None and fact.timeout == "missing" and cb.none_tested and \
                cb.function != MODULE and \
                set(cb.none_tested) & collector.functions[cb.function].timeout_sources:
            # `if self.timeout is None: requests.get(url)` / `else: requests.get(url,
            # timeout=self.timeout)`: the configuration chose no timeout (held-out S:
            # Scrapegraph-ai's fetch node).
            fact = replace(fact, timeout="chosen")
        if fact is not None and fact.timeout == "none" and _loopback(
                collector.call_nodes[cb.index],
                collector.func_nodes[cb.function] if cb.function != MODULE else None):
            # `httpx.AsyncClient(base_url=f"http://localhost:{port}", timeout=None)`: a
            # server of the same deployment (a model server the code started) chosen to
            # answer as long as a generation takes (held-out S32c: BentoML's proxy).
            fact = replace(fact, timeout="chosen")
        if fact is not None and fact.timeout == "none" and fact.client and \
                cb.function != MODULE and (cb.returned or bool(cb.target) and cb.target in
                                           collector.functions[cb.function].returned_names):
            # `return httpx.Client(timeout=None)`: a factory's written-out default for a
            # client it hands out; its callers make the requests and pass their own
            # `timeout=` where a wait must be bounded (held-out S37c: huggingface_hub's
            # client factories, chosen so in the maintainers' PR #3790).
            fact = replace(fact, timeout="chosen")
        if fact is not None and fact.timeout in ("none", "missing") and fact.client and \
                cb.function == MODULE and cb.target and _timed_per_request(cb.target, collector):
            # `client = httpx.AsyncClient(timeout=None)` at module level, and every request
            # through it passes `timeout=`: the bound is set per request (held-out S39:
            # SkyRL's router streams with `timeout=httpx.Timeout(connect=2.0, read=None)`).
            fact = replace(fact, timeout="chosen")
        if fact is not None and name == "time.sleep" and cb.loop_depth == 0 and \
                _brief_sleep(collector.call_nodes[cb.index]):
            # Not in a loop: `while locked: time.sleep(0.1)` polls for as long as it takes
            # (held-out O miss: ms-agent's file lock waits up to 120 s that way).
            fact = replace(fact, brief=True)
        if fact is not None and fact.blocking == "db" and quick_call(catalog, name) and \
                _whole_table(collector.call_nodes[cb.index]):
            fact = replace(fact, table_scan=True)
        if fact is not None and fact.blocking == "subprocess" and _quick_command(
                collector.call_nodes[cb.index], catalog.blocking.get(name)):
            fact = replace(fact, quick_command=True)
        if fact is not None and fact.blocking == "file" and cb.loop_depth == 0 and \
                quick_call(catalog, name):
            # One stat (`os.path.exists`) answers in microseconds: a helper's single check is
            # not reported at its async callers (nor does it hide the `open` after it).
            fact = replace(fact, brief=True)
        if fact is not None and name == "os.fdopen" and not cb.in_with and \
                not _opened_here(collector.call_nodes[cb.index],
                                 collector.functions[cb.function].types
                                 if cb.function != MODULE else {}):
            # It wraps a descriptor already open (stdin, a pipe): no disk work until the
            # file is read, which a `with` block around it shows (held-out N: the MCP SDK's
            # stdio transport wraps a duplicate of fd 0 and 1 at start). Not a descriptor
            # this function opened on a file (`fd = os.open(path, ...)`; held-out K:
            # skyvern writes downloads through one).
            fact = replace(fact, brief=True)
        if fact is not None and fact.blocking == "file" and cb.loop_depth == 0 and \
                _appends_text(collector.call_nodes[cb.index], name):
            # `open(log, "a")`: a line appended to a log, one buffered write (held-out M:
            # agent-zero's `PrintStyle.print`, behind 141 findings). Logging's own
            # FileHandler does the same on every record.
            fact = replace(fact, brief=True)
        if fact is not None and cb.lambda_host is not None and not fact.offloaded:
            host, position, keyword = cb.lambda_host
            fact = replace(fact, lambda_to=names.get(host, ""), lambda_position=position,
                           lambda_keyword=keyword)
        if fact is not None and keep_untagged and cb.passes and not fact.blocking:
            fact = _passed_blocking(fact, cb, resolver, catalog)
        earlier = collector.repeats.found.get(cb.index)
        if earlier is not None and earlier.call in collector.repeats.found:
            # The third parse of one response repeats the second, which repeats the first:
            # one finding, at the first repeat (held-out S31b: MemOS parsed one reply four
            # times in a row; three findings for one cleanup). Keeping the first result
            # serves them all; `--fix` takes the next on its next pass.
            earlier = None
        if fact is not None and fact.loader and earlier is not None:
            first = positions.calls[earlier.call][0]
            # Two repeats of one call on one line (`json.loads(key).get("a") +
            # json.loads(key).get("b")`) are one finding with one fix (held-out K).
            if (fact.line, first) not in repeated_lines:
                repeated_lines.add((fact.line, first))
                fact = replace(fact, repeats=first, reuse=earlier.target)
        if fact is not None:
            by_index[cb.index] = (cb, fact)

    # What a call's fact says of the calls around it (each pass updates by_index).
    _session_covered(by_index, collector)
    _own_sessions(by_index, collector)
    _block_scaled(by_index, catalog)
    calls = [fact for _, fact in by_index.values()]

    loops = []
    for lb in collector.loops:
        # A comprehension is placed by its awaited call (comprehensions have no position
        # list of their own: few of them await).
        line, _, end_line, _ = positions.loops[lb.index] if lb.index >= 0 else \
            positions.calls[lb.await_call]
        # Not a retry against a server of this machine (`httpx.get(f"http://127.0.0.1:
        # {port}/health")` until a worker it started answers; held-out S34e: gradio's
        # static workers): a readiness poll, where backoff and jitter spare no one.
        # Nor a loop whose request is a liveness probe (`client.ping()` until a Redis it
        # just started answers; held-out S40c: sotopia's Modal server).
        network = lb.retry is not None and any(
            c.function == lb.function and line <= c.line <= end_line
            and (c.timeout or c.blocking in _NETWORK)
            and c.name.rsplit(".", 1)[-1] not in _PROBES and not _loopback(
                collector.call_nodes[cb.index],
                collector.func_nodes[cb.function] if cb.function != MODULE else None)
            for cb, c in by_index.values())
        # Every request retried is one of an SDK that retries with backoff itself (OpenAI's
        # and Anthropic's clients: 2 retries, exponential, by default; held-out S36e:
        # lmms-eval's judges, 6 WEAK): the loop adds fixed waits on top of the SDK's.
        retried = [c for cb, c in by_index.values() if lb.retry is not None
                   and c.function == lb.function and line <= c.line <= end_line
                   and (c.timeout or c.blocking in _NETWORK)]
        sdk_retries = bool(retried) and all(c.name.startswith(_SELF_RETRYING) for c in retried)
        span = positions.calls[lb.await_call] if lb.await_call >= 0 else (0, 0, 0, 0)
        loops.append(LoopFact(
            line=line, end_line=end_line, kind=lb.kind, function=lb.function, depth=lb.depth,
            awaits=lb.awaits, calls=lb.calls, per_item=lb.await_call >= 0 and not lb.single,
            # A container the body writes into and the await reads (`value = await
            # step.ainvoke(result); result[key] = value`): each step sees what the earlier
            # ones wrote (held-out S27: Upsonic's passthrough). Not the item itself
            # (`source["remote"] = await fetch(source["id"])`): each is its own object.
            dependent=bool(lb.await_reads & (lb.assigned | (lb.written - lb.targets)
                                             | _containers(collector, lb)))
            # `if name in seen: continue` ... `seen.add(name)` after the await: what one
            # iteration learns skips the next ones (held-out Q: cover-agent's symbol
            # lookups, one language server answering in order).
            or bool(lb.test_reads & lb.filled & _containers(collector, lb))
            # A flag an earlier iteration set decides whether this one awaits at all
            # (`elif not sent and await intercept(item)` ... `sent = True`).
            or bool(lb.guard_reads & lb.flags)
            # A count carried from item to item that decides, through a test, whether an
            # iteration skips its work (`remaining = limit - used; if remaining <= 0:
            # continue`): a budget spent in item order (held-out S: AstrBot's cap on quoted
            # images). A count only counted (progress, a total) ties nothing.
            or bool(lb.skips and lb.counters & (lb.value_reads | lb.test_reads))
            or lb.yields or lb.prints or lb.joins or lb.deliberate
            # `for client in self.clients: await client.cleanup()`: teardown, in its order
            # and its task (catalog `[ordered] teardown`).
            or lb.teardown
            # A session shared by the iterations (`await session.get(...)` where the
            # function also calls `session.flush()`): one statement at a time.
            or bool(lb.function != MODULE and (lb.await_receivers - lb.targets)
                    & collector.functions[lb.function].db_receivers), exits=lb.exits,
            sleeps=lb.sleeps,
            await_line=span[0], await_column=span[1], await_end_line=span[2],
            await_end_column=span[3], target=lb.target_source, iterable=lb.iter_source,
            retry=lb.retry is not None,
            fixed_delay=lb.retry is not None and lb.retry.fixed_delay,
            forever=lb.retry is not None and lb.retry.forever,
            delay=lb.retry.delay if lb.retry is not None else "", network=network,
            sdk_retries=sdk_retries,
            attempts=lb.retry.attempts if lb.retry is not None else 0,
            await_name=names.get(lb.await_call, "") if lb.await_call >= 0 else "",
            discarded=lb.discarded, rare=lb.rare, typed=lb.typed, batches=lb.batches,
            batched=lb.await_call in by_index and bool(by_index[lb.await_call][1].batch),
            handed=_handed(builds.get(lb.await_call), names, resolver, catalog)
            if lb.await_call >= 0 else ""))

    groups = []
    call_groups = []
    if collector.await_groups or collector.call_groups:
        index = {id(node): i for i, node in enumerate(collector.call_nodes)}
        for group in collector.await_groups:
            called = [names.get(index[id(call)], "") for call in group.calls]
            tails = [(chain_of(call.func) or ("",))[-1].rstrip("()") for call in group.calls]
            for run in _split_on_receivers(group.receivers, called, tails, catalog):
                spans = tuple(positions.calls[index[id(group.calls[i])]] for i in run)
                groups.append(AwaitGroupFact(
                    function=group.function, line=spans[0][0], column=spans[0][1],
                    calls=spans, targets=tuple(group.targets[i] for i in run),
                    names=tuple(called[i] for i in run)))
        # Calls whose argument is a `Request(...)`: it may carry a body (a POST).
        requests_made = {cb.arg_of for cb in collector.calls
                         if cb.chain[-1].rstrip("()") == "Request" and cb.arg_of >= 0}
        for group in collector.call_groups:
            run: list[tuple[int, str]] = []
            for call, target in [*zip(group.calls, group.targets), (None, "")]:
                found = by_index.get(index[id(call)]) if call is not None else None
                if found is not None and _slow_read(*found, requests_made):
                    run.append((index[id(call)], target))
                    continue
                if call is not None and found is None:
                    # A call the catalog does not know (`label = topic.title()`), reading
                    # no result of the group: it may stay between, like a plain assignment.
                    continue
                if len(run) >= 2:
                    spans = tuple(positions.calls[i] for i, _ in run)
                    call_groups.append(AwaitGroupFact(
                        function=group.function, line=spans[0][0], column=spans[0][1],
                        calls=spans, targets=tuple(t for _, t in run),
                        names=tuple(names[i] for i, _ in run)))
                run = []

    return FileFacts(
        path=rel, lines=_count_lines(text), functions=tuple(functions), calls=tuple(calls),
        loops=tuple(loops), await_groups=tuple(groups), call_groups=tuple(call_groups),
        caches=tuple(cache_facts(collector, positions, resolved_decorators, catalog)),
        imports=tuple(sorted(collector.imported_modules)),
        bindings=_bindings(collector, resolver),
        class_bases=tuple(
            (qual, tuple(resolver.name(chain, MODULE) for chain in chains))
            for qual, chains in sorted(collector.class_base_chains.items())),
        positions=positions.source,
        handed=tuple(sorted({ref.rsplit(".", 1)[-1] for ref in collector.handed
                             if "." in ref})),
        handed_names=tuple(sorted({resolver.name((ref,), MODULE) for ref in collector.handed
                                   if "." not in ref})),
        driven=tuple(sorted({resolver.name(ch, MODULE) for ch in collector.module_driven})),
        run_handed=_run_handed(collector.module_run_handed, collector, resolver, MODULE),
        module_callees=tuple(sorted({resolver.name(ch, MODULE)
                                     for i, ch in collector.module_calls
                                     if not (i in builds and (builds[i].dead or
                                                              _switched_off(builds[i],
                                                                            collector)))})),
        private_refs=_private_refs(text, functions),
    )


_SQL_BOUNDED = re.compile(r"\b(WHERE|LIMIT)\b", re.IGNORECASE)


def _quick_command(node: cst.Call, entry: Blocking | None) -> bool:
    """The command this subprocess call runs is one of its catalog entry's
    `quick_commands`: by the program (`["pgrep", "-f", p]`) or the program and its
    subcommand (`[docker, "inspect", name]`, `"docker ps -q"`). A program given by a name
    or a call counts by the words of that name (`_docker_bin()` runs docker) when one of
    them is a program with subcommands in the list."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    commands = entry.quick_commands if entry is not None else frozenset()
    if not commands or not node.args or node.args[0].keyword is not None:
        return False
    value = node.args[0].value
    while isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
        value = value.left  # `"docker inspect " + name`
    if isinstance(value, cst.FormattedString):  # `f"docker inspect {name}"`
        text = ""
        for part in value.parts:
            if not isinstance(part, cst.FormattedStringText):
                break
            text += part.value
        words = text.split()[:2] if text.endswith(" ") else text.split()[:1]
    elif isinstance(value, cst.SimpleString):
        words = str(value.evaluated_value).split()[:2]
    elif isinstance(value, (cst.List, cst.Tuple)) and value.elements:
        words = []
        for element in value.elements[:2]:
            item = element.value
            if isinstance(item, cst.SimpleString):
                words.append(str(item.evaluated_value))
            elif not words and isinstance(item, (cst.Name, cst.Attribute, cst.Call)):
                chain = chain_of(item.func if isinstance(item, cst.Call) else item) or ()
                said = {w for part in chain for w in name_words(part.rstrip("()"))}
                found = sorted(said & {c.split(" ", 1)[0] for c in commands if " " in c})
                if not found:
                    return False
                words.append(found[0])
            else:
                break
    else:
        return False
    if not words:
        return False
    program = words[0].rsplit("/", 1)[-1]
    return program in commands or len(words) > 1 and f"{program} {words[1]}" in commands


def _whole_table(node: cst.Call) -> bool:
    """A statement whose first argument is a literal SELECT with no WHERE and no LIMIT."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    if not node.args or not isinstance(node.args[0].value, (cst.SimpleString,
                                                             cst.ConcatenatedString)):
        return False
    text = node.args[0].value.evaluated_value
    if not isinstance(text, str):
        return False
    words = text.split(None, 1)
    return bool(words) and words[0].upper() == "SELECT" and " FROM " in text.upper() and \
        not _SQL_BOUNDED.search(text)


_PRIVATE_NAME = re.compile(r"\b_\w+")
_BUILT_SUFFIX = re.compile(r"\}(_\w+)[\"']")
"""The end of a name a format string builds (`f"_{kind}_setup"`, `"_{}_handler".format`)."""


def _private_refs(text: str, functions: list[FunctionFact]) -> tuple[str, ...]:
    """FileFacts.private_refs: from the text, not the tree, so that every mention counts —
    a call, a reference, an import, a string, a comment — and an unsure one keeps the
    function (a comment naming it, a name that is also a local variable's)."""
    counts = Counter(_PRIVATE_NAME.findall(text))
    if not counts:
        return ()
    defined = Counter(fn.name for fn in functions if fn.name.startswith("_"))
    # `getattr(self, f"_{config_type}_setup")` may call any `_..._setup` (held-out S38:
    # cua-bench's setup controller, its handlers called dead): "*_setup" stands for them.
    built = {"*" + end for end in _BUILT_SUFFIX.findall(text) if len(end) > 2}
    return tuple(sorted(built | {name for name, n in counts.items()
                                 if n > defined.get(name, 0)
                                 and not (name.startswith("__") and name.endswith("__"))}))


def _missing_key(cb: CallBuild, collector: FactCollector) -> bool:
    """An argument reads a key a module-level dict display does not have (`requests.get(
    URLS["zipcode"].format(...))` where the `"zipcode"` entry is commented out), and nothing
    in the file rebinds the dict or stores into it: the KeyError comes first, the call never
    runs (held-out S41: the weather tools AgentLite, AgentBoard and AgentGym share)."""
    literal = collector.literal_dicts()
    if not literal or cb.function == MODULE:
        return False
    node = collector.call_nodes[cb.index]
    for sub in descendants(node):
        if not (isinstance(sub, cst.Subscript) and isinstance(sub.value, cst.Name)
                and len(sub.slice) == 1 and isinstance(sub.slice[0].slice, cst.Index)
                and isinstance(sub.slice[0].slice.value, cst.SimpleString)):
            continue
        name = sub.value.value
        keys = literal.get(name)
        if keys is None or name in collector.rebound_globals or \
                name in collector.stored_items or \
                _local_here(name, cb.function, collector) or any(
                    other.chain is not None and len(other.chain) >= 2
                    and other.chain[0] == name for other in collector.calls):
            continue  # `URLS.update(...)`, `URLS.get(...)`: filled or read some other way
        key = sub.slice[0].slice.value.evaluated_value
        if isinstance(key, str) and key not in keys:
            return True
    return False


def _local_here(name: str, function: int, collector: FactCollector) -> bool:
    """`name` is a local of `function` or of a function around it (not the module's)."""
    f = function
    while f != MODULE:
        fb = collector.functions[f]
        if name in fb.local_names:
            return True
        f = fb.parent
    return False


def _switched_off(cb: CallBuild, collector: FactCollector) -> bool:
    """Under `if NAME:` in a function, where the module binds NAME once, to `False` or `0`,
    and no function rebinds it (`global`): a switch its authors turned off (held-out S34c:
    helm's `TOGETHER_SUPPORTS_ASYNC_REQUESTS = False` guards a job API it never calls)."""
    if not cb.flag or collector.module_flags.get(cb.flag) != [True] or \
            cb.flag in collector.rebound_globals:
        return False
    # A local or parameter of that name is another value.
    return not _local_here(cb.flag, cb.function, collector)


def _passed_blocking(fact: CallFact, cb: CallBuild, resolver: Resolver,
                     catalog: Catalog) -> CallFact:
    """`self._call(client.post, url)` in a coroutine: a blocking method handed to a helper,
    which the link stage checks calls it (and so blocks, in this thread)."""
    for position, keyword, ref in cb.passes:
        name = resolver.name(ref, cb.function)
        blocking = catalog.blocking.get(name, suffixes=False)
        if blocking is None or catalog.sends_nothing(name):
            continue
        return replace(fact, passed=name, passed_blocking=blocking.category,
                       passed_position=position, passed_keyword=keyword,
                       replacement=blocking.instead)
    return fact


def _class_like(chain: tuple[str, ...]) -> bool:
    """`Storage`, `pkg.HttpHelper`: a name written like a class (not `CONSTANT`)."""
    last = chain[-1].rstrip("()") if chain else ""
    return last[:1].isupper() and not last.isupper()


_FACTORY_WORDS = frozenset({"client", "clients", "session", "connection", "conn", "llm",
                            "factory"})


def _factory_like(chain: tuple[str, ...]) -> bool:
    """`self.get_client()`, `make_session(cfg)`: a name that says it hands out a client;
    the link stage knows whether it builds a new one each time (link._client_wrappers)."""
    last = chain[-1].rstrip("()") if chain else ""
    return bool(_FACTORY_WORDS.intersection(name_words(last)))


def _instance_receivers(collector: FactCollector) -> dict[int, int]:
    """Calls whose result is at once the receiver of a method call (`Storage().get(k)`),
    each with that method call: in the walk's order, a call's receiver call is the next
    call met."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    found: dict[int, int] = {}
    nodes = collector.call_nodes
    for cb in collector.calls:
        if len(cb.chain) >= 2 and cb.chain[-2].endswith("()") and cb.index + 1 < len(nodes):
            func = nodes[cb.index].func
            if isinstance(func, cst.Attribute) and func.value is nodes[cb.index + 1]:
                found[cb.index + 1] = cb.index
    return found


def _handed(cb: CallBuild | None, names: dict[int, str], resolver: Resolver,
            catalog: Catalog) -> str:
    """What `await asyncio.to_thread(base64.b64encode, data)` or `loop.run_in_executor(None,
    json.dumps, obj)` hands to the thread (resolved); "" for a call that is no offload."""
    if cb is None or catalog.offload.get(names.get(cb.index, "")) is None:
        return ""
    for position, _, ref in cb.passes:
        if position in (0, 1) and ref != ("None",):
            return resolver.name(ref, cb.function)
    return ""


def _from_params(node: "cst.Call", params: set[str]) -> bool:
    """`OpenAI(api_key=api_key)`, `create_engine(url(host, user, password))` where those are
    the function's parameters, or locals taken from them (`api_key = config.api_key`; eval
    H: khoj's image generation with each user's configured key): the client is made from
    what each caller passes."""
    reads: set[str] = set()
    for arg in node.args:
        reads |= names_read(arg.value)
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    # `session.client("bedrock")` where `session = boto3.Session(aws_access_key_id=req.key)`:
    # the receiver carries the caller's credentials (eval I: onyx's Bedrock model listing).
    receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
    while isinstance(receiver, cst.Attribute):
        receiver = receiver.value
    if isinstance(receiver, cst.Name):
        reads.add(receiver.value)
    return bool(reads & (params - {"self", "cls"}))


_SPAWNS = frozenset({"subprocess.Popen", "asyncio.create_subprocess_exec",
                     "asyncio.create_subprocess_shell"})


_URL_POSITION = {"get": 0, "post": 0, "put": 0, "patch": 0, "delete": 0, "head": 0,
                 "options": 0, "request": 1, "stream": 1}
"""Where an HTTP client's request methods take the URL (`request("GET", url)`)."""


_SERVICE_URL_WORDS = ("api", "base", "endpoint", "host", "server", "service")
"""Parts of a URL parameter's name that say it is one configured service (`api_url`,
`base_url`): every call goes to the same host (eval H: khoj's Olostep reader)."""


_POOL_KEYWORDS = frozenset({"connection_pool", "pool", "http_client", "transport",
                            "connector"})
"""Keywords that hand a client the pool (or transport) it sends through: given a name or an
attribute (one made elsewhere), the client opens no connection of its own."""


def _picked_per_iteration(collector: FactCollector, cb: CallBuild) -> bool:
    """A local the loader reads (directly or through the locals it is built from) is bound
    in the body of a loop around the call to one of several values: each iteration may
    pick another (`if split == "open": path = "open.json" elif ...` then `json.load(
    open(path))`; held-out S41: evalchemy's token counter, a file per split), so the
    input is not one fixed thing read again and again, though each value is a constant."""
    loops = [collector.loop_nodes[loop.index] for loop in cb.enclosing if loop.index >= 0]
    # Module-level loops run once, at import or as a script's body: nothing to pick anew
    # (held-out S42: sql-eval's and code-act's scripts, an IndexError on a module loop).
    if not loops or cb.function == MODULE:
        return False
    node = collector.functions[cb.function].node
    assigned = set().union(*(loop.assigned for loop in cb.enclosing))
    seen: set[str] = set()
    todo = list(cb.reads)
    while todo:
        name = todo.pop()
        if name in seen or len(seen) > 20:
            continue
        seen.add(name)
        bindings = local_bindings(node, name)
        if not bindings:
            continue
        if name in assigned and any(len(bound_in(loop, name)) > 1 for loop in loops):
            return True
        for reads in bindings:
            todo.extend(reads)
    return False


def _pinned(cb: CallBuild, collector: FactCollector) -> bool:
    """The client `cb` builds is set up per call on purpose (CallFact.pinned): a request
    through it passes transport extensions (held-out S29: agenta's webhooks post to a
    checked IP with the host's TLS name, an SSRF guard), it mounts an adapter of the
    project's own (S30: data-formulator's fetch checks every redirect), or its connector
    keeps no connection (`TCPConnector(force_close=True)`; S30b: SWE-ReX's runtime), or
    it opens a websocket (`session.ws_connect(url)`: that one connection lives as long as
    the socket and is never pooled for a next call; held-out S33: lmql's LMTP client), or
    the function works with cookies (its cookie jar is per call on purpose)."""
    if cb.target and cb.function != MODULE:
        uses = [other.chain[1] for other in collector.calls_in(cb.function)
                if len(other.chain) == 2
                and other.chain[0] == cb.target]
        # It carries cookies from one request to the next (`response.cookies.items()` of
        # a response it fetched, read for Google Drive's download_warning token, then the
        # second GET; held-out S40c: LAVIS's downloader in evalscope): a jar per call on
        # purpose, which a shared session would mix across calls. Not the cookies of the
        # request a route serves (`request.cookies.get("state")`).
        mine = {cb.target} | {other.target for other in collector.calls_in(cb.function)
                              if other.target
                              and other.chain and other.chain[0] == cb.target}
        if any(other.chain is not None
               and other.chain[0] in mine and "cookies" in other.chain[1:]
               for other in collector.calls_in(cb.function)):
            return True
        # Or a helper of this module reads them from a response handed to it
        # (`token = get_confirm_token(response)`; held-out S41: Restormer's Google Drive
        # downloader, vendored in OpenAGI).
        helpers = {other.chain[0] for other in collector.calls_in(cb.function)
                   if other.chain is not None
                   and len(other.chain) == 1 and set(other.arg_names) & (mine - {cb.target})}
        if helpers and any(
                fn.parent == MODULE and fn.name in helpers and any(
                    other.chain is not None
                    and "cookies" in other.chain[1:] for other in collector.calls_in(index))
                for index, fn in enumerate(collector.functions)):
            return True
        if "ws_connect" in uses:
            # Requests beside it set up that socket (a POST that starts the conversation
            # and sets the cookie the socket is opened with; held-out S34b: gpt4free's
            # Copilot provider): they share its cookie jar, one identity per conversation.
            return True
    for other in collector.calls:
        if other.arg_of == cb.index and other.chain[-1].removesuffix("()") == \
                "TCPConnector" and "force_close" in other.kwargs:
            return True
        if cb.target and cb.function != MODULE and other.function == cb.function and \
                len(other.chain) == 2 and other.chain[0] == cb.target and (
                    "extensions" in other.kwargs
                    or other.chain[1] == "mount" and _custom_adapter(other, collector)):
            return True
    return False


def _timed_per_request(name: str, collector: FactCollector) -> bool:
    """Every method call on the module-level client `name` in this file passes `timeout=`
    (and there is one): none of its requests waits on the client's default. Only where no
    call hands the client on (`use(client)`: requests elsewhere may use the default) and
    no function has a local of that name (calls on it are told from the module client's
    by name only, so none is taken for the module client's)."""
    calls = [other for other in collector.calls if len(other.chain) == 2
             and other.chain[0] == name and other.chain[1] not in _CLIENT_UPKEEP]
    if not calls or any(name in other.arg_names for other in collector.calls):
        return False
    if any(name in fb.local_names for fb in collector.functions):
        return False
    return all("timeout" in other.kwargs for other in calls)


_CLIENT_UPKEEP = frozenset({"aclose", "close", "__aenter__", "__aexit__", "__enter__",
                            "__exit__"})
"""Methods of a client that make no request."""


def _custom_adapter(mount: CallBuild, collector: FactCollector) -> bool:
    """`session.mount("https://", SafeAdapter())`: an adapter class of the project's own
    (a send that checks each request, a pinned address), not requests' HTTPAdapter (whose
    `max_retries=` a shared session would keep just as well)."""
    held = {ref[0] for _, _, ref in mount.passes if len(ref) == 1}  # `adapter = Safe()`
    return any((inner.arg_of == mount.index or inner.function == mount.function
                and inner.target in held) and inner.chain[-1].removesuffix("()") not in
               ("HTTPAdapter", "Retry") for inner in collector.calls)


def _outlives(ref: Chain, cb: CallBuild, collector: FactCollector) -> bool:
    """A name or attribute made outside the call of `cb`'s function: an attribute, a
    parameter, a global (not a local it builds, not None)."""
    if ref == ("None",):
        return False
    if len(ref) > 1 or cb.function == MODULE:
        return True
    fb = collector.functions[cb.function]
    return ref[0] in fb.param_names or ref[0] not in fb.local_names


def _foreign_hosts(cb: CallBuild, collector: FactCollector) -> bool:
    """Every request made through the client `cb` builds (by its local name, in its own
    function) takes its URL from a parameter of that function, as a plain name."""
    params = collector.functions[cb.function].param_names - {"self", "cls"}
    requests = 0
    for other in collector.calls_in(cb.function):
        if len(other.chain) != 2 or other.chain[0] != cb.target:
            continue
        if other.chain[1] in ("close", "aclose"):
            continue
        position = _URL_POSITION.get(other.chain[1])
        if position is None:
            return False
        url = [ref for at, keyword, ref in other.passes
               if at == position or keyword == "url"]
        if not (url and len(url[0]) == 1 and url[0][0] in params) or \
                any(word in url[0][0].lower() for word in _SERVICE_URL_WORDS):
            return False
        requests += 1
    return requests > 0


def _handed_over(cb: CallBuild, name: str, receiver: str, awaited: set[int]) -> bool:
    """`await client.transcribe(file=open(path, "rb"))`, `Popen(cmd, stdout=log.open("w"))`,
    `return path.open("rb")`: the call only opens a file (microseconds) and hands the handle
    to an awaited call, a child process or the caller, which does the reading or writing.
    (`json.load(open(p))` reads right there: that one still blocks.)"""
    if name.rsplit(".", 1)[-1] not in ("open", "fdopen"):
        return False
    return cb.arg_of in awaited or receiver in _SPAWNS or cb.returned or \
        receiver.rsplit(".", 1)[-1] in _STREAMED_RESPONSES


_STREAMED_RESPONSES = frozenset({"StreamingResponse", "FileResponse", "StreamingHttpResponse"})
"""Web framework responses that send a file handed to them: the server reads it as it sends,
a sync file in its thread pool (held-out eval H: open-interpreter's
`StreamingResponse(open(path, "rb"))`)."""


_MEMO_WORDS = frozenset({"cache", "cached", "memo", "memoize", "memoized"})
"""Last words of a name that says it memoizes (`async_ttl_cache`, `lru_cache`)."""
_UNCACHING = frozenset({"no", "never", "skip", "bypass", "disable", "without", "clear",
                        "invalidate", "evict", "bust", "purge", "reset", "flush", "refresh",
                        "update", "delete", "expire"})
"""Words of a decorator's name that say it does not memoize (Django's `never_cache`, a
project's `invalidate_cache`)."""


def _memoizing(decorator: str, catalog: Catalog) -> bool:
    """A decorator that memoizes what it wraps: one the catalog names (`functools.cache`),
    or one whose last name does (`[memoize] words`: `cached`), or ends in "cache" / "cached"
    with no word that undoes it (a project's `async_ttl_cache(maxsize=1, ttl=600)`,
    held-out S43: mage-ai's PyPI version check, taken for a session built per call)."""
    if catalog.memoize.get(decorator) is not None:
        return True
    last = decorator.rsplit(".", 1)[-1]
    if last in catalog.memo_words:
        return True
    words = last.lower().strip("_").split("_")
    return len(words) > 1 and words[-1] in _MEMO_WORDS and not _UNCACHING.intersection(words)


_CACHE_WORDS = _MEMO_WORDS | {"lazy", "once", "singleton"}


def _cached_factory(cb: CallBuild, names: dict[int, str]) -> bool:
    """Built in a lambda handed to a helper named for a cache (`_get_cached_client(key,
    lambda: Mistral(api_key=key))`): the helper calls it on a miss only (held-out S34f:
    PromptLayer's provider clients, an LRU cache keyed by API key)."""
    if cb.lambda_host is None:
        return False
    host = names.get(cb.lambda_host[0], "").rsplit(".", 1)[-1]
    return bool(set(name_words(host)) & _CACHE_WORDS)


def _kept_by_keeper(cb: CallBuild, collector: FactCollector, names: dict[int, str],
                    catalog: Catalog) -> bool:
    if not catalog.keeper_functions:
        return False

    def keeps(index: int) -> bool:
        name = names.get(index, "")
        return name in catalog.keeper_functions or \
            name.rsplit(".", 1)[-1] in catalog.keeper_functions
    if cb.arg_of >= 0 and keeps(cb.arg_of):
        return True
    return bool(cb.target) and any(
        cb.target in other.arg_names and keeps(other.index)
        for other in collector.calls_in(cb.function))


def _makes_returned_client(cb: CallBuild, builds: dict[int, CallBuild],
                           names: dict[int, str], catalog: Catalog,
                           receivers: Mapping[int, int]) -> bool:
    """`return boto3.session.Session(**creds).client("s3")`: what `cb` builds makes, right
    away, the client a factory returns (held-out S34e: metaflow's client provider)."""
    outer = builds.get(receivers.get(cb.index, -1))
    return outer is not None and outer.returned and \
        catalog.clients.get(names.get(outer.index, "")) is not None


def _escape(fact: CallFact, cb: CallBuild, collector: FactCollector,
            builds: dict[int, CallBuild], names: dict[int, str], catalog: Catalog,
            receivers: Mapping[int, int]) -> CallFact:
    """Whether a constructed client outlives the call that built it. A factory returns it
    (`return OpenAI()`, or through a local); `OpenAI(http_client=httpx.Client())` gives
    the inner client to the outer one; a local stored into an attribute or a container (or
    built right into one), or
    handed to a call whose result is returned or stored, escapes too."""
    owned = cb.arg_of >= 0 and catalog.clients.get(names.get(cb.arg_of, "")) is not None
    # Kept in a container (`params.update({"http_client": httpx.AsyncClient()})` then
    # `return OpenAI(**params)`; held-out S29: Agently's client factories): the container's
    # fate, not this call, decides whether it is reused.
    owned = owned or cb.contained
    # Installed as a library's process-wide default (`set_default_openai_client(client)`,
    # catalog `[handles] keepers`): built once for every later call.
    owned = owned or _kept_by_keeper(cb, collector, names, catalog)
    returned = cb.returned or _makes_returned_client(cb, builds, names, catalog, receivers)
    shared = cb.guarded or _cached_factory(cb, names)
    # A websocket handler runs once per connection, for the whole exchange: a client it
    # builds serves that connection (held-out S34b: Open-Assistant's worker socket keeps
    # a Redis connection of its own for blocking pops).
    shared = shared or cb.function != MODULE and \
        _websocket_handler(collector.functions[cb.function].decorators)
    if cb.target and cb.function != MODULE:
        fb = collector.functions[cb.function]
        # `client = client or httpx.AsyncClient()`: a default for what the caller may
        # pass; callers that care pass their own.
        shared = shared or cb.target in fb.param_names
        # In a web route the function runs per request, so even a client shared by
        # the request's batch is built per request.
        # A wrapper made from it serves through it (`storage = Storage(session=session)`
        # then `await storage.upload(...)` per file; held-out S28: cua's bucket upload).
        if not _route_handler(fb.decorators) and _serves_batch(cb, cb.target, collector):
            shared = True
        # Read by a handler the function registers (a nested `@app.post(...)` or
        # `@bot.event` def): built once per run of this setup function, it serves every
        # request those handle (held-out S33: augmentoolkit's model server and Discord bot).
        shared = shared or _read_by_handler(cb, collector)
        returned = returned or _local_kept(cb.target, cb.function, collector, names, catalog)
    elif cb.function != MODULE and cb.arg_of >= 0 and not owned:
        # Built right into the arguments of what is returned or stored (`kwargs["llm"] =
        # llm_factory(m, client=AsyncOpenAI())` then `return metric_cls(**kwargs)`;
        # held-out S35: haystack's ragas deserializer), as `c = Client(); return
        # Wrapper(client=c)` above: the object made with it keeps it.
        returned = returned or _kept_holder(cb, builds, collector, names, catalog)
        # Built right into the arguments of what a local holds (`embed =
        # OpenAIEmbedding(http_client=httpx.AsyncClient())`, that handed to the evaluator a
        # loop calls; held-out S29b: bisheng's offline scoring): it serves what that does.
        holder = "" if returned else _holder(cb, builds)
        if holder and not _route_handler(collector.functions[cb.function].decorators) and \
                _serves_batch(cb, holder, collector):
            shared = True
    # Handed out as built: returned directly, or through a local only returned.
    fresh = False
    if returned and not shared and not cb.lazy and cb.function != MODULE:
        fb = collector.functions[cb.function]
        fresh = cb.returned or bool(cb.target) and cb.target in fb.returned_names \
            and cb.target not in fb.escaped_names
    if returned or owned or shared:
        return replace(fact, returned=returned, owned=owned, shared=shared, fresh=fresh)
    return fact


def _local_kept(target: str, function: int, collector: FactCollector, names: dict[int, str],
                catalog: Catalog, depth: int = 0) -> bool:
    """The local `target` outlives the call of `function`: returned or stored, handed to a
    call whose result is returned or stored, or to a client (`return Wrapper(client=c)`),
    or the receiver of a client built and kept (`return session.client("s3")`); or handed
    to an object a local holds that is itself kept so (`handler = Handler(sender=s)` then
    `return App(handler)`; held-out S45: any-agent's A2A app keeps its push sender's client).
    """
    fb = collector.functions[function]
    if target in fb.returned_names or target in fb.escaped_names:
        return True
    for other in collector.calls_in(function):
        if depth < _HOLDER_DEPTH and target in other.arg_names and other.target and \
                other.target != target and _makes_object(names.get(other.index, "")) and \
                _local_kept(other.target, function, collector, names, catalog, depth + 1):
            return True
        # Through a local too: `client = session.client(...)` ... `return client`
        # (held-out Y: awslabs/mcp's client cache builds a session per miss).
        kept = other.returned or other.lazy or bool(other.target) and (
            other.target in fb.returned_names or other.target in fb.escaped_names)
        is_client = catalog.clients.get(names.get(other.index, "")) is not None
        # `return client.get_bucket(name)`: the bucket keeps the client it came from
        # (held-out S36b: langchain-google's GCS bucket getter).
        handle = len(other.chain) == 2 and (
            other.chain[1] in catalog.handle_methods
            # `return await session.client("s3").__aenter__()`: the client made from it
            # is handed out (held-out S40c: inspect_ai's aioboto3 factory).
            or other.chain[1].removesuffix("()") in catalog.client_makers)
        if (target in other.arg_names and (kept or is_client)) or (
                (is_client or handle) and kept and other.chain[0] in (target, target + "()")):
            return True
    return False


def _kept_holder(cb: CallBuild, builds: dict[int, CallBuild], collector: FactCollector,
                 names: dict[int, str], catalog: Catalog) -> bool:
    """A call `cb` is built into the arguments of (or the one that call is an argument of,
    and so on up) is returned, stored into an attribute or a container, or held by a local
    that outlives the call."""
    up = builds.get(cb.arg_of)
    if up is None or not _makes_object(names.get(up.index, "")):
        # `return fetch(url, client=httpx.Client())` returns what the client fetched.
        return False
    while up is not None:
        if up.returned or up.lazy or up.contained:
            return True
        if up.target:
            return _local_kept(up.target, up.function, collector, names, catalog)
        up = builds.get(up.arg_of)
    return False


_MAKER_WORDS = frozenset({"factory", "make", "build", "new", "from"})
_HOLDER_DEPTH = 3
"""Objects made around one another (sender, handler, app) followed to what keeps them."""


def _makes_object(name: str) -> bool:
    """A class (`Wrapper`) or a function named for making one (`llm_factory`,
    `make_agent`), or a class held in a setting (`config.sender_type(...)`, `self.
    client_cls(...)`): what it returns holds what it was given. Not `create`: an API
    helper creates a completion with the client (held-out S34c: openai/evals'
    `openai_completion_create_retrying(OpenAI(...), ...)` per sample)."""
    last = name.rsplit(".", 1)[-1].rstrip("()")
    return last[:1].isupper() or bool(_MAKER_WORDS.intersection(name_words(last))) or \
        last.endswith(("_cls", "_class", "_type")) or last in ("cls", "klass")


def _read_by_handler(cb: CallBuild, collector: FactCollector) -> bool:
    """A def nested in the function that outlives the call reads the local the call is
    assigned to: a decorated one (a route, an event handler, a decorator's wrapper), or
    one the function stores or returns (`runtime._request = _request`; held-out S38b: ART's
    patched sandbox runtime keeps its session that way). The object outlives the call.
    Also through a sibling def that reads it (`async def _get_token(): return await
    client.get_token()`, called by the `@wraps(func)` wrapper; held-out S40: bedrock
    agentcore's auth decorator builds one identity client per decorated function)."""
    outer = collector.functions[cb.function]
    kept = outer.escaped_names | outer.returned_names
    inner = [collector.functions[i] for i in collector.children_of(cb.function)]
    reads = {id(fb): names_read(fb.node.body) for fb in inner}
    wanted = {cb.target}
    for _ in range(_SERVING_DEPTH):
        grown = wanted | {fb.name for fb in inner if wanted & reads[id(fb)]}
        if grown == wanted:
            break
        wanted = grown
    return any((fb.decorators or fb.name in kept) and wanted & reads[id(fb)] for fb in inner)


def _holder(cb: CallBuild, builds: dict[int, CallBuild]) -> str:
    """The local that holds the call `cb` is an argument of (or the one that call is an
    argument of, and so on up), or ""."""
    up = builds.get(cb.arg_of)
    while up is not None and not up.target:
        up = builds.get(up.arg_of)
    return up.target if up is not None else ""


_SERVING_DEPTH = 3
"""Wrappers followed from a client to what uses it (`embed` -> `service_context` ->
`evaluator`)."""


_WORKFLOW_CALLS = 3
"""Calls a client is handed to, in the function that builds it, that make it one client
for a whole workflow (_serves_batch)."""


def _serves_batch(cb: CallBuild, handle: str, collector: FactCollector) -> bool:
    """`handle` (the client `cb` builds, or what holds it) serves a batch: a call through it,
    or through a wrapper made from it later in the function (`storage = Storage(session=
    session)` then `await storage.upload(...)` per file; held-out S28: cua's bucket upload),
    runs per item of a loop or comprehension deeper than `cb`, or (a `with` session) in a
    coroutine nested in the function (the tasks of a gather). Its setup is paid once for
    all the items (a crawl reusing one session), and so does a nested def using it that the
    function calls per item (`def fetch(url): return session.get(url)` called in a loop;
    held-out S32: gpt_academic's scholar search). A plain local used by a nested def is
    not enough: that def may run once (`await asyncio.to_thread(_tx)`)."""
    own = collector.calls_in(cb.function)
    later = [other for other in own if other.target and other.index > cb.index]
    serving = {handle}
    for _ in range(_SERVING_DEPTH):
        grown = serving | {other.target for other in later if serving & set(other.arg_names)}
        if grown == serving:
            break
        serving = grown
    # Handed to three or more calls of the function (`await self._create_persons(client)`,
    # then deals, then notes): the client serves a workflow of helpers, each with requests
    # of its own (held-out S39: airweave's Pipedrive harness opens one per phase).
    handed = sum(1 for other in own
                 if other.index > cb.index and serving & set(other.arg_names))
    if handed >= _WORKFLOW_CALLS:
        return True
    # Only its own calls and those of the defs nested in it can use it.
    for other in (*own, *(call for inner in collector.nested_in(cb.function)
                          for call in collector.calls_in(inner))):
        uses = other.chain[0].removesuffix("()") in serving or \
            bool(serving & set(other.arg_names))
        # A loop over chunks of one request's input makes a few requests: the client is
        # still built per call of the function; so does a retry loop, which makes one
        # request when the first attempt works (held-out S35b: marker's OpenAI service
        # retries its request on rate limits with the client it just built).
        chunked = other.loop is not None and (other.loop.chunked or other.loop.retry is not None)
        if uses and not chunked and (
                (other.function == cb.function and other.loop_depth > cb.loop_depth)
                or (other.function != cb.function
                    and _nested_in(collector, other.function, cb.function)
                    and (cb.in_with or _called_per_item(collector, other.function, cb)))):
            return True
    return False


_MAPPERS = frozenset({"map", "imap", "imap_unordered", "starmap", "map_async",
                      "starmap_async", "thread_map", "process_map"})
"""Calls that run the function they are handed once per item (`executor.map(fetch,
urls)`, `pool.imap(...)`, tqdm's `thread_map`)."""


def _called_per_item(collector: FactCollector, inner: int, cb: CallBuild) -> bool:
    """The def around `inner` that sits right in `cb`'s function is called by name in a
    loop or comprehension deeper than `cb`, or handed by name to a call made there
    (`executor.submit(translate_one, item)` per item; held-out S40c: evalscope's README
    translator shares one client across its thread pool) or to a mapper (`pool.map(fetch,
    urls)`)."""
    while collector.functions[inner].parent != cb.function:
        inner = collector.functions[inner].parent
    name = collector.functions[inner].name
    for other in collector.calls_in(cb.function):
        if other.chain == (name,) and other.loop_depth > cb.loop_depth:
            return True
        handed = name in other.arg_names
        if handed and (other.loop_depth > cb.loop_depth or other.chain is not None and
                       other.chain[-1].removesuffix("()") in _MAPPERS):
            return True
    return False


def _route_handler(decorators: list[Chain]) -> bool:
    return is_route([".".join(d) for d in decorators])


def _websocket_handler(decorators: list[Chain]) -> bool:
    """`@router.websocket("/ws")`, `@app.websocket_route(...)`: runs once per connection."""
    return any(d and d[-1] in ("websocket", "websocket_route") for d in decorators)


def _containers(collector: FactCollector, lb: LoopBuild) -> set[str]:
    """Mutable containers of the loop's function (and the functions around it) that are
    not made per iteration: handed to each iteration's awaited call (`await map(part,
    seen_ids)`), they carry state from one iteration to the next."""
    found: set[str] = set()
    f = lb.function
    while f != MODULE:
        fb = collector.functions[f]
        found |= fb.containers
        f = fb.parent
    return found - lb.assigned - lb.targets


LONG_TIMEOUT_SECONDS = 900
"""Calls of a quarter of an hour or more (a sandbox run streamed back, a long job): five
minutes is an ordinary LLM timeout, whose requests still gain from a kept connection."""


BRIEF_SLEEP_SECONDS = 0.01


def _admin(fb: FuncBuild, catalog: Catalog) -> bool:
    """Its name, a decorator as written (`@admin_router.post(...)`, before the router
    resolves to `fastapi.APIRouter.post`) or a request dependency it declares (`_: User =
    Depends(current_admin_user)`, `Depends(require_permission(Permission.ADMIN_ACCESS))`:
    held-out S31, onyx's admin routes are guarded so) has a word of the catalog's
    `[setup] admin`."""
    words = name_words(" ".join((fb.name, *(".".join(d) for d in fb.decorators),
                                 *fb.guards)))
    return any(word in catalog.admin_words for word in words)


def _brief_sleep(node: cst.Call) -> bool:
    """`time.sleep(0.001)`: a positional literal of at most BRIEF_SLEEP_SECONDS."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    if len(node.args) != 1 or node.args[0].keyword is not None:
        return False
    value = node.args[0].value
    if isinstance(value, (cst.Integer, cst.Float)):
        try:
            return float(value.value) <= BRIEF_SLEEP_SECONDS
        except ValueError:
            return False
    return False


_OPENS = frozenset({"open", "io.open", "codecs.open", "pathlib.Path.open"})


def _appends_text(node: cst.Call, name: str) -> bool:
    """`open(path, "a")`, `open(path, mode="a+")`, `path.open("a")`: a text file opened to
    append (not "ab": binary appends are data, downloads written in chunks)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    if name not in _OPENS:
        return False
    position = 0 if name == "pathlib.Path.open" else 1
    for i, arg in enumerate(node.args):
        if (arg.keyword is not None and arg.keyword.value == "mode") or (
                arg.keyword is None and i == position and not arg.star):
            if not isinstance(arg.value, cst.SimpleString):
                return False
            mode = arg.value.evaluated_value
            return isinstance(mode, str) and "a" in mode and "b" not in mode
    return False


def _opened_here(node: cst.Call, types: dict) -> bool:
    """`os.fdopen(os.open(path, flags))`, or of a local bound to `os.open(...)`."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    if not node.args:
        return False
    value = node.args[0].value
    chain = chain_of(value.func) if isinstance(value, cst.Call) else \
        types.get(value.value, ()) if isinstance(value, cst.Name) else ()
    return bool(chain) and chain[-1].rstrip("()") == "open"


_ARCHIVE_DISK_WORK = frozenset({"add", "write", "extract", "extractall"})
"""Methods of an archive in memory that still read or write files on disk (`tf.add(path)`,
`zf.write(filename)`, `zf.extractall(dest)`)."""


def _file_offload(cb: CallBuild, name: str, resolver: Resolver, catalog: Catalog) -> bool:
    """`await asyncio.to_thread(path.read_text)`: file work handed to a thread — I/O, but
    of a local disk, as `aiofiles` is (held-out Y: crawlee's file-system storage reads each
    stored item's JSON that way; three loops of it were ranked high)."""
    if catalog.offload.get(name) is None:
        return False
    for position, _, ref in cb.passes:
        if position in (0, 1) and ref != ("None",):
            return file_work(resolver.name(ref, cb.function), catalog)
    return False


def _runner_params(fb: FuncBuild) -> tuple[int, ...]:
    """FunctionFact.runner_params: the positions callers pass the parameters at that the
    function hands to a loop runner."""
    if not fb.driven_params:
        return ()
    return tuple(i for i, name in enumerate(_caller_params(fb)) if name in fb.driven_params)


def _caller_params(fb: FuncBuild) -> list[str]:
    """The positional parameters as a caller fills them: a method's instance aside."""
    params = list(fb.positional_params)
    if fb.class_name and "staticmethod" not in {d[-1] for d in fb.decorators if d}:
        params = params[1:]  # called as a bound method: the first is the instance
    return params


def _run_handed(handed: list[tuple[Chain, int, Chain]], collector: FactCollector,
                resolver: Resolver, scope: int) -> tuple[str, ...]:
    """FunctionFact.run_handed: (callee, position, coroutine function) as resolved names; a
    parameter handed on by its bare name (link's _runner_positions: a runner's wrapper)."""
    params = collector.functions[scope].param_names if scope != MODULE else set()
    return tuple(sorted({f"{resolver.name(outer, scope)}\t{position}\t"
                         + (inner[0] if len(inner) == 1 and inner[0] in params else
                            _driven_name(collector, resolver, inner, scope))
                         for outer, position, inner in handed}))


def _hand_to_runners(collector: FactCollector, resolver: Resolver) -> None:
    """`run_async_in_thread(poll(session))` where this file's `run_async_in_thread(coro)`
    hands `coro` to `loop.run_until_complete` (FuncBuild.driven_params): `poll` is driven
    by a loop runner, as under `asyncio.run(poll(...))` (held-out X: awesome-llm-apps'
    Slack bot runs each event's coroutine on a new loop in a worker thread)."""
    funcs = collector.functions
    runners = {fb.qualname: fb for fb in funcs if fb.driven_params}
    if not runners:
        return
    by_index = {cb.index: cb for cb in collector.calls}
    for cb in collector.calls:
        outer = by_index.get(cb.arg_of) if cb.arg_position >= 0 else None
        if outer is None:
            continue
        fb = runners.get(resolver.name(outer.chain, outer.function))
        if fb is None:
            continue
        params = _caller_params(fb)
        if cb.arg_position < len(params) and params[cb.arg_position] in fb.driven_params:
            if cb.function != MODULE:
                funcs[cb.function].driven_chains.append(cb.chain)
            else:
                collector.module_driven.append(cb.chain)


def _driven_name(collector: FactCollector, resolver: Resolver, chain: Chain,
                 scope: int) -> str:
    """The name of a coroutine function handed to a loop runner: a def nested in the
    function (or in one around it) by its qualname, which the link stage knows
    (`def cmd_sync(): async def _sync(): ...; asyncio.run(_sync())`; held-out S27:
    marvin's index script), anything else as the resolver names it."""
    if len(chain) == 1:
        f = scope
        while f != MODULE:
            for fb in collector.functions:
                if fb.parent == f and fb.name == chain[0]:
                    return fb.qualname
            f = collector.functions[f].parent
    return resolver.name(chain, scope)


def _bindings(collector: FactCollector, resolver: Resolver) -> tuple[tuple[str, str], ...]:
    """What a module-level name stands for when another module imports it: an import
    (`from .base import Base`), or the class of an instance made at module level
    (`sources_db = DatabaseService(...)`: `sources_db.execute_query` imported elsewhere is
    `DatabaseService.execute_query`; held-out X: awesome-llm-apps' beifong services all
    query through such singletons)."""
    found = dict(collector.imports)
    for name, (_, where) in collector.module_types.items():
        if where == MODULE and name not in found:
            typ = resolver.name((name,), MODULE)
            if typ and not typ.startswith(UNKNOWN) and typ != name:
                found[name] = typ
    return tuple(sorted(found.items()))


def _async_twin_name(method: str) -> bool:
    """A method named as the async twin of a sync one (`ainvoke`, `agenerate`, `acall`,
    `complete_async`, `run_async`): objects that offer both kinds (LangChain's models,
    many SDK clients) have sync methods that do block."""
    return method.endswith(("_async", "async")) or len(method) > 3 and \
        method.startswith("a") and not method.startswith(("add", "append", "apply", "assert"))


def _kept_in_self(node: cst.Call, scope: cst.CSTNode) -> list[str]:
    """`self.conn = <node>`: the attribute of self the call's result is kept in."""
    return [f"self.{t.target.attr.value}" for sub in descendants(scope)
            if isinstance(sub, cst.Assign) and sub.value is node
            for t in sub.targets if isinstance(t.target, cst.Attribute)
            and isinstance(t.target.value, cst.Name) and t.target.value.value == "self"]


def _on_memory_db(cb: CallBuild, memory_dbs: set[tuple[int, str]]) -> bool:
    """A statement on a connection made to an in-memory database: through the local it
    was bound to in the same function (`conn.execute`, `conn.cursor().execute`), or the
    attribute of `self` it was kept in (`self.conn.execute`, in any method)."""
    parts = [part.rstrip("()") for part in cb.chain[:-1]]
    if not parts:
        return False
    if (cb.function, parts[0]) in memory_dbs:
        return True
    return len(parts) >= 2 and parts[0] == "self" and any(
        target == f"self.{parts[1]}" for _, target in memory_dbs)


def _in_process(node: cst.Call) -> bool:
    """A string argument naming SQLite's, Qdrant's or DuckDB's in-memory store
    (`":memory:"`, `"sqlite:///:memory:"`)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    return any(isinstance(arg.value, cst.SimpleString) and ":memory:" in arg.value.value
               for arg in node.args)


_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")

_URL_OPENERS = frozenset({"urllib.request.urlopen", "urllib.urlopen", "urllib2.urlopen"})
_INLINE_SCHEMES = ("data:", "file:")


def _inline_url(node: cst.Call, scope: cst.FunctionDef | None) -> bool:
    """urlopen's URL is a `data:` or `file:` URL, which it decodes or reads without a
    socket: a string that starts so, or a name the function refuses to go on with unless it
    does (`if not uri.startswith("data:"): raise ValueError(...)` in its body, before the
    statement that holds the call)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    from optadvisor.analyze.walk import walk  # imports libcst: not on a warm scan's path

    value = node.args[0].value if node.args and node.args[0].keyword is None else None
    if isinstance(value, cst.SimpleString):
        return _inline_scheme(value)
    if not isinstance(value, cst.Name) or scope is None or \
            not isinstance(scope.body, cst.IndentedBlock):
        return False
    guarded = False
    for statement in scope.body.body:
        if guarded:
            found = _Finds(node)
            walk(statement, found)
            if found.found:
                return True
        elif _scheme_guard(statement, value.value):
            guarded = True
    return False


def _inline_scheme(value: cst.BaseExpression) -> bool:
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    return isinstance(value, cst.SimpleString) and \
        value.value.lstrip("rbuRBU").strip("\"'").startswith(_INLINE_SCHEMES)


def _scheme_guard(statement: cst.BaseStatement, name: str) -> bool:
    """`if not NAME.startswith("data:"): ... raise|return` with no `else`."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    test = statement.test
    if not (isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
            and isinstance(test.expression, cst.Call)):
        return False
    call = test.expression
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "startswith"
            and isinstance(func.value, cst.Name) and func.value.value == name
            and len(call.args) == 1):
        return False
    arg = call.args[0].value
    prefixes = [arg] if isinstance(arg, cst.SimpleString) else \
        [e.value for e in arg.elements] if isinstance(arg, cst.Tuple) else []
    if not prefixes or not all(_inline_scheme(p) for p in prefixes):
        return False
    body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
    last = body[-1] if body else None
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Raise, cst.Return)) for s in last.body)


class _Finds:
    """A walk.py visitor: whether one node is under the one walked."""

    def __init__(self, target: cst.CSTNode) -> None:
        self.target = target
        self.found = False

    def visit_Call(self, node: cst.Call) -> bool:
        if node is self.target:
            self.found = True
        return not self.found


def _loopback(node: cst.Call, scope: cst.FunctionDef | None) -> bool:
    """The URL the call is given (its first argument, `url=` or `base_url=`) is on this
    machine: a string naming localhost, or a local the function assigns one to
    (`proxy_url = f"http://localhost:{port}"`), or a name or attribute that says so
    (`f"{self.local_api_url}startup-events"`: held-out S34e, gradio asks its own server)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    from optadvisor.analyze.walk import walk  # imports libcst: not on a warm scan's path

    value = next((arg.value for arg in node.args if arg.keyword is not None
                  and arg.keyword.value in ("url", "base_url")), None)
    if value is None and node.args and node.args[0].keyword is None:
        value = node.args[0].value
    if isinstance(value, cst.Name) and scope is not None:
        assigned = _Assigned(value.value)
        walk(scope.body, assigned)
        if len(assigned.values) == 1:
            value = assigned.values[0]
    if isinstance(value, cst.FormattedString) and value.parts and \
            isinstance(value.parts[0], cst.FormattedStringExpression):
        value = value.parts[0].expression  # `f"{base}/path"`: the host is in `base`
    if isinstance(value, (cst.Name, cst.Attribute)):
        last = value.value if isinstance(value, cst.Name) else value.attr.value
        return bool({"local", "localhost", "loopback"} & set(name_words(last)))
    if not isinstance(value, (cst.SimpleString, cst.FormattedString,
                              cst.ConcatenatedString)):
        return False
    text = "".join(part.value for part in value.parts
                   if isinstance(part, cst.FormattedStringText)) \
        if isinstance(value, cst.FormattedString) else cst.Module([]).code_for_node(value)
    return any(host in text for host in _LOOPBACK)


_CLOSE_WORDS = frozenset({"close", "aclose", "disconnect", "shutdown", "release", "dispose",
                          "terminate"})
"""Words of a method that ends a client or connection (`close_connection`, `aclose`)."""


def _closes(scope: cst.CSTNode, name: str) -> bool:
    """The function ends the client bound to `name`: `name.close()`, `await name.aclose()`,
    or hands it to a method named for closing (`self.close_connection(name)`)."""
    from optadvisor.analyze.walk import walk  # imports libcst: not on a warm scan's path

    found = _Closer(name)
    walk(getattr(scope, "body", scope), found)  # the body: a nested def is not this function
    return found.closed


class _Closer:
    """A walk.py visitor for _closes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def visit_Call(self, node: cst.Call) -> None:
        import libcst as cst  # here, not at the top: a warm scan never imports libcst

        chain = chain_of(node.func)
        if self.closed or not chain:
            return
        if not _CLOSE_WORDS.intersection(name_words(chain[-1])):
            return
        if len(chain) == 2 and chain[0] == self.name:
            self.closed = True
        elif any(isinstance(arg.value, cst.Name) and arg.value.value == self.name
                 for arg in node.args):
            self.closed = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    visit_ClassDef = visit_Lambda = visit_FunctionDef  # type: ignore[assignment]


class _NameReads:
    """A walk.py visitor: how often a function reads one plain name, not counting where it
    is bound (`s = ...`, `with ... as s`) nor where one of its attributes is set (`s.x =
    ...`): setting an attribute sends nothing through the object."""

    def __init__(self, name: str, config_reads: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.reads = 0
        self.config = 0
        """Reads that only look at local configuration (`s.region_name`,
        `s.get_credentials()`: the catalog's `[handles] config_reads`)."""
        self._config_reads = config_reads
        self._written: set[int] = set()

    def _write(self, target: cst.BaseExpression) -> None:
        import libcst as cst  # here, not at the top: a warm scan never imports libcst

        if isinstance(target, cst.Name) and target.value == self.name:  # `s = ...`
            self._written.add(id(target))
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and \
                target.value.value == self.name:  # `s.keep_alive = False`
            self._written.add(id(target.value))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._write(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._write(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._write(node.name)  # type: ignore[arg-type]

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name and id(node) not in self._written:
            self.reads += 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        import libcst as cst  # here, not at the top: a warm scan never imports libcst

        value = node.value
        if isinstance(value, cst.Name) and value.value == self.name and \
                node.attr.value in self._config_reads and id(value) not in self._written:
            self.config += 1


def _unused(cb: CallBuild, collector: FactCollector, catalog: Catalog, name: str) -> bool:
    """The client `cb` builds is bound to a local the function never reads but to set its
    attributes: nothing is sent through it (held-out S34 FP: FinGPT's scraper builds
    `s = requests.session()`, sets `s.keep_alive = False`, then calls `requests.get`).
    Reusing it would save nothing; the line is dead code, which is not this rule's. So is
    a session only asked for its configuration (`boto3.Session().region_name`,
    `session.get_credentials()` to sign a URL: held-out S40, bedrock agentcore): it builds
    no client and opens no connection; and one only used to make clients
    (`session.client("s3")`): those are the clients that send, and each is a finding of
    its own where it is not kept (held-out S40c: inspect_ai's S3 factory returns one)."""
    from optadvisor.analyze.walk import walk  # imports libcst: not on a warm scan's path

    if cb.function == MODULE:
        return False
    # Only makers whose clients are catalog clients (reported themselves): not aioboto3's.
    quiet = catalog.config_reads | frozenset(
        m for m in catalog.client_makers if catalog.clients.get(f"{name}.{m}") is not None)
    if not cb.target:
        # `boto3.Session().region_name`, `boto3.Session().get_credentials()`
        read = _AttributeOf(collector.call_nodes[cb.index])
        walk(collector.func_nodes[cb.function], read)
        return read.attr in quiet
    reads = _NameReads(cb.target, quiet)
    walk(collector.func_nodes[cb.function], reads)
    return reads.reads == reads.config


class _AttributeOf:
    """A walk.py visitor: the attribute read right off one node (`node.region_name`)."""

    def __init__(self, node: cst.CSTNode) -> None:
        self.node = node
        self.attr = ""

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.value is self.node:
            self.attr = node.attr.value


class _Assigned:
    """A walk.py visitor: the values a function's body assigns to one plain name (`url =
    ...`), nested defs and classes left out."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: list[cst.BaseExpression] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        if any(getattr(t.target, "value", None) == self.name for t in node.targets):
            self.values.append(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    visit_ClassDef = visit_Lambda = visit_FunctionDef  # type: ignore[assignment]


def _file_sessions(collector: FactCollector) -> set[tuple[int, str]]:
    """(function, receiver) of sessions a `file://` adapter is mounted on
    (`s.mount("file://", FileAdapter())`, requests-file): they read local files."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    out: set[tuple[int, str]] = set()
    for cb in collector.calls:
        if len(cb.chain) >= 2 and cb.chain[-1] == "mount":
            args = collector.call_nodes[cb.index].args
            first = args[0].value if args else None
            if isinstance(first, cst.SimpleString) and \
                    first.value.strip("rbuRBU").strip("\"'").startswith("file:"):
                out.add((cb.function, ".".join(cb.chain[:-1])))
    return out


_FILE_SECOND = frozenset({"torch.save", "pickle.dump", "json.dump", "joblib.dump", "yaml.dump",
                          "marshal.dump", "dill.dump", "cloudpickle.dump"})
"""Writers that take the object first and the file second (`torch.save(obj, f)`)."""


def _in_memory(node: cst.Call, types: Mapping[str, Chain], name: str = "") -> bool:
    """File work on a buffer built right there: `zipfile.ZipFile(io.BytesIO(data))`,
    `tarfile.open(fileobj=io.BytesIO(data))` (held-out N: private-gpt unpacks an uploaded
    zip it already holds), or on a local bound to one (`buffer = BytesIO()` then
    `np.save(buffer, array)`; held-out S32: morphik serialises embeddings so; `torch.save(
    tensor, buffer)`, the file second: held-out S43c, Kokoro-FastAPI's voice tensors)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    args = node.args[1:] if name in _FILE_SECOND else node.args
    for arg in args:
        if arg.keyword is None or arg.keyword.value in ("file", "fileobj", "f", "fp"):
            value = arg.value
            if isinstance(value, cst.Call):
                chain = chain_of(value.func)
                if chain and chain[-1] in ("BytesIO", "StringIO"):
                    return True
            if isinstance(value, cst.Name) and \
                    (types.get(value.value) or ("",))[-1] in ("BytesIO()", "StringIO()"):
                return True
            if arg.keyword is None:
                break  # only the first positional argument is the file
    return False


def _nonblocking(node: cst.Call) -> bool:
    """A queue get or lock acquire told not to wait: `block=False` / `blocking=False`, or
    `False` as its first argument (held-out M: PraisonAI's `queue.get(block=False)` in a
    poll that sleeps 10 ms on `queue.Empty`)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    for position, arg in enumerate(node.args):
        keyword = arg.keyword.value if arg.keyword is not None else None
        if (keyword in ("block", "blocking") or keyword is None and position == 0 and
                not arg.star) and isinstance(arg.value, cst.Name) and arg.value.value == "False":
            return True
    return False


def _prompt_tails(catalog: Catalog) -> frozenset[str]:
    """The last names of the catalog's console prompts (`input`, `getpass`, `ask`), and
    their modules' first names (what `from getpass import getpass` binds)."""
    names = [name for name, entry in catalog.blocking.exact.items() if entry.category == "stdin"]
    return frozenset(part for name in names
                     for part in (name.rsplit(".", 1)[-1], name.split(".")[0]))


def _prompting(collector: FactCollector, resolver: Resolver, catalog: Catalog) -> set[int]:
    """Functions that call a console prompt, or hand one on as a value (to `partial`,
    `run_in_executor`, `to_thread`): FunctionFact.prompts."""
    # Resolving every call again costs 2 % of a file's analysis: only chains whose last
    # name is a prompt's are resolved.
    tails = _prompt_tails(catalog)
    found = set()
    for cb in collector.calls:
        if cb.function == MODULE or cb.function in found:
            continue
        chains = [cb.chain, *(chain for _, _, chain in cb.passes)]
        node = collector.call_nodes[cb.index]
        for arg in node.args:
            # `partial(getpass if hide else input, prompt)`: either callable may be handed.
            if isinstance(arg.value, cst.IfExp):
                chains += [chain_of(arg.value.body), chain_of(arg.value.orelse)]
        named = [resolver.callee(chain, cb.function) for chain in chains
                 if chain and chain[-1].rstrip("()") in tails]
        for name in named:
            entry = catalog.blocking.get(name)
            if entry is not None and entry.category == "stdin":
                found.add(cb.function)
                break
    return found


_READ_METHODS = frozenset({"read_text", "read_bytes"})
_WRITE_METHODS = frozenset({"write_text", "write_bytes"})


def _rewriting(collector: FactCollector) -> set[int]:
    """Functions that open one path (by its expression's text) both to read it and to
    write or append to it (FunctionFact.rewrites)."""
    code = cst.Module([]).code_for_node
    reads: dict[int, set[str]] = {}
    writes: dict[int, set[str]] = {}
    for cb in collector.calls:
        if cb.function == MODULE or not cb.chain:
            continue
        node = collector.call_nodes[cb.index]
        last = cb.chain[-1].rstrip("()")
        path = mode = None
        if cb.chain in (("open",), ("io", "open")) and node.args and \
                node.args[0].keyword is None:
            path, mode = code(node.args[0].value), _open_mode(node, 1)
        elif len(cb.chain) >= 2 and isinstance(node.func, cst.Attribute) and (
                last in _READ_METHODS | _WRITE_METHODS or last == "open"):
            path = code(node.func.value)
            mode = ("r" if last in _READ_METHODS else "w" if last in _WRITE_METHODS
                    else _open_mode(node, 0))
        if path is None or mode is None:
            continue
        side = writes if set(mode) & set("wax+") else reads
        side.setdefault(cb.function, set()).add(path)
        if "+" in mode:
            reads.setdefault(cb.function, set()).add(path)
    return {f for f, paths in writes.items() if paths & reads.get(f, set())}


def _open_mode(node: cst.Call, position: int) -> str | None:
    """The mode an `open(path, mode)` / `p.open(mode)` call gives as a literal ("r" when it
    gives none); None when it is not a literal."""
    for i, arg in enumerate(node.args):
        if arg.keyword is not None and arg.keyword.value == "mode" or \
                arg.keyword is None and i == position:
            value = arg.value
            if isinstance(value, cst.SimpleString):
                return str(value.evaluated_value)
            return None
    return "r"


_EDITOR_WORDS = frozenset({"editor", "vim", "nvim", "nano", "emacs", "pager"})
"""Words (of names and strings) in a command that run the user's editor or pager
(`os.environ.get("EDITOR", "vim")`, `resolve_editor_argv()`)."""


def _opens_editor(node: cst.Call, scope: cst.CSTNode) -> bool:
    """A subprocess whose command (its first argument, or the local names that argument
    reads as their assignments in the function build them) names an editor or a pager:
    `subprocess.run([os.environ["EDITOR"], path])`, `argv = editor_argv() + [p]`, `"VISUAL"`."""
    if not node.args:
        return False
    code = cst.Module([]).code_for_node
    first = node.args[0].value
    texts = [code(first)]
    names = names_read(first)
    if names:
        for sub in descendants(scope):
            if isinstance(sub, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value in names
                    for t in sub.targets):
                texts.append(code(sub.value))
    for text in texts:
        if '"VISUAL"' in text or "'VISUAL'" in text:
            return True
        if _EDITOR_WORDS & {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", text)}:
            return True
    return False


_CHILD_WAITS = frozenset({"os.waitpid", "os.wait3", "os.wait4", "os.waitid"})


def _no_hang(node: cst.Call) -> bool:
    """A child-process wait given `WNOHANG` among its options (`os.WNOHANG`, alone or or-ed
    with other flags): it reports a child that already exited, or nothing, at once."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    stack: list[cst.CSTNode] = [arg.value for arg in node.args]
    while stack:
        value = stack.pop()
        if isinstance(value, cst.Name) and value.value == "WNOHANG" or \
                isinstance(value, cst.Attribute) and value.attr.value == "WNOHANG":
            return True
        if isinstance(value, cst.BinaryOperation):
            stack += [value.left, value.right]
    return False


def _long_timeout(node: cst.Call) -> bool:
    """A client constructed with `timeout=` a literal of LONG_TIMEOUT_SECONDS or more (also
    as the first argument of `httpx.Timeout(...)` / `aiohttp.ClientTimeout(total=...)`)."""
    import libcst as cst  # here, not at the top: a warm scan never imports libcst

    for arg in node.args:
        if arg.keyword is None or arg.keyword.value != "timeout":
            continue
        value = arg.value
        if isinstance(value, cst.Call) and value.args:
            inner = [a for a in value.args if a.keyword is None or a.keyword.value == "total"]
            value = inner[0].value if inner else value
        if isinstance(value, (cst.Integer, cst.Float)):
            try:
                return float(value.value) >= LONG_TIMEOUT_SECONDS
            except ValueError:
                return False
    return False


def _split_on_receivers(receivers: list[str], called: list[str], tails: list[str],
                        catalog: Catalog) -> list[list[int]]:
    """Runs (indexes, two or more) of one await run, split where a receiver's root object
    comes back (`await ws.send(a)` then `await ws.recv()`, `await session.execute(...)`
    twice, `await self._open()` then `await self._page.read()`: protocol order on one
    object) — unless every call on that receiver is a read an HTTP or LLM
    client serves concurrently (`await client.get(a)`, `await client.get(b)`). A `get` on
    anything else (`await queue.get()`: a wait, in its place) ends the run and joins none."""
    runs: list[list[int]] = [[]]
    roots = [receiver.split(".")[0] for receiver in receivers]
    for i, root in enumerate(roots):
        run = runs[-1]
        concurrent = serves_concurrently(called[i], catalog)
        if tails[i] in MAYBE_WORK and not concurrent:
            runs.append([])
            continue
        if catalog.guards(tails[i]):
            # `await ajudge_view(user, kb)` then `await list_items(kb)`: a check that
            # raises stops what follows; gathered, the guarded query would run for a caller
            # the check refuses (held-out S29b: bisheng's QA list).
            runs.append([])
            continue
        if catalog.tears_down(tails[i]):
            # `await cleanup_containers()` then `await cleanup_networks()`: teardown runs in
            # its order (a network goes once its containers are gone; held-out S28: cua's
            # full_cleanup) and in its task: it ends the run and joins none.
            runs.append([])
            continue
        # By the receiver's root: `await self._require_page()` then `await
        # self._session.get_snapshot()` work on one object, whose state the first may set
        # up for the second (camel's browser toolkit).
        if root and any(roots[j] == root for j in run) and not (
                concurrent and all(serves_concurrently(called[j], catalog)
                                   for j in run if roots[j] == root)):
            runs.append([])
        runs[-1].append(i)
    return [r for r in runs if len(r) >= 2]


def _dropped_callees(collector: FactCollector, resolver: Resolver) -> dict[int, tuple[str, ...]]:
    """Per plain `def`: names it calls only to drop the result. Every call of the name in it
    is a statement of its own or an `if` test, or is bound to a local that no call receives
    or is made on, that is not returned, yielded or stored, and that only the tests of
    `if`/`while`/`assert` read (`ok = self.check_health()` then `if not ok:`). A coroutine
    function called so makes a coroutine nobody runs (held-out S32: GenAIComps' `async def
    check_health`, called from `__init__`). One pass over the calls; one walk of a function
    only when a local is in question."""
    funcs = collector.functions
    calls_of: dict[int, list[CallBuild]] = {}
    for cb in collector.calls:
        if cb.function != MODULE:
            calls_of.setdefault(cb.function, []).append(cb)
    # What each function's calls read (arguments, receivers), its nested defs' included.
    used: dict[int, set[str]] = {}
    for f, found in calls_of.items():
        names = {name for cb in found for name in cb.arg_names}
        names.update(cb.chain[0].removesuffix("()") for cb in found if cb.chain)
        g = f
        while g != MODULE:
            used.setdefault(g, set()).update(names)
            g = funcs[g].parent
    out: dict[int, tuple[str, ...]] = {}
    for i, found in calls_of.items():
        fb = funcs[i]
        if fb.is_async or fb.yields:
            continue
        read = used.get(i, set()) | fb.returned_names | fb.escaped_names
        locals_ = {cb.target for cb in found if cb.target and cb.assigned_to == "local"
                   and cb.target not in read and not cb.returned and cb.arg_of < 0}
        if not locals_ and not any(cb.discarded for cb in found):
            continue
        quiet = _tested_only(fb.node, locals_) if locals_ else set()
        dropped: set[str] = set()
        kept: set[str] = set()
        for cb in found:
            if not cb.chain:
                continue
            name = resolver.name(cb.chain, i)
            if cb.discarded or (cb.target in quiet and cb.assigned_to == "local"
                                and not cb.returned and cb.arg_of < 0):
                dropped.add(name)
            else:
                kept.add(name)
        if dropped - kept:
            out[i] = tuple(sorted(dropped - kept))
    return out


def _tested_only(func: cst.FunctionDef, names: set[str]) -> set[str]:
    """Of `names`, those `func` reads only in the tests of `if`/`while`/`assert` statements
    (and binds by plain assignments): what they hold goes nowhere. One read-only walk of the
    body (walk.py), one more of each test."""
    from optadvisor.analyze.walk import walk  # imports libcst: not on a warm scan's path

    everywhere, tested = _NameCount(names), _NameCount(names)

    def test(node: cst.If | cst.While | cst.Assert) -> None:
        walk(node.test, tested)

    everywhere.visit_If = everywhere.visit_While = everywhere.visit_Assert = test  # type: ignore
    walk(func.body, everywhere)
    return {name for name in names
            if everywhere.seen.get(name, 0) == tested.seen.get(name, 0)
            + everywhere.bound.get(name, 0)}


class _NameCount:
    """A walk.py visitor counting the Name nodes of some names, and how often each is bound
    by a plain assignment (`ok = ...`)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.seen: dict[str, int] = {}
        self.bound: dict[str, int] = {}

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.names:
            self.seen[node.value] = self.seen.get(node.value, 0) + 1

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        name = getattr(node.target, "value", None)  # a str for a Name only
        if isinstance(name, str) and name in self.names:
            self.bound[name] = self.bound.get(name, 0) + 1


def _nested_in(collector: FactCollector, inner: int, outer: int) -> bool:
    """`inner` is a function defined inside `outer` (at any depth)."""
    while inner != MODULE and inner != outer:
        inner = collector.functions[inner].parent
    return inner == outer and inner != MODULE


def _inside_loader(cb: CallBuild, names: dict[int, str], catalog: Catalog) -> bool:
    """`json.loads(Path(p).read_text())`: the outer call is the one to cache, once."""
    return cb.arg_of >= 0 and catalog.loaders.get(names.get(cb.arg_of, "")) is not None


def _offloaded_functions(collector: FactCollector) -> list[bool]:
    """A nested def handed by name to to_thread/run_in_executor (or living inside one
    that was) runs in a worker thread, not on the event loop."""
    funcs = collector.functions
    out = [False] * len(funcs)
    for i, fb in enumerate(funcs):  # parents come before children in this list
        parent_off = fb.parent != MODULE and out[fb.parent]
        handed = fb.parent != MODULE and fb.name in funcs[fb.parent].offloaded_names
        out[i] = fb.offloaded or parent_off or handed
    return out


_EMBEDDED = frozenset({"subquery", "scalar_subquery", "cte", "exists", "statement",
                       "as_scalar", "label"})
"""Last methods of a lazy query chain that make a SQL construct to embed in another
statement: nothing is sent by the chain itself."""


def _classify(cb: CallBuild, name: str, catalog: Catalog, offloaded: list[bool],
              positions: Positions, keep_untagged: bool) -> CallFact | None:
    # An awaited call returns to the loop while it waits, whatever an annotation or a
    # catalog wildcard says about its receiver: it is never blocking.
    blocking = None if cb.awaited or cb.awaitable else catalog.blocking.get(name)
    if blocking is not None and catalog.sends_nothing(name):
        blocking = None  # `client.close()` on a sync SDK client: no request
    if blocking is not None and cb.chain_end in _EMBEDDED and lazy_call(catalog, name):
        # `db.query(M).filter(c).subquery()`: a statement built to go inside another one,
        # which sends it (held-out S34b: RealChar's recent-conversations route).
        blocking = None
    client = catalog.clients.get(name)
    timeout_rule = catalog.timeouts.get(name)
    # A function of the project that shares a library method's name (`embed_query`) is
    # not that method: its batch form is not known.
    batch = _batch_advice(cb, catalog.batch.get(name)) if "." in name else ""
    loader = catalog.loaders.get(name)
    if loader is not None and cb.chain[-1].rstrip("()") != name.rsplit(".", 1)[-1]:
        # `self.tokenizer(batch)` calls what `from_pretrained` loaded; it loads nothing.
        loader = None
    needs = catalog.loader_needs.get(name) if loader is not None else None
    if needs is not None and needs not in cb.kwargs and not cb.dynamic_args:
        loader = None  # `Environment(undefined=StrictUndefined)`: microseconds, no cache
    if blocking is None and client is None and timeout_rule is None and loader is None \
            and not batch and not keep_untagged:
        return None
    timeout = ""
    if timeout_rule is not None:
        if timeout_rule.param in cb.none_kwargs:
            timeout = "none"
        elif timeout_rule.param in cb.kwargs or (
                timeout_rule.position is not None and cb.positional > timeout_rule.position):
            timeout = "set"
        elif cb.dynamic_args:
            timeout = "dynamic"
        else:
            timeout = "default" if timeout_rule.default == "finite" else "missing"
    line, col, end_line, end_col = positions.calls[cb.index]
    return CallFact(
        name=name, line=line, column=col, end_line=end_line, end_column=end_col,
        function=cb.function, awaited=cb.awaited, loop_depth=cb.loop_depth,
        offloaded=cb.offloaded or (cb.function != MODULE and offloaded[cb.function]),
        in_with=cb.in_with, assigned_to=cb.assigned_to, lazy=cb.lazy,
        blocking=blocking.category if blocking else "", client=client or "",
        timeout=timeout, replacement=blocking.instead if blocking else "",
        loader=loader or "", conditional=cb.conditional, batch=batch,
        flags=" ".join(cb.flags),
    )


def _batch_advice(cb: CallBuild, batch: Batch | None) -> str:
    """What to call instead of this per-item call, or "" (not per item, or SQL the advice
    cannot name a batch form for)."""
    if batch is None or not cb.per_item:
        return ""
    if not batch.sql:
        return batch.instead
    if cb.statement == "write":
        return ("send all rows at once: `executemany(sql, rows)` (asyncpg, psycopg 3, MySQL "
                "drivers), "
                "or `psycopg2.extras.execute_values` with psycopg2, whose `executemany` still "
                "makes a round trip per row")
    if cb.statement == "select":
        return ("fetch every item in one query: `WHERE key IN (...)` (or `= ANY(...)` with the "
                "list as one parameter in PostgreSQL), then match the rows to the items")
    return ""


def _count_lines(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)
