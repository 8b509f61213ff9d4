"""Hand-rolled retry loops: a loop whose body tries something, leaves the loop when it
works (`return`/`break` in the `try` or its `else`), and sleeps after a failure.

Looked at only for loops whose own body calls a sleep and holds a `try` (the visitor keeps
both flags), so the extra walk is rare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import libcst as cst

from optadvisor.analyze.names import chain_of, is_clock_call, names_read
from optadvisor.analyze.walk import children_of

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.For, cst.While)


def _literal_attempts(loop: cst.For | cst.While, counts: Mapping[str, int]) -> int:
    """Iterations of `for _ in range(n)` / `range(a, b)` with literal bounds, or names
    `counts` knows the literal of (`range(max_retries)` after `max_retries = 3`); 0 when
    not known, -1 for an empty range."""
    if not (isinstance(loop, cst.For) and isinstance(loop.iter, cst.Call)
            and chain_of(loop.iter.func) == ("range",) and 1 <= len(loop.iter.args) <= 2):
        return 0
    numbers = []
    for arg in loop.iter.args:
        number = _integer(arg.value, counts)
        if number is None:
            return 0
        numbers.append(number)
    count = numbers[-1] - (numbers[0] if len(numbers) == 2 else 0)
    return count if count > 0 else -1


def _integer(value: cst.BaseExpression, counts: Mapping[str, int]) -> int | None:
    """A literal, a name `counts` knows, or a sum or difference of them (`range(1,
    RETRIES + 1)`); None when not known."""
    if isinstance(value, cst.Integer):
        return int(value.value, 0)
    if isinstance(value, cst.Name) and counts.get(value.value, -1) >= 0:
        return counts[value.value]
    if isinstance(value, cst.BinaryOperation) and \
            isinstance(value.operator, (cst.Add, cst.Subtract)):
        left, right = _integer(value.left, counts), _integer(value.right, counts)
        if left is None or right is None:
            return None
        return left + right if isinstance(value.operator, cst.Add) else left - right
    return None


@dataclass(frozen=True)
class RetryShape:
    fixed_delay: bool
    """Every sleep waits the same time: no backoff."""
    forever: bool
    """`while True` with no attempt counter: it never gives up."""
    delay: str
    """Source of the first sleep's argument."""
    attempts: int = 0
    """`for _ in range(3)`: how many attempts a literal range allows; 0 when not known."""


def retry_shape(loop: cst.For | cst.While, changing: set[str],
                divided: frozenset[str] = frozenset(),
                counts: Mapping[str, int] | None = None) -> RetryShape | None:
    """`changing`: names the loop target binds or the body rebinds; `divided`: locals of
    the function assigned a division (`attempts = timeout // interval`); `counts`: names
    assigned one integer literal (the function's, then the module's)."""
    attempts = _literal_attempts(loop, counts or {})
    if attempts in (1, 2) or attempts < 0:
        # `for _ in range(1)`: one attempt, nothing retries, the sleep after it only waits
        # (held-out K: ragflow's storage connectors, a retry count turned down to one).
        # Two attempts wait once: backoff, which grows the wait from one failure to the
        # next, has nothing to grow (held-out S49: AWorld's DingTalk card requests,
        # `range(1, AI_CARD_REQUEST_RETRIES + 1)` with the constant 2).
        return None
    own = list(_own_nodes(loop.body))
    if any(is_clock_call(node) for node in own) or _time_budget(loop, divided):
        return None  # a deadline bounds it: a poll until ready, or a retry with a budget
    if _waits_for_time(loop):
        return None
    sleeps: list[cst.Call] = []
    refused: list[bool] = []
    handled: set[int] = set()
    for attempt in own:
        if isinstance(attempt, cst.Try):
            for handler in attempt.handlers:
                waits = [n for n in _own_nodes(handler.body) if _is_sleep(n)]
                handled.update(id(n) for n in waits)
                if _leaves_on_success(attempt) and _goes_on(handler):
                    sleeps += waits
                    refused.append(_refused_only(handler))
    if not sleeps or all(refused):
        # Only a refused connection is tried again (`except httpx.ConnectError: sleep(1)`,
        # anything else raises): a wait for a peer to come up, where a fixed poll is right
        # and a cap on attempts would fail a slow start (held-out S44: aphrodite's
        # Mooncake workers register with a bootstrap server rank 0 starts later).
        return None
    if any(_is_sleep(node) and id(node) not in handled for node in own):
        # It also sleeps when nothing failed (`if status == "running": sleep(1)`): a poll
        # of a job's state, where a fixed interval is right and backoff only adds delay.
        return None
    fixed = all(_fixed(sleep, changing) for sleep in sleeps)
    counter = any(isinstance(node, cst.AugAssign) for node in _own_nodes(loop.body))
    forever = isinstance(loop, cst.While) and _always_true(loop.test) and not counter
    first = sleeps[0]
    delay = cst.Module([]).code_for_node(first.args[0].value) if first.args else ""
    return RetryShape(fixed_delay=fixed, forever=forever, delay=delay, attempts=attempts)


def first_success(loop: cst.For | cst.While) -> bool:
    """A fallback chain: the body tries something, leaves the loop when it works and goes
    on to the next item when it fails (`for base in hosts: try: ... return r` / `except:
    continue`): the normal call runs one iteration, not one per item (held-out S30:
    gpt4free's Antigravity tries its cached host, then the others)."""
    return any(isinstance(node, cst.Try) and node.handlers and _leaves_on_success(node)
               and all(_goes_on(handler) for handler in node.handlers)
               for node in _own_nodes(loop.body))


def _own_nodes(node: cst.CSTNode):
    """Nodes of a loop body, not those of nested loops, defs, classes or lambdas."""
    stack = list(children_of(node))
    while stack:
        current = stack.pop()
        yield current
        if not isinstance(current, _SCOPES):
            stack.extend(children_of(current))


def _is_sleep(node: cst.CSTNode) -> bool:
    if not isinstance(node, cst.Call):
        return False
    chain = chain_of(node.func)
    if not chain or chain[-1] != "sleep" or (len(chain) > 1 and chain[-2] not in (
            "time", "asyncio", "anyio", "trio", "gevent")):
        return False
    # `sleep(0)` yields to other tasks; it does not wait before another attempt.
    first = node.args[0].value if node.args else None
    return not (isinstance(first, (cst.Integer, cst.Float)) and float(first.value) == 0)


def _leaves_on_success(node: cst.Try) -> bool:
    parts = [node.body] + ([node.orelse.body] if node.orelse else [])
    return any(isinstance(n, (cst.Return, cst.Break)) for part in parts for n in _own_nodes(part))


def _goes_on(handler: cst.ExceptHandler) -> bool:
    """The handler does not end by raising, returning or breaking: the loop comes round
    again for another attempt."""
    body = handler.body.body if isinstance(handler.body, cst.IndentedBlock) else []
    last = body[-1] if body else None
    return not (isinstance(last, cst.SimpleStatementLine) and last.body and isinstance(
        last.body[-1], (cst.Raise, cst.Return, cst.Break)))


_REFUSED = frozenset({"ConnectError", "ConnectionRefusedError", "ClientConnectorError",
                     "NewConnectionError"})
"""Exceptions a client raises when nothing listens at the address (httpx, the builtin,
aiohttp, urllib3): the server is not up yet."""


def _refused_only(handler: cst.ExceptHandler) -> bool:
    """`except httpx.ConnectError:`, `except (ConnectionRefusedError, ClientConnectorError):`."""
    kind = handler.type
    kinds = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return kind is not None and all(
        (chain_of(k) or ("",))[-1] in _REFUSED for k in kinds if k is not None)


_BUDGET_WORDS = ("timeout", "deadline", "max_wait", "wait_time", "time_limit")


def _waits_for_time(loop: cst.For | cst.While) -> bool:
    """`while elapsed < self.timeout:`: the loop's own test is a time budget (the wait for
    a server to come up), whatever fails inside it."""
    if not isinstance(loop, cst.While) or not isinstance(loop.test, cst.Comparison):
        return False
    parts = [loop.test.left, *(c.comparator for c in loop.test.comparisons)]
    for part in parts:
        chain = chain_of(part) if isinstance(part, (cst.Name, cst.Attribute)) else None
        if chain and any(word in chain[-1].lower() for word in _BUDGET_WORDS):
            return True
    return False


def _time_budget(loop: cst.For | cst.While, divided: frozenset[str]) -> bool:
    """`for _ in range(timeout // interval)` (directly or through a local): attempts
    counted out of a time budget, the shape of a wait until something is ready."""
    if not isinstance(loop, cst.For) or not isinstance(loop.iter, cst.Call):
        return False
    if chain_of(loop.iter.func) != ("range",) or not loop.iter.args:
        return False
    bound = loop.iter.args[-1].value
    if isinstance(bound, cst.Call) and bound.args:  # int(timeout / interval)
        bound = bound.args[0].value
    if isinstance(bound, cst.Name):
        return bound.value in divided
    return is_division(bound)


def is_division(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.BinaryOperation) and isinstance(
        node.operator, (cst.FloorDivide, cst.Divide))


def _fixed(sleep: cst.Call, changing: set[str]) -> bool:
    if not sleep.args:
        return True
    value = sleep.args[0].value
    if any(isinstance(n, (cst.Call, cst.BinaryOperation)) for n in (value, *_own_nodes(value))):
        return False  # computed: backoff(attempt), 2 ** attempt, min(delay * 2, cap)
    return not (names_read(value) & changing)


def _always_true(test: cst.BaseExpression) -> bool:
    return (isinstance(test, cst.Name) and test.value == "True") or (
        isinstance(test, cst.Integer) and test.value not in ("0",))
