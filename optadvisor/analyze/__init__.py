"""Per-file analysis: bytes in, FileFacts or an ErrorRecord out, never an exception.

One `libcst.parse_module` and one visit per file. CPython's own parser runs first for two
cheap reasons: it refuses what CPython itself cannot run (nesting past its limits) before
libcst spends seconds on it, and it supplies the positions (see positions.py).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import threading
import tokenize
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from optadvisor.analyze.catalog import Catalog
from optadvisor.analyze.comments import suppressions
from optadvisor.models import ErrorRecord, FileFacts

if TYPE_CHECKING:
    from optadvisor.analyze.positions import AstIndex

ANALYZER_VERSION = "198"
"""Part of every cache key: bump it whenever facts change shape or meaning."""

# CPython refuses more than 200 nested brackets; libcst accepts them but its time grows
# steeply (1,000 nested `[` took 5 s here), so such files are refused up front.
MAX_BRACKET_DEPTH = 200
# CPython parses a 5,000-term `1 + 1 + …` in milliseconds; libcst took 8-14 s and a
# 5,000-deep `- - - 1` 1.4 GB. No hand-written code nests this deep: refuse it up front.
MAX_TREE_DEPTH = 1000
# Deep but legal trees (a 5,000-term `a + b + ...`) need deep recursion in the visitor;
# analysis runs in a thread with a big stack so that this is a slow file, not a crash.
_RECURSION_LIMIT = 60_000
_STACK_BYTES = 512 * 1024 * 1024

T = TypeVar("T")


def run_with_deep_stack(fn: Callable[[], T]) -> T:
    """Run fn in a thread whose stack can take the recursion deep files need."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(exc)

    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)
    # The size applies to threads *started* after it is set, so it is restored only once
    # the thread runs (restoring it before start() gave the thread the default stack, and
    # a 150,000-term expression then overflowed it: a segfault of the whole scan).
    old = threading.stack_size(_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="optadvisor-analyze", daemon=True)
        thread.start()
    finally:
        threading.stack_size(old)
    thread.join()
    if error:
        raise error[0]
    return result[0]


def parse_quietly(text: str, mode: str = "parse") -> ast.Module:
    """ast.parse (or compile, mode "compile") of the user's code without the warnings
    CPython prints for it (an invalid escape in a string, `is` with a literal): the code is
    not ours to lint, and a worker's stderr is the user's terminal (a fuzz run printed 2,220
    of them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "compile":
            return compile(text, "<file>", "exec", dont_inherit=True)  # type: ignore[return-value]
        return ast.parse(text)


_BYTE_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_BYTE_NEWLINE = re.compile(rb"\r\n|\r|\n")


def decode(data: bytes) -> str:
    """Source bytes to text the way CPython reads them (BOM, PEP 263 cookie, utf-8)."""
    # The cookie is looked for in the first two lines, and a lone CR ends a line for
    # CPython: BytesIO.readline would hand over a CR-only file as one line, whose
    # non-UTF-8 bytes further down then read as a bad declaration (and a "coding:"
    # anywhere in it as one).
    lines = _BYTE_LINE.finditer(data)

    def readline() -> bytes:
        line = next(lines, None)
        return line.group() if line else b""

    encoding, _ = tokenize.detect_encoding(readline)
    if encoding == "utf-8-sig" or data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig")
    return data.decode(encoding)


def _line_at(data: bytes, offset: int) -> int:
    """1-based line of a byte offset, counting line endings as CPython does."""
    return len(_BYTE_NEWLINE.findall(data, 0, offset)) + 1


def analyze_bytes(rel: str, data: bytes, catalog: Catalog, max_bytes: int) -> FileFacts | ErrorRecord:
    try:
        return _analyze(rel, data, catalog, max_bytes)
    except RecursionError:
        return ErrorRecord(rel, "too-deep", "expressions nest too deeply to analyze")
    except MemoryError:
        return ErrorRecord(rel, "out-of-memory", "ran out of memory analyzing this file")
    except Exception as exc:  # noqa: BLE001 - any analyzer bug becomes a record, not a crash
        return ErrorRecord(rel, "internal-error",
                           f"optadvisor failed on this file ({type(exc).__name__}: {exc}); "
                           "please report it")


def _analyze(rel: str, data: bytes, catalog: Catalog, max_bytes: int) -> FileFacts | ErrorRecord:
    if max_bytes and len(data) > max_bytes:
        return ErrorRecord(rel, "too-large",
                           f"{len(data):,} bytes is over the {max_bytes:,}-byte limit "
                           "(raise max-file-bytes in [tool.optadvisor] to scan it)")
    if b"\0" in data:
        line = _line_at(data, data.index(b"\0"))
        return ErrorRecord(rel, "parse-error", f"file contains a NUL byte (line {line}); "
                           "it is not Python source", line)
    try:
        text = decode(data)
    except SyntaxError as exc:
        # detect_encoding says "invalid or missing encoding declaration" both for a bad
        # cookie and for a first line that is simply not UTF-8: tell the two apart.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = _line_at(data, bad.start)
            return ErrorRecord(rel, "decode-error", f"cannot decode line {line}: {bad}", line)
        return ErrorRecord(rel, "decode-error", f"bad encoding declaration: {exc.msg}",
                           exc.lineno)
    except (UnicodeDecodeError, LookupError) as exc:
        line = _line_at(data, getattr(exc, "start", 0))
        return ErrorRecord(rel, "decode-error",
                           f"cannot decode line {line}: {exc}", line)

    from optadvisor.analyze.positions import index_ast

    cpython_error: SyntaxError | None = None
    index: AstIndex | None = None
    try:
        tree: ast.Module | None = parse_quietly(text)
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg):
            return ErrorRecord(rel, "too-deep", f"line {exc.lineno}: {exc.msg}", exc.lineno)
        tree, cpython_error = None, exc
    except RecursionError:
        return ErrorRecord(rel, "too-deep", "expressions nest too deeply for CPython's parser")
    except MemoryError:
        # CPython 3.11 reports its parser's stack overflow (7,000 nested `-`) as a bare
        # MemoryError, the same as a failed allocation under the worker's memory ceiling
        # (20,000 plain lines under 64 MiB): only the nesting tells them apart.
        brackets, chain = _token_depth(text)
        if brackets <= MAX_BRACKET_DEPTH and chain <= MAX_TREE_DEPTH:
            raise
        return ErrorRecord(rel, "too-deep", "expressions nest too deeply for CPython's parser")
    if tree is None:
        # CPython refused the file, so its tree cannot measure the nesting; libcst still
        # gets it (newer syntax than this interpreter's), but not before the same guard:
        # a syntax error used to let 4,000 chained attributes through (66 s in libcst).
        brackets, chain = _token_depth(text)
        if brackets > MAX_BRACKET_DEPTH:
            return ErrorRecord(rel, "too-deep",
                               f"brackets nest {brackets:,} levels deep, past the "
                               f"{MAX_BRACKET_DEPTH} CPython and optadvisor accept")
        if chain > MAX_TREE_DEPTH:
            return ErrorRecord(rel, "too-deep", f"an expression chains {chain:,} operators, "
                               f"past optadvisor's own limit of {MAX_TREE_DEPTH:,} levels")
    if tree is not None:
        index = index_ast(tree)
        del tree
        if index.depth > MAX_TREE_DEPTH:
            # CPython read it: the limit is ours (libcst's time), and the message says so.
            return ErrorRecord(rel, "too-deep",
                               f"expressions nest {index.depth:,} levels deep, past "
                               f"optadvisor's own limit of {MAX_TREE_DEPTH:,} (CPython reads "
                               "this file; libcst's time grows steeply with depth)")
    return _analyze_cst(rel, text, index, cpython_error, catalog)


def _analyze_cst(rel: str, text: str, index: "AstIndex | None",
                 cpython_error: SyntaxError | None, catalog: Catalog) -> FileFacts | ErrorRecord:
    import libcst as cst  # imported late: warm scans never need it

    from optadvisor.analyze.facts import build_facts
    from optadvisor.analyze.positions import from_ast, from_libcst
    from optadvisor.analyze.visitor import FactCollector
    from optadvisor.analyze.walk import walk

    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        if cpython_error is not None:
            # Both parsers refuse it: CPython's wording is the one users know.
            line = cpython_error.lineno or exc.raw_line
            hint = _python2_hint(text)
            return ErrorRecord(rel, "parse-error",
                               f"syntax error at line {line}: {cpython_error.msg}{hint}", line)
        # CPython read it, so this is libcst's gap, not the user's error: rewrite what
        # libcst reads differently (same lines and columns), else say exactly that.
        from optadvisor.analyze.normalize import for_libcst

        tree = parse_quietly(text)
        readable = for_libcst(text, tree)
        if readable is None:
            return _unreadable(rel, text, tree, exc)
        try:
            module = cst.parse_module(readable)
        except cst.ParserSyntaxError as again:
            return _unreadable(rel, readable, tree, again)
        del tree
        text = readable
    else:
        if index is not None and _misreadable(text):
            checked = _read_backslash_lines(rel, text, module)
            if isinstance(checked, ErrorRecord):
                return checked
            text, module = checked
    collector = FactCollector(catalog)
    walk(module, collector)
    positions = None
    if index is not None:
        positions = from_ast(index, text, len(collector.call_nodes), len(collector.func_nodes),
                             len(collector.loop_nodes), len(collector.assign_nodes))
    if positions is None:
        positions = from_libcst(module, collector.call_nodes, collector.func_nodes,
                                collector.loop_nodes, collector.assign_nodes)
    facts = build_facts(rel, text, collector, positions, catalog)
    return replace(facts, suppressions=suppressions(text))


def _misreadable(text: str) -> bool:
    from optadvisor.analyze.normalize import has_backslash_line

    return has_backslash_line(text)


def _read_backslash_lines(rel: str, text: str, module: Any) -> tuple[str, Any] | ErrorRecord:
    """libcst accepted a file holding a lone backslash line, and may have put the statement
    after it in the wrong block: take the rewrite CPython agrees with, and refuse the file if
    libcst's blocks still differ from CPython's (normalize.misread_line)."""
    import libcst as cst

    from optadvisor.analyze.normalize import for_libcst, misread_line

    tree = parse_quietly(text)
    readable = for_libcst(text, tree)
    if readable is not None:
        try:
            text, module = readable, cst.parse_module(readable)
        except cst.ParserSyntaxError:
            pass  # the file as it is, checked below
    line = misread_line(module, tree)
    if line is None:
        return text, module
    return ErrorRecord(rel, "parse-error", (
        f"valid Python that the parser cannot read: line {line} (libcst puts this statement "
        "in another block than CPython, after a line holding only a backslash)"), line)


def _unreadable(rel: str, text: str, tree: ast.Module, exc: Exception) -> ErrorRecord:
    """A file CPython reads and libcst refuses even after normalize.for_libcst."""
    from optadvisor.analyze.normalize import known_gap, refused_line

    message = str(getattr(exc, "message", exc)).splitlines()[0]
    line = refused_line(text, message, getattr(exc, "raw_line", 1))
    reason = known_gap(tree, text, line)
    if reason is None:
        reason = "libcst: " + _LIBCST_WHERE.sub("", message)
        if len(reason) > 100:  # "expected one of" lists 30 tokens
            reason = reason[:97] + "..."
    return ErrorRecord(rel, "parse-error",
                       f"valid Python that the parser cannot read: line {line} ({reason})", line)


_LIBCST_WHERE = re.compile(r"^(?:parser|tokenizer) error: (?:error at \d+:\d+: )?")

_PY2 = re.compile(r"^\s*(print\s+[^\s(=]|exec\s+[\"']|except\s+\w+\s*,\s*\w+\s*:)", re.M)


def _python2_hint(text: str) -> str:
    return " (this looks like Python 2 code)" if _PY2.search(text) else ""


_SEPARATORS = frozenset({",", ":", ";", "=", "->", ":="})


def _token_depth(text: str) -> tuple[int, int]:
    """How deep a file CPython refused would nest, from its tokens: the deepest bracket, and
    the longest run of operators and dots within one bracket level between separators (each
    chained `.b` or `+ b` is one level more for a parser that builds a tree)."""
    depth = deepest = 0
    runs = [0]
    longest = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL) and depth == 0:
                runs = [0]
            elif tok.type != tokenize.OP:
                continue
            elif tok.string in "([{":
                depth += 1
                deepest = max(deepest, depth)
                runs.append(0)
            elif tok.string in ")]}":
                depth = max(0, depth - 1)
                if len(runs) > 1:
                    inner = runs.pop()
                    runs[-1] += 1 + (inner > 0)
            elif tok.string in _SEPARATORS:
                runs[-1] = 0
            else:
                runs[-1] += 1
            longest = max(longest, runs[-1])
    except (tokenize.TokenError, SyntaxError):
        pass  # the tokens up to the error are what there is to measure
    return deepest, longest
