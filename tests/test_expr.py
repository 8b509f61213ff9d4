"""The `when` language: what it accepts, what it refuses, and that it never evaluates
Python."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from optadvisor.expr import ExprError, compile_expr

SCHEMA = {
    "call": {"name": "str", "blocking": "bool", "loop_depth": "int", "timeout": "str"},
    "function": {"is_async": "bool", "lines": "int"},
}


def env(**call):
    base = {"name": "requests.get", "blocking": True, "loop_depth": 0, "timeout": "missing"}
    base.update(call)
    return {"call": SimpleNamespace(**base), "function": SimpleNamespace(is_async=True, lines=12)}


@pytest.mark.parametrize("source,expected", [
    ("call.blocking and function.is_async", True),
    ("call.blocking and not function.is_async", False),
    ("call.timeout in ['missing', 'none']", True),
    ("call.timeout not in ('missing',)", False),
    ("call.loop_depth >= 1 or function.lines > 10", True),
    ("function.lines * 2 - 4 == 20", True),
    ("startswith(call.name, 'requests.') and len(call.name) == 12", True),
    ("matches(call.name, 'req*.g?t')", True),
    ("0 < function.lines < 100", True),
    ("call.name == 'x' or call.name + '!' == 'requests.get!'", True),
])
def test_accepts_and_evaluates(source, expected):
    assert compile_expr(source, SCHEMA)(env()) is expected


@pytest.mark.parametrize("source,fragment", [
    ("call.__class__", "starting with _"),
    ("call.name.__class__.__mro__", "starting with _"),
    ("(call.name).upper == 1", "only `subject.field`"),
    ("__import__('os').system('true')", "calls are limited"),
    ("eval('1')", "calls are limited"),
    ("call.name.startswith('x')", "calls are limited"),
    ("open('/etc/passwd')", "calls are limited"),
    ("os", "unknown name"),
    ("call.nope", "has no field `nope`"),
    ("call", "is a subject"),
    ("call.name", "must be true or false"),
    ("call.loop_depth == 'x'", "cannot compare int with str"),
    ("call.blocking and call.name", "expected true/false"),
    ("call.name * 2 == 'x'", "arithmetic needs numbers"),
    ("[x for x in (1, 2)]", "not allowed"),
    ("lambda: 1", "not allowed"),
    ("call.name[0] == 'r'", "not allowed"),
    ("call.blocking if call.blocking else call.blocking", "conditional"),
    ("len(call.name, 1) == 1", "takes 1 argument"),
    ("call.blocking and", "syntax error"),
    ("(x := True)", "not allowed"),
])
def test_refuses(source, fragment):
    with pytest.raises(ExprError) as info:
        compile_expr(source, SCHEMA)
    assert fragment in info.value.message


def test_error_points_at_column():
    with pytest.raises(ExprError) as info:
        compile_expr("call.blocking and call.nope", SCHEMA)
    assert info.value.column == 24  # 1-based column of `nope`


def test_runtime_type_mismatch_is_false_not_a_crash():
    fn = compile_expr("call.loop_depth > 1", {"call": {"loop_depth": "any"}})
    assert fn({"call": SimpleNamespace(loop_depth=None)}) is False


def test_never_uses_eval(monkeypatch):
    import builtins

    def boom(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    assert compile_expr("call.blocking and function.is_async", SCHEMA)(env()) is True
