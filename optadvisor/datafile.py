"""Rule files and catalogs read as data: regular files only, size-capped, TOML of bounded
nesting.

Their paths come from users (`rule-dirs`, `catalogs`, `rules check PATH`), so a FIFO
would block the read forever, a symlink to /dev/zero would fill memory, and
`x = [[[[...]]]]` 100,000 deep sends tomllib, which recurses once per level, into a
RecursionError (or, where the recursion limit was raised for deep source files, past the
C stack). Each of these is a DataFileError that names the file (and the line where there
is one) instead.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_BYTES = 1 << 20
"""The shipped rule files are under 10 KB and the API catalog 22 KB."""
MAX_NESTING = 64
"""Arrays and inline tables inside each other; the shipped files nest three deep."""


class DataFileError(Exception):
    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def read_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (symlinks followed)."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise DataFileError(path, None, exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataFileError(path, None, f"not a regular file ({_kind(mode)})")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DataFileError(path, None, f"larger than {limit:,} bytes")
    return data


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    try:
        return read_bytes(path, limit).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, f"not UTF-8: {exc}") from None


# The tokens that matter for nesting: brackets, and what may hold brackets that are not
# structure (strings, comments), matched as TOML defines them.
_TOKENS = re.compile(r'''
      (?P<open>[\[{]) | (?P<close>[\]}]) | (?P<newline>\n)
    | \#[^\n]*
    | """(?:[^"\\]|\\[\s\S]|"(?!""))*""""{0,2}
    | "(?:[^"\\\n]|\\.)*"
    | \'\'\'[\s\S]*?\'\'\'\'{0,2}
    | '[^'\n]*'
''', re.VERBOSE)


def nesting_error(text: str, limit: int = MAX_NESTING) -> int | None:
    """The line where brackets first nest deeper than `limit`, or None. An unterminated
    string is left to the parser (its error names the line), so nothing is missed: a
    quote that does not open a string here only makes more brackets count."""
    if text.count("[") + text.count("{") <= limit:
        return None
    depth = 0
    line = 1
    for match in _TOKENS.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            if depth > limit:
                return line
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "newline":
            line += 1
        else:
            line += match.group().count("\n")
    return None


def loads_toml(text: str, path: Path, limit: int = MAX_NESTING) -> dict[str, Any]:
    """tomllib.loads, refusing deep nesting first (DataFileError naming the line);
    a TOML syntax error is tomllib's own exception."""
    line = nesting_error(text, limit)
    if line is not None:
        raise DataFileError(path, line, f"arrays or tables nest more than {limit} deep")
    try:
        return tomllib.loads(text)
    except RecursionError:  # a backstop: the scan above should have refused it
        raise DataFileError(path, None, "arrays or tables nest too deeply") from None
