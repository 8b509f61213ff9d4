"""`--format gitlab`: a GitLab Code Quality report (the CodeClimate subset GitLab reads).

Each recommendation is one issue: description, check_name, fingerprint, severity,
location.path and location.lines.begin are what GitLab requires; the rest (categories,
content, lines.end) it shows when present.
"""

from __future__ import annotations

from typing import Any

from optadvisor.models import Recommendation, Report
from optadvisor.render import json_text
from optadvisor.render.common import repo_path, fenced, level, one_line


def render(report: Report) -> str:
    issues = [issue(rec, repo_path(report, rec.path)) for rec in report.recommendations]
    return json_text(issues, indent=2) + "\n"


def issue(rec: Recommendation, path: str) -> dict[str, Any]:
    body = [rec.impact] if rec.impact else []
    if rec.snippet.after.strip():
        body.append("Instead:\n\n" + fenced(rec.snippet.after.strip(), "python"))
    elif rec.fix is not None and rec.fix.message:
        body.append("Instead: " + rec.fix.message)
    return {
        "type": "issue",
        "engine_name": "optadvisor",
        "check_name": rec.rule,
        "description": one_line(f"{rec.rule} {rec.message}"),
        "content": {"body": "\n\n".join(body)},
        "categories": ["Performance"],
        "fingerprint": rec.fingerprint,
        "severity": level(rec.priority).gitlab,
        "location": {
            "path": path,
            "lines": {"begin": rec.line, "end": max(rec.line, rec.end_line)},
        },
    }
