"""Independent awaits one after another → one `asyncio.gather` of their calls, each result
bound to its original target (`_` for a result that was thrown away).

Statements between the awaits (which read none of their results) keep their order and run
before the gathered calls start. Comments stay with their statements."""

from __future__ import annotations

import ast

import libcst as cst

from optadvisor.fix.context import FixContext, NotHere
from optadvisor.models import Fix


def build(ctx: FixContext) -> Fix:
    source = ctx.source
    statements: list[ast.stmt] = []
    for call in ctx.group_calls():
        await_node = source.parent(call) if call is not None else None
        stmt = source.parent(await_node) if isinstance(await_node, ast.Await) else None
        if not _plain(stmt, await_node):
            raise NotHere("One of the awaits is part of a larger expression: bind each result "
                          "to a name first, then gather the calls.")
        statements.append(stmt)  # type: ignore[arg-type]
    block = ctx.group_block(statements)
    targets: list[cst.BaseExpression | None] = []
    calls: list[cst.BaseExpression] = []
    comments: list[cst.TrailingWhitespace] = []
    leading: list[cst.EmptyLine] = []
    for node in block.items:
        small = node.body[0]
        target = small.targets[0].target if isinstance(small, cst.Assign) else None
        if isinstance(target, (cst.Tuple, cst.List)) and not target.lpar:
            target = target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        targets.append(target)
        calls.append(small.value.expression.visit(_Indent()))  # type: ignore[attr-defined]
        comments.append(node.trailing_whitespace)
        leading.extend(node.leading_lines)
    gathered = _gather_statement(targets, calls, comments, leading)
    return ctx.change(
        "unsafe", ctx.replace_block(block.span, [*block.between, gathered], block.module.footer,
                                    block.indent),
        source.import_edit("asyncio"),
        message="The calls run concurrently; unsafe because when one raises the others keep "
                "running, and their side effects may interleave.")


def _plain(stmt: ast.AST | None, await_node: ast.AST | None) -> bool:
    """`x = await f()` (one plain target) or `await f()` as a statement."""
    if isinstance(stmt, ast.Expr):
        return stmt.value is await_node
    if isinstance(stmt, ast.Assign):
        return stmt.value is await_node and len(stmt.targets) == 1 and not any(
            isinstance(n, ast.Starred) for n in ast.walk(stmt.targets[0]))
    return False


def _gather_statement(targets: list[cst.BaseExpression | None],
                      calls: list[cst.BaseExpression], comments: list[cst.TrailingWhitespace],
                      leading: list[cst.EmptyLine]) -> cst.SimpleStatementLine:
    """`t1, t2 = await asyncio.gather(\n    c1,\n    c2,\n)`; each statement's trailing
    comment (`# type: ignore`, `# pyright: ignore`) follows its call."""
    nl = cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace("    "))
    args = [cst.Arg(value=c, comma=cst.Comma(whitespace_after=cst.ParenthesizedWhitespace(
        first_line=comment, indent=True,
        last_line=cst.SimpleWhitespace("    " if i < len(calls) - 1 else ""))))
        for i, (c, comment) in enumerate(zip(calls, comments))]
    gather = cst.Await(expression=cst.Call(
        func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("gather")),
        whitespace_before_args=nl, args=args))
    if all(t is None for t in targets):
        small: cst.BaseSmallStatement = cst.Expr(value=gather)
    else:
        elements = [cst.Element(value=t if t is not None else cst.Name("_"))
                    for t in targets]
        small = cst.Assign(targets=[cst.AssignTarget(target=cst.Tuple(elements, lpar=[],
                                                                      rpar=[]))],
                           value=gather)
    return cst.SimpleStatementLine(body=[small], leading_lines=leading)


class _Indent(cst.CSTTransformer):
    """A call moved into gather's argument list sits one level deeper: so do the lines it
    continues on."""

    def leave_ParenthesizedWhitespace(self, original_node: cst.ParenthesizedWhitespace,
                                      updated_node: cst.ParenthesizedWhitespace
                                      ) -> cst.ParenthesizedWhitespace:
        return updated_node.with_changes(
            last_line=cst.SimpleWhitespace(updated_node.last_line.value + "    "))
