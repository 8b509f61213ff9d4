"""Edits applied to text, as ruff applies them: sorted, identical ones once, overlapping
ones left for the next pass."""

from __future__ import annotations

import difflib
import re
from typing import Iterable, Sequence

from optadvisor.models import Edit
from optadvisor.analyze import parse_quietly

_NEWLINE = re.compile(r"\r\n|\r|\n")


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _NEWLINE.finditer(text)]


def _offset(starts: list[int], text: str, line: int, column: int) -> int:
    if line - 1 >= len(starts):
        return len(text)
    return min(starts[line - 1] + column - 1, len(text))


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """The text with the (non-overlapping) edits made."""
    starts = _line_starts(text)
    unique: list[Edit] = []
    for edit in edits:
        if edit not in unique:
            unique.append(edit)
    # From the end backwards; insertions at one point keep their listed order (the later
    # one is made first, the earlier one then lands in front of it).
    spans = sorted(((_offset(starts, text, e.line, e.column),
                     _offset(starts, text, e.end_line, e.end_column), i, e.content)
                    for i, e in enumerate(unique)), reverse=True)
    out = text
    for start, end, _, content in spans:
        out = out[:start] + content + out[end:]
    return out


def compatible(groups: Sequence[Sequence[Edit]]) -> tuple[list[Edit], list[int]]:
    """The edits of the fixes (in rank order) that can be made together in one pass, and
    the indexes of the fixes taken. A fix is taken whole or not at all; an edit identical
    to one already taken (the same `import asyncio`) is shared, not repeated."""
    taken: list[Edit] = []
    chosen: list[int] = []
    for index, group in enumerate(groups):
        fresh = [e for e in group if e not in taken]
        if any(_overlaps(e, other) for e in fresh for other in taken) or _self_overlap(fresh):
            continue
        taken.extend(fresh)
        chosen.append(index)
    return taken, chosen


def _overlaps(a: Edit, b: Edit) -> bool:
    a0, a1 = (a.line, a.column), (a.end_line, a.end_column)
    b0, b1 = (b.line, b.column), (b.end_line, b.end_column)
    if a0 == a1 and b0 == b1:
        return False  # insertions at one point go in the order they are listed
    if a0 == a1:
        return b0 < a0 < b1
    if b0 == b1:
        return a0 < b0 < a1
    return a0 < b1 and b0 < a1


def _self_overlap(edits: list[Edit]) -> bool:
    return any(_overlaps(a, b) for i, a in enumerate(edits) for b in edits[i + 1:])


def dedented_by(first_line: str, before: str) -> int:
    """How many columns dedenting took off a snippet's first line (Snippet.indent)."""
    head = before.split("\n", 1)[0]
    return max(0, len(first_line) - len(head))


def parses(text: str) -> bool:
    try:
        parse_quietly(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def unified_diff(path: str, before: str, after: str, context: int = 3) -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{path}", tofile=f"b/{path}", n=context))
