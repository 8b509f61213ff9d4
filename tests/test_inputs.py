"""Files optadvisor is handed rather than the code it scans (configs, baselines, saved
reports and runs; cache entries are in test_cache.py): only regular files are read, with a
size cap, and JSON or TOML is decoded with bounded nesting. A FIFO, a symlink to
/dev/zero or a deeply nested document given to any command is one `error:` line naming
the file, exit 2: no hang, no memory blow-up, no RecursionError.

The commands run in a subprocess with a timeout and an address-space limit, so what used
to hang or eat memory fails the test instead of the machine."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write

from optadvisor.inputs import (
    MAX_DEPTH,
    InputError,
    check_json_depth,
    check_toml_depth,
    load_json,
    load_toml,
    read_regular,
)

MEMORY_LIMIT = 3 << 30
"""Enough for a scan (workers reserve a big stack); far less than /dev/zero read whole."""
DEEP = 50_000


def deep_json(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run([sys.executable, "-m", "optadvisor", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60, preexec_fn=limit,
                          check=False)


def hostile(path: Path, kind: str) -> Path:
    """`path` made into a FIFO, a symlink to /dev/zero, or JSON nested DEEP levels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_text(deep_json())
    return path


# --------------------------------------------------------------------------- the helper


def test_only_regular_files_are_read(tmp_path: Path):
    fifo = hostile(tmp_path / "pipe.json", "fifo")
    zero = hostile(tmp_path / "zero.json", "dev-zero")
    for path, kind in ((fifo, "a FIFO"), (zero, "a character device"),
                       (tmp_path, "a directory")):
        with pytest.raises(InputError, match=f"^{path}: is {kind}, not a regular file"):
            read_regular(path, 1024)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing.json", 1024)
    link = tmp_path / "link.json"
    link.symlink_to(write(tmp_path, {"real.json": "[1]"}) / "real.json")
    assert read_regular(link, 1024) == b"[1]"  # a symlink to a regular file is fine


def test_reads_are_capped(tmp_path: Path):
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 100)
    assert read_regular(path, 100) == b"x" * 100
    with pytest.raises(InputError, match=r"big.json: 100 bytes is over the 99-byte limit"):
        read_regular(path, 99)
    sparse = tmp_path / "sparse.json"
    with open(sparse, "wb") as handle:
        handle.truncate(1 << 40)  # 1 TiB that takes no disk: refused before any read
    with pytest.raises(InputError, match="over the"):
        read_regular(sparse, 1 << 20)


@pytest.mark.parametrize("text, too_deep", [
    ("[" * MAX_DEPTH + "]" * MAX_DEPTH, False),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), True),
    ('{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), True),
    ("[[]," * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1), True),  # depth between siblings
    ("[" * (MAX_DEPTH + 1), True),  # never closed: a decoder still recurses into it
    ('["' + "[" * 500 + '", "\\"[[[", "\\\\", {"k[": "]]]]"}]', False),  # brackets in strings
    ("[" * 500_000 + "]" * 500_000, True),
])
def test_json_nesting_is_bounded(text: str, too_deep: bool):
    if too_deep:
        with pytest.raises(InputError, match=f"x.json: nests deeper than {MAX_DEPTH} levels"):
            check_json_depth(text.encode(), "x.json")
    else:
        check_json_depth(text.encode(), "x.json")
        json.loads(text)


def test_deep_json_is_refused_even_with_the_recursion_limit_deep_files_need(tmp_path: Path):
    """The analyzer raises the recursion limit to 60,000: json.loads of a document that
    deep then overflowed the C stack (a segfault) instead of raising RecursionError."""
    path = tmp_path / "deep.json"
    path.write_text(deep_json(200_000))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    try:
        with pytest.raises(InputError, match="deep.json: nests deeper"):
            load_json(path, 1 << 20)
    finally:
        sys.setrecursionlimit(old)


@pytest.mark.parametrize("text, too_deep", [
    ("a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH, False),
    ("a = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), True),
    ("a = " + "{b = " * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), True),
    ('a = "' + "[" * 500 + '"\nb = \'' + "[" * 500 + "'\n# " + "[" * 500 + "\n"
     'c = """\n' + "[" * 500 + '\n"""\n[tool.x]\n[[y]]\n', False),
])
def test_toml_nesting_is_bounded(text: str, too_deep: bool):
    if too_deep:
        with pytest.raises(InputError, match="c.toml:1: nests deeper"):
            check_toml_depth(text, "c.toml")
    else:
        check_toml_depth(text, "c.toml")


def test_toml_errors_name_the_file_and_line(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"a = 1\n# caf\xe9\n")
    with pytest.raises(InputError, match=r"c.toml:2: not UTF-8 \(byte 0xe9\)"):
        load_toml(path, 1024)
    path.write_text("a = 1\nb = \n")
    with pytest.raises(InputError, match=r"c.toml: invalid TOML: .*line 2"):
        load_toml(path, 1024)


# --------------------------------------------------------------------------- the commands


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A one-file tree and its scan report, to stand beside the hostile input."""
    base = tmp_path_factory.mktemp("scanned")
    tree = write(base / "tree", {"a.py": "import time\nasync def f():\n    time.sleep(1)\n"})
    out = base / "scan.json"
    proc = cli("scan", tree, "--format", "json", "-o", out, "--no-cache", "-q")
    assert proc.returncode == 1, proc.stderr
    return tree, out


COMMANDS = {
    "baseline": lambda bad, good, tree: ["scan", tree, "--no-cache", "--baseline", bad],
    "profile-run": lambda bad, good, tree: ["scan", tree, "--no-cache", "--profile", bad],
    "config": lambda bad, good, tree: ["scan", tree, "--no-cache", "--config", bad],
    "report": lambda bad, good, tree: ["report", bad],
    "compare": lambda bad, good, tree: ["compare", good, bad],
}


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "deep"])
@pytest.mark.parametrize("command", COMMANDS.keys())
def test_a_hostile_input_file_is_one_error_line_naming_it(tmp_path: Path, command: str,
                                                          kind: str, scanned):
    tree, good = scanned
    if command == "config" and kind == "deep":
        bad = write(tmp_path, {"bad.toml": "[tool.optadvisor]\nx = " + deep_json()}) / "bad.toml"
    else:
        bad = hostile(tmp_path / f"bad.{'toml' if command == 'config' else 'json'}", kind)
    proc = cli(*COMMANDS[command](bad, good, tree))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {bad}") and proc.stderr.count("\n") == 1, \
        proc.stderr
    expected = "nests deeper than" if kind == "deep" else "not a regular file"
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("text", [
    '{"a": [1, 2.5, "x", null, true], "ns": 1733400000123456789}',
    '{"nan": NaN, "inf": -Infinity}',          # json takes them, orjson does not
    '{"path": "caf\\udcc3\\udca9.py"}',         # a lone surrogate: a name that is not UTF-8
])
def test_load_json_decodes_its_own_files_as_json_does(tmp_path, text):
    """optadvisor's own files decode with orjson (twice as fast on a large cache); what it
    refuses, json decodes: the result is json's in every case. (Without the fallback, the
    NaN and surrogate documents raise.)"""
    import json
    import math

    from optadvisor.inputs import load_json

    path = tmp_path / "doc.json"
    path.write_text(text, encoding="utf-8")
    got, want = load_json(path, 10_000, own=True), json.loads(text)
    assert repr(got) == repr(want) or (
        "nan" in want and math.isnan(got["nan"]) and got["inf"] == want["inf"])


def test_a_users_document_keeps_an_integer_past_64_bits(tmp_path):
    """orjson reads one as a float: documents users hand over are decoded by json."""
    from optadvisor.inputs import load_json

    path = tmp_path / "doc.json"
    path.write_text('{"big": 123456789012345678901234567890}', encoding="utf-8")
    assert load_json(path, 10_000) == {"big": 123456789012345678901234567890}
