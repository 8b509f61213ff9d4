"""The read-only walk must meet every node libcst's own traversal meets, in the same order
(positions.py matches calls, defs and loops to CPython's positions by that order)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest

from conftest import FIXTURES
from optadvisor.analyze import run_with_deep_stack
from optadvisor.analyze.walk import walk


KINDS = (cst.Call, cst.FunctionDef, cst.For, cst.While, cst.Await, cst.Lambda, cst.ClassDef,
         cst.Assign, cst.Return, cst.With, cst.Import, cst.ImportFrom)
"""Every node kind the facts use."""


class _LibcstOrder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, KINDS):
            self.seen.append(id(node))
        return True


class _WalkOrder:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def __getattr__(self, name: str):
        if name.startswith("visit_"):
            return self._record
        raise AttributeError(name)

    def _record(self, node: cst.CSTNode) -> None:
        if isinstance(node, KINDS):
            self.seen.append(id(node))


def _corpus() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    picked = sorted(stdlib.glob("*.py"))[::16] + sorted((stdlib / "asyncio").glob("*.py"))[::6]
    return [*picked, *sorted(FIXTURES.rglob("*.py"))]


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_walk_matches_libcst_order(path):
    module = cst.parse_module(path.read_bytes())
    ours, theirs = _WalkOrder(), _LibcstOrder()

    def both() -> None:
        walk(module, ours)
        module.visit(theirs)

    run_with_deep_stack(both)
    assert theirs.seen, "the corpus file should hold nodes of interest"
    assert ours.seen == theirs.seen


def test_visit_returning_false_skips_children():
    module = cst.parse_module("import os\nf(g(x))\n")

    class Skip:
        calls: list[str] = []

        def visit_Call(self, node: cst.Call) -> bool:
            self.calls.append(cst.Module([]).code_for_node(node.func))
            return False

    visitor = Skip()
    walk(module, visitor)
    assert visitor.calls == ["f"]
