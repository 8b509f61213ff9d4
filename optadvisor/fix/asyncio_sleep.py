"""`time.sleep(x)` in a coroutine → `await asyncio.sleep(x)`: the same pause, without
holding the event loop."""

from __future__ import annotations

from optadvisor.fix.calls import awaited, call_site, dotted_expr
from optadvisor.fix.context import FixContext, NotHere
from optadvisor.models import Fix


def build(ctx: FixContext) -> Fix:
    site = call_site(ctx, awaiting=True)
    call = site.cst_call
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        raise NotHere("")
    new = call.with_changes(func=dotted_expr("asyncio.sleep"))
    return ctx.change(
        "safe", ctx.replace_node(ctx.span, awaited(new, site.needs_parens)),
        ctx.source.import_edit("asyncio"),
        message="The coroutine pauses the same time and lets other tasks run meanwhile.")
