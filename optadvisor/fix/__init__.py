"""Suggested changes as data (ruff's model): each fix shape is one small transform of the
user's real code, checked before anyone sees it.

A rule names its shapes in its TOML (`[fix] shapes = [{when = ..., shape = ...}]`); the
first case whose `when` holds builds the fix from the finding's nodes. What every report
shows as "write instead" is that fix applied to the user's file, so the text shown and
`--fix` never disagree. A fix that would not compile, or that no shape can make right,
becomes advice in words (applicability `manual`) — never broken code.
"""

from __future__ import annotations

from typing import Callable

from optadvisor.fix import (
    add_timeout,
    asyncio_sleep,
    gather,
    gather_loop,
    hoist_client,
    to_thread,
)
from optadvisor.fix.context import FixContext
from optadvisor.models import Fix

Shape = Callable[[FixContext], Fix]

SHAPES: dict[str, Shape] = {
    "asyncio_sleep": asyncio_sleep.build,
    "to_thread": to_thread.build,  # hands thread-bound blocks to to_thread_block
    "add_timeout": add_timeout.build,
    "gather": gather.build,
    "gather_loop": gather_loop.build,
    "hoist_client": hoist_client.build,
}
