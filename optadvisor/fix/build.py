"""One site's fix: pick the leading rule's shape, refine it with what the other rules of
the site change (one site, one fix), build the edits, prove them (the file still
compiles), and cut the snippet every report shows from the same edits."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import replace
from typing import Any, Sequence

from optadvisor.analyze.catalog import Catalog
from optadvisor.fix import shape_module
from optadvisor.context import generated_marker
from optadvisor.fix.context import FixContext, NotHere
from optadvisor.fix.edits import apply_edits, dedented_by
from optadvisor.fix.site import ShapeCall
from optadvisor.fix.calls import local_roots
from optadvisor.fix.source import FixSource, Span, walk_scope
from optadvisor.models import Edit, Fix, Snippet
from optadvisor.analyze import parse_quietly


def build_fix(lead: ShapeCall, facets: Sequence[ShapeCall], span: Span, source: FixSource,
              catalog: Catalog, path: str = "<file>",
              python: tuple[int, int] | None = None, runtime: str = "") -> Fix:
    """`python`: the oldest Python the file's project supports (pyversion.py), None when
    it does not say; the change uses nothing newer. `runtime`: the async library the
    project declares ("anyio", "trio" or "")."""
    refinements = []
    for facet in facets:
        module = shape_module(facet.shape)
        if module is not None and hasattr(module, "refinement"):
            try:
                refinements.append(module.refinement(
                    _context(facet, span, source, catalog, python)))
            except NotHere:
                continue
    fix = _build(lead, span, source, catalog, path, python, refinements, runtime)
    if fix.applicability == "manual":
        # The lead has no mechanical change here; a facet's own change (the missing
        # timeout) is still worth applying, with the lead's advice kept in words.
        for facet in facets:
            other = _build(facet, span, source, catalog, path, python, (), runtime)
            if other.applicability != "manual":
                return replace(other, message=f"{other.message} Still to do by hand: "
                                              f"{fix.message}".strip())
    return fix


def _context(call: ShapeCall, span: Span, source: FixSource, catalog: Catalog,
             python: tuple[int, int] | None, refinements: Sequence[Any] = ()) -> FixContext:
    return FixContext(source=source, span=span, env=call.env, params=call.params,
                      catalog=catalog, manual_text=call.manual, refinements=refinements,
                      python=python)


def _build(call: ShapeCall, span: Span, source: FixSource, catalog: Catalog, path: str,
           python: tuple[int, int] | None, refinements: Sequence[Any],
           runtime: str = "") -> Fix:
    ctx = _context(call, span, source, catalog, python, refinements)
    module = shape_module(call.shape)
    if module is None or source.tree is None:
        return ctx.manual()
    marker = generated_marker(source.text)
    if marker:
        return ctx.manual(f"(This file says it is generated — `{marker}`: make the change "
                          f"in what generates it; an edit here is lost when it is generated "
                          f"again.)")
    try:
        fix = module.build(ctx)
    except NotHere as why:
        return ctx.manual(str(why), why.instead)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError):
        # A shape that meets code it was not written for says so in words, never crashes
        # the scan.
        return ctx.manual()
    fix = _one_insertion_per_point(_with_newline(fix, source.newline))
    if _asyncio_in_anyio_code(source, fix, runtime):
        return ctx.manual(
            "This module runs on anyio or trio, not asyncio (it may run under trio, where "
            "asyncio calls fail): use its own API instead — `await anyio.to_thread."
            "run_sync(...)` for blocking work, a task group (`async with anyio."
            "create_task_group() as tg: tg.start_soon(...)`) for awaits that may run "
            "together, `await anyio.sleep(...)` for a pause.", instead=True)
    if ctx.python is not None and ctx.python < (3, 9) and any(
            "asyncio.to_thread(" in edit.content for edit in fix.edits):
        # A mechanical rewrite into `run_in_executor` would rebuild every call's arguments
        # (held-out S28: GPTCache installs on 3.8).
        return ctx.manual(
            f"`asyncio.to_thread` needs Python 3.9 and this project supports Python "
            f"{ctx.python[0]}.{ctx.python[1]}: run the blocking work with `await asyncio."
            f"get_running_loop().run_in_executor(None, functools.partial(func, *args, "
            f"**kwargs))` instead.")
    if not compiles(apply_edits(source.text, fix.edits), path):
        return ctx.manual()
    shadowed = _shadowed_modules(source, fix, span)
    if shadowed:
        return ctx.manual(
            f"(The function also binds `{shadowed}` itself — a local `import {shadowed}` "
            f"or an assignment — so in all of it `{shadowed}` is a local name: the change "
            f"would read it before it is bound, an UnboundLocalError. Move that import to "
            f"the top of the module first.)")
    return fix


_ROOTS = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.")
"""The first names of dotted uses (`asyncio` of `asyncio.to_thread`)."""


def _shadowed_modules(source: FixSource, fix: Fix, span: Span) -> str:
    """A module name the change uses (`asyncio.to_thread`) that the function around the site
    binds itself (`import asyncio` further down, in one branch): Python makes it local to
    the whole function, so the module-level import does not reach the new code (held-out
    S36: UFO's device service imports asyncio under `if auto_connect:` below the call)."""
    # What the change adds, not what it carries over from the code it replaces (held-out
    # S45c: hugchat's `conversation.id`, a parameter the call already read, is also a
    # module-level name; a timeout added to the call read as an UnboundLocalError).
    used: set[str] = set()
    for edit in fix.edits:
        replaced = source.segment((edit.line, edit.column, edit.end_line, edit.end_column)) \
            if (edit.line, edit.column) != (edit.end_line, edit.end_column) else ""
        used |= set(_ROOTS.findall(edit.content)) - set(_ROOTS.findall(replaced))
    used &= source.module_names | {name for edit in fix.edits
                                   for name in re.findall(r"^import (\w+)", edit.content,
                                                          re.MULTILINE)}
    if not used or source.tree is None:
        return ""
    nodes = source.nodes_on(span[0])
    scope = source.scope_of(nodes[0]) if nodes else None
    while scope is not None and not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.Lambda)):
        scope = source.scope_of(scope)
    if scope is None:
        return ""
    # `global asyncio` makes the name the module's again (calls.local_roots counts stores).
    declared = {name for node in walk_scope(getattr(scope, "body", []))
                if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names}
    bound = local_roots(scope) - declared
    return next((name for name in sorted(used) if name in bound), "")


def _one_insertion_per_point(fix: Fix) -> Fix:
    """Insertions at one point made one edit, their texts in the listed order: `import
    functools` and the `@functools.cache` factory that uses it both go after the imports,
    and a tool that applies a report's edits itself may make two insertions at one point
    in either order (held-out S31: a reader's copy put the factory above its import, a
    NameError on import). One edit has one order."""
    seen: dict[tuple[int, int], int] = {}
    edits: list[Edit] = []
    for edit in fix.edits:
        if edit in edits:
            continue
        point = (edit.line, edit.column)
        if point != (edit.end_line, edit.end_column):
            edits.append(edit)
            continue
        if point in seen:
            first = edits[seen[point]]
            edits[seen[point]] = replace(first, content=first.content + edit.content)
        else:
            seen[point] = len(edits)
            edits.append(edit)
    return fix if len(edits) == len(fix.edits) else replace(fix, edits=tuple(edits))


def _with_newline(fix: Fix, newline: str) -> Fix:
    """The edits' line breaks as the file's own: a shape that prints a rebuilt call or block
    writes `\n`, which in a CRLF file would leave mixed line endings (held-out S28: Fay's
    schedule server, a call spread over lines moved into `asyncio.to_thread`)."""
    if newline == "\n" or not any("\n" in edit.content for edit in fix.edits):
        return fix
    return replace(fix, edits=tuple(
        replace(edit, content=edit.content.replace("\r\n", "\n").replace("\n", newline))
        for edit in fix.edits))


def _asyncio_in_anyio_code(source: FixSource, fix: Fix, runtime: str = "") -> bool:
    """The change brings asyncio into a module that imports anyio or trio and not asyncio
    (held-out N: the MCP SDK, tested under trio, was offered `asyncio.to_thread` and
    `asyncio.gather`), or that imports none of them in a project that depends on anyio or
    trio (`runtime`; held-out S39: claude-agent-sdk's session import)."""
    roots = source.imported_roots
    return "asyncio" not in roots and (
        bool({"anyio", "trio"} & roots) or bool(runtime)) and any(
        "asyncio" in edit.content for edit in fix.edits)


def compiles(text: str, path: str = "<file>") -> bool:
    """The whole module compiles (not only parses: `await` outside an async function and
    `return` outside a function are compile errors, not parse errors)."""
    try:
        parse_quietly(text, "compile")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def snippet_of(source: FixSource, fix: Fix, span: Span) -> Snippet:
    """The user's lines and the same lines as they read after the fix: the lines of the
    edit that covers the finding, whole; other edits (a new helper, an import) shown above."""
    primary = _primary(fix.edits, span)
    if primary is None:
        first, last = _statement_lines(source, span, span[0], span[2])
        region = "\n".join(source.line(n) for n in range(first, last + 1))
        before = textwrap.dedent(region)
        return Snippet(before=before, after="", line=first,
                       indent=dedented_by(source.line(first), before))
    first, last = primary.line, primary.end_line
    if primary.end_column == 1 and last > first:
        last -= 1
    first, last = _statement_lines(source, span, first, last)
    region = source.newline.join(source.line(n) for n in range(first, last + 1))
    shifted = Edit(primary.line - first + 1, primary.column, primary.end_line - first + 1,
                   primary.end_column, primary.content)
    after = textwrap.dedent(apply_edits(region, [shifted]))
    extra = [textwrap.dedent(e.content).strip("\r\n") for e in fix.edits if e is not primary]
    if extra:
        after = "\n\n".join([*extra, after])
    before = textwrap.dedent(region)
    return Snippet(before=before, after=after, line=first,
                   indent=dedented_by(source.line(first), before))


def _primary(edits: Sequence[Edit], span: Span) -> Edit | None:
    for edit in edits:
        if (edit.line, edit.column) <= (span[0], span[1]) and \
                (edit.end_line, edit.end_column) >= (span[2], span[3]):
            return edit
    return edits[0] if edits else None


def _statement_lines(source: FixSource, span: Span, first: int, last: int) -> tuple[int, int]:
    """A multi-line statement is shown whole: the lines of the simple statement around the
    finding (or the header of a compound one), at least `first`..`last`."""
    node = next((n for n in source.nodes_on(span[0]) if source.span_of(n)[:2] == span[:2]),
                None)
    stmt = source.statement_of(node) if node is not None else None
    if stmt is None:
        return first, last
    body = getattr(stmt, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        end = body[0].lineno - 1 if body[0].lineno > stmt.lineno else stmt.lineno
    else:
        end = stmt.end_lineno or stmt.lineno
    return min(first, stmt.lineno), max(last, end)
