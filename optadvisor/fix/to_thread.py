"""A blocking call in a coroutine → `await asyncio.to_thread(func, *args, **kwargs)`: the
same call, run in a worker thread while the event loop goes on.

Not for objects bound to the thread that made them (a sqlite3 connection or cursor, and
by extension any connection or open file made in the coroutine): their whole block moves
to one worker-thread function instead (to_thread_block), or the advice is in words."""

from __future__ import annotations

import ast

import libcst as cst

from optadvisor.fix import to_thread_block
from optadvisor.fix.add_timeout import timeout_for
from optadvisor.fix.calls import (
    NotHere,
    awaited,
    call_site,
    check_await_allowed,
    dotted_expr,
    first_arg_comma,
    local_roots,
)
from optadvisor.fix.context import FixContext
from optadvisor.models import Fix

# Categories whose objects carry a connection or a file position: a call on one of them
# is moved with the code that made the object, never alone.
_BOUND_CATEGORIES = ("db", "file")


def build(ctx: FixContext) -> Fix:
    try:
        site = call_site(ctx)
        check_await_allowed(ctx, site)
    except NotHere as why:
        return ctx.manual(str(why))
    node = site.node
    statement = ctx.source.statement_of(node)
    if isinstance(statement, (ast.With, ast.AsyncWith)) and any(
            item.context_expr is node for item in statement.items):
        if isinstance(statement, ast.AsyncWith):
            return ctx.manual()
        return to_thread_block.build_for(ctx, statement)
    call = ctx.env.get("call")
    category = call.blocking_category if call is not None else ""
    root = _receiver_root(node.func)
    scope = ctx.source.scope_of(node)
    if category in _BOUND_CATEGORIES and _makes_bound_object(call.name if call else "") and \
            isinstance(statement, ast.Assign) and \
            statement.value is node and len(statement.targets) == 1 and \
            isinstance(statement.targets[0], ast.Name):
        # `conn = sqlite3.connect(db)`: the connection and everything done with it move.
        return to_thread_block.build_for_name(ctx, node, statement.targets[0].id)
    if category in _BOUND_CATEGORIES and root is not None and root not in ("self", "cls"):
        if root in local_roots(scope):
            return to_thread_block.build_for_name(ctx, node, root)
        if category == "db":
            return ctx.manual("The connection was made elsewhere: a database connection "
                              "(sqlite3's above all) is used from the thread that opened it, "
                              "so offloading this one call is not safe.")
    original = timeout_for(ctx, site.cst_call)
    new_args = [cst.Arg(value=original.func, comma=first_arg_comma(original)
                        if original.args else cst.MaybeSentinel.DEFAULT),
                *original.args]
    new = original.with_changes(func=dotted_expr("asyncio.to_thread"), args=new_args)
    return ctx.change(
        "unsafe", ctx.replace_node(ctx.span, awaited(new, site.needs_parens)),
        ctx.source.import_edit("asyncio"),
        message="Runs the same call in a worker thread; unsafe because the callee must be "
                "thread-safe and its exceptions now surface at the await.")


def _makes_bound_object(name: str) -> bool:
    """Calls that return a connection, cursor or open file (not `read_text`'s string)."""
    last = name.rsplit(".", 1)[-1]
    return last in ("open", "fdopen", "connect", "cursor", "Connection") or \
        name.endswith("cursor()")


def _receiver_root(func: ast.expr) -> str | None:
    """`conn` for `conn.execute`, `cur` for `cur.fetchall`; None for plain functions."""
    if not isinstance(func, ast.Attribute):
        return None
    node: ast.expr = func.value
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None
