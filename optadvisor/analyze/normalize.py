"""Let libcst read the files CPython reads, without moving a line or a column.

libcst's tokenizer parts from CPython's in a few corners of leading whitespace, so some
files CPython compiles are refused (libcst issues #446, #951):

- a form feed in a line's indentation: CPython resets the column there, libcst does too
  but then wants a new block's indentation to start with the enclosing block's text;
- a line holding only a backslash: CPython joins it to the next line and takes that line's
  indentation (or the backslash's column), libcst reads the pair as a blank line and the
  statement after it as not indented at all; at the end of a file (`\\` + CRLF) libcst
  calls it an unfinished continuation.

libcst also *accepts* some files with a lone backslash line and reads them wrong: the
statement after `    \\` is put in the block the backslash line ends, where CPython puts it
at the backslash's column (a `return` after an `if` block became part of the `if`). So a
file holding such a line gets the backslash rewrite whether libcst refuses it or not, and
if libcst's blocks still differ from CPython's (`misread_line`), an error record, not facts
that put code in the wrong loop or branch.

Each rewrite replaces one character with a space, so every line and column stays where it
was. A rewrite counts only when CPython's tree of the new text, positions included, is its
tree of the file on disk: what libcst then reads means what the file means, and the facts'
lines and columns are the file's. What no rewrite can fix (a parenthesized annotated target
`(x): int`; a block whose indentation text differs from its parent's by a form feed or a
tab, since no text of the same length counts the same for both) is an error record naming
the line libcst stops at.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from optadvisor.analyze import parse_quietly

if TYPE_CHECKING:
    import libcst as cst

_LONE_CR = re.compile(r"\r(?!\n)")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_BACKSLASH_LINE = re.compile(r"^([ \t\f]*)\\(?=\r\n|\r|\n)")
_LIBCST_AT = re.compile(r"error at (\d+):(\d+)")
_ANY_BACKSLASH_LINE = re.compile(r"(?:^|[\r\n])[ \t\f]*\\(?:\r\n|\r|\n)")

Rewrite = Callable[[list[str], frozenset[int]], list[str]]
"""Physical lines (with their endings) and the 1-based lines that start inside a string
literal (left alone: their text is data) -> the rewritten lines, same count and lengths."""


def bare_backslash_lines(lines: list[str], in_string: frozenset[int]) -> list[str]:
    """A line holding only whitespace and a backslash: the backslash becomes a space."""
    out = list(lines)
    for i, line in enumerate(lines):
        if "\\" in line and i + 1 not in in_string:
            out[i] = _BACKSLASH_LINE.sub(lambda m: m.group(1) + " ", line, count=1)
    return out


def indent_form_feeds(lines: list[str], in_string: frozenset[int]) -> list[str]:
    """Form feeds in the indentation of the lines that open a block libcst refuses (see
    refused_indents), each made a space. Other lines are left as they are: libcst reads
    them, and a space where CPython reset the column could shift their indentation."""
    return _spaces_for_form_feeds(lines, in_string, {child for child, _ in
                                                     refused_indents("".join(lines))})


def enclosing_form_feeds(lines: list[str], in_string: frozenset[int]) -> list[str]:
    """The same for the lines opening those blocks' enclosing blocks, whose indentation
    text the refused ones should have started with."""
    refused = refused_indents("".join(lines))
    return _spaces_for_form_feeds(lines, in_string, {line for pair in refused for line in pair})


def all_form_feeds(lines: list[str], in_string: frozenset[int]) -> list[str]:
    """The same for every line, when libcst still refuses a block."""
    if not refused_indents("".join(lines)):
        return lines
    return _spaces_for_form_feeds(lines, in_string, set(range(1, len(lines) + 1)))


def _spaces_for_form_feeds(lines: list[str], in_string: frozenset[int],
                           numbers: set[int]) -> list[str]:
    out = list(lines)
    for number in numbers:
        line = lines[number - 1] if 0 < number <= len(lines) else ""
        if number in in_string or "\f" not in line:
            continue
        width = len(line) - len(line.lstrip(" \t\f"))
        out[number - 1] = line[:width].replace("\f", " ") + line[width:]
    return out


REWRITES: list[Rewrite] = [bare_backslash_lines, indent_form_feeds, enclosing_form_feeds,
                           all_form_feeds]
"""Tried in order; each is kept only if CPython reads the text the same with it."""


def for_libcst(text: str, tree: ast.Module) -> str | None:
    """`text` rewritten so libcst can read it while CPython reads it exactly as before, or
    None when no rewrite changed anything CPython agrees with. `tree` is CPython's tree of
    `text`."""
    expected = _dump(tree)
    in_string = _lines_in_strings(tree)
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    changed = False
    for rewrite in REWRITES:
        candidate = rewrite(lines, in_string)
        if candidate == lines:
            continue
        try:
            same = _dump(parse_quietly("".join(candidate))) == expected
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            same = False
        if same:
            lines, changed = candidate, True
    return "".join(lines) if changed else None


def refused_line(text: str, message: str, raw_line: int) -> int:
    """The line libcst stopped at. Its parser errors say `error at LINE:COL` (its
    `raw_line` is often the line after); its tokenizer errors carry no position (1:1)."""
    found = _LIBCST_AT.search(message)
    if found:
        return int(found.group(1))
    if "line continuation" in message:
        # Only the end of the file ends a continuation too early: its last line.
        return len(_NEWLINE.findall(text.rstrip("\r\n \t\f"))) + 1
    if "tokenizer error" in message:
        return _first_line_refused(text, message)
    return raw_line


def _first_line_refused(text: str, message: str) -> int:
    """The fewest lines libcst's tokenizer refuses with the same message: it reads lines
    in order and stops at the first it cannot take, so once that line is in, every longer
    prefix fails the same way. A few tokenizer runs, on an error path only."""
    import libcst as cst

    lines = _LINE.findall(text)
    low, high = 1, max(1, len(lines) - 1)
    while low < high:
        middle = (low + high) // 2
        try:
            cst.parse_module("".join(lines[:middle]))
            same = False
        except cst.ParserSyntaxError as exc:
            same = str(exc.message).splitlines()[0] == message
        if same:
            high = middle
        else:
            low = middle + 1
    return low


def known_gap(tree: ast.Module, text: str, line: int) -> str | None:
    """Names what libcst cannot read on `line`, for the gaps no rewrite can close."""
    for child, parent in refused_indents(text):
        if child == line:
            where = f"line {parent}'s" if parent else "no indentation"
            return (f"libcst needs this block's indentation to begin with {where}; "
                    "CPython compares columns, where a form feed or a tab counts differently")
    lines = _LINE.findall(text)
    for node in ast.walk(tree):
        # `(x): int` (CPython's simple=0): libcst's grammar has no parenthesized target
        # here, and dropping the parentheses would move the name.
        if (isinstance(node, ast.AnnAssign) and node.lineno == line
                and lines[line - 1].encode("utf-8")[node.col_offset:].startswith(b"(")):
            return "a parenthesized annotated target, as in `(x): int`"
    return None


def refused_indents(text: str) -> list[tuple[int, int]]:
    """(line, enclosing line) for the lines opening a block whose indentation text does not
    start with the enclosing block's (0: the module): CPython compares columns only (a form
    feed resets them, a tab rounds up to 8); libcst compares the text too and refuses these
    (`no matching outer block for dedent`)."""
    # tokenize splits lines on LF only; a lone CR (a line ending to CPython) becomes one.
    readline = io.StringIO(_LONE_CR.sub("\n", text)).readline
    refused: list[tuple[int, int]] = []
    stack = [("", 0)]
    try:
        for tok in tokenize.generate_tokens(readline):
            if tok.type == tokenize.INDENT:
                if not tok.string.startswith(stack[-1][0]):
                    refused.append((tok.start[0], stack[-1][1]))
                stack.append((tok.string, tok.start[0]))
            elif tok.type == tokenize.DEDENT and len(stack) > 1:
                stack.pop()
    except (tokenize.TokenError, SyntaxError):
        pass  # the lines up to where tokenize stops are what there is to check
    return refused


def _lines_in_strings(tree: ast.Module) -> frozenset[int]:
    """Lines that start inside a string literal spanning lines (or may: implicitly joined
    literals count as one span, which only leaves a few lines untouched)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            end = node.end_lineno or node.lineno
            if end > node.lineno:
                inside.update(range(node.lineno + 1, end + 1))
    return frozenset(inside)


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


def has_backslash_line(text: str) -> bool:
    """Whether a line holds only whitespace and a backslash (libcst may misread it)."""
    return "\\" in text and _ANY_BACKSLASH_LINE.search(text) is not None


def misread_line(module: "cst.Module", tree: ast.Module) -> int | None:
    """The line of the first statement libcst puts at another block depth than CPython, or
    None when every statement, in source order, is as deep in both trees."""
    expected = _ast_depths(tree)
    got = _cst_depths(module)
    for (depth, line), other in zip(expected, got):
        if depth != other:
            return line
    if len(expected) != len(got):
        return expected[min(len(expected), len(got)) - 1][1] if expected else 1
    return None


def _ast_depths(tree: ast.Module) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []

    def visit(body: list[ast.stmt], depth: int) -> None:
        for node in body:
            out.append((depth, node.lineno))
            for block in _ast_blocks(node):
                visit(block, depth + 1)

    visit(tree.body, 0)
    return out


def _ast_blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists under a compound statement, in source order."""
    blocks = [getattr(node, "body", [])]
    blocks += [handler.body for handler in getattr(node, "handlers", [])]
    blocks += [case.body for case in getattr(node, "cases", [])]
    blocks += [getattr(node, "orelse", []), getattr(node, "finalbody", [])]
    return [block for block in blocks if isinstance(block, list) and block]


def _cst_depths(module: "cst.Module") -> list[int]:
    import libcst as cst

    out: list[int] = []

    def suite(block: object, depth: int) -> None:
        if isinstance(block, cst.SimpleStatementSuite):
            out.extend(depth for _ in block.body)
        elif isinstance(block, cst.IndentedBlock):
            statements(block.body, depth)

    def statements(body: "Sequence[cst.BaseStatement]", depth: int) -> None:
        for node in body:
            if isinstance(node, cst.SimpleStatementLine):
                out.extend(depth for _ in node.body)
            else:
                compound(node, depth)

    def compound(node: object, depth: int) -> None:
        out.append(depth)
        suite(getattr(node, "body", None), depth + 1)
        for part in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
            suite(part.body, depth + 1)
        orelse = getattr(node, "orelse", None)
        if isinstance(orelse, cst.If):  # elif: CPython nests it as an If in orelse
            compound(orelse, depth + 1)
        elif orelse is not None:
            suite(orelse.body, depth + 1)
        final = getattr(node, "finalbody", None)
        if final is not None:
            suite(final.body, depth + 1)

    statements(module.body, 0)
    return out
