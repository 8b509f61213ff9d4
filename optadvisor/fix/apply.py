"""One pass of `--fix` over one file's text: the applicable fixes, in rank order, whose
edits do not collide; the result is kept only when it still compiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from optadvisor.fix.build import compiles
from optadvisor.fix.edits import apply_edits, compatible
from optadvisor.models import Recommendation

MAX_PASSES = 10
"""ruff iterates up to 100 times; our fixes rarely stack more than two deep."""


@dataclass(frozen=True)
class FilePass:
    text: str
    applied: tuple[Recommendation, ...]


def applicable(rec: Recommendation, unsafe: bool) -> bool:
    fix = rec.fix
    return fix is not None and bool(fix.edits) and (
        fix.applicability == "safe" or (unsafe and fix.applicability == "unsafe"))


def fix_pass(text: str, recs: Sequence[Recommendation], unsafe: bool,
             path: str = "<file>") -> FilePass:
    """Each fix compiled alone when it was built; together they nearly always do too. When
    they do not, the first (highest-ranked) one that compiles alone is applied, and the
    next pass, on the re-analyzed text, takes the rest."""
    chosen = [r for r in recs if applicable(r, unsafe)]
    edits, taken = compatible([r.fix.edits for r in chosen])  # type: ignore[union-attr]
    if not taken:
        return FilePass(text, ())
    result = apply_edits(text, edits)
    if compiles(result, path):
        return FilePass(result, tuple(chosen[i] for i in taken))
    for i in taken:
        attempt = apply_edits(text, chosen[i].fix.edits)  # type: ignore[union-attr]
        if compiles(attempt, path):
            return FilePass(attempt, (chosen[i],))
    return FilePass(text, ())


def fix_source(code: str, select: tuple[str, ...] = (), unsafe: bool = True,
               path: str = "example.py") -> tuple[str, int]:
    """Fix one in-memory source until nothing changes (rule examples and tests): the fixed
    text and how many fixes were applied."""
    from optadvisor.api import scan_source

    total = 0
    for _ in range(MAX_PASSES):
        recs, error = scan_source(code, rel=path, select=select)
        if error is not None:
            break
        step = fix_pass(code, recs, unsafe, path)
        if not step.applied or step.text == code:
            break
        code = step.text
        total += len(step.applied)
    return code, total
