"""What a fix shape is given, and the one way it answers: a change (edits with an
applicability) or words (manual)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import libcst as cst

from optadvisor.analyze.catalog import Catalog
from optadvisor.fix.source import FixSource, Span
from optadvisor.models import Edit, Fix


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
    extra: dict[str, Any] = field(default_factory=dict)

    def manual(self, why: str = "") -> Fix:
        text = " ".join(p for p in (self.manual_text, why) if p)
        return Fix("manual", (), text)

    def change(self, applicability: str, primary: Edit, *others: Edit | None,
               message: str = "") -> Fix:
        edits = [primary, *(e for e in others if e is not None)]
        return Fix(applicability, tuple(edits), message)

    def replace_node(self, span: Span, code: str) -> Edit:
        return Edit(span[0], span[1], span[2], span[3], code)

    def replace_lines(self, first: int, last: int, code: str) -> Edit:
        """Whole lines `first`..`last` become `code` (which ends without a newline)."""
        end = len(self.source.line(last)) + 1
        return Edit(first, 1, last, end, code)


_EMPTY = cst.Module([])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def parse_expr(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def reindent(code: str, indent: str, newline: str = "\n") -> str:
    """Code written at column 0, moved to `indent` (blank lines stay empty)."""
    lines = code.split("\n")
    return newline.join(indent + ln if ln.strip() else "" for ln in lines)


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
