"""The sandbox rule templates render in: jinja2's sandbox, with limits.

jinja2's sandbox keeps a template away from Python's internals, not from the machine:
`{{ 9**(9**9) }}` computes for hours, `{{ call.name * 300000000 }}` allocates 10 GiB, two
nested `range(100000)` loops never end and a macro that calls itself overflows the stack.
Rule files are user data (`rule-dirs`), so every render runs under a Budget, enforced by
the sandbox's own hooks in the rendering thread (no watchdog thread, no signal):

- operators (`call_binop`) and calls (`call`) are sized *before* they build anything that
  grows (`**`, `*`, `+`, `%`, `center`, `join`, `replace`, format widths), and every
  result is sized after; calls also count their nesting (the recursive macro);
- every filter is wrapped the same way;
- `{% for %}` and `~` are rewritten before compiling so that every iteration counts and a
  concatenation is sized before it is built;
- every `{{ ... }}` (`finalize`) and every loop iteration's literal text is charged to one
  output budget.

Every hook counts a step and reads the clock. Anything past a limit raises LimitExceeded;
the engine turns it (and any other render error) into a rule-error record.
"""

from __future__ import annotations

import sys
import types
from collections import abc, deque
from typing import Any, Callable, Iterable, Iterator, Mapping

import jinja2
from jinja2 import nodes
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from optadvisor.sandbox.budget import (
    LimitExceeded, Limits, close_budget, current, open_budget, weight,
)
from optadvisor.sandbox.checks import TemplateRefused, check_brackets, check_nodes
from optadvisor.sandbox.growth import (
    SEQUENCES, bounded_filter, check_format, check_printf, is_int, method_check,
)

__all__ = ["LimitExceeded", "Limits", "TemplateRefused", "TemplateSandbox"]


def _literal_chars(body: list[nodes.Node]) -> int:
    """Characters a loop body writes as literal text on every iteration (nested loops
    charge their own; constant `{{ "..." }}` is folded into literal text by jinja)."""
    total = 0
    stack: list[nodes.Node] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif isinstance(node, nodes.Const) and isinstance(node.value, str):
            total += len(node.value)
        if not isinstance(node, nodes.For):
            stack.extend(node.iter_child_nodes())
    return total


class _Bounded(NodeTransformer):
    """Loops iterate through `environment.loop_items` (a step and the body's literal
    text per iteration) and `a ~ b` becomes `environment.joined(a, b)` (sized before it
    is built): nodes the parser cannot produce, so a template cannot name them."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("loop_items"),
                               [node.iter, nodes.Const(_literal_chars(node.body))], [],
                               None, None).set_lineno(node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("joined"), list(node.nodes), [], None,
                          None).set_lineno(node.lineno)


_RENDER_RECURSION = 1000
"""Frames a render may add to its caller's stack: CPython's default limit."""


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


_PLAIN_TYPES: dict[type, bool] = {}
_INTERNALS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type,
              types.CodeType, types.TracebackType, types.FrameType, types.GeneratorType,
              types.CoroutineType, types.AsyncGeneratorType)
_MUTABLE = (abc.MutableSet, abc.MutableMapping, abc.MutableSequence, deque)


def _is_plain(cls: type) -> bool:
    """Neither what jinja's is_internal_attribute looks into (functions, types, frames,
    generators...) nor a mutable container (modifies_known_mutable): for such a type
    both checks reduce to "does the name start with an underscore"."""
    return not issubclass(cls, _INTERNALS) and not issubclass(cls, _MUTABLE)


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox (no `list.append` either) with every hook bounded."""

    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))

    def __init__(self, limits: Limits = Limits()) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False,
                         keep_trailing_newline=False)
        self.limits = limits
        self.finalize = self._finalize
        self.globals["range"] = self._range
        self.globals.pop("lipsum", None)  # lipsum(10**6): nothing a rule message needs
        self.filters = {name: bounded_filter(name, fn) for name, fn in self.filters.items()}

    # ----------------------------------------------------------------- load time

    def parse_checked(self, source: str) -> nodes.Template:
        """Parse a rule template and refuse what it may not do (TemplateRefused; a syntax
        error is jinja's TemplateSyntaxError)."""
        if len(source) > self.limits.source_chars:
            raise TemplateRefused(f"is {len(source):,} characters long (limit "
                                  f"{self.limits.source_chars:,})")
        check_brackets(source, 2 * self.limits.nesting)
        try:
            parsed = self.parse(source)
        except RecursionError:
            raise TemplateRefused("nests too deeply") from None
        check_nodes(parsed, self.limits.nesting)
        return parsed

    def compile_bounded(self, parsed: nodes.Template) -> jinja2.Template:
        tree = _Bounded().visit(parsed)
        tree.set_environment(self)
        return self.from_string(tree)

    def render_bounded(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        token = open_budget(self.limits)
        raised = sys.getrecursionlimit()
        if raised > _RENDER_RECURSION:
            # Analysis in this process raises the limit for deep source files (it runs
            # in a thread with a big stack). Here, on the caller's stack, C recursion
            # (the repr or comparison of a list nested 90,000 deep in a loop) would
            # overflow it before reaching such a limit: a segfault, not a RecursionError.
            sys.setrecursionlimit(_stack_depth() + _RENDER_RECURSION)
        try:
            out = template.render(**context)
        finally:
            close_budget(token)
            if raised > _RENDER_RECURSION:
                sys.setrecursionlimit(raised)
        if len(out) > self.limits.chars:
            raise LimitExceeded(f"output over {self.limits.chars:,} characters")
        return out

    # ----------------------------------------------------------------- hooks

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = current(self.limits)
        budget.tick()
        cap = self.limits.chars
        if operator == "**" and is_int(left) and is_int(right) and right > 0:
            budget.bits(max(left.bit_length(), 1) * right, "a power")
        elif operator == "*":
            if is_int(left) and is_int(right):
                budget.bits(left.bit_length() + right.bit_length(), "a product")
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, SEQUENCES) and is_int(times):
                    budget.size(weight(seq, cap) * max(times, 0), "a repetition")
        elif operator == "+" and isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
            budget.size(weight(left, cap) + weight(right, cap), "a sum")
        elif operator == "%" and isinstance(left, (str, bytes)):
            check_printf(budget, left)
        return budget.result(self.binop_table[operator](left, right),
                             f"the result of `{operator}`")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = current(__self.limits)
        budget.tick()
        if isinstance(__obj, LoopContext) and args:  # `loop(children)` in a recursive for
            args = (__self.loop_items(args[0], 0), *args[1:])
        method = method_check(__obj)
        if method is not None:
            args = method[0](budget, method[1], args, kwargs)
        budget.depth += 1
        try:
            if budget.depth > __self.limits.depth:
                raise LimitExceeded(f"calls nest more than {__self.limits.depth} deep "
                                    "(a macro that calls itself?)")
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1
        return budget.result(result, "the result of a call")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # jinja's checks decided once per type: for most types (the facts' views, str,
        # int) they come down to the leading underscore, and made a third of a render.
        plain = _PLAIN_TYPES.get(type(obj))
        if plain is None:
            plain = _PLAIN_TYPES[type(obj)] = _is_plain(type(obj))
        if plain:
            return not attr.startswith("_")
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is not None:
            check_format(current(self.limits), value.__self__)
        return wrapper

    def _finalize(self, value: Any) -> str:
        budget = current(self.limits)
        budget.tick()
        if not isinstance(value, str):
            budget.size(weight(value, self.limits.chars), "an output value")
            value = str(value)
        budget.emit(len(value))
        return value

    def _range(self, *args: int) -> range:
        items = range(*args)
        try:
            count = len(items)
        except OverflowError:
            count = self.limits.range + 1
        if count > self.limits.range:
            raise LimitExceeded(f"range() of more than {self.limits.range:,} items")
        return items

    def loop_items(self, iterable: Iterable[Any], literal_chars: int) -> Iterator[Any]:
        budget = current(self.limits)
        for item in iterable:
            budget.tick()
            budget.emit(literal_chars)
            yield item

    def joined(self, *parts: Any) -> str:
        budget = current(self.limits)
        total = 0
        for part in parts:
            total += weight(part, self.limits.chars)
            budget.size(total, "a `~` concatenation")
        return "".join(map(str, parts))
