"""Baselines: record today's findings, then report only what is new.

A baseline is the set of fingerprints of a report. Fingerprints (engine.py) are built from
the rule, the file, the enclosing symbol, the flagged code with its whitespace normalized
and an occurrence index — never line numbers — so moving code or editing other lines
keeps a finding "unchanged".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from optadvisor import __version__
from optadvisor.config import ConfigError
from optadvisor.inputs import DOCUMENT_BYTES, InputError, load_json
from optadvisor.models import PRIORITIES, Report
from optadvisor.scoring import plan

KIND = "optadvisor-baseline"
VERSION = 1
FINGERPRINTS = 2
"""How fingerprints are made: 2 quotes a call's callee, not its whole text (since 0.x of
2026-12: a fix that adds `timeout=` no longer makes the call's other findings "new").
A baseline without this number is matched by rule, file and symbol instead."""


def write_baseline(report: Report, path: Path) -> None:
    entries = {
        rec.fingerprint: {"rule": rec.rule, "path": rec.path, "symbol": rec.symbol,
                          "line": rec.line}
        for rec in (*report.recommendations, *report.unchanged)
    }
    document = {"kind": KIND, "schema_version": VERSION, "tool_version": __version__,
                "fingerprint_version": FINGERPRINTS,
                "fingerprints": dict(sorted(entries.items()))}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write baseline: {exc}") from exc


def load_baseline(path: Path) -> dict[str, Any]:
    try:
        document = load_json(path, DOCUMENT_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"{path}: baseline file not found (create it with "
                          "--write-baseline)") from None
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable baseline: {exc}") from None
    if not isinstance(document, dict) or document.get("kind") != KIND or not isinstance(
            document.get("fingerprints"), dict):
        raise ConfigError(f"{path}: not an optadvisor baseline (expected kind {KIND!r})")
    if document.get("schema_version") != VERSION:
        raise ConfigError(f"{path}: baseline schema_version {document.get('schema_version')!r}"
                          f" is not supported (this optadvisor writes {VERSION})")
    fingerprints = document["fingerprints"]
    if document.get("fingerprint_version") != FINGERPRINTS:
        # Written before fingerprints quoted only the callee: its hashes no longer match,
        # but each entry also records its rule, file and symbol.
        fingerprints = {fp: {**entry, "legacy": True} if isinstance(entry, dict) else entry
                        for fp, entry in fingerprints.items()}
    return fingerprints


def apply_baseline(report: Report, fingerprints: dict[str, Any]) -> Report:
    """Keep new recommendations in `recommendations`; move known ones to `unchanged`.
    Entries of an older baseline (`legacy`) are matched by rule, file and symbol, as many
    findings per triple as the baseline held."""
    legacy = Counter((entry.get("rule"), entry.get("path"), entry.get("symbol"))
                     for entry in fingerprints.values()
                     if isinstance(entry, dict) and entry.get("legacy"))
    new, unchanged = [], []
    matched: set[str] = set()
    for rec in report.recommendations:
        triple = (rec.rule, rec.path, rec.symbol)
        if rec.fingerprint in fingerprints:
            matched.add(rec.fingerprint)
            unchanged.append(replace(rec, baseline_state="unchanged"))
        elif legacy[triple] > 0:
            legacy[triple] -= 1
            unchanged.append(replace(rec, baseline_state="unchanged"))
        else:
            new.append(replace(rec, baseline_state="new"))
    fixed = sum(1 for fp, entry in fingerprints.items()
                if fp not in matched and not (isinstance(entry, dict) and entry.get("legacy")))
    fixed += sum(legacy.values())
    by_priority = Counter(r.priority for r in new)
    summary = replace(
        report.summary, recommendations=len(new),
        by_priority={p: by_priority[p] for p in PRIORITIES if by_priority[p]},
        by_kind=dict(sorted(Counter(r.kind for r in new).items())),
        baseline={"new": len(new), "unchanged": len(unchanged), "fixed": fixed},
    )
    return replace(report, summary=summary, recommendations=tuple(new),
                   unchanged=tuple(unchanged), plan=tuple(plan(new, list(report.targets))))
