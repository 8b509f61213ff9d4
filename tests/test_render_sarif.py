"""`--format sarif`: valid SARIF 2.1.0 (the official schema) with what GitHub code
scanning reads: documented rules, levels, repo-relative locations, fingerprints."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from test_render_common import EVIL_PATH, evil_report, stable_report, with_recommendations

from optadvisor.render import sarif
from optadvisor.rules import load_rules

REPO = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = REPO.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
"""The official schema, kept next to the repository (../shared/schemas/)."""
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def official_schema() -> dict:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"the official SARIF 2.1.0 schema is not at {SARIF_SCHEMA} "
                    "(../shared/schemas/ next to the repository): cannot validate against it")
    return json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))


def validate(document: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    validator = jsonschema.Draft4Validator(official_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def test_fixtures_output_validates_against_the_official_schema():
    validate(json.loads(sarif.render(stable_report())))


def test_hostile_paths_validate_and_are_percent_encoded():
    document = json.loads(sarif.render(evil_report()))
    validate(document)
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    uri = location["artifactLocation"]["uri"]
    # The "/" of "</script>" separates path segments, like any other.
    assert uri == "fixtures/agents/agents/%3Cscript%3Ealert%281%29%3C/script%3E.py"
    from urllib.parse import unquote
    assert unquote(uri) == "fixtures/agents/" + EVIL_PATH


def test_rules_carry_their_documentation():
    document = json.loads(sarif.render(stable_report()))
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    shipped = {c.rule.id: c.rule for c in load_rules()}
    assert set(shipped) <= {r["id"] for r in rules}
    for rule in rules:
        meta = shipped[rule["id"]]
        assert rule["shortDescription"]["text"] == meta.title
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] == LEVEL[meta.priority]
        assert rule["properties"]["tags"] and rule["properties"]["precision"] in (
            "very-high", "high", "medium", "low")
        if meta.docs.get("example"):
            assert "```python\n" in rule["help"]["markdown"]


def test_results_point_at_one_relative_location_with_a_versioned_fingerprint():
    report = stable_report()
    document = json.loads(sarif.render(report))
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert report.path_prefix == "fixtures/agents"
    # %SRCROOT% is the repository root, and result paths are relative to it.
    srcroot = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert srcroot.startswith("file:///") and srcroot.endswith("/")
    assert not srcroot.rstrip("/").endswith("fixtures/agents")
    assert len(run["results"]) == len(report.recommendations)
    for result, rec in zip(run["results"], report.recommendations):
        assert result["ruleId"] == rec.rule == rules[result["ruleIndex"]]["id"]
        assert result["level"] == LEVEL[rec.priority]
        assert result["message"]["text"] == rec.message
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": f"fixtures/agents/{rec.path}", "uriBaseId": "%SRCROOT%"}
        region = location["physicalLocation"]["region"]
        assert region["startLine"] == rec.line >= 1 and region["startColumn"] == rec.column
        assert region["endLine"] == rec.end_line
        assert result["partialFingerprints"] == {"optadvisor/v1": rec.fingerprint}


def test_no_security_severity():
    assert "security-severity" not in sarif.render(stable_report())


def test_rule_not_shipped_is_described_from_the_recommendation():
    report = stable_report()
    rec = dataclasses.replace(report.recommendations[0], rule="ZZZ999", priority="low")
    document = json.loads(sarif.render(with_recommendations(report, [rec])))
    validate(document)
    run = document["runs"][0]
    rule = run["tool"]["driver"]["rules"][run["results"][0]["ruleIndex"]]
    assert rule["id"] == "ZZZ999" and rule["defaultConfiguration"]["level"] == "note"
    assert run["results"][0]["level"] == "note"


def test_unreadable_files_become_tool_notifications():
    from optadvisor.models import ErrorRecord

    report = dataclasses.replace(stable_report(), errors=(
        ErrorRecord("bad/file.py", "parse-error", "invalid syntax", line=3),))
    document = json.loads(sarif.render(report))
    validate(document)
    (note,) = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == "parse-error: invalid syntax"
