"""`--format sarif`: SARIF 2.1.0 the way GitHub code scanning reads it.

Rules carry their documentation (short/full description, help as text and Markdown,
default level, tags, precision); results point at one repo-relative location under
`%SRCROOT%` and carry `partialFingerprints["optadvisor/v1"]` so alerts survive edits
elsewhere in the file. No `security-severity`: these are performance findings, and that
property would file them as security alerts.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from optadvisor.models import ErrorRecord, Recommendation, Report, Rule
from optadvisor.render import json_text
from optadvisor.render.common import repo_path, fenced, level, rule_metadata

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "optadvisor/v1"
SRCROOT = "%SRCROOT%"
DOC_SECTIONS = (("what", "What it does"), ("why", "Why is this slow?"),
                ("example", "Example"), ("instead", "Use instead"),
                ("impact", "Expected impact"), ("safety", "Fix safety"),
                ("references", "References"))
CODE_SECTIONS = {"example", "instead"}
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


def render(report: Report) -> str:
    return json_text(document(report), indent=2) + "\n"


def document(report: Report) -> dict[str, Any]:
    metadata = rule_metadata(report)
    # Every shipped rule is described, used or not, so a rule's help is there before
    # its first alert; rules only a recommendation knows are described from it.
    ids = sorted(metadata)
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    driver: dict[str, Any] = {
        "name": "optadvisor",
        "fullName": "optadvisor performance advisor",
        "version": report.tool_version or "0",
        "rules": [_rule(metadata[rule_id]) for rule_id in ids],
    }
    if _SEMVER.match(report.tool_version or ""):
        driver["semanticVersion"] = report.tool_version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: _srcroot(report)},
        "columnKind": "unicodeCodePoints",
        # With a baseline, known findings are listed too, marked unchanged, so code
        # scanning keeps their alerts open instead of closing and reopening them.
        "results": [_result(rec, index[rec.rule], repo_path(report, rec.path))
                    for rec in (*report.recommendations, *report.unchanged)],
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [_notification(e, repo_path(report, e.path))
                                           for e in report.errors],
        }],
        "properties": {"summary": report.summary.to_dict()},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _srcroot(report: Report) -> dict[str, Any]:
    location: dict[str, Any] = {
        "description": {"text": "The repository root; result paths are relative to it."}}
    root = report.root
    if root and Path(root).is_absolute():
        base = Path(root)
        for _ in PurePosixPath(report.path_prefix).parts if report.path_prefix else ():
            base = base.parent
        uri = base.as_uri()
        location["uri"] = uri if uri.endswith("/") else uri + "/"
    return location


def _rule(rule: Rule) -> dict[str, Any]:
    docs = {key: value.strip() for key, value in rule.docs.items() if value.strip()}
    full = docs.get("what") or rule.title
    tags = list(dict.fromkeys(rule.tags or ("performance", rule.category)))
    return {
        "id": rule.id,
        "name": _pascal(rule.kind),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": full},
        "help": {"text": _help_text(rule, docs), "markdown": _help_markdown(rule, docs)},
        "defaultConfiguration": {"level": level(rule.priority).sarif},
        "properties": {
            "tags": tags,
            "precision": rule.precision,
            "kind": rule.kind,
            "category": rule.category,
            "priority": rule.priority,
        },
    }


def _pascal(kind: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", kind) if part)


def _help_text(rule: Rule, docs: dict[str, str]) -> str:
    parts = [f"{rule.id} {rule.kind}: {rule.title}"]
    for key, label in DOC_SECTIONS:
        if key in docs:
            parts.append(f"{label if label.endswith('?') else label + ':'}\n{docs[key]}")
    if len(parts) == 1 and rule.impact:
        parts.append(f"Expected impact:\n{rule.impact}")
    return "\n\n".join(parts)


def _help_markdown(rule: Rule, docs: dict[str, str]) -> str:
    parts = [f"**{rule.id}** `{rule.kind}`: {rule.title}"]
    for key, label in DOC_SECTIONS:
        if key not in docs:
            continue
        body = docs[key]
        if key in CODE_SECTIONS:
            body = fenced(body, "python")
        parts.append(f"### {label}\n\n{body}")
    if len(parts) == 1 and rule.impact:
        parts.append(f"### Expected impact\n\n{rule.impact}")
    return "\n\n".join(parts)


def _result(rec: Recommendation, rule_index: int, path: str) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(1, rec.line)}
    if rec.column >= 1:
        region["startColumn"] = rec.column
    if rec.end_line >= region["startLine"]:
        region["endLine"] = rec.end_line
        # endColumn is one past the last character, like ours; an empty or inverted
        # span on one line would be invalid, so it is left out there.
        if rec.end_column >= 1 and (rec.end_line > rec.line or rec.end_column > rec.column):
            region["endColumn"] = rec.end_column
    return {
        "ruleId": rec.rule,
        "ruleIndex": rule_index,
        "level": level(rec.priority).sarif,
        "message": {"text": rec.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": _artifact(path),
            "region": region,
        }}],
        "partialFingerprints": {FINGERPRINT_KEY: rec.fingerprint},
        **({"baselineState": rec.baseline_state} if rec.baseline_state else {}),
        "properties": {
            "priority": rec.priority,
            "score": rec.score,
            "kind": rec.kind,
            "component": rec.component,
            "symbol": rec.symbol,
            "confidence": rec.confidence,
            "effort": rec.effort,
            "impact": rec.impact,
            "suggestion": rec.snippet.after or (rec.fix.message if rec.fix else ""),
            **({"fixApplicability": rec.fix.applicability} if rec.fix else {}),
        },
        **({"fixes": [_fix(rec, path)]} if rec.fix is not None and rec.fix.edits else {}),
    }


def _fix(rec: Recommendation, path: str) -> dict[str, Any]:
    """The edits as SARIF replacements: each deletes a region (empty for an insertion)
    and inserts text."""
    assert rec.fix is not None
    replacements = []
    for edit in rec.fix.edits:
        region: dict[str, int] = {"startLine": edit.line, "startColumn": edit.column,
                                  "endLine": edit.end_line, "endColumn": edit.end_column}
        replacements.append({"deletedRegion": region, "insertedContent": {"text": edit.content}})
    return {
        "description": {"text": f"{rec.fix.applicability} fix: {rec.fix.message}"
                        if rec.fix.message else f"{rec.fix.applicability} fix"},
        "artifactChanges": [{"artifactLocation": _artifact(path),
                             "replacements": replacements}],
    }


def _artifact(path: str) -> dict[str, str]:
    """A URI relative to %SRCROOT% (POSIX separators, each segment percent-encoded); a
    path outside the scanned root (an explicit absolute path) becomes a file URI."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    # surrogateescape: a name that is not UTF-8 is percent-encoded as its own bytes.
    return {"uri": "/".join(quote(part, safe="", errors="surrogateescape")
                            for part in posix.parts),
            "uriBaseId": SRCROOT}


def _notification(error: ErrorRecord, path: str) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": _artifact(path)}
    if error.line:
        location["region"] = {"startLine": error.line}
    return {
        "level": "warning",
        "message": {"text": f"{error.kind}: {error.message}"},
        "locations": [{"physicalLocation": location}],
        "descriptor": {"id": error.kind},
    }
