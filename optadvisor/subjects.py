"""What rules see: light views over facts, with the fields the `when` language may name.

SCHEMAS is the single list of fields and their types; the expression checker refuses any
other name, and the docs (`optadvisor rules fields`) print it. Views compute derived fields
lazily so evaluating a rule over a subject costs a few attribute reads.
"""

from __future__ import annotations

import ast
import re
from functools import cached_property
from typing import Any

from optadvisor.analyze.catalog import Catalog
from optadvisor.link import Via
from optadvisor.models import CallFact, FileFacts, FunctionFact

CALL_FIELDS = {
    "name": "str", "short_name": "str", "line": "int", "column": "int",
    "blocking": "bool", "blocking_category": "str", "replacement": "str",
    "client": "bool", "client_kind": "str", "network": "bool", "timeout": "str",
    "awaited": "bool", "in_async": "bool", "offloaded": "bool", "in_loop": "bool",
    "loop_depth": "int", "in_with": "bool", "stored": "bool", "assigned_to": "str",
    "source": "str", "func_source": "str", "args_source": "str",
    "indirect": "bool", "via": "str", "via_depth": "int", "returned": "bool", "owned": "bool",
}
FUNCTION_FIELDS = {
    "name": "str", "qualname": "str", "module_level": "bool", "is_async": "bool",
    "is_method": "bool", "class_name": "str", "cached": "bool", "setup": "bool",
    "per_call": "bool", "lines": "int", "statements": "int", "loops": "int",
    "max_loop_depth": "int", "calls": "int", "awaits": "int", "params": "int",
    "yields": "bool", "decorators": "list", "line": "int",
}
FILE_FIELDS = {"path": "str", "lines": "int", "component": "str", "functions": "int",
               "imports": "list"}

SCHEMAS: dict[str, dict[str, dict[str, str]]] = {
    "call": {"call": CALL_FIELDS, "function": FUNCTION_FIELDS, "file": FILE_FIELDS},
    "function": {"function": FUNCTION_FIELDS, "file": FILE_FIELDS},
    "module": {"file": FILE_FIELDS},
}
"""subject -> root -> field -> type. Profile subjects (hotspot, run) join in the profile issue."""

_NEWLINE = re.compile(r"\r\n|\r|\n")


class SourceText:
    """A file's text, decoded and split into lines on first use: most files report
    nothing, and then their bytes are never decoded twice."""

    def __init__(self, text: str | None = None, data: bytes | None = None) -> None:
        self._text = text
        self._data = data
        self._lines: list[str] | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> "SourceText":
        return cls(data=data)

    @property
    def text(self) -> str:
        if self._text is None:
            from optadvisor.analyze import decode

            try:
                self._text = decode(self._data or b"")
            except (SyntaxError, UnicodeDecodeError, LookupError):
                self._text = (self._data or b"").decode("utf-8", errors="replace")
        return self._text

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = _NEWLINE.split(self.text)
        return self._lines

    def line(self, number: int) -> str:
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def span(self, line: int, col: int, end_line: int, end_col: int) -> str:
        """Text between two 1-based (line, column) points."""
        if line == end_line:
            return self.line(line)[col - 1:end_col - 1]
        parts = [self.line(line)[col - 1:]]
        parts.extend(self.line(n) for n in range(line + 1, end_line))
        parts.append(self.line(end_line)[:end_col - 1])
        return "\n".join(parts)


class FileView:
    def __init__(self, facts: FileFacts, component: str) -> None:
        self.path = facts.path
        self.lines = facts.lines
        self.component = component
        self.functions = len(facts.functions)
        self.imports = facts.imports


class FunctionView:
    __slots__ = ("fact", "catalog")

    def __init__(self, fact: FunctionFact | None, catalog: Catalog) -> None:
        self.fact = fact
        self.catalog = catalog

    def __getattr__(self, name: str) -> Any:
        fact = self.fact
        if fact is None:
            return _MODULE_DEFAULTS.get(name)
        if name == "module_level":
            return False
        if name == "setup":
            return fact.name in self.catalog.setup_functions
        if name == "per_call":
            return not fact.cached and fact.name not in self.catalog.setup_functions
        if name == "lines":
            return fact.lines
        if name == "is_method":
            return fact.is_method
        if name == "decorators":
            return fact.decorators
        if name in FUNCTION_FIELDS:
            return getattr(fact, name)
        raise AttributeError(name)


_MODULE_DEFAULTS: dict[str, Any] = {
    "name": "<module>", "qualname": "<module>", "module_level": True, "is_async": False,
    "is_method": False, "class_name": "", "cached": False, "setup": True, "per_call": False,
    "lines": 0, "statements": 0, "loops": 0, "max_loop_depth": 0, "calls": 0, "awaits": 0,
    "params": 0, "yields": False, "decorators": (), "line": 1,
}


class CallView:
    def __init__(self, fact: CallFact, function: FunctionView, source: SourceText,
                 via: Via | None = None) -> None:
        self.fact = fact
        self.via_chain = via
        # Reaches blocking work through project helpers (link.py): `via` is the chain.
        self.indirect = via is not None
        self.via = via.text if via else ""
        self.via_depth = len(via.chain) - 1 if via else 0
        self.function = function
        self.src = source
        self.name = fact.name
        self.line = fact.line
        self.column = fact.column
        self.blocking = bool(fact.blocking)
        self.blocking_category = fact.blocking or (via.category if via else "")
        self.replacement = fact.replacement or (via.replacement if via else "")
        self.client = bool(fact.client)
        self.client_kind = fact.client
        self.network = bool(fact.timeout)
        self.timeout = fact.timeout
        self.awaited = fact.awaited
        self.offloaded = fact.offloaded
        self.in_loop = fact.loop_depth > 0
        self.loop_depth = fact.loop_depth
        self.in_with = fact.in_with
        self.stored = fact.lazy
        self.returned = fact.returned
        self.owned = fact.owned
        self.assigned_to = fact.assigned_to

    @property
    def in_async(self) -> bool:
        return bool(self.function.is_async)

    @property
    def short_name(self) -> str:
        return self.fact.name.rsplit(".", 1)[-1]

    @cached_property
    def source(self) -> str:
        f = self.fact
        return self.src.span(f.line, f.column, f.end_line, f.end_column)

    @cached_property
    def _parsed(self) -> tuple[str, list[str], list[tuple[str, str]]]:
        """(callee text, positional argument texts, [(keyword, value text)]) of the call."""
        wrapped = "(" + self.source + ")"
        try:
            node = ast.parse(wrapped, mode="eval").body
        except SyntaxError:
            return "", [], []
        if not isinstance(node, ast.Call):
            return "", [], []
        func = ast.get_source_segment(wrapped, node.func) or ""
        args = [ast.get_source_segment(wrapped, a) or "" for a in node.args]
        kws = [("**" if kw.arg is None else kw.arg, ast.get_source_segment(wrapped, kw.value) or "")
               for kw in node.keywords]
        return func, args, kws

    @property
    def func_source(self) -> str:
        return self._parsed[0] or self.source

    @property
    def args_source(self) -> str:
        _, args, kws = self._parsed
        return ", ".join([*args, *(_kw(k, v) for k, v in kws)])

    def set_kwarg(self, name: str, value: str) -> str:
        """This call's source with keyword `name` set to `value` (for fix templates)."""
        func, args, kws = self._parsed
        if not func:
            return self.source
        items = [*args, *(_kw(k, v) for k, v in kws if k != name), f"{name}={value}"]
        return f"{func}({', '.join(items)})"


def _kw(name: str, value: str) -> str:
    return f"**{value}" if name == "**" else f"{name}={value}"
