"""Every JSON format escapes the control characters of the text it did not write.

JSON may carry DEL, the C1 controls (U+009B is a CSI, as ESC [ is), U+2028/9 and lone
surrogates raw inside a string, and `json.dumps(..., ensure_ascii=False)` did: a
`cat report.json` then sent a file name's CSI to the terminal. Each format now writes them
as \\uXXXX (what they stand for is unchanged: the document reads back the same), while
non-ASCII letters stay readable."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import write
from test_compare import rec, report
from test_render_common import stable_report, with_recommendations

from optadvisor.compare import compare_reports, render_comparison
from optadvisor.models import Snippet
from optadvisor.render import get_renderer, json_text

CONTROLS = "\x1b[2J\x9b31m\x7f\x07\u2028\u2029"
"""ESC and a C1 CSI that clear and colour a terminal, DEL, BEL, the JS line separators."""
READABLE = "café-中文"
# Raw in the output: any control character but the newlines of the indentation.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def strings(value: object) -> list[str]:
    """Every string (keys too) of a decoded JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def check(out: str, *texts: str) -> None:
    """`out` holds no raw control, shows them escaped, keeps letters, and reads back with
    each of `texts` intact in one of its strings."""
    assert RAW.search(out) is None, RAW.search(out)
    for escaped in ("\\u001b", "\\u009b", "\\u007f", "\\u2028", "\\u2029"):
        assert escaped in out
    assert READABLE in out
    found = strings(json.loads(out))
    for text in texts:
        assert any(text in s for s in found), text


def hostile_report():
    report_ = stable_report()
    first = report_.recommendations[0]
    return with_recommendations(report_, [dataclasses.replace(
        first, path=f"routes/{CONTROLS}{READABLE}.py", component=f"c{CONTROLS}",
        message=f"call {CONTROLS}{READABLE}",
        snippet=Snippet(before=f"x = 1  # {CONTROLS}", after=f"y = 2  # {CONTROLS}",
                        line=first.line))])


@pytest.mark.parametrize("name", ["json", "sarif", "gitlab"])
def test_every_json_format_escapes_control_characters_and_reads_back(name: str):
    out = get_renderer(name)(hostile_report())
    # SARIF writes the path as a URI (percent-encoded), GitLab the message as one line
    # with its controls shown as text (`\x1b`, as every text format does).
    path, message = f"routes/{CONTROLS}{READABLE}.py", f"call {CONTROLS}{READABLE}"
    check(out, *{"json": (path, message), "sarif": (message,), "gitlab": (path,)}[name])


def test_compare_json_escapes_control_characters():
    path = f"a{CONTROLS}{READABLE}.py"
    comparison = compare_reports(report(rec("b.py", 1)), report(rec(path, 2)), 0.1)
    check(render_comparison(comparison, "json"), path)


def test_the_html_reports_data_is_escaped_json_too():
    from optadvisor.render.html import _json_for_script

    out = str(_json_for_script({"path": f"{CONTROLS}{READABLE}</script>"}))
    check(out, f"{CONTROLS}{READABLE}</script>")
    assert "</" not in out


def test_a_file_name_that_is_not_utf8_is_written_escaped_not_a_crash():
    # A lone surrogate (how Python holds a name's undecodable byte) cannot be written as
    # UTF-8 at all: json_text escapes it, and it reads back as the same string.
    value = {"path": "bad\udcff.py"}
    out = json_text(value, indent=2)
    assert "\\udcff" in out and json.loads(out) == value
    out.encode("utf-8")  # would raise on a raw surrogate


def test_the_escape_pass_changes_nothing_else():
    value = {"a": [1, 2.5, None, True], "b": "plain é \\u009b \t\n", "c": {"d": ""}}
    for indent in (None, 2):
        assert json_text(value, indent=indent) == json.dumps(
            value, ensure_ascii=False, indent=indent,
            separators=(",", ":") if indent is None else None)


@pytest.mark.skipif(sys.platform == "win32", reason="ESC cannot be in a Windows file name")
def test_a_hostile_file_name_round_trips_through_every_json_output(tmp_path: Path):
    # For real: a file whose name and code hold the controls, scanned to json, sarif,
    # gitlab and a shard document, and the shard document read back by `report`.
    name = f"h{CONTROLS}{READABLE}.py"
    code = ("import requests\n\n\nasync def handler(url):\n"
            f"    return requests.get(url, timeout=5)  # {CONTROLS}\n")
    root = write(tmp_path / "repo", {name: code})
    out = tmp_path / "out"
    out.mkdir()

    def run(*args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "optadvisor", *args, "--fail-on",
                               "never"], capture_output=True, text=True, timeout=180,
                              check=False)
        assert proc.returncode == 0, proc.stderr

    run("scan", str(root), "--no-cache", "--format", "json", "-o", str(out / "scan.json"),
        "--also", f"sarif:{out / 'scan.sarif'}", "--also", f"gitlab:{out / 'gl.json'}")
    run("scan", str(root), "--no-cache", "--shard", "1/1", "--format", "json",
        "-o", str(out / "shard.json"))
    run("report", str(out / "shard.json"), "--format", "json", "-o", str(out / "merged.json"))
    for produced in ("scan.json", "scan.sarif", "gl.json", "shard.json", "merged.json"):
        text = (out / produced).read_text(encoding="utf-8")
        assert RAW.search(text) is None, (produced, RAW.search(text))
        if produced != "scan.sarif":  # a URI there, percent-encoded (checked below)
            assert READABLE in text and "\\u009b" in text, produced
    sarif = json.loads((out / "scan.sarif").read_text(encoding="utf-8"))
    [result] = sarif["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert unquote(uri) == name
    for produced in ("scan.json", "merged.json"):
        data = json.loads((out / produced).read_text(encoding="utf-8"))
        assert [r["path"] for r in data["recommendations"]] == [name], produced
    shard = json.loads((out / "shard.json").read_text(encoding="utf-8"))
    assert name in strings(shard)
