"""cli._plain_coercion converts parameter values without typer's pydantic adapters: for
every parameter of every command it handles, and values of every shape, it must give what
typer's own conversion gives (the same value of the same type, or the same error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from optadvisor import cli

typer_coercion = pytest.importorskip("typer._coercion")

SAMPLES = [None, "5", "0", "1", "-3", "100", "1000", "1001", "0.05", "0.1", "2.5", " 5",
           "5_0", "1e3", "abc", "", "src/app.py", "a b", "OPT101,OPT2", 7, 0, 2.5, True,
           Path("x.py"), ("a", "b"), ["3"], ("",), ()]


def plain_params() -> list[tuple[str, object, object]]:
    root = cli.command()
    found = []
    todo = [("", root)]
    while todo:
        prefix, command = todo.pop()
        for name, sub in getattr(command, "commands", {}).items():
            todo.append((f"{prefix} {name}".strip(), sub))
        for param in command.params:
            if isinstance(getattr(param, "_runtime_param", None), cli._PlainCoercion):
                found.append((f"{prefix or 'optadvisor'} {param.name}", command, param))
    return found


def outcome(convert, value, param, ctx):  # type: ignore[no-untyped-def]
    try:
        got = convert(value, param=param, ctx=ctx)
    except Exception as exc:  # noqa: BLE001 - the error is what is compared
        return ("error", type(exc).__name__, str(exc))
    return ("value", type(got).__name__, [type(v).__name__ for v in got]
            if isinstance(got, (list, tuple)) else None, got)


def test_most_parameters_skip_pydantic():
    names = {name for name, _, _ in plain_params()}
    assert {"scan paths", "scan format", "scan jobs", "scan select", "scan cache_dir",
            "profile rate", "profile timeout"} <= names


@pytest.mark.parametrize("name,command,param", plain_params(),
                         ids=[name for name, _, _ in plain_params()])
def test_the_same_as_typer(name, command, param):
    ctx = cli.click.Context(command)
    ours = param._runtime_param
    theirs = typer_coercion.build_runtime_param(param.type_descriptor)
    for value in SAMPLES:
        assert outcome(ours.coerce, value, param, ctx) == \
            outcome(theirs.coerce, value, param, ctx), (name, value)


def test_a_warm_command_line_never_imports_pydantic(tmp_path):
    (tmp_path / "app.py").write_text("def f():\n    return 1\n")
    code = ("import sys\nfrom optadvisor.cli import main\n"
            f"sys.argv = ['optadvisor', 'scan', {str(tmp_path)!r}, '--format', 'json', "
            f"'-q', '--jobs', '1', '--select', 'OPT101', '--fail-on', 'never', "
            f"'--cache-dir', {str(tmp_path / 'cache')!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print(code, 'pydantic' in sys.modules, 'libcst' in sys.modules, file=sys.stderr)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    warm = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    assert warm.stderr.split() == ["0", "False", "False"]
