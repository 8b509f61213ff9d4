"""The `when` language of rule files: a small, typed, side-effect-free subset of Python
expressions, checked once at load time and compiled to closures (never `eval`).

Allowed: `and` `or` `not`, comparisons (`== != < <= > >= in not in`), `+ - * /` on numbers,
literals (str, int, float, True/False/None, lists and tuples of literals), dotted field
access on the subject's roots (`call.blocking`, `function.name`), and the functions in
FUNCTIONS. Anything else (subscripts, lambdas, comprehensions, method calls, names that
are not roots, fields that are not declared, attributes starting with `_`) is refused with
the offending column, so a rule file error can name its file, line and column.
"""

from __future__ import annotations

import ast
import fnmatch
import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping

Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]

# Types of the language: "bool", "int", "float", "str", "list", "none", "any".
NUMERIC = {"int", "float"}


class ExprError(Exception):
    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    args: tuple[str, ...]
    returns: str


FUNCTIONS: dict[str, Function] = {
    "len": Function(len, ("any",), "int"),
    "startswith": Function(lambda s, p: s.startswith(p), ("str", "str"), "bool"),
    "endswith": Function(lambda s, p: s.endswith(p), ("str", "str"), "bool"),
    "contains": Function(lambda hay, needle: needle in hay, ("any", "any"), "bool"),
    "matches": Function(lambda s, pattern: fnmatch.fnmatchcase(s, pattern), ("str", "str"),
                        "bool"),
    "lower": Function(lambda s: s.lower(), ("str",), "str"),
    "min": Function(min, ("float", "float"), "float"),
    "max": Function(max, ("float", "float"), "float"),
}

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: lambda a, b: a / b if b else 0.0,
}


Schema = Mapping[str, Mapping[str, str]]
"""root name -> field name -> type."""


def compile_expr(source: str, schema: Schema) -> Compiled:
    """Check `source` against `schema` and return a function of an environment."""
    if len(source) > 2000:
        raise ExprError("expression is longer than 2000 characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error: {exc.msg}", exc.offset or 0) from None
    fn, typ = _compile(tree.body, schema, depth=0)
    if typ not in ("bool", "any"):
        raise ExprError(f"`when` must be true or false, this expression is {typ}", 1)
    return fn


def _col(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


def _compile(node: ast.AST, schema: Schema, depth: int) -> tuple[Compiled, str]:
    if depth > 50:
        raise ExprError("expression nests too deeply", _col(node))
    nxt = depth + 1
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, schema, nxt) for v in node.values]
        for (_, typ), value in zip(parts, node.values):
            _expect_bool(typ, value)
        fns = [p[0] for p in parts]
        if isinstance(node.op, ast.And):
            return (lambda env: all(f(env) for f in fns)), "bool"
        return (lambda env: any(f(env) for f in fns)), "bool"
    if isinstance(node, ast.UnaryOp):
        inner, typ = _compile(node.operand, schema, nxt)
        if isinstance(node.op, ast.Not):
            _expect_bool(typ, node.operand)
            return (lambda env: not inner(env)), "bool"
        if isinstance(node.op, ast.USub) and typ in NUMERIC | {"any"}:
            return (lambda env: -inner(env)), typ
        raise ExprError("only `not` and unary `-` are allowed", _col(node))
    if isinstance(node, ast.Compare):
        left, ltyp = _compile(node.left, schema, nxt)
        steps = []
        for op, right_node in zip(node.ops, node.comparators):
            right, rtyp = _compile(right_node, schema, nxt)
            _check_compare(op, ltyp, rtyp, right_node)
            steps.append((_COMPARE[type(op)], right))
            ltyp = rtyp

        def compare(env: Env) -> bool:
            current = left(env)
            for fn, right in steps:
                value = right(env)
                try:
                    if not fn(current, value):
                        return False
                except TypeError:
                    return False
                current = value
            return True

        return compare, "bool"
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH:
            raise ExprError("only + - * / are allowed", _col(node))
        left, ltyp = _compile(node.left, schema, nxt)
        right, rtyp = _compile(node.right, schema, nxt)
        op = _ARITH[type(node.op)]
        if ltyp == rtyp == "str" and isinstance(node.op, ast.Add):
            return (lambda env: op(left(env), right(env))), "str"
        for typ, side in ((ltyp, node.left), (rtyp, node.right)):
            if typ not in NUMERIC | {"any"}:
                raise ExprError(f"arithmetic needs numbers, got {typ}", _col(side))
        out = "float" if "float" in (ltyp, rtyp) or isinstance(node.op, ast.Div) else "int"
        return (lambda env: op(left(env), right(env))), out
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return (lambda env: value), "bool"
        if value is None:
            return (lambda env: None), "none"
        if isinstance(value, (int, float, str)):
            return (lambda env: value), {int: "int", float: "float", str: "str"}[type(value)]
        raise ExprError(f"literal {value!r} is not allowed", _col(node))
    if isinstance(node, (ast.List, ast.Tuple)):
        values = []
        for element in node.elts:
            if not isinstance(element, ast.Constant) or not isinstance(
                    element.value, (str, int, float, bool)):
                raise ExprError("lists may only hold literals", _col(element))
            values.append(element.value)
        frozen = tuple(values)
        return (lambda env: frozen), "list"
    if isinstance(node, ast.Attribute):
        return _field(node, schema)
    if isinstance(node, ast.Name):
        if node.id in schema:
            raise ExprError(f"`{node.id}` is a subject, name one of its fields "
                            f"({', '.join(sorted(schema[node.id]))})", _col(node))
        raise ExprError(f"unknown name `{node.id}`; known: {', '.join(sorted(schema))}",
                        _col(node))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExprError("calls are limited to " + ", ".join(sorted(FUNCTIONS)),
                            _col(node))
        if node.keywords:
            raise ExprError("keyword arguments are not allowed", _col(node))
        spec = FUNCTIONS[node.func.id]
        if len(node.args) != len(spec.args):
            raise ExprError(f"{node.func.id}() takes {len(spec.args)} argument(s)", _col(node))
        args = []
        for want, arg in zip(spec.args, node.args):
            fn, typ = _compile(arg, schema, nxt)
            if want != "any" and typ not in (want, "any") and not (
                    want == "float" and typ == "int"):
                raise ExprError(f"{node.func.id}() wants {want}, got {typ}", _col(arg))
            args.append(fn)
        impl = spec.fn

        def call(env: Env) -> Any:
            try:
                return impl(*(a(env) for a in args))
            except (TypeError, ValueError):
                return None

        return call, spec.returns
    if isinstance(node, ast.IfExp):
        raise ExprError("conditional expressions are not allowed; use and/or", _col(node))
    raise ExprError(f"{type(node).__name__} is not allowed in rule expressions", _col(node))


def _field(node: ast.Attribute, schema: Schema) -> tuple[Compiled, str]:
    if node.attr.startswith("_"):
        raise ExprError(f"`{node.attr}`: names starting with _ are not allowed", _col(node))
    if not isinstance(node.value, ast.Name):
        raise ExprError("only `subject.field` access is allowed", _col(node))
    root = node.value.id
    if root not in schema:
        raise ExprError(f"unknown name `{root}`; known: {', '.join(sorted(schema))}",
                        _col(node.value))
    fields = schema[root]
    if node.attr not in fields:
        raise ExprError(f"`{root}` has no field `{node.attr}`; fields: "
                        f"{', '.join(sorted(fields))}", _col(node) + len(root) + 1)
    attr = node.attr

    def get(env: Env) -> Any:
        return getattr(env[root], attr, None)

    return get, fields[attr]


def _expect_bool(typ: str, node: ast.AST) -> None:
    if typ not in ("bool", "any"):
        raise ExprError(f"expected true/false here, got {typ} (compare it explicitly)",
                        _col(node))


def _check_compare(op: ast.cmpop, ltyp: str, rtyp: str, right: ast.AST) -> None:
    if isinstance(op, (ast.In, ast.NotIn)):
        if rtyp not in ("list", "str", "any"):
            raise ExprError(f"`in` needs a list or string on the right, got {rtyp}",
                            _col(right))
        return
    if "any" in (ltyp, rtyp) or "none" in (ltyp, rtyp) or ltyp == rtyp:
        return
    if ltyp in NUMERIC and rtyp in NUMERIC:
        return
    raise ExprError(f"cannot compare {ltyp} with {rtyp}", _col(right))
