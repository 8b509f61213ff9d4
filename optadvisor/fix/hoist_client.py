"""A client built per call → one client per process, built on first use by a module-level
`functools.cache` factory, and the call site asks the factory.

Only when that is right: the constructor's arguments are constants or module-level names
(a per-call key, URL or config would be shared by every caller), the function neither
closes the client nor uses it as a context manager (the first caller would close the one
shared client), does not change the client's attributes (a patch per run would be shared
by every caller), and the client is not a connection (that wants a pool) or an aiohttp
session (made inside a running loop, closed on shutdown). Otherwise: words."""

from __future__ import annotations

import ast
import builtins
import re

import libcst as cst

from optadvisor.fix.calls import call_site
from optadvisor.fix.context import FixContext, NotHere, code_of
from optadvisor.fix.source import (
    FixSource, assigned_name, called_name, module_def, walk_scope,
)
from optadvisor.models import Edit, Fix

_THREAD_BOUND = frozenset({"boto3.resource", "boto3.Session", "boto3.session.Session",
                           "boto3.session.Session.resource", "boto3.Session.resource"})
"""Clients one thread may use at a time (boto3's resources and sessions)."""
_CLOSERS = ("close", "aclose", "shutdown", "disconnect", "__exit__", "__aexit__")


def build(ctx: FixContext) -> Fix:
    site = call_site(ctx)
    source = ctx.source
    view = ctx.env.get("call")
    name = view.name if view is not None else ""
    kind = view.client_kind if view is not None else ""
    node = site.node
    statement = source.statement_of(node)
    if isinstance(statement, (ast.With, ast.AsyncWith)) and any(
            any(n is node for n in ast.walk(item.context_expr)) for item in statement.items):
        raise NotHere(
            "Here the client is a context manager, so each call opens and closes it. Create it "
            "once in an owner that outlives the calls (module level, the app's startup/lifespan, "
            "or `__init__`), close it on shutdown, and use it here without `with`.")
    if kind == "db" or name.endswith((".connect", ".Connection")):
        raise NotHere(
            "A connection per call: use a connection pool made once (psycopg_pool, "
            "SQLAlchemy's engine, redis.ConnectionPool) and take a connection from it here.")
    if name in _THREAD_BOUND:
        # held-out X: llmware's S3 helpers were given one process-wide `boto3.resource`.
        raise NotHere(
            "boto3 documents resources (and sessions) as not thread-safe, so one shared by "
            "every call is not safe where calls run on threads. Share a `boto3.client(...)` "
            "instead (clients are thread-safe), or keep one resource per thread "
            "(`threading.local()`).")
    if name.startswith("aiohttp."):
        raise NotHere(
            "Create one `aiohttp.ClientSession` when the app starts (inside the running loop) "
            "and close it on shutdown; pass it in or keep it on the object that serves calls.")
    holder = source.parent(node)
    if isinstance(holder, ast.Call) and called_name(holder) in _ENTERS:
        # Held-out S31 (onyx's passthrough): `stack.enter_context(httpx.Client())` closes
        # the client with the stack; a shared one would be closed after the first call.
        raise NotHere(
            f"`{called_name(holder)}` closes the client when its stack or block ends, so each "
            "call opens and closes it. Create it once in an owner that outlives the calls "
            "(module level, the app's startup, or `__init__`), close it on shutdown, and do "
            "not hand it to the stack.")
    if isinstance(holder, ast.IfExp):
        # Held-out S31 (MiniRAG): `AsyncOpenAI() if base_url is None else
        # AsyncOpenAI(base_url=base_url)`: sharing one branch leaves the other per call.
        raise NotHere(
            "The client is chosen per call (`... if ... else ...`): build each variant once "
            "(a cached factory taking the value that decides it) and reuse it.")
    scope = source.scope_of(node)
    env = _sets_environment(scope, node)
    if env:
        # Held-out S31 (MiniRAG): `os.environ["OPENAI_API_KEY"] = api_key` and then
        # `AsyncOpenAI()`, which reads it: the first call's key would serve every call.
        raise NotHere(
            f"The function sets the environment (`{env}`) before building the client, which "
            "reads it: a shared client would keep the first call's settings. Pass the values "
            "to the constructor, and reuse one client per distinct value.")
    varying = _varying_argument(node)
    if varying:
        # Held-out S31 (DeepResearch): `base_url=random.choice(URLS)` spreads calls over
        # servers; one cached client would pin the first choice.
        raise NotHere(
            f"The client is built from `{varying}`, which differs on every call: a shared "
            "client would keep the first value. Keep one client per possible value (a dict "
            "built once) and pick among them per call.")
    target = assigned_name(statement, node)
    if target and _closes(scope, target):
        raise NotHere(
            f"The function closes `{target}` when done: a shared client must stay open. Keep "
            "one client for the process (or the object's lifetime) and close it on shutdown.")
    wrapper = source.parent(holder) if isinstance(holder, ast.keyword) else holder
    owner = assigned_name(statement, wrapper) if isinstance(wrapper, ast.Call) else ""
    if owner and _closes(scope, owner):
        # Held-out S39 (airweave's source validation): `AirweaveHttpClient(wrapped_client=
        # httpx.AsyncClient(), ...)`, then `await validation_client.aclose()`: closing the
        # wrapper closes the client it was handed, and a shared one would stay closed.
        raise NotHere(
            f"The client is handed to `{called_name(wrapper)}`, and the function closes "
            f"`{owner}` when done, which closes the client with it: a shared client must stay "
            "open. Keep one wrapper (or one client it is given) for the process, closed on "
            "shutdown, or leave the client per call.")
    changed = _changed_attribute(source.scope_of(node), target) if target else ""
    if changed:
        raise NotHere(
            f"The function changes the client after building it (`{target}.{changed}"
            f"{'' if changed.endswith(')') else ' = ...'}`): "
            "one shared client would carry one call's change into every other call. Build "
            "the shared client with that setting once, or keep one client per setting.")
    local = _non_module_names(node, source.imported_names)
    imported = _imported_in(source.scope_of(node))
    if local and local[0] in imported:
        # Not "import it at module level": a local import is often an optional dependency
        # (held-out S45: agentlego's openai, imported under `except ModuleNotFoundError`).
        raise NotHere(
            f"`{local[0]}` is imported inside the function (an optional dependency, maybe: "
            "a module-level import would make it required): build the client in a "
            "`functools.cache` factory that does the same import, and call that here.")
    made = _made_here(scope, local[0], source.imported_names) if local else None
    if made is not None:
        # `session = boto3.Session()` then `session.client("s3")` (held-out S40c): the
        # session is per call too, and nothing of the call's own goes into either.
        raise NotHere(
            f"The client is built from `{local[0]}`, which this call also makes "
            f"(`{local[0]} = {ast.unparse(made)}`) from nothing of its own: build the two "
            "together once (a `functools.cache` factory that makes both and returns the "
            "client will do).")
    if local:
        raise NotHere(
            f"The client is built from `{local[0]}`, a value of this call: reuse one client per "
            f"distinct `{local[0]}` (a dict keyed by it, or a cached factory taking it), or "
            "build it once where that value is fixed.")
    runner = _loop_per_call(source) if "async" in name.lower() else None
    if runner is not None:
        raise NotHere(
            f"This module runs its coroutines on an event loop made per call (`{runner[0]}` "
            f"in `{runner[1]}`, line {runner[2]}), and an async client is bound to the loop "
            "that first uses it: one shared by every call would be used on a closed loop. "
            "Build the client once per run of that loop and pass it to the coroutines.")
    source.outside_helpers_travel(node)
    built = ctx.refine(site.cst_call)
    short = re.sub(r"[^0-9a-zA-Z]+", "_", name.rsplit(".", 1)[-1]).strip("_").lower() or "client"
    # Named for what it serves where the call says (`boto3.client("apigateway")`:
    # `_shared_apigateway_client`), so that a module's several clients read apart.
    first = built.args[0].value if built.args and built.args[0].keyword is None else None
    service = re.sub(r"[^0-9a-zA-Z]+", "_", first.evaluated_value).strip("_").lower() \
        if isinstance(first, cst.SimpleString) and isinstance(first.evaluated_value, str) \
        else ""
    factory = f"_shared_{service}_{short}" if service and len(service) <= 24 and \
        not service[0].isdigit() else f"_shared_{short}"
    existing = module_def(source, factory)
    if existing is not None and code_of(built) in source.node_text(existing):
        insertion = None  # the same factory, made by an earlier fix: reuse it
    else:
        factory = source.claim(factory, source.module_names, code_of(built))
        helper = cst.FunctionDef(
            name=cst.Name(factory), params=cst.Parameters(),
            body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(built)])]),
            decorators=[ctx.cache_decorator()],
            leading_lines=[cst.EmptyLine(comment=cst.Comment(
                "# one client per process, built on first use"))])
        # Below the imports, before the first line of code or comment after them: apart
        # from the point where `import functools` goes, so that the import of several such
        # fixes is one shared edit (merged into each fix's insertion it was repeated).
        line, last = source.import_line, source.text.count("\n") + 1
        while line <= last and not source.line(line).strip():
            line += 1
        code = code_of(cst.Module(body=[helper]))
        # Written with `\n`: build.py gives every change the file's own line breaks.
        insertion = Edit(line, 1, line, 1, code + "\n\n") if line <= last else \
            Edit(source.import_line, 1, source.import_line, 1, "\n" + code + "\n")
    return ctx.change(
        "unsafe", ctx.replace_node(ctx.span, f"{factory}()"), source.import_edit("functools"),
        insertion,
        message="Every call now shares one client (and its connection pool); unsafe because the "
                "client's settings are fixed at first use and it is never closed before exit"
                + (", and an async client is bound to the event loop that first uses it"
                   if "async" in name.lower() else "") + ".")




_LOOP_MAKERS = frozenset({"run_until_complete", "new_event_loop", "asyncio.run"})


def _loop_per_call(source: FixSource) -> tuple[str, str, int] | None:
    """A function of the module (not its `main`) that runs coroutines on a loop of its own
    (`loop.run_until_complete(...)`, `asyncio.run(...)`, `asyncio.new_event_loop()`): each
    call of it is a new loop (held-out S30: AutoRAG's `g_eval` gathers `async_g_eval` on
    one, and a module-wide AsyncOpenAI would serve the next call's loop)."""
    found = []
    for function in ast.walk(source.tree) if source.tree is not None else ():
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                function.name.strip("_") == "main":
            continue
        for node in walk_scope(function.body):
            if not isinstance(node, ast.Call):
                continue
            name = called_name(node)
            if name == "run" and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "asyncio":
                name = "asyncio.run"
            if name in _LOOP_MAKERS:
                found.append((node.lineno, name, function.name))
    if not found:
        return None
    line, name, function_name = min(found)
    return name, function_name, line


_ENTERS = frozenset({"enter_context", "enter_async_context", "closing", "aclosing"})
"""Calls that take a context manager and close it when a stack or block ends."""

_VARYING = ("random.", "secrets.", "uuid.", "time.time", "time.monotonic",
            "datetime.now", "datetime.utcnow", "datetime.datetime.now")
"""Calls that give another value on each call (a module's, or a clock's)."""


def _sets_environment(func: ast.AST | None, node: ast.AST) -> str:
    """`os.environ[...] = ...`, `os.environ.update(...)`, `os.putenv(...)` in the function
    before the client is built: the text of the first, or ""."""
    for sub in walk_scope(getattr(func, "body", [])):
        if getattr(sub, "lineno", 0) > getattr(node, "lineno", 0):
            continue
        if isinstance(sub, (ast.Assign, ast.AugAssign)):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and \
                        ast.unparse(target.value).endswith("environ") and \
                        not _sticky(target, sub.value):
                    return ast.unparse(target)
        if isinstance(sub, ast.Call):
            text = ast.unparse(sub.func)
            if text in ("os.putenv", "putenv") or text.endswith(
                    ("environ.update", "environ.setdefault", "environ.__setitem__")):
                return text + "(...)"
    return ""


def _sticky(target: ast.Subscript, value: ast.expr) -> bool:
    """`os.environ[K] = os.environ.get(K, key)`: the first value set stays (held-out S31:
    MiniRAG's Bedrock credentials), so one shared client reads what every call would."""
    return isinstance(value, ast.Call) and value.args != [] and \
        ast.unparse(value.func).endswith(("environ.get", "getenv")) and \
        ast.unparse(value.args[0]) == ast.unparse(target.slice)


def _varying_argument(node: ast.AST) -> str:
    """An argument of the constructor that calls random, time, uuid...: its text."""
    if not isinstance(node, ast.Call):
        return ""
    for value in [*node.args, *(kw.value for kw in node.keywords)]:
        for sub in ast.walk(value):
            if isinstance(sub, ast.Call) and ast.unparse(sub.func).startswith(_VARYING):
                return ast.unparse(sub)
    return ""


def _closes(func: ast.AST | None, name: str) -> bool:
    for node in ast.walk(func) if func is not None else ():
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in _CLOSERS and isinstance(node.func.value, ast.Name) and \
                node.func.value.id == name:
            return True
        if isinstance(node, (ast.With, ast.AsyncWith)) and any(
                isinstance(item.context_expr, ast.Name) and item.context_expr.id == name
                for item in node.items):
            return True
        if isinstance(node, ast.Call) and called_name(node) in _ENTERS and any(
                isinstance(arg, ast.Name) and arg.id == name for arg in node.args):
            return True
    return False


_CONFIGURES = frozenset({"mount", "update", "set", "setdefault"})
"""`session.mount(...)`, `session.headers.update(...)`, `session.cookies.set(...)`."""


def _changed_attribute(func: ast.AST | None, name: str) -> str:
    """The first attribute of `name` the function assigns (`client.api_base = url`,
    `client.chat.completions.create = traced`: a monkeypatch per run) or configures through
    a method (`session.mount(prefix, adapter)`, `session.headers.update(h)`: on a shared
    session each call would mount a fresh adapter, with a pool of its own), or ""."""
    if func is None:
        return ""
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in _CONFIGURES:
            text = ast.unparse(node.func)
            if text.split(".", 1)[0] == name and (
                    node.func.attr == "mount" or text.count(".") == 2):
                return text.split(".", 1)[1] + "(...)"
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if isinstance(target, ast.Attribute):
                root = target
                while isinstance(root.value, ast.Attribute):
                    root = root.value
                if isinstance(root.value, ast.Name) and root.value.id == name:
                    return ast.unparse(target).split(".", 1)[1]
    return ""


def _imported_in(scope: ast.AST | None) -> set[str]:
    """Names a function binds by `import x` / `from m import x` in its own body: the same
    module object on every call, not a value of the call."""
    found: set[str] = set()
    for node in ast.walk(scope) if scope is not None else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return found


def _made_here(scope: ast.AST | None, name: str, module_names: set[str]) -> ast.Call | None:
    """The one call `name` is bound to in the function (`session = boto3.Session()`), when
    that call reads only module-level names; else None."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    values = [node.value for node in ast.walk(scope)
              if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                  isinstance(t, ast.Name) and t.id == name
                  for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))]
    if len(values) != 1 or not isinstance(values[0], ast.Call) or \
            _non_module_names(values[0], module_names):
        return None
    return values[0]


def _non_module_names(call: ast.Call, module_names: set[str]) -> list[str]:
    """Names the constructor's arguments read that are not bound at module level."""
    out = []
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        for node in ast.walk(arg):
            if isinstance(node, ast.Name) and node.id not in module_names and \
                    node.id not in vars(builtins):
                out.append(node.id)
            if isinstance(node, (ast.Lambda, ast.NamedExpr)):
                out.append("<expression>")
    func = call.func
    while isinstance(func, ast.Attribute):
        func = func.value
    if isinstance(func, ast.Name) and func.id not in module_names:
        out.append(func.id)
    return out


