"""Slow sync reads one after another → submitted together to a thread pool, each result
bound to its original target once all have finished:

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(lambda: requests.get(a, timeout=5).json()),
            pool.submit(lambda: requests.get(b, timeout=5).json()),
        ]
    profile, orders = (future.result() for future in futures)

Each statement's whole right-hand side runs in the lambda, so what it reads from the call's
result (`.json()`, `.choices[0].message.content`) stays as it was. The lambdas run before
anything in the function rebinds what they read: the `with` block only submits them and
waits. Statements between the calls (which read none of their results) keep their order
and run first, as for gather."""

from __future__ import annotations

import ast

import libcst as cst

from optadvisor.fix.context import FixContext, NotHere
from optadvisor.models import Fix


def build(ctx: FixContext) -> Fix:
    source = ctx.source
    statements: list[ast.stmt] = []
    for call in ctx.group_calls():
        stmt = source.statement_of(call) if call is not None else None
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or any(
                isinstance(n, (ast.Starred, ast.NamedExpr, ast.Yield, ast.YieldFrom,
                               ast.Await, ast.Lambda))
                for n in ast.walk(stmt)):
            raise NotHere("Bind each result to a plain name first, then submit the calls "
                          "to the pool.")
        statements.append(stmt)
    block = ctx.group_block(statements)
    scope = source.scope_of(statements[0])
    taken = {n.id for n in ast.walk(scope) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(scope) if isinstance(n, ast.arguments)
        for a in (*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg) if a is not None
    } if scope is not None else set()
    pool, futures, future = (_fresh(name, taken) for name in ("pool", "futures", "future"))

    targets: list[cst.BaseExpression] = []
    values: list[cst.BaseExpression] = []
    comments: list[str] = []
    leading: list[cst.EmptyLine] = []
    for node in block.items:
        small = node.body[0]
        target = small.targets[0].target  # type: ignore[union-attr]
        if isinstance(target, (cst.Tuple, cst.List)) and not target.lpar:
            target = target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        targets.append(target)
        values.append(small.value)  # type: ignore[union-attr]
        comment = node.trailing_whitespace.comment
        comments.append(f"  {comment.value}" if comment is not None else "")
        leading.extend(node.leading_lines)
    code = _pool_code(targets, values, comments, pool, futures, future)
    pooled = cst.parse_module(code).body
    pooled = [pooled[0].with_changes(leading_lines=leading), *pooled[1:]]
    return ctx.change(
        "unsafe", ctx.replace_block(block.span, [*block.between, *pooled],
                                    block.module.footer, block.indent),
        source.import_edit("concurrent.futures"),
        message="The requests run at once on threads; unsafe because when one raises the "
                "others still run, and the client they share must allow use from several "
                "threads (httpx.Client and the OpenAI/Anthropic clients do; a "
                "requests.Session mostly does for plain reads).")


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name = "_" + name
    return name


def _pool_code(targets: list[cst.BaseExpression], values: list[cst.BaseExpression],
               comments: list[str], pool: str, futures: str, future: str) -> str:
    code = cst.Module([]).code_for_node
    submits = "".join(f"        {pool}.submit(lambda: {_indented(code(v))}),{comment}\n"
                      for v, comment in zip(values, comments))
    names = ", ".join(code(t) for t in targets)
    return (f"with concurrent.futures.ThreadPoolExecutor(max_workers={len(values)}) as {pool}:\n"
            f"    {futures} = [\n{submits}    ]\n"
            f"{names} = ({future}.result() for {future} in {futures})\n")


def _indented(text: str) -> str:
    """A value written over several lines continues inside brackets (a multi-line string
    refuses earlier, in ctx.block): its continuation lines move in with it."""
    first, *rest = text.split("\n")
    return "\n".join([first, *("        " + line if line.strip() else line for line in rest)])
