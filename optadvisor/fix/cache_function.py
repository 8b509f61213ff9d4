"""A load whose input is fixed (a prompt file, a constant regex, a config parse) → a
module-level `functools.cache` function with no arguments that does it once, on first use,
and the call site asks that function.

Only when that is right: the expression reads nothing but module names and builtins (a
path built in the function or an open file stays where it is: words), and the function
does not change what it loaded (a cached dict would be changed for every later caller).
The helper goes straight above the top-level statement that holds the call."""

from __future__ import annotations

import ast
import builtins
import re

import libcst as cst

from optadvisor.fix.calls import call_site, local_roots, names_in_scope
from optadvisor.fix.context import FixContext, NotHere, code_of
from optadvisor.fix.source import assigned_name, module_def
from optadvisor.models import Edit, Fix

_MUTATORS = {"append", "extend", "insert", "update", "pop", "popitem", "clear", "remove",
             "setdefault", "add", "discard", "sort", "reverse"}


def build(ctx: FixContext) -> Fix:
    site = call_site(ctx)
    source = ctx.source
    node = site.node
    func = source.scope_of(node)
    local: set[str] = set()
    for scope in (func, *source.ancestors(func)) if func is not None else ():
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            local |= local_roots(scope)
    for name in _names_read(node):
        if name in local or (name not in source.imported_names and name not in vars(builtins)):
            raise NotHere(
                f"It reads `{name}`, made in this function: move that into the cached "
                "function too, so it has no arguments and reads only module names.")
    statement = source.statement_of(node)
    target = assigned_name(statement, node)
    if target and func is not None and _mutates(func, target):
        raise NotHere(
            f"The function changes `{target}` after loading it: cache the load and work on a "
            f"copy (`copy.deepcopy`), or every later caller sees the change.")
    source.outside_helpers_travel(node)
    top = _top_level(source, node)
    if top is None:
        raise NotHere("")
    view = ctx.env.get("call")
    short = target or (view.short_name if view is not None else "value")
    short = re.sub(r"[^0-9a-zA-Z]+", "_", short).strip("_").lower() or "value"
    helper_name = f"_load_{short}" if target else f"_cached_{short}"
    expr = code_of(site.cst_call)
    existing = module_def(source, helper_name)
    if existing is not None and expr in source.node_text(existing):
        insertion = None  # the same helper, made by an earlier fix: reuse it
    else:
        taken = names_in_scope(source, func) if func is not None else source.module_names
        helper_name = source.claim(helper_name, taken, expr)
        helper = cst.FunctionDef(
            name=cst.Name(helper_name), params=cst.Parameters(),
            body=cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(site.cst_call)])]),
            decorators=[ctx.cache_decorator()],
            leading_lines=[cst.EmptyLine(comment=cst.Comment("# loaded once, on first use"))])
        line = _first_line(top)
        # Written with `\n`: build.py gives every change the file's own line breaks.
        insertion = Edit(line, 1, line, 1, code_of(cst.Module(body=[helper])) + "\n\n")
    return ctx.change(
        "unsafe", ctx.replace_node(ctx.span, f"{helper_name}()"), source.import_edit("functools"),
        insertion,
        message="Loaded once and shared; unsafe because a change to the file while the "
                "process runs is no longer seen, and callers share one result object (copy it "
                "before changing it).")


def _names_read(node: ast.AST) -> list[str]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.append(sub.id)
        elif isinstance(sub, (ast.Lambda, ast.NamedExpr, ast.comprehension)):
            out.append("<expression>")
    return out




def _mutates(func: ast.AST, name: str) -> bool:
    for sub in ast.walk(func):
        if isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(sub.ctx, (
                ast.Store, ast.Del)) and isinstance(sub.value, ast.Name) and sub.value.id == name:
            return True
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and \
                sub.func.attr in _MUTATORS and isinstance(sub.func.value, ast.Name) and \
                sub.func.value.id == name:
            return True
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name) and \
                sub.target.id == name:
            return True
    return False


def _top_level(source, node: ast.AST) -> ast.stmt | None:
    tree = source.tree
    top = None
    for ancestor in source.ancestors(node):
        if ancestor is tree:
            break
        top = ancestor
    return top if isinstance(top, ast.stmt) else None


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno, *(d.lineno for d in decorators)])
