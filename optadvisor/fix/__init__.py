"""Suggested changes as data (ruff's model): each fix shape is one small transform of the
user's real code, checked before anyone sees it.

A rule names its shapes in its TOML (`[fix] shapes = [{when = ..., shape = ...}]`); the
first case whose `when` holds builds the fix from the finding's nodes. What every report
shows as "write instead" is that fix applied to the user's file, so the text shown and
`--fix` never disagree. A fix that would not compile, or that no shape can make right,
becomes advice in words (applicability `manual`) — never broken code.

Shapes are imported when a finding first needs one: loading the rules (every scan, warm
ones included) only checks their names, and does not import libcst.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

SHAPES: tuple[str, ...] = (
    "asyncio_sleep", "to_thread", "add_timeout", "gather", "gather_loop", "hoist_client",
    "cache_function", "thread_pool", "reuse_result",
)
"""Each is a module here with `build(ctx) -> Fix`; one that can also refine another rule's
rewrite of the same call (add_timeout) has `refinement(ctx) -> Refinement`. `to_thread`
hands thread-bound blocks to to_thread_block."""


def shape_module(name: str) -> ModuleType | None:
    if name not in SHAPES:
        return None
    return importlib.import_module(f"optadvisor.fix.{name}")


def code_digest() -> str:
    """A digest of this package's code: part of the fix cache's key, so a changed shape
    never serves a fix it would no longer make."""
    h = hashlib.blake2b(digest_size=12)
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()
