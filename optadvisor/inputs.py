"""Reading the files optadvisor is handed rather than the code it scans: configs, baselines,
saved reports and runs, cache entries, rule files and catalogs. Only regular files are opened, at most a set number
of bytes is read, and JSON or TOML is decoded only when it nests less than MAX_DEPTH deep.

Before, a FIFO or a symlink to /dev/zero named as any of these hung the run or ate memory
(9.8 GiB in 25 s), and deeply nested JSON or TOML raised RecursionError naming no file (or,
with the raised recursion limit deep files need, could overflow the C stack). Every
refusal here is an InputError whose message starts with the file's name.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import orjson

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_DEPTH = 100
"""Nesting of arrays and objects (tables) accepted in a JSON or TOML input. optadvisor's
own files nest under 10 levels; json and tomllib recurse once per level."""
CONFIG_BYTES = 4 * 1024 * 1024
"""pyproject.toml or --config: real ones are a few KiB."""
DOCUMENT_BYTES = 256 * 1024 * 1024
"""Baselines, saved reports and profile runs (a scan of the standard library: 0.9 MB)."""
CACHE_ENTRY_BYTES = 64 * 1024 * 1024
"""One cache entry (the facts of the standard library's largest file: 190 KB)."""
DATA_BYTES = 1 << 20
"""A rule file or a catalog (the shipped rule files are under 10 KB, the API catalog
22 KB)."""
DATA_DEPTH = 64
"""Nesting accepted in rule files and catalogs (the shipped ones nest three deep)."""


class InputError(ValueError):
    """A file that is not read or not decoded; the message names it. `detail` is the
    message without the file's name, `line` the line where there is one."""

    def __init__(self, message: str, detail: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message
        self.line = line


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of `path` when it is a regular file (after symlinks) of at most `limit`
    bytes; InputError otherwise. OSError (a missing file, no permission) passes through
    for the caller to word."""
    _check_regular(path, os.stat(path))  # a device is never even opened
    # The check again on the opened descriptor, in case the file was swapped in between;
    # O_NONBLOCK so that opening a FIFO swapped in cannot wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        _check_regular(path, info)
        if info.st_size > limit:
            raise _too_large(path, f"{info.st_size:,} bytes", limit)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        # Read by the size fstat gave (asking for `limit` bytes allocates that much on
        # every call), one byte more to see a file that grew, or a /proc file (size 0).
        want = info.st_size + 1
        data = handle.read(want)
        if len(data) == want:
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:
        raise _too_large(path, f"more than {limit:,} bytes", limit)
    return data


def _check_regular(path: Path | str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        detail = f"is {kind}, not a regular file; not read"
        raise InputError(f"{path}: {detail}", detail)


def _too_large(path: Path | str, size: str, limit: int) -> InputError:
    detail = f"{size} is over the {limit:,}-byte limit for this kind of file"
    return InputError(f"{path}: {detail}", detail)


def load_data_toml(path: Path, limit: int = DATA_BYTES,
                   depth: int = DATA_DEPTH) -> tuple[bytes, dict[str, Any]]:
    """A rule file or a catalog: its bytes and its TOML. InputError for what is no regular
    file, too large, not UTF-8 or too deep (with the line); tomllib's own TOMLDecodeError
    passes through (its message carries the line, callers word it)."""
    try:
        raw = read_regular(path, limit)
    except OSError as exc:
        detail = exc.strerror or str(exc)
        raise InputError(f"{path}: {detail}", detail) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        detail = f"not UTF-8 (byte 0x{raw[exc.start]:02x})"
        raise InputError(f"{path}:{line}: {detail}", detail, line) from None
    check_toml_depth(text, path, depth)
    return raw, tomllib.loads(text)


def load_json(path: Path | str, limit: int, own: bool = False) -> Any:
    """`path` read with read_regular and decoded as JSON. A document that is not JSON
    raises ValueError (json's own message, for the caller to word); one that nests too
    deep, InputError. `own`: a file optadvisor wrote (a cache entry, a warm state), decoded
    with orjson, twice as fast on a large project's cache; what orjson refuses (a lone
    surrogate of a file name that is not UTF-8) goes to json. Not for documents users hand
    over: orjson reads an integer past 64 bits as a float, json keeps it."""
    data = read_regular(path, limit)
    check_json_depth(data, path)
    if own:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except RecursionError:  # not reached after the check; kept as a last guard
        raise InputError(_too_deep(path)) from None


def load_toml(path: Path | str, limit: int) -> dict[str, Any]:
    """`path` read with read_regular and decoded as TOML; every failure (not UTF-8,
    invalid TOML, too deep) is an InputError naming the file and, where there is one,
    the line."""
    return parse_toml(read_regular(path, limit), path)


def parse_toml(data: bytes, path: Path | str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); TOML "
                         "files must be UTF-8") from None
    check_toml_depth(text, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # not reached after the check; kept as a last guard
        raise InputError(_too_deep(path)) from None


def _too_deep(path: Path | str) -> str:
    return f"{path}: nests deeper than {MAX_DEPTH} levels; not read"


# Depth is counted on a skeleton of the brackets outside strings, with C-speed bytes
# operations only (a warm scan checks every cache entry: ~16 MB for the standard library,
# where this costs about a tenth of json.loads).
_JSON_KEEP = b'"[]{}'
_JSON_DROP = bytes(b for b in range(256) if b not in _JSON_KEEP)
_OPEN_CLOSE = bytes.maketrans(b"{}", b"[]")
_QUOTED = re.compile(rb'"[^"]*"')


def check_json_depth(data: bytes, path: Path | str, limit: int = MAX_DEPTH) -> None:
    if b"\\" in data:  # escaped quotes and backslashes must not open or close strings
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(_OPEN_CLOSE, _JSON_DROP)
    # Quotes alternate open/close; removing adjacent pairs merges or drops strings that
    # hold no bracket (nearly all of them) and keeps the rest quoted.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = _QUOTED.sub(b"", skeleton)
    if _depth_over(skeleton, limit):
        raise InputError(_too_deep(path))


# TOML: the tokens that matter for nesting are brackets and what may hold brackets that
# are not structure (strings, comments), matched as TOML defines them. Table headers
# (`[tool.optadvisor]`, `[[examples]]`) are balanced brackets of depth 1-2.
_TOML_TOKENS = re.compile(r'''
      (?P<open>[\[{]) | (?P<close>[\]}]) | (?P<newline>\n)
    | \#[^\n]*
    | """(?:[^"\\]|\\[\s\S]|"(?!""))*""""{0,2}
    | "(?:[^"\\\n]|\\.)*"
    | \'\'\'[\s\S]*?\'\'\'\'{0,2}
    | '[^'\n]*'
''', re.VERBOSE)


def toml_nesting_line(text: str, limit: int = MAX_DEPTH) -> int | None:
    """The line where brackets first nest deeper than `limit`, or None. An unterminated
    string is left to the parser (its error names the line), so nothing is missed: a
    quote that does not open a string here only makes more brackets count."""
    if text.count("[") + text.count("{") <= limit:
        return None  # cannot nest deeper than it has brackets: every real file
    depth = 0
    line = 1
    for match in _TOML_TOKENS.finditer(text):
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


def check_toml_depth(text: str, path: Path | str, limit: int = MAX_DEPTH) -> None:
    line = toml_nesting_line(text, limit)
    if line is not None:
        detail = f"nests deeper than {limit} levels"
        raise InputError(f"{path}:{line}: {detail}", detail, line)


def _depth_over(skeleton: bytes, limit: int) -> bool:
    """Whether brackets (`[` and `]` only) nest deeper than `limit`: each pass removes the
    innermost pairs, one level."""
    for level in range(limit):
        if not skeleton:
            return False
        inner = skeleton.replace(b"[]", b"")
        if inner == skeleton:
            # Unbalanced: a decoder would fail, but might recurse into what is open first.
            return level + skeleton.count(b"[") > limit
        skeleton = inner
    return bool(skeleton)  # something left after `limit` levels
