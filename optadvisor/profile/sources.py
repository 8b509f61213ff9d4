"""What the sampled frames point at: function spans from the source (so a frame's line maps
to its `def` line and qualified name, the way scan facts name functions), source lines for
reports, and which files are the user's code rather than the standard library or
installed packages."""

from __future__ import annotations

import ast
import linecache
import os
from dataclasses import dataclass
from pathlib import Path, PurePath


@dataclass(frozen=True)
class FunctionSpan:
    qualname: str
    line: int
    """The `def` line (what ast and libcst report)."""
    first_line: int
    """The first decorator's line (what the code object's co_firstlineno is)."""
    end_line: int


def function_spans(source: str) -> list[FunctionSpan]:
    """Every function and class body in the source, with CPython-style qualified names."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    spans: list[FunctionSpan] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = prefix + child.name
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                if not isinstance(child, ast.ClassDef):
                    spans.append(FunctionSpan(qualname, child.lineno, first,
                                              child.end_lineno or child.lineno))
                    visit(child, qualname + ".<locals>.")
                else:
                    visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


class SourceIndex:
    """Spans and lines per file, read once; unreadable files simply have none."""

    def __init__(self, stdlib: str = "", excluded: tuple[str, ...] = ()) -> None:
        self._spans: dict[str, list[FunctionSpan]] = {}
        self._stdlib = os.path.normcase(stdlib.rstrip("/\\")) if stdlib else ""
        self._excluded = tuple(os.path.normcase(e) for e in excluded)

    def use_stdlib(self, stdlib: str) -> None:
        """The target interpreter's stdlib (known once it has run): frames there are not
        user code."""
        if stdlib:
            self._stdlib = os.path.normcase(stdlib.rstrip("/\\"))

    def spans(self, file: str) -> list[FunctionSpan]:
        found = self._spans.get(file)
        if found is None:
            found = function_spans(self._read(file)) if self.readable(file) else []
            self._spans[file] = found
        return found

    def enclosing(self, file: str, line: int, name: str) -> FunctionSpan | None:
        """The function a frame (name, current line) belongs to: the innermost span holding
        the line, preferring one whose name matches the frame's."""
        holding = [s for s in self.spans(file) if s.first_line <= line <= s.end_line]
        if not holding:
            return None
        holding.sort(key=lambda s: s.end_line - s.first_line)
        short = name.rsplit(".", 1)[-1]
        for span in holding:
            if span.qualname == name:
                return span
        for span in holding:
            if span.qualname.rsplit(".", 1)[-1] == short:
                return span
        return holding[0]

    def at_first_line(self, file: str, first_line: int, name: str) -> FunctionSpan | None:
        """The function whose code object starts at first_line (cProfile's key)."""
        for span in self.spans(file):
            if span.first_line == first_line and span.qualname.rsplit(".", 1)[-1] == name:
                return span
        for span in self.spans(file):
            if span.line == first_line and span.qualname.rsplit(".", 1)[-1] == name:
                return span
        return None

    def line(self, file: str, line: int) -> str:
        if not self.readable(file):
            return ""
        return linecache.getline(file, line).strip()

    @staticmethod
    def readable(file: str) -> bool:
        return bool(file) and not file.startswith("<") and os.path.isfile(file)

    def _read(self, file: str) -> str:
        return "".join(linecache.getlines(file))

    def is_user(self, file: str) -> bool:
        """User code: a real file outside the stdlib, site-packages and optadvisor itself."""
        if not file or file.startswith("<") or not os.path.isabs(file):
            return False  # `~` (cProfile's built-ins), <frozen …>, <string>
        norm = os.path.normcase(file)
        parts = PurePath(norm).parts
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        if self._stdlib and (norm == self._stdlib or norm.startswith(self._stdlib + os.sep)):
            return False
        return not any(norm.startswith(e) for e in self._excluded)


def relative(file: str, root: str) -> str:
    """POSIX path relative to root when inside it, else the file as given."""
    if not file or file.startswith("<"):
        return file
    try:
        return Path(file).resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return Path(file).as_posix()
