"""`time.sleep(x)` in a coroutine → `await asyncio.sleep(x)`: the same pause, without
holding the event loop."""

from __future__ import annotations

from optadvisor.fix.calls import NotHere, awaited, call_site, check_await_allowed, dotted_expr
from optadvisor.fix.context import FixContext
from optadvisor.models import Fix


def build(ctx: FixContext) -> Fix:
    try:
        site = call_site(ctx)
        check_await_allowed(ctx, site)
    except NotHere as why:
        return ctx.manual(str(why))
    call = site.cst_call
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return ctx.manual()
    new = call.with_changes(func=dotted_expr("asyncio.sleep"))
    return ctx.change(
        "safe", ctx.replace_node(ctx.span, awaited(new, site.needs_parens)),
        ctx.source.import_edit("asyncio"),
        message="The coroutine pauses the same time and lets other tasks run meanwhile.")
