"""`--format gitlab`: a Code Quality report GitLab accepts; golden on the fixtures."""

from __future__ import annotations

import json

from test_render_common import EVIL_PATH, check_golden, evil_report, stable_report

from optadvisor.render import gitlab

SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


def test_fixtures_golden():
    check_golden("fixtures.gitlab.json", gitlab.render(stable_report()))


def test_issues_have_what_gitlab_requires():
    report = stable_report()
    issues = json.loads(gitlab.render(report))
    assert len(issues) == len(report.recommendations)
    for issue, rec in zip(issues, report.recommendations):
        assert isinstance(issue["description"], str) and issue["description"]
        assert issue["check_name"] == rec.rule
        assert issue["fingerprint"] == rec.fingerprint
        assert issue["severity"] in SEVERITIES
        assert issue["location"]["path"] == f"{report.path_prefix}/{rec.path}"
        assert issue["location"]["lines"]["begin"] == rec.line >= 1
        assert "\n" not in issue["description"]
    # GitLab collapses issues with the same fingerprint: they must be unique.
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_severity_follows_priority():
    report = stable_report()
    issues = json.loads(gitlab.render(report))
    expected = {"critical": "critical", "high": "major", "medium": "minor", "low": "info"}
    for issue, rec in zip(issues, report.recommendations):
        assert issue["severity"] == expected[rec.priority]


def test_hostile_content_round_trips_as_data():
    issues = json.loads(gitlab.render(evil_report()))
    assert issues[0]["location"]["path"] == "fixtures/agents/" + EVIL_PATH
