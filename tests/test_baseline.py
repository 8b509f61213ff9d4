"""Baselines, --also, and `optadvisor report`: CI scans once, fails only on new findings."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from optadvisor.cli import app

def expected_count() -> int:
    """How many sites the fixtures golden file lists (rules matching one call are one
    recommendation with facets; no two flagged calls of the fixtures share a line)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    findings = tomllib.loads((FIXTURES / "EXPECTED.toml").read_text())["finding"]
    return len({(f["path"], f["line"]) for f in findings})


FIXTURE_FINDINGS = expected_count()

SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    target = tmp_path / "agents"
    shutil.copytree(FIXTURES, target)
    return target


def test_nothing_new_after_writing_a_baseline(tree, tmp_path):
    baseline = tmp_path / "baseline.json"
    first = run("scan", str(tree), "--write-baseline", str(baseline), "--fail-on", "never")
    assert first.exit_code == 0
    recorded = json.loads(baseline.read_text())
    assert recorded["kind"] == "optadvisor-baseline" and len(recorded["fingerprints"]) == FIXTURE_FINDINGS
    second = run("scan", str(tree), "--baseline", str(baseline), "--format", "json",
                 "--fail-on", "low")
    assert second.exit_code == 0, second.output
    data = json.loads(second.output)
    assert data["recommendations"] == []
    assert data["summary"]["baseline"] == {"new": 0, "unchanged": FIXTURE_FINDINGS, "fixed": 0}


def test_moving_and_editing_other_lines_keeps_findings_known(tree, tmp_path):
    baseline = tmp_path / "baseline.json"
    run("scan", str(tree), "--write-baseline", str(baseline))
    fetch = tree / "research" / "fetch.py"
    text = fetch.read_text()
    # Push everything down and put a new function between the old ones; the flagged
    # lines themselves are untouched, so every finding keeps its fingerprint.
    assert "async def fetch_page" in text
    text = "# a new header comment\n\n\n" + text.replace(
        "async def fetch_page", "def unrelated_helper(x):\n    return x * 2\n\n\nasync def fetch_page", 1)
    fetch.write_text(text)
    agent = tree / "research" / "agent.py"
    agent.write_text(agent.read_text() + "\n\ndef unrelated():\n    return 42\n")
    result = run("scan", str(tree), "--baseline", str(baseline), "--format", "json")
    data = json.loads(result.output)
    assert data["summary"]["baseline"]["new"] == 0, [
        (r["path"], r["line"], r["message"]) for r in data["recommendations"]]
    assert result.exit_code == 0


def test_a_new_problem_is_new_and_fails(tree, tmp_path):
    baseline = tmp_path / "baseline.json"
    run("scan", str(tree), "--write-baseline", str(baseline))
    tools = tree / "research" / "tools.py"
    tools.write_text(tools.read_text() + "\n\nasync def nap():\n    time.sleep(3)\n")
    result = run("scan", str(tree), "--baseline", str(baseline), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    (new,) = data["recommendations"]
    assert new["path"] == "research/tools.py" and new["baseline_state"] == "new"
    assert data["summary"]["baseline"]["unchanged"] == FIXTURE_FINDINGS


def test_sarif_marks_baseline_states(tree, tmp_path):
    baseline = tmp_path / "baseline.json"
    run("scan", str(tree), "--write-baseline", str(baseline))
    (tree / "research" / "tools.py").write_text(
        (tree / "research" / "tools.py").read_text() + "\n\nasync def nap():\n    time.sleep(3)\n")
    out = tmp_path / "out.sarif"
    run("scan", str(tree), "--baseline", str(baseline), "--format", "sarif", "-o", str(out))
    document = json.loads(out.read_text())
    states = [r["baselineState"] for r in document["runs"][0]["results"]]
    assert states.count("new") == 1 and states.count("unchanged") == FIXTURE_FINDINGS
    if SARIF_SCHEMA.is_file():
        import jsonschema

        jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))


@pytest.mark.parametrize("content,fragment", [
    (None, "baseline file not found"),
    ("{not json", "not a readable baseline"),
    ('{"kind": "other"}', "not an optadvisor baseline"),
])
def test_bad_baseline_is_exit_2(tmp_path, content, fragment):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    result = run("scan", str(FIXTURES), "--baseline", str(path))
    assert result.exit_code == 2
    assert fragment in result.output


def test_also_writes_several_formats_from_one_scan(tmp_path):
    out = tmp_path / "r.json"
    result = run("scan", str(FIXTURES), "--format", "json", "-o", str(out),
                 "--also", f"sarif:{tmp_path / 'r.sarif'}",
                 "--also", f"markdown:{tmp_path / 'r.md'}", "--fail-on", "never")
    assert result.exit_code == 0
    assert json.loads(out.read_text())["summary"]["recommendations"] == FIXTURE_FINDINGS
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
    assert "optadvisor" in (tmp_path / "r.md").read_text()
    assert run("scan", str(FIXTURES), "--also", "pdf:x.pdf").exit_code == 2
    assert run("scan", str(FIXTURES), "--also", "sarif").exit_code == 2


def test_report_renders_and_merges_saved_scans(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    run("scan", str(FIXTURES / "research"), "--format", "json", "-o", str(first))
    run("scan", str(FIXTURES / "support"), "--format", "json", "-o", str(second))
    html = tmp_path / "r.html"
    result = run("report", str(first), str(second), "--format", "html", "-o", str(html))
    assert result.exit_code == 0, result.output
    merged = run("report", str(first), str(second), "--format", "json")
    data = json.loads(merged.output)
    a, b = (json.loads(p.read_text()) for p in (first, second))
    assert data["summary"]["recommendations"] == (a["summary"]["recommendations"]
                                                 + b["summary"]["recommendations"])
    assert data["summary"]["files"] == a["summary"]["files"] + b["summary"]["files"]
    assert "<html" in html.read_text()
    assert run("report", str(first), "--fail-on", "high").exit_code == 1


def test_report_refuses_what_is_not_a_report(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    result = run("report", str(bad))
    assert result.exit_code == 2 and "not an optadvisor report" in result.output
    assert run("report", str(tmp_path / "missing.json")).exit_code == 2


def test_internal_errors_exit_2_without_traceback(tmp_path):
    import subprocess

    env_code = ("import optadvisor.api as api\n"
                "def boom(*a, **k): raise RuntimeError('kaboom')\n"
                "api.scan = boom\n"
                "import sys; sys.argv = ['optadvisor', 'scan', sys.argv[1]]\n"
                "from optadvisor.cli import main; main()\n")
    proc = subprocess.run([sys.executable, "-c", env_code, str(FIXTURES)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "internal error: RuntimeError: kaboom" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_fix_to_a_calls_arguments_keeps_its_other_findings_known(tmp_path):
    """`scan --fix` adds `timeout=` to a blocking call whose thread offload is only an unsafe
    fix: the blocking finding that stays is the one the baseline holds, not a new one."""
    tree = tmp_path / "svc"
    tree.mkdir()
    code = "import requests\n\n\nasync def fetch(url):\n    return requests.get(url){}\n"
    (tree / "svc.py").write_text(code.format(""))
    baseline = tmp_path / "baseline.json"
    run("scan", str(tree), "--write-baseline", str(baseline), "--select", "OPT101,OPT202")
    (tree / "svc.py").write_text(code.format("").replace("(url)", "(\n        url, timeout=30,\n    )"))
    result = run("scan", str(tree), "--baseline", str(baseline), "--format", "json",
                 "--select", "OPT101,OPT202")
    data = json.loads(result.output)
    assert data["summary"]["baseline"] == {"new": 0, "unchanged": 1, "fixed": 0}, data


def test_a_baseline_written_before_callee_fingerprints_matches_by_rule_file_and_symbol(
        tree, tmp_path):
    baseline = tmp_path / "baseline.json"
    run("scan", str(tree), "--write-baseline", str(baseline))
    document = json.loads(baseline.read_text())
    del document["fingerprint_version"]
    entries = list(document["fingerprints"].values())
    # Old hashes, one finding more than today (fixed since) and one less (new since).
    old = {f"{i:032x}": entry for i, entry in enumerate(entries[1:])}
    old["f" * 32] = {"rule": "OPT101", "path": "gone.py", "symbol": "gone", "line": 1}
    document["fingerprints"] = old
    baseline.write_text(json.dumps(document))
    result = run("scan", str(tree), "--baseline", str(baseline), "--format", "json")
    data = json.loads(result.output)
    assert data["summary"]["baseline"] == {
        "new": 1, "unchanged": FIXTURE_FINDINGS - 1, "fixed": 1}, data["summary"]
    (new,) = data["recommendations"]
    assert (new["rule"], new["path"], new["symbol"]) == (
        entries[0]["rule"], entries[0]["path"], entries[0]["symbol"])
