"""What a fix shape is given, and the one way it answers: a change (edits with an
applicability) or words (manual). A shape that finds no right change raises NotHere;
build_fix turns that into the manual fix."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import libcst as cst

from optadvisor.analyze.catalog import Catalog
from optadvisor.fix.source import FixSource, Span, multiline_string
from optadvisor.models import Edit, Fix


class NotHere(Exception):
    """No mechanical change is right at this site; the message says why, in words. With
    `instead`, the message replaces the rule's own advice, which would be wrong here (a
    thread around a generator call, or around a request whose stream is read on the loop)."""

    def __init__(self, why: str = "", instead: bool = False) -> None:
        super().__init__(why)
        self.instead = instead


@dataclass(frozen=True)
class Refinement:
    """What another rule matching the same site does to the call (add the missing timeout),
    for the leading rule's shape to apply to the call it rewrites; `edits` are what that
    needs elsewhere in the file (an import)."""

    apply: Callable[[cst.Call], cst.Call]
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class GroupBlock:
    span: list[ast.stmt]
    """The original statements, first of the group to last."""
    module: cst.Module
    indent: str
    between: list[cst.BaseStatement]
    """Statements between the group's own, in order (they run first after the fix)."""
    items: list[cst.SimpleStatementLine]
    """The group's own statements, in order."""


@dataclass
class FixContext:
    source: FixSource
    span: Span
    """Where the finding points (the call, the loop header, the first await)."""
    env: Mapping[str, Any]
    """The views the rule saw: `call`, `function`, `loop`, `group`."""
    params: Mapping[str, str]
    catalog: Catalog
    manual_text: str = ""
    """The rule's advice in words (its rendered `fix.manual`), used when no change is right."""
    refinements: Sequence[Refinement] = ()
    """Changes the other rules matching this site make to the call (one site, one fix):
    a shape that rewrites the call passes it through `refine` first."""
    python: tuple[int, int] | None = None
    """The oldest Python the file's project supports (pyversion.py); None: it does not say.
    The change uses nothing newer."""
    _used: list[Refinement] = field(default_factory=list, init=False, repr=False)

    def cache_decorator(self) -> cst.Decorator:
        """`@functools.cache`, or `@functools.lru_cache(maxsize=None)` (the same unbounded
        memo, since 3.2) for a project that still supports Python 3.8."""
        if self.python is not None and self.python < (3, 9):
            return cst.Decorator(cst.parse_expression("functools.lru_cache(maxsize=None)"))
        return cst.Decorator(cst.Attribute(cst.Name("functools"), cst.Name("cache")))

    def manual(self, why: str = "", instead: bool = False) -> Fix:
        text = why if instead and why else " ".join(p for p in (self.manual_text, why) if p)
        return Fix("manual", (), text)

    def change(self, applicability: str, primary: Edit, *others: Edit | None,
               message: str = "") -> Fix:
        edits = [primary, *(e for e in others if e is not None)]
        edits += [e for r in self._used for e in r.edits if e is not None]
        return Fix(applicability, tuple(edits), message)

    def refine(self, call: cst.Call) -> cst.Call:
        """The call as the other rules of this site would have it. One that cannot apply
        here (a timeout next to `**kwargs`) is left out; the lead's change still stands."""
        for refinement in self.refinements:
            try:
                call = refinement.apply(call)
            except NotHere:
                continue
            self._used.append(refinement)
        return call

    def replace_node(self, span: Span, code: str) -> Edit:
        return Edit(span[0], span[1], span[2], span[3], code)

    def block(self, stmts: Sequence[ast.stmt]) -> tuple[cst.Module, str]:
        """The statements' whole lines as a libcst module at column 0 (comments kept), and
        the indentation they had."""
        first, last = stmts[0], stmts[-1]
        if not self.source.owns_lines(first, last):
            raise NotHere("")
        if multiline_string(list(stmts)):
            raise NotHere("The code holds a multi-line string, whose text would change when "
                          "re-indented: change it by hand.")
        try:
            text, indent = dedent_block(self.source, first.lineno, last.end_lineno or last.lineno)
            return cst.parse_module(text + "\n"), indent
        except (ValueError, cst.ParserSyntaxError):
            raise NotHere("") from None

    def group_calls(self) -> list[ast.Call | None]:
        """The calls of the group the rule saw (await-group, call-group), in order."""
        group = self.env.get("group")
        if group is None:
            raise NotHere("")
        return [self.source.find(tuple(span), ast.Call)  # type: ignore[misc]
                for span in group.fact.calls]

    def group_block(self, statements: Sequence[ast.stmt]) -> GroupBlock:
        """The lines from the first to the last of a group's statements (which must share
        one statement list), split into the group's own statements and those between."""
        located = self.source.body_of(statements[0])
        if located is None or any(s not in located[0] for s in statements):
            raise NotHere("")
        body, start = located
        span = body[start:body.index(statements[-1]) + 1]
        module, indent = self.block(span)
        if len(module.body) != len(span):
            raise NotHere("")
        between = [node for stmt, node in zip(span, module.body) if stmt not in statements]
        items = [node for stmt, node in zip(span, module.body) if stmt in statements]
        return GroupBlock(span, module, indent, between, items)  # type: ignore[arg-type]

    def replace_block(self, stmts: Sequence[ast.stmt], new: Sequence[cst.BaseStatement],
                      footer: Sequence[cst.EmptyLine], indent: str) -> Edit:
        """The statements' whole lines become `new`, written at their indentation."""
        first, last = stmts[0].lineno, stmts[-1].end_lineno or stmts[-1].lineno
        code = code_of(cst.Module(body=list(new), footer=list(footer))).rstrip("\n")
        lines = code.split("\n")
        text = self.source.newline.join(indent + ln if ln.strip() else "" for ln in lines)
        return Edit(first, 1, last, len(self.source.line(last)) + 1, text)


_EMPTY = cst.Module([])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def dedent_block(source: FixSource, first: int, last: int) -> tuple[str, str]:
    """Lines first..last as text at column 0, and the indentation they had. Raises
    ValueError when a line is less indented than the first (a continuation line of a
    string, say): such blocks are not moved."""
    indent = source.indent(first)
    out = []
    for number in range(first, last + 1):
        text = source.line(number)
        if not text.strip():
            out.append("")
        elif text.startswith(indent):
            out.append(text[len(indent):])
        else:
            raise ValueError("line less indented than its block")
    return "\n".join(out), indent
