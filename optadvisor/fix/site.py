"""What one site asks of the fix machinery, and the fix cache's key for it. Kept apart from
the shapes so that a warm scan, whose fixes all come from the cache, never loads libcst."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class ShapeCall:
    """A rule's chosen fix shape at one site, with what it is built from."""

    shape: str
    params: Mapping[str, str]
    env: Mapping[str, Any]
    manual: str
    """The rule's advice in words (its rendered `fix.manual`)."""

    def key(self) -> str:
        """What the shape reads besides the file: its name, params and words, and the few
        fields of the finding's views that shapes look at."""
        call, group, loop = (self.env.get(k) for k in ("call", "group", "loop"))
        seen = (
            (call.name, call.blocking_category, call.timeout, call.client_kind)
            if call is not None else (),
            tuple(group.fact.calls) if group is not None else (),
            loop.fact.line if loop is not None else 0,
        )
        return repr((self.shape, sorted(self.params.items()), self.manual, seen))


def fix_key(digest: str, span: Span, lead: ShapeCall, facets: Sequence[ShapeCall],
            python: tuple[int, int] | None = None, runtime: str = "") -> str:
    """The fix cache's key of one site: the file's bytes, the site, what its rules ask, and
    the oldest Python and the async library its project declares (pyversion.py)."""
    h = hashlib.blake2b(digest_size=20)
    for part in (digest, repr(span), repr(python), runtime, lead.key(),
                 *(f.key() for f in facets)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()
