"""Line and column of the nodes the visitor kept, without libcst's PositionProvider.

PositionProvider re-generates the whole module to learn where every node is (about 2x the
cost of the parse itself). CPython's `ast` knows positions for a small fraction of that
(~0.08x), and both trees list calls, defs and loops in the same source order: sorted by
start, an enclosing node before the nodes it contains. So the k-th libcst Call is the k-th
ast Call. When the counts disagree or CPython cannot parse the file (syntax newer than the
running interpreter) the provider is used for that file instead, and facts record which.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

Span = tuple[int, int, int, int]
"""(line, column, end_line, end_column): lines 1-based, columns 1-based characters."""

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass
class Positions:
    calls: list[Span]
    functions: list[Span]
    loops: list[Span]
    source: str
    """`ast` or `libcst`."""
    assigns: Sequence[Span] = ()
    """Of assignment statements (`x = ...`, `x: T = ...`), for the few declarations kept."""


class ByteColumns:
    """Byte offsets (what ast reports) to character columns, for the few nodes kept."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def column(self, line: int, byte_col: int) -> int:
        start = self.starts[line - 1] if line - 1 < len(self.starts) else len(self.text)
        # Most lines are ASCII: then bytes and characters agree.
        chunk = self.text[start:start + byte_col]
        if chunk.isascii():
            return byte_col + 1
        encoded = self.text[start:start + byte_col * 4].encode("utf-8")[:byte_col]
        return len(encoded.decode("utf-8", errors="ignore")) + 1


def _key(node: ast.AST) -> tuple[int, int, int, int]:
    return (node.lineno, node.col_offset, -(node.end_lineno or 0), -(node.end_col_offset or 0))


@dataclass
class AstIndex:
    """What one pass over CPython's tree yields: the nodes positions are needed for, and
    how deep the tree goes (checked before libcst is asked to parse it)."""

    calls: list[ast.AST]
    funcs: list[ast.AST]
    loops: list[ast.AST]
    depth: int
    assigns: list[ast.AST]


def index_ast(tree: ast.Module) -> AstIndex:
    calls: list[ast.AST] = []
    funcs: list[ast.AST] = []
    loops: list[ast.AST] = []
    assigns: list[ast.AST] = []
    deepest = 0
    # The fields that can hold nodes, per class (`ast.iter_child_nodes` asks every field of
    # every node through a generator: a tenth of a libcst parse on its own).
    fields_of: dict[type, tuple[str, ...]] = {}
    node_type, list_type = ast.AST, list
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        kind = type(node)
        if kind is ast.Call:
            calls.append(node)
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            funcs.append(node)
        elif kind is ast.For or kind is ast.AsyncFor or kind is ast.While:
            loops.append(node)
        elif kind is ast.Assign or kind is ast.AnnAssign:
            assigns.append(node)
        if depth > deepest:
            deepest = depth
        depth += 1
        fields = fields_of.get(kind)
        if fields is None:
            fields = fields_of[kind] = tuple(
                name for name in kind._fields if name not in _LEAF_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list_type:
                for item in value:
                    if isinstance(item, node_type):
                        push((item, depth))
            elif isinstance(value, node_type):
                push((value, depth))
    return AstIndex(calls, funcs, loops, deepest, assigns)


_LEAF_FIELDS = frozenset({"id", "attr", "arg", "name", "value_str", "type_comment", "lineno",
                          "col_offset", "end_lineno", "end_col_offset", "kind", "level",
                          "is_async", "conversion", "n", "s"})
"""Fields of ast nodes that hold strings or numbers, never a node (`Constant.value` can be
either: it is kept)."""


def from_ast(index: AstIndex, text: str, n_calls: int, n_funcs: int,
             n_loops: int, n_assigns: int) -> Positions | None:
    calls, funcs, loops, assigns = index.calls, index.funcs, index.loops, index.assigns
    if len(calls) != n_calls or len(funcs) != n_funcs or len(loops) != n_loops or \
            len(assigns) != n_assigns:
        return None
    for group in (calls, funcs, loops, assigns):
        group.sort(key=_key)
    return Positions(_LazySpans(calls, text), _LazySpans(funcs, text),  # type: ignore[arg-type]
                     _LazySpans(loops, text), "ast", _LazySpans(assigns, text))


class _LazySpans(Sequence[Span]):
    """Spans computed only for the indexes asked for: most calls are never reported."""

    _lines: ByteColumns | None = None

    def __init__(self, nodes: list[ast.AST], text: str) -> None:
        self.nodes = nodes
        self.text = text

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, index):  # type: ignore[override]
        node = self.nodes[index]
        if _LazySpans._lines is None or _LazySpans._lines.text is not self.text:
            _LazySpans._lines = ByteColumns(self.text)
        lines = _LazySpans._lines
        end_line = node.end_lineno or node.lineno
        return (node.lineno, lines.column(node.lineno, node.col_offset),
                end_line, lines.column(end_line, node.end_col_offset or 0))


def from_libcst(module: cst.Module, calls: list[cst.CSTNode], funcs: list[cst.FunctionDef],
                loops: list[cst.CSTNode], assigns: list[cst.CSTNode] = ()) -> Positions:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ranges = wrapper.resolve(PositionProvider)

    def span(node: cst.CSTNode) -> Span:
        rng = ranges[node]
        return (rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

    def def_span(node: cst.FunctionDef) -> Span:
        # The provider starts a def at its first decorator; reports point at `def`.
        rng = ranges[node]
        line = rng.start.line
        if node.decorators:
            line -= len(node.decorators[0].leading_lines)
            line += sum(module.code_for_node(d).count("\n") for d in node.decorators)
            line += len(node.lines_after_decorators)
        return (line, rng.start.column + 1, rng.end.line, rng.end.column + 1)

    return Positions([span(n) for n in calls], [def_span(n) for n in funcs],
                     [span(n) for n in loops], "libcst", [span(n) for n in assigns])
