"""Await time and concurrency in the calls pass: which await groups of a scan's findings
to measure (their awaits' lines, read from the source), and the bootstrap's figures
(`_awaits.AwaitBook`) as AwaitSite and AwaitGroupTiming."""

from __future__ import annotations

import ast
import linecache
from collections.abc import Iterable
from typing import Any

from optadvisor.models import AwaitGroupTiming, AwaitSite
from optadvisor.profile.sources import FunctionSpan, SourceIndex, relative

AWAIT_KINDS = {"sequential-awaits": "sequence", "await-in-loop": "loop"}
"""The recommendation kinds whose awaits the calls pass times, and how their items count."""
CONCURRENT = 1.5
"""Mean calls in flight above which a group's awaits were already concurrent: its
coroutine ran several calls at once, so their waits overlapped."""
MAX_SITES = 200

Flagged = tuple[str, str, str, str, int, int]
"""(absolute file, function qualname, rule, kind, line, end_line) of a finding."""

_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
          ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def add_groups(targets: list[dict[str, Any]], flagged: Iterable[Flagged],
               sources: SourceIndex, make_target: Any) -> None:
    """Give each target coroutine the groups its findings name (`groups` in the
    bootstrap's config, and `awaits`: step it); a flagged function not targeted yet is
    added."""
    by_function: dict[tuple[str, str], list[Flagged]] = {}
    for item in flagged:
        if item[3] in AWAIT_KINDS:
            by_function.setdefault((item[0], item[1]), []).append(item)
    for (file, qualname), found in sorted(by_function.items()):
        span = next((s for s in sources.spans(file) if s.qualname == qualname), None)
        if span is None:
            continue
        target = next((t for t in targets if t["file"] == file and t["name"] == qualname),
                      None)
        groups = group_specs(file, span, found)
        if not groups:
            continue
        if target is None:
            target = make_target(file, span)
            targets.append(target)
        target["groups"] = groups
        target["awaits"] = True


def group_specs(file: str, span: FunctionSpan, found: Iterable[Flagged]
                ) -> list[dict[str, Any]]:
    """Per finding: {"rule", "kind", "line", "spans"}, one (first, last line) span per
    await of the group in source order (a loop's first await first, where an iteration
    begins)."""
    function = _function_node(file, span)
    if function is None:
        return []
    specs = []
    for _file, _name, rule, kind, line, end_line in found:
        shape = AWAIT_KINDS[kind]
        if shape == "sequence":
            awaits = [a for a in _awaits(function.body)
                      if line <= a.lineno <= max(end_line, line)]
        else:
            loop = _loop_at(function, line)
            awaits = _loop_awaits(loop) if loop is not None else []
        if not awaits:
            continue
        spans = sorted({(a.lineno, a.end_lineno or a.lineno) for a in awaits})
        specs.append({"rule": rule, "kind": shape, "line": line,
                      "spans": [list(s) for s in spans]})
    return specs


def _function_node(file: str, span: FunctionSpan) -> ast.AST | None:
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.lineno == span.line:
            return node
    return None


def _awaits(nodes: Iterable[ast.AST]) -> list[ast.Await]:
    """The outermost awaits under nodes, not entering nested functions or classes."""
    found: list[ast.Await] = []
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Await):
            found.append(node)
        elif not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda a: (a.lineno, a.col_offset))
    return found


def _loop_at(function: ast.AST, line: int) -> ast.AST | None:
    """The loop (or comprehension) starting on the finding's line, innermost first."""
    loops = [node for node in _walk_scope(function) if isinstance(node, _LOOPS)
             and node.lineno == line]
    return max(loops, key=lambda n: (n.col_offset, -(n.end_lineno or n.lineno)),
               default=None)


def _walk_scope(function: ast.AST) -> Iterable[ast.AST]:
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))


def _loop_awaits(loop: ast.AST) -> list[ast.Await]:
    """The awaits an iteration runs: the body (not what the header awaits once)."""
    if isinstance(loop, (ast.For, ast.AsyncFor, ast.While)):
        return _awaits(loop.body)
    if isinstance(loop, ast.DictComp):
        parts: list[ast.AST] = [loop.key, loop.value]
    else:
        parts = [loop.elt]  # type: ignore[attr-defined]
    for index, generator in enumerate(loop.generators):  # type: ignore[attr-defined]
        parts.extend(generator.ifs)
        if index:
            parts.append(generator.iter)
    return _awaits(parts)


# ---------------------------------------------------------------- the bootstrap's figures


def figures(data: Any, sources: SourceIndex, root: str
            ) -> tuple[tuple[AwaitSite, ...], tuple[AwaitGroupTiming, ...]]:
    """The bootstrap's `awaits` rows as models (empty when it recorded none)."""
    if not isinstance(data, dict):
        return (), ()
    sites = []
    for row in data.get("sites") or ():
        file, first, name, line = str(row[0]), int(row[1]), str(row[2]), int(row[3])
        awaits, suspensions = int(row[4]), int(row[5])
        total, longest = float(row[6]), float(row[7])
        tasks, counted, running = int(row[8]), int(row[9]), int(row[10])
        span = sources.at_first_line(file, first, name)
        sites.append(AwaitSite(
            function=span.qualname if span else name, file=file, path=relative(file, root),
            line=span.line if span else first, await_line=line, code=sources.line(file, line),
            awaits=awaits, suspensions=suspensions, total_seconds=round(total, 6),
            mean_seconds=round(total / awaits, 9) if awaits else 0.0,
            max_seconds=round(longest, 6),
            concurrency=round(running / awaits, 2) if awaits else 0.0,
            tasks=round(tasks / counted, 2) if counted else 0.0))
    sites.sort(key=lambda s: (-s.total_seconds, s.path, s.await_line))
    groups = []
    for row in data.get("groups") or ():
        file, first, name = str(row["file"]), int(row["first_line"]), str(row["name"])
        span = sources.at_first_line(file, first, name)
        calls, awaits = int(row.get("calls") or 0), int(row.get("awaits") or 0)
        counted = int(row.get("counted") or 0)
        concurrency = round(int(row.get("running") or 0) / awaits, 2) if awaits else 0.0
        saving = float(row.get("saving") or 0.0)
        groups.append(AwaitGroupTiming(
            function=span.qualname if span else name, file=file, path=relative(file, root),
            line=span.line if span else first, rule=str(row.get("rule", "")),
            kind=str(row.get("kind", "")), at_line=int(row.get("line") or 0), calls=calls,
            items=int(row.get("items") or 0), awaits=awaits,
            sum_seconds=round(float(row.get("sum") or 0.0), 6),
            max_seconds=round(float(row.get("max") or 0.0), 6),
            saving_seconds=round(saving, 6),
            saving_per_call_seconds=round(saving / calls, 6) if calls else 0.0,
            max_saving_seconds=round(float(row.get("best") or 0.0), 6),
            concurrency=concurrency,
            tasks=round(int(row.get("tasks") or 0) / counted, 2) if counted else 0.0,
            verdict=verdict(calls, concurrency)))
    groups.sort(key=lambda g: (-g.saving_seconds, g.path, g.at_line))
    return tuple(sites[:MAX_SITES]), tuple(groups)


def verdict(calls: int, concurrency: float) -> str:
    if not calls:
        return "not-run"
    return "concurrent" if concurrency > CONCURRENT else "serial"
