"""Files CPython compiles are analyzed, not error records, even where libcst's tokenizer
reads whitespace differently (optadvisor/analyze/normalize.py); where no rewrite keeps every
line and column, the record says so and names the line libcst stops at. Each reproducer is
checked against CPython first: a test here never asks optadvisor to read invalid code."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from conftest import write

from optadvisor.analyze import analyze_bytes
from optadvisor.analyze.catalog import load_catalog
from optadvisor.analyze.normalize import for_libcst, misread_line
from optadvisor.api import ScanOptions, scan
from optadvisor.models import ErrorRecord

BLOCKING = "return requests.get(url, timeout=5)"

# name -> (source, line and column of the blocking call: OPT101 must point there)
READABLE: dict[str, tuple[bytes, int, int]] = {
    # A form feed opening a nested block: CPython resets the column at it, libcst wanted
    # the block's indentation to start with the enclosing block's four spaces.
    "form_feed_indent": (b"import requests\n\nasync def handler(url):\n    if url:\n"
                         b"\x0c        " + BLOCKING.encode() + b"\n", 5, 17),
    # CR-only line endings and a latin-1 cookie on line 2: read as one line, the file's
    # later bytes were not UTF-8 and the cookie looked invalid.
    "cr_only_cookie": (b"#!/usr/bin/env python\r# -*- coding: latin-1 -*-\rimport requests\r"
                       b"\rasync def handler(url):\r    name = 'caf\xe9'\r    "
                       + BLOCKING.encode() + b"\r", 7, 12),
    # CR-only, and "coding:" further down: the whole file was line 1, holding a cookie.
    "cr_only_coding_word": (b"#!/usr/bin/env python\rimport requests\r\r"
                            b"async def handler(url):\r    kind = 'encoding: nope'\r    "
                            + BLOCKING.encode() + b"\r", 6, 12),
    # A backslash alone on a line before an indented block: CPython takes the next
    # line's indentation, libcst saw an unindented statement.
    "backslash_blank_line": (b"import requests\n\nasync def handler(url):\n    if url:\n\\\n"
                             b"        " + BLOCKING.encode() + b"\n", 6, 16),
    # A backslash on the last line, with CRLF: CPython reads the end of the file,
    # libcst an unfinished continuation.
    "backslash_at_end": (b"import requests\r\n\r\nasync def handler(url):\r\n    "
                         + BLOCKING.encode() + b"\r\n\\\r\n", 4, 12),
    # Both rewrites, in a file whose docstring holds a form feed and a lone backslash of
    # its own: data, left alone (rewriting them would change the string, and CPython's
    # tree would then refuse the whole rewrite).
    "rewrites_leave_strings_alone": (b"import requests\n\nasync def handler(url):\n"
                                     b"    '''doc\n\x0c    text\n\\\n    '''\n    if url:\n"
                                     b"\\\n\x0c        " + BLOCKING.encode() + b"\n", 10, 17),
}


def analyze(data: bytes, name: str = "f.py"):
    return analyze_bytes(name, data, load_catalog(), 0)


@pytest.mark.parametrize("name", READABLE)
def test_valid_files_libcst_misreads_are_analyzed_at_their_own_positions(tmp_path: Path,
                                                                        name: str):
    data, line, column = READABLE[name]
    compile(data, name, "exec")  # valid Python, or the test is wrong
    write(tmp_path, {f"{name}.py": data})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert report.errors == ()
    assert [(r.rule, r.line, r.column) for r in report.recommendations] == [
        ("OPT101", line, column)]


def test_a_rewrite_keeps_every_line_and_column_and_cpython_s_tree():
    text = READABLE["rewrites_leave_strings_alone"][0].decode()
    tree = ast.parse(text)
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module(text)
    readable = for_libcst(text, tree)
    assert readable is not None
    cst.parse_module(readable)
    assert len(readable) == len(text)
    lines, rewritten = text.split("\n"), readable.split("\n")
    assert rewritten != lines
    assert [len(line) for line in rewritten] == [len(line) for line in lines]
    assert ast.dump(ast.parse(readable), include_attributes=True) == \
        ast.dump(tree, include_attributes=True)
    # The docstring's form feed and backslash line are data: untouched.
    assert "'''doc\n\x0c    text\n\\\n    '''" in readable


def test_a_rewrite_cpython_reads_differently_is_not_used():
    # The backslash's column (7) is the loop body's indentation for CPython; a space
    # there would make it the next line's (1). No rewrite: the record names the line.
    text = "def f(x):\n    for i in x:\n       \\\n i = 1\n    return x\n"
    compile(text, "t", "exec")
    assert for_libcst(text, ast.parse(text)) is None
    record = analyze(text.encode())
    assert record.kind == "parse-error"
    assert record.message.startswith("valid Python that the parser cannot read: line 4 ")
    assert record.line == 4


UNREADABLE: dict[str, tuple[bytes, int, str]] = {
    # libcst's grammar has no parenthesized annotated target; it reported line 4.
    "paren_target": (b"import requests\n\n(y): int\nasync def handler(url):\n    pass\n", 3,
                     "a parenthesized annotated target"),
    "paren_attribute_target": (b"x = 1\n(a.b): int = 2\n", 2, "parenthesized annotated"),
    # A form feed after a space: column 4 to CPython, and no text of that length can
    # both begin the nested block's eight spaces and count as four.
    "form_feed_mid_indent": ((b"async def handler(url):\n \x0c    if url:\n        pass\n"
                              b"    return url\n"), 3, "line 2's"),
    # CPython indents `if` to the backslash's column; libcst leaves it at the module's and
    # refuses the dedent on line 5. Its tokenizer errors say "1:1": the line is found again.
    "backslash_indent": (b"async def h(u):\n    \\\nif u:\n        return 1\n"
                         b"    for i in range(3):\n        x = i\n    return x\n", 5,
                         "libcst: no matching outer block for dedent"),
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_valid_files_no_rewrite_can_save_are_exact_records(name: str):
    data, line, detail = UNREADABLE[name]
    compile(data, name, "exec")
    record = analyze(data)
    assert record.kind == "parse-error"
    assert record.line == line
    assert record.message.startswith(
        f"valid Python that the parser cannot read: line {line} ("), record.message
    assert detail in record.message
    assert "syntax error" not in record.message


def test_files_both_parsers_refuse_keep_cpython_s_syntax_error():
    record = analyze(b"x = 1\n(y): int =\n")
    assert record.message.startswith("syntax error at line 2: ")


@pytest.mark.parametrize("data, line", [
    (b"x = 1\r\ry = '\xe9'\r", 3),
    (b"x = 1\r\ny = 2\rz = '\xff'\n", 3),
])
def test_decode_errors_count_lone_cr_as_a_line_end(data: bytes, line: int):
    record = analyze(data)
    assert (record.kind, record.line) == ("decode-error", line)
    assert f"line {line}" in record.message



# libcst *accepts* these and, before the rewrite, put the statement after the backslash
# line in the block above it: the `return` joined the loop (a false await-in-loop) or the
# `if`. name -> source; the same file with that backslash as a space means the same to
# CPython, positions included, and must give the same facts.
MISREAD: dict[str, str] = {
    "return_joins_the_loop": (
        "import httpx\n\n\nasync def first(urls):\n"
        "    async with httpx.AsyncClient() as client:\n"
        "        for url in urls:\n            print(url)\n        \\\n"
        "        return await client.get(urls[0], timeout=5)\n"),
    "return_joins_the_if": (
        "import requests\n\n\nasync def handler(url):\n    if url:\n        url = url.strip()\n"
        "    \\\n    return requests.get(url, timeout=5)\n"),
    "decorator": "@dec\n\\\ndef f():\n    pass\n",
}


@pytest.mark.parametrize("name", MISREAD)
def test_files_libcst_accepts_but_misreads_give_cpython_s_blocks(tmp_path: Path, name: str):
    source = MISREAD[name]
    spaced = source.replace("\\\n", " \n")
    assert ast.dump(ast.parse(source), include_attributes=True) == \
        ast.dump(ast.parse(spaced), include_attributes=True)  # the same program to CPython
    cst.parse_module(source)  # libcst accepts it as it is: the misread case
    write(tmp_path / "a" / "app", {"f.py": source})
    write(tmp_path / "b" / "app", {"f.py": spaced})
    reports = [scan(ScanOptions(paths=(tmp_path / d / "app",), use_cache=False,
                                jobs=1)).to_dict() for d in ("a", "b")]
    for report in reports:
        report["summary"].pop("seconds", None)
        for rec in report["recommendations"]:
            rec.pop("snippet", None)  # the user's own lines, backslash included
    assert reports[0]["errors"] == []
    assert reports[0]["recommendations"] == reports[1]["recommendations"]
    assert analyze(source.encode()).functions == analyze(spaced.encode()).functions


def test_a_misread_no_rewrite_can_fix_is_an_exact_record():
    # CPython indents `g = 4` to the backslash's column (inside `if a:`); libcst puts it at
    # the module's level, and a space for the backslash would too (CPython's tree differs):
    # no rewrite, so a record at that line, not facts with `g = 4` in the wrong block.
    text = ("if a:\n    if b:\n        c = 1\n    elif d:\n        e = 2\n    else:\n"
            "        f = 3\n    \\\ng = 4\n")
    tree = ast.parse(text)
    assert [type(node).__name__ for node in tree.body[0].body] == ["If", "Assign"]
    module = cst.parse_module(text)  # accepted, and read otherwise
    assert misread_line(module, tree) == 9
    assert for_libcst(text, tree) is None
    record = analyze(text.encode())
    assert isinstance(record, ErrorRecord) and record.kind == "parse-error", record
    assert record.line == 9
    assert record.message.startswith("valid Python that the parser cannot read: line 9 (")
