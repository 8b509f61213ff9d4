"""One pass of `--fix` over one file's text: the applicable fixes, in rank order, whose
edits do not collide; the result is kept only when it still compiles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from optadvisor.fix.build import compiles
from optadvisor.fix.edits import apply_edits, compatible
from optadvisor.models import Edit, Recommendation

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
    chosen = _one_name_one_definition(_outer_first([r for r in recs if applicable(r, unsafe)]))
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


def _outer_first(recs: list[Recommendation]) -> list[Recommendation]:
    """Rank order, except that a fix whose edit covers all of another's goes before it:
    a block offloaded whole takes the inner blocks it holds along (one worker thread for
    all of it); the inner fix first would leave an `await` in the outer block, which then
    can no longer move (a sync helper cannot await). Stable, so unrelated fixes keep rank
    order."""
    def inside(inner: Recommendation, outer: Recommendation) -> bool:
        if inner is outer:
            return False
        changes = [e for e in inner.fix.edits if not _insertion(e)]  # type: ignore[union-attr]
        covers = [e for e in outer.fix.edits if not _insertion(e)]  # type: ignore[union-attr]
        return bool(changes) and any(
            all(_within(e, c) for e in changes) and not all(_within(c, e) for e in changes)
            for c in covers)

    return sorted(recs, key=lambda r: sum(inside(r, other) for other in recs))


_DEFINES = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)|^(\w+)[ \t]*=", re.MULTILINE)


def _one_name_one_definition(recs: list[Recommendation]) -> list[Recommendation]:
    """Each fix was built on the same text, so two may pick the same name for different
    new helpers (`_load_template` for two templates): made together, the second `def`
    would replace the first. A fix whose new name another fix of this pass defines
    differently waits for the next pass, which sees the first helper and names its own
    anew. (The same helper twice, same text, is shared like a repeated import.)"""
    defined: dict[str, str] = {}
    kept = []
    for rec in recs:
        new = {name: edit.content for edit in rec.fix.edits  # type: ignore[union-attr]
               if _insertion(edit)
               for match in _DEFINES.finditer(edit.content)
               for name in match.groups() if name}
        if any(defined.get(name, text) != text for name, text in new.items()):
            continue
        defined.update(new)
        kept.append(rec)
    return kept


def _insertion(edit: Edit) -> bool:
    return (edit.line, edit.column) == (edit.end_line, edit.end_column)


def _within(edit: Edit, cover: Edit) -> bool:
    return ((cover.line, cover.column) <= (edit.line, edit.column)
            and (edit.end_line, edit.end_column) <= (cover.end_line, cover.end_column))


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
