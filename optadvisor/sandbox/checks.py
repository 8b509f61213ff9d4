"""What a rule template may not contain, checked when its rule loads (the author hears
it with the file and line, instead of a failing render later)."""

from __future__ import annotations

from typing import Any

from jinja2 import nodes


class TemplateRefused(Exception):
    """A template refused when its rule loads; `lineno` is the line inside the template."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.lineno = lineno


# Filters that take attribute names (`attr`, `map(attribute=...)`, `selectattr`, `sort`...):
# the sandbox refuses `_` names when rendering, but a rule author should hear it at load.
_ATTRIBUTE_FILTERS = frozenset(("attr", "map", "selectattr", "rejectattr", "sort", "groupby",
                                "sum", "unique", "min", "max", "dictsort"))
_REFUSED_NODES = {nodes.Include: "{% include %}", nodes.Import: "{% import %}",
                  nodes.FromImport: "{% from ... import %}", nodes.Extends: "{% extends %}"}


def check_brackets(source: str, limit: int) -> None:
    """jinja's parser recurses once per bracket: refuse absurd nesting before it runs."""
    depth = 0
    line = 1
    for char in source:
        if char in "([{":
            depth += 1
            if depth > limit:
                raise TemplateRefused(f"nests brackets more than {limit} deep", line)
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == "\n":
            line += 1


def check_nodes(parsed: nodes.Template, limit: int) -> None:
    """Depth (codegen and Python's compiler recurse per level), includes and imports (no
    loader: they can never work), `_` names; walked without recursion."""
    stack: list[tuple[nodes.Node, int]] = [(parsed, 0)]
    while stack:
        node, depth = stack.pop()
        line = getattr(node, "lineno", 1) or 1
        if depth > limit:
            raise TemplateRefused(f"nests more than {limit} levels deep", line)
        refused = _REFUSED_NODES.get(type(node))
        if refused:
            raise TemplateRefused(f"uses {refused}: rule templates cannot load other "
                                  "templates", line)
        name = _private_name(node)
        if name is not None:
            raise TemplateRefused(f"reaches for `{name}`: names starting with _ are not "
                                  "allowed in templates", line)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def _private_name(node: nodes.Node) -> str | None:
    """`x.__class__`, `x['_y']`, `x|attr('__class__')`, `items|map(attribute='_y')`: an
    attribute or key named by a constant starting with _ (dotted paths checked per part)."""
    if isinstance(node, nodes.Getattr):
        names: list[Any] = [node.attr]
    elif isinstance(node, nodes.Getitem):
        names = [getattr(node.arg, "value", "")]
    elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
        names = [getattr(arg, "value", "") for arg in node.args]
        names += [getattr(kw.value, "value", "") for kw in node.kwargs]
    else:
        return None
    for name in names:
        if isinstance(name, str) and any(part.startswith("_") for part in name.split(".")):
            return name
    return None
