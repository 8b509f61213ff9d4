"""Turning libcst expressions into dotted names, and dotted names into resolved ones.

Resolution is deliberately cheap and flow-insensitive (no QualifiedNameProvider, which
costs ~5x a parse): imports bind aliases, and a variable gets a "type" when it is assigned
from a call (`s = requests.Session()` -> `requests.Session`), bound by `with ... as`,
annotated (`client: OpenAI`), or stored on `self` anywhere in its class. The type of a
call's result is the callee's resolved name, so `boto3.client("s3").get_object` resolves to
`boto3.client.get_object` and the catalog can say `boto3.client.*`.
"""

from __future__ import annotations

import libcst as cst

Chain = tuple[str, ...]

UNKNOWN = "?"
"""Head of a name rooted in a local variable whose type is unknown; matches only `*.x`."""


def chain_of(node: cst.BaseExpression) -> Chain | None:
    """`a.b.c` -> ("a", "b", "c"). A call inside the chain marks the part it calls with
    "()": `requests.Session().get` -> ("requests", "Session()", "get"), and a Call node
    itself ends with its mark: `s.get(u)` -> ("s", "get()"). None if not a plain chain."""
    parts: list[str] = []
    called = False
    while True:
        if isinstance(node, cst.Call):
            called = True
            node = node.func
            continue
        if isinstance(node, cst.Name):
            parts.append(node.value + "()" if called else node.value)
            parts.reverse()
            return tuple(parts)
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value + "()" if called else node.attr.value)
            called = False
            node = node.value
        else:
            return None


def dotted(node: cst.BaseExpression) -> str | None:
    """Dotted text of a Name/Attribute chain (no calls), e.g. for `import a.b as c`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def annotation_chain(node: cst.BaseExpression) -> Chain | None:
    """The class an annotation names: `OpenAI`, `Optional[OpenAI]`, `OpenAI | None`."""
    if isinstance(node, (cst.Name, cst.Attribute)):
        found = chain_of(node)
        return None if found == ("None",) else found
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return annotation_chain(node.left) or annotation_chain(node.right)
    if isinstance(node, cst.Subscript):
        outer = chain_of(node.value) if isinstance(node.value, (cst.Name, cst.Attribute)) \
            else None
        if outer and outer[-1] in ("Optional", "Annotated") and node.slice:
            first = node.slice[0].slice
            if isinstance(first, cst.Index):
                return annotation_chain(first.value)
    return None
