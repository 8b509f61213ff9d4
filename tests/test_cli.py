"""The command line contract: exit codes, the JSON schema keys, -o, suppression comments,
NO_COLOR, the table layout, `python -m optadvisor --version`, and no progress bar when
stderr is not a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write
from typer.testing import CliRunner

from optadvisor import __version__
from optadvisor.api import ScanOptions, scan
from optadvisor.cli import app

ANSI = re.compile(r"\x1b\[")

BLOCKING = '''import requests


async def handler(url):
    return requests.get(url, timeout=5)
'''
"""Exactly one recommendation: OPT101 (high) on line 5."""

CLEAN = "def add(a, b):\n    return a + b\n"


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def py(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optadvisor", *args], check=False, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})}, **kwargs)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return write(tmp_path / "proj", {"agent/handler.py": BLOCKING, "agent/util.py": CLEAN})


@pytest.mark.parametrize("fail_on, code", [
    (None, 1), ("high", 1), ("medium", 1), ("low", 1), ("critical", 0), ("never", 0)])
def test_exit_code_follows_fail_on(project: Path, fail_on: str | None, code: int):
    args = ["scan", str(project), "--no-cache", "-q", "-j", "1"]
    if fail_on:
        args += ["--fail-on", fail_on]
    assert invoke(*args).exit_code == code


def test_clean_project_exits_0(tmp_path: Path):
    write(tmp_path, {"a.py": CLEAN})
    assert invoke("scan", str(tmp_path), "--no-cache", "--fail-on", "low").exit_code == 0


@pytest.mark.parametrize("args", [
    ["scan", "{p}", "--format", "pdf"],
    ["scan", "{p}/does-not-exist"],
    ["scan", "{p}", "{p}/does-not-exist.py"],
    ["scan", "{p}", "--fail-on", "severe"],
    ["scan", "{p}", "--jobs", "0"],
    ["scan", "{p}", "--no-such-flag"],
    ["scan"],
    ["frobnicate"],
], ids=["format", "missing-dir", "one-missing-file", "fail-on", "jobs", "flag", "no-path",
        "command"])
def test_usage_errors_exit_2(project: Path, args: list[str]):
    result = invoke(*[a.format(p=project) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    # One plain line, whoever found the error: typer drew its own in a 5-6 line box.
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, \
        result.stderr


def test_errors_are_one_line_never_wrapped_nor_read_as_markup(tmp_path: Path):
    """At 80 columns a long path was split over lines, and `[tool.optadvisor]` or
    `[id]` in a message vanished as rich markup."""
    deep = tmp_path / ("d" * 120) / "routes" / "[id]"
    missing = py("scan", str(deep / "handler.py"), env={"COLUMNS": "80"})
    assert missing.returncode == 2
    assert missing.stderr == f"error: no such file or directory: {deep / 'handler.py'}\n"
    write(deep, {"pyproject.toml": "[tool.optadvisor]\ncolour = true\n", "a.py": CLEAN})
    config = py("scan", str(deep), "--no-cache", env={"COLUMNS": "80"})
    assert config.returncode == 2
    assert config.stderr.startswith(f"error: {deep / 'pyproject.toml'} [tool.optadvisor]: "
                                    "unknown key(s) colour; known keys: ")
    assert config.stderr.count("\n") == 1
    usage = py("scan", str(deep), "--jobs", "0", env={"COLUMNS": "40"})
    assert usage.returncode == 2
    assert usage.stderr == ("error: Invalid value for '--jobs' / '-j': Input should be "
                            "greater than or equal to 1 (see optadvisor scan -h)\n")


def test_missing_path_message_names_it(project: Path):
    result = invoke("scan", str(project / "nope"))
    assert result.exit_code == 2
    assert "nope" in result.stderr and "no such file" in result.stderr


def test_json_has_the_design_schema_keys(project: Path, tmp_path: Path):
    write(project, {"agent/broken.py": "def f(:\n"})
    result = invoke("scan", str(project), "--format", "json", "--no-cache", "-j", "1")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert {"schema_version", "tool", "summary", "recommendations", "targets",
            "errors"} <= set(data)
    assert data["schema_version"] == 1
    assert data["tool"] == {"name": "optadvisor", "version": __version__}
    assert {"files", "lines", "functions", "components", "errors", "seconds",
            "recommendations", "by_priority", "by_kind", "candidates"} <= set(data["summary"])
    assert set(data["summary"]["candidates"]) == {"caching", "async", "profiling",
                                                  "optimization"}
    [rec] = data["recommendations"]
    assert {"rule", "kind", "category", "priority", "score", "path", "line", "column",
            "end_line", "end_column", "symbol", "component", "title", "message", "evidence",
            "impact", "confidence", "effort", "snippet", "fingerprint"} <= set(rec)
    assert set(rec["snippet"]) == {"before", "after", "line", "indent"}
    assert (rec["rule"], rec["kind"], rec["path"], rec["line"], rec["column"]) == (
        "OPT101", "blocking-call-in-async", "agent/handler.py", 5, 12)
    assert rec["priority"] in ("critical", "high", "medium", "low")
    assert 0 <= rec["score"] <= 100 and isinstance(rec["score"], int)
    assert rec["component"] == "agent" and rec["symbol"] == "handler"
    assert data["targets"]
    assert {"path", "component", "score", "caching", "async", "profiling",
            "optimization"} <= set(data["targets"][0])
    assert data["errors"] == [{"path": "agent/broken.py", "kind": "parse-error",
                               "message": data["errors"][0]["message"], "line": 1}]
    assert data["summary"]["errors"] == 1 and data["summary"]["files"] == 2


def test_output_file(project: Path, tmp_path: Path):
    out = tmp_path / "reports" / "nested" / "scan.json"
    result = invoke("scan", str(project), "--format", "json", "-o", str(out), "--no-cache")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["recommendations"] == 1
    short = tmp_path / "short.txt"
    assert invoke("scan", str(project), "-o", str(short), "--no-cache", "--fail-on",
                  "never").exit_code == 0
    assert "agent/handler.py:5" in short.read_text(encoding="utf-8")


def test_output_file_with_undecodable_file_name(tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / os.fsdecode(b"caf\xe9.py")).write_text("def f(:\n")
    out = tmp_path / "out.json"
    result = invoke("scan", str(root), "--format", "json", "-o", str(out), "--no-cache")
    assert result.exit_code == 0, result.output
    [error] = json.loads(out.read_text(encoding="utf-8"))["errors"]
    assert os.fsencode(error["path"]) == b"caf\xe9.py"  # \udce9 round-trips to the bytes
    assert error["kind"] == "parse-error"


SUPPRESSIONS = {
    "optadvisor-ignore-rule": ("# optadvisor: ignore[OPT101]", True),
    "optadvisor-ignore-group": ("# optadvisor: ignore[OPT1]", True),
    "optadvisor-ignore-all": ("# optadvisor: ignore", True),
    "noqa-rule": ("# noqa: OPT101", True),
    "noqa-list": ("# noqa: E501, OPT101", True),
    "bare-noqa": ("# noqa", True),
    "noqa-other-tool": ("# noqa: E501", False),
    "optadvisor-ignore-other-rule": ("# optadvisor: ignore[OPT202]", False),
    "plain-comment": ("# this is fine", False),
    # Another linter's code for a blocking call in async code: the author already decided.
    "noqa-flake8-async": ("# noqa: ASYNC210", True),
    "type-ignore-flake8-async": ("# type: ignore[ASYNC101]", True),
    "noqa-other-async-check": ("# noqa: ASYNC110", False),
    "type-ignore-other": ("# type: ignore[attr-defined]", False),
}


@pytest.mark.parametrize("comment, silenced", SUPPRESSIONS.values(), ids=SUPPRESSIONS.keys())
def test_suppression_comments(tmp_path: Path, comment: str, silenced: bool):
    write(tmp_path, {"a.py": BLOCKING.replace("timeout=5)", "timeout=5)  " + comment)})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [r.rule for r in report.recommendations] == ([] if silenced else ["OPT101"])
    assert report.summary.suppressed == (1 if silenced else 0)


NO_TIMEOUT = {
    # ruff's / bandit's code for a request without a timeout waives OPT202 on that line,
    # and nothing else: a blocking call in async code stays OPT101.
    "noqa-ruff-s113": ("# noqa: S113", [], ["OPT101"]),
    "nosec-b113": ("# nosec B113", [], ["OPT101"]),
    "bare-nosec": ("# nosec", ["OPT202"], ["OPT101"]),
    "nosec-other": ("# nosec B602", ["OPT202"], ["OPT101"]),
}


@pytest.mark.parametrize("comment, sync_left, async_left", NO_TIMEOUT.values(),
                         ids=NO_TIMEOUT.keys())
def test_another_linters_no_timeout_waiver_silences_opt202(
        tmp_path: Path, comment: str, sync_left: list[str], async_left: list[str]):
    code = BLOCKING.replace("timeout=5)", ")  " + comment)
    write(tmp_path, {"a.py": code, "b.py": code.replace("async def", "def")})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [r.rule for r in report.recommendations if r.path == "b.py"] == sync_left
    assert [r.rule for r in report.recommendations if r.path == "a.py"] == async_left


def test_suppression_is_per_line(tmp_path: Path):
    code = ('import requests\nimport time\n\n\nasync def handler(url):\n'
            '    time.sleep(1)  # noqa: OPT101\n    return requests.get(url, timeout=5)\n')
    write(tmp_path, {"a.py": code})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [(r.rule, r.line) for r in report.recommendations] == [("OPT101", 7)]


INTENT = {
    # A comment saying the call blocks on purpose waives the blocking-call rules for the
    # statement under it (held-out S39: prime-rl's "Synchronous on purpose" checkpoint save).
    "above": ("    # Synchronous on purpose: the payload is tiny and the state\n"
              "    # must not change mid-save\n    time.sleep(1)\n", []),
    "trailing": ("    time.sleep(1)  # deliberately blocking: nothing else runs yet\n", []),
    "by-design": ("    # blocks by design, see the note above\n    time.sleep(1)\n", []),
    "unrelated-purpose": ("    # On purpose we wait a second here\n    time.sleep(1)\n",
                          [("OPT101", 7)]),
    "blank-line-between": ("    # Synchronous on purpose\n\n    time.sleep(1)\n",
                           [("OPT101", 8)]),
    "in-a-string": ("    note = '# synchronous on purpose'\n    time.sleep(1)\n",
                    [("OPT101", 7)]),
    # Held-out S41 (deepagents): "Loading stays on the event loop deliberately".
    "stays-on-the-loop": ("    # Loading stays on the event loop deliberately: it must\n"
                          "    # not race the startup\n    time.sleep(1)\n", []),
    "non-blocking": ("    # deliberately non-blocking here\n    time.sleep(1)\n",
                     [("OPT101", 7)]),
}


@pytest.mark.parametrize("lines, left", INTENT.values(), ids=INTENT.keys())
def test_a_comment_saying_it_blocks_on_purpose_waives_the_blocking_rules(
        tmp_path: Path, lines: str, left: list):
    code = "import time\n\n\nasync def handler(url):\n    x = 1\n" + lines + "    return x\n"
    write(tmp_path, {"a.py": code})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    found = [(r.rule, r.line) for r in report.recommendations]
    assert found == left, code
    assert report.summary.suppressed == (0 if left else 1)


def test_a_helper_documented_as_synchronous_on_purpose_is_no_chain(tmp_path: Path):
    """Held-out S41 (deepagents): `_warn_yolo_active`'s docstring says "Deliberately
    synchronous. Callers warn before awaiting anything": coroutines calling it are not told
    to move it to a thread. A helper with no such words still is; "non-blocking" is no
    such word."""
    helpers = ""
    for name, doc in (("warn", "Deliberately synchronous: callers warn before awaiting."),
                      ("plain", "Warn the user."),
                      ("quick", "Deliberately non-blocking: returns at once.")):
        helpers += (f"def {name}(url):\n    \"\"\"{doc}\"\"\"\n"
                    f"    return requests.get(url, timeout=5)\n\n\n")
    code = ("import requests\n\n\n" + helpers + "async def handler(url):\n"
            "    warn(url)\n    plain(url)\n    quick(url)\n")
    write(tmp_path, {"a.py": code})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    lines = code.splitlines()
    assert [(r.rule, lines[r.line - 1].strip()) for r in report.recommendations] == [
        ("OPT104", "plain(url)"), ("OPT104", "quick(url)")]


def test_noqa_inside_a_string_is_not_a_comment(tmp_path: Path):
    write(tmp_path, {"a.py": BLOCKING.replace("requests.get(url, timeout=5)",
                                              "requests.get(url + '#noqa', timeout=5)")})
    report = scan(ScanOptions(paths=(tmp_path,), use_cache=False, jobs=1))
    assert [r.rule for r in report.recommendations] == ["OPT101"]


def run_on_pty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run optadvisor with stdout on a pseudo-terminal (stderr a pipe)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "optadvisor", *args], stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("no output in 60 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode(errors="replace"), err


def test_no_color_means_no_ansi_escapes(project: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "TERM")}
    env.update(TERM="xterm-256color", COLUMNS="120")
    args = ["scan", str(project), "--no-cache", "-j", "1"]
    code, colored, err = run_on_pty(args, env)
    assert code == 1
    assert ANSI.search(colored), "control: a terminal gets colors"
    assert err == ""  # stdout is a terminal, stderr is not: still no progress bar
    code, plain, err = run_on_pty(args, {**env, "NO_COLOR": "1"})
    assert code == 1
    assert "agent/handler.py:5" in plain
    assert not ANSI.search(plain) and not ANSI.search(err)
    # An error message on stderr (rich) honours it too.
    proc = subprocess.run([sys.executable, "-m", "optadvisor", "scan", str(project),
                           "--format", "pdf"], check=False, capture_output=True, text=True,
                          timeout=120, env={**env, "NO_COLOR": "1"})
    assert proc.returncode == 2 and "pdf" in proc.stderr and not ANSI.search(proc.stderr)


def test_table_layout_at_fixed_width(project: Path):
    from optadvisor.render.table import render

    write(project, {"agent/more.py": '''import requests
import httpx


def post(url):
    return httpx.Client(timeout=None).post(url)


async def get(url):
    return requests.get(url)
'''})
    report = scan(ScanOptions(paths=(project,), use_cache=False, jobs=1))
    # Two sites each carry a second rule as a facet (one site, one recommendation).
    assert len(report.recommendations) >= 3
    assert sum(len(r.facets) for r in report.recommendations) >= 2
    text = render(report, width=100, color=False)
    assert not ANSI.search(text)
    lines = text.rstrip("\n").split("\n")
    assert all(len(line) <= 100 for line in lines), max(lines, key=len)
    flat = " ".join(text.split())
    for header in ("priority", "score", "location", "kind", "agent", "message"):
        assert header in flat
    header = next(line for line in lines if "priority" in line and "message" in line)
    column = header.index("message")
    # Rows (a row wraps over several lines) in ranking order.
    rows: list[str] = []
    for line in lines:
        if re.match(r"^\s*\d+\s+(critical|high|medium|low)\s", line):
            rows.append(line)
        elif rows and line.startswith(" " * 20) and line.strip():
            rows[-1] += "\n" + line
        elif rows and not line.strip():
            break
    assert len(rows) == len(report.recommendations)
    for number, (row, rec) in enumerate(zip(rows, report.recommendations), start=1):
        first = row.split("\n")[0].split()
        assert first[:4] == [str(number), rec.priority, str(rec.score), f"{rec.path}:{rec.line}"]
        words = row.split()
        assert rec.kind in words and rec.rule in words and rec.component in words
        # The message column holds the whole message, folded over the row's lines.
        message = " ".join(line[column:].strip() for line in row.split("\n"))
        assert " ".join(message.split()) == " ".join(rec.message.split())
    # The report ends with the top targets, one per file with something to do.
    start = next(i for i, line in enumerate(lines) if line.strip() == "Top targets")
    shown = [line for line in lines[start + 1:] if line.strip()]
    targets = [line for line in shown if " score " in line]
    assert targets and all(line.startswith("  ") for line in targets)
    assert {t.split()[0] for t in targets} == {"agent/handler.py", "agent/more.py"}
    # Each target line is followed by what makes it one (the kinds of its findings).
    assert all(line.startswith("    ") for line in shown if " score " not in line)
    assert any("blocking-call-in-async" in line for line in shown if " score " not in line)
    assert lines[-1] == shown[-1]


def test_python_m_version():
    proc = py("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"optadvisor {__version__}"


def test_no_progress_bar_when_stderr_is_not_a_terminal(project: Path, tmp_path: Path):
    files = {f"pkg/m{i}.py": BLOCKING for i in range(12)}
    write(project, files)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.run([sys.executable, "-m", "optadvisor", "scan", str(project),
                           "--no-cache", "-j", "2", "--format", "json"],
                          check=False, capture_output=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["summary"]["files"] == 14
    assert proc.stderr == b""


def test_progress_is_gated_on_stderr_being_a_terminal(monkeypatch):
    from optadvisor import cli

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    with cli._progress(quiet=False) as hook:
        assert hook is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli._progress(quiet=False).enabled
    assert not cli._progress(quiet=True).enabled
    monkeypatch.setenv("CI", "true")
    assert not cli._progress(quiet=False).enabled


def test_unknown_rule_codes_are_a_usage_error_naming_the_closest(tmp_path):
    from typer.testing import CliRunner

    from optadvisor.cli import app

    (tmp_path / "a.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    runner = CliRunner()
    typo = runner.invoke(app, ["scan", str(tmp_path), "--select", "OPT1O1"])
    assert typo.exit_code == 2 and "OPT1O1" in typo.output and "OPT101" in typo.output
    assert runner.invoke(app, ["scan", str(tmp_path), "--ignore", "OPT9"]).exit_code == 2
    (tmp_path / "pyproject.toml").write_text('[tool.optadvisor]\nignore = ["OPT2O2"]\n')
    config = runner.invoke(app, ["scan", str(tmp_path)])
    assert config.exit_code == 2 and "OPT202" in config.output
    (tmp_path / "pyproject.toml").write_text('[tool.optadvisor]\nignore = ["OPT2"]\n')
    groups = runner.invoke(app, ["scan", str(tmp_path), "--select", "OPT1,ALL"])
    assert groups.exit_code == 1, groups.output  # OPT101 found, fails --fail-on high


def test_unknown_rule_code_in_a_suppression_comment_is_a_usage_error(tmp_path):
    from typer.testing import CliRunner

    from optadvisor.cli import app

    runner = CliRunner()
    (tmp_path / "a.py").write_text(
        "import time\n\nasync def f():\n    time.sleep(1)  # noqa: E501, OPT101\n")
    assert runner.invoke(app, ["scan", str(tmp_path), "--no-cache"]).exit_code == 0
    (tmp_path / "b.py").write_text(
        "import time\n\nasync def g():\n    time.sleep(1)  # optadvisor: ignore[OPT1O1]\n")
    typo = runner.invoke(app, ["scan", str(tmp_path), "--no-cache"])
    assert typo.exit_code == 2, typo.output
    assert "b.py:4" in typo.output and "OPT101" in typo.output


def test_terminal_format_flags_statistics_exit_zero_and_format_from_extension(tmp_path):
    from typer.testing import CliRunner

    from optadvisor.cli import app

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("import time, requests\n\nasync def f(u):\n    time.sleep(1)\n"
                              "    requests.get(u)\n")
    runner = CliRunner()
    base = ["scan", str(src), "--no-cache"]
    default = runner.invoke(app, base)
    assert default.exit_code == 1
    assert re.search(r"a\.py:4:5: OPT101 \[high\] ", default.output), default.output
    assert "write instead:" in default.output and "await asyncio.sleep(1)" in default.output
    assert "Gate: 2 at or above --fail-on high (exit 1)" in default.output
    concise = runner.invoke(app, [*base, "--output-format", "concise"])
    assert len([ln for ln in concise.output.splitlines() if ": OPT" in ln]) == 2
    stats = runner.invoke(app, [*base, "--statistics"])
    assert stats.exit_code == 1
    # requests.get is one site with two rules (blocking, no timeout): counted for each.
    assert stats.output.splitlines() == ["2\tOPT101\t[*] blocking-call-in-async",
                                         "1\tOPT202\t    missing-timeout"], stats.output
    zero = runner.invoke(app, [*base, "--exit-zero"])
    assert zero.exit_code == 0 and "Gate: --fail-on never (exit 0)." in zero.output
    html = tmp_path / "out" / "report.html"
    assert runner.invoke(app, [*base, "-o", str(html)]).exit_code == 1
    assert html.read_text().lstrip().lower().startswith("<!doctype html")
    saved = tmp_path / "scan.json"
    assert runner.invoke(app, [*base, "-o", str(saved)]).exit_code == 1
    json.loads(saved.read_text())
    shown = runner.invoke(app, ["report", str(saved)])
    assert shown.exit_code == 0 and "<html" not in shown.output.lower()
    assert re.search(r"a\.py:4:5: OPT101", shown.output), shown.output
    md = tmp_path / "summary.md"
    assert runner.invoke(app, ["report", str(saved), "-o", str(md)]).exit_code == 0
    assert md.read_text().startswith("## ")
    text = tmp_path / "findings.txt"
    assert runner.invoke(app, [*base, "-o", str(text)]).exit_code == 1
    assert "\x1b[" not in text.read_text() and "OPT101" in text.read_text()


@pytest.mark.parametrize("words", [[], ["scan"], ["profile"], ["report"], ["compare"],
                                   ["rules"], ["rules", "show"], ["rules", "check"]])
def test_help_has_plain_metavars_and_each_default_once(words):
    # Through the installed entry point (main), as a user runs it.
    done = subprocess.run([sys.executable, "-m", "optadvisor", *words, "--help"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert not re.search(r"<(bool|str|int|path|list|float|int range)", out), out
    assert "{" not in out.split("\n", 3)[1] and "[default:" not in out, out
    if words == ["scan"]:
        assert "Usage: optadvisor scan [OPTIONS] PATH..." in out
        assert re.search(r"--select\s+RULES", out) and re.search(r"--output\s+-o\s+FILE", out)
        assert re.search(r"--jobs\s+-j\s+N", out)
