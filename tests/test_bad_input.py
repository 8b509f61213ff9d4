"""Bad input never stops a scan: each bad file becomes one entry in `errors` with a clear
message, every other file is still scanned and reported, the exit code depends only on
recommendations and --fail-on, and scanned code is never imported or executed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write
from typer.testing import CliRunner

from optadvisor.api import ScanOptions, scan
from optadvisor.cli import app

GOOD = '''import requests


async def handler(url):
    return requests.get(url, timeout=5)
'''
"""One high recommendation (OPT101, blocking call in async), nothing else."""

CLEAN = "def add(a, b):\n    return a + b\n"


def cli(*args: str, cwd: Path | None = None, timeout: float = 120,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "optadvisor", *args], cwd=cwd,
                          check=False, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def bad_tree(root: Path) -> Path:
    write(root, {
        "good.py": GOOD,
        "clean.py": CLEAN,
        "empty.py": "",
        "syntax.py": "def broken(:\n    pass\n",
        "py2.py": "import sys\n\nprint 'hello, world'\n",
        "undecodable.py": b"x = 1\ny = 2\nz = 3\nname = '\xff\xfe caf\xe9'\n",
        "nul.py": b"x = 1\ny = '\x00'\n",
    })
    with open(root / "huge.py", "wb") as out:
        out.truncate(50 * 1024 * 1024)  # 50 MB (sparse): must be refused, not read
    os.symlink(root / "gone.py", root / "dangling.py")
    return root


def test_each_bad_file_is_one_error_and_the_rest_is_scanned(tmp_path: Path):
    root = bad_tree(tmp_path / "repo")
    proc = cli("scan", str(root), "--format", "json", "--no-cache", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    errors = {e["path"]: e for e in report["errors"]}
    assert {p: e["kind"] for p, e in errors.items()} == {
        "syntax.py": "parse-error",
        "py2.py": "parse-error",
        "undecodable.py": "decode-error",
        "nul.py": "parse-error",
        "huge.py": "too-large",
        "dangling.py": "broken-symlink",
    }
    assert "line 1" in errors["syntax.py"]["message"]
    assert "Python 2" in errors["py2.py"]["message"]
    assert "line 4" in errors["undecodable.py"]["message"]
    assert "NUL" in errors["nul.py"]["message"]
    assert "max-file-bytes" in errors["huge.py"]["message"]
    assert "gone.py" in errors["dangling.py"]["message"]
    for error in report["errors"]:
        assert error["message"].strip(), error
    # good.py, clean.py and empty.py are scanned; the empty file is not an error.
    assert report["summary"]["files"] == 3
    assert report["summary"]["errors"] == 6
    assert [(r["rule"], r["path"], r["line"]) for r in report["recommendations"]] == [
        ("OPT101", "good.py", 5)]


def test_exit_code_ignores_errors_and_follows_fail_on(tmp_path: Path):
    root = bad_tree(tmp_path / "repo")
    (root / "good.py").unlink()  # only the clean file and bad ones remain

    def code(*extra: str) -> int:
        result = CliRunner().invoke(app, ["scan", str(root), "--no-cache", "-q", "-j", "1",
                                          *extra])
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            result.output
        return result.exit_code

    assert code() == 0
    write(root, {"good.py": GOOD})
    assert code() == 1  # default --fail-on high
    assert code("--fail-on", "critical") == 0


def test_empty_and_comment_only_files_are_files_with_no_error(tmp_path: Path):
    write(tmp_path, {"empty.py": "", "blank.py": "\n\n", "comment.py": "# nothing\n"})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert report.errors == ()
    assert report.summary.files == 3
    assert report.summary.recommendations == 0


def test_undecodable_without_cookie_is_reported_as_decoding_not_declaration(tmp_path: Path):
    write(tmp_path, {"latin.py": b"name = 'caf\xe9'\n"})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    [error] = report.errors
    assert error.kind == "decode-error"
    assert error.message.strip()


def test_undecodable_line_one_message_names_the_line_not_a_declaration(tmp_path: Path):
    write(tmp_path, {"latin.py": b"name = 'caf\xe9'\n"})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    [error] = report.errors
    assert "declaration" not in error.message
    assert "line 1" in error.message


@pytest.mark.parametrize("content, kind", [
    (b"# -*- coding: no-such-codec -*-\nx = 1\n", "decode-error"),
    (b"# coding: rot13\nx = 1\n", "decode-error"),
    ("x = 'é'\n".encode("utf-16"), "parse-error"),  # NUL bytes: not source
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "decode-error"),
    (b"x = (1,\n", "parse-error"),
    (b"\tif x:\n  pass\n", "parse-error"),
], ids=["unknown-codec", "rot13", "utf16", "bom-vs-cookie", "unclosed", "indent"])
def test_more_bad_sources_are_records(tmp_path: Path, content: bytes, kind: str):
    write(tmp_path, {"bad.py": content, "ok.py": CLEAN})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [(e.path, e.kind) for e in report.errors] == [("bad.py", kind)]
    assert report.errors[0].message.strip()
    assert report.summary.files == 1


def test_latin1_cookie_is_decoded_and_analyzed(tmp_path: Path):
    write(tmp_path, {"latin.py": b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n"})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert report.errors == ()
    assert report.summary.files == 1


DEPTH = 5000
DEEP = {
    "parens.py": "x = " + "(" * DEPTH + "1" + ")" * DEPTH + "\n",
    "lists.py": "x = " + "[" * DEPTH + "1" + "]" * DEPTH + "\n",
    "unary.py": "x = " + "- " * DEPTH + "1\n",
    "sum.py": "x = " + " + ".join(["1"] * DEPTH) + "\n",
    "calls.py": "x = " + "f(" * DEPTH + "1" + ")" * DEPTH + "\n",
}


def test_5000_deep_nesting_is_analyzed_or_too_deep_never_a_crash(tmp_path: Path):
    write(tmp_path, {**DEEP, "good.py": GOOD})
    started = time.monotonic()
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=2))
    elapsed = time.monotonic() - started
    errors = {e.path: e for e in report.errors}
    for name in DEEP:
        if name in errors:
            assert errors[name].kind == "too-deep", errors[name]
            assert "nest" in errors[name].message
    assert report.summary.files + len(errors) == len(DEEP) + 1
    assert [(r.rule, r.path) for r in report.recommendations] == [("OPT101", "good.py")]
    assert elapsed < 60, f"deep files took {elapsed:.1f}s"


@pytest.mark.parametrize("depth", [1001, 1500, 2500])
def test_nesting_cpython_reads_but_optadvisor_refuses_says_the_limit_is_optadvisors(
        tmp_path: Path, depth: int):
    source = "x = " + "- " * depth + "1\n"
    compile(source, "deep", "exec")  # CPython reads it: the limit is ours
    write(tmp_path, {"deep.py": source})
    [error] = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1)).errors
    assert error.kind == "too-deep"
    assert f"nest {depth + 2:,} levels deep" in error.message
    assert "optadvisor's own limit of 1,000" in error.message
    assert "CPython reads this file" in error.message


def test_a_file_cpython_refuses_gets_the_depth_guard_too(tmp_path: Path):
    # 4,000 chained attributes and a syntax error further down: CPython's tree never
    # measures the chain, and libcst spent 66 s on it before the token guard.
    write(tmp_path, {"chain.py": "x = a" + ".b" * 4000 + "\nif (\n", "ok.py": CLEAN,
                     "shallow.py": "x = a" + ".b" * 40 + "\nif (\n"})
    started = time.monotonic()
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert time.monotonic() - started < 20
    kinds = {e.path: e.kind for e in report.errors}
    assert kinds == {"chain.py": "too-deep", "shallow.py": "parse-error"}


MARKER_CODE = '''
import os, pathlib, sys
pathlib.Path({marker!r}).write_text("executed")
{tail}
'''


def test_scanning_never_imports_or_executes_scanned_code(tmp_path: Path):
    repo = tmp_path / "repo"
    markers = tmp_path / "markers"
    markers.mkdir()
    files = {}
    tails = {
        "setup.py": "", "conftest.py": "", "__init__.py": "", "__main__.py": "",
        "sitecustomize.py": "", "usercustomize.py": "",
        "exits.py": "sys.exit(3)", "hard_exit.py": "os._exit(4)",
        # Names of modules optadvisor itself imports: must not shadow them.
        "typer.py": "os._exit(5)", "libcst.py": "os._exit(6)", "json.py": "os._exit(7)",
        "pkg/__init__.py": "", "pkg/mod.py": "raise SystemExit(8)",
    }
    for rel, tail in tails.items():
        marker = markers / rel.replace("/", "_")
        files[rel] = MARKER_CODE.format(marker=str(marker), tail=tail)
    write(repo, files)
    # The console script run from inside the scanned directory, as users do. (`python -m`
    # would put the current directory on sys.path itself, whatever optadvisor does; the
    # fallback uses -I, which does not.)
    script = Path(sys.executable).parent / "optadvisor"
    command = [str(script)] if script.exists() else [sys.executable, "-I", "-m", "optadvisor"]
    for jobs in ("1", "2"):
        proc = subprocess.run([*command, "scan", ".", "--format", "json", "--no-cache",
                               "--jobs", jobs],
                              cwd=repo, check=False, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report["summary"]["files"] == len(tails)
        assert report["errors"] == []
        assert list(markers.iterdir()) == []


def test_the_scanned_codes_own_warnings_are_not_printed(tmp_path: Path):
    # `"\d"` makes CPython's parser warn; with warnings shown (PYTHONWARNINGS, as test
    # runners and CI set it) that went from the workers to the user's terminal.
    write(tmp_path, {"esc.py": 'import re\nPATTERN = re.compile("\\d+")\nx = 1 is 1\n'})
    done = subprocess.run(
        [sys.executable, "-m", "optadvisor", "scan", str(tmp_path), "--no-cache", "--quiet",
         "--format", "json", "--fix", "--diff"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONWARNINGS": "default"})
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr


@pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                    reason="a file name that is not UTF-8 needs a filesystem that allows it")
def test_a_file_name_that_is_not_utf8_is_analyzed_and_reported_by_its_bytes(tmp_path: Path):
    # Python holds the name's bad bytes as lone surrogates: a finding in such a file ended
    # every format in "internal error: UnicodeEncodeError" (its fingerprint, the warm
    # state's keys, SARIF's URI). Its path now reads back to the very bytes.
    root = write(tmp_path / "repo", {"good.py": GOOD})
    bad = os.fsdecode(b"bad\xff.py")
    (root / bad).write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OPTADVISOR_CACHE_DIR": str(tmp_path / "cache")}
    for fmt in ("json", "table", "sarif", "github", "gitlab", "markdown", "html"):
        for run in ("cold", "warm"):
            proc = subprocess.run(
                [sys.executable, "-m", "optadvisor", "scan", str(root), "--format", fmt,
                 "-o", str(out / f"{fmt}-{run}"), "--fail-on", "never"],
                capture_output=True, text=True, timeout=120, check=False, env=env)
            assert proc.returncode == 0, (fmt, run, proc.stderr)
    report = json.loads((out / "json-warm").read_text(encoding="utf-8"))
    assert report["errors"] == []
    assert sorted(os.fsencode(r["path"]) for r in report["recommendations"]) == [
        b"bad\xff.py", b"good.py"]
    sarif = json.loads((out / "sarif-cold").read_text(encoding="utf-8"))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]}
    assert uris == {"bad%FF.py", "good.py"}
