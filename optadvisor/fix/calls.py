"""What the call-level shapes share: the flagged call found in both trees (CPython's, to
know where it sits; libcst's, to rebuild it keeping its layout and comments), and whether
an `await` may be written in its place."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from optadvisor.fix.context import FixContext, NotHere, code_of
from optadvisor.fix.source import FixSource, names_loaded, names_stored


@dataclass
class CallSite:
    node: ast.Call
    cst_call: cst.Call
    needs_parens: bool
    """The call is the object of an attribute, subscript or call (`f(x).json()`): an
    awaited replacement must be parenthesized."""


def call_site(ctx: FixContext, awaiting: bool = False) -> CallSite:
    """The flagged call; with `awaiting`, only where an `await` may be written in its
    place: directly in an async def (a list, set or dict comprehension there is fine: it
    becomes an async comprehension), never in a lambda, a generator expression, a nested
    sync def or a class body, and never on a call that is awaited already."""
    node = ctx.source.find(ctx.span, ast.Call)
    if node is None:
        raise NotHere("")
    try:
        parsed = cst.parse_expression(ctx.source.segment(ctx.span))
    except cst.ParserSyntaxError:
        raise NotHere("") from None
    if not isinstance(parsed, cst.Call):
        raise NotHere("")
    parent = ctx.source.parent(node)
    if awaiting:
        if isinstance(parent, ast.Await):
            raise NotHere("The call is awaited already: it does not block.")
        if not isinstance(ctx.source.scope_of(node), ast.AsyncFunctionDef):
            raise NotHere("The call sits in a lambda, generator expression or nested function, "
                          "where `await` cannot be written: move it into the coroutine first.")
    needs_parens = (isinstance(parent, ast.Attribute) and parent.value is node) or (
        isinstance(parent, ast.Subscript) and parent.value is node) or (
        isinstance(parent, ast.Call) and parent.func is node)
    return CallSite(node, parsed, needs_parens)


def awaited(expr: cst.BaseExpression, parens: bool) -> str:
    node: cst.BaseExpression = cst.Await(expression=expr)
    if parens:
        node = node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return code_of(node)


def dotted_expr(name: str) -> cst.BaseExpression:
    parts = name.split(".")
    node: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def first_arg_comma(call: cst.Call) -> cst.Comma:
    """The comma after a new first argument, laid out like the call: on its own line when
    the call puts its arguments on their own lines."""
    ws = call.whitespace_before_args
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=ws)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def receiver_root(expr: ast.expr) -> str | None:
    """The name a chain of attributes, subscripts and calls starts from (`self` of
    `self.conn.cursor().execute`), or None when it starts from anything else."""
    while isinstance(expr, (ast.Attribute, ast.Subscript, ast.Call)):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def parameters(func: ast.AST | None) -> set[str]:
    """The parameter names of a function or lambda (none for a module or a class)."""
    args = getattr(func, "args", None)
    if not isinstance(args, ast.arguments):
        return set()
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                            *(a for a in (args.vararg, args.kwarg) if a is not None))}


def local_roots(func: ast.AST) -> set[str]:
    """Names local to a function: its parameters and what its body binds."""
    return parameters(func) | names_stored(getattr(func, "body", []))


def names_in_scope(source: FixSource, func: ast.AST) -> set[str]:
    """Every name a new local helper could shadow: those of the function, of the functions
    around it (a nested def made by an earlier fix), and of the module."""
    names = set(source.module_names)
    for scope in (func, *source.ancestors(func)):
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            names |= local_roots(scope) | names_loaded([scope])
    return names
