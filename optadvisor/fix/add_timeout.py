"""A network call without a timeout (or with `timeout=None`) → the same call with
`timeout=<value>`: it fails after that long instead of hanging forever.

The keyword is the one the catalog names for that API; the value comes from the rule
(`params.value`, and `params.import` when the value needs a module). A call that looks
like it waits on server-side generation (a completion, an image, speech: words of
`params.long_words` in the call or the function around it) gets `params.long_value`
instead: such servers send nothing for minutes, and 30 s would turn every slow answer into
an error. A call that passes
`**kwargs` may carry a timeout already (adding one could raise "multiple values"): words.
At a site another rule leads (a blocking call, a client built per call), the same change
is a refinement of that rule's rewrite."""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator

import libcst as cst

from optadvisor.analyze.catalog import name_words
from optadvisor.fix.calls import call_site, first_arg_comma
from optadvisor.fix.context import FixContext, NotHere, Refinement, code_of
from optadvisor.fix.source import called_name, walk_scope
from optadvisor.models import Edit, Fix


def build(ctx: FixContext) -> Fix:
    site = call_site(ctx)
    if _explicit_none(site.node, _keyword(ctx)) and _scope_streams(ctx, site.node):
        raise NotHere(
            f"`{_keyword(ctx)}=None` is written out in a function that streams (a proxy, a "
            "long download): a finite total timeout would cut long streams. Bound the waits "
            "that should never be long instead — connecting and the pool (httpx: "
            "`httpx.Timeout(None, connect=10.0, pool=10.0)`; aiohttp: "
            "`ClientTimeout(total=None, connect=10, sock_read=300)`) — and keep reads open.",
            instead=True)
    known = _known_timeouts(ctx, site.node)
    if known:
        raise NotHere(
            f"`{ctx.source.node_text(site.node.func)}` waits forever, yet its function or its "
            f"object knows a timeout of its own ({', '.join(f'`{k}`' for k in known)}): pass "
            "one derived from it (at least as long as any wait it asks the server for), not a fixed "
            "number that could cut the configured waits short.", instead=True)
    chosen = "" if _reads(ctx, site.node) else _endpoint_param(ctx, site.node)
    if chosen:
        # Held-out S39c (slime): `_make_request(self, endpoint, payload)` posts to
        # `f"http://{host}/{endpoint}"` for weight updates that take minutes and for
        # quick state changes alike; 30 s would cut the long ones.
        raise NotHere(
            f"The request goes to whichever endpoint the caller names (`{chosen}`), so one "
            "fixed timeout here must fit the slowest of them: give the helper a `timeout` "
            "parameter and pass one per endpoint (long for generations, weight loads and "
            "jobs, short for status calls), or set a long read timeout here.")
    own = refinement(ctx, own=True)
    new = ctx.refine(own.apply(site.cst_call))
    word = _long_evidence(ctx, site.node)
    long = f" (`{word}` in the call, its function, class or module says the answer may " \
        "take long — a generation, a file the server processes, a job or tool run: a long " \
        "read timeout)" \
        if word and not _short_anyway(ctx, site.node) else ""
    if long and word.startswith("["):
        long = (f" (its URL is read from the data the function was handed, `{word}`: a "
                "relay forwards whatever its client asks for, a model's completion included: "
                "a long read timeout)")
    doubts = _doubts(ctx, site.node, _keyword(ctx))
    if long and not _timeout_handled(ctx, site.node):
        # Held-out S40c (evalscope's LongBench-Write client): a generation of up to 32k
        # tokens got 600 s, marked safe; the timeout would escape `future.result()` and end
        # the whole run. A long value is a guess at the slowest legitimate answer.
        doubts.append("the answer may take long, and the value is a guess at the slowest "
                      "legitimate one: a slower answer now raises a timeout error, which "
                      "nothing around the call catches")
    caught, also = _retried_on_refusal(ctx, site.node)
    return ctx.change(
        "unsafe" if doubts else "safe", ctx.replace_node(ctx.span, code_of(new)), *own.edits,
        caught,
        message=f"The call gives up after the timeout instead of waiting forever{long}; "
                "tune the value to the slowest answer you accept." + also
                + (f" Unsafe: {'; '.join(doubts)}." if doubts else ""))


def _tries_around(ctx: FixContext, node: ast.Call) -> Iterator[ast.Try]:
    """The `try` statements of the call's own function whose body holds it, innermost
    first."""
    source = ctx.source
    scope = source.scope_of(node)
    at: ast.AST = node
    for parent in source.ancestors(node):
        if parent is scope:
            return
        if isinstance(parent, ast.Try) and any(at is stmt for stmt in parent.body):
            yield parent
        at = parent


def _caught(handler: ast.ExceptHandler) -> list[ast.expr]:
    """The classes an `except` names (none for a bare `except`)."""
    return [] if handler.type is None else _listed(handler.type)


def _listed(kinds: ast.expr) -> list[ast.expr]:
    """The classes of `(A, B)`, or the one class named."""
    return list(kinds.elts) if isinstance(kinds, ast.Tuple) else [kinds]


def _timeout_handled(ctx: FixContext, node: ast.Call) -> bool:
    """A `try` of the call's own function around it catches what a timeout raises (a bare
    `except`, `Exception`, `OSError`, a `...Timeout`/`...TimeoutError` class, requests'
    `RequestException`), or a retry decorator of that function retries on it: a retry
    loop or a fallback already deals with a slow answer."""
    return any(handler.type is None or any(map(_catches_timeout, _caught(handler)))
               for found in _tries_around(ctx, node) for handler in found.handlers) or \
        _retried_by_decorator(ctx.source.scope_of(node))


def _catches_timeout(kind: ast.expr) -> bool:
    last = ast.unparse(kind).rsplit(".", 1)[-1]
    return last in _READ_TIMEOUT_CAUGHT or \
        last.endswith(("Timeout", "TimeoutError", "TimeoutException"))


def _retried_by_decorator(scope: ast.AST | None) -> bool:
    """`@backoff.on_exception(backoff.expo, requests.exceptions.RequestException)` or
    tenacity's `@retry(...)` (every exception unless `retry=` narrows it) on the function:
    a timeout raised in it is retried (held-out S42: code-act's Claude agents and eval
    scripts, told that nothing would catch the timeout)."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    for decorator in scope.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = ast.unparse(call.func if call else decorator).rsplit(".", 1)[-1]
        if name == "on_exception" and call is not None and len(call.args) >= 2:
            if any(map(_catches_timeout, _listed(call.args[1]))):
                return True
        elif name == "retry":
            narrowed = next((kw.value for kw in call.keywords if kw.arg == "retry"), None) \
                if call is not None else None
            if narrowed is None:
                return True
            if isinstance(narrowed, ast.Call) and ast.unparse(narrowed.func).endswith(
                    "retry_if_exception_type") and any(
                    map(_catches_timeout, (e for arg in narrowed.args for e in _listed(arg)))):
                return True
    return False


_READ_TIMEOUT_CAUGHT = frozenset({
    "Exception", "BaseException", "OSError", "IOError", "EnvironmentError",
    "RequestException", "Timeout", "ReadTimeout"})
"""What a `requests` read timeout (`requests.exceptions.ReadTimeout`: a Timeout, a
RequestException, an OSError) is caught by; ConnectionError and HTTPError do not."""


def _retried_on_refusal(ctx: FixContext, node: ast.Call) -> tuple[Edit | None, str]:
    """A requests call in a `try` that catches requests' ConnectionError (a loop waiting for
    a server to come up, a retry) and nothing a read timeout raises: with a timeout, a slow
    answer would escape that handler and end the loop (held-out S30: ultravox waits for its
    vLLM server that way). The handler catches Timeout too (an edit), or, where the class is
    not spelled through the module, the fix says so and stops."""
    view = ctx.env.get("call")
    if view is None or not view.name.startswith("requests."):
        return None, ""
    source = ctx.source
    parent = next(_tries_around(ctx, node), None)  # the innermost `try` around the call
    if parent is None:
        return None, ""
    caught = [(handler, kind) for handler in parent.handlers for kind in _caught(handler)]
    if any(h.type is None for h in parent.handlers) or any(
            ast.unparse(kind).rsplit(".", 1)[-1] in _READ_TIMEOUT_CAUGHT for _, kind in caught):
        return None, ""
    for handler, kind in caught:
        name = ast.unparse(kind)
        if name.rsplit(".", 1)[-1] != "ConnectionError":
            continue
        prefix = name.rpartition(".")[0]
        line = handler.lineno
        if prefix not in ("requests", "requests.exceptions"):
            raise NotHere(
                f"The `except` at line {line} catches `{name}` (a wait or a retry), and "
                "nothing a read timeout raises: pass a timeout and catch "
                "`requests.exceptions.Timeout` there too, or a slow answer ends the loop "
                "instead of waiting.", instead=True)
        assert handler.type is not None
        text = source.node_text(handler.type)
        if isinstance(handler.type, ast.Tuple) and text.startswith("(") and \
                text.endswith(")"):
            new = f"{text[1:-1].rstrip().rstrip(',')}, {prefix}.Timeout"
        else:
            new = f"{text}, {prefix}.Timeout"
        return (ctx.replace_node(source.span_of(handler.type), f"({new})"),
                f" The `except` at line {line} now catches `{prefix}.Timeout` too, so a "
                "timed-out request is handled like a refused one (waited for, retried), "
                "not raised out of it.")
    return None, ""


def _known_timeouts(ctx: FixContext, node: ast.Call) -> list[str]:
    """Names in the function around the call, other than the call's own keywords, that
    name a timeout (`self.fetch_timeout`, a `timeout` parameter): the code has a configured
    wait, which a fixed `timeout=30` could contradict (held-out K: deer-flow's InfoQuest
    client asks the server for user-configured crawl timeouts)."""
    scope = ctx.source.scope_of(node)
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    found: list[str] = []
    params = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args,
                              *scope.args.kwonlyargs)]
    # A local bound only below the call is no setting the call could have used (held-out
    # S35: BrowserGym's reset request, above `timeout = 10 * 60` for the poll after it).
    names = [*params, *(inner.id if isinstance(inner, ast.Name) else ast.unparse(inner)
                        for inner in ast.walk(scope)
                        if isinstance(inner, ast.Attribute) or isinstance(inner, ast.Name)
                        and inner.lineno <= node.lineno)]
    # The object's own setting, set by any method of its class (`self.timeout =
    # config["TIMEOUT"]` in `__init__`; held-out S: UFO's CogAgent service reads one and
    # never passes it).
    cls = ctx.source.scope_of(scope)
    millis: set[str] = set()
    if isinstance(cls, ast.ClassDef):
        # Not a nested class's `self` (held-out S35c: ChuanhuChatGPT's Midjourney client
        # holds a `FetchDataPack` class whose `self.timeout` is its own task deadline).
        for inner in _own_nodes(cls):
            if not isinstance(inner, (ast.Assign, ast.AnnAssign)):
                continue
            for target in (inner.targets if isinstance(inner, ast.Assign) else [inner.target]):
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "self":
                    text = ast.unparse(target)
                    names.append(text)
                    # `self.timeout = 10000  # ms`: a browser's wait in milliseconds,
                    # not a socket's (held-out S35: BrowserGym's Playwright pages).
                    if isinstance(inner.value, ast.Constant) and \
                            isinstance(inner.value.value, (int, float)) and \
                            not isinstance(inner.value.value, bool) and inner.value.value >= 1000:
                        millis.add(text)
    for text in names:
        owner, _, last = text.rpartition(".")
        words = name_words(last)
        # Not a class (`requests.Timeout`, `asyncio.TimeoutError` in an `except`), nor a
        # member of one (`StatusCode.TIMEOUT_ERROR`): an error to report is no wait; nor
        # how long an idle pooled connection is kept (held-out S35: camel's IMAP pool,
        # `_connection_idle_timeout = 300`).
        if last and "timeout" in words and not {"error", "exception", "exceeded", "idle",
                                                "keepalive"} & set(words) \
                and text not in millis \
                and not (last[0].isupper() and not last.isupper()) \
                and not owner.rsplit(".", 1)[-1][:1].isupper() and text not in found:
            found.append(text)
    return found[:3]


def _own_nodes(cls: ast.ClassDef) -> Iterator[ast.AST]:
    """The nodes of a class's body, its methods' included, but not those of a class
    nested in it."""
    todo: list[ast.AST] = list(cls.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.ClassDef):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def _keyword(ctx: FixContext) -> str:
    view = ctx.env.get("call")
    rule = ctx.catalog.timeouts.get(view.name) if view is not None else None
    return rule.param if rule is not None else "timeout"


def _doubts(ctx: FixContext, node: ast.Call, keyword: str) -> list[str]:
    """Why a finite timeout may break this call's normal use: then the fix is unsafe (a
    choice to review), never applied by a plain `--fix`."""
    doubts = []
    if _explicit_none(node, keyword):
        doubts.append(f"`{keyword}=None` is written out: the call may be meant to wait as "
                      "long as the answer takes (a stream, a proxy)")
    if _streams(node) or _asks_event_stream(ctx, node):
        doubts.append("the response is streamed: the read timeout applies between chunks, "
                      "and a quiet stream ends with a timeout error")
    scope = ctx.source.scope_of(node)
    url = _url_arg(node)
    if isinstance(url, ast.Name) and isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) \
            and url.id in {a.arg for a in (*scope.args.posonlyargs, *scope.args.args,
                                           *scope.args.kwonlyargs)}:
        doubts.append("the endpoint comes from the caller, and some callers may need a "
                      "longer wait (a generation)")
    if url is not None and _LOCAL_HOST.search(ast.unparse(url)):
        doubts.append("the server is on this machine (a sidecar that runs tools or code "
                      "itself): its answers take as long as that work")
    if called_name(node) in ("post", "put", "patch") and _retries_posts(ctx):
        doubts.append("the module's sessions retry POSTs on read errors (urllib3 `Retry` "
                      "with `POST` in `allowed_methods`): a read timeout sends the request "
                      "again, and the work it asks for runs again")
    return doubts


_RETRIED_POSTS: "weakref.WeakKeyDictionary[ast.Module, bool]" = weakref.WeakKeyDictionary()
"""Per parsed module, whether it retries POSTs: one walk for all of its calls' fixes."""


def _retries_posts(ctx: FixContext) -> bool:
    """The module builds a urllib3 `Retry(...)` that retries POSTs (`allowed_methods`
    names it) on read errors (`read` or `total` above 0): held-out S35d, trl's vLLM
    client, whose generation requests a read timeout would send up to five times more."""
    tree = ctx.source.tree
    if tree is None:
        return False
    found = _RETRIED_POSTS.get(tree)
    if found is None:
        found = _RETRIED_POSTS[tree] = _builds_post_retry(tree)
    return found


def _builds_post_retry(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and called_name(node) == "Retry"):
            continue
        kws = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        methods = kws.get("allowed_methods")
        posts = methods is not None and any(
            isinstance(c, ast.Constant) and c.value == "POST" for c in ast.walk(methods))
        tries = kws.get("read", kws.get("total"))
        retried = tries is None or not (isinstance(tries, ast.Constant)
                                         and tries.value in (0, False))
        if posts and retried:
            return True
    return False


_LOCAL_HOST = re.compile(r"//(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])\b")


def _explicit_none(node: ast.Call, keyword: str) -> bool:
    return any(kw.arg == keyword and isinstance(kw.value, ast.Constant) and kw.value.value is None
               for kw in node.keywords)


def _scope_streams(ctx: FixContext, node: ast.Call) -> bool:
    """The function around the call streams a response (`stream=True`, `.stream(...)`):
    eval I, llama_deploy's proxy builds `httpx.AsyncClient(timeout=None)` and relays
    `client.send(req, stream=True)`."""
    scope = ctx.source.scope_of(node)
    return isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        isinstance(inner, ast.Call) and _streams(inner) for inner in ast.walk(scope))


def _streams(node: ast.Call) -> bool:
    """`requests.get(url, stream=True)`, `client.stream("POST", url)`."""
    return any(kw.arg == "stream" and isinstance(kw.value, ast.Constant) and kw.value.value
               for kw in node.keywords) or (
        isinstance(node.func, ast.Attribute) and node.func.attr == "stream")


def _asks_event_stream(ctx: FixContext, node: ast.Call) -> bool:
    """The function around the call asks for server-sent events (`"Accept":
    "text/event-stream"`): the response is read event by event for as long as the server
    talks, and the timeout is the longest quiet spell allowed between two (held-out S40:
    mesop's `sse_request` got 30 s on `urlopen`, whose timeout bounds every read)."""
    scope = ctx.source.scope_of(node)
    return isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        isinstance(inner, ast.Constant) and isinstance(inner.value, str)
        and "text/event-stream" in inner.value for inner in ast.walk(scope))


def refinement(ctx: FixContext, own: bool = False) -> Refinement:
    """As a facet of another rule's rewrite (`own` False), a call whose `timeout=None` is
    written out is left as it is: that rewrite's label says nothing about the timeout, so
    it must not quietly change a choice the user made."""
    keyword = _keyword(ctx)
    node = ctx.source.find(ctx.span, ast.Call)
    streamed = node is not None and (_streams(node) or _asks_event_stream(ctx, node))
    evidence = _long_evidence(ctx, node) if node is not None else _long_word(ctx, None)
    long = (bool(evidence) and not (node is not None and _short_anyway(ctx, node))) \
        or streamed
    text = ctx.params.get("long_value", "") if long else ""
    try:
        value = cst.parse_expression(text or ctx.params.get("value", "30"))
    except cst.ParserSyntaxError:
        raise NotHere("") from None
    keep_none = not own and node is not None and _explicit_none(node, keyword)

    def apply(call: cst.Call) -> cst.Call:
        if keep_none:
            return call
        if any(arg.star == "**" for arg in call.args):
            raise NotHere(f"The call passes `**kwargs`: make sure they carry `{keyword}=`.")
        return with_keyword(call, keyword, value)

    module = ctx.params.get("import", "")
    edit = ctx.source.import_edit(module) if module else None
    return Refinement(apply, (edit,) if edit is not None else ())


def _short_anyway(ctx: FixContext, node: ast.Call) -> bool:
    """A poll, a token request or a quick read answers at once whatever words it holds."""
    return _polls(ctx, node) or _token_request(ctx, node) or _quick_read(ctx, node)


def _long_evidence(ctx: FixContext, node: ast.Call) -> str:
    """The word that says the answer may take long (see _long_word, _payload_word,
    _model_word, _upload_word), or ""."""
    # A read (GET) from a model's server lists or checks (its models, a status): the
    # generation is posted. So the class or file named for a model says nothing of a GET
    # (held-out X: llmware's and localGPT's Ollama `GET .../tags`, h2ogpt's agent tools
    # under `openai_server/` fetching an image, all given a 600 s read).
    # Of those words, one naming the work (`generate_blog_post.py`) still counts.
    model = _model_word(ctx, node)
    if model and _reads(ctx, node) and not model.startswith(("generat", "complet")):
        model = ""
    return _long_word(ctx, node) or _payload_word(ctx, node) or model or _upload_word(ctx, node) or \
        _rendering_host(ctx, node) or _local_work(ctx, node) or _relayed(ctx, node)


def _relayed(ctx: FixContext, node: ast.Call) -> str:
    """A request with a body whose URL is read out of data the function was handed
    (`url = data["url"]` with `data = request.get_json()`, then `requests.post(url,
    json=body)`): a relay that forwards whatever its client asks for, model completions
    included (held-out S48: ChainForge's `makeFetchCall`, which its front end sends
    Anthropic completions through; 30 s cut them). `['<key>']`, the key the URL was read
    by, or ""."""
    if _reads(ctx, node) or not any(kw.arg in _BODY_KEYWORDS for kw in node.keywords):
        return ""
    url = _url_arg(node)
    scope = ctx.source.scope_of(node)
    if not isinstance(url, ast.Name) or \
            not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ""
    values = [stmt.value for stmt in ast.walk(scope) if isinstance(stmt, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == url.id for t in stmt.targets)]
    if len(values) != 1:
        return ""
    value = values[0]
    key: ast.expr | None = None
    if isinstance(value, ast.Subscript):
        key = value.slice
    elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
            value.func.attr == "get" and value.args:
        key = value.args[0]
    if isinstance(key, ast.Constant) and isinstance(key.value, str) and \
            "url" in key.value.lower():
        return f"[{key.value!r}]"
    return ""


def _local_work(ctx: FixContext, node: ast.Call) -> str:
    """A request with a body to a server on this machine (`requests.post("http://127.0.0.1:
    5000/a", json=step)`): in agent code a sidecar that runs models, tools or code itself,
    whose answers take as long as that work (held-out S30: Mobile-Agent's local step server
    runs detection, OCR and two model calls per request; 30 s cut normal answers). Its
    host, or ""."""
    if _reads(ctx, node) or not any(kw.arg in _BODY_KEYWORDS for kw in node.keywords):
        return ""
    url = _url_arg(node)
    found = _LOCAL_HOST.search(ast.unparse(url)) if url is not None else None
    if found is None and url is not None:
        found = _LOCAL_HOST.search(_set_in_init(ctx, node, url))
    return found.group(1) if found else ""


def _set_in_init(ctx: FixContext, node: ast.Call, url: ast.expr) -> str:
    """`self.url` set in the class's `__init__` from a literal, or from a parameter whose
    default is one (`url: str = "http://localhost:8080/generate"` then `self.url = url`):
    that literal's text, else "" (held-out S36f: opencompass's LightLLM perplexity request
    got 30 s against the generation server its `_generate` gets 600 s for)."""
    if not (isinstance(url, ast.Attribute) and isinstance(url.value, ast.Name)
            and url.value.id == "self"):
        return ""
    owner = next((a for a in ctx.source.ancestors(node) if isinstance(a, ast.ClassDef)), None)
    init = next((stmt for stmt in owner.body if isinstance(stmt, ast.FunctionDef)
                 and stmt.name == "__init__"), None) if owner is not None else None
    if init is None:
        return ""
    args = init.args
    positional = [*args.posonlyargs, *args.args]
    defaults = {a.arg: d for a, d in zip(positional[len(positional) - len(args.defaults):],
                                         args.defaults)}
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d})
    for stmt in ast.walk(init):
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id == "self" and t.attr == url.attr for t in stmt.targets):
            value = stmt.value
            if isinstance(value, ast.Name) and value.id in defaults:
                value = defaults[value.id]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return ""


_ENDPOINT_PARAMS = frozenset({"endpoint", "path", "route", "operation", "api_path",
                              "api_endpoint", "url_path", "subpath"})


def _endpoint_param(ctx: FixContext, node: ast.Call) -> str:
    """A parameter of the function around the request that names the endpoint its URL is
    built from (`f"http://{host}/{endpoint}"`, directly or through a local `url = ...`):
    the function serves every endpoint its callers name. The parameter's name, else "".
    (Asked of requests that are no GET: reads of an API's routes answer quickly alike.)"""
    scope = ctx.source.scope_of(node)
    url = _url_arg(node)
    if url is None or not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ""
    args = scope.args
    params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    endpoints = {p for p in params if p in _ENDPOINT_PARAMS or p.endswith("_endpoint")}
    if not endpoints:
        return ""
    parts = [url]
    if isinstance(url, ast.Name):
        parts = [stmt.value for stmt in ast.walk(scope) if isinstance(stmt, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == url.id for t in stmt.targets)]
    for part in parts:
        if isinstance(part, ast.Name):
            continue  # the whole URL handed in: a fetch of any page, not one server's API
        for sub in ast.walk(part):
            if isinstance(sub, ast.Name) and sub.id in endpoints:
                return sub.id
    return ""


def _url_arg(node: ast.Call) -> ast.expr | None:
    """The URL a request is given: `url=`, else its first argument (its second for
    `request(method, url)`)."""
    for kw in node.keywords:
        if kw.arg == "url":
            return kw.value
    position = 1 if called_name(node) == "request" else 0
    return node.args[position] if len(node.args) > position else None


def _reads(ctx: FixContext, node: ast.Call) -> bool:
    """The request is a GET or a HEAD (`requests.get`, `client.request("GET", url)`)."""
    call = ctx.env.get("call")
    method = getattr(call, "name", "").rsplit(".", 1)[-1]
    if method in ("get", "head"):
        return True
    first = node.args[0] if node.args else None
    return method == "request" and isinstance(first, ast.Constant) and \
        str(first.value).upper() in ("GET", "HEAD")


_QUICK_WORDS = frozenset({"status", "health", "healthz", "healthcheck", "ping", "running",
                          "ready", "readiness", "liveness", "alive", "heartbeat", "version",
                          "tags"})
"""Words of a GET's URL path or its function's name that say it checks a server (`GET
/status/{model}`, `/healthcheck`, Ollama's `/api/tags`): answered at once, whatever model,
chat or inference word is around it (held-out X: JARVIS's model status checks on every
task, localGPT's health check, each given a 600 s read)."""


def _quick_read(ctx: FixContext, node: ast.Call) -> bool:
    if not _reads(ctx, node):
        return False
    function = ctx.env.get("function")
    texts = [getattr(function, "name", "") if function is not None else ""]
    texts += [_without_host(part.value).split("?", 1)[0] for part in ast.walk(node)
              if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    # The URL's own name (`requests.get(localStatusUrl)`; held-out S29c: JARVIS's status
    # checks in `model_inference` got a 600 s read from the function's name).
    url = _url_arg(node)
    if isinstance(url, ast.Name):
        texts.append(url.id)
    return any(word in _QUICK_WORDS for word in name_words(" ".join(texts)))


_HOST = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s\"'{}]*")


def _without_host(text: str) -> str:
    """`https://chat.example.com/api/x` → ` /api/x`: a host names a service, not what one
    request does (held-out X: 27 OpenAgents plugins hosted on `chat-…` domains or Cloud
    Run's `….run.app`, given a 600 s read for a currency list or a health check)."""
    return _HOST.sub(" ", text)


def _rendering_host(ctx: FixContext, node: ast.Call) -> str:
    """The host of a page-rendering service (`params.long_hosts`, or a subdomain of one) in
    a URL of the call or the function around it (`api_url = f"https://s.jina.ai/{text}"` a
    line above), else anywhere in the module (a config default: held-out S28b, pyspur's
    Jina reader node keeps `"https://r.jina.ai/{url}"` in its config class), or ""."""
    known_hosts = ctx.params.get("long_hosts", "").split()
    if not known_hosts:
        return ""
    scope = ctx.source.scope_of(node)
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        scope = node
    near = [part.value for part in ast.walk(scope)
            if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    for text in (*near, *ctx.source.strings):  # the function's own first
        for found in _HOST.findall(text):
            host = found.split("://", 1)[1].split("@")[-1].split(":")[0].lower()
            if any(host == known or host.endswith("." + known) for known in known_hosts):
                return host
    return ""


def _upload_word(ctx: FixContext, node: ast.Call) -> str:
    """`files=`: the request uploads a file for the server to process (an OCR or document
    partition service answers when the whole document is done; held-out N: cognita's
    unstructured.io parse got a 30 s read timeout), or the function around it base64-encodes
    a file's bytes into the payload (`b64encode(open(path, "rb").read())`; held-out S29b:
    bisheng's document partition and to-PDF conversion got 30 s), or "". Not a base64 of
    anything else (`b64encode(f"{user}:{password}".encode())`, a Basic auth header)."""
    if any(k.arg == "files" for k in node.keywords):
        return "files"
    scope = ctx.source.scope_of(node)
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ""
    if _raw_bytes_body(scope, node):
        return "data"
    for inner in ast.walk(scope):
        if isinstance(inner, ast.Call) and called_name(inner) in _BASE64 and any(
                isinstance(part, ast.Call) and called_name(part) in _FILE_READS
                for arg in inner.args for part in ast.walk(arg)):
            return "b64encode"
    return ""


def _raw_bytes_body(scope: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.Call) -> bool:
    """`data=audio` where `audio` is a parameter annotated `bytes` or a local read from a
    file (`audio = f.read()`, `path.read_bytes()`): the body is a whole file for the server
    to process (held-out S41: Auto-GPT's Hugging Face speech-to-text upload, in
    MLAgentBench, got a 30 s read timeout)."""
    body = next((k.value for k in node.keywords if k.arg in ("data", "content")), None)
    if not isinstance(body, ast.Name):
        return False
    args = scope.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg == body.id:
            return arg.annotation is not None and ast.unparse(arg.annotation) in (
                "bytes", "bytearray")
    return any(isinstance(inner, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == body.id for t in inner.targets)
        and isinstance(inner.value, ast.Call) and called_name(inner.value) in _FILE_READS
        for inner in ast.walk(scope))


_BASE64 = frozenset({"b64encode", "standard_b64encode", "urlsafe_b64encode", "encodebytes"})
_FILE_READS = frozenset({"read", "read_bytes"})



_RESOURCE_STEMS = frozenset({"tool", "agent", "sandbox", "run", "task", "job", "workflow",
                             "summar*", "launch*", "ingest*", "embed*", "index*", "quer*",
                             "execut*"})
"""Long-call words that name a resource a GET may just read (its status, its result, a
summary made before, a search: `GET /search?query=`, an execution's log: held-out S35,
Zapier's `execution-log/{id}`); a POST to them runs the work (a RAG
service's `/query/global`, `/api/AddURLEmbeddings` fetching and embedding a page:
held-out S32c, both got a 30 s read)."""


def _long_word(ctx: FixContext, node: ast.Call | None) -> str:
    """The first word of the call's text (its URL, its payload) or of the name of the
    function that makes it that starts with one of `params.long_words` (`generate_image`,
    `/completions`; not `invoices`), or "". Only the function's own name counts, not its
    class's: every method of a `SearchTools` class is not a tool run."""
    stems = ctx.params.get("long_words", "").split()
    call = ctx.env.get("call")
    if call is not None and getattr(call, "name", "").rsplit(".", 1)[-1] in ("get", "head"):
        # A read of a task, a job or a run is a status check that answers at once; only
        # a request that runs one waits for it (held-out P: babyagi's `GET .../tasks/{id}`
        # got a 600 s read timeout).
        stems = [stem for stem in stems if stem not in _RESOURCE_STEMS]
    if not stems:
        return ""
    function = ctx.env.get("function")
    name = getattr(function, "name", "") if function is not None else ""
    text = ctx.source.segment(ctx.span)
    where = _without_host(" ".join((text, name, *_module_strings(ctx, text, node))))
    # An id names one thing and its words qualify it (`"span_id": llm_request_span_id` is
    # no LLM call; held-out S34f: PromptLayer's request logging got 600 s).
    where = _ID_NAMES.sub(" ", where)
    words = name_words(where)
    return next((word for i, word in enumerate(words) if _says(word, stems) and not (
        _qualified(word, words[i - 1] if i else "", words[i + 1] if i + 1 < len(words) else ""))),
        "")


_NOT_WORK = {
    # A prompt template is stored text, not a prompt run (`get_prompt_template`,
    # `/prompt-templates/{name}`: held-out S34f, PromptLayer's template registry).
    ("prompt", "template"), ("prompts", "template"), ("prompt", "templates"),
    ("prompts", "templates"),
    # A URL's query string (`params=query_params`), a step-by-step answer (Wolfram's
    # `step_by_step` solution) name no search or job run (held-out S35: camel's Semantic
    # Scholar and Wolfram tools got 600 s).
    ("query", "params"), ("query", "param"), ("query", "parameters"), ("query", "string"),
    ("step", "by")}
"""A long-call word and the word after it that together name something quick."""


_RECORD_VERBS = frozenset({"add", "create", "update", "delete", "remove", "close", "reopen",
                           "complete", "move", "list", "get"})
"""Verbs of a to-do API acting on a task or job record (`add_tasks`, `complete_task`):
the record changes at once; no work is run (held-out S40d: AgentGym's Todoist tools got
600 s for each)."""


def _qualified(word: str, before: str, after: str) -> bool:
    """`word` is qualified by its neighbours into something that is no long call: a pair
    of `_NOT_WORK`, `agent` in a User-Agent header (held-out S34 and S35: installers and
    scrapers that send one got 600 s), or a task or job record acted on by a verb of
    `_RECORD_VERBS` (and `complete` is that verb, not a completion, before one)."""
    if word in ("task", "tasks", "job", "jobs") and before in _RECORD_VERBS:
        return True
    if word in _QUERY_STRINGS:
        # A URL's query string in one word (`params=querystring`): no query run (held-out
        # S46: reliableGPT's telemetry posts got a 600 s read).
        return True
    if word.startswith("complet") and after in ("task", "tasks", "job", "jobs"):
        return True
    return (word, after) in _NOT_WORK or (before, word) in (("user", "agent"), ("by", "step"))


_QUERY_STRINGS = frozenset({"querystring", "querystrings", "queryparams", "queryparam",
                            "queryargs", "querydict"})


_ID_NAMES = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*_ids?\b")


def _module_strings(ctx: FixContext, text: str, node: ast.Call | None) -> list[str]:
    """The values of module-level string constants the call's text names (`URL =
    ".../v1/api/completion_aibotk"` posted as `requests.post(URL, ...)`; held-out K:
    ragflow's Discord bot got a 30 s read for a chat completion), and the string parts of
    what the function around the call assigns to the local it passes as the URL
    (`backend_url = urljoin(BASE, "/api/AddURLEmbeddings")`; held-out S32c: chat-with-your-
    data's ingest page got a 30 s read for a page fetched and embedded). Not a payload's
    local: `body = {"query": ...}` posted to GitHub's GraphQL endpoint is no long call."""
    tree = ctx.source.tree
    if tree is None:
        return []
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    out = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and \
                isinstance(stmt.value.value, str):
            out += [stmt.value.value for target in stmt.targets
                    if isinstance(target, ast.Name) and target.id in named]
    url = _url_name(node) if node is not None else ""
    scope = ctx.source.scope_of(node) if url else None
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for stmt in walk_scope(scope.body):
            if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == url for t in stmt.targets):
                out += [c.value for c in ast.walk(stmt.value)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return out


def _url_name(node: ast.Call) -> str:
    """The local a request is given as its URL (`requests.post(backend_url, ...)`, `url=`;
    a `request(method, url)` call's second argument), or ""."""
    keyword = next((kw.value for kw in node.keywords if kw.arg == "url"), None)
    position = 1 if called_name(node) == "request" else 0
    value = keyword if keyword is not None else \
        node.args[position] if len(node.args) > position else None
    return value.id if isinstance(value, ast.Name) else ""


def _says(word: str, stems: list[str]) -> bool:
    """`word` is one of `stems`: a stem written `generat*` starts it (`generation`,
    `generate_image`); any other is the whole word or its plural (`agent`, `agents`, not
    `agentops`: eval I gave a PyPI version check of agentops a 10-minute read)."""
    for stem in stems:
        if stem.endswith("*"):
            if word.startswith(stem[:-1]):
                return True
        elif word in (stem, stem + "s"):
            return True
    return False


def _payload_word(ctx: FixContext, node: ast.AST) -> str:
    """A key of a dict literal or a keyword argument in the function around the call (or
    around the closure it is in) that only a generation request carries (`params.long_keys`: `messages`, `max_tokens`, …), or
    "": the payload is often built a few lines above the call (held-out eval G: TaskWeaver's
    `VisionPlanner` posts `{"messages": …, "max_tokens": …}` to a chat endpoint from a class
    named for neither)."""
    keys = set(ctx.params.get("long_keys", "").split())
    scope = ctx.source.scope_of(node)
    if not keys or not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return ""
    # A closure posts what the function around it built (held-out S34c: helm's AI21 client
    # builds `{"prompt": ..., "maxTokens": ...}` and posts it from a nested `do_it`).
    outer = ctx.source.scope_of(scope)
    while isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)):
        scope, outer = outer, ctx.source.scope_of(outer)
    for inner in ast.walk(scope):
        if isinstance(inner, ast.Dict):
            for key in inner.keys:
                if isinstance(key, ast.Constant) and key.value in keys:
                    return str(key.value)
        elif isinstance(inner, ast.keyword) and inner.arg in keys:
            return inner.arg
    return ""


_MODEL_STEMS = ("llm", "chat", "complet", "generat", "ollama", "gpt", "textgen", "genai",
                "claude", "anthropic", "openai", "gemini", "mistral", "qwen", "deepseek",
                "llama", "zhipu", "moonshot", "minimax", "doubao", "ernie", "baichuan")
"""Stems of a class, base class or module name that say it wraps a language model: every
request it makes is a generation (langchain-community's `llms/beam.py` `Beam(LLM)._call`,
`chat_models/maritalk.py`; eval G: 30 s read timeouts on 20 of them; held-out M:
chatgpt-on-wechat's `ClaudeAPIBot._handle_sync_response` posts a whole answer of up to 64k
tokens). Narrower than `long_words`: a class or module named for tools, agents or tasks
holds short calls too."""
_CLASS_MODEL_STEMS = ("modelscope", "dashscope", "huggingface", "inference")
"""Stems that say so in a class's own name only (`ModelscopePipelineTool._remote_call`
runs video generation and image chat on ModelScope's inference API; held-out R): as a
package or module name they name a whole project (`modelscope_agent/`, whose translation
and exchange-rate tools answer at once)."""


def _model_word(ctx: FixContext, node: ast.AST) -> str:
    """A word of the enclosing class's name or bases, or of the file's path, that starts
    with one of _MODEL_STEMS, or ""."""
    names: list[str] = []
    for outer in ctx.source.ancestors(node):
        if isinstance(outer, ast.ClassDef):
            names.append(outer.name)
            names += [ast.unparse(base) for base in outer.bases]
            break
    own = next((word for word in name_words(" ".join(names))
                if word.startswith(_CLASS_MODEL_STEMS)), "")
    found = own or next((word for word in name_words(" ".join(names))
                         if word.startswith(_MODEL_STEMS)), "")
    if found:
        return found
    # Of the path, the file's own name (`claude_api_bot.py`), or a directory named for
    # models as a whole word (`llms/`, `chat_models/`): a package named from a stem
    # (`llmware/`, `openai_server/`) names the project, not what a module of it calls.
    file = ctx.env.get("file")
    path = str(getattr(file, "path", "") or "").replace("\\", "/")
    *dirs, stem = path.split("/") if path else [""]
    found = next((word for word in name_words(stem) if word.startswith(_MODEL_STEMS)), "")
    if found:
        return found
    for part in dirs:
        words = name_words(part)
        if any(_model_stem(w) for w in words) and all(
                _model_stem(w) or w in _MODEL_DIR_WORDS for w in words):
            return next(w for w in words if _model_stem(w))
    return ""


_MODEL_DIR_WORDS = frozenset({"model", "models", "provider", "providers", "client", "clients",
                              "api", "apis"})
"""Words a directory named for models may add to a model word (`chat_models/`,
`llm_providers/`, `openai/`), unlike `openai_server/` or `gpt_tools/`."""


def _model_stem(word: str) -> bool:
    """`llm`, `llms`, `chat`, `openai`: a model stem as the whole word, or its plural."""
    return word in _MODEL_STEMS or word.endswith("s") and word[:-1] in _MODEL_STEMS


_BODY_KEYWORDS = frozenset({"json", "data", "content", "files"})
_TOKEN_WORDS = frozenset({"oauth", "oauth2", "token", "auth", "login"})
"""Words of a URL or a function name that say the request fetches an access token (or
signs in): answered at once, whatever the language-model class around it."""


def _token_request(ctx: FixContext, node: ast.Call) -> bool:
    """The request's URL literal or its function's name says it fetches a token or signs
    in (held-out W: DB-GPT's Wenxin wrapper posts to `.../oauth/2.0/token`; a 600 s read
    timeout there waits ten minutes for an answer that takes milliseconds)."""
    function = ctx.env.get("function")
    texts = [getattr(function, "name", "") if function is not None else ""]
    url = _url_arg(node)
    if url is not None:
        # The path, not the query: `?token=KEY` passes a key to any endpoint.
        texts += [part.value.split("?", 1)[0] for part in ast.walk(url)
                  if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    return any(word in _TOKEN_WORDS for word in name_words(" ".join(texts)))


def _polls(ctx: FixContext, node: ast.AST) -> bool:
    """The call sits in a loop that also sleeps (a status poll, a wait for a server to come
    up): each request should answer at once, and a long timeout would stretch the loop's own
    limit by hours. Even a generation job is polled with short requests. A request that
    sends a body (`json=`, `data=`) in such a loop is a retry of that request, not a status
    read (held-out eval G: langchain-community's `Beam._call` re-posts its prompt up to
    three times): it keeps the timeout its own work needs."""
    if isinstance(node, ast.Call) and any(kw.arg in _BODY_KEYWORDS for kw in node.keywords):
        return False
    scope = ctx.source.scope_of(node)
    at: ast.AST | None = ctx.source.parent(node)
    while at is not None and at is not scope:
        if isinstance(at, (ast.For, ast.While, ast.AsyncFor)):
            for inner in ast.walk(at):
                if isinstance(inner, ast.Call) and (
                        isinstance(inner.func, ast.Attribute) and inner.func.attr == "sleep"
                        or isinstance(inner.func, ast.Name) and inner.func.id == "sleep"):
                    return True
        at = ctx.source.parent(at)
    return False


def with_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """The call with `keyword=value` set: the existing argument's value replaced, or a new
    last argument laid out like the others."""
    args = list(call.args)
    existing = [i for i, a in enumerate(args) if a.keyword is not None
                and a.keyword.value == keyword]
    if existing:
        i = existing[0]
        args[i] = args[i].with_changes(value=value)
        return call.with_changes(args=args)
    new = cst.Arg(keyword=cst.Name(keyword), value=value,
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    if args:
        last = args[-1]
        after = last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else None
        opening = call.whitespace_before_args
        if isinstance(after, cst.ParenthesizedWhitespace) and \
                isinstance(opening, cst.ParenthesizedWhitespace):
            # One argument per line with a trailing comma: the old last argument keeps its
            # comma and comment, the new one goes on the next line with a plain comma.
            args[-1] = last.with_changes(comma=last.comma.with_changes(
                whitespace_after=after.with_changes(indent=opening.indent,
                                                    last_line=opening.last_line)))
            new = new.with_changes(comma=cst.Comma(whitespace_after=after.with_changes(
                first_line=cst.TrailingWhitespace(), empty_lines=[])))
        else:
            if isinstance(last.comma, cst.Comma):
                new = new.with_changes(comma=last.comma)
            # The space before `)` stays before `)`.
            new = new.with_changes(whitespace_after_arg=last.whitespace_after_arg)
            args[-1] = last.with_changes(comma=first_arg_comma(call),
                                         whitespace_after_arg=cst.SimpleWhitespace(""))
    args.append(new)
    return call.with_changes(args=args)
