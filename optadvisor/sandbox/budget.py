"""What one render may use (Limits) and has used (Budget), and how big a value is."""

from __future__ import annotations

import time
from collections import abc
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2


class LimitExceeded(jinja2.TemplateError):
    """A render went past one of its Limits."""


@dataclass(frozen=True)
class Limits:
    """What one render may use. Rule templates are a sentence or two: the shipped ones
    render in microseconds and use a few hundred characters, so every limit is far above
    what a useful template needs."""

    chars: int = 100_000
    """Characters of output, and of any string, list or width a template builds."""
    int_bits: int = 4096
    """Bits of an integer (9**(9**9) has 1.2 billion)."""
    steps: int = 100_000
    """Loop iterations, calls, filters and operators, together."""
    depth: int = 32
    """Nested calls: macros, `caller()`, recursive `loop()`."""
    seconds: float = 1.0
    range: int = 10_000
    """Items of one `range()`."""
    source_chars: int = 20_000
    """Length of a template in its rule file."""
    nesting: int = 30
    """Depth of a template's syntax tree (jinja's parser and Python's compiler recurse)."""


class Budget:
    """What one render has used of its Limits."""

    __slots__ = ("limits", "steps", "output", "depth", "deadline")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.output = 0
        self.depth = 0
        self.deadline = time.monotonic() + limits.seconds

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise LimitExceeded(f"more than {self.limits.steps:,} steps (loop iterations, "
                                "calls, filters, operators)")
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"rendering took more than {self.limits.seconds:g} s")

    def size(self, chars: int, what: str) -> None:
        if chars > self.limits.chars:
            raise LimitExceeded(f"{what} would hold at least {chars:,} characters (limit "
                                f"{self.limits.chars:,})")

    def bits(self, bits: int, what: str) -> None:
        if bits > self.limits.int_bits:
            raise LimitExceeded(f"{what} would have about {bits:,} bits (limit "
                                f"{self.limits.int_bits:,})")

    def emit(self, chars: int) -> None:
        self.output += chars
        if self.output > self.limits.chars:
            raise LimitExceeded(f"output over {self.limits.chars:,} characters")

    def result(self, value: Any, what: str) -> Any:
        if isinstance(value, int):
            self.bits(value.bit_length(), what)
        else:
            self.size(weight(value, self.limits.chars), what)
        return value


def weight(value: Any, cap: int) -> int:
    """Characters `value` holds, counted through every collection in it (a list of one
    string repeated a million times is small in memory, not once printed), without
    recursion (a list can nest 90,000 deep); stops counting past `cap`."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1  # at least its decimal digits
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, (abc.Mapping, abc.Collection)):
            # dict views and mappings too: `{{ d.items() }}` prints every value
            total += len(item)
            if total > cap:
                return total
            stack.extend(item.items() if isinstance(item, abc.Mapping) else item)
        else:
            total += 1
        if total > cap:
            return total
    return total


_CURRENT: ContextVar[Budget | None] = ContextVar("optadvisor_template_budget",
                                                default=None)


def current(limits: Limits) -> Budget:
    """The budget of the render under way; outside a render (jinja folds constant output
    while compiling) a fresh one."""
    return _CURRENT.get() or Budget(limits)


def open_budget(limits: Limits) -> object:
    """A new budget for a render: pass what this returns to close_budget after it."""
    return _CURRENT.set(Budget(limits))


def close_budget(token: object) -> None:
    _CURRENT.reset(token)  # type: ignore[arg-type]
