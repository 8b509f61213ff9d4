"""The second of two identical file reads in one block → the name the first one's result
was assigned to. Only for reads that give str or bytes (nothing can change them in place);
a parse or a model could have been changed through the first name, so it gets words."""

from __future__ import annotations

from optadvisor.analyze.redundant import IMMUTABLE
from optadvisor.fix.context import FixContext, NotHere
from optadvisor.models import Fix


def build(ctx: FixContext) -> Fix:
    call = ctx.env.get("call")
    if call is None or not call.reuse:
        raise NotHere("")
    if call.name.rsplit(".", 1)[-1] not in IMMUTABLE:
        raise NotHere(f"Reuse `{call.reuse}` (take `copy.deepcopy({call.reuse})` where an "
                      "independent copy is needed).")
    return ctx.change(
        "unsafe", ctx.replace_node(ctx.span, call.reuse),
        message=f"Reuses `{call.reuse}`, read a few lines above; unsafe because a file "
                "another process changes in between would no longer be read again.")
