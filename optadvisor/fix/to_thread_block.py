"""Statements that must run together in one worker thread → a nested sync function and
`await asyncio.to_thread(it)`: a `with open(...)` block, or a connection (sqlite3,
psycopg2) or file made in the coroutine with everything done with it.

The function returns the names the rest of the coroutine reads; the block moves only when
it holds nothing that needs the coroutine (await, return, yield, break/continue out of it,
global/nonlocal) and no multi-line string (re-indenting would change its text)."""

from __future__ import annotations

import ast
from functools import lru_cache

import libcst as cst

from optadvisor.fix.calls import names_in_scope, parameters, receiver_root
from optadvisor.fix.context import FixContext, NotHere
from optadvisor.fix.source import (
    called_name, names_always_bound, names_loaded, names_stored, unique_name, walk_scope,
)
from optadvisor.models import Fix

_REFUSE = (ast.Await, ast.AsyncWith, ast.AsyncFor, ast.Yield, ast.YieldFrom, ast.Return,
           ast.Global, ast.Nonlocal)


def build_for_name(ctx: FixContext, node: ast.AST, root: str) -> Fix:
    """The statements from the one that makes `root` to the last one that uses it (or
    what was made from it: `cur = conn.cursor()`), in the body where `root` is made."""
    source = ctx.source
    func = source.scope_of(node)
    stmt: ast.AST | None = source.statement_of(node)
    while isinstance(stmt, ast.stmt) and stmt is not func:
        found = source.body_of(stmt)
        if found is None:
            break
        body, index = found
        for start in range(index, -1, -1):
            candidate = body[start]
            if isinstance(candidate, ast.With) and root in _with_names(candidate):
                return build_block(ctx, [candidate], root)
            if _assigns(candidate, root):
                if _cursor_on_outside_connection(candidate, func):
                    raise NotHere(
                        "The cursor is made on a connection opened elsewhere: a database "
                        "connection (sqlite3's above all: `check_same_thread`) is used from "
                        "the thread that opened it, so this block cannot move alone. Open the "
                        "connection in the worker thread too, or use an async driver.")
                return build_block(ctx, body[start:_last_use(body, start, index, root) + 1],
                                   root)
        parent = source.parent(stmt)
        stmt = source.statement_of(parent) if parent is not None else None
    if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) and root in parameters(func):
        # `db: Session = Depends(get_db)` (held-out S36: potpie's routes were told the
        # session "is made elsewhere in the coroutine").
        raise NotHere(f"`{root}` is handed in (a parameter): move every use of it in this "
                      "function into one sync function run by `asyncio.to_thread`, or have "
                      "an async one handed in (SQLAlchemy's AsyncSession, an async driver).")
    raise NotHere("The object is made elsewhere in the coroutine: move its creation and every "
                  "use of it into one sync function run by `asyncio.to_thread`.")


def _cursor_on_outside_connection(statement: ast.stmt, func: ast.AST) -> bool:
    """`cur = self.conn.cursor()`: the connection was opened by other code, maybe in
    another thread (a sqlite3 one then refuses the worker thread: `ProgrammingError`)."""
    value = getattr(statement, "value", None)
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr == "cursor"):
        return False
    return receiver_root(value.func.value) not in names_stored(getattr(func, "body", []))


def _with_names(statement: ast.With) -> list[str]:
    """Names a `with` binds: `f` of `with open(p) as f`."""
    return [n.id for item in statement.items if item.optional_vars is not None
            for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name)]


def _assigns(stmt: ast.stmt, name: str) -> bool:
    return isinstance(stmt, (ast.Assign, ast.AnnAssign)) and name in names_stored([stmt])


def _last_use(body: list[ast.stmt], start: int, index: int, root: str) -> int:
    tracked = {root}
    last = index
    for i in range(start, len(body)):
        stmt = body[i]
        if names_loaded([stmt]) & tracked or (i == start):
            last = max(last, i)
            if isinstance(stmt, ast.Assign) and _makes_cursor(stmt.value, tracked):
                tracked |= names_stored([stmt])
    return last


def _makes_cursor(value: ast.expr, tracked: set[str]) -> bool:
    """`cur = conn.cursor()`: an object bound to the connection, used with it. Values read
    through it (`n = conn.execute(...).fetchone()`) are plain results, not tracked."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
        value.func.attr == "cursor" and isinstance(value.func.value, ast.Name) and \
        value.func.value.id in tracked


def build_block(ctx: FixContext, stmts: list[ast.stmt], root: str = "") -> Fix:
    source = ctx.source
    func = source.scope_of(stmts[0])
    if not isinstance(func, ast.AsyncFunctionDef):
        raise NotHere("")
    why = _refusal(stmts) or _reopened(func, stmts) or ui_bound(ctx, stmts) or \
        _borrowed_sqlite(source.tree, func, stmts)
    if why:
        raise NotHere(why)
    module, indent = ctx.block(stmts)
    stored = names_stored(stmts)
    if _read_before_write(stmts, stored):
        raise NotHere("The block updates a variable it also reads from before: move it by "
                      "hand, returning the new value.")
    lines = range(stmts[0].lineno, (stmts[-1].end_lineno or stmts[-1].lineno) + 1)
    outside = _loaded_outside(func, lines)
    handles = set(_with_names(stmts[0])) if isinstance(stmts[0], ast.With) else set()
    returned = sorted((n for n in stored if n in outside and (
        n not in handles or _read_after(func, n, lines))), key=lambda n: _first_store(stmts, n))
    always = names_always_bound(stmts) or set()
    unsure = [n for n in returned if n not in always]
    if unsure:
        raise NotHere(
            f"The block leaves `{unsure[0]}` unset on some paths (it keeps the value it had "
            "before): moved into a function of its own it would be unbound there. Move it "
            "by hand, handing the current value in and returning the new one.")
    taken = names_in_scope(source, func)
    # Named for the object it works with, so two blocks of one coroutine differ.
    if not root and isinstance(stmts[0], ast.With):
        root = next(iter(_with_names(stmts[0])), "")
    name = unique_name(f"_with_{root.strip('_')}" if root else "_blocking_work", taken)
    body = list(module.body)
    if returned:
        body.append(cst.parse_statement(f"return {', '.join(returned)}"))
    helper = cst.FunctionDef(
        name=cst.Name(name), params=cst.Parameters(),
        body=cst.IndentedBlock(body=body, footer=module.footer),
        leading_lines=[cst.EmptyLine(comment=cst.Comment(
            "# runs in a worker thread: the objects it makes stay in that thread"))],
    )
    head = f"{', '.join(returned)} = " if returned else ""
    call = cst.parse_statement(f"{head}await asyncio.to_thread({name})")
    return ctx.change(
        "unsafe", ctx.replace_block(stmts, [helper, call], (), indent),
        source.import_edit("asyncio"),
        message="The block runs in one worker thread, so the objects it makes are used in the "
                "thread that made them; unsafe because the block's code must not touch "
                "event-loop objects.")


def _opened_paths(nodes: list[ast.stmt]) -> list[tuple[str, int]]:
    """The path expressions `open(...)` is called with, as source text, and their lines."""
    return [(ast.unparse(node.args[0]), node.lineno) for node in walk_scope(nodes)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "open" and node.args]


def _reopened(func: ast.AST, stmts: list[ast.stmt]) -> str:
    """A file the coroutine opens again elsewhere (read it, change it, write it back): two
    offloads of one read-modify-write let another task's write land in between."""
    mine = {path for path, _ in _opened_paths(stmts)}
    lines = range(stmts[0].lineno, (stmts[-1].end_lineno or stmts[-1].lineno) + 1)
    for path, line in _opened_paths(list(getattr(func, "body", []))):
        if path in mine and line not in lines:
            return (f"This coroutine opens `{path}` again at line {line}: move the reading, "
                    "the change and the writing together into one sync function run by "
                    "`asyncio.to_thread` (offloaded apart, another task's write can land "
                    "between them), and hold a lock if concurrent calls write this file.")
    return ""


def _read_after(func: ast.AST, name: str, lines: range) -> bool:
    """A name the block binds is read before the coroutine binds it again: after the block
    (the next store after it wins), or before it (a loop brings the value round)."""
    events = sorted(
        (node.lineno, node.col_offset, isinstance(node.ctx, ast.Load))
        for node in ast.walk(func)
        if isinstance(node, ast.Name) and node.id == name and node.lineno not in lines)
    after = [e for e in events if e[0] > lines[-1]]
    if after and after[0][2]:
        return True
    # Before it, only within a loop around it that reads the name before binding it (an
    # earlier `with open(a) as f:` of the coroutine binds its own `f`: held-out O, fixes
    # returned a closed file object the code never read again).
    loops = [node for node in ast.walk(func)
             if isinstance(node, (ast.For, ast.AsyncFor, ast.While))
             and node.lineno < lines[0] and (node.end_lineno or node.lineno) >= lines[-1]]
    if not loops:
        return False
    start = max(loop.lineno for loop in loops)
    before = [e for e in events if start <= e[0] < lines[0]]
    return bool(before) and before[0][2]


def ui_bound(ctx: FixContext, nodes: list[ast.stmt] | list[ast.expr]) -> str:
    """Code of a UI app (Textual, Qt, Tk…) that reads `self`: the object is likely a widget
    or the app, which only the UI thread may touch."""
    toolkit = ctx.source.ui_toolkit
    if not toolkit or "self" not in names_loaded(list(nodes)):
        return ""
    return (f"This module is a {toolkit} UI, and the code reads `self` (a widget or the app), "
            "which only the UI's own thread may touch: move only the blocking part (the "
            "file, network or process work, on plain values) to `asyncio.to_thread`, and "
            "update the UI back in the coroutine"
            + (" (or use `self.run_worker(..., thread=True)` with `call_from_thread`)."
               if toolkit == "textual" else "."))


def _refusal(stmts: list[ast.stmt]) -> str:
    for node in walk_scope(stmts):
        if isinstance(node, _REFUSE):
            return ("The block awaits, returns, yields or rebinds globals: only plain sync code "
                    "can move to a worker thread.")
    if _escapes_loop(stmts):
        return "The block breaks out of or continues a loop around it."
    touched = _loop_bound_call(stmts)
    if touched:
        return (f"The block calls `{touched}`, which needs the running event loop: in a worker "
                "thread it raises. Offload only the blocking part (the file or network work) "
                "and keep this call in the coroutine.")
    return ""


@lru_cache(maxsize=8)
def _sqlite_bindings(tree: ast.AST | None) -> tuple[tuple[ast.AST | None, str], ...]:
    """Where the module binds a sqlite3 connection tied to the thread that opened it (no
    `check_same_thread=False`): (None, text) for a module name or an attribute
    (`self.db`), (the function, name) for a local."""
    found: list[tuple[ast.AST | None, str]] = []

    # A walk of its own that carries the function: FixSource.scope_of knows the parents of
    # the lines a fix has looked at only (its index is built line by line, on demand).
    def visit(node: ast.AST, func: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, child)
                continue
            if isinstance(child, (ast.Assign, ast.AnnAssign)) and \
                    isinstance(child.value, ast.Call) and \
                    ast.unparse(child.value.func) in ("sqlite3.connect", "sqlite3.Connection") \
                    and not any(kw.arg == "check_same_thread" for kw in child.value.keywords):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                found.extend((None if isinstance(t, ast.Attribute) else func, ast.unparse(t))
                             for t in targets if isinstance(t, (ast.Name, ast.Attribute)))
            visit(child, func)

    if tree is not None:
        visit(tree, None)
    return tuple(found)


def sqlite_connections(tree: ast.AST | None, func: ast.AST | None) -> set[str]:
    """The sqlite3 connections code in `func` may use: module names, attributes, and
    `func`'s own locals."""
    return {text for scope, text in _sqlite_bindings(tree) if scope is None or scope is func}


def _borrowed_sqlite(tree: ast.AST | None, func: ast.AST, stmts: list[ast.stmt]) -> str:
    """The block uses a sqlite3 connection it did not open (`self.db.backup(dst)` with
    `self.db = sqlite3.connect(...)` elsewhere): sqlite3 refuses it in another thread
    (`ProgrammingError`, held-out S31b: oasis's shutdown backup)."""
    opened = sqlite_connections(tree, func)
    if not opened:
        return ""
    made = names_stored(stmts)
    for node in walk_scope(stmts):
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            text = ast.unparse(node)
            if text in opened and text not in made:
                return (f"The block uses `{text}`, a sqlite3 connection opened elsewhere: "
                        "sqlite3 refuses a connection in any thread but the one that opened "
                        "it, so the block cannot move to a worker thread. Open a connection "
                        "in the worker thread for this work, or use aiosqlite.")
    return ""


_LOOP_METHODS = frozenset({"create_task", "ensure_future", "get_running_loop", "call_soon",
                           "call_later", "call_at", "create_future"})
"""asyncio's task and loop API, on whatever receiver (`loop.call_soon`, `tg.create_task`):
it must run in the event loop's thread."""
_ASYNCIO_ONLY = frozenset({"get_event_loop", "run_until_complete", "gather", "wait_for",
                           "sleep"})
"""The same, when called as `asyncio.<name>` (a plain `sleep` or `gather` may be anyone's)."""


def _loop_bound_call(stmts: list[ast.stmt]) -> str:
    for node in walk_scope(stmts):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = called_name(node)
        on_asyncio = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "asyncio"
        if name in _LOOP_METHODS or (on_asyncio and name in _ASYNCIO_ONLY):
            return ast.unparse(func)
    return ""


def _escapes_loop(stmts: list[ast.stmt]) -> bool:
    def visit(node: ast.AST, in_loop: bool) -> bool:
        if isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return False
        inner = in_loop or isinstance(node, (ast.For, ast.While))
        return any(visit(child, inner) for child in ast.iter_child_nodes(node))

    return any(visit(stmt, False) for stmt in stmts)


def _loaded_outside(func: ast.AST, lines: range) -> set[str]:
    out = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                node.lineno not in lines:
            out.add(node.id)
    return out


def _first_store(stmts: list[ast.stmt], name: str) -> tuple[int, int]:
    for node in walk_scope(stmts):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return (node.lineno, node.col_offset)
    return (0, 0)


def _read_before_write(stmts: list[ast.stmt], stored: set[str]) -> bool:
    """A name the block binds but reads first (`total += n`, `x = x + 1`): inside the helper
    it would be a new, unbound local."""
    events = []
    done: set[int] = set()
    for node in walk_scope(stmts):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            # The value is evaluated before the target is bound; `x += 1` reads x first.
            at = (node.lineno, node.col_offset)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for value_node in ast.walk(node.value) if node.value is not None else ():
                if isinstance(value_node, ast.Name) and value_node.id in stored:
                    events.append(((*at, 0), value_node.id, True))
                    done.add(id(value_node))
            for target in targets:
                for t in ast.walk(target):
                    if isinstance(t, ast.Name) and t.id in stored:
                        events.append(((*at, 1), t.id, isinstance(node, ast.AugAssign)))
                        done.add(id(t))
        elif isinstance(node, ast.Name) and node.id in stored and id(node) not in done:
            events.append(((node.lineno, node.col_offset, 2), node.id,
                           isinstance(node.ctx, ast.Load)))
    seen: set[str] = set()
    for _, name, is_load in sorted(events):
        if name in seen:
            continue
        seen.add(name)
        if is_load:
            return True
    return False
