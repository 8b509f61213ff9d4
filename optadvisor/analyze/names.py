"""Turning libcst expressions into dotted names, and dotted names into resolved ones.

Resolution is deliberately cheap and flow-insensitive (no QualifiedNameProvider, which
costs ~5x a parse): imports bind aliases, and a variable gets a "type" when it is assigned
from a call (`s = requests.Session()` -> `requests.Session`), bound by `with ... as`,
annotated (`client: OpenAI`), or stored on `self` anywhere in its class. The type of a
call's result is the callee's resolved name, so `boto3.client("s3").get_object` resolves to
`boto3.client.get_object` and the catalog can say `boto3.client.*`.
"""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from optadvisor.analyze.catalog import django_orm
from optadvisor.models import SUPER_MARK
from optadvisor.analyze.walk import children_of, walk

Chain = tuple[str, ...]

UNKNOWN = "?"
"""Head of a name rooted in a local variable whose type is unknown; matches only `*.x`."""

SUPER = SUPER_MARK


def chain_of(node: cst.BaseExpression) -> Chain | None:
    """`a.b.c` -> ("a", "b", "c"). A call inside the chain marks the part it calls with
    "()": `requests.Session().get` -> ("requests", "Session()", "get"), and a Call node
    itself ends with its mark: `s.get(u)` -> ("s", "get()"). None if not a plain chain."""
    parts: list[str] = []
    called = False
    while True:
        if isinstance(node, cst.Call):
            called = True
            node = node.func
            continue
        if isinstance(node, cst.Name):
            parts.append(node.value + "()" if called else node.value)
            parts.reverse()
            return tuple(parts)
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value + "()" if called else node.attr.value)
            called = False
            node = node.value
        else:
            return None


def dotted(node: cst.BaseExpression) -> str | None:
    """Dotted text of a Name/Attribute chain (no calls), e.g. for `import a.b as c`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def annotation_chain(node: cst.BaseExpression) -> Chain | None:
    """The class an annotation names: `OpenAI`, `Optional[OpenAI]`, `OpenAI | None`."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        found = chain_of(node)
        return None if found == ("None",) else found
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return annotation_chain(node.left) or annotation_chain(node.right)
    if isinstance(node, cst.Subscript):
        outer = chain_of(node.value) if isinstance(node.value, (cst.Name, cst.Attribute)) \
            else None
        if outer and outer[-1] in ("Optional", "Annotated") and node.slice:
            first = node.slice[0].slice
            if isinstance(first, cst.Index):
                return annotation_chain(first.value)
    return None


# ----------------------------------------------------------- what expressions read

def stored_call(value: cst.BaseExpression) -> cst.Call | None:
    """The call whose result an assignment stores: `X()`, `await X()`, `a or X()` (the
    right side first), `X() if c else Y()` (the body first)."""
    calls = stored_calls(value)
    return calls[0] if calls else None


def entered_call(call: cst.Call) -> cst.Call | None:
    """`session.client("s3").__aenter__()`: the call whose object is entered by hand. A
    client's `__aenter__` returns the client itself, so what the outer call's result goes
    to, the inner one's goes to as well (held-out S40c: inspect_ai's S3 client factory
    returns `await session.client(...).__aenter__()`, kept by its caller with a TTL)."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("__aenter__", "__enter__") \
            and isinstance(func.value, cst.Call):
        return func.value
    return None


def stored_calls(value: cst.BaseExpression) -> list[cst.Call]:
    """Every call whose result an assignment may store: both sides of `a if c else b` and
    of `a or b`, in stored_call's order of preference."""
    if isinstance(value, cst.Await):
        value = value.expression
    if isinstance(value, cst.Call):
        inner = entered_call(value)
        return [value] if inner is None else [value, inner]
    if isinstance(value, cst.BooleanOperation):
        return stored_calls(value.right) + stored_calls(value.left)
    if isinstance(value, cst.IfExp):
        return stored_calls(value.body) + stored_calls(value.orelse)
    return []


class _NameReader:
    """Names an expression reads (not attribute names, not keyword names)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in ("True", "False", "None"):
            self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.names |= names_read(node.value)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        self.names |= names_read(node.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        # What its body reads besides its own parameters: the closure reads them when it
        # runs (held-out S49: AWorld's `run_in_executor(None, lambda: tok.decode(resp.ids))`
        # reads `resp`, the result of the await before it; grouped with that await, the
        # gather ran the lambda before `resp` was bound).
        params = node.params
        own = {p.name.value for p in (*params.posonly_params, *params.params,
                                      *params.kwonly_params)}
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                own.add(star.name.value)
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            if p.default is not None:
                self.names |= names_read(p.default)
        self.names |= names_read(node.body) - own
        return False


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below `node` (not itself) that can hold code (not whitespace, comments
    or punctuation), in no particular order."""
    stack = children_of(node)
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children_of(current))


def names_read(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return set() if node.value in ("True", "False", "None") else {node.value}
    reader = _NameReader()
    walk(node, reader)
    return reader.names


def receiver_names(func: cst.BaseExpression) -> set[str]:
    """`client.get(...)`: the object a method is called on is read too (`pages[i].load()`
    depends on `i`), but not the bare function name of `fetch(...)`."""
    if isinstance(func, cst.Attribute):
        return names_read(func.value)
    return set()


def serialized(call: cst.Call) -> bool:
    """An awaited call that runs on Django's one sync thread: `sync_to_async(f)(...)` (unless
    `thread_sensitive=False`), `Model.objects.filter(...).afirst()`, `obj.asave()`."""
    func = call.func
    if isinstance(func, cst.Call):
        chain = chain_of(func.func)
        return bool(chain) and chain[-1] in ("sync_to_async", "database_sync_to_async") and \
            not any(a.keyword is not None and a.keyword.value == "thread_sensitive"
                    and isinstance(a.value, cst.Name) and a.value.value == "False"
                    for a in func.args)
    return django_orm(chain_of(func) or ())


_NOT_WORK = {"sleep", "acquire", "release", "wait", "wait_for", "put", "join",
             "gather", "shield", "send", "recv", "receive", "drain", "close"}
"""Awaited calls that order or pace the code rather than do independent work."""
MAYBE_WORK = frozenset({"get"})
"""Awaited calls that are a queue's or a store's wait (`await queue.get()`) on most objects,
and an independent request on an HTTP client: group items that facts keep only where the
resolved name shows such a client (facts._split_on_receivers)."""


Statement = tuple[cst.Call, str, set[str], set[str], str]
"""(call, target text, names assigned, names read, receiver) of one statement of a group."""


def _kept_result(statement: cst.BaseStatement
                 ) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(value, target) of `x = value` or `x: T = value`."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    # A statement that throws its result away is run for its side effect, and side effects
    # usually have an order (apply the patch, then run the tests): only calls whose results
    # are kept are grouped.
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if not isinstance(target, (cst.Name, cst.Tuple)) or (
                isinstance(target, cst.Name) and target.value == "_"):
            return None  # `_ = f()` throws the result away too
        return small.value, target
    if isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(
            small.target, cst.Name):
        return small.value, small.target
    return None


def _item(call: cst.Call, target: cst.BaseExpression, reads: set[str],
          receiver: str) -> Statement:
    """Target text and names are made only for statements that are items: rendering code
    for every assignment of a file would cost more than the rest of the walk."""
    text = target.value if isinstance(target, cst.Name) else \
        cst.Module([]).code_for_node(target)
    return call, text, names_read(target), reads, receiver


def await_statement(statement: cst.BaseStatement) -> Statement | None:
    """The group item of `x = await call()`."""
    kept = _kept_result(statement)
    if kept is None:
        return None
    value, target = kept
    if not isinstance(value, cst.Await) or not isinstance(value.expression, cst.Call):
        return None
    call = value.expression
    chain = chain_of(call.func)
    if not chain or chain[-1].rstrip("()") in _NOT_WORK:
        return None
    reads = set().union(*(names_read(arg.value) for arg in call.args)) if call.args else set()
    reads |= receiver_names(call.func)
    return _item(call, target, reads, ".".join(chain[:-1]))


HTTP_READS = frozenset({"get", "head", "urlopen"})
LLM_CALLS = frozenset({"create", "parse", "generate", "generate_content", "chat", "complete",
                       "embed", "embeddings", "embedding", "completion", "text_completion",
                       "image_generation", "transcription"})
"""Last names of the sync requests a call group can hold (facts decide with the catalog);
any other call is not an item, which keeps this walk off most assignments."""
_SLOW_TAILS = HTTP_READS | LLM_CALLS


def call_statement(statement: cst.BaseStatement) -> Statement | None:
    """The group item of `x = call(...)` in sync code, where what the call returns may be
    read further (`requests.get(url).json()`, `client.create(...).choices[0].message`):
    the item is that first call, and everything the statement reads."""
    kept = _kept_result(statement)
    if kept is None:
        return None
    value, target = kept
    call = None
    node: cst.BaseExpression = value
    while True:
        if isinstance(node, cst.Call):
            call, node = node, node.func
        elif isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        else:
            break
    chain = chain_of(call.func) if call is not None else None
    if call is None or not chain or chain[-1].rstrip("()") not in _SLOW_TAILS or \
            has_await(value):
        return None
    return _item(call, target, names_read(value), ".".join(chain[:-1]))


def plain_statement(statement: cst.BaseStatement) -> tuple[set[str], set[str]] | None:
    """(names assigned, names read) of an assignment with no await, no control flow and no
    clock read (`payload = build(x)`): one that may sit between grouped awaits. A bare
    expression statement (`logger.info("step 2")`, `page.click()`) is there for its effect,
    in its place between the awaits, and so is a clock read (`elapsed = time.time() - t0`
    times the await before it): those end the group."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    assigned: set[str] = set()
    read: set[str] = set()
    for small in statement.body:
        if not isinstance(small, cst.Assign):
            return None
        for target in small.targets:
            if not isinstance(target.target, (cst.Name, cst.Tuple)):
                return None
            assigned |= names_read(target.target)
        if has_await(small.value) or _reads_clock(small.value):
            return None
        read |= names_read(small.value)
    return assigned, read


_CLOCKS = {"time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns",
           "now", "utcnow"}


def is_clock_call(node: cst.CSTNode) -> bool:
    """`time.time()`, `monotonic()`, `datetime.now()`: a read of the clock."""
    if not isinstance(node, cst.Call):
        return False
    chain = chain_of(node.func)
    return bool(chain) and chain[-1] in _CLOCKS


def _reads_clock(node: cst.CSTNode) -> bool:
    return is_clock_call(node) or any(_reads_clock(child) for child in children_of(node))


def has_await(node: cst.CSTNode) -> bool:
    if isinstance(node, (cst.Await, cst.Yield)):
        return True
    return any(has_await(child) for child in children_of(node))
