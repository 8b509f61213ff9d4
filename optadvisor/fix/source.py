"""A file's text as the fix shapes see it: CPython's tree (parsed once, only for files that
have a finding to fix), nodes found by the spans the facts carry, and the few module-level
facts a change needs (which names are bound, where an import goes).

Spans are 1-based lines and 1-based character columns, end exclusive, like every span in
the facts; `ast` counts columns in UTF-8 bytes, so conversions happen here and only here.
"""

from __future__ import annotations

import ast
import bisect
import re
from functools import cached_property
from typing import Iterator

from optadvisor.analyze.positions import ByteColumns
from optadvisor.fix.site import Span
from optadvisor.models import Edit
from optadvisor.subjects import SourceText
from optadvisor.analyze import parse_quietly


_NEWLINE = re.compile(r"\r\n|\r|\n")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.GeneratorExp)


_UI_TOOLKITS = ("textual", "tkinter", "PyQt5", "PyQt6", "PySide2", "PySide6", "wx", "kivy",
                "toga", "gi")
"""Toolkits whose widgets belong to the thread that runs the UI: touched from a worker
thread they corrupt state or raise."""


class FixSource:
    """CPython's tree of a file, with parents and nodes by line, over the engine's
    SourceText (one decoding and one line split per file, shared with the snippets)."""

    def __init__(self, text: SourceText) -> None:
        self.source = text
        self.claimed: dict[str, str] = {}
        """Module-level names the fixes built so far for this file define, with what each
        defines: every fix is built on the same text, and a report's fixes must still hold
        when all are applied (held-out S32c: bedrock-chat's apigateway, cloudformation and
        codebuild clients each got a `_shared_client`, the last hiding the others)."""

    def claim(self, base: str, taken: set[str], content: str) -> str:
        """A name for a new module-level helper defining `content`: `base`, unless the
        module or another fix of this file already uses it for something else. The same
        helper twice gets the same name (its insertion is then shared)."""
        if self.claimed.get(base) == content:
            return base
        name = unique_name(base, taken | set(self.claimed))
        self.claimed[name] = content
        return name

    @property
    def text(self) -> str:
        return self.source.text

    def line(self, number: int) -> str:
        return self.source.line(number)

    def segment(self, span: Span) -> str:
        return self.source.span(*span)

    @cached_property
    def newline(self) -> str:
        found = _NEWLINE.search(self.text)
        return found.group(0) if found else "\n"

    @cached_property
    def tree(self) -> ast.Module | None:
        """None when CPython cannot parse the file (syntax newer than this interpreter):
        then no change is offered, only words."""
        try:
            return parse_quietly(self.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

    @cached_property
    def _index(self) -> tuple[dict[int, ast.AST], dict[int, list[ast.AST]], set[int]]:
        """Each indexed node's parent (by id), the expressions and statements that start on
        each line, and which top-level statements are indexed: filled one top-level
        statement at a time (`_cover`), since a file's findings sit in a few of them."""
        return {}, {}, set()

    def _cover(self, line: int) -> None:
        """Index the top-level statement that holds `line` (one walk of it, not the file)."""
        tree = self.tree
        if tree is None:
            return
        parents, by_line, done = self._index
        body = tree.body
        i = bisect.bisect_right([s.lineno for s in body], line) - 1
        # Decorators start before their def's `lineno`: a line there belongs to the next.
        if i + 1 < len(body) and any(d.lineno <= line for d in
                                     getattr(body[i + 1], "decorator_list", ())):
            i += 1
        if i < 0 or i in done:
            return
        done.add(i)
        parents[id(body[i])] = tree
        for node in ast.walk(body[i]):
            if isinstance(node, (ast.expr, ast.stmt)):
                by_line.setdefault(node.lineno, []).append(node)
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node

    @cached_property
    def _columns(self) -> ByteColumns:
        return ByteColumns(self.text)

    # ----------------------------------------------------------------- positions

    def span_of(self, node: ast.AST) -> Span:
        column = self._columns.column
        return (node.lineno, column(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                node.end_lineno, column(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def node_text(self, node: ast.AST) -> str:
        return self.segment(self.span_of(node))

    def indent(self, line: int) -> str:
        text = self.line(line)
        return text[:len(text) - len(text.lstrip())]

    # ----------------------------------------------------------------- nodes

    def nodes_on(self, line: int) -> list[ast.AST]:
        """Expressions and statements that start on `line`, outermost first."""
        self._cover(line)
        return self._index[1].get(line, [])

    def find(self, span: Span, kind: type | tuple[type, ...]) -> ast.AST | None:
        """The node of `kind` that starts and ends exactly at `span`."""
        for node in self.nodes_on(span[0]):
            if isinstance(node, kind) and self.span_of(node) == span:
                return node
        return None

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._index[0].get(id(node))

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def scope_of(self, node: ast.AST) -> ast.AST | None:
        """The innermost function, lambda, class or generator expression around a node:
        what decides whether `await` may be written there."""
        for parent in self.ancestors(node):
            if isinstance(parent, _SCOPES):
                return parent
        return None

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        current: ast.AST | None = node
        while current is not None and not isinstance(current, ast.stmt):
            current = self.parent(current)
        return current

    def body_of(self, stmt: ast.stmt) -> tuple[list[ast.stmt], int] | None:
        """The statement list holding `stmt` and its index there."""
        parent = self.parent(stmt)
        if parent is None:
            return None
        for field in ("body", "orelse", "finalbody", "handlers"):
            seq = getattr(parent, field, None)
            if isinstance(seq, list):
                for i, item in enumerate(seq):
                    if item is stmt:
                        return seq, i
        return None

    def owns_lines(self, first: ast.stmt, last: ast.stmt) -> bool:
        """The statements start their first line and end their last one (no `a; b` sharing
        a line with code outside them), so whole lines can be replaced."""
        column = self._columns.column
        start = self.line(first.lineno)[:column(first.lineno, first.col_offset) - 1]
        end_line = last.end_lineno or last.lineno
        rest = self.line(end_line)[column(end_line, last.end_col_offset or 0) - 1:]
        return not start.strip() and (not rest.strip() or rest.strip().startswith("#"))

    # ----------------------------------------------------------------- module facts

    @cached_property
    def module_names(self) -> set[str]:
        """Names bound by top-level statements (imports, defs, classes, assignments)."""
        names: set[str] = set()
        if self.tree is None:
            return names
        for stmt in self.tree.body:
            names |= _bound_by(stmt)
        return names

    @cached_property
    def imported_names(self) -> set[str]:
        """Names module-level code binds on import: not under `if __name__ == "__main__":`
        (run only as a script) nor `if TYPE_CHECKING:` (never run). An `import asyncio`
        there leaves the name unbound when the module is imported (held-out X: DeepCode's
        command executor was given `asyncio.to_thread` with no import of its own)."""
        names: set[str] = set()
        if self.tree is None:
            return names
        for stmt in self.tree.body:
            if isinstance(stmt, ast.If) and _not_on_import(stmt.test):
                for child in stmt.orelse:
                    names |= _bound_by(child)
            else:
                names |= _bound_by(stmt)
        return names

    @cached_property
    def import_bound(self) -> frozenset[str]:
        """Names the module's top-level import statements bind (`from app import crud as
        conversation_crud` -> `conversation_crud`): modules or what they export, not
        objects this module made."""
        if self.tree is None:
            return frozenset()
        return frozenset().union(*(_bound_by(stmt) for stmt in self.tree.body
                                   if isinstance(stmt, (ast.Import, ast.ImportFrom))))

    @cached_property
    def source_tools(self) -> frozenset[str]:
        """Functions handed to AutoGen's `FunctionTool(...)` in this module: AutoGen keeps
        their source text, which a config dump serializes and another process runs alone
        (a module-level helper a fix adds would not travel with it)."""
        if self.tree is None:
            return frozenset()
        names: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and (
                    isinstance(node.func, ast.Name) and node.func.id == "FunctionTool"
                    or isinstance(node.func, ast.Attribute) and node.func.attr == "FunctionTool"):
                args = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "func")]
                names.update(a.id for a in args if isinstance(a, ast.Name))
        return frozenset(names)

    def outside_helpers_travel(self, node: ast.AST) -> None:
        """Raise NotHere when the function around `node` is an AutoGen FunctionTool whose
        source is kept: module-level code a fix adds would not be there when it runs."""
        from optadvisor.fix.context import NotHere

        scope = self.scope_of(node)
        for outer in (scope, *self.ancestors(scope)) if scope is not None else ():
            if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    outer.name in self.source_tools:
                raise NotHere(
                    f"`{outer.name}` is an AutoGen FunctionTool: AutoGen keeps its source, "
                    "which a serialized component runs without this module, so a module-level "
                    "helper would not be there. Make the change inside the function (or pass "
                    "the shared object in as an argument).")

    @cached_property
    def imported_roots(self) -> frozenset[str]:
        """Top packages this module imports anywhere (`anyio` of `from anyio import
        to_thread`); relative imports aside. One walk of the tree per file."""
        roots: set[str] = set()
        for node in ast.walk(self.tree) if self.tree is not None else ():
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level \
                else []
            roots.update(name.split(".", 1)[0] for name in names if name)
        return frozenset(roots)

    @cached_property
    def strings(self) -> tuple[str, ...]:
        """The string constants of the module (f-string parts too), in walk order. One walk
        of the tree per file, however many fixes read them."""
        return tuple(node.value for node in (ast.walk(self.tree) if self.tree is not None
                                             else ()) if isinstance(node, ast.Constant)
                     and isinstance(node.value, str))

    @cached_property
    def ui_toolkit(self) -> str:
        """The UI toolkit this module imports, if any."""
        return next((name for name in _UI_TOOLKITS if name in self.imported_roots), "")

    @cached_property
    def import_line(self) -> int:
        """Where a new top-level import goes: after the docstring, `from __future__`
        imports and the module's own leading imports."""
        tree = self.tree
        if tree is None:
            return 1
        line = 1
        for i, stmt in enumerate(tree.body):
            docstring = (i == 0 and isinstance(stmt, ast.Expr)
                         and isinstance(stmt.value, ast.Constant)
                         and isinstance(stmt.value.value, str))
            if docstring or isinstance(stmt, (ast.Import, ast.ImportFrom)):
                line = (stmt.end_lineno or stmt.lineno) + 1
                continue
            break
        return line

    def import_edit(self, module: str) -> Edit | None:
        """`import module` at the top, unless the name is bound at module level already."""
        if module in self.imported_names or ("." in module and self.tree is not None and any(
                isinstance(stmt, ast.Import) and any(
                    a.name == module and a.asname is None for a in stmt.names)
                for stmt in self.tree.body)):
            return None
        line = self.import_line
        following = self.line(line).strip()
        # Straight above code (not another import or a blank line): keep a blank line
        # between the imports and the code.
        gap = self.newline if following and not following.startswith(("import ", "from ")) \
            else ""
        return Edit(line, 1, line, 1, f"import {module}{self.newline}{gap}")


def module_def(source: "FixSource", name: str) -> ast.FunctionDef | None:
    """A top-level `def name` (a helper an earlier fix made, to reuse)."""
    for stmt in source.tree.body if source.tree is not None else ():
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name:
            return stmt
    return None


def called_name(node: ast.Call) -> str:
    """The last part of what a call calls: `f` of `f(x)` and of `obj.f(x)`; "" otherwise."""
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else ""


def assigned_name(statement: ast.stmt | None, node: ast.AST) -> str:
    """`name = <node>`: the plain name the node's value is assigned to, else ""."""
    if isinstance(statement, ast.Assign) and statement.value is node and \
            len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    return ""


def _bound_by(stmt: ast.stmt) -> set[str]:
    names: set[str] = set()
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            names.add(alias.asname or alias.name.split(".")[0])
    elif isinstance(stmt, ast.ImportFrom):
        for alias in stmt.names:
            names.add(alias.asname or alias.name)
    elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(stmt.name)
    elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                names |= _bound_by(child)
        for handler in getattr(stmt, "handlers", ()):
            for child in handler.body:
                names |= _bound_by(child)
    return names


def _not_on_import(test: ast.expr) -> bool:
    """`__name__ == "__main__"` or `TYPE_CHECKING` (`typing.TYPE_CHECKING`)."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and \
            isinstance(test.ops[0], ast.Eq) and isinstance(test.left, ast.Name) and \
            test.left.id == "__name__":
        right = test.comparators[0]
        return isinstance(right, ast.Constant) and right.value == "__main__"
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def names_stored(nodes: list[ast.stmt]) -> set[str]:
    """Names bound by these statements, not counting nested function and class bodies, nor
    the variables of comprehensions (their own scope; a `:=` inside one still binds here)."""
    out: set[str] = set()
    comprehension_vars: set[int] = set()
    for node in walk_scope(nodes):
        if isinstance(node, ast.comprehension):  # seen before its target's names
            comprehension_vars.update(id(n) for n in ast.walk(node.target))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and \
                id(node) not in comprehension_vars:
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= _bound_by(node)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
    return out


def names_always_bound(stmts: list[ast.stmt]) -> set[str] | None:
    """Names these statements bind on every path that runs past them, or None when no
    path does (they all raise). A name stored only under an `if`, in a loop or in an
    `except` may keep whatever value it had before, or none."""
    bound: set[str] = set()
    for stmt in stmts:
        found = _always_bound(stmt)
        if found is None:
            return None
        bound |= found
    return bound


def _always_bound(stmt: ast.stmt) -> set[str] | None:
    if isinstance(stmt, ast.Raise):
        return None
    if isinstance(stmt, ast.If):
        return _both(names_always_bound(stmt.body), names_always_bound(stmt.orelse))
    if isinstance(stmt, ast.With):
        body = names_always_bound(stmt.body)
        items = names_stored([ast.Expr(item.optional_vars) for item in stmt.items
                              if item.optional_vars is not None])
        return None if body is None else body | items
    if isinstance(stmt, ast.Try):
        normal = names_always_bound([*stmt.body, *stmt.orelse])
        for handler in stmt.handlers:
            normal = _both(normal, names_always_bound(handler.body))
        final = names_always_bound(stmt.finalbody)
        return None if normal is None or final is None else normal | final
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import,
                         ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
            return set()
        return names_stored([stmt])
    return set()  # loops, match, del...: nothing for certain


def _both(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def names_loaded(nodes: list[ast.AST]) -> set[str]:
    return {n.id for n in _walk_all(nodes) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _walk_all(nodes: list[ast.AST]) -> Iterator[ast.AST]:
    for node in nodes:
        yield from ast.walk(node)


def walk_scope(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of these statements, but not inside nested defs, lambdas or classes
    (their own names are reported, their bodies are another scope)."""
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # Decorators and defaults run in this scope.
            stack.extend(reversed([*node.decorator_list,
                                   *getattr(getattr(node, "args", None), "defaults", [])]))
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def unique_name(base: str, taken: set[str]) -> str:
    name = base
    n = 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    return name


def multiline_string(nodes: list[ast.stmt]) -> bool:
    """A string literal spanning lines: re-indenting the code around it would change its
    text, so such code is not moved."""
    for stmt in nodes:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Constant, ast.JoinedStr)) and \
                    isinstance(getattr(node, "value", ""), (str, bytes)) and \
                    node.lineno != node.end_lineno:
                return True
    return False
