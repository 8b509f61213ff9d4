"""The same expensive, deterministic call made twice in one function with the same
arguments (redundant-call): the second one can reuse the first one's result.

Only what is sure to give the same answer: a loader of the catalog (a file read, a parse of
a string, a model load) whose text is identical, in the same block (the first always runs
before the second), with nothing between them that rebinds or changes what it reads,
writes anything, or changes a parsed result (a second parse is then a fresh copy on
purpose). Stream readers (`json.load(f)`) count only on a fresh `open(...)`: the same file
object read twice gives the rest of the stream, not the same data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import libcst as cst

from optadvisor.analyze.catalog import name_words
from optadvisor.analyze.names import chain_of, names_read
from optadvisor.analyze.walk import walk

STREAM_READERS = frozenset({"load", "safe_load", "full_load", "unsafe_load"})
"""Loader tails that take a file object: read twice, it gives the rest of the stream."""
NOT_REPEATABLE = frozenset({"compile", "Template", "Environment", "from_string",
                            "get_template", "read", "DictReader", "Draft7Validator",
                            "validator_for"})
"""Loader tails that are cheap again (re and jinja2 cache), or read into a stateful object."""
IMMUTABLE = frozenset({"read_text", "read_bytes"})
"""Tails whose result (str, bytes) cannot be changed in place: reusing it is always the
same. A parse or a model can be: see `mutated`."""
_WRITES = frozenset({"write", "dump", "dumps", "save", "replace", "rename", "remove",
                     "unlink", "rmtree", "move", "copy", "put", "upload", "touch", "mkdir",
                     "truncate", "delete", "set", "update", "append", "extend", "insert",
                     "pop", "clear", "add", "setdefault", "sort", "reverse", "chdir"})


@dataclass
class Seen:
    block: int
    """id() of the statement list holding the call's statement."""
    position: int
    """Index of that statement in the list."""
    call: int
    """Pre-order index of the call."""
    target: str
    """`name = <call>`: the plain name holding its result, else ``."""


@dataclass
class Repeats:
    """Per function and call text: where the loader call was seen."""

    seen: dict[tuple[int, str], list[Seen]] = field(default_factory=dict)
    found: dict[int, Seen] = field(default_factory=dict)
    """Call index of a repeat -> the earlier identical call."""


def repeat_key(node: cst.Call, chain: Sequence[str], tails: frozenset[str]) -> str | None:
    """The call's text when it is a loader that gives the same answer twice, else None."""
    last = chain[-1].rstrip("()")
    if last not in tails or last in NOT_REPEATABLE:
        return None
    if last in STREAM_READERS:
        first = node.args[0].value if node.args else None
        if not isinstance(first, cst.Call) or chain_of(first.func) not in (("open",),):
            return None
    return cst.Module([]).code_for_node(node)


_PURE = frozenset({"print", "len", "str", "int", "float", "bool", "repr", "format", "strip",
                   "lstrip", "rstrip", "split", "splitlines", "join", "encode", "decode",
                   "lower", "upper", "startswith", "endswith", "loads", "isinstance",
                   "debug", "info", "warning", "error", "exception", "sorted", "min", "max",
                   "hexdigest", "sha256", "md5", "get", "items", "keys", "values"})
"""Calls that cannot write a file: what may stand between two reads of one."""


def reads_a_file(node: cst.Call, chain: Sequence[str]) -> bool:
    """The call reads a file (not a string or a model): anything between two such calls
    that may write (a call of the project, an await letting other tasks run) could change
    what the second one reads."""
    last = chain[-1].rstrip("()")
    return last in IMMUTABLE or last in STREAM_READERS or last.startswith("read_")


def quiet_between(body: Sequence[cst.BaseStatement], reads: set[str],
                  results: set[str], file: bool = False) -> bool:
    """Nothing in `body` rebinds or changes a name the call reads, writes anything, or
    touches a result of the calls in place; for a file read (`file`), nothing calls out of
    a short list of pure calls or awaits."""
    watcher = _Watcher(reads, results, file)
    for statement in body:
        walk(statement, watcher)
        if watcher.changed:
            return False
    return True


def mutated(function: cst.CSTNode, names: set[str]) -> bool:
    """A parsed result changed in place anywhere in the function (`cfg["x"] = 1`,
    `data.append(...)`): the second parse is a fresh copy on purpose."""
    watcher = _Watcher(set(), names)
    walk(function, watcher)
    return watcher.changed


class _Watcher:
    def __init__(self, reads: set[str], results: set[str], file: bool = False) -> None:
        self.reads = reads
        self.results = results
        self.file = file
        self.changed = False

    def visit_Await(self, node: cst.Await) -> None:
        if self.file:
            self.changed = True

    def _stores(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            if target.value in self.reads:
                self.changed = True
        elif isinstance(target, (cst.Attribute, cst.Subscript)):
            # `cfg["x"] = 1`, `self.path = p`: the object is changed in place.
            if names_read(target) & (self.reads | self.results):
                self.changed = True
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._stores(element.value)
        elif isinstance(target, cst.StarredElement):
            self._stores(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._stores(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._stores(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._stores(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._stores(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._stores(node.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._stores(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._stores(node.target)

    def visit_Call(self, node: cst.Call) -> None:
        chain = chain_of(node.func)
        if not chain:
            self.changed = self.changed or self.file  # `handlers[kind](x)`: anything
            return
        last = chain[-1].rstrip("()")
        if any(word in _WRITES for word in name_words(last)) or (
                self.file and last not in _PURE):
            self.changed = True
        elif len(chain) >= 2 and chain[0] in self.results:
            self.changed = True  # a method of a parsed result: it may change it
