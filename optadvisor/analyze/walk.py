"""A read-only, source-order walk over a libcst tree.

`Module.visit(visitor)` rebuilds every node it passes (its visitors may replace children),
which costs about as much as the parse itself. A fact collector replaces nothing, so this
walk only reads: for each node class it follows the child fields in the order libcst's own
`_visit_and_replace_children` visits them (lexical order, which positions.py relies on),
skipping whitespace and punctuation, and calls the visitor's `visit_X`/`leave_X` exactly as
libcst would (a `visit_X` returning False skips the children).

The field order is read once per class from libcst's source; a class whose source cannot
be read falls back to `node.children` (slow but correct). tests/test_walk.py checks the
walk against libcst's own traversal.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Callable

import libcst as cst

_SKIP_PARTS = ("whitespace", "lpar", "rpar", "leading_lines", "lines_after_decorators",
               "header", "footer", "comma", "semicolon", "newline", "indent")

_ORDER: dict[type, tuple[str, ...] | None] = {}


def _readable_order(cls: type) -> tuple[str, ...] | None:
    try:
        method = cls._visit_and_replace_children  # type: ignore[attr-defined]
        source = textwrap.dedent(inspect.getsource(method))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id.startswith("visit_") and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            found.append((node.lineno, node.col_offset, node.args[1].value))
    if not found:
        return ()  # a leaf (Name, Integer, FormattedStringText…): nothing to walk into
    found.sort()
    return tuple(name for _, _, name in found
                 if not any(part in name for part in _SKIP_PARTS))


def field_order(cls: type) -> tuple[str, ...] | None:
    try:
        return _ORDER[cls]
    except KeyError:
        order = _ORDER[cls] = _readable_order(cls)
        return order


_IS_NODE: dict[type, bool] = {}
"""Per type: a libcst node or not. CSTNode is an ABC, and `isinstance` against an ABC goes
through its subclass hook: a dict lookup by type is several times cheaper."""


def _is_node(kind: type) -> bool:
    found = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return found


def walk(module: cst.CSTNode, visitor: Any) -> None:
    handlers: dict[type, tuple[Callable[..., Any] | None, Callable[..., Any] | None,
                               tuple[str, ...] | None]] = {}

    def go(node: cst.CSTNode) -> None:
        cls = type(node)
        entry = handlers.get(cls)
        if entry is None:
            name = cls.__name__
            entry = handlers[cls] = (getattr(visitor, "visit_" + name, None),
                                     getattr(visitor, "leave_" + name, None), field_order(cls))
        visit, leave, fields = entry
        if visit is None or visit(node) is not False:
            for child in (node.children if fields is None else _fields(node, fields)):
                go(child)
        if leave is not None:
            leave(node)

    go(module)


def children_of(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The child nodes of `node` that can hold code, in source order: `node.children`
    without whitespace, comments and punctuation. libcst's `children` builds them through a
    throw-away visitor (it costs like a small visit per call); this reads the fields."""
    fields = field_order(type(node))
    return list(node.children) if fields is None else _fields(node, fields)


def _fields(node: cst.CSTNode, fields: tuple[str, ...]) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    known = _IS_NODE
    for field in fields:
        value = getattr(node, field)
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                each = type(item)
                if known.get(each) or (each not in known and _is_node(each)):
                    out.append(item)
        elif known.get(kind) or (kind not in known and _is_node(kind)):
            out.append(value)
    return out
